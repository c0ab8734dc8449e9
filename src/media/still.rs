//! Still images and animated images (GIF, WebP, APNG) through the `image` crate.
//!
//! A still image is a one-frame video; an animation's frames are composited full frames in
//! display order. All frames are decoded on open (images are small next to videos).

use std::io::{BufReader, Cursor};
use std::path::Path;

use image::{AnimationDecoder, DynamicImage, ImageFormat};

use super::color::{ColorDecision, ColorTags, Matrix, Orientation, Range};
use super::probe::{ColorInfo, MediaInfo, MediaKind, VideoInfo};
use super::{MediaError, MediaErrorKind};
use crate::frame::{Frame, PixelLayout};

/// An image file held as decoded frames.
pub struct StillImage {
    frames: Vec<Frame>,
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

fn animation_frames<'a, D: AnimationDecoder<'a>>(
    decoder: D,
) -> Result<Vec<Frame>, image::ImageError> {
    let mut frames = Vec::new();
    let mut time = 0.0;
    for (index, frame) in decoder.into_frames().enumerate() {
        let frame = frame?;
        let (num, den) = frame.delay().numer_denom_ms();
        let image = DynamicImage::ImageRgba8(frame.into_buffer());
        frames.push(frame_from_image(image, index, Some(time)));
        if den > 0 {
            time += f64::from(num) / f64::from(den) / 1000.0;
        }
    }
    Ok(frames)
}

impl StillImage {
    /// Decodes `bytes` (already read from `path`) as `format`.
    pub fn decode(
        path: &Path,
        bytes: &[u8],
        format: ImageFormat,
    ) -> Result<StillImage, MediaError> {
        let bad = |e: image::ImageError| {
            MediaError::new(
                path,
                MediaErrorKind::BadImage {
                    format: format!("{format:?}").to_uppercase(),
                    reason: e.to_string(),
                },
            )
        };
        let frames = match format {
            ImageFormat::Gif => {
                let decoder =
                    image::codecs::gif::GifDecoder::new(Cursor::new(bytes)).map_err(bad)?;
                animation_frames(decoder).map_err(bad)?
            }
            ImageFormat::WebP => {
                let decoder =
                    image::codecs::webp::WebPDecoder::new(Cursor::new(bytes)).map_err(bad)?;
                if decoder.has_animation() {
                    animation_frames(decoder).map_err(bad)?
                } else {
                    let image = DynamicImage::from_decoder(decoder).map_err(bad)?;
                    vec![frame_from_image(image, 0, None)]
                }
            }
            ImageFormat::Png => {
                let decoder =
                    image::codecs::png::PngDecoder::new(BufReader::new(Cursor::new(bytes)))
                        .map_err(bad)?;
                if decoder.is_apng().map_err(bad)? {
                    animation_frames(decoder.apng().map_err(bad)?).map_err(bad)?
                } else {
                    let image = DynamicImage::from_decoder(decoder).map_err(bad)?;
                    vec![frame_from_image(image, 0, None)]
                }
            }
            other => {
                let image = image::load_from_memory_with_format(bytes, other).map_err(bad)?;
                vec![frame_from_image(image, 0, None)]
            }
        };
        let Some(first) = frames.first() else {
            return Err(MediaError::new(path, MediaErrorKind::NoFrames));
        };
        let has_alpha = first.layout == PixelLayout::Rgba8;
        let (width, height) = (first.width, first.height);
        let info = describe(
            path,
            &format!("{format:?}").to_lowercase(),
            &frames,
            width,
            height,
            has_alpha,
        );
        Ok(StillImage { frames, info })
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
        let (width, height, has_alpha) = (
            first.width,
            first.height,
            first.layout == PixelLayout::Rgba8,
        );
        let mut info = describe(Path::new(label), format, &frames, width, height, has_alpha);
        info.pasted = true;
        Ok(StillImage { frames, info })
    }

    pub fn info(&self) -> &MediaInfo {
        &self.info
    }

    pub fn frame_count(&self) -> usize {
        self.frames.len()
    }

    pub fn frame(&self, index: usize) -> Option<&Frame> {
        self.frames.get(index)
    }
}

fn describe(
    path: &Path,
    name: &str,
    frames: &[Frame],
    width: u32,
    height: u32,
    has_alpha: bool,
) -> MediaInfo {
    let duration = frames
        .last()
        .and_then(|f| f.time_seconds)
        .filter(|_| frames.len() > 1);
    MediaInfo {
        path: path.display().to_string(),
        kind: if frames.len() > 1 {
            MediaKind::Animation
        } else {
            MediaKind::Image
        },
        pasted: false,
        container: name.to_string(),
        duration_seconds: duration,
        frame_count: frames.len(),
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
            frame_count: frames.len(),
            keyframe_count: frames.len(),
            pixel_format: if has_alpha { "rgba" } else { "rgb24" }.to_string(),
            bit_depth: 8,
            has_alpha,
            color: ColorInfo {
                tagged: ColorTags {
                    matrix: "rgb".to_string(),
                    range: "pc".to_string(),
                    primaries: "unknown".to_string(),
                    transfer: "unknown".to_string(),
                },
                used: ColorDecision {
                    matrix: Matrix::Rgb,
                    range: Range::Full,
                },
            },
            rotation: Orientation::default(),
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
