//! Ctrl-C and SIGTERM for long runs: the first signal asks the run to stop (workers stop
//! claiming, cancel their encodes, remove their temporary files and put their jobs back to
//! pending without counting the attempt); a second one exits at once. The exit code is
//! 128 + the signal (130 for SIGINT, 143 for SIGTERM).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

/// The first signal received, or 0.
static RECEIVED: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(signal: libc::c_int) {
    if RECEIVED.swap(signal, Ordering::SeqCst) != 0 {
        // SAFETY: _exit is async-signal-safe; a second signal means "now".
        unsafe { libc::_exit(128 + signal) };
    }
}

/// The run was stopped by a signal; the CLI exits with `128 + signal`.
#[derive(Debug, thiserror::Error)]
#[error("interrupted: running jobs were put back to pending; run again to resume")]
pub struct Interrupted(pub i32);

/// A signal watch for one run: sets `stop` when SIGINT or SIGTERM arrives.
pub struct SignalWatch {
    done: Arc<AtomicBool>,
}

impl SignalWatch {
    pub fn install(stop: Arc<AtomicBool>) -> SignalWatch {
        SignalWatch::install_with(move || stop.store(true, Ordering::SeqCst))
    }

    /// A signal watch that calls `on_first` once when SIGINT or SIGTERM arrives (a worker
    /// drains for a grace period before it stops).
    pub fn install_with(on_first: impl FnOnce() + Send + 'static) -> SignalWatch {
        // SAFETY: the handler only touches an atomic and calls _exit.
        unsafe {
            libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
            libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
        }
        let done = Arc::new(AtomicBool::new(false));
        let watching = done.clone();
        let _ = std::thread::Builder::new()
            .name("framekit-signals".into())
            .spawn(move || {
                while !watching.load(Ordering::SeqCst) {
                    if RECEIVED.load(Ordering::SeqCst) != 0 {
                        on_first();
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            });
        SignalWatch { done }
    }

    /// Ends the watch; `Err(Interrupted)` when a signal stopped the run.
    pub fn finish(self) -> Result<(), Interrupted> {
        self.done.store(true, Ordering::SeqCst);
        match RECEIVED.load(Ordering::SeqCst) {
            0 => Ok(()),
            signal => Err(Interrupted(signal)),
        }
    }
}
