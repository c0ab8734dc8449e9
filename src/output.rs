//! Writing output files safely: write to a temporary name in the target folder, flush to disk,
//! then rename into place, so a reader never sees a half-written file at the final path.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` atomically (replacing an existing file).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_via_temp(path, bytes, |temp| std::fs::rename(temp, path))
}

/// Writes `bytes` to `path` atomically, refusing to replace an existing file: the data is
/// hard-linked into place (which fails when `path` exists; a rename would replace it).
/// `AlreadyExists` when `path` is taken.
pub fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_via_temp(path, bytes, |temp| std::fs::hard_link(temp, path))
}

/// Writes `bytes` to a temporary name beside `path`, flushes it to disk, then `place`s it.
fn write_via_temp(
    path: &Path,
    bytes: &[u8],
    place: impl FnOnce(&Path) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = temp_name(dir, &name);
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        place(&temp)
    })();
    // Whatever happened, the temporary name goes: after a rename it is gone already, after a
    // hard link it is a second name of the placed file, after a failure it is garbage.
    let _ = std::fs::remove_file(&temp);
    result
}

/// A hidden temporary name beside the final file, unique to this process.
pub fn temp_name(dir: &Path, final_name: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(
        ".{final_name}.framekit-{}-{n}.part",
        std::process::id()
    ))
}
