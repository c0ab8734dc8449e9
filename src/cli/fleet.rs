//! The fleet's commands: `framekit worker` (a headless loop for servers: claims jobs from the
//! queue, encodes, publishes; registers itself, beats, serves Prometheus metrics, logs one
//! line per job event through `tracing`, text or JSON) and `framekit enqueue` (adds files to a
//! queue without running them).

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use framekit::batch::{CancelRequests, JobEvent, PathMap, RunOptions, RunUntil, run_jobs};
use framekit::jobs::worker::parse_path_mapping;
use framekit::jobs::{ClaimFilter, Enqueued, Shard, host_name};

use super::signals::SignalWatch;
use super::transcode::{BatchArgs, QueueArg, jobs_in_range};
use super::{printable, shown};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub queue: QueueArg,
    /// Files encoded at once on this node, 1 to 64.
    #[arg(long, default_value_t = 1, value_parser = jobs_in_range)]
    pub jobs: usize,
    /// Take only the jobs with id % N = I (for schedulers that hand out shard numbers).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
    /// Translate a path prefix from the enqueuing machine to this node (repeatable).
    #[arg(long = "map", value_name = "FROM=TO", value_parser = parse_path_mapping)]
    pub map: Vec<(PathBuf, PathBuf)>,
    /// Work until no job is claimable, then exit 0 (for batch schedulers).
    #[arg(long)]
    pub once: bool,
    /// Seconds to finish running jobs after SIGTERM/SIGINT before releasing them.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub grace: u64,
    /// Serve Prometheus metrics at http://ADDR/metrics (for example 127.0.0.1:9187; bind the
    /// address scrapers reach, not every interface, where you can).
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<SocketAddr>,
    /// One log line per job event: text, or JSON for log collectors.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub lease: super::transcode::LeaseArgs,
}

#[derive(Debug, Args)]
pub struct EnqueueArgs {
    #[command(flatten)]
    pub batch: BatchArgs,
    #[command(flatten)]
    pub queue: QueueArg,
    /// One JSON array: input, output, id and what happened.
    #[arg(long)]
    pub json: bool,
}

pub fn enqueue(args: &EnqueueArgs) -> anyhow::Result<()> {
    let location = args.queue.location()?;
    let enqueued = args.batch.enqueue(&location)?;
    let outcome = |e: &Enqueued| match e {
        Enqueued::New(_) => "new".to_string(),
        Enqueued::Requeued(_) => "requeued".to_string(),
        Enqueued::Existing(_, status) => format!("already {status}"),
    };
    if args.json {
        let rows: Vec<_> = enqueued
            .iter()
            .map(|e| {
                serde_json::json!({
                    "id": e.outcome.id(),
                    "input": e.input.display().to_string(),
                    "output": e.output.display().to_string(),
                    "outcome": outcome(&e.outcome),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
    } else {
        for e in &enqueued {
            println!(
                "{:>6}  {:<18} {} -> {}",
                e.outcome.id(),
                outcome(&e.outcome),
                shown(&e.input),
                shown(&e.output)
            );
        }
        let new = enqueued
            .iter()
            .filter(|e| !matches!(e.outcome, Enqueued::Existing(..)))
            .count();
        println!(
            "{new} job(s) queued, {} already there, in {location}",
            enqueued.len() - new
        );
    }
    Ok(())
}

/// What a worker has done, for `/metrics` and its registry row.
#[derive(Default)]
struct Metrics {
    claimed: AtomicU64,
    succeeded: AtomicU64,
    failed: AtomicU64,
    retried: AtomicU64,
    released: AtomicU64,
    lease_losses: AtomicU64,
    frames: AtomicU64,
    /// Microseconds spent on jobs that succeeded.
    encode_micros: AtomicU64,
    running: Mutex<BTreeSet<i64>>,
}

impl Metrics {
    fn running_ids(&self) -> String {
        self.running
            .lock()
            .map(|ids| ids.iter().map(i64::to_string).collect::<Vec<_>>().join(","))
            .unwrap_or_default()
    }

    fn record(&self, event: &JobEvent) {
        let running = |id: i64, on: bool| {
            if let Ok(mut ids) = self.running.lock() {
                if on {
                    ids.insert(id);
                } else {
                    ids.remove(&id);
                }
            }
        };
        match event {
            JobEvent::Started { id, .. } => {
                self.claimed.fetch_add(1, Ordering::Relaxed);
                running(*id, true);
            }
            JobEvent::Progress { .. } => {}
            JobEvent::Succeeded {
                id,
                seconds,
                frames,
                ..
            } => {
                self.succeeded.fetch_add(1, Ordering::Relaxed);
                self.frames.fetch_add(*frames, Ordering::Relaxed);
                self.encode_micros
                    .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
                running(*id, false);
            }
            JobEvent::Retrying { id, .. } => {
                self.retried.fetch_add(1, Ordering::Relaxed);
                running(*id, false);
            }
            JobEvent::Failed { id, .. } => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                running(*id, false);
            }
            JobEvent::Released { id } => {
                self.released.fetch_add(1, Ordering::Relaxed);
                running(*id, false);
            }
            JobEvent::LeaseLost { id } => {
                self.lease_losses.fetch_add(1, Ordering::Relaxed);
                running(*id, false);
            }
        }
    }

    /// The Prometheus text exposition format.
    fn render(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let seconds = get(&self.encode_micros) as f64 / 1e6;
        let frames = get(&self.frames);
        let running = self.running.lock().map(|r| r.len()).unwrap_or(0);
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
            ));
        };
        let counters = [
            (
                "framekit_jobs_claimed_total",
                "Jobs this worker claimed.",
                get(&self.claimed),
            ),
            (
                "framekit_jobs_succeeded_total",
                "Jobs this worker published.",
                get(&self.succeeded),
            ),
            (
                "framekit_jobs_failed_total",
                "Jobs that failed for good on this worker.",
                get(&self.failed),
            ),
            (
                "framekit_jobs_retried_total",
                "Attempts that failed and will be retried.",
                get(&self.retried),
            ),
            (
                "framekit_jobs_released_total",
                "Jobs given back unfinished at shutdown.",
                get(&self.released),
            ),
            (
                "framekit_lease_losses_total",
                "Jobs another worker took over after this one's lease expired.",
                get(&self.lease_losses),
            ),
            (
                "framekit_frames_total",
                "Frames decoded by jobs that succeeded.",
                frames,
            ),
        ];
        for (name, help, value) in counters {
            metric(name, "counter", help, value.to_string());
        }
        metric(
            "framekit_encode_seconds_total",
            "counter",
            "Seconds spent on jobs that succeeded.",
            format!("{seconds:.3}"),
        );
        let fps = if seconds > 0.0 {
            frames as f64 / seconds
        } else {
            0.0
        };
        metric(
            "framekit_frames_per_second",
            "gauge",
            "Frames per second over the jobs that succeeded.",
            format!("{fps:.2}"),
        );
        metric(
            "framekit_jobs_running",
            "gauge",
            "Jobs running on this worker now.",
            running.to_string(),
        );
        out
    }
}

/// The most bytes of a request head (request line and headers) the metrics server reads: a
/// scrape sends a few hundred.
const METRICS_MAX_REQUEST: usize = 8 * 1024;

/// How long one metrics connection may take to send its request and read the answer, in all
/// (a client sending one byte every few seconds is cut off at this, not served for ever).
const METRICS_DEADLINE: Duration = Duration::from_secs(5);

/// Metrics connections served at once; more are closed at once.
const METRICS_MAX_CONNECTIONS: usize = 32;

/// Serves `GET /metrics` (anything else: 404) for the process's life, each connection on its
/// own thread (at most [`METRICS_MAX_CONNECTIONS`]), with its request bounded in size
/// ([`METRICS_MAX_REQUEST`]) and time ([`METRICS_DEADLINE`]): no client can hold up a scrape
/// for longer than that, or make the worker buffer more than that.
fn serve_metrics(address: SocketAddr, metrics: Arc<Metrics>) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind(address)
        .map_err(|e| anyhow::anyhow!("--metrics {address}: cannot listen: {e}"))?;
    let bound = listener.local_addr()?;
    let open = Arc::new(AtomicUsize::new(0));
    std::thread::Builder::new()
        .name("framekit-metrics".into())
        .spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else {
                    // Out of file descriptors or the like: let connections close first.
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                };
                if open.fetch_add(1, Ordering::SeqCst) >= METRICS_MAX_CONNECTIONS {
                    open.fetch_sub(1, Ordering::SeqCst);
                    continue;
                }
                let (metrics, done) = (metrics.clone(), open.clone());
                let spawned = std::thread::Builder::new()
                    .name("framekit-metrics-conn".into())
                    .spawn(move || {
                        answer_metrics(&stream, &metrics);
                        done.fetch_sub(1, Ordering::SeqCst);
                    });
                if spawned.is_err() {
                    open.fetch_sub(1, Ordering::SeqCst);
                }
            }
        })?;
    Ok(bound)
}

/// Reads one request head within the limits and answers it, then closes.
fn answer_metrics(stream: &TcpStream, metrics: &Metrics) {
    let deadline = Instant::now() + METRICS_DEADLINE;
    let (status, body) = match read_request_head(stream, deadline) {
        Ok(head) => {
            let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
            let line = String::from_utf8_lossy(line);
            let mut words = line.split_whitespace();
            let (method, target) = (words.next(), words.next().unwrap_or_default());
            let path = target.split('?').next().unwrap_or_default();
            if method == Some("GET") && path == "/metrics" {
                ("200 OK", metrics.render())
            } else {
                ("404 Not Found", "try /metrics\n".to_string())
            }
        }
        Err(Some(status)) => (status, format!("{status}\n")),
        Err(None) => return,
    };
    let left = deadline.saturating_duration_since(Instant::now());
    let _ = stream.set_write_timeout(Some(left.max(Duration::from_millis(100))));
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

/// The request head (up to the blank line after the headers, or all a client sent before
/// closing its side), at most [`METRICS_MAX_REQUEST`] bytes, by `deadline`. `Err(Some(status))`:
/// answer with that status; `Err(None)`: the connection failed, just close it.
fn read_request_head(
    mut stream: &TcpStream,
    deadline: Instant,
) -> Result<Vec<u8>, Option<&'static str>> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let ended =
            head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n");
        if ended {
            return Ok(head);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Some("408 Request Timeout"));
        }
        if stream.set_read_timeout(Some(left)).is_err() {
            return Err(None);
        }
        match stream.read(&mut chunk) {
            Ok(0) if head.contains(&b'\n') => return Ok(head),
            Ok(0) => return Err(None),
            Ok(n) => {
                head.extend_from_slice(&chunk[..n]);
                if head.len() > METRICS_MAX_REQUEST {
                    return Err(Some("431 Request Header Fields Too Large"));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(Some("408 Request Timeout"));
            }
            Err(_) => return Err(None),
        }
    }
}

fn init_logging(format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

fn log_event(event: &JobEvent) {
    match event {
        JobEvent::Started { id, input, attempt } => {
            tracing::info!(job = id, attempt, input = %shown(input), "started");
        }
        JobEvent::Progress { .. } => {}
        JobEvent::Succeeded {
            id,
            output,
            seconds,
            frames,
        } => {
            tracing::info!(job = id, output = %shown(output), seconds, frames, "succeeded");
        }
        JobEvent::Retrying { id, error, attempt } => {
            tracing::warn!(job = id, attempt, error = %printable(error), "attempt failed; will retry");
        }
        JobEvent::Failed { id, error } => {
            tracing::error!(job = id, error = %printable(error), "failed")
        }
        JobEvent::Released { id } => tracing::info!(job = id, "released unfinished (stopping)"),
        JobEvent::LeaseLost { id } => {
            tracing::warn!(
                job = id,
                "lease lost: the job was cancelled or another worker took it over; wrote nothing"
            )
        }
    }
}

pub fn worker(args: &WorkerArgs) -> anyhow::Result<()> {
    init_logging(args.log_format);
    let location = args.queue.location()?;
    let mut registry = location.open()?;
    let (host, pid) = (host_name(), std::process::id());
    let worker_id = registry.register_worker(&host, pid)?;
    let metrics = Arc::new(Metrics::default());
    if let Some(address) = args.metrics {
        let bound = serve_metrics(address, metrics.clone())?;
        tracing::info!(address = %bound, "serving metrics at /metrics");
    }
    tracing::info!(
        worker = worker_id,
        queue = %location,
        jobs = args.jobs,
        shard = ?args.shard.map(|s| format!("{}/{}", s.index, s.count)),
        once = args.once,
        "worker started"
    );

    // The registry row's heartbeat, on its own connection.
    let finished = Arc::new(AtomicBool::new(false));
    let beat = {
        let (finished, metrics) = (finished.clone(), metrics.clone());
        std::thread::Builder::new()
            .name("framekit-worker-beat".into())
            .spawn(move || {
                // Every 5 s, and at once when the jobs it runs change.
                let every = Duration::from_secs(5);
                let mut waited = Duration::ZERO;
                let mut reported = String::new();
                while !finished.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(100));
                    waited += Duration::from_millis(100);
                    let running = metrics.running_ids();
                    if waited < every && running == reported {
                        continue;
                    }
                    waited = Duration::ZERO;
                    let done = metrics.succeeded.load(Ordering::Relaxed) as i64;
                    match registry.worker_beat(worker_id, &running, done) {
                        Ok(()) => reported = running,
                        Err(e) => tracing::warn!(error = %e, "worker heartbeat failed"),
                    }
                }
                registry
            })?
    };

    let options = RunOptions {
        jobs: args.jobs,
        lease: args.lease.lease(),
        retry_delay: args.lease.retry_delay(),
        until: if args.once {
            RunUntil::NothingClaimable
        } else {
            RunUntil::Stopped
        },
        path_map: PathMap::new(args.map.clone()),
        ..RunOptions::default()
    };
    // First signal: stop claiming and let running jobs finish for `--grace`; then release
    // them. A second signal exits at once.
    let watch = {
        let (drain, stop, grace) = (
            options.drain.clone(),
            options.stop.clone(),
            Duration::from_secs(args.grace),
        );
        SignalWatch::install_with(move || {
            tracing::info!(
                grace_seconds = grace.as_secs(),
                "stopping: no new claims; finishing running jobs"
            );
            drain.store(true, Ordering::SeqCst);
            let _ = std::thread::Builder::new()
                .name("framekit-grace".into())
                .spawn(move || {
                    std::thread::sleep(grace);
                    stop.store(true, Ordering::SeqCst);
                });
        })
    };
    let filter = ClaimFilter {
        ids: Vec::new(),
        shard: args.shard,
    };
    let result = run_jobs(
        &location,
        &filter,
        &options,
        &CancelRequests::default(),
        &|event| {
            metrics.record(&event);
            log_event(&event);
        },
    );
    let signalled = watch.finish().is_err();
    finished.store(true, Ordering::SeqCst);
    if let Ok(mut registry) = beat.join() {
        let done = metrics.succeeded.load(Ordering::Relaxed) as i64;
        let _ = registry.worker_beat(worker_id, "", done);
        let _ = registry.worker_stopped(worker_id);
    }
    let summary = |c: &AtomicU64| c.load(Ordering::Relaxed);
    tracing::info!(
        succeeded = summary(&metrics.succeeded),
        failed = summary(&metrics.failed),
        retried = summary(&metrics.retried),
        released = summary(&metrics.released),
        lease_losses = summary(&metrics.lease_losses),
        signalled,
        "worker stopped"
    );
    result?;
    Ok(())
}
