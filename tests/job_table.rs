//! The job table's behaviour, one set of test functions run against both backends (SQLite in
//! a temporary folder, PostgreSQL in a throw-away cluster): idempotent enqueue, exclusive
//! claims, fenced writes, retries with growing delays, permanent failures, crash counting,
//! reclaiming dead local leases, shards, cancelling (a status of its own), the schema version,
//! migrating an older schema, and the worker registry.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::pg::PgCluster;
use framekit::jobs::{
    ClaimFilter, Enqueued, JobError, JobQuery, JobStatus, JobStore, MAX_ATTEMPTS, MAX_CRASHES,
    QueueLocation, SCHEMA_VERSION, Shard, host_name,
};

#[derive(Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

struct Fixture {
    dir: tempfile::TempDir,
    location: QueueLocation,
    input: PathBuf,
    output: PathBuf,
}

impl Fixture {
    fn new(backend: Backend) -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let input = dir.path().join("in.mov");
        std::fs::write(&input, b"not really a video; the queue does not care").expect("write");
        let location = match backend {
            Backend::Sqlite => QueueLocation::Sqlite(dir.path().join("q.sqlite")),
            Backend::Postgres => QueueLocation::Postgres(PgCluster::shared().fresh_database()),
        };
        Fixture {
            output: dir.path().join("out.mp4"),
            input,
            location,
            dir,
        }
    }

    fn open(&self) -> Box<dyn JobStore> {
        self.location.open().expect("open the queue")
    }

    fn temp_file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).expect("write temp");
        path
    }

    /// Queues the fixture's one job (input -> output, default preset); returns its id.
    fn enqueue(&self, q: &mut dyn JobStore) -> i64 {
        q.enqueue(&self.input, "default", &self.output, false)
            .expect("enqueue")
            .id()
    }

    /// Another input file, so several jobs can be queued.
    fn input_named(&self, name: &str) -> PathBuf {
        self.temp_file(name, name.as_bytes())
    }
}

fn any() -> ClaimFilter {
    ClaimFilter::default()
}

fn enqueue_is_idempotent(backend: Backend) {
    let f = Fixture::new(backend);
    let mut q = f.open();
    let first = q
        .enqueue(&f.input, "default", &f.output, false)
        .expect("enqueue");
    let again = f
        .open()
        .enqueue(&f.input, "default", &f.output, false)
        .expect("enqueue");
    assert!(matches!(first, Enqueued::New(_)));
    assert_eq!(again, Enqueued::Existing(first.id(), JobStatus::Pending));
    assert_eq!(q.list().expect("list").len(), 1);
    // A changed input is queued again (same job), a different preset is another job.
    std::fs::write(&f.input, b"a longer, different file than before").expect("rewrite");
    assert_eq!(
        q.enqueue(&f.input, "default", &f.output, false)
            .expect("enqueue"),
        Enqueued::Requeued(first.id())
    );
    assert!(matches!(
        q.enqueue(&f.input, "small", &f.output, false)
            .expect("enqueue"),
        Enqueued::New(_)
    ));
}

fn a_claim_is_exclusive_and_an_expired_lease_is_fenced_out(backend: Backend) {
    let f = Fixture::new(backend);
    let mut a = f.open();
    let mut b = f.open();
    f.enqueue(a.as_mut());
    let lease_a = a
        .claim("host:1", Duration::from_millis(300), &any())
        .expect("claim")
        .expect("a job");
    assert!(
        b.claim("host:2", Duration::from_secs(30), &any())
            .expect("claim")
            .is_none(),
        "leased to a"
    );

    std::thread::sleep(Duration::from_millis(400));
    let lease_b = b
        .claim("host:2", Duration::from_secs(30), &any())
        .expect("claim")
        .expect("expired lease reclaimed");
    assert_ne!(lease_a.token, lease_b.token);
    assert_eq!(lease_b.job.attempts, 2);
    assert!(
        !a.heartbeat(lease_a.job.id, &lease_a.token, Duration::from_secs(30), 0.5)
            .expect("heartbeat")
    );

    let stale = f.temp_file("stale.part", b"stale worker's output");
    assert!(matches!(
        a.publish(&lease_a, &stale),
        Err(JobError::LostLease(_))
    ));
    assert!(
        !f.output.exists(),
        "a worker without the lease never publishes"
    );

    let fresh = f.temp_file("fresh.part", b"current worker's output");
    b.publish(&lease_b, &fresh).expect("publish");
    assert_eq!(
        std::fs::read(&f.output).expect("output"),
        b"current worker's output"
    );
    assert!(!fresh.exists(), "the temporary name is gone");
    assert_eq!(
        b.get(lease_b.job.id).expect("get").expect("job").status,
        JobStatus::Succeeded
    );
}

fn many_claimers_never_share_a_job(backend: Backend) {
    let f = Fixture::new(backend);
    let mut q = f.open();
    for i in 0..40 {
        let input = f.input_named(&format!("in{i}.mov"));
        q.enqueue(
            &input,
            "default",
            &f.dir.path().join(format!("out{i}.mp4")),
            false,
        )
        .expect("enqueue");
    }
    let claimed: Vec<Vec<i64>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|worker| {
                let location = f.location.clone();
                scope.spawn(move || {
                    let mut store = location.open().expect("open");
                    let mut mine = Vec::new();
                    while let Some(lease) = store
                        .claim(&format!("host:{worker}"), Duration::from_secs(60), &any())
                        .expect("claim")
                    {
                        mine.push(lease.job.id);
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("join"))
            .collect()
    });
    let mut all: Vec<i64> = claimed.concat();
    all.sort();
    let before = all.len();
    all.dedup();
    assert_eq!(
        (before, all.len()),
        (40, 40),
        "every job claimed exactly once"
    );
}

fn publish_never_replaces_an_existing_file(backend: Backend) {
    let f = Fixture::new(backend);
    std::fs::write(&f.output, b"someone else's file").expect("write");
    let mut q = f.open();
    f.enqueue(q.as_mut());
    let lease = q
        .claim("host:1", Duration::from_secs(30), &any())
        .expect("claim")
        .expect("job");
    let temp = f.temp_file("x.part", b"new");
    assert!(matches!(
        q.publish(&lease, &temp),
        Err(JobError::OutputExists(_))
    ));
    assert_eq!(
        std::fs::read(&f.output).expect("output"),
        b"someone else's file"
    );
}

fn failures_retry_with_growing_delays_then_fail(backend: Backend) {
    let f = Fixture::new(backend);
    let mut q = f.open();
    let id = f.enqueue(q.as_mut());
    let mut waits = Vec::new();
    for attempt in 1..=MAX_ATTEMPTS {
        let mut waited = 0;
        let lease = loop {
            if let Some(lease) = q
                .claim("host:1", Duration::from_secs(30), &any())
                .expect("claim")
            {
                break lease;
            }
            waited += 1;
            std::thread::sleep(Duration::from_millis(5));
        };
        waits.push(waited);
        assert_eq!(lease.job.attempts, attempt);
        let status = q
            .fail(
                &lease,
                &format!("boom {attempt}"),
                false,
                Duration::from_millis(100),
            )
            .expect("fail");
        let expected = if attempt < MAX_ATTEMPTS {
            JobStatus::Pending
        } else {
            JobStatus::Failed
        };
        assert_eq!(status, expected);
        if attempt < MAX_ATTEMPTS {
            let wait = q
                .next_claimable_in(&any())
                .expect("next")
                .expect("a retry is due");
            let delay = 100 * (1 << (attempt - 1));
            assert!(
                wait <= Duration::from_millis(delay) && wait >= Duration::from_millis(delay / 2),
                "retry {attempt} due in {wait:?}, expected about {delay} ms"
            );
        }
    }
    assert!(waits[2] > waits[1], "the delay grows: {waits:?}");
    let job = q.get(id).expect("get").expect("job");
    assert_eq!(
        (job.status, job.attempts, job.last_error.as_deref()),
        (JobStatus::Failed, 3, Some("boom 3"))
    );
    assert_eq!(q.next_claimable_in(&any()).expect("next"), None);
    assert_eq!(q.retry_failed(&[]).expect("retry"), 1);
    assert_eq!(
        q.get(id).expect("get").expect("job").status,
        JobStatus::Pending
    );
}

fn crashes_fail_a_job_only_after_five_and_clean_its_temp_file(backend: Backend) {
    let f = Fixture::new(backend);
    let mut q = f.open();
    let id = f.enqueue(q.as_mut());
    let mut claims = 0;
    let mut last_temp = None;
    loop {
        std::thread::sleep(Duration::from_millis(40));
        let Some(lease) = q
            .claim("host:1", Duration::from_millis(20), &any())
            .expect("claim")
        else {
            break;
        };
        claims += 1;
        assert!(claims <= MAX_CRASHES, "claimed {claims} times");
        // The "worker" writes a temporary file and dies without a word.
        let temp = f.temp_file(&format!("attempt{claims}.part"), b"partial");
        q.set_temp(&lease, &temp).expect("temp");
        if let Some(previous) = last_temp.replace(temp) {
            assert_eq!(lease.stale_temp, Some(previous));
        }
    }
    assert_eq!(claims, MAX_CRASHES);
    let job = q.get(id).expect("get").expect("job");
    assert_eq!(job.status, JobStatus::Failed);
    assert!(
        job.last_error
            .as_deref()
            .is_some_and(|e| e.contains("5 attempts lost to crashes")),
        "{:?}",
        job.last_error
    );
    assert!(
        !last_temp.expect("a temp").exists(),
        "the last crashed attempt's temporary file is removed"
    );
}

fn a_dead_attempt_that_had_published_is_recorded_not_redone(backend: Backend) {
    let f = Fixture::new(backend);
    let mut q = f.open();
    let id = f.enqueue(q.as_mut());
    let lease = q
        .claim("host:1", Duration::from_millis(20), &any())
        .expect("claim")
        .expect("job");
    let temp = f.temp_file("done.part", b"finished output");
    q.set_temp(&lease, &temp).expect("temp");
    // It linked the output into place and died before recording it.
    std::fs::hard_link(&temp, &f.output).expect("link");
    std::thread::sleep(Duration::from_millis(60));
    assert!(
        q.claim("host:2", Duration::from_secs(30), &any())
            .expect("claim")
            .is_none(),
        "nothing left to encode"
    );
    let job = q.get(id).expect("get").expect("job");
    assert_eq!(job.status, JobStatus::Succeeded);
    assert!(!temp.exists(), "the second link is removed");
    assert_eq!(
        std::fs::read(&f.output).expect("output"),
        b"finished output"
    );
}

fn a_permanent_failure_fails_at_once(backend: Backend) {
    let f = Fixture::new(backend);
    let mut q = f.open();
    let id = f.enqueue(q.as_mut());
    let lease = q
        .claim("host:1", Duration::from_secs(30), &any())
        .expect("claim")
        .expect("job");
    let status = q
        .fail(&lease, "no video stream", true, Duration::from_millis(10))
        .expect("fail");
    assert_eq!(status, JobStatus::Failed);
    let job = q.get(id).expect("get").expect("job");
    assert_eq!(
        (job.status, job.attempts, job.last_error.as_deref()),
        (JobStatus::Failed, 1, Some("no video stream"))
    );
}

fn listings_filter_order_limit_and_count_in_the_database(backend: Backend) {
    let f = Fixture::new(backend);
    let mut q = f.open();
    let ids: Vec<i64> = (0..6)
        .map(|n| {
            let input = f.input_named(&format!("clip{n}.mov"));
            let output = f.dir.path().join(format!("clip{n}.mp4"));
            q.enqueue(&input, "default", &output, false)
                .expect("enqueue")
                .id()
        })
        .collect();
    // The two oldest: one fails for good, one is running.
    let failing = q
        .claim(
            "host:1",
            Duration::from_secs(30),
            &ClaimFilter::ids(&ids[..1]),
        )
        .expect("claim")
        .expect("job");
    q.fail(&failing, "no video stream", true, Duration::from_millis(10))
        .expect("fail");
    q.claim(
        "host:1",
        Duration::from_secs(30),
        &ClaimFilter::ids(&ids[1..2]),
    )
    .expect("claim")
    .expect("job");
    let counts = q.counts().expect("counts");
    assert_eq!(
        (
            counts.pending,
            counts.processing,
            counts.succeeded,
            counts.failed
        ),
        (4, 1, 0, 1)
    );
    assert_eq!(counts.total(), 6);
    let listed = |q: &mut dyn JobStore, query: JobQuery| -> Vec<i64> {
        q.query(&query)
            .expect("query")
            .iter()
            .map(|j| j.id)
            .collect()
    };
    assert_eq!(
        listed(q.as_mut(), JobQuery::default()),
        ids,
        "every job, oldest first"
    );
    assert_eq!(
        listed(
            q.as_mut(),
            JobQuery {
                statuses: vec![JobStatus::Failed, JobStatus::Processing],
                ..JobQuery::default()
            }
        ),
        ids[..2].to_vec()
    );
    assert_eq!(
        listed(
            q.as_mut(),
            JobQuery {
                limit: Some(2),
                newest_first: true,
                ..JobQuery::default()
            }
        ),
        vec![ids[5], ids[4]],
        "the newest two"
    );
    assert_eq!(
        listed(
            q.as_mut(),
            JobQuery {
                statuses: vec![JobStatus::Pending],
                limit: Some(1),
                ..JobQuery::ids(&[ids[0], ids[3], ids[4]])
            }
        ),
        vec![ids[3]],
        "status, ids and limit together"
    );
    assert_eq!(q.list().expect("list").len(), 6);
}

fn a_stale_worker_writes_nothing_and_is_told_its_lease_is_lost(backend: Backend) {
    let f = Fixture::new(backend);
    let mut a = f.open();
    let mut b = f.open();
    let id = f.enqueue(a.as_mut());
    let stale = a
        .claim("host:1", Duration::from_millis(100), &any())
        .expect("claim")
        .expect("job");
    std::thread::sleep(Duration::from_millis(200));
    let current = b
        .claim("host:2", Duration::from_secs(30), &any())
        .expect("claim")
        .expect("expired lease reclaimed");
    let lost = |r: Result<(), JobError>| matches!(r, Err(JobError::LostLease(i)) if i == id);
    assert!(matches!(
        a.fail(&stale, "stale", false, Duration::ZERO),
        Err(JobError::LostLease(_))
    ));
    assert!(lost(a.release(&stale)));
    assert!(lost(a.cancel(&stale)));
    assert!(lost(a.set_temp(&stale, &f.dir.path().join("x.part"))));
    let job = b.get(id).expect("get").expect("job");
    assert_eq!(
        (job.status, job.attempts, job.last_error),
        (JobStatus::Processing, 2, None),
        "the stale worker changed nothing"
    );
    b.release(&current).expect("the current holder still can");
}

fn dead_local_leases_are_reclaimed_at_once(backend: Backend) {
    let f = Fixture::new(backend);
    let mut q = f.open();
    f.enqueue(q.as_mut());
    let dead_owner = format!("{}:{}", host_name(), u32::MAX - 1);
    q.claim(&dead_owner, Duration::from_secs(3600), &any())
        .expect("claim")
        .expect("job");
    assert!(
        q.claim("host:2", Duration::from_secs(30), &any())
            .expect("claim")
            .is_none()
    );
    assert_eq!(q.reclaim_dead_local_leases().expect("reclaim"), 1);
    assert!(
        q.claim("host:2", Duration::from_secs(30), &any())
            .expect("claim")
            .is_some()
    );
}

fn shards_split_the_jobs_without_overlap(backend: Backend) {
    let f = Fixture::new(backend);
    let mut q = f.open();
    let mut ids = Vec::new();
    for i in 0..9 {
        let input = f.input_named(&format!("s{i}.mov"));
        ids.push(
            q.enqueue(
                &input,
                "default",
                &f.dir.path().join(format!("s{i}.mp4")),
                false,
            )
            .expect("enqueue")
            .id(),
        );
    }
    let mut seen = Vec::new();
    for index in 0..3 {
        let filter = ClaimFilter {
            ids: Vec::new(),
            shard: Some(Shard { index, count: 3 }),
        };
        while let Some(lease) = q
            .claim("host:1", Duration::from_secs(30), &filter)
            .expect("claim")
        {
            assert_eq!(
                lease.job.id % 3,
                index,
                "shard {index}/3 took job {}",
                lease.job.id
            );
            seen.push(lease.job.id);
        }
    }
    seen.sort();
    assert_eq!(seen, ids, "the shards together cover every job once");
    // An id list narrows a claim the same way.
    let mut r = f.open();
    r.retry_failed(&[]).expect("nothing failed");
    assert!(
        r.claim(
            "host:1",
            Duration::from_secs(30),
            &ClaimFilter::ids(&[ids[0]])
        )
        .expect("claim")
        .is_none(),
        "job {} is running",
        ids[0]
    );
}

fn cancelling_from_outside_revokes_the_lease(backend: Backend) {
    let f = Fixture::new(backend);
    let mut worker = f.open();
    let mut admin = f.open();
    let id = f.enqueue(worker.as_mut());
    let lease = worker
        .claim("host:1", Duration::from_secs(30), &any())
        .expect("claim")
        .expect("job");
    assert_eq!(admin.cancel_ids(&[id, 999_999]).expect("cancel"), 1);
    assert!(
        !worker
            .heartbeat(id, &lease.token, Duration::from_secs(30), 0.5)
            .expect("heartbeat"),
        "the worker learns at its next heartbeat"
    );
    let temp = f.temp_file("c.part", b"x");
    assert!(matches!(
        worker.publish(&lease, &temp),
        Err(JobError::LostLease(_))
    ));
    let job = admin.get(id).expect("get").expect("job");
    assert_eq!(
        (job.status, job.last_error.as_deref()),
        (JobStatus::Cancelled, None)
    );
    assert!(!f.output.exists());
}

fn a_cancelled_job_is_finished_not_retried_nor_claimed(backend: Backend) {
    let f = Fixture::new(backend);
    let mut q = f.open();
    let running = f.enqueue(q.as_mut());
    let other = f.input_named("other.mov");
    let other_out = f.dir.path().join("other.mp4");
    let pending = q
        .enqueue(&other, "default", &other_out, false)
        .expect("enqueue")
        .id();
    // Cancelled by the worker holding it, and from outside while pending.
    let lease = q
        .claim(
            "host:1",
            Duration::from_secs(30),
            &ClaimFilter::ids(&[running]),
        )
        .expect("claim")
        .expect("job");
    q.cancel(&lease).expect("cancel");
    assert_eq!(q.cancel_ids(&[pending]).expect("cancel"), 1);
    for id in [running, pending] {
        let job = q.get(id).expect("get").expect("job");
        assert_eq!((job.status, job.last_error), (JobStatus::Cancelled, None));
    }
    assert_eq!(
        q.cancel_ids(&[running, pending]).expect("cancel"),
        0,
        "a cancelled job is not pending or running"
    );
    let counts = q.counts().expect("counts");
    assert_eq!(
        (
            counts.pending,
            counts.processing,
            counts.failed,
            counts.cancelled
        ),
        (0, 0, 0, 2),
        "{counts}"
    );
    assert_eq!(counts.total(), 2);
    assert!(
        counts.to_string().ends_with("0 failed, 2 cancelled"),
        "{counts}"
    );
    let listed = q
        .query(&JobQuery {
            statuses: vec![JobStatus::Cancelled],
            ..JobQuery::default()
        })
        .expect("query");
    assert_eq!(listed.len(), 2);
    // Never claimed, nothing waits for it, and a retry of every failed job leaves it.
    assert!(
        q.claim("host:1", Duration::from_secs(30), &any())
            .expect("claim")
            .is_none()
    );
    assert_eq!(q.next_claimable_in(&any()).expect("next"), None);
    assert_eq!(q.retry_failed(&[]).expect("retry"), 0);
    assert_eq!(
        q.get(running).expect("get").expect("job").status,
        JobStatus::Cancelled
    );
    // Named, it runs again; enqueued again, it is queued again.
    assert_eq!(q.retry_failed(&[running]).expect("retry"), 1);
    let again = q.get(running).expect("get").expect("job");
    assert_eq!((again.status, again.attempts), (JobStatus::Pending, 0));
    assert_eq!(
        q.enqueue(&other, "default", &other_out, false)
            .expect("enqueue"),
        Enqueued::Requeued(pending)
    );
    // Clearing finished jobs removes cancelled ones.
    let lease = q
        .claim("host:1", Duration::from_secs(30), &any())
        .expect("claim")
        .expect("job");
    q.cancel(&lease).expect("cancel");
    assert_eq!(q.clear(false).expect("clear"), 1);
    assert_eq!(q.list().expect("list").len(), 1);
}

/// The version 2 schema (before the `cancelled` status), as that framekit created it.
const SQLITE_V2: &str = "
CREATE TABLE jobs (
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
CREATE INDEX jobs_status ON jobs (status, not_before);
CREATE TABLE workers (
    id             INTEGER PRIMARY KEY,
    host           TEXT NOT NULL,
    pid            INTEGER NOT NULL,
    version        TEXT NOT NULL,
    started_at     INTEGER NOT NULL,
    last_heartbeat INTEGER NOT NULL,
    stopped_at     INTEGER,
    jobs_done      INTEGER NOT NULL DEFAULT 0,
    running        TEXT NOT NULL DEFAULT ''
);
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version (version) VALUES (2);
";

const POSTGRES_V2: &str = "
CREATE TABLE framekit_schema (version BIGINT NOT NULL);
CREATE TABLE framekit_jobs (
    id             BIGSERIAL PRIMARY KEY,
    input_path     TEXT NOT NULL,
    input_size     BIGINT NOT NULL,
    input_mtime_ns BIGINT NOT NULL,
    preset         TEXT NOT NULL,
    output_path    TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'processing', 'succeeded', 'failed')),
    attempts       BIGINT NOT NULL DEFAULT 0,
    last_error     TEXT,
    progress       DOUBLE PRECISION NOT NULL DEFAULT 0,
    not_before     BIGINT NOT NULL DEFAULT 0,
    lease_owner    TEXT,
    lease_token    TEXT,
    lease_expires  BIGINT,
    temp_path      TEXT,
    replace_output BOOLEAN NOT NULL DEFAULT false,
    crashes        BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    UNIQUE (input_path, preset, output_path)
);
CREATE INDEX framekit_jobs_claimable ON framekit_jobs (status, not_before);
CREATE TABLE framekit_workers (
    id             BIGSERIAL PRIMARY KEY,
    host           TEXT NOT NULL,
    pid            BIGINT NOT NULL,
    version        TEXT NOT NULL,
    started_at     BIGINT NOT NULL,
    last_heartbeat BIGINT NOT NULL,
    stopped_at     BIGINT,
    jobs_done      BIGINT NOT NULL DEFAULT 0,
    running        TEXT NOT NULL DEFAULT ''
);
INSERT INTO framekit_schema (version) VALUES (2);
";

/// Rows of a version 2 queue: `(input, status, attempts, last_error)`; version 2 recorded a
/// cancelled job as failed with the error "cancelled".
const OLD_ROWS: [(&str, &str, i64, Option<&str>); 4] = [
    ("/media/a.mov", "pending", 0, None),
    ("/media/b.mov", "failed", 1, Some("cancelled")),
    (
        "/media/c.mov",
        "failed",
        3,
        Some("/media/c.mov: no video stream"),
    ),
    ("/media/d.mov", "succeeded", 1, None),
];

/// Runs `sql` on the queue's database directly (not through framekit).
fn execute_directly(location: &QueueLocation, sql: &str) -> Result<(), String> {
    match location {
        QueueLocation::Sqlite(path) => rusqlite::Connection::open(path)
            .and_then(|conn| conn.execute_batch(sql))
            .map_err(|e| e.to_string()),
        QueueLocation::Postgres(url) => ::postgres::Client::connect(url, ::postgres::NoTls)
            .and_then(|mut client| client.batch_execute(sql))
            .map_err(|e| e.to_string()),
    }
}

/// The schema version the queue records, read directly.
fn recorded_version(location: &QueueLocation) -> i64 {
    match location {
        QueueLocation::Sqlite(path) => rusqlite::Connection::open(path)
            .and_then(|conn| {
                conn.query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
            })
            .expect("version"),
        QueueLocation::Postgres(url) => ::postgres::Client::connect(url, ::postgres::NoTls)
            .and_then(|mut client| {
                client.query_one("SELECT MAX(version) FROM framekit_schema", &[])
            })
            .map(|row| row.get(0))
            .expect("version"),
    }
}

fn an_old_schema_migrates_keeping_its_rows(backend: Backend) {
    let f = Fixture::new(backend);
    let ddl = match backend {
        Backend::Sqlite => SQLITE_V2,
        Backend::Postgres => POSTGRES_V2,
    };
    let table = match backend {
        Backend::Sqlite => "jobs",
        Backend::Postgres => "framekit_jobs",
    };
    execute_directly(&f.location, ddl).expect("the old schema");
    let insert = |status: &str, input: &str, attempts: i64, error: Option<&str>| {
        let error = error.map_or("NULL".to_string(), |e| format!("'{e}'"));
        format!(
            "INSERT INTO {table} (input_path, input_size, input_mtime_ns, preset, output_path, status, attempts, last_error, created_at, updated_at)
             VALUES ('{input}', 10, 20, 'default', '{input}.mp4', '{status}', {attempts}, {error}, 1, 1);"
        )
    };
    let rows: String = OLD_ROWS
        .iter()
        .map(|(input, status, attempts, error)| insert(status, input, *attempts, *error))
        .collect();
    execute_directly(&f.location, &rows).expect("old rows");
    assert!(
        execute_directly(&f.location, &insert("cancelled", "/media/e.mov", 0, None)).is_err(),
        "the old schema refuses the cancelled status"
    );

    // Several workers start on it at once: one migrates, the others find it done.
    std::thread::scope(|scope| {
        let opens: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| f.location.open().map(drop)))
            .collect();
        for open in opens {
            if let Err(e) = open.join().expect("no panic") {
                panic!("opening an old queue: {e}");
            }
        }
    });
    assert_eq!(recorded_version(&f.location), SCHEMA_VERSION);

    let mut q = f.open();
    let jobs = q.list().expect("list");
    let found: Vec<(String, JobStatus, i64, Option<String>)> = jobs
        .iter()
        .map(|j| {
            (
                j.input.display().to_string(),
                j.status,
                j.attempts,
                j.last_error.clone(),
            )
        })
        .collect();
    let expected = vec![
        ("/media/a.mov".to_string(), JobStatus::Pending, 0, None),
        ("/media/b.mov".to_string(), JobStatus::Cancelled, 1, None),
        (
            "/media/c.mov".to_string(),
            JobStatus::Failed,
            3,
            Some("/media/c.mov: no video stream".to_string()),
        ),
        ("/media/d.mov".to_string(), JobStatus::Succeeded, 1, None),
    ];
    assert_eq!(
        found, expected,
        "every row kept; the cancelled one is cancelled"
    );
    assert_eq!(jobs[1].output, PathBuf::from("/media/b.mov.mp4"));
    // The migrated table takes the new status, and its rows are still claimed in order.
    assert_eq!(q.cancel_ids(&[jobs[0].id]).expect("cancel"), 1);
    assert_eq!(
        q.get(jobs[0].id).expect("get").expect("job").status,
        JobStatus::Cancelled
    );
    let counts = q.counts().expect("counts");
    assert_eq!(
        (
            counts.pending,
            counts.succeeded,
            counts.failed,
            counts.cancelled
        ),
        (0, 1, 1, 2)
    );
    let id = f.enqueue(q.as_mut());
    assert!(id > jobs[3].id, "ids go on after the old rows");
    let lease = q
        .claim("host:1", Duration::from_secs(30), &any())
        .expect("claim")
        .expect("job");
    assert_eq!(lease.job.id, id);
    if let QueueLocation::Sqlite(path) = &f.location {
        let conn = rusqlite::Connection::open(path).expect("open");
        let index: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'jobs_status'",
                [],
                |r| r.get(0),
            )
            .expect("index");
        assert_eq!(index, 1, "the rebuilt table has its index again");
    }
    // Opening it again changes nothing.
    drop(q);
    assert_eq!(f.open().list().expect("list").len(), 5);
    assert_eq!(recorded_version(&f.location), SCHEMA_VERSION);
}

fn workers_register_and_beat(backend: Backend) {
    let f = Fixture::new(backend);
    let mut q = f.open();
    let live = q.register_worker("node-a", 41).expect("register");
    let gone = q.register_worker("node-b", 42).expect("register");
    q.worker_beat(live, "7,9", 3).expect("beat");
    q.worker_stopped(gone).expect("stopped");
    let workers = q.workers().expect("workers");
    assert_eq!(workers.len(), 2);
    let a = workers.iter().find(|w| w.id == live).expect("a");
    let b = workers.iter().find(|w| w.id == gone).expect("b");
    assert_eq!(
        (
            a.host.as_str(),
            a.pid,
            a.running.as_str(),
            a.jobs_done,
            a.alive
        ),
        ("node-a", 41, "7,9", 3, true)
    );
    assert_eq!(a.version, env!("CARGO_PKG_VERSION"));
    assert!(!b.alive && b.stopped_at.is_some());
}

fn a_newer_schema_is_refused(backend: Backend) {
    let f = Fixture::new(backend);
    drop(f.open());
    match &f.location {
        QueueLocation::Sqlite(path) => {
            let conn = rusqlite::Connection::open(path).expect("open");
            conn.execute("UPDATE schema_version SET version = 99", [])
                .expect("bump");
        }
        QueueLocation::Postgres(url) => {
            let mut client = ::postgres::Client::connect(url, ::postgres::NoTls).expect("connect");
            client
                .execute("UPDATE framekit_schema SET version = 99", &[])
                .expect("bump");
        }
    }
    match f.location.open() {
        Err(JobError::SchemaTooNew { found, known, .. }) => {
            assert_eq!((found, known), (99, SCHEMA_VERSION));
        }
        Err(other) => panic!("expected SchemaTooNew, got {other}"),
        Ok(_) => panic!("a newer schema was accepted"),
    }
}

/// Runs each behaviour against both backends.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(super::Backend::Sqlite) } )*
        }
        mod postgres {
            $( #[test] fn $name() { super::$name(super::Backend::Postgres) } )*
        }
    };
}

on_both_backends!(
    enqueue_is_idempotent,
    a_claim_is_exclusive_and_an_expired_lease_is_fenced_out,
    many_claimers_never_share_a_job,
    publish_never_replaces_an_existing_file,
    failures_retry_with_growing_delays_then_fail,
    crashes_fail_a_job_only_after_five_and_clean_its_temp_file,
    a_dead_attempt_that_had_published_is_recorded_not_redone,
    a_permanent_failure_fails_at_once,
    listings_filter_order_limit_and_count_in_the_database,
    a_stale_worker_writes_nothing_and_is_told_its_lease_is_lost,
    dead_local_leases_are_reclaimed_at_once,
    shards_split_the_jobs_without_overlap,
    cancelling_from_outside_revokes_the_lease,
    a_cancelled_job_is_finished_not_retried_nor_claimed,
    an_old_schema_migrates_keeping_its_rows,
    workers_register_and_beat,
    a_newer_schema_is_refused,
);

#[test]
fn queue_locations_parse_and_hide_passwords() {
    let pg: QueueLocation = "postgres://fk:secret@db.local:5433/jobs"
        .parse()
        .expect("pg");
    assert_eq!(pg.to_string(), "postgres://fk:***@db.local:5433/jobs");
    assert_eq!(
        "sqlite:/var/q.sqlite"
            .parse::<QueueLocation>()
            .expect("sqlite"),
        QueueLocation::Sqlite(PathBuf::from("/var/q.sqlite"))
    );
    assert_eq!(
        "jobs.sqlite".parse::<QueueLocation>().expect("path"),
        QueueLocation::Sqlite(PathBuf::from("jobs.sqlite"))
    );
    assert!(matches!(
        "mysql://x/y".parse::<QueueLocation>(),
        Err(JobError::BadLocation(_))
    ));
    assert!("1/2".parse::<Shard>().is_ok());
    assert!("2/2".parse::<Shard>().is_err());
    assert!("0/0".parse::<Shard>().is_err());
}

#[test]
fn an_unreachable_server_is_a_clear_error() {
    // Nothing listens on port 1; the error names the queue (password hidden), at once: only
    // a connection that was up is waited for (a restarting server).
    let location: QueueLocation = "postgres://fk:secret@127.0.0.1:1/jobs?connect_timeout=1"
        .parse()
        .expect("url");
    let error = match location.open() {
        Err(e) => e.to_string(),
        Ok(_) => panic!("connected to nothing"),
    };
    assert!(
        error.contains("postgres://fk:***@127.0.0.1:1/jobs"),
        "{error}"
    );
    assert!(!error.contains("secret"), "{error}");
}
