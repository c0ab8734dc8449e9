//! The frame index: which packet of one video stream becomes which frame, learnt lazily.
//!
//! Frame N is the Nth frame a sequential decode outputs. For a codec that reorders (B-frames),
//! that is the Nth packet in presentation-timestamp order; for one that does not (MJPEG, most
//! intra-only and P-only streams) it is the Nth packet in decode order, whatever the
//! timestamps say. When every frame carries its own timestamp the reader confirms by it which
//! frame a decoder handed back after a seek; when timestamps are missing, repeat or go
//! backwards, the index says so and the reader counts frames from the start instead.
//!
//! The index is a set of [`Run`]s: frames known at consecutive presentation positions. A run
//! grows packet by packet through a [`RunBuilder`] as a demuxer reads forward, and a frame is
//! placed ("settled") once no packet still unread can be shown before it: a decoder with an
//! output delay of D frames outputs frame N before it has read packet N + D + 1, so a margin
//! of D (doubled, plus a few, against streams that understate it) is enough. Where the
//! container lists every sample ([`ContainerTable`]: MP4/MOV sample tables, the AVI index),
//! the frame count and the keyframes are known without reading a packet, and a run can start
//! at any keyframe: all packets before a keyframe in decode order are shown before all packets
//! from it on (closed and open GOPs alike), so the keyframe's count of earlier samples is the
//! presentation position where its run starts. Without such a table (Matroska cues list
//! keyframes only, MPEG-TS has none) the index grows from the start, only as far as a request
//! needs, and a full scan is one run over everything.

mod cache_bytes;
mod table;

use std::sync::Arc;

use ffmpeg_next as ffmpeg;

pub use table::{ContainerTable, TableKeyframe};

/// One video packet, which decodes to one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexedFrame {
    /// Presentation timestamp in the stream's time base (dts when the container has no pts).
    pub pts: i64,
    /// Decode timestamp, when the container gives one.
    pub dts: Option<i64>,
    pub keyframe: bool,
    /// Byte position in the file, when known.
    pub position: Option<i64>,
    /// Position in decode (file) order among the frames (the samples before it that make a
    /// frame): for a keyframe, where a run starting at it begins.
    pub decode_order: usize,
}

/// Where the index's frame count and keyframes came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexOrigin {
    /// A demux pass over the whole stream.
    Scan,
    /// The container's own sample table, with runs filled in as frames are asked for.
    Container,
    /// The on-disk index cache (a scan made earlier).
    Cache,
    /// Only part of the stream has been read; the count is not known yet.
    Partial,
}

impl IndexOrigin {
    pub fn label(self) -> &'static str {
        match self {
            IndexOrigin::Scan => "scan",
            IndexOrigin::Container => "container",
            IndexOrigin::Cache => "cache",
            IndexOrigin::Partial => "partial",
        }
    }
}

/// Frames known at consecutive presentation positions `start..start + frames.len()`.
#[derive(Debug, Clone, Default)]
pub struct Run {
    start: usize,
    frames: Vec<IndexedFrame>,
    /// Absolute presentation positions of keyframes, ascending.
    keyframes: Vec<usize>,
    /// (pts, absolute position), sorted by pts, for identifying a decoded frame.
    by_pts: Vec<(i64, usize)>,
}

impl Run {
    fn new(start: usize, frames: Vec<IndexedFrame>) -> Run {
        let keyframes = frames
            .iter()
            .enumerate()
            .filter(|(_, f)| f.keyframe)
            .map(|(i, _)| start + i)
            .collect();
        let mut by_pts: Vec<(i64, usize)> = frames
            .iter()
            .enumerate()
            .map(|(i, f)| (f.pts, start + i))
            .collect();
        by_pts.sort_unstable();
        Run {
            start,
            frames,
            keyframes,
            by_pts,
        }
    }

    /// Presentation position just past its last frame.
    pub fn end(&self) -> usize {
        self.start + self.frames.len()
    }

    fn contains(&self, index: usize) -> bool {
        index >= self.start && index < self.end()
    }
}

/// Turns packets read in decode order into frames at presentation positions.
#[derive(Debug, Clone)]
pub struct RunBuilder {
    start: usize,
    reorders: bool,
    margin: usize,
    /// Read but not yet placed, in decode order.
    pending: Vec<IndexedFrame>,
    settled: Vec<IndexedFrame>,
    packets: usize,
    seen_keyframe: bool,
    /// A packet without a presentation timestamp: only counting from the start is exact.
    pub missing_timestamp: bool,
    /// Timestamps that cannot tell frames apart: repeated, or going backwards where the
    /// decoder outputs in decode order, or a packet shown before one already placed.
    pub ambiguous_timestamps: bool,
    /// Bytes of packet data read (for progress).
    pub bytes_read: u64,
}

impl RunBuilder {
    /// A run starting at presentation position `start`, for a decoder with output delay
    /// `delay` that reorders frames (`reorders`) or outputs them in decode order.
    pub fn new(start: usize, reorders: bool, delay: usize) -> RunBuilder {
        RunBuilder {
            start,
            reorders,
            margin: if reorders { 2 * delay + 4 } else { 0 },
            pending: Vec::new(),
            settled: Vec::new(),
            // Decode order counts from the stream's start: `start` samples come before.
            packets: start,
            seen_keyframe: false,
            missing_timestamp: false,
            ambiguous_timestamps: false,
            bytes_read: 0,
        }
    }

    /// Takes one packet of the stream (decode order). Packets before the run's first keyframe
    /// and packets the container marks "decode but discard" produce no frame.
    pub fn push(&mut self, packet: &ffmpeg::Packet) {
        self.bytes_read += packet.size() as u64;
        // The raw flags: ffmpeg-next's `Flags` drops bits it has no name for (DISCARD).
        // SAFETY: the packet was filled by av_read_frame and is valid.
        let flags = unsafe { (*ffmpeg::packet::Ref::as_ptr(packet)).flags };
        let keyframe = flags & ffmpeg::ffi::AV_PKT_FLAG_KEY != 0;
        self.seen_keyframe |= keyframe;
        if !self.seen_keyframe || flags & ffmpeg::ffi::AV_PKT_FLAG_DISCARD != 0 {
            return;
        }
        // A packet without a presentation timestamp (AVI with B-frames, raw streams) only
        // has its decode time, which does not say which frame the decoder outputs when.
        self.missing_timestamp |= packet.pts().is_none();
        let pts = match packet.pts().or(packet.dts()) {
            Some(t) => t,
            None => self
                .pending
                .last()
                .or(self.settled.last())
                .map_or(0, |f| f.pts + 1),
        };
        let position = packet.position();
        self.pending.push(IndexedFrame {
            pts,
            dts: packet.dts(),
            keyframe,
            position: (position >= 0).then_some(position as i64),
            decode_order: self.packets,
        });
        self.packets += 1;
        self.settle(false);
    }

    fn settle(&mut self, all: bool) {
        if self.reorders {
            self.pending.sort_by_key(|f| (f.pts, f.decode_order));
        }
        let keep = if all { 0 } else { self.margin };
        let ready = self.pending.len().saturating_sub(keep);
        for frame in self.pending.drain(..ready) {
            if let Some(last) = self.settled.last() {
                let in_order = if self.reorders {
                    frame.pts > last.pts
                } else {
                    frame.pts > last.pts || self.missing_timestamp
                };
                if !in_order {
                    self.ambiguous_timestamps = true;
                }
            }
            self.settled.push(frame);
        }
    }

    /// Presentation position just past the last placed frame.
    pub fn settled_end(&self) -> usize {
        self.start + self.settled.len()
    }

    /// Frames read so far, placed or not.
    pub fn frames_read(&self) -> usize {
        self.settled.len() + self.pending.len()
    }

    /// The frames placed so far, as a run (the builder keeps going).
    pub fn snapshot(&self) -> Run {
        Run::new(self.start, self.settled.clone())
    }

    /// Places every frame read (the stream ended) and returns the run.
    pub fn finish(&mut self) -> Run {
        self.settle(true);
        Run::new(self.start, std::mem::take(&mut self.settled))
    }

    /// Where the run starts.
    pub fn start(&self) -> usize {
        self.start
    }
}

/// Whether a decoder for this stream reorders frames (its codec can have B-frames), and its
/// declared output delay in frames.
pub fn reorder_of(parameters: &ffmpeg::codec::Parameters) -> (bool, usize) {
    // SAFETY: codec parameters of an open stream; the descriptor is static FFmpeg data.
    unsafe {
        let raw = parameters.as_ptr();
        let descriptor = ffmpeg::ffi::avcodec_descriptor_get((*raw).codec_id);
        let reorders =
            descriptor.is_null() || (*descriptor).props & ffmpeg::ffi::AV_CODEC_PROP_REORDER != 0;
        (reorders, (*raw).video_delay.max(0) as usize)
    }
}

/// All frames of one video stream known so far, in presentation order.
#[derive(Debug, Clone)]
pub struct FrameIndex {
    /// Disjoint runs sorted by start.
    runs: Vec<Run>,
    /// The frame count, once known (a finished scan or the container's table).
    total: Option<usize>,
    table: Option<Arc<ContainerTable>>,
    missing_timestamp: bool,
    ambiguous_timestamps: bool,
    /// The demux pass stopped before the end of the stream: a read error, or fewer packets
    /// than the container's own table lists (a cut file).
    pub truncated: bool,
    origin: IndexOrigin,
}

impl Default for FrameIndex {
    fn default() -> Self {
        FrameIndex {
            runs: Vec::new(),
            total: None,
            table: None,
            missing_timestamp: false,
            ambiguous_timestamps: false,
            truncated: false,
            origin: IndexOrigin::Partial,
        }
    }
}

impl FrameIndex {
    /// Reads every packet of `stream_index` (demux only, no decoding). `progress` is told the
    /// bytes read so far now and then. The caller must seek back before decoding.
    pub fn build(input: &mut ffmpeg::format::context::Input, stream_index: usize) -> FrameIndex {
        FrameIndex::build_with_progress(input, stream_index, &mut |_| true)
    }

    /// [`FrameIndex::build`], reporting the byte position now and then to `progress`, which
    /// returns false to stop (the index is then partial).
    pub fn build_with_progress(
        input: &mut ffmpeg::format::context::Input,
        stream_index: usize,
        progress: &mut dyn FnMut(u64) -> bool,
    ) -> FrameIndex {
        // The container's own packet count (MP4 and MKV tables, AVI index), when it has one.
        let Some((listed, (reorders, delay))) = input
            .stream(stream_index)
            .map(|s| (s.frames(), reorder_of(&s.parameters())))
        else {
            return FrameIndex::default();
        };
        let mut builder = RunBuilder::new(0, reorders, delay);
        let mut packets_read: i64 = 0;
        let mut truncated = false;
        loop {
            // A fresh packet each time: av_read_frame does not release what a packet held.
            let mut packet = ffmpeg::Packet::empty();
            match packet.read(input) {
                Ok(()) => {}
                Err(ffmpeg::Error::Eof) => break,
                Err(_) => {
                    truncated = true;
                    break;
                }
            }
            if packet.stream() != stream_index {
                continue;
            }
            packets_read += 1;
            builder.push(&packet);
            if packets_read % 256 == 0 && !progress(packet.position().max(0) as u64) {
                let mut index = FrameIndex::default();
                index.absorb(builder.snapshot(), &builder);
                return index;
            }
        }
        let cut = listed > 0 && packets_read < listed;
        FrameIndex::from_scan(builder, truncated || cut)
    }

    /// The index of a finished scan from the start.
    pub fn from_scan(mut builder: RunBuilder, truncated: bool) -> FrameIndex {
        let mut index = FrameIndex::default();
        let run = builder.finish();
        index.total = Some(run.frames.len());
        index.missing_timestamp = builder.missing_timestamp;
        index.ambiguous_timestamps = builder.ambiguous_timestamps || !distinct(&run);
        index.runs = vec![run];
        index.truncated = truncated;
        index.origin = IndexOrigin::Scan;
        index
    }

    /// An index whose count and keyframes come from the container's table; runs are added
    /// as frames are read.
    pub fn from_table(table: ContainerTable) -> FrameIndex {
        FrameIndex {
            total: Some(table.frame_count),
            table: Some(Arc::new(table)),
            origin: IndexOrigin::Container,
            ..FrameIndex::default()
        }
    }

    /// Builds a complete index from packets already in presentation order (tests, cache).
    pub fn from_presentation_order(frames: Vec<IndexedFrame>, missing_timestamp: bool) -> Self {
        let run = Run::new(0, frames);
        let ambiguous = !distinct(&run) || run.frames.windows(2).any(|w| w[0].pts > w[1].pts);
        FrameIndex {
            total: Some(run.frames.len()),
            runs: vec![run],
            missing_timestamp,
            ambiguous_timestamps: ambiguous,
            origin: IndexOrigin::Scan,
            ..FrameIndex::default()
        }
    }

    /// Adds what a builder has placed so far, merged with the runs it overlaps or touches
    /// (they describe the same frames), and the builder's flags.
    pub fn absorb(&mut self, run: Run, builder: &RunBuilder) {
        self.missing_timestamp |= builder.missing_timestamp;
        self.ambiguous_timestamps |= builder.ambiguous_timestamps || !distinct(&run);
        if run.frames.is_empty() {
            return;
        }
        let (start, end) = (run.start, run.end());
        let touching: Vec<Run> = {
            let (kept, touching): (Vec<Run>, Vec<Run>) = std::mem::take(&mut self.runs)
                .into_iter()
                .partition(|r| r.end() < start || r.start > end);
            self.runs = kept;
            touching
        };
        let merged_start = touching
            .iter()
            .map(|r| r.start)
            .min()
            .unwrap_or(start)
            .min(start);
        let mut frames = Vec::new();
        // What the older runs knew before the new one, the new one, what they knew after.
        for r in &touching {
            if r.start < start {
                frames.extend_from_slice(&r.frames[..(start - r.start).min(r.frames.len())]);
            }
        }
        frames.extend_from_slice(&run.frames);
        for r in &touching {
            if r.end() > end {
                let from = end.saturating_sub(r.start);
                frames.extend_from_slice(&r.frames[from..]);
            }
        }
        let merged = Run::new(merged_start, frames);
        let at = self.runs.partition_point(|r| r.start < merged_start);
        self.runs.insert(at, merged);
    }

    /// Marks the stream's end reached by a run from the start: the count is known.
    pub fn complete_at(&mut self, count: usize, truncated: bool) {
        if self.total.is_none() {
            self.total = Some(count);
            self.origin = IndexOrigin::Scan;
        }
        self.truncated |= truncated;
    }

    pub fn set_origin(&mut self, origin: IndexOrigin) {
        self.origin = origin;
    }

    pub fn origin(&self) -> IndexOrigin {
        self.origin
    }

    pub fn table(&self) -> Option<&ContainerTable> {
        self.table.as_deref()
    }

    /// The frame count, once known.
    pub fn total(&self) -> Option<usize> {
        self.total
    }

    /// The frame count when known, else the frames known from the start so far.
    pub fn len(&self) -> usize {
        self.total.unwrap_or_else(|| self.known_from_start())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many frames from the start are known without a gap.
    pub fn known_from_start(&self) -> usize {
        self.runs
            .first()
            .filter(|r| r.start == 0)
            .map_or(0, |r| r.end())
    }

    /// Whether frame `index`'s packet is known.
    pub fn covers(&self, index: usize) -> bool {
        self.run_of(index).is_some()
    }

    fn run_of(&self, index: usize) -> Option<&Run> {
        let at = self.runs.partition_point(|r| r.start <= index);
        self.runs[..at].last().filter(|r| r.contains(index))
    }

    pub fn frame(&self, index: usize) -> Option<&IndexedFrame> {
        self.run_of(index).map(|r| &r.frames[index - r.start])
    }

    /// The frames known from the start, in presentation order.
    pub fn frames(&self) -> &[IndexedFrame] {
        self.runs
            .first()
            .filter(|r| r.start == 0)
            .map_or(&[], |r| &r.frames)
    }

    /// Keyframes in the whole stream (from the table or a complete scan), when known.
    pub fn keyframe_count(&self) -> usize {
        match (&self.table, self.total) {
            (Some(table), _) => table.keyframes.len(),
            _ => self.runs.iter().map(|r| r.keyframes.len()).sum(),
        }
    }

    /// Whether frame `index` is a keyframe. Where its packet has not been read, a table's
    /// keyframes are placed at the position their run starts.
    pub fn is_keyframe(&self, index: usize) -> bool {
        if let Some(frame) = self.frame(index) {
            return frame.keyframe;
        }
        self.table.as_ref().is_some_and(|t| {
            t.keyframes
                .binary_search_by_key(&index, |k| k.frames_before)
                .is_ok()
        })
    }

    pub fn timestamps_identify_frames(&self) -> bool {
        !self.missing_timestamp && !self.ambiguous_timestamps
    }

    /// Presentation position of the frame with this timestamp.
    pub fn position_of_pts(&self, pts: i64) -> Option<usize> {
        if !self.timestamps_identify_frames() {
            return None;
        }
        self.runs.iter().find_map(|r| {
            r.by_pts
                .binary_search_by_key(&pts, |&(p, _)| p)
                .ok()
                .map(|i| r.by_pts[i].1)
        })
    }

    /// Keyframes known at or before frame `index` in its run, nearest first.
    pub fn keyframes_at_or_before(&self, index: usize) -> impl Iterator<Item = usize> + '_ {
        let keyframes: &[usize] = self.run_of(index).map_or(&[], |r| &r.keyframes);
        let end = keyframes.partition_point(|&k| k <= index);
        keyframes[..end].iter().rev().copied()
    }

    /// The nearest keyframe at or before `index` (where a seek for it would start).
    pub fn keyframe_for(&self, index: usize) -> Option<usize> {
        self.keyframes_at_or_before(index).next()
    }

    /// Presentation timestamp of the first frame, the stream's zero point for frame times.
    pub fn first_pts(&self) -> Option<i64> {
        self.runs
            .first()
            .filter(|r| r.start == 0)
            .and_then(|r| r.frames.first())
            .map(|f| f.pts)
    }
}

fn distinct(run: &Run) -> bool {
    run.by_pts.windows(2).all(|w| w[0].0 != w[1].0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(pts: i64, keyframe: bool, decode_order: usize) -> IndexedFrame {
        IndexedFrame {
            pts,
            dts: None,
            keyframe,
            position: None,
            decode_order,
        }
    }

    #[test]
    fn finds_keyframes_and_timestamps() {
        let frames: Vec<IndexedFrame> = (0..7).map(|i| packet(i, i % 4 == 0, 0)).collect();
        let index = FrameIndex::from_presentation_order(frames, false);
        assert_eq!(index.len(), 7);
        assert_eq!(index.keyframe_for(3), Some(0));
        assert_eq!(index.keyframe_for(5), Some(4));
        assert_eq!(
            index.keyframes_at_or_before(6).collect::<Vec<_>>(),
            vec![4, 0]
        );
        assert_eq!(index.position_of_pts(5), Some(5));
        assert!(index.timestamps_identify_frames());
    }

    #[test]
    fn repeated_timestamps_cannot_identify_frames() {
        let index = FrameIndex::from_presentation_order(
            vec![packet(0, true, 0), packet(0, false, 1)],
            false,
        );
        assert!(!index.timestamps_identify_frames());
        assert_eq!(index.position_of_pts(0), None);
    }

    #[test]
    fn cache_bytes_round_trip_and_refuse_damage() {
        let frames: Vec<IndexedFrame> = (0..9)
            .map(|i| IndexedFrame {
                pts: i * 3,
                dts: (i % 2 == 0).then_some(i),
                keyframe: i % 4 == 0,
                position: (i != 5).then_some(i * 100),
                decode_order: i as usize,
            })
            .collect();
        let index = FrameIndex::from_presentation_order(frames.clone(), false);
        let bytes = index.to_cache_bytes().expect("complete");
        let back = FrameIndex::from_cache_bytes(&bytes).expect("read back");
        assert_eq!(back.frames(), frames.as_slice());
        assert_eq!(back.origin(), IndexOrigin::Cache);
        assert_eq!(back.keyframe_count(), 3);
        assert!(FrameIndex::from_cache_bytes(&bytes[..bytes.len() - 1]).is_none());
        assert!(FrameIndex::from_cache_bytes(b"not an index").is_none());
    }

    #[test]
    fn runs_elsewhere_in_the_stream_are_found() {
        let mut index = FrameIndex::from_table(ContainerTable {
            frame_count: 100,
            keyframes: vec![
                TableKeyframe {
                    frames_before: 0,
                    timestamp: 0,
                    seek_timestamp: 49,
                    position: 0,
                },
                TableKeyframe {
                    frames_before: 50,
                    timestamp: 50,
                    seek_timestamp: 99,
                    position: 5000,
                },
            ],
        });
        assert_eq!(index.len(), 100);
        assert!(index.is_keyframe(50));
        assert!(!index.covers(60));
        let builder = RunBuilder::new(50, false, 0);
        let run = Run::new(50, (50..60).map(|i| packet(i, i == 50, 0)).collect());
        index.absorb(run, &builder);
        assert!(index.covers(59));
        assert_eq!(index.frame(55).map(|f| f.pts), Some(55));
        assert_eq!(index.keyframe_for(57), Some(50));
        assert_eq!(index.position_of_pts(58), Some(58));
        assert_eq!(index.known_from_start(), 0);
        let table = index.table().expect("table");
        assert_eq!(table.keyframe_for(60, 4).map(|k| k.frames_before), Some(50));
        assert_eq!(table.keyframe_for(52, 4).map(|k| k.frames_before), Some(0));
    }
}
