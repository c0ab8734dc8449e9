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
use super::planar::{CHROMA_STEPS, Planar, Rows};
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

/// The per-value and per-column tables [`ScopeData::count_row`] reads.
struct Tables<'a> {
    luma_rows: &'a [u16],
    /// Vectorscope (x, y) of a chroma value from `-chroma_reach` up, in eighths of a sample.
    chroma_cells: &'a [(u16, u16)],
    chroma_reach: i32,
    waveform_columns: &'a [u16],
    shown_columns: &'a [usize],
}

/// One row of the shown frame: its bytes and bytes per pixel.
struct ShownRow<'a> {
    pixels: &'a [u8],
    channels: usize,
}

/// Row `y` of `shown` (`None` past its end or when it has no pixels).
fn shown_row(shown: &Frame, y: usize) -> Option<ShownRow<'_>> {
    let channels = shown.layout.channels();
    let stride = shown.width as usize * channels;
    let pixels = shown.pixels.get(y * stride..(y + 1) * stride)?;
    Some(ShownRow { pixels, channels })
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
        Self::compute_sampled(decoded, decision, hdr, shown, 1)
    }

    /// [`ScopeData::compute`] reading every `step`th row and column only (a player's scopes
    /// while playing a large frame: a quarter of the samples at 2); 1 reads every pixel.
    pub fn compute_sampled(
        decoded: &ffmpeg::frame::Video,
        decision: ColorDecision,
        hdr: Option<Hdr>,
        shown: &Frame,
        step: usize,
    ) -> Result<ScopeData, ScopeError> {
        let step = step.max(1);
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
        // Per-sample answers as tables (the same arithmetic, once per value or column rather
        // than once per pixel): a luma code's waveform row, a chroma value's vectorscope cell,
        // each column's waveform column and shown column.
        let luma_rows: Vec<u16> = (0..1u32 << planar.depth())
            .map(|code| level_row((code as f32 - luma_low) / luma_span) as u16)
            .collect();
        let chroma_reach = (1i32 << planar.depth()) * CHROMA_STEPS;
        let chroma_cells: Vec<(u16, u16)> = (-chroma_reach..=chroma_reach)
            .map(|value| {
                let unit = value as f32 * chroma_unit;
                let (x, _) = vector_cell(unit, 0.0);
                let (_, y) = vector_cell(0.0, unit);
                (x as u16, y as u16)
            })
            .collect();
        let (shown_w, shown_h) = (shown.width as usize, shown.height as usize);
        let shown_columns: Vec<usize> = (0..width).map(|x| x * shown_w / width).collect();
        let waveform_columns: Vec<u16> = (0..width).map(|x| (x * columns / width) as u16).collect();
        let tables = Tables {
            luma_rows: &luma_rows,
            chroma_cells: &chroma_cells,
            chroma_reach,
            waveform_columns: &waveform_columns,
            shown_columns: &shown_columns,
        };
        // Bands of rows on the conversion threads, each counting into its own data.
        let threads = super::color::conversion_threads().clamp(1, height.max(1));
        let band = height.div_ceil(threads);
        let count_rows = |rows: std::ops::Range<usize>| {
            let mut data = ScopeData::empty(columns, Vec::new());
            let mut samples = planar.rows();
            for y in rows.filter(|y| y % step == 0) {
                planar.read_row(y, &mut samples);
                let shown_row = shown_row(shown, y * shown_h / height);
                data.count_row(&samples, shown_row, &tables, step);
            }
            data
        };
        let mut parts = std::thread::scope(|scope| {
            let workers: Vec<_> = (1..threads)
                .map(|i| {
                    let rows = (i * band).min(height)..((i + 1) * band).min(height);
                    scope.spawn(move || count_rows(rows))
                })
                .collect();
            let mut parts = vec![count_rows(0..band.min(height))];
            parts.extend(workers.into_iter().filter_map(|w| w.join().ok()));
            parts
        });
        if parts.len() != threads {
            // A counting thread panicked: count on this one instead of returning partial data.
            parts = vec![count_rows(0..height)];
        }
        let mut data = ScopeData::empty(columns, graticule(hdr));
        for part in &parts {
            data.add(part);
        }
        Ok(data)
    }

    fn empty(columns: usize, graticule: Vec<(usize, String)>) -> ScopeData {
        ScopeData {
            waveform: vec![[0; LEVEL_ROWS]; columns],
            parade: std::array::from_fn(|_| vec![[0; LEVEL_ROWS]; columns]),
            vectorscope: vec![0; VECTOR_SIDE * VECTOR_SIDE],
            histogram: [[0; 256]; 4],
            graticule,
        }
    }

    /// Counts one decoded row, and the shown row it was scaled into (`None`: no RGB).
    fn count_row(
        &mut self,
        samples: &Rows,
        shown: Option<ShownRow<'_>>,
        tables: &Tables<'_>,
        step: usize,
    ) {
        let chroma_cell = |value: i32| {
            let at = (value.clamp(-tables.chroma_reach, tables.chroma_reach) + tables.chroma_reach)
                as usize;
            tables.chroma_cells[at]
        };
        for (x, ((&luma, &cb), &cr)) in samples
            .luma
            .iter()
            .zip(&samples.cb)
            .zip(&samples.cr)
            .enumerate()
            .step_by(step)
        {
            let column = usize::from(tables.waveform_columns[x]);
            let row = usize::from(
                tables
                    .luma_rows
                    .get(usize::from(luma))
                    .copied()
                    .unwrap_or(LEVEL_ROWS as u16 - 1),
            );
            self.waveform[column][row] += 1;
            self.histogram[0][row] += 1;
            let (vx, _) = chroma_cell(cb);
            let (_, vy) = chroma_cell(cr);
            self.vectorscope[usize::from(vy) * VECTOR_SIDE + usize::from(vx)] += 1;
            if let Some(shown) = &shown {
                let at = tables.shown_columns[x] * shown.channels;
                if let Some(pixel) = shown.pixels.get(at..at + 3) {
                    for (c, &value) in pixel.iter().enumerate() {
                        self.parade[c][column][usize::from(value)] += 1;
                        self.histogram[c + 1][usize::from(value)] += 1;
                    }
                }
            }
        }
    }

    /// Adds another part's counts to these.
    fn add(&mut self, other: &ScopeData) {
        let add_levels = |to: &mut Vec<[u32; LEVEL_ROWS]>, from: &Vec<[u32; LEVEL_ROWS]>| {
            for (a, b) in to.iter_mut().zip(from) {
                for (x, y) in a.iter_mut().zip(b) {
                    *x += y;
                }
            }
        };
        add_levels(&mut self.waveform, &other.waveform);
        for c in 0..3 {
            add_levels(&mut self.parade[c], &other.parade[c]);
        }
        for (a, b) in self.vectorscope.iter_mut().zip(&other.vectorscope) {
            *a += b;
        }
        for (a, b) in self.histogram.iter_mut().zip(&other.histogram) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
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
