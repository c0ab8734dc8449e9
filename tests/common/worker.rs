//! A `framekit worker` process for fleet tests: started with its JSON job log in a file,
//! waited for within a limit (its log shown when it fails), killed when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `framekit worker` process writing its JSON job log to a file.
pub struct Worker {
    pub child: Child,
    log: PathBuf,
}

impl Worker {
    /// `framekit worker --queue URL --log-format json EXTRA...`, its log in `log`.
    pub fn start(url: &str, log: PathBuf, extra: &[&str]) -> Worker {
        Worker::start_command(super::framekit_bin(), url, log, extra)
    }

    /// [`Worker::start`] from a prepared `framekit` command (one with a store's environment).
    pub fn start_command(mut command: Command, url: &str, log: PathBuf, extra: &[&str]) -> Worker {
        let file = std::fs::File::create(&log).expect("log file");
        let child = command
            .args(["worker", "--queue", url, "--log-format", "json"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start a worker");
        Worker { child, log }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Waits for the process to exit (at most `limit`) and returns its exit code.
    pub fn wait(&mut self, limit: Duration) -> i32 {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "worker did not exit within {limit:?}; log:\n{}",
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the process to exit 0 (at most `limit`), showing its log when it does not.
    pub fn wait_ok(&mut self, limit: Duration) {
        let code = self.wait(limit);
        assert_eq!(code, 0, "worker exited {code}; log:\n{}", self.log_text());
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The job ids of log lines whose message starts with `message`.
    pub fn jobs_logged(&self, message: &str) -> Vec<i64> {
        self.log_text()
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|v| {
                v["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with(message))
            })
            .filter_map(|v| v["job"].as_i64())
            .collect()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
