//! The scoring graph: A and B frames into libavfilter's `psnr` then `ssim` (B split between
//! them, scaled to A's size when it differs), results read from the frame metadata the
//! filters attach (`lavfi.psnr.psnr.y`, `lavfi.psnr.psnr_avg`, `lavfi.ssim.Y`,
//! `lavfi.ssim.All`), so the numbers are FFmpeg's own.

use ffmpeg::format::Pixel;
use ffmpeg_next as ffmpeg;
use serde::Serialize;

use super::serialize_db;
use crate::frame::{Frame, PixelLayout};
use crate::media::color::pixel_format_name;
use crate::media::graph::{self, Pad};

/// Which planes the filters compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Planes {
    /// Y, U, V (video, and images decoded to YUV).
    Yuv,
    /// R, G, B (images, and a grey side against a colour one): no Y values.
    Rgb,
}

/// One pair's scores; `a` and `b` are 1-based frame ids.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FrameScore {
    pub a: usize,
    pub b: usize,
    #[serde(skip_serializing_if = "is_yuv")]
    pub planes: Planes,
    #[serde(serialize_with = "super::serialize_optional_db")]
    pub psnr_y: Option<f64>,
    #[serde(serialize_with = "serialize_db")]
    pub psnr_avg: f64,
    pub ssim_y: Option<f64>,
    pub ssim_all: f64,
}

fn is_yuv(planes: &Planes) -> bool {
    *planes == Planes::Yuv
}

impl FrameScore {
    /// The PSNR that ranks frames: Y where there is one, else the average.
    pub fn key_psnr(&self) -> f64 {
        self.psnr_y.unwrap_or(self.psnr_avg)
    }
}

/// Scores read from one output frame, before they are tied to their pair.
pub struct Values {
    planes: Planes,
    psnr_y: Option<f64>,
    psnr_avg: f64,
    ssim_y: Option<f64>,
    ssim_all: f64,
}

impl Values {
    pub fn into_score(self, a: usize, b: usize) -> FrameScore {
        FrameScore {
            a,
            b,
            planes: self.planes,
            psnr_y: self.psnr_y,
            psnr_avg: self.psnr_avg,
            ssim_y: self.ssim_y,
            ssim_all: self.ssim_all,
        }
    }

    fn read(frame: &ffmpeg::frame::Video) -> Result<Values, String> {
        let metadata = frame.metadata();
        let number = |key: &str| metadata.get(key).and_then(|v| v.trim().parse::<f64>().ok());
        let required = |key: &str| number(key).ok_or_else(|| format!("the filters gave no {key}"));
        let psnr_y = number("lavfi.psnr.psnr.y");
        Ok(Values {
            planes: if psnr_y.is_some() {
                Planes::Yuv
            } else {
                Planes::Rgb
            },
            psnr_y,
            psnr_avg: required("lavfi.psnr.psnr_avg")?,
            ssim_y: number("lavfi.ssim.Y"),
            ssim_all: required("lavfi.ssim.All")?,
        })
    }
}

/// `[a][b] -> psnr -> ssim -> sink`, fed pair by pair.
pub struct MetricsGraph {
    graph: ffmpeg::filter::Graph,
    next_pts: i64,
}

fn buffer_args(frame: &ffmpeg::frame::Video) -> String {
    format!(
        "video_size={}x{}:pix_fmt={}:time_base=1/1000:pixel_aspect=1/1",
        frame.width(),
        frame.height(),
        pixel_format_name(frame.format())
    )
}

/// Whether frames in `format` have no colour: grey, with or without alpha.
fn is_grey(format: Pixel) -> bool {
    format.descriptor().is_some_and(|d| d.nb_components() <= 2)
}

/// The most bits of any component of `format` (8 when unknown).
fn component_depth(format: Pixel) -> i32 {
    format.descriptor().map_or(8, |d| {
        // SAFETY: a descriptor from av_pix_fmt_desc_get points at FFmpeg's static table;
        // its first component exists for every format with a descriptor.
        unsafe { (*d.as_ptr()).comp[0].depth }
    })
}

/// The format both sides are scored in when only one of them has colour: planar RGB (8 or
/// 16 bits). Left alone, the filters would agree on the grey side's format and convert the
/// colour side to grey: its colour lost, a colour clip against its own luma reads identical.
fn common_colour_format(a: Pixel, b: Pixel) -> Option<&'static str> {
    if is_grey(a) == is_grey(b) {
        return None;
    }
    Some(if component_depth(a).max(component_depth(b)) > 8 {
        "gbrp16le"
    } else {
        "gbrp"
    })
}

impl MetricsGraph {
    /// A graph for frames shaped like `a` and `b`.
    pub fn new(a: &ffmpeg::frame::Video, b: &ffmpeg::frame::Video) -> Result<MetricsGraph, String> {
        let scale_b = if (a.width(), a.height()) == (b.width(), b.height()) {
            String::new()
        } else {
            format!("scale={}:{}:flags=bicubic,", a.width(), a.height())
        };
        let spec = match common_colour_format(a.format(), b.format()) {
            None => format!("[b]{scale_b}split[b1][b2];[a][b1]psnr[ap];[ap][b2]ssim[out]"),
            // Grey against colour: both scored in RGB, where the missing colour counts.
            Some(rgb) => format!(
                "[a]format={rgb}[a1];[b]{scale_b}format={rgb},split[b1][b2];\
                 [a1][b1]psnr[ap];[ap][b2]ssim[out]"
            ),
        };
        let graph = graph::build(
            &[
                Pad {
                    filter: "buffer",
                    label: "a",
                    args: buffer_args(a),
                },
                Pad {
                    filter: "buffer",
                    label: "b",
                    args: buffer_args(b),
                },
            ],
            &[Pad {
                filter: "buffersink",
                label: "out",
                args: String::new(),
            }],
            &spec,
        )
        .map_err(|e| e.to_string())?;
        Ok(MetricsGraph { graph, next_pts: 0 })
    }

    /// Feeds one pair; returns the scores the graph has ready (usually that pair's).
    pub fn push(
        &mut self,
        a: &ffmpeg::frame::Video,
        b: &ffmpeg::frame::Video,
    ) -> Result<Vec<Values>, String> {
        for (label, frame) in [("a", a), ("b", b)] {
            let mut input = crate::media::frame_reference(frame)
                .map_err(|e| format!("frame {}: {e}", self.next_pts + 1))?;
            input.set_pts(Some(self.next_pts));
            self.graph
                .get(label)
                .ok_or("the graph lost a source")?
                .source()
                .add(&input)
                .map_err(|e| format!("frame {}: {e}", self.next_pts + 1))?;
        }
        self.next_pts += 1;
        self.drain()
    }

    /// Ends both inputs and returns the scores still inside.
    pub fn finish(&mut self) -> Result<Vec<Values>, String> {
        for label in ["a", "b"] {
            self.graph
                .get(label)
                .ok_or("the graph lost a source")?
                .source()
                .flush()
                .map_err(|e| e.to_string())?;
        }
        self.drain()
    }

    fn drain(&mut self) -> Result<Vec<Values>, String> {
        let mut ready = Vec::new();
        let mut sink = self.graph.get("out").ok_or("the graph lost its sink")?;
        loop {
            let mut frame = ffmpeg::frame::Video::empty();
            match sink.sink().frame(&mut frame) {
                Ok(()) => ready.push(Values::read(&frame)?),
                Err(ffmpeg::Error::Eof) => break,
                Err(ffmpeg::Error::Other { errno }) if errno == libc::EAGAIN => break,
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(ready)
    }
}

/// An RGB(A) frame as an FFmpeg frame (`rgb24`/`rgba`), what FFmpeg's PNG decoder gives.
pub fn frame_to_video(frame: &Frame) -> Result<ffmpeg::frame::Video, String> {
    let format = match frame.layout {
        PixelLayout::Rgb8 => Pixel::RGB24,
        PixelLayout::Rgba8 => Pixel::RGBA,
    };
    let mut video = ffmpeg::frame::Video::new(format, frame.width, frame.height);
    let row_bytes = frame.width as usize * frame.layout.channels();
    let stride = video.stride(0);
    let data = video.data_mut(0);
    if frame.pixels.len() < row_bytes * frame.height as usize || stride < row_bytes {
        return Err("the frame's pixel buffer is shorter than its size".into());
    }
    for (row, pixels) in frame.pixels.chunks_exact(row_bytes).enumerate() {
        let start = row * stride;
        let Some(target) = data.get_mut(start..start + row_bytes) else {
            return Err("the FFmpeg frame is smaller than the image".into());
        };
        target.copy_from_slice(pixels);
    }
    Ok(video)
}
