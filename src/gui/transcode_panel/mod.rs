//! The transcode panel: files staged for MP4 conversion, preset and output folder, then the
//! queue with per-file progress, speed, ETA and status; cancel one or all, retry failed, open
//! the output folder. All work runs in library handles on background threads: a
//! [`TranscodeRun`] enqueues and runs (its `JobEvent`s become rows), [`scan_unfinished`] finds
//! what an earlier run left, [`check_inputs`] checks added paths; the panel only draws. Stopping
//! the app releases running jobs so they resume next time. With a fleet queue set (a
//! `postgres://` URL, or a shared `sqlite:PATH` served by `framekit worker` processes), Start
//! only enqueues there and a [`FleetWatch`] shows the fleet's jobs: progress and the worker
//! (`host:pid`) running each. What the panel needs from the app (a file dialog, a compare)
//! comes back from [`TranscodePanel::apply`] as [`Command`]s.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, unbounded};

use super::command::Command;
use super::compare_view::CompareCommand;
use super::dialogs::PathPurpose;
use crate::batch::inputs::{Refusal, check_inputs};
use crate::batch::{
    self, CancelRequests, InputFile, JobEvent, Refusals, RunEvent, RunOptions, RunPlan,
    TranscodeRun,
};
use crate::jobs::watch::{FleetWatch, WatchEvent, scan_unfinished};
use crate::jobs::{Job, JobError, JobStatus, QueueLocation, StatusCounts};
use crate::transcode::Preset;

pub use crate::jobs::watch::FLEET_NEWEST_ROWS;

mod ui;

/// One file in the panel.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: i64,
    pub input: PathBuf,
    pub output: PathBuf,
    pub status: JobStatus,
    pub fraction: f64,
    pub speed: f64,
    pub started: Option<Instant>,
    pub message: Option<String>,
    /// The worker (`host:pid`) running it, when it runs on a fleet.
    pub worker: Option<String>,
}

impl Row {
    fn from_job(job: crate::jobs::Job) -> Row {
        Row {
            id: job.id,
            worker: job
                .lease_owner
                .filter(|_| job.status == JobStatus::Processing),
            input: job.input,
            output: job.output,
            status: job.status,
            fraction: job.progress,
            speed: 0.0,
            started: None,
            message: job.last_error.filter(|_| job.status == JobStatus::Failed),
        }
    }
}

impl Row {
    /// A job just enqueued, as the panel shows it before the table is read back.
    fn enqueued(file: &batch::EnqueuedFile) -> Row {
        let status = match file.outcome {
            crate::jobs::Enqueued::Existing(_, status) => status,
            _ => JobStatus::Pending,
        };
        Row {
            id: file.outcome.id(),
            input: file.input.clone(),
            output: file.output.clone(),
            status,
            fraction: 0.0,
            speed: 0.0,
            started: None,
            message: None,
            worker: None,
        }
    }

    /// Seconds left, from progress so far.
    pub fn eta_seconds(&self) -> Option<f64> {
        let started = self.started?;
        (self.fraction > 0.02 && self.status == JobStatus::Processing)
            .then(|| started.elapsed().as_secs_f64() * (1.0 - self.fraction) / self.fraction)
    }
}

/// Messages from the panel's own helper threads (checking added paths, opening a folder).
enum PanelEvent {
    /// Added paths checked off the UI thread: the files to stage (folders walked as the CLI
    /// walks them) and the paths refused, each with why.
    Checked {
        accepted: Vec<InputFile>,
        refused: Vec<(PathBuf, Refusal)>,
    },
    /// The output folder could not be shown.
    CannotOpenFolder(OpenFolderError),
}

/// Why the output folder could not be shown in the system's file manager.
#[derive(Debug, thiserror::Error)]
pub enum OpenFolderError {
    #[error(
        "cannot open the output folder {}: {program} failed ({status}); open it in your file manager",
        folder.display()
    )]
    Failed {
        folder: PathBuf,
        program: &'static str,
        status: std::process::ExitStatus,
    },
    #[error(
        "cannot open the output folder {}: {program} is not available ({source}); open it in your file manager",
        folder.display()
    )]
    Unavailable {
        folder: PathBuf,
        program: &'static str,
        source: std::io::Error,
    },
}

/// What the user asked the panel to do.
#[derive(Debug, Clone, PartialEq)]
pub enum PanelCommand {
    AddFiles(Vec<PathBuf>),
    PickFiles,
    /// Add a folder (walked for videos).
    PickFolder,
    PickOutputFolder,
    Start,
    Cancel(i64),
    CancelAll,
    RetryFailed,
    ResumeUnfinished,
    /// Not now: hide the start-up offer to resume unfinished jobs.
    NotNow,
    /// Forget the refused files' messages.
    ClearRefused,
    OpenOutputFolder,
    /// Write outputs into this folder (`None`: beside each input).
    SetOutputFolder(Option<PathBuf>),
    Clear,
    /// Send work to a fleet queue (a URL or `sqlite:PATH`), or run here (`None`).
    SetFleetQueue(Option<String>),
    /// Open a finished job's source as A and its output as B in the viewer.
    CompareWithSource(i64),
}

/// The panel's state.
pub struct TranscodePanel {
    open: bool,
    queue: QueueLocation,
    staged: Vec<InputFile>,
    /// Added paths being checked on a background thread.
    checking: usize,
    /// Paths refused (missing, not a video, a folder without videos), each with why.
    refused: Vec<(PathBuf, String)>,
    preset: Preset,
    /// `None`: beside each input.
    output_dir: Option<PathBuf>,
    rows: BTreeMap<i64, Row>,
    error: Option<String>,
    /// Unfinished jobs found at start-up, offered for resuming.
    unfinished: Vec<i64>,
    /// The start-up offer to resume them is showing.
    offer_resume: bool,
    /// The panel's own helper threads' messages.
    events: Receiver<PanelEvent>,
    sender: Sender<PanelEvent>,
    /// The run on this machine (the last one started).
    run: Option<TranscodeRun>,
    /// Enqueue-only runs sending files to the fleet queue.
    fleet_enqueues: Vec<TranscodeRun>,
    /// The start-up scan for unfinished jobs, until it answers.
    scan: Option<Receiver<Result<Vec<Job>, JobError>>>,
    stop: Arc<AtomicBool>,
    cancels: CancelRequests,
    running: bool,
    wake: Option<egui::Context>,
    /// Where Start sends files when work runs on a fleet (`None`: run here).
    fleet: Option<QueueLocation>,
    /// The fleet queue field as typed.
    fleet_text: String,
    /// Watches the fleet queue (and runs cancels and retries on it).
    fleet_watch: Option<FleetWatch>,
    /// Finished fleet jobs the user cleared from the panel (they stay in the shared queue).
    fleet_hidden: std::collections::HashSet<i64>,
    /// The fleet queue's counts by state, from the watcher.
    fleet_counts: Option<StatusCounts>,
}

impl Default for TranscodePanel {
    fn default() -> Self {
        TranscodePanel::new(QueueLocation::default_local())
    }
}

impl TranscodePanel {
    pub fn new(queue: QueueLocation) -> TranscodePanel {
        let (sender, events) = unbounded();
        TranscodePanel {
            open: false,
            queue,
            staged: Vec::new(),
            checking: 0,
            refused: Vec::new(),
            preset: Preset::DEFAULT,
            output_dir: None,
            rows: BTreeMap::new(),
            error: None,
            unfinished: Vec::new(),
            offer_resume: false,
            events,
            sender,
            run: None,
            fleet_enqueues: Vec::new(),
            scan: None,
            stop: Arc::new(AtomicBool::new(false)),
            cancels: CancelRequests::default(),
            running: false,
            wake: None,
            fleet: None,
            fleet_text: String::new(),
            fleet_watch: None,
            fleet_hidden: std::collections::HashSet::new(),
            fleet_counts: None,
        }
    }

    /// The fleet queue Start sends files to (`None`: this machine runs them).
    pub fn fleet(&self) -> Option<&QueueLocation> {
        self.fleet.as_ref()
    }

    pub fn is_running(&self) -> bool {
        self.running
    }

    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Files dropped or added (folders walked), checked and waiting for Start.
    pub fn staged(&self) -> &[InputFile] {
        &self.staged
    }

    /// Added paths refused, each with why.
    pub fn refused(&self) -> &[(PathBuf, String)] {
        &self.refused
    }

    /// Whether added paths are still being checked.
    pub fn is_checking(&self) -> bool {
        self.checking > 0
    }

    /// Jobs an earlier run left unfinished, offered for resuming.
    pub fn unfinished(&self) -> &[i64] {
        &self.unfinished
    }

    /// Where outputs go (`None`: beside each input).
    pub fn output_dir(&self) -> Option<&Path> {
        self.output_dir.as_deref()
    }

    /// Whether files sent to the fleet are still being enqueued.
    pub fn is_enqueuing(&self) -> bool {
        !self.fleet_enqueues.is_empty()
    }

    /// The fleet queue's counts by state, as the watcher last read them.
    pub fn fleet_counts(&self) -> Option<StatusCounts> {
        self.fleet_counts
    }

    /// The jobs the panel shows, by id.
    pub fn rows(&self) -> &BTreeMap<i64, Row> {
        &self.rows
    }

    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Called after each message of a background thread: the UI draws it.
    fn waker(ctx: &egui::Context) -> impl Fn() + Send + Sync + 'static {
        let repaint = ctx.clone();
        move || repaint.request_repaint()
    }

    /// Looks for jobs an earlier run left unfinished (on a background thread).
    pub fn scan_unfinished(&mut self, ctx: &egui::Context) {
        self.wake = Some(ctx.clone());
        self.scan = Some(scan_unfinished(self.queue.clone(), Self::waker(ctx)));
    }

    /// Reads what the background threads reported.
    pub fn drain(&mut self) {
        let received: Vec<PanelEvent> = self.events.try_iter().collect();
        for event in received {
            match event {
                PanelEvent::Checked { accepted, refused } => {
                    self.checking = self.checking.saturating_sub(1);
                    for file in accepted {
                        if !self.staged.iter().any(|s| s.path == file.path) {
                            self.staged.push(file);
                        }
                    }
                    for (path, why) in refused {
                        self.refuse(path, why.to_string());
                    }
                }
                PanelEvent::CannotOpenFolder(e) => self.error = Some(e.to_string()),
            }
        }
        if let Some(scan) = &self.scan
            && let Ok(found) = scan.try_recv()
        {
            self.scan = None;
            // A queue that cannot be read has nothing to offer; Start says why later.
            self.offer_unfinished(found.unwrap_or_default());
        }
        let received: Vec<RunEvent> = self
            .run
            .as_ref()
            .map(|run| run.events().try_iter().collect())
            .unwrap_or_default();
        for event in received {
            self.run_event(event);
        }
        let mut fleet_events = Vec::new();
        self.fleet_enqueues.retain(|run| {
            let mut done = false;
            for event in run.events().try_iter() {
                done |= matches!(event, RunEvent::Done(_));
                fleet_events.push(event);
            }
            !done
        });
        for event in fleet_events {
            self.fleet_enqueue_event(event);
        }
        let received: Vec<WatchEvent> = self
            .fleet_watch
            .as_ref()
            .map(|watch| watch.events().try_iter().collect())
            .unwrap_or_default();
        for event in received {
            self.watch_event(event);
        }
    }

    fn refuse(&mut self, path: PathBuf, why: String) {
        self.refused.retain(|(p, _)| p != &path);
        self.refused.push((path, why));
    }

    /// The start-up scan's jobs, offered for resuming.
    fn offer_unfinished(&mut self, jobs: Vec<Job>) {
        let rows: Vec<Row> = jobs
            .into_iter()
            .filter(|j| matches!(j.status, JobStatus::Pending | JobStatus::Processing))
            .map(|j| Row {
                status: JobStatus::Pending,
                worker: None,
                message: Some("unfinished from an earlier run".to_string()),
                ..Row::from_job(j)
            })
            .collect();
        if rows.is_empty() {
            return;
        }
        for row in rows {
            if !self.unfinished.contains(&row.id) {
                self.unfinished.push(row.id);
            }
            self.rows.entry(row.id).or_insert(row);
        }
        // Offered at start-up: the panel opens on the offer.
        self.offer_resume = !self.unfinished.is_empty();
        self.open |= self.offer_resume;
    }

    /// What the run on this machine reported.
    fn run_event(&mut self, event: RunEvent) {
        match event {
            RunEvent::Refused(path, why) => self.refuse(path, why.to_string()),
            RunEvent::Taken(paths) => self.staged.retain(|f| !paths.contains(&f.path)),
            RunEvent::Queued { enqueued, jobs, .. } => {
                // Every job this run may claim is shown, even when the table cannot be read
                // back: then the rows come from what was enqueued.
                let rows: Vec<Row> = match jobs {
                    Some(jobs) => jobs
                        .into_iter()
                        .map(|j| Row {
                            worker: None,
                            ..Row::from_job(j)
                        })
                        .collect(),
                    None => enqueued.iter().map(Row::enqueued).collect(),
                };
                for row in rows {
                    self.rows.insert(row.id, row);
                }
            }
            RunEvent::Job(event) => self.apply_event(event),
            RunEvent::Done(Ok(())) => self.running = false,
            RunEvent::Done(Err(e)) => {
                self.error = Some(e.to_string());
                self.running = false;
            }
        }
    }

    /// What an enqueue-only run on the fleet queue reported (the watch shows the jobs).
    fn fleet_enqueue_event(&mut self, event: RunEvent) {
        match event {
            RunEvent::Refused(path, why) => self.refuse(path, why.to_string()),
            RunEvent::Taken(paths) => self.staged.retain(|f| !paths.contains(&f.path)),
            RunEvent::Done(Err(e)) => self.error = Some(e.to_string()),
            RunEvent::Queued { .. } | RunEvent::Job(_) | RunEvent::Done(Ok(())) => {}
        }
    }

    fn watch_event(&mut self, event: WatchEvent) {
        match event {
            WatchEvent::Jobs { jobs, counts } => {
                if self.fleet.is_some() {
                    self.fleet_counts = Some(counts);
                    self.rows = jobs
                        .into_iter()
                        .map(Row::from_job)
                        .filter(|r| !self.fleet_hidden.contains(&r.id))
                        .map(|r| (r.id, r))
                        .collect();
                }
            }
            WatchEvent::Problem(e) => self.error = Some(e.to_string()),
        }
    }

    fn apply_event(&mut self, event: JobEvent) {
        match event {
            JobEvent::Started { id, attempt, .. } => {
                if let Some(row) = self.rows.get_mut(&id) {
                    row.status = JobStatus::Processing;
                    row.fraction = 0.0;
                    row.speed = 0.0;
                    row.started = Some(Instant::now());
                    row.message = (attempt > 1).then(|| format!("attempt {attempt}"));
                }
            }
            JobEvent::Progress {
                id,
                fraction,
                speed,
            } => {
                if let Some(row) = self.rows.get_mut(&id) {
                    row.fraction = fraction;
                    row.speed = speed;
                }
            }
            JobEvent::Succeeded {
                id,
                output,
                seconds,
                ..
            } => {
                if let Some(row) = self.rows.get_mut(&id) {
                    row.status = JobStatus::Succeeded;
                    row.fraction = 1.0;
                    row.output = output;
                    row.message = Some(format!("done in {seconds:.1} s"));
                }
            }
            JobEvent::Retrying { id, error, .. } => {
                if let Some(row) = self.rows.get_mut(&id) {
                    row.status = JobStatus::Pending;
                    row.message = Some(format!("will retry: {error}"));
                }
            }
            JobEvent::Failed { id, error } => {
                if let Some(row) = self.rows.get_mut(&id) {
                    row.status = JobStatus::Failed;
                    row.message = Some(error);
                }
            }
            JobEvent::Cancelled { id } => {
                if let Some(row) = self.rows.get_mut(&id) {
                    row.status = JobStatus::Cancelled;
                    row.message = None;
                }
            }
            JobEvent::Released { id } => {
                if let Some(row) = self.rows.get_mut(&id) {
                    row.status = JobStatus::Pending;
                    row.message = Some("stopped; resumes next time".to_string());
                }
            }
            JobEvent::LeaseLost { id } => {
                if let Some(row) = self.rows.get_mut(&id) {
                    row.message = Some("taken over by another worker".to_string());
                }
            }
        }
    }

    /// A plan on `queue` with the panel's preset and output folder: the same rules as
    /// `framekit transcode`, except that a file the queue refuses never costs the others.
    fn plan(&self, queue: QueueLocation, files: Vec<InputFile>) -> RunPlan {
        let mut plan = RunPlan::new(queue);
        plan.files = files;
        plan.preset = self.preset;
        plan.out = self.output_dir.clone();
        plan.refusals = Refusals::Report;
        plan.options = RunOptions {
            stop: self.stop.clone(),
            ..RunOptions::default()
        };
        plan.cancels = self.cancels.clone();
        plan
    }

    /// Starts a run here: enqueue `files` (if any), then run `ids` plus the new jobs.
    fn spawn_run(
        &mut self,
        ctx: &egui::Context,
        files: Vec<InputFile>,
        ids: Vec<i64>,
        retry_failed: bool,
    ) {
        let mut plan = self.plan(self.queue.clone(), files);
        plan.ids = ids;
        plan.retry_failed = retry_failed;
        self.error = None;
        match TranscodeRun::spawn(plan, Self::waker(ctx)) {
            Ok(run) => {
                self.run = Some(run);
                self.running = true;
            }
            Err(e) => {
                self.running = false;
                self.error = Some(e.to_string());
            }
        }
    }

    /// Releases running jobs so they resume next time (the app is closing).
    pub fn stop_all(&self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(watch) = &self.fleet_watch {
            watch.stop();
        }
    }

    /// Applies what the user asked for; what the app must do for the panel (a file dialog,
    /// opening a compare) comes back as a command.
    pub fn apply(&mut self, ctx: &egui::Context, command: PanelCommand) -> Option<Command> {
        self.wake = Some(ctx.clone());
        match command {
            PanelCommand::AddFiles(files) => {
                self.open = true;
                self.check_and_stage(ctx, files);
            }
            PanelCommand::PickFiles => return Some(Command::AskPath(PathPurpose::AddFiles)),
            PanelCommand::PickFolder => return Some(Command::AskPath(PathPurpose::AddFolder)),
            PanelCommand::CompareWithSource(id) => {
                return self.rows.get(&id).map(|row| {
                    Command::Compare(CompareCommand::WithSource {
                        source: row.input.clone(),
                        output: row.output.clone(),
                    })
                });
            }
            PanelCommand::PickOutputFolder => {
                return Some(Command::AskPath(PathPurpose::OutputFolder));
            }
            PanelCommand::Start => self.start(ctx),
            PanelCommand::Cancel(id) => match &self.fleet_watch {
                Some(watch) if self.fleet.is_some() => watch.cancel(id),
                _ => self.cancels.cancel(id),
            },
            PanelCommand::CancelAll => {
                for (id, row) in &self.rows {
                    if matches!(row.status, JobStatus::Pending | JobStatus::Processing) {
                        self.cancels.cancel(*id);
                    }
                }
            }
            PanelCommand::RetryFailed => self.retry_failed(ctx),
            PanelCommand::ResumeUnfinished => {
                self.offer_resume = false;
                let ids = std::mem::take(&mut self.unfinished);
                if !ids.is_empty() && !self.running {
                    self.spawn_run(ctx, Vec::new(), ids, false);
                }
            }
            PanelCommand::OpenOutputFolder => {
                let folder = self.output_dir.clone().or_else(|| {
                    self.rows
                        .values()
                        .next_back()
                        .and_then(|r| r.output.parent().map(Path::to_path_buf))
                });
                match folder {
                    Some(folder) => open_folder(folder, self.sender.clone(), ctx.clone()),
                    None => {
                        self.error =
                            Some("no output folder yet: choose one or run a transcode".to_string())
                    }
                }
            }
            PanelCommand::SetOutputFolder(folder) => self.output_dir = folder,
            PanelCommand::NotNow => self.offer_resume = false,
            PanelCommand::ClearRefused => self.refused.clear(),
            PanelCommand::SetFleetQueue(None) => {
                self.fleet_watch = None;
                self.fleet = None;
                self.fleet_counts = None;
                self.fleet_text.clear();
                self.rows.clear();
                self.error = None;
            }
            PanelCommand::SetFleetQueue(Some(text)) => match QueueLocation::parse(text.trim()) {
                Ok(fleet) => {
                    self.fleet_text = text.trim().to_string();
                    self.fleet = Some(fleet.clone());
                    self.rows.clear();
                    self.error = None;
                    // The old watch stops as it is dropped.
                    self.fleet_watch = None;
                    match FleetWatch::spawn(fleet, Self::waker(ctx)) {
                        Ok(watch) => self.fleet_watch = Some(watch),
                        Err(e) => self.error = Some(format!("cannot watch the fleet queue: {e}")),
                    }
                }
                Err(e) => self.error = Some(e.to_string()),
            },
            PanelCommand::Clear => {
                // On a fleet the jobs stay in the shared queue; the panel stops showing them.
                self.fleet_hidden.extend(
                    self.rows
                        .values()
                        .filter(|r| r.status.is_finished())
                        .map(|r| r.id),
                );
                self.rows
                    .retain(|_, r| matches!(r.status, JobStatus::Pending | JobStatus::Processing));
            }
        }
        None
    }

    /// Start: the staged files go to the fleet queue (enqueue only) or run here. Staged files
    /// stay staged until the run has enqueued (or refused) them.
    fn start(&mut self, ctx: &egui::Context) {
        if self.running {
            self.error = Some("a batch is already running; wait for it or cancel it".to_string());
            return;
        }
        let files = self.staged.clone();
        if files.is_empty() {
            self.error =
                Some("add video files first (drop them here or use Add files…)".to_string());
            return;
        }
        match self.fleet.clone() {
            Some(fleet) => {
                self.error = None;
                let mut plan = self.plan(fleet, files);
                plan.run_here = false;
                match TranscodeRun::spawn(plan, Self::waker(ctx)) {
                    Ok(run) => self.fleet_enqueues.push(run),
                    Err(e) => self.error = Some(e.to_string()),
                }
            }
            None => self.spawn_run(ctx, files, Vec::new(), false),
        }
    }

    /// Retry failed (and cancelled) jobs: on a fleet, the watch puts them back to pending;
    /// here, a new run.
    fn retry_failed(&mut self, ctx: &egui::Context) {
        let failed: Vec<i64> = self
            .rows
            .values()
            .filter(|r| r.status.can_retry())
            .map(|r| r.id)
            .collect();
        if self.fleet.is_some() {
            if let Some(watch) = &self.fleet_watch {
                watch.retry_failed(failed);
            }
        } else if !failed.is_empty() && !self.running {
            self.cancels = CancelRequests::default();
            // The rows say at once that they are queued again, not what they were.
            for id in &failed {
                if let Some(row) = self.rows.get_mut(id) {
                    row.status = JobStatus::Pending;
                    row.fraction = 0.0;
                    row.message = Some("queued again".to_string());
                }
            }
            self.spawn_run(ctx, Vec::new(), failed, true);
        }
    }

    /// Checks added paths on a background thread (the UI thread never touches the disk):
    /// files must exist and be videos, folders are walked as `framekit transcode` walks them.
    fn check_and_stage(&mut self, ctx: &egui::Context, paths: Vec<PathBuf>) {
        if paths.is_empty() {
            return;
        }
        let tx = self.sender.clone();
        let repaint = ctx.clone();
        self.checking += 1;
        let spawned = std::thread::Builder::new()
            .name("framekit-check-inputs".into())
            .spawn(move || {
                let (accepted, refused) = check_inputs(&paths);
                let _ = tx.send(PanelEvent::Checked { accepted, refused });
                repaint.request_repaint();
            });
        if let Err(e) = spawned {
            self.checking -= 1;
            self.error = Some(format!("cannot check the files: {e}"));
        }
    }

    /// The background threads' notes, read once per frame.
    pub fn logic(&mut self) {
        self.drain();
        if let Some(ctx) = &self.wake
            && (self.running || self.fleet.is_some())
        {
            ctx.request_repaint_after(std::time::Duration::from_millis(250));
        }
    }
}

/// Opens a folder in the system's file manager (a separate program; never FFmpeg), on its own
/// thread; when that cannot be done, the panel says so and names the folder.
fn open_folder(folder: PathBuf, events: Sender<PanelEvent>, wake: egui::Context) {
    let program = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(target_os = "windows") {
        "explorer"
    } else {
        "xdg-open"
    };
    let _ = std::thread::Builder::new()
        .name("framekit-open-folder".into())
        .spawn(move || {
            let problem = match std::process::Command::new(program)
                .arg(&folder)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
            {
                Ok(status) if status.success() => None,
                Ok(status) => Some(OpenFolderError::Failed {
                    folder,
                    program,
                    status,
                }),
                Err(source) => Some(OpenFolderError::Unavailable {
                    folder,
                    program,
                    source,
                }),
            };
            if let Some(problem) = problem {
                let _ = events.send(PanelEvent::CannotOpenFolder(problem));
                wake.request_repaint();
            }
        });
}
