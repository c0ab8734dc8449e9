//! A transcode fleet on a real PostgreSQL server (a throw-away cluster on 127.0.0.1): worker
//! processes of the real binary share a queue. Eight workers × 200 jobs run each job once; a
//! `kill -9` mid-encode is reclaimed and its temporary file removed; a worker stopped past its
//! lease publishes nothing and logs "lease lost"; poison and permanent failures, duplicate
//! enqueues and shards; a server restart mid-batch; SIGTERM with a grace period; metrics and
//! the worker registry.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::pg::PgCluster;
use common::worker::Worker;
use framekit::jobs::{Job, JobStatus, QueueLocation};

/// `count` copies of `clip` in a folder of their own.
fn copies(dir: &Path, clip: &Path, count: usize) -> PathBuf {
    let inputs = dir.join("in");
    std::fs::create_dir_all(&inputs).expect("mkdir");
    for i in 0..count {
        std::fs::copy(clip, inputs.join(format!("clip{i:03}.mp4"))).expect("copy");
    }
    inputs
}

fn framekit(args: &[&str]) -> std::process::Output {
    common::framekit_bin()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run framekit")
}

fn enqueue(url: &str, inputs: &Path, out: &Path, preset: &str) -> Vec<serde_json::Value> {
    let output = framekit(&[
        "enqueue",
        inputs.to_str().expect("utf-8"),
        "--queue",
        url,
        "--preset",
        preset,
        "-o",
        out.to_str().expect("utf-8"),
        "--json",
    ]);
    assert!(
        output.status.success(),
        "enqueue: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("enqueue --json")
}

fn signal(pid: i32, signal: libc::c_int) {
    // SAFETY: kill has no memory-safety preconditions.
    let sent = unsafe { libc::kill(pid, signal) };
    assert_eq!(sent, 0, "kill({pid}, {signal})");
}

fn jobs(url: &str) -> Vec<Job> {
    QueueLocation::Postgres(url.to_string())
        .open()
        .expect("open")
        .list()
        .expect("list")
}

/// Polls the queue until `done` holds (at most `limit`).
fn wait_for(url: &str, limit: Duration, what: &str, done: impl Fn(&[Job]) -> bool) -> Vec<Job> {
    let deadline = Instant::now() + limit;
    loop {
        let rows = jobs(url);
        if done(&rows) {
            return rows;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {rows:#?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The queue's jobs, each of which must have succeeded.
fn all_succeeded(url: &str) -> Vec<Job> {
    let rows = jobs(url);
    assert!(
        rows.iter().all(|j| j.status == JobStatus::Succeeded),
        "{rows:#?}"
    );
    rows
}

/// Temporary files (`.*.part.mp4`) left in `dir`.
fn leftovers(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().ends_with(".part.mp4"))
                .collect()
        })
        .unwrap_or_default()
}

fn counts(ids: impl IntoIterator<Item = i64>) -> HashMap<i64, usize> {
    let mut counts = HashMap::new();
    for id in ids {
        *counts.entry(id).or_insert(0) += 1;
    }
    counts
}

#[test]
fn eight_workers_run_two_hundred_jobs_each_exactly_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = PgCluster::shared().fresh_database();
    let inputs = copies(dir.path(), &common::tiny_clip(), 200);
    let out = dir.path().join("out");
    let queued = enqueue(&url, &inputs, &out, "small");
    assert_eq!(queued.len(), 200);

    let mut workers: Vec<Worker> = (0..8)
        .map(|i| Worker::start(&url, dir.path().join(format!("w{i}.log")), &["--once"]))
        .collect();
    for worker in &mut workers {
        worker.wait_ok(Duration::from_secs(300));
    }

    let rows = jobs(&url);
    assert_eq!(rows.len(), 200);
    for job in &rows {
        assert_eq!(
            (job.status, job.attempts),
            (JobStatus::Succeeded, 1),
            "job {} ({}): {:?}",
            job.id,
            job.input.display(),
            job.last_error
        );
        assert!(job.output.metadata().is_ok_and(|m| m.len() > 0));
    }
    let published = counts(workers.iter().flat_map(|w| w.jobs_logged("succeeded")));
    let started = counts(workers.iter().flat_map(|w| w.jobs_logged("started")));
    assert_eq!(published.len(), 200);
    assert!(published.values().all(|&n| n == 1), "a job published twice");
    assert!(started.values().all(|&n| n == 1), "a job started twice");
    let busy = workers
        .iter()
        .filter(|w| !w.jobs_logged("succeeded").is_empty())
        .count();
    assert!(busy >= 4, "only {busy} of 8 workers got work");
    assert!(leftovers(&out).is_empty(), "{:?}", leftovers(&out));
    assert_eq!(std::fs::read_dir(&out).expect("out").count(), 200);
}

#[test]
fn a_killed_worker_s_job_is_reclaimed_and_its_temp_file_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = PgCluster::shared().fresh_database();
    let inputs = copies(dir.path(), &common::fleet_long_clip(), 1);
    let out = dir.path().join("out");
    enqueue(&url, &inputs, &out, "hq");

    let mut doomed = Worker::start(&url, dir.path().join("a.log"), &["--lease-seconds", "2"]);
    let rows = wait_for(
        &url,
        Duration::from_secs(60),
        "an encode under way",
        |rows| {
            rows[0].status == JobStatus::Processing
                && rows[0]
                    .temp_path
                    .as_ref()
                    .is_some_and(|t| t.metadata().is_ok_and(|m| m.len() > 0))
        },
    );
    let temp = rows[0].temp_path.clone().expect("temp path");
    signal(doomed.pid(), libc::SIGKILL);
    doomed.wait(Duration::from_secs(10));
    assert!(temp.exists(), "the killed worker left its partial file");

    let mut rescuer = Worker::start(&url, dir.path().join("b.log"), &["--once"]);
    rescuer.wait_ok(Duration::from_secs(180));
    let job = &jobs(&url)[0];
    assert_eq!(
        (job.status, job.attempts),
        (JobStatus::Succeeded, 2),
        "{:?}",
        job.last_error
    );
    assert_eq!(rescuer.jobs_logged("succeeded"), vec![job.id]);
    assert!(
        !temp.exists(),
        "the dead attempt's temporary file is removed"
    );
    assert!(leftovers(&out).is_empty());
    let probe = framekit(&["probe", job.output.to_str().expect("utf-8")]);
    assert!(probe.status.success(), "the output opens");
}

#[test]
fn a_worker_stopped_past_its_lease_publishes_nothing_and_logs_lease_lost() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = PgCluster::shared().fresh_database();
    let inputs = copies(dir.path(), &common::fleet_long_clip(), 1);
    let out = dir.path().join("out");
    enqueue(&url, &inputs, &out, "hq");

    let mut stale = Worker::start(
        &url,
        dir.path().join("stale.log"),
        &["--once", "--lease-seconds", "2"],
    );
    wait_for(
        &url,
        Duration::from_secs(60),
        "an encode under way",
        |rows| rows[0].status == JobStatus::Processing && rows[0].progress > 0.0,
    );
    signal(stale.pid(), libc::SIGSTOP);
    let stale_owner = jobs(&url)[0].lease_owner.clone();
    std::thread::sleep(Duration::from_millis(2500));

    let mut current = Worker::start(&url, dir.path().join("current.log"), &["--once"]);
    wait_for(
        &url,
        Duration::from_secs(30),
        "the job taken over",
        |rows| rows[0].status == JobStatus::Processing && rows[0].lease_owner != stale_owner,
    );
    signal(stale.pid(), libc::SIGCONT);

    stale.wait_ok(Duration::from_secs(120));
    current.wait_ok(Duration::from_secs(180));
    let job = &jobs(&url)[0];
    assert_eq!((job.status, job.attempts), (JobStatus::Succeeded, 2));
    assert_eq!(
        stale.jobs_logged("lease lost"),
        vec![job.id],
        "{}",
        stale.log_text()
    );
    assert!(
        stale.jobs_logged("succeeded").is_empty(),
        "the stale worker published"
    );
    assert_eq!(current.jobs_logged("succeeded"), vec![job.id]);
    assert!(leftovers(&out).is_empty(), "{:?}", leftovers(&out));
}

#[test]
fn poison_and_permanent_failures_duplicates_and_shards() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = PgCluster::shared().fresh_database();
    let inputs = copies(dir.path(), &common::tiny_clip(), 6);
    std::fs::write(inputs.join("poison.mp4"), vec![0x5a; 4096]).expect("poison");
    let audio = common::fixture(
        "fleet-audio-only.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=0.5",
            "-c:a",
            "aac",
        ],
    );
    std::fs::copy(audio, inputs.join("sound.mp4")).expect("copy");
    let out = dir.path().join("out");
    let first = enqueue(&url, &inputs, &out, "small");
    let again = enqueue(&url, &inputs, &out, "small");
    assert_eq!(first.len(), 8);
    assert!(
        again.iter().all(|row| row["outcome"] == "already pending"),
        "{again:?}"
    );
    assert_eq!(
        jobs(&url).len(),
        8,
        "the same file enqueued twice is one job"
    );

    let mut shards: Vec<Worker> = (0..2)
        .map(|i| {
            Worker::start(
                &url,
                dir.path().join(format!("shard{i}.log")),
                &["--once", "--shard", &format!("{i}/2"), "--retry-ms", "100"],
            )
        })
        .collect();
    for worker in &mut shards {
        worker.wait_ok(Duration::from_secs(120));
    }
    for (index, worker) in shards.iter().enumerate() {
        let started = worker.jobs_logged("started");
        assert!(!started.is_empty());
        assert!(
            started.iter().all(|id| id % 2 == index as i64),
            "shard {index}/2 ran {started:?}"
        );
    }
    let ran = counts(shards.iter().flat_map(|w| w.jobs_logged("started")));
    assert_eq!(ran.len(), 8, "the two shards together cover every job");

    for job in jobs(&url) {
        let name = job.input.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let error = job.last_error.clone().unwrap_or_default();
        match name {
            "poison.mp4" => {
                assert_eq!(
                    (job.status, job.attempts),
                    (JobStatus::Failed, 3),
                    "{error}"
                );
                assert!(error.contains("poison.mp4"), "{error}");
            }
            "sound.mp4" => {
                assert_eq!(
                    (job.status, job.attempts),
                    (JobStatus::Failed, 1),
                    "{error}"
                );
                assert!(error.contains("no video stream"), "{error}");
            }
            _ => assert_eq!(
                (job.status, job.attempts),
                (JobStatus::Succeeded, 1),
                "{error}"
            ),
        }
    }
}

#[test]
fn workers_ride_out_a_postgres_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A cluster of its own: restarting the shared one would disturb the other tests.
    let cluster = PgCluster::start();
    let url = cluster.fresh_database();
    let clip = common::fixture(
        "fleet-restart.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25:duration=1",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    let inputs = copies(dir.path(), &clip, 24);
    let out = dir.path().join("out");
    enqueue(&url, &inputs, &out, "small");
    let mut workers: Vec<Worker> = (0..2)
        .map(|i| Worker::start(&url, dir.path().join(format!("w{i}.log")), &["--once"]))
        .collect();
    wait_for(&url, Duration::from_secs(120), "a few jobs done", |rows| {
        rows.iter()
            .filter(|j| j.status == JobStatus::Succeeded)
            .count()
            >= 3
    });
    cluster.stop_server();
    std::thread::sleep(Duration::from_secs(2));
    cluster.start_server();
    for worker in &mut workers {
        worker.wait_ok(Duration::from_secs(240));
    }
    all_succeeded(&url);
    let published = counts(workers.iter().flat_map(|w| w.jobs_logged("succeeded")));
    assert_eq!(published.len(), 24);
    assert!(published.values().all(|&n| n == 1));
    let reconnected = workers
        .iter()
        .any(|w| w.log_text().contains("reconnected to the job queue"));
    assert!(reconnected, "no worker saw the restart");
}

#[test]
fn sigterm_releases_after_the_grace_period_and_metrics_and_registry_tell_the_story() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = PgCluster::shared().fresh_database();
    let inputs = copies(dir.path(), &common::tiny_clip(), 3);
    let out = dir.path().join("out");
    enqueue(&url, &inputs, &out, "small");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let metrics_at = format!("127.0.0.1:{port}");
    let mut worker = Worker::start(
        &url,
        dir.path().join("w.log"),
        &["--metrics", &metrics_at, "--grace", "0"],
    );
    wait_for(&url, Duration::from_secs(60), "three jobs done", |rows| {
        rows.iter().all(|j| j.status == JobStatus::Succeeded)
    });
    let metrics = http_get(&metrics_at, "/metrics");
    assert!(
        metrics.contains("framekit_jobs_claimed_total 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("framekit_jobs_succeeded_total 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("framekit_lease_losses_total 0"),
        "{metrics}"
    );
    assert!(metrics.contains("# TYPE framekit_encode_seconds_total counter"));

    let registry = framekit(&["jobs", "workers", "--queue", &url, "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&registry.stdout).expect("json");
    assert_eq!(rows[0]["alive"], true, "{rows}");
    assert_eq!(rows[0]["pid"], worker.child.id());

    // A long job, then SIGTERM with no grace: released, not failed, temporary file gone.
    let long = dir.path().join("long");
    std::fs::create_dir_all(&long).expect("mkdir");
    std::fs::copy(common::fleet_long_clip(), long.join("long.mp4")).expect("copy");
    enqueue(&url, &long, &out, "hq");
    wait_for(
        &url,
        Duration::from_secs(60),
        "the long job running",
        |rows| {
            rows.iter().any(|j| {
                j.status == JobStatus::Processing
                    && j.temp_path
                        .as_ref()
                        .is_some_and(|t| t.metadata().is_ok_and(|m| m.len() > 0))
            })
        },
    );
    signal(worker.pid(), libc::SIGTERM);
    worker.wait_ok(Duration::from_secs(60));
    let long_job = jobs(&url)
        .into_iter()
        .find(|j| j.preset == "hq")
        .expect("long job");
    assert_eq!(
        (long_job.status, long_job.attempts),
        (JobStatus::Pending, 0)
    );
    assert!(leftovers(&out).is_empty());
    let registry = framekit(&["jobs", "workers", "--queue", &url, "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&registry.stdout).expect("json");
    assert_eq!(rows[0]["alive"], false, "{rows}");
    assert!(rows[0]["stopped_at"].is_i64(), "{rows}");
    let listing = framekit(&["jobs", "list", "--queue", &url]);
    assert!(String::from_utf8_lossy(&listing.stdout).contains("pending"));
}

fn http_get(address: &str, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(address).expect("connect to metrics");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\n\r\n").expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
}

#[test]
fn the_same_files_enqueued_from_two_shells_are_one_job_each() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = PgCluster::shared().fresh_database();
    let inputs = copies(dir.path(), &common::tiny_clip(), 20);
    let out = dir.path().join("out");
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| enqueue(&url, &inputs, &out, "small"));
        let b = scope.spawn(|| enqueue(&url, &inputs, &out, "small"));
        (a.join().expect("a"), b.join().expect("b"))
    });
    assert_eq!((a.len(), b.len()), (20, 20));
    assert_eq!(jobs(&url).len(), 20);
    let ids = |rows: &[serde_json::Value]| {
        let mut ids: Vec<i64> = rows.iter().filter_map(|r| r["id"].as_i64()).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&a), ids(&b));
    // Listing a big queue reads what is shown: the newest five pending, and the counts.
    let listing = framekit(&[
        "jobs", "list", "--queue", &url, "--status", "pending", "--limit", "5", "--newest",
        "--json",
    ]);
    assert!(
        listing.status.success(),
        "{}",
        String::from_utf8_lossy(&listing.stderr)
    );
    let shown: Vec<serde_json::Value> = serde_json::from_slice(&listing.stdout).expect("json");
    let mut newest = ids(&a);
    newest.reverse();
    newest.truncate(5);
    assert_eq!(
        shown
            .iter()
            .filter_map(|r| r["id"].as_i64())
            .collect::<Vec<_>>(),
        newest
    );
    assert!(shown.iter().all(|r| r["status"] == "pending"));
    let summary = framekit(&["jobs", "summary", "--queue", &url, "--json"]);
    let counts: serde_json::Value = serde_json::from_slice(&summary.stdout).expect("json");
    assert_eq!(
        counts,
        serde_json::json!({"pending": 20, "processing": 0, "succeeded": 0, "failed": 0, "cancelled": 0})
    );
    let text = framekit(&["jobs", "list", "--queue", &url, "--limit", "3"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.trim_end().ends_with(
            "20 jobs: 20 pending, 0 running, 0 succeeded, 0 failed, 0 cancelled (shown: 3)"
        ),
        "{text}"
    );
}

#[test]
fn map_translates_paths_for_a_node_that_mounts_the_storage_elsewhere() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = PgCluster::shared().fresh_database();
    // Enqueued as the laptop sees the share...
    let laptop = dir.path().join("laptop-mount");
    let inputs = copies(&laptop, &common::tiny_clip(), 2);
    enqueue(&url, &inputs, &laptop.join("out"), "small");
    // ...which this node mounts at another path.
    let node = dir.path().join("node-mount");
    std::fs::rename(&laptop, &node).expect("move the share");
    let mapping = format!("{}={}", laptop.display(), node.display());
    let mut worker = Worker::start(
        &url,
        dir.path().join("w.log"),
        &["--once", "--map", &mapping],
    );
    worker.wait_ok(Duration::from_secs(120));
    all_succeeded(&url);
    assert!(node.join("out").join("clip000.mp4").exists());
    assert!(node.join("out").join("clip001.mp4").exists());
    assert!(!laptop.exists(), "nothing written at the laptop's paths");

    // Without the mapping the paths do not exist here: a clear failure naming the file.
    let bad = framekit(&["worker", "--once", "--queue", &url, "--map", "relative=/x"]);
    assert_eq!(
        bad.status.code(),
        Some(2),
        "a relative mapping is a usage error"
    );
}
