//! The worker loop: claim a job, encode it to a temporary file beside its output while a
//! heartbeat renews the lease, verify the result, publish it through the fenced transaction,
//! or record the failure for a retry. Several workers run as threads; each has its own
//! database connections (one for the loop, one for the heartbeat). Events go to the caller
//! (progress bars, the app's panel, a fleet worker's logs and metrics). The same loop serves
//! `framekit transcode` (until its own jobs are done), `framekit worker --once` (until nothing
//! is claimable) and `framekit worker` (until stopped); [`service`] holds what a worker
//! process runs beside the loop (metrics, the `/metrics` server, the registry heartbeat).

pub mod service;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::{
    ClaimFilter, Job, JobError, JobPart, JobQuery, JobStatus, JobStore, Lease, QueueLocation,
    lease_owner,
};
use crate::transcode::{self, Preset};

/// Parallel encodes by default: on the 2-core machine this was measured on, two files at
/// once finished a batch of four 720p clips in 6.4 s against 7.0 s one at a time (libx264
/// already threads, but decoding, audio and muxing leave gaps a second encode fills).
pub const DEFAULT_JOBS: usize = 2;

/// The most parallel workers a run starts (each is a thread with its own encoder).
pub const MAX_JOBS: usize = 64;

/// How a run behaves.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Parallel workers.
    pub jobs: usize,
    /// Lease length; the heartbeat renews it every third of this.
    pub lease: Duration,
    /// First retry delay; doubles with each attempt.
    pub retry_delay: Duration,
    /// Stop everything: jobs in progress go back to pending and resume next time.
    pub stop: Arc<AtomicBool>,
    /// Stop claiming; jobs in progress finish (a worker's grace period).
    pub drain: Arc<AtomicBool>,
    /// When a worker with nothing to claim returns.
    pub until: RunUntil,
    /// Path prefixes translated between the enqueuing machine and this one.
    pub path_map: PathMap,
}

/// When a run with nothing to claim returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunUntil {
    /// When no job passing the filter is pending or running anywhere (`framekit transcode`).
    FilterDone,
    /// When no job can be claimed within [`ONCE_WAIT`] (`framekit worker --once`).
    NothingClaimable,
    /// Only when stopped (`framekit worker`).
    Stopped,
}

/// `--once` still waits for a retry delay or a lease that ends within this.
pub const ONCE_WAIT: Duration = Duration::from_secs(5);

/// How often an idle worker asks for work.
const IDLE_POLL: Duration = Duration::from_millis(500);

/// `--map FROM=TO`: paths that start with FROM on the machine that enqueued the job start with
/// TO on this one (shared storage mounted elsewhere). The longest matching FROM wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathMap {
    pairs: Vec<(PathBuf, PathBuf)>,
}

impl PathMap {
    pub fn new(pairs: Vec<(PathBuf, PathBuf)>) -> PathMap {
        let mut pairs = pairs;
        pairs.sort_by_key(|(from, _)| std::cmp::Reverse(from.components().count()));
        PathMap { pairs }
    }

    /// `path` as this machine sees it.
    pub fn apply(&self, path: &Path) -> PathBuf {
        for (from, to) in &self.pairs {
            if let Ok(rest) = path.strip_prefix(from) {
                return to.join(rest);
            }
        }
        path.to_path_buf()
    }
}

/// One `--map` value: `FROM=TO`, both absolute.
pub fn parse_path_mapping(text: &str) -> Result<(PathBuf, PathBuf), String> {
    let (from, to) = text.split_once('=').ok_or_else(|| {
        format!("\"{text}\" is not a mapping: write FROM=TO, for example /mnt/media=/data/media")
    })?;
    let (from, to) = (PathBuf::from(from), PathBuf::from(to));
    if !from.is_absolute() || !to.is_absolute() {
        return Err(format!(
            "\"{text}\": both sides of a mapping must be absolute paths"
        ));
    }
    Ok((from, to))
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            jobs: DEFAULT_JOBS,
            lease: Duration::from_secs(30),
            retry_delay: Duration::from_secs(2),
            stop: Arc::new(AtomicBool::new(false)),
            drain: Arc::new(AtomicBool::new(false)),
            until: RunUntil::FilterDone,
            path_map: PathMap::default(),
        }
    }
}

/// What happened to a job, as it happens.
#[derive(Debug, Clone, PartialEq)]
pub enum JobEvent {
    Started {
        id: i64,
        input: PathBuf,
        attempt: i64,
    },
    Progress {
        id: i64,
        fraction: f64,
        speed: f64,
    },
    Succeeded {
        id: i64,
        output: PathBuf,
        seconds: f64,
        /// Frames decoded from the input.
        frames: u64,
    },
    /// Failed this attempt; will retry.
    Retrying {
        id: i64,
        error: String,
        attempt: i64,
    },
    Failed {
        id: i64,
        error: String,
    },
    /// Stopped at the user's request (its [`CancelRequests`] flag) and recorded as cancelled.
    Cancelled {
        id: i64,
    },
    /// Given back unfinished because the run was stopped.
    Released {
        id: i64,
    },
    /// Another worker took the job over (this one's lease expired); this worker wrote nothing
    /// and moved on.
    LeaseLost {
        id: i64,
    },
}

/// Per-job cancel flags the caller can set (the app's "cancel" button).
#[derive(Debug, Default, Clone)]
pub struct CancelRequests {
    ids: Arc<std::sync::Mutex<Vec<i64>>>,
}

impl CancelRequests {
    pub fn cancel(&self, id: i64) {
        if let Ok(mut ids) = self.ids.lock() {
            ids.push(id);
        }
    }

    fn is_cancelled(&self, id: i64) -> bool {
        self.ids
            .lock()
            .map(|ids| ids.contains(&id))
            .unwrap_or(false)
    }
}

/// Runs the jobs passing `filter` with `options.jobs` workers until `options.until` says so
/// or the run is stopped.
pub fn run_jobs(
    queue: &QueueLocation,
    filter: &ClaimFilter,
    options: &RunOptions,
    cancels: &CancelRequests,
    events: &(dyn Fn(JobEvent) + Send + Sync),
) -> Result<(), JobError> {
    let mut store = queue.open()?;
    store.reclaim_dead_local_leases()?;
    let owner = lease_owner();
    // More workers than jobs would only wait (a segmented job counts its parts).
    let mut workers = options.jobs.clamp(1, MAX_JOBS);
    if !filter.ids.is_empty() {
        let jobs: usize = store
            .jobs_with_ids(&filter.ids)?
            .iter()
            .map(|j| 1 + j.parts.map_or(0, |p| p.total as usize))
            .sum();
        workers = workers.min(jobs.max(filter.ids.len()));
    }
    drop(store);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| scope.spawn(|| worker_loop(queue, filter, options, cancels, events, &owner)))
            .collect();
        let mut first_error = Ok(());
        for handle in handles {
            match handle.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => first_error = first_error.and(Err(e)),
                Err(_) => first_error = first_error.and(Err(JobError::WorkerPanicked)),
            }
        }
        first_error
    })
}

fn worker_loop(
    location: &QueueLocation,
    filter: &ClaimFilter,
    options: &RunOptions,
    cancels: &CancelRequests,
    events: &(dyn Fn(JobEvent) + Send + Sync),
    owner: &str,
) -> Result<(), JobError> {
    let mut queue = location.open()?;
    let mut beats = location.open()?;
    let stopping = || options.stop.load(Ordering::SeqCst) || options.drain.load(Ordering::SeqCst);
    while !stopping() {
        match queue.claim(owner, options.lease, filter)? {
            Some(lease) => run_one(
                queue.as_mut(),
                beats.as_mut(),
                lease,
                options,
                cancels,
                events,
            )?,
            None => {
                let next = queue.next_claimable_in(filter)?;
                let done = match options.until {
                    RunUntil::FilterDone => next.is_none(),
                    RunUntil::NothingClaimable => next.is_none_or(|wait| wait > ONCE_WAIT),
                    RunUntil::Stopped => false,
                };
                if done {
                    return Ok(());
                }
                let wait =
                    next.map_or(IDLE_POLL, |w| w.clamp(Duration::from_millis(20), IDLE_POLL));
                // Idle workers spread out their polls instead of asking all at once.
                let jitter = Duration::from_millis(u64::from(std::process::id() % 97));
                let until = Instant::now() + wait + jitter;
                while Instant::now() < until && !stopping() {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }
    Ok(())
}

/// `.name.framekit-<token>.part.mp4` beside the output; for an output in a bucket, in this
/// machine's temporary folder (its staging object takes the same name beside the output).
fn temp_path(output: &Path, token: &str) -> PathBuf {
    let name = output
        .file_name()
        .map_or("output.mp4".into(), |n| n.to_string_lossy().into_owned());
    let name = format!(".{name}.framekit-{token}.part.mp4");
    if crate::storage::is_s3(output) {
        std::env::temp_dir().join("framekit-staging").join(name)
    } else {
        output.with_file_name(name)
    }
}

fn run_one(
    queue: &mut dyn JobStore,
    beats: &mut dyn JobStore,
    lease: Lease,
    options: &RunOptions,
    cancels: &CancelRequests,
    events: &(dyn Fn(JobEvent) + Send + Sync),
) -> Result<(), JobError> {
    let mut lease = lease;
    lease.job.input = options.path_map.apply(&lease.job.input);
    lease.job.output = options.path_map.apply(&lease.job.output);
    let lease = lease;
    let job = lease.job.clone();
    if let Some(stale) = &lease.stale_temp {
        let _ = std::fs::remove_file(stale);
        // A dead attempt's staging object has its temporary file's name, beside the output.
        if let (Some(Ok(output)), Some(name)) = (
            crate::storage::ObjectUrl::of(&job.output),
            stale.file_name().and_then(|n| n.to_str()),
        ) {
            let _ = crate::storage::remove(&output.sibling(name));
        }
    }
    events(JobEvent::Started {
        id: job.id,
        input: job.input.clone(),
        attempt: job.attempts,
    });
    let started = Instant::now();
    let temp = temp_path(&job.output, &lease.token);

    let outcome = attempt(
        queue, beats, &lease, &temp, options, cancels, events, started,
    );
    if outcome.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    let finished = match outcome {
        Ok(frames) => {
            events(JobEvent::Succeeded {
                id: job.id,
                output: job.output.clone(),
                seconds: started.elapsed().as_secs_f64(),
                frames,
            });
            Ok(())
        }
        Err(AttemptError::LeaseLost) => Err(JobError::LostLease(job.id)),
        Err(_) if options.stop.load(Ordering::SeqCst) => queue
            .release(&lease)
            .map(|()| events(JobEvent::Released { id: job.id })),
        Err(_) if cancels.is_cancelled(job.id) => queue
            .cancel(&lease)
            .map(|()| events(JobEvent::Cancelled { id: job.id })),
        Err(AttemptError::Failed { reason, permanent }) => {
            let message = format!("{}: {reason}", job.input.display());
            queue
                .fail(&lease, &message, permanent, options.retry_delay)
                .map(|status| match status {
                    JobStatus::Failed => events(JobEvent::Failed {
                        id: job.id,
                        error: message,
                    }),
                    _ => events(JobEvent::Retrying {
                        id: job.id,
                        error: message,
                        attempt: job.attempts,
                    }),
                })
        }
    };
    match finished {
        // A worker that lost its lease stops touching the job; the new holder finishes it.
        Err(JobError::LostLease(id)) => {
            events(JobEvent::LeaseLost { id });
            Ok(())
        }
        other => other,
    }
}

/// Why an attempt did not publish.
enum AttemptError {
    /// The job is another worker's now: write nothing more.
    LeaseLost,
    /// `permanent`: retrying cannot help (no video stream, unknown preset, output exists,
    /// an output folder without write permission, an output unlike its input).
    Failed { reason: String, permanent: bool },
}

impl AttemptError {
    fn transient(reason: impl ToString) -> AttemptError {
        AttemptError::Failed {
            reason: reason.to_string(),
            permanent: false,
        }
    }

    fn permanent(reason: impl ToString) -> AttemptError {
        AttemptError::Failed {
            reason: reason.to_string(),
            permanent: true,
        }
    }

    /// A failed file operation on the output side: permanent when retrying cannot help (no
    /// permission, a read-only file system), transient otherwise (a full disk may free up).
    fn output_io(error: &std::io::Error, reason: String) -> AttemptError {
        if io_cannot_improve(error) {
            AttemptError::permanent(reason)
        } else {
            AttemptError::transient(reason)
        }
    }
}

/// Whether an I/O error stays the same however often it is retried: no permission, or a
/// read-only file system (someone has to change the folder first; `jobs retry` then).
fn io_cannot_improve(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
    )
}

impl From<JobError> for AttemptError {
    fn from(error: JobError) -> AttemptError {
        match error {
            JobError::LostLease(_) => AttemptError::LeaseLost,
            JobError::OutputExists(_) => AttemptError::permanent(error),
            JobError::Storage(ref storage) if storage.is_permanent() => {
                AttemptError::permanent(error)
            }
            JobError::Io { ref source, .. } if io_cannot_improve(source) => {
                AttemptError::permanent(error)
            }
            other => AttemptError::transient(other),
        }
    }
}

impl From<transcode::TranscodeError> for AttemptError {
    fn from(error: transcode::TranscodeError) -> AttemptError {
        if error.is_permanent() {
            AttemptError::permanent(error)
        } else {
            AttemptError::transient(error)
        }
    }
}

/// One attempt: checks, encode to `temp` with a heartbeat, verify, publish.
#[allow(clippy::too_many_arguments)]
fn attempt(
    queue: &mut dyn JobStore,
    beats: &mut dyn JobStore,
    lease: &Lease,
    temp: &Path,
    options: &RunOptions,
    cancels: &CancelRequests,
    events: &(dyn Fn(JobEvent) + Send + Sync),
    started: Instant,
) -> Result<u64, AttemptError> {
    let job = &lease.job;
    let preset: Preset = job.preset.parse()?;
    let since = std::time::SystemTime::now();
    let object_output = match crate::storage::ObjectUrl::of(&job.output) {
        Some(object) => Some(object.map_err(JobError::from)?),
        None => None,
    };
    // Found before encoding, not after: an existing output is never replaced without --force.
    let exists = match &object_output {
        Some(object) => crate::storage::exists(object).map_err(JobError::from)?,
        None => job.output.exists(),
    };
    if !job.replace_output && exists {
        return Err(JobError::OutputExists(job.output.display().to_string()).into());
    }
    let local_folder = if object_output.is_some() {
        temp.parent()
    } else {
        job.output.parent()
    };
    if let Some(dir) = local_folder {
        std::fs::create_dir_all(dir).map_err(|e| {
            AttemptError::output_io(
                &e,
                format!("{}: cannot create the output folder: {e}", dir.display()),
            )
        })?;
    }
    std::fs::File::create(temp).map_err(|e| {
        AttemptError::output_io(
            &e,
            format!("{}: cannot write in the output folder: {e}", temp.display()),
        )
    })?;
    queue.set_temp(lease, temp)?;
    // A join's parts: every child succeeded (the claim saw to it); their outputs as this
    // machine sees them.
    let parts = match job.part {
        Some(JobPart::Join) => {
            let mut children = queue.query(&JobQuery {
                parent: Some(job.id),
                ..JobQuery::default()
            })?;
            for child in &mut children {
                child.output = options.path_map.apply(&child.output);
            }
            children
        }
        _ => Vec::new(),
    };
    let lost = AtomicBool::new(false);
    let progress_bits = AtomicU64::new(0f64.to_bits());
    let encoding_done = AtomicBool::new(false);
    let should_stop = || {
        options.stop.load(Ordering::SeqCst)
            || lost.load(Ordering::SeqCst)
            || cancels.is_cancelled(job.id)
    };
    // The encode runs on this thread; the heartbeat wakes it from a read that blocks (a
    // stalled input) once it should stop, so a stop or cancel is never stuck behind I/O.
    let encoder = crate::read_bound::Kicker::current();
    let result = std::thread::scope(|scope| {
        scope.spawn(|| {
            heartbeat(
                beats,
                lease,
                options.lease,
                &progress_bits,
                &encoding_done,
                &lost,
                &|| {
                    if should_stop() {
                        // SAFETY: this thread is scoped by the encoding thread, which waits
                        // for it to end, so the encoding thread is alive.
                        unsafe { encoder.kick() };
                    }
                },
            )
        });
        // Encode, verify and (for a bucket) upload under the heartbeat.
        let finished = (|| -> Result<_, AttemptError> {
            let on_progress = |p: transcode::Progress| {
                let fraction = p.fraction().unwrap_or(0.0);
                progress_bits.store(fraction.to_bits(), Ordering::Relaxed);
                let speed = p.position_seconds / started.elapsed().as_secs_f64().max(1e-3);
                events(JobEvent::Progress {
                    id: job.id,
                    fraction,
                    speed,
                });
            };
            let frames = match job.part {
                None => {
                    let report =
                        transcode::transcode(&job.input, temp, &preset, &should_stop, on_progress)?;
                    transcode::verify_output(
                        &job.input,
                        temp,
                        Some(report.expected_output_frames()),
                    )?;
                    report.decoded_frames
                }
                Some(JobPart::Segment { start, end }) => {
                    let scope = transcode::Scope::VideoRange { start, end };
                    let report = transcode::transcode_scope(
                        &job.input,
                        temp,
                        &preset,
                        scope,
                        &should_stop,
                        on_progress,
                    )?;
                    transcode::segments::verify_part(temp, Some(report.video_frames), 0)?;
                    report.decoded_frames
                }
                Some(JobPart::Audio) => {
                    let report = transcode::transcode_scope(
                        &job.input,
                        temp,
                        &preset,
                        transcode::Scope::Audio,
                        &should_stop,
                        on_progress,
                    )?;
                    transcode::segments::verify_part(temp, None, report.audio_tracks)?;
                    0
                }
                Some(JobPart::Join) => join_parts(job, &parts, temp, &preset, &should_stop)?,
            };
            let staged = match &object_output {
                Some(output) => {
                    let size = std::fs::metadata(temp).map_or(0, |m| m.len());
                    crate::storage::check_publishable(output, size).map_err(JobError::from)?;
                    let name = temp.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    let staging = output.sibling(name);
                    Some(
                        crate::storage::stage(temp, &staging, &should_stop)
                            .map_err(JobError::from)?,
                    )
                }
                None => None,
            };
            Ok((frames, staged))
        })();
        encoding_done.store(true, Ordering::SeqCst);
        finished
    });
    let staging = result
        .as_ref()
        .ok()
        .and_then(|(_, staged)| staged.as_ref())
        .map(|staged| staged.staging.clone());
    if lost.load(Ordering::SeqCst) {
        if let Some(staging) = &staging {
            let _ = crate::storage::remove(staging);
        }
        return Err(AttemptError::LeaseLost);
    }
    let (frames, staged) = result?;
    match (&object_output, staged) {
        (Some(output), Some(staged)) => {
            // Published inside the fenced transaction: only the lease holder's copy runs,
            // and the store refuses it if the output exists (unless --force).
            let published = queue.publish_with(lease, &mut || {
                crate::storage::publish(&staged, output, job.replace_output, since)
                    .map_err(JobError::from)
            });
            let _ = crate::storage::remove(&staged.staging);
            let _ = std::fs::remove_file(temp);
            published?;
        }
        _ => queue.publish(lease, temp)?,
    }
    if job.part == Some(JobPart::Join) {
        remove_parts(&job.output, &parts);
    }
    Ok(frames)
}

/// The join of a segmented job: its segments (in order) and audio part copied into `temp`,
/// then checked against the input as a whole (frame count, duration, A/V sync). Returns the
/// frames joined.
fn join_parts(
    job: &Job,
    parts: &[Job],
    temp: &Path,
    preset: &Preset,
    should_stop: &dyn Fn() -> bool,
) -> Result<u64, AttemptError> {
    let mut segments: Vec<transcode::join::JoinSegment> = parts
        .iter()
        .filter_map(|part| match part.part {
            Some(JobPart::Segment { start, .. }) => Some(transcode::join::JoinSegment {
                path: part.output.clone(),
                start,
            }),
            _ => None,
        })
        .collect();
    segments.sort_by_key(|s| s.start);
    let audio = parts
        .iter()
        .find(|part| part.part == Some(JobPart::Audio))
        .map(|part| part.output.as_path());
    // One open of the input for the join and its checks (a film in a bucket costs requests
    // per open). With a fixed output frame rate the input's frame count says nothing; each
    // segment's count was checked when it was made.
    let source = transcode::SourceFacts::read(&job.input, preset.fps.is_none())?;
    let report =
        transcode::join::join(source.video_time_base, &segments, audio, temp, should_stop)?;
    transcode::verify_against(&source, temp, source.video_frames)?;
    transcode::join::check_sync_against(source.spans, temp, transcode::join::SYNC_TOLERANCE)?;
    Ok(report.video_frames)
}

/// Removes a published join's parts and their folder (or prefix); what cannot be removed now
/// is left (a hidden name, never an output).
fn remove_parts(output: &Path, parts: &[Job]) {
    for part in parts {
        match crate::storage::ObjectUrl::of(&part.output) {
            Some(Ok(object)) => {
                let _ = crate::storage::remove(&object);
            }
            Some(Err(_)) => {}
            None => {
                let _ = std::fs::remove_file(&part.output);
            }
        }
    }
    if !crate::storage::is_s3(output) {
        let _ = std::fs::remove_dir(super::parts_folder(output));
    }
}

/// Renews the lease (and stores progress) until the encode ends; flags a lost lease (a job
/// cancelled from outside loses its lease). Every tick until the encode ends it calls
/// `wake`, which interrupts the encode's blocked reads once it should stop: a read can block
/// again after one wake-up, before it sees the stop.
fn heartbeat(
    queue: &mut dyn JobStore,
    lease: &Lease,
    length: Duration,
    progress: &AtomicU64,
    done: &AtomicBool,
    lost: &AtomicBool,
    wake: &dyn Fn(),
) {
    let tick = Duration::from_millis(50);
    // A third of the lease keeps it alive; at least every two seconds keeps the progress that
    // others see (the app's fleet view, `jobs list`) fresh.
    let every = (length / 3).min(Duration::from_secs(2));
    let mut last = Instant::now();
    while !done.load(Ordering::SeqCst) {
        std::thread::sleep(tick);
        wake();
        if lost.load(Ordering::SeqCst) || last.elapsed() < every {
            continue;
        }
        last = Instant::now();
        let fraction = f64::from_bits(progress.load(Ordering::Relaxed));
        match queue.heartbeat(lease.job.id, &lease.token, length, fraction) {
            Ok(true) => {}
            _ => lost.store(true, Ordering::SeqCst),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_matching_prefix_wins_and_whole_components_only() {
        let map = PathMap::new(vec![
            (PathBuf::from("/Volumes/media"), PathBuf::from("/mnt/media")),
            (
                PathBuf::from("/Volumes/media/raw"),
                PathBuf::from("/fast/raw"),
            ),
        ]);
        assert_eq!(
            map.apply(Path::new("/Volumes/media/a.mov")),
            PathBuf::from("/mnt/media/a.mov")
        );
        assert_eq!(
            map.apply(Path::new("/Volumes/media/raw/b.mov")),
            PathBuf::from("/fast/raw/b.mov")
        );
        assert_eq!(
            map.apply(Path::new("/Volumes/mediaX/c.mov")),
            PathBuf::from("/Volumes/mediaX/c.mov")
        );
        assert_eq!(
            map.apply(Path::new("/elsewhere/d.mov")),
            PathBuf::from("/elsewhere/d.mov")
        );
        assert!(parse_path_mapping("/a=/b").is_ok());
        assert!(parse_path_mapping("a=/b").is_err());
        assert!(parse_path_mapping("/a").is_err());
    }
}
