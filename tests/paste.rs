//! The base64 round trip and the tolerant parser: property tests over random images, every
//! accepted form, every malformed form with its own error, hostile bytes and text, and a
//! decompression bomb refused from its header.

mod common;

use base64::Engine as _;
use framekit::codec::{self, DecodeLimits, PasteError, decode_base64_images};
use framekit::media::{LimitError, LimitKind};
use framekit::{Frame, PixelLayout};
use proptest::prelude::*;

fn frame(width: u32, height: u32, layout: PixelLayout, pixels: Vec<u8>) -> Frame {
    Frame {
        index: 0,
        time_seconds: None,
        width,
        height,
        layout,
        pixels,
    }
}

fn arb_frame() -> impl Strategy<Value = Frame> {
    (1u32..48, 1u32..48, prop::bool::ANY).prop_flat_map(|(w, h, alpha)| {
        let layout = if alpha {
            PixelLayout::Rgba8
        } else {
            PixelLayout::Rgb8
        };
        let len = (w * h) as usize * layout.channels();
        prop::collection::vec(any::<u8>(), len).prop_map(move |pixels| frame(w, h, layout, pixels))
    })
}

fn png_base64(f: &Frame) -> String {
    codec::to_base64(&codec::encode_png(f).expect("encode"))
}

fn decode_one(text: &str) -> Result<Frame, PasteError> {
    let mut images = decode_base64_images(text, &DecodeLimits::default())?;
    assert_eq!(images.len(), 1);
    Ok(images.remove(0).image.frame(0).expect("first frame"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn round_trip_is_exact(f in arb_frame()) {
        let back = decode_one(&png_base64(&f)).expect("decode");
        prop_assert_eq!(back.layout, f.layout);
        prop_assert_eq!((back.width, back.height), (f.width, f.height));
        prop_assert_eq!(back.pixels, f.pixels);
    }

    #[test]
    fn tolerant_forms_decode_to_the_same_pixels(f in arb_frame(), breaks in prop::collection::vec(0usize..10_000, 0..20)) {
        let plain = png_base64(&f);
        let mut spaced = String::new();
        for (i, c) in plain.chars().enumerate() {
            if breaks.iter().any(|b| b % plain.len().max(1) == i) {
                spaced.push_str(if i % 2 == 0 { "\r\n" } else { " \t" });
            }
            spaced.push(c);
        }
        let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(codec::encode_png(&f).expect("png"));
        let forms = [
            format!("data:image/png;base64,{plain}"),
            format!("\"{plain}\""),
            format!("'data:image/png;base64,{plain}'\n"),
            format!("  {spaced}  \n"),
            url_safe,
            plain.trim_end_matches('=').to_string(),
            format!("DATA:image/png;BASE64,{plain}"),
        ];
        for form in &forms {
            let back = decode_one(form).map_err(|e| TestCaseError::fail(format!("{e} for form {:.40}", form)))?;
            prop_assert_eq!(&back.pixels, &f.pixels);
        }
        let list = decode_base64_images(&format!("{plain}|{plain}\n"), &DecodeLimits::default()).expect("list");
        prop_assert_eq!(list.len(), 2);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(text in ".{0,300}") {
        let _ = decode_base64_images(&text, &DecodeLimits::default());
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let text = codec::to_base64(&bytes);
        match decode_base64_images(&text, &DecodeLimits::default()) {
            Err(PasteError::NotImage { .. } | PasteError::BadImage { .. } | PasteError::Empty) => {}
            Err(other) => prop_assert!(false, "unexpected error {other}"),
            Ok(_) => {}
        }
    }

    #[test]
    fn damaged_pngs_never_panic(f in arb_frame(), flips in prop::collection::vec((0usize..100_000, any::<u8>()), 1..8)) {
        let mut png = codec::encode_png(&f).expect("png");
        let len = png.len();
        for (at, value) in flips {
            png[8 + at % (len - 8)] ^= value | 1;
        }
        let _ = decode_base64_images(&codec::to_base64(&png), &DecodeLimits::default());
    }
}

#[test]
fn each_malformed_form_has_its_own_error() {
    let f = frame(3, 2, PixelLayout::Rgb8, vec![7; 18]);
    let plain = png_base64(&f);
    let limits = DecodeLimits::default();

    let mut bad = plain.clone();
    bad.insert(10, '#');
    assert_eq!(
        decode_base64_images(&bad, &limits).unwrap_err(),
        PasteError::NotBase64 {
            part: None,
            character: "#".into(),
            position: 11
        }
    );
    let err = decode_base64_images(&format!("{plain}|{bad}"), &limits).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("image 2: not base64: character '#'"),
        "{err}"
    );

    let one_too_many = format!("{}A", plain.trim_end_matches('='));
    let cut = if one_too_many.len() % 4 == 1 {
        one_too_many
    } else {
        format!("{}AAA", plain.trim_end_matches('='))
    };
    assert!(matches!(
        decode_base64_images(&cut, &limits),
        Err(PasteError::BadLength { .. })
    ));

    assert_eq!(
        decode_base64_images("", &limits).unwrap_err(),
        PasteError::Empty
    );
    assert_eq!(
        decode_base64_images(" \n | ", &limits).unwrap_err(),
        PasteError::Empty
    );
    assert!(matches!(
        decode_base64_images("data:image/png,iVBORw0KGgo=", &limits),
        Err(PasteError::DataUriNotBase64 { .. })
    ));
    let json = codec::to_base64(br#"{"frames": [1, 2, 3]}"#);
    let err = decode_base64_images(&json, &limits).unwrap_err();
    assert!(err.to_string().contains("looks like JSON"), "{err}");
    let html = codec::to_base64(b"<html><body>hi</body></html>");
    assert!(
        decode_base64_images(&html, &limits)
            .unwrap_err()
            .to_string()
            .contains("looks like XML, HTML or SVG")
    );
    let twice = codec::to_base64(plain.as_bytes());
    assert!(
        decode_base64_images(&twice, &limits)
            .unwrap_err()
            .to_string()
            .contains("base64-encoded twice")
    );

    let small = DecodeLimits {
        max_decoded_bytes: 10,
        ..limits
    };
    let err = decode_base64_images(&plain, &small).unwrap_err();
    assert!(
        matches!(&err, PasteError::TooLarge { error, .. } if error.kind == LimitKind::ImageBytes && error.limit == 10 && error.actual > 10),
        "{err}"
    );
    assert_eq!(
        LimitError::find(&err).map(|e| e.kind),
        Some(LimitKind::ImageBytes),
        "the limit is found among the causes"
    );
    let few_pixels = DecodeLimits {
        max_pixels: 5,
        ..limits
    };
    let err = decode_base64_images(&plain, &few_pixels).unwrap_err();
    assert!(
        matches!(&err, PasteError::OverLimit { error, .. } if error.what.contains("3x2") && (error.kind, error.actual, error.limit) == (LimitKind::FramePixels, 6, 5)),
        "{err}"
    );

    let mut truncated = codec::encode_png(&f).expect("png");
    truncated.truncate(truncated.len() - 20);
    let err = decode_base64_images(&codec::to_base64(&truncated), &limits).unwrap_err();
    assert!(matches!(err, PasteError::BadImage { .. }), "{err}");
    assert!(err.to_string().contains("PNG"), "{err}");
}

/// Other formats decode too: JPEG, GIF, BMP, WebP (lossless).
#[test]
fn other_formats_decode() {
    let rgb = image::RgbImage::from_fn(8, 6, |x, y| {
        image::Rgb([(x * 30) as u8, (y * 40) as u8, 90])
    });
    for format in [
        image::ImageFormat::Bmp,
        image::ImageFormat::Gif,
        image::ImageFormat::WebP,
        image::ImageFormat::Jpeg,
        image::ImageFormat::Tiff,
    ] {
        let mut bytes = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb8(rgb.clone())
            .write_to(&mut bytes, format)
            .expect("encode");
        let images =
            decode_base64_images(&codec::to_base64(bytes.get_ref()), &DecodeLimits::default())
                .expect("decode");
        assert_eq!(images[0].format, format);
        assert_eq!(
            (
                images[0].image.frame(0).expect("frame").width,
                images[0].image.frame(0).expect("frame").height
            ),
            (8, 6)
        );
        if matches!(
            format,
            image::ImageFormat::Bmp | image::ImageFormat::WebP | image::ImageFormat::Tiff
        ) {
            let got = images[0].image.frame(0).expect("frame").to_rgba();
            let want = image::DynamicImage::ImageRgb8(rgb.clone())
                .into_rgba8()
                .into_raw();
            assert_eq!(got, want, "{format:?} is lossless");
        }
    }
}

#[test]
fn decompression_bomb_is_refused_from_its_header() {
    // A few bytes of zlib claiming to be the start of 30 GB of RGB pixels.
    let png = common::claimed_png(100_000, 100_000, 2);
    let err = decode_base64_images(&codec::to_base64(&png), &DecodeLimits::default()).unwrap_err();
    // The library says which limit and by how much; how to raise it is the face's to say.
    assert_eq!(
        err.to_string(),
        "the PNG image is 100000x100000 (10,000 megapixels), over the limit of 100 megapixels"
    );
    let limit = LimitError::find(&err).expect("a limit error");
    assert_eq!(
        (limit.kind, limit.actual, limit.limit),
        (LimitKind::FramePixels, 10_000_000_000, 100_000_000)
    );
}
