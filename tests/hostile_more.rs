//! Issue 29's smaller hostile cases, each through the real binary as a child with its
//! address space capped and a deadline: bad `--gain` values, failures that retrying cannot
//! help, a queue the user may only read, devices and FIFOs behind `encode --keep-format`, a
//! grey clip against a colour one, a 16-bit image of exactly the pixel limit, and messages
//! that must say what was wrong (a bad `ids`, SQLite's codes, a redirect loop, names with
//! control characters in `frames --out`).
//!
//! The tests run as root, where permission bits do not bind: the cases about permissions
//! run framekit with `CAP_DAC_OVERRIDE` and `CAP_DAC_READ_SEARCH` dropped from its bounding
//! set, so a folder of mode 0555 is read-only to it as to any user.

mod common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::capped::{Capped, Input, run};

/// What a child run gave back.
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Ran {
    fn line(&self) -> &str {
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line on stderr, got: {}", self.stderr);
        lines[0]
    }
}

const CAP_DAC_OVERRIDE: libc::c_ulong = 1;
const CAP_DAC_READ_SEARCH: libc::c_ulong = 2;

/// Runs framekit in `dir` with its address space capped and a 60 s deadline; with
/// `unprivileged`, without the capabilities that let root ignore permission bits.
fn run_child(dir: &Path, args: &[&str], unprivileged: bool) -> Ran {
    let mut command = common::framekit_bin();
    command
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    common::capped::cap_address_space(&mut command);
    if unprivileged {
        // SAFETY: prctl is async-signal-safe and changes only the child before exec.
        unsafe {
            command.pre_exec(|| {
                if libc::geteuid() != 0 {
                    return Ok(());
                }
                for cap in [CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH] {
                    if libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
    }
    let child = command.spawn().expect("spawn framekit");
    let pid = child.id() as libc::pid_t;
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done_tx.send(child.wait_with_output());
    });
    let output = match done_rx.recv_timeout(Duration::from_secs(60)) {
        Ok(output) => output.expect("wait"),
        Err(_) => {
            // SAFETY: kill(2) on our own child, still unreaped (its waiter is blocked).
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("framekit {args:?} ran past 60 s");
        }
    };
    Ran {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn s(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn assert_refused(result: &Capped, what: &str, needle: &str) {
    assert_eq!(result.code, Some(1), "{what}: {}", result.stderr);
    let line = result.error_line();
    assert!(
        line.starts_with("framekit: ") && line.contains(needle),
        "{what}: {line}"
    );
}

#[test]
fn gains_that_are_not_positive_numbers_are_one_line_usage_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = s(&common::tiny_clip());
    let diffs = dir.path().join("diffs");
    for gain in ["NaN", "-2", "0", "inf", "1e9", "x"] {
        let result = run(
            dir.path(),
            &[
                "compare",
                &clip,
                &clip,
                "--diff-out",
                &s(&diffs),
                "--gain",
                gain,
            ],
            Input::None,
        );
        assert_eq!(result.code, Some(2), "--gain {gain}: {}", result.stderr);
        assert!(result.error_line().contains("--gain"), "{}", result.stderr);
        assert!(!diffs.exists(), "--gain {gain}: nothing written");
    }
    let result = run(
        dir.path(),
        &[
            "compare",
            &clip,
            &clip,
            "--diff-out",
            &s(&diffs),
            "--gain=2.5",
        ],
        Input::None,
    );
    assert_eq!(result.code, Some(0), "{}", result.stderr);
}

/// An AVI whose headers claim 100 s for 1 s of frames: its output's duration never matches.
fn long_claiming_avi(dir: &Path) -> PathBuf {
    let clip = common::fixture(
        "ten_frames.avi",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=64x48:r=10:d=1",
            "-c:v",
            "mpeg4",
        ],
    );
    let mut bytes = std::fs::read(clip).expect("read");
    let patch = |bytes: &mut Vec<u8>, tag: &[u8], offset: usize| {
        let at = bytes.windows(4).position(|w| w == tag).expect("chunk") + offset;
        bytes[at..at + 4].copy_from_slice(&1000u32.to_le_bytes());
    };
    patch(&mut bytes, b"avih", 24);
    patch(&mut bytes, b"strh", 40);
    let path = dir.join("claims_100s.avi");
    std::fs::write(&path, bytes).expect("write");
    path
}

fn only_job(queue: &Path) -> framekit::jobs::Job {
    use framekit::jobs::JobStore as _;
    let jobs = framekit::jobs::JobQueue::open(queue)
        .expect("queue")
        .list()
        .expect("list");
    assert_eq!(jobs.len(), 1);
    jobs[0].clone()
}

/// `framekit transcode INPUT -o OUT --queue QUEUE` (20 ms between retries) run in `dir`,
/// expected to fail with exit code 1; returns the queue's one job.
fn transcode_failing_once(
    dir: &Path,
    input: &Path,
    out: &Path,
    queue: &Path,
    unprivileged: bool,
) -> framekit::jobs::Job {
    let result = run_child(
        dir,
        &[
            "transcode",
            &s(input),
            "-o",
            &s(out),
            "--queue",
            &s(queue),
            "--retry-ms",
            "20",
        ],
        unprivileged,
    );
    assert_eq!(result.code, Some(1), "{}", result.stderr);
    only_job(queue)
}

#[test]
fn a_duration_mismatch_and_an_unwritable_output_fail_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = long_claiming_avi(dir.path());
    let queue = dir.path().join("queue.sqlite");
    let out = dir.path().join("out");
    let job = transcode_failing_once(dir.path(), &input, &out, &queue, false);
    let error = job.last_error.clone().unwrap_or_default();
    assert!(error.contains("duration"), "{error}");
    assert_eq!(
        (job.status, job.attempts),
        (framekit::jobs::JobStatus::Failed, 1),
        "the same encode gives the same duration: no retry"
    );

    let queue = dir.path().join("queue2.sqlite");
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).expect("mkdir");
    std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o555))
        .expect("chmod");
    let job = transcode_failing_once(dir.path(), &common::tiny_clip(), &locked, &queue, true);
    let error = job.last_error.clone().unwrap_or_default();
    assert!(
        error.contains("cannot write in the output folder") && error.contains("ermission"),
        "{error}"
    );
    assert_eq!(
        (job.status, job.attempts),
        (framekit::jobs::JobStatus::Failed, 1),
        "no permission: no retry"
    );
    assert_eq!(std::fs::read_dir(&locked).expect("ls").count(), 0);
}

#[test]
fn a_queue_the_user_may_only_read_can_be_listed_and_is_left_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shelf = dir.path().join("shelf");
    std::fs::create_dir(&shelf).expect("mkdir");
    let queue = shelf.join("queue.sqlite");
    let result = run_child(
        dir.path(),
        &[
            "enqueue",
            &s(&common::tiny_clip()),
            "-o",
            &s(&dir.path().join("out")),
            "--queue",
            &s(&queue),
        ],
        false,
    );
    assert_eq!(result.code, Some(0), "{}", result.stderr);
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&queue, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    std::fs::set_permissions(&shelf, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    let before = std::fs::metadata(&queue)
        .expect("stat")
        .modified()
        .expect("mtime");
    let names = || -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&shelf)
            .expect("ls")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let q = s(&queue);
    let list = run_child(dir.path(), &["jobs", "list", "--queue", &q], true);
    assert_eq!(list.code, Some(0), "{}", list.stderr);
    assert!(list.stdout.contains("tiny.mp4") && list.stdout.contains("1 pending"));
    let json = run_child(dir.path(), &["jobs", "list", "--json", "--queue", &q], true);
    assert_eq!(json.code, Some(0), "{}", json.stderr);
    let summary = run_child(dir.path(), &["jobs", "summary", "--queue", &q], true);
    assert_eq!(summary.code, Some(0), "{}", summary.stderr);
    assert!(summary.stdout.contains("1 pending"), "{}", summary.stdout);
    let workers = run_child(dir.path(), &["jobs", "workers", "--queue", &q], true);
    assert_eq!(workers.code, Some(0), "{}", workers.stderr);
    assert_eq!(names(), ["queue.sqlite"], "no -wal, -shm or -journal");
    let after = std::fs::metadata(&queue)
        .expect("stat")
        .modified()
        .expect("mtime");
    assert_eq!(before, after, "the queue file is not written");

    // Writing to it is refused in words, naming the queue.
    let enqueue = run_child(
        dir.path(),
        &["enqueue", &s(&common::tiny_clip()), "--queue", &q],
        true,
    );
    assert_eq!(enqueue.code, Some(1), "{}", enqueue.stderr);
    let line = enqueue.line();
    assert!(
        line.contains(&q) && line.contains("cannot be written here"),
        "{line}"
    );
    std::fs::set_permissions(&shelf, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[test]
fn encode_keep_format_refuses_devices_fifos_and_files_over_the_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let result = run(
        dir.path(),
        &["encode", "--keep-format", "/dev/zero"],
        Input::None,
    );
    assert_refused(&result, "/dev/zero", "/dev/zero: is a character device");
    let fifo = dir.path().join("pipe.png");
    let name = std::ffi::CString::new(s(&fifo)).expect("name");
    // SAFETY: a valid C string naming a path in our own temporary folder.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o644) }, 0);
    let result = run(
        dir.path(),
        &["encode", "--keep-format", &s(&fifo)],
        Input::None,
    );
    assert_refused(&result, "FIFO", "is a FIFO");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "neither blocked"
    );
    let png = dir.path().join("big.png");
    let mut bytes = common::claimed_png(64, 64, 2);
    bytes.resize(3 << 20, 0);
    std::fs::write(&png, bytes).expect("write");
    let result = run(
        dir.path(),
        &["encode", "--keep-format", "--max-mib", "1", &s(&png)],
        Input::None,
    );
    assert_refused(&result, "over --max-mib", "--max-mib");
}

/// A colour clip, and the same frames in the `gray` pixel format (its Y plane, unchanged).
fn colour_and_grey() -> (PathBuf, PathBuf) {
    let colour = common::fixture(
        "colour_ffv1.mkv",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=64x48:r=10:d=0.5",
            "-pix_fmt",
            "yuv420p",
            "-c:v",
            "ffv1",
        ],
    );
    let grey = common::fixture(
        "grey_ffv1.mkv",
        &["-i", &s(&colour), "-pix_fmt", "gray", "-c:v", "ffv1"],
    );
    (colour, grey)
}

#[test]
fn a_grey_clip_against_a_colour_one_is_not_identical() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (colour, grey) = colour_and_grey();
    for (a, b) in [(&grey, &colour), (&colour, &grey)] {
        let result = run(
            dir.path(),
            &["compare", &s(a), &s(b), "--json"],
            Input::None,
        );
        assert_eq!(result.code, Some(0), "{}", result.stderr);
        let report: serde_json::Value =
            serde_json::from_slice(&result.stdout).expect("json report");
        let summary = &report["summary"];
        assert_eq!(summary["identical"], 0, "{summary}");
        let worst = summary["worst"]["psnr_avg"].as_f64();
        assert!(
            worst.is_some_and(|db| db < 30.0),
            "a real difference: {summary}"
        );
        assert!(summary["ssim_all_mean"].as_f64().is_some_and(|v| v < 0.99));
    }
    // Grey against itself still is identical.
    let result = run(
        dir.path(),
        &["compare", &s(&grey), &s(&grey), "--json"],
        Input::None,
    );
    let report: serde_json::Value = serde_json::from_slice(&result.stdout).expect("json");
    assert_eq!(report["summary"]["identical"], 5);
}

#[test]
fn a_16_bit_image_of_exactly_the_pixel_limit_opens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let png = common::fixture(
        "exactly_100mp_rgb48.png",
        &[
            "-f",
            "lavfi",
            "-i",
            "color=c=red:s=10000x10000",
            "-frames:v",
            "1",
            "-pix_fmt",
            "rgb48be",
            "-compression_level",
            "1",
        ],
    );
    let result = run(dir.path(), &["probe", &s(&png), "--json"], Input::None);
    assert_eq!(result.code, Some(0), "{}", result.stderr);
    let info: serde_json::Value = serde_json::from_slice(&result.stdout).expect("json");
    assert_eq!(info["video"]["width"], 10000, "{info}");
    assert_eq!(info["video"]["height"], 10000, "{info}");
    // One pixel more is still refused, by its header.
    let over = dir.path().join("over.png");
    std::fs::write(&over, common::claimed_png(10000, 10001, 2)).expect("write");
    let result = run(dir.path(), &["probe", &s(&over)], Input::None);
    assert_refused(&result, "10000x10001", "over the limit of 100 megapixels");
}

#[test]
fn a_bad_ids_field_says_what_is_wrong() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = s(&common::tiny_clip());
    let lines = [
        format!("{{\"path\": {clip:?}, \"ids\": true}}"),
        format!("{{\"path\": {clip:?}, \"ids\": [1, 2.5]}}"),
        format!("{{\"path\": {clip:?}, \"ids\": [1, 2]}}"),
    ];
    let result = run(
        dir.path(),
        &["frames", "--jsonl"],
        Input::Bytes(format!("{}\n", lines.join("\n")).into_bytes()),
    );
    assert_eq!(result.code, Some(0), "{}", result.stderr);
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&result.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("row"))
        .collect();
    let error = |i: usize| rows[i]["error"].as_str().unwrap_or_default().to_string();
    assert!(
        error(0).contains("line 1") && error(0).contains("\"ids\" is true"),
        "{}",
        error(0)
    );
    assert!(error(1).contains("the number 2.5"), "{}", error(1));
    for (i, row) in rows.iter().enumerate().take(2) {
        assert!(!error(i).contains("untagged"), "{}", error(i));
        assert_eq!(row["path"], clip.as_str());
    }
    assert!(rows[2]["error"].is_null(), "{}", rows[2]);
}

#[test]
fn frames_out_prints_control_characters_in_names_escaped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let named = dir.path().join("evil\n\u{1b}[31mname.mp4");
    std::fs::copy(common::tiny_clip(), &named).expect("copy");
    let out = dir.path().join("out");
    let result = run(
        dir.path(),
        &["frames", &s(&named), "--ids", "1,2", "--out", &s(&out)],
        Input::None,
    );
    assert_eq!(result.code, Some(0), "{}", result.stderr);
    let stdout = String::from_utf8_lossy(&result.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "one line per frame: {stdout:?}");
    assert!(!stdout.contains('\u{1b}'), "{stdout:?}");
    assert!(
        lines[0].contains("evil\\n\\u{1b}[31mname_f1.png"),
        "{stdout:?}"
    );
    assert_eq!(std::fs::read_dir(&out).expect("ls").count(), 2);
}

#[test]
fn a_redirect_loop_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = common::http::Redirector::start(|path| path.to_string());
    let url = server.url("/loop.mp4");
    let result = run(dir.path(), &["probe", &url], Input::None);
    assert_refused(&result, "redirect loop", "redirected more than 8 times");
    assert!(result.error_line().contains(&url));
    assert!(server.requests() >= 8);
}

#[test]
fn sqlite_error_codes_are_told_in_words() {
    let failure = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(4874), None);
    let error = framekit::jobs::JobError::Database {
        path: "q.sqlite".to_string(),
        source: failure,
    };
    let text = error.to_string();
    assert!(
        text.contains("q.sqlite-shm") && text.contains("not writable"),
        "{text}"
    );
}

#[test]
fn a_frame_too_wide_for_libx264_fails_at_once_saying_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wide = common::fixture(
        "wide_17000x16.mkv",
        &[
            "-f",
            "lavfi",
            "-i",
            "color=c=red:s=17000x16:r=5:d=0.4",
            "-c:v",
            "ffv1",
        ],
    );
    let queue = dir.path().join("queue.sqlite");
    let job = transcode_failing_once(dir.path(), &wide, &dir.path().join("out"), &queue, false);
    let error = job.last_error.clone().unwrap_or_default();
    assert!(
        error.contains("17000x16") && error.contains("at most 16384") && error.contains("small"),
        "{error}"
    );
    assert!(!error.contains("Generic error"), "{error}");
    assert_eq!(
        (job.status, job.attempts),
        (framekit::jobs::JobStatus::Failed, 1)
    );
}
