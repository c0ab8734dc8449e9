//! The frame index cache on disk: a complete scan of a local file is kept under
//! `$XDG_CACHE_HOME/framekit/index` (or `~/.cache/framekit/index`), keyed by the file's
//! canonical path, size and modification time and the stream, so opening the same long
//! Matroska or MPEG-TS file again costs no scan. Files with a sample table (MP4, AVI) need no
//! scan and are not cached. Entries are small (about 33 bytes a frame); the folder is kept
//! under [`CACHE_BUDGET_BYTES`] by removing the oldest entries, and anything in it can be
//! deleted at any time. `FRAMEKIT_INDEX_CACHE=off` turns it off; `FRAMEKIT_INDEX_CACHE=DIR`
//! puts it elsewhere.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use super::index::FrameIndex;

/// The cache folder's size limit.
pub const CACHE_BUDGET_BYTES: u64 = 256 << 20;

/// Where cached indexes live, or `None` when the cache is off.
pub fn cache_dir() -> Option<PathBuf> {
    match std::env::var_os("FRAMEKIT_INDEX_CACHE") {
        Some(v) if v == "off" || v == "0" => return None,
        Some(v) if !v.is_empty() => return Some(PathBuf::from(v)),
        _ => {}
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("framekit").join("index"))
}

/// The cache file for one stream of one version of a local file.
fn entry_path(path: &Path, stream_index: usize) -> Option<PathBuf> {
    if super::url_of(path).is_some() {
        return None;
    }
    let dir = cache_dir()?;
    let canonical = std::fs::canonicalize(path).ok()?;
    let meta = std::fs::metadata(&canonical).ok()?;
    let mtime = meta
        .modified()
        .ok()?
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_nanos();
    // std's SipHash with fixed keys: stable across runs of one build, which is all a cache
    // needs (a changed key only misses).
    let mut hasher = std::hash::DefaultHasher::new();
    (canonical, meta.len(), mtime, stream_index).hash(&mut hasher);
    Some(dir.join(format!("{:016x}.fkix", hasher.finish())))
}

/// The cached complete index of `path`'s stream, when there is one for this version.
pub fn load(path: &Path, stream_index: usize) -> Option<FrameIndex> {
    let entry = entry_path(path, stream_index)?;
    let bytes = std::fs::read(&entry).ok()?;
    let index = FrameIndex::from_cache_bytes(&bytes);
    if index.is_none() {
        // Damaged or from another version: drop it.
        let _ = std::fs::remove_file(&entry);
    }
    index
}

/// Keeps a complete index of `path`'s stream (best effort: a cache that cannot be written
/// is no error). Written to a temporary name and renamed, so a reader never sees half.
pub fn store(path: &Path, stream_index: usize, index: &FrameIndex) {
    let Some(bytes) = index.to_cache_bytes() else {
        return;
    };
    let Some(entry) = entry_path(path, stream_index) else {
        return;
    };
    let Some(dir) = entry.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let temp = dir.join(format!(".{}.tmp", std::process::id()));
    let written = std::fs::File::create(&temp).and_then(|mut f| f.write_all(&bytes));
    if written.is_err() || std::fs::rename(&temp, &entry).is_err() {
        let _ = std::fs::remove_file(&temp);
        return;
    }
    trim(dir, CACHE_BUDGET_BYTES);
}

/// Removes the oldest entries until the folder holds at most `budget` bytes.
fn trim(dir: &Path, budget: u64) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(std::time::SystemTime, u64, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "fkix"))
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            Some((meta.modified().ok()?, meta.len(), e.path()))
        })
        .collect();
    let mut total: u64 = files.iter().map(|f| f.1).sum();
    files.sort();
    for (_, size, path) in files {
        if total <= budget {
            break;
        }
        if std::fs::remove_file(&path).is_ok() {
            total -= size;
        }
    }
}
