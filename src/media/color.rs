//! YUV (or any FFmpeg pixel format) to RGB/RGBA with the right matrix, range and bit depth.
//! Planar 8- and 10-bit YUV takes the fast threaded path in [`super::planar`]; everything
//! else goes through swscale.
//! Display rotation lives in [`super::rotate`], the inspector's raw samples in
//! [`super::samples`] (both re-exported here).
//!
//! Rules: the stream's tagged matrix (BT.601, BT.709, BT.2020, ...) and range (limited or
//! full, including the `yuvj*` formats) are used. Untagged streams get BT.709 from 720 lines
//! up and BT.601 below (an untagged HDR stream: BT.2020, see [`assumed_space`]); an untagged
//! range is limited for YUV. swscale, where it is used, runs with
//! `SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT`, which measured within one level of the exact
//! result on flat patches (the default paths are 2-3 levels off).

use ffmpeg::format::Pixel;
use ffmpeg::software::scaling;
use ffmpeg::util::color;
use ffmpeg_next as ffmpeg;
use serde::Serialize;

use crate::frame::{Frame, PixelLayout};

pub use super::rotate::Orientation;
pub use super::samples::SourceSamples;

/// The YUV to RGB matrix a conversion uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Matrix {
    Bt601,
    Bt709,
    Bt2020,
    Smpte240m,
    Fcc,
    /// The source is already RGB (or grey): no matrix applies.
    Rgb,
}

impl Matrix {
    /// The colour-space tag that makes [`decide`] pick this matrix whatever the height.
    pub fn space(self) -> color::Space {
        match self {
            Matrix::Bt601 => color::Space::BT470BG,
            Matrix::Bt709 => color::Space::BT709,
            Matrix::Bt2020 => color::Space::BT2020NCL,
            Matrix::Smpte240m => color::Space::SMPTE240M,
            Matrix::Fcc => color::Space::FCC,
            Matrix::Rgb => color::Space::RGB,
        }
    }

    /// The `AVColorSpace` number swscale's `sws_getCoefficients` expects.
    fn sws_colorspace(self) -> i32 {
        match self {
            Matrix::Bt709 => 1,
            Matrix::Fcc => 4,
            Matrix::Bt601 => 5,
            Matrix::Smpte240m => 7,
            Matrix::Bt2020 => 9,
            Matrix::Rgb => 5,
        }
    }

    /// The matrix's luma weights (Kr, Kb); `None` for RGB, which has no matrix.
    pub fn kr_kb(self) -> Option<(f64, f64)> {
        match self {
            Matrix::Bt601 => Some((0.299, 0.114)),
            Matrix::Bt709 => Some((0.2126, 0.0722)),
            Matrix::Bt2020 => Some((0.2627, 0.0593)),
            Matrix::Smpte240m => Some((0.212, 0.087)),
            Matrix::Fcc => Some((0.30, 0.11)),
            Matrix::Rgb => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Matrix::Bt601 => "bt601",
            Matrix::Bt709 => "bt709",
            Matrix::Bt2020 => "bt2020",
            Matrix::Smpte240m => "smpte240m",
            Matrix::Fcc => "fcc",
            Matrix::Rgb => "rgb",
        }
    }
}

/// Limited ("tv", 16-235) or full ("pc", 0-255) range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Range {
    Limited,
    Full,
}

impl Range {
    pub fn label(self) -> &'static str {
        match self {
            Range::Limited => "limited",
            Range::Full => "full",
        }
    }
}

/// The colour tags a stream carries, as FFmpeg names them ("unknown" when absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColorTags {
    pub matrix: String,
    pub range: String,
    pub primaries: String,
    pub transfer: String,
    /// High dynamic range, told by the transfer characteristic (`null` for SDR).
    pub hdr: Option<Hdr>,
}

/// The HDR transfer a stream is tagged with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Hdr {
    /// SMPTE ST 2084 (perceptual quantizer): HDR10, Dolby Vision base layers.
    Pq,
    /// ARIB STD-B67 (hybrid log-gamma): broadcast and most phone HDR.
    Hlg,
}

impl Hdr {
    /// From the stream's transfer characteristic.
    pub fn from_transfer(transfer: ffmpeg::color::TransferCharacteristic) -> Option<Hdr> {
        use ffmpeg::color::TransferCharacteristic as T;
        match transfer {
            T::SMPTE2084 => Some(Hdr::Pq),
            T::ARIB_STD_B67 => Some(Hdr::Hlg),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Hdr::Pq => "PQ (SMPTE ST 2084)",
            Hdr::Hlg => "HLG (ARIB STD-B67)",
        }
    }
}

/// What a conversion actually uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ColorDecision {
    pub matrix: Matrix,
    pub range: Range,
}

/// Bits per component and whether the format carries alpha.
pub fn pixel_format_depth(format: Pixel) -> (u8, bool) {
    let Some(desc) = format.descriptor() else {
        return (8, false);
    };
    // SAFETY: `descriptor()` returned a non-null pointer to FFmpeg's static descriptor table.
    let (depth, flags) = unsafe {
        let raw = &*desc.as_ptr();
        (raw.comp[0].depth as u8, raw.flags)
    };
    let has_alpha = flags & (ffmpeg::ffi::AV_PIX_FMT_FLAG_ALPHA as u64) != 0;
    (depth, has_alpha)
}

/// FFmpeg's name for a pixel format ("yuv420p").
pub fn pixel_format_name(format: Pixel) -> String {
    format.descriptor().map_or_else(
        || format!("{format:?}").to_lowercase(),
        |d| d.name().to_string(),
    )
}

fn is_rgb_like(format: Pixel) -> bool {
    let Some(desc) = format.descriptor() else {
        return false;
    };
    // SAFETY: as above, a static descriptor.
    let (flags, components) = unsafe {
        let raw = &*desc.as_ptr();
        (raw.flags, raw.nb_components)
    };
    flags & (ffmpeg::ffi::AV_PIX_FMT_FLAG_RGB as u64) != 0
        || flags & (ffmpeg::ffi::AV_PIX_FMT_FLAG_PAL as u64) != 0
        || components <= 2 && !pixel_format_name(format).starts_with("yuv")
}

/// The `yuvj*` formats are plain YUV at full range; swscale wants the plain name.
fn unjpeg(format: Pixel) -> (Pixel, bool) {
    match format {
        Pixel::YUVJ420P => (Pixel::YUV420P, true),
        Pixel::YUVJ422P => (Pixel::YUV422P, true),
        Pixel::YUVJ444P => (Pixel::YUV444P, true),
        Pixel::YUVJ440P => (Pixel::YUV440P, true),
        Pixel::YUVJ411P => (Pixel::YUV411P, true),
        other => (other, false),
    }
}

/// FFmpeg's name for a colour space tag.
pub fn matrix_tag_name(space: color::Space) -> String {
    space.name().unwrap_or("unknown").to_string()
}

/// The matrix tag to convert with: the stream's, or BT.2020 for an untagged HDR stream (PQ
/// and HLG are BT.2020 in practice; the height rule would pick BT.601/709).
pub fn assumed_space(
    space: color::Space,
    transfer: ffmpeg::color::TransferCharacteristic,
) -> color::Space {
    if space == color::Space::Unspecified && Hdr::from_transfer(transfer).is_some() {
        color::Space::BT2020NCL
    } else {
        space
    }
}

/// Decides matrix and range from tags, format and height.
pub fn decide(
    format: Pixel,
    space: color::Space,
    range: color::Range,
    height: u32,
) -> ColorDecision {
    let (plain, jpeg) = unjpeg(format);
    if is_rgb_like(plain) {
        return ColorDecision {
            matrix: Matrix::Rgb,
            range: Range::Full,
        };
    }
    let matrix = match space {
        color::Space::BT709 => Matrix::Bt709,
        color::Space::BT470BG | color::Space::SMPTE170M => Matrix::Bt601,
        color::Space::BT2020NCL | color::Space::BT2020CL => Matrix::Bt2020,
        color::Space::SMPTE240M => Matrix::Smpte240m,
        color::Space::FCC => Matrix::Fcc,
        _ if height >= 720 => Matrix::Bt709,
        _ => Matrix::Bt601,
    };
    let range = if jpeg || range == color::Range::JPEG {
        Range::Full
    } else {
        Range::Limited
    };
    ColorDecision { matrix, range }
}

/// Key that says when a cached swscale context can be reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ConverterKey {
    format: Pixel,
    width: u32,
    height: u32,
    decision: ColorDecision,
    layout: PixelLayout,
    /// 16 bits per channel (RGB48/RGBA64) instead of 8.
    deep: bool,
}

/// Converts decoded FFmpeg frames to packed RGB/RGBA, reusing its swscale context.
#[derive(Default)]
pub struct Converter {
    cached: Option<(ConverterKey, scaling::Context)>,
}

/// Why a conversion could not run.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("pixel format {0} cannot be converted to RGB: {1}")]
    Unsupported(String, ffmpeg::Error),
    #[error("colour conversion failed: {0}")]
    Run(ffmpeg::Error),
    #[error("HDR tone mapping failed: {0}")]
    ToneMap(String),
}

impl Converter {
    /// Converts one decoded frame. `space`/`range` are the frame's tags (the stream's when the
    /// frame has none). Returns the frame (unrotated) and the decision used.
    pub fn convert(
        &mut self,
        decoded: &ffmpeg::frame::Video,
        index: usize,
        time_seconds: Option<f64>,
        fallback_space: color::Space,
        fallback_range: color::Range,
    ) -> Result<(Frame, ColorDecision), ConvertError> {
        let src_format = decoded.format();
        let (width, height) = (decoded.width(), decoded.height());
        let (decision, layout) = plan(decoded, fallback_space, fallback_range);
        let fast = (layout == PixelLayout::Rgb8 && super::planar::supports(src_format, decision))
            .then(|| super::planar::to_rgb(decoded, decision, conversion_threads()))
            .flatten();
        let pixels = match fast {
            Some(pixels) => pixels,
            None => self.convert_with_swscale(decoded, decision, layout)?,
        };
        Ok((
            Frame {
                index,
                time_seconds,
                width,
                height,
                layout,
                pixels,
            },
            decision,
        ))
    }

    /// Converts one decoded frame to 16 bits per channel with the same matrix and range
    /// decision as [`Converter::convert`] (swscale's accurate path, little-endian RGB48 or
    /// RGBA64): the stream's own signal at full precision, transfer and primaries as
    /// tagged. Returns the samples (unrotated), the layout and the decision.
    pub fn convert_deep(
        &mut self,
        decoded: &ffmpeg::frame::Video,
        fallback_space: color::Space,
        fallback_range: color::Range,
    ) -> Result<(Vec<u16>, PixelLayout, ColorDecision), ConvertError> {
        let (width, height) = (decoded.width(), decoded.height());
        let (decision, layout) = plan(decoded, fallback_space, fallback_range);
        let converted = self.run_swscale(decoded, decision, layout, true)?;
        let row_samples = width as usize * layout.channels();
        let mut samples = Vec::with_capacity(row_samples * height as usize);
        for row in packed_rows(&converted, row_samples * 2, height) {
            samples.extend(
                row.chunks_exact(2)
                    .map(|pair| u16::from_le_bytes([pair[0], pair[1]])),
            );
        }
        Ok((samples, layout, decision))
    }

    /// swscale's accurate path, for what [`super::planar`] does not take.
    fn convert_with_swscale(
        &mut self,
        decoded: &ffmpeg::frame::Video,
        decision: ColorDecision,
        layout: PixelLayout,
    ) -> Result<Vec<u8>, ConvertError> {
        let (width, height) = (decoded.width(), decoded.height());
        let converted = self.run_swscale(decoded, decision, layout, false)?;
        let row_bytes = width as usize * layout.channels();
        let mut pixels = Vec::with_capacity(row_bytes * height as usize);
        for row in packed_rows(&converted, row_bytes, height) {
            pixels.extend_from_slice(row);
        }
        Ok(pixels)
    }

    /// Runs the cached swscale context for this format, size, decision and output depth
    /// (building it when any changed) and returns swscale's packed output frame.
    fn run_swscale(
        &mut self,
        decoded: &ffmpeg::frame::Video,
        decision: ColorDecision,
        layout: PixelLayout,
        deep: bool,
    ) -> Result<ffmpeg::frame::Video, ConvertError> {
        let src_format = decoded.format();
        let key = ConverterKey {
            format: src_format,
            width: decoded.width(),
            height: decoded.height(),
            decision,
            layout,
            deep,
        };
        if self.cached.as_ref().map(|(k, _)| *k) != Some(key) {
            self.cached = None;
        }
        let (_, context) = match &mut self.cached {
            Some(cached) => cached,
            empty => empty.insert((key, build_context(key)?)),
        };
        let mut converted = ffmpeg::frame::Video::empty();
        // swscale reads the plain format; yuvj frames are byte-identical to their yuv twin.
        let (plain, _) = unjpeg(src_format);
        let run_result = if plain != src_format {
            let mut relabeled = decoded.clone();
            relabeled.set_format(plain);
            context.run(&relabeled, &mut converted)
        } else {
            context.run(decoded, &mut converted)
        };
        run_result.map_err(ConvertError::Run)?;
        Ok(converted)
    }
}

/// The matrix and range [`Converter::convert`] uses for `decoded` (its own tags, else the
/// fallbacks, then [`decide`]'s rules, the height rule included).
pub fn decision_of(
    decoded: &ffmpeg::frame::Video,
    fallback_space: color::Space,
    fallback_range: color::Range,
) -> ColorDecision {
    plan(decoded, fallback_space, fallback_range).0
}

/// The matrix and range to convert `decoded` with (its own tags, else the fallbacks, then
/// [`decide`]'s rules) and whether it comes out RGB or RGBA.
fn plan(
    decoded: &ffmpeg::frame::Video,
    fallback_space: color::Space,
    fallback_range: color::Range,
) -> (ColorDecision, PixelLayout) {
    let format = decoded.format();
    let space = match decoded.color_space() {
        color::Space::Unspecified => fallback_space,
        s => s,
    };
    let range = match decoded.color_range() {
        color::Range::Unspecified => fallback_range,
        r => r,
    };
    let decision = decide(format, space, range, decoded.height());
    let layout = if pixel_format_depth(format).1 {
        PixelLayout::Rgba8
    } else {
        PixelLayout::Rgb8
    };
    (decision, layout)
}

/// The first `row_bytes` of each of `height` rows of a packed frame's plane (its stride
/// may pad rows).
fn packed_rows(
    frame: &ffmpeg::frame::Video,
    row_bytes: usize,
    height: u32,
) -> impl Iterator<Item = &[u8]> {
    let (stride, data) = (frame.stride(0), frame.data(0));
    (0..height as usize).map(move |row| &data[row * stride..row * stride + row_bytes])
}

/// Threads one conversion uses: the machine's cores, up to 4.
pub fn conversion_threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, std::num::NonZero::get)
            .min(4)
    })
}

fn build_context(key: ConverterKey) -> Result<scaling::Context, ConvertError> {
    let (plain, _) = unjpeg(key.format);
    let dst = match (key.layout, key.deep) {
        (PixelLayout::Rgb8, false) => Pixel::RGB24,
        (PixelLayout::Rgba8, false) => Pixel::RGBA,
        (PixelLayout::Rgb8, true) => Pixel::RGB48LE,
        (PixelLayout::Rgba8, true) => Pixel::RGBA64LE,
    };
    let flags = scaling::Flags::BICUBIC
        | scaling::Flags::ACCURATE_RND
        | scaling::Flags::FULL_CHR_H_INT
        | scaling::Flags::FULL_CHR_H_INP
        | scaling::Flags::BITEXACT;
    let mut context = scaling::Context::get(
        plain, key.width, key.height, dst, key.width, key.height, flags,
    )
    .map_err(|e| ConvertError::Unsupported(pixel_format_name(key.format), e))?;
    if key.decision.matrix != Matrix::Rgb {
        let src_range = i32::from(key.decision.range == Range::Full);
        // SAFETY: `context` owns a valid SwsContext; sws_getCoefficients returns a pointer into
        // swscale's static coefficient table, which sws_setColorspaceDetails only reads. The
        // destination is RGB, so the output table and range only matter as "full range".
        // ffmpeg-next has no safe wrapper for this call.
        unsafe {
            let table = ffmpeg::ffi::sws_getCoefficients(key.decision.matrix.sws_colorspace());
            ffmpeg::ffi::sws_setColorspaceDetails(
                context.as_mut_ptr(),
                table,
                src_range,
                table,
                1,
                0,
                1 << 16,
                1 << 16,
            );
        }
    }
    Ok(context)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix_bytes(m: [i32; 9]) -> Vec<u8> {
        m.iter().flat_map(|v| v.to_ne_bytes()).collect()
    }

    #[test]
    fn rotate_metadata_90_reads_as_clockwise_90() {
        // av_display_rotation_set(m, -90): what `-metadata:s:v rotate=90` writes.
        let m = [0, 65536, 0, -65536, 0, 0, 0, 0, 1 << 30];
        let o = Orientation::from_display_matrix(&matrix_bytes(m));
        assert_eq!(
            o,
            Orientation {
                rotate_cw: 90,
                hflip: false,
                vflip: false
            }
        );
    }

    #[test]
    fn rotation_moves_pixels_clockwise() {
        // 2x1: red, blue. Rotated 90 cw it is 1x2: red on top.
        let frame = Frame {
            index: 0,
            time_seconds: None,
            width: 2,
            height: 1,
            layout: PixelLayout::Rgb8,
            pixels: vec![255, 0, 0, 0, 0, 255],
        };
        let o = Orientation {
            rotate_cw: 90,
            hflip: false,
            vflip: false,
        };
        let r = o.apply(frame.clone());
        assert_eq!((r.width, r.height), (1, 2));
        assert_eq!(r.rgba_at(0, 0), Some([255, 0, 0, 255]));
        let o = Orientation {
            rotate_cw: 270,
            hflip: false,
            vflip: false,
        };
        let r = o.apply(frame);
        assert_eq!(r.rgba_at(0, 0), Some([0, 0, 255, 255]));
    }

    #[test]
    fn untagged_follows_height_rule() {
        let sd = decide(
            Pixel::YUV420P,
            color::Space::Unspecified,
            color::Range::Unspecified,
            480,
        );
        assert_eq!(
            sd,
            ColorDecision {
                matrix: Matrix::Bt601,
                range: Range::Limited
            }
        );
        let hd = decide(
            Pixel::YUV420P,
            color::Space::Unspecified,
            color::Range::Unspecified,
            720,
        );
        assert_eq!(hd.matrix, Matrix::Bt709);
        let j = decide(
            Pixel::YUVJ420P,
            color::Space::BT470BG,
            color::Range::Unspecified,
            480,
        );
        assert_eq!(j.range, Range::Full);
    }
}
