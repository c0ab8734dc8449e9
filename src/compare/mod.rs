//! Compare two videos or images (A and B) frame by frame: PSNR and SSIM exactly as FFmpeg's
//! `psnr` and `ssim` filters compute them (they run in process, on the decoded planes, in one
//! libavfilter graph), frame pairing by number or by time with an offset, a summary (means,
//! minimum, worst frame) and amplified difference images.
//!
//! Scores are taken on the stored planes (before rotation and tone mapping), as the filters
//! see them; when B's size differs from A's, B is scaled to A's size (bicubic) first. Images
//! are compared as their RGB pixels, so they have no Y plane: `psnr_y` and `ssim_y` are absent
//! and the `avg`/`all` values carry the comparison. A grey side against a colour one is
//! scored in RGB too (both converted), so the colour one side lacks counts as a difference.
//!
//! [`worker`]: the same on a background thread, for the app's compare view (scores of the
//! pair on screen, whole-clip runs in chunks, difference images).

mod diff;
mod metrics;
pub mod worker;

use std::path::{Path, PathBuf};

use serde::{Serialize, Serializer};

pub use diff::{difference_image, rgb_psnr};
pub use metrics::{FrameScore, Planes};
pub use worker::{CompareJob, CompareReply, CompareWorker};

use crate::frame::Frame;
use crate::media::{MediaError, MediaSource, OpenOptions};

/// How B's frame is chosen for A's frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PairBy {
    /// B's frame with the same number (plus the offset).
    #[default]
    Frame,
    /// B's frame nearest in time to A's (plus the offset, in frames).
    Time,
}

/// Frame pairing: by number or time, then `offset` frames later in B (negative: earlier).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pairing {
    pub by: PairBy,
    pub offset: i64,
}

/// Why a comparison failed.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error(transparent)]
    Media(#[from] MediaError),
    #[error("{path}: frame {index} could not be prepared for comparison: {reason}")]
    Frame {
        path: String,
        index: usize,
        reason: String,
    },
    #[error("comparing {a} with {b}: {reason}")]
    Filter {
        a: String,
        b: String,
        reason: String,
    },
    #[error("A frame {id} does not exist ({count} frames)")]
    NoSuchFrame { id: usize, count: usize },
    #[error("no frame of A has a partner in B with this pairing (offset {offset})")]
    NothingToCompare { offset: i64 },
    #[error("cancelled")]
    Cancelled,
}

/// PSNR in dB; identical planes give infinity, written `"inf"` in JSON (as FFmpeg prints it).
pub fn serialize_db<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    if value.is_infinite() {
        serializer.serialize_str("inf")
    } else {
        serializer.serialize_f64(round_to(*value, 4))
    }
}

/// PSNR for people: `41.23`, or `inf` for identical planes (the CLI's lines, the app's bar).
pub fn format_db(value: f64) -> String {
    if value.is_infinite() {
        "inf".to_string()
    } else {
        format!("{value:.2}")
    }
}

fn serialize_optional_db<S: Serializer>(
    value: &Option<f64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => serialize_db(v, serializer),
        None => serializer.serialize_none(),
    }
}

fn round_to(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}

/// The worst pair of a run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Worst {
    pub a: usize,
    pub b: usize,
    #[serde(serialize_with = "serialize_optional_db")]
    pub psnr_y: Option<f64>,
    #[serde(serialize_with = "serialize_db")]
    pub psnr_avg: f64,
    pub ssim_y: Option<f64>,
    pub ssim_all: f64,
}

/// Means and minima over a run. PSNR means are over the frames that differ (identical frames
/// have infinite PSNR); when every frame is identical they are infinite too.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    pub frames: usize,
    /// Frames whose planes are identical.
    pub identical: usize,
    #[serde(serialize_with = "serialize_optional_db")]
    pub psnr_y_mean: Option<f64>,
    #[serde(serialize_with = "serialize_db")]
    pub psnr_avg_mean: f64,
    #[serde(serialize_with = "serialize_optional_db")]
    pub psnr_y_min: Option<f64>,
    pub ssim_y_mean: Option<f64>,
    pub ssim_all_mean: f64,
    pub ssim_y_min: Option<f64>,
    /// The pair with the lowest PSNR (Y for video, average for images).
    pub worst: Worst,
}

/// The summary of scored frames (`None` for none).
pub fn summarize(scores: &[FrameScore]) -> Option<Summary> {
    let worst = scores
        .iter()
        .min_by(|x, y| x.key_psnr().total_cmp(&y.key_psnr()))?;
    let finite_mean = |values: &mut dyn Iterator<Item = f64>| {
        let (sum, n) = values
            .filter(|v| v.is_finite())
            .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
        if n == 0 {
            f64::INFINITY
        } else {
            sum / n as f64
        }
    };
    let mean = |values: &mut dyn Iterator<Item = f64>| {
        let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
        sum / n.max(1) as f64
    };
    let has_y = scores.iter().all(|s| s.psnr_y.is_some());
    let min = |values: &mut dyn Iterator<Item = f64>| values.fold(f64::INFINITY, f64::min);
    Some(Summary {
        frames: scores.len(),
        identical: scores.iter().filter(|s| s.psnr_avg.is_infinite()).count(),
        psnr_y_mean: has_y.then(|| finite_mean(&mut scores.iter().filter_map(|s| s.psnr_y))),
        psnr_avg_mean: finite_mean(&mut scores.iter().map(|s| s.psnr_avg)),
        psnr_y_min: has_y.then(|| min(&mut scores.iter().filter_map(|s| s.psnr_y))),
        ssim_y_mean: has_y.then(|| mean(&mut scores.iter().filter_map(|s| s.ssim_y))),
        ssim_all_mean: mean(&mut scores.iter().map(|s| s.ssim_all)),
        ssim_y_min: has_y.then(|| min(&mut scores.iter().filter_map(|s| s.ssim_y))),
        worst: Worst {
            a: worst.a,
            b: worst.b,
            psnr_y: worst.psnr_y,
            psnr_avg: worst.psnr_avg,
            ssim_y: worst.ssim_y,
            ssim_all: worst.ssim_all,
        },
    })
}

/// A and B open for comparison.
pub struct Comparison {
    a: Side,
    b: Side,
    pairing: Pairing,
}

struct Side {
    path: PathBuf,
    source: MediaSource,
    /// Presentation times (seconds), for pairing by time.
    times: Vec<Option<f64>>,
}

impl Side {
    fn open(path: &Path, options: &OpenOptions) -> Result<Side, CompareError> {
        let mut source = MediaSource::open(path, options)?;
        // Pairing by time needs every frame's time: a table-indexed file is scanned once.
        source.scan_all()?;
        let times = (0..source.frame_count())
            .map(|i| source.frame_time(i))
            .collect();
        Ok(Side {
            path: path.to_path_buf(),
            source,
            times,
        })
    }

    fn label(&self) -> String {
        crate::media::printable_path(&self.path)
    }

    /// Frame `index` as shown (RGB, oriented, tone-mapped when asked) from its `raw` planes,
    /// without decoding it again.
    fn shown_from_raw(
        &mut self,
        index: usize,
        raw: &ffmpeg_next::frame::Video,
    ) -> Result<Frame, CompareError> {
        Ok(match &mut self.source {
            MediaSource::Video(reader) => reader.shown_from_decoded(index, raw)?,
            MediaSource::Still(still) => still.frame(index)?,
        })
    }

    /// Frame `index` as decoded (videos) or as its RGB pixels (images), for the filters.
    fn raw(&mut self, index: usize) -> Result<ffmpeg_next::frame::Video, CompareError> {
        match &mut self.source {
            MediaSource::Video(reader) => Ok(reader.decoded(index)?),
            MediaSource::Still(still) => {
                let frame = still.frame(index)?;
                metrics::frame_to_video(&frame).map_err(|reason| CompareError::Frame {
                    path: crate::media::printable_path(&self.path),
                    index: index + 1,
                    reason,
                })
            }
        }
    }
}

impl Comparison {
    /// Opens A and B (videos or images) with the same options.
    pub fn open(
        a: &Path,
        b: &Path,
        options: &OpenOptions,
        pairing: Pairing,
    ) -> Result<Comparison, CompareError> {
        Ok(Comparison {
            a: Side::open(a, options)?,
            b: Side::open(b, options)?,
            pairing,
        })
    }

    pub fn a_count(&self) -> usize {
        self.a.times.len()
    }

    pub fn b_count(&self) -> usize {
        self.b.times.len()
    }

    pub fn pairing(&self) -> Pairing {
        self.pairing
    }

    pub fn set_pairing(&mut self, pairing: Pairing) {
        self.pairing = pairing;
    }

    pub fn a_times(&self) -> &[Option<f64>] {
        &self.a.times
    }

    pub fn b_times(&self) -> &[Option<f64>] {
        &self.b.times
    }

    /// B's frame for A's frame `a` (0-based), if B has one.
    pub fn partner(&self, a: usize) -> Option<usize> {
        partner(&self.a.times, &self.b.times, self.pairing, a)
    }

    /// Pairs for A's frames `a_frames` (0-based), skipping those without a partner.
    pub fn pairs(&self, a_frames: impl IntoIterator<Item = usize>) -> Vec<(usize, usize)> {
        a_frames
            .into_iter()
            .filter_map(|a| self.partner(a).map(|b| (a, b)))
            .collect()
    }

    /// Every pair over A's whole length.
    pub fn all_pairs(&self) -> Vec<(usize, usize)> {
        self.pairs(0..self.a_count())
    }

    /// Scores `pairs` (0-based) in order, calling `on_score` with each; `on_score` returns
    /// false to stop early (`Err(Cancelled)`).
    pub fn score(
        &mut self,
        pairs: &[(usize, usize)],
        mut on_score: impl FnMut(FrameScore) -> bool,
    ) -> Result<(), CompareError> {
        self.score_pairs(pairs, false, |score, _| on_score(score))
    }

    /// [`Comparison::score`], also handing over each pair's frames as shown (A, B), made from
    /// the planes just scored: one decode per frame for scores and difference images.
    pub fn score_with_shown(
        &mut self,
        pairs: &[(usize, usize)],
        mut on_score: impl FnMut(FrameScore, (Frame, Frame)) -> bool,
    ) -> Result<(), CompareError> {
        self.score_pairs(pairs, true, |score, shown| match shown {
            Some(frames) => on_score(score, frames),
            None => false,
        })
    }

    fn score_pairs(
        &mut self,
        pairs: &[(usize, usize)],
        keep_shown: bool,
        mut on_score: impl FnMut(FrameScore, Option<(Frame, Frame)>) -> bool,
    ) -> Result<(), CompareError> {
        let Some(&(first_a, first_b)) = pairs.first() else {
            return Ok(());
        };
        let a_frame = self.a.raw(first_a)?;
        let b_frame = self.b.raw(first_b)?;
        let filter_error = |a: &Side, b: &Side, reason: String| CompareError::Filter {
            a: a.label(),
            b: b.label(),
            reason,
        };
        let mut graph = metrics::MetricsGraph::new(&a_frame, &b_frame)
            .map_err(|reason| filter_error(&self.a, &self.b, reason))?;
        // Pairs pushed into the graph whose scores have not come out yet (the filters may
        // hold a frame or two), with their shown frames when asked for.
        let mut pending = std::collections::VecDeque::new();
        let mut first = Some((a_frame, b_frame));
        for &(a, b) in pairs {
            let (a_frame, b_frame) = match first.take() {
                Some(frames) => frames,
                None => (self.a.raw(a)?, self.b.raw(b)?),
            };
            let shown = if keep_shown {
                Some((
                    self.a.shown_from_raw(a, &a_frame)?,
                    self.b.shown_from_raw(b, &b_frame)?,
                ))
            } else {
                None
            };
            pending.push_back((a, b, shown));
            let scored = graph
                .push(&a_frame, &b_frame)
                .map_err(|reason| filter_error(&self.a, &self.b, reason))?;
            for values in scored {
                let (a, b, shown) = pending.pop_front().ok_or_else(|| {
                    filter_error(&self.a, &self.b, "more results than frames".into())
                })?;
                if !on_score(values.into_score(a + 1, b + 1), shown) {
                    return Err(CompareError::Cancelled);
                }
            }
        }
        let scored = graph
            .finish()
            .map_err(|reason| filter_error(&self.a, &self.b, reason))?;
        for values in scored {
            let Some((a, b, shown)) = pending.pop_front() else {
                break;
            };
            if !on_score(values.into_score(a + 1, b + 1), shown) {
                return Err(CompareError::Cancelled);
            }
        }
        Ok(())
    }
}

/// B's frame for A's frame `a` under `pairing`, given both sides' frame times.
pub fn partner(
    a_times: &[Option<f64>],
    b_times: &[Option<f64>],
    pairing: Pairing,
    a: usize,
) -> Option<usize> {
    if a >= a_times.len() || b_times.is_empty() {
        return None;
    }
    let base = match (pairing.by, a_times[a]) {
        (PairBy::Time, Some(t)) => nearest_time(b_times, t),
        _ => a,
    };
    let b = base as i64 + pairing.offset;
    (0..b_times.len() as i64).contains(&b).then_some(b as usize)
}

/// The frame whose time is nearest `t` (ties: the earlier frame). Times in presentation
/// order ascend, so this is a binary search (the app asks once per UI frame); untimed frames
/// (images) fall back to a scan that skips them.
fn nearest_time(times: &[Option<f64>], t: f64) -> usize {
    let distance = |i: usize| times[i].map_or(f64::INFINITY, |time| (time - t).abs());
    if times.iter().all(Option::is_some) {
        let after = times.partition_point(|time| time.is_some_and(|time| time < t));
        return match (after.checked_sub(1), after < times.len()) {
            (Some(before), true) if distance(before) <= distance(after) + 1e-9 => before,
            (_, true) => after,
            (Some(before), false) => before,
            (None, false) => 0,
        };
    }
    let mut best = (f64::INFINITY, 0);
    for i in 0..times.len() {
        if distance(i) < best.0 - 1e-9 {
            best = (distance(i), i);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairing_by_frame_time_and_offset() {
        let a: Vec<Option<f64>> = (0..10).map(|i| Some(f64::from(i) / 10.0)).collect();
        // B at half the rate: frames at 0.0, 0.2, 0.4, ...
        let b: Vec<Option<f64>> = (0..5).map(|i| Some(f64::from(i) / 5.0)).collect();
        let by_frame = Pairing::default();
        assert_eq!(partner(&a, &b, by_frame, 3), Some(3));
        assert_eq!(partner(&a, &b, by_frame, 7), None);
        let by_time = Pairing {
            by: PairBy::Time,
            offset: 0,
        };
        assert_eq!(partner(&a, &b, by_time, 4), Some(2));
        assert_eq!(partner(&a, &b, by_time, 9), Some(4));
        // A tie (0.3 s between B's 0.2 and 0.4) takes the earlier frame.
        assert_eq!(partner(&a, &b, by_time, 3), Some(1));
        let untimed = [None, Some(0.0), Some(0.2)];
        assert_eq!(nearest_time(&untimed, 0.19), 2);
        let shifted = Pairing {
            by: PairBy::Frame,
            offset: -1,
        };
        assert_eq!(partner(&a, &b, shifted, 0), None);
        assert_eq!(partner(&a, &b, shifted, 1), Some(0));
    }

    #[test]
    fn summary_skips_identical_frames_in_psnr_means() {
        let score = |a, psnr: f64, ssim| FrameScore {
            a,
            b: a,
            planes: Planes::Yuv,
            psnr_y: Some(psnr),
            psnr_avg: psnr,
            ssim_y: Some(ssim),
            ssim_all: ssim,
        };
        let scores = [
            score(1, f64::INFINITY, 1.0),
            score(2, 40.0, 0.98),
            score(3, 30.0, 0.9),
        ];
        let summary = summarize(&scores).expect("summary");
        assert_eq!(summary.psnr_y_mean, Some(35.0));
        assert_eq!(summary.identical, 1);
        assert_eq!(summary.worst.a, 3);
        assert_eq!(summary.psnr_y_min, Some(30.0));
        let json = serde_json::to_value(&scores[0]).expect("json");
        assert_eq!(json["psnr_y"], "inf");
    }
}
