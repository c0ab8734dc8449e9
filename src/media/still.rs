//! Still images and animated images (GIF, WebP, APNG) through the `image` crate, inside the
//! decode limits ([`DecodeLimits`]): the header's size is checked before any pixels are
//! allocated, and an animation is indexed lazily — opening it walks its frames once, one
//! composed frame at a time, to count them and read their times, and frame `n` is composed
//! again when asked for — so memory holds one frame whatever the frame count.

use std::io::{BufReader, Cursor};
use std::path::Path;
use std::sync::Arc;

use image::{AnimationDecoder, DynamicImage, ImageDecoder, ImageFormat};

use super::color::{ColorDecision, ColorTags, Matrix, Orientation, Range};
use super::limits::DecodeLimits;
use super::probe::{ColorInfo, MediaInfo, MediaKind, VideoInfo};
use super::{MediaError, MediaErrorKind};
use crate::frame::{Frame, PixelLayout};

/// Where an image's pixels come from.
#[derive(Debug, Clone)]
enum Pixels {
    /// Decoded frames (a still image, or frames pasted from elsewhere).
    Decoded(Vec<Frame>),
    /// An animation, composed again from its encoded bytes when a frame is asked for.
    Animation {
        bytes: Arc<[u8]>,
        format: ImageFormat,
    },
}

/// An image file: one decoded frame, or an animation indexed lazily.
#[derive(Debug, Clone)]
pub struct StillImage {
    pixels: Pixels,
    /// Each frame's start time (animations).
    times: Vec<Option<f64>>,
    info: MediaInfo,
}

/// Image extensions framekit treats as images even when their content is damaged, so the
/// error names the image format rather than "unrecognized media".
pub fn format_from_extension(path: &Path) -> Option<ImageFormat> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "png" | "apng" => Some(ImageFormat::Png),
        "jpg" | "jpeg" | "jpe" | "jfif" => Some(ImageFormat::Jpeg),
        "gif" => Some(ImageFormat::Gif),
        "webp" => Some(ImageFormat::WebP),
        "bmp" => Some(ImageFormat::Bmp),
        "tif" | "tiff" => Some(ImageFormat::Tiff),
        "ico" => Some(ImageFormat::Ico),
        "pbm" | "pgm" | "ppm" | "pnm" | "pam" => Some(ImageFormat::Pnm),
        "tga" => Some(ImageFormat::Tga),
        "qoi" => Some(ImageFormat::Qoi),
        _ => None,
    }
}

/// Converts a decoded image to a frame, keeping alpha only when the image has it.
pub fn frame_from_image(image: DynamicImage, index: usize, time_seconds: Option<f64>) -> Frame {
    let (width, height) = (image.width(), image.height());
    if image.color().has_alpha() {
        Frame {
            index,
            time_seconds,
            width,
            height,
            layout: PixelLayout::Rgba8,
            pixels: image.into_rgba8().into_raw(),
        }
    } else {
        Frame {
            index,
            time_seconds,
            width,
            height,
            layout: PixelLayout::Rgb8,
            pixels: image.into_rgb8().into_raw(),
        }
    }
}

/// The composed frames of an animation, one at a time.
type FrameIter = Box<dyn Iterator<Item = image::ImageResult<image::Frame>>>;

/// An animation's frames, or `None` when the image is not animated.
fn animation_frames(
    bytes: Arc<[u8]>,
    format: ImageFormat,
    limits: &DecodeLimits,
) -> image::ImageResult<Option<FrameIter>> {
    let cursor = Cursor::new(bytes);
    let image_limits = limits.image_limits();
    Ok(match format {
        ImageFormat::Gif => {
            let mut decoder = image::codecs::gif::GifDecoder::new(cursor)?;
            decoder.set_limits(image_limits)?;
            Some(Box::new(decoder.into_frames()))
        }
        ImageFormat::WebP => {
            let mut decoder = image::codecs::webp::WebPDecoder::new(cursor)?;
            if !decoder.has_animation() {
                return Ok(None);
            }
            decoder.set_limits(image_limits)?;
            Some(Box::new(decoder.into_frames()))
        }
        ImageFormat::Png => {
            let mut decoder = image::codecs::png::PngDecoder::new(BufReader::new(cursor))?;
            if !decoder.is_apng()? {
                return Ok(None);
            }
            decoder.set_limits(image_limits)?;
            Some(Box::new(decoder.apng()?.into_frames()))
        }
        _ => None,
    })
}

/// A composed animation frame as a [`Frame`].
fn animation_frame(frame: image::Frame, index: usize, time: f64) -> Frame {
    frame_from_image(
        DynamicImage::ImageRgba8(frame.into_buffer()),
        index,
        Some(time),
    )
}

fn delay_seconds(frame: &image::Frame) -> f64 {
    let (num, den) = frame.delay().numer_denom_ms();
    if den > 0 {
        f64::from(num) / f64::from(den) / 1000.0
    } else {
        0.0
    }
}

impl StillImage {
    /// Decodes `bytes` (already read from `path`) as `format`, inside `limits`: the size in
    /// the header is checked before decoding; an animation is walked once, one frame at a
    /// time, to count its frames (and checked against the frame and total-pixel limits).
    pub fn decode(
        path: &Path,
        bytes: Arc<[u8]>,
        format: ImageFormat,
        limits: &DecodeLimits,
    ) -> Result<StillImage, MediaError> {
        let format_label = format!("{format:?}").to_uppercase();
        let bad = |e: image::ImageError| {
            let kind = match e {
                image::ImageError::Limits(_) => MediaErrorKind::OverLimit(limits.pixels_error(
                    None,
                    format!("the {format_label} image needs more memory than its size allows"),
                )),
                other => MediaErrorKind::BadImage {
                    format: format_label.clone(),
                    reason: other.to_string(),
                },
            };
            MediaError::new(path, kind)
        };
        if bytes.len() > limits.max_decoded_bytes {
            return Err(MediaError::new(
                path,
                MediaErrorKind::OverLimit(limits.bytes_error(bytes.len() as u64)),
            ));
        }
        let (width, height) = image::ImageReader::with_format(Cursor::new(&bytes[..]), format)
            .into_dimensions()
            .map_err(bad)?;
        limits
            .check_frame(width, height, &format_label)
            .map_err(|e| MediaError::new(path, MediaErrorKind::OverLimit(e)))?;
        let name = format!("{format:?}").to_lowercase();
        let (pixels, times, info) = match animation_frames(bytes.clone(), format, limits)
            .map_err(bad)?
        {
            Some(frames) => {
                let mut times = Vec::new();
                let mut first = None;
                let mut time = 0.0;
                for frame in frames {
                    let frame = frame.map_err(bad)?;
                    times.push(Some(time));
                    time += delay_seconds(&frame);
                    limits
                        .check_animation(times.len(), u64::from(width) * u64::from(height))
                        .map_err(|e| MediaError::new(path, MediaErrorKind::OverLimit(e)))?;
                    if first.is_none() {
                        first = Some(animation_frame(frame, 0, 0.0));
                    }
                }
                let Some(first) = first else {
                    return Err(MediaError::new(path, MediaErrorKind::NoFrames));
                };
                let info = describe(path, &name, &times, &first);
                if times.len() == 1 {
                    (Pixels::Decoded(vec![first]), times, info)
                } else {
                    (Pixels::Animation { bytes, format }, times, info)
                }
            }
            None => {
                let mut reader = image::ImageReader::with_format(Cursor::new(&bytes[..]), format);
                reader.limits(limits.image_limits());
                let image = reader.decode().map_err(bad)?;
                let frame = frame_from_image(image, 0, None);
                let times = vec![None];
                let info = describe(path, &name, &times, &frame);
                (Pixels::Decoded(vec![frame]), times, info)
            }
        };
        Ok(StillImage {
            pixels,
            times,
            info,
        })
    }

    /// Frames that came from elsewhere (pasted images), labelled for errors and the info panel.
    pub fn from_frames(
        label: &str,
        format: &str,
        frames: Vec<Frame>,
    ) -> Result<StillImage, MediaError> {
        let Some(first) = frames.first() else {
            return Err(MediaError::new(Path::new(label), MediaErrorKind::NoFrames));
        };
        let times: Vec<Option<f64>> = frames.iter().map(|f| f.time_seconds).collect();
        let mut info = describe(Path::new(label), format, &times, first);
        info.pasted = true;
        Ok(StillImage {
            pixels: Pixels::Decoded(frames),
            times,
            info,
        })
    }

    /// The same image marked as pasted (for the info panel and the status line).
    pub fn into_pasted(mut self, label: &str) -> StillImage {
        self.info.pasted = true;
        self.info.path = label.to_string();
        self
    }

    pub fn info(&self) -> &MediaInfo {
        &self.info
    }

    pub fn frame_count(&self) -> usize {
        self.times.len()
    }

    /// The first frame, borrowed when it is already decoded (a still image).
    pub fn first_frame(&self) -> Result<std::borrow::Cow<'_, Frame>, MediaError> {
        match &self.pixels {
            Pixels::Decoded(frames) if !frames.is_empty() => {
                Ok(std::borrow::Cow::Borrowed(&frames[0]))
            }
            _ => self.frame(0).map(std::borrow::Cow::Owned),
        }
    }

    /// Start time of frame `index` (animations).
    pub fn frame_time(&self, index: usize) -> Option<f64> {
        self.times.get(index).copied().flatten()
    }

    /// Frame `index`; an animation's frame is composed again from the start.
    pub fn frame(&self, index: usize) -> Result<Frame, MediaError> {
        let path = Path::new(&self.info.path);
        let out_of_range = || {
            MediaError::new(
                path,
                MediaErrorKind::OutOfRange {
                    requested: index + 1,
                    count: self.times.len(),
                },
            )
        };
        match &self.pixels {
            Pixels::Decoded(frames) => frames.get(index).cloned().ok_or_else(out_of_range),
            Pixels::Animation { bytes, format } => {
                let bad = |e: image::ImageError| {
                    MediaError::new(
                        path,
                        MediaErrorKind::BadImage {
                            format: format!("{format:?}").to_uppercase(),
                            reason: e.to_string(),
                        },
                    )
                };
                let mut frames =
                    animation_frames(bytes.clone(), *format, &DecodeLimits::unlimited())
                        .map_err(bad)?
                        .ok_or_else(out_of_range)?;
                let frame = frames.nth(index).ok_or_else(out_of_range)?;
                let time = self.frame_time(index).unwrap_or(0.0);
                Ok(animation_frame(frame.map_err(bad)?, index, time))
            }
        }
    }
}

fn describe(path: &Path, name: &str, times: &[Option<f64>], first: &Frame) -> MediaInfo {
    let (width, height, has_alpha) = (
        first.width,
        first.height,
        first.layout == PixelLayout::Rgba8,
    );
    let frame_count = times.len();
    let duration = times.last().copied().flatten().filter(|_| frame_count > 1);
    MediaInfo {
        path: path.display().to_string(),
        kind: if frame_count > 1 {
            MediaKind::Animation
        } else {
            MediaKind::Image
        },
        pasted: false,
        damaged_tail: false,
        container: name.to_string(),
        duration_seconds: duration,
        frame_count,
        video: Some(VideoInfo {
            codec: name.to_string(),
            width,
            height,
            display_width: width,
            display_height: height,
            sample_aspect_ratio: "1:1".to_string(),
            avg_frame_rate: "0/1".to_string(),
            avg_fps: None,
            nominal_frame_rate: "0/1".to_string(),
            frame_count,
            keyframe_count: frame_count,
            frame_index: "scan",
            pixel_format: if has_alpha { "rgba" } else { "rgb24" }.to_string(),
            bit_depth: 8,
            has_alpha,
            color: ColorInfo {
                tagged: ColorTags {
                    matrix: "rgb".to_string(),
                    range: "pc".to_string(),
                    primaries: "unknown".to_string(),
                    transfer: "unknown".to_string(),
                    hdr: None,
                },
                used: ColorDecision {
                    matrix: Matrix::Rgb,
                    range: Range::Full,
                },
                tone_map: None,
            },
            rotation: Orientation::default(),
            decoder: "software".to_string(),
        }),
        audio: Vec::new(),
    }
}

/// Formats framekit decodes with the `image` crate when their signature is seen.
pub fn is_supported_format(format: ImageFormat) -> bool {
    matches!(
        format,
        ImageFormat::Png
            | ImageFormat::Jpeg
            | ImageFormat::Gif
            | ImageFormat::WebP
            | ImageFormat::Bmp
            | ImageFormat::Tiff
            | ImageFormat::Ico
            | ImageFormat::Pnm
            | ImageFormat::Tga
            | ImageFormat::Qoi
    )
}
