//! The fleet's commands: `framekit worker` (a headless loop for servers: claims jobs from the
//! queue, encodes, publishes; registers itself, beats, serves Prometheus metrics, logs one
//! line per job event through `tracing`, text or JSON; the beat and the metrics server are
//! [`framekit::jobs::worker::service`]) and `framekit enqueue` (adds files to a
//! queue without running them).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use clap::{Args, ValueEnum};
use framekit::batch::{CancelRequests, JobEvent, PathMap, RunOptions, RunUntil, run_jobs};
use framekit::jobs::worker::parse_path_mapping;
use framekit::jobs::worker::service::{Metrics, RegistryBeat, serve_metrics};
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
        JobEvent::Cancelled { id } => tracing::info!(job = id, "cancelled"),
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
        let bound = serve_metrics(address, metrics.clone())
            .map_err(|e| anyhow::anyhow!("--metrics {e}"))?;
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
    let beat = RegistryBeat::spawn(registry, worker_id, metrics.clone())?;

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
    beat.finish();
    tracing::info!(
        succeeded = metrics.succeeded(),
        failed = metrics.failed(),
        retried = metrics.retried(),
        released = metrics.released(),
        lease_losses = metrics.lease_losses(),
        signalled,
        "worker stopped"
    );
    result?;
    Ok(())
}
