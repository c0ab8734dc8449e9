//! Hostile media, the video and stream paths: each case runs the real binary as a capped
//! child (2 GB address space) against inputs and servers the test makes on 127.0.0.1, and
//! must end with framekit's own one-line error (or a correct answer), a non-zero exit, small
//! memory, within its deadline + 5 s: a trickling server, an endless body, live and looping
//! playlists, a frame that claims a huge size, an answer too large, an endless JSONL line.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::capped::{Capped, Input, run};
use common::http::{Serve, Server};

/// Runs framekit capped and timed.
fn timed(dir: &Path, args: &[&str], input: Input) -> (Capped, Duration) {
    let start = Instant::now();
    let result = run(dir, args, input);
    (result, start.elapsed())
}

fn assert_refused(result: &Capped, what: &str, needle: &str) {
    assert_eq!(
        result.code,
        Some(1),
        "{what}: exit code; stderr: {}",
        result.stderr
    );
    let line = result.error_line();
    assert!(
        line.starts_with("framekit: ") && line.contains(needle),
        "{what}: {line}"
    );
    assert!(result.stdout.is_empty(), "{what}: nothing on stdout");
    result.assert_small(what);
}

/// The H.264 clip remuxed to MPEG-TS (a live stream's segment, an endless body's content).
fn h264_ts() -> std::path::PathBuf {
    let clip = common::h264_mp4().to_string_lossy().into_owned();
    common::fixture("h264.ts", &["-i", &clip, "-c", "copy", "-f", "mpegts"])
}

fn served(dir: &Path, files: &[(&str, &Path)], mode: Serve) -> Server {
    for (name, path) in files {
        std::fs::copy(path, dir.join(name)).expect("copy");
    }
    Server::start(dir.to_path_buf(), mode)
}

#[test]
fn a_trickling_server_ends_at_the_deadline() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Larger than the 64 KiB the server sends at once: a whole count needs all of it.
    let clip = common::fixture(
        "trickle.mkv",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=640x360:rate=25:duration=5",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-b:v",
            "1M",
        ],
    );
    let server = served(dir.path(), &[("slow.mkv", &clip)], Serve::Trickle);
    let url = server.url("slow.mkv");
    let (result, took) = timed(dir.path(), &["probe", &url, "--deadline", "3"], Input::None);
    assert_refused(&result, "trickle", "deadline");
    assert!(took < Duration::from_secs(3 + 5), "took {took:?}");
    assert!(result.error_line().contains(&url), "names the URL");
}

#[test]
fn an_endless_body_ends_at_the_deadline_and_a_near_frame_still_answers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ts = h264_ts();
    let server = served(dir.path(), &[("live.ts", &ts)], Serve::Endless);
    let url = server.url("live.ts");
    // The whole count of an endless stream: never; the deadline ends it.
    let (result, took) = timed(dir.path(), &["probe", &url, "--deadline", "4"], Input::None);
    assert_refused(&result, "endless probe", "deadline");
    assert!(took < Duration::from_secs(4 + 5), "took {took:?}");
    // Frames near the start need only the start: answered, lazily.
    let (result, took) = timed(
        dir.path(),
        &["frames", &url, "--ids", "1,30", "--deadline", "20"],
        Input::None,
    );
    assert_eq!(result.code, Some(0), "{}", result.stderr);
    let text = String::from_utf8_lossy(&result.stdout);
    assert_eq!(text.trim().split('|').count(), 2);
    assert!(took < Duration::from_secs(20 + 5));
}

#[test]
fn playlists_are_refused_unless_asked_for() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A live HLS playlist (no end tag) naming a segment, served over HTTP.
    let segment = h264_ts();
    std::fs::copy(&segment, dir.path().join("seg.ts")).expect("copy");
    let playlist = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:5\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:4.4,\nseg.ts\n";
    std::fs::write(dir.path().join("live.m3u8"), playlist).expect("playlist");
    std::fs::write(dir.path().join("live"), playlist).expect("playlist, no extension");
    let server = Server::start(dir.path().to_path_buf(), Serve::Ranges);
    let (result, _) = timed(
        dir.path(),
        &["probe", &server.url("live.m3u8")],
        Input::None,
    );
    assert_refused(&result, "live HLS", "HLS playlist");
    // Without the telling name, FFmpeg's format whitelist still refuses the HLS demuxer.
    let (result, took) = timed(dir.path(), &["probe", &server.url("live")], Input::None);
    assert_eq!(result.code, Some(1), "{}", result.stderr);
    assert!(took < Duration::from_secs(30), "took {took:?}");
    result.assert_small("HLS without an extension");

    // A concat list that names itself (loops forever) and a local file: refused on disk.
    let list = dir.path().join("loop.txt");
    std::fs::write(
        &list,
        format!(
            "ffconcat version 1.0\nfile '{}'\nfile '{}'\n",
            segment.display(),
            list.display()
        ),
    )
    .expect("list");
    let (result, _) = timed(dir.path(), &["probe", &list.to_string_lossy()], Input::None);
    assert_refused(&result, "looping concat list", "concat list");
    // Asked for, a playlist with an end opens.
    std::fs::write(
        dir.path().join("vod.m3u8"),
        format!("{playlist}#EXT-X-ENDLIST\n"),
    )
    .expect("playlist");
    let (result, _) = timed(
        dir.path(),
        &[
            "frames",
            &server.url("vod.m3u8"),
            "--ids",
            "1",
            "--allow-playlists",
        ],
        Input::None,
    );
    assert_eq!(result.code, Some(0), "{}", result.stderr);

    // Transcoding a playlist on disk: refused once (retrying cannot help), by name.
    let queue = dir.path().join("queue.sqlite");
    let (result, took) = timed(
        dir.path(),
        &[
            "transcode",
            &dir.path().join("live.m3u8").to_string_lossy(),
            "-o",
            &dir.path().join("out").to_string_lossy(),
            "--queue",
            &queue.to_string_lossy(),
        ],
        Input::None,
    );
    assert_eq!(result.code, Some(1), "{}", result.stderr);
    assert!(took < Duration::from_secs(30), "took {took:?}");
    assert!(
        result
            .stdout
            .windows(b"is an HLS playlist".len())
            .any(|w| w == b"is an HLS playlist"),
        "{}",
        String::from_utf8_lossy(&result.stdout)
    );
    assert!(
        !result.stderr.contains("retrying"),
        "a playlist is not retried: {}",
        result.stderr
    );
}

/// A Matroska file whose PNG frames claim a huge size inside the frame (the stream says
/// 64x48): the decoder refuses it against the pixel limit before allocating.
#[test]
fn a_frame_that_claims_a_huge_size_is_refused_before_allocating() {
    let dir = tempfile::tempdir().expect("tempdir");
    let honest = common::fixture(
        "png_in.mkv",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=64x48:rate=5:duration=1",
            "-c:v",
            "png",
        ],
    );
    let mut bytes = std::fs::read(&honest).expect("read");
    let mut patched = 0;
    let mut at = 0;
    while let Some(found) = bytes[at..].windows(4).position(|w| w == b"IHDR") {
        let ihdr = at + found + 4;
        bytes[ihdr..ihdr + 4].copy_from_slice(&60_000u32.to_be_bytes());
        bytes[ihdr + 4..ihdr + 8].copy_from_slice(&60_000u32.to_be_bytes());
        patched += 1;
        at = ihdr + 8;
    }
    assert!(patched >= 5, "every frame's header patched");
    let bomb = dir.path().join("bomb.mkv");
    std::fs::write(&bomb, &bytes).expect("write");
    let (result, _) = timed(
        dir.path(),
        &["frames", &bomb.to_string_lossy(), "--ids", "1"],
        Input::None,
    );
    assert_eq!(result.code, Some(1), "{}", result.stderr);
    let line = result.error_line();
    assert!(line.contains("bomb.mkv"), "{line}");
    result.assert_small("huge PNG frame in Matroska");
}

#[test]
fn an_answer_over_its_budget_is_refused_before_it_is_held() {
    let dir = tempfile::tempdir().expect("tempdir");
    let noisy = common::fixture(
        "noise.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "nullsrc=size=320x240:rate=25:duration=4,geq=random(1)*255:128:128",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-qp",
            "0",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    let ids: Vec<String> = (1..=100).map(|i| i.to_string()).collect();
    let ids = ids.join(",");
    let (result, _) = timed(
        dir.path(),
        &[
            "frames",
            &noisy.to_string_lossy(),
            "--ids",
            &ids,
            "--max-answer-mib",
            "2",
        ],
        Input::None,
    );
    assert_refused(&result, "answer budget", "over the limit of 2 MiB");
    // In a JSONL batch it is that request's error row; the next request is answered.
    let requests = format!(
        "{{\"id\": 1, \"path\": {:?}, \"ids\": \"{ids}\"}}\n{{\"id\": 2, \"path\": {:?}, \"ids\": \"1\"}}\n",
        noisy.to_string_lossy(),
        noisy.to_string_lossy()
    );
    let (result, _) = timed(
        dir.path(),
        &["frames", "--jsonl", "--max-answer-mib", "2"],
        Input::Bytes(requests.into_bytes()),
    );
    assert_eq!(result.code, Some(0), "{}", result.stderr);
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&result.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("row"))
        .collect();
    assert_eq!(rows.len(), 2);
    assert!(
        rows[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("2 MiB"))
    );
    assert!(
        rows[1]["error"].is_null() && rows[1]["frames"].as_str().is_some_and(|f| !f.is_empty())
    );
}

#[test]
fn a_jsonl_line_past_its_limit_is_an_error_row_and_reading_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = common::h264_mp4();
    // 3 MiB of zeros without a newline, then a real request; a BOM before the first line.
    let mut input = b"\xEF\xBB\xBF".to_vec();
    input.extend(std::iter::repeat_n(0u8, 3 << 20));
    input.extend_from_slice(b"\n\xFF\xFE not utf-8\n");
    input.extend_from_slice(
        format!(
            "{{\"id\": 7, \"path\": {:?}, \"ids\": \"2\"}}\n",
            clip.to_string_lossy()
        )
        .as_bytes(),
    );
    let (result, _) = timed(dir.path(), &["frames", "--jsonl"], Input::Bytes(input));
    assert_eq!(result.code, Some(0), "{}", result.stderr);
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&result.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("row"))
        .collect();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(
        rows[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("line 1") && e.contains("1 MiB"))
    );
    assert!(
        rows[1]["error"]
            .as_str()
            .is_some_and(|e| e.contains("line 2") && e.contains("UTF-8"))
    );
    assert_eq!(rows[2]["id"], 7);
    assert!(rows[2]["error"].is_null());
    result.assert_small("a 3 MiB line");
}

/// Requests from untrusted input: `--allow-root` keeps them inside a folder (links resolved),
/// `--no-local-files` to URLs; a refusal reads the same whether the file exists or not.
#[test]
fn local_files_can_be_kept_inside_a_folder_or_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("root");
    std::fs::create_dir(&root).expect("root");
    let clip = common::h264_mp4();
    std::fs::copy(&clip, root.join("ok.mp4")).expect("copy");
    let outside = dir.path().join("secret.mp4");
    std::fs::copy(&clip, &outside).expect("copy");
    std::os::unix::fs::symlink(&outside, root.join("link.mp4")).expect("link");
    let root_arg = root.to_string_lossy().into_owned();
    let line = |path: &str| format!("{{\"id\": {path:?}, \"path\": {path:?}, \"ids\": \"1\"}}\n");
    let requests = [
        root.join("ok.mp4").to_string_lossy().into_owned(),
        root.join("link.mp4").to_string_lossy().into_owned(),
        outside.to_string_lossy().into_owned(),
        dir.path()
            .join("missing.mp4")
            .to_string_lossy()
            .into_owned(),
        format!("{}/../secret.mp4", root_arg),
        format!("file://{}", outside.display()),
    ];
    let input: String = requests.iter().map(|p| line(p)).collect();
    let (result, _) = timed(
        dir.path(),
        &["frames", "--jsonl", "--allow-root", &root_arg],
        Input::Bytes(input.into_bytes()),
    );
    assert_eq!(result.code, Some(0), "{}", result.stderr);
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&result.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("row"))
        .collect();
    assert_eq!(rows.len(), requests.len());
    assert!(rows[0]["error"].is_null(), "inside the root: {}", rows[0]);
    for row in &rows[1..] {
        let error = row["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("outside the folders this request may read"),
            "{row}"
        );
    }
    // The existing and the missing file outside are refused alike.
    let strip = |row: &serde_json::Value| {
        let error = row["error"].as_str().unwrap_or_default();
        error
            .rsplit(": not opened")
            .next()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(strip(&rows[2]), strip(&rows[3]));

    let (result, _) = timed(
        dir.path(),
        &[
            "probe",
            &root.join("ok.mp4").to_string_lossy(),
            "--no-local-files",
        ],
        Input::None,
    );
    assert_refused(&result, "--no-local-files", "local files are not allowed");
    // URLs still open.
    let server = Server::start(root.clone(), Serve::Ranges);
    let (result, _) = timed(
        dir.path(),
        &[
            "frames",
            &server.url("ok.mp4"),
            "--ids",
            "1",
            "--no-local-files",
        ],
        Input::None,
    );
    assert_eq!(result.code, Some(0), "{}", result.stderr);
}
