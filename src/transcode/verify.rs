//! The check after encoding: the output opens, has one H.264 video stream and as many AAC
//! audio streams as the input has audio streams, holds as many video frames as the input
//! decodes to (after the preset's frame-rate change), and its duration matches the input's
//! within one frame interval plus 0.1 s. A duration alone can hide lost frames (a long
//! timestamp gap, a dropped keyframe); the frame count cannot.

use std::path::Path;

use ffmpeg::{codec, media};
use ffmpeg_next as ffmpeg;

use super::TranscodeError;
use crate::media::init_ffmpeg;

/// Extra tolerance on top of one frame interval.
const DURATION_SLACK_SECONDS: f64 = 0.1;

fn seconds(ctx: &ffmpeg::format::context::Input) -> Option<f64> {
    (ctx.duration() > 0).then(|| ctx.duration() as f64 / f64::from(ffmpeg::ffi::AV_TIME_BASE))
}

/// Checks `output` against `input` and, when given, the number of video frames it must hold
/// (`TranscodeReport::expected_output_frames`); the error says what did not match.
pub fn verify_output(
    input: &Path,
    output: &Path,
    expected_frames: Option<u64>,
) -> Result<(), TranscodeError> {
    init_ffmpeg();
    let unchecked = |what: String| TranscodeError::Verify(what);
    let fail = |what: String| TranscodeError::Mismatch(what);
    let source = crate::media::open_input(input)
        .map_err(|e| unchecked(format!("cannot reopen the input: {e}")))?;
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
    let audio_in = source
        .streams()
        .filter(|s| s.parameters().medium() == media::Type::Audio)
        .count();
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
    match (seconds(&source), seconds(&result)) {
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
