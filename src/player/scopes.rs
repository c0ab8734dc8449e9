//! The scopes worker: a thread (`framekit-scopes`) that computes the waveform, RGB parade,
//! vectorscope and histogram of a frame ([`crate::media::scope`]) and builds their images
//! (the caller's image type, like the player's frames), so a caller's UI thread only uploads
//! them. Requests are latest-wins per side (A and B of a compare): each carries a generation,
//! the worker skips requests that a newer one for the same side superseded and drops results
//! that went stale while they were computed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded};

use super::{FrameImage, PlayerError};
use crate::frame::{Frame, PixelLayout};
use crate::media::color::{ColorDecision, Hdr, Orientation, SourceSamples};
use crate::media::display_planes::DisplayPlanes;
use crate::media::scope::{LEVEL_ROWS, ScopeData, ScopeError, ScopeKind};

/// Which picture the scopes are of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScopeSide {
    /// The file on screen (A while comparing).
    A,
    /// B while comparing.
    B,
}

impl ScopeSide {
    fn slot(self) -> usize {
        match self {
            ScopeSide::A => 0,
            ScopeSide::B => 1,
        }
    }
}

/// The frame to compute scopes of.
pub struct ScopeRequest {
    pub side: ScopeSide,
    /// The decoded samples (the player's [`super::ReadyFrame::samples`]).
    pub samples: Arc<SourceSamples>,
    /// The frame as shown (oriented; full size or the player's display size); empty while
    /// the GPU display draws `planes` (then the RGB is made from them here).
    pub shown: Arc<Frame>,
    /// The planes the GPU display draws, when `shown` has no pixels.
    pub planes: Option<Arc<DisplayPlanes>>,
    /// The matrix and range the stream is read with.
    pub decision: ColorDecision,
    /// The stream's transfer when HDR (the waveform then reads in nits).
    pub hdr: Option<Hdr>,
    /// Read every `sample_step`th row and column (1: every pixel; 2 while playing a large
    /// frame, a quarter of the work).
    pub sample_step: usize,
}

/// While playing, scopes follow at most this many frames a second (each takes tens of
/// milliseconds of the cores the decoder needs; paused, every frame gets its own at once).
pub const PLAYING_RATE: f64 = 10.0;

/// While playing, frames with more decoded pixels than this get scopes of every other row
/// and column (a quarter of the samples); paused, every pixel counts.
const SAMPLED_ABOVE_PIXELS: u64 = 2_000_000;

/// The [`ScopeRequest::sample_step`] for scopes of `samples`, while playing or not.
pub fn sample_step(samples: &SourceSamples, playing: bool) -> usize {
    let pixels = u64::from(samples.width) * u64::from(samples.height);
    if playing && pixels > SAMPLED_ABOVE_PIXELS {
        2
    } else {
        1
    }
}

/// One rendered scope, as the caller's image.
pub struct ScopeImage<I> {
    pub kind: ScopeKind,
    pub width: u32,
    pub height: u32,
    pub image: Arc<I>,
}

/// The scopes of one frame.
pub struct Scopes<I> {
    pub side: ScopeSide,
    pub generation: u64,
    /// One image per [`ScopeKind::ALL`], in that order.
    pub images: Vec<ScopeImage<I>>,
    /// The waveform's graticule: height from the bottom (0..1) and its label ("100 nits").
    pub graticule: Vec<(f32, String)>,
}

/// What the worker reports.
pub enum ScopeReply<I> {
    Ready(Scopes<I>),
    Failed {
        side: ScopeSide,
        generation: u64,
        error: ScopeError,
    },
}

struct Job {
    generation: u64,
    request: ScopeRequest,
}

/// The caller's side of the scopes worker. Dropping it stops the thread without waiting.
pub struct ScopeWorker<I: FrameImage> {
    requests: Sender<Job>,
    replies: Receiver<ScopeReply<I>>,
    generations: Arc<[AtomicU64; 2]>,
    stop: Arc<AtomicBool>,
}

impl<I: FrameImage> ScopeWorker<I> {
    /// Starts the thread; `wake` is called after every reply.
    pub fn spawn(wake: impl Fn() + Send + Sync + 'static) -> ScopeWorker<I> {
        let (request_tx, request_rx) = bounded::<Job>(16);
        let (reply_tx, reply_rx) = bounded(8);
        let generations = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
        let stop = Arc::new(AtomicBool::new(false));
        let (worker_generations, worker_stop) = (generations.clone(), stop.clone());
        // If the thread cannot start, the dropped channel reports it on the first call.
        let _ = std::thread::Builder::new()
            .name("framekit-scopes".into())
            .spawn(move || run(request_rx, reply_tx, worker_generations, worker_stop, wake));
        ScopeWorker {
            requests: request_tx,
            replies: reply_rx,
            generations,
            stop,
        }
    }

    /// Asks for the scopes of a frame; returns its generation, which makes every older
    /// request for the same side stale.
    pub fn send(&self, request: ScopeRequest) -> Result<u64, PlayerError> {
        let generation = self.generations[request.side.slot()].fetch_add(1, Ordering::SeqCst) + 1;
        match self.requests.try_send(Job {
            generation,
            request,
        }) {
            Ok(()) => Ok(generation),
            Err(TrySendError::Full(_)) => Err(PlayerError::Busy),
            Err(TrySendError::Disconnected(_)) => Err(PlayerError::Stopped),
        }
    }

    /// Whether `generation` is the newest request for `side`.
    pub fn is_current(&self, side: ScopeSide, generation: u64) -> bool {
        self.generations[side.slot()].load(Ordering::SeqCst) == generation
    }

    /// The next reply without waiting; `Err(Stopped)` when the thread is gone.
    pub fn try_recv(&self) -> Result<Option<ScopeReply<I>>, PlayerError> {
        match self.replies.try_recv() {
            Ok(reply) => Ok(Some(reply)),
            Err(crossbeam_channel::TryRecvError::Empty) => Ok(None),
            Err(crossbeam_channel::TryRecvError::Disconnected) => Err(PlayerError::Stopped),
        }
    }

    /// The next reply, waiting up to `timeout`; `Ok(None)` when none came.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Option<ScopeReply<I>>, PlayerError> {
        match self.replies.recv_timeout(timeout) {
            Ok(reply) => Ok(Some(reply)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(PlayerError::Stopped),
        }
    }
}

impl<I: FrameImage> Drop for ScopeWorker<I> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn run<I: FrameImage>(
    requests: Receiver<Job>,
    replies: Sender<ScopeReply<I>>,
    generations: Arc<[AtomicU64; 2]>,
    stop: Arc<AtomicBool>,
    wake: impl Fn(),
) {
    let current = |side: ScopeSide, generation: u64| {
        generations[side.slot()].load(Ordering::SeqCst) == generation
    };
    while !stop.load(Ordering::SeqCst) {
        let first = match requests.recv_timeout(Duration::from_millis(100)) {
            Ok(job) => job,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        // Only the newest request of each side matters.
        let mut newest: [Option<Job>; 2] = [None, None];
        for job in std::iter::once(first).chain(requests.try_iter()) {
            let slot = job.request.side.slot();
            newest[slot] = Some(job);
        }
        for job in newest.into_iter().flatten() {
            let side = job.request.side;
            if !current(side, job.generation) {
                continue;
            }
            let reply = match compute::<I>(&job.request) {
                Ok((images, graticule)) => ScopeReply::Ready(Scopes {
                    side,
                    generation: job.generation,
                    images,
                    graticule,
                }),
                Err(error) => ScopeReply::Failed {
                    side,
                    generation: job.generation,
                    error,
                },
            };
            // A result that went stale while it was computed is not worth showing.
            if !current(side, job.generation) {
                continue;
            }
            if !deliver(&replies, reply, &stop, &wake) {
                return;
            }
        }
    }
}

/// Sends a reply, waiting while the caller catches up; false when the caller is gone.
fn deliver<I>(
    replies: &Sender<ScopeReply<I>>,
    mut reply: ScopeReply<I>,
    stop: &AtomicBool,
    wake: &impl Fn(),
) -> bool {
    loop {
        match replies.send_timeout(reply, Duration::from_millis(50)) {
            Ok(()) => {
                wake();
                return true;
            }
            Err(crossbeam_channel::SendTimeoutError::Timeout(back)) => {
                wake();
                if stop.load(Ordering::SeqCst) {
                    return false;
                }
                reply = back;
            }
            Err(crossbeam_channel::SendTimeoutError::Disconnected(_)) => return false,
        }
    }
}

type Computed<I> = (Vec<ScopeImage<I>>, Vec<(f32, String)>);

fn compute<I: FrameImage>(request: &ScopeRequest) -> Result<Computed<I>, ScopeError> {
    let samples = &request.samples;
    let shown = match &request.planes {
        // The GPU display's frame: the CPU path's RGB of its planes, already stored-oriented.
        Some(planes) if request.shown.pixels.is_empty() => {
            std::borrow::Cow::Owned(planes.stored_rgb(request.shown.index).ok_or_else(|| {
                ScopeError::UnsupportedFormat(crate::media::color::pixel_format_name(
                    planes.pixel_format(),
                ))
            })?)
        }
        _ => unrotated(&request.shown, samples.orientation),
    };
    let data = ScopeData::compute_sampled(
        samples.decoded(),
        request.decision,
        request.hdr,
        &shown,
        request.sample_step,
    )?;
    let images = ScopeKind::ALL
        .iter()
        .map(|&kind| {
            let rendered = data.render(kind);
            let frame = Frame {
                index: 0,
                time_seconds: None,
                width: rendered.width,
                height: rendered.height,
                layout: PixelLayout::Rgba8,
                pixels: rendered.rgba,
            };
            ScopeImage {
                kind,
                width: frame.width,
                height: frame.height,
                image: Arc::new(I::from_frame(&frame)),
            }
        })
        .collect();
    let graticule = data
        .graticule
        .iter()
        .map(|(row, label)| (*row as f32 / (LEVEL_ROWS - 1) as f32, label.clone()))
        .collect();
    Ok((images, graticule))
}

/// The shown frame turned back to the stored orientation (same scale), so the parade's
/// columns are the stored picture's.
fn unrotated(shown: &Arc<Frame>, orientation: Orientation) -> std::borrow::Cow<'_, Frame> {
    if orientation.is_identity() {
        return std::borrow::Cow::Borrowed(shown.as_ref());
    }
    let (dw, dh) = (shown.width as usize, shown.height as usize);
    let (sw, sh) = if orientation.rotate_cw % 180 == 90 {
        (dh, dw)
    } else {
        (dw, dh)
    };
    let channels = shown.layout.channels();
    let mut pixels = vec![0u8; sw * sh * channels];
    for dy in 0..dh {
        for dx in 0..dw {
            let (sx, sy) = orientation.stored_position(dx, dy, sw, sh);
            let from = (dy * dw + dx) * channels;
            let to = (sy * sw + sx) * channels;
            if let (Some(src), Some(dst)) = (
                shown.pixels.get(from..from + channels),
                pixels.get_mut(to..to + channels),
            ) {
                dst.copy_from_slice(src);
            }
        }
    }
    std::borrow::Cow::Owned(Frame {
        index: shown.index,
        time_seconds: shown.time_seconds,
        width: sw as u32,
        height: sh as u32,
        layout: shown.layout,
        pixels,
    })
}
