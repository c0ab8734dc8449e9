//! The encode pipeline: one input file to one MP4, in process. Video goes through a filter
//! graph (scale to the preset's size with accurate rounding, limited-range yuv420p, optional
//! fixed frame rate) into libx264; every audio track goes through `aresample`/`aformat` into
//! FFmpeg's native AAC encoder. Colour tags and the display matrix are carried over (an
//! untagged source is tagged with the matrix it was being shown with), and the MP4 is written
//! with its index at the front (`+faststart`).

use std::path::Path;

use ffmpeg::{Dictionary, Rational, format, media};
use ffmpeg_next as ffmpeg;

use super::lanes::{AudioLane, audio_lane, video_lane};
use super::{Preset, TranscodeError};
use crate::media::init_ffmpeg;

/// Where an encode is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Seconds of the input encoded so far.
    pub position_seconds: f64,
    /// The input's duration, when known.
    pub duration_seconds: Option<f64>,
    pub frames: u64,
}

impl Progress {
    /// 0.0 to 1.0, when the duration is known.
    pub fn fraction(&self) -> Option<f64> {
        self.duration_seconds
            .filter(|d| *d > 0.0)
            .map(|d| (self.position_seconds / d).clamp(0.0, 1.0))
    }
}

/// What an encode produced.
#[derive(Debug, Clone, PartialEq)]
pub struct TranscodeReport {
    pub width: u32,
    pub height: u32,
    /// Frames sent to the video encoder (after the preset's frame-rate change, if any).
    pub video_frames: u64,
    /// Frames decoded from the input's video stream.
    pub decoded_frames: u64,
    /// The preset changed the frame rate.
    pub fps_changed: bool,
    pub audio_tracks: usize,
    pub input_duration: Option<f64>,
}

impl TranscodeReport {
    /// How many video frames the output must hold: every frame the input decodes to, or with
    /// a frame-rate change, every frame the rate filter produced.
    pub fn expected_output_frames(&self) -> u64 {
        if self.fps_changed {
            self.video_frames
        } else {
            self.decoded_frames
        }
    }
}

/// The input's start time (`AV_TIME_BASE` units) when it is after 0, else 0: what whole
/// encodes take off their timestamps.
fn input_origin(ictx: &format::context::Input) -> i64 {
    // SAFETY: the context is open; start_time is a plain field FFmpeg set while probing.
    let start = unsafe { (*ictx.as_ptr()).start_time };
    if start > 0 && start != ffmpeg::ffi::AV_NOPTS_VALUE {
        start
    } else {
        0
    }
}

/// `origin` (`AV_TIME_BASE` units) in `time_base`.
fn origin_in(origin: i64, time_base: Rational) -> i64 {
    use ffmpeg::Rescale;
    origin.rescale(Rational::new(1, ffmpeg::ffi::AV_TIME_BASE), time_base)
}

/// Which part of the input an encode makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The whole file: video and every audio track.
    Whole,
    /// Only video frames with pts in `[start, end)` (the input video stream's time base; `end`
    /// `None`: to the end), decoded from the keyframe at or before `start`, their timestamps
    /// moved back by `start` (the segment starts at 0); no audio.
    VideoRange { start: i64, end: Option<i64> },
    /// Only the audio tracks, whole (timestamps as a whole encode gives them).
    Audio,
}

/// Transcodes `input` to an MP4 at `output` (written in place; the caller publishes it).
/// `on_progress` is called as video frames are encoded; `should_stop` is polled per packet and
/// by FFmpeg's reads of the input (an interrupt callback, see [`crate::read_bound`]), and
/// ends the work early when it returns true, even while the input stalls (a caller on another
/// thread wakes a read blocked in the kernel with [`crate::read_bound::Kicker`]).
pub fn transcode(
    input: &Path,
    output: &Path,
    preset: &Preset,
    should_stop: &dyn Fn() -> bool,
    on_progress: impl FnMut(Progress),
) -> Result<TranscodeReport, TranscodeError> {
    transcode_scope(
        input,
        output,
        preset,
        Scope::Whole,
        should_stop,
        on_progress,
    )
}

/// How far before a segment's start a seek aims on each try, in seconds (`None`: no seek,
/// decode from the beginning). A container with an exact index (MP4, MKV) lands on the
/// keyframe at the start at once; one whose seeks go by byte position and timestamps (MPEG-TS,
/// PS) may land just past it, which the first decoded frame shows: then the encode starts
/// again from further back.
const SEEK_MARGINS: [Option<f64>; 3] = [Some(0.0), Some(10.0), None];

/// [`transcode`] of a part of the input ([`Scope`]): a segment's video or the audio tracks.
pub fn transcode_scope(
    input: &Path,
    output: &Path,
    preset: &Preset,
    scope: Scope,
    should_stop: &dyn Fn() -> bool,
    mut on_progress: impl FnMut(Progress),
) -> Result<TranscodeReport, TranscodeError> {
    let mut last = Err(TranscodeError::Cancelled);
    for margin in SEEK_MARGINS {
        last = encode(
            input,
            output,
            preset,
            scope,
            margin,
            should_stop,
            &mut on_progress,
        );
        if !matches!(last, Err(TranscodeError::SeekOvershot)) {
            break;
        }
    }
    last
}

/// One try of [`transcode_scope`]: a segment's seek aims `margin` seconds before its start
/// (`None`: no seek).
fn encode(
    input: &Path,
    output: &Path,
    preset: &Preset,
    scope: Scope,
    margin: Option<f64>,
    should_stop: &dyn Fn() -> bool,
    on_progress: &mut dyn FnMut(Progress),
) -> Result<TranscodeReport, TranscodeError> {
    init_ffmpeg();
    let _stop_reads = crate::read_bound::stop_reads_when(should_stop);
    let path_text = input.display().to_string();
    // A playlist opens further inputs and a live one never ends: refused by name, before
    // FFmpeg's demuxer whitelist would refuse it with a vaguer reason.
    if let Some(kind) = crate::media::playlist_kind(input) {
        return Err(TranscodeError::Playlist {
            path: path_text,
            kind,
        });
    }
    let mut ictx = crate::media::open_input(input).map_err(|e| TranscodeError::Open {
        path: path_text.clone(),
        reason: e.to_string(),
    })?;
    let mut octx = crate::media::open_output(output, "mp4")
        .map_err(TranscodeError::ffmpeg("create output"))?;
    let duration = (ictx.duration() > 0)
        .then(|| ictx.duration() as f64 / f64::from(ffmpeg::ffi::AV_TIME_BASE));

    let video_stream = ictx
        .streams()
        .best(media::Type::Video)
        .ok_or(TranscodeError::NoVideo {
            path: path_text.clone(),
        })?;
    let mut video = match scope {
        Scope::Audio => None,
        _ => Some(video_lane(&video_stream, &mut octx, preset, &path_text)?),
    };
    let origin = input_origin(&ictx);
    if let Some(lane) = video.as_mut() {
        lane.origin = origin_in(origin, video_stream.time_base());
    }
    let video_index = video_stream.index();
    let video_time_base = video_stream.time_base();
    let mut audio: Vec<AudioLane> = Vec::new();
    for stream in ictx
        .streams()
        .filter(|s| s.parameters().medium() == media::Type::Audio)
    {
        if scope == Scope::Whole || scope == Scope::Audio {
            let mut lane = audio_lane(&stream, &mut octx, preset)?;
            lane.origin = origin_in(origin, stream.time_base());
            audio.push(lane);
        }
    }
    let mut duration = duration;
    if let (Scope::VideoRange { start, end }, Some(lane)) = (scope, video.as_mut()) {
        lane.range = Some((start, end));
        lane.after_seek = margin.is_some();
        let seconds = |ts: i64| ts as f64 * f64::from(video_time_base);
        duration = match end {
            Some(end) => Some(seconds(end - start)),
            None => duration.map(|d| (d - seconds(start)).max(0.0)),
        };
        let target = margin.map(|m| start - (m / f64::from(video_time_base)).round() as i64);
        // SAFETY: the context is open and `video_index` is one of its streams; the seek goes to
        // the keyframe at or before `target` in that stream's time base.
        let sought = target.map_or(0, |target| unsafe {
            ffmpeg::ffi::av_seek_frame(
                ictx.as_mut_ptr(),
                video_index as i32,
                target,
                ffmpeg::ffi::AVSEEK_FLAG_BACKWARD,
            )
        });
        if sought < 0 {
            return Err(TranscodeError::Ffmpeg {
                stage: "seek to the segment",
                reason: ffmpeg::Error::from(sought).to_string(),
            });
        }
    }

    let mut mux_options = Dictionary::new();
    mux_options.set("movflags", "+faststart");
    octx.write_header_with(mux_options)
        .map_err(TranscodeError::ffmpeg("write MP4 header"))?;
    let output_time_bases: Vec<Rational> = octx.streams().map(|s| s.time_base()).collect();

    let mut progress = Progress {
        position_seconds: 0.0,
        duration_seconds: duration,
        frames: 0,
    };
    for (stream, packet) in ictx.packets() {
        if should_stop() {
            return Err(TranscodeError::Cancelled);
        }
        let index = stream.index();
        if let Some(video) = video.as_mut().filter(|v| v.input_index == index) {
            // Damaged packets are skipped; the output check catches real losses.
            let _ = video.decoder.send_packet(&packet);
            video.drain_decoder(&mut octx, &output_time_bases, &mut progress, on_progress)?;
            if video.overshot {
                return Err(TranscodeError::SeekOvershot);
            }
            // Frames come out in presentation order: one at or past the segment's end means
            // every later one is too.
            if video.past_end {
                break;
            }
        } else if let Some(lane) = audio.iter_mut().find(|l| l.input_index == index) {
            let _ = lane.decoder.send_packet(&packet);
            lane.drain_decoder(&mut octx, &output_time_bases)?;
        }
    }
    if let Some(video) = video.as_mut() {
        if !video.past_end {
            let _ = video.decoder.send_eof();
            video.drain_decoder(&mut octx, &output_time_bases, &mut progress, on_progress)?;
        }
        // Nothing decoded after a seek: it landed past the last keyframe it could use.
        if video.overshot || (video.after_seek && !video.decoded_any) {
            return Err(TranscodeError::SeekOvershot);
        }
        video.chain.finish(&mut octx, &output_time_bases)?;
    }
    for lane in &mut audio {
        let _ = lane.decoder.send_eof();
        lane.drain_decoder(&mut octx, &output_time_bases)?;
        lane.chain.finish(&mut octx, &output_time_bases)?;
    }
    octx.write_trailer()
        .map_err(TranscodeError::ffmpeg("write MP4 index"))?;
    let (size, video_frames) = video
        .as_ref()
        .map_or(((0, 0), 0), |v| (v.size, v.chain.frames));
    if video.is_some() && video_frames == 0 {
        return Err(TranscodeError::Verify(format!(
            "{path_text}: no video frame could be decoded"
        )));
    }
    on_progress(Progress {
        position_seconds: duration.unwrap_or(progress.position_seconds),
        ..progress
    });
    Ok(TranscodeReport {
        width: size.0,
        height: size.1,
        video_frames,
        decoded_frames: progress.frames,
        fps_changed: preset.fps.is_some(),
        audio_tracks: audio.len(),
        input_duration: duration,
    })
}
