//! Decode limits: one set, applied to every path that decodes an image (`frames`, `probe`,
//! `decode`, the app's open, paste and thumbnails), checked from headers before pixels are
//! allocated. Each error names the limit and the flag that raises it.

use crate::text::thousands;

/// How much an image may make framekit decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest encoded image, in bytes (an image file, or one decoded base64 part).
    pub max_decoded_bytes: usize,
    /// Largest width x height of one frame.
    pub max_pixels: u64,
    /// Most frames in one animation.
    pub max_frames: usize,
    /// Most pixels decoded for one animation: frames x width x height.
    pub max_total_pixels: u64,
    /// Largest answer one `get_frames` request may build (its base64 text, held whole so a
    /// failure part-way prints nothing): 2,000 ids of a noisy 1080p clip would be gigabytes.
    pub max_answer_bytes: usize,
}

impl Default for DecodeLimits {
    /// 256 MiB of image data and 100 megapixels a frame (more than an 8K frame, less than a
    /// bomb); animations up to 10,000 frames and 4,000 megapixels in all; 512 MiB of answer.
    fn default() -> Self {
        DecodeLimits {
            max_decoded_bytes: 256 << 20,
            max_pixels: 100_000_000,
            max_frames: 10_000,
            max_total_pixels: 4_000_000_000,
            max_answer_bytes: 512 << 20,
        }
    }
}

/// The widest decoded pixel of the formats framekit reads: 16-bit RGBA.
const MAX_BYTES_PER_PIXEL: u64 = 8;

/// An image over one of the limits: what it is, the limit, and the flag that raises it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}, over the limit of {limit} (raise it with {flag})")]
pub struct LimitError {
    pub what: String,
    pub limit: String,
    pub flag: &'static str,
}

fn megapixels(pixels: u64) -> String {
    format!("{} megapixels", thousands((pixels / 1_000_000) as usize))
}

impl DecodeLimits {
    /// No limits (for decoding again what was already checked).
    pub fn unlimited() -> DecodeLimits {
        DecodeLimits {
            max_decoded_bytes: usize::MAX,
            max_pixels: u64::MAX,
            max_frames: usize::MAX,
            max_total_pixels: u64::MAX,
            max_answer_bytes: usize::MAX,
        }
    }

    /// The `image` crate's own limits to match: no allocation beyond one frame at the pixel
    /// limit in the widest pixels these formats decode to (16-bit RGBA, 8 bytes: a 16-bit
    /// PNG of exactly the limit must pass, as the header check lets it), plus room for the
    /// decoder.
    pub fn image_limits(&self) -> image::Limits {
        let mut limits = image::Limits::default();
        limits.max_alloc = Some(
            self.max_pixels
                .saturating_mul(MAX_BYTES_PER_PIXEL)
                .saturating_add(64 << 20),
        );
        limits
    }

    /// An answer of `frames` frames that has reached `bytes` bytes.
    pub fn answer_error(&self, frames: usize, bytes: usize) -> LimitError {
        LimitError {
            what: format!(
                "the answer reached {} MiB after {} frames",
                thousands(bytes >> 20),
                thousands(frames)
            ),
            limit: format!("{} MiB", thousands(self.max_answer_bytes >> 20)),
            flag: "--max-answer-mib (or ask for fewer ids a request)",
        }
    }

    pub fn bytes_error(&self, bytes: usize) -> LimitError {
        LimitError {
            what: format!("the image is {} bytes", thousands(bytes)),
            limit: format!("{} MiB", self.max_decoded_bytes >> 20),
            flag: "--max-mib",
        }
    }

    pub fn pixels_error(&self, what: &str) -> LimitError {
        LimitError {
            what: what.to_string(),
            limit: megapixels(self.max_pixels),
            flag: "--max-megapixels",
        }
    }

    /// A frame of `width` x `height` (from the header) is within the pixel limit.
    pub fn check_frame(&self, width: u32, height: u32, format: &str) -> Result<(), LimitError> {
        let pixels = u64::from(width) * u64::from(height);
        if pixels > self.max_pixels {
            return Err(self.pixels_error(&format!(
                "the {format} image is {width}x{height} ({})",
                megapixels(pixels)
            )));
        }
        Ok(())
    }

    /// An animation that has reached `frames` frames of `frame_pixels` each is within the
    /// frame and total-pixel limits.
    pub fn check_animation(&self, frames: usize, frame_pixels: u64) -> Result<(), LimitError> {
        if frames > self.max_frames {
            return Err(LimitError {
                what: format!(
                    "the animation has more than {} frames",
                    thousands(self.max_frames)
                ),
                limit: format!("{} frames", thousands(self.max_frames)),
                flag: "--max-frames",
            });
        }
        self.check_total(frame_pixels.saturating_mul(frames as u64), || {
            format!(
                "the animation decodes to more than {} in {} frames",
                megapixels(self.max_total_pixels),
                thousands(frames)
            )
        })
    }

    /// `total` pixels held at once (an animation, a pasted `|` list) are within the
    /// total-pixel limit; `what` describes them for the error.
    pub fn check_total(&self, total: u64, what: impl FnOnce() -> String) -> Result<(), LimitError> {
        if total > self.max_total_pixels {
            return Err(LimitError {
                what: what(),
                limit: megapixels(self.max_total_pixels),
                flag: "--max-total-megapixels",
            });
        }
        Ok(())
    }
}
