//! The decoder thread: owns the open media and the frame cache, and does every decode, colour
//! conversion, PNG/base64 encode and paste decode for its [`Player`](super::Player).
//!
//! Frame requests are latest-wins: every request carries a generation, the worker drops those
//! that are no longer current, and the caller drops replies for old generations. While the
//! exact frame decodes, the nearest cached frame is sent at once as a placeholder. When idle,
//! the worker prefetches around the playhead (the frames just before it inside its GOP, and a
//! few after), under the cache's memory budget. Its background threads (the indexer, the
//! filmstrip) are in `background`, copies and pastes in `copy_paste`.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

mod background;
mod copy_paste;
#[cfg(test)]
mod tests;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::cache::{Decoded, FrameCache, Heading};
use super::{
    Counters, FrameImage, Message, Operation, PlayerError, PlayerOptions, ReadyFrame, Reply,
    Request,
};
use crate::media::MediaSource;
use background::IndexNews;

/// Frames decoded around the playhead when idle: this many before it (inside its GOP)...
const PREFETCH_BEHIND: usize = 12;
/// ...and this many after it...
const PREFETCH_AHEAD: usize = 4;
/// ...or, while the playhead moves forward (held Right, playback), this many after it and
/// none before: decoding on is cheap, going back to the keyframe is not.
const PREFETCH_AHEAD_MOVING: usize = 10;
/// A request this close after the last one continues a move (forward or back).
const MOVING_WINDOW: usize = 10;
/// Stepping back onto a frame not cached, at most this many frames before it are decoded
/// and kept with it (see `Worker::fill_behind`).
const FILL_BEHIND: usize = 30;
/// Frames above this many pixels get a "working" note before encoding.
const LARGE_FRAME_PIXELS: u64 = 1_000_000;

/// Sends replies and wakes the caller; gives up when the player is dropped.
pub(super) struct Outbox<I> {
    pub replies: Sender<Reply<I>>,
    pub wake: Arc<dyn Fn() + Send + Sync>,
    pub stop: Arc<AtomicBool>,
}

impl<I> Clone for Outbox<I> {
    fn clone(&self) -> Self {
        Outbox {
            replies: self.replies.clone(),
            wake: self.wake.clone(),
            stop: self.stop.clone(),
        }
    }
}

impl<I> Outbox<I> {
    /// Delivers a reply, waiting while the caller catches up; false when the caller is gone.
    fn deliver(&self, mut reply: Reply<I>) -> bool {
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

/// What the worker shares with its [`Player`](super::Player).
pub(super) struct Shared {
    /// The newest frame request's generation.
    pub generation: Arc<AtomicU64>,
    /// The frame asked for last.
    pub wanted: Arc<AtomicUsize>,
    pub counters: Arc<Counters>,
}

/// When a frame on its way is no longer worth converting.
#[derive(Debug, Clone, Copy)]
enum LateIf {
    /// Never (copies).
    Never,
    /// A frame asked for while playing: a newer request came and wants a frame at least
    /// [`LATE_BY`] frames past it (so it is at least a frame interval late, and converting it
    /// would delay the frame due), within [`MOVING_WINDOW`] (decoding on reaches it); decoding
    /// alone keeps pace with the clip (so skipping conversions lets playback catch up: when
    /// decoding is what falls behind, every decoded frame is worth showing); and fewer than
    /// [`LATE_IN_A_ROW`] frames were dropped since the last one shown. Frames asked for when
    /// paused are always converted: a drag shows the frames it passes.
    Superseded(u64),
    /// A prefetched frame while playing: the frame asked for is past it.
    Passed(usize),
}

/// How many frames past a decoded one the playhead must be for it to be dropped.
const LATE_BY: usize = 2;
/// At most this many frames asked for while playing are dropped one after the other.
const LATE_IN_A_ROW: usize = 3;

pub(super) struct Worker<I> {
    requests: Receiver<Message>,
    outbox: Outbox<I>,
    generation: Arc<AtomicU64>,
    wanted: Arc<AtomicUsize>,
    counters: Arc<Counters>,
    /// The view size of the last frame request while playing ([`super::Request::ShowAt`]);
    /// `None` after a plain `Show` (full size).
    fit: Option<(u32, u32)>,
    /// Frames asked for and dropped late since the last one shown.
    late_in_a_row: usize,
    /// The caller converts planes itself ([`super::Request::DisplayPlanes`]).
    planes: bool,
    /// Seconds one frame takes to decode (a running average over decodes).
    decode_seconds: Option<f64>,
    options: PlayerOptions,
    source: Option<MediaSource>,
    cache: FrameCache,
    /// Frames still to prefetch, nearest first.
    prefetch: VecDeque<usize>,
    /// The last frame asked for, to tell forward moves from jumps.
    last_target: Option<usize>,
    media_id: Arc<AtomicU64>,
    /// News from the background indexer of the open video.
    index_news: (Sender<IndexNews>, Receiver<IndexNews>),
    /// The decoder the caller was last told of (a fallback mid-stream changes it).
    decoder_told: Option<String>,
}

/// Every frame's time and keyframe flag, for the caller's timeline.
fn timeline_of(source: &MediaSource) -> (Vec<Option<f64>>, Vec<bool>) {
    let count = source.frame_count();
    (
        (0..count).map(|i| source.frame_time(i)).collect(),
        (0..count).map(|i| source.is_keyframe(i)).collect(),
    )
}

/// Which way a request for `index` moves the playhead from the one before it: a step of at
/// most [`MOVING_WINDOW`] frames continues a move; anything else is a jump.
fn heading_of(previous: Option<usize>, index: usize) -> Heading {
    match previous {
        Some(last) if index > last && index - last <= MOVING_WINDOW => Heading::Forward,
        Some(last) if index < last && last - index <= MOVING_WINDOW => Heading::Backward,
        _ => Heading::Still,
    }
}

/// The decoder the open video reads with (its info's `decoder` label).
fn decoder_of(source: &MediaSource) -> Option<String> {
    source.info().video.as_ref().map(|v| v.decoder.clone())
}

impl<I: FrameImage> Worker<I> {
    pub fn new(
        requests: Receiver<Message>,
        outbox: Outbox<I>,
        shared: Shared,
        options: PlayerOptions,
    ) -> Worker<I> {
        let cache = FrameCache::new(options.cache_budget_bytes);
        Worker {
            requests,
            outbox,
            generation: shared.generation,
            wanted: shared.wanted,
            counters: shared.counters,
            fit: None,
            late_in_a_row: 0,
            planes: false,
            decode_seconds: None,
            options,
            source: None,
            cache,
            prefetch: VecDeque::new(),
            last_target: None,
            media_id: Arc::new(AtomicU64::new(0)),
            index_news: crossbeam_channel::bounded(4),
            decoder_told: None,
        }
    }

    pub fn run(mut self) {
        while !self.outbox.stopping() {
            if !self.take_index_news() {
                return;
            }
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
                .rposition(|r| matches!(r, Message::Show { .. }));
            for (i, message) in batch.into_iter().enumerate() {
                if matches!(message, Message::Show { .. }) && Some(i) != newest_show {
                    continue;
                }
                if !self.handle(message) {
                    return;
                }
            }
        }
    }

    /// Handles one request; false when the caller is gone.
    fn handle(&mut self, message: Message) -> bool {
        match message {
            Message::Show {
                frame,
                generation,
                fit,
            } => self.show(frame, generation, fit),
            // Frame requests always travel as `Message::Show`, stamped by `Player::send`.
            Message::Other(Request::Show { .. } | Request::ShowAt { .. }) => true,
            Message::Other(Request::Open(path)) => self.open(path),
            Message::Other(Request::Copy { frame, form }) => self.copy(frame, form),
            Message::Other(Request::Paste { text }) => self.paste(&text),
            Message::Other(Request::PasteBitmap(bitmap)) => self.paste_bitmap(bitmap),
            Message::Other(Request::SetHdr(mode)) => self.set_hdr(mode),
            Message::Other(Request::DisplayPlanes(on)) => {
                if self.planes != on {
                    // Frames cached without RGB are only for a display that converts them.
                    self.planes = on;
                    self.cache.clear();
                    self.prefetch.clear();
                }
                true
            }
        }
    }

    fn fail(&self, op: Operation, error: PlayerError) -> bool {
        self.outbox.deliver(Reply::Failed { op, error })
    }

    fn open(&mut self, path: PathBuf) -> bool {
        self.outbox
            .deliver(Reply::Busy(format!("opening {}…", path.display())));
        // Lazily: the header (and a table's count) now, the first frame at once, the full
        // index in the background.
        match MediaSource::open_lazy(&path, &self.options.open) {
            Ok(source) => {
                self.source = Some(source);
                let delivered = self.announce_with_filmstrip();
                self.spawn_indexer();
                delivered
            }
            Err(e) => self.fail(Operation::Open, e.into()),
        }
    }

    /// Switches HDR conversion in place: the open video keeps its index and decoder; cached
    /// frames and thumbnails, converted the other way, are made again.
    fn set_hdr(&mut self, mode: crate::media::HdrMode) -> bool {
        self.options.open.hdr = mode;
        let changed = self.source.as_mut().is_some_and(|s| s.set_hdr(mode));
        if !changed {
            return true;
        }
        self.announce_with_filmstrip()
    }

    /// [`Worker::announce_source`], then the filmstrip built anew (when it is on).
    fn announce_with_filmstrip(&mut self) -> bool {
        let delivered = self.announce_source();
        // A partial count (no sample table, the scan still running) would put every
        // thumbnail at the start: the filmstrip waits for the index.
        let count_known = match &self.source {
            Some(MediaSource::Video(video)) => video.index().total().is_some(),
            _ => true,
        };
        if self.options.filmstrip && count_known {
            self.spawn_filmstrip();
        }
        delivered
    }

    fn set_source(&mut self, source: MediaSource) -> bool {
        self.source = Some(source);
        self.announce_source()
    }

    /// Forgets cached frames and tells the caller about the current source (a new media id).
    fn announce_source(&mut self) -> bool {
        let Some(source) = &self.source else {
            return true;
        };
        let (frame_times, keyframes) = timeline_of(source);
        let info = Box::new(source.info().clone());
        self.decoder_told = decoder_of(source);
        self.cache.clear();
        self.prefetch.clear();
        self.last_target = None;
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

    fn show(&mut self, index: usize, generation: u64, fit: Option<(u32, u32)>) -> bool {
        self.fit = fit;
        if !self.is_current(generation) {
            return true;
        }
        let heading = heading_of(self.last_target, index);
        self.cache.set_playhead(index, heading);
        if let Some(frame) = self.cache.get(index)
            && (fit.is_some() || !frame.is_reduced())
        {
            self.plan_prefetch(index);
            let frame = self.with_planes(frame);
            return self.send_frame(frame, generation, true);
        }
        if let Some(nearest) = self.cache.nearest(index) {
            let nearest = self.with_planes(nearest);
            if !self.send_frame(nearest, generation, false) {
                return false;
            }
        }
        if let Some(gate) = &self.options.decode_gate {
            let _ = gate.recv();
        }
        if !self.is_current(generation) {
            return true;
        }
        if heading == Heading::Backward {
            self.fill_behind(index, fit);
        }
        match self.decode(index, fit, LateIf::Superseded(generation)) {
            Ok(Some(frame)) => {
                self.late_in_a_row = 0;
                self.plan_prefetch(index);
                let frame = self.with_planes(frame);
                self.send_frame(frame, generation, true)
            }
            // Late: a newer request is waiting.
            Ok(None) => true,
            Err(error) => self.fail(Operation::Show, error),
        }
    }

    /// Stepping back onto a frame that is not cached: first decodes the frames before it in
    /// its GOP, ascending (one seek to the keyframe serves them all), and keeps them, up to
    /// what the cache holds besides two: the steps back that follow find them cached instead
    /// of each decoding from the keyframe again. Stops once a newer request wants a frame
    /// outside them.
    fn fill_behind(&mut self, index: usize, fit: Option<(u32, u32)>) {
        let Some(MediaSource::Video(video)) = &self.source else {
            return;
        };
        let Some(keyframe) = video.index().keyframe_for(index) else {
            return;
        };
        let room = self
            .cache
            .frames_that_fit()
            .map_or(FILL_BEHIND, |n| n.saturating_sub(2))
            .min(FILL_BEHIND);
        let start = index.saturating_sub(room).max(keyframe);
        for behind in start..index {
            let wanted = self.wanted.load(Ordering::SeqCst);
            if wanted < start || wanted > index {
                return;
            }
            if self.cache.contains(behind) {
                continue;
            }
            if self.decode(behind, fit, LateIf::Never).is_err() {
                return;
            }
        }
    }

    /// `decoded` with its planes for the caller's display, when it asked for them and they
    /// are not there yet.
    fn with_planes(&mut self, mut decoded: Decoded) -> Decoded {
        if self.planes
            && decoded.planes.is_none()
            && let (Some(samples), Some(source)) = (&decoded.samples, self.source.as_mut())
        {
            decoded.planes = source.display_planes(samples.decoded()).map(Arc::new);
        }
        decoded
    }

    fn send_frame(&self, decoded: Decoded, generation: u64, exact: bool) -> bool {
        let max = self.options.max_image_side;
        let image = if decoded.frame.width > max || decoded.frame.height > max {
            I::from_frame(&decoded.frame.thumbnail(max, max))
        } else {
            I::from_frame(&decoded.frame)
        };
        let image = Arc::new(image);
        let Decoded {
            frame,
            samples,
            full_size,
            planes,
        } = decoded;
        self.outbox.deliver(Reply::Frame(ReadyFrame {
            index: frame.index,
            generation,
            image,
            frame,
            samples,
            exact,
            full_size,
            planes,
        }))
    }

    /// Whether decoding one frame takes less than the clip gives frame `index` on screen.
    fn decoding_keeps_pace(&self, index: usize) -> bool {
        let Some(source) = &self.source else {
            return false;
        };
        let interval = match (source.frame_time(index), source.frame_time(index + 1)) {
            (Some(this), Some(next)) if next > this => next - this,
            _ => 1.0 / 30.0,
        };
        self.decode_seconds.is_some_and(|d| d < interval)
    }

    /// Times a decode of frame `index` (without conversion) into the running average.
    fn decode_timed(
        &mut self,
        index: usize,
    ) -> Result<Option<ffmpeg_next::frame::Video>, PlayerError> {
        let source = self.source.as_mut().ok_or(PlayerError::NothingOpen)?;
        let decoded_before = match source {
            MediaSource::Video(video) => video.stats().frames_decoded,
            MediaSource::Still(_) => 0,
        };
        let started = std::time::Instant::now();
        let planes = source.decode_only(index);
        let elapsed = started.elapsed().as_secs_f64();
        self.tell_decoder_change();
        let source = self.source.as_mut().ok_or(PlayerError::NothingOpen)?;
        let planes = planes?;
        if let MediaSource::Video(video) = source {
            let frames = video.stats().frames_decoded.saturating_sub(decoded_before);
            if frames > 0 {
                let each = elapsed / frames as f64;
                self.decode_seconds = Some(match self.decode_seconds {
                    Some(average) => 0.7 * average + 0.3 * each,
                    None => each,
                });
            }
        }
        Ok(planes)
    }

    /// Tells the caller when the open video's decoder changed since it was told (hardware
    /// decoding failed mid-stream and software took over), so its info panel says so.
    fn tell_decoder_change(&mut self) {
        let Some(source) = &self.source else { return };
        let decoder = decoder_of(source);
        if decoder == self.decoder_told {
            return;
        }
        tracing::warn!(
            "{}: decoding continues with {}",
            source.info().path,
            decoder.as_deref().unwrap_or("another decoder")
        );
        self.decoder_told = decoder;
        let media_id = self.media_id.load(Ordering::SeqCst);
        let info = Box::new(source.info().clone());
        // A caller that is gone stops the worker at its next delivery.
        let _ = self.outbox.deliver(Reply::InfoChanged { media_id, info });
    }

    /// Whether decoded frame `index` is dropped before its conversion (see [`LateIf`]).
    fn is_late(&self, index: usize, late_if: LateIf) -> bool {
        let wanted = self.wanted.load(Ordering::SeqCst);
        match late_if {
            LateIf::Never => false,
            LateIf::Superseded(generation) => {
                self.fit.is_some()
                    && !self.is_current(generation)
                    && wanted >= index + LATE_BY
                    && wanted - index <= MOVING_WINDOW
                    && self.late_in_a_row < LATE_IN_A_ROW
                    && self.decoding_keeps_pace(index)
            }
            LateIf::Passed(index) => self.fit.is_some() && index < wanted,
        }
    }

    /// Frame `index` from the cache or decoded and converted (at full size, or for a view
    /// of `fit` pixels). `Ok(None)`: it became late (see [`LateIf`]) and was dropped before
    /// its conversion.
    fn decode(
        &mut self,
        index: usize,
        fit: Option<(u32, u32)>,
        late_if: LateIf,
    ) -> Result<Option<Decoded>, PlayerError> {
        let cached = self.cache.get(index);
        if let Some(decoded) = &cached
            && (fit.is_some() || !decoded.is_reduced())
        {
            return Ok(cached);
        }
        // A frame converted at display size keeps its decoded planes (the inspector's
        // samples): its full size is converted from them, without decoding it again (in a
        // long GOP that would mean decoding from the keyframe).
        if let Some(samples) = cached.and_then(|c| c.samples) {
            let source = self.source.as_mut().ok_or(PlayerError::NothingOpen)?;
            let view = source.frame_from_decoded(index, Some(samples.decoded()), None)?;
            return Ok(Some(self.keep(view)));
        }
        let planes = self.decode_timed(index)?;
        if matches!(late_if, LateIf::Superseded(_))
            && let Some((decoded, permit)) = &self.options.convert_gate
        {
            let _ = decoded.send(index);
            let _ = permit.recv();
        }
        if self.is_late(index, late_if) {
            self.counters.late_skipped.fetch_add(1, Ordering::SeqCst);
            if matches!(late_if, LateIf::Superseded(_)) {
                self.late_in_a_row += 1;
            }
            return Ok(None);
        }
        let source = self.source.as_mut().ok_or(PlayerError::NothingOpen)?;
        // Playing for a display that converts planes itself: no RGB conversion at all.
        if self.planes
            && fit.is_some()
            && let Some((view, display)) = source.planes_from_decoded(index, planes.as_ref())
        {
            let decoded = Decoded {
                frame: Arc::new(view.frame),
                samples: view.samples.map(Arc::new),
                full_size: view.full_size,
                planes: Some(Arc::new(display)),
            };
            self.cache.insert(decoded.clone());
            return Ok(Some(decoded));
        }
        let view = source.frame_from_decoded(index, planes.as_ref(), fit)?;
        Ok(Some(self.keep(view)))
    }

    /// Counts a converted frame and caches it.
    fn keep(&mut self, view: crate::media::ViewFrame) -> Decoded {
        let decoded = Decoded {
            frame: Arc::new(view.frame),
            samples: view.samples.map(Arc::new),
            full_size: view.full_size,
            planes: None,
        };
        self.counters.converted.fetch_add(1, Ordering::SeqCst);
        if decoded.is_reduced() {
            self.counters
                .converted_for_display
                .fetch_add(1, Ordering::SeqCst);
        }
        self.cache.insert(decoded.clone());
        decoded
    }

    /// Frames to decode when idle. Moving forward: the next ones (decoded on, no seek).
    /// Stepping back: the ones before the playhead in its GOP (ascending, so one seek serves
    /// them all), then a few after. After a jump: a few after first, then the ones before.
    fn plan_prefetch(&mut self, index: usize) {
        self.prefetch.clear();
        let previous = self.last_target.replace(index);
        let Some(source) = &self.source else { return };
        let count = source.frame_count();
        let heading = heading_of(previous, index);
        let moving_forward = heading == Heading::Forward;
        let stepping_back = heading == Heading::Backward;
        // No more than the cache holds besides the frame shown and one spare: beyond that
        // each prefetched frame evicts one prefetched before it, and the frame asked for next
        // is decoded again (for a 4K clip with one GOP, from the start of the clip).
        let room = self
            .cache
            .frames_that_fit()
            .map_or(usize::MAX, |n| n.saturating_sub(2).max(1));
        let ahead_count = if moving_forward {
            PREFETCH_AHEAD_MOVING
        } else {
            PREFETCH_AHEAD
        };
        let behind_count = if moving_forward { 0 } else { PREFETCH_BEHIND };
        // Stepping back, the frames behind come first; otherwise those ahead.
        let (ahead_count, behind_count) = if stepping_back {
            let behind = behind_count.min(room);
            (ahead_count.min(room - behind), behind)
        } else {
            let ahead = ahead_count.min(room);
            (ahead, behind_count.min(room - ahead))
        };
        let ahead: Vec<usize> = (index + 1..count.min(index + 1 + ahead_count)).collect();
        let behind: Vec<usize> = {
            let mut start = index.saturating_sub(behind_count);
            if let MediaSource::Video(video) = source
                && let Some(keyframe) = video.index().keyframe_for(index)
            {
                start = start.max(keyframe);
            }
            (start..index).collect()
        };
        let order: Vec<usize> = if stepping_back {
            behind.into_iter().chain(ahead).collect()
        } else {
            ahead.into_iter().chain(behind).collect()
        };
        self.prefetch
            .extend(order.into_iter().filter(|i| !self.cache.contains(*i)));
    }

    /// Decodes the next frame to prefetch; while playing, frames the playhead has passed
    /// are dropped (not decoded, or not converted when it passed them while decoding).
    fn prefetch_one(&mut self) {
        let Some(index) = self.prefetch.pop_front() else {
            return;
        };
        if self.is_late(index, LateIf::Passed(index)) {
            self.counters.late_skipped.fetch_add(1, Ordering::SeqCst);
            return;
        }
        if self.decode(index, self.fit, LateIf::Passed(index)).is_err() {
            self.prefetch.clear();
        }
    }
}
