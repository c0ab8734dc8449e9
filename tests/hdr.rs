//! HDR tone mapping: 10-bit PQ and HLG clips (BT.2020 primaries and matrix, the HDR transfer
//! tagged) come out of `framekit frames` within two levels, on every pixel, of the FFmpeg
//! command line running the same zscale + tonemap recipe with the same peak; the peak comes
//! from the frames' mastering metadata when they carry it; `--hdr none` and SDR clips are
//! untouched by the feature; the inspector's samples stay the raw 10-bit values. The lookup
//! tables that run the recipe agree with the in-process filter graph over the whole YUV cube.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use ffmpeg::util::color;
use ffmpeg_next as ffmpeg;
use framekit::media::color::Converter;
use framekit::media::tonemap::{Peak, PeakSource, SourceTags, ToneMapped, ToneMapper, filter_spec};
use framekit::media::{HdrMode, MediaSource, OpenOptions};

/// HEVC with mastering-display SEI (max 4000 nits) and MaxCLL 0: the peak is 4000 nits.
fn pq_hevc_mastered() -> PathBuf {
    common::hdr_clip(
        "hdr_bars_pq_mastered.mp4",
        "smptehdbars=size=320x180:rate=25:duration=0.4",
        &[
            "-c:v",
            "libx265",
            "-x265-params",
            "log-level=error:master-display=G(13250,34500)B(7500,3000)R(34000,16000)\
             WP(15635,16450)L(40000000,50):max-cll=0,400",
        ],
        "smpte2084",
    )
}

fn framekit_png(clip: &Path, id: usize, extra: &[&str]) -> image::RgbImage {
    let dir = tempfile::tempdir().expect("tempdir");
    common::succeed(
        common::framekit_bin()
            .args(["frames", "--ids", &id.to_string(), "--out"])
            .arg(dir.path())
            .args(extra)
            .arg(clip),
    );
    let stem = clip.file_stem().expect("stem").to_string_lossy();
    image::open(dir.path().join(format!("{stem}_f{id}.png")))
        .expect("framekit png")
        .into_rgb8()
}

fn ffmpeg_png(clip: &Path, id: usize, peak_nits: f64) -> image::RgbImage {
    let dir = tempfile::tempdir().expect("tempdir");
    let out_path = dir.path().join("ffmpeg.png");
    let vf = format!("select=eq(n\\,{}),{}", id - 1, filter_spec(peak_nits));
    common::succeed(
        Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-y", "-i"])
            .arg(clip)
            .args(["-vf", &vf, "-frames:v", "1"])
            .arg(&out_path),
    );
    image::open(&out_path).expect("ffmpeg png").into_rgb8()
}

fn max_level_difference(a: &image::RgbImage, b: &image::RgbImage) -> u8 {
    assert_eq!(a.dimensions(), b.dimensions());
    a.as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0)
}

fn mean_level_difference(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    let total: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    total as f64 / a.as_raw().len() as f64
}

#[test]
fn pq_and_hlg_match_ffmpegs_tonemap_recipe_within_two_levels() {
    for (clip, peak_nits) in [
        (common::pq_x264(), 1000.0),
        (pq_hevc_mastered(), 4000.0),
        (common::hlg_x264(), 1000.0),
    ] {
        for id in [1, 7] {
            let ours = framekit_png(&clip, id, &[]);
            let theirs = ffmpeg_png(&clip, id, peak_nits);
            let worst = max_level_difference(&ours, &theirs);
            assert!(
                worst <= 2,
                "{} frame {id}: {worst} levels from ffmpeg's recipe",
                clip.display()
            );
            // The tone map does something: as tagged, the frame is far from it.
            let untouched = framekit_png(&clip, id, &["--hdr", "none"]);
            assert!(
                mean_level_difference(&ours, &untouched) > 3.0,
                "{}: --hdr none looks the same as the tone map",
                clip.display()
            );
        }
    }
    // The mastered clip's peak matters: 1000 nits would be a different picture.
    let mastered = pq_hevc_mastered();
    let wrong_peak = ffmpeg_png(&mastered, 1, 1000.0);
    assert!(mean_level_difference(&framekit_png(&mastered, 1, &[]), &wrong_peak) > 1.0);
}

#[test]
fn probe_names_the_tone_map_and_its_peak() {
    let out = common::framekit_bin()
        .args(["probe", "--json"])
        .arg(common::pq_x264())
        .output()
        .expect("probe");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let tone_map = &json["video"]["color"]["tone_map"];
    assert_eq!(tone_map["operator"], "hable");
    assert_eq!(tone_map["peak"]["nits"], 1000.0);
    let out = common::framekit_bin()
        .args(["probe", "--json", "--hdr", "none"])
        .arg(common::pq_x264())
        .output()
        .expect("probe");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(json["video"]["color"]["tone_map"].is_null());
    let text = common::framekit_bin()
        .arg("probe")
        .arg(common::hlg_x264())
        .output()
        .expect("probe");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("HLG (ARIB STD-B67), tone-mapped"), "{text}");
}

#[test]
fn sdr_clips_are_unchanged_by_the_feature() {
    for clip in [common::h264_mp4(), common::h264_10bit()] {
        let mapped = framekit_png(&clip, 3, &["--hdr", "tonemap"]);
        let as_tagged = framekit_png(&clip, 3, &["--hdr", "none"]);
        assert_eq!(mapped.as_raw(), as_tagged.as_raw(), "{}", clip.display());
    }
}

#[test]
fn the_inspector_still_reads_the_raw_10_bit_samples() {
    let clip = common::pq_x264();
    for hdr in [HdrMode::Tonemap, HdrMode::None] {
        let options = OpenOptions {
            hdr,
            ..OpenOptions::default()
        };
        let MediaSource::Video(mut reader) = MediaSource::open(&clip, &options).expect("open")
        else {
            panic!("a video");
        };
        let (frame, samples) = reader.frame_with_samples(0).expect("frame");
        let samples = samples.expect("samples");
        assert_eq!(samples.bit_depth, 10);
        assert_eq!(samples.pixel_format, "yuv420p10le");
        // smptehdbars' top-left grey bar: 10-bit luma well above anything 8-bit could hold.
        let luma = samples.at_display(4, 4).expect("sample")[0];
        assert!((256..1024).contains(&luma), "luma {luma}");
        assert_eq!((frame.width, frame.height), (320, 180));
    }
}

#[test]
fn an_hdr_stream_without_a_matrix_tag_is_read_as_bt2020() {
    // Only the transfer is tagged (PQ): the height rule would say BT.601 for 180 lines.
    let clip = common::fixture(
        "hdr_pq_untagged_matrix.mkv",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x180:rate=25:duration=0.2",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p10le",
            "-color_trc",
            "smpte2084",
        ],
    );
    for hdr in ["tonemap", "none"] {
        let out = common::succeed(
            common::framekit_bin()
                .args(["probe", "--json", "--hdr", hdr])
                .arg(&clip),
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(json["video"]["color"]["tagged"]["matrix"], "unknown");
        assert_eq!(
            json["video"]["color"]["used"]["matrix"], "bt2020",
            "--hdr {hdr}"
        );
    }
    // As tagged, the frame matches the same clip tagged BT.2020 explicitly.
    let tagged = common::hdr_clip(
        "hdr_pq_tagged_matrix.mkv",
        "testsrc2=size=320x180:rate=25:duration=0.2",
        &["-c:v", "libx264"],
        "smpte2084",
    );
    assert_eq!(
        framekit_png(&clip, 1, &["--hdr", "none"]).as_raw(),
        framekit_png(&tagged, 1, &["--hdr", "none"]).as_raw()
    );
}

/// A 10-bit 4:4:4 frame whose pixels walk a grid over the whole Y, Cb, Cr cube (legal codes
/// 64-940 and 64-960, `steps` values each), and whether each pixel's R'G'B' is inside [0, 1].
fn yuv_cube(steps: u32) -> (ffmpeg::frame::Video, Vec<bool>) {
    let count = (steps * steps * steps) as usize;
    let width = 256u32;
    let height = (count as u32).div_ceil(width);
    let mut frame = ffmpeg::frame::Video::new(ffmpeg::format::Pixel::YUV444P10LE, width, height);
    let code = |i: u32, low: f64, high: f64| {
        (low + (high - low) * f64::from(i) / f64::from(steps - 1)).round() as u16
    };
    let mut in_gamut = Vec::with_capacity(width as usize * height as usize);
    for p in 0..(width * height) {
        let p = p.min(count as u32 - 1);
        let (yi, cbi, cri) = (p / (steps * steps), (p / steps) % steps, p % steps);
        let yuv = [
            code(yi, 64.0, 940.0),
            code(cbi, 64.0, 960.0),
            code(cri, 64.0, 960.0),
        ];
        let (y, cb, cr) = (
            (f64::from(yuv[0]) - 64.0) / 876.0,
            (f64::from(yuv[1]) - 512.0) / 896.0,
            (f64::from(yuv[2]) - 512.0) / 896.0,
        );
        let (kr, kb) = (0.2627, 0.0593);
        let r = y + 2.0 * (1.0 - kr) * cr;
        let b = y + 2.0 * (1.0 - kb) * cb;
        let g = (y - kr * r - kb * b) / (1.0 - kr - kb);
        in_gamut.push([r, g, b].iter().all(|v| (0.0..=1.0).contains(v)));
        let (x, row) = ((p % width) as usize, (p / width) as usize);
        for (plane, value) in yuv.iter().enumerate() {
            let stride = frame.stride(plane);
            let at = row * stride + x * 2;
            frame.data_mut(plane)[at..at + 2].copy_from_slice(&value.to_le_bytes());
        }
    }
    frame.set_color_range(color::Range::MPEG);
    (frame, in_gamut)
}

#[test]
fn the_lookup_tables_match_the_filter_graph_over_the_yuv_cube() {
    let (cube, in_gamut) = yuv_cube(48);
    for (transfer, primaries, peak_nits) in [
        (
            color::TransferCharacteristic::SMPTE2084,
            color::Primaries::BT2020,
            1000.0,
        ),
        (
            color::TransferCharacteristic::SMPTE2084,
            color::Primaries::BT2020,
            4000.0,
        ),
        (
            color::TransferCharacteristic::SMPTE2084,
            color::Primaries::SMPTE432,
            600.0,
        ),
        (
            color::TransferCharacteristic::ARIB_STD_B67,
            color::Primaries::BT2020,
            1000.0,
        ),
    ] {
        let tags = SourceTags {
            space: color::Space::BT2020NCL,
            range: color::Range::MPEG,
            primaries,
            transfer,
        };
        let peak = Peak {
            nits: peak_nits,
            source: PeakSource::Default,
        };
        let (ToneMapped::Rgb(tables), _) = ToneMapper::default()
            .run(&cube, tags, peak)
            .expect("tables")
        else {
            panic!("the tables did not take a 10-bit 4:4:4 BT.2020 frame");
        };
        let (ToneMapped::Planes(planes), _) = ToneMapper::filter_only()
            .run(&cube, tags, peak)
            .expect("filter")
        else {
            panic!("the filter path gave packed pixels");
        };
        let (graph, _) = Converter::default()
            .convert(&planes, 0, None, planes.color_space(), color::Range::JPEG)
            .expect("pack gbrp");
        assert_eq!(tables.len(), graph.pixels.len());
        // Distribution of the per-pixel worst channel difference, inside and outside the
        // R'G'B' gamut (YUV codes no RGB makes).
        let mut inside = [0usize; 256];
        let mut outside = [0usize; 256];
        for ((a, b), &legal) in tables
            .chunks_exact(3)
            .zip(graph.pixels.chunks_exact(3))
            .zip(&in_gamut)
        {
            let worst = a
                .iter()
                .zip(b)
                .map(|(x, y)| x.abs_diff(*y))
                .max()
                .unwrap_or(0);
            let histogram = if legal { &mut inside } else { &mut outside };
            histogram[usize::from(worst)] += 1;
        }
        let summary = |h: &[usize; 256]| {
            let total: usize = h.iter().sum();
            let worst = h.iter().rposition(|&n| n > 0).unwrap_or(0);
            format!(
                "{total} pixels: 0: {}, 1: {}, 2: {}, >2: {}, worst {worst}",
                h[0],
                h[1],
                h[2],
                h[3..].iter().sum::<usize>()
            )
        };
        println!(
            "{transfer:?} {primaries:?} peak {peak_nits}: in gamut {}; outside {}",
            summary(&inside),
            summary(&outside)
        );
        let worst_inside = inside.iter().rposition(|&n| n > 0).unwrap_or(0);
        assert!(
            worst_inside <= 2,
            "{transfer:?} {primaries:?} {peak_nits}: {}",
            summary(&inside)
        );
        let worst_outside = outside.iter().rposition(|&n| n > 0).unwrap_or(0);
        assert!(
            worst_outside <= 2,
            "{transfer:?} {primaries:?} {peak_nits}: outside {}",
            summary(&outside)
        );
    }
}
