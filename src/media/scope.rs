//! Scopes for one frame: luma waveform, RGB parade, vectorscope and histogram, computed from
//! the decoded signal (not from the tone-mapped picture) and rendered to RGBA images. No UI:
//! the CLI writes them as PNGs, the app shows them.
//!
//! - Waveform: one column per band of picture columns, luma code value upwards. SDR streams
//!   get graticule lines every 10% of the nominal range; PQ and HLG streams get them at
//!   1, 10, 100, 1000 (and 10 000 for PQ) nits, placed by the transfer (PQ absolute; HLG for
//!   a 1000-nit display, BT.2100's reference), so the scale reads in nits.
//! - Parade: the shown frame's R, G and B side by side, 0-255 upwards.
//! - Vectorscope: Cb rightwards, Cr upwards, full chroma range edge to edge, with the target
//!   boxes of 75% colour bars (R, Mg, B, Cy, G, Yl) for BT.709 (white) and BT.2020 (orange).
//! - Histogram: luma (grey) and the shown R, G, B, 256 bins each, counts scaled to the tallest.

use ffmpeg_next as ffmpeg;

use super::color::{ColorDecision, Hdr, Matrix, Range};
use super::planar::{CHROMA_STEPS, Planar};
use crate::frame::Frame;

/// Which scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeKind {
    Waveform,
    Parade,
    Vectorscope,
    Histogram,
}

impl ScopeKind {
    pub const ALL: [ScopeKind; 4] = [
        ScopeKind::Waveform,
        ScopeKind::Parade,
        ScopeKind::Vectorscope,
        ScopeKind::Histogram,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ScopeKind::Waveform => "waveform",
            ScopeKind::Parade => "parade",
            ScopeKind::Vectorscope => "vectorscope",
            ScopeKind::Histogram => "histogram",
        }
    }
}

/// Why scopes could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum ScopeError {
    #[error("scopes read planar 8- or 10-bit YUV; this frame is {0}")]
    UnsupportedFormat(String),
    #[error("scopes need a YUV matrix; this frame is RGB")]
    NotYuv,
}

/// Rows of the waveform and the parade (code values mapped onto them).
pub const LEVEL_ROWS: usize = 256;
/// Side of the vectorscope.
pub const VECTOR_SIDE: usize = 256;
/// Columns of the waveform.
pub const WAVEFORM_COLUMNS: usize = 512;

/// What the scopes count, before rendering.
#[derive(Debug, Clone)]
pub struct ScopeData {
    /// `[column][row]` counts, row 0 = black (bottom of the image).
    pub waveform: Vec<[u32; LEVEL_ROWS]>,
    /// `[channel][column][row]` from the shown RGB.
    pub parade: [Vec<[u32; LEVEL_ROWS]>; 3],
    /// `[y][x]` counts, x = Cb (left -0.5 to right +0.5), y = Cr (top +0.5 to bottom -0.5).
    pub vectorscope: Vec<u32>,
    /// Luma, R, G, B histograms (256 bins of normalized signal).
    pub histogram: [[u32; 256]; 4],
    /// Graticule rows of the waveform and what they mean ("100 nits", "50%").
    pub graticule: Vec<(usize, String)>,
}

/// A rendered scope.
#[derive(Debug, Clone)]
pub struct ScopeImage {
    pub kind: ScopeKind,
    pub width: u32,
    pub height: u32,
    /// Straight RGBA, rows top first.
    pub rgba: Vec<u8>,
}

/// The row (0 = bottom) of a normalized value in [0, 1].
fn level_row(v: f32) -> usize {
    ((v.clamp(0.0, 1.0) * (LEVEL_ROWS - 1) as f32).round()) as usize
}

/// The vectorscope cell of normalized chroma (each in [-0.5, 0.5]): (x, y from the top).
pub fn vector_cell(cb: f32, cr: f32) -> (usize, usize) {
    let side = (VECTOR_SIDE - 1) as f32;
    let x = ((cb + 0.5).clamp(0.0, 1.0) * side).round() as usize;
    let y = ((0.5 - cr).clamp(0.0, 1.0) * side).round() as usize;
    (x, y)
}

/// Normalized Cb, Cr of 75% colour bars (R, Mg, B, Cy, G, Yl) under `(Kr, Kb)`.
pub fn bar_targets(kr: f32, kb: f32) -> [(f32, f32); 6] {
    let bar = |r: f32, g: f32, b: f32| {
        let (r, g, b) = (0.75 * r, 0.75 * g, 0.75 * b);
        let y = kr * r + (1.0 - kr - kb) * g + kb * b;
        ((b - y) / (2.0 * (1.0 - kb)), (r - y) / (2.0 * (1.0 - kr)))
    };
    [
        bar(1.0, 0.0, 0.0),
        bar(1.0, 0.0, 1.0),
        bar(0.0, 0.0, 1.0),
        bar(0.0, 1.0, 1.0),
        bar(0.0, 1.0, 0.0),
        bar(1.0, 1.0, 0.0),
    ]
}

/// Waveform graticule: rows and labels for the stream's transfer.
fn graticule(hdr: Option<Hdr>) -> Vec<(usize, String)> {
    match hdr {
        None => (0..=10)
            .map(|i| (level_row(i as f32 / 10.0), format!("{}%", i * 10)))
            .collect(),
        Some(hdr) => {
            let nits: &[f32] = match hdr {
                Hdr::Pq => &[1.0, 10.0, 100.0, 1000.0, 10_000.0],
                Hdr::Hlg => &[1.0, 10.0, 100.0, 1000.0],
            };
            nits.iter()
                .map(|&n| (level_row(signal_of_nits(hdr, n)), format!("{n} nits")))
                .collect()
        }
    }
}

/// The non-linear signal (0-1) that shows `nits`: PQ's inverse EOTF; HLG's OETF of the scene
/// light a 1000-nit display shows as `nits` (system gamma 1.2).
pub fn signal_of_nits(hdr: Hdr, nits: f32) -> f32 {
    match hdr {
        Hdr::Pq => {
            let (m1, m2) = (2610.0 / 16384.0, 2523.0 / 4096.0 * 128.0);
            let (c1, c2, c3) = (
                3424.0 / 4096.0,
                2413.0 / 4096.0 * 32.0,
                2392.0 / 4096.0 * 32.0,
            );
            let y = (nits / 10_000.0).max(0.0).powf(m1);
            ((c1 + c2 * y) / (1.0 + c3 * y)).powf(m2)
        }
        Hdr::Hlg => {
            let scene = (nits / 1000.0).max(0.0).powf(1.0 / 1.2);
            let (a, b, c) = (0.178_832_77f32, 0.284_668_92f32, 0.559_910_7f32);
            if scene <= 1.0 / 12.0 {
                (3.0 * scene).sqrt()
            } else {
                a * (12.0 * scene - b).ln() + c
            }
        }
    }
}

/// (Kr, Kb) of a matrix at the scopes' precision.
fn kr_kb(matrix: Matrix) -> Option<(f32, f32)> {
    matrix.kr_kb().map(|(kr, kb)| (kr as f32, kb as f32))
}

impl ScopeData {
    /// Counts the scopes of `decoded` (read with `decision`; `hdr` its transfer when HDR) and
    /// of `shown`, the frame as displayed (unrotated), for the parade. `shown` may be smaller
    /// than `decoded` (the player's display-size frames while playing): each decoded pixel
    /// then reads the shown pixel it was scaled into.
    pub fn compute(
        decoded: &ffmpeg::frame::Video,
        decision: ColorDecision,
        hdr: Option<Hdr>,
        shown: &Frame,
    ) -> Result<ScopeData, ScopeError> {
        if decision.matrix == Matrix::Rgb {
            return Err(ScopeError::NotYuv);
        }
        let planar = Planar::of(decoded).ok_or_else(|| {
            ScopeError::UnsupportedFormat(super::color::pixel_format_name(decoded.format()))
        })?;
        let (width, height) = (planar.width(), planar.height());
        let scale = (1u32 << (planar.depth() - 8)) as f32;
        let max = ((1u32 << planar.depth()) - 1) as f32;
        let (luma_low, luma_span, chroma_span) = match decision.range {
            Range::Limited => (16.0 * scale, 219.0 * scale, 224.0 * scale),
            Range::Full => (0.0, max, max),
        };
        let chroma_unit = 1.0 / (chroma_span * CHROMA_STEPS as f32);
        let columns = WAVEFORM_COLUMNS.min(width);
        let mut data = ScopeData {
            waveform: vec![[0; LEVEL_ROWS]; columns],
            parade: std::array::from_fn(|_| vec![[0; LEVEL_ROWS]; columns]),
            vectorscope: vec![0; VECTOR_SIDE * VECTOR_SIDE],
            histogram: [[0; 256]; 4],
            graticule: graticule(hdr),
        };
        let (shown_w, shown_h) = (shown.width as usize, shown.height as usize);
        let mut rows = planar.rows();
        for y in 0..height {
            planar.read_row(y, &mut rows);
            let shown_y = (y * shown_h / height) as u32;
            for x in 0..width {
                let column = x * columns / width;
                let luma = (f32::from(rows.luma[x]) - luma_low) / luma_span;
                data.waveform[column][level_row(luma)] += 1;
                data.histogram[0][level_row(luma)] += 1;
                let (cb, cr) = (
                    rows.cb[x] as f32 * chroma_unit,
                    rows.cr[x] as f32 * chroma_unit,
                );
                let (vx, vy) = vector_cell(cb, cr);
                data.vectorscope[vy * VECTOR_SIDE + vx] += 1;
                if let Some(pixel) = shown.rgba_at((x * shown_w / width) as u32, shown_y) {
                    for (c, &value) in pixel[..3].iter().enumerate() {
                        data.parade[c][column][usize::from(value)] += 1;
                        data.histogram[c + 1][usize::from(value)] += 1;
                    }
                }
            }
        }
        Ok(data)
    }

    /// The scope drawn as an image.
    pub fn render(&self, kind: ScopeKind) -> ScopeImage {
        match kind {
            ScopeKind::Waveform => self.render_levels(kind, &[(&self.waveform, [235, 235, 235])]),
            ScopeKind::Parade => self.render_levels(
                kind,
                &[
                    (&self.parade[0], [255, 70, 70]),
                    (&self.parade[1], [70, 255, 70]),
                    (&self.parade[2], [90, 120, 255]),
                ],
            ),
            ScopeKind::Vectorscope => self.render_vectorscope(),
            ScopeKind::Histogram => self.render_histogram(),
        }
    }

    fn render_levels(
        &self,
        kind: ScopeKind,
        panels: &[(&Vec<[u32; LEVEL_ROWS]>, [u8; 3])],
    ) -> ScopeImage {
        let columns = panels.first().map_or(0, |(p, _)| p.len());
        let width = columns * panels.len();
        let mut image = Canvas::new(width, LEVEL_ROWS);
        let graticule_rows: Vec<usize> = if kind == ScopeKind::Waveform {
            self.graticule.iter().map(|(row, _)| *row).collect()
        } else {
            (0..=4).map(|i| level_row(i as f32 / 4.0)).collect()
        };
        for row in graticule_rows {
            for x in 0..width {
                image.set(x, LEVEL_ROWS - 1 - row, [90, 70, 20]);
            }
        }
        for (panel, (counts, colour)) in panels.iter().enumerate() {
            let peak = counts
                .iter()
                .flat_map(|c| c.iter())
                .copied()
                .max()
                .unwrap_or(0);
            for (column, levels) in counts.iter().enumerate() {
                for (row, &n) in levels.iter().enumerate() {
                    if n > 0 {
                        let x = panel * columns + column;
                        image.set(x, LEVEL_ROWS - 1 - row, intensity(*colour, n, peak));
                    }
                }
            }
        }
        image.finish(kind)
    }

    fn render_vectorscope(&self) -> ScopeImage {
        let side = VECTOR_SIDE;
        let mut image = Canvas::new(side, side);
        let centre = (side - 1) as f32 / 2.0;
        for i in 0..720 {
            let angle = i as f32 / 720.0 * std::f32::consts::TAU;
            for radius in [centre * 0.75, centre] {
                let x = (centre + radius * angle.cos()).round() as usize;
                let y = (centre + radius * angle.sin()).round() as usize;
                image.set(x, y, [60, 60, 60]);
            }
        }
        for x in 0..side {
            image.set(x, side / 2, [50, 50, 50]);
            image.set(side / 2, x, [50, 50, 50]);
        }
        for (matrix, colour) in [
            (Matrix::Bt709, [230, 230, 230]),
            (Matrix::Bt2020, [255, 150, 40]),
        ] {
            let Some((kr, kb)) = kr_kb(matrix) else {
                continue;
            };
            for (cb, cr) in bar_targets(kr, kb) {
                let (x, y) = vector_cell(cb, cr);
                for d in 0..=8 {
                    for (bx, by) in [(d, 0), (d, 8), (0, d), (8, d)] {
                        image.set(
                            (x + bx).saturating_sub(4),
                            (y + by).saturating_sub(4),
                            colour,
                        );
                    }
                }
            }
        }
        let peak = self.vectorscope.iter().copied().max().unwrap_or(0);
        for (cell, &n) in self.vectorscope.iter().enumerate() {
            if n > 0 {
                image.set(
                    cell % side,
                    cell / side,
                    intensity([120, 255, 140], n, peak),
                );
            }
        }
        image.finish(ScopeKind::Vectorscope)
    }

    fn render_histogram(&self) -> ScopeImage {
        let (width, height) = (512, 200);
        let mut image = Canvas::new(width, height);
        let colours = [
            [200, 200, 200],
            [255, 60, 60],
            [60, 255, 60],
            [80, 110, 255],
        ];
        for (histogram, colour) in self.histogram.iter().zip(colours) {
            let peak = histogram.iter().copied().max().unwrap_or(0).max(1);
            for x in 0..width {
                let n = u64::from(histogram[x * 256 / width]);
                let bar = (n * (height as u64 - 1) / u64::from(peak)) as usize;
                for y in 0..=bar {
                    image.blend(x, height - 1 - y, colour);
                }
            }
        }
        image.finish(ScopeKind::Histogram)
    }
}

/// A count drawn brighter the more pixels land there (logarithmic, so single pixels show).
fn intensity(colour: [u8; 3], n: u32, peak: u32) -> [u8; 3] {
    let level = 0.25 + 0.75 * ((n as f32).ln_1p() / (peak.max(1) as f32).ln_1p());
    colour.map(|c| (f32::from(c) * level.min(1.0)) as u8)
}

/// An opaque black RGBA image to draw on.
struct Canvas {
    width: usize,
    height: usize,
    rgba: Vec<u8>,
}

impl Canvas {
    fn new(width: usize, height: usize) -> Canvas {
        let mut rgba = vec![0u8; width * height * 4];
        for pixel in rgba.chunks_exact_mut(4) {
            pixel[3] = 255;
        }
        Canvas {
            width,
            height,
            rgba,
        }
    }

    fn set(&mut self, x: usize, y: usize, colour: [u8; 3]) {
        if x < self.width && y < self.height {
            let at = (y * self.width + x) * 4;
            self.rgba[at..at + 3].copy_from_slice(&colour);
        }
    }

    /// Adds `colour` at a third of its strength (overlapping histograms mix).
    fn blend(&mut self, x: usize, y: usize, colour: [u8; 3]) {
        if x < self.width && y < self.height {
            let at = (y * self.width + x) * 4;
            for (dst, src) in self.rgba[at..at + 3].iter_mut().zip(colour) {
                *dst = dst.saturating_add(src / 3);
            }
        }
    }

    fn finish(self, kind: ScopeKind) -> ScopeImage {
        ScopeImage {
            kind,
            width: self.width as u32,
            height: self.height as u32,
            rgba: self.rgba,
        }
    }
}
