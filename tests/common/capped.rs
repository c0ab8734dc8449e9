//! Runs the real `framekit` binary as a child with its address space capped and a timeout,
//! reaping it with `wait4` to read the child's own peak resident memory.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub const ADDRESS_SPACE_CAP: u64 = 2 << 30;
pub const RSS_LIMIT: u64 = 1_000_000_000;
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// What a capped run of framekit did.
pub struct Capped {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub peak_rss: u64,
    /// How long the child ran.
    pub elapsed: Duration,
}

impl Capped {
    /// The single line framekit printed on stderr.
    pub fn error_line(&self) -> &str {
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line on stderr, got: {}", self.stderr);
        lines[0]
    }

    pub fn assert_small(&self, what: &str) {
        println!("{what}: peak RSS {} MB", self.peak_rss / 1_000_000);
        assert!(
            self.peak_rss < RSS_LIMIT,
            "{what}: peak RSS {} MB",
            self.peak_rss / 1_000_000
        );
    }
}

pub enum Input {
    None,
    Bytes(Vec<u8>),
    /// This many bytes of 'A' (valid base64 characters), written as a stream.
    Stream(usize),
}

/// Runs framekit with `args` in `dir`, capped; reaps it with `wait4` for its own peak RSS.
pub fn run_capped(dir: &Path, args: &[&std::ffi::OsStr], input: Input) -> Capped {
    run_capped_env(dir, args, input, &[])
}

/// The address-space cap, set in a child before it runs framekit.
pub fn cap_address_space(command: &mut std::process::Command) {
    // SAFETY: setrlimit is async-signal-safe and touches only the child before exec.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: ADDRESS_SPACE_CAP,
                rlim_max: ADDRESS_SPACE_CAP,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// [`run_capped`] with these environment variables set for the child.
#[allow(clippy::zombie_processes)] // reaped by wait4 below, which std cannot see
pub fn run_capped_env(
    dir: &Path,
    args: &[&std::ffi::OsStr],
    input: Input,
    env: &[(&str, &str)],
) -> Capped {
    let mut command = super::framekit_bin();
    command
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .stdin(match input {
            Input::None => Stdio::null(),
            _ => Stdio::piped(),
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cap_address_space(&mut command);
    let started = std::time::Instant::now();
    let mut child = command.spawn().expect("spawn framekit");
    let pid = child.id() as libc::pid_t;
    let writer = child.stdin.take().map(|mut stdin| {
        std::thread::spawn(move || match input {
            Input::Bytes(bytes) => {
                let _ = stdin.write_all(&bytes);
            }
            Input::Stream(total) => {
                let chunk = vec![b'A'; 1 << 20];
                let mut sent = 0;
                while sent < total {
                    if stdin.write_all(&chunk).is_err() {
                        break;
                    }
                    sent += chunk.len();
                }
            }
            Input::None => {}
        })
    });
    let mut stdout_pipe = child.stdout.take().expect("stdout");
    let mut stderr_pipe = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout_pipe.read_to_end(&mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr_pipe.read_to_end(&mut buf);
        buf
    });
    let finished = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let finished = finished.clone();
        std::thread::spawn(move || {
            let start = std::time::Instant::now();
            while start.elapsed() < TIMEOUT {
                if finished.load(Ordering::SeqCst) {
                    return false;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            // SAFETY: plain kill(2) on our own, not yet reaped, child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            true
        })
    };
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child; `status` and `usage` are valid for writes.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4");
    let elapsed = started.elapsed();
    finished.store(true, Ordering::SeqCst);
    let timed_out = watchdog.join().expect("watchdog");
    assert!(!timed_out, "framekit {args:?} ran past {TIMEOUT:?}");
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Capped {
        code,
        stdout: out.join().expect("stdout"),
        stderr: String::from_utf8_lossy(&err.join().expect("stderr")).into_owned(),
        peak_rss: usage.ru_maxrss as u64 * 1024,
        elapsed,
    }
}

pub fn os(args: &[&str]) -> Vec<std::ffi::OsString> {
    args.iter().map(|a| a.into()).collect()
}

pub fn run(dir: &Path, args: &[&str], input: Input) -> Capped {
    let args = os(args);
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    run_capped(dir, &refs, input)
}
