//! The job table in PostgreSQL, for a fleet of workers on many machines. Claims are one
//! `UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING …`, so workers
//! never wait on each other's rows; lease times come from the server's clock, so machines with
//! skewed clocks agree on when a lease expired. A dropped connection (a restarted server, a
//! network blip) is reopened with growing delays for [`RECONNECT_FOR`] before an operation
//! gives up; a server that was never reachable is reported at once.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use postgres::error::SqlState;
use postgres::{Client, NoTls, Row};

mod schema;

use super::{
    ClaimFilter, Enqueued, Job, JobError, JobPart, JobQuery, JobStatus, JobStore, Lease, NewJob,
    PartsProgress, QueueLocation, SCHEMA_VERSION, StatusCounts, WorkerRow, fenced, new_token,
    retry_after, worker_alive,
};

/// How long an operation keeps reconnecting before it reports the server as gone.
pub const RECONNECT_FOR: Duration = Duration::from_secs(120);

/// How long connecting may take, the handshake and first statement included, unless the URL
/// sets `connect_timeout`: a server that accepts the connection and never answers is reported
/// (or, once connected before, retried) after this, not waited on for ever.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest any statement may run on the server (`statement_timeout`, set on every
/// connection). framekit's statements take milliseconds; a claim waits on no lock
/// (`SKIP LOCKED`).
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(60);

/// TCP keepalives and the TCP user timeout: a server or network that vanishes mid-statement
/// (unacknowledged data, unanswered probes) breaks the connection within about this long, so
/// the operation reconnects (and the worker logs it) instead of hanging.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(15);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);
const KEEPALIVE_RETRIES: u32 = 3;
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(30);

/// The server's clock in Unix milliseconds.
const NOW: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

const COLUMNS: &str = "id, input_path, preset, output_path, status, attempts, last_error, progress, lease_owner, lease_expires, temp_path, replace_output,
    parent_id, part, seg_start, seg_end,
    (SELECT COUNT(*) FROM framekit_jobs c WHERE c.parent_id = framekit_jobs.id AND c.status = 'succeeded'),
    (SELECT COUNT(*) FROM framekit_jobs c WHERE c.parent_id = framekit_jobs.id)";

/// The index of `crashes` after [`COLUMNS`] in a claim's `RETURNING`.
const CRASHES_COLUMN: usize = 18;

/// A join is claimable only once every child of it succeeded.
const JOIN_READY: &str = "(part IS DISTINCT FROM 'join' OR NOT EXISTS
    (SELECT 1 FROM framekit_jobs c WHERE c.parent_id = framekit_jobs.id AND c.status <> 'succeeded'))";

/// Jobs passing a filter: `$1` shard count (0: none), `$2` shard index, `$3` ids (empty: any;
/// an id admits its children too).
const FILTER: &str = "(CASE WHEN $1::bigint = 0 THEN true ELSE id % $1::bigint = $2::bigint END)
     AND (cardinality($3::bigint[]) = 0 OR id = ANY($3::bigint[]) OR parent_id = ANY($3::bigint[]))";

fn row_to_job(row: &Row) -> Job {
    Job {
        id: row.get(0),
        input: PathBuf::from(row.get::<_, String>(1)),
        preset: row.get(2),
        output: PathBuf::from(row.get::<_, String>(3)),
        status: JobStatus::parse(row.get(4)),
        attempts: row.get(5),
        last_error: row.get(6),
        progress: row.get(7),
        lease_owner: row.get(8),
        lease_expires: row.get(9),
        temp_path: row.get::<_, Option<String>>(10).map(PathBuf::from),
        replace_output: row.get(11),
        parent: row.get(12),
        part: JobPart::from_columns(row.get(13), row.get(14), row.get(15)),
        parts: (row.get::<_, Option<&str>>(13) == Some("join")).then(|| PartsProgress {
            done: row.get::<_, i64>(16).max(0) as u64,
            total: row.get::<_, i64>(17).max(0) as u64,
        }),
    }
}

/// An operation's failure: the database's, the job table's own (a lost lease, a file), or a
/// server that did not answer the connection within the connect timeout.
enum Step {
    Db(postgres::Error),
    Job(JobError),
    Silent,
}

impl From<postgres::Error> for Step {
    fn from(error: postgres::Error) -> Step {
        Step::Db(error)
    }
}

impl From<JobError> for Step {
    fn from(error: JobError) -> Step {
        Step::Job(error)
    }
}

/// Whether `error` means the connection is gone (reconnect and retry) rather than a statement
/// that failed.
fn connection_lost(error: &postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    match error.code() {
        Some(code) => [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::CONNECTION_FAILURE,
            SqlState::CONNECTION_EXCEPTION,
        ]
        .contains(code),
        // No SQLSTATE: an I/O or protocol error on the socket.
        None => true,
    }
}

/// A connection to a PostgreSQL job table.
pub struct PgQueue {
    config: postgres::Config,
    client: Option<Client>,
    location: QueueLocation,
    /// Whether a connection was ever made: only then is a lost one waited for (a server that
    /// was never reachable is a configuration error, reported at once).
    connected_once: bool,
}

impl PgQueue {
    /// Connects to `url` (retrying for [`RECONNECT_FOR`] while the server is unreachable) and
    /// creates or checks the schema. Connecting is bounded by the URL's `connect_timeout`
    /// (else [`CONNECT_TIMEOUT`]), statements by [`STATEMENT_TIMEOUT`]; no message shows the
    /// password.
    pub fn connect(url: &str) -> Result<PgQueue, JobError> {
        let location = QueueLocation::Postgres(url.to_string());
        let mut config = postgres::Config::from_str(url).map_err(|source| JobError::Postgres {
            url: location.to_string(),
            source,
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(TCP_USER_TIMEOUT);
        }
        if config.get_keepalives_interval().is_none() {
            config.keepalives_interval(KEEPALIVE_INTERVAL);
        }
        if config.get_keepalives_retries().is_none() {
            config.keepalives_retries(KEEPALIVE_RETRIES);
        }
        config
            .keepalives(true)
            .keepalives_idle(KEEPALIVE_IDLE)
            .application_name("framekit");
        let mut queue = PgQueue {
            config,
            client: None,
            location,
            connected_once: false,
        };
        let current = queue.run(|client| {
            match client.query_one("SELECT MAX(version) FROM framekit_schema", &[]) {
                Ok(row) => Ok(row.get::<_, Option<i64>>(0)),
                Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => Ok(None),
                Err(e) => Err(Step::Db(e)),
            }
        })?;
        let found = match current {
            Some(version) if version >= SCHEMA_VERSION => version,
            _ => queue.migrate()?,
        };
        if found > SCHEMA_VERSION {
            return Err(JobError::SchemaTooNew {
                location: queue.location.to_string(),
                found,
                known: SCHEMA_VERSION,
            });
        }
        Ok(queue)
    }

    /// Creates the tables or brings them up to date ([`schema::migrate`]).
    fn migrate(&mut self) -> Result<i64, JobError> {
        self.run(|client| Ok(schema::migrate(client)?))
    }

    /// The connect timeout in force (the URL's `connect_timeout`, else [`CONNECT_TIMEOUT`]).
    fn connect_timeout(&self) -> Duration {
        self.config
            .get_connect_timeout()
            .copied()
            .unwrap_or(CONNECT_TIMEOUT)
    }

    fn silent_error(&self) -> JobError {
        JobError::PostgresSilent {
            url: self.location.to_string(),
            seconds: self.connect_timeout().as_secs().max(1),
        }
    }

    /// Opens a connection and sets its statement timeout, all within the connect timeout.
    /// The driver bounds only the TCP connect, not the handshake after it, so the connection
    /// is made on a helper thread and given up on at the deadline (`Step::Silent`). A thread
    /// given up on ends when its socket does: keepalives and the TCP user timeout close one
    /// whose peer went away; one whose peer holds it open silently stays parked, not spinning.
    fn open_connection(&self) -> Result<Client, Step> {
        let config = self.config.clone();
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        let statement_timeout =
            format!("SET statement_timeout = {}", STATEMENT_TIMEOUT.as_millis());
        std::thread::Builder::new()
            .name("framekit-pg-connect".into())
            .spawn(move || {
                let connected = config.connect(NoTls).and_then(|mut client| {
                    client.batch_execute(&statement_timeout)?;
                    Ok(client)
                });
                let _ = sender.send(connected);
            })
            .map_err(|source| {
                Step::Job(JobError::Io {
                    path: self.location.to_string(),
                    source,
                })
            })?;
        match receiver.recv_timeout(self.connect_timeout()) {
            Ok(connected) => connected.map_err(Step::Db),
            Err(_) => Err(Step::Silent),
        }
    }

    fn error(&self, source: postgres::Error) -> JobError {
        JobError::Postgres {
            url: self.location.to_string(),
            source,
        }
    }

    /// Runs `operation`, reconnecting and running it again while the connection is what
    /// failed, for up to [`RECONNECT_FOR`].
    fn run<T>(
        &mut self,
        mut operation: impl FnMut(&mut Client) -> Result<T, Step>,
    ) -> Result<T, JobError> {
        let started = Instant::now();
        let mut delay = Duration::from_millis(100);
        loop {
            let attempt = match self.client.as_mut() {
                Some(client) => operation(client),
                None => match self.open_connection() {
                    Ok(client) => {
                        if self.connected_once {
                            tracing::info!(queue = %self.location, "reconnected to the job queue");
                        }
                        self.connected_once = true;
                        operation(self.client.insert(client))
                    }
                    Err(step) => Err(step),
                },
            };
            match attempt {
                Ok(value) => return Ok(value),
                Err(Step::Job(error)) => return Err(error),
                Err(Step::Silent) => {
                    let error = self.silent_error();
                    if !self.connected_once || started.elapsed() + delay > RECONNECT_FOR {
                        return Err(error);
                    }
                    tracing::warn!(queue = %self.location, error = %error, retry_in_ms = delay.as_millis() as u64, "job queue unreachable; reconnecting");
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(Duration::from_secs(2));
                }
                Err(Step::Db(error)) if connection_lost(&error) => {
                    self.client = None;
                    if !self.connected_once || started.elapsed() + delay > RECONNECT_FOR {
                        return Err(self.error(error));
                    }
                    tracing::warn!(queue = %self.location, error = %error, retry_in_ms = delay.as_millis() as u64, "job queue unreachable; reconnecting");
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(Duration::from_secs(2));
                }
                Err(Step::Db(error)) => return Err(self.error(error)),
            }
        }
    }

    /// A fenced write: the statement updates the row of `lease` (`$1` id, `$2` token).
    fn fenced(
        &mut self,
        lease: &Lease,
        sql: &str,
        rest: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<(), JobError> {
        let mut values: Vec<&(dyn postgres::types::ToSql + Sync)> =
            vec![&lease.job.id, &lease.token];
        values.extend_from_slice(rest);
        let n = self.run(|client| Ok(client.execute(sql, &values)?))?;
        fenced(n, lease)
    }
}

fn filter_values(filter: &ClaimFilter) -> (i64, i64, Vec<i64>) {
    let (count, index) = filter.shard_parameters();
    (count, index, filter.ids.clone())
}

impl JobStore for PgQueue {
    fn location(&self) -> &QueueLocation {
        &self.location
    }

    fn add(&mut self, job: &NewJob) -> Result<Enqueued, JobError> {
        let part_name = job.part.map(JobPart::as_str);
        let (start, end) = job.part.map_or((None, None), JobPart::range);
        self.run(|client| {
            let mut tx = client.transaction()?;
            let inserted = tx.query_opt(
                &format!(
                    "INSERT INTO framekit_jobs (input_path, input_size, input_mtime_ns, preset, output_path, status, replace_output, created_at, updated_at,
                     parent_id, part, seg_start, seg_end)
                     VALUES ($1, $2, $3, $4, $5, 'pending', $6, {NOW}, {NOW}, $7, $8, $9, $10)
                     ON CONFLICT (input_path, preset, output_path) DO NOTHING RETURNING id"
                ),
                &[&job.input, &job.input_size, &job.input_mtime_ns, &job.preset, &job.output, &job.force,
                  &job.parent, &part_name, &start, &end],
            )?;
            if let Some(row) = inserted {
                tx.commit()?;
                return Ok(Enqueued::New(row.get(0)));
            }
            let row = tx.query_one(
                "SELECT id, status, input_size, input_mtime_ns FROM framekit_jobs
                 WHERE input_path = $1 AND preset = $2 AND output_path = $3 FOR UPDATE",
                &[&job.input, &job.preset, &job.output],
            )?;
            let (id, status): (i64, JobStatus) = (row.get(0), JobStatus::parse(row.get(1)));
            let result = if job.requeues(status, (row.get(2), row.get(3))) {
                // A part requeued for a changed input takes the new cut's range.
                let (start, end) = job.part.map_or((None, None), JobPart::range);
                tx.execute(
                    &format!(
                        "UPDATE framekit_jobs SET status = 'pending', attempts = 0, crashes = 0, last_error = NULL, progress = 0,
                         not_before = 0, input_size = $2, input_mtime_ns = $3, replace_output = (replace_output OR $4),
                         seg_start = $5, seg_end = $6, updated_at = {NOW} WHERE id = $1"
                    ),
                    &[&id, &job.input_size, &job.input_mtime_ns, &job.force, &start, &end],
                )?;
                Enqueued::Requeued(id)
            } else {
                Enqueued::Existing(id, status)
            };
            tx.commit()?;
            Ok(result)
        })
    }

    fn claim_next(
        &mut self,
        owner: &str,
        lease: Duration,
        filter: &ClaimFilter,
    ) -> Result<Option<Lease>, JobError> {
        let token = new_token();
        let (count, index, ids) = filter_values(filter);
        let lease_ms = lease.as_millis() as i64;
        // The temporary path is left as it was: it is the dead attempt's, returned so the new
        // holder can clean it up, and replaced by `set_temp`.
        let sql = format!(
            "UPDATE framekit_jobs SET status = 'processing', attempts = attempts + 1,
                crashes = crashes + CASE WHEN status = 'processing' THEN 1 ELSE 0 END,
                lease_owner = $4, lease_token = $5, lease_expires = {NOW} + $6, progress = 0, updated_at = {NOW}
             WHERE id = (
                SELECT id FROM framekit_jobs
                WHERE ((status = 'pending' AND not_before <= {NOW}) OR (status = 'processing' AND lease_expires < {NOW}))
                  AND {FILTER} AND {JOIN_READY}
                ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING {COLUMNS}, crashes"
        );
        let claimed = self.run(|client| {
            Ok(client.query_opt(&sql, &[&count, &index, &ids, &owner, &token, &lease_ms])?)
        })?;
        Ok(claimed.map(|row| {
            let job = row_to_job(&row);
            Lease {
                stale_temp: job.temp_path.clone(),
                job: Job {
                    temp_path: None,
                    ..job
                },
                token: token.clone(),
                crashes: row.get(CRASHES_COLUMN),
            }
        }))
    }

    fn set_temp(&mut self, lease: &Lease, temp: &Path) -> Result<(), JobError> {
        self.fenced(
            lease,
            "UPDATE framekit_jobs SET temp_path = $3 WHERE id = $1 AND lease_token = $2 AND status = 'processing'",
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
        let lease_ms = lease.as_millis() as i64;
        let sql = format!(
            "UPDATE framekit_jobs SET lease_expires = {NOW} + $3, progress = $4, updated_at = {NOW}
             WHERE id = $1 AND lease_token = $2 AND status = 'processing'"
        );
        let n =
            self.run(|client| Ok(client.execute(&sql, &[&id, &token, &lease_ms, &progress])?))?;
        Ok(n == 1)
    }

    fn publish_with(
        &mut self,
        lease: &Lease,
        place: &mut dyn FnMut() -> Result<(), JobError>,
    ) -> Result<(), JobError> {
        let id = lease.job.id;
        self.run(|client| {
            let mut tx = client.transaction()?;
            let ours = tx.query_opt(
                "SELECT id FROM framekit_jobs WHERE id = $1 AND lease_token = $2 AND status = 'processing' FOR UPDATE",
                &[&id, &lease.token],
            )?;
            if ours.is_none() {
                return Err(Step::Job(JobError::LostLease(id)));
            }
            place()?;
            tx.execute(
                &format!(
                    "UPDATE framekit_jobs SET status = 'succeeded', progress = 1, last_error = NULL, lease_token = NULL,
                     lease_expires = NULL, temp_path = NULL, replace_output = false, updated_at = {NOW} WHERE id = $1"
                ),
                &[&id],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn fail(
        &mut self,
        lease: &Lease,
        error: &str,
        permanent: bool,
        retry_delay: Duration,
    ) -> Result<JobStatus, JobError> {
        let retry = retry_after(lease.job.attempts, permanent, retry_delay);
        let status = match retry {
            Some(_) => JobStatus::Pending,
            None => JobStatus::Failed,
        };
        let (delay, retrying) = (retry.unwrap_or(0), retry.is_some());
        self.fenced(
            lease,
            &format!(
                "UPDATE framekit_jobs SET status = $3, last_error = $4,
                 not_before = CASE WHEN $6 THEN {NOW} + $5 ELSE 0 END, lease_token = NULL, lease_expires = NULL,
                 temp_path = NULL, updated_at = {NOW} WHERE id = $1 AND lease_token = $2 AND status = 'processing'"
            ),
            &[&status.as_str(), &error, &delay, &retrying],
        )?;
        if let (JobStatus::Failed, Some(parent)) = (status, lease.job.parent) {
            // A child that failed for good fails its parent with its reason; its pending
            // siblings are cancelled (succeeded ones are kept for a retry of the parent).
            let error = error.to_string();
            self.run(|client| {
                let mut tx = client.transaction()?;
                tx.execute(
                    &format!(
                        "UPDATE framekit_jobs SET status = 'failed', last_error = $2, lease_token = NULL, lease_expires = NULL,
                         updated_at = {NOW} WHERE id = $1 AND status IN ('pending', 'processing')"
                    ),
                    &[&parent, &error],
                )?;
                tx.execute(
                    &format!(
                        "UPDATE framekit_jobs SET status = 'cancelled', updated_at = {NOW} WHERE parent_id = $1 AND status = 'pending'"
                    ),
                    &[&parent],
                )?;
                tx.commit()?;
                Ok(())
            })?;
        }
        Ok(status)
    }

    fn release(&mut self, lease: &Lease) -> Result<(), JobError> {
        self.fenced(
            lease,
            &format!(
                "UPDATE framekit_jobs SET status = 'pending', attempts = GREATEST(attempts - 1, 0), progress = 0,
                 lease_token = NULL, lease_expires = NULL, temp_path = NULL, updated_at = {NOW}
                 WHERE id = $1 AND lease_token = $2 AND status = 'processing'"
            ),
            &[],
        )
    }

    fn cancel(&mut self, lease: &Lease) -> Result<(), JobError> {
        self.fenced(
            lease,
            &format!(
                "UPDATE framekit_jobs SET status = 'cancelled', last_error = NULL, lease_token = NULL,
                 lease_expires = NULL, temp_path = NULL, updated_at = {NOW}
                 WHERE id = $1 AND lease_token = $2 AND status = 'processing'"
            ),
            &[],
        )?;
        // A cancelled part cancels its segmented job (and the job's other parts).
        if let Some(parent) = lease.job.parent {
            self.cancel_ids(&[parent])?;
        }
        Ok(())
    }

    fn cancel_ids(&mut self, ids: &[i64]) -> Result<usize, JobError> {
        let ids = ids.to_vec();
        let sql = format!(
            "UPDATE framekit_jobs SET status = 'cancelled', last_error = NULL, lease_token = NULL,
             lease_expires = NULL, updated_at = {NOW} WHERE status IN ('pending', 'processing')
             AND (id = ANY($1) OR parent_id = ANY($1)
                  OR id IN (SELECT parent_id FROM framekit_jobs WHERE id = ANY($1))
                  OR parent_id IN (SELECT parent_id FROM framekit_jobs WHERE id = ANY($1)))"
        );
        let n = self.run(|client| Ok(client.execute(&sql, &[&ids])?))?;
        Ok(n as usize)
    }

    fn held_leases(&mut self) -> Result<Vec<(i64, String)>, JobError> {
        let rows = self.run(|client| {
            Ok(client.query(
                "SELECT id, lease_owner FROM framekit_jobs WHERE status = 'processing' AND lease_owner IS NOT NULL",
                &[],
            )?)
        })?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn expire_lease(&mut self, id: i64, owner: &str) -> Result<usize, JobError> {
        let n = self.run(|client| {
            Ok(client.execute(
                "UPDATE framekit_jobs SET lease_expires = 0 WHERE id = $1 AND lease_owner = $2 AND status = 'processing'",
                &[&id, &owner],
            )?)
        })?;
        Ok(n as usize)
    }

    fn is_output(&mut self, path: &Path) -> Result<bool, JobError> {
        let Ok(path) = std::path::absolute(path) else {
            return Ok(false);
        };
        let path = path.display().to_string();
        self.run(|client| {
            Ok(client
                .query_opt(
                    "SELECT 1 FROM framekit_jobs WHERE output_path = $1 LIMIT 1",
                    &[&path],
                )?
                .is_some())
        })
    }

    fn get(&mut self, id: i64) -> Result<Option<Job>, JobError> {
        let sql = format!("SELECT {COLUMNS} FROM framekit_jobs WHERE id = $1");
        let row = self.run(|client| Ok(client.query_opt(&sql, &[&id])?))?;
        Ok(row.as_ref().map(row_to_job))
    }

    fn query(&mut self, query: &JobQuery) -> Result<Vec<Job>, JobError> {
        let statuses = query.status_names();
        let ids = query.ids.clone();
        // LIMIT NULL is LIMIT ALL.
        let limit = query.limit_value();
        let order = if query.newest_first { "DESC" } else { "ASC" };
        let sql = format!(
            "SELECT {COLUMNS} FROM framekit_jobs
             WHERE (cardinality($1::text[]) = 0 OR status = ANY($1))
             AND (cardinality($2::bigint[]) = 0 OR id = ANY($2))
             AND ($4::bigint IS NULL OR parent_id = $4)
             ORDER BY id {order} LIMIT $3"
        );
        let parent = query.parent;
        let rows =
            self.run(|client| Ok(client.query(&sql, &[&statuses, &ids, &limit, &parent])?))?;
        Ok(rows.iter().map(row_to_job).collect())
    }

    fn counts(&mut self) -> Result<StatusCounts, JobError> {
        let rows = self.run(|client| {
            Ok(client.query(
                "SELECT status, COUNT(*) FROM framekit_jobs GROUP BY status",
                &[],
            )?)
        })?;
        let mut counts = StatusCounts::default();
        for row in &rows {
            counts.add(row.get::<_, &str>(0), row.get::<_, i64>(1));
        }
        Ok(counts)
    }

    fn next_claimable_in(&mut self, filter: &ClaimFilter) -> Result<Option<Duration>, JobError> {
        let (count, index, ids) = filter_values(filter);
        let sql = format!(
            "SELECT MIN(CASE status WHEN 'pending' THEN not_before ELSE lease_expires END) - {NOW}
             FROM framekit_jobs WHERE status IN ('pending', 'processing') AND {FILTER} AND {JOIN_READY}"
        );
        let row = self.run(|client| Ok(client.query_one(&sql, &[&count, &index, &ids])?))?;
        let wait: Option<i64> = row.get(0);
        Ok(wait.map(|ms| Duration::from_millis(ms.max(0) as u64)))
    }

    fn retry_failed(&mut self, ids: &[i64]) -> Result<usize, JobError> {
        let ids = ids.to_vec();
        let sql = format!(
            "UPDATE framekit_jobs SET status = 'pending', attempts = 0, crashes = 0, not_before = 0, last_error = NULL,
             updated_at = {NOW}
             WHERE ((status = 'failed' OR (status = 'cancelled' AND cardinality($1::bigint[]) > 0))
                    AND (cardinality($1::bigint[]) = 0 OR id = ANY($1)))
             OR (status IN ('failed', 'cancelled') AND parent_id IN
                 (SELECT p.id FROM framekit_jobs p
                  WHERE (p.status = 'failed' OR (p.status = 'cancelled' AND cardinality($1::bigint[]) > 0))
                  AND (cardinality($1::bigint[]) = 0 OR p.id = ANY($1))))"
        );
        let n = self.run(|client| Ok(client.execute(&sql, &[&ids])?))?;
        Ok(n as usize)
    }

    fn clear(&mut self, all: bool) -> Result<usize, JobError> {
        let sql = if all {
            "DELETE FROM framekit_jobs WHERE status != 'processing'"
        } else {
            "DELETE FROM framekit_jobs WHERE status IN ('succeeded', 'failed', 'cancelled')"
        };
        let n = self.run(|client| Ok(client.execute(sql, &[])?))?;
        Ok(n as usize)
    }

    fn remove_parts_except(&mut self, parent: i64, keep: &[i64]) -> Result<usize, JobError> {
        let keep = keep.to_vec();
        let n = self.run(|client| {
            Ok(client.execute(
                "DELETE FROM framekit_jobs WHERE parent_id = $1 AND status != 'processing'
                 AND NOT (id = ANY($2))",
                &[&parent, &keep],
            )?)
        })?;
        Ok(n as usize)
    }

    fn register_worker(&mut self, host: &str, pid: u32) -> Result<i64, JobError> {
        let sql = format!(
            "INSERT INTO framekit_workers (host, pid, version, started_at, last_heartbeat)
             VALUES ($1, $2, $3, {NOW}, {NOW}) RETURNING id"
        );
        let pid = i64::from(pid);
        let row = self.run(|client| {
            Ok(client.query_one(&sql, &[&host, &pid, &env!("CARGO_PKG_VERSION")])?)
        })?;
        Ok(row.get(0))
    }

    fn worker_beat(&mut self, id: i64, running: &str, jobs_done: i64) -> Result<(), JobError> {
        let sql = format!(
            "UPDATE framekit_workers SET last_heartbeat = {NOW}, running = $2, jobs_done = $3 WHERE id = $1"
        );
        self.run(|client| Ok(client.execute(&sql, &[&id, &running, &jobs_done])?))
            .map(drop)
    }

    fn worker_stopped(&mut self, id: i64) -> Result<(), JobError> {
        let sql =
            format!("UPDATE framekit_workers SET stopped_at = {NOW}, running = '' WHERE id = $1");
        self.run(|client| Ok(client.execute(&sql, &[&id])?))
            .map(drop)
    }

    fn workers(&mut self) -> Result<Vec<WorkerRow>, JobError> {
        let sql = format!(
            "SELECT id, host, pid, version, started_at, last_heartbeat, stopped_at, jobs_done, running, {NOW}
             FROM framekit_workers ORDER BY id DESC"
        );
        let rows = self.run(|client| Ok(client.query(&sql, &[])?))?;
        Ok(rows
            .iter()
            .map(|r| {
                let (last_heartbeat, stopped_at, now): (i64, Option<i64>, i64) =
                    (r.get(5), r.get(6), r.get(9));
                WorkerRow {
                    id: r.get(0),
                    host: r.get(1),
                    pid: r.get(2),
                    version: r.get(3),
                    started_at: r.get(4),
                    last_heartbeat,
                    stopped_at,
                    jobs_done: r.get(7),
                    running: r.get(8),
                    alive: worker_alive(stopped_at, last_heartbeat, now),
                }
            })
            .collect())
    }
}
