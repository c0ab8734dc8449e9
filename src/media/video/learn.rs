//! How a [`VideoReader`] learns its frame index as it reads: the cursor that places packets
//! read forward (from the start, or from a keyframe of the container's table), the read-ahead
//! it keeps for the decoder, windows opened by seeking to a table keyframe, and the
//! background scan of a whole file ([`ScanJob`], [`scan_file`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ffmpeg_next as ffmpeg;

use super::super::index::{FrameIndex, RunBuilder, TableKeyframe};
use super::super::{MediaError, MediaErrorKind};
use super::{READ_ON_LIMIT, REPLAY_BUDGET_BYTES, VideoReader};

impl VideoReader {
    /// The frame count, reading no further than needed to tell whether there are at least
    /// `limit` frames: `min(count, limit)`.
    pub fn count_up_to(&mut self, limit: usize) -> Result<usize, MediaError> {
        if let Some(total) = self.shared.index.total() {
            return Ok(total.min(limit));
        }
        if limit == 0 {
            return Ok(0);
        }
        match self.ensure(limit - 1) {
            Ok(true) => return Ok(limit),
            Err(e) => return Err(self.guard_error().unwrap_or(e)),
            Ok(false) => {}
        }
        if let Some(stopped) = self.guard_error() {
            return Err(stopped);
        }
        Ok(self.shared.index.len().min(limit))
    }

    /// Reads on to the end of the stream (when the count is not known yet), so
    /// [`VideoReader::frame_count`] is the whole count.
    pub fn complete_index(&mut self) -> Result<usize, MediaError> {
        self.count_up_to(usize::MAX)
    }

    /// Makes sure the index knows frame `index`'s packet, reading as little as it can;
    /// false when the stream has fewer frames.
    pub(super) fn ensure(&mut self, index: usize) -> Result<bool, MediaError> {
        // A window or a restart that reads to the end without finding the frame is not
        // tried again: the file holds fewer packets than its table lists.
        let mut fresh_starts = 0;
        loop {
            if self.index_knows(index) {
                return Ok(true);
            }
            if self.shared.index.total().is_some_and(|t| index >= t) {
                return Ok(false);
            }
            let cursor_reach = self
                .session
                .cursor
                .as_ref()
                .filter(|c| c.start() <= index)
                .map(|c| c.start() + c.frames_read());
            let table_window = self
                .shared
                .index
                .table()
                .and_then(|t| t.keyframe_for(index, self.margin()));
            match (cursor_reach, table_window) {
                (Some(reach), window)
                    if window.is_none()
                        || index < reach + READ_ON_LIMIT
                        || window.is_some_and(|w| w.frames_before < reach) =>
                {
                    if !self.read_ahead_one() {
                        // The end: the cursor's last frames are placed now.
                        if self.shared.index.covers(index) {
                            return Ok(true);
                        }
                        if self.shared.index.total().is_some_and(|t| index >= t) {
                            return Ok(false);
                        }
                        return Err(self.error(MediaErrorKind::FrameUnavailable(index + 1)));
                    }
                }
                _ if fresh_starts >= 2 => {
                    return Err(self.error(MediaErrorKind::FrameUnavailable(index + 1)));
                }
                (_, Some(window)) => {
                    fresh_starts += 1;
                    self.start_window(window, true)?;
                }
                (_, None) => {
                    // Nothing reads toward it: read again from the start.
                    fresh_starts += 1;
                    self.restart_from_beginning()?;
                }
            }
        }
    }

    /// Settles the cursor's placed frames into the index when they reach frame `index`;
    /// whether the index knows its packet now.
    pub(super) fn index_knows(&mut self, index: usize) -> bool {
        if self
            .session
            .cursor
            .as_ref()
            .is_some_and(|c| c.start() <= index && index < c.settled_end())
        {
            self.sync_cursor();
        }
        self.shared.index.covers(index)
    }

    pub(super) fn margin(&self) -> usize {
        let (reorders, delay) = self.shared.reorder;
        if reorders { 2 * delay + 4 } else { 0 }
    }

    /// Reads one packet into the replay queue through the cursor; at the end of the input,
    /// places the cursor's last frames. False when nothing more can be read.
    pub(super) fn read_ahead_one(&mut self) -> bool {
        let Some(packet) = self.read_input_packet() else {
            return false;
        };
        let session = &mut self.session;
        if session.replay_bytes + packet.size() > REPLAY_BUDGET_BYTES {
            session.replay.clear();
            session.replay_bytes = 0;
            session.replay_head_pts = None;
            // What the decoder would have read next is gone: it must seek.
            self.last_output = None;
            self.outputs_since_start = None;
        } else {
            if session.replay.is_empty() && packet.is_key() {
                // A decoder starting here needs no seek (see `seek_to`).
                session.replay_head_pts = packet.pts();
            }
            session.replay_bytes += packet.size();
            session.replay.push_back(packet);
        }
        true
    }

    /// Reads the next packet of the stream from the input, teaching the cursor; `None` at
    /// the end (the cursor's run is then finished and, from the start, the count known).
    pub(super) fn read_input_packet(&mut self) -> Option<ffmpeg::Packet> {
        if self.session.input_ended {
            return None;
        }
        loop {
            let mut packet = ffmpeg::Packet::empty();
            match packet.read(&mut self.session.input) {
                Ok(()) if packet.stream() == self.shared.stream_index => {
                    if let Some(cursor) = self.session.cursor.as_mut() {
                        cursor.push(&packet);
                    }
                    return Some(packet);
                }
                Ok(()) => continue,
                Err(error) => {
                    self.session.input_ended = true;
                    if self.session.guard.stopped().is_some() {
                        // Stopped (deadline, cancel), not the end: nothing learnt about it.
                        self.session.cursor = None;
                        return None;
                    }
                    let truncated = !matches!(error, ffmpeg::Error::Eof);
                    if let Some(mut cursor) = self.session.cursor.take() {
                        let run = cursor.finish();
                        let count = run.end();
                        let index = Arc::make_mut(&mut self.shared.index);
                        index.absorb(run, &cursor);
                        // The cursor started where `start` frames came before: at the end
                        // of the stream its run ends at the count.
                        index.complete_at(count, truncated);
                    }
                    return None;
                }
            }
        }
    }

    /// Adds what the cursor has placed since the last time to the index.
    pub(super) fn sync_cursor(&mut self) {
        let Some(cursor) = self.session.cursor.as_ref() else {
            return;
        };
        if cursor.settled_end() <= self.session.synced_end.max(cursor.start()) {
            return;
        }
        self.session.synced_end = cursor.settled_end();
        let run = cursor.snapshot();
        Arc::make_mut(&mut self.shared.index).absorb(run, cursor);
    }

    /// Seeks the input to a keyframe and, when the demuxer lands exactly on it, starts
    /// learning the run that begins there; its packets are kept for the decoder. A window
    /// for the index (`for_index`) must land exactly, or the index is learnt from the start
    /// instead; a seek for decoding may land earlier (decoding forward finds the frame).
    pub(super) fn start_window(
        &mut self,
        point: TableKeyframe,
        for_index: bool,
    ) -> Result<(), MediaError> {
        self.stats.seeks += 1;
        self.sync_cursor();
        // SAFETY: the input context is open and owned by this reader; the stream index is valid.
        let result = unsafe {
            ffmpeg::ffi::av_seek_frame(
                self.session.input.as_mut_ptr(),
                self.shared.stream_index as i32,
                point.seek_timestamp,
                ffmpeg::ffi::AVSEEK_FLAG_BACKWARD,
            )
        };
        self.reset_decoder();
        if result < 0 {
            // Not seekable here: start over from the beginning instead.
            return self.restart_from_beginning();
        }
        let (reorders, delay) = self.shared.reorder;
        self.session.cursor = Some(RunBuilder::new(point.frames_before, reorders, delay));
        let Some(packet) = self.read_input_packet() else {
            return if for_index {
                self.restart_from_beginning()
            } else {
                Ok(())
            };
        };
        // The demuxer must land exactly on the keyframe, or positions would be off.
        let landed = packet.is_key()
            && (packet.position() as i64 == point.position
                || packet.dts() == Some(point.timestamp));
        if landed {
            self.session.replay_head_pts = packet.pts();
        } else {
            self.session.cursor = None;
        }
        self.session.replay_bytes += packet.size();
        self.session.replay.push_back(packet);
        if !landed && for_index {
            // An unexpected landing: learn from the start instead (slow, exact).
            return self.restart_from_beginning();
        }
        Ok(())
    }

    /// Forgets what the decoder and the read-ahead held (after the input moved).
    pub(super) fn reset_decoder(&mut self) {
        self.session.decoder.flush();
        self.session.draining = false;
        self.session.input_ended = false;
        self.session.replay.clear();
        self.session.replay_bytes = 0;
        self.session.replay_head_pts = None;
        self.sync_cursor();
        self.session.cursor = None;
        self.session.synced_end = 0;
        self.last_output = None;
        self.outputs_since_start = None;
    }
}

/// A scan of one file's video stream, to run on another thread ([`VideoReader::scan_job`]).
pub struct ScanJob {
    pub(super) path: PathBuf,
    pub(super) stream_index: usize,
    pub(super) timeout: Duration,
}

impl ScanJob {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs the scan (see [`scan_file`]).
    pub fn run(&self, progress: &mut dyn FnMut(f64) -> bool) -> Result<FrameIndex, MediaError> {
        scan_file(&self.path, self.stream_index, self.timeout, progress)
    }
}

/// A demux pass over the whole stream `stream_index` of `path` on its own input, telling
/// `progress` the fraction read now and then (it returns false to stop: an error then).
pub fn scan_file(
    path: &Path,
    stream_index: usize,
    timeout: Duration,
    progress: &mut dyn FnMut(f64) -> bool,
) -> Result<FrameIndex, MediaError> {
    if let Some(cached) = crate::media::index_cache::load(path, stream_index) {
        return Ok(cached);
    }
    let fail = |kind| MediaError::new(path, kind);
    let mut input = crate::media::open_input_with(path, timeout)
        .map_err(|e| fail(MediaErrorKind::Unrecognized(e.to_string())))?;
    let size = crate::media::input::io_size(&input);
    let mut stopped = false;
    let index = FrameIndex::build_with_progress(&mut input, stream_index, &mut |position| {
        let keep_on = size <= 0 || progress(position as f64 / size as f64);
        stopped |= !keep_on;
        keep_on
    });
    if stopped {
        return Err(fail(MediaErrorKind::Decode("indexing stopped".to_string())));
    }
    crate::media::index_cache::store(path, stream_index, &index);
    Ok(index)
}
