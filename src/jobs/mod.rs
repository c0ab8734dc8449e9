//! The job table: every file to transcode is a row with a status (pending, processing,
//! succeeded, failed), an attempt count, the last error, progress and a lease (owner, token,
//! expiry). SQLite (WAL) by default; the statements are the ones a PostgreSQL version would
//! use with `FOR UPDATE SKIP LOCKED` in place of `BEGIN IMMEDIATE`.
//!
//! - Enqueue is idempotent: input + preset + output is unique.
//! - A claim is one `BEGIN IMMEDIATE` transaction and hands out a fresh lease token; a
//!   heartbeat renews it. A job whose lease expired (crashed or killed worker) is claimed
//!   again; on start, this machine's leases held by dead processes are expired at once.
//! - Every later write is fenced by `WHERE id = ? AND lease_token = ?`. Publishing links the
//!   verified temporary file into place inside the fenced transaction, without replacing an
//!   existing file, so a worker that lost its lease can never publish.

pub mod worker;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

/// Attempts before a job is marked failed for good.
pub const MAX_ATTEMPTS: i64 = 3;

/// Attempts lost to a crashed or killed worker (an expired lease) before a job is failed for
/// them: a crash says little about the file, so it gets more chances than an error does.
pub const MAX_CRASHES: i64 = 5;

/// Errors of the job table.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("job queue {path}: {source}")]
    Database {
        path: String,
        source: rusqlite::Error,
    },
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
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Pending,
    Processing,
    Succeeded,
    Failed,
}

impl JobStatus {
    fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Processing => "processing",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
        }
    }

    fn parse(text: &str) -> JobStatus {
        match text {
            "processing" => JobStatus::Processing,
            "succeeded" => JobStatus::Succeeded,
            "failed" => JobStatus::Failed,
            _ => JobStatus::Pending,
        }
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
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
    pub lease_owner: Option<String>,
    /// Unix milliseconds.
    pub lease_expires: Option<i64>,
    pub temp_path: Option<PathBuf>,
    /// Replace an existing output when publishing (set by `--force`).
    pub replace_output: bool,
}

/// A claimed job: only the holder of `token` may write its progress, publish or finish it.
#[derive(Debug, Clone)]
pub struct Lease {
    pub job: Job,
    pub token: String,
    /// The temporary file of an earlier, dead attempt, to clean up.
    pub stale_temp: Option<PathBuf>,
}

/// What enqueueing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    New(i64),
    /// Already queued, running or done: nothing added.
    Existing(i64, JobStatus),
    /// A failed job (or one forced) was put back to pending.
    Requeued(i64),
}

impl Enqueued {
    pub fn id(self) -> i64 {
        match self {
            Enqueued::New(id) | Enqueued::Existing(id, _) | Enqueued::Requeued(id) => id,
        }
    }
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn host_name() -> String {
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

/// The default queue: `$XDG_DATA_HOME/framekit/jobs.sqlite` (or `~/.local/share/...`).
pub fn default_queue_path() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("framekit").join("jobs.sqlite")
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    id             INTEGER PRIMARY KEY,
    input_path     TEXT NOT NULL,
    input_size     INTEGER NOT NULL,
    input_mtime_ns INTEGER NOT NULL,
    preset         TEXT NOT NULL,
    output_path    TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'processing', 'succeeded', 'failed')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT,
    progress       REAL NOT NULL DEFAULT 0,
    not_before     INTEGER NOT NULL DEFAULT 0,
    lease_owner    TEXT,
    lease_token    TEXT,
    lease_expires  INTEGER,
    temp_path      TEXT,
    replace_output INTEGER NOT NULL DEFAULT 0,
    crashes        INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    UNIQUE (input_path, preset, output_path)
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, not_before);
";

const COLUMNS: &str = "id, input_path, preset, output_path, status, attempts, last_error, progress, lease_owner, lease_expires, temp_path, replace_output";

fn row_to_job(row: &rusqlite::Row<'_>) -> rusqlite::Result<Job> {
    Ok(Job {
        id: row.get(0)?,
        input: PathBuf::from(row.get::<_, String>(1)?),
        preset: row.get(2)?,
        output: PathBuf::from(row.get::<_, String>(3)?),
        status: JobStatus::parse(&row.get::<_, String>(4)?),
        attempts: row.get(5)?,
        last_error: row.get(6)?,
        progress: row.get(7)?,
        lease_owner: row.get(8)?,
        lease_expires: row.get(9)?,
        temp_path: row.get::<_, Option<String>>(10)?.map(PathBuf::from),
        replace_output: row.get::<_, i64>(11)? != 0,
    })
}

/// A connection to the job table.
pub struct JobQueue {
    conn: Connection,
    path: PathBuf,
}

impl JobQueue {
    /// Opens (creating if needed) the queue at `path`.
    pub fn open(path: &Path) -> Result<JobQueue, JobError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| JobError::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let db = |source| JobError::Database {
            path: path.display().to_string(),
            source,
        };
        let conn = Connection::open(path).map_err(&db)?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(&db)?;
        // Switching a new file to WAL takes an exclusive lock and SQLite answers "database is
        // locked" at once, without its busy handler, when another process is doing the same:
        // two workers started together both get through after a short wait.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let setup = conn
                .pragma_update(None, "journal_mode", "WAL")
                .and_then(|()| conn.pragma_update(None, "synchronous", "NORMAL"))
                .and_then(|()| conn.execute_batch(SCHEMA));
            let setup = setup.and_then(|()| add_missing_columns(&conn));
            match setup {
                Ok(()) => break,
                Err(e) if is_busy(&e) && std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(db(e)),
            }
        }
        Ok(JobQueue {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE`: it takes the write lock at once, so two
    /// workers never read the same job as free), with this queue's error mapper.
    fn begin(
        &mut self,
    ) -> Result<
        (
            rusqlite::Transaction<'_>,
            impl Fn(rusqlite::Error) -> JobError + use<>,
        ),
        JobError,
    > {
        let path = self.path.display().to_string();
        let db = move |source| JobError::Database {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&db)?;
        Ok((tx, db))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn db(&self) -> impl Fn(rusqlite::Error) -> JobError + '_ {
        move |source| JobError::Database {
            path: self.path.display().to_string(),
            source,
        }
    }

    /// Adds a job unless the same input + preset + output is already there.
    pub fn enqueue(
        &mut self,
        input: &Path,
        preset: &str,
        output: &Path,
        force: bool,
    ) -> Result<Enqueued, JobError> {
        let input = std::fs::canonicalize(input).map_err(|source| JobError::Io {
            path: input.display().to_string(),
            source,
        })?;
        let (size, mtime) = fingerprint(&input).map_err(|source| JobError::Io {
            path: input.display().to_string(),
            source,
        })?;
        let output = std::path::absolute(output).map_err(|source| JobError::Io {
            path: output.display().to_string(),
            source,
        })?;
        let (input_text, output_text) = (input.display().to_string(), output.display().to_string());
        let now = now_ms();
        let (tx, db) = self.begin()?;
        let existing: Option<(i64, String, i64, i64)> = tx
            .query_row(
                "SELECT id, status, input_size, input_mtime_ns FROM jobs WHERE input_path = ?1 AND preset = ?2 AND output_path = ?3",
                params![input_text, preset, output_text],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(&db)?;
        let result = match existing {
            None => {
                tx.execute(
                    "INSERT INTO jobs (input_path, input_size, input_mtime_ns, preset, output_path, status, replace_output, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7, ?7)",
                    params![input_text, size, mtime, preset, output_text, i64::from(force), now],
                )
                .map_err(&db)?;
                Enqueued::New(tx.last_insert_rowid())
            }
            Some((id, status, old_size, old_mtime)) => {
                let status = JobStatus::parse(&status);
                let changed = (old_size, old_mtime) != (size, mtime);
                let requeue = match status {
                    JobStatus::Failed => true,
                    JobStatus::Succeeded => force,
                    JobStatus::Pending => force || changed,
                    JobStatus::Processing => false,
                };
                if requeue {
                    tx.execute(
                        "UPDATE jobs SET status = 'pending', attempts = 0, crashes = 0, last_error = NULL, progress = 0, not_before = 0,
                         input_size = ?2, input_mtime_ns = ?3, replace_output = (replace_output OR ?4), updated_at = ?5 WHERE id = ?1",
                        params![id, size, mtime, i64::from(force), now],
                    )
                    .map_err(&db)?;
                    Enqueued::Requeued(id)
                } else {
                    Enqueued::Existing(id, status)
                }
            }
        };
        tx.commit().map_err(&db)?;
        Ok(result)
    }

    /// Expires the leases that processes on this machine held and that are no longer running,
    /// so their jobs are claimed at once. Returns how many.
    pub fn reclaim_dead_local_leases(&mut self) -> Result<usize, JobError> {
        let prefix = format!("{}:", host_name());
        let rows: Vec<(i64, String)> = {
            let mut stmt = self.conn.prepare("SELECT id, lease_owner FROM jobs WHERE status = 'processing' AND lease_owner IS NOT NULL").map_err(self.db())?;
            let mapped = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(self.db())?;
            mapped.collect::<Result<_, _>>().map_err(self.db())?
        };
        let mut reclaimed = 0;
        for (id, owner) in rows {
            let dead = owner
                .strip_prefix(&prefix)
                .and_then(|pid| pid.parse::<u32>().ok())
                .is_some_and(|pid| !process_alive(pid));
            if dead {
                reclaimed += self
                    .conn
                    .execute("UPDATE jobs SET lease_expires = 0 WHERE id = ?1 AND lease_owner = ?2 AND status = 'processing'", params![id, owner])
                    .map_err(self.db())?;
            }
        }
        Ok(reclaimed)
    }

    /// Claims the next runnable job among `ids` (all jobs when empty) for `owner`.
    pub fn claim(
        &mut self,
        owner: &str,
        lease: Duration,
        ids: &[i64],
    ) -> Result<Option<Lease>, JobError> {
        let now = now_ms();
        let (tx, db) = self.begin()?;
        let candidates: Vec<Job> = {
            let mut stmt = tx
                .prepare(&format!(
                    "SELECT {COLUMNS} FROM jobs WHERE (status = 'pending' AND not_before <= ?1)
                     OR (status = 'processing' AND lease_expires < ?1) ORDER BY id"
                ))
                .map_err(&db)?;
            let mapped = stmt.query_map(params![now], row_to_job).map_err(&db)?;
            mapped.collect::<Result<_, _>>().map_err(&db)?
        };
        let mut claimed = None;
        for job in candidates
            .into_iter()
            .filter(|j| ids.is_empty() || ids.contains(&j.id))
        {
            if let Some(done) = already_published(&job) {
                tx.execute(
                    "UPDATE jobs SET status = 'succeeded', progress = 1, lease_token = NULL, lease_expires = NULL, temp_path = NULL, updated_at = ?2 WHERE id = ?1",
                    params![job.id, now],
                )
                .map_err(&db)?;
                let _ = std::fs::remove_file(done);
                continue;
            }
            // An expired lease: the attempt was lost to a crashed or killed worker.
            let crashed = job.status == JobStatus::Processing;
            if crashed {
                let crashes: i64 = tx
                    .query_row(
                        "UPDATE jobs SET crashes = crashes + 1 WHERE id = ?1 RETURNING crashes",
                        params![job.id],
                        |r| r.get(0),
                    )
                    .map_err(&db)?;
                if crashes >= MAX_CRASHES {
                    tx.execute(
                        "UPDATE jobs SET status = 'failed', last_error = ?2, lease_token = NULL, lease_expires = NULL, updated_at = ?3 WHERE id = ?1",
                        params![job.id, format!("the worker stopped during attempt {} (lease expired; {crashes} attempts lost to crashes)", job.attempts), now],
                    )
                    .map_err(&db)?;
                    if let Some(stale) = &job.temp_path {
                        let _ = std::fs::remove_file(stale);
                    }
                    continue;
                }
            }
            let token = new_token();
            tx.execute(
                "UPDATE jobs SET status = 'processing', attempts = attempts + 1, lease_owner = ?2, lease_token = ?3,
                 lease_expires = ?4, progress = 0, temp_path = NULL, updated_at = ?5 WHERE id = ?1",
                params![job.id, owner, token, now + lease.as_millis() as i64, now],
            )
            .map_err(&db)?;
            let stale_temp = job.temp_path.clone();
            let job = Job {
                status: JobStatus::Processing,
                attempts: job.attempts + 1,
                lease_owner: Some(owner.to_string()),
                temp_path: None,
                ..job
            };
            claimed = Some(Lease {
                job,
                token,
                stale_temp,
            });
            break;
        }
        tx.commit().map_err(&db)?;
        Ok(claimed)
    }

    /// Records the temporary file of this attempt (so a later claim can clean it up).
    pub fn set_temp(&mut self, lease: &Lease, temp: &Path) -> Result<(), JobError> {
        let n = self
            .conn
            .execute(
                "UPDATE jobs SET temp_path = ?3 WHERE id = ?1 AND lease_token = ?2 AND status = 'processing'",
                params![lease.job.id, lease.token, temp.display().to_string()],
            )
            .map_err(self.db())?;
        fenced(n, lease)
    }

    /// Renews the lease and stores progress; false when the lease is no longer ours.
    pub fn heartbeat(
        &mut self,
        id: i64,
        token: &str,
        lease: Duration,
        progress: f64,
    ) -> Result<bool, JobError> {
        let now = now_ms();
        let n = self
            .conn
            .execute(
                "UPDATE jobs SET lease_expires = ?3, progress = ?4, updated_at = ?5 WHERE id = ?1 AND lease_token = ?2 AND status = 'processing'",
                params![id, token, now + lease.as_millis() as i64, progress, now],
            )
            .map_err(self.db())?;
        Ok(n == 1)
    }

    /// Moves the verified `temp` file to the job's output and marks it succeeded, all inside
    /// one transaction fenced by the lease. Never replaces an existing file unless the job was
    /// forced.
    pub fn publish(&mut self, lease: &Lease, temp: &Path) -> Result<(), JobError> {
        let final_path = lease.job.output.clone();
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| JobError::Io { path, source }
        };
        std::fs::File::open(temp)
            .and_then(|f| f.sync_all())
            .map_err(io(temp))?;
        let (tx, db) = self.begin()?;
        let ours: Option<i64> = tx
            .query_row(
                "SELECT id FROM jobs WHERE id = ?1 AND lease_token = ?2 AND status = 'processing'",
                params![lease.job.id, lease.token],
                |r| r.get(0),
            )
            .optional()
            .map_err(&db)?;
        if ours.is_none() {
            return Err(JobError::LostLease(lease.job.id));
        }
        if lease.job.replace_output {
            std::fs::rename(temp, &final_path).map_err(io(&final_path))?;
        } else {
            match std::fs::hard_link(temp, &final_path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    return Err(JobError::OutputExists(final_path.display().to_string()));
                }
                Err(e) => return Err(io(&final_path)(e)),
            }
        }
        if let Some(dir) = final_path.parent() {
            let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
        }
        tx.execute(
            "UPDATE jobs SET status = 'succeeded', progress = 1, last_error = NULL, lease_token = NULL, lease_expires = NULL,
             temp_path = NULL, replace_output = 0, updated_at = ?2 WHERE id = ?1",
            params![lease.job.id, now_ms()],
        )
        .map_err(&db)?;
        tx.commit().map_err(&db)?;
        // The output is in place and recorded; the temporary name is only a second link.
        let _ = std::fs::remove_file(temp);
        Ok(())
    }

    /// Records a failed attempt. A transient failure goes back to pending after
    /// `retry_delay * 2^(attempt-1)` while attempts remain, else fails for good; a permanent
    /// one fails at once. Returns the new status, or `LostLease` when the job is no longer
    /// this lease's (nothing was written).
    pub fn fail(
        &mut self,
        lease: &Lease,
        error: &str,
        permanent: bool,
        retry_delay: Duration,
    ) -> Result<JobStatus, JobError> {
        let now = now_ms();
        let attempts = lease.job.attempts;
        let (status, not_before) = if attempts < MAX_ATTEMPTS && !permanent {
            let factor = 1i64 << (attempts - 1).clamp(0, 16);
            (
                JobStatus::Pending,
                now + retry_delay.as_millis() as i64 * factor,
            )
        } else {
            (JobStatus::Failed, 0)
        };
        let n = self
            .conn
            .execute(
                "UPDATE jobs SET status = ?3, last_error = ?4, not_before = ?5, lease_token = NULL, lease_expires = NULL,
                 temp_path = NULL, updated_at = ?6 WHERE id = ?1 AND lease_token = ?2 AND status = 'processing'",
                params![lease.job.id, lease.token, status.as_str(), error, not_before, now],
            )
            .map_err(self.db())?;
        fenced(n, lease)?;
        Ok(status)
    }

    /// Gives a job back unfinished (the run is stopping): pending again, this attempt not
    /// counted. `LostLease` when the job is no longer this lease's.
    pub fn release(&mut self, lease: &Lease) -> Result<(), JobError> {
        let n = self
            .conn
            .execute(
                "UPDATE jobs SET status = 'pending', attempts = MAX(attempts - 1, 0), progress = 0, lease_token = NULL,
                 lease_expires = NULL, temp_path = NULL, updated_at = ?3 WHERE id = ?1 AND lease_token = ?2 AND status = 'processing'",
                params![lease.job.id, lease.token, now_ms()],
            )
            .map_err(self.db())?;
        fenced(n, lease)
    }

    /// Marks a job failed at the user's request. `LostLease` when it is no longer this lease's.
    pub fn cancel(&mut self, lease: &Lease) -> Result<(), JobError> {
        let n = self
            .conn
            .execute(
                "UPDATE jobs SET status = 'failed', last_error = 'cancelled', lease_token = NULL, lease_expires = NULL,
                 temp_path = NULL, updated_at = ?3 WHERE id = ?1 AND lease_token = ?2 AND status = 'processing'",
                params![lease.job.id, lease.token, now_ms()],
            )
            .map_err(self.db())?;
        fenced(n, lease)
    }

    /// Whether `path` is the output of a job in this queue (framekit's own work).
    pub fn is_output(&self, path: &Path) -> Result<bool, JobError> {
        let Ok(path) = std::path::absolute(path) else {
            return Ok(false);
        };
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM jobs WHERE output_path = ?1",
                params![path.display().to_string()],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
            .map_err(self.db())
    }

    pub fn get(&self, id: i64) -> Result<Option<Job>, JobError> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"),
                params![id],
                row_to_job,
            )
            .optional()
            .map_err(self.db())
    }

    /// Every job, oldest first.
    pub fn list(&self) -> Result<Vec<Job>, JobError> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {COLUMNS} FROM jobs ORDER BY id"))
            .map_err(self.db())?;
        let mapped = stmt.query_map([], row_to_job).map_err(self.db())?;
        mapped.collect::<Result<_, _>>().map_err(self.db())
    }

    /// Failed jobs back to pending with fresh attempts; returns how many.
    pub fn retry_failed(&mut self, ids: &[i64]) -> Result<usize, JobError> {
        let failed: Vec<i64> = self
            .list()?
            .into_iter()
            .filter(|j| j.status == JobStatus::Failed)
            .map(|j| j.id)
            .collect();
        let mut count = 0;
        for id in failed
            .into_iter()
            .filter(|id| ids.is_empty() || ids.contains(id))
        {
            count += self
                .conn
                .execute(
                    "UPDATE jobs SET status = 'pending', attempts = 0, crashes = 0, not_before = 0, last_error = NULL, updated_at = ?2 WHERE id = ?1 AND status = 'failed'",
                    params![id, now_ms()],
                )
                .map_err(self.db())?;
        }
        Ok(count)
    }

    /// Deletes finished jobs (succeeded and failed), or every job not running with `all`.
    pub fn clear(&mut self, all: bool) -> Result<usize, JobError> {
        let sql = if all {
            "DELETE FROM jobs WHERE status != 'processing'"
        } else {
            "DELETE FROM jobs WHERE status IN ('succeeded', 'failed')"
        };
        self.conn.execute(sql, []).map_err(self.db())
    }
}

/// Brings a queue made by an older framekit up to date (columns are only ever added).
fn add_missing_columns(conn: &Connection) -> rusqlite::Result<()> {
    let has_crashes: i64 = conn.query_row(
        "SELECT COUNT(*) FROM pragma_table_info('jobs') WHERE name = 'crashes'",
        [],
        |r| r.get(0),
    )?;
    if has_crashes == 0 {
        conn.execute_batch("ALTER TABLE jobs ADD COLUMN crashes INTEGER NOT NULL DEFAULT 0")?;
    }
    Ok(())
}

/// SQLite's "busy" or "locked": another connection holds the lock for now.
fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// A fenced write updated `rows` rows: one means the lease still held, none that it was lost.
fn fenced(rows: usize, lease: &Lease) -> Result<(), JobError> {
    if rows == 1 {
        Ok(())
    } else {
        Err(JobError::LostLease(lease.job.id))
    }
}

/// For a job found in `processing` whose last attempt linked its output into place but died
/// before recording it: the temporary file that is the same file as the output.
#[cfg(unix)]
fn already_published(job: &Job) -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let temp = job.temp_path.as_ref()?;
    let (t, o) = (
        std::fs::metadata(temp).ok()?,
        std::fs::metadata(&job.output).ok()?,
    );
    (t.dev() == o.dev() && t.ino() == o.ino()).then(|| temp.clone())
}

#[cfg(not(unix))]
fn already_published(_job: &Job) -> Option<PathBuf> {
    None
}

#[cfg(test)]
mod tests;
