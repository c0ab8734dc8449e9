//! `s3://` locations on a real S3-protocol server (s3s-fs on 127.0.0.1, behind a relay that
//! counts what it sends): frames and probe read a 20-minute object lazily through presigned
//! range requests; errors name the object and never a credential; `transcode` walks a
//! prefix and publishes outputs create-only (an existing object is never replaced); a fleet
//! on PostgreSQL with inputs and outputs in a bucket survives a `kill -9` mid-encode with no
//! staging object left behind.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use common::pg::PgCluster;
use common::s3::{S3Server, SECRET_KEY};
use common::worker::Worker;
use framekit::jobs::{Job, JobStatus, QueueLocation};

fn run(server: &S3Server, args: &[&str]) -> Output {
    server.framekit().args(args).output().expect("run framekit")
}

fn stdout_ok(output: &Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("utf-8")
}

/// A short clip for transcoding: 2 s, 320x240, with audio.
fn short_clip() -> PathBuf {
    common::fixture(
        "s3-short.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25:duration=2",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=330:duration=2",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
        ],
    )
}

fn probe_frames(server: &S3Server, target: &str) -> u64 {
    let text = stdout_ok(&run(server, &["probe", "--json", target]), target);
    let json: serde_json::Value = serde_json::from_str(&text).expect("probe --json");
    json["frame_count"].as_u64().expect("frame_count")
}

/// The one line of an error, checked to be one line that names `target`.
fn one_line_error(output: &Output, target: &str) -> String {
    assert!(!output.status.success(), "{target}: should fail");
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(target), "names {target}: {stderr}");
    for secret in [
        SECRET_KEY,
        "X-Amz-Signature",
        "X-Amz-Credential",
        "127.0.0.1",
    ] {
        assert!(!stderr.contains(secret), "{stderr} shows {secret}");
    }
    stderr
}

#[test]
fn frames_and_probe_read_a_long_object_lazily_and_match_the_local_file() {
    let server = S3Server::start(&["media"]);
    let long = common::long_mp4();
    let size = std::fs::metadata(&long).expect("size").len();
    server.put_file("media", "clips/long.mp4", &long);
    let object = "s3://media/clips/long.mp4";

    server.reset_counts();
    let remote = stdout_ok(
        &run(&server, &["frames", object, "--ids", "1,30"]),
        "frames",
    );
    let downloaded = server.bytes_sent();
    let local = stdout_ok(
        &run(
            &server,
            &["frames", long.to_str().expect("utf-8"), "--ids", "1,30"],
        ),
        "local frames",
    );
    eprintln!("ids 1,30 of a {size}-byte object: {downloaded} bytes downloaded");
    assert_eq!(remote, local, "the object's frames are the file's");
    assert!(
        remote.starts_with("iVBOR"),
        "base64 PNGs: {}",
        &remote[..20]
    );
    assert!(
        (downloaded as f64) < size as f64 * 0.02,
        "ids 1,30 of a {size}-byte object downloaded {downloaded} bytes"
    );

    server.reset_counts();
    assert_eq!(
        probe_frames(&server, object),
        (common::LONG_SOURCE_FRAMES * common::LONG_COPIES) as u64
    );
    assert!(
        (server.bytes_sent() as f64) < size as f64 * 0.05,
        "probe read {} of {size} bytes",
        server.bytes_sent()
    );

    // Cutting it into segments reads the sample table and the packets at the cuts.
    let dir = tempfile::tempdir().expect("tempdir");
    let queue = dir.path().join("q.sqlite");
    server.reset_counts();
    let enqueued = stdout_ok(
        &run(
            &server,
            &[
                "enqueue",
                object,
                "--segment",
                "300s",
                "-o",
                "s3://media/out/",
                "--queue",
                queue.to_str().expect("utf-8"),
                "--json",
            ],
        ),
        "enqueue --segment",
    );
    let planned = server.bytes_sent();
    eprintln!("enqueue --segment 300s of a {size}-byte object: {planned} bytes downloaded");
    let mut q = QueueLocation::Sqlite(queue).open().expect("queue");
    let parts = q.list().expect("list").len();
    assert_eq!(
        parts, 6,
        "the join, four segments and the audio: {enqueued}"
    );
    assert!(
        (planned as f64) < size as f64 * 0.05,
        "planning segments read {planned} of {size} bytes"
    );
}

#[test]
fn errors_name_the_object_say_what_is_wrong_and_never_show_a_secret() {
    let server = S3Server::start(&["media"]);
    server.put_file("media", "a.mp4", &short_clip());

    let missing = one_line_error(
        &run(&server, &["probe", "s3://media/nope.mp4"]),
        "s3://media/nope.mp4",
    );
    assert!(missing.contains("no such object"), "{missing}");

    let no_bucket = one_line_error(
        &run(
            &server,
            &["frames", "s3://no-such-bucket/a.mp4", "--ids", "1"],
        ),
        "s3://no-such-bucket/a.mp4",
    );
    assert!(
        no_bucket.contains("bucket no-such-bucket does not exist"),
        "{no_bucket}"
    );

    let wrong_secret = server
        .framekit()
        .env("AWS_SECRET_ACCESS_KEY", "not-the-secret-7c0d")
        .args(["probe", "s3://media/a.mp4"])
        .output()
        .expect("run");
    let denied = one_line_error(&wrong_secret, "s3://media/a.mp4");
    assert!(denied.contains("refused the credentials"), "{denied}");
    assert!(!denied.contains("not-the-secret-7c0d"), "{denied}");

    let no_credentials = server
        .framekit()
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .args(["probe", "s3://media/a.mp4"])
        .output()
        .expect("run");
    let unset = one_line_error(&no_credentials, "s3://media/a.mp4");
    assert!(unset.contains("AWS_ACCESS_KEY_ID"), "{unset}");

    let enqueue_missing_bucket = run(
        &server,
        &[
            "enqueue",
            "s3://no-such-bucket/in/",
            "--queue",
            server
                .bucket_dir("media")
                .join("../queue.sqlite")
                .to_str()
                .expect("utf-8"),
        ],
    );
    let refused = one_line_error(&enqueue_missing_bucket, "s3://no-such-bucket/in/");
    assert!(refused.contains("does not exist"), "{refused}");
}

#[test]
fn transcode_walks_a_prefix_and_publishes_outputs_create_only() {
    let server = S3Server::start(&["media"]);
    let clip = short_clip();
    server.put_file("media", "in/a.mp4", &clip);
    server.put_file("media", "in/sub/b.mp4", &clip);
    server.put_file("media", "in/notes.txt", &clip);
    // An output that exists already: never replaced without --force.
    std::fs::create_dir_all(server.bucket_dir("media").join("out")).expect("mkdir");
    std::fs::write(server.bucket_dir("media").join("out/a.mp4"), b"keep me").expect("write");
    let dir = tempfile::tempdir().expect("tempdir");
    let queue = dir.path().join("jobs.sqlite");
    let queue = queue.to_str().expect("utf-8");

    let output = run(
        &server,
        &[
            "transcode",
            "s3://media/in/",
            "--out",
            "s3://media/out/",
            "--queue",
            queue,
            "--retry-ms",
            "10",
        ],
    );
    assert!(!output.status.success(), "one job fails: its output exists");
    let jobs = QueueLocation::parse(queue)
        .expect("queue")
        .open()
        .expect("open")
        .list()
        .expect("list");
    let by_output = |name: &str| -> &Job {
        jobs.iter()
            .find(|j| j.output == Path::new(name))
            .unwrap_or_else(|| panic!("a job writes {name}: {jobs:?}"))
    };
    assert_eq!(jobs.len(), 2, "two videos below the prefix: {jobs:?}");
    let a = by_output("s3://media/out/a.mp4");
    assert_eq!(a.status, JobStatus::Failed);
    assert_eq!(a.attempts, 1, "an existing output is not retried");
    assert!(
        a.last_error
            .as_deref()
            .is_some_and(|e| e.contains("already exists")),
        "{:?}",
        a.last_error
    );
    assert_eq!(
        std::fs::read(server.bucket_dir("media").join("out/a.mp4")).expect("read"),
        b"keep me"
    );
    let b = by_output("s3://media/out/sub/b.mp4");
    assert_eq!(b.status, JobStatus::Succeeded, "{:?}", b.last_error);
    assert_eq!(probe_frames(&server, "s3://media/out/sub/b.mp4"), 50);
    assert_eq!(
        server.keys("media"),
        [
            "in/a.mp4",
            "in/notes.txt",
            "in/sub/b.mp4",
            "out/a.mp4",
            "out/sub/b.mp4"
        ],
        "no staging object is left"
    );

    // --force redoes the failed job and replaces the object.
    let forced = run(
        &server,
        &[
            "transcode",
            "s3://media/in/a.mp4",
            "--out",
            "s3://media/out/",
            "--queue",
            queue,
            "--force",
        ],
    );
    stdout_ok(&forced, "transcode --force");
    assert_eq!(probe_frames(&server, "s3://media/out/a.mp4"), 50);
}

fn jobs(url: &str) -> Vec<Job> {
    QueueLocation::Postgres(url.to_string())
        .open()
        .expect("open")
        .list()
        .expect("list")
}

#[test]
fn a_fleet_with_inputs_and_outputs_in_a_bucket_survives_a_killed_worker() {
    let server = S3Server::start(&["media"]);
    let clip = common::fleet_long_clip();
    for name in ["c0.mp4", "c1.mp4", "c2.mp4"] {
        server.put_file("media", &format!("in/{name}"), &clip);
    }
    let url = PgCluster::shared().fresh_database();
    let dir = tempfile::tempdir().expect("tempdir");
    let enqueued = run(
        &server,
        &[
            "enqueue",
            "s3://media/in/",
            "--queue",
            &url,
            "--preset",
            "hq",
            "-o",
            "s3://media/out/",
        ],
    );
    stdout_ok(&enqueued, "enqueue");
    assert_eq!(jobs(&url).len(), 3);

    let mut doomed = Worker::start_command(
        server.framekit(),
        &url,
        dir.path().join("a.log"),
        &["--lease-seconds", "2"],
    );
    let deadline = Instant::now() + Duration::from_secs(90);
    let temp = loop {
        let under_way = jobs(&url).into_iter().find_map(|j| {
            let temp = j
                .temp_path
                .filter(|t| t.metadata().is_ok_and(|m| m.len() > 0))?;
            (j.status == JobStatus::Processing).then_some(temp)
        });
        if let Some(temp) = under_way {
            break temp;
        }
        assert!(Instant::now() < deadline, "no encode under way");
        std::thread::sleep(Duration::from_millis(50));
    };
    // SAFETY: kill has no memory-safety preconditions.
    let killed = unsafe { libc::kill(doomed.child.id() as i32, libc::SIGKILL) };
    assert_eq!(killed, 0);
    let _ = doomed.child.wait();
    assert!(
        temp.exists(),
        "the killed worker left its local partial file"
    );

    let mut rescuers: Vec<Worker> = (0..2)
        .map(|i| {
            Worker::start_command(
                server.framekit(),
                &url,
                dir.path().join(format!("r{i}.log")),
                &["--once", "--lease-seconds", "10"],
            )
        })
        .collect();
    for rescuer in &mut rescuers {
        rescuer.wait_ok(Duration::from_secs(240));
    }
    let rows = jobs(&url);
    for job in &rows {
        assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
        let output = job.output.to_str().expect("utf-8");
        assert!(output.starts_with("s3://media/out/"), "{output}");
        assert_eq!(probe_frames(&server, output), 360, "{output}");
    }
    assert_eq!(
        rows.iter().map(|j| j.attempts).max(),
        Some(2),
        "the killed job ran twice"
    );
    assert!(!temp.exists(), "the dead attempt's local file is removed");
    assert_eq!(
        server.keys("media"),
        [
            "in/c0.mp4",
            "in/c1.mp4",
            "in/c2.mp4",
            "out/c0.mp4",
            "out/c1.mp4",
            "out/c2.mp4"
        ],
        "every output published, no staging object left"
    );
}

#[test]
fn a_large_output_is_uploaded_in_parts_and_published_exactly_once() {
    use framekit::storage::{self, ObjectUrl, StorageError};
    let server = S3Server::start(&["big"]);
    // SAFETY: no other code in this test process reads the environment from outside Rust's
    // std (the other tests only spawn processes, which std's own lock orders with this);
    // this is the only test that uses the store in-process.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", common::s3::ACCESS_KEY);
        std::env::set_var("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
        std::env::set_var("AWS_ENDPOINT_URL", server.endpoint());
        std::env::set_var("AWS_REGION", "us-east-1");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let local = dir.path().join("big.mp4");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let bytes: Vec<u8> = (0..(storage::SINGLE_PUT_MAX as usize * 2 + 12_345))
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    std::fs::write(&local, &bytes).expect("write");
    let output = ObjectUrl::parse("s3://big/out/big.mp4").expect("url");
    let staging = storage::staging_for(&output, "t1");
    let since = std::time::SystemTime::now();

    let staged = storage::stage(&local, &staging, &|| false).expect("stage");
    assert_eq!(staged.size, bytes.len() as u64);
    storage::publish(&staged, &output, false, since).expect("publish");
    assert!(
        std::fs::read(server.bucket_dir("big").join("out/big.mp4")).expect("read") == bytes,
        "the published object is the file"
    );
    // A retried publish of the same attempt is fine; a stale one is refused.
    storage::publish(&staged, &output, false, since).expect("publish again");
    let later = since + Duration::from_secs(3600);
    assert!(matches!(
        storage::publish(&staged, &output, false, later),
        Err(StorageError::AlreadyExists { .. })
    ));
    storage::remove(&staging).expect("remove staging");
    assert_eq!(server.keys("big"), ["out/big.mp4"]);

    // A stopped upload leaves nothing.
    let stopped = storage::stage(&local, &storage::staging_for(&output, "t2"), &|| true);
    assert!(stopped.is_err());
    assert_eq!(server.keys("big"), ["out/big.mp4"]);
}
