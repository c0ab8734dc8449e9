//! The frame index: every video packet of one stream, from a demux-only pass, in
//! presentation order, with keyframes marked.
//!
//! Frame N is the Nth frame a sequential decode outputs. When every packet carries a distinct
//! timestamp, that is the Nth packet in presentation-timestamp order, and the timestamp lets
//! the reader confirm which frame a decoder handed back after a seek. When timestamps are
//! missing or repeat, the index says so and the reader counts frames from the start instead.

use ffmpeg_next as ffmpeg;

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
    /// Position in decode (file) order.
    pub decode_order: usize,
}

/// All frames of one video stream, in presentation order.
#[derive(Debug, Clone, Default)]
pub struct FrameIndex {
    frames: Vec<IndexedFrame>,
    /// Presentation positions of keyframes, ascending.
    keyframes: Vec<usize>,
    /// True when every frame has its own timestamp, so a decoded frame can be identified.
    timestamps_identify_frames: bool,
    /// The demux pass stopped before the end of the stream: a read error, or fewer packets
    /// than the container's own table lists (a cut file).
    pub truncated: bool,
}

impl FrameIndex {
    /// Reads every packet of `stream_index` (demux only, no decoding). Packets before the first
    /// keyframe and packets the container marks as "decode but discard" produce no frame and
    /// are left out. The caller must seek back before decoding.
    pub fn build(input: &mut ffmpeg::format::context::Input, stream_index: usize) -> FrameIndex {
        // The container's own packet count (MP4 and MKV tables, AVI index), when it has one.
        let listed = input.stream(stream_index).map_or(0, |s| s.frames());
        let mut packets_read: i64 = 0;
        let mut in_decode_order: Vec<IndexedFrame> = Vec::new();
        let mut missing_timestamp = false;
        let mut truncated = false;
        let mut seen_keyframe = false;
        loop {
            // A fresh packet each time: av_read_frame does not release what a packet held,
            // so reusing one would leak every packet's data (the whole file per open).
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
            // The raw flags: ffmpeg-next's `Flags` drops bits it has no name for (DISCARD).
            // SAFETY: the packet was just filled by av_read_frame and is valid.
            let flags = unsafe { (*ffmpeg::packet::Ref::as_ptr(&packet)).flags };
            let keyframe = flags & ffmpeg::ffi::AV_PKT_FLAG_KEY != 0;
            seen_keyframe |= keyframe;
            // Before the first keyframe nothing decodes; "discard" packets decode but are
            // never shown (an MP4 edit list starting mid-GOP).
            if !seen_keyframe || flags & ffmpeg::ffi::AV_PKT_FLAG_DISCARD != 0 {
                continue;
            }
            // A packet without a presentation timestamp (AVI with B-frames, raw streams) only
            // has its decode time, which does not say which frame the decoder outputs when;
            // such streams are read by counting frames from the start.
            missing_timestamp |= packet.pts().is_none();
            let pts = match packet.pts().or(packet.dts()) {
                Some(t) => t,
                None => in_decode_order.last().map_or(0, |f| f.pts + 1),
            };
            let position = packet.position();
            in_decode_order.push(IndexedFrame {
                pts,
                dts: packet.dts(),
                keyframe,
                position: (position >= 0).then_some(position as i64),
                decode_order: in_decode_order.len(),
            });
        }
        let cut = listed > 0 && packets_read < listed;
        FrameIndex::from_decode_order(in_decode_order, missing_timestamp, truncated || cut)
    }

    /// Builds the index from packets in decode order.
    pub fn from_decode_order(
        mut frames: Vec<IndexedFrame>,
        missing_timestamp: bool,
        truncated: bool,
    ) -> FrameIndex {
        frames.sort_by_key(|f| (f.pts, f.decode_order));
        let distinct = frames.windows(2).all(|w| w[0].pts != w[1].pts);
        let keyframes = frames
            .iter()
            .enumerate()
            .filter(|(_, f)| f.keyframe)
            .map(|(i, _)| i)
            .collect();
        FrameIndex {
            frames,
            keyframes,
            timestamps_identify_frames: distinct && !missing_timestamp,
            truncated,
        }
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    pub fn frame(&self, index: usize) -> Option<&IndexedFrame> {
        self.frames.get(index)
    }

    pub fn frames(&self) -> &[IndexedFrame] {
        &self.frames
    }

    pub fn keyframe_count(&self) -> usize {
        self.keyframes.len()
    }

    pub fn is_keyframe(&self, index: usize) -> bool {
        self.frames.get(index).is_some_and(|f| f.keyframe)
    }

    pub fn timestamps_identify_frames(&self) -> bool {
        self.timestamps_identify_frames
    }

    /// Presentation position of the frame with this timestamp.
    pub fn position_of_pts(&self, pts: i64) -> Option<usize> {
        if !self.timestamps_identify_frames {
            return None;
        }
        self.frames.binary_search_by_key(&pts, |f| f.pts).ok()
    }

    /// Keyframes whose presentation time is at or before frame `index`, nearest first.
    pub fn keyframes_at_or_before(&self, index: usize) -> impl Iterator<Item = usize> + '_ {
        let end = self.keyframes.partition_point(|&k| k <= index);
        self.keyframes[..end].iter().rev().copied()
    }

    /// The nearest keyframe at or before `index` (where a seek for it would start).
    pub fn keyframe_for(&self, index: usize) -> Option<usize> {
        self.keyframes_at_or_before(index).next()
    }

    /// Smallest presentation timestamp, the stream's zero point for frame times.
    pub fn first_pts(&self) -> Option<i64> {
        self.frames.first().map(|f| f.pts)
    }
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
    fn orders_by_presentation_and_finds_keyframes() {
        // Decode order I P B B I P B (pts 0 3 1 2 4 6 5).
        let decode = vec![
            packet(0, true, 0),
            packet(3, false, 1),
            packet(1, false, 2),
            packet(2, false, 3),
            packet(4, true, 4),
            packet(6, false, 5),
            packet(5, false, 6),
        ];
        let index = FrameIndex::from_decode_order(decode, false, false);
        let pts: Vec<i64> = index.frames().iter().map(|f| f.pts).collect();
        assert_eq!(pts, vec![0, 1, 2, 3, 4, 5, 6]);
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
        let decode = vec![packet(0, true, 0), packet(0, false, 1)];
        let index = FrameIndex::from_decode_order(decode, false, false);
        assert!(!index.timestamps_identify_frames());
        assert_eq!(index.position_of_pts(0), None);
    }
}
