//! `framekit transcode INPUT... [-o DIR] [--preset NAME] [--jobs N] [--force] [--queue PATH]`
//! and `framekit jobs [list|retry|clear]`.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use framekit::jobs::worker::{CancelRequests, JobEvent, RunOptions, run_jobs};
use framekit::jobs::{Enqueued, JobQueue, JobStatus, default_queue_path};
use framekit::transcode::Preset;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// File extensions picked up when walking a folder.
const VIDEO_EXTENSIONS: [&str; 16] = [
    "mp4", "m4v", "mov", "mkv", "webm", "avi", "mpg", "mpeg", "ts", "mts", "m2ts", "flv", "wmv",
    "3gp", "ogv", "mxf",
];

#[derive(Debug, Args)]
pub struct TranscodeArgs {
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
    /// Files encoded at once (2 measured fastest on 2 cores; see README).
    #[arg(long, default_value_t = framekit::jobs::worker::DEFAULT_JOBS)]
    pub jobs: usize,
    /// Redo finished jobs and replace their outputs.
    #[arg(long)]
    pub force: bool,
    /// Job table to use (default: the user's data folder).
    #[arg(long, value_name = "PATH")]
    pub queue: Option<PathBuf>,
    /// Lease length in seconds (a crashed worker's job is picked up after this).
    #[arg(long, default_value_t = 30, hide = true)]
    pub lease_seconds: u64,
    /// First retry delay in milliseconds (doubles per attempt).
    #[arg(long, default_value_t = 2000, hide = true)]
    pub retry_ms: u64,
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Show every job.
    List,
    /// Put failed jobs back to pending (all, or the given ids) and run them.
    Retry {
        ids: Vec<i64>,
        #[arg(long, default_value_t = framekit::jobs::worker::DEFAULT_JOBS)]
        jobs: usize,
    },
    /// Delete finished jobs (succeeded and failed); --all also deletes pending ones.
    Clear {
        #[arg(long)]
        all: bool,
    },
}

#[derive(Debug, Args)]
pub struct JobsArgs {
    #[command(subcommand)]
    pub command: Option<JobsCommand>,
    /// Job table to use (default: the user's data folder).
    #[arg(long, value_name = "PATH", global = true)]
    pub queue: Option<PathBuf>,
}

fn is_video(path: &Path) -> bool {
    let hidden = path
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'));
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    !hidden && ext.is_some_and(|e| VIDEO_EXTENSIONS.contains(&e.as_str()))
}

/// Files to transcode, each with the folder it was found under (for relative output paths).
fn collect_inputs(inputs: &[PathBuf]) -> anyhow::Result<Vec<(PathBuf, PathBuf)>> {
    let mut found = Vec::new();
    for input in inputs {
        let meta = std::fs::metadata(input)
            .with_context(|| format!("{}: cannot read", input.display()))?;
        if meta.is_dir() {
            let mut stack = vec![input.clone()];
            while let Some(dir) = stack.pop() {
                let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
                    .with_context(|| format!("{}: cannot list folder", dir.display()))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .collect();
                entries.sort();
                for path in entries {
                    if path.is_dir() {
                        stack.push(path);
                    } else if is_video(&path) {
                        found.push((path, input.clone()));
                    }
                }
            }
        } else {
            let parent = input.parent().map(Path::to_path_buf).unwrap_or_default();
            found.push((input.clone(), parent));
        }
    }
    Ok(found)
}

fn output_for(input: &Path, root: &Path, out: Option<&Path>) -> PathBuf {
    let stem = input
        .file_stem()
        .map_or("output".into(), |s| s.to_string_lossy().into_owned());
    let folder = match out {
        Some(dir) => {
            let relative = input
                .parent()
                .and_then(|p| p.strip_prefix(root).ok())
                .map(Path::to_path_buf)
                .unwrap_or_default();
            dir.join(relative)
        }
        None => input.parent().map(Path::to_path_buf).unwrap_or_default(),
    };
    let candidate = folder.join(format!("{stem}.mp4"));
    let same = std::fs::canonicalize(&candidate)
        .ok()
        .zip(std::fs::canonicalize(input).ok())
        .is_some_and(|(a, b)| a == b);
    if same {
        folder.join(format!("{stem}.framekit.mp4"))
    } else {
        candidate
    }
}

pub fn run(args: &TranscodeArgs) -> anyhow::Result<()> {
    let preset: Preset = args.preset.parse()?;
    let queue_path = args.queue.clone().unwrap_or_else(default_queue_path);
    let mut queue = JobQueue::open(&queue_path)?;
    let inputs = collect_inputs(&args.inputs)?;
    if inputs.is_empty() {
        anyhow::bail!(
            "no video files found in {}",
            args.inputs
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let mut ids = Vec::new();
    for (input, root) in &inputs {
        let output = output_for(input, root, args.out.as_deref());
        match queue.enqueue(input, preset.name, &output, args.force)? {
            Enqueued::Existing(id, JobStatus::Succeeded) => {
                eprintln!(
                    "already done: {} -> {} (use --force to redo)",
                    input.display(),
                    output.display()
                );
                ids.push(id);
            }
            other => ids.push(other.id()),
        }
    }
    let options = RunOptions {
        jobs: args.jobs.max(1),
        lease: Duration::from_secs(args.lease_seconds.max(1)),
        retry_delay: Duration::from_millis(args.retry_ms),
        ..RunOptions::default()
    };
    run_with_progress(&queue_path, &ids, &options)
}

/// Runs `ids` with progress bars on a terminal and plain lines otherwise, then prints a summary.
fn run_with_progress(queue_path: &Path, ids: &[i64], options: &RunOptions) -> anyhow::Result<()> {
    let queue = JobQueue::open(queue_path)?;
    let names: HashMap<i64, String> = queue
        .list()?
        .into_iter()
        .filter(|j| ids.contains(&j.id))
        .map(|j| {
            (
                j.id,
                j.input
                    .file_name()
                    .map_or(j.input.display().to_string(), |n| {
                        n.to_string_lossy().into_owned()
                    }),
            )
        })
        .collect();
    let to_run = queue
        .list()?
        .iter()
        .filter(|j| ids.contains(&j.id) && j.status != JobStatus::Succeeded)
        .count();
    let reporter = Reporter::new(to_run as u64, names);
    let started = Instant::now();
    run_jobs(
        queue_path,
        ids,
        options,
        &CancelRequests::default(),
        &|event| reporter.event(event),
    )?;
    reporter.finish();

    let jobs: Vec<_> = JobQueue::open(queue_path)?
        .list()?
        .into_iter()
        .filter(|j| ids.contains(&j.id))
        .collect();
    println!("{:<10} {:>8}  {:<40} result", "status", "attempts", "input");
    for job in &jobs {
        let result = match job.status {
            JobStatus::Succeeded => job.output.display().to_string(),
            _ => job.last_error.clone().unwrap_or_default(),
        };
        println!(
            "{:<10} {:>8}  {:<40} {}",
            job.status.to_string(),
            job.attempts,
            job.input.display(),
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
                JobEvent::Succeeded { id, .. } | JobEvent::Failed { id, .. },
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
                let _ = multi.println(format!("retrying {}: {error}", self.name(id)));
            }
            (Some(_), JobEvent::Released { .. }) => {}
            (None, event) => self.plain(event),
        }
    }

    fn plain(&self, event: JobEvent) {
        match event {
            JobEvent::Started { id, input, attempt } => {
                eprintln!(
                    "started   {} (job {id}, attempt {attempt})",
                    input.display()
                );
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
            } => {
                eprintln!(
                    "done      {} -> {} in {seconds:.1} s",
                    self.name(id),
                    output.display()
                );
            }
            JobEvent::Retrying { id, error, attempt } => {
                eprintln!(
                    "retrying  {} after attempt {attempt}: {error}",
                    self.name(id)
                );
            }
            JobEvent::Failed { id, error } => eprintln!("failed    {}: {error}", self.name(id)),
            JobEvent::Released { id } => {
                eprintln!("stopped   {} (resumes next run)", self.name(id))
            }
        }
    }

    fn finish(&self) {
        if let Some((_, overall)) = &self.bars {
            overall.finish_and_clear();
        }
    }
}

pub fn run_jobs_command(args: &JobsArgs) -> anyhow::Result<()> {
    let queue_path = args.queue.clone().unwrap_or_else(default_queue_path);
    let mut queue = JobQueue::open(&queue_path)?;
    match args.command.as_ref().unwrap_or(&JobsCommand::List) {
        JobsCommand::List => {
            let jobs = queue.list()?;
            if jobs.is_empty() {
                println!("no jobs in {}", queue_path.display());
            }
            println!(
                "{:>4}  {:<10} {:>8} {:>5}  {:<9}  {:<40} result",
                "id", "status", "attempts", "done", "preset", "input"
            );
            for job in jobs {
                let result = match job.status {
                    JobStatus::Succeeded => job.output.display().to_string(),
                    _ => job
                        .last_error
                        .clone()
                        .unwrap_or_else(|| job.output.display().to_string()),
                };
                println!(
                    "{:>4}  {:<10} {:>8} {:>4.0}%  {:<9}  {:<40} {}",
                    job.id,
                    job.status.to_string(),
                    job.attempts,
                    job.progress * 100.0,
                    job.preset,
                    job.input.display(),
                    result
                );
            }
            Ok(())
        }
        JobsCommand::Retry { ids, jobs } => {
            let count = queue.retry_failed(ids)?;
            println!("{count} failed job(s) back to pending");
            let pending: Vec<i64> = queue
                .list()?
                .iter()
                .filter(|j| {
                    j.status == JobStatus::Pending && (ids.is_empty() || ids.contains(&j.id))
                })
                .map(|j| j.id)
                .collect();
            if pending.is_empty() {
                return Ok(());
            }
            run_with_progress(
                &queue_path,
                &pending,
                &RunOptions {
                    jobs: (*jobs).max(1),
                    ..RunOptions::default()
                },
            )
        }
        JobsCommand::Clear { all } => {
            let count = queue.clear(*all)?;
            println!("removed {count} job(s)");
            Ok(())
        }
    }
}
