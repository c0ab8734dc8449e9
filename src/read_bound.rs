//! Bounds on how much unparseable data FFmpeg reads from one input before giving up.
//!
//! A demuxer that meets garbage resynchronises by reading on: a Matroska, AVI, FLV, NUT or
//! MPEG-PS header followed by gigabytes of zeros (a `truncate`-made sparse file, a recorder's
//! preallocated file) is scanned to its end, byte by byte, inside one read call. `probesize`,
//! `formatprobesize` and `max_probe_packets` count the packets found, so they never fire while
//! none is. An interrupt callback does: FFmpeg polls it before every buffer fill (every
//! 32 KiB of a local file) and stops the read when it answers 1. [`install`] puts one on a
//! context before it is opened, with two bounds:
//!
//! - **Zeros**: more than [`LIMIT_BYTES`] of zero bytes in a row (the data of each buffered
//!   fill is looked at; a packet read directly into its own buffer resets the run). This holds
//!   for the input's whole life, probing and every later pass (frame index, decode), so a
//!   pass that meets a zero tail ends there as at a cut file. Reading elsewhere (a seek)
//!   starts a new run.
//! - **Probing**: more than [`LIMIT_BYTES`] read in all while the input is opened and probed
//!   (every legitimate header, index and probe read is far below it), whatever the data.
//!
//! A stopped read fails with `AVERROR_EXIT`; [`crate::media::open_input_with`] reports an
//! open that could not complete as invalid data.
//!
//! The same callback stops reads that should end for another reason: while a
//! [`stop_reads_when`] guard is held on a thread, its condition is asked too (a transcode
//! that was cancelled or is stopping), and [`Kicker::kick`] wakes that thread from a read (or
//! open) blocked in the kernel, a FIFO or a stalled network file system, so FFmpeg gets to ask
//! it.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ffmpeg_next::ffi::AVFormatContext;
use ffmpeg_next::util::interrupt::InterruptGuard;

/// Bytes of zeros in a row, or bytes read in all while probing, after which an input is given
/// up on.
pub const LIMIT_BYTES: i64 = 256 << 20;

/// What the callback knows of one input between two calls.
struct Watch {
    /// The `AVFormatContext` (as an address: the callback runs wherever the input is read).
    context: usize,
    /// Set while the input is being opened and probed.
    probing: Arc<AtomicBool>,
    /// The I/O context's `bytes_read` at the last call.
    last_read: i64,
    /// Zero bytes read in a row.
    zero_run: i64,
    /// The I/O position where the zero bound stopped reading, until the reader moves.
    stopped_at: Option<i64>,
    /// The input's own deadline and cancel flag.
    io_guard: Option<Arc<crate::media::IoGuard>>,
}

impl Watch {
    /// True to stop the read now.
    fn interrupt(&mut self) -> bool {
        let context = self.context as *const AVFormatContext;
        // SAFETY: the callback is installed on this context and FFmpeg calls it only while the
        // context is alive (the guard that owns this watch is dropped after the context is
        // closed). `pb` is null or FFmpeg's live I/O context, and `buf_end - delta ..
        // buf_end` is inside its buffer when `delta` fits (checked), holding the last fill:
        // FFmpeg calls back before it writes the next one.
        unsafe {
            let pb = (*context).pb;
            if pb.is_null() {
                return false;
            }
            let read = (*pb).bytes_read;
            let delta = read - self.last_read;
            self.last_read = read;
            if delta > 0 {
                let (start, end) = ((*pb).buffer, (*pb).buf_end);
                let held = if start.is_null() || end.is_null() {
                    0
                } else {
                    end.offset_from(start) as i64
                };
                let zeros = delta <= held && {
                    let fill = std::slice::from_raw_parts(end.sub(delta as usize), delta as usize);
                    fill.iter().all(|&b| b == 0)
                };
                self.zero_run = if zeros { self.zero_run + delta } else { 0 };
            }
            if self.zero_run > LIMIT_BYTES {
                match self.stopped_at {
                    None => self.stopped_at = Some((*pb).pos),
                    Some(at) if at != (*pb).pos => {
                        self.zero_run = 0;
                        self.stopped_at = None;
                    }
                    Some(_) => {}
                }
                if self.stopped_at.is_some() {
                    return true;
                }
            }
            (self.probing.load(Ordering::SeqCst) && read > LIMIT_BYTES)
                || stop_requested()
                || self
                    .io_guard
                    .as_ref()
                    .is_some_and(|g| g.stopped().is_some())
        }
    }
}

/// A condition that stops FFmpeg's reads on one thread.
type StopCondition = *const (dyn Fn() -> bool + 'static);

thread_local! {
    /// The condition of the innermost [`stop_reads_when`] guard on this thread.
    static STOP: Cell<Option<StopCondition>> = const { Cell::new(None) };
}

/// Whether this thread's stop condition (if any) answers true.
fn stop_requested() -> bool {
    STOP.with(|stop| {
        // SAFETY: the pointer was set by a `StopGuard` that is still alive on this thread (it
        // restores the previous value when dropped), so the condition it borrows is alive.
        stop.get()
            .is_some_and(|condition| unsafe { (*condition)() })
    })
}

/// While the returned guard lives, reads of inputs opened by
/// [`crate::media::open_input_with`] on this thread stop (`AVERROR_EXIT`) once `stop` answers
/// true: a cancelled or stopping transcode does not wait for its input.
pub fn stop_reads_when<'a>(stop: &'a (dyn Fn() -> bool + 'a)) -> StopGuard<'a> {
    let pointer: *const (dyn Fn() -> bool + 'a) = stop;
    // SAFETY: only the lifetime is erased; the guard (which holds the borrow for 'a) removes
    // the pointer before the borrow ends.
    let pointer: StopCondition = unsafe { std::mem::transmute(pointer) };
    let previous = STOP.with(|current| current.replace(Some(pointer)));
    StopGuard {
        previous,
        _borrow: std::marker::PhantomData,
    }
}

/// Keeps a [`stop_reads_when`] condition in force on this thread.
pub struct StopGuard<'a> {
    previous: Option<StopCondition>,
    _borrow: std::marker::PhantomData<(&'a (), *const ())>,
}

impl Drop for StopGuard<'_> {
    fn drop(&mut self) {
        STOP.with(|current| current.set(self.previous));
    }
}

/// The signal that wakes a thread from a blocking system call: SIGURG, ignored by default, so
/// a stray one does nothing; framekit's handler does nothing either, but is installed without
/// `SA_RESTART`, so the call returns `EINTR` and FFmpeg asks its interrupt callback.
const KICK_SIGNAL: libc::c_int = libc::SIGURG;

extern "C" fn on_kick(_signal: libc::c_int) {}

/// Wakes one thread from blocking reads so that its [`stop_reads_when`] condition is asked.
#[derive(Clone, Copy)]
pub struct Kicker {
    thread: libc::pthread_t,
}

impl Kicker {
    /// A kicker for the calling thread.
    pub fn current() -> Kicker {
        static INSTALL: std::sync::Once = std::sync::Once::new();
        INSTALL.call_once(|| {
            // SAFETY: an all-zero sigaction is a valid value to fill in; the handler only
            // returns, which is async-signal-safe.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_kick as *const () as libc::sighandler_t;
                action.sa_flags = 0;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(KICK_SIGNAL, &action, std::ptr::null_mut());
            }
        });
        Kicker {
            // SAFETY: pthread_self has no preconditions.
            thread: unsafe { libc::pthread_self() },
        }
    }

    /// Interrupts the thread's current blocking system call, if any.
    ///
    /// # Safety
    /// The thread must still be running (for example: it is waiting for the caller, a thread
    /// it spawned in a scope, to be joined).
    pub unsafe fn kick(&self) {
        // SAFETY: the thread is alive (the caller's guarantee); the signal has a handler.
        unsafe {
            libc::pthread_kill(self.thread, KICK_SIGNAL);
        }
    }
}

/// The bounds installed on one context: keep `guard` with the opened input (it frees the
/// callback's state) and clear `probing` once the input is probed.
pub struct Installed {
    pub guard: InterruptGuard,
    pub probing: Arc<AtomicBool>,
}

/// Installs the bounds as `context`'s interrupt callback, probing bound armed; `io_guard`
/// (a request's deadline, a cancel flag) stops reads too.
///
/// # Safety
/// `context` must be a valid `AVFormatContext` not yet opened, with no interrupt callback of
/// its own; the returned guard must outlive every use of the context (wrap the opened input
/// with it, or drop it after a failed open).
pub unsafe fn install(
    context: *mut AVFormatContext,
    io_guard: Option<Arc<crate::media::IoGuard>>,
) -> Installed {
    let probing = Arc::new(AtomicBool::new(true));
    let mut watch = Watch {
        context: context as usize,
        probing: probing.clone(),
        last_read: 0,
        zero_run: 0,
        stopped_at: None,
        io_guard,
    };
    let interrupt = ffmpeg_next::util::interrupt::new(Box::new(move || watch.interrupt()));
    // SAFETY: the caller's guarantee.
    unsafe { (*context).interrupt_callback = interrupt.interrupt };
    Installed {
        guard: interrupt.guard,
        probing,
    }
}
