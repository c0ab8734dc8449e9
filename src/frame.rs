//! `Frame`: decoded RGB or RGBA pixels plus where they came from (frame index, timestamp).
//!
//! Pixels are always 8 bits per channel, rows packed without padding, already converted to
//! sRGB-encoded RGB with the stream's own matrix and range, and already rotated for display.

/// An image a background thread builds from a [`Frame`] for its caller (the player's frames,
/// the compare worker's difference images): the app asks for its texture image, built off the
/// UI thread so that thread only uploads it; a headless caller asks for `()`.
pub trait FrameImage: Send + Sync + 'static {
    fn from_frame(frame: &Frame) -> Self;
}

/// Headless callers need no image beside the frame.
impl FrameImage for () {
    fn from_frame(_frame: &Frame) {}
}

/// How the pixels of a [`Frame`] are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelLayout {
    /// Three bytes per pixel: red, green, blue.
    Rgb8,
    /// Four bytes per pixel: red, green, blue, alpha (straight, not premultiplied).
    Rgba8,
}

impl PixelLayout {
    /// Bytes per pixel.
    pub fn channels(self) -> usize {
        match self {
            PixelLayout::Rgb8 => 3,
            PixelLayout::Rgba8 => 4,
        }
    }
}

/// One decoded picture, ready to show or to encode losslessly.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// 0-based position in presentation order (the CLI's frame id is `index + 1`).
    pub index: usize,
    /// Presentation time in seconds from the start of the stream, when known.
    pub time_seconds: Option<f64>,
    pub width: u32,
    pub height: u32,
    pub layout: PixelLayout,
    /// `width * height * layout.channels()` bytes, row-major, top row first.
    pub pixels: Vec<u8>,
}

impl Frame {
    /// The pixel at (x, y) as RGBA; alpha is 255 for RGB frames. `None` outside the frame.
    pub fn rgba_at(&self, x: u32, y: u32) -> Option<[u8; 4]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let channels = self.layout.channels();
        let offset = (y as usize * self.width as usize + x as usize) * channels;
        let px = self.pixels.get(offset..offset + channels)?;
        Some(match self.layout {
            PixelLayout::Rgb8 => [px[0], px[1], px[2], 255],
            PixelLayout::Rgba8 => [px[0], px[1], px[2], px[3]],
        })
    }

    /// The pixels as tightly packed RGBA, converting from RGB when needed.
    pub fn to_rgba(&self) -> Vec<u8> {
        match self.layout {
            PixelLayout::Rgba8 => self.pixels.clone(),
            PixelLayout::Rgb8 => {
                let mut rgba = Vec::with_capacity(self.pixels.len() / 3 * 4);
                for px in self.pixels.chunks_exact(3) {
                    rgba.extend_from_slice(&[px[0], px[1], px[2], 255]);
                }
                rgba
            }
        }
    }

    /// Size of the pixel buffer in bytes (for cache budgets).
    pub fn byte_size(&self) -> usize {
        self.pixels.len()
    }
}

impl Frame {
    /// A downscaled copy at most `max_width` x `max_height` (box filter), for thumbnails.
    pub fn thumbnail(&self, max_width: u32, max_height: u32) -> Frame {
        let scale = (f64::from(max_width) / f64::from(self.width.max(1)))
            .min(f64::from(max_height) / f64::from(self.height.max(1)))
            .min(1.0);
        let width = ((f64::from(self.width) * scale).round() as u32).max(1);
        let height = ((f64::from(self.height) * scale).round() as u32).max(1);
        let channels = self.layout.channels();
        let mut pixels = Vec::with_capacity(width as usize * height as usize * channels);
        for ty in 0..height {
            let y0 = ty * self.height / height;
            let y1 = ((ty + 1) * self.height / height).max(y0 + 1);
            for tx in 0..width {
                let x0 = tx * self.width / width;
                let x1 = ((tx + 1) * self.width / width).max(x0 + 1);
                let mut sum = [0u32; 4];
                for y in y0..y1 {
                    let row = (y as usize * self.width as usize) * channels;
                    for x in x0..x1 {
                        let at = row + x as usize * channels;
                        for (c, total) in sum.iter_mut().enumerate().take(channels) {
                            *total += u32::from(self.pixels[at + c]);
                        }
                    }
                }
                let count = (y1 - y0) * (x1 - x0);
                for total in sum.iter().take(channels) {
                    pixels.push((total / count) as u8);
                }
            }
        }
        Frame {
            index: self.index,
            time_seconds: self.time_seconds,
            width,
            height,
            layout: self.layout,
            pixels,
        }
    }
}

/// One decoded picture at 16 bits per channel: the stream's own signal at full precision
/// (its matrix and range applied, its transfer and primaries as tagged: PQ and HLG stay PQ
/// and HLG, never tone-mapped), oriented for display. For 10-bit and HDR work, where 8-bit
/// [`Frame`]s would round away levels.
#[derive(Debug, Clone, PartialEq)]
pub struct DeepFrame {
    /// 0-based position in presentation order.
    pub index: usize,
    /// Presentation time in seconds from the start of the stream, when known.
    pub time_seconds: Option<f64>,
    pub width: u32,
    pub height: u32,
    /// RGB or RGBA, as in [`Frame`].
    pub layout: PixelLayout,
    /// `width * height * layout.channels()` samples, 0 to 65535, row-major, top row first.
    pub samples: Vec<u16>,
}

impl DeepFrame {
    /// An 8-bit frame widened without loss (each level `v` becomes `v * 257`, so 255 is
    /// 65535): what an image or an 8-bit-only source gives at 16 bits.
    pub fn widened(frame: &Frame) -> DeepFrame {
        DeepFrame {
            index: frame.index,
            time_seconds: frame.time_seconds,
            width: frame.width,
            height: frame.height,
            layout: frame.layout,
            samples: frame.pixels.iter().map(|&v| u16::from(v) * 257).collect(),
        }
    }
}
