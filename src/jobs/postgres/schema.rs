//! The PostgreSQL queue's schema: the tables, the status constraint, and the migration that
//! brings an older queue up to [`SCHEMA_VERSION`] under an advisory lock.

use postgres::Client;

use crate::jobs::SCHEMA_VERSION;

/// Serialises schema creation among workers that start together.
const MIGRATION_LOCK: i64 = 0x6672_616d_656b_6974; // "framekit"

/// The statuses a job may have; [`PgQueue::migrate`] adds it to a new table and replaces an
/// older schema's.
const STATUS_CHECK: &str =
    "CHECK (status IN ('pending', 'processing', 'succeeded', 'failed', 'cancelled'))";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS framekit_schema (version BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS framekit_jobs (
    id             BIGSERIAL PRIMARY KEY,
    input_path     TEXT NOT NULL,
    input_size     BIGINT NOT NULL,
    input_mtime_ns BIGINT NOT NULL,
    preset         TEXT NOT NULL,
    output_path    TEXT NOT NULL,
    status         TEXT NOT NULL, -- checked by framekit_jobs_status_check (STATUS_CHECK)
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
CREATE INDEX IF NOT EXISTS framekit_jobs_claimable ON framekit_jobs (status, not_before);
ALTER TABLE framekit_jobs ADD COLUMN IF NOT EXISTS parent_id BIGINT;
ALTER TABLE framekit_jobs ADD COLUMN IF NOT EXISTS part TEXT;
ALTER TABLE framekit_jobs ADD COLUMN IF NOT EXISTS seg_start BIGINT;
ALTER TABLE framekit_jobs ADD COLUMN IF NOT EXISTS seg_end BIGINT;
CREATE INDEX IF NOT EXISTS framekit_jobs_parent ON framekit_jobs (parent_id);
CREATE TABLE IF NOT EXISTS framekit_workers (
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
";

/// Creates the tables or brings them up to date, in one transaction under an advisory lock
/// (workers that start together migrate one at a time; the later ones find it done);
/// returns the version found before, or the one written.
///
/// 2 → 3: the `cancelled` status. The status CHECK constraint is replaced by one that
/// admits it, and rows stored as failed with the error "cancelled" become cancelled.
pub(super) fn migrate(client: &mut Client) -> Result<i64, postgres::Error> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(SCHEMA)?;
    let found: Option<i64> = tx
        .query_one("SELECT MAX(version) FROM framekit_schema", &[])?
        .get(0);
    if found.is_none_or(|v| v < SCHEMA_VERSION) {
        replace_status_check(&mut tx)?;
        tx.execute(
            "UPDATE framekit_jobs SET status = 'cancelled', last_error = NULL
             WHERE status = 'failed' AND last_error = 'cancelled'",
            &[],
        )?;
        tx.execute("DELETE FROM framekit_schema", &[])?;
        tx.execute(
            "INSERT INTO framekit_schema (version) VALUES ($1)",
            &[&SCHEMA_VERSION],
        )?;
    }
    tx.commit()?;
    Ok(found.unwrap_or(SCHEMA_VERSION).max(SCHEMA_VERSION))
}

/// Drops every CHECK constraint of `framekit_jobs` on its status (whatever an older schema
/// named it) and adds [`STATUS_CHECK`].
fn replace_status_check(tx: &mut postgres::Transaction<'_>) -> Result<(), postgres::Error> {
    let old = tx.query(
        "SELECT conname::text FROM pg_constraint
         WHERE conrelid = 'framekit_jobs'::regclass AND contype = 'c'
         AND pg_get_constraintdef(oid) LIKE '%status%'",
        &[],
    )?;
    for row in &old {
        let name: String = row.get(0);
        tx.batch_execute(&format!(
            "ALTER TABLE framekit_jobs DROP CONSTRAINT \"{}\"",
            name.replace('"', "\"\"")
        ))?;
    }
    tx.batch_execute(&format!(
        "ALTER TABLE framekit_jobs ADD CONSTRAINT framekit_jobs_status_check {STATUS_CHECK}"
    ))
}
