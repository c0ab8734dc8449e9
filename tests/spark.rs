//! PySpark end to end: `python/framekit_spark.py` in a real local[2] Spark (pinned PySpark,
//! installed into target/spark-venv by scripts/spark-venv.sh on first use), 50 requests
//! across 4 partitions through `frames_rdd` (rdd.pipe) and `frames_df` (mapInPandas); rows
//! equal framekit's own JSONL answers, and a bad file is an error row, not a failed task.

mod common;

use std::path::Path;
use std::process::Command;

#[test]
fn spark_rdd_and_dataframe_helpers_match_framekit() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv = Command::new(root.join("scripts/spark-venv.sh"))
        .output()
        .expect("run scripts/spark-venv.sh");
    assert!(
        venv.status.success(),
        "spark venv: {}",
        String::from_utf8_lossy(&venv.stderr)
    );
    let python = String::from_utf8_lossy(&venv.stdout)
        .lines()
        .last()
        .expect("venv python")
        .to_string();

    let clips = [
        common::h264_mp4(),
        common::vp9_webm(),
        common::mjpeg(),
        common::xvid_bframes_avi(),
    ];
    let ids = ["1,30", "2", "132,1", "60,61,62"];
    let requests: Vec<String> = (0..50)
        .map(|n| {
            let path = if n % 17 == 5 {
                "/nonexistent/missing.mp4".to_string()
            } else {
                clips[n % clips.len()].display().to_string()
            };
            serde_json::json!({"id": n, "path": path, "ids": ids[n % ids.len()]}).to_string()
        })
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let requests_file = dir.path().join("requests.jsonl");
    std::fs::write(&requests_file, requests.join("\n") + "\n").expect("write");
    // framekit's own answers, one process, for the comparison.
    let expected = Command::new(env!("CARGO_BIN_EXE_framekit"))
        .args(["frames", "--jsonl"])
        .stdin(std::fs::File::open(&requests_file).expect("open"))
        .output()
        .expect("framekit --jsonl");
    assert!(expected.status.success());
    let expected_file = dir.path().join("expected.jsonl");
    std::fs::write(&expected_file, &expected.stdout).expect("write");

    let output = Command::new(&python)
        .arg(root.join("tests/spark/check_spark.py"))
        .env("FRAMEKIT_BIN", env!("CARGO_BIN_EXE_framekit"))
        .env("FRAMEKIT_PYTHON_DIR", root.join("python"))
        .env("REQUESTS", &requests_file)
        .env("EXPECTED", &expected_file)
        .env("PYSPARK_PYTHON", &python)
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        .output()
        .expect("run the Spark check");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
            .lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(stdout.contains("50 requests through frames_rdd and frames_df match"));
}
