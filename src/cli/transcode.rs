//! `framekit transcode INPUT... [-o DIR] [--preset NAME] [--jobs N] [--force] [--queue Q]`:
//! enqueue and run here ([`TranscodeRun`]), with progress bars on a terminal and plain lines
//! otherwise.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::Args;
use framekit::batch::{
    self, DEFAULT_JOBS, JobEvent, MAX_JOBS, RunError, RunEvent, RunOptions, RunPlan, TranscodeRun,
};
use framekit::jobs::{Enqueued, JobStatus, QueueLocation};
use framekit::transcode::Preset;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::{printable, shown};

/// What to enqueue and how: the same flags on `transcode` and `enqueue`.
#[derive(Debug, Args)]
pub struct BatchArgs {
    /// Video files, or folders to walk for video files.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Output folder (default: beside each input).
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// default (source size, CRF 23), small (max 720p, CRF 28), hq (CRF 18, slow) or
    /// reference (1280x720, 753k video, 63k audio, 18 fps).
    #[arg(long, default_value = "default")]
    pub preset: String,
    /// Redo finished jobs and replace their outputs.
    #[arg(long)]
    pub force: bool,
    /// Cut inputs longer than this (60s, 2m, 90) at keyframes into segments, each its own
    /// job for any worker, joined by stream copy at the end (off by default).
    #[arg(long, value_name = "LENGTH", value_parser = segment_length)]
    pub segment: Option<Duration>,
}

/// `--segment`: a length such as `60s`, `2m`, `1.5m` or `90` (seconds), at least 1 s.
pub(super) fn segment_length(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let (number, unit) = match trimmed.strip_suffix('s') {
        Some(n) if !n.ends_with('m') => (n, 1.0),
        _ => match trimmed
            .strip_suffix("min")
            .or_else(|| trimmed.strip_suffix('m'))
        {
            Some(n) => (n, 60.0),
            None => match trimmed.strip_suffix('h') {
                Some(n) => (n, 3600.0),
                None => (trimmed, 1.0),
            },
        },
    };
    let seconds = number
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(|v| v * unit)
        .ok_or_else(|| format!("\"{text}\" is not a length: write 60s, 2m or 90"))?;
    if !(1.0..=86_400.0).contains(&seconds) {
        return Err(format!("{text}: a segment is 1 s to 24 h long"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

impl BatchArgs {
    /// Opens the queue, walks the inputs and enqueues every video found (the batch module's
    /// rules).
    pub(super) fn enqueue(
        &self,
        location: &QueueLocation,
    ) -> anyhow::Result<Vec<batch::EnqueuedFile>> {
        let preset: Preset = self.preset.parse()?;
        let mut queue = location.open()?;
        let inputs = batch::collect_inputs(&self.inputs)?;
        Ok(batch::enqueue_files(
            queue.as_mut(),
            &inputs,
            &preset,
            self.out.as_deref(),
            self.force,
            self.segment,
        )?)
    }
}

#[derive(Debug, Args)]
pub struct TranscodeArgs {
    #[command(flatten)]
    pub batch: BatchArgs,
    /// Files encoded at once, 1 to 64 (2 measured fastest on 2 cores; see README).
    #[arg(long, default_value_t = DEFAULT_JOBS, value_parser = jobs_in_range)]
    pub jobs: usize,
    #[command(flatten)]
    pub queue: QueueArg,
    #[command(flatten)]
    pub lease: LeaseArgs,
}

/// How long a claimed job is held and how soon a failed one is retried; `transcode` and
/// `worker` take the same two flags.
#[derive(Debug, Args)]
pub struct LeaseArgs {
    /// Lease length in seconds: a dead worker's job is claimed again after this.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub lease_seconds: u64,
    /// First retry delay in milliseconds (doubles per attempt).
    #[arg(long, default_value_t = 2000, value_name = "MS")]
    pub retry_ms: u64,
}

impl LeaseArgs {
    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_seconds.max(1))
    }

    pub fn retry_delay(&self) -> Duration {
        Duration::from_millis(self.retry_ms)
    }
}

/// `--jobs`: 1 to [`MAX_JOBS`], refused outside that with the range in the message.
pub(super) fn jobs_in_range(text: &str) -> Result<usize, String> {
    let jobs: usize = text
        .trim()
        .parse()
        .map_err(|_| format!("\"{text}\" is not a number of jobs"))?;
    if (1..=MAX_JOBS).contains(&jobs) {
        Ok(jobs)
    } else {
        Err(format!("{jobs} is outside 1..={MAX_JOBS}"))
    }
}

pub fn run(args: &TranscodeArgs) -> anyhow::Result<()> {
    let preset: Preset = args.batch.preset.parse()?;
    let mut plan = RunPlan::new(args.queue.location()?);
    plan.walk = args.batch.inputs.clone();
    plan.preset = preset;
    plan.out = args.batch.out.clone();
    plan.force = args.batch.force;
    plan.segment = args.batch.segment;
    plan.options = RunOptions {
        jobs: args.jobs,
        lease: args.lease.lease(),
        retry_delay: args.lease.retry_delay(),
        ..RunOptions::default()
    };
    run_with_progress(plan)
}

/// Runs `plan` ([`TranscodeRun`]: enqueue, then run) with progress bars on a terminal and
/// plain lines otherwise, then prints a summary. Ctrl-C stops the run (jobs resume next time).
pub(super) fn run_with_progress(plan: RunPlan) -> anyhow::Result<()> {
    let location = plan.queue.clone();
    let stop = plan.options.stop.clone();
    let run = TranscodeRun::spawn(plan, || {})?;
    let mut running = None;
    let mut ids = Vec::new();
    let result = loop {
        match run.recv() {
            RunEvent::Queued {
                enqueued,
                ids: queued,
                jobs,
            } => {
                for file in &enqueued {
                    if let Enqueued::Existing(_, JobStatus::Succeeded) = file.outcome {
                        eprintln!(
                            "already done: {} -> {} (use --force to redo)",
                            shown(&file.input),
                            shown(&file.output)
                        );
                    }
                }
                let ours = jobs.unwrap_or_default();
                // A segmented job is its parts to run and its join.
                let to_run: u64 = ours
                    .iter()
                    .filter(|j| j.status != JobStatus::Succeeded)
                    .map(|j| 1 + j.parts.map_or(0, |p| p.total.saturating_sub(p.done)))
                    .sum();
                let names: HashMap<i64, String> = ours
                    .into_iter()
                    .map(|j| (j.id, printable(&framekit::media::file_label(&j.input))))
                    .collect();
                let reporter = Reporter::new(to_run, names);
                let watch = super::signals::SignalWatch::install(stop.clone());
                running = Some((reporter, watch, Instant::now()));
                ids = queued;
            }
            RunEvent::Job(event) => {
                if let Some((reporter, _, _)) = &running {
                    reporter.event(event);
                }
            }
            RunEvent::Refused(..) | RunEvent::Taken(_) => {}
            RunEvent::Done(result) => break result,
        }
    };
    let Some((reporter, watch, started)) = running else {
        return Err(result.err().unwrap_or(RunError::Vanished).into());
    };
    reporter.finish();
    watch.finish()?;
    result?;

    let jobs = location.open()?.jobs_with_ids(&ids)?;
    println!("{:<10} {:>8}  {:<40} result", "status", "attempts", "input");
    for job in &jobs {
        let result = match job.status {
            JobStatus::Succeeded => shown(&job.output),
            _ => printable(job.last_error.as_deref().unwrap_or_default()),
        };
        println!(
            "{:<10} {:>8}  {:<40} {}",
            job.status.to_string(),
            job.attempts,
            shown(&job.input),
            result
        );
    }
    let failed = jobs
        .iter()
        .filter(|j| j.status != JobStatus::Succeeded)
        .count();
    println!(
        "{} succeeded, {failed} failed, {:.1} s",
        jobs.len() - failed,
        started.elapsed().as_secs_f64()
    );
    if failed > 0 {
        anyhow::bail!("{failed} of {} jobs failed", jobs.len());
    }
    Ok(())
}

/// Progress bars (terminal) or plain lines.
struct Reporter {
    bars: Option<(MultiProgress, ProgressBar)>,
    files: Mutex<HashMap<i64, ProgressBar>>,
    last_plain: Mutex<HashMap<i64, u32>>,
    names: HashMap<i64, String>,
}

impl Reporter {
    fn new(total: u64, names: HashMap<i64, String>) -> Reporter {
        let bars = std::io::stderr().is_terminal().then(|| {
            let multi = MultiProgress::new();
            let overall = multi.add(ProgressBar::new(total));
            overall.set_style(
                ProgressStyle::with_template(
                    "{prefix:>10} [{bar:30}] {pos}/{len} files  elapsed {elapsed}  eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            overall.set_prefix("overall");
            (multi, overall)
        });
        Reporter {
            bars,
            files: Mutex::new(HashMap::new()),
            last_plain: Mutex::new(HashMap::new()),
            names,
        }
    }

    fn name(&self, id: i64) -> String {
        self.names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("job {id}"))
    }

    fn event(&self, event: JobEvent) {
        let Ok(mut files) = self.files.lock() else {
            return;
        };
        match (&self.bars, event) {
            (Some((multi, _)), JobEvent::Started { id, attempt, .. }) => {
                let bar = multi.insert(0, ProgressBar::new(1000));
                bar.set_style(
                    ProgressStyle::with_template(
                        "{prefix:>10} [{bar:30}] {percent:>3}%  {msg}  eta {eta}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                bar.set_prefix(format!("#{id}"));
                let retry = if attempt > 1 {
                    format!(" (attempt {attempt})")
                } else {
                    String::new()
                };
                bar.set_message(format!("{}{retry}", self.name(id)));
                files.insert(id, bar);
            }
            (
                Some(_),
                JobEvent::Progress {
                    id,
                    fraction,
                    speed,
                },
            ) => {
                if let Some(bar) = files.get(&id) {
                    bar.set_position((fraction * 1000.0) as u64);
                    bar.set_message(format!("{} {speed:.2}x", self.name(id)));
                }
            }
            (
                Some((multi, overall)),
                JobEvent::Succeeded { id, .. }
                | JobEvent::Failed { id, .. }
                | JobEvent::Cancelled { id },
            ) => {
                if let Some(bar) = files.remove(&id) {
                    bar.finish_and_clear();
                    multi.remove(&bar);
                }
                overall.inc(1);
            }
            (Some((multi, _)), JobEvent::Retrying { id, error, .. }) => {
                if let Some(bar) = files.remove(&id) {
                    bar.finish_and_clear();
                    multi.remove(&bar);
                }
                let _ = multi.println(format!("retrying {}: {}", self.name(id), printable(&error)));
            }
            (Some(_), JobEvent::Released { .. }) => {}
            (Some((multi, _)), JobEvent::LeaseLost { id }) => {
                if let Some(bar) = files.remove(&id) {
                    bar.finish_and_clear();
                    multi.remove(&bar);
                }
                let _ = multi.println(format!(
                    "lease lost: {} was cancelled or is another worker's now",
                    self.name(id)
                ));
            }
            (None, event) => self.plain(event),
        }
    }

    fn plain(&self, event: JobEvent) {
        match event {
            JobEvent::Started { id, input, attempt } => {
                eprintln!("started   {} (job {id}, attempt {attempt})", shown(&input));
            }
            JobEvent::Progress {
                id,
                fraction,
                speed,
            } => {
                let step = (fraction * 10.0).floor() as u32;
                if let Ok(mut last) = self.last_plain.lock()
                    && last.get(&id).is_none_or(|s| step > *s)
                {
                    last.insert(id, step);
                    if step > 0 {
                        eprintln!(
                            "progress  {} {}% ({speed:.2}x realtime)",
                            self.name(id),
                            step * 10
                        );
                    }
                }
            }
            JobEvent::Succeeded {
                id,
                output,
                seconds,
                ..
            } => {
                eprintln!(
                    "done      {} -> {} in {seconds:.1} s",
                    self.name(id),
                    shown(&output)
                );
            }
            JobEvent::Retrying { id, error, attempt } => {
                eprintln!(
                    "retrying  {} after attempt {attempt}: {}",
                    self.name(id),
                    printable(&error)
                );
            }
            JobEvent::Failed { id, error } => {
                eprintln!("failed    {}: {}", self.name(id), printable(&error))
            }
            JobEvent::Cancelled { id } => eprintln!("cancelled {}", self.name(id)),
            JobEvent::Released { id } => {
                eprintln!("stopped   {} (resumes next run)", self.name(id))
            }
            JobEvent::LeaseLost { id } => {
                eprintln!(
                    "lease lost {}: cancelled, or another worker took it over",
                    self.name(id)
                )
            }
        }
    }

    fn finish(&self) {
        if let Some((_, overall)) = &self.bars {
            overall.finish_and_clear();
        }
    }
}

/// `--queue`: where the job table is. A file path or `sqlite:PATH` (one machine), or
/// `postgres://USER@HOST[:PORT]/DB` (a fleet); `$FRAMEKIT_QUEUE` when not given, else the
/// user's own queue in the data folder. Kept as text and read by [`QueueArg::location`], so a
/// refused value is reported by framekit, which never repeats a password (clap would print
/// the value as given, and `--help` the environment's).
#[derive(Debug, Clone, Args)]
pub struct QueueArg {
    /// Job table: a path, sqlite:PATH or postgres://USER@HOST/DB [default: the user's data folder]
    #[arg(
        long = "queue",
        value_name = "QUEUE",
        env = "FRAMEKIT_QUEUE",
        hide_env_values = true,
        global = true
    )]
    pub queue: Option<String>,
}

impl QueueArg {
    pub fn location(&self) -> Result<QueueLocation, framekit::jobs::JobError> {
        match &self.queue {
            Some(text) => QueueLocation::parse(text),
            None => Ok(QueueLocation::default_local()),
        }
    }
}
