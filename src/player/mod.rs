//! The playback engine, without any UI: a [`Player`] owns a decoder thread (the open media,
//! a frame cache under a memory budget, prefetch around the playhead, latest-wins frame
//! requests), a filmstrip thread that shares the decoder's frame index, and the copy/paste
//! work (PNG and base64 encoding, paste decoding with limits). Callers send requests and
//! drain [`Reply`]s with [`Player::try_recv`]; nothing here blocks the caller.
//!
//! The player is generic over the image it hands out next to each [`Frame`]: the app asks for
//! its texture image (built on the decoder thread, so the UI thread only uploads it); a
//! headless user asks for `()`. Errors cross the thread as a typed [`PlayerError`] together
//! with the [`Operation`] that failed.

mod cache;
pub mod scopes;
mod worker;

/// Filmstrip thumbnails are this many pixels high (and at most three times as wide).
pub const THUMBNAIL_HEIGHT: u32 = 64;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};

use crate::codec::{GetFramesError, PasteError};
use crate::frame::Frame;
use crate::media::color::SourceSamples;
use crate::media::{MediaError, MediaInfo, OpenOptions};

/// What the player builds next to each frame for its caller, on the decoder thread.
pub use crate::frame::FrameImage;

/// An RGBA bitmap: what "copy as image" produces and a pasted clipboard bitmap holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitmap {
    pub width: usize,
    pub height: usize,
    /// Straight (not premultiplied) RGBA, row-major.
    pub rgba: Vec<u8>,
}

/// How a frame leaves the player for the clipboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyForm {
    Base64,
    DataUri,
    /// A bitmap.
    Image,
    /// Several frames by id list (`1,30`), `|`-joined base64 PNGs like `framekit frames`.
    List(String),
}

/// What a copy produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClipboardPayload {
    Text(String),
    Image(Bitmap),
}

/// What the caller asked for.
#[derive(Debug)]
pub enum Request {
    Open(PathBuf),
    /// Show frame `frame` (0-based). Newer requests make older ones stale.
    Show {
        frame: usize,
    },
    /// Show frame `frame` (0-based) while playing, converted for a view of `fit` pixels
    /// (the size the caller draws it at): a frame that the view shows at half its pixels or
    /// fewer is scaled down before it is converted, and, where decoding alone keeps pace
    /// with the clip, a decoded frame that playback has passed by two frames or more is
    /// dropped before its conversion (at most three in a row). Stale like [`Request::Show`]; a later `Show` of the same frame gives it at full
    /// size.
    ShowAt {
        frame: usize,
        fit: (u32, u32),
    },
    Copy {
        frame: usize,
        form: CopyForm,
    },
    /// Decode pasted text; on success its images become the current media.
    Paste {
        text: String,
    },
    /// View a bitmap (from the clipboard).
    PasteBitmap(Bitmap),
    /// Tone-map HDR video or show it as tagged; an open video file is opened again with it.
    SetHdr(crate::media::HdrMode),
    /// For a display that converts frames itself (the app's GPU display), or not (the
    /// default). While on, every frame comes with its planes where the display can convert
    /// them as the CPU path does ([`ReadyFrame::planes`]), and frames asked for while playing
    /// ([`Request::ShowAt`]) come with their planes only: no RGB conversion, an empty
    /// `frame` (a later [`Request::Show`] of the same frame converts it from the kept planes).
    DisplayPlanes(bool),
}

/// Which kind of request an error belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Open,
    Show,
    Copy,
    Paste,
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum PlayerError {
    #[error(transparent)]
    Media(#[from] MediaError),
    #[error(transparent)]
    Frames(#[from] GetFramesError),
    #[error("paste: {0}")]
    Paste(#[from] PasteError),
    #[error("paste: the clipboard image is empty or malformed ({width}x{height}, {bytes} bytes)")]
    BadBitmap {
        width: usize,
        height: usize,
        bytes: usize,
    },
    #[error("paste: the clipboard image is {width}x{height}, over the {limit} megapixel limit")]
    BitmapTooLarge {
        width: usize,
        height: usize,
        limit: u64,
    },
    #[error("nothing is open: open a file or paste an image first")]
    NothingOpen,
    #[error("the player is busy; try again")]
    Busy,
    #[error("the player thread has stopped")]
    Stopped,
}

/// A frame ready to show.
pub struct ReadyFrame<I> {
    pub index: usize,
    /// The request generation this answers; older generations are stale.
    pub generation: u64,
    pub image: Arc<I>,
    pub frame: Arc<Frame>,
    /// The decoded samples behind the frame (videos), for the pixel inspector.
    pub samples: Option<Arc<SourceSamples>>,
    /// False for a placeholder (the nearest cached frame) shown while the exact one decodes.
    pub exact: bool,
    /// The frame's full size (oriented). `frame` is smaller when it was converted for
    /// display ([`Request::ShowAt`]).
    pub full_size: (u32, u32),
    /// The decoded planes and how to convert them as the CPU path does, when the caller
    /// asked for them ([`Request::DisplayPlanes`]) and a display can convert this frame.
    pub planes: Option<Arc<crate::media::display_planes::DisplayPlanes>>,
}

impl<I> ReadyFrame<I> {
    /// Converted at display size: smaller than the frame is (not for copies or the
    /// inspector's RGB).
    pub fn is_reduced(&self) -> bool {
        (self.frame.width, self.frame.height) != self.full_size
    }
}

impl<I> Clone for ReadyFrame<I> {
    fn clone(&self) -> Self {
        ReadyFrame {
            index: self.index,
            generation: self.generation,
            image: self.image.clone(),
            frame: self.frame.clone(),
            samples: self.samples.clone(),
            exact: self.exact,
            full_size: self.full_size,
            planes: self.planes.clone(),
        }
    }
}

/// What the player reports.
pub enum Reply<I> {
    Opened {
        info: Box<MediaInfo>,
        frame_times: Vec<Option<f64>>,
        keyframes: Vec<bool>,
        media_id: u64,
    },
    Frame(ReadyFrame<I>),
    /// The background index is this far through the file (0..1); until it is done the
    /// count may be partial (a file without a sample table) and frame times estimated.
    Indexing {
        media_id: u64,
        fraction: f32,
    },
    /// The background index is complete: the whole count, every frame's time, keyframes.
    Indexed {
        media_id: u64,
        info: Box<MediaInfo>,
        frame_times: Vec<Option<f64>>,
        keyframes: Vec<bool>,
    },
    /// The open media's facts changed after it opened: its decoder fell back to software
    /// mid-stream (the info's `decoder` says why).
    InfoChanged {
        media_id: u64,
        info: Box<MediaInfo>,
    },
    Thumbnail {
        media_id: u64,
        index: usize,
        image: Arc<I>,
    },
    /// Long work under way (shown as a small progress note).
    Busy(String),
    Copied {
        payload: ClipboardPayload,
        summary: String,
    },
    Failed {
        op: Operation,
        error: PlayerError,
    },
}

/// Settings for the player.
#[derive(Debug, Clone)]
pub struct PlayerOptions {
    /// Memory budget for cached decoded frames.
    pub cache_budget_bytes: usize,
    /// How files open; its decode limits also bound pastes.
    pub open: OpenOptions,
    /// Build filmstrip thumbnails for opened files.
    pub filmstrip: bool,
    /// Largest width or height of the image built beside each frame (a GPU's texture limit);
    /// larger frames get a downscaled image. The frame itself is always full size.
    pub max_image_side: u32,
    /// Tests only: the worker waits for a message on this channel before each exact decode,
    /// so a test can hold a "slow seek" open and check its caller keeps answering.
    pub decode_gate: Option<Receiver<()>>,
    /// Tests only: after decoding a frame asked for and before converting it, the worker
    /// sends its index on the first channel and waits for a message on the second, so a test
    /// can make it late meanwhile.
    pub convert_gate: Option<(Sender<usize>, Receiver<()>)>,
    /// Tests only: the background indexer waits for a message on this channel before it
    /// starts, so a test can check what is shown before the index is complete.
    pub index_gate: Option<Receiver<()>>,
}

impl Default for PlayerOptions {
    fn default() -> Self {
        PlayerOptions {
            cache_budget_bytes: 512 << 20,
            // A viewer keeps a URL open as long as it likes.
            // The viewer decodes on a hardware device where one works (frames stay exact:
            // the codecs are bit-exact, and any failure falls back to software).
            open: OpenOptions {
                deadline: crate::media::Deadline::Never,
                hwdec: crate::media::HwDecode::Auto,
                ..OpenOptions::default()
            },
            filmstrip: true,
            max_image_side: u32::MAX,
            decode_gate: None,
            convert_gate: None,
            index_gate: None,
        }
    }
}

/// A request on its way to the worker, frame requests stamped with their generation.
enum Message {
    Show {
        frame: usize,
        generation: u64,
        /// Convert for a view this size (playing), or at full size.
        fit: Option<(u32, u32)>,
    },
    Other(Request),
}

/// What the decoder thread did with the frames it decoded (for tests and benches).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlayerCounts {
    /// Frames converted to RGB (shown, prefetched, copied), at full or display size.
    pub converted: u64,
    /// Of those, converted at display size.
    pub converted_for_display: u64,
    /// Frames dropped before their conversion because a newer request made them late.
    pub late_skipped: u64,
}

/// The counters behind [`PlayerCounts`], shared with the worker.
#[derive(Debug, Default)]
struct Counters {
    converted: AtomicU64,
    converted_for_display: AtomicU64,
    late_skipped: AtomicU64,
}

/// Capacity of both channels; frame requests are coalesced, so this is rarely reached.
const CHANNEL_CAPACITY: usize = 64;

/// The caller's side of the player. Dropping it stops the threads without waiting.
pub struct Player<I: FrameImage> {
    requests: Sender<Message>,
    replies: Receiver<Reply<I>>,
    generation: Arc<AtomicU64>,
    /// The frame asked for last (playback drops frames before it).
    wanted: Arc<AtomicUsize>,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
}

impl<I: FrameImage> Player<I> {
    /// Starts the decoder thread. `wake` is called after every reply (the app passes
    /// `ctx.request_repaint()`).
    pub fn spawn(options: PlayerOptions, wake: impl Fn() + Send + Sync + 'static) -> Player<I> {
        let (request_tx, request_rx) = bounded(CHANNEL_CAPACITY);
        let (reply_tx, reply_rx) = bounded(CHANNEL_CAPACITY);
        let generation = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let outbox = worker::Outbox {
            replies: reply_tx,
            wake: Arc::new(wake),
            stop: stop.clone(),
        };
        let wanted = Arc::new(AtomicUsize::new(0));
        let counters = Arc::new(Counters::default());
        let shared = worker::Shared {
            generation: generation.clone(),
            wanted: wanted.clone(),
            counters: counters.clone(),
        };
        // The worker is built on its own thread: FFmpeg contexts stay on the thread that made
        // them. If the thread cannot start, the dropped channel reports it on the first call.
        let _ = std::thread::Builder::new()
            .name("framekit-player".into())
            .spawn(move || {
                worker::Worker::new(request_rx, outbox, shared, options).run();
            });
        Player {
            requests: request_tx,
            replies: reply_rx,
            generation,
            wanted,
            counters,
            stop,
        }
    }

    /// What the decoder thread has done so far.
    pub fn counts(&self) -> PlayerCounts {
        PlayerCounts {
            converted: self.counters.converted.load(Ordering::SeqCst),
            converted_for_display: self.counters.converted_for_display.load(Ordering::SeqCst),
            late_skipped: self.counters.late_skipped.load(Ordering::SeqCst),
        }
    }

    /// Sends a request. A frame request gets a fresh generation (returned), which makes every
    /// older frame request stale.
    pub fn send(&self, request: Request) -> Result<u64, PlayerError> {
        let (frame, fit) = match &request {
            Request::Show { frame } => (Some(*frame), None),
            Request::ShowAt { frame, fit } => (Some(*frame), Some(*fit)),
            _ => (None, None),
        };
        let (message, generation) = match frame {
            Some(frame) => {
                self.wanted.store(frame, Ordering::SeqCst);
                let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
                (
                    Message::Show {
                        frame,
                        generation,
                        fit,
                    },
                    generation,
                )
            }
            None => (
                Message::Other(request),
                self.generation.load(Ordering::SeqCst),
            ),
        };
        match self.requests.try_send(message) {
            Ok(()) => Ok(generation),
            Err(TrySendError::Full(_)) => Err(PlayerError::Busy),
            Err(TrySendError::Disconnected(_)) => Err(PlayerError::Stopped),
        }
    }

    /// The next reply without waiting; `Err(Stopped)` when the decoder thread is gone.
    pub fn try_recv(&self) -> Result<Option<Reply<I>>, PlayerError> {
        match self.replies.try_recv() {
            Ok(reply) => Ok(Some(reply)),
            Err(crossbeam_channel::TryRecvError::Empty) => Ok(None),
            Err(crossbeam_channel::TryRecvError::Disconnected) => Err(PlayerError::Stopped),
        }
    }

    /// The next reply, waiting up to `timeout`; `Ok(None)` when none came.
    pub fn recv_timeout(
        &self,
        timeout: std::time::Duration,
    ) -> Result<Option<Reply<I>>, PlayerError> {
        match self.replies.recv_timeout(timeout) {
            Ok(reply) => Ok(Some(reply)),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => Ok(None),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => Err(PlayerError::Stopped),
        }
    }
}

impl<I: FrameImage> Drop for Player<I> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// `1.8 MB`, `640 KB`, `12 bytes` (the copy notes' sizes).
pub use crate::text::human_size;
