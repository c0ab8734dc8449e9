//! `framekit jobs [list|retry|cancel|workers|clear] [--queue Q] [--json]`: the job table on
//! either backend, for people and (with `--json`) for scripts.

use clap::{Args, Subcommand};
use framekit::batch::{DEFAULT_JOBS, RunOptions, RunPlan};
use framekit::jobs::{Job, JobPart, JobQuery, JobStatus, QueueLocation, WorkerRow, now_ms};

use super::transcode::{QueueArg, jobs_in_range, run_with_progress};
use super::{printable, shown};

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Show the jobs (with the worker running each), oldest first, and how many are in
    /// each state.
    List {
        /// One JSON array of jobs.
        #[arg(long)]
        json: bool,
        /// Only jobs in this state (repeat for several).
        #[arg(long, value_enum)]
        status: Vec<StatusArg>,
        /// At most N jobs (the counts still cover the whole queue).
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        /// Newest first.
        #[arg(long)]
        newest: bool,
    },
    /// How many jobs are pending, running, succeeded, failed and cancelled, counted by the
    /// database (cheap on a queue of millions).
    Summary {
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Put failed jobs back to pending (all, or the given ids, cancelled ones too); on a local
    /// queue, run them.
    Retry {
        ids: Vec<i64>,
        #[arg(long, default_value_t = DEFAULT_JOBS, value_parser = jobs_in_range)]
        jobs: usize,
        /// Only put them back; leave the running to workers.
        #[arg(long)]
        no_run: bool,
    },
    /// Cancel pending or running jobs (they become cancelled); a running job's worker stops at
    /// its next heartbeat.
    Cancel {
        #[arg(required = true)]
        ids: Vec<i64>,
    },
    /// Show the workers that registered with this queue, live and dead.
    Workers {
        /// One JSON array of workers.
        #[arg(long)]
        json: bool,
    },
    /// Delete finished jobs (succeeded, failed and cancelled); --all also deletes pending ones.
    Clear {
        #[arg(long)]
        all: bool,
    },
}

/// `--status`: a job state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusArg {
    Pending,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl StatusArg {
    fn status(self) -> JobStatus {
        match self {
            StatusArg::Pending => JobStatus::Pending,
            StatusArg::Running => JobStatus::Processing,
            StatusArg::Succeeded => JobStatus::Succeeded,
            StatusArg::Failed => JobStatus::Failed,
            StatusArg::Cancelled => JobStatus::Cancelled,
        }
    }
}

#[derive(Debug, Args)]
pub struct JobsArgs {
    #[command(subcommand)]
    pub command: Option<JobsCommand>,
    #[command(flatten)]
    pub queue: QueueArg,
}

pub fn run(args: &JobsArgs) -> anyhow::Result<()> {
    let location = args.queue.location()?;
    let list = JobsCommand::List {
        json: false,
        status: Vec::new(),
        limit: None,
        newest: false,
    };
    let command = args.command.as_ref().unwrap_or(&list);
    // Showing the queue writes nothing, so read access to it is enough.
    let read_only = matches!(
        command,
        JobsCommand::List { .. } | JobsCommand::Summary { .. } | JobsCommand::Workers { .. }
    );
    let mut queue = if read_only {
        location.open_read_only()?
    } else {
        location.open()?
    };
    match command {
        JobsCommand::List {
            json,
            status,
            limit,
            newest,
        } => {
            let query = JobQuery {
                statuses: status.iter().map(|s| s.status()).collect(),
                limit: *limit,
                newest_first: *newest,
                ..JobQuery::default()
            };
            let jobs = queue.query(&query)?;
            if *json {
                println!("{}", serde_json::to_string(&jobs)?);
            } else {
                let counts = queue.counts()?;
                print_jobs(&location, &jobs);
                if counts.total() > 0 {
                    println!("{counts} (shown: {})", jobs.len());
                }
            }
            Ok(())
        }
        JobsCommand::Summary { json } => {
            let counts = queue.counts()?;
            if *json {
                println!("{}", serde_json::to_string(&counts)?);
            } else {
                println!("{location}: {counts}");
            }
            Ok(())
        }
        JobsCommand::Retry { ids, jobs, no_run } => {
            let count = queue.retry_failed(ids)?;
            println!("{count} failed job(s) back to pending");
            let pending: Vec<i64> = queue
                .query(&JobQuery {
                    statuses: vec![JobStatus::Pending],
                    ..JobQuery::ids(ids)
                })?
                .iter()
                .map(|j| j.id)
                .collect();
            // A fleet's jobs are run by its workers, not by the machine that retried them.
            if pending.is_empty() || *no_run || matches!(location, QueueLocation::Postgres(_)) {
                return Ok(());
            }
            let mut plan = RunPlan::new(location.clone());
            plan.ids = pending;
            plan.options = RunOptions {
                jobs: *jobs,
                ..RunOptions::default()
            };
            run_with_progress(plan)
        }
        JobsCommand::Cancel { ids } => {
            let count = queue.cancel_ids(ids)?;
            println!("cancelled {count} job(s)");
            if count < ids.len() {
                eprintln!(
                    "framekit: {} of the ids were not pending or running",
                    ids.len() - count
                );
            }
            Ok(())
        }
        JobsCommand::Workers { json } => {
            let workers = queue.workers()?;
            if *json {
                println!("{}", serde_json::to_string(&workers)?);
            } else {
                print_workers(&location, &workers);
            }
            Ok(())
        }
        JobsCommand::Clear { all } => {
            let count = queue.clear(*all)?;
            println!("removed {count} job(s)");
            Ok(())
        }
    }
}

fn print_jobs(location: &QueueLocation, jobs: &[Job]) {
    if jobs.is_empty() {
        println!("no jobs in {location}");
        return;
    }
    println!(
        "{:>4}  {:<10} {:>8} {:>5}  {:<9}  {:<20}  {:<40} result",
        "id", "status", "attempts", "done", "preset", "worker", "input"
    );
    for job in jobs {
        let result = match (job.status, &job.last_error) {
            (JobStatus::Succeeded, _) | (_, None) => shown(&job.output),
            (_, Some(error)) => printable(error),
        };
        let worker = match job.status {
            JobStatus::Processing => printable(job.lease_owner.as_deref().unwrap_or_default()),
            _ => String::new(),
        };
        // A segmented job's progress is its parts done; a part names its job.
        let done = match job.parts {
            Some(parts) => format!("{}/{}", parts.done, parts.total),
            None => format!("{:.0}%", job.progress * 100.0),
        };
        let input = match (job.parent, job.part) {
            (Some(parent), Some(JobPart::Segment { .. })) => {
                format!("{} (segment of #{parent})", shown(&job.input))
            }
            (Some(parent), Some(_)) => format!("{} (audio of #{parent})", shown(&job.input)),
            _ => shown(&job.input),
        };
        println!(
            "{:>4}  {:<10} {:>8} {:>5}  {:<9}  {:<20}  {:<40} {}",
            job.id,
            job.status.to_string(),
            job.attempts,
            done,
            printable(&job.preset),
            worker,
            input,
            result
        );
    }
}

fn print_workers(location: &QueueLocation, workers: &[WorkerRow]) {
    if workers.is_empty() {
        println!("no workers have registered with {location}");
        return;
    }
    let now = now_ms();
    let ago = |ms: i64| format!("{:.0} s ago", (now - ms).max(0) as f64 / 1000.0);
    println!(
        "{:>4}  {:<6} {:<24} {:>8}  {:<8}  {:<14} {:<14} {:>5}  running",
        "id", "state", "host", "pid", "version", "started", "heartbeat", "done"
    );
    for worker in workers {
        let state = match (worker.alive, worker.stopped_at) {
            (true, _) => "live",
            (false, Some(_)) => "exited",
            (false, None) => "dead",
        };
        println!(
            "{:>4}  {:<6} {:<24} {:>8}  {:<8}  {:<14} {:<14} {:>5}  {}",
            worker.id,
            state,
            printable(&worker.host),
            worker.pid,
            printable(&worker.version),
            ago(worker.started_at),
            ago(worker.last_heartbeat),
            worker.jobs_done,
            printable(&worker.running)
        );
    }
}
