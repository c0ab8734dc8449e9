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
            self.probing.load(Ordering::SeqCst) && read > LIMIT_BYTES
        }
    }
}

/// The bounds installed on one context: keep `guard` with the opened input (it frees the
/// callback's state) and clear `probing` once the input is probed.
pub struct Installed {
    pub guard: InterruptGuard,
    pub probing: Arc<AtomicBool>,
}

/// Installs the bounds as `context`'s interrupt callback, probing bound armed.
///
/// # Safety
/// `context` must be a valid `AVFormatContext` not yet opened, with no interrupt callback of
/// its own; the returned guard must outlive every use of the context (wrap the opened input
/// with it, or drop it after a failed open).
pub unsafe fn install(context: *mut AVFormatContext) -> Installed {
    let probing = Arc::new(AtomicBool::new(true));
    let mut watch = Watch {
        context: context as usize,
        probing: probing.clone(),
        last_read: 0,
        zero_run: 0,
        stopped_at: None,
    };
    let interrupt = ffmpeg_next::util::interrupt::new(Box::new(move || watch.interrupt()));
    // SAFETY: the caller's guarantee.
    unsafe { (*context).interrupt_callback = interrupt.interrupt };
    Installed {
        guard: interrupt.guard,
        probing,
    }
}
