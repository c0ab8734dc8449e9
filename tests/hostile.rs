//! Hostile and careless input, each case run as the real `framekit` binary in a child process
//! with its address space capped (2 GiB) and a timeout, asserting the exit code, a one-line
//! error, and the child's own peak resident memory (from `wait4`) under 1 GB. Servers and
//! listeners the tests start are on 127.0.0.1 only.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::capped::{Input, run, run_capped, run_capped_env};

/// A GIF with a `screen_w` x `screen_h` screen and `frames` one-pixel frames.
fn gif(screen_w: u16, screen_h: u16, frames: usize) -> Vec<u8> {
    let mut gif = b"GIF89a".to_vec();
    gif.extend_from_slice(&screen_w.to_le_bytes());
    gif.extend_from_slice(&screen_h.to_le_bytes());
    gif.extend_from_slice(&[0x80, 0, 0, 0xff, 0xff, 0xff, 0, 0, 0]);
    for i in 0..frames {
        if frames > 1 {
            // Graphic control: 10 ms delay.
            gif.extend_from_slice(&[0x21, 0xf9, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00]);
        }
        let x = (i % usize::from(screen_w.max(1))) as u16;
        gif.push(0x2c);
        gif.extend_from_slice(&x.to_le_bytes());
        gif.extend_from_slice(&[0, 0, 1, 0, 1, 0, 0]);
        gif.extend_from_slice(&[0x02, 0x02, 0x44, 0x01, 0x00]);
    }
    gif.push(0x3b);
    gif
}

fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

#[test]
fn png_headers_claiming_huge_sizes_are_refused_before_allocating() {
    let dir = scratch();
    for (name, width, height, colour) in [
        ("claims_100k.png", 100_000, 100_000, 2),
        ("claims_60k.png", 60_000, 60_000, 2),
        ("grey_20k.png", 20_000, 20_000, 0),
    ] {
        let png = common::claimed_png(width, height, colour);
        write(dir.path(), name, &png);
        for command in [["frames", name, "--ids", "1"].as_slice(), &["probe", name]] {
            let result = run(dir.path(), command, Input::None);
            assert_eq!(result.code, Some(1), "{command:?}: {}", result.stderr);
            let line = result.error_line();
            assert!(
                line.starts_with(&format!(
                    "framekit: {name}: the PNG image is {width}x{height}"
                )) && line.contains("over the limit of 100 megapixels")
                    && line.ends_with("(raise it with --max-megapixels)"),
                "{line}"
            );
            assert!(result.stdout.is_empty());
            result.assert_small(name);
        }
    }
}

#[test]
fn a_gif_screen_of_65535_squared_is_refused() {
    let dir = scratch();
    let bytes = gif(65535, 65535, 1);
    assert!(bytes.len() < 70, "{} bytes", bytes.len());
    write(dir.path(), "screen.gif", &bytes);
    let result = run(dir.path(), &["probe", "screen.gif"], Input::None);
    assert_eq!(result.code, Some(1));
    let line = result.error_line();
    assert!(
        line.contains("65535x65535") && line.contains("--max-megapixels"),
        "{line}"
    );
    result.assert_small("65535^2 GIF");
}

#[test]
fn a_2000_frame_gif_on_a_large_screen_is_indexed_lazily() {
    let dir = scratch();
    let bytes = gif(1000, 1000, 2000);
    assert!(bytes.len() < 50_000, "{} bytes", bytes.len());
    write(dir.path(), "many.gif", &bytes);

    let probe = run(dir.path(), &["probe", "--json", "many.gif"], Input::None);
    assert_eq!(probe.code, Some(0), "{}", probe.stderr);
    let info: serde_json::Value = serde_json::from_slice(&probe.stdout).expect("json");
    assert_eq!(info["frame_count"], 2000);
    assert_eq!(info["kind"], "animation");
    probe.assert_small("probe of 2000 frames");

    let frames = run(
        dir.path(),
        &["frames", "many.gif", "--ids", "2000"],
        Input::None,
    );
    assert_eq!(frames.code, Some(0), "{}", frames.stderr);
    let text = String::from_utf8_lossy(&frames.stdout);
    assert_eq!(text.trim().split('|').count(), 1);
    frames.assert_small("frame 2000 of 2000");

    // The same GIF pasted as base64: decode keeps the file, holds one frame.
    let b64 = framekit::codec::to_base64(&bytes);
    let decode = run(
        dir.path(),
        &["decode", "-", "--out", "out"],
        Input::Bytes(b64.into_bytes()),
    );
    assert_eq!(decode.code, Some(0), "{}", decode.stderr);
    assert_eq!(
        std::fs::read(dir.path().join("out").join("image_1.gif")).expect("gif"),
        bytes
    );
    decode.assert_small("decode of the 2000-frame GIF");

    // Past the frame limit: a clear error naming the flag.
    let limited = run(
        dir.path(),
        &["probe", "many.gif", "--max-frames", "500"],
        Input::None,
    );
    assert_eq!(limited.code, Some(1));
    let line = limited.error_line();
    assert!(
        line.contains("more than 500 frames") && line.ends_with("(raise it with --max-frames)"),
        "{line}"
    );
}

#[test]
fn a_list_of_eight_100_megapixel_webps_is_decoded_one_at_a_time() {
    let dir = scratch();
    let webp = common::fixture(
        "grey_100mp.webp",
        &[
            "-f",
            "lavfi",
            "-i",
            "color=c=gray:s=10000x10000",
            "-frames:v",
            "1",
            "-c:v",
            "libwebp",
            "-lossless",
            "1",
        ],
    );
    let one = framekit::codec::to_base64(&std::fs::read(&webp).expect("webp"));
    let list = vec![one; 8].join("|");
    assert!(list.len() < 50_000);
    let result = run(
        dir.path(),
        &["decode", "-", "--out", "out"],
        Input::Bytes(list.into_bytes()),
    );
    assert_eq!(result.code, Some(0), "{}", result.stderr);
    for n in 1..=8 {
        assert!(
            dir.path()
                .join("out")
                .join(format!("image_{n}.webp"))
                .exists()
        );
    }
    result.assert_small("eight 100 MP WebPs");
}

#[test]
fn decode_streams_standard_input_and_stops_an_oversized_part_early() {
    let dir = scratch();
    let result = run(
        dir.path(),
        &["decode", "-", "--out", "out"],
        Input::Stream(700 << 20),
    );
    assert_eq!(result.code, Some(1));
    let line = result.error_line();
    assert!(
        line.contains("longer than") && line.ends_with("(raise it with --max-mib)"),
        "{line}"
    );
    result.assert_small("700 MB on stdin");
}

#[test]
fn decode_does_not_overwrite_without_force() {
    let dir = scratch();
    let text = framekit::codec::to_base64(&gif(2, 2, 1));
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("mkdir");
    std::fs::write(out.join("image_1.gif"), b"precious").expect("write");
    let refused = run(dir.path(), &["decode", &text, "--out", "out"], Input::None);
    assert_eq!(refused.code, Some(1));
    let line = refused.error_line();
    assert!(
        line.contains("image_1.gif: already exists") && line.contains("--force"),
        "{line}"
    );
    assert_eq!(
        std::fs::read(out.join("image_1.gif")).expect("kept"),
        b"precious"
    );
    let forced = run(
        dir.path(),
        &["decode", &text, "--out", "out", "--force"],
        Input::None,
    );
    assert_eq!(forced.code, Some(0), "{}", forced.stderr);
    assert_ne!(
        std::fs::read(out.join("image_1.gif")).expect("replaced"),
        b"precious"
    );
}

#[test]
fn names_that_look_like_urls_or_pipes_are_the_local_files() {
    let dir = scratch();
    let clip = common::h264_mp4();
    std::fs::copy(&clip, dir.path().join("pipe:0")).expect("copy");
    let expected = framekit::get_frames(&clip, "3").expect("frames");
    // stdin holds junk: reading it instead of the file would fail or differ.
    let piped = run(
        dir.path(),
        &["frames", "pipe:0", "--ids", "3"],
        Input::Bytes(b"not a video at all".to_vec()),
    );
    assert_eq!(piped.code, Some(0), "{}", piped.stderr);
    assert_eq!(String::from_utf8_lossy(&piped.stdout).trim(), expected);

    let nested = dir.path().join("http:").join("127.0.0.1:9");
    std::fs::create_dir_all(&nested).expect("mkdir");
    std::fs::copy(&clip, nested.join("x.ts")).expect("copy");
    let url_like = run(
        dir.path(),
        &["frames", "http:/127.0.0.1:9/x.ts", "--ids", "3"],
        Input::None,
    );
    assert_eq!(url_like.code, Some(0), "{}", url_like.stderr);
    assert_eq!(String::from_utf8_lossy(&url_like.stdout).trim(), expected);
}

#[test]
fn a_name_that_is_not_utf8_works_and_errors_stay_on_one_line() {
    use std::os::unix::ffi::OsStrExt;
    let dir = scratch();
    let name = std::ffi::OsStr::from_bytes(b"clip\xff.mp4");
    std::fs::copy(common::h264_mp4(), dir.path().join(name)).expect("copy");
    let args: Vec<&std::ffi::OsStr> = vec!["probe".as_ref(), name];
    let result = run_capped(dir.path(), &args, Input::None);
    assert_eq!(result.code, Some(0), "{}", result.stderr);
    assert!(String::from_utf8_lossy(&result.stdout).contains("frames            132"));

    let missing = run(
        dir.path(),
        &["probe", "evil\nframekit: all good\u{1b}[2J.mp4"],
        Input::None,
    );
    assert_eq!(missing.code, Some(1));
    let line = missing.error_line();
    assert!(
        line.contains("evil\\nframekit: all good\\u{1b}[2J.mp4") && line.ends_with("no such file"),
        "{line}"
    );
}

#[test]
fn fifos_and_devices_say_what_they_are() {
    let dir = scratch();
    let fifo = dir.path().join("fifo.mp4");
    let c_path = std::ffi::CString::new(fifo.to_string_lossy().as_bytes()).expect("cstring");
    // SAFETY: mkfifo with a valid C path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    let result = run(dir.path(), &["probe", "fifo.mp4"], Input::None);
    assert_eq!(result.code, Some(1));
    assert!(
        result
            .error_line()
            .ends_with("is a FIFO (named pipe), not a media file"),
        "{}",
        result.stderr
    );
    let zero = run(
        dir.path(),
        &["frames", "/dev/zero", "--ids", "1"],
        Input::None,
    );
    assert_eq!(zero.code, Some(1));
    assert!(
        zero.error_line()
            .ends_with("/dev/zero: is a character device, not a media file"),
        "{}",
        zero.stderr
    );
}

#[test]
fn a_cut_file_says_its_count_is_from_the_packets_read() {
    let dir = scratch();
    // MP4 with its index at the front, cut at 70%: the packets end early.
    let front = common::fixture(
        "h264_faststart.mp4",
        &[
            "-i",
            &common::h264_mp4().to_string_lossy(),
            "-c",
            "copy",
            "-movflags",
            "+faststart",
        ],
    );
    let clip = std::fs::read(front).expect("clip");
    write(dir.path(), "cut.mp4", &clip[..clip.len() * 7 / 10]);
    let probe = run(dir.path(), &["probe", "--json", "cut.mp4"], Input::None);
    assert_eq!(probe.code, Some(0), "{}", probe.stderr);
    let info: serde_json::Value = serde_json::from_slice(&probe.stdout).expect("json");
    assert_eq!(info["damaged_tail"], true);
    let count = info["frame_count"].as_u64().expect("count");
    assert!(count > 0 && count < 132, "{count}");
    let text = run(dir.path(), &["probe", "cut.mp4"], Input::None);
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("the file ends early"),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
    // The last packet read (in decode order) is cut short. A request whose frames include
    // the frame it holds fails, after frame 1 was already encoded, and prints nothing, not a
    // partial answer. Every frame a request does get is one of the uncut file's frames (the
    // cut drops frames shown before the last ones read, so frame k of the cut file is frame
    // k or a later one of the uncut file), never a frame patched over missing data.
    let mut failures = 0;
    for last in count.saturating_sub(5).max(2)..=count {
        let ids = format!("1,{last}");
        let answer = run(
            dir.path(),
            &["frames", "cut.mp4", "--ids", &ids],
            Input::None,
        );
        if answer.code == Some(0) {
            let text = String::from_utf8_lossy(&answer.stdout);
            let got = text.trim().split('|').nth(1).expect("two frames");
            let later: Vec<String> = (last..last + 8).map(|k| k.to_string()).collect();
            let uncut =
                framekit::get_frames(&common::h264_mp4(), &later.join(",")).expect("uncut frames");
            assert!(
                uncut.split('|').any(|frame| frame == got),
                "frame {last} of the cut file is none of the uncut file's frames {last}.."
            );
        } else {
            failures += 1;
            assert_eq!(answer.code, Some(1), "{}", answer.stderr);
            assert!(answer.stdout.is_empty(), "no partial answer on stdout");
            assert!(answer.error_line().starts_with("framekit: cut.mp4: "));
        }
    }
    assert!(failures >= 1, "the frame of the cut packet was answered");
    let first = run(
        dir.path(),
        &["frames", "cut.mp4", "--ids", "1"],
        Input::None,
    );
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    assert_eq!(
        String::from_utf8_lossy(&first.stdout).trim(),
        framekit::get_frames(&common::h264_mp4(), "1").expect("frame 1")
    );
    let whole = run(dir.path(), &["probe", "--json", "pipe:0"], Input::None);
    assert_eq!(whole.code, Some(1), "no such file here");
}

// Issue 28: thread counts, a silent database, sparse files.

#[test]
fn thread_and_core_counts_past_the_cap_are_one_line_usage_errors() {
    let dir = scratch();
    for args in [
        ["--threads", "18446744073709551615"].as_slice(),
        &["--threads", "4294967296"],
        &["--threads", "0"],
        &["--threads", "many"],
        &["--cores", "65535"],
        &["--cores", "4294967296"],
    ] {
        let mut command = vec!["frames", "--jsonl"];
        command.extend_from_slice(args);
        let result = run(dir.path(), &command, Input::Bytes(Vec::new()));
        assert_eq!(result.code, Some(2), "{args:?}: {}", result.stderr);
        let line = result.error_line();
        assert!(
            line.starts_with("framekit: ") && line.contains(args[0]) && line.contains(args[1]),
            "{line}"
        );
        assert!(result.stdout.is_empty());
        result.assert_small(&format!("{args:?}"));
    }
    let within = run(
        dir.path(),
        &["frames", "--jsonl", "--threads", "64", "--cores", "1"],
        Input::Bytes(Vec::new()),
    );
    assert_eq!(within.code, Some(0), "{}", within.stderr);
}

/// A TCP server on 127.0.0.1 that accepts every connection and never sends a byte; returns
/// its port. It holds what it accepted for the life of the test process.
fn silent_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}

/// A one-line failure within `seconds` + 5 s that shows none of `secrets`.
fn assert_prompt_one_line_failure(result: &common::capped::Capped, seconds: u64, secrets: &[&str]) {
    assert_eq!(result.code, Some(1), "{}", result.stderr);
    let line = result.error_line();
    assert!(
        result.elapsed < Duration::from_secs(seconds + 5),
        "took {:?}: {line}",
        result.elapsed
    );
    let stdout = String::from_utf8_lossy(&result.stdout);
    for secret in secrets {
        assert!(
            !line.contains(secret) && !stdout.contains(secret),
            "{secret} shown: {line}"
        );
    }
}

#[test]
fn a_postgres_server_that_never_answers_is_a_one_line_error_within_the_connect_timeout() {
    let port = silent_server();
    let dir = scratch();
    std::fs::copy(common::h264_mp4(), dir.path().join("clip.mp4")).expect("copy");
    let default = format!("postgres://fk:pw-in-userinfo@127.0.0.1:{port}/fleet");
    let quick =
        format!("postgres://fk@127.0.0.1:{port}/fleet?connect_timeout=2&password=pw-in-query");
    let cases: Vec<(Vec<&str>, u64)> = vec![
        (vec!["jobs", "list", "--queue", &default], 10),
        (vec!["worker", "--once", "--queue", &default], 10),
        (vec!["jobs", "summary", "--queue", &quick], 2),
        (vec!["enqueue", "clip.mp4", "--queue", &quick], 2),
    ];
    std::thread::scope(|scope| {
        for (args, seconds) in &cases {
            let dir = dir.path();
            scope.spawn(move || {
                let result = run(dir, args, Input::None);
                assert_prompt_one_line_failure(&result, *seconds, &["pw-in-"]);
                let line = result.error_line();
                assert!(
                    line.contains(&format!("did not answer within {seconds} s"))
                        && line.contains(&format!("127.0.0.1:{port}/fleet")),
                    "{args:?}: {line}"
                );
                assert!(
                    result.elapsed >= Duration::from_secs(seconds - 1),
                    "{args:?} gave up after {:?}",
                    result.elapsed
                );
                result.assert_small(&format!("{args:?}"));
            });
        }
    });
}

/// `clip` with its first `header` bytes kept and zeros after, up to 4 GiB (a sparse file, as
/// `truncate -s 4G` makes it).
fn sparse_copy(dir: &Path, name: &str, clip: &Path, header: usize) -> PathBuf {
    let bytes = std::fs::read(clip).expect("clip");
    let path = write(dir, name, &bytes[..header.min(bytes.len())]);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_len(4 << 30))
        .expect("truncate");
    path
}

/// Where the first video packet of `clip` starts: what comes before it is the header.
fn first_packet_position(clip: &Path) -> usize {
    ffmpeg_next::init().expect("ffmpeg");
    let mut input = ffmpeg_next::format::input(clip).expect("open");
    let video = input
        .streams()
        .best(ffmpeg_next::media::Type::Video)
        .expect("video")
        .index();
    input
        .packets()
        .find(|(stream, _)| stream.index() == video)
        .and_then(|(_, packet)| usize::try_from(packet.position()).ok())
        .expect("a packet with a position")
}

#[test]
fn gigabytes_of_zeros_after_a_header_stop_probing_and_indexing_early() {
    let dir = scratch();
    for (format, codec) in [
        ("mkv", "mpeg4"),
        ("avi", "mpeg4"),
        ("flv", "flv1"),
        ("nut", "mpeg4"),
        ("mpg", "mpeg1video"),
    ] {
        let clip = common::fixture(
            &format!("hostile-five-25.{format}"),
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc=s=64x64:r=25",
                "-frames:v",
                "5",
                "-c:v",
                codec,
            ],
        );
        // The header alone, then zeros: a one-line error, or the few packets the header
        // holds the start of (AVI and NUT chunk headers), never a minute of reading.
        let header = format!("header.{format}");
        sparse_copy(dir.path(), &header, &clip, first_packet_position(&clip));
        let probe = run(dir.path(), &["probe", "--json", &header], Input::None);
        assert!(
            probe.elapsed < Duration::from_secs(30),
            "{header}: {:?}",
            probe.elapsed
        );
        match probe.code {
            Some(1) => {
                let line = probe.error_line();
                assert!(line.starts_with(&format!("framekit: {header}: ")), "{line}");
            }
            Some(0) => {
                let info: serde_json::Value = serde_json::from_slice(&probe.stdout).expect("json");
                assert!(info["frame_count"].as_u64() <= Some(1), "{header}: {info}");
                assert_eq!(info["damaged_tail"], true, "{header}: {info}");
            }
            other => panic!("{header}: exit {other:?}: {}", probe.stderr),
        }
        probe.assert_small(&header);

        // Whole clip, then zeros: its five frames, the tail reported as damaged.
        let whole = format!("whole.{format}");
        sparse_copy(dir.path(), &whole, &clip, usize::MAX);
        let probe = run(dir.path(), &["probe", "--json", &whole], Input::None);
        assert_eq!(probe.code, Some(0), "{whole}: {}", probe.stderr);
        assert!(
            probe.elapsed < Duration::from_secs(30),
            "{whole}: {:?}",
            probe.elapsed
        );
        let info: serde_json::Value = serde_json::from_slice(&probe.stdout).expect("json");
        assert_eq!(info["frame_count"], 5, "{whole}: {info}");
        // A scan meets the zeros and reports them as a damaged tail; a container whose
        // sample table lists the five frames (AVI's index) is never read that far.
        let from_table = info["video"]["frame_index"] == "container";
        assert_eq!(info["damaged_tail"], !from_table, "{whole}: {info}");
        let frames = run(dir.path(), &["frames", &whole, "--ids", "5"], Input::None);
        assert_eq!(frames.code, Some(0), "{whole}: {}", frames.stderr);
        assert!(
            frames.elapsed < Duration::from_secs(30),
            "{whole}: {:?}",
            frames.elapsed
        );
        assert_eq!(
            String::from_utf8_lossy(&frames.stdout).trim(),
            framekit::get_frames(&clip, "5").expect("frame 5 of the clip")
        );
    }
}

// Issue 29: the worker's metrics port, secrets and names.

/// A framekit worker running as a capped child on an empty SQLite queue, serving metrics on
/// 127.0.0.1; killed when dropped.
struct MetricsWorker {
    child: std::process::Child,
    address: String,
}

impl MetricsWorker {
    fn start(dir: &Path) -> MetricsWorker {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let address = format!("127.0.0.1:{port}");
        let queue = dir.join("queue.sqlite");
        let mut command = common::framekit_bin();
        command
            .args(["worker", "--grace", "0", "--metrics", &address, "--queue"])
            .arg(&queue)
            .current_dir(dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.join("worker.log")).expect("log"));
        common::capped::cap_address_space(&mut command);
        let child = command.spawn().expect("start a worker");
        let worker = MetricsWorker { child, address };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(&worker.address).is_err() {
            assert!(Instant::now() < deadline, "the metrics port never opened");
            std::thread::sleep(Duration::from_millis(100));
        }
        worker
    }

    /// A scrape: the status line and body, and how long it took.
    fn scrape(&self) -> (String, Duration) {
        let started = Instant::now();
        let mut stream = TcpStream::connect(&self.address).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        write!(
            stream,
            "GET /metrics HTTP/1.1\r\nHost: {}\r\n\r\n",
            self.address
        )
        .expect("request");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("response");
        (response, started.elapsed())
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Peak resident memory so far (`VmHWM`), in bytes.
    fn peak_rss(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .expect("VmHWM")
            * 1024
    }
}

impl Drop for MetricsWorker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn one_client_can_neither_kill_the_worker_nor_block_its_metrics() {
    let dir = scratch();
    let mut worker = MetricsWorker::start(dir.path());

    // A request line of up to 2 GiB without a newline: cut off after a few KiB.
    let mut flood = TcpStream::connect(&worker.address).expect("connect");
    flood
        .set_write_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let chunk = vec![b'A'; 1 << 20];
    let mut sent = 0usize;
    let started = Instant::now();
    while sent < 2 << 30 && flood.write_all(&chunk).is_ok() {
        sent += chunk.len();
    }
    assert!(
        sent < 64 << 20,
        "the server read {} MiB of one request line",
        sent >> 20
    );
    assert!(started.elapsed() < Duration::from_secs(15));
    assert!(worker.alive(), "the worker died");
    let (response, _) = worker.scrape();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    // A client sending one byte every 3 s: scrapes go on meanwhile, and it is cut off at the
    // request deadline (5 s), not served for ever.
    let slow = TcpStream::connect(&worker.address).expect("connect");
    let slow_started = Instant::now();
    let mut writer = slow.try_clone().expect("clone");
    let dripping = std::thread::spawn(move || {
        for byte in b"GET /metrics HTTP/1.1\r\n\r\n" {
            if writer.write_all(&[*byte]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_secs(3));
        }
    });
    for _ in 0..3 {
        let (response, took) = worker.scrape();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(took < Duration::from_secs(2), "a scrape waited {took:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
    let mut slow = slow;
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut answer = Vec::new();
    let _ = slow.read_to_end(&mut answer);
    assert!(
        slow_started.elapsed() < Duration::from_secs(5 + 5),
        "the slow client was held {:?}",
        slow_started.elapsed()
    );
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    let _ = dripping.join();

    assert!(worker.alive(), "the worker died");
    let peak = worker.peak_rss();
    assert!(
        peak < 1_000_000_000,
        "worker peak RSS {} MB",
        peak / 1_000_000
    );
}

#[test]
fn the_kubernetes_manifest_binds_metrics_to_the_pod_address_only() {
    let manifest = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes/worker-deployment.yaml"),
    )
    .expect("manifest");
    assert!(!manifest.contains("0.0.0.0"), "{manifest}");
    assert!(manifest.contains("$(POD_IP):9187"), "{manifest}");
    assert!(manifest.contains("status.podIP"), "{manifest}");
}

#[test]
fn queue_passwords_are_masked_in_every_form() {
    use framekit::jobs::QueueLocation;
    for (url, secret) in [
        ("postgres://fk:s3cret@db/q", "s3cret"),
        ("postgresql://fk:s3cret@db:5432/q?sslmode=disable", "s3cret"),
        ("postgres://fk@db/q?password=s3cret", "s3cret"),
        (
            "postgres://fk@db/q?application_name=x&PassWord=s3cret&connect_timeout=3",
            "s3cret",
        ),
        ("postgres://fk@db/q?pass%77ord=s3cret", "s3cret"),
        ("postgres://fk:s3/cr%40t@db/q", "s3/cr"),
        ("postgres://fk:s3cret:more@db/q", "s3cret"),
    ] {
        let location = QueueLocation::parse(url).expect("a URL");
        let (shown, debug) = (location.to_string(), format!("{location:?}"));
        assert!(
            !shown.contains(secret) && !debug.contains(secret),
            "{shown} / {debug}"
        );
        assert!(shown.contains("***") && shown.contains("db"), "{shown}");
    }
    // Another scheme is refused, its password masked too.
    let refused = QueueLocation::parse("mysql://fk:s3cret@db/q").expect_err("not ours");
    assert!(!refused.to_string().contains("s3cret"), "{refused}");
}

#[test]
fn a_key_value_connection_string_is_refused_not_made_a_file_and_never_echoed() {
    let dir = scratch();
    let conninfo = "host=127.0.0.1 port=5432 user=fk password=s3cret dbname=fleet";
    let flag = run(
        dir.path(),
        &["jobs", "summary", "--queue", conninfo],
        Input::None,
    );
    let env = run_capped_env(
        dir.path(),
        &[std::ffi::OsStr::new("jobs"), std::ffi::OsStr::new("list")],
        Input::None,
        &[("FRAMEKIT_QUEUE", conninfo)],
    );
    for result in [&flag, &env] {
        assert_prompt_one_line_failure(result, 5, &["s3cret"]);
        assert!(
            result.error_line().contains("key=value connection string"),
            "{}",
            result.stderr
        );
    }
    let one_word = run(
        dir.path(),
        &["jobs", "list", "--queue", "password=s3cret"],
        Input::None,
    );
    assert_prompt_one_line_failure(&one_word, 5, &["s3cret"]);
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        0,
        "a file was made"
    );
    // --help shows that the variable is read, not its value.
    let help = run_capped_env(
        dir.path(),
        &[std::ffi::OsStr::new("jobs"), std::ffi::OsStr::new("--help")],
        Input::None,
        &[("FRAMEKIT_QUEUE", "postgres://fk:s3cret@db/q")],
    );
    assert_eq!(help.code, Some(0));
    assert!(!String::from_utf8_lossy(&help.stdout).contains("s3cret"));
}

#[test]
fn no_postgres_password_reaches_summaries_errors_or_worker_logs() {
    let url = common::pg::PgCluster::shared().fresh_database();
    // The test cluster trusts local connections: any password is accepted and ignored.
    let with_password = url.replacen("postgres@", "postgres:s3cret-a@", 1);
    let in_query = format!("{url}?password=s3cret-b&application_name=hostile");
    let dir = scratch();
    for queue in [&with_password, &in_query] {
        for args in [
            vec!["jobs", "summary", "--queue", queue],
            vec!["jobs", "summary", "--json", "--queue", queue],
            vec!["jobs", "list", "--queue", queue],
            vec!["jobs", "workers", "--queue", queue],
            vec!["worker", "--once", "--queue", queue],
        ] {
            let result = run(dir.path(), &args, Input::None);
            assert_eq!(result.code, Some(0), "{args:?}: {}", result.stderr);
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&result.stdout),
                result.stderr
            );
            assert!(!all.contains("s3cret"), "{args:?}: {all}");
        }
    }
    let summary = run(
        dir.path(),
        &["jobs", "summary", "--queue", &with_password],
        Input::None,
    );
    assert!(
        String::from_utf8_lossy(&summary.stdout).contains("postgres:***@127.0.0.1"),
        "{}",
        String::from_utf8_lossy(&summary.stdout)
    );
    // A database that does not exist: the server's error, still without the password.
    let missing = with_password.replacen(&url[url.rfind('/').expect("db") + 1..], "nope", 1);
    let result = run(
        dir.path(),
        &["jobs", "list", "--queue", &missing],
        Input::None,
    );
    assert_prompt_one_line_failure(&result, 10, &["s3cret"]);
}

#[test]
fn decode_names_are_file_names_inside_the_output_folder() {
    let dir = scratch();
    let work = dir.path().join("a").join("b");
    std::fs::create_dir_all(&work).expect("mkdir");
    let text = framekit::codec::to_base64(&gif(2, 2, 1));
    let absolute = dir.path().join("abs");
    let absolute = absolute.to_string_lossy().into_owned();
    for name in [
        "../../x",
        "..",
        ".",
        "",
        "sub/x",
        absolute.as_str(),
        "evil\nframekit: ok\u{1b}[2J",
    ] {
        let result = run(
            &work,
            &["decode", &text, "--out", "out", "--name", name],
            Input::None,
        );
        assert_eq!(result.code, Some(2), "{name:?}: {}", result.stderr);
        let line = result.error_line();
        assert!(
            line.contains("--name") && !line.contains('\u{1b}'),
            "{line}"
        );
    }
    let written: Vec<_> = walk(dir.path());
    assert!(written.is_empty(), "written: {written:?}");
    let plain = run(
        &work,
        &["decode", &text, "--out", "out", "--name", "frame"],
        Input::None,
    );
    assert_eq!(plain.code, Some(0), "{}", plain.stderr);
    assert!(work.join("out").join("frame_1.gif").exists());
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn control_characters_in_file_names_are_escaped_in_every_listing_and_log() {
    let dir = scratch();
    let clip = common::tiny_clip();
    let inputs = dir.path().join("in");
    std::fs::create_dir_all(&inputs).expect("mkdir");
    let name = "evil\nframekit: all good\u{1b}[2J.mp4";
    std::fs::copy(&clip, inputs.join(name)).expect("copy");
    let clean = |what: &str, result: &common::capped::Capped| {
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&result.stdout),
            result.stderr
        );
        assert!(
            !all.contains('\u{1b}'),
            "{what}: an escape sequence: {all:?}"
        );
        assert!(
            !all.lines().any(|l| l.starts_with("framekit: all good")),
            "{what}: a forged line: {all}"
        );
        assert!(
            all.contains("evil\\nframekit: all good\\u{1b}[2J"),
            "{what}: {all}"
        );
    };
    let queue = ["--queue", "queue.sqlite"];
    let enqueue = run(
        dir.path(),
        &[&["enqueue", "in", "-o", "out"][..], &queue].concat(),
        Input::None,
    );
    assert_eq!(enqueue.code, Some(0), "{}", enqueue.stderr);
    clean("enqueue", &enqueue);
    let listed = run(
        dir.path(),
        &[&["jobs", "list"][..], &queue].concat(),
        Input::None,
    );
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    clean("jobs list (pending)", &listed);
    let worker = run(
        dir.path(),
        &[&["worker", "--once"][..], &queue].concat(),
        Input::None,
    );
    assert_eq!(worker.code, Some(0), "{}", worker.stderr);
    clean("worker log", &worker);
    let listed = run(
        dir.path(),
        &[&["jobs", "list"][..], &queue].concat(),
        Input::None,
    );
    clean("jobs list (done)", &listed);
    let transcode = run(
        dir.path(),
        &["transcode", "in", "-o", "out2", "--queue", "other.sqlite"],
        Input::None,
    );
    assert_eq!(transcode.code, Some(0), "{}", transcode.stderr);
    clean("transcode progress and summary", &transcode);
}

// Issue 29 item 3: a stalled input does not hold up a stop or a cancel.

/// framekit with `args` in `dir` as a capped child, stderr to `log`.
fn spawn_capped(dir: &Path, args: &[&str], log: &str) -> std::process::Child {
    let mut command = common::framekit_bin();
    command
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join(log)).expect("log"));
    common::capped::cap_address_space(&mut command);
    command.spawn().expect("spawn framekit")
}

/// Waits at most `limit` for `child` to exit; its exit code and how long it took.
fn exit_within(child: &mut std::process::Child, limit: Duration) -> (Option<i32>, Duration) {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return (status.code(), started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("framekit did not exit within {limit:?}");
}

fn send_signal(child: &std::process::Child, signal: libc::c_int) {
    // SAFETY: kill(2) on our own child, not yet reaped.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
}

/// Replaces `path` with a FIFO. With `feed`, a thread opens it for writing once a reader
/// does, writes the first 2000 bytes of `feed` and then holds it open, silent, for 60 s (a
/// stalled input: the reader blocks in read); without, nobody opens it (the reader blocks in
/// open).
fn stall(path: &Path, feed: Option<&Path>) {
    let _ = std::fs::remove_file(path);
    let c_path = std::ffi::CString::new(path.to_string_lossy().as_bytes()).expect("cstring");
    // SAFETY: mkfifo with a valid C path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    if let Some(feed) = feed {
        let head: Vec<u8> = std::fs::read(feed)
            .expect("clip")
            .into_iter()
            .take(2000)
            .collect();
        let path = path.to_path_buf();
        std::thread::spawn(move || {
            if let Ok(mut fifo) = std::fs::OpenOptions::new().write(true).open(&path) {
                let _ = fifo.write_all(&head);
                std::thread::sleep(Duration::from_secs(60));
            }
        });
    }
}

fn job_rows(dir: &Path, queue: &str) -> serde_json::Value {
    let listed = run(
        dir,
        &["jobs", "list", "--json", "--queue", queue],
        Input::None,
    );
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    serde_json::from_slice(&listed.stdout).expect("json")
}

#[test]
fn a_stalled_input_does_not_hold_up_sigterm_a_cancel_or_the_next_job() {
    let dir = scratch();
    let clip = common::tiny_clip();
    for sub in ["stalled", "fine"] {
        std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
    }
    std::fs::copy(&clip, dir.path().join("stalled/a.mp4")).expect("copy");
    std::fs::copy(&clip, dir.path().join("fine/b.mp4")).expect("copy");
    let queue = "queue.sqlite";
    let enqueue = run(
        dir.path(),
        &["enqueue", "stalled", "-o", "out", "--queue", queue],
        Input::None,
    );
    assert_eq!(enqueue.code, Some(0), "{}", enqueue.stderr);
    let stalled = dir.path().join("stalled/a.mp4");

    // SIGTERM with --grace 2 while the job's input read blocks: released within 2 s + 5 s.
    stall(&stalled, Some(&clip));
    let mut worker = spawn_capped(
        dir.path(),
        &["worker", "--grace", "2", "--queue", queue],
        "worker1.log",
    );
    std::thread::sleep(Duration::from_secs(2));
    send_signal(&worker, libc::SIGTERM);
    let (code, took) = exit_within(&mut worker, Duration::from_secs(30));
    let log = std::fs::read_to_string(dir.path().join("worker1.log")).expect("log");
    assert_eq!(code, Some(0), "{log}");
    assert!(
        took < Duration::from_secs(2 + 5),
        "stopped after {took:?}: {log}"
    );
    assert!(log.contains("released unfinished"), "{log}");
    let rows = job_rows(dir.path(), queue);
    assert_eq!(
        (&rows[0]["status"], &rows[0]["attempts"]),
        (&serde_json::json!("pending"), &serde_json::json!(0)),
        "{rows}"
    );

    // `jobs cancel` while the job's input open blocks: the worker gives it up and runs the
    // next job.
    stall(&stalled, None);
    let mut worker = spawn_capped(dir.path(), &["worker", "--queue", queue], "worker2.log");
    std::thread::sleep(Duration::from_secs(2));
    let enqueue = run(
        dir.path(),
        &["enqueue", "fine", "-o", "out", "--queue", queue],
        Input::None,
    );
    assert_eq!(enqueue.code, Some(0), "{}", enqueue.stderr);
    let cancel = run(
        dir.path(),
        &["jobs", "cancel", "1", "--queue", queue],
        Input::None,
    );
    assert_eq!(cancel.code, Some(0), "{}", cancel.stderr);
    let cancelled = Instant::now();
    loop {
        let rows = job_rows(dir.path(), queue);
        if rows[1]["status"] == "succeeded" {
            assert_eq!(rows[0]["status"], "cancelled", "{rows}");
            assert!(rows[0]["last_error"].is_null(), "{rows}");
            break;
        }
        assert!(
            cancelled.elapsed() < Duration::from_secs(15),
            "the next job waited: {rows}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    send_signal(&worker, libc::SIGTERM);
    let (code, _) = exit_within(&mut worker, Duration::from_secs(30));
    assert_eq!(code, Some(0));

    // `transcode` stops at the first SIGTERM while its input read blocks.
    stall(&stalled, Some(&clip));
    let mut transcode = spawn_capped(
        dir.path(),
        &[
            "transcode",
            "stalled/a.mp4",
            "-o",
            "out2",
            "--queue",
            "other.sqlite",
        ],
        "transcode.log",
    );
    std::thread::sleep(Duration::from_secs(2));
    send_signal(&transcode, libc::SIGTERM);
    let (code, took) = exit_within(&mut transcode, Duration::from_secs(30));
    let log = std::fs::read_to_string(dir.path().join("transcode.log")).expect("log");
    assert_eq!(code, Some(128 + libc::SIGTERM), "{log}");
    assert!(
        took < Duration::from_secs(5),
        "stopped after {took:?}: {log}"
    );
}

/// A TCP proxy on 127.0.0.1 to `upstream` that can go silent: its connections are shut and
/// every new one is accepted and never answered (a database that vanished behind a balancer).
struct SilencingProxy {
    port: u16,
    silent: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<std::sync::Mutex<Vec<TcpStream>>>,
}

impl SilencingProxy {
    fn start(upstream: std::net::SocketAddr) -> SilencingProxy {
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
        let port = listener.local_addr().expect("address").port();
        let silent = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let open = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (quiet, streams) = (silent.clone(), open.clone());
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for client in listener.incoming().flatten() {
                if quiet.load(Ordering::SeqCst) {
                    held.push(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                for (mut from, mut to) in [
                    (
                        client.try_clone().expect("clone"),
                        server.try_clone().expect("clone"),
                    ),
                    (
                        server.try_clone().expect("clone"),
                        client.try_clone().expect("clone"),
                    ),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
                if let Ok(mut streams) = streams.lock() {
                    streams.extend([client, server]);
                }
            }
        });
        SilencingProxy { port, silent, open }
    }

    fn go_silent(&self) {
        self.silent.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Ok(streams) = self.open.lock() {
            for stream in streams.iter() {
                let _ = stream.shutdown(std::net::Shutdown::Both);
            }
        }
    }
}

#[test]
fn a_worker_that_loses_its_database_mid_job_logs_it_within_the_connect_timeout() {
    let direct = common::pg::PgCluster::shared().fresh_database();
    let after_scheme = &direct["postgres://postgres@".len()..];
    let (address, database) = after_scheme.split_once('/').expect("host/db");
    let proxy = SilencingProxy::start(address.parse().expect("address"));
    let url = format!(
        "postgres://postgres:s3cret@127.0.0.1:{}/{database}",
        proxy.port
    );
    let dir = scratch();
    std::fs::create_dir_all(dir.path().join("in")).expect("mkdir");
    let clip = common::tiny_clip();
    std::fs::copy(&clip, dir.path().join("in/a.mp4")).expect("copy");
    let enqueue = run(
        dir.path(),
        &["enqueue", "in", "-o", "out", "--queue", &url],
        Input::None,
    );
    assert_eq!(enqueue.code, Some(0), "{}", enqueue.stderr);
    // The job's input stalls, so the job is running when the database goes away.
    stall(&dir.path().join("in/a.mp4"), Some(&clip));
    let mut worker = spawn_capped(dir.path(), &["worker", "--queue", &url], "worker.log");
    let log = || std::fs::read_to_string(dir.path().join("worker.log")).unwrap_or_default();
    let started = Instant::now();
    while !log().contains("started job=1") {
        assert!(started.elapsed() < Duration::from_secs(30), "{}", log());
        std::thread::sleep(Duration::from_millis(100));
    }
    proxy.go_silent();
    let silent_since = Instant::now();
    while !log().contains("did not answer within 10 s") {
        assert!(
            silent_since.elapsed() < Duration::from_secs(10 + 5),
            "nothing logged {:?} after the database went silent: {}",
            silent_since.elapsed(),
            log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let text = log();
    assert!(
        text.contains("job queue unreachable; reconnecting"),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "{text}");
    assert!(
        worker.try_wait().expect("try_wait").is_none(),
        "it keeps reconnecting: {text}"
    );
    let _ = worker.kill();
    let _ = worker.wait();
}
