//! The check after encoding: the output opens, has one H.264 video stream and as many AAC
//! audio streams as the input has audio streams, holds as many video frames as the input
//! decodes to (after the preset's frame-rate change), and its duration matches the input's
//! within one frame interval plus 0.1 s. A duration alone can hide lost frames (a long
//! timestamp gap, a dropped keyframe); the frame count cannot.

use std::path::Path;

use ffmpeg::{Rational, codec, media};
use ffmpeg_next as ffmpeg;

use super::TranscodeError;
use super::join::Spans;
use crate::media::init_ffmpeg;

/// Extra tolerance on top of one frame interval.
const DURATION_SLACK_SECONDS: f64 = 0.1;

fn seconds(ctx: &ffmpeg::format::context::Input) -> Option<f64> {
    (ctx.duration() > 0).then(|| ctx.duration() as f64 / f64::from(ffmpeg::ffi::AV_TIME_BASE))
}

/// What the checks after an encode read from the input, from one open of it (a film in a
/// bucket is opened once for a join's checks, not once per check).
#[derive(Debug, Clone, PartialEq)]
pub struct SourceFacts {
    /// The best video stream's time base (segment starts are counted in it).
    pub video_time_base: Rational,
    /// How many audio streams it has.
    pub audio_streams: usize,
    /// The container's duration.
    pub duration_seconds: Option<f64>,
    /// The video's span, the first audio stream's and that stream's sample rate, when the
    /// file has both (the A/V sync check).
    pub spans: Option<Spans>,
    /// Its video frames, when asked for: the container's sample table where it has a
    /// complete one (MP4/MOV, indexed AVI: no packet read), else one per packet of its
    /// video stream (a demux pass).
    pub video_frames: Option<u64>,
}

impl SourceFacts {
    /// Opens `input` once and reads what the checks need; `count_frames` also counts its
    /// video frames.
    pub fn read(input: &Path, count_frames: bool) -> Result<SourceFacts, TranscodeError> {
        init_ffmpeg();
        let mut ctx = crate::media::open_input(input)
            .map_err(|e| TranscodeError::Verify(format!("cannot reopen the input: {e}")))?;
        let (video_index, video_time_base) = ctx
            .streams()
            .best(media::Type::Video)
            .map(|s| (s.index(), s.time_base()))
            .ok_or_else(|| TranscodeError::NoVideo {
                path: input.display().to_string(),
            })?;
        let audio_streams = ctx
            .streams()
            .filter(|s| s.parameters().medium() == media::Type::Audio)
            .count();
        let duration_seconds = seconds(&ctx);
        let spans = super::join::spans_of(&ctx);
        let video_frames = count_frames.then(|| {
            match crate::media::index::ContainerTable::read(&ctx, video_index) {
                Some(table) => table.frame_count as u64,
                None => crate::media::index::FrameIndex::build(&mut ctx, video_index).len() as u64,
            }
        });
        Ok(SourceFacts {
            video_time_base,
            audio_streams,
            duration_seconds,
            spans,
            video_frames,
        })
    }
}

/// Checks `output` against `input` and, when given, the number of video frames it must hold
/// (`TranscodeReport::expected_output_frames`); the error says what did not match.
pub fn verify_output(
    input: &Path,
    output: &Path,
    expected_frames: Option<u64>,
) -> Result<(), TranscodeError> {
    verify_against(&SourceFacts::read(input, false)?, output, expected_frames)
}

/// [`verify_output`] against what was read of the input already.
pub fn verify_against(
    source: &SourceFacts,
    output: &Path,
    expected_frames: Option<u64>,
) -> Result<(), TranscodeError> {
    init_ffmpeg();
    let unchecked = |what: String| TranscodeError::Verify(what);
    let fail = |what: String| TranscodeError::Mismatch(what);
    let result = crate::media::open_input(output)
        .map_err(|e| unchecked(format!("the output does not open: {e}")))?;
    let videos: Vec<_> = result
        .streams()
        .filter(|s| s.parameters().medium() == media::Type::Video)
        .collect();
    if videos.len() != 1 || videos[0].parameters().id() != codec::Id::H264 {
        return Err(fail(format!(
            "expected one H.264 video stream, found {}",
            videos.len()
        )));
    }
    let audio_in = source.audio_streams;
    let audio_out: Vec<_> = result
        .streams()
        .filter(|s| s.parameters().medium() == media::Type::Audio)
        .collect();
    if audio_out.len() != audio_in
        || audio_out
            .iter()
            .any(|s| s.parameters().id() != codec::Id::AAC)
    {
        return Err(fail(format!(
            "expected {audio_in} AAC audio stream(s), found {}",
            audio_out.len()
        )));
    }
    let video_index = videos[0].index();
    let rate = videos[0].avg_frame_rate();
    let frame_interval = if rate.numerator() > 0 {
        f64::from(rate.invert())
    } else {
        0.1
    };
    match (source.duration_seconds, seconds(&result)) {
        (Some(want), Some(got)) => {
            let tolerance = frame_interval + DURATION_SLACK_SECONDS;
            if (want - got).abs() > tolerance {
                return Err(fail(format!(
                    "duration {got:.3} s, input {want:.3} s (allowed difference {tolerance:.3} s)"
                )));
            }
        }
        (Some(_), None) => return Err(fail("the output has no duration".to_string())),
        _ => {}
    }
    if let Some(expected) = expected_frames {
        // The frames a player shows: one per packet, leaving out packets the MP4 edit list
        // marks "discard" (a demux pass, no decoding).
        let mut result = result;
        let found = crate::media::index::FrameIndex::build(&mut result, video_index).len() as u64;
        if found != expected {
            return Err(fail(format!(
                "the output holds {found} video frames, the input decodes to {expected}"
            )));
        }
    }
    Ok(())
}
