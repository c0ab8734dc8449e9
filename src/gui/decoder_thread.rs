//! The decoder thread: owns the open media (demuxer, decoder, frame cache) and does every
//! decode, colour conversion, PNG/base64 encode and file read for the app. The UI talks to it
//! with [`Request`]s and drains [`Reply`]s with `try_recv()` once per frame.
//!
//! Frame requests are latest-wins: the UI bumps a shared generation with every request, the
//! worker drops requests whose generation is no longer current, and the UI drops replies for
//! old generations. While the exact frame decodes, the nearest cached frame is sent at once as
//! a placeholder. When idle, the worker prefetches around the playhead (the frames just before
//! it inside its GOP, and a few after), under a memory budget. A second thread builds the
//! filmstrip thumbnails at low priority. Dropping the handle stops both without waiting.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded};

use crate::codec::{self, DecodeLimits, TextForm, frames::frames_to_text, paste::thousands};
use crate::frame::{Frame, PixelLayout};
use crate::media::color::SourceSamples;
use crate::media::{MediaInfo, MediaSource, OpenOptions, StillImage};

use super::clipboard::ClipboardImage;

/// How text or images leave the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyForm {
    Base64,
    DataUri,
    /// A bitmap on the clipboard.
    Image,
    /// Several frames by id list (`1,30`), `|`-joined base64 PNGs like `framekit frames`.
    List(String),
}

/// UI to decoder.
#[derive(Debug)]
pub enum Request {
    Open(PathBuf),
    /// Show frame `frame` (0-based); `generation` is the value the UI stored with it.
    Show {
        frame: usize,
        generation: u64,
    },
    Copy {
        frame: usize,
        form: CopyForm,
    },
    /// Decode pasted text; on success the images become the current media.
    Paste {
        text: String,
    },
    /// View a bitmap from the clipboard.
    PasteImage(ClipboardImage),
}

/// A frame ready to draw.
#[derive(Clone)]
pub struct ReadyFrame {
    pub index: usize,
    pub generation: u64,
    pub image: Arc<egui::ColorImage>,
    pub frame: Arc<Frame>,
    /// The decoded samples behind the frame (videos), for the pixel inspector.
    pub samples: Option<Arc<SourceSamples>>,
    /// False for a placeholder (the nearest cached frame) shown while the exact one decodes.
    pub exact: bool,
}

/// What was produced for the clipboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClipboardPayload {
    Text(String),
    Image(ClipboardImage),
}

/// Decoder to UI.
pub enum Reply {
    Opened {
        info: Box<MediaInfo>,
        frame_times: Vec<Option<f64>>,
        keyframes: Vec<bool>,
        media_id: u64,
    },
    Frame(ReadyFrame),
    Thumbnail {
        media_id: u64,
        index: usize,
        image: Arc<egui::ColorImage>,
    },
    /// Long work under way (shown as a small progress note).
    Busy(String),
    Copied {
        payload: ClipboardPayload,
        summary: String,
    },
    Failed(String),
}

/// Settings for the worker.
#[derive(Debug, Clone)]
pub struct DecoderOptions {
    /// Memory budget for cached decoded frames.
    pub cache_budget_bytes: usize,
    pub limits: DecodeLimits,
    pub open: OpenOptions,
    /// Tests only: the worker waits for a message on this channel before each exact decode,
    /// so a test can hold a "slow seek" open and check the UI keeps answering.
    pub decode_gate: Option<Receiver<()>>,
}

impl Default for DecoderOptions {
    fn default() -> Self {
        DecoderOptions {
            cache_budget_bytes: 512 << 20,
            limits: DecodeLimits::default(),
            open: OpenOptions::default(),
            decode_gate: None,
        }
    }
}

/// The UI's side of the decoder thread.
pub struct DecoderHandle {
    requests: Sender<Request>,
    replies: Receiver<Reply>,
    generation: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    _worker: Option<JoinHandle<()>>,
}

/// Capacity of both channels; frame requests are coalesced, so this is never reached in use.
const CHANNEL_CAPACITY: usize = 64;

impl DecoderHandle {
    /// Starts the worker. `wake` is called after every reply (the app passes
    /// `ctx.request_repaint()`).
    pub fn spawn(
        options: DecoderOptions,
        wake: impl Fn() + Send + Sync + 'static,
    ) -> DecoderHandle {
        let (request_tx, request_rx) = bounded(CHANNEL_CAPACITY);
        let (reply_tx, reply_rx) = bounded(CHANNEL_CAPACITY);
        let generation = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let outbox = Outbox {
            replies: reply_tx,
            wake: Arc::new(wake),
            stop: stop.clone(),
        };
        let worker_generation = generation.clone();
        // The worker is built on its own thread: FFmpeg contexts never cross threads.
        let handle = std::thread::Builder::new()
            .name("framekit-decoder".into())
            .spawn(move || Worker::new(request_rx, outbox, worker_generation, options).run())
            .ok();
        DecoderHandle {
            requests: request_tx,
            replies: reply_rx,
            generation,
            stop,
            _worker: handle,
        }
    }

    /// Sends a request; a frame request gets a fresh generation, making older ones stale.
    /// Errs when the worker is gone or hopelessly behind.
    pub fn send(&self, request: Request) -> Result<(), String> {
        let request = match request {
            Request::Show { frame, .. } => {
                let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
                Request::Show { frame, generation }
            }
            other => other,
        };
        match self.requests.try_send(request) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err("the decoder is busy; try again".to_string()),
            Err(TrySendError::Disconnected(_)) => Err("the decoder thread has stopped".to_string()),
        }
    }

    /// Next reply without waiting; `Err` when the worker is gone.
    pub fn try_recv(&self) -> Result<Option<Reply>, String> {
        match self.replies.try_recv() {
            Ok(reply) => Ok(Some(reply)),
            Err(crossbeam_channel::TryRecvError::Empty) => Ok(None),
            Err(crossbeam_channel::TryRecvError::Disconnected) => {
                Err("the decoder thread stopped unexpectedly".to_string())
            }
        }
    }
}

impl Drop for DecoderHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Sends replies and wakes the UI; gives up when the app is stopping.
#[derive(Clone)]
struct Outbox {
    replies: Sender<Reply>,
    wake: Arc<dyn Fn() + Send + Sync>,
    stop: Arc<AtomicBool>,
}

impl Outbox {
    /// Delivers a reply, waiting while the UI catches up; false when the app is gone.
    fn deliver(&self, mut reply: Reply) -> bool {
        loop {
            match self.replies.send_timeout(reply, Duration::from_millis(50)) {
                Ok(()) => {
                    (self.wake)();
                    return true;
                }
                Err(crossbeam_channel::SendTimeoutError::Timeout(back)) => {
                    (self.wake)();
                    if self.stop.load(Ordering::SeqCst) {
                        return false;
                    }
                    reply = back;
                }
                Err(crossbeam_channel::SendTimeoutError::Disconnected(_)) => return false,
            }
        }
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// A decoded frame and the samples behind it.
#[derive(Clone)]
struct Decoded {
    frame: Arc<Frame>,
    samples: Option<Arc<SourceSamples>>,
}

impl Decoded {
    fn byte_size(&self) -> usize {
        self.frame.byte_size() + self.samples.as_ref().map_or(0, |s| s.byte_size())
    }
}

/// Decoded frames under a memory budget, least recently used out first.
struct FrameCache {
    budget: usize,
    used: usize,
    frames: HashMap<usize, Decoded>,
    order: VecDeque<usize>,
}

impl FrameCache {
    fn new(budget: usize) -> FrameCache {
        FrameCache {
            budget,
            used: 0,
            frames: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    fn clear(&mut self) {
        self.frames.clear();
        self.order.clear();
        self.used = 0;
    }

    fn get(&mut self, index: usize) -> Option<Decoded> {
        let frame = self.frames.get(&index)?.clone();
        self.order.retain(|&i| i != index);
        self.order.push_back(index);
        Some(frame)
    }

    fn contains(&self, index: usize) -> bool {
        self.frames.contains_key(&index)
    }

    fn insert(&mut self, frame: Decoded) {
        let index = frame.frame.index;
        if let Some(old) = self.frames.insert(index, frame.clone()) {
            self.used -= old.byte_size();
            self.order.retain(|&i| i != index);
        }
        self.used += frame.byte_size();
        self.order.push_back(index);
        while self.used > self.budget && self.order.len() > 1 {
            if let Some(evicted) = self.order.pop_front().and_then(|i| self.frames.remove(&i)) {
                self.used -= evicted.byte_size();
            }
        }
    }

    /// The cached frame nearest to `index`.
    fn nearest(&self, index: usize) -> Option<Decoded> {
        self.frames
            .iter()
            .min_by_key(|(i, _)| i.abs_diff(index))
            .map(|(_, f)| f.clone())
    }
}

/// Frames decoded around the playhead when idle: this many before it (inside its GOP)...
const PREFETCH_BEHIND: usize = 12;
/// ...and this many after it.
const PREFETCH_AHEAD: usize = 4;
/// Filmstrip size.
const THUMBNAIL_COUNT: usize = 16;
const THUMBNAIL_HEIGHT: u32 = 64;
/// Frames above this many pixels get a "working" note before encoding.
const LARGE_FRAME_PIXELS: u64 = 1_000_000;

struct Worker {
    requests: Receiver<Request>,
    outbox: Outbox,
    generation: Arc<AtomicU64>,
    options: DecoderOptions,
    source: Option<MediaSource>,
    cache: FrameCache,
    /// Frames still to prefetch, nearest first.
    prefetch: VecDeque<usize>,
    media_id: Arc<AtomicU64>,
}

pub fn color_image(frame: &Frame) -> egui::ColorImage {
    let size = [frame.width as usize, frame.height as usize];
    match frame.layout {
        PixelLayout::Rgb8 => egui::ColorImage::from_rgb(size, &frame.pixels),
        PixelLayout::Rgba8 => egui::ColorImage::from_rgba_unmultiplied(size, &frame.pixels),
    }
}

impl Worker {
    fn new(
        requests: Receiver<Request>,
        outbox: Outbox,
        generation: Arc<AtomicU64>,
        options: DecoderOptions,
    ) -> Worker {
        let cache = FrameCache::new(options.cache_budget_bytes);
        Worker {
            requests,
            outbox,
            generation,
            options,
            source: None,
            cache,
            prefetch: VecDeque::new(),
            media_id: Arc::new(AtomicU64::new(0)),
        }
    }

    fn run(mut self) {
        while !self.outbox.stopping() {
            let first = if self.prefetch.is_empty() {
                match self.requests.recv_timeout(Duration::from_millis(100)) {
                    Ok(request) => Some(request),
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            } else {
                self.requests.try_recv().ok()
            };
            let Some(first) = first else {
                self.prefetch_one();
                continue;
            };
            // Drain what else is queued: only the newest frame request matters.
            let mut batch = vec![first];
            batch.extend(self.requests.try_iter());
            let newest_show = batch
                .iter()
                .rposition(|r| matches!(r, Request::Show { .. }));
            for (i, request) in batch.into_iter().enumerate() {
                if matches!(request, Request::Show { .. }) && Some(i) != newest_show {
                    continue;
                }
                if !self.handle(request) {
                    return;
                }
            }
        }
    }

    /// Handles one request; false when the app is gone.
    fn handle(&mut self, request: Request) -> bool {
        match request {
            Request::Open(path) => self.open(path),
            Request::Show { frame, generation } => self.show(frame, generation),
            Request::Copy { frame, form } => self.copy(frame, form),
            Request::Paste { text } => self.paste(&text),
            Request::PasteImage(image) => self.paste_image(image),
        }
    }

    fn fail(&self, message: String) -> bool {
        self.outbox.deliver(Reply::Failed(message))
    }

    fn open(&mut self, path: PathBuf) -> bool {
        self.outbox
            .deliver(Reply::Busy(format!("opening {}…", path.display())));
        match MediaSource::open(&path, &self.options.open) {
            Ok(source) => {
                self.set_source(source);
                self.spawn_thumbnails(Some(path));
                true
            }
            Err(e) => self.fail(e.to_string()),
        }
    }

    fn set_source(&mut self, source: MediaSource) -> bool {
        let count = source.frame_count();
        let frame_times = (0..count).map(|i| source.frame_time(i)).collect();
        let keyframes = (0..count).map(|i| source.is_keyframe(i)).collect();
        let info = Box::new(source.info().clone());
        self.cache.clear();
        self.prefetch.clear();
        self.source = Some(source);
        let media_id = self.media_id.fetch_add(1, Ordering::SeqCst) + 1;
        self.outbox.deliver(Reply::Opened {
            info,
            frame_times,
            keyframes,
            media_id,
        })
    }

    fn is_current(&self, generation: u64) -> bool {
        self.generation.load(Ordering::SeqCst) == generation
    }

    fn show(&mut self, index: usize, generation: u64) -> bool {
        if !self.is_current(generation) {
            return true;
        }
        if let Some(frame) = self.cache.get(index) {
            self.plan_prefetch(index);
            return self.send_frame(frame, generation, true);
        }
        if let Some(nearest) = self.cache.nearest(index)
            && !self.send_frame(nearest, generation, false)
        {
            return false;
        }
        if let Some(gate) = &self.options.decode_gate {
            let _ = gate.recv();
        }
        if !self.is_current(generation) {
            return true;
        }
        match self.decode(index) {
            Ok(frame) => {
                self.plan_prefetch(index);
                self.send_frame(frame, generation, true)
            }
            Err(message) => self.fail(message),
        }
    }

    fn send_frame(&self, decoded: Decoded, generation: u64, exact: bool) -> bool {
        let image = Arc::new(color_image(&decoded.frame));
        let Decoded { frame, samples } = decoded;
        self.outbox.deliver(Reply::Frame(ReadyFrame {
            index: frame.index,
            generation,
            image,
            frame,
            samples,
            exact,
        }))
    }

    fn decode(&mut self, index: usize) -> Result<Decoded, String> {
        if let Some(decoded) = self.cache.get(index) {
            return Ok(decoded);
        }
        let source = self
            .source
            .as_mut()
            .ok_or_else(|| "nothing is open".to_string())?;
        let (frame, samples) = source
            .frame_with_samples(index)
            .map_err(|e| e.to_string())?;
        let decoded = Decoded {
            frame: Arc::new(frame),
            samples: samples.map(Arc::new),
        };
        self.cache.insert(decoded.clone());
        Ok(decoded)
    }

    /// Frames to decode when idle: the ones before the playhead in its GOP (ascending, so one
    /// seek serves them all), then a few after it.
    fn plan_prefetch(&mut self, index: usize) {
        self.prefetch.clear();
        let Some(source) = &self.source else { return };
        let count = source.frame_count();
        let mut start = index.saturating_sub(PREFETCH_BEHIND);
        if let MediaSource::Video(video) = source
            && let Some(keyframe) = video.index().keyframe_for(index)
        {
            start = start.max(keyframe);
        }
        let ahead = (index + 1..count.min(index + 1 + PREFETCH_AHEAD)).collect::<Vec<_>>();
        self.prefetch.extend(
            (start..index)
                .chain(ahead)
                .filter(|i| !self.cache.contains(*i)),
        );
    }

    fn prefetch_one(&mut self) {
        if let Some(index) = self.prefetch.pop_front()
            && self.decode(index).is_err()
        {
            self.prefetch.clear();
        }
    }

    fn copy(&mut self, index: usize, form: CopyForm) -> bool {
        let result = match form {
            CopyForm::List(ids) => self.copy_list(&ids),
            form => self.copy_frame(index, form),
        };
        match result {
            Ok((payload, summary)) => self.outbox.deliver(Reply::Copied { payload, summary }),
            Err(message) => self.fail(message),
        }
    }

    fn copy_frame(
        &mut self,
        index: usize,
        form: CopyForm,
    ) -> Result<(ClipboardPayload, String), String> {
        let frame = self.decode(index)?.frame;
        let size = format!("{}x{}", frame.width, frame.height);
        if form == CopyForm::Image {
            let image = ClipboardImage {
                width: frame.width as usize,
                height: frame.height as usize,
                rgba: frame.to_rgba(),
            };
            return Ok((
                ClipboardPayload::Image(image),
                format!("copied frame {} as an image, {size}", index + 1),
            ));
        }
        if u64::from(frame.width) * u64::from(frame.height) > LARGE_FRAME_PIXELS {
            self.outbox
                .deliver(Reply::Busy(format!("encoding {size} PNG…")));
        }
        let png = codec::encode_png(&frame)
            .map_err(|e| format!("cannot encode frame {} as PNG: {e}", index + 1))?;
        let (text_form, what) = match form {
            CopyForm::DataUri => (TextForm::DataUri, "PNG data URI"),
            _ => (TextForm::Base64, "base64 PNG"),
        };
        let text = codec::png_to_text(&png, text_form);
        let summary = format!("copied {} {what}, {size}", human_size(text.len()));
        Ok((ClipboardPayload::Text(text), summary))
    }

    fn copy_list(&mut self, ids: &str) -> Result<(ClipboardPayload, String), String> {
        let requested = codec::parse_frame_ids(ids).map_err(|e| e.to_string())?;
        let source = self
            .source
            .as_mut()
            .ok_or_else(|| "nothing is open".to_string())?;
        let extracted =
            codec::frames::extract_from_source(source, &requested).map_err(|e| e.to_string())?;
        self.outbox.deliver(Reply::Busy(format!(
            "encoding {} frames…",
            extracted.frames.len()
        )));
        let text =
            frames_to_text(&extracted.frames, TextForm::Base64).map_err(|e| e.to_string())?;
        let ids: Vec<String> = extracted
            .frames
            .iter()
            .map(|f| (f.index + 1).to_string())
            .collect();
        let mut summary = format!(
            "copied frames {} as '|'-joined base64 PNGs, {}",
            ids.join(","),
            human_size(text.len())
        );
        if !extracted.selection.skipped.is_empty() {
            let skipped: Vec<String> = extracted
                .selection
                .skipped
                .iter()
                .map(i64::to_string)
                .collect();
            summary.push_str(&format!(" (skipped {})", skipped.join(",")));
        }
        Ok((ClipboardPayload::Text(text), summary))
    }

    fn paste(&mut self, text: &str) -> bool {
        match codec::decode_base64_images(text, &self.options.limits) {
            Ok(images) => {
                let formats: Vec<String> = images
                    .iter()
                    .map(|i| codec::paste::format_name(i.format))
                    .collect();
                let frames: Vec<Frame> = images
                    .into_iter()
                    .flat_map(|i| i.frames)
                    .enumerate()
                    .map(|(n, f)| Frame { index: n, ..f })
                    .collect();
                let label = format!("pasted {}", formats.join("+"));
                match StillImage::from_frames(&label, &formats.join("+").to_lowercase(), frames) {
                    Ok(still) => self.set_source(MediaSource::Still(Box::new(still))),
                    Err(e) => self.fail(e.to_string()),
                }
            }
            Err(e) => self.fail(format!("paste: {e}")),
        }
    }

    fn paste_image(&mut self, image: ClipboardImage) -> bool {
        let expected = image.width * image.height * 4;
        if image.rgba.len() != expected || expected == 0 {
            return self.fail("paste: the clipboard image is empty or malformed".to_string());
        }
        let frame = Frame {
            index: 0,
            time_seconds: None,
            width: image.width as u32,
            height: image.height as u32,
            layout: PixelLayout::Rgba8,
            pixels: image.rgba,
        };
        match StillImage::from_frames("pasted bitmap", "bitmap", vec![frame]) {
            Ok(still) => self.set_source(MediaSource::Still(Box::new(still))),
            Err(e) => self.fail(e.to_string()),
        }
    }

    /// Builds the filmstrip on its own thread with its own decoder, so it never delays a seek.
    fn spawn_thumbnails(&self, path: Option<PathBuf>) {
        let (Some(path), Some(source)) = (path, &self.source) else {
            return;
        };
        let count = source.frame_count();
        if count < 2 {
            return;
        }
        let media_id = self.media_id.load(Ordering::SeqCst);
        let current = self.media_id.clone();
        let outbox = self.outbox.clone();
        let open = self.options.open;
        let _ = std::thread::Builder::new()
            .name("framekit-thumbnails".into())
            .spawn(move || {
                let Ok(mut source) = MediaSource::open(&path, &open) else {
                    return;
                };
                let wanted = THUMBNAIL_COUNT.min(count);
                for slot in 0..wanted {
                    if outbox.stopping() || current.load(Ordering::SeqCst) != media_id {
                        return;
                    }
                    let index = slot * (count - 1) / (wanted - 1).max(1);
                    let Ok(frame) = source.frame(index) else {
                        return;
                    };
                    let thumb = frame.thumbnail(THUMBNAIL_HEIGHT * 3, THUMBNAIL_HEIGHT);
                    let image = Arc::new(color_image(&thumb));
                    if !outbox.deliver(Reply::Thumbnail {
                        media_id,
                        index,
                        image,
                    }) {
                        return;
                    }
                    // Low priority: leave the core to the main decoder between thumbnails.
                    std::thread::sleep(Duration::from_millis(15));
                }
            });
    }
}

/// `1.8 MB`, `640 KB`, `12 bytes`.
pub fn human_size(bytes: usize) -> String {
    if bytes >= 1_000_000 {
        format!("{:.1} MB", bytes as f64 / 1_000_000.0)
    } else if bytes >= 1_000 {
        format!("{} KB", bytes / 1_000)
    } else {
        format!("{} bytes", thousands(bytes))
    }
}
