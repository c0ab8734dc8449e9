//! The job table: every file to transcode is a row with a status (pending, processing,
//! succeeded, failed, cancelled), an attempt count, the last error, progress and a lease
//! (owner, token, expiry). One [`JobStore`] trait, two backends chosen by the queue's location
//! ([`QueueLocation`]): SQLite for one machine (`sqlite/`, the default) and PostgreSQL for a
//! fleet of workers on many machines (`postgres/`).
//!
//! - Enqueue is idempotent: input + preset + output is unique.
//! - A claim is one statement (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: one write
//!   statement under its database lock) and hands out a fresh lease token; a heartbeat renews
//!   it. A job whose lease expired (crashed, killed or stopped worker) is claimed again; on
//!   start, this machine's leases held by dead processes are expired at once.
//! - Every later write is fenced by `WHERE id = ? AND lease_token = ?`. Publishing links the
//!   verified temporary file into place inside the fenced transaction, without replacing an
//!   existing file, so a worker that lost its lease can never publish.
//! - Each backend creates and migrates its own schema and records its version; a schema newer
//!   than this binary knows is refused with [`JobError::SchemaTooNew`].
//! - [`worker`] runs jobs; [`watch`] reads a queue from outside (the app's fleet view).
//! - `location.rs` reads and shows a queue's location ([`QueueLocation`]); `status.rs` holds
//!   [`JobStatus`], [`JobQuery`] and [`StatusCounts`]; this file the rows, the [`JobStore`]
//!   trait and what every backend shares (claim settling, publishing, lease owners).
//! - Worker processes register a row (host, pid, version, started, last heartbeat) so
//!   `framekit jobs workers` can tell live workers from dead ones.

mod location;
pub mod postgres;
pub mod sqlite;
mod status;
pub mod watch;
pub mod worker;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

pub use location::{QueueLocation, default_queue_path, redact_password};
pub use sqlite::JobQueue;
pub use status::{JobQuery, JobStatus, StatusCounts};

/// Attempts before a job is marked failed for good.
pub const MAX_ATTEMPTS: i64 = 3;

/// Attempts lost to a crashed or killed worker (an expired lease) before a job is failed for
/// them: a crash says little about the file, so it gets more chances than an error does.
pub const MAX_CRASHES: i64 = 5;

/// The schema version this binary creates and understands (1 was the unversioned SQLite
/// table of the first release; 3 added the `cancelled` status, which 2 stored as failed with
/// the error "cancelled"; 4 added segmented transcoding: a job's parent, its part and its
/// segment's time range).
pub const SCHEMA_VERSION: i64 = 4;

/// What part of a segmented transcode a job is (none: a whole file, the usual job).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum JobPart {
    /// The video frames with pts in `[start, end)` (the input's video time base; `end`
    /// `None`: to the end), encoded from the keyframe at `start`.
    Segment { start: i64, end: Option<i64> },
    /// Every audio track of the input.
    Audio,
    /// The parent: joins its children's outputs into its own output once they all succeeded.
    Join,
}

impl JobPart {
    fn as_str(self) -> &'static str {
        match self {
            JobPart::Segment { .. } => "segment",
            JobPart::Audio => "audio",
            JobPart::Join => "join",
        }
    }

    /// The part stored as `kind` with a segment's `start` and `end`.
    fn from_columns(kind: Option<&str>, start: Option<i64>, end: Option<i64>) -> Option<JobPart> {
        match kind? {
            "segment" => Some(JobPart::Segment {
                start: start.unwrap_or(0),
                end,
            }),
            "audio" => Some(JobPart::Audio),
            "join" => Some(JobPart::Join),
            _ => None,
        }
    }

    /// `(start, end)` columns.
    fn range(self) -> (Option<i64>, Option<i64>) {
        match self {
            JobPart::Segment { start, end } => (Some(start), end),
            _ => (None, None),
        }
    }
}

/// A segmented job's children: how many succeeded of how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PartsProgress {
    pub done: u64,
    pub total: u64,
}

/// A worker that has not beaten for this long is listed as dead.
pub const WORKER_DEAD_AFTER: Duration = Duration::from_secs(30);

/// Errors of the job table.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("job queue {path}: {}", sqlite::describe_error(source, path))]
    Database {
        path: String,
        source: rusqlite::Error,
    },
    #[error("job queue {url}: {source}")]
    Postgres {
        url: String,
        source: ::postgres::Error,
    },
    #[error(
        "job queue {location}: its schema is version {found}, newer than this framekit knows ({known}); upgrade framekit"
    )]
    SchemaTooNew {
        location: String,
        found: i64,
        known: i64,
    },
    #[error("\"{0}\" is not a job queue: give a file path, sqlite:PATH or postgres://USER@HOST/DB")]
    BadLocation(String),
    #[error(
        "the queue looks like a key=value connection string, which is neither a path nor a URL: write postgres://USER:PASSWORD@HOST/DB (or ./NAME for a file whose name has '=')"
    )]
    ConnectionString,
    #[error(
        "job queue {url}: the server accepted the connection but did not answer within {seconds} s (connect_timeout in the URL sets this)"
    )]
    PostgresSilent { url: String, seconds: u64 },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}: output already exists; not replacing it (use --force to redo and replace)")]
    OutputExists(String),
    #[error("job {0} lost its lease to another worker")]
    LostLease(i64),
    #[error("a transcode worker stopped unexpectedly; its job resumes on the next run")]
    WorkerPanicked,
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    pub id: i64,
    pub input: PathBuf,
    pub preset: String,
    pub output: PathBuf,
    pub status: JobStatus,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub progress: f64,
    /// `host:pid` of the worker holding the lease.
    pub lease_owner: Option<String>,
    /// Unix milliseconds.
    pub lease_expires: Option<i64>,
    pub temp_path: Option<PathBuf>,
    /// Replace an existing output when publishing (set by `--force`).
    pub replace_output: bool,
    /// The segmented job this one is part of.
    pub parent: Option<i64>,
    /// Which part of a segmented job this is (`None`: a whole file).
    pub part: Option<JobPart>,
    /// For a segmented job (the join): its children done and in all.
    pub parts: Option<PartsProgress>,
}

/// A claimed job: only the holder of `token` may write its progress, publish or finish it.
#[derive(Debug, Clone)]
pub struct Lease {
    pub job: Job,
    pub token: String,
    /// The temporary file of an earlier, dead attempt, to clean up.
    pub stale_temp: Option<PathBuf>,
    /// Attempts of this job lost to crashed workers so far (this claim included).
    pub crashes: i64,
}

/// What enqueueing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    New(i64),
    /// Already queued, running or done: nothing added.
    Existing(i64, JobStatus),
    /// A failed or cancelled job (or one forced) was put back to pending.
    Requeued(i64),
}

impl Enqueued {
    pub fn id(self) -> i64 {
        match self {
            Enqueued::New(id) | Enqueued::Existing(id, _) | Enqueued::Requeued(id) => id,
        }
    }
}

/// Which jobs a claim may take.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimFilter {
    /// Only these ids and their children (the parts of a segmented job; any job when empty).
    pub ids: Vec<i64>,
    /// `(index, count)`: only jobs with `id % count == index`.
    pub shard: Option<Shard>,
}

impl ClaimFilter {
    pub fn ids(ids: &[i64]) -> ClaimFilter {
        ClaimFilter {
            ids: ids.to_vec(),
            shard: None,
        }
    }

    /// The shard as `(count, index)` statement parameters; `(0, 0)` for none.
    fn shard_parameters(&self) -> (i64, i64) {
        self.shard.map_or((0, 0), |s| (s.count, s.index))
    }

    /// Whether `id` (a child of `parent`) passes this filter.
    pub fn admits(&self, id: i64, parent: Option<i64>) -> bool {
        (self.ids.is_empty()
            || self.ids.contains(&id)
            || parent.is_some_and(|p| self.ids.contains(&p)))
            && self.shard.is_none_or(|s| id.rem_euclid(s.count) == s.index)
    }
}

/// `--shard I/N`: this worker takes the jobs with `id % N = I`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: i64,
    pub count: i64,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let (index, count) = text
            .split_once('/')
            .ok_or_else(|| format!("\"{text}\" is not a shard: write I/N, for example 0/4"))?;
        let parse = |t: &str| t.trim().parse::<i64>().ok();
        match (parse(index), parse(count)) {
            (Some(index), Some(count)) if count >= 1 && (0..count).contains(&index) => {
                Ok(Shard { index, count })
            }
            _ => Err(format!(
                "\"{text}\" is not a shard: I/N needs N >= 1 and 0 <= I < N"
            )),
        }
    }
}

/// A job to add, checked and made absolute by [`NewJob::prepare`].
#[derive(Debug, Clone)]
pub struct NewJob {
    pub input: String,
    pub input_size: i64,
    pub input_mtime_ns: i64,
    pub preset: String,
    pub output: String,
    pub force: bool,
    /// The segmented job this one is part of (a child).
    pub parent: Option<i64>,
    /// Which part this is (`None`: a whole file).
    pub part: Option<JobPart>,
}

impl NewJob {
    /// Resolves the input (which must exist) and the output to absolute paths and takes the
    /// input's size and modification time, so a changed input is noticed. An `s3://` input
    /// or output stays as written; an object's fingerprint is its size and time in the store.
    pub fn prepare(
        input: &Path,
        preset: &str,
        output: &Path,
        force: bool,
    ) -> Result<NewJob, JobError> {
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| JobError::Io { path, source }
        };
        let (input, (input_size, input_mtime_ns)) = match crate::storage::ObjectUrl::of(input) {
            Some(object) => {
                let object = object?;
                let info = crate::storage::head(&object)?;
                let mtime = info
                    .modified
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as i64);
                (object.to_string(), (info.size as i64, mtime))
            }
            None => {
                let input = std::fs::canonicalize(input).map_err(io(input))?;
                let fingerprint = fingerprint(&input).map_err(io(&input))?;
                (input.display().to_string(), fingerprint)
            }
        };
        let output = match crate::storage::ObjectUrl::of(output) {
            Some(object) => PathBuf::from(object?.to_string()),
            None => std::path::absolute(output).map_err(io(output))?,
        };
        Ok(NewJob {
            input,
            input_size,
            input_mtime_ns,
            preset: preset.to_string(),
            output: output.display().to_string(),
            force,
            parent: None,
            part: None,
        })
    }

    /// What an existing row with `status` and fingerprint `old` becomes when this job is
    /// enqueued again: true to put it back to pending.
    fn requeues(&self, status: JobStatus, old: (i64, i64)) -> bool {
        let changed = old != (self.input_size, self.input_mtime_ns);
        match status {
            JobStatus::Failed | JobStatus::Cancelled => true,
            // A finished part of an input that changed since is stale: the join would fail.
            JobStatus::Succeeded => self.force || (self.parent.is_some() && changed),
            JobStatus::Pending => self.force || changed,
            JobStatus::Processing => false,
        }
    }
}

/// A worker process as registered in the table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkerRow {
    pub id: i64,
    pub host: String,
    pub pid: i64,
    pub version: String,
    /// Unix milliseconds.
    pub started_at: i64,
    pub last_heartbeat: i64,
    pub stopped_at: Option<i64>,
    pub jobs_done: i64,
    /// Ids of the jobs it runs now, comma-separated.
    pub running: String,
    /// Beat within [`WORKER_DEAD_AFTER`] and not stopped.
    pub alive: bool,
}

/// A worker is live when it has not stopped and beat within [`WORKER_DEAD_AFTER`] of `now`
/// (all Unix milliseconds, on the backend's clock).
fn worker_alive(stopped_at: Option<i64>, last_heartbeat: i64, now: i64) -> bool {
    stopped_at.is_none() && now - last_heartbeat < WORKER_DEAD_AFTER.as_millis() as i64
}

/// The job table, on whichever backend. Every write that follows a claim is fenced by the
/// lease token and answers [`JobError::LostLease`] when the job is no longer the caller's.
pub trait JobStore: Send {
    /// Where this store is, for messages.
    fn location(&self) -> &QueueLocation;

    /// Adds a prepared job unless the same input + preset + output is there (then requeues
    /// it when `NewJob::requeues` says so).
    fn add(&mut self, job: &NewJob) -> Result<Enqueued, JobError>;

    /// Claims the next runnable job that passes `filter` in one statement, counting a crash
    /// when it was an expired lease; no settling of crashed or already published jobs.
    fn claim_next(
        &mut self,
        owner: &str,
        lease: Duration,
        filter: &ClaimFilter,
    ) -> Result<Option<Lease>, JobError>;

    /// Records the temporary file of this attempt (so a later claim can clean it up).
    fn set_temp(&mut self, lease: &Lease, temp: &Path) -> Result<(), JobError>;

    /// Renews the lease and stores progress; false when the lease is no longer ours.
    fn heartbeat(
        &mut self,
        id: i64,
        token: &str,
        lease: Duration,
        progress: f64,
    ) -> Result<bool, JobError>;

    /// Runs `place` (which puts the output file in place) inside a transaction that holds the
    /// job's row while the lease is still ours, then marks the job succeeded. `LostLease`
    /// without running `place` when the lease is gone.
    fn publish_with(
        &mut self,
        lease: &Lease,
        place: &mut dyn FnMut() -> Result<(), JobError>,
    ) -> Result<(), JobError>;

    /// Records a failed attempt. A transient failure goes back to pending after
    /// `retry_delay * 2^(attempt-1)` while attempts remain, else fails for good; a permanent
    /// one fails at once. Returns the new status.
    fn fail(
        &mut self,
        lease: &Lease,
        error: &str,
        permanent: bool,
        retry_delay: Duration,
    ) -> Result<JobStatus, JobError>;

    /// Gives a job back unfinished (the run is stopping): pending again, this attempt not
    /// counted.
    fn release(&mut self, lease: &Lease) -> Result<(), JobError>;

    /// Marks a job cancelled at the user's request (from the worker holding it).
    fn cancel(&mut self, lease: &Lease) -> Result<(), JobError>;

    /// Cancels jobs by id from outside (`framekit jobs cancel`): pending and running ones
    /// become cancelled; a running one's lease is revoked, so its worker stops at its next
    /// heartbeat and publishes nothing. A segmented job is cancelled with its parts, and
    /// cancelling a part cancels its job and the other parts. Returns how many.
    fn cancel_ids(&mut self, ids: &[i64]) -> Result<usize, JobError>;

    /// The running jobs and their lease owners, `(id, host:pid)`.
    fn held_leases(&mut self) -> Result<Vec<(i64, String)>, JobError>;

    /// Expires the lease of job `id` held by `owner` (a dead local process).
    fn expire_lease(&mut self, id: i64, owner: &str) -> Result<usize, JobError>;

    /// Whether `path` is the output of a job in this queue (framekit's own work).
    fn is_output(&mut self, path: &Path) -> Result<bool, JobError>;

    fn get(&mut self, id: i64) -> Result<Option<Job>, JobError>;

    /// Every job, oldest first.
    fn list(&mut self) -> Result<Vec<Job>, JobError> {
        self.query(&JobQuery::default())
    }

    /// The jobs `query` selects, in id order (its limit applied after the order).
    fn query(&mut self, query: &JobQuery) -> Result<Vec<Job>, JobError>;

    /// The jobs with these ids, oldest first; none for no ids (where a query's empty id list
    /// means every job).
    fn jobs_with_ids(&mut self, ids: &[i64]) -> Result<Vec<Job>, JobError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.query(&JobQuery::ids(ids))
    }

    /// How many jobs are in each state (counted in the database).
    fn counts(&mut self) -> Result<StatusCounts, JobError>;

    /// How long until a job passing `filter` can be claimed: zero when one can now, the time
    /// to the earliest retry delay or lease expiry otherwise, `None` when no job is open.
    fn next_claimable_in(&mut self, filter: &ClaimFilter) -> Result<Option<Duration>, JobError>;

    /// Failed jobs back to pending with fresh attempts; returns how many. With no `ids`, every
    /// failed job (a cancelled one stays cancelled); with `ids`, those of them that failed or
    /// were cancelled (the user names the job to run again).
    fn retry_failed(&mut self, ids: &[i64]) -> Result<usize, JobError>;

    /// Deletes finished jobs (succeeded, failed and cancelled), or every job not running with
    /// `all`.
    fn clear(&mut self, all: bool) -> Result<usize, JobError>;

    /// Deletes the children of segmented job `parent` other than `keep` (parts of an earlier
    /// cut of an input that changed), except those running; returns how many went.
    fn remove_parts_except(&mut self, parent: i64, keep: &[i64]) -> Result<usize, JobError>;

    /// Registers this process as a worker; returns its row id.
    fn register_worker(&mut self, host: &str, pid: u32) -> Result<i64, JobError>;

    /// A worker's heartbeat: alive, running `running` (job ids), `jobs_done` so far.
    fn worker_beat(&mut self, id: i64, running: &str, jobs_done: i64) -> Result<(), JobError>;

    /// A worker stopping cleanly.
    fn worker_stopped(&mut self, id: i64) -> Result<(), JobError>;

    /// Every registered worker, newest first.
    fn workers(&mut self) -> Result<Vec<WorkerRow>, JobError>;

    /// Adds a job unless the same input + preset + output is already there.
    fn enqueue(
        &mut self,
        input: &Path,
        preset: &str,
        output: &Path,
        force: bool,
    ) -> Result<Enqueued, JobError> {
        let job = NewJob::prepare(input, preset, output, force)?;
        self.add(&job)
    }

    /// [`JobStore::enqueue`], cut into segments when `segment` is given and the input is longer
    /// than it ([`crate::transcode::segments::plan`]): the job itself becomes the join (its
    /// output is the file's output), with one child job per segment and one for the audio,
    /// whose outputs go to a hidden folder (or prefix) beside the output
    /// ([`parts_folder`]). A file that cannot be planned (too short, no keyframe to cut at, or
    /// not readable now: the worker then reports why) is one whole job. Idempotent like
    /// `enqueue`: the children of a requeued job are added again, which keeps those that
    /// succeeded.
    fn enqueue_segmented(
        &mut self,
        input: &Path,
        preset: &str,
        output: &Path,
        force: bool,
        segment: Option<Duration>,
    ) -> Result<Enqueued, JobError> {
        let mut job = NewJob::prepare(input, preset, output, force)?;
        let plan = segment.and_then(|length| {
            crate::transcode::segments::plan(Path::new(&job.input), length)
                .ok()
                .flatten()
        });
        let Some(plan) = plan else {
            return self.add(&job);
        };
        job.part = Some(JobPart::Join);
        let outcome = self.add(&job)?;
        let Some(existing) = self.get(outcome.id())? else {
            return Ok(outcome);
        };
        // A job first enqueued whole stays whole; an existing segmented job keeps its parts
        // (unless an enqueue stopped between adding it and adding them).
        let has_parts = existing.parts.is_some_and(|p| p.total > 0);
        let add_parts = match outcome {
            Enqueued::New(_) | Enqueued::Requeued(_) => true,
            Enqueued::Existing(_, status) => !has_parts && !status.is_finished(),
        };
        if existing.part != Some(JobPart::Join) || !add_parts {
            return Ok(outcome);
        }
        let id = existing.id;
        let folder = parts_folder(Path::new(&job.output));
        let mut children: Vec<(PathBuf, JobPart)> = plan
            .ranges
            .iter()
            .enumerate()
            .map(|(i, &(start, end))| {
                (
                    folder.join(format!("v{:05}.mp4", i + 1)),
                    JobPart::Segment { start, end },
                )
            })
            .collect();
        if plan.has_audio {
            children.push((folder.join("audio.mp4"), JobPart::Audio));
        }
        let mut kept = Vec::with_capacity(children.len());
        for (path, part) in children {
            let child = self.add(&NewJob {
                output: path.display().to_string(),
                parent: Some(id),
                part: Some(part),
                ..job.clone()
            })?;
            kept.push(child.id());
        }
        // An input that changed since it was cut may be cut into fewer parts now.
        let stale = self.remove_parts_except(id, &kept)?;
        if stale > 0 {
            tracing::info!(job = id, stale, "parts of an earlier cut removed");
        }
        Ok(outcome)
    }

    /// Claims the next runnable job: [`JobStore::claim_next`], then settles what needs no
    /// encode: a job whose dead attempt had already linked its output is marked succeeded; a
    /// job lost to [`MAX_CRASHES`] crashes is failed and its temporary file removed.
    fn claim(
        &mut self,
        owner: &str,
        lease: Duration,
        filter: &ClaimFilter,
    ) -> Result<Option<Lease>, JobError> {
        loop {
            let Some(claimed) = self.claim_next(owner, lease, filter)? else {
                return Ok(None);
            };
            if let Some(done) = already_published(&claimed) {
                let id = claimed.job.id;
                self.publish_with(&claimed, &mut || Ok(()))?;
                let _ = std::fs::remove_file(done);
                tracing::info!(job = id, "found published by an earlier attempt");
                continue;
            }
            if claimed.crashes >= MAX_CRASHES {
                let message = format!(
                    "the worker stopped during attempt {} (lease expired; {} attempts lost to crashes)",
                    claimed.job.attempts - 1,
                    claimed.crashes
                );
                self.fail(&claimed, &message, true, Duration::ZERO)?;
                if let Some(stale) = &claimed.stale_temp {
                    let _ = std::fs::remove_file(stale);
                }
                continue;
            }
            return Ok(Some(claimed));
        }
    }

    /// Moves the verified `temp` file to the job's output and marks it succeeded, fenced by
    /// the lease. Never replaces an existing file unless the job was forced.
    fn publish(&mut self, lease: &Lease, temp: &Path) -> Result<(), JobError> {
        std::fs::File::open(temp)
            .and_then(|f| f.sync_all())
            .map_err(|source| JobError::Io {
                path: temp.display().to_string(),
                source,
            })?;
        let output = lease.job.output.clone();
        let replace = lease.job.replace_output;
        self.publish_with(lease, &mut || link_into_place(temp, &output, replace))?;
        // The output is in place and recorded; the temporary name is only a second link.
        let _ = std::fs::remove_file(temp);
        Ok(())
    }

    /// Expires the leases that processes on this machine held and that are no longer running,
    /// so their jobs are claimed at once. Returns how many.
    fn reclaim_dead_local_leases(&mut self) -> Result<usize, JobError> {
        let prefix = format!("{}:", host_name());
        let mut reclaimed = 0;
        for (id, owner) in self.held_leases()? {
            let dead = owner
                .strip_prefix(&prefix)
                .and_then(|pid| pid.parse::<u32>().ok())
                .is_some_and(|pid| !process_alive(pid));
            if dead {
                reclaimed += self.expire_lease(id, &owner)?;
            }
        }
        Ok(reclaimed)
    }
}

/// The hidden folder (or object prefix) beside `output` where a segmented job's parts are
/// written until the join publishes `output`: `.NAME.framekit-parts`.
pub fn parts_folder(output: &Path) -> PathBuf {
    let name = output
        .file_name()
        .map_or("output.mp4".into(), |n| n.to_string_lossy().into_owned());
    output.with_file_name(format!(".{name}.framekit-parts"))
}

/// A fenced write updated `rows` rows: one means the lease still held, none that it was lost.
fn fenced(rows: u64, lease: &Lease) -> Result<(), JobError> {
    if rows == 1 {
        Ok(())
    } else {
        Err(JobError::LostLease(lease.job.id))
    }
}

/// Links `temp` to `output` (never replacing a file unless `replace`), then syncs the folder.
/// Idempotent: an output that already is `temp` (a retried publish) is fine.
fn link_into_place(temp: &Path, output: &Path, replace: bool) -> Result<(), JobError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| JobError::Io { path, source }
    };
    if replace {
        std::fs::rename(temp, output).map_err(io(output))?;
    } else {
        match std::fs::hard_link(temp, output) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if !same_file(temp, output) {
                    return Err(JobError::OutputExists(output.display().to_string()));
                }
            }
            Err(e) => return Err(io(output)(e)),
        }
    }
    if let Some(dir) = output.parent() {
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// This machine's name (`/etc/hostname`, else `$HOSTNAME`).
pub fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_string())
}

/// This process as a lease owner: `host:pid`.
pub fn lease_owner() -> String {
    format!("{}:{}", host_name(), std::process::id())
}

fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

/// A fresh, unguessable-enough lease token.
fn new_token() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in format!("{nanos}:{}:{count}:{}", std::process::id(), host_name()).bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}{count:04x}")
}

/// Size and modification time: enough to notice an input that changed.
fn fingerprint(path: &Path) -> std::io::Result<(i64, i64)> {
    let meta = std::fs::metadata(path)?;
    let mtime = meta
        .modified()?
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    Ok((meta.len() as i64, mtime))
}

/// The retry time of a failed attempt: `retry_delay * 2^(attempt-1)` after now, or `None`
/// when the job fails for good.
fn retry_after(attempts: i64, permanent: bool, retry_delay: Duration) -> Option<i64> {
    (attempts < MAX_ATTEMPTS && !permanent).then(|| {
        let factor = 1i64 << (attempts - 1).clamp(0, 16);
        retry_delay.as_millis() as i64 * factor
    })
}

#[cfg(unix)]
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_a: &Path, _b: &Path) -> bool {
    false
}

/// For a job claimed back from a dead attempt that linked its output into place but died
/// before recording it: that attempt's temporary file (the same file as the output).
fn already_published(lease: &Lease) -> Option<PathBuf> {
    let temp = lease.stale_temp.as_ref()?;
    same_file(temp, &lease.job.output).then(|| temp.clone())
}
