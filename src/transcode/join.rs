//! The join of a segmented transcode: the segments' H.264 video, in order, and the audio
//! part's AAC tracks are copied (no re-encode) into one MP4, in process, interleaved by decode
//! time; each segment's timestamps are moved back to where it starts in the input. Every
//! segment must carry the same H.264 parameter sets (SPS/PPS) as the first, so the joined
//! stream decodes as one; each segment starts with a new encode, so with an IDR frame and a
//! closed GOP. The joined file is then checked against the input as a whole: frame count,
//! duration ([`super::verify_against`]) and A/V sync ([`check_sync_against`]), with what
//! one open of the input said of it ([`super::SourceFacts`]).

use std::path::{Path, PathBuf};

use ffmpeg::{Dictionary, Packet, Rational, Rescale, codec, format, media};
use ffmpeg_next as ffmpeg;

use super::TranscodeError;
use crate::media::init_ffmpeg;

/// One segment to join: its file (or object) and its start in the input video stream's
/// time base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinSegment {
    pub path: PathBuf,
    pub start: i64,
}

/// How far the joined file's audio may drift from its video against the input's, in seconds:
/// under one frame at 24 fps and above, with room for AAC's 1024-sample frames.
pub const SYNC_TOLERANCE: f64 = 0.04;

/// What a join wrote.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JoinReport {
    /// Video frames (packets) copied.
    pub video_frames: u64,
    /// Audio packets copied.
    pub audio_packets: u64,
}

fn open(path: &Path) -> Result<format::context::Input, TranscodeError> {
    crate::media::open_input(path).map_err(|e| TranscodeError::Open {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// The stream's codec extradata (for H.264 in MP4: the avcC box with SPS and PPS).
fn extradata(stream: &format::stream::Stream) -> Vec<u8> {
    // SAFETY: the parameters belong to a stream of an open context; extradata is
    // `extradata_size` bytes when not null.
    unsafe {
        let par = stream.parameters().as_ptr();
        let data = (*par).extradata;
        let size = (*par).extradata_size.max(0) as usize;
        if data.is_null() {
            Vec::new()
        } else {
            std::slice::from_raw_parts(data, size).to_vec()
        }
    }
}

fn video_stream_of(
    ctx: &format::context::Input,
    path: &Path,
) -> Result<(usize, Rational), TranscodeError> {
    ctx.streams()
        .best(media::Type::Video)
        .map(|s| (s.index(), s.time_base()))
        .ok_or_else(|| TranscodeError::NoVideo {
            path: path.display().to_string(),
        })
}

/// Joins `segments` (in order) and the audio part `audio` into `output` by stream copy.
/// `source_base` is the original file's video time base (the segments' starts are in it).
/// Polls `should_stop` per packet.
pub fn join(
    source_base: Rational,
    segments: &[JoinSegment],
    audio: Option<&Path>,
    output: &Path,
    should_stop: &dyn Fn() -> bool,
) -> Result<JoinReport, TranscodeError> {
    init_ffmpeg();
    let Some(first) = segments.first() else {
        return Err(TranscodeError::Mismatch("no segments to join".into()));
    };
    // Every segment must decode with the first one's parameter sets.
    let first_ctx = open(&first.path)?;
    let (first_index, _) = video_stream_of(&first_ctx, &first.path)?;
    let reference = first_ctx
        .stream(first_index)
        .map(|s| extradata(&s))
        .unwrap_or_default();
    for (n, segment) in segments.iter().enumerate().skip(1) {
        let ctx = open(&segment.path)?;
        let (index, _) = video_stream_of(&ctx, &segment.path)?;
        let data = ctx.stream(index).map(|s| extradata(&s)).unwrap_or_default();
        if data != reference {
            return Err(TranscodeError::Mismatch(format!(
                "segment {} has other H.264 parameter sets (SPS/PPS) than segment 1; its stream cannot be joined by copy",
                n + 1
            )));
        }
    }

    let mut octx = crate::media::open_output(output, "mp4")
        .map_err(TranscodeError::ffmpeg("create output"))?;
    let video_in = first_ctx
        .stream(first_index)
        .ok_or_else(|| TranscodeError::Mismatch("the first segment lost its stream".into()))?;
    let segment_base = video_in.time_base();
    {
        let mut ost = octx
            .add_stream(ffmpeg::encoder::find(codec::Id::None))
            .map_err(TranscodeError::ffmpeg("add video stream"))?;
        ost.set_parameters(video_in.parameters());
        // SAFETY: the stream was just added and its header is not written yet.
        unsafe { (*ost.parameters().as_mut_ptr()).codec_tag = 0 };
        ost.set_time_base(segment_base);
        super::lanes::copy_display_matrix(&video_in, &mut ost);
    }
    drop(first_ctx);
    let mut audio_ctx = audio.map(open).transpose()?;
    // Audio stream in the part -> output stream.
    let mut audio_map: Vec<(usize, usize, Rational)> = Vec::new();
    if let Some(ctx) = &audio_ctx {
        for stream in ctx
            .streams()
            .filter(|s| s.parameters().medium() == media::Type::Audio)
        {
            let out_index = octx.nb_streams() as usize;
            let mut ost = octx
                .add_stream(ffmpeg::encoder::find(codec::Id::None))
                .map_err(TranscodeError::ffmpeg("add audio stream"))?;
            ost.set_parameters(stream.parameters());
            // SAFETY: as above.
            unsafe { (*ost.parameters().as_mut_ptr()).codec_tag = 0 };
            ost.set_time_base(stream.time_base());
            audio_map.push((stream.index(), out_index, stream.time_base()));
        }
    }
    let mut mux_options = Dictionary::new();
    mux_options.set("movflags", "+faststart");
    octx.write_header_with(mux_options)
        .map_err(TranscodeError::ffmpeg("write MP4 header"))?;
    let out_bases: Vec<Rational> = octx.streams().map(|s| s.time_base()).collect();

    let mut video = VideoParts {
        segments,
        next: 0,
        current: None,
        source_base,
        out_base: out_bases[0],
        frame_ticks: 0,
    };
    let mut report = JoinReport {
        video_frames: 0,
        audio_packets: 0,
    };
    let mut pending_video = video.next_packet()?;
    let mut pending_audio = match audio_ctx.as_mut() {
        Some(ctx) => next_audio(ctx, &audio_map, &out_bases),
        None => None,
    };
    let seconds = |packet: &Packet, base: Rational| {
        packet.dts().or(packet.pts()).unwrap_or(0) as f64 * f64::from(base)
    };
    loop {
        if should_stop() {
            return Err(TranscodeError::Cancelled);
        }
        let take_video = match (&pending_video, &pending_audio) {
            (Some(v), Some(a)) => seconds(v, out_bases[0]) <= seconds(a, out_bases[a.stream()]),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        if take_video {
            if let Some(packet) = pending_video.take() {
                packet
                    .write_interleaved(&mut octx)
                    .map_err(TranscodeError::ffmpeg("write MP4"))?;
                report.video_frames += 1;
            }
            pending_video = video.next_packet()?;
        } else {
            if let Some(packet) = pending_audio.take() {
                packet
                    .write_interleaved(&mut octx)
                    .map_err(TranscodeError::ffmpeg("write MP4"))?;
                report.audio_packets += 1;
            }
            pending_audio = match audio_ctx.as_mut() {
                Some(ctx) => next_audio(ctx, &audio_map, &out_bases),
                None => None,
            };
        }
    }
    octx.write_trailer()
        .map_err(TranscodeError::ffmpeg("write MP4 index"))?;
    Ok(report)
}

/// The next audio packet of the part, moved to its output stream and time base.
fn next_audio(
    ctx: &mut format::context::Input,
    map: &[(usize, usize, Rational)],
    out_bases: &[Rational],
) -> Option<Packet> {
    let mut packet = Packet::empty();
    loop {
        match packet.read(ctx) {
            Ok(()) => {
                if let Some(&(_, out, base)) = map.iter().find(|m| m.0 == packet.stream()) {
                    packet.set_stream(out);
                    packet.rescale_ts(base, out_bases[out]);
                    packet.set_position(-1);
                    return Some(packet);
                }
            }
            Err(ffmpeg::Error::Eof) => return None,
            // A damaged packet is skipped; the checks after the join catch real losses.
            Err(_) => continue,
        }
    }
}

/// The segments' video packets in order, each moved to where its segment starts.
struct VideoParts<'a> {
    segments: &'a [JoinSegment],
    next: usize,
    /// The open segment: its context, video stream index, time base and start offset in the
    /// output time base.
    current: Option<(format::context::Input, usize, Rational, i64)>,
    source_base: Rational,
    out_base: Rational,
    /// One frame in the output time base (the open segment's frame rate).
    frame_ticks: i64,
}

impl VideoParts<'_> {
    fn next_packet(&mut self) -> Result<Option<Packet>, TranscodeError> {
        loop {
            if self.current.is_none() {
                let Some(segment) = self.segments.get(self.next) else {
                    return Ok(None);
                };
                self.next += 1;
                let ctx = open(&segment.path)?;
                let (index, base) = video_stream_of(&ctx, &segment.path)?;
                let offset = segment.start.rescale(self.source_base, self.out_base);
                self.frame_ticks = ctx
                    .stream(index)
                    .map(|s| s.avg_frame_rate())
                    .filter(|r| r.numerator() > 0)
                    .map_or(0, |r| 1i64.rescale(r.invert(), self.out_base));
                self.current = Some((ctx, index, base, offset));
            }
            let Some((ctx, index, base, offset)) = self.current.as_mut() else {
                continue;
            };
            let mut packet = Packet::empty();
            match packet.read(ctx) {
                Ok(()) if packet.stream() == *index => {
                    packet.set_stream(0);
                    packet.rescale_ts(*base, self.out_base);
                    packet.set_pts(packet.pts().map(|p| p + *offset));
                    packet.set_dts(packet.dts().map(|d| d + *offset));
                    // The MP4 index needs every sample's duration, the last one's too.
                    if packet.duration() <= 0 {
                        packet.set_duration(self.frame_ticks);
                    }
                    packet.set_position(-1);
                    return Ok(Some(packet));
                }
                Ok(()) => {}
                Err(ffmpeg::Error::Eof) => self.current = None,
                Err(e) => {
                    return Err(TranscodeError::Ffmpeg {
                        stage: "read a segment",
                        reason: e.to_string(),
                    });
                }
            }
        }
    }
}

/// Seconds from a stream's start and its end, `(start, end)`, when the container says.
fn stream_span(stream: &format::stream::Stream) -> Option<(f64, f64)> {
    let base = f64::from(stream.time_base());
    let start = stream.start_time();
    let duration = stream.duration();
    (start != ffmpeg::ffi::AV_NOPTS_VALUE && duration > 0)
        .then(|| (start as f64 * base, (start + duration) as f64 * base))
}

/// The video stream's span and the first audio stream's, in seconds, and that stream's sample
/// rate, when the file has both.
pub type Spans = ((f64, f64), (f64, f64), u32);

fn spans(path: &Path) -> Result<Option<Spans>, TranscodeError> {
    let ctx = crate::media::open_input(path)
        .map_err(|e| TranscodeError::Verify(format!("{}: {e}", path.display())))?;
    Ok(spans_of(&ctx))
}

/// [`Spans`] of an open file.
pub(super) fn spans_of(ctx: &format::context::Input) -> Option<Spans> {
    let audio = ctx
        .streams()
        .find(|s| s.parameters().medium() == media::Type::Audio);
    let video = ctx
        .streams()
        .best(media::Type::Video)
        .and_then(|s| stream_span(&s));
    let rate = audio
        .as_ref()
        .and_then(|s| codec::context::Context::from_parameters(s.parameters()).ok())
        .and_then(|c| c.decoder().audio().ok())
        .map_or(0, |a| a.rate());
    match (video, audio.and_then(|s| stream_span(&s))) {
        (Some(v), Some(a)) => Some((v, a, rate)),
        _ => None,
    }
}

/// The A/V sync check: the joined file's video starts as far from its audio as the input's
/// does, and lasts as long as the input's video (a segment placed off its time would show in
/// either), within `tolerance` seconds, or one and a half AAC frames (1024 samples) of its
/// audio where that is more (low sample rates: the encoder ends on whole frames). The audio's
/// own end is not compared: the audio part is the whole encode's audio, whose length the
/// encoder rounds to whole frames and whose gaps the resampler fills. `want` is the input's
/// spans ([`super::SourceFacts::spans`]). Returns the larger of the two differences.
pub fn check_sync_against(
    want: Option<Spans>,
    joined: &Path,
    tolerance: f64,
) -> Result<f64, TranscodeError> {
    let (Some(want), Some(got)) = (want, spans(joined)?) else {
        return Ok(0.0);
    };
    let tolerance = if got.2 > 0 {
        tolerance.max(1.5 * 1024.0 / f64::from(got.2))
    } else {
        tolerance
    };
    let start_offset = |s: &Spans| s.0.0 - s.1.0;
    let video_length = |s: &Spans| s.0.1 - s.0.0;
    let drift = (start_offset(&want) - start_offset(&got))
        .abs()
        .max((video_length(&want) - video_length(&got)).abs());
    if drift > tolerance {
        return Err(TranscodeError::Mismatch(format!(
            "audio and video are {drift:.3} s out of sync against the input (video starts {:+.3} s after the audio and lasts {:.3} s; input {:+.3} s, {:.3} s; allowed {tolerance:.3} s)",
            start_offset(&got),
            video_length(&got),
            start_offset(&want),
            video_length(&want)
        )));
    }
    Ok(drift)
}
