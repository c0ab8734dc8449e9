//! Segmented transcoding's plan and checks: where a long input is cut ([`plan`]: at the first
//! keyframe at or after each multiple of the segment length, from the media index), and the
//! check of one part's output before it is published ([`verify_part`]). The encode of a part
//! is [`super::transcode_scope`]; the join is [`super::join`].

use std::path::Path;
use std::time::Duration;

use ffmpeg::{codec, media};
use ffmpeg_next as ffmpeg;

use super::TranscodeError;
use crate::media::index::{ContainerTable, FrameIndex};
use crate::media::init_ffmpeg;

/// Where a long input is cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentPlan {
    /// `(start, end)` of each segment in the video stream's time base: `start` is a keyframe's
    /// pts, `end` the next segment's start (`None` for the last: to the end).
    pub ranges: Vec<(i64, Option<i64>)>,
    /// The input has audio (then one job encodes it).
    pub has_audio: bool,
}

/// The segments of `input` for segments of `length`: `None` when the input is not longer
/// than `length` or has no keyframe to cut at (then it is one whole job). Reads the input's
/// packets once (no decoding).
pub fn plan(input: &Path, length: Duration) -> Result<Option<SegmentPlan>, TranscodeError> {
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
    let mut starts = vec![first];
    let mut multiple = 1i64;
    loop {
        let target = first + multiple * step;
        let last = starts.last().copied().unwrap_or(first);
        match keyframes.iter().find(|&&k| k >= target && k > last) {
            Some(&cut) => {
                starts.push(cut);
                // The next cut is at the next multiple after this one.
                multiple = (cut - first) / step + 1;
            }
            None => break,
        }
    }
    if starts.len() < 2 {
        return Ok(None);
    }
    let ranges = starts
        .iter()
        .enumerate()
        .map(|(i, &start)| (start, starts.get(i + 1).copied()))
        .collect();
    Ok(Some(SegmentPlan { ranges, has_audio }))
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

/// How many video frames `input` holds: the container's sample table where it has a complete
/// one (MP4/MOV, indexed AVI: no packet read, so a long input in a bucket is not downloaded
/// again), else one per packet of its video stream (a demux pass, counted by the same rule).
pub fn input_frames(input: &Path) -> Result<u64, TranscodeError> {
    init_ffmpeg();
    let path = input.display().to_string();
    let mut ictx = crate::media::open_input(input)
        .map_err(|e| TranscodeError::Verify(format!("cannot reopen the input: {e}")))?;
    let index = ictx
        .streams()
        .best(media::Type::Video)
        .map(|s| s.index())
        .ok_or(TranscodeError::NoVideo { path })?;
    if let Some(table) = ContainerTable::read(&ictx, index) {
        return Ok(table.frame_count as u64);
    }
    Ok(FrameIndex::build(&mut ictx, index).len() as u64)
}
