//! `make bench`, the fleet at the original system's scale: one long 1080p input (10 minutes by
//! default; `FRAMEKIT_BENCH_SEGMENT_MINUTES` sets it) in a bucket on a real S3 server
//! (s3s-fs, as the tests run it), the output written back to the bucket, the queue on a
//! throw-away PostgreSQL cluster. Three runs of the same encode (preset `small`), with
//! segments a tenth of the input (60 s for 10 minutes):
//!
//! - one whole job on one worker process (what a fleet without segments does with a film);
//! - `--segment` with one worker process;
//! - `--segment` with two worker processes;
//!
//! then what N machines would take: the segments' encode divides across workers, the
//! planning, the audio and the join do not. Printed, not asserted.

#[path = "../tests/common/pg.rs"]
#[allow(dead_code)]
mod pg;
#[path = "../tests/common/s3.rs"]
#[allow(dead_code)]
mod s3;
#[path = "support.rs"]
#[allow(dead_code)]
mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{bench_dir, ffmpeg};

/// A framekit command on the S3 server directly (not through the tests' counting relay).
fn framekit(server: &s3::S3Server) -> Command {
    let mut command = server.framekit();
    command.env("AWS_ENDPOINT_URL", server.direct_endpoint());
    command
}

/// What `s3.rs` starts its commands with.
fn framekit_bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_framekit"))
}

/// The 10-second 1080p source (2 s GOPs, audio) and the long input made of copies of it.
fn long_input(minutes: u32) -> std::path::PathBuf {
    let source = bench_dir().join("segments-source.mp4");
    if !source.exists() {
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1920x1080:rate=30:duration=10",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=10",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-g",
            "60",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
            source.to_str().expect("utf-8"),
        ]);
    }
    let long = bench_dir().join(format!("segments-{minutes}min.mp4"));
    if !long.exists() {
        let list = bench_dir().join("segments-list.txt");
        let line = format!("file '{}'\n", source.display());
        std::fs::write(&list, line.repeat(minutes as usize * 6)).expect("list");
        ffmpeg(&[
            "-f",
            "concat",
            "-safe",
            "0",
            "-i",
            list.to_str().expect("utf-8"),
            "-c",
            "copy",
            long.to_str().expect("utf-8"),
        ]);
    }
    long
}

/// Processor time (user + system) of the children this process has waited for.
fn children_cpu() -> Duration {
    // SAFETY: getrusage fills the zeroed struct it is given; RUSAGE_CHILDREN needs nothing else.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// One run's wall time from the first worker's start, and the processor time its workers used.
struct Timing {
    wall: Duration,
    cpu: Duration,
}

impl Timing {
    fn line(&self) -> String {
        format!(
            "{:8.1} s  (workers' CPU {:7.1} s, {:.2} cores busy on average)",
            self.wall.as_secs_f64(),
            self.cpu.as_secs_f64(),
            self.cpu.as_secs_f64() / self.wall.as_secs_f64()
        )
    }
}

/// Enqueues the film into `out`, runs `workers` worker processes until the queue is done
/// (each one's job log in `target/bench/segments-<label>-<n>.log`), and times it.
fn run(
    server: &s3::S3Server,
    url: &str,
    out: &str,
    segment: Option<&str>,
    workers: usize,
    label: &str,
) -> Timing {
    let mut enqueue = framekit(server);
    enqueue.args([
        "enqueue",
        "s3://bench/in/film.mp4",
        "--queue",
        url,
        "--preset",
        "small",
        "-o",
        out,
    ]);
    if let Some(length) = segment {
        enqueue.args(["--segment", length]);
    }
    let status = enqueue.stdout(Stdio::null()).status().expect("enqueue");
    assert!(status.success(), "enqueue failed");
    let cpu_before = children_cpu();
    let started = Instant::now();
    let mut children: Vec<_> = (0..workers)
        .map(|n| {
            let log = std::fs::File::create(bench_dir().join(format!("segments-{label}-{n}.log")))
                .expect("worker log");
            let mut worker = framekit(server);
            worker
                .args(["worker", "--once", "--log-format", "json", "--queue", url])
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("worker")
        })
        .collect();
    for child in &mut children {
        assert!(child.wait().expect("wait").success(), "a worker failed");
    }
    Timing {
        wall: started.elapsed(),
        cpu: children_cpu().saturating_sub(cpu_before),
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let minutes: u32 = std::env::var("FRAMEKIT_BENCH_SEGMENT_MINUTES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(10);
    let film = long_input(minutes);
    let server = s3::S3Server::start(&["bench"]);
    server.put_file("bench", "in/film.mp4", &film);
    let cluster = pg::PgCluster::start();
    println!(
        "\n== segments: a {minutes}-minute 1080p H.264 + AAC input in a bucket, preset small, \
         output to the bucket, PostgreSQL queue, worker processes on this machine"
    );
    // Ten segments whatever the length (60 s for the default 10 minutes).
    let segment = format!("{}s", minutes * 6);
    let whole = run(
        &server,
        &cluster.fresh_database(),
        "s3://bench/whole/",
        None,
        1,
        "whole",
    );
    println!("one whole job, 1 worker          {}", whole.line());
    let one = run(
        &server,
        &cluster.fresh_database(),
        "s3://bench/seg1/",
        Some(&segment),
        1,
        "one",
    );
    println!("--segment {segment:<5}, 1 worker       {}", one.line());
    let two = run(
        &server,
        &cluster.fresh_database(),
        "s3://bench/seg2/",
        Some(&segment),
        2,
        "two",
    );
    println!("--segment {segment:<5}, 2 workers      {}", two.line());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "2 worker processes on this {cores}-core machine: {:.2}x one; segmenting alone: {:.2}x the whole job",
        one.wall.as_secs_f64() / two.wall.as_secs_f64(),
        whole.wall.as_secs_f64() / one.wall.as_secs_f64()
    );
    // N machines: the ten segments divide into rounds, the rest does not.
    let segments = 10.0f64;
    for machines in [1.0f64, 2.0, 4.0, 10.0] {
        let waves = (segments / machines).ceil();
        let estimate = one.wall.as_secs_f64() * waves / segments;
        println!(
            "{machines:>4} machine(s) like this one: about {estimate:8.1} s ({waves} round(s) of segments; \
             one worker's time shared out, the join and audio inside it)"
        );
    }
}
