//! Long and remote media: a 20-minute file (one 10-second clip concatenated with `-c copy`,
//! so frame N of the long file is frame (N-1) % 250 of the clip) served over HTTP by a server
//! this test starts, which counts the bytes it sends. `frames` must read about what a
//! sequential decode up to the last id reads for ids near the start, and the header plus a
//! few GOPs for far ids; every answer equals the clip's frame. Also Matroska and MPEG-TS
//! (no sample table: the index grows from the start), `probe`, and the player's first frame
//! before its background index is complete.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::http::{Serve, Server};
use framekit::player::{Player, PlayerOptions, Reply, Request};

/// Frames in the source clip (10 s at 25 fps) and copies of it in the long file.
const CLIP_FRAMES: usize = common::LONG_SOURCE_FRAMES;
const COPIES: usize = common::LONG_COPIES;
/// The clip's keyframe interval (frames).
const GOP: usize = 50;
/// What socket buffers on loopback may hold when a reader stops early: counted as sent by
/// the server, never read by the client. It varies with how bursty the reads are.
const SOCKET_SLACK: f64 = 256.0 * 1024.0;

fn clip() -> PathBuf {
    common::long_source_clip()
}

fn long_mp4() -> PathBuf {
    common::long_mp4()
}

fn remux(name: &str) -> PathBuf {
    let long = long_mp4().to_string_lossy().into_owned();
    common::fixture(name, &["-i", &long, "-c", "copy"])
}

/// The clip's frames, decoded in order by a plain sequential decode, as `frames` prints them
/// (base64 PNG): frame N of the long file is `clip[(N-1) % 250]`.
fn clip_frame_pngs() -> Vec<String> {
    common::sequential_frames(&clip(), framekit::media::color::Orientation::default())
        .iter()
        .map(|f| framekit::codec::to_base64(&framekit::codec::encode_png(f).expect("png")))
        .collect()
}

/// `framekit frames TARGET --ids IDS`, one text per frame.
fn frames_of(target: &str, ids: &str) -> Vec<String> {
    let output = common::framekit_bin()
        .args(["frames", target, "--ids", ids])
        .output()
        .expect("run framekit");
    assert!(
        output.status.success(),
        "framekit frames {target} --ids {ids}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("utf-8");
    text.trim().split('|').map(str::to_string).collect()
}

/// Bytes a plain sequential decode of the first `frames` frames downloads (what the original
/// helper does: OpenCV reads from the start up to the last wanted frame).
fn sequential_decode_bytes(server: &Server, url: &str, frames: usize) -> u64 {
    server.reset_counts();
    common::succeed(std::process::Command::new("ffmpeg").args([
        "-nostdin",
        "-v",
        "error",
        "-i",
        url,
        "-map",
        "0:v",
        "-frames:v",
        &frames.to_string(),
        "-f",
        "null",
        "-",
    ]));
    server.bytes_sent()
}

/// The size of the MP4's `moov` box: the header a reader must fetch.
fn moov_size(path: &Path) -> u64 {
    let bytes = std::fs::read(path).expect("read");
    let mut at = 0usize;
    while at + 8 <= bytes.len() {
        let size = u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
        if &bytes[at + 4..at + 8] == b"moov" {
            return size as u64;
        }
        if size < 8 {
            break;
        }
        at += size;
    }
    panic!("no moov box in {}", path.display())
}

fn served(files: &[(&str, &Path)]) -> (tempfile::TempDir, Server) {
    let root = tempfile::tempdir().expect("tempdir");
    for (name, path) in files {
        std::os::unix::fs::symlink(path, root.path().join(name)).expect("link");
    }
    let server = Server::start(root.path().to_path_buf(), Serve::Ranges);
    (root, server)
}

fn expected(clip: &[String], ids: &[usize]) -> Vec<String> {
    ids.iter()
        .map(|id| clip[(id - 1) % CLIP_FRAMES].clone())
        .collect()
}

fn id_list(ids: &[usize]) -> String {
    ids.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn the_long_file_is_what_the_test_assumes() {
    let long = long_mp4();
    let output = common::framekit_bin()
        .args(["probe", "--json"])
        .arg(&long)
        .output()
        .expect("probe");
    assert!(output.status.success());
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(json["frame_count"], CLIP_FRAMES * COPIES);
    assert_eq!(json["video"]["keyframe_count"], CLIP_FRAMES * COPIES / GOP);
    assert_eq!(
        json["video"]["frame_index"], "container",
        "an MP4's count comes from its sample table"
    );
}

#[test]
fn near_ids_over_http_read_about_what_a_sequential_decode_reads() {
    let long = long_mp4();
    let size = std::fs::metadata(&long).expect("size").len();
    let clip = clip_frame_pngs();
    let (_root, server) = served(&[("long.mp4", &long)]);
    let url = server.url("long.mp4");

    let sequential = sequential_decode_bytes(&server, &url, 30);
    server.reset_counts();
    let frames = frames_of(&url, "1,30");
    let ours = server.bytes_sent();
    assert_eq!(
        frames,
        expected(&clip, &[1, 30]),
        "answers are the clip's frames"
    );
    assert_eq!(
        frames,
        frames_of(&long.to_string_lossy(), "1,30"),
        "same as the local file"
    );
    eprintln!(
        "ids 1,30: {ours} bytes ({} requests), sequential decode to frame 30: {sequential} bytes, file {size}",
        server.requests()
    );
    assert!(
        ours as f64 <= sequential as f64 * 1.5 + SOCKET_SLACK,
        "ids 1,30 read {ours} bytes, a sequential decode to frame 30 reads {sequential}"
    );
    assert!(
        (ours as f64) < size as f64 * 0.02,
        "ids 1,30 read {ours} of {size} bytes"
    );
}

#[test]
fn far_ids_over_http_read_the_header_and_their_gops() {
    let long = long_mp4();
    let size = std::fs::metadata(&long).expect("size").len();
    let header = moov_size(&long);
    let gops = (CLIP_FRAMES * COPIES / GOP) as u64;
    let gop_bytes = (size - header) / gops;
    let clip = clip_frame_pngs();
    let (_root, server) = served(&[("long.mp4", &long)]);
    let url = server.url("long.mp4");

    // One far id: the header, then the GOP that holds it (and the one before, when it sits
    // near its GOP's start), plus what the socket buffers hold when a read stops early.
    let far = [27_013];
    server.reset_counts();
    assert_eq!(frames_of(&url, &id_list(&far)), expected(&clip, &far));
    let one = server.bytes_sent();
    eprintln!(
        "one far id: {one} bytes ({} requests), header {header}, GOP {gop_bytes}",
        server.requests()
    );
    assert!(
        one <= header + 3 * gop_bytes + 512 * 1024,
        "one far id read {one} bytes; header {header} + 3 GOPs of {gop_bytes}"
    );

    // Ten ids spread over the file.
    let spread: Vec<usize> = (0..10).map(|i| 1_234 + i * 2_875 + i * i * 7).collect();
    server.reset_counts();
    assert_eq!(frames_of(&url, &id_list(&spread)), expected(&clip, &spread));
    let ten = server.bytes_sent();
    eprintln!(
        "ten ids: {ten} bytes ({} requests), header {header}, GOP {gop_bytes}",
        server.requests()
    );
    assert!(
        ten <= header + 10 * (2 * gop_bytes + 256 * 1024),
        "ten far ids read {ten} bytes; header {header} + 10 x 2 GOPs of {gop_bytes}"
    );
    assert!((ten as f64) < size as f64 * 0.1);
}

#[test]
fn matroska_and_mpeg_ts_index_lazily_from_the_start() {
    let clip = clip_frame_pngs();
    let mkv = remux("long.mkv");
    let ts = remux("long.ts");
    let (_root, server) = served(&[("long.mkv", &mkv), ("long.ts", &ts)]);
    for name in ["long.mkv", "long.ts"] {
        let url = server.url(name);
        let size = std::fs::metadata(if name.ends_with("mkv") { &mkv } else { &ts })
            .expect("size")
            .len();
        let sequential = sequential_decode_bytes(&server, &url, 30);
        server.reset_counts();
        assert_eq!(frames_of(&url, "1,30"), expected(&clip, &[1, 30]), "{name}");
        let ours = server.bytes_sent();
        eprintln!(
            "{name} ids 1,30: {ours} bytes ({} requests), sequential decode to frame 30: {sequential}",
            server.requests()
        );
        assert!(
            ours as f64 <= sequential as f64 * 1.5 + SOCKET_SLACK,
            "{name}: ids 1,30 read {ours} bytes, a sequential decode to 30 reads {sequential}"
        );
        assert!(
            (ours as f64) < size as f64 * 0.02,
            "{name}: {ours} of {size}"
        );
    }
    // Locally, a later id is reached by reading on; past the end is skipped by the rules.
    let local = mkv.to_string_lossy().into_owned();
    let ids = [2_600, 7_777];
    assert_eq!(frames_of(&local, &id_list(&ids)), expected(&clip, &ids));
}

fn wait_for<T>(player: &Player<()>, what: &str, pick: impl FnMut(Reply<()>) -> Option<T>) -> T {
    common::wait_for_reply(player, what, Duration::from_secs(120), pick)
}

#[test]
fn the_player_shows_the_first_frame_before_the_index_is_complete() {
    let mkv = remux("long.mkv");
    let clip = clip_frame_pngs();
    let (gate_tx, gate_rx) = crossbeam_channel::bounded(1);
    let options = PlayerOptions {
        index_gate: Some(gate_rx),
        filmstrip: false,
        ..PlayerOptions::default()
    };
    let player: Player<()> = Player::spawn(options, || {});
    player.send(Request::Open(mkv.clone())).expect("open");
    let (count, media_id) = wait_for(&player, "the open", |reply| match reply {
        Reply::Opened {
            frame_times,
            media_id,
            ..
        } => Some((frame_times.len(), media_id)),
        Reply::Failed { error, .. } => panic!("{error}"),
        _ => None,
    });
    assert!(
        count < CLIP_FRAMES * COPIES,
        "opened before the index is complete: {count} frames known"
    );
    player.send(Request::Show { frame: 0 }).expect("show");
    let first = wait_for(&player, "frame 1", |reply| match reply {
        Reply::Frame(ready) if ready.exact && ready.index == 0 => Some(ready.frame),
        Reply::Failed { error, .. } => panic!("{error}"),
        Reply::Indexed { .. } => panic!("the index finished while it was held"),
        _ => None,
    });
    assert_eq!(png_text(&first), clip[0]);

    // Released, the index reads the whole file and says so.
    gate_tx.send(()).expect("release the index");
    let (indexed_count, indexed_id) = wait_for(&player, "the index", |reply| match reply {
        Reply::Indexed {
            frame_times,
            media_id,
            ..
        } => Some((frame_times.len(), media_id)),
        Reply::Failed { error, .. } => panic!("{error}"),
        _ => None,
    });
    assert_eq!(indexed_id, media_id);
    assert_eq!(indexed_count, CLIP_FRAMES * COPIES);
    player.send(Request::Show { frame: 27_000 }).expect("show");
    let far = wait_for(&player, "a far frame", |reply| match reply {
        Reply::Frame(ready) if ready.exact && ready.index == 27_000 => Some(ready.frame),
        Reply::Failed { error, .. } => panic!("{error}"),
        _ => None,
    });
    assert_eq!(png_text(&far), clip[27_000 % CLIP_FRAMES]);
}

fn png_text(frame: &framekit::Frame) -> String {
    framekit::codec::to_base64(&framekit::codec::encode_png(frame).expect("png"))
}

fn probe_json(path: &Path, cache: &Path) -> serde_json::Value {
    let output = common::framekit_bin()
        .env("FRAMEKIT_INDEX_CACHE", cache)
        .args(["probe", "--json"])
        .arg(path)
        .output()
        .expect("probe");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("json")
}

#[test]
fn a_scanned_index_is_cached_on_disk_and_reused() {
    let mkv = remux("long.mkv");
    let cache = tempfile::tempdir().expect("tempdir");
    let first = probe_json(&mkv, cache.path());
    assert_eq!(
        first["video"]["frame_index"], "scan",
        "Matroska has no sample table"
    );
    assert_eq!(first["frame_count"], CLIP_FRAMES * COPIES);
    let entries = std::fs::read_dir(cache.path()).expect("cache dir").count();
    assert_eq!(entries, 1, "one cache entry for the scan");
    let second = probe_json(&mkv, cache.path());
    assert_eq!(second["video"]["frame_index"], "cache");
    assert_eq!(second["frame_count"], first["frame_count"]);
    assert_eq!(
        second["video"]["keyframe_count"],
        first["video"]["keyframe_count"]
    );
    // A damaged entry is a miss (scanned again and replaced), never an error.
    for entry in std::fs::read_dir(cache.path()).expect("cache dir") {
        std::fs::write(entry.expect("entry").path(), b"garbage").expect("damage");
    }
    assert_eq!(
        probe_json(&mkv, cache.path())["video"]["frame_index"],
        "scan"
    );
    // A copy with another modification time is another file.
    let copy = cache.path().join("copy.mkv");
    std::fs::copy(&mkv, &copy).expect("copy");
    assert_eq!(
        probe_json(&copy, cache.path())["video"]["frame_index"],
        "scan"
    );
    assert_eq!(
        probe_json(&copy, cache.path())["video"]["frame_index"],
        "cache"
    );
}
