//! Decode limits: one set, applied to every path that decodes an image (`frames`, `probe`,
//! `decode`, the app's open, paste and thumbnails), checked from headers before pixels are
//! allocated. Each error is a typed [`LimitError`]: which limit, how much, and the limit; the
//! faces say how to raise it (the CLI names its flag).

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

/// Which of the [`DecodeLimits`] a decode ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitKind {
    /// Bytes of one encoded image (a file, one decoded base64 part): `max_decoded_bytes`.
    ImageBytes,
    /// Pixels of one frame (width x height): `max_pixels`.
    FramePixels,
    /// Frames of one animation: `max_frames`.
    AnimationFrames,
    /// Pixels held at once (an animation's frames, a pasted `|` list): `max_total_pixels`.
    TotalPixels,
    /// Bytes of one `get_frames` answer: `max_answer_bytes`.
    AnswerBytes,
}

impl LimitKind {
    /// `amount` of this kind's unit in words: `256 MiB`, `100 megapixels`, `10,000 frames`.
    pub fn describe(self, amount: u64) -> String {
        match self {
            LimitKind::ImageBytes => format!("{} MiB", amount >> 20),
            LimitKind::AnswerBytes => format!("{} MiB", thousands((amount >> 20) as usize)),
            LimitKind::FramePixels | LimitKind::TotalPixels => megapixels(amount),
            LimitKind::AnimationFrames => format!("{} frames", thousands(amount as usize)),
        }
    }
}

/// Input over one of the limits: which limit, how much was asked for and the limit, in the
/// kind's unit (bytes, pixels or frames), and what ran into it in words. Its message says
/// nothing of how to raise the limit: each face adds that in its own terms (the CLI names
/// its flag).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}, over the limit of {}", .kind.describe(*.limit))]
pub struct LimitError {
    pub kind: LimitKind,
    /// What was asked for when the decode stopped (at least that much; `limit + 1` when the
    /// amount is not known, as when the `image` crate refuses an allocation).
    pub actual: u64,
    pub limit: u64,
    /// What ran into the limit: "the PNG image is 20000x20000 (400 megapixels)".
    pub what: String,
}

impl LimitError {
    /// The first `LimitError` in `error`'s chain of causes (`error` itself included): why a
    /// request failed, when a limit is why.
    pub fn find<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a LimitError> {
        let mut cause = Some(error);
        while let Some(error) = cause {
            if let Some(limit) = error.downcast_ref::<LimitError>() {
                return Some(limit);
            }
            cause = error.source();
        }
        None
    }
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
            kind: LimitKind::AnswerBytes,
            actual: bytes as u64,
            limit: self.max_answer_bytes as u64,
            what: format!(
                "the answer reached {} MiB after {} frames",
                thousands(bytes >> 20),
                thousands(frames)
            ),
        }
    }

    /// An encoded image of `bytes` bytes, over `max_decoded_bytes`.
    pub fn bytes_error(&self, bytes: u64) -> LimitError {
        self.bytes_error_as(
            bytes,
            format!("the image is {} bytes", thousands(bytes as usize)),
        )
    }

    /// `bytes` of encoded image, over `max_decoded_bytes`; `what` says what they are.
    pub fn bytes_error_as(&self, bytes: u64, what: String) -> LimitError {
        LimitError {
            kind: LimitKind::ImageBytes,
            actual: bytes,
            limit: self.max_decoded_bytes as u64,
            what,
        }
    }

    /// A frame of `pixels` pixels (`None`: more than the limit, exactly unknown), over
    /// `max_pixels`; `what` says what it is.
    pub fn pixels_error(&self, pixels: Option<u64>, what: String) -> LimitError {
        LimitError {
            kind: LimitKind::FramePixels,
            actual: pixels.unwrap_or(self.max_pixels.saturating_add(1)),
            limit: self.max_pixels,
            what,
        }
    }

    /// A frame of `width` x `height` (from the header) is within the pixel limit.
    pub fn check_frame(&self, width: u32, height: u32, format: &str) -> Result<(), LimitError> {
        let pixels = u64::from(width) * u64::from(height);
        if pixels > self.max_pixels {
            return Err(self.pixels_error(
                Some(pixels),
                format!(
                    "the {format} image is {width}x{height} ({})",
                    megapixels(pixels)
                ),
            ));
        }
        Ok(())
    }

    /// An animation that has reached `frames` frames of `frame_pixels` each is within the
    /// frame and total-pixel limits.
    pub fn check_animation(&self, frames: usize, frame_pixels: u64) -> Result<(), LimitError> {
        if frames > self.max_frames {
            return Err(LimitError {
                kind: LimitKind::AnimationFrames,
                actual: frames as u64,
                limit: self.max_frames as u64,
                what: format!(
                    "the animation has more than {} frames",
                    thousands(self.max_frames)
                ),
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
                kind: LimitKind::TotalPixels,
                actual: total,
                limit: self.max_total_pixels,
                what: what(),
            });
        }
        Ok(())
    }
}
