//! HDR (PQ and HLG) to SDR BT.709 by lookup tables, without libavfilter's float pipeline.
//!
//! It is the recipe of [`super::tonemap::filter_spec`], step by step as FFmpeg 5.1 with zimg
//! 3.0 runs it (`zscale` allows its approximate gamma by default):
//!
//! 1. Y'CbCr to R'G'B' with the stream's matrix and range (chroma upsampled bilinearly, as
//!    [`super::planar`] does);
//! 2. R'G'B' to linear light per channel through a table at zimg's steps (2^-15, nearest
//!    entry), sampled once from this FFmpeg's own `zscale`, scaled so that 1.0 is 100 nits (`npl=100`): PQ's EOTF
//!    times 100, HLG's inverse OETF to the power 1.2 (zimg's per-channel OOTF) times 10;
//! 3. the source primaries to BT.709's (a 3x3 matrix from the chromaticities, D65 white);
//! 4. `tonemap=hable:desat=0`: each pixel scaled by `hable(m) / hable(peak) / m`, where `m`
//!    is its largest component (floored at 1e-6), in single precision as FFmpeg does;
//! 5. BT.709's display transfer as zimg runs it (BT.1886's inverse, `x^(1/2.4)`), quantized
//!    to full-range 8 bits, by a table indexed by the value's own float bits (every 1/1024
//!    of an octave down to 2^-24, like zimg's half-float index).
//!
//! The tables are built once per stream and peak ([`ToneLut::new`], a few milliseconds) and
//! applied to the decoded planes in bands of rows on several threads. Formats and tags this
//! path does not take (12-bit, semi-planar, constant-luminance BT.2020, other primaries) go
//! through the filter graph ([`super::tonemap::ToneMapper`] decides).

use ffmpeg::util::color;
use ffmpeg_next as ffmpeg;

use super::color::{ColorDecision, Hdr, Matrix};
use super::planar::Rows;

/// The to-linear table: zimg's steps (2^-15) over [-1.5, 2.5], wider than zimg's own table
/// ([-0.5, 1.5]) because on AVX-512 zimg evaluates PQ beyond it, and legal 10-bit codes
/// reach R'G'B' from about -1 to 2. Plus one entry.
const LINEAR_PER_UNIT: f32 = 32768.0;
const LINEAR_LOW: f32 = -1.5;
const LINEAR_STEPS: usize = 4 << 15;
const LINEAR_ENTRIES: usize = LINEAR_STEPS + 1;

/// The display table covers floats from 2^-24 (its first entry) to 1.0 (its last) in steps
/// of 2^-10 of an octave: index = (float bits - LOWEST) / 2^13, rounded.
const DISPLAY_LOWEST_BITS: i32 = (127 - 24) << 23;
const DISPLAY_SHIFT: u32 = 13;
const DISPLAY_ENTRIES: usize = ((24 << 23) >> DISPLAY_SHIFT) + 1;

/// Colour primaries the tables convert from (all with a D65 white).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gamut {
    Bt709,
    Bt2020,
    /// SMPTE EG 432 (Display P3).
    P3D65,
}

impl Gamut {
    /// From a primaries tag; `None` for the ones this path leaves to the filter.
    pub fn of(primaries: color::Primaries) -> Option<Gamut> {
        match primaries {
            color::Primaries::BT709 => Some(Gamut::Bt709),
            color::Primaries::BT2020 => Some(Gamut::Bt2020),
            color::Primaries::SMPTE432 => Some(Gamut::P3D65),
            _ => None,
        }
    }

    /// R, G, B chromaticities (x, y), as zimg has them.
    fn xy(self) -> [[f64; 2]; 3] {
        match self {
            Gamut::Bt709 => [[0.640, 0.330], [0.300, 0.600], [0.150, 0.060]],
            Gamut::Bt2020 => [[0.708, 0.292], [0.170, 0.797], [0.131, 0.046]],
            Gamut::P3D65 => [[0.680, 0.320], [0.265, 0.690], [0.150, 0.060]],
        }
    }
}

/// What the tables are built for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LutKey {
    pub transfer: Hdr,
    pub gamut: Gamut,
    /// The tone map's peak in nits (rounded as the filter spec prints it).
    pub peak_nits: f64,
}

/// Lookup tables for one stream's transfer, primaries and peak.
pub struct ToneLut {
    key: LutKey,
    to_linear: Box<[f32; LINEAR_ENTRIES]>,
    to_display: Box<[u8; DISPLAY_ENTRIES]>,
    gamut: [[f32; 3]; 3],
    /// `hable(peak)`, the tone curve's divisor.
    hable_peak: f32,
}

/// Hable's filmic curve, as `vf_tonemap` writes it (single precision).
#[inline]
fn hable(x: f32) -> f32 {
    let (a, b, c, d, e, f) = (0.15f32, 0.50f32, 0.10f32, 0.20f32, 0.02f32, 0.30f32);
    (x * (x * a + b * c) + d * e) / (x * (x * a + b) + d * f) - e / f
}

/// SMPTE ST 2084's EOTF, normalized (1.0 = 10 000 nits), as zimg computes it.
fn pq_eotf(x: f32) -> f32 {
    const M1: f32 = 2610.0 / 16384.0;
    const M2: f32 = 2523.0 / 4096.0 * 128.0;
    const C1: f32 = 3424.0 / 4096.0;
    const C2: f32 = 2413.0 / 4096.0 * 32.0;
    const C3: f32 = 2392.0 / 4096.0 * 32.0;
    if x > 0.0 {
        let xpow = x.powf(1.0 / M2);
        let num = (xpow - C1).max(0.0);
        let den = (C2 - C3 * xpow).max(f32::MIN_POSITIVE);
        (num / den).powf(1.0 / M1)
    } else {
        0.0
    }
}

/// ARIB STD-B67's inverse OETF (scene light, 1.0 = peak), as zimg computes it.
fn hlg_inverse_oetf(x: f32) -> f32 {
    const A: f32 = 0.178_832_77;
    const B: f32 = 0.284_668_92;
    const C: f32 = 0.559_910_7;
    let x = x.max(0.0);
    if x <= 0.5 {
        x * x * (1.0 / 3.0)
    } else {
        (((x - C) / A).exp() + B) / 12.0
    }
}

/// Linear light (1.0 = 100 nits) of one non-linear component.
fn to_linear(transfer: Hdr, x: f32) -> f32 {
    match transfer {
        // ST 2084's peak is 10 000 nits: 100 x the reference white.
        Hdr::Pq => pq_eotf(x) * 100.0,
        // zimg's per-channel OOTF (gamma 1.2) for a 1000-nit display: 10 x the reference.
        Hdr::Hlg => {
            let scene = hlg_inverse_oetf(x);
            let display = if scene < 0.0 { scene } else { scene.powf(1.2) };
            display * 10.0
        }
    }
}

type Matrix3 = [[f64; 3]; 3];

fn multiply(a: &Matrix3, b: &Matrix3) -> Matrix3 {
    std::array::from_fn(|i| std::array::from_fn(|j| (0..3).map(|k| a[i][k] * b[k][j]).sum()))
}

fn inverse(m: &Matrix3) -> Matrix3 {
    let cofactor = |r: usize, c: usize| {
        let (r1, r2) = ((r + 1) % 3, (r + 2) % 3);
        let (c1, c2) = ((c + 1) % 3, (c + 2) % 3);
        m[r1][c1] * m[r2][c2] - m[r1][c2] * m[r2][c1]
    };
    let det: f64 = (0..3).map(|c| m[0][c] * cofactor(0, c)).sum();
    std::array::from_fn(|i| std::array::from_fn(|j| cofactor(j, i) / det))
}

/// RGB to XYZ for primaries with a D65 white (Lindbloom's construction, as zimg's).
fn rgb_to_xyz(gamut: Gamut) -> Matrix3 {
    let xyz = |[x, y]: [f64; 2]| [x / y, 1.0, (1.0 - x - y) / y];
    let columns = gamut.xy().map(xyz);
    let primaries: Matrix3 = std::array::from_fn(|i| std::array::from_fn(|j| columns[j][i]));
    let white = xyz([0.3127, 0.3290]);
    let inv = inverse(&primaries);
    let s: [f64; 3] = std::array::from_fn(|i| (0..3).map(|k| inv[i][k] * white[k]).sum());
    std::array::from_fn(|i| std::array::from_fn(|j| primaries[i][j] * s[j]))
}

/// Linear `from` RGB to linear BT.709 RGB.
fn gamut_matrix(from: Gamut) -> [[f32; 3]; 3] {
    let m = multiply(&inverse(&rgb_to_xyz(Gamut::Bt709)), &rgb_to_xyz(from));
    m.map(|row| row.map(|v| v as f32))
}

/// The peak the filter spec prints (`peak=%.4f` in units of 100 nits), back in nits.
pub fn filter_peak_nits(peak_nits: f64) -> f64 {
    (peak_nits / 100.0 * 10_000.0).round() / 100.0
}

/// The non-linear value of to-linear table entry `i`.
fn linear_entry_input(i: usize) -> f32 {
    i as f32 / LINEAR_PER_UNIT + LINEAR_LOW
}

/// The to-linear table as this machine's zscale computes it: every entry's input run once
/// through `zscale=t=linear:npl=100` (zimg picks a table on AVX2 machines and piecewise
/// polynomials on AVX-512 ones for PQ, which disagree far above 1.0, on signals that no RGB
/// makes but that chroma edges do). `None` when the graph cannot run.
fn sampled_to_linear(transfer: Hdr) -> Option<Box<[f32; LINEAR_ENTRIES]>> {
    const WIDTH: u32 = 257;
    let height = (LINEAR_ENTRIES as u32).div_ceil(WIDTH);
    let format = ffmpeg::format::Pixel::GBRPF32LE;
    let mut input = ffmpeg::frame::Video::new(format, WIDTH, height);
    for plane in 0..3 {
        let stride = input.stride(plane);
        let data = input.data_mut(plane);
        for i in 0..(WIDTH * height) as usize {
            let at = (i / WIDTH as usize) * stride + (i % WIDTH as usize) * 4;
            let x = linear_entry_input(i.min(LINEAR_STEPS));
            data.get_mut(at..at + 4)?.copy_from_slice(&x.to_le_bytes());
        }
    }
    input.set_color_space(color::Space::RGB);
    input.set_color_range(color::Range::JPEG);
    input.set_color_primaries(color::Primaries::BT2020);
    input.set_color_transfer_characteristic(match transfer {
        Hdr::Pq => color::TransferCharacteristic::SMPTE2084,
        Hdr::Hlg => color::TransferCharacteristic::ARIB_STD_B67,
    });
    input.set_pts(Some(0));
    let args =
        format!("video_size={WIDTH}x{height}:pix_fmt=gbrpf32le:time_base=1/1:pixel_aspect=1/1");
    let mut graph =
        super::graph::single_chain(&args, "zscale=t=linear:npl=100,format=gbrpf32le").ok()?;
    graph.get("in")?.source().add(&input).ok()?;
    let mut output = ffmpeg::frame::Video::empty();
    graph.get("out")?.sink().frame(&mut output).ok()?;
    if output.format() != format || output.width() != WIDTH || output.height() != height {
        return None;
    }
    let stride = output.stride(0);
    let data = output.data(0);
    let mut table = Box::new([0f32; LINEAR_ENTRIES]);
    for (i, entry) in table.iter_mut().enumerate() {
        let at = (i / WIDTH as usize) * stride + (i % WIDTH as usize) * 4;
        *entry = f32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?);
    }
    Some(table)
}

impl ToneLut {
    /// Builds the tables for `key` (its peak is used as given), the to-linear one sampled
    /// from this FFmpeg's own `zscale` where it runs, else from the formulas.
    pub fn new(key: LutKey) -> ToneLut {
        let linear_table = sampled_to_linear(key.transfer).unwrap_or_else(|| {
            tracing::debug!("zscale did not run: the HDR tables use the formulas");
            ToneLut::formula_to_linear(key.transfer)
        });
        ToneLut::with_linear_table(key, linear_table)
    }

    /// The to-linear table from the formulas (zimg's approximate-gamma table on AVX2).
    fn formula_to_linear(transfer: Hdr) -> Box<[f32; LINEAR_ENTRIES]> {
        let mut linear_table = Box::new([0f32; LINEAR_ENTRIES]);
        for (i, entry) in linear_table.iter_mut().enumerate() {
            // zimg's own table clamps its input to [-0.5, 1.5].
            *entry = to_linear(transfer, linear_entry_input(i).clamp(-0.5, 1.5));
        }
        linear_table
    }

    fn with_linear_table(key: LutKey, linear_table: Box<[f32; LINEAR_ENTRIES]>) -> ToneLut {
        let mut to_display = Box::new([0u8; DISPLAY_ENTRIES]);
        for (i, entry) in to_display.iter_mut().enumerate() {
            let x = f32::from_bits((DISPLAY_LOWEST_BITS + ((i as i32) << DISPLAY_SHIFT)) as u32);
            // BT.1886's inverse EOTF (zimg's display-referred BT.709), then 8 bits.
            let level = (x.powf(1.0 / 2.4) * 255.0).round_ties_even();
            *entry = level.clamp(0.0, 255.0) as u8;
        }
        ToneLut {
            key,
            to_linear: linear_table,
            to_display,
            gamut: gamut_matrix(key.gamut),
            hable_peak: hable((key.peak_nits / 100.0) as f32),
        }
    }

    pub fn key(&self) -> LutKey {
        self.key
    }

    /// The tables and constants, for a display that runs the same steps itself (the GPU
    /// shader, [`super::display_planes`]).
    pub fn tables(&self) -> super::display_planes::ToneTables<'_> {
        super::display_planes::ToneTables {
            to_linear: &self.to_linear[..],
            linear_low: LINEAR_LOW,
            linear_per_unit: LINEAR_PER_UNIT,
            to_display: &self.to_display[..],
            display_lowest_bits: DISPLAY_LOWEST_BITS,
            display_shift: DISPLAY_SHIFT,
            gamut: self.gamut,
            hable_peak: self.hable_peak,
        }
    }

    /// Whether [`ToneLut::map`] takes a frame of `format` converted with `decision`.
    pub fn supports(format: ffmpeg::format::Pixel, decision: ColorDecision) -> bool {
        decision.matrix != Matrix::Rgb && super::planar::supports(format, decision)
    }

    /// Tone-maps a decoded planar YUV frame to packed RGB (3 bytes a pixel, rows without
    /// padding) on `threads` threads. `None` when its format is not one this path takes.
    pub fn map(
        &self,
        decoded: &ffmpeg::frame::Video,
        decision: ColorDecision,
        threads: usize,
    ) -> Option<Vec<u8>> {
        super::planar::to_rgb_with(decoded, decision, threads, |k, rows, out_row| {
            self.map_row(k, rows, out_row);
        })
    }

    /// One row: the three passes work over whole rows so the arithmetic one vectorizes.
    fn map_row(&self, k: super::planar::Coefficients, rows: &mut Rows, out_row: &mut [u8]) {
        // zimg's rounding to its lattice, x * 2^15 (+ the table's offset); x = level / 255.
        let scale = LINEAR_PER_UNIT / 255.0;
        let offset = -LINEAR_LOW * LINEAR_PER_UNIT;
        // Round to nearest, ties to even (as zimg's conversion does) by adding 1.5 x 2^23:
        // the float's low mantissa bits then hold the integer. `round_ties_even()` is a libm
        // call on baseline x86-64 and cost more than the rest of the pixel.
        let linear = |level: f32| {
            let v = (level * scale + offset).clamp(0.0, LINEAR_STEPS as f32);
            let index = (v + 12_582_912.0).to_bits().wrapping_sub(0x4B40_0000) as usize;
            self.to_linear[index.min(LINEAR_STEPS)]
        };
        let [r, g, b] = &mut rows.work;
        for (((rv, gv), bv), ((&y, &cb), &cr)) in r
            .iter_mut()
            .zip(g.iter_mut())
            .zip(b.iter_mut())
            .zip(rows.luma.iter().zip(&rows.cb).zip(&rows.cr))
        {
            let [rl, gl, bl] = k.rgb_levels(y, cb, cr);
            *rv = linear(rl);
            *gv = linear(gl);
            *bv = linear(bl);
        }
        let m = self.gamut;
        let hable_peak = self.hable_peak;
        for ((rv, gv), bv) in r.iter_mut().zip(g.iter_mut()).zip(b.iter_mut()) {
            let (r0, g0, b0) = (*rv, *gv, *bv);
            let r1 = m[0][0] * r0 + m[0][1] * g0 + m[0][2] * b0;
            let g1 = m[1][0] * r0 + m[1][1] * g0 + m[1][2] * b0;
            let b1 = m[2][0] * r0 + m[2][1] * g0 + m[2][2] * b0;
            let sig = r1.max(g1).max(b1).max(1e-6);
            let ratio = (hable(sig) / hable_peak) / sig;
            *rv = r1 * ratio;
            *gv = g1 * ratio;
            *bv = b1 * ratio;
        }
        let display = |v: f32| {
            // Negative floats have the sign bit set: as i32 they sort below every positive.
            let bits = v.to_bits() as i32;
            let index = (bits.saturating_sub(DISPLAY_LOWEST_BITS) + (1 << (DISPLAY_SHIFT - 1)))
                >> DISPLAY_SHIFT;
            self.to_display[index.clamp(0, DISPLAY_ENTRIES as i32 - 1) as usize]
        };
        for (pixel, ((&rv, &gv), &bv)) in out_row
            .chunks_exact_mut(3)
            .zip(r.iter().zip(g.iter()).zip(b.iter()))
        {
            pixel[0] = display(rv);
            pixel[1] = display(gv);
            pixel[2] = display(bv);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bt2020_to_bt709_is_the_published_matrix() {
        // ITU-R BT.2087's linear BT.2020 to BT.709 matrix.
        let want = [
            [1.6605, -0.5876, -0.0728],
            [-0.1246, 1.1329, -0.0083],
            [-0.0182, -0.1006, 1.1187],
        ];
        let got = gamut_matrix(Gamut::Bt2020);
        for (row, want_row) in got.iter().zip(want) {
            for (v, w) in row.iter().zip(want_row) {
                assert!((f64::from(*v) - w).abs() < 2e-4, "{got:?}");
            }
        }
        let identity = gamut_matrix(Gamut::Bt709);
        assert!((identity[1][1] - 1.0).abs() < 1e-6 && identity[0][1].abs() < 1e-6);
    }

    #[test]
    fn transfer_anchors() {
        // PQ 0.5081 is 100 nits (1.0 linear); HLG 1.0 is the display's 1000 nits.
        assert!((to_linear(Hdr::Pq, 0.508_078) - 1.0).abs() < 1e-3);
        assert!((to_linear(Hdr::Pq, 1.0) - 100.0).abs() < 1e-2);
        assert!((to_linear(Hdr::Hlg, 1.0) - 10.0).abs() < 1e-3);
        assert_eq!(to_linear(Hdr::Pq, -0.2), 0.0);
        assert_eq!(filter_peak_nits(1000.0), 1000.0);
        assert_eq!(filter_peak_nits(123.456_78), 123.46);
    }

    #[test]
    fn display_table_is_bt1886_inverse_at_every_level() {
        let lut = ToneLut::new(LutKey {
            transfer: Hdr::Pq,
            gamut: Gamut::Bt709,
            peak_nits: 1000.0,
        });
        let display = |v: f32| {
            let bits = v.to_bits() as i32;
            let index = (bits.saturating_sub(DISPLAY_LOWEST_BITS) + (1 << (DISPLAY_SHIFT - 1)))
                >> DISPLAY_SHIFT;
            lut.to_display[index.clamp(0, DISPLAY_ENTRIES as i32 - 1) as usize]
        };
        for i in 0..=100_000 {
            let v = i as f32 / 100_000.0;
            let want = (v.powf(1.0 / 2.4) * 255.0).round() as i32;
            assert!((i32::from(display(v)) - want).abs() <= 1, "{v}");
        }
        assert_eq!(display(-0.5), 0);
        assert_eq!(display(7.0), 255);
    }
}
