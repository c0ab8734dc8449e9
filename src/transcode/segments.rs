//! Segmented transcoding's plan and checks: where a long input is cut ([`plan`]: at the first
//! keyframe at or after each multiple of the segment length, from the media index), and the
//! check of one part's output before it is published ([`verify_part`]). The encode of a part
//! is [`super::transcode_scope`]; the join is [`super::join`].

use std::path::Path;
use std::time::Duration;

use ffmpeg::{codec, media};
use ffmpeg_next as ffmpeg;

use super::TranscodeError;
use crate::media::index::{ContainerTable, FrameIndex, RunBuilder, reorder_of};
use crate::media::init_ffmpeg;

/// Where a long input is cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentPlan {
    /// `(start, end)` of each segment in the video stream's time base: `start` is a keyframe's
    /// pts, `end` the next segment's start (`None` for the last: to the end).
    pub ranges: Vec<(i64, Option<i64>)>,
    /// The input has audio (then one job encodes it).
    pub has_audio: bool,
    /// How the cuts were found: [`PlanReading::TableFirst`] when the table said them,
    /// [`PlanReading::Scan`] when every packet was read.
    pub read_by: PlanReading,
}

/// How [`plan_with`] finds the keyframes to cut at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanReading {
    /// From the container's sample table where it has one (MP4/MOV, indexed AVI): the first
    /// packets and the packet at each candidate keyframe are read, not the whole input (a
    /// film in a bucket is not downloaded to plan it). Anything else is scanned.
    TableFirst,
    /// Every packet of the video stream (the reference the table's cuts must equal).
    Scan,
}

/// The segments of `input` for segments of `length`: `None` when the input is not longer
/// than `length` or has no keyframe to cut at (then it is one whole job). No decoding: the
/// container's table and a few packets where it has one, else one pass over the packets.
pub fn plan(input: &Path, length: Duration) -> Result<Option<SegmentPlan>, TranscodeError> {
    plan_with(input, length, PlanReading::TableFirst)
}

/// [`plan`], reading as `reading` says.
pub fn plan_with(
    input: &Path,
    length: Duration,
    reading: PlanReading,
) -> Result<Option<SegmentPlan>, TranscodeError> {
    init_ffmpeg();
    let path = input.display().to_string();
    let mut ictx = crate::media::open_input(input).map_err(|e| TranscodeError::Open {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let duration = (ictx.duration() > 0)
        .then(|| ictx.duration() as f64 / f64::from(ffmpeg::ffi::AV_TIME_BASE));
    let length_seconds = length.as_secs_f64();
    if length_seconds <= 0.0 || duration.is_none_or(|d| d <= length_seconds) {
        return Ok(None);
    }
    let (index, time_base) = {
        let stream = ictx
            .streams()
            .best(media::Type::Video)
            .ok_or(TranscodeError::NoVideo { path: path.clone() })?;
        (stream.index(), stream.time_base())
    };
    let has_audio = ictx
        .streams()
        .any(|s| s.parameters().medium() == media::Type::Audio);
    if time_base.numerator() <= 0 {
        return Ok(None);
    }
    // The segment length in the stream's time base.
    let step = (length_seconds * f64::from(time_base.denominator())
        / f64::from(time_base.numerator()))
    .round() as i64;
    if step <= 0 {
        return Ok(None);
    }
    let from_table = match reading {
        PlanReading::TableFirst => ContainerTable::read(&ictx, index)
            .and_then(|table| TableCuts::new(&mut ictx, index, table)?.starts(step)),
        PlanReading::Scan => None,
    };
    let read_by = if from_table.is_some() {
        PlanReading::TableFirst
    } else {
        PlanReading::Scan
    };
    let starts = match from_table {
        Some(starts) => starts,
        None => {
            // A fresh context: the table's reads moved this one.
            let mut ictx = crate::media::open_input(input).map_err(|e| TranscodeError::Open {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            let frames = FrameIndex::build(&mut ictx, index);
            let keyframes: Vec<i64> = frames
                .frames()
                .iter()
                .filter(|f| f.keyframe)
                .map(|f| f.pts)
                .collect();
            let Some(&first) = frames.frames().first().map(|f| &f.pts) else {
                return Ok(None);
            };
            cut_starts(first, step, |target, last| {
                keyframes.iter().copied().find(|&k| k >= target && k > last)
            })
        }
    };
    if starts.len() < 2 {
        return Ok(None);
    }
    let ranges = starts
        .iter()
        .enumerate()
        .map(|(i, &start)| (start, starts.get(i + 1).copied()))
        .collect();
    Ok(Some(SegmentPlan {
        ranges,
        has_audio,
        read_by,
    }))
}

/// The segment starts from `first` (the first frame's pts): at the first keyframe at or
/// after each multiple of `step`; `next_keyframe(target, last)` is the first keyframe at or
/// after `target` and after `last`.
fn cut_starts(
    first: i64,
    step: i64,
    mut next_keyframe: impl FnMut(i64, i64) -> Option<i64>,
) -> Vec<i64> {
    let mut starts = vec![first];
    let mut multiple = 1i64;
    loop {
        let target = first + multiple * step;
        let last = starts.last().copied().unwrap_or(first);
        match next_keyframe(target, last) {
            Some(cut) => {
                starts.push(cut);
                // The next cut is at the next multiple after this one.
                multiple = (cut - first) / step + 1;
            }
            None => break,
        }
    }
    starts
}

/// Cut points from the container's sample table. The table lists each keyframe's decode
/// time and byte position; a keyframe's presentation time (what segments are cut by) is read
/// from its packet, found by seeking to it, only for the keyframes a cut looks at (two a cut:
/// the first decoded at or after the cut's time, and the one before it). Any
/// surprise (a seek that lands elsewhere, keyframes out of presentation order, a packet
/// without a timestamp) gives up, and the caller scans instead.
struct TableCuts<'a> {
    ictx: &'a mut ffmpeg::format::context::Input,
    stream_index: usize,
    table: ContainerTable,
    /// The first frame's pts, placed as a scan places it.
    first: i64,
    /// Presentation times read so far, by keyframe (table order).
    known: std::collections::HashMap<usize, Option<i64>>,
}

impl<'a> TableCuts<'a> {
    fn new(
        ictx: &'a mut ffmpeg::format::context::Input,
        stream_index: usize,
        table: ContainerTable,
    ) -> Option<TableCuts<'a>> {
        let (reorders, delay) = reorder_of(&ictx.stream(stream_index)?.parameters());
        // The first frame as the scan places it: its first packets until one frame settles.
        let mut builder = RunBuilder::new(0, reorders, delay);
        while builder.settled_end() == 0 {
            let mut packet = ffmpeg::Packet::empty();
            if packet.read(ictx).is_err() {
                break;
            }
            if packet.stream() == stream_index {
                builder.push(&packet);
            }
        }
        if builder.missing_timestamp {
            return None;
        }
        let first = FrameIndex::from_scan(builder, false).frames().first()?.pts;
        Some(TableCuts {
            ictx,
            stream_index,
            table,
            first,
            known: std::collections::HashMap::new(),
        })
    }

    /// The pts of the table's keyframe `n`, read from its packet (`None`: not usable: a seek
    /// that did not land on it, or a packet the container marks discarded).
    fn pts_of(&mut self, n: usize) -> Option<i64> {
        if let Some(&known) = self.known.get(&n) {
            return known;
        }
        let keyframe = *self.table.keyframes.get(n)?;
        // SAFETY: the context is open and the stream index is one of its streams.
        let sought = unsafe {
            ffmpeg::ffi::av_seek_frame(
                self.ictx.as_mut_ptr(),
                self.stream_index as i32,
                keyframe.seek_timestamp,
                ffmpeg::ffi::AVSEEK_FLAG_BACKWARD,
            )
        };
        let mut found = None;
        if sought >= 0 {
            loop {
                let mut packet = ffmpeg::Packet::empty();
                if packet.read(self.ictx).is_err() {
                    break;
                }
                if packet.stream() != self.stream_index {
                    continue;
                }
                // SAFETY: the packet was filled by av_read_frame.
                let flags = unsafe { (*ffmpeg::packet::Ref::as_ptr(&packet)).flags };
                let landed = packet.position() as i64 == keyframe.position
                    && flags & ffmpeg::ffi::AV_PKT_FLAG_KEY != 0
                    && flags & ffmpeg::ffi::AV_PKT_FLAG_DISCARD == 0;
                found = landed.then(|| packet.pts()).flatten();
                break;
            }
        }
        self.known.insert(n, found);
        found
    }

    /// The cut starts, or `None` when the table cannot say them exactly.
    fn starts(mut self, step: i64) -> Option<Vec<i64>> {
        let count = self.table.keyframes.len();
        let mut failed = false;
        let first = self.first;
        let starts = cut_starts(first, step, |target, last| {
            if failed {
                return None;
            }
            // A keyframe decoded at or after `target` is shown at or after it (pts >= dts);
            // one decoded before it may still be shown after it: walk back while they are.
            let mut n = self
                .table
                .keyframes
                .partition_point(|k| k.timestamp < target);
            while n > 0 {
                match self.pts_of(n - 1) {
                    Some(pts) if pts >= target && pts > last => n -= 1,
                    Some(_) => break,
                    None => {
                        failed = true;
                        return None;
                    }
                }
            }
            if n >= count {
                return None;
            }
            match self.pts_of(n) {
                Some(pts) if pts >= target && pts > last => {
                    // Keyframes shown out of decode order would make this not the first (the
                    // walk back read the one before it).
                    let before = n.checked_sub(1).and_then(|b| self.known.get(&b).copied());
                    if before.flatten().is_some_and(|b| b >= pts) {
                        failed = true;
                        return None;
                    }
                    Some(pts)
                }
                _ => {
                    failed = true;
                    None
                }
            }
        });
        (!failed).then_some(starts)
    }
}

/// Checks a part's output before it is published: it opens; a segment (`video_frames`
/// given) has one H.264 stream holding exactly that many frames and no audio; the audio part
/// (`None`) has `audio_tracks` AAC streams and no video.
pub fn verify_part(
    output: &Path,
    video_frames: Option<u64>,
    audio_tracks: usize,
) -> Result<(), TranscodeError> {
    init_ffmpeg();
    let mut result = crate::media::open_input(output)
        .map_err(|e| TranscodeError::Verify(format!("the part does not open: {e}")))?;
    let fail = |what: String| TranscodeError::Mismatch(what);
    let count = |ctx: &ffmpeg::format::context::Input, kind, id| {
        ctx.streams()
            .filter(|s| s.parameters().medium() == kind)
            .map(|s| (s.index(), s.parameters().id() == id))
            .collect::<Vec<_>>()
    };
    let videos = count(&result, media::Type::Video, codec::Id::H264);
    let audios = count(&result, media::Type::Audio, codec::Id::AAC);
    match video_frames {
        Some(expected) => {
            if videos.len() != 1 || !videos[0].1 || !audios.is_empty() {
                return Err(fail(format!(
                    "a segment must hold one H.264 stream and no audio; found {} video and {} audio streams",
                    videos.len(),
                    audios.len()
                )));
            }
            let found = FrameIndex::build(&mut result, videos[0].0).len() as u64;
            if found != expected {
                return Err(fail(format!(
                    "the segment holds {found} video frames, {expected} were encoded"
                )));
            }
        }
        None => {
            if !videos.is_empty() || audios.len() != audio_tracks || audios.iter().any(|a| !a.1) {
                return Err(fail(format!(
                    "the audio part must hold {audio_tracks} AAC stream(s) and no video; found {} audio and {} video streams",
                    audios.len(),
                    videos.len()
                )));
            }
        }
    }
    Ok(())
}
