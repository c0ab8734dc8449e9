//! Where a job table lives ([`QueueLocation`]): reading `--queue` (a path, `sqlite:PATH` or a
//! PostgreSQL URL; key=value connection strings and other schemes refused), opening the store
//! on its backend, showing it without a password, and the user's default queue.

use std::path::{Path, PathBuf};

use super::{JobError, JobQueue, JobStore, postgres};

/// Where the job table lives: `--queue PATH`, `--queue sqlite:PATH` or
/// `--queue postgres://USER@HOST[:PORT]/DB`. Its `Debug` and `Display` never show a password.
#[derive(Clone, PartialEq, Eq)]
pub enum QueueLocation {
    Sqlite(PathBuf),
    Postgres(String),
}

/// libpq's connection keywords: a `--queue` word starting with one of these and `=` is a
/// key=value connection string, not a file name.
const CONNINFO_KEYWORDS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "passfile",
    "service",
    "sslmode",
    "sslpassword",
    "connect_timeout",
    "options",
    "application_name",
    "target_session_attrs",
];

/// Whether `text` reads as a key=value connection string (`host=db user=fk password=…`):
/// it starts with `word=`, or one of its words is a libpq keyword and `=`.
fn looks_like_conninfo(text: &str) -> bool {
    let starts_with_key = text.split_once('=').is_some_and(|(key, _)| {
        let key = key.trim();
        !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    });
    starts_with_key
        || text.split_whitespace().any(|word| {
            word.split_once('=').is_some_and(|(key, _)| {
                CONNINFO_KEYWORDS.contains(&key.to_ascii_lowercase().as_str())
            })
        })
}

impl QueueLocation {
    /// Reads `--queue`. Anything that is neither a path nor a URL framekit serves (a key=value
    /// connection string, another scheme) is refused rather than made a SQLite file, and no
    /// message repeats a password.
    pub fn parse(text: &str) -> Result<QueueLocation, JobError> {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Ok(QueueLocation::Postgres(text.to_string()))
        } else if let Some(path) = text.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(JobError::BadLocation(text.to_string()));
            }
            Ok(QueueLocation::Sqlite(PathBuf::from(path)))
        } else if text.contains("://") {
            Err(JobError::BadLocation(redact_password(text)))
        } else if looks_like_conninfo(text) {
            Err(JobError::ConnectionString)
        } else if text.trim().is_empty() {
            Err(JobError::BadLocation(text.to_string()))
        } else {
            Ok(QueueLocation::Sqlite(PathBuf::from(text)))
        }
    }

    /// The user's own queue (SQLite in the data folder).
    pub fn default_local() -> QueueLocation {
        QueueLocation::Sqlite(default_queue_path())
    }

    /// Opens the store, creating or migrating its schema.
    pub fn open(&self) -> Result<Box<dyn JobStore>, JobError> {
        Ok(match self {
            QueueLocation::Sqlite(path) => Box::new(JobQueue::open(path)?),
            QueueLocation::Postgres(url) => Box::new(postgres::PgQueue::connect(url)?),
        })
    }

    /// Opens the store only to read it (listing, counting): a SQLite queue is opened
    /// read-only (see [`JobQueue::open_read_only`]), so read access to it is enough.
    pub fn open_read_only(&self) -> Result<Box<dyn JobStore>, JobError> {
        Ok(match self {
            QueueLocation::Sqlite(path) => Box::new(JobQueue::open_read_only(path)?),
            QueueLocation::Postgres(url) => Box::new(postgres::PgQueue::connect(url)?),
        })
    }
}

impl std::str::FromStr for QueueLocation {
    type Err = JobError;

    fn from_str(text: &str) -> Result<QueueLocation, JobError> {
        QueueLocation::parse(text)
    }
}

impl std::fmt::Debug for QueueLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QueueLocation::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            QueueLocation::Postgres(url) => f
                .debug_tuple("Postgres")
                .field(&redact_password(url))
                .finish(),
        }
    }
}

/// Shown in messages: the path, or the URL without its password.
impl std::fmt::Display for QueueLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QueueLocation::Sqlite(path) => f.write_str(&crate::media::printable_path(path)),
            QueueLocation::Postgres(url) => f.write_str(&crate::media::printable_path(Path::new(
                &redact_password(url),
            ))),
        }
    }
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

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`, and every
/// `password=` (or `sslpassword=`, any key naming a password, percent-escaped or not) in the
/// query masked the same way. The user info is read as the connection's URL parser reads it
/// (everything before the first `@`), so whatever would be used as the password is masked.
pub fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let mut out = format!("{scheme}://");
    let after_user = match rest.split_once('@') {
        Some((user_info, after)) => {
            match user_info.split_once(':') {
                Some((user, _)) => out.push_str(&format!("{user}:***@")),
                None => out.push_str(&format!("{user_info}@")),
            }
            after
        }
        None => rest,
    };
    match after_user.split_once('?') {
        Some((path, query)) => {
            out.push_str(path);
            out.push('?');
            let params: Vec<String> = query
                .split('&')
                .map(|param| match param.split_once('=') {
                    Some((key, _)) if names_a_secret(key) => format!("{key}=***"),
                    _ => param.to_string(),
                })
                .collect();
            out.push_str(&params.join("&"));
        }
        None => out.push_str(after_user),
    }
    out
}

/// Whether a URL query key (percent-escapes decoded, any case) names a password.
fn names_a_secret(key: &str) -> bool {
    let bytes = key.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |at: usize| {
            bytes
                .get(at)
                .and_then(|b| (*b as char).to_digit(16))
                .map(|d| d as u8)
        };
        match (bytes[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(high), Some(low)) => {
                decoded.push(high * 16 + low);
                i += 3;
            }
            (byte, _, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded)
        .to_ascii_lowercase()
        .contains("pass")
}
