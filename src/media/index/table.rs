//! The container's own list of a stream's samples ([`ContainerTable`]): the frame count and
//! where each keyframe starts, read from MP4/MOV sample tables and the AVI index without
//! reading a packet.

use ffmpeg_next as ffmpeg;

/// A keyframe listed by the container, in decode order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableKeyframe {
    /// Frames (counted samples) before it in decode order: where its run starts.
    pub frames_before: usize,
    /// Its timestamp in the container's table (the decode time for MP4 and AVI).
    pub timestamp: i64,
    /// What to seek to (backward) to land on it: just before the next keyframe's table
    /// timestamp. Demuxers compare a seek target with decode times (AVI) or presentation
    /// times (MP4); this lands on this keyframe with either.
    pub seek_timestamp: i64,
    /// Byte position in the file.
    pub position: i64,
}

/// The container's complete list of one stream's samples, reduced to what the index needs:
/// how many frames there are and where each keyframe starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerTable {
    pub frame_count: usize,
    pub keyframes: Vec<TableKeyframe>,
}

impl ContainerTable {
    /// The stream's sample table, when the container has a complete one (MP4/MOV, AVI with an
    /// index) that fits inside the file. `None` sends the reader to the lazy scan: Matroska's
    /// cues and fragmented MP4 list only some samples, and a cut file's table lists samples
    /// that are not there.
    pub fn read(
        input: &ffmpeg::format::context::Input,
        stream_index: usize,
    ) -> Option<ContainerTable> {
        let format = input.format().name().to_string();
        let complete_tables = format.contains("mov") || format == "avi";
        if !complete_tables {
            return None;
        }
        let stream = input.stream(stream_index)?;
        let listed = usize::try_from(stream.frames()).ok().filter(|&n| n > 0)?;
        let file_size = crate::media::input::io_size(input);
        // SAFETY: the input is open; the stream pointer is valid for the input's lifetime and
        // index entries are read-only here.
        let entries = unsafe {
            let context = input.as_ptr();
            let raw_stream = *(*context).streams.add(stream_index);
            let count = ffmpeg::ffi::avformat_index_get_entries_count(raw_stream);
            let mut entries = Vec::with_capacity(count.max(0) as usize);
            for i in 0..count {
                let entry = ffmpeg::ffi::avformat_index_get_entry(raw_stream, i);
                if entry.is_null() {
                    return None;
                }
                let flags = (*entry).flags();
                entries.push((
                    (*entry).pos,
                    (*entry).timestamp,
                    flags & ffmpeg::ffi::AVINDEX_KEYFRAME != 0,
                    flags & ffmpeg::ffi::AVINDEX_DISCARD_FRAME != 0,
                    i64::from((*entry).size()),
                ));
            }
            entries
        };
        if entries.len() != listed {
            return None;
        }
        // A table that points past the end of the file belongs to a cut file.
        if file_size > 0
            && entries
                .iter()
                .any(|&(pos, _, _, _, size)| pos < 0 || pos + size > file_size)
        {
            return None;
        }
        let mut keyframes: Vec<TableKeyframe> = Vec::new();
        let mut last_timestamp = i64::MIN;
        let mut counted = 0usize;
        let mut seen_keyframe = false;
        for (pos, timestamp, keyframe, discard, _) in entries {
            seen_keyframe |= keyframe;
            if keyframe {
                keyframes.push(TableKeyframe {
                    frames_before: counted,
                    timestamp,
                    seek_timestamp: timestamp,
                    position: pos,
                });
            }
            last_timestamp = last_timestamp.max(timestamp);
            // Same rule as the scan: nothing before the first keyframe, no discarded packets.
            if seen_keyframe && !discard {
                counted += 1;
            }
        }
        let next_timestamps: Vec<i64> = keyframes
            .iter()
            .skip(1)
            .map(|k| k.timestamp)
            .chain(std::iter::once(last_timestamp.saturating_add(1)))
            .collect();
        for (keyframe, next) in keyframes.iter_mut().zip(next_timestamps) {
            keyframe.seek_timestamp = next.saturating_sub(1).max(keyframe.timestamp);
        }
        (counted > 0).then_some(ContainerTable {
            frame_count: counted,
            keyframes,
        })
    }

    /// The latest keyframe whose run reaches frame `index` with `margin` frames to spare
    /// before it (or the first keyframe).
    pub fn keyframe_for(&self, index: usize, margin: usize) -> Option<TableKeyframe> {
        let limit = index.saturating_sub(margin);
        let end = self.keyframes.partition_point(|k| k.frames_before <= limit);
        self.keyframes
            .get(end.saturating_sub(1))
            .copied()
            .filter(|_| !self.keyframes.is_empty())
    }
}
