//! Which frames a request wants ([`VideoReader::expect_frames`]), so the decoder can skip
//! the others: a non-reference frame (nothing is predicted from it) that lies between the
//! frame being decoded toward and the next wanted one is never needed, and the decoder is
//! told to discard it (`AVDISCARD_NONREF`, set per packet in `next_decoded`).
//!
//! Only with a container table (MP4/MOV, AVI with an index), where every packet's place is
//! known from its timestamp, and only where timestamps identify frames: output frames are
//! matched to positions by timestamp, never by counting, so a frame skipped and asked for
//! after all costs a seek, never a wrong frame.

use super::VideoReader;

/// How far ahead of the frame being decoded toward the next wanted frame may be for its
/// packet to be read ahead (so its timestamp is known and the frames between are skipped).
const SKIP_LOOKAHEAD: usize = 120;

impl VideoReader {
    /// Says which frames the next requests will ask for (any order, repeats allowed): frames
    /// between them that nothing references are not decoded. Only a hint: any frame may still
    /// be asked for (one skipped costs a seek). An empty list withdraws it.
    pub fn expect_frames(&mut self, indices: &[usize]) {
        let mut wanted = indices.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        self.wanted = wanted;
    }

    /// Before decoding toward frame `index`: the timestamp of the next wanted frame after
    /// it, which bounds the frames the decoder may skip, learnt by reading ahead when it is
    /// near. `None` when there is none, it is far, or the index has no container table.
    pub(super) fn next_wanted_pts(&mut self, index: usize) -> Option<i64> {
        let frame_index = &self.shared.index;
        if frame_index.table().is_none() || !frame_index.timestamps_identify_frames() {
            return None;
        }
        let next = *self
            .wanted
            .get(self.wanted.partition_point(|&w| w <= index))?;
        if next - index > SKIP_LOOKAHEAD {
            return None;
        }
        self.read_ahead_to(next);
        self.shared.index.frame(next).map(|f| f.pts)
    }

    /// Reads packets ahead (kept for the decoder) until the index places frame `index`, as
    /// long as the forward read is on its way there: never a seek, so the decoder's place is
    /// kept.
    fn read_ahead_to(&mut self, index: usize) {
        loop {
            if self.index_knows(index) {
                return;
            }
            let on_the_way = self.session.cursor.as_ref().is_some_and(|c| {
                c.start() <= index && index < c.start() + c.frames_read() + SKIP_LOOKAHEAD
            });
            if !on_the_way || !self.read_ahead_one() {
                return;
            }
        }
    }
}
