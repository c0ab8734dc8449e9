//! The job table in SQLite (WAL): one machine's queue, the default. Several processes on the
//! machine share it safely; a claim is one `UPDATE … RETURNING` under SQLite's write lock.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

mod schema;
use schema::{migrate, schema_version};

use super::{
    ClaimFilter, Enqueued, Job, JobError, JobPart, JobQuery, JobStatus, JobStore, Lease, NewJob,
    PartsProgress, QueueLocation, SCHEMA_VERSION, StatusCounts, WorkerRow, fenced, new_token,
    now_ms, retry_after, worker_alive,
};

const COLUMNS: &str = "id, input_path, preset, output_path, status, attempts, last_error, progress, lease_owner, lease_expires, temp_path, replace_output,
    parent_id, part, seg_start, seg_end,
    (SELECT COUNT(*) FROM jobs c WHERE c.parent_id = jobs.id AND c.status = 'succeeded'),
    (SELECT COUNT(*) FROM jobs c WHERE c.parent_id = jobs.id)";

/// The index of `crashes` after [`COLUMNS`] in a claim's `RETURNING`.
const CRASHES_COLUMN: usize = 18;

/// The claimable jobs passing a filter: `?1` now, `?2`/`?3` shard count/index (count 0: no
/// shard), `?4` a JSON array of ids (which admit their children too) or NULL. A join is
/// claimable only once every child of it succeeded.
const CLAIMABLE: &str =
    "((status = 'pending' AND not_before <= ?1) OR (status = 'processing' AND lease_expires < ?1))
     AND (?2 = 0 OR id % ?2 = ?3)
     AND (?4 IS NULL OR id IN (SELECT value FROM json_each(?4))
          OR parent_id IN (SELECT value FROM json_each(?4)))
     AND (part IS NOT 'join' OR NOT EXISTS
          (SELECT 1 FROM jobs c WHERE c.parent_id = jobs.id AND c.status != 'succeeded'))";

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
        parent: row.get(12)?,
        part: JobPart::from_columns(
            row.get::<_, Option<String>>(13)?.as_deref(),
            row.get(14)?,
            row.get(15)?,
        ),
        parts: None,
    })
    .and_then(|job| {
        let parts = (job.part == Some(JobPart::Join)).then_some(PartsProgress {
            done: row.get::<_, i64>(16)?.max(0) as u64,
            total: row.get::<_, i64>(17)?.max(0) as u64,
        });
        Ok(Job { parts, ..job })
    })
}

/// The filter's parameters `?2..?4` of [`CLAIMABLE`].
fn filter_params(filter: &ClaimFilter) -> (i64, i64, Option<String>) {
    let (count, index) = filter.shard_parameters();
    let ids = (!filter.ids.is_empty()).then(|| {
        let list: Vec<String> = filter.ids.iter().map(i64::to_string).collect();
        format!("[{}]", list.join(","))
    });
    (count, index, ids)
}

/// A connection to a SQLite job table.
pub struct JobQueue {
    conn: Connection,
    location: QueueLocation,
}

impl JobQueue {
    /// Opens (creating or migrating if needed) the queue at `path`.
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
        let version = loop {
            let setup = conn
                .pragma_update(None, "journal_mode", "WAL")
                .and_then(|()| conn.pragma_update(None, "synchronous", "NORMAL"))
                .and_then(|()| migrate(&conn));
            match setup {
                Ok(version) => break version,
                Err(e) if is_busy(&e) && std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(db(e)),
            }
        };
        if version > SCHEMA_VERSION {
            return Err(JobError::SchemaTooNew {
                location: path.display().to_string(),
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        Ok(JobQueue {
            conn,
            location: QueueLocation::Sqlite(path.to_path_buf()),
        })
    }

    /// Opens the queue at `path` only to read it (`jobs list`, `summary`, `workers`): SQLite
    /// opens the file read-only, so a queue the user may only read (a read-only file, folder
    /// or mount) can be listed, and reading writes nothing there. A queue that does not exist
    /// yet, or whose schema is older than this framekit's, is opened as [`JobQueue::open`]
    /// does (created or migrated: both are writes anyway).
    pub fn open_read_only(path: &Path) -> Result<JobQueue, JobError> {
        if !path.exists() {
            return JobQueue::open(path);
        }
        let db = |source| JobError::Database {
            path: path.display().to_string(),
            source,
        };
        let flags =
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let open = |target: &Path, flags| -> rusqlite::Result<(Connection, Option<i64>)> {
            let conn = Connection::open_with_flags(target, flags)?;
            conn.busy_timeout(Duration::from_secs(30))?;
            let version = schema_version(&conn)?;
            Ok((conn, version))
        };
        let (conn, version) = match open(path, flags) {
            Ok(opened) => opened,
            // A reader of a WAL queue needs its -shm file, and SQLite cannot create one in a
            // folder it may not write. Without a -wal file every committed job is in the main
            // file: read it as it is (`immutable`), which needs neither.
            Err(first) if !sqlite_side_file(path, "-wal").exists() => {
                let uri = PathBuf::from(format!("file:{}?immutable=1", uri_path(path)));
                open(&uri, flags | rusqlite::OpenFlags::SQLITE_OPEN_URI).map_err(|_| db(first))?
            }
            Err(e) => return Err(db(e)),
        };
        match version {
            Some(found) if found > SCHEMA_VERSION => Err(JobError::SchemaTooNew {
                location: path.display().to_string(),
                found,
                known: SCHEMA_VERSION,
            }),
            Some(SCHEMA_VERSION) => Ok(JobQueue {
                conn,
                location: QueueLocation::Sqlite(path.to_path_buf()),
            }),
            _ => {
                drop(conn);
                JobQueue::open(path)
            }
        }
    }

    fn db(&self) -> impl Fn(rusqlite::Error) -> JobError + use<> {
        let path = self.location.to_string();
        move |source| JobError::Database {
            path: path.clone(),
            source,
        }
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE`: it takes the write lock at once).
    fn begin(&mut self) -> Result<rusqlite::Transaction<'_>, JobError> {
        let db = self.db();
        self.conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)
    }

    /// One fenced statement: `?1` id, `?2` token, then `rest`.
    fn fenced_update(
        &mut self,
        lease: &Lease,
        sql: &str,
        rest: &[&dyn rusqlite::ToSql],
    ) -> Result<(), JobError> {
        let mut values: Vec<&dyn rusqlite::ToSql> = vec![&lease.job.id, &lease.token];
        values.extend_from_slice(rest);
        let n = self
            .conn
            .execute(sql, values.as_slice())
            .map_err(self.db())?;
        fenced(n as u64, lease)
    }
}

impl JobStore for JobQueue {
    fn location(&self) -> &QueueLocation {
        &self.location
    }

    fn add(&mut self, job: &NewJob) -> Result<Enqueued, JobError> {
        let db = self.db();
        let now = now_ms();
        let tx = self.begin()?;
        let existing: Option<(i64, String, i64, i64)> = tx
            .query_row(
                "SELECT id, status, input_size, input_mtime_ns FROM jobs WHERE input_path = ?1 AND preset = ?2 AND output_path = ?3",
                params![job.input, job.preset, job.output],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(&db)?;
        let result = match existing {
            None => {
                let (start, end) = job.part.map_or((None, None), JobPart::range);
                tx.execute(
                    "INSERT INTO jobs (input_path, input_size, input_mtime_ns, preset, output_path, status, replace_output, created_at, updated_at,
                     parent_id, part, seg_start, seg_end)
                     VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7, ?7, ?8, ?9, ?10, ?11)",
                    params![job.input, job.input_size, job.input_mtime_ns, job.preset, job.output, i64::from(job.force), now,
                        job.parent, job.part.map(JobPart::as_str), start, end],
                )
                .map_err(&db)?;
                Enqueued::New(tx.last_insert_rowid())
            }
            Some((id, status, old_size, old_mtime)) => {
                let status = JobStatus::parse(&status);
                if job.requeues(status, (old_size, old_mtime)) {
                    // A part requeued for a changed input takes the new cut's range.
                    let (start, end) = job.part.map_or((None, None), JobPart::range);
                    tx.execute(
                        "UPDATE jobs SET status = 'pending', attempts = 0, crashes = 0, last_error = NULL, progress = 0, not_before = 0,
                         input_size = ?2, input_mtime_ns = ?3, replace_output = (replace_output OR ?4), updated_at = ?5,
                         seg_start = ?6, seg_end = ?7 WHERE id = ?1",
                        params![id, job.input_size, job.input_mtime_ns, i64::from(job.force), now, start, end],
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

    fn claim_next(
        &mut self,
        owner: &str,
        lease: Duration,
        filter: &ClaimFilter,
    ) -> Result<Option<Lease>, JobError> {
        let now = now_ms();
        let token = new_token();
        let (count, index, ids) = filter_params(filter);
        // The temporary path is left as it was: it is the dead attempt's, returned so the new
        // holder can clean it up, and replaced by `set_temp`.
        let sql = format!(
            "UPDATE jobs SET status = 'processing', attempts = attempts + 1,
                crashes = crashes + (status = 'processing'), lease_owner = ?5, lease_token = ?6,
                lease_expires = ?7, progress = 0, updated_at = ?1
             WHERE id = (SELECT id FROM jobs WHERE {CLAIMABLE} ORDER BY id LIMIT 1)
             RETURNING {COLUMNS}, crashes"
        );
        let claimed = self
            .conn
            .query_row(
                &sql,
                params![
                    now,
                    count,
                    index,
                    ids,
                    owner,
                    token,
                    now + lease.as_millis() as i64
                ],
                |row| Ok((row_to_job(row)?, row.get::<_, i64>(CRASHES_COLUMN)?)),
            )
            .optional()
            .map_err(self.db())?;
        Ok(claimed.map(|(job, crashes)| Lease {
            stale_temp: job.temp_path.clone(),
            job: Job {
                temp_path: None,
                ..job
            },
            token,
            crashes,
        }))
    }

    fn set_temp(&mut self, lease: &Lease, temp: &Path) -> Result<(), JobError> {
        self.fenced_update(
            lease,
            "UPDATE jobs SET temp_path = ?3 WHERE id = ?1 AND lease_token = ?2 AND status = 'processing'",
            &[&temp.display().to_string()],
        )
    }

    fn heartbeat(
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

    fn publish_with(
        &mut self,
        lease: &Lease,
        place: &mut dyn FnMut() -> Result<(), JobError>,
    ) -> Result<(), JobError> {
        let db = self.db();
        let tx = self.begin()?;
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
        place()?;
        tx.execute(
            "UPDATE jobs SET status = 'succeeded', progress = 1, last_error = NULL, lease_token = NULL, lease_expires = NULL,
             temp_path = NULL, replace_output = 0, updated_at = ?2 WHERE id = ?1",
            params![lease.job.id, now_ms()],
        )
        .map_err(&db)?;
        tx.commit().map_err(&db)
    }

    fn fail(
        &mut self,
        lease: &Lease,
        error: &str,
        permanent: bool,
        retry_delay: Duration,
    ) -> Result<JobStatus, JobError> {
        let now = now_ms();
        let retry = retry_after(lease.job.attempts, permanent, retry_delay);
        let status = match retry {
            Some(_) => JobStatus::Pending,
            None => JobStatus::Failed,
        };
        let not_before = retry.map_or(0, |delay| now + delay);
        self.fenced_update(
            lease,
            "UPDATE jobs SET status = ?3, last_error = ?4, not_before = ?5, lease_token = NULL, lease_expires = NULL,
             temp_path = NULL, updated_at = ?6 WHERE id = ?1 AND lease_token = ?2 AND status = 'processing'",
            &[&status.as_str(), &error, &not_before, &now],
        )?;
        if let (JobStatus::Failed, Some(parent)) = (status, lease.job.parent) {
            // A child that failed for good fails its parent with its reason; its pending
            // siblings are cancelled (succeeded ones are kept for a retry of the parent).
            self.conn
                .execute_batch("BEGIN IMMEDIATE")
                .map_err(self.db())?;
            let done = self
                .conn
                .execute(
                    "UPDATE jobs SET status = 'failed', last_error = ?2, lease_token = NULL, lease_expires = NULL, updated_at = ?3
                     WHERE id = ?1 AND status IN ('pending', 'processing')",
                    params![parent, error, now],
                )
                .and_then(|_| {
                    self.conn.execute(
                        "UPDATE jobs SET status = 'cancelled', updated_at = ?2 WHERE parent_id = ?1 AND status = 'pending'",
                        params![parent, now],
                    )
                });
            let end = if done.is_ok() { "COMMIT" } else { "ROLLBACK" };
            let ended = self.conn.execute_batch(end);
            done.map_err(self.db())?;
            ended.map_err(self.db())?;
        }
        Ok(status)
    }

    fn release(&mut self, lease: &Lease) -> Result<(), JobError> {
        self.fenced_update(
            lease,
            "UPDATE jobs SET status = 'pending', attempts = MAX(attempts - 1, 0), progress = 0, lease_token = NULL,
             lease_expires = NULL, temp_path = NULL, updated_at = ?3 WHERE id = ?1 AND lease_token = ?2 AND status = 'processing'",
            &[&now_ms()],
        )
    }

    fn cancel(&mut self, lease: &Lease) -> Result<(), JobError> {
        self.fenced_update(
            lease,
            "UPDATE jobs SET status = 'cancelled', last_error = NULL, lease_token = NULL, lease_expires = NULL,
             temp_path = NULL, updated_at = ?3 WHERE id = ?1 AND lease_token = ?2 AND status = 'processing'",
            &[&now_ms()],
        )?;
        // A cancelled part cancels its segmented job (and the job's other parts).
        if let Some(parent) = lease.job.parent {
            self.cancel_ids(&[parent])?;
        }
        Ok(())
    }

    fn cancel_ids(&mut self, ids: &[i64]) -> Result<usize, JobError> {
        let db = self.db();
        let tx = self.begin()?;
        let mut count = 0;
        for id in ids {
            count += tx
                .execute(
                    "UPDATE jobs SET status = 'cancelled', last_error = NULL, lease_token = NULL, lease_expires = NULL,
                     updated_at = ?2 WHERE status IN ('pending', 'processing')
                     AND (id = ?1 OR parent_id = ?1 OR id = (SELECT parent_id FROM jobs WHERE id = ?1)
                          OR parent_id = (SELECT parent_id FROM jobs WHERE id = ?1))",
                    params![id, now_ms()],
                )
                .map_err(&db)?;
        }
        tx.commit().map_err(&db)?;
        Ok(count)
    }

    fn held_leases(&mut self) -> Result<Vec<(i64, String)>, JobError> {
        let db = self.db();
        let mut stmt = self
            .conn
            .prepare("SELECT id, lease_owner FROM jobs WHERE status = 'processing' AND lease_owner IS NOT NULL")
            .map_err(&db)?;
        let mapped = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(&db)?;
        mapped.collect::<Result<_, _>>().map_err(&db)
    }

    fn expire_lease(&mut self, id: i64, owner: &str) -> Result<usize, JobError> {
        self.conn
            .execute(
                "UPDATE jobs SET lease_expires = 0 WHERE id = ?1 AND lease_owner = ?2 AND status = 'processing'",
                params![id, owner],
            )
            .map_err(self.db())
    }

    fn is_output(&mut self, path: &Path) -> Result<bool, JobError> {
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

    fn get(&mut self, id: i64) -> Result<Option<Job>, JobError> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"),
                params![id],
                row_to_job,
            )
            .optional()
            .map_err(self.db())
    }

    fn query(&mut self, query: &JobQuery) -> Result<Vec<Job>, JobError> {
        let db = self.db();
        let json_list = |items: Vec<String>| {
            (!items.is_empty()).then(|| serde_json::Value::from(items).to_string())
        };
        let statuses = json_list(query.status_names());
        let ids = json_list(query.ids.iter().map(i64::to_string).collect());
        let order = if query.newest_first { "DESC" } else { "ASC" };
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM jobs
                 WHERE (?1 IS NULL OR status IN (SELECT value FROM json_each(?1)))
                 AND (?2 IS NULL OR id IN (SELECT value FROM json_each(?2)))
                 AND (?4 IS NULL OR parent_id = ?4)
                 ORDER BY id {order} LIMIT ?3"
            ))
            .map_err(&db)?;
        // SQLite reads a negative LIMIT as "no limit".
        let limit = query.limit_value().unwrap_or(-1);
        let mapped = stmt
            .query_map(params![statuses, ids, limit, query.parent], row_to_job)
            .map_err(&db)?;
        mapped.collect::<Result<_, _>>().map_err(&db)
    }

    fn counts(&mut self) -> Result<StatusCounts, JobError> {
        let db = self.db();
        let mut stmt = self
            .conn
            .prepare("SELECT status, COUNT(*) FROM jobs GROUP BY status")
            .map_err(&db)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(&db)?;
        let mut counts = StatusCounts::default();
        for row in rows {
            let (status, count) = row.map_err(&db)?;
            counts.add(&status, count);
        }
        Ok(counts)
    }

    fn next_claimable_in(&mut self, filter: &ClaimFilter) -> Result<Option<Duration>, JobError> {
        let (count, index, ids) = filter_params(filter);
        let earliest: Option<i64> = self
            .conn
            .query_row(
                "SELECT MIN(CASE status WHEN 'pending' THEN not_before ELSE lease_expires END) FROM jobs
                 WHERE status IN ('pending', 'processing') AND (?1 = 0 OR id % ?1 = ?2)
                 AND (?3 IS NULL OR id IN (SELECT value FROM json_each(?3))
                      OR parent_id IN (SELECT value FROM json_each(?3)))
                 AND (part IS NOT 'join' OR NOT EXISTS
                      (SELECT 1 FROM jobs c WHERE c.parent_id = jobs.id AND c.status != 'succeeded'))",
                params![count, index, ids],
                |r| r.get(0),
            )
            .map_err(self.db())?;
        Ok(earliest.map(|at| Duration::from_millis((at - now_ms()).max(0) as u64)))
    }

    fn retry_failed(&mut self, ids: &[i64]) -> Result<usize, JobError> {
        let db = self.db();
        let (_, _, ids) = filter_params(&ClaimFilter::ids(ids));
        self.conn
            .execute(
                "UPDATE jobs SET status = 'pending', attempts = 0, crashes = 0, not_before = 0, last_error = NULL, updated_at = ?1
                 WHERE ((status = 'failed' OR (status = 'cancelled' AND ?2 IS NOT NULL))
                        AND (?2 IS NULL OR id IN (SELECT value FROM json_each(?2))))
                 OR (status IN ('failed', 'cancelled') AND parent_id IN
                     (SELECT p.id FROM jobs p WHERE (p.status = 'failed' OR (p.status = 'cancelled' AND ?2 IS NOT NULL))
                      AND (?2 IS NULL OR p.id IN (SELECT value FROM json_each(?2)))))",
                params![now_ms(), ids],
            )
            .map_err(db)
    }

    fn clear(&mut self, all: bool) -> Result<usize, JobError> {
        let sql = if all {
            "DELETE FROM jobs WHERE status != 'processing'"
        } else {
            "DELETE FROM jobs WHERE status IN ('succeeded', 'failed', 'cancelled')"
        };
        self.conn.execute(sql, []).map_err(self.db())
    }

    fn remove_parts_except(&mut self, parent: i64, keep: &[i64]) -> Result<usize, JobError> {
        let keep = serde_json::to_string(keep).unwrap_or_else(|_| "[]".to_string());
        self.conn
            .execute(
                "DELETE FROM jobs WHERE parent_id = ?1 AND status != 'processing'
                 AND id NOT IN (SELECT value FROM json_each(?2))",
                params![parent, keep],
            )
            .map_err(self.db())
    }

    fn register_worker(&mut self, host: &str, pid: u32) -> Result<i64, JobError> {
        let now = now_ms();
        self.conn
            .query_row(
                "INSERT INTO workers (host, pid, version, started_at, last_heartbeat) VALUES (?1, ?2, ?3, ?4, ?4) RETURNING id",
                params![host, pid, env!("CARGO_PKG_VERSION"), now],
                |r| r.get(0),
            )
            .map_err(self.db())
    }

    fn worker_beat(&mut self, id: i64, running: &str, jobs_done: i64) -> Result<(), JobError> {
        self.conn
            .execute(
                "UPDATE workers SET last_heartbeat = ?2, running = ?3, jobs_done = ?4 WHERE id = ?1",
                params![id, now_ms(), running, jobs_done],
            )
            .map(drop)
            .map_err(self.db())
    }

    fn worker_stopped(&mut self, id: i64) -> Result<(), JobError> {
        self.conn
            .execute(
                "UPDATE workers SET stopped_at = ?2, running = '' WHERE id = ?1",
                params![id, now_ms()],
            )
            .map(drop)
            .map_err(self.db())
    }

    fn workers(&mut self) -> Result<Vec<WorkerRow>, JobError> {
        let db = self.db();
        let now = now_ms();
        let mut stmt = self
            .conn
            .prepare("SELECT id, host, pid, version, started_at, last_heartbeat, stopped_at, jobs_done, running FROM workers ORDER BY id DESC")
            .map_err(&db)?;
        let mapped = stmt
            .query_map([], |r| {
                let last_heartbeat: i64 = r.get(5)?;
                let stopped_at: Option<i64> = r.get(6)?;
                Ok(WorkerRow {
                    id: r.get(0)?,
                    host: r.get(1)?,
                    pid: r.get(2)?,
                    version: r.get(3)?,
                    started_at: r.get(4)?,
                    last_heartbeat,
                    stopped_at,
                    jobs_done: r.get(7)?,
                    running: r.get(8)?,
                    alive: worker_alive(stopped_at, last_heartbeat, now),
                })
            })
            .map_err(&db)?;
        mapped.collect::<Result<_, _>>().map_err(&db)
    }
}

/// `path` with `suffix` appended to its file name (SQLite's `-wal`, `-shm`, `-journal`).
fn sqlite_side_file(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// `path` for a `file:` URI: every byte but unreserved characters and `/` percent-escaped.
fn uri_path(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    absolute
        .to_string_lossy()
        .as_bytes()
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A SQLite error on the queue at `path` in words (SQLite's own, such as "disk I/O error:
/// Error code 4874", say neither what nor where), SQLite's text kept at the end.
pub(super) fn describe_error(error: &rusqlite::Error, path: &str) -> String {
    use rusqlite::ffi;
    let rusqlite::Error::SqliteFailure(failure, _) = error else {
        return error.to_string();
    };
    let what = match failure.extended_code {
        ffi::SQLITE_IOERR_SHMOPEN
        | ffi::SQLITE_IOERR_SHMSIZE
        | ffi::SQLITE_IOERR_SHMMAP
        | ffi::SQLITE_IOERR_SHMLOCK => Some(format!(
            "cannot use its shared-memory file {path}-shm: that file or the queue's folder is \
             not writable, or the file system (a network mount?) cannot share memory"
        )),
        _ => match failure.code {
            rusqlite::ErrorCode::ReadOnly => Some(
                "the queue cannot be written here (no write permission on the file or its \
                 folder, or a read-only mount)"
                    .to_string(),
            ),
            rusqlite::ErrorCode::CannotOpen => Some(
                "cannot open the queue file (does its folder exist, and may framekit read it?)"
                    .to_string(),
            ),
            rusqlite::ErrorCode::PermissionDenied => {
                Some("no permission to use the queue file".to_string())
            }
            rusqlite::ErrorCode::NotADatabase => {
                Some("the file is not a SQLite job queue".to_string())
            }
            rusqlite::ErrorCode::DatabaseCorrupt => {
                Some("the queue file is damaged (SQLite reports it corrupt)".to_string())
            }
            rusqlite::ErrorCode::DiskFull => Some("the disk is full".to_string()),
            rusqlite::ErrorCode::SystemIoFailure => Some(
                "the file system failed a read or write of the queue file (a full disk, a \
                 removed or read-only mount?)"
                    .to_string(),
            ),
            _ => None,
        },
    };
    // Both of SQLite's texts (its message and its code), so that printing the causes after
    // this adds nothing.
    let (message, code) = (error.to_string(), failure.to_string());
    let sqlite = if message == code {
        code
    } else {
        format!("{message}; {code}")
    };
    match what {
        Some(what) => format!("{what} (SQLite: {sqlite})"),
        None => sqlite,
    }
}

/// SQLite's "busy" or "locked": another connection holds the lock for now.
fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}
