//! The SQLite queue's schema: the `jobs` table's definition, the other tables, and the
//! migrations that bring an older queue file up to [`SCHEMA_VERSION`] in one write
//! transaction.

use rusqlite::{Connection, params};

use crate::jobs::SCHEMA_VERSION;

/// The `jobs` table's columns and constraints, after `CREATE TABLE <name>`: the one
/// definition both a new queue and the migration's rebuild use.
const JOBS_TABLE: &str = "(
    id             INTEGER PRIMARY KEY,
    input_path     TEXT NOT NULL,
    input_size     INTEGER NOT NULL,
    input_mtime_ns INTEGER NOT NULL,
    preset         TEXT NOT NULL,
    output_path    TEXT NOT NULL,
    status         TEXT NOT NULL
                   CHECK (status IN ('pending', 'processing', 'succeeded', 'failed', 'cancelled')),
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
    parent_id      INTEGER,
    part           TEXT,
    seg_start      INTEGER,
    seg_end        INTEGER,
    UNIQUE (input_path, preset, output_path)
)";

/// Every column of `jobs`, in [`JOBS_TABLE`]'s order (the rebuild copies them by name).
const ALL_COLUMNS: &str = "id, input_path, input_size, input_mtime_ns, preset, output_path, status, attempts, last_error, progress, not_before, lease_owner, lease_token, lease_expires, temp_path, replace_output, crashes, created_at, updated_at, parent_id, part, seg_start, seg_end";

/// The indexes of `jobs` (made again after a rebuild drops them with the old table).
const JOBS_INDEXES: &str = "CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, not_before);
CREATE INDEX IF NOT EXISTS jobs_parent ON jobs (parent_id);";

/// The columns schema version 4 added (segmented transcoding), with their types.
const PART_COLUMNS: [(&str, &str); 4] = [
    ("parent_id", "INTEGER"),
    ("part", "TEXT"),
    ("seg_start", "INTEGER"),
    ("seg_end", "INTEGER"),
];

/// The tables besides `jobs`.
const OTHER_TABLES: &str = "
CREATE TABLE IF NOT EXISTS workers (
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
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
";

/// The schema version a queue records, `None` when it has no version table (a new file).
pub(super) fn schema_version(conn: &Connection) -> rusqlite::Result<Option<i64>> {
    let has_version_table: i64 = conn.query_row(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
        [],
        |r| r.get(0),
    )?;
    if has_version_table == 0 {
        return Ok(None);
    }
    conn.query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
}

/// Creates the tables or brings an older queue up to date, all in one write transaction (a
/// second process starting at the same time waits for it, then finds the work done); returns
/// the schema version found or written.
///
/// - 1 → 2: the `crashes` column.
/// - 3 → 4: the segmented-transcoding columns (`parent_id`, `part`, `seg_start`, `seg_end`),
///   added with `ALTER TABLE ADD COLUMN` (before a 2 → 3 rebuild, which copies them).
/// - 2 → 3: the `cancelled` status. SQLite cannot change a CHECK constraint in place, so the
///   `jobs` table is rebuilt (new table, copy, drop, rename, indexes again); rows stored as
///   failed with the error "cancelled" become cancelled.
pub(super) fn migrate(conn: &Connection) -> rusqlite::Result<i64> {
    if let Some(version) = schema_version(conn)?
        && version >= SCHEMA_VERSION
    {
        return Ok(version);
    }
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let migrated = (|| -> rusqlite::Result<i64> {
        // Another process may have migrated (or a newer framekit written) since the look above.
        if let Some(version) = schema_version(conn)?
            && version >= SCHEMA_VERSION
        {
            return Ok(version);
        }
        conn.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS jobs {JOBS_TABLE}; {OTHER_TABLES}"
        ))?;
        let has_crashes: i64 = conn.query_row(
            "SELECT COUNT(*) FROM pragma_table_info('jobs') WHERE name = 'crashes'",
            [],
            |r| r.get(0),
        )?;
        if has_crashes == 0 {
            conn.execute_batch("ALTER TABLE jobs ADD COLUMN crashes INTEGER NOT NULL DEFAULT 0")?;
        }
        for (column, kind) in PART_COLUMNS {
            let has: i64 = conn.query_row(
                "SELECT COUNT(*) FROM pragma_table_info('jobs') WHERE name = ?1",
                params![column],
                |r| r.get(0),
            )?;
            if has == 0 {
                conn.execute_batch(&format!("ALTER TABLE jobs ADD COLUMN {column} {kind}"))?;
            }
        }
        conn.execute_batch(JOBS_INDEXES)?;
        if !allows_cancelled(conn)? {
            conn.execute_batch(&format!(
                "CREATE TABLE jobs_migrating {JOBS_TABLE};
                 INSERT INTO jobs_migrating ({ALL_COLUMNS}) SELECT {ALL_COLUMNS} FROM jobs;
                 DROP TABLE jobs;
                 ALTER TABLE jobs_migrating RENAME TO jobs;
                 {JOBS_INDEXES}"
            ))?;
        }
        conn.execute(
            "UPDATE jobs SET status = 'cancelled', last_error = NULL
             WHERE status = 'failed' AND last_error = 'cancelled'",
            [],
        )?;
        conn.execute("DELETE FROM schema_version", [])?;
        conn.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            params![SCHEMA_VERSION],
        )?;
        Ok(SCHEMA_VERSION)
    })();
    match migrated {
        Ok(version) => {
            conn.execute_batch("COMMIT")?;
            Ok(version)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Whether the `jobs` table's CHECK constraint admits the `cancelled` status (the table as
/// SQLite stores its definition).
fn allows_cancelled(conn: &Connection) -> rusqlite::Result<bool> {
    let sql: String = conn.query_row(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'jobs'",
        [],
        |r| r.get(0),
    )?;
    Ok(sql.contains("'cancelled'"))
}
