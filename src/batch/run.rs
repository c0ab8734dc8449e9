//! [`TranscodeRun`]: a transcode batch on a background thread, shaped like the player: spawn it
//! with a [`RunPlan`], drain its typed [`RunEvent`]s, cancel one job or stop them all. One run
//! enqueues (walking folders, naming outputs: [`super::inputs`]'s rules), reads its jobs back
//! and runs them with the worker loop ([`crate::jobs::worker::run_jobs`]). `framekit
//! transcode`, `framekit jobs retry` and the app's transcode panel all use it; the panel on a
//! fleet uses it to enqueue only (the fleet's workers run the jobs).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::{Receiver, Sender, unbounded};

use super::inputs::{BatchError, EnqueuedFile, InputFile, collect_inputs, enqueue_files};
use crate::jobs::worker::{CancelRequests, JobEvent, RunOptions, run_jobs};
use crate::jobs::{ClaimFilter, Job, JobError, QueueLocation};
use crate::transcode::Preset;

/// What a run does with a file the queue refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusals {
    /// The run ends with the error before anything runs (the CLI).
    EndRun,
    /// The file is reported ([`RunEvent::Refused`]) and the others go on (the app).
    Report,
}

/// What a run enqueues and runs.
#[derive(Debug, Clone)]
pub struct RunPlan {
    pub queue: QueueLocation,
    /// Paths walked on the run's thread ([`collect_inputs`]: files as named, folders walked)
    /// after the queue opens; a walk that finds nothing ends the run.
    pub walk: Vec<PathBuf>,
    /// Files already checked ([`super::inputs::check_inputs`]), enqueued as they are.
    pub files: Vec<InputFile>,
    pub preset: Preset,
    /// Output folder (`None`: beside each input).
    pub out: Option<PathBuf>,
    /// Redo finished jobs and replace their outputs.
    pub force: bool,
    /// Cut files longer than this into segments, each its own job (`None`: whole files).
    pub segment: Option<std::time::Duration>,
    /// Jobs already in the queue that this run also runs (resumed, retried).
    pub ids: Vec<i64>,
    /// Put the failed ones among `ids` back to pending first.
    pub retry_failed: bool,
    pub refusals: Refusals,
    /// Run the jobs here; `false`: only enqueue them (a fleet's workers run them).
    pub run_here: bool,
    /// Workers, lease, retry delay, and the stop flag [`TranscodeRun::stop_all`] sets.
    pub options: RunOptions,
    /// Per-job cancel flags ([`TranscodeRun::cancel`] sets them; a caller may share its own).
    pub cancels: CancelRequests,
}

impl RunPlan {
    /// A plan that enqueues nothing yet, runs here, and ends on a refused file.
    pub fn new(queue: QueueLocation) -> RunPlan {
        RunPlan {
            queue,
            walk: Vec::new(),
            files: Vec::new(),
            preset: Preset::DEFAULT,
            out: None,
            force: false,
            segment: None,
            ids: Vec::new(),
            retry_failed: false,
            refusals: Refusals::EndRun,
            run_here: true,
            options: RunOptions::default(),
            cancels: CancelRequests::default(),
        }
    }
}

/// What a run reports, in this order: `Refused` and `Taken` (enqueueing), `Queued`, the jobs'
/// `Job` events, and `Done` last.
#[derive(Debug)]
pub enum RunEvent {
    /// A file the queue would not take, and why ([`Refusals::Report`]; the others go on).
    Refused(PathBuf, BatchError),
    /// The plan's checked files were dealt with (enqueued or refused).
    Taken(Vec<PathBuf>),
    /// The queue holds the run's jobs: what was enqueued, every id the run may claim, and
    /// those jobs as the table has them (`None`: the table could not be read back; only with
    /// [`Refusals::Report`], else the run ends with the error).
    Queued {
        enqueued: Vec<EnqueuedFile>,
        ids: Vec<i64>,
        jobs: Option<Vec<Job>>,
    },
    Job(JobEvent),
    /// The run ended; always the last event.
    Done(Result<(), RunError>),
}

/// Why a run ended early.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Batch(#[from] BatchError),
    #[error(transparent)]
    Jobs(#[from] JobError),
    #[error("cannot start the transcode thread: {0}")]
    Spawn(std::io::Error),
    #[error("the transcode thread stopped unexpectedly")]
    Vanished,
}

/// The caller's end of a run. Dropping it leaves the run going (stop it with
/// [`TranscodeRun::stop_all`]).
pub struct TranscodeRun {
    events: Receiver<RunEvent>,
    cancels: CancelRequests,
    stop: Arc<AtomicBool>,
}

impl TranscodeRun {
    /// Starts the run's thread; `wake` is called after each event (the app repaints).
    pub fn spawn(
        plan: RunPlan,
        wake: impl Fn() + Send + Sync + 'static,
    ) -> Result<TranscodeRun, RunError> {
        let (tx, events) = unbounded();
        let cancels = plan.cancels.clone();
        let stop = plan.options.stop.clone();
        std::thread::Builder::new()
            .name("framekit-transcode".into())
            .spawn(move || {
                let result = run(plan, &tx, &wake);
                let _ = tx.send(RunEvent::Done(result));
                wake();
            })
            .map_err(RunError::Spawn)?;
        Ok(TranscodeRun {
            events,
            cancels,
            stop,
        })
    }

    /// The run's events, [`RunEvent::Done`] last.
    pub fn events(&self) -> &Receiver<RunEvent> {
        &self.events
    }

    /// Waits for the next event; after `Done` (or a vanished thread), the end as an error.
    pub fn recv(&self) -> RunEvent {
        self.events
            .recv()
            .unwrap_or(RunEvent::Done(Err(RunError::Vanished)))
    }

    /// Stops job `id` if it is this run's (it is recorded as cancelled).
    pub fn cancel(&self, id: i64) {
        self.cancels.cancel(id);
    }

    /// Stops everything: jobs in progress go back to pending and resume next time.
    pub fn stop_all(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn run(plan: RunPlan, tx: &Sender<RunEvent>, wake: &(dyn Fn() + Sync)) -> Result<(), RunError> {
    let mut store = plan.queue.open()?;
    let mut ids = plan.ids.clone();
    if plan.retry_failed {
        store.retry_failed(&ids)?;
    }
    let mut files = plan.files.clone();
    if !plan.walk.is_empty() {
        files.extend(collect_inputs(&plan.walk)?);
    }
    let out = plan.out.as_deref();
    let enqueued = match plan.refusals {
        Refusals::EndRun => enqueue_files(
            store.as_mut(),
            &files,
            &plan.preset,
            out,
            plan.force,
            plan.segment,
        )?,
        Refusals::Report => {
            // One file the queue refuses never costs the others.
            let mut enqueued = Vec::new();
            for file in &files {
                let one = std::slice::from_ref(file);
                match enqueue_files(
                    store.as_mut(),
                    one,
                    &plan.preset,
                    out,
                    plan.force,
                    plan.segment,
                ) {
                    Ok(done) => enqueued.extend(done),
                    Err(e) => {
                        let _ = tx.send(RunEvent::Refused(file.path.clone(), e));
                    }
                }
            }
            enqueued
        }
    };
    let _ = tx.send(RunEvent::Taken(
        plan.files.iter().map(|f| f.path.clone()).collect(),
    ));
    ids.extend(enqueued.iter().map(|e| e.outcome.id()));
    // Every job this run may claim is reported, even when the table cannot be read back
    // (then the caller has what was enqueued).
    let jobs = match store.jobs_with_ids(&ids) {
        Ok(jobs) => Some(jobs),
        Err(e) if plan.refusals == Refusals::EndRun => return Err(e.into()),
        Err(_) => None,
    };
    let _ = tx.send(RunEvent::Queued {
        enqueued,
        ids: ids.clone(),
        jobs,
    });
    wake();
    if !plan.run_here {
        return Ok(());
    }
    let events = |event: JobEvent| {
        let _ = tx.send(RunEvent::Job(event));
        wake();
    };
    run_jobs(
        &plan.queue,
        &ClaimFilter::ids(&ids),
        &plan.options,
        &plan.cancels,
        &events,
    )?;
    Ok(())
}
