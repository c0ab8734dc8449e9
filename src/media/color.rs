//! YUV (or any FFmpeg pixel format) to RGB/RGBA with the right matrix, range and bit depth,
//! and display rotation.
//!
//! Rules: the stream's tagged matrix (BT.601, BT.709, BT.2020, ...) and range (limited or
//! full, including the `yuvj*` formats) are used. Untagged streams get BT.709 from 720 lines
//! up and BT.601 below; an untagged range is limited for YUV. swscale runs with
//! `SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT`, which measured within one level of the exact
//! result on flat patches (the default paths are 2-3 levels off).

use ffmpeg::format::Pixel;
use ffmpeg::software::scaling;
use ffmpeg::util::color;
use ffmpeg_next as ffmpeg;
use serde::Serialize;

use crate::frame::{Frame, PixelLayout};

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
}

/// What a conversion actually uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ColorDecision {
    pub matrix: Matrix,
    pub range: Range,
}

/// Display orientation from the stream's display matrix, in the order FFmpeg's `autorotate`
/// applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Orientation {
    /// Clockwise rotation to apply for display: 0, 90, 180 or 270.
    pub rotate_cw: u16,
    /// Mirror left-right after rotating.
    pub hflip: bool,
    /// Mirror top-bottom after rotating.
    pub vflip: bool,
}

impl Orientation {
    /// Reads an FFmpeg display matrix (nine 16.16/2.30 fixed-point `i32`, native endian).
    /// Follows `fftools` `get_rotation` + `autorotate`: 90/180/270 with flips, else identity.
    pub fn from_display_matrix(bytes: &[u8]) -> Orientation {
        if bytes.len() < 36 {
            return Orientation::default();
        }
        let mut m = [0i32; 9];
        for (i, v) in m.iter_mut().enumerate() {
            let mut word = [0u8; 4];
            word.copy_from_slice(&bytes[i * 4..i * 4 + 4]);
            *v = i32::from_ne_bytes(word);
        }
        let scale0 = (m[0] as f64).hypot(m[3] as f64);
        let scale1 = (m[1] as f64).hypot(m[4] as f64);
        if scale0 == 0.0 || scale1 == 0.0 {
            return Orientation::default();
        }
        // get_rotation() = -round(av_display_rotation_get()) = round(atan2(m1, m0)).
        let mut theta = (m[1] as f64 / scale1)
            .atan2(m[0] as f64 / scale0)
            .to_degrees()
            .round();
        theta -= 360.0 * (theta / 360.0 + 0.9 / 360.0).floor();
        let near = |a: f64| (theta - a).abs() < 1.0;
        if near(90.0) {
            // transpose=clock, or cclock_flip (rotate 270 cw, then vflip) when mirrored.
            if m[3] > 0 {
                Orientation {
                    rotate_cw: 270,
                    hflip: false,
                    vflip: true,
                }
            } else {
                Orientation {
                    rotate_cw: 90,
                    hflip: false,
                    vflip: false,
                }
            }
        } else if near(180.0) {
            Orientation {
                rotate_cw: 0,
                hflip: m[0] < 0,
                vflip: m[4] < 0,
            }
        } else if near(270.0) {
            // transpose=cclock, or clock_flip (rotate 90 cw, then vflip) when mirrored.
            if m[3] < 0 {
                Orientation {
                    rotate_cw: 90,
                    hflip: false,
                    vflip: true,
                }
            } else {
                Orientation {
                    rotate_cw: 270,
                    hflip: false,
                    vflip: false,
                }
            }
        } else {
            Orientation {
                rotate_cw: 0,
                hflip: false,
                vflip: m[4] < 0,
            }
        }
    }

    pub fn is_identity(self) -> bool {
        self == Orientation::default()
    }

    /// Size after applying this orientation to a `width` x `height` picture.
    pub fn display_size(self, width: u32, height: u32) -> (u32, u32) {
        if self.rotate_cw % 180 == 90 {
            (height, width)
        } else {
            (width, height)
        }
    }

    /// Where display pixel (dx, dy) comes from in a stored `src_w` x `src_h` picture: undo
    /// the flips, then the rotation.
    pub fn stored_position(
        self,
        dx: usize,
        dy: usize,
        src_w: usize,
        src_h: usize,
    ) -> (usize, usize) {
        let (dst_w, dst_h) = if self.rotate_cw % 180 == 90 {
            (src_h, src_w)
        } else {
            (src_w, src_h)
        };
        let rx = if self.hflip { dst_w - 1 - dx } else { dx };
        let ry = if self.vflip { dst_h - 1 - dy } else { dy };
        match self.rotate_cw {
            90 => (ry, src_h - 1 - rx),
            180 => (src_w - 1 - rx, src_h - 1 - ry),
            270 => (src_w - 1 - ry, rx),
            _ => (rx, ry),
        }
    }

    /// Applies the orientation to a frame's pixels.
    pub fn apply(self, frame: Frame) -> Frame {
        if self.is_identity() {
            return frame;
        }
        let (src_w, src_h) = (frame.width as usize, frame.height as usize);
        let (dst_w, dst_h) = self.display_size(frame.width, frame.height);
        let (dst_w, dst_h) = (dst_w as usize, dst_h as usize);
        let channels = frame.layout.channels();
        let mut out = vec![0u8; frame.pixels.len()];
        for dy in 0..dst_h {
            for dx in 0..dst_w {
                let (sx, sy) = self.stored_position(dx, dy, src_w, src_h);
                let s = (sy * src_w + sx) * channels;
                let d = (dy * dst_w + dx) * channels;
                out[d..d + channels].copy_from_slice(&frame.pixels[s..s + channels]);
            }
        }
        Frame {
            width: dst_w as u32,
            height: dst_h as u32,
            pixels: out,
            ..frame
        }
    }
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

/// The decoded samples behind a frame (Y, U, V or whatever the format holds), kept for the
/// pixel inspector. Any layout FFmpeg describes (planar, semi-planar, packed) is read through
/// its pixel-format descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSamples {
    pub pixel_format: String,
    pub width: u32,
    pub height: u32,
    pub bit_depth: u8,
    /// Orientation applied to the frame shown, to map display positions back.
    pub orientation: Orientation,
    planes: Vec<(Vec<u8>, usize)>,
    components: Vec<SampleComponent>,
    chroma_shift: (u8, u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SampleComponent {
    plane: usize,
    step: usize,
    offset: usize,
    shift: u32,
    depth: u32,
}

impl SourceSamples {
    /// Copies the samples of a decoded frame; `None` for formats without a descriptor.
    pub fn capture(
        decoded: &ffmpeg::frame::Video,
        orientation: Orientation,
    ) -> Option<SourceSamples> {
        let desc = decoded.format().descriptor()?;
        // SAFETY: `descriptor()` returned FFmpeg's static descriptor for this format.
        let raw = unsafe { &*desc.as_ptr() };
        let count = usize::from(raw.nb_components).min(3);
        let components: Vec<SampleComponent> = raw.comp[..count]
            .iter()
            .map(|c| SampleComponent {
                plane: c.plane as usize,
                step: c.step.max(1) as usize,
                offset: c.offset.max(0) as usize,
                shift: c.shift.max(0) as u32,
                depth: c.depth.max(1) as u32,
            })
            .collect();
        let chroma_shift = (raw.log2_chroma_w, raw.log2_chroma_h);
        let plane_count = components
            .iter()
            .map(|c| c.plane + 1)
            .max()
            .unwrap_or(0)
            .min(decoded.planes());
        let planes = (0..plane_count)
            .map(|p| {
                let rows = if p == 0 {
                    decoded.height() as usize
                } else {
                    (decoded.height() as usize).div_ceil(1 << chroma_shift.1)
                };
                let stride = decoded.stride(p);
                let data = decoded.data(p);
                (data[..(stride * rows).min(data.len())].to_vec(), stride)
            })
            .collect();
        Some(SourceSamples {
            pixel_format: pixel_format_name(decoded.format()),
            width: decoded.width(),
            height: decoded.height(),
            bit_depth: components.first().map_or(8, |c| c.depth as u8),
            orientation,
            planes,
            components,
            chroma_shift,
        })
    }

    /// The stored sample values under display pixel (x, y), one per component.
    pub fn at_display(&self, x: u32, y: u32) -> Option<Vec<u16>> {
        let (dw, dh) = self.orientation.display_size(self.width, self.height);
        if x >= dw || y >= dh {
            return None;
        }
        let (sx, sy) = self.orientation.stored_position(
            x as usize,
            y as usize,
            self.width as usize,
            self.height as usize,
        );
        self.components
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let (cx, cy) = if i == 0 || self.components.len() < 3 {
                    (sx, sy)
                } else {
                    (sx >> self.chroma_shift.0, sy >> self.chroma_shift.1)
                };
                let (data, stride) = self.planes.get(c.plane)?;
                let at = cy * stride + cx * c.step + c.offset;
                let word = if c.depth + c.shift > 8 {
                    u32::from(u16::from_le_bytes([*data.get(at)?, *data.get(at + 1)?]))
                } else {
                    u32::from(*data.get(at)?)
                };
                Some(((word >> c.shift) & ((1 << c.depth) - 1)) as u16)
            })
            .collect()
    }

    /// Bytes held, for cache budgets.
    pub fn byte_size(&self) -> usize {
        self.planes.iter().map(|(p, _)| p.len()).sum()
    }
}

/// Key that says when a cached swscale context can be reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ConverterKey {
    format: Pixel,
    width: u32,
    height: u32,
    decision: ColorDecision,
    layout: PixelLayout,
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
        let space = match decoded.color_space() {
            color::Space::Unspecified => fallback_space,
            s => s,
        };
        let range = match decoded.color_range() {
            color::Range::Unspecified => fallback_range,
            r => r,
        };
        let (width, height) = (decoded.width(), decoded.height());
        let decision = decide(src_format, space, range, height);
        let (_, has_alpha) = pixel_format_depth(src_format);
        let layout = if has_alpha {
            PixelLayout::Rgba8
        } else {
            PixelLayout::Rgb8
        };
        let key = ConverterKey {
            format: src_format,
            width,
            height,
            decision,
            layout,
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

        let channels = layout.channels();
        let row_bytes = width as usize * channels;
        let stride = converted.stride(0);
        let data = converted.data(0);
        let mut pixels = Vec::with_capacity(row_bytes * height as usize);
        for row in 0..height as usize {
            pixels.extend_from_slice(&data[row * stride..row * stride + row_bytes]);
        }
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
}

fn build_context(key: ConverterKey) -> Result<scaling::Context, ConvertError> {
    let (plain, _) = unjpeg(key.format);
    let dst = match key.layout {
        PixelLayout::Rgb8 => Pixel::RGB24,
        PixelLayout::Rgba8 => Pixel::RGBA,
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
