//! The encode pipeline's lanes: a video lane (decoder, scale/format/frame-rate filter graph,
//! libx264) and an audio lane per track (decoder, `aresample`/`aformat`, FFmpeg's AAC), each
//! an [`EncodeChain`] whose packets go to one output stream; colour tags and the display
//! matrix carried over. [`super::pipeline`] drives them packet by packet.

use ffmpeg::{
    ChannelLayout, Dictionary, Packet, Rational, codec, filter, format, frame, util::color,
};
use ffmpeg_next as ffmpeg;

use super::pipeline::Progress;
use super::{Preset, RateControl, TranscodeError};
use crate::media::color::{Matrix, decide};
use crate::media::probe;

/// A filter graph feeding an encoder whose packets go to one output stream.
pub(super) struct EncodeChain {
    pub(super) graph: filter::Graph,
    /// The opened encoder (video or audio; both are a plain encoder underneath).
    pub(super) encoder: ffmpeg::encoder::Encoder,
    pub(super) output_index: usize,
    pub(super) time_base: Rational,
    /// One frame's duration in `time_base`, given to packets that come without one (x264's),
    /// so the MP4 edit list covers the last frame too; 0 for audio.
    pub(super) frame_ticks: i64,
    /// Where filtered frames land before encoding.
    pub(super) buffer: FilteredFrame,
    pub(super) frames: u64,
}

/// A reusable frame for the filter graph's output, of the chain's media type.
pub(super) enum FilteredFrame {
    Video(frame::Video),
    Audio(frame::Audio),
}

pub(super) struct VideoLane {
    pub(super) input_index: usize,
    pub(super) decoder: ffmpeg::decoder::Video,
    pub(super) chain: EncodeChain,
    pub(super) input_time_base: Rational,
    pub(super) size: (u32, u32),
    /// Only frames with pts in `[start, end)`, moved back by `start` ([`Scope::VideoRange`]).
    pub(super) range: Option<(i64, Option<i64>)>,
    /// A frame at or past the range's end came out of the decoder.
    pub(super) past_end: bool,
    /// The first frame out of the decoder came after the range's start: the seek went past
    /// the keyframe at the start.
    pub(super) overshot: bool,
    pub(super) decoded_any: bool,
    /// The input was sought to the range (else decoded from its beginning: no overshoot).
    pub(super) after_seek: bool,
    /// The input's start time in this stream's time base, taken off every timestamp of a
    /// whole encode (an MPEG-TS clock starts anywhere: the output starts at 0).
    pub(super) origin: i64,
}

pub(super) struct AudioLane {
    pub(super) input_index: usize,
    pub(super) decoder: ffmpeg::decoder::Audio,
    pub(super) chain: EncodeChain,
    /// As [`VideoLane::origin`], in the audio stream's time base (taken off always).
    pub(super) origin: i64,
}

const AAC_RATES: [u32; 13] = [
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

pub(super) fn matrix_space(matrix: Matrix) -> color::Space {
    match matrix {
        Matrix::Bt709 => color::Space::BT709,
        Matrix::Bt2020 => color::Space::BT2020NCL,
        Matrix::Smpte240m => color::Space::SMPTE240M,
        Matrix::Fcc => color::Space::FCC,
        Matrix::Bt601 | Matrix::Rgb => color::Space::SMPTE170M,
    }
}

pub(super) fn matrix_filter_name(matrix: Matrix) -> &'static str {
    match matrix {
        Matrix::Bt709 => "bt709",
        Matrix::Bt2020 => "bt2020",
        Matrix::Smpte240m => "smpte240m",
        Matrix::Fcc => "fcc",
        Matrix::Bt601 | Matrix::Rgb => "bt601",
    }
}

/// A filter graph `source -> spec -> sink` ("buffer"/"buffersink" for video, "abuffer"/
/// "abuffersink" for audio), with `args` describing the frames that go in.
pub(super) fn filter_graph(
    (source, sink): (&str, &str),
    args: &str,
    spec: &str,
    stage: &'static str,
) -> Result<filter::Graph, TranscodeError> {
    let pad = |filter, label, args: &str| crate::media::graph::Pad {
        filter,
        label,
        args: args.to_string(),
    };
    crate::media::graph::build(&[pad(source, "in", args)], &[pad(sink, "out", "")], spec).map_err(
        |e| TranscodeError::Ffmpeg {
            stage,
            reason: e.to_string(),
        },
    )
}

/// The largest width or height libx264 encodes (it refuses more with a bare "invalid width
/// x height", which FFmpeg reports as "Generic error in an external library").
const X264_MAX_SIDE: u32 = 16384;

pub(super) fn video_lane(
    stream: &format::stream::Stream,
    octx: &mut format::context::Output,
    preset: &Preset,
    path_text: &str,
) -> Result<VideoLane, TranscodeError> {
    let mut context = codec::context::Context::from_parameters(stream.parameters())
        .map_err(TranscodeError::ffmpeg("video decoder"))?;
    context.set_threading(codec::threading::Config {
        kind: codec::threading::Type::Frame,
        count: 0,
        ..Default::default()
    });
    let decoder = context
        .decoder()
        .video()
        .map_err(TranscodeError::ffmpeg("video decoder"))?;
    let orientation = probe::stream_orientation(stream);
    let sar = decoder.aspect_ratio();
    let (width, height) = (decoder.width(), decoder.height());
    let quarter_turn = orientation.rotate_cw % 180 == 90;
    let (out_w, out_h) = if quarter_turn {
        let (h, w) = preset.output_size(height, width, (sar.denominator(), sar.numerator()));
        (w, h)
    } else {
        preset.output_size(width, height, (sar.numerator(), sar.denominator()))
    };
    if out_w > X264_MAX_SIDE || out_h > X264_MAX_SIDE {
        return Err(TranscodeError::OutputTooLarge {
            path: path_text.to_string(),
            width: out_w,
            height: out_h,
            max: X264_MAX_SIDE,
        });
    }
    let used = decide(
        decoder.format(),
        decoder.color_space(),
        decoder.color_range(),
        height,
    );
    let input_time_base = stream.time_base();
    let frame_rate = Some(stream.avg_frame_rate())
        .filter(|r| r.numerator() > 0)
        .unwrap_or(stream.rate());

    // Filter graph: buffer -> scale/format(/fps) -> buffersink.
    let pixel_aspect = if sar.numerator() > 0 {
        sar
    } else {
        Rational::new(1, 1)
    };
    let args = format!(
        "video_size={width}x{height}:pix_fmt={}:time_base={}/{}:pixel_aspect={}/{}",
        ffmpeg::ffi::AVPixelFormat::from(decoder.format()) as i32,
        input_time_base.numerator(),
        input_time_base.denominator(),
        pixel_aspect.numerator(),
        pixel_aspect.denominator()
    );
    let matrix = matrix_filter_name(used.matrix);
    let in_range = if used.range == crate::media::color::Range::Full {
        "pc"
    } else {
        "tv"
    };
    let mut spec = format!(
        "scale=w={out_w}:h={out_h}:flags=bicubic+accurate_rnd+full_chroma_int:in_color_matrix={matrix}:out_color_matrix={matrix}:in_range={in_range}:out_range=tv,format=yuv420p,setsar=1"
    );
    if let Some((num, den)) = preset.fps {
        spec.push_str(&format!(",fps={num}/{den}"));
    }
    let mut graph = filter_graph(("buffer", "buffersink"), &args, &spec, "video filter")?;
    let sink_time_base = graph
        .get("out")
        .map(|mut c| c.sink().time_base())
        .unwrap_or(input_time_base);

    let codec = ffmpeg::encoder::find_by_name("libx264").ok_or(TranscodeError::Ffmpeg {
        stage: "video encoder",
        reason: "this FFmpeg has no libx264".into(),
    })?;
    let output_index = octx.nb_streams() as usize;
    let global_header = octx.format().flags().contains(format::Flags::GLOBAL_HEADER);
    let mut ost = octx
        .add_stream(codec)
        .map_err(TranscodeError::ffmpeg("add video stream"))?;
    let mut encoder = codec::context::Context::new_with_codec(codec)
        .encoder()
        .video()
        .map_err(TranscodeError::ffmpeg("video encoder"))?;
    encoder.set_width(out_w);
    encoder.set_height(out_h);
    encoder.set_format(format::Pixel::YUV420P);
    encoder.set_aspect_ratio(Rational::new(1, 1));
    encoder.set_time_base(sink_time_base);
    let out_rate = preset.fps.map_or(frame_rate, |(n, d)| Rational::new(n, d));
    let frame_ticks = if out_rate.numerator() > 0 && sink_time_base.numerator() > 0 {
        let ticks = f64::from(out_rate.invert()) / f64::from(sink_time_base);
        ticks.round() as i64
    } else {
        0
    };
    if out_rate.numerator() > 0 {
        encoder.set_frame_rate(Some(out_rate));
    }
    encoder.set_colorspace(matrix_space(used.matrix));
    encoder.set_color_range(color::Range::MPEG);
    encoder.set_color_primaries(decoder.color_primaries());
    encoder.set_color_transfer_characteristic(decoder.color_transfer_characteristic());
    if global_header {
        encoder.set_flags(codec::Flags::GLOBAL_HEADER);
    }
    let mut options = Dictionary::new();
    options.set("preset", preset.x264_preset);
    match preset.rate {
        RateControl::Crf(crf) => options.set("crf", &crf.to_string()),
        RateControl::Bitrate(bits) => encoder.set_bit_rate(bits as usize),
    }
    let encoder = encoder
        .open_as_with(codec, options)
        .map_err(|e| TranscodeError::Ffmpeg {
            stage: "open libx264",
            reason: format!(
                "libx264 refused to encode {out_w}x{out_h} at {} fps with preset {} ({e})",
                f64::from(out_rate),
                preset.name
            ),
        })?;
    ost.set_parameters(&encoder);
    ost.set_time_base(sink_time_base);
    if !orientation.is_identity() {
        copy_display_matrix(stream, &mut ost);
    }
    let chain = EncodeChain {
        graph,
        encoder: encoder.0.0,
        output_index,
        time_base: sink_time_base,
        frame_ticks,
        buffer: FilteredFrame::Video(frame::Video::empty()),
        frames: 0,
    };
    Ok(VideoLane {
        input_index: stream.index(),
        decoder,
        chain,
        input_time_base,
        size: (out_w, out_h),
        range: None,
        past_end: false,
        overshot: false,
        decoded_any: false,
        after_seek: false,
        origin: 0,
    })
}

/// Copies the input's display matrix to the output stream, so players rotate it the same way.
pub(super) fn copy_display_matrix(
    input: &format::stream::Stream,
    output: &mut format::stream::StreamMut,
) {
    let Some(matrix) = input
        .side_data()
        .find(|sd| sd.kind() == codec::packet::side_data::Type::DisplayMatrix)
    else {
        return;
    };
    let bytes = matrix.data();
    // SAFETY: the output stream belongs to an output context that has not written its header;
    // av_stream_new_side_data allocates `bytes.len()` bytes owned by the stream, and we copy
    // exactly that many.
    unsafe {
        let target = ffmpeg::ffi::av_stream_new_side_data(
            output.as_mut_ptr(),
            ffmpeg::ffi::AVPacketSideDataType::AV_PKT_DATA_DISPLAYMATRIX,
            bytes.len(),
        );
        if !target.is_null() {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), target, bytes.len());
        }
    }
}

pub(super) fn audio_lane(
    stream: &format::stream::Stream,
    octx: &mut format::context::Output,
    preset: &Preset,
) -> Result<AudioLane, TranscodeError> {
    let output_index = octx.nb_streams() as usize;
    let context = codec::context::Context::from_parameters(stream.parameters())
        .map_err(TranscodeError::ffmpeg("audio decoder"))?;
    let decoder = context
        .decoder()
        .audio()
        .map_err(TranscodeError::ffmpeg("audio decoder"))?;
    let in_layout = if decoder.channel_layout().is_empty() {
        ChannelLayout::default(i32::from(decoder.channels().max(1)))
    } else {
        decoder.channel_layout()
    };
    let (out_layout, layout_name) = match in_layout.channels() {
        1 => (ChannelLayout::MONO, "mono"),
        6 => (ChannelLayout::_5POINT1, "5.1"),
        _ => (ChannelLayout::STEREO, "stereo"),
    };
    let out_rate = if AAC_RATES.contains(&decoder.rate()) {
        decoder.rate()
    } else {
        48_000
    };
    let time_base = stream.time_base();

    let args = format!(
        "time_base={}/{}:sample_rate={}:sample_fmt={}:channel_layout=0x{:x}",
        time_base.numerator(),
        time_base.denominator(),
        decoder.rate(),
        decoder.format().name(),
        in_layout.bits()
    );
    let spec = format!(
        "aresample={out_rate}:async=1,aformat=sample_fmts=fltp:sample_rates={out_rate}:channel_layouts={layout_name}"
    );
    let mut graph = filter_graph(("abuffer", "abuffersink"), &args, &spec, "audio filter")?;

    let codec = ffmpeg::encoder::find(codec::Id::AAC).ok_or(TranscodeError::Ffmpeg {
        stage: "audio encoder",
        reason: "no AAC encoder".into(),
    })?;
    let global_header = octx.format().flags().contains(format::Flags::GLOBAL_HEADER);
    let mut ost = octx
        .add_stream(codec)
        .map_err(TranscodeError::ffmpeg("add audio stream"))?;
    let mut encoder = codec::context::Context::new_with_codec(codec)
        .encoder()
        .audio()
        .map_err(TranscodeError::ffmpeg("audio encoder"))?;
    encoder.set_rate(out_rate as i32);
    encoder.set_channel_layout(out_layout);
    encoder.set_format(format::Sample::F32(format::sample::Type::Planar));
    encoder.set_bit_rate(preset.audio_bitrate as usize);
    let encoder_time_base = Rational::new(1, out_rate as i32);
    encoder.set_time_base(encoder_time_base);
    if global_header {
        encoder.set_flags(codec::Flags::GLOBAL_HEADER);
    }
    let encoder = encoder
        .open_as(codec)
        .map_err(TranscodeError::ffmpeg("open AAC encoder"))?;
    ost.set_parameters(&encoder);
    ost.set_time_base(encoder_time_base);
    if let Some(mut out) = graph.get("out") {
        out.sink().set_frame_size(encoder.frame_size());
    }
    let chain = EncodeChain {
        graph,
        encoder: encoder.0.0,
        output_index,
        time_base: encoder_time_base,
        frame_ticks: 0,
        buffer: FilteredFrame::Audio(frame::Audio::empty()),
        frames: 0,
    };
    Ok(AudioLane {
        input_index: stream.index(),
        decoder,
        chain,
        origin: 0,
    })
}

impl EncodeChain {
    /// Feeds one decoded frame through the filter graph into the encoder and the muxer.
    pub(super) fn push(
        &mut self,
        frame: &ffmpeg::Frame,
        octx: &mut format::context::Output,
        output_time_bases: &[Rational],
    ) -> Result<(), TranscodeError> {
        if let Some(mut source) = self.graph.get("in") {
            source
                .source()
                .add(frame)
                .map_err(TranscodeError::ffmpeg("filter"))?;
        }
        self.pull(octx, output_time_bases)
    }

    /// Encodes every frame the filter graph has ready.
    pub(super) fn pull(
        &mut self,
        octx: &mut format::context::Output,
        output_time_bases: &[Rational],
    ) -> Result<(), TranscodeError> {
        while let Some(mut sink) = self.graph.get("out") {
            let filtered: &ffmpeg::Frame = match &mut self.buffer {
                FilteredFrame::Video(video) => {
                    if sink.sink().frame(video).is_err() {
                        break;
                    }
                    // The decoder's picture type would force the source's GOP on x264.
                    video.set_kind(ffmpeg::picture::Type::None);
                    video
                }
                FilteredFrame::Audio(audio) => {
                    if sink.sink().frame(audio).is_err() {
                        break;
                    }
                    audio
                }
            };
            self.encoder
                .send_frame(filtered)
                .map_err(TranscodeError::ffmpeg("encode"))?;
            self.frames += 1;
            self.write_packets(octx, output_time_bases)?;
        }
        Ok(())
    }

    /// Flushes the filter graph and the encoder at the end of the input.
    pub(super) fn finish(
        &mut self,
        octx: &mut format::context::Output,
        output_time_bases: &[Rational],
    ) -> Result<(), TranscodeError> {
        if let Some(mut source) = self.graph.get("in") {
            source
                .source()
                .flush()
                .map_err(TranscodeError::ffmpeg("flush filter"))?;
        }
        self.pull(octx, output_time_bases)?;
        self.encoder
            .send_eof()
            .map_err(TranscodeError::ffmpeg("finish encode"))?;
        self.write_packets(octx, output_time_bases)
    }

    /// Moves every packet the encoder has ready into the muxer.
    pub(super) fn write_packets(
        &mut self,
        octx: &mut format::context::Output,
        output_time_bases: &[Rational],
    ) -> Result<(), TranscodeError> {
        let mut packet = Packet::empty();
        while self.encoder.receive_packet(&mut packet).is_ok() {
            if packet.duration() <= 0 && self.frame_ticks > 0 {
                packet.set_duration(self.frame_ticks);
            }
            packet.set_stream(self.output_index);
            packet.rescale_ts(self.time_base, output_time_bases[self.output_index]);
            packet
                .write_interleaved(octx)
                .map_err(TranscodeError::ffmpeg("write MP4"))?;
        }
        Ok(())
    }
}

impl VideoLane {
    pub(super) fn drain_decoder(
        &mut self,
        octx: &mut format::context::Output,
        output_time_bases: &[Rational],
        progress: &mut Progress,
        on_progress: &mut dyn FnMut(Progress),
    ) -> Result<(), TranscodeError> {
        let mut decoded = frame::Video::empty();
        while self.decoder.receive_frame(&mut decoded).is_ok() {
            let mut pts = decoded.timestamp();
            if let Some((start, end)) = self.range {
                let at = pts.unwrap_or(i64::MIN);
                if !self.decoded_any {
                    self.decoded_any = true;
                    if at > start && self.after_seek {
                        self.overshot = true;
                        return Ok(());
                    }
                }
                if end.is_some_and(|end| at >= end) {
                    self.past_end = true;
                }
                if at < start || self.past_end {
                    continue;
                }
                pts = Some(at - start);
            } else {
                pts = pts.map(|p| p - self.origin);
            }
            decoded.set_pts(pts);
            if let Some(p) = pts {
                progress.position_seconds = p as f64 * f64::from(self.input_time_base);
            }
            progress.frames += 1;
            on_progress(*progress);
            self.chain.push(&decoded, octx, output_time_bases)?;
        }
        Ok(())
    }
}

impl AudioLane {
    pub(super) fn drain_decoder(
        &mut self,
        octx: &mut format::context::Output,
        output_time_bases: &[Rational],
    ) -> Result<(), TranscodeError> {
        let mut decoded = frame::Audio::empty();
        while self.decoder.receive_frame(&mut decoded).is_ok() {
            let pts = decoded.timestamp().map(|p| p - self.origin);
            decoded.set_pts(pts);
            self.chain.push(&decoded, octx, output_time_bases)?;
        }
        Ok(())
    }
}
