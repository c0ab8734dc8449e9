//! The real `framekit` binary on generated media: the get_frames rules, output forms, the
//! decode round trip, and one-line errors with non-zero exit codes for bad input.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use framekit::codec::{DecodeLimits, decode_base64_images};
use framekit::{MediaSource, OpenOptions};

fn twenty_frames() -> PathBuf {
    common::fixture(
        "twenty.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=96x64:rate=10:duration=2",
            "-c:v",
            "libx264",
            "-bf",
            "2",
            "-pix_fmt",
            "yuv420p",
        ],
    )
}

fn run(args: &[&str]) -> Output {
    common::framekit_bin()
        .args(args)
        .output()
        .expect("run framekit")
}

fn frames_stdout(path: &Path, ids: &str) -> (Vec<Vec<u8>>, String) {
    let out = run(&["frames", &path.to_string_lossy(), "--ids", ids]);
    assert!(
        out.status.success(),
        "frames --ids {ids}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf8");
    assert!(
        text.ends_with('\n') && !text.trim_end().contains('\n'),
        "one line of output"
    );
    let pixels = decode_base64_images(&text, &DecodeLimits::default())
        .expect("valid base64 PNGs")
        .into_iter()
        .map(|img| {
            assert_eq!(img.format, image::ImageFormat::Png);
            img.image.frame(0).expect("frame").pixels
        })
        .collect();
    (pixels, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn library_frame(path: &Path, id: usize) -> Vec<u8> {
    let mut source = MediaSource::open(path, &OpenOptions::default()).expect("open");
    source.frame(id - 1).expect("frame").pixels
}

#[test]
fn ids_past_the_end_are_skipped() {
    let clip = twenty_frames();
    let (frames, stderr) = frames_stdout(&clip, "2,30");
    assert_eq!(frames, vec![library_frame(&clip, 2)]);
    assert!(
        stderr.contains("30") && stderr.lines().count() == 1,
        "one warning line: {stderr}"
    );
}

#[test]
fn frames_come_out_ascending_and_once() {
    let clip = twenty_frames();
    let (frames, stderr) = frames_stdout(&clip, "12,3");
    assert_eq!(
        frames,
        vec![library_frame(&clip, 3), library_frame(&clip, 12)]
    );
    assert!(stderr.is_empty());
    let (frames, _) = frames_stdout(&clip, "5,5");
    assert_eq!(frames, vec![library_frame(&clip, 5)]);
    let (frames, _) = frames_stdout(&clip, " 3 , 7 ");
    assert_eq!(
        frames,
        vec![library_frame(&clip, 3), library_frame(&clip, 7)]
    );
    assert_ne!(library_frame(&clip, 3), library_frame(&clip, 7));
}

#[test]
fn no_valid_id_gives_the_first_frame_with_a_warning() {
    let clip = twenty_frames();
    for ids in ["0", "-3", "21", "0,-3,99"] {
        let (frames, stderr) = frames_stdout(&clip, ids);
        assert_eq!(frames, vec![library_frame(&clip, 1)], "ids {ids}");
        assert!(
            stderr.starts_with("warning:") && stderr.contains("frame 1 instead"),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1);
    }
}

#[test]
fn rejected_id_lists_fail_with_one_line() {
    let clip = twenty_frames();
    for ids in ["", "a,2", "1,,2", "3,", "1.5"] {
        let out = run(&["frames", &clip.to_string_lossy(), "--ids", ids]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "ids {ids:?}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("framekit: ") && stderr.contains("id"),
            "{stderr}"
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn bad_files_fail_with_one_line_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty.mp4");
    std::fs::write(&empty, b"").expect("write");
    let random = dir.path().join("random.bin");
    let noise: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&random, noise).expect("write");
    let text_png = dir.path().join("notes.png");
    std::fs::write(&text_png, b"this is not a picture\n").expect("write");
    let truncated = dir.path().join("truncated.mp4");
    let whole = std::fs::read(common::h264_mp4()).expect("read");
    std::fs::write(&truncated, &whole[..whole.len() / 3]).expect("write");
    let audio_only = common::fixture(
        "audio_only.m4a",
        &["-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac"],
    );
    let cases: Vec<(PathBuf, &str)> = vec![
        (dir.path().join("missing.mp4"), "no such file"),
        (dir.path().to_path_buf(), "directory"),
        (empty, "empty"),
        (random, "not a video or image"),
        (text_png, "not a valid PNG"),
        (truncated, "truncated.mp4"),
        (audio_only, "no video stream"),
    ];
    for (path, expected) in cases {
        let out = run(&["frames", &path.to_string_lossy(), "--ids", "1"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {stderr}", path.display());
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(
            stderr.contains(&*path.to_string_lossy()),
            "names the file: {stderr}"
        );
        assert!(stderr.contains(expected), "{expected:?} in {stderr}");
        assert!(!stderr.contains("panicked"));
        assert!(out.stdout.is_empty());
        assert_eq!(
            framekit::get_frames_or_empty(&path, "1"),
            "",
            "original contract: '' on failure"
        );
    }
}

#[test]
fn still_images_are_one_frame_and_keep_alpha() {
    let dir = tempfile::tempdir().expect("tempdir");
    let png = dir.path().join("dot.png");
    let mut img = image::RgbaImage::new(5, 4);
    img.put_pixel(2, 1, image::Rgba([10, 20, 30, 128]));
    img.save(&png).expect("save");
    let (frames, stderr) = frames_stdout(&png, "1,2");
    assert_eq!(
        frames,
        vec![img.clone().into_raw()],
        "RGBA pixels unchanged, frame 2 skipped"
    );
    assert!(stderr.contains("2"));
    let out = run(&[
        "frames",
        &png.to_string_lossy(),
        "--ids",
        "1",
        "--out",
        &dir.path().join("out").to_string_lossy(),
    ]);
    assert!(out.status.success());
    let written = dir.path().join("out").join("dot_f1.png");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        written.to_string_lossy()
    );
    let back = image::open(&written).expect("png");
    assert_eq!(back.color(), image::ColorType::Rgba8);
    assert_eq!(back.into_rgba8(), img);
}

#[test]
fn animated_gif_frames_are_frames() {
    let gif = common::fixture(
        "anim.gif",
        &["-f", "lavfi", "-i", "testsrc2=size=48x32:rate=5:duration=1"],
    );
    let source = MediaSource::open(&gif, &OpenOptions::default()).expect("open");
    assert_eq!(source.frame_count(), 5);
    let (frames, _) = frames_stdout(&gif, "2,4");
    assert_eq!(frames.len(), 2);
    assert_ne!(frames[0], frames[1]);
}

#[test]
fn datauri_and_out_dir_forms() {
    let clip = twenty_frames();
    let out = run(&[
        "frames",
        &clip.to_string_lossy(),
        "--ids",
        "1,2",
        "--format",
        "datauri",
    ]);
    let text = String::from_utf8(out.stdout).expect("utf8");
    let parts: Vec<&str> = text.trim_end().split('|').collect();
    assert_eq!(parts.len(), 2);
    assert!(
        parts
            .iter()
            .all(|p| p.starts_with("data:image/png;base64,iVBOR"))
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(&[
        "frames",
        &clip.to_string_lossy(),
        "--ids",
        "4,2",
        "--out",
        &dir.path().to_string_lossy(),
    ]);
    assert!(out.status.success());
    let listed: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let expected: Vec<String> = ["twenty_f2.png", "twenty_f4.png"]
        .iter()
        .map(|n| dir.path().join(n).to_string_lossy().into_owned())
        .collect();
    assert_eq!(listed, expected);
    let second = image::open(dir.path().join("twenty_f2.png"))
        .expect("png")
        .into_rgb8()
        .into_raw();
    assert_eq!(second, library_frame(&clip, 2));
}

#[test]
fn frames_piped_into_decode_writes_the_exact_frames() {
    let clip = common::h264_mp4();
    let dir = tempfile::tempdir().expect("tempdir");
    let frames = run(&["frames", &clip.to_string_lossy(), "--ids", "1,30"]);
    assert!(frames.status.success());
    let mut decode = common::framekit_bin()
        .args(["decode", "-", "--out", &dir.path().to_string_lossy()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn decode");
    use std::io::Write;
    decode
        .stdin
        .take()
        .expect("stdin")
        .write_all(&frames.stdout)
        .expect("pipe");
    let out = decode.wait_with_output().expect("decode");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    for (n, id) in [(1, 1), (2, 30)] {
        let written = image::open(dir.path().join(format!("image_{n}.png")))
            .expect("png")
            .into_rgb8();
        assert_eq!(written.into_raw(), library_frame(&clip, id), "frame {id}");
    }
}

#[test]
fn probe_reports_exact_counts_and_json() {
    let out = run(&["probe", "--json", &common::h264_mp4().to_string_lossy()]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["frame_count"], 132);
    assert_eq!(json["video"]["codec"], "h264");
    assert_eq!(json["video"]["width"], 176);
    assert_eq!(json["video"]["bit_depth"], 8);
    assert_eq!(json["video"]["keyframe_count"], 6);
    assert_eq!(json["video"]["color"]["used"]["matrix"], "bt601");
    assert_eq!(json["audio"][0]["codec"], "aac");
    assert_eq!(
        json["video"]["color"]["tagged"]["hdr"],
        serde_json::Value::Null
    );
    let vfr = run(&["probe", "--json", &common::vfr_mp4().to_string_lossy()]);
    let json: serde_json::Value = serde_json::from_slice(&vfr.stdout).expect("json");
    assert_eq!(json["frame_count"], 132, "counted, not duration x fps");
}

#[test]
fn probe_tells_pq_and_hlg_hdr_from_the_transfer() {
    for (clip, transfer, expected) in [
        (common::pq_x264(), "smpte2084", "pq"),
        (common::hlg_x264(), "arib-std-b67", "hlg"),
    ] {
        let out = run(&["probe", "--json", &clip.to_string_lossy()]);
        assert!(out.status.success());
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let color = &json["video"]["color"];
        assert_eq!(color["tagged"]["transfer"], transfer);
        assert_eq!(color["tagged"]["hdr"], expected);
        assert_eq!(color["used"]["matrix"], "bt2020");
        let text = run(&["probe", &clip.to_string_lossy()]);
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(text.contains("HDR"), "{text}");
    }
}

#[test]
fn the_app_without_a_display_says_so_and_exits_2() {
    let out = common::framekit_bin()
        .arg("assets/sample.mp4")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("no display") && stderr.contains("framekit frames"),
        "{stderr}"
    );
}

#[test]
fn damaged_videos_give_errors_or_frames_never_panics() {
    let whole = std::fs::read(common::h264_mp4()).expect("read");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for variant in 0..24 {
        let mut bytes = whole.clone();
        for _ in 0..(1 + variant * 3) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let at = 64 + (state as usize) % (bytes.len() - 64);
            bytes[at] ^= (state >> 32) as u8 | 1;
        }
        if variant % 4 == 3 {
            bytes.truncate(bytes.len() * (variant + 1) / 30 + 1000);
        }
        let path = dir.path().join(format!("damaged_{variant}.mp4"));
        std::fs::write(&path, &bytes).expect("write");
        let out = run(&["frames", &path.to_string_lossy(), "--ids", "1,40,131"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "variant {variant}: {stderr}");
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "variant {variant}: exit {:?} {stderr}",
            out.status
        );
        if out.status.code() == Some(1) {
            assert_eq!(
                stderr
                    .lines()
                    .filter(|l| l.starts_with("framekit: "))
                    .count(),
                1,
                "{stderr}"
            );
        }
    }
}

#[test]
fn transcode_jobs_outside_one_to_sixty_four_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let queue = dir.path().join("queue.sqlite");
    for jobs in ["0", "65", "100000"] {
        let output = run(&[
            "transcode",
            "--jobs",
            jobs,
            "--queue",
            &queue.to_string_lossy(),
            &twenty_frames().to_string_lossy(),
        ]);
        assert_eq!(output.status.code(), Some(2), "--jobs {jobs}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("outside 1..=64"), "--jobs {jobs}: {stderr}");
    }
    assert!(!queue.exists(), "nothing was queued");
}
