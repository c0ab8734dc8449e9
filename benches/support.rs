//! What the benches share: their folder under `target/bench`, the `ffmpeg` command line
//! that makes their media, and a Python with the peers installed.

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn bench_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("bench");
    std::fs::create_dir_all(&dir).expect("bench dir");
    dir
}

pub fn ffmpeg(args: &[&str]) {
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .status()
        .expect("run ffmpeg");
    assert!(status.success(), "ffmpeg {args:?} failed");
}

/// The Spark venv's python (scripts/spark-venv.sh) with each `(module, pinned package)`
/// installed when missing (bench only), or why not.
pub fn bench_python(peers: &[(&str, &str)]) -> Result<PathBuf, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(root.join("scripts/spark-venv.sh"))
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let python = PathBuf::from(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap_or_default()
            .to_string(),
    );
    for (module, package) in peers {
        let present = Command::new(&python)
            .args(["-c", &format!("import {module}")])
            .status()
            .is_ok_and(|s| s.success());
        if !present {
            let installed = Command::new(&python)
                .args(["-m", "pip", "install", "--quiet", package])
                .status()
                .map_err(|e| e.to_string())?;
            if !installed.success() {
                return Err(format!("pip could not install {package}"));
            }
        }
    }
    Ok(python)
}
