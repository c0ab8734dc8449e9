//! `framekit compare A B [--ids LIST] [--by frame|time] [--offset N] [--json] [--diff-out DIR]`:
//! per-frame PSNR and SSIM (FFmpeg's filters, in process) and a summary.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use framekit::codec;
use framekit::compare::{self, Comparison, FrameScore, PairBy, Pairing, Summary, format_db as db};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ByArg {
    /// B's frame with the same number.
    Frame,
    /// B's frame nearest in time.
    Time,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The reference: a video or image (path or URL).
    pub a: PathBuf,
    /// What is compared with it (a transcode, another setting, the next frame...).
    pub b: PathBuf,
    /// 1-based frame ids of A to compare (default: every frame of A with a partner in B).
    #[arg(long, allow_hyphen_values = true)]
    pub ids: Option<String>,
    /// How B's frame is chosen for each frame of A.
    #[arg(long, value_enum, default_value = "frame")]
    pub by: ByArg,
    /// B runs this many frames later than A (negative: earlier), after pairing.
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    pub offset: i64,
    /// Print the frames and the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Write difference PNGs (|A-B| x gain, on the frames as shown) into DIR.
    #[arg(long, value_name = "DIR")]
    pub diff_out: Option<PathBuf>,
    /// Amplification of the difference PNGs: a number above 0, at most 1000.
    #[arg(long, default_value_t = 4.0, requires = "diff_out", allow_hyphen_values = true, value_parser = gain_in_range)]
    pub gain: f32,
    #[command(flatten)]
    pub open: super::OpenArgs,
}

/// The most `--gain` amplifies: past it every difference is already white.
const MAX_GAIN: f32 = 1000.0;

/// `--gain`: a finite number above 0 and at most [`MAX_GAIN`] (NaN, infinities, zero and
/// negative gains would make every difference image black or meaningless).
fn gain_in_range(text: &str) -> Result<f32, String> {
    let gain: f32 = text
        .trim()
        .parse()
        .map_err(|_| format!("\"{text}\" is not a number"))?;
    if gain.is_finite() && gain > 0.0 && gain <= MAX_GAIN {
        Ok(gain)
    } else {
        Err(format!(
            "{gain} is not a gain: give a number above 0, at most {MAX_GAIN}"
        ))
    }
}

/// `--json`'s document.
#[derive(serde::Serialize)]
struct Report<'a> {
    a: String,
    b: String,
    by: PairBy,
    offset: i64,
    frames: &'a [FrameScore],
    summary: Option<Summary>,
}

pub fn run(args: &CompareArgs) -> anyhow::Result<()> {
    let pairing = Pairing {
        by: match args.by {
            ByArg::Frame => PairBy::Frame,
            ByArg::Time => PairBy::Time,
        },
        offset: args.offset,
    };
    let mut comparison = Comparison::open(&args.a, &args.b, &args.open.options()?, pairing)?;
    let a_frames: Vec<usize> = match &args.ids {
        Some(list) => {
            let count = comparison.a_count();
            let mut frames = Vec::new();
            for id in codec::parse_frame_ids(list)? {
                if id < 1 || id as u64 > count as u64 {
                    anyhow::bail!(compare::CompareError::NoSuchFrame {
                        id: id.max(0) as usize,
                        count
                    });
                }
                frames.push(id as usize - 1);
            }
            frames
        }
        None => (0..comparison.a_count()).collect(),
    };
    let pairs = comparison.pairs(a_frames);
    if pairs.is_empty() {
        anyhow::bail!(compare::CompareError::NothingToCompare {
            offset: args.offset
        });
    }
    if let Some(dir) = &args.diff_out {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }

    let progress = ProgressBar::new(pairs.len() as u64);
    progress.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} frames  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    if pairs.len() < 30 {
        progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut scores = Vec::with_capacity(pairs.len());
    let mut failure: Option<anyhow::Error> = None;
    let mut take_score = |score: FrameScore| -> anyhow::Result<()> {
        if !args.json {
            writeln!(out, "{}", score_line(&score)).context("cannot write to stdout")?;
        }
        progress.inc(1);
        scores.push(score);
        Ok(())
    };
    let mut keep_going = |done: anyhow::Result<()>| match done {
        Ok(()) => true,
        Err(e) => {
            failure = Some(e);
            false
        }
    };
    let scored = match &args.diff_out {
        None => comparison.score(&pairs, |score| keep_going(take_score(score))),
        // The difference images are made from the frames just scored: each decoded once.
        Some(dir) => comparison.score_with_shown(&pairs, |score, (a, b)| {
            keep_going(
                write_difference(dir, &score, &a, &b, args.gain).and_then(|()| take_score(score)),
            )
        }),
    };
    progress.finish_and_clear();
    if let Some(e) = failure {
        return Err(e);
    }
    scored?;
    let summary = compare::summarize(&scores);
    if args.json {
        let report = Report {
            a: framekit::media::printable_path(&args.a),
            b: framekit::media::printable_path(&args.b),
            by: pairing.by,
            offset: pairing.offset,
            frames: &scores,
            summary,
        };
        serde_json::to_writer(&mut out, &report).context("cannot write to stdout")?;
        writeln!(out).context("cannot write to stdout")?;
    } else if let Some(summary) = summary {
        writeln!(out, "{}", summary_text(&summary, args.diff_out.as_deref()))
            .context("cannot write to stdout")?;
    }
    Ok(())
}

/// Writes pair `score`'s difference image (|A - B| x `gain`) as `diff_a<A>_b<B>.png` in `dir`.
fn write_difference(
    dir: &Path,
    score: &FrameScore,
    a: &framekit::Frame,
    b: &framekit::Frame,
    gain: f32,
) -> anyhow::Result<()> {
    let diff = compare::difference_image(a, b, gain);
    let png = codec::png::encode_png(&diff)?;
    let path = dir.join(format!("diff_a{}_b{}.png", score.a, score.b));
    framekit::output::write_atomically(&path, &png)
        .with_context(|| format!("cannot write {}", path.display()))
}

fn score_line(score: &FrameScore) -> String {
    match (score.psnr_y, score.ssim_y) {
        (Some(psnr_y), Some(ssim_y)) => format!(
            "a {:>5}  b {:>5}  PSNR y {:>6} avg {:>6} dB  SSIM y {:.4} all {:.4}",
            score.a,
            score.b,
            db(psnr_y),
            db(score.psnr_avg),
            ssim_y,
            score.ssim_all
        ),
        _ => format!(
            "a {:>5}  b {:>5}  PSNR rgb avg {:>6} dB  SSIM all {:.4}",
            score.a,
            score.b,
            db(score.psnr_avg),
            score.ssim_all
        ),
    }
}

fn summary_text(summary: &Summary, diff_out: Option<&Path>) -> String {
    let mut text = format!(
        "{} frame pair(s), {} identical\n",
        summary.frames, summary.identical
    );
    match (summary.psnr_y_mean, summary.ssim_y_mean) {
        (Some(psnr_y), Some(ssim_y)) => text.push_str(&format!(
            "mean  PSNR y {} avg {} dB  SSIM y {ssim_y:.4} all {:.4}\n",
            db(psnr_y),
            db(summary.psnr_avg_mean),
            summary.ssim_all_mean
        )),
        _ => text.push_str(&format!(
            "mean  PSNR rgb avg {} dB  SSIM all {:.4}\n",
            db(summary.psnr_avg_mean),
            summary.ssim_all_mean
        )),
    }
    let worst = &summary.worst;
    text.push_str(&format!(
        "worst a {} (b {}): PSNR {} dB, SSIM {:.4}",
        worst.a,
        worst.b,
        db(worst.psnr_y.unwrap_or(worst.psnr_avg)),
        worst.ssim_y.unwrap_or(worst.ssim_all)
    ));
    if let Some(dir) = diff_out {
        text.push_str(&format!("\ndifference images in {}", super::shown(dir)));
    }
    text
}
