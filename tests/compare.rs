//! `framekit compare`: per-frame PSNR and SSIM agree with FFmpeg's own `psnr` and `ssim`
//! filters run by the ffmpeg CLI on the same pairs (within 0.01 dB and 0.0005), for a clip
//! against a re-encode of itself, against itself shifted by one frame (and `--offset` undoing
//! the shift), a frame-rate change paired `--by time`, and an image against an edited copy;
//! identical frames give "inf"; `--diff-out` writes amplified difference images.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const SOURCE: &str = "testsrc2=size=320x240:rate=25:duration=2";

fn original() -> PathBuf {
    common::fixture(
        "cmp_original.mp4",
        &[
            "-f", "lavfi", "-i", SOURCE, "-c:v", "libx264", "-crf", "12", "-g", "20", "-bf", "2",
            "-pix_fmt", "yuv420p",
        ],
    )
}

/// The original re-encoded at a low quality.
fn reencoded() -> PathBuf {
    let source = original();
    common::fixture(
        "cmp_reencoded.mp4",
        &[
            "-i",
            &source.to_string_lossy(),
            "-c:v",
            "libx264",
            "-crf",
            "38",
            "-preset",
            "veryfast",
        ],
    )
}

/// The original without its first frame, losslessly: B frame n is A frame n+1.
fn shifted() -> PathBuf {
    let source = original();
    common::fixture(
        "cmp_shifted.mkv",
        &[
            "-i",
            &source.to_string_lossy(),
            "-vf",
            "trim=start_frame=1,setpts=PTS-STARTPTS",
            "-c:v",
            "ffv1",
        ],
    )
}

/// The original at 50 fps (each frame twice), losslessly: paired by time, frame n meets 2n.
fn doubled_rate() -> PathBuf {
    let source = original();
    common::fixture(
        "cmp_50fps.mkv",
        &[
            "-i",
            &source.to_string_lossy(),
            "-vf",
            "fps=50",
            "-c:v",
            "ffv1",
        ],
    )
}

fn image_pair() -> (PathBuf, PathBuf) {
    let plain = common::fixture(
        "cmp_image.png",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=200x150",
            "-frames:v",
            "1",
        ],
    );
    let edited = common::fixture(
        "cmp_image_edited.png",
        &[
            "-i",
            &plain.to_string_lossy(),
            "-vf",
            "drawbox=x=20:y=30:w=40:h=20:color=white@0.3:t=fill",
        ],
    );
    (plain, edited)
}

fn compare_json(args: &[&str]) -> Value {
    let out = common::succeed(
        common::framekit_bin()
            .arg("compare")
            .args(args)
            .arg("--json"),
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

/// FFmpeg's per-frame metadata from `[0][1]psnr` and `[0][1]ssim`, keyed by output frame.
fn ffmpeg_scores(a: &Path, b: &Path, b_filter: &str) -> Vec<HashMap<String, f64>> {
    let dir = tempfile::tempdir().expect("tempdir");
    let psnr_log = dir.path().join("psnr.txt");
    let ssim_log = dir.path().join("ssim.txt");
    let graph = format!(
        "[1]{b_filter}split[b1][b2];[0]split[a1][a2];\
         [a1][b1]psnr=shortest=1,metadata=print:file={};[a2][b2]ssim=shortest=1,metadata=print:file={}",
        psnr_log.display(),
        ssim_log.display()
    );
    common::succeed(
        Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-i"])
            .arg(a)
            .arg("-i")
            .arg(b)
            .args(["-lavfi", &graph, "-f", "null", "-"]),
    );
    let parse = |path: &Path| {
        let text = std::fs::read_to_string(path).expect("metadata log");
        let mut frames: Vec<HashMap<String, f64>> = Vec::new();
        for line in text.lines() {
            if line.starts_with("frame:") {
                frames.push(HashMap::new());
            } else if let (Some((key, value)), Some(frame)) =
                (line.split_once('='), frames.last_mut())
            {
                frame.insert(key.to_string(), value.trim().parse().expect("number"));
            }
        }
        frames
    };
    let mut psnr = parse(&psnr_log);
    for (merged, ssim) in psnr.iter_mut().zip(parse(&ssim_log)) {
        merged.extend(ssim);
    }
    psnr
}

fn number(value: &Value) -> f64 {
    match value {
        Value::String(s) if s == "inf" => f64::INFINITY,
        other => other.as_f64().expect("a number"),
    }
}

fn assert_close_db(ours: f64, theirs: f64, what: &str) {
    if theirs.is_infinite() {
        assert!(ours.is_infinite(), "{what}: {ours} vs inf");
    } else {
        assert!((ours - theirs).abs() <= 0.01, "{what}: {ours} vs {theirs}");
    }
}

fn assert_matches_ffmpeg(ours: &Value, theirs: &[HashMap<String, f64>], yuv: bool) {
    let frames = ours["frames"].as_array().expect("frames");
    assert_eq!(frames.len(), theirs.len(), "one score per frame");
    for (frame, reference) in frames.iter().zip(theirs) {
        let what = format!("frame a={}", frame["a"]);
        if yuv {
            assert_close_db(
                number(&frame["psnr_y"]),
                reference["lavfi.psnr.psnr.y"],
                &what,
            );
            let ssim_y = number(&frame["ssim_y"]);
            assert!(
                (ssim_y - reference["lavfi.ssim.Y"]).abs() <= 0.0005,
                "{what}"
            );
        } else {
            assert!(frame["psnr_y"].is_null() && frame["ssim_y"].is_null());
        }
        assert_close_db(
            number(&frame["psnr_avg"]),
            reference["lavfi.psnr.psnr_avg"],
            &what,
        );
        let ssim_all = number(&frame["ssim_all"]);
        assert!(
            (ssim_all - reference["lavfi.ssim.All"]).abs() <= 0.0005,
            "{what}"
        );
    }
}

#[test]
fn a_clip_against_its_reencode_matches_ffmpegs_filters() {
    let (a, b) = (original(), reencoded());
    let ours = compare_json(&[&a.to_string_lossy(), &b.to_string_lossy()]);
    let theirs = ffmpeg_scores(&a, &b, "");
    assert_eq!(theirs.len(), 50);
    assert_matches_ffmpeg(&ours, &theirs, true);
    let summary = &ours["summary"];
    assert_eq!(summary["frames"], 50);
    let psnr_mean = number(&summary["psnr_y_mean"]);
    assert!((20.0..45.0).contains(&psnr_mean), "{psnr_mean}");
    let worst = &summary["worst"];
    let worst_a = worst["a"].as_u64().expect("worst a") as usize;
    let lowest = theirs
        .iter()
        .map(|m| m["lavfi.psnr.psnr.y"])
        .fold(f64::INFINITY, f64::min);
    assert_close_db(
        theirs[worst_a - 1]["lavfi.psnr.psnr.y"],
        lowest,
        "worst frame",
    );

    // --ids picks frames of A; the scores are the same as in the whole run.
    let some = compare_json(&[&a.to_string_lossy(), &b.to_string_lossy(), "--ids", "3,40"]);
    let frames = some["frames"].as_array().expect("frames");
    assert_eq!(frames.len(), 2);
    assert_eq!(
        (frames[0]["a"].clone(), frames[1]["b"].clone()),
        (3.into(), 40.into())
    );
    assert_eq!(frames[1], ours["frames"][39]);
}

#[test]
fn difference_images_of_a_clip_are_the_shown_frames_difference() {
    // Scored and imaged from one decode: each image is |A - B| x gain of the frames
    // `framekit frames` shows for those ids, whatever order the ids were decoded in.
    let (a, b) = (original(), reencoded());
    let dir = tempfile::tempdir().expect("tempdir");
    let ours = compare_json(&[
        &a.to_string_lossy(),
        &b.to_string_lossy(),
        "--ids",
        "1,7,20,41",
        "--diff-out",
        &dir.path().to_string_lossy(),
        "--gain",
        "4",
    ]);
    assert_eq!(ours["frames"].as_array().expect("frames").len(), 4);
    let options = framekit::OpenOptions::default();
    let mut reader_a = framekit::media::VideoReader::open(&a, &options).expect("open a");
    let mut reader_b = framekit::media::VideoReader::open(&b, &options).expect("open b");
    for id in [1usize, 7, 20, 41] {
        let expected = framekit::compare::difference_image(
            &reader_a.frame(id - 1).expect("a frame"),
            &reader_b.frame(id - 1).expect("b frame"),
            4.0,
        );
        let written = std::fs::read(dir.path().join(format!("diff_a{id}_b{id}.png")))
            .expect("difference image");
        assert_eq!(
            written,
            framekit::codec::png::encode_png(&expected).expect("png"),
            "difference image of pair {id}"
        );
    }
}

#[test]
fn a_one_frame_shift_is_measured_and_undone_by_the_offset() {
    let (a, b) = (original(), shifted());
    let ours = compare_json(&[&a.to_string_lossy(), &b.to_string_lossy()]);
    let theirs = ffmpeg_scores(&a, &b, "");
    // B is one frame shorter: 49 pairs (ffmpeg with shortest=1; framekit never invents one).
    assert_eq!(theirs.len(), 49);
    assert_matches_ffmpeg(&ours, &theirs, true);
    assert!(number(&ours["summary"]["psnr_y_mean"]) < 40.0);

    // B runs one frame ahead: --offset -1 pairs A n+1 with B n, which are the same picture.
    let undone = compare_json(&[&a.to_string_lossy(), &b.to_string_lossy(), "--offset=-1"]);
    let frames = undone["frames"].as_array().expect("frames");
    assert_eq!(frames.len(), 49);
    assert_eq!(
        (frames[0]["a"].clone(), frames[0]["b"].clone()),
        (2.into(), 1.into())
    );
    for frame in frames {
        assert_eq!(frame["psnr_y"], "inf", "{frame}");
        assert_eq!(frame["ssim_all"], 1.0);
    }
    assert_eq!(undone["summary"]["identical"], 49);
    assert_eq!(undone["summary"]["psnr_y_mean"], "inf");
}

#[test]
fn pairing_by_time_follows_a_frame_rate_change() {
    let (a, b) = (original(), doubled_rate());
    let by_time = compare_json(&[&a.to_string_lossy(), &b.to_string_lossy(), "--by", "time"]);
    let frames = by_time["frames"].as_array().expect("frames");
    assert_eq!(frames.len(), 50);
    for frame in frames {
        let (fa, fb) = (
            frame["a"].as_u64().expect("a"),
            frame["b"].as_u64().expect("b"),
        );
        assert_eq!(fb, 2 * fa - 1, "{frame}");
        assert_eq!(frame["psnr_y"], "inf", "{frame}");
    }
    let by_frame = compare_json(&[&a.to_string_lossy(), &b.to_string_lossy()]);
    assert!(number(&by_frame["summary"]["psnr_y_mean"]).is_finite());
}

#[test]
fn an_image_against_an_edited_copy_matches_ffmpeg_and_writes_a_difference() {
    let (plain, edited) = image_pair();
    let diff_dir = tempfile::tempdir().expect("tempdir");
    let ours = compare_json(&[
        &plain.to_string_lossy(),
        &edited.to_string_lossy(),
        "--diff-out",
        &diff_dir.path().to_string_lossy(),
        "--gain",
        "8",
    ]);
    let theirs = ffmpeg_scores(&plain, &edited, "");
    assert_eq!(theirs.len(), 1);
    assert_matches_ffmpeg(&ours, &theirs, false);
    let psnr = number(&ours["frames"][0]["psnr_avg"]);
    assert!(psnr.is_finite() && psnr > 20.0, "{psnr}");

    let diff = image::open(diff_dir.path().join("diff_a1_b1.png"))
        .expect("difference png")
        .into_rgb8();
    assert_eq!(diff.dimensions(), (200, 150));
    // Inside the edited box the difference shows; outside it is black.
    let inside = diff.get_pixel(40, 40).0;
    assert!(inside.iter().any(|&c| c > 40), "{inside:?}");
    assert_eq!(diff.get_pixel(150, 120).0, [0, 0, 0]);

    // An image against itself: identical, "inf".
    let same = compare_json(&[&plain.to_string_lossy(), &plain.to_string_lossy()]);
    assert_eq!(same["frames"][0]["psnr_avg"], "inf");
    assert_eq!(same["frames"][0]["planes"], "rgb");
}

#[test]
fn text_output_and_errors() {
    let (a, b) = (original(), reencoded());
    let out = common::framekit_bin()
        .args(["compare", "--ids", "1,2"])
        .arg(&a)
        .arg(&b)
        .output()
        .expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("PSNR y"), "{text}");
    assert!(text.contains("worst a"), "{text}");

    let missing = common::framekit_bin()
        .args(["compare", "/nonexistent/clip.mp4"])
        .arg(&b)
        .output()
        .expect("run");
    assert_eq!(missing.status.code(), Some(1));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(err.contains("/nonexistent/clip.mp4"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let past_end = common::framekit_bin()
        .args(["compare", "--ids", "51"])
        .arg(&a)
        .arg(&b)
        .output()
        .expect("run");
    assert_eq!(past_end.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&past_end.stderr).contains("50 frames"));
}

#[test]
fn a_smaller_b_is_scaled_to_as_size_first() {
    let source = original();
    let small = common::fixture(
        "cmp_small.mp4",
        &[
            "-i",
            &source.to_string_lossy(),
            "-vf",
            "scale=160:120",
            "-c:v",
            "libx264",
            "-crf",
            "20",
        ],
    );
    let ours = compare_json(&[
        &source.to_string_lossy(),
        &small.to_string_lossy(),
        "--ids",
        "1,25,50",
    ]);
    let theirs = ffmpeg_scores(&source, &small, "scale=320:240:flags=bicubic,");
    let picked: Vec<HashMap<String, f64>> =
        [0, 24, 49].iter().map(|&i| theirs[i].clone()).collect();
    assert_matches_ffmpeg(&ours, &picked, true);
}

/// The compare worker (`compare::worker`, the app's compare thread) as a library handle with
/// its own image type: no UI.
#[test]
fn the_compare_worker_scores_runs_whole_clips_and_builds_differences_without_a_ui() {
    use framekit::compare::{CompareJob, CompareReply, CompareWorker, Pairing};
    use framekit::frame::{Frame, FrameImage};
    use std::sync::Arc;
    use std::time::Duration;

    /// The image type a caller picks: here, the difference's pixels.
    struct Pixels(Vec<u8>);
    impl FrameImage for Pixels {
        fn from_frame(frame: &Frame) -> Self {
            Pixels(frame.pixels.clone())
        }
    }

    let worker: CompareWorker<Pixels> = CompareWorker::spawn(|| {});
    let next = |what: &str| {
        worker
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|| panic!("no reply: {what}"))
    };
    assert!(worker.send(CompareJob::Open {
        a: original(),
        b: reencoded(),
        options: framekit::media::OpenOptions::default(),
        pairing: Pairing::default(),
    }));
    assert!(matches!(next("opened"), CompareReply::Opened));

    assert!(worker.send(CompareJob::Score { a: 3 }));
    match next("scores") {
        CompareReply::Scores(scores) => {
            assert_eq!(scores.len(), 1);
            assert_eq!((scores[0].a, scores[0].b), (4, 4));
            assert!(scores[0].psnr_avg > 20.0 && scores[0].psnr_avg.is_finite());
        }
        _ => panic!("expected scores"),
    }

    assert!(worker.send(CompareJob::ScoreAll { run: 7 }));
    let (mut scored, mut last) = (0, None);
    while last.is_none_or(|(done, total)| done < total) {
        match next("whole clip") {
            CompareReply::Scores(scores) => scored += scores.len(),
            CompareReply::Progress { run, done, total } => {
                assert_eq!(run, 7);
                last = Some((done, total));
            }
            _ => panic!("expected scores and progress"),
        }
    }
    assert_eq!(scored, 50, "every pair of the 2 s, 25 fps clip");

    let mut source = framekit::MediaSource::open(&original(), &Default::default()).expect("open");
    let frame = Arc::new(source.frame(10).expect("frame"));
    assert!(worker.send(CompareJob::Difference {
        a: frame.clone(),
        b: frame.clone(),
        gain: 8.0,
    }));
    match next("difference") {
        CompareReply::Difference { a, b, image, .. } => {
            assert_eq!((a, b), (10, 10));
            assert_eq!(image.0.len(), 320 * 240 * 3);
            assert!(image.0.iter().all(|&v| v == 0), "a frame against itself");
        }
        _ => panic!("expected a difference"),
    }
    assert!(worker.send(CompareJob::RgbPsnr {
        a: frame.clone(),
        b: frame,
    }));
    match next("rgb psnr") {
        CompareReply::RgbPsnr { db, .. } => assert!(db.is_infinite()),
        _ => panic!("expected an RGB PSNR"),
    }

    // A file that cannot be opened is a typed failure.
    assert!(worker.send(CompareJob::Open {
        a: original(),
        b: std::path::PathBuf::from("/nonexistent/b.mp4"),
        options: framekit::media::OpenOptions::default(),
        pairing: Pairing::default(),
    }));
    assert!(matches!(
        next("failure"),
        CompareReply::Failed(framekit::compare::CompareError::Media(_))
    ));
}
