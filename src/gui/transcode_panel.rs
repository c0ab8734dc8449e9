//! The transcode panel: files staged for MP4 conversion, preset and output folder, then the
//! queue with per-file progress, speed, ETA and status; cancel one or all, retry failed, open
//! the output folder. All work (queue access, encoding) runs on a background thread that
//! reports `JobEvent`s; the panel only draws them. Stopping the app releases running jobs so
//! they resume next time. With a fleet queue set (a `postgres://` URL, or a shared
//! `sqlite:PATH` served by `framekit worker` processes), Start only enqueues there and a
//! watcher thread shows the fleet's jobs: progress and the worker (`host:pid`) running each.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, unbounded};

use super::dialogs::PathPurpose;
use crate::batch::{self, CancelRequests, InputFile, JobEvent, RunOptions, run_jobs};
use crate::jobs::{
    ClaimFilter, Job, JobError, JobQuery, JobStatus, JobStore, QueueLocation, StatusCounts,
};
use crate::transcode::Preset;

#[path = "transcode_panel_ui.rs"]
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
    /// Stopped at the user's request (the table records it as failed: "cancelled").
    pub cancelled: bool,
    /// The worker (`host:pid`) running it, when it runs on a fleet.
    pub worker: Option<String>,
}

impl Row {
    fn from_job(job: crate::jobs::Job) -> Row {
        let cancelled =
            job.status == JobStatus::Failed && job.last_error.as_deref() == Some("cancelled");
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
            cancelled,
            message: job
                .last_error
                .filter(|_| job.status == JobStatus::Failed && !cancelled),
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
            cancelled: false,
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

/// How many of a fleet queue's newest jobs the panel shows (besides every running one).
pub const FLEET_NEWEST_ROWS: usize = 200;

/// How often the fleet view recounts a big queue (a count scans the status index: ~0.2 s on
/// a million jobs); its rows are read every second, and so are the counts of a queue that
/// counts quickly (under [`FLEET_CHEAP_COUNT`]), so a small queue's counts never lag its rows.
const FLEET_COUNTS_EVERY: std::time::Duration = std::time::Duration::from_secs(5);
const FLEET_CHEAP_COUNT: std::time::Duration = std::time::Duration::from_millis(20);

/// The fleet view's last count: the counts, when they were taken and how long that took.
type LastCount = (StatusCounts, Instant, std::time::Duration);

/// One read of a fleet queue for the panel: every running job and the newest others, in id
/// order, and the counts by state (`counted` keeps the last count). Bounded however many jobs
/// the queue holds.
fn read_fleet(
    store: &mut dyn JobStore,
    counted: &mut Option<LastCount>,
) -> Result<(Vec<Job>, StatusCounts), JobError> {
    let counts = match *counted {
        Some((counts, at, took))
            if took >= FLEET_CHEAP_COUNT && at.elapsed() < FLEET_COUNTS_EVERY =>
        {
            counts
        }
        _ => {
            let started = Instant::now();
            let counts = store.counts()?;
            *counted = Some((counts, started, started.elapsed()));
            counts
        }
    };
    let mut jobs: BTreeMap<i64, Job> = store
        .query(&JobQuery {
            statuses: vec![JobStatus::Processing],
            // More than any fleet runs at once; still a bound.
            limit: Some(10_000),
            ..JobQuery::default()
        })?
        .into_iter()
        .map(|j| (j.id, j))
        .collect();
    for job in store.query(&JobQuery {
        limit: Some(FLEET_NEWEST_ROWS),
        newest_first: true,
        ..JobQuery::default()
    })? {
        jobs.insert(job.id, job);
    }
    Ok((jobs.into_values().collect(), counts))
}

/// Messages from the background thread.
enum PanelEvent {
    /// Jobs known to the queue for this panel (after enqueueing).
    Rows(Vec<Row>),
    /// Jobs an earlier run left unfinished (the start-up scan): offered for resuming.
    Unfinished(Vec<Row>),
    /// Added paths checked off the UI thread: the files to stage (folders walked as the CLI
    /// walks them) and the paths refused, each with why.
    Checked {
        accepted: Vec<InputFile>,
        refused: Vec<(PathBuf, String)>,
    },
    /// Staged files Start has dealt with (enqueued or refused): no longer staged.
    Taken(Vec<PathBuf>),
    /// A staged file the queue would not take, and why (the others go on).
    Refused(PathBuf, String),
    Job(JobEvent),
    /// The run ended.
    Done,
    Error(String),
    /// Something the user asked for could not be done; the run goes on.
    Problem(String),
    /// The fleet queue as the watcher read it: its counts, every running job and the newest
    /// others (a fleet queue can hold millions; only these are read).
    FleetRows {
        rows: Vec<Row>,
        counts: StatusCounts,
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
    events: Option<Receiver<PanelEvent>>,
    sender: Option<Sender<PanelEvent>>,
    stop: Arc<AtomicBool>,
    cancels: CancelRequests,
    running: bool,
    dialog_request: Option<PathPurpose>,
    /// A finished job to compare with its source (source, output), for the app to open.
    compare_request: Option<(PathBuf, PathBuf)>,
    wake: Option<egui::Context>,
    /// Where Start sends files when work runs on a fleet (`None`: run here).
    fleet: Option<QueueLocation>,
    /// The fleet queue field as typed.
    fleet_text: String,
    /// Stops the current fleet watcher.
    fleet_watch_stop: Arc<AtomicBool>,
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
            events: None,
            sender: None,
            stop: Arc::new(AtomicBool::new(false)),
            cancels: CancelRequests::default(),
            running: false,
            dialog_request: None,
            compare_request: None,
            wake: None,
            fleet: None,
            fleet_text: String::new(),
            fleet_watch_stop: Arc::new(AtomicBool::new(false)),
            fleet_hidden: std::collections::HashSet::new(),
            fleet_counts: None,
        }
    }

    /// The fleet queue Start sends files to (`None`: this machine runs them).
    pub fn fleet(&self) -> Option<&QueueLocation> {
        self.fleet.as_ref()
    }

    /// Watches the fleet queue on a background thread: every second, its jobs as rows.
    fn watch_fleet(&mut self, ctx: &egui::Context, fleet: QueueLocation) {
        self.fleet_watch_stop.store(true, Ordering::SeqCst);
        let stop = Arc::new(AtomicBool::new(false));
        self.fleet_watch_stop = stop.clone();
        let tx = self.channel(ctx);
        let repaint = ctx.clone();
        let _ = std::thread::Builder::new()
            .name("framekit-fleet-watch".into())
            .spawn(move || {
                let mut store = None;
                let mut counted = None;
                while !stop.load(Ordering::SeqCst) {
                    if store.is_none() {
                        match fleet.open() {
                            Ok(opened) => store = Some(opened),
                            Err(e) => {
                                let _ = tx.send(PanelEvent::Problem(e.to_string()));
                            }
                        }
                    }
                    if let Some(opened) = store.as_mut() {
                        match read_fleet(opened.as_mut(), &mut counted) {
                            Ok((jobs, counts)) => {
                                let rows = jobs.into_iter().map(Row::from_job).collect();
                                let _ = tx.send(PanelEvent::FleetRows { rows, counts });
                            }
                            Err(e) => {
                                let _ = tx.send(PanelEvent::Problem(e.to_string()));
                                store = None;
                            }
                        }
                        repaint.request_repaint();
                    }
                    for _ in 0..20 {
                        if stop.load(Ordering::SeqCst) {
                            return;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(50));
                    }
                }
            });
    }

    /// Runs `work` on the fleet queue on a background thread (enqueue, cancel, retry); errors
    /// are shown in the panel.
    fn on_fleet(
        &mut self,
        ctx: &egui::Context,
        work: impl FnOnce(&mut dyn crate::jobs::JobStore) -> Result<(), String> + Send + 'static,
    ) {
        let Some(fleet) = self.fleet.clone() else {
            return;
        };
        let tx = self.channel(ctx);
        let repaint = ctx.clone();
        let _ = std::thread::Builder::new()
            .name("framekit-fleet".into())
            .spawn(move || {
                let result = fleet
                    .open()
                    .map_err(|e| e.to_string())
                    .and_then(|mut store| work(store.as_mut()));
                if let Err(message) = result {
                    let _ = tx.send(PanelEvent::Problem(message));
                }
                repaint.request_repaint();
            });
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

    fn channel(&mut self, ctx: &egui::Context) -> Sender<PanelEvent> {
        self.wake = Some(ctx.clone());
        if let Some(sender) = &self.sender {
            return sender.clone();
        }
        let (tx, rx) = unbounded();
        self.events = Some(rx);
        self.sender = Some(tx.clone());
        tx
    }

    /// Looks for jobs an earlier run left unfinished (on a background thread).
    pub fn scan_unfinished(&mut self, ctx: &egui::Context) {
        let tx = self.channel(ctx);
        let queue = self.queue.clone();
        let repaint = ctx.clone();
        let _ = std::thread::Builder::new()
            .name("framekit-queue-scan".into())
            .spawn(move || {
                let rows = queue.open().and_then(|mut q| {
                    q.reclaim_dead_local_leases()?;
                    q.query(&JobQuery {
                        statuses: vec![JobStatus::Pending, JobStatus::Processing],
                        ..JobQuery::default()
                    })
                });
                if let Ok(jobs) = rows {
                    let unfinished: Vec<Row> = jobs
                        .into_iter()
                        .filter(|j| matches!(j.status, JobStatus::Pending | JobStatus::Processing))
                        .map(|j| Row {
                            status: JobStatus::Pending,
                            worker: None,
                            message: Some("unfinished from an earlier run".to_string()),
                            ..Row::from_job(j)
                        })
                        .collect();
                    if !unfinished.is_empty() {
                        let _ = tx.send(PanelEvent::Unfinished(unfinished));
                    }
                }
                repaint.request_repaint();
            });
    }

    /// Reads what the background thread reported.
    pub fn drain(&mut self) {
        let Some(events) = &self.events else { return };
        let mut received = Vec::new();
        while let Ok(event) = events.try_recv() {
            received.push(event);
        }
        for event in received {
            match event {
                PanelEvent::Rows(rows) => {
                    for row in rows {
                        self.rows.insert(row.id, row);
                    }
                }
                PanelEvent::Unfinished(rows) => {
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
                PanelEvent::Checked { accepted, refused } => {
                    self.checking = self.checking.saturating_sub(1);
                    for file in accepted {
                        if !self.staged.iter().any(|s| s.path == file.path) {
                            self.staged.push(file);
                        }
                    }
                    for (path, why) in refused {
                        self.refused.retain(|(p, _)| p != &path);
                        self.refused.push((path, why));
                    }
                }
                PanelEvent::Taken(paths) => self.staged.retain(|f| !paths.contains(&f.path)),
                PanelEvent::Refused(path, why) => {
                    self.refused.retain(|(p, _)| p != &path);
                    self.refused.push((path, why));
                }
                PanelEvent::Job(event) => self.apply_event(event),
                PanelEvent::Done => self.running = false,
                PanelEvent::Error(message) => {
                    self.error = Some(message);
                    self.running = false;
                }
                PanelEvent::Problem(message) => self.error = Some(message),
                PanelEvent::FleetRows { rows, counts } => {
                    if self.fleet.is_some() {
                        self.fleet_counts = Some(counts);
                        self.rows = rows
                            .into_iter()
                            .filter(|r| !self.fleet_hidden.contains(&r.id))
                            .map(|r| (r.id, r))
                            .collect();
                    }
                }
            }
        }
    }

    fn apply_event(&mut self, event: JobEvent) {
        match event {
            JobEvent::Started { id, attempt, .. } => {
                if let Some(row) = self.rows.get_mut(&id) {
                    row.status = JobStatus::Processing;
                    row.cancelled = false;
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
                    row.cancelled = false;
                    row.fraction = 1.0;
                    row.output = output;
                    row.message = Some(format!("done in {seconds:.1} s"));
                }
            }
            JobEvent::Retrying { id, error, .. } => {
                if let Some(row) = self.rows.get_mut(&id) {
                    row.status = JobStatus::Pending;
                    row.cancelled = false;
                    row.message = Some(format!("will retry: {error}"));
                }
            }
            JobEvent::Failed { id, error } => {
                if let Some(row) = self.rows.get_mut(&id) {
                    row.status = JobStatus::Failed;
                    row.cancelled = error == "cancelled";
                    row.message = (!row.cancelled).then_some(error);
                }
            }
            JobEvent::Released { id } => {
                if let Some(row) = self.rows.get_mut(&id) {
                    row.status = JobStatus::Pending;
                    row.cancelled = false;
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

    /// Starts a background run: enqueue `files` (if any), then run `ids` plus the new jobs.
    fn spawn_run(
        &mut self,
        ctx: &egui::Context,
        files: Vec<InputFile>,
        mut ids: Vec<i64>,
        retry_failed: bool,
    ) {
        let tx = self.channel(ctx);
        let queue = self.queue.clone();
        let preset = self.preset;
        let output_dir = self.output_dir.clone();
        let stop = self.stop.clone();
        let cancels = self.cancels.clone();
        let repaint = ctx.clone();
        self.running = true;
        self.error = None;
        let spawned = std::thread::Builder::new()
            .name("framekit-transcode".into())
            .spawn(move || {
                let result = (|| -> Result<(), String> {
                    let mut store = queue.open().map_err(|e| e.to_string())?;
                    if retry_failed {
                        store.retry_failed(&ids).map_err(|e| e.to_string())?;
                    }
                    // The same rules as `framekit transcode`: outputs named by the batch module.
                    // One file the queue refuses never costs the others.
                    let enqueued =
                        enqueue_each(store.as_mut(), &files, &preset, output_dir.as_deref(), &tx);
                    ids.extend(enqueued.iter().map(|e| e.outcome.id()));
                    // Every job this run may claim is shown, even when the table cannot be
                    // read back: then the rows come from what was enqueued.
                    let rows: Vec<Row> = match store.jobs_with_ids(&ids) {
                        Ok(jobs) => jobs
                            .into_iter()
                            .map(|j| Row {
                                worker: None,
                                ..Row::from_job(j)
                            })
                            .collect(),
                        Err(_) => enqueued.iter().map(Row::enqueued).collect(),
                    };
                    let _ = tx.send(PanelEvent::Rows(rows));
                    repaint.request_repaint();
                    let options = RunOptions {
                        stop,
                        ..RunOptions::default()
                    };
                    let events = |event: JobEvent| {
                        let _ = tx.send(PanelEvent::Job(event));
                        repaint.request_repaint();
                    };
                    run_jobs(&queue, &ClaimFilter::ids(&ids), &options, &cancels, &events)
                        .map_err(|e| e.to_string())
                })();
                let _ = tx.send(match result {
                    Ok(()) => PanelEvent::Done,
                    Err(message) => PanelEvent::Error(message),
                });
                repaint.request_repaint();
            });
        if let Err(e) = spawned {
            self.running = false;
            self.error = Some(format!("cannot start the transcode thread: {e}"));
        }
    }

    /// Releases running jobs so they resume next time (the app is closing).
    pub fn stop_all(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.fleet_watch_stop.store(true, Ordering::SeqCst);
    }

    pub fn apply(&mut self, ctx: &egui::Context, command: PanelCommand) {
        match command {
            PanelCommand::AddFiles(files) => {
                self.open = true;
                self.check_and_stage(ctx, files);
            }
            PanelCommand::PickFiles => self.dialog_request = Some(PathPurpose::AddFiles),
            PanelCommand::PickFolder => self.dialog_request = Some(PathPurpose::AddFolder),
            PanelCommand::CompareWithSource(id) => {
                if let Some(row) = self.rows.get(&id) {
                    self.compare_request = Some((row.input.clone(), row.output.clone()));
                }
            }
            PanelCommand::PickOutputFolder => self.dialog_request = Some(PathPurpose::OutputFolder),
            PanelCommand::Start => {
                if self.running {
                    self.error =
                        Some("a batch is already running; wait for it or cancel it".to_string());
                    return;
                }
                // Staged files stay staged until the run has enqueued (or refused) them.
                let files = self.staged.clone();
                if files.is_empty() {
                    self.error = Some(
                        "add video files first (drop them here or use Add files…)".to_string(),
                    );
                    return;
                }
                if self.fleet.is_some() {
                    let (preset, output_dir) = (self.preset, self.output_dir.clone());
                    let tx = self.channel(ctx);
                    self.error = None;
                    self.on_fleet(ctx, move |store| {
                        enqueue_each(store, &files, &preset, output_dir.as_deref(), &tx);
                        Ok(())
                    });
                } else {
                    self.spawn_run(ctx, files, Vec::new(), false);
                }
            }
            PanelCommand::Cancel(id) if self.fleet.is_some() => {
                self.on_fleet(ctx, move |store| {
                    store.cancel_ids(&[id]).map(drop).map_err(|e| e.to_string())
                });
            }
            PanelCommand::Cancel(id) => self.cancels.cancel(id),
            PanelCommand::CancelAll => {
                for (id, row) in &self.rows {
                    if matches!(row.status, JobStatus::Pending | JobStatus::Processing) {
                        self.cancels.cancel(*id);
                    }
                }
            }
            PanelCommand::RetryFailed => {
                let failed: Vec<i64> = self
                    .rows
                    .values()
                    .filter(|r| r.status == JobStatus::Failed)
                    .map(|r| r.id)
                    .collect();
                if self.fleet.is_some() {
                    self.on_fleet(ctx, move |store| {
                        store
                            .retry_failed(&failed)
                            .map(drop)
                            .map_err(|e| e.to_string())
                    });
                } else if !failed.is_empty() && !self.running {
                    self.cancels = CancelRequests::default();
                    // The rows say at once that they are queued again, not what they were.
                    for id in &failed {
                        if let Some(row) = self.rows.get_mut(id) {
                            row.status = JobStatus::Pending;
                            row.cancelled = false;
                            row.fraction = 0.0;
                            row.message = Some("queued again".to_string());
                        }
                    }
                    self.spawn_run(ctx, Vec::new(), failed, true);
                }
            }
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
                    Some(folder) => {
                        let tx = self.channel(ctx);
                        open_folder(folder, tx, ctx.clone());
                    }
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
                self.fleet_watch_stop.store(true, Ordering::SeqCst);
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
                    self.watch_fleet(ctx, fleet);
                }
                Err(e) => self.error = Some(e.to_string()),
            },
            PanelCommand::Clear => {
                // On a fleet the jobs stay in the shared queue; the panel stops showing them.
                self.fleet_hidden.extend(
                    self.rows
                        .values()
                        .filter(|r| matches!(r.status, JobStatus::Succeeded | JobStatus::Failed))
                        .map(|r| r.id),
                );
                self.rows
                    .retain(|_, r| matches!(r.status, JobStatus::Pending | JobStatus::Processing));
            }
        }
    }

    /// Checks added paths on a background thread (the UI thread never touches the disk):
    /// files must exist and be videos, folders are walked as `framekit transcode` walks them.
    fn check_and_stage(&mut self, ctx: &egui::Context, paths: Vec<PathBuf>) {
        if paths.is_empty() {
            return;
        }
        let tx = self.channel(ctx);
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

    /// A file dialog the panel wants (Add files…, the output folder); the app runs it.
    /// A finished job the user wants to compare with its source.
    pub fn take_compare_request(&mut self) -> Option<(PathBuf, PathBuf)> {
        self.compare_request.take()
    }

    pub fn take_dialog_request(&mut self) -> Option<PathPurpose> {
        self.dialog_request.take()
    }

    /// The background thread's notes and the picker results, read once per frame.
    pub fn logic(&mut self) {
        self.drain();
        if let Some(ctx) = &self.wake
            && (self.running || self.fleet.is_some())
        {
            ctx.request_repaint_after(std::time::Duration::from_millis(250));
        }
    }
}

/// Which of the added `paths` can be transcoded: each path on its own through the CLI's input
/// collection ([`batch::collect_inputs`]: files as named, folders walked for videos), so one bad
/// path is refused with its reason and never costs the others. A named file must also be a
/// video: a video file extension and a video stream FFmpeg can open.
pub fn check_inputs(paths: &[PathBuf]) -> (Vec<InputFile>, Vec<(PathBuf, String)>) {
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for path in paths {
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                refused.push((path.clone(), "not found".to_string()));
                continue;
            }
            Err(e) => {
                refused.push((path.clone(), format!("cannot read it ({e})")));
                continue;
            }
        };
        if !meta.is_dir()
            && let Some(why) = not_a_video(path)
        {
            refused.push((path.clone(), why));
            continue;
        }
        match batch::collect_inputs(std::slice::from_ref(path)) {
            Ok(files) => accepted.extend(files),
            Err(batch::BatchError::NoVideos(_)) => {
                refused.push((path.clone(), "a folder without video files".to_string()));
            }
            Err(e) => refused.push((path.clone(), e.to_string())),
        }
    }
    (accepted, refused)
}

/// Why a named file is not a video to transcode, if it is not.
fn not_a_video(path: &Path) -> Option<String> {
    if !batch::is_video_path(path) {
        let kind = path.extension().map_or("no extension".to_string(), |e| {
            format!(".{}", e.to_string_lossy())
        });
        return Some(format!("not a video file ({kind})"));
    }
    match crate::media::open_input(path) {
        Err(e) => Some(format!("not a video FFmpeg can read ({e})")),
        Ok(input) => input
            .streams()
            .best(ffmpeg_next::media::Type::Video)
            .is_none()
            .then(|| "has no video stream".to_string()),
    }
}

/// Enqueues each file on its own: a file the queue refuses is reported (`Refused`) and the
/// others go in. Reports the files dealt with (`Taken`) so the panel unstages them.
fn enqueue_each(
    store: &mut dyn JobStore,
    files: &[InputFile],
    preset: &Preset,
    output_dir: Option<&Path>,
    events: &Sender<PanelEvent>,
) -> Vec<batch::EnqueuedFile> {
    let mut enqueued = Vec::new();
    for file in files {
        match batch::enqueue_files(store, std::slice::from_ref(file), preset, output_dir, false) {
            Ok(done) => enqueued.extend(done),
            Err(e) => {
                let _ = events.send(PanelEvent::Refused(file.path.clone(), e.to_string()));
            }
        }
    }
    let _ = events.send(PanelEvent::Taken(
        files.iter().map(|f| f.path.clone()).collect(),
    ));
    enqueued
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
                Ok(status) => Some(format!("{program} failed ({status})")),
                Err(e) => Some(format!("{program} is not available ({e})")),
            };
            if let Some(problem) = problem {
                let _ = events.send(PanelEvent::Problem(format!(
                    "cannot open the output folder {}: {problem}; open it in your file manager",
                    folder.display()
                )));
                wake.request_repaint();
            }
        });
}
