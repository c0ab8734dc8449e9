//! `MediaInfo`: what `framekit probe` reports and the GUI's info panel shows — container,
//! codec, size, frame rates, the exact frame count from the index, pixel format and bit depth,
//! colour tags as tagged and as used, rotation, audio streams.
//!
//! The JSON form (`serde`) is the stable `probe --json` schema documented in the README.

use std::path::Path;

use ffmpeg_next as ffmpeg;
use serde::Serialize;

use super::color::{self, ColorDecision, ColorTags, Orientation};
use super::index::FrameIndex;

/// What kind of media a file holds (`"video"`, `"image"` or `"animation"` in JSON).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Video,
    Image,
    Animation,
}

impl MediaKind {
    pub fn name(self) -> &'static str {
        match self {
            MediaKind::Video => "video",
            MediaKind::Image => "image",
            MediaKind::Animation => "animation",
        }
    }
}

impl std::fmt::Display for MediaKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything framekit knows about a file.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MediaInfo {
    pub path: String,
    pub kind: MediaKind,
    /// The frames came from pasted text or a clipboard bitmap, not from a file.
    #[serde(skip)]
    pub pasted: bool,
    /// Container (FFmpeg demuxer name) or image format.
    pub container: String,
    pub duration_seconds: Option<f64>,
    pub frame_count: usize,
    /// The index pass stopped on a read error before the end of the file (a cut or damaged
    /// file): `frame_count` counts the packets read up to there.
    pub damaged_tail: bool,
    pub video: Option<VideoInfo>,
    pub audio: Vec<AudioInfo>,
}

/// The video stream (or image) that frames come from.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VideoInfo {
    pub codec: String,
    /// Stored size, before rotation.
    pub width: u32,
    pub height: u32,
    /// Size of the frames framekit outputs (after rotation).
    pub display_width: u32,
    pub display_height: u32,
    /// Sample (pixel) aspect ratio, "1:1" when square or unknown.
    pub sample_aspect_ratio: String,
    /// Average frame rate (frames / duration) as a fraction and as a number.
    pub avg_frame_rate: String,
    pub avg_fps: Option<f64>,
    /// Nominal ("r_frame_rate") rate.
    pub nominal_frame_rate: String,
    pub frame_count: usize,
    pub keyframe_count: usize,
    /// Where the frame count and keyframes came from: `container` (the file's own sample
    /// table, nothing scanned), `scan` (a demux pass over the stream) or `cache`.
    pub frame_index: &'static str,
    pub pixel_format: String,
    pub bit_depth: u8,
    pub has_alpha: bool,
    pub color: ColorInfo,
    pub rotation: Orientation,
    /// Which decoder runs: `hardware (vaapi)`, or `software (why not hardware)`.
    pub decoder: String,
}

/// Colour as the stream is tagged and as framekit converts it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ColorInfo {
    pub tagged: ColorTags,
    pub used: ColorDecision,
    /// How HDR frames are tone-mapped (`null`: SDR, or HDR shown as tagged with `--hdr none`).
    pub tone_map: Option<super::tonemap::ToneMapInfo>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AudioInfo {
    pub index: usize,
    pub codec: String,
    pub sample_rate: u32,
    pub channels: u16,
}

fn fraction(r: ffmpeg::Rational) -> String {
    format!("{}/{}", r.numerator(), r.denominator())
}

fn rate_value(r: ffmpeg::Rational) -> Option<f64> {
    (r.numerator() > 0 && r.denominator() > 0).then(|| f64::from(r))
}

/// Display orientation from the stream's display-matrix side data.
pub fn stream_orientation(stream: &ffmpeg::format::stream::Stream) -> Orientation {
    stream
        .side_data()
        .find(|sd| sd.kind() == ffmpeg::codec::packet::side_data::Type::DisplayMatrix)
        .map(|sd| Orientation::from_display_matrix(sd.data()))
        .unwrap_or_default()
}

/// Builds the info for a video file from its open input, decoder and index.
pub fn video_info(
    path: &Path,
    input: &ffmpeg::format::context::Input,
    stream_index: usize,
    decoder: &ffmpeg::decoder::Video,
    index: &FrameIndex,
    orientation: Orientation,
) -> MediaInfo {
    let stream = input.stream(stream_index);
    let (avg, nominal) = stream.as_ref().map_or(
        (ffmpeg::Rational::new(0, 1), ffmpeg::Rational::new(0, 1)),
        |s| (s.avg_frame_rate(), s.rate()),
    );
    let format = decoder.format();
    let (bit_depth, has_alpha) = color::pixel_format_depth(format);
    let (width, height) = (decoder.width(), decoder.height());
    let (display_width, display_height) = orientation.display_size(width, height);
    let sar = decoder.aspect_ratio();
    let sample_aspect_ratio = if sar.numerator() > 0 && sar.denominator() > 0 {
        format!("{}:{}", sar.numerator(), sar.denominator())
    } else {
        "1:1".to_string()
    };
    let tagged = ColorTags {
        matrix: color::matrix_tag_name(decoder.color_space()),
        range: decoder
            .color_range()
            .name()
            .unwrap_or("unknown")
            .to_string(),
        primaries: decoder
            .color_primaries()
            .name()
            .unwrap_or("unknown")
            .to_string(),
        transfer: decoder
            .color_transfer_characteristic()
            .name()
            .unwrap_or("unknown")
            .to_string(),
        hdr: color::Hdr::from_transfer(decoder.color_transfer_characteristic()),
    };
    let space = color::assumed_space(
        decoder.color_space(),
        decoder.color_transfer_characteristic(),
    );
    let used = color::decide(format, space, decoder.color_range(), height);
    let duration = input.duration();
    let duration_seconds =
        (duration > 0).then(|| duration as f64 / f64::from(ffmpeg::ffi::AV_TIME_BASE));
    let audio = input
        .streams()
        .filter(|s| s.parameters().medium() == ffmpeg::media::Type::Audio)
        .map(|s| {
            let params = s.parameters();
            // SAFETY: codecpar of a stream of an open input is valid for the stream's lifetime.
            let (sample_rate, channels) = unsafe {
                let raw = &*params.as_ptr();
                (
                    raw.sample_rate.max(0) as u32,
                    raw.ch_layout.nb_channels.max(0) as u16,
                )
            };
            AudioInfo {
                index: s.index(),
                codec: params.id().name().to_string(),
                sample_rate,
                channels,
            }
        })
        .collect();
    MediaInfo {
        path: path.display().to_string(),
        kind: MediaKind::Video,
        pasted: false,
        damaged_tail: index.truncated,
        container: input.format().name().to_string(),
        duration_seconds,
        frame_count: index.len(),
        video: Some(VideoInfo {
            codec: decoder.id().name().to_string(),
            width,
            height,
            display_width,
            display_height,
            sample_aspect_ratio,
            avg_frame_rate: fraction(avg),
            avg_fps: rate_value(avg),
            nominal_frame_rate: fraction(nominal),
            frame_count: index.len(),
            keyframe_count: index.keyframe_count(),
            frame_index: index.origin().label(),
            pixel_format: color::pixel_format_name(format),
            bit_depth,
            has_alpha,
            color: ColorInfo {
                tagged,
                used,
                tone_map: None,
            },
            rotation: orientation,
            decoder: "software".to_string(),
        }),
        audio,
    }
}

impl MediaInfo {
    /// Human-readable multi-line summary for `framekit probe`.
    pub fn to_text(&self) -> String {
        self.to_rows()
            .iter()
            .map(|(k, v)| format!("{k:<18}{v}\n"))
            .collect()
    }

    /// `video`, `image`, `animation`, or `pasted image(s)` for frames that came from a paste.
    pub fn kind_label(&self) -> String {
        match (self.pasted, self.frame_count) {
            (false, _) => self.kind.to_string(),
            (true, 1) => "pasted image".to_string(),
            (true, _) => "pasted images".to_string(),
        }
    }

    /// The summary as (label, value) rows, for the text form and the app's info panel.
    pub fn to_rows(&self) -> Vec<(String, String)> {
        let video_file = self.kind == MediaKind::Video;
        let mut out = Vec::new();
        let mut line = |k: &str, v: String| out.push((k.to_string(), v));
        line("file", self.path.clone());
        line("kind", self.kind_label());
        line("container", self.container.clone());
        match self.duration_seconds {
            Some(d) => line("duration", format!("{d:.3} s")),
            None if video_file => line("duration", "unknown".to_string()),
            None => {}
        }
        if self.damaged_tail {
            line(
                "frames",
                format!(
                    "{} (counted from the packets read; the file ends early: cut or damaged)",
                    self.frame_count
                ),
            );
        } else {
            line("frames", self.frame_count.to_string());
        }
        if let Some(v) = &self.video {
            line("codec", v.codec.clone());
            let rotated = if (v.display_width, v.display_height) != (v.width, v.height) {
                format!(" (shown as {}x{})", v.display_width, v.display_height)
            } else {
                String::new()
            };
            line("size", format!("{}x{}{rotated}", v.width, v.height));
            if video_file {
                line("sample aspect", v.sample_aspect_ratio.clone());
                let fps = v
                    .avg_fps
                    .map_or("unknown".to_string(), |f| format!("{f:.3} fps"));
                line(
                    "frame rate",
                    format!(
                        "{fps} avg ({}), {} nominal",
                        v.avg_frame_rate, v.nominal_frame_rate
                    ),
                );
                line("keyframes", v.keyframe_count.to_string());
                line(
                    "frame index",
                    match v.frame_index {
                        "container" => "from the container's sample table (nothing scanned)",
                        "cache" => "from the index cache",
                        "partial" => "partial (read as far as asked)",
                        _ => "from a scan of every packet",
                    }
                    .to_string(),
                );
            }
            let alpha = if v.has_alpha { ", alpha" } else { "" };
            line(
                "pixel format",
                format!("{} ({}-bit{alpha})", v.pixel_format, v.bit_depth),
            );
            if video_file {
                let t = &v.color.tagged;
                let tagged = format!(
                    "matrix {}, range {}, primaries {}, transfer {}",
                    t.matrix, t.range, t.primaries, t.transfer
                );
                line("colour tagged", tagged);
                if let Some(hdr) = t.hdr {
                    let how = match &v.color.tone_map {
                        Some(tone_map) => tone_map.label(),
                        None => "shown without tone mapping (--hdr none)".to_string(),
                    };
                    line("HDR", format!("{}, {how}", hdr.label()));
                }
                let used = v.color.used;
                line(
                    "colour used",
                    format!(
                        "matrix {}, range {}",
                        used.matrix.label(),
                        used.range.label()
                    ),
                );
                let r = v.rotation;
                let flips = match (r.hflip, r.vflip) {
                    (true, true) => " + hflip + vflip",
                    (true, false) => " + hflip",
                    (false, true) => " + vflip",
                    (false, false) => "",
                };
                line("rotation", format!("{} deg clockwise{flips}", r.rotate_cw));
                line("decoder", v.decoder.clone());
            }
        }
        if video_file && self.audio.is_empty() {
            line("audio", "none".to_string());
        }
        for a in &self.audio {
            line(
                &format!("audio #{}", a.index),
                format!("{}, {} Hz, {} ch", a.codec, a.sample_rate, a.channels),
            );
        }
        out
    }
}
