//! True colour: solid patches with known sRGB values, encoded losslessly (x264 -qp 0) in each
//! matrix and range, come back at their patch centres (a) within one level of the exact YUV to
//! RGB math on the decoded samples, and (b) within two levels of the original sRGB value (the
//! extra level is the encoder's own 8-bit YUV rounding). A wrong matrix or range is off by
//! 5 to 30 levels on these patches, so both checks fail loudly if the conversion is wrong.

mod common;

use std::path::PathBuf;

use ffmpeg_next as ffmpeg;
use framekit::media::color::{Matrix, Range};
use framekit::media::{OpenOptions, VideoReader};

const PATCHES: [[u8; 3]; 6] = [
    [200, 30, 40],
    [30, 160, 60],
    [40, 60, 200],
    [128, 128, 128],
    [235, 200, 20],
    [20, 20, 20],
];
const PATCH: u32 = 64;

struct Case {
    name: &'static str,
    width: u32,
    height: u32,
    /// Matrix and range given to the `scale` filter when making the clip.
    encode_matrix: &'static str,
    encode_range: &'static str,
    pix_fmt: &'static str,
    /// Whether the clip is tagged with the matrix and range it was made with.
    tagged: bool,
    expect_matrix: Matrix,
    expect_range: Range,
}

fn make_clip(case: &Case) -> PathBuf {
    let mut graph = String::new();
    for (i, [r, g, b]) in PATCHES.iter().enumerate() {
        graph.push_str(&format!(
            "color=c=0x{r:02X}{g:02X}{b:02X}:s={PATCH}x{PATCH}:r=25:d=0.2,format=rgb24[p{i}];"
        ));
    }
    for i in 0..PATCHES.len() {
        graph.push_str(&format!("[p{i}]"));
    }
    graph.push_str(&format!(
        "hstack=inputs={},pad={}:{}:0:0:color=0x808080,scale=out_color_matrix={}:out_range={}:flags=accurate_rnd+full_chroma_int+bitexact,format={}",
        PATCHES.len(),
        case.width,
        case.height,
        case.encode_matrix,
        case.encode_range,
        case.pix_fmt
    ));
    let mut args: Vec<&str> = vec![
        "-f",
        "lavfi",
        "-i",
        &graph,
        "-c:v",
        "libx264",
        "-qp",
        "0",
        "-preset",
        "ultrafast",
    ];
    // FFmpeg's tag name for BT.601 (525-line) is smpte170m.
    let tag = if case.encode_matrix == "bt601" {
        "smpte170m"
    } else {
        case.encode_matrix
    };
    if case.tagged {
        args.extend([
            "-colorspace",
            tag,
            "-color_primaries",
            tag,
            "-color_trc",
            tag,
        ]);
        args.extend(["-color_range", case.encode_range]);
    }
    common::fixture(&format!("colour_{}.mp4", case.name), &args)
}

/// Y, Cb, Cr samples at (x, y) of the first decoded frame, and the bit depth.
fn decoded_yuv(path: &std::path::Path, x: usize, y: usize) -> ([f64; 3], u32) {
    framekit::media::init_ffmpeg();
    let mut input = ffmpeg::format::input(&path).expect("open");
    let stream = input
        .streams()
        .best(ffmpeg::media::Type::Video)
        .expect("video");
    let index = stream.index();
    let mut decoder = ffmpeg::codec::context::Context::from_parameters(stream.parameters())
        .expect("context")
        .decoder()
        .video()
        .expect("decoder");
    let mut frame = ffmpeg::frame::Video::empty();
    for (stream, packet) in input.packets() {
        if stream.index() == index {
            decoder.send_packet(&packet).expect("send");
            if decoder.receive_frame(&mut frame).is_ok() {
                break;
            }
        }
    }
    if frame.width() == 0 {
        decoder.send_eof().expect("eof");
        decoder.receive_frame(&mut frame).expect("frame");
    }
    let high = frame
        .format()
        .descriptor()
        .is_some_and(|d| d.name().contains("10"));
    let sample = |plane: usize, px: usize, py: usize| -> f64 {
        let data = frame.data(plane);
        let stride = frame.stride(plane);
        if high {
            let at = py * stride + px * 2;
            f64::from(u16::from_le_bytes([data[at], data[at + 1]]))
        } else {
            f64::from(data[py * stride + px])
        }
    };
    (
        [
            sample(0, x, y),
            sample(1, x / 2, y / 2),
            sample(2, x / 2, y / 2),
        ],
        if high { 10 } else { 8 },
    )
}

/// The exact (floating point) YUV to RGB result, 0-255 scale.
fn exact_rgb(yuv: [f64; 3], depth: u32, matrix: Matrix, range: Range) -> [f64; 3] {
    let (kr, kb) = match matrix {
        Matrix::Bt601 => (0.299, 0.114),
        Matrix::Bt709 => (0.2126, 0.0722),
        Matrix::Bt2020 => (0.2627, 0.0593),
        other => panic!("no exact math for {other:?}"),
    };
    let scale = f64::from(1u32 << (depth - 8));
    let max = f64::from((1u32 << depth) - 1);
    let (y, cb, cr) = match range {
        Range::Limited => (
            (yuv[0] - 16.0 * scale) / (219.0 * scale),
            (yuv[1] - 128.0 * scale) / (224.0 * scale),
            (yuv[2] - 128.0 * scale) / (224.0 * scale),
        ),
        Range::Full => (
            yuv[0] / max,
            (yuv[1] - 128.0 * scale) / max,
            (yuv[2] - 128.0 * scale) / max,
        ),
    };
    let r = y + 2.0 * (1.0 - kr) * cr;
    let b = y + 2.0 * (1.0 - kb) * cb;
    let g = (y - kr * r - kb * b) / (1.0 - kr - kb);
    [r, g, b].map(|v| (v * 255.0).clamp(0.0, 255.0))
}

fn check(case: Case) {
    let path = make_clip(&case);
    let mut reader = VideoReader::open(&path, &OpenOptions::default()).expect("open");
    let used = reader.color_decision().expect("decision");
    assert_eq!(
        (used.matrix, used.range),
        (case.expect_matrix, case.expect_range),
        "{}: decision",
        case.name
    );
    let (frame, samples) = reader.frame_with_samples(0).expect("frame 1");
    let samples = samples.expect("decoded samples kept for the inspector");
    assert_eq!((frame.width, frame.height), (case.width, case.height));
    let mut worst_math = 0.0f64;
    let mut worst_srgb = 0i32;
    for (i, want) in PATCHES.iter().enumerate() {
        let (x, y) = (i as u32 * PATCH + PATCH / 2, PATCH / 2);
        let got = frame.rgba_at(x, y).expect("pixel");
        let (yuv, depth) = decoded_yuv(&path, x as usize, y as usize);
        let exact = exact_rgb(yuv, depth, case.expect_matrix, case.expect_range);
        let inspected: Vec<f64> = samples
            .at_display(x, y)
            .expect("samples")
            .into_iter()
            .map(f64::from)
            .collect();
        assert_eq!(
            inspected,
            yuv.to_vec(),
            "{}: the inspector's Y/U/V are the decoded samples",
            case.name
        );
        for c in 0..3 {
            let math_error = (f64::from(got[c]) - exact[c]).abs();
            let srgb_error = (i32::from(got[c]) - i32::from(want[c])).abs();
            worst_math = worst_math.max(math_error);
            worst_srgb = worst_srgb.max(srgb_error);
            assert!(
                math_error <= 1.0,
                "{}: patch {want:?} channel {c}: got {got:?}, exact math {exact:?} from YUV {yuv:?}",
                case.name
            );
            assert!(
                srgb_error <= 2,
                "{}: patch {want:?}: got {got:?}",
                case.name
            );
        }
    }
    eprintln!(
        "{}: worst error vs exact math {worst_math:.2}, vs source sRGB {worst_srgb}",
        case.name
    );
}

#[test]
fn bt601_limited() {
    check(Case {
        name: "bt601_limited",
        width: 640,
        height: 360,
        encode_matrix: "bt601",
        encode_range: "tv",
        pix_fmt: "yuv420p",
        tagged: true,
        expect_matrix: Matrix::Bt601,
        expect_range: Range::Limited,
    });
}

#[test]
fn bt709_limited_tagged_below_720_lines() {
    check(Case {
        name: "bt709_limited",
        width: 640,
        height: 360,
        encode_matrix: "bt709",
        encode_range: "tv",
        pix_fmt: "yuv420p",
        tagged: true,
        expect_matrix: Matrix::Bt709,
        expect_range: Range::Limited,
    });
}

#[test]
fn bt709_full_range() {
    check(Case {
        name: "bt709_full",
        width: 640,
        height: 360,
        encode_matrix: "bt709",
        encode_range: "pc",
        pix_fmt: "yuv420p",
        tagged: true,
        expect_matrix: Matrix::Bt709,
        expect_range: Range::Full,
    });
}

#[test]
fn untagged_1080p_is_bt709() {
    check(Case {
        name: "untagged_1080p",
        width: 1920,
        height: 1080,
        encode_matrix: "bt709",
        encode_range: "tv",
        pix_fmt: "yuv420p",
        tagged: false,
        expect_matrix: Matrix::Bt709,
        expect_range: Range::Limited,
    });
}

#[test]
fn bt709_10bit() {
    check(Case {
        name: "bt709_10bit",
        width: 640,
        height: 360,
        encode_matrix: "bt709",
        encode_range: "tv",
        pix_fmt: "yuv420p10le",
        tagged: true,
        expect_matrix: Matrix::Bt709,
        expect_range: Range::Limited,
    });
}

#[test]
fn rotated_clip_comes_out_rotated_like_ffmpeg_shows_it() {
    let path = common::rotated_mp4();
    let shown = image::open(common::ffmpeg_first_frame_png(&path, "rotated_ffmpeg.png"))
        .expect("reference")
        .into_rgb8();
    let mut reader = VideoReader::open(&path, &OpenOptions::default()).expect("open");
    let frame = reader.frame(0).expect("frame");
    assert_eq!(
        (frame.width, frame.height),
        shown.dimensions(),
        "rotated like ffmpeg's autorotate"
    );
    assert_eq!(
        (frame.width, frame.height),
        (32, 64),
        "a quarter turn: 64x32 becomes 32x64"
    );
    for (x, y) in [(16, 8), (16, 56), (4, 4), (28, 60)] {
        let got = frame.rgba_at(x, y).expect("pixel");
        let want = shown.get_pixel(x, y).0;
        for c in 0..3 {
            assert!(
                got[c].abs_diff(want[c]) <= 2,
                "pixel ({x},{y}): framekit {got:?}, ffmpeg {want:?}"
            );
        }
    }
    let (top, bottom) = (
        frame.rgba_at(16, 8).expect("top"),
        frame.rgba_at(16, 56).expect("bottom"),
    );
    assert_ne!(
        top[0] > 128,
        bottom[0] > 128,
        "the two halves end up top and bottom"
    );

    let mut stored = VideoReader::open(
        &path,
        &OpenOptions {
            autorotate: false,
            ..OpenOptions::default()
        },
    )
    .expect("open");
    let frame = stored.frame(0).expect("frame");
    assert_eq!(
        (frame.width, frame.height),
        (64, 32),
        "--no-autorotate keeps the stored size"
    );
    assert!(
        frame.rgba_at(8, 16).expect("left")[0] > 200,
        "stored left half is red"
    );
}
