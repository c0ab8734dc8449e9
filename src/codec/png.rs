//! Lossless PNG encoding of frames: RGB stays RGB, RGBA stays RGBA, nothing is rescaled.
//!
//! The fast setting (the default) is what `frames`, copy and export use: `make bench` shows
//! its encode time and size next to the default zlib setting for a 1080p frame.

use image::ImageEncoder as _;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};

use crate::frame::{Frame, PixelLayout};

/// PNG compression effort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PngSpeed {
    /// Fast deflate: several times quicker, somewhat larger files.
    #[default]
    Fast,
    /// zlib's default level with adaptive filtering: smaller, slower.
    Compact,
}

/// Encodes a frame as PNG with the fast setting.
pub fn encode_png(frame: &Frame) -> Result<Vec<u8>, image::ImageError> {
    encode_png_with(frame, PngSpeed::Fast)
}

/// Encodes a frame as PNG with the chosen effort.
pub fn encode_png_with(frame: &Frame, speed: PngSpeed) -> Result<Vec<u8>, image::ImageError> {
    let mut out = Vec::with_capacity(frame.pixels.len() / 2 + 1024);
    let (compression, filter) = match speed {
        PngSpeed::Fast => (CompressionType::Fast, FilterType::Adaptive),
        PngSpeed::Compact => (CompressionType::Default, FilterType::Adaptive),
    };
    let color = match frame.layout {
        PixelLayout::Rgb8 => image::ExtendedColorType::Rgb8,
        PixelLayout::Rgba8 => image::ExtendedColorType::Rgba8,
    };
    PngEncoder::new_with_quality(&mut out, compression, filter).write_image(
        &frame.pixels,
        frame.width,
        frame.height,
        color,
    )?;
    Ok(out)
}
