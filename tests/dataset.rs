//! Frames at dataset scale: `framekit frames --jsonl` (order, error rows, byte-identical to
//! `framekit frames`, flat memory as the input grows) and URLs served by a small HTTP server
//! this test starts on 127.0.0.1 (with and without range requests, 404, refused, stalled).

mod common;

use std::net::TcpListener;
use std::path::PathBuf;

use common::capped::{Input, run};
use common::http::{Serve, Server};

fn frames_cli(path: &str, ids: &str) -> (Option<i32>, String) {
    let output = common::framekit_bin()
        .args(["frames", path, "--ids", ids])
        .output()
        .expect("run framekit");

    if !output.status.success() {
        eprintln!(
            "framekit frames {path} --ids {ids}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout)
            .trim_end()
            .to_string(),
    )
}

fn lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each output line is JSON"))
        .collect()
}

/// `count` requests: good ones over generated clips, and a missing file, a bad id list and a
/// broken JSON line mixed in, in a deterministic shuffle.
fn requests(count: usize) -> (Vec<String>, Vec<(String, String)>) {
    let clips = [
        common::h264_mp4(),
        common::vp9_webm(),
        common::mpeg4_avi_mp3(),
        common::mjpeg(),
    ];
    let ids = ["1,30", "2", "132,1,5", "999", "40,41"];
    let order = common::shuffled(count, 0xda7a);
    let mut lines = Vec::new();
    let mut expected = Vec::new();
    for (n, &k) in order.iter().enumerate() {
        let (path, ids) = match k % 23 {
            0 => ("/nonexistent/missing.mp4".to_string(), "1".to_string()),
            1 => (clips[0].display().to_string(), "a,b".to_string()),
            _ => (
                clips[k % clips.len()].display().to_string(),
                ids[k % ids.len()].to_string(),
            ),
        };
        if k % 23 == 2 {
            lines.push(format!("{{\"path\": broken line {n}"));
            expected.push((String::new(), "broken".to_string()));
            continue;
        }
        lines.push(serde_json::json!({"id": n, "path": path, "ids": ids}).to_string());
        expected.push((path, ids));
    }
    (lines, expected)
}

#[test]
fn jsonl_answers_every_request_in_order_exactly_like_frames() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (input, expected) = requests(200);
    // Two decoders on one core's share each (single-threaded decoding, as a Spark task runs
    // it), checked against `framekit frames` decoding on every core.
    let result = run(
        dir.path(),
        &["frames", "--jsonl", "--threads", "2", "--cores", "1"],
        Input::Bytes((input.join("\n") + "\n").into_bytes()),
    );
    assert_eq!(result.code, Some(0), "{}", result.stderr);
    assert_eq!(
        result.stderr, "",
        "stderr is not a terminal: no progress, no noise"
    );
    let rows = lines(&result.stdout);
    assert_eq!(rows.len(), 200, "one result per request");
    let mut cache = std::collections::HashMap::new();
    for (n, (row, (path, ids))) in rows.iter().zip(&expected).enumerate() {
        if ids == "broken" {
            let error = row["error"].as_str().expect("error row");
            assert!(error.starts_with(&format!("line {}: ", n + 1)), "{error}");
            assert_eq!(row["frames"], "");
            continue;
        }
        assert_eq!(row["id"], n, "results in input order");
        assert_eq!(row["path"], path.as_str());
        let (code, text) = cache
            .entry((path.clone(), ids.clone()))
            .or_insert_with(|| frames_cli(path, ids))
            .clone();
        if code == Some(0) {
            assert_eq!(row["error"], serde_json::Value::Null, "{row}");
            assert_eq!(row["frames"].as_str(), Some(text.as_str()), "request {n}");
            let want: Vec<usize> = if ids == "999" {
                vec![1]
            } else {
                let mut v: Vec<usize> = ids.split(',').map(|i| i.parse().unwrap_or(0)).collect();
                v.sort();
                v.dedup();
                v
            };
            assert_eq!(row["ids"], serde_json::json!(want));
        } else {
            assert!(row["error"].is_string(), "{row}");
            assert_eq!(row["frames"], "");
        }
    }
}

#[test]
fn jsonl_memory_stays_flat_as_the_input_grows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = common::h264_mp4().display().to_string();
    let input = |count: usize| {
        (0..count)
            .map(|n| serde_json::json!({"id": n, "path": clip, "ids": "1,60,120"}).to_string())
            .collect::<Vec<_>>()
            .join("\n")
            .into_bytes()
    };
    let small = run(
        dir.path(),
        &["frames", "--jsonl", "--threads", "2"],
        Input::Bytes(input(200)),
    );
    let large = run(
        dir.path(),
        &["frames", "--jsonl", "--threads", "2"],
        Input::Bytes(input(2000)),
    );
    assert_eq!((small.code, large.code), (Some(0), Some(0)));
    assert_eq!(lines(&large.stdout).len(), 2000);
    println!(
        "peak RSS: 200 requests {} MB, 2000 requests {} MB",
        small.peak_rss / 1_000_000,
        large.peak_rss / 1_000_000
    );
    assert!(
        large.peak_rss < small.peak_rss + 20_000_000,
        "ten times the requests, flat memory: {} MB vs {} MB",
        large.peak_rss / 1_000_000,
        small.peak_rss / 1_000_000
    );
}

fn served_clips() -> (tempfile::TempDir, Vec<(String, PathBuf)>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let clips = vec![
        ("h264.mp4".to_string(), common::h264_mp4()),
        ("hevc.mkv".to_string(), common::hevc_open_gop()),
        (
            "still.png".to_string(),
            common::ffmpeg_first_frame_png(&common::h264_mp4(), "url_still.png"),
        ),
    ];
    for (name, path) in &clips {
        std::fs::copy(path, dir.path().join(name)).expect("copy");
    }
    (dir, clips)
}

#[test]
fn frames_over_http_are_byte_identical_to_the_local_file() {
    let (root, clips) = served_clips();
    for mode in [Serve::Ranges, Serve::NoRanges] {
        let server = Server::start(root.path().to_path_buf(), mode);
        for (name, local) in &clips {
            let ids = if name.ends_with(".png") {
                "1"
            } else {
                "120,2,61"
            };
            let (code, want) = frames_cli(&local.display().to_string(), ids);
            assert_eq!(code, Some(0));
            if mode == Serve::NoRanges && name.ends_with(".mp4") {
                // Its index is at the end: without range requests FFmpeg cannot go back to
                // the frames after reading it. A clear error, not a wrong answer.
                let dir = tempfile::tempdir().expect("tempdir");
                let url = server.url(name);
                let result = run(dir.path(), &["frames", &url, "--ids", ids], Input::None);
                assert_eq!(result.code, Some(1));
                let line = result.error_line();
                assert!(
                    line.starts_with(&format!("framekit: {url}: cannot fetch"))
                        && line.contains("range requests"),
                    "{line}"
                );
                continue;
            }
            let (code, got) = frames_cli(&server.url(name), ids);
            assert_eq!(code, Some(0), "{name} over HTTP");
            if name.ends_with(".png") {
                // Images over HTTP are decoded by FFmpeg: the same pixels, maybe another PNG.
                let a = framekit::codec::decode_base64_images(&want, &Default::default())
                    .expect("local");
                let b = framekit::codec::decode_base64_images(&got, &Default::default())
                    .expect("remote");
                assert_eq!(
                    a[0].image.frame(0).expect("a").pixels,
                    b[0].image.frame(0).expect("b").pixels
                );
            } else {
                assert_eq!(got, want, "{name}: frames over HTTP equal the local file's");
            }
        }
    }
}

#[test]
fn a_file_url_is_the_local_file() {
    let clip = common::h264_mp4();
    let url = format!("file://{}", clip.display());
    let (code, got) = frames_cli(&url, "7");
    assert_eq!(code, Some(0));
    assert_eq!(got, frames_cli(&clip.display().to_string(), "7").1);
}

#[test]
fn http_failures_are_clear_one_line_errors() {
    let (root, _) = served_clips();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(root.path().to_path_buf(), Serve::Ranges);
    let missing = server.url("missing.mp4");
    let result = run(dir.path(), &["frames", &missing, "--ids", "1"], Input::None);
    assert_eq!(result.code, Some(1));
    let line = result.error_line();
    assert!(
        line.starts_with(&format!("framekit: {missing}: cannot fetch")) && line.contains("404"),
        "{line}"
    );

    let refused_port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let refused = format!("http://127.0.0.1:{refused_port}/x.mp4");
    let result = run(dir.path(), &["probe", &refused], Input::None);
    assert_eq!(result.code, Some(1));
    let line = result.error_line();
    assert!(
        line.starts_with(&format!("framekit: {refused}: cannot fetch"))
            && line.to_lowercase().contains("refused"),
        "{line}"
    );

    let stalled = Server::start(root.path().to_path_buf(), Serve::Stall);
    let url = stalled.url("h264.mp4");
    let result = run(
        dir.path(),
        &["frames", &url, "--ids", "1", "--timeout", "2"],
        Input::None,
    );
    assert_eq!(result.code, Some(1));
    let line = result.error_line();
    assert!(
        line.starts_with(&format!("framekit: {url}: cannot fetch")),
        "{line}"
    );

    // In a JSONL stream the same failures are rows, and the stream goes on.
    let requests = [
        serde_json::json!({"id": 1, "path": missing, "ids": "1"}),
        serde_json::json!({"id": 2, "path": server.url("h264.mp4"), "ids": "3"}),
    ]
    .map(|r| r.to_string())
    .join("\n");
    let result = run(
        dir.path(),
        &["frames", "--jsonl"],
        Input::Bytes(requests.into_bytes()),
    );
    assert_eq!(result.code, Some(0), "{}", result.stderr);
    let rows = lines(&result.stdout);
    assert!(rows[0]["error"].as_str().is_some_and(|e| e.contains("404")));
    assert_eq!(
        rows[1]["frames"].as_str(),
        Some(
            frames_cli(&common::h264_mp4().display().to_string(), "3")
                .1
                .as_str()
        )
    );
}
