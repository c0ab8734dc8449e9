//! A decoded frame's planes for a display that converts them itself (the app's GPU shader),
//! with the conversion's parameters computed by the code that drives the CPU converter
//! ([`super::planar`]'s matrix factors and chroma rule) and the CPU tone map
//! ([`super::tonemap_lut`]'s tables), so the two agree by construction. Plain bytes and
//! numbers: nothing here knows about a GPU.
//!
//! The recipe a converter follows, per pixel (the same as [`super::planar::Planar`] and
//! [`super::tonemap_lut::ToneLut::map`]):
//!
//! 1. chroma upsampled to the luma pixel in eighths of a sample, as integers: vertically
//!    (4:2:0) 3 x the chroma row `y/2` + 1 x the row before (even `y`) or after (odd `y`),
//!    edges clamped; other layouts 4 x their own row. Horizontally (4:2:0, 4:2:2; chroma
//!    co-sited with the even luma column) even columns 2 x their sample, odd columns the sum
//!    of the two around them (the last clamped); 4:4:4 2 x its own. Then minus
//!    [`MatrixParams::chroma_middle`] x 8;
//! 2. R', G', B' in levels (255 = full scale): `(Y - luma_offset) x luma` plus the chroma
//!    terms ([`MatrixParams`]);
//! 3. SDR: each level rounded and clamped to 0..255. HDR tone-mapped: the steps of
//!    [`super::tonemap_lut`] with its own tables ([`ToneTables`]).

use std::sync::Arc;

use ffmpeg::format::Pixel;
use ffmpeg_next as ffmpeg;

use super::color::{ColorDecision, Orientation};
use super::planar::{CHROMA_STEPS, Coefficients};
use super::tonemap_lut::ToneLut;

/// How a planar YUV format stores its samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlaneLayout {
    /// log2 of the chroma subsampling, horizontally and vertically (4:2:0: 1, 1).
    pub shift_x: u32,
    pub shift_y: u32,
    /// Bits per sample: 8 (one byte), or 10, 12, 16 (little-endian 16-bit words).
    pub depth: u32,
}

impl PlaneLayout {
    /// The planar YUV formats a display converts: 4:2:0, 4:2:2, 4:4:4 at 8, 10, 12 or 16
    /// bits (the `yuvj` formats included).
    pub fn of(format: Pixel) -> Option<PlaneLayout> {
        let (shift_x, shift_y, depth) = match format {
            Pixel::YUV420P | Pixel::YUVJ420P => (1, 1, 8),
            Pixel::YUV422P | Pixel::YUVJ422P => (1, 0, 8),
            Pixel::YUV444P | Pixel::YUVJ444P => (0, 0, 8),
            Pixel::YUV420P10LE => (1, 1, 10),
            Pixel::YUV422P10LE => (1, 0, 10),
            Pixel::YUV444P10LE => (0, 0, 10),
            Pixel::YUV420P12LE => (1, 1, 12),
            Pixel::YUV422P12LE => (1, 0, 12),
            Pixel::YUV444P12LE => (0, 0, 12),
            Pixel::YUV420P16LE => (1, 1, 16),
            Pixel::YUV422P16LE => (1, 0, 16),
            Pixel::YUV444P16LE => (0, 0, 16),
            _ => return None,
        };
        Some(PlaneLayout {
            shift_x,
            shift_y,
            depth,
        })
    }

    /// Bytes one sample takes (1, or 2 from 9 bits up).
    pub fn bytes_per_sample(self) -> usize {
        if self.depth > 8 { 2 } else { 1 }
    }
}

/// Where chroma samples sit against luma: what the CPU converter assumes for every stream
/// (H.264/HEVC's default "left" siting): co-sited with the even luma column, and for 4:2:0
/// halfway between the two luma rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChromaSiting {
    /// Horizontally with the even column; vertically (4:2:0) between the rows.
    Left,
}

/// The matrix and range as factors on sample values: `level = (Y - luma_offset) x luma +
/// Cr8 x cr_to_r` (and so on), where `Cr8` is chroma in eighths of a sample from the middle
/// as step 1 of the module's recipe makes it. Levels are on the 0-255 scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatrixParams {
    pub luma_offset: f32,
    pub luma: f32,
    /// The chroma sample value for no colour (128 scaled to the depth).
    pub chroma_middle: f32,
    /// Chroma steps per sample ([`CHROMA_STEPS`]).
    pub chroma_steps: f32,
    pub cr_to_r: f32,
    pub cr_to_g: f32,
    pub cb_to_g: f32,
    pub cb_to_b: f32,
}

impl MatrixParams {
    fn of(coefficients: Coefficients, depth: u32) -> MatrixParams {
        MatrixParams {
            luma_offset: coefficients.luma_offset,
            luma: coefficients.luma,
            chroma_middle: (128u32 << (depth - 8)) as f32,
            chroma_steps: CHROMA_STEPS as f32,
            cr_to_r: coefficients.cr_to_r,
            cr_to_g: coefficients.cr_to_g,
            cb_to_g: coefficients.cb_to_g,
            cb_to_b: coefficients.cb_to_b,
        }
    }
}

/// One plane: `height` rows of `width` samples, each row `stride` bytes apart.
#[derive(Debug, Clone, Copy)]
pub struct Plane<'a> {
    pub bytes: &'a [u8],
    pub stride: usize,
    pub width: usize,
    pub height: usize,
}

/// A decoded planar YUV frame and how to turn it into the RGB the CPU path makes.
pub struct DisplayPlanes {
    /// A new reference to the decoded frame (not a copy of its planes).
    frame: ffmpeg::frame::Video,
    pub width: usize,
    pub height: usize,
    pub layout: PlaneLayout,
    pub decision: ColorDecision,
    pub matrix: MatrixParams,
    pub siting: ChromaSiting,
    /// For a tone-mapped HDR frame: the CPU tone map's tables.
    pub tone: Option<Arc<ToneLut>>,
    /// Rotation and flips for display.
    pub orientation: Orientation,
}

impl std::fmt::Debug for DisplayPlanes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DisplayPlanes")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("layout", &self.layout)
            .field("decision", &self.decision)
            .field("tone_mapped", &self.tone.is_some())
            .field("orientation", &self.orientation)
            .finish()
    }
}

impl DisplayPlanes {
    /// `decoded`'s planes with the parameters for `decision` (and `tone`'s tables for an HDR
    /// frame shown tone-mapped). `None` when the format is not one [`PlaneLayout::of`] takes,
    /// the matrix is RGB, a tone map is asked for a format the tables do not take, or the
    /// planes are shorter than the frame's size says.
    pub fn new(
        decoded: &ffmpeg::frame::Video,
        decision: ColorDecision,
        tone: Option<Arc<ToneLut>>,
        orientation: Orientation,
    ) -> Option<DisplayPlanes> {
        let layout = PlaneLayout::of(decoded.format())?;
        if tone.is_some() && !ToneLut::supports(decoded.format(), decision) {
            return None;
        }
        let coefficients = Coefficients::new(layout.depth, decision.matrix, decision.range)?;
        let (width, height) = (decoded.width() as usize, decoded.height() as usize);
        if width == 0 || height == 0 || decoded.planes() < 3 {
            return None;
        }
        let frame = super::frame_reference(decoded).ok()?;
        let planes = DisplayPlanes {
            frame,
            width,
            height,
            layout,
            decision,
            matrix: MatrixParams::of(coefficients, layout.depth),
            siting: ChromaSiting::Left,
            tone,
            orientation,
        };
        let complete = (0..3).all(|i| {
            let (w, h) = planes.plane_size(i);
            let row = w * layout.bytes_per_sample();
            let stride = planes.frame.stride(i);
            stride >= row && planes.frame.data(i).len() >= stride * (h - 1) + row
        });
        complete.then_some(planes)
    }

    /// The RGB the CPU path makes of these planes (the threaded planar converter, or the
    /// tone map's tables), in the stored orientation: for what reads the picture's RGB while
    /// the GPU display draws it (the scopes). `None` for a format only swscale converts.
    pub fn stored_rgb(&self, index: usize) -> Option<crate::frame::Frame> {
        let threads = super::color::conversion_threads();
        let pixels = match &self.tone {
            Some(tone) => tone.map(&self.frame, self.decision, threads)?,
            None => super::planar::to_rgb(&self.frame, self.decision, threads)?,
        };
        Some(crate::frame::Frame {
            index,
            time_seconds: None,
            width: self.width as u32,
            height: self.height as u32,
            layout: crate::frame::PixelLayout::Rgb8,
            pixels,
        })
    }

    /// The decoded frame's pixel format.
    pub fn pixel_format(&self) -> Pixel {
        self.frame.format()
    }

    /// Samples across and rows of plane `index` (0 luma, 1 Cb, 2 Cr).
    pub fn plane_size(&self, index: usize) -> (usize, usize) {
        if index == 0 {
            (self.width, self.height)
        } else {
            (
                self.width.div_ceil(1 << self.layout.shift_x),
                self.height.div_ceil(1 << self.layout.shift_y),
            )
        }
    }

    /// Plane `index` (0 luma, 1 Cb, 2 Cr); `None` past 2.
    pub fn plane(&self, index: usize) -> Option<Plane<'_>> {
        if index > 2 {
            return None;
        }
        let (width, height) = self.plane_size(index);
        Some(Plane {
            bytes: self.frame.data(index),
            stride: self.frame.stride(index),
            width,
            height,
        })
    }

    /// The size shown (oriented).
    pub fn display_size(&self) -> (u32, u32) {
        self.orientation
            .display_size(self.width as u32, self.height as u32)
    }

    /// Bytes the three planes hold.
    pub fn byte_size(&self) -> usize {
        (0..3).map(|i| self.frame.data(i).len()).sum()
    }

    /// Where the shown picture's corners (top left, top right, bottom left, bottom right)
    /// come from in the stored one, as fractions of its width and height.
    pub fn stored_corners(&self) -> [[f32; 2]; 4] {
        let o = self.orientation;
        [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]].map(|[u, v]| {
            let rx = if o.hflip { 1.0 - u } else { u };
            let ry = if o.vflip { 1.0 - v } else { v };
            match o.rotate_cw {
                90 => [ry, 1.0 - rx],
                180 => [1.0 - rx, 1.0 - ry],
                270 => [1.0 - ry, rx],
                _ => [rx, ry],
            }
        })
    }
}

/// What a display needs of a [`ToneLut`]: the tables and the constants to index them.
pub struct ToneTables<'a> {
    /// Linear light (1.0 = 100 nits) of non-linear values `linear_low + i / linear_per_unit`.
    pub to_linear: &'a [f32],
    pub linear_low: f32,
    pub linear_per_unit: f32,
    /// 8-bit BT.709 levels, indexed by a float's bits: `(bits - display_lowest_bits +
    /// 2^(display_shift - 1)) >> display_shift`, clamped to the table.
    pub to_display: &'a [u8],
    pub display_lowest_bits: i32,
    pub display_shift: u32,
    /// Linear source RGB to linear BT.709 RGB (rows).
    pub gamut: [[f32; 3]; 3],
    /// The tone curve's divisor, `hable(peak)`.
    pub hable_peak: f32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::color::{Matrix, Range};

    #[test]
    fn the_factors_are_the_cpu_converters() {
        let decision = ColorDecision {
            matrix: Matrix::Bt709,
            range: Range::Limited,
        };
        let mut frame = ffmpeg::frame::Video::new(Pixel::YUV420P10LE, 6, 4);
        for plane in 0..3 {
            frame.data_mut(plane).fill(0);
        }
        let planes =
            DisplayPlanes::new(&frame, decision, None, Orientation::default()).expect("planes");
        let k = Coefficients::new(10, Matrix::Bt709, Range::Limited).expect("k");
        assert_eq!(planes.matrix.luma_offset, k.luma_offset);
        assert_eq!(planes.matrix.cr_to_g, k.cr_to_g);
        assert_eq!(planes.matrix.chroma_middle, 512.0);
        assert_eq!(planes.plane_size(1), (3, 2));
        assert_eq!(planes.layout.bytes_per_sample(), 2);
        assert!(
            DisplayPlanes::new(
                &ffmpeg::frame::Video::new(Pixel::NV12, 6, 4),
                decision,
                None,
                Orientation::default()
            )
            .is_none()
        );
    }

    #[test]
    fn corners_follow_the_orientation() {
        let mut frame = ffmpeg::frame::Video::new(Pixel::YUV444P, 4, 2);
        for plane in 0..3 {
            frame.data_mut(plane).fill(0);
        }
        let decision = ColorDecision {
            matrix: Matrix::Bt601,
            range: Range::Full,
        };
        let turned = Orientation {
            rotate_cw: 90,
            hflip: false,
            vflip: false,
        };
        let planes = DisplayPlanes::new(&frame, decision, None, turned).expect("planes");
        assert_eq!(planes.display_size(), (2, 4));
        // Turned clockwise, the shown top left is the stored bottom left.
        assert_eq!(planes.stored_corners()[0], [0.0, 1.0]);
        assert_eq!(planes.stored_corners()[3], [1.0, 0.0]);
    }
}
