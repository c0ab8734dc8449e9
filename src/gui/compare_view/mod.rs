//! A/B compare in the app. B is opened in a second [`Player`] (its own decoder thread) and
//! follows A's frame by number or by time plus a nudgeable offset; a [`CompareWorker`] scores
//! the pair on screen (and, on request, the whole clip) with FFmpeg's PSNR/SSIM and builds
//! difference images. This module holds that state, its commands, the compare bar, the
//! drawing of the four views (side by side, wipe, difference, flicker) inside the viewer's
//! geometry, and the score plot under the timeline (drawing in `view_ui.rs`).

mod view_ui;

pub use view_ui::{CompareLayout, b_pixel, compare_bar_ui, draw_views, score_plot_ui};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::state::Screen;
use crate::compare::worker::{CompareJob, CompareReply, CompareWorker};
use crate::compare::{FrameScore, PairBy, Pairing, partner};
use crate::frame::Frame;
use crate::media::color::SourceSamples;
use crate::media::{MediaInfo, OpenOptions};
use crate::player::{Player, PlayerOptions, Reply, Request};

/// How A and B are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareMode {
    SideBySide,
    /// A on the left of a draggable divider, B on the right.
    Wipe,
    /// |A - B| amplified.
    Difference,
    /// A or B, toggled with F.
    Flicker,
}

impl CompareMode {
    pub const ALL: [CompareMode; 4] = [
        CompareMode::SideBySide,
        CompareMode::Wipe,
        CompareMode::Difference,
        CompareMode::Flicker,
    ];

    pub fn label(self) -> &'static str {
        match self {
            CompareMode::SideBySide => "Side by side",
            CompareMode::Wipe => "Wipe",
            CompareMode::Difference => "Difference",
            CompareMode::Flicker => "Flicker",
        }
    }

    fn next(self) -> CompareMode {
        match self {
            CompareMode::SideBySide => CompareMode::Wipe,
            CompareMode::Wipe => CompareMode::Difference,
            CompareMode::Difference => CompareMode::Flicker,
            CompareMode::Flicker => CompareMode::SideBySide,
        }
    }
}

/// Something the user asked of the compare.
#[derive(Debug, Clone, PartialEq)]
pub enum CompareCommand {
    /// Open this file as B.
    OpenB(PathBuf),
    /// Ask for B's path (dialog or typed path).
    PickB,
    /// A finished transcode: its source as A, its output as B.
    WithSource {
        source: PathBuf,
        output: PathBuf,
    },
    Close,
    SetMode(CompareMode),
    /// The next view (C).
    CycleMode,
    SetPairBy(PairBy),
    /// B this many frames later (`]`) or earlier (`[`).
    NudgeOffset(i64),
    /// The wipe divider's position, 0 (all B) to 1 (all A).
    SetWipe(f32),
    SetGain(f32),
    /// Flicker: show the other side (F).
    ToggleFlicker,
    /// Score every pair of the clip.
    ScoreAll,
}

/// B's frame on screen.
pub struct BFrame {
    pub index: usize,
    pub exact: bool,
    pub texture: egui::TextureHandle,
    pub frame: Arc<Frame>,
    pub samples: Option<Arc<SourceSamples>>,
}

/// A difference image on screen, for the pair and gain it was made from.
pub struct DifferenceTexture {
    pub a: usize,
    pub b: usize,
    pub gain: f32,
    pub texture: egui::TextureHandle,
}

/// The compare's state.
pub struct CompareView {
    pub b_path: PathBuf,
    player: Player<egui::ColorImage>,
    pub b_info: Option<MediaInfo>,
    pub b_times: Vec<Option<f64>>,
    pub b_shown: Option<BFrame>,
    b_requested: Option<usize>,
    /// B's frame for A's frame on screen (`None`: the offset puts it outside B).
    pub partner: Option<usize>,
    pub mode: CompareMode,
    pub pairing: Pairing,
    pub wipe: f32,
    pub gain: f32,
    /// Flicker shows B (else A).
    pub flicker_b: bool,
    worker: CompareWorker<egui::ColorImage>,
    /// The A the worker has open (media id) and whether it answered.
    worker_media: Option<u64>,
    worker_ready: bool,
    open_options: OpenOptions,
    /// Scores by A's frame (0-based), for the current pairing.
    pub scores: BTreeMap<usize, FrameScore>,
    score_requested: Option<(usize, Pairing)>,
    /// A whole-clip run: pairs done and total.
    pub progress: Option<(usize, usize)>,
    /// The current whole-clip run; progress from older runs (another pairing) is ignored.
    score_run: u64,
    pub difference: Option<DifferenceTexture>,
    difference_requested: Option<(usize, usize, u32)>,
    /// RGB PSNR of the pair on screen: (A's frame, B's frame, dB).
    pub rgb_psnr: Option<(usize, usize, f64)>,
    rgb_requested: Option<(usize, usize)>,
    pub error: Option<String>,
}

impl CompareView {
    /// Opens `b` beside the open A.
    pub fn open(
        ctx: &egui::Context,
        b_path: PathBuf,
        mut player_options: PlayerOptions,
        open_options: OpenOptions,
    ) -> CompareView {
        player_options.filmstrip = false;
        player_options.open = open_options.clone();
        player_options.cache_budget_bytes = player_options.cache_budget_bytes.min(256 << 20);
        let repaint = ctx.clone();
        let player = Player::spawn(player_options, move || repaint.request_repaint());
        let repaint = ctx.clone();
        let worker = CompareWorker::spawn(move || repaint.request_repaint());
        let mut view = CompareView {
            b_path: b_path.clone(),
            player,
            b_info: None,
            b_times: Vec::new(),
            b_shown: None,
            b_requested: None,
            partner: None,
            mode: CompareMode::SideBySide,
            pairing: Pairing::default(),
            wipe: 0.5,
            gain: 4.0,
            flicker_b: false,
            worker,
            worker_media: None,
            worker_ready: false,
            open_options,
            scores: BTreeMap::new(),
            score_requested: None,
            progress: None,
            score_run: 0,
            difference: None,
            difference_requested: None,
            rgb_psnr: None,
            rgb_requested: None,
            error: None,
        };
        if let Err(e) = view.player.send(Request::Open(b_path)) {
            view.error = Some(e.to_string());
        }
        view
    }

    /// B's file name.
    pub fn b_name(&self) -> String {
        super::file_label(&self.b_path)
    }

    /// B's frame for A's frame `a`.
    pub fn partner_of(&self, a_times: &[Option<f64>], a: usize) -> Option<usize> {
        partner(a_times, &self.b_times, self.pairing, a)
    }

    /// Changes what this compare shows (the app calls it for [`crate::gui::Command::Compare`]).
    pub fn apply(&mut self, command: CompareCommand) {
        match command {
            CompareCommand::SetMode(mode) => self.mode = mode,
            CompareCommand::CycleMode => self.mode = self.mode.next(),
            CompareCommand::SetPairBy(by) => self.set_pairing(Pairing { by, ..self.pairing }),
            CompareCommand::NudgeOffset(delta) => self.set_pairing(Pairing {
                offset: self.pairing.offset.saturating_add(delta),
                ..self.pairing
            }),
            CompareCommand::SetWipe(fraction) => self.wipe = fraction.clamp(0.0, 1.0),
            CompareCommand::SetGain(gain) => self.gain = gain.clamp(1.0, 64.0),
            CompareCommand::ToggleFlicker => {
                if self.mode == CompareMode::Flicker {
                    self.flicker_b = !self.flicker_b;
                } else {
                    self.mode = CompareMode::Flicker;
                    self.flicker_b = true;
                }
            }
            CompareCommand::ScoreAll => {
                self.score_run += 1;
                if self.worker.send(CompareJob::ScoreAll {
                    run: self.score_run,
                }) {
                    self.progress = Some((0, 0));
                }
            }
            // Opening and closing belong to the app.
            CompareCommand::OpenB(_)
            | CompareCommand::PickB
            | CompareCommand::WithSource { .. }
            | CompareCommand::Close => {}
        }
    }

    fn set_pairing(&mut self, pairing: Pairing) {
        if pairing == self.pairing {
            return;
        }
        self.pairing = pairing;
        // The old pairing's RGB PSNR and difference image belong to another pair.
        self.rgb_psnr = None;
        self.rgb_requested = None;
        self.difference = None;
        self.difference_requested = None;
        self.scores.clear();
        self.progress = None;
        self.score_run += 1;
        self.score_requested = None;
        self.worker.send(CompareJob::SetPairing(pairing));
    }

    /// Tone-map (or not) B as A is. The worker's comparison stays open: its scores are taken
    /// on the decoded planes, which the HDR switch does not change.
    pub fn set_open_options(&mut self, options: OpenOptions) {
        let hdr = options.hdr;
        self.open_options = options;
        if let Err(e) = self.player.send(Request::SetHdr(hdr)) {
            self.error = Some(e.to_string());
        }
    }

    /// Drains B's player and the worker, and asks for what the screen needs now: B's partner
    /// frame, the pair's scores, the difference image.
    pub fn logic(&mut self, ctx: &egui::Context, screen: &Screen, a_path: Option<&Path>) {
        self.drain_player(ctx);
        let a_times = screen
            .media
            .as_ref()
            .map_or(&[][..], |m| m.frame_times.as_slice());
        self.drain_worker(ctx, a_times);
        let Some(media) = &screen.media else {
            return;
        };
        // (Re)open the worker's comparison when A changes.
        if self.worker_media != Some(media.media_id)
            && let Some(a_path) = a_path
        {
            self.scores.clear();
            self.progress = None;
            self.score_run += 1;
            self.score_requested = None;
            self.worker_ready = false;
            if self.worker.send(CompareJob::Open {
                a: a_path.to_path_buf(),
                b: self.b_path.clone(),
                options: self.open_options.clone(),
                pairing: self.pairing,
            }) {
                self.worker_media = Some(media.media_id);
            }
        }
        let partner = self.partner_of(&media.frame_times, screen.target);
        self.partner = partner;
        if partner.is_none() && !self.b_times.is_empty() {
            // No partner frame (the offset reaches before B's first or past its last frame):
            // nothing of an earlier pair stays on screen.
            self.b_shown = None;
            self.b_requested = None;
            self.rgb_psnr = None;
            self.difference = None;
        }
        if let Some(b) = partner
            && self.b_requested != Some(b)
            && !self.b_times.is_empty()
        {
            match self.player.send(Request::Show { frame: b }) {
                Ok(_) => self.b_requested = Some(b),
                Err(e) => self.error = Some(e.to_string()),
            }
        }
        if self.worker_ready
            && partner.is_some()
            && !self.scores.contains_key(&screen.target)
            && self.score_requested != Some((screen.target, self.pairing))
            && self.worker.send(CompareJob::Score { a: screen.target })
        {
            self.score_requested = Some((screen.target, self.pairing));
        }
        // Asked only once the worker has this A open (earlier answers are dropped).
        let pair_on_screen = match (&screen.shown, &self.b_shown, partner) {
            (Some(a), Some(b), Some(b_index))
                if self.worker_ready
                    && a.exact
                    && a.index == screen.target
                    && b.exact
                    && b.index == b_index =>
            {
                Some((a.frame.clone(), b.frame.clone()))
            }
            _ => None,
        };
        if let Some((a, b)) = &pair_on_screen {
            let key = (a.index, b.index);
            let have = self.rgb_psnr.map(|(a, b, _)| (a, b));
            if have != Some(key)
                && self.rgb_requested != Some(key)
                && self.worker.send(CompareJob::RgbPsnr {
                    a: a.clone(),
                    b: b.clone(),
                })
            {
                self.rgb_requested = Some(key);
            }
        }
        if self.mode == CompareMode::Difference
            && let Some((a, b)) = &pair_on_screen
        {
            let key = (a.index, b.index, self.gain.to_bits());
            let have = self
                .difference
                .as_ref()
                .map(|d| (d.a, d.b, d.gain.to_bits()));
            if have != Some(key)
                && self.difference_requested != Some(key)
                && self.worker.send(CompareJob::Difference {
                    a: a.clone(),
                    b: b.clone(),
                    gain: self.gain,
                })
            {
                self.difference_requested = Some(key);
            }
        }
    }

    fn drain_player(&mut self, ctx: &egui::Context) {
        let mut newest = None;
        loop {
            match self.player.try_recv() {
                Ok(Some(Reply::Opened {
                    frame_times, info, ..
                })) => {
                    self.b_times = frame_times;
                    self.b_info = Some(*info);
                    self.b_requested = None;
                    self.b_shown = None;
                    self.error = None;
                }
                // B's background index: its whole count and exact frame times.
                Ok(Some(Reply::Indexed {
                    frame_times, info, ..
                })) => {
                    self.b_times = frame_times;
                    self.b_info = Some(*info);
                }
                // B's decoder fell back to software.
                Ok(Some(Reply::InfoChanged { info, .. })) => self.b_info = Some(*info),
                Ok(Some(Reply::Frame(ready))) => newest = Some(ready),
                Ok(Some(Reply::Failed { error, .. })) => {
                    self.error = Some(format!("B: {error}"));
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    self.error = Some(format!("B: {e}"));
                    break;
                }
            }
        }
        // A frame asked for before the partner went away is not shown.
        if let Some(ready) = newest.filter(|_| self.b_requested.is_some()) {
            let texture = match self.b_shown.take() {
                Some(mut shown) if shown.texture.size() == ready.image.size => {
                    shown
                        .texture
                        .set(ready.image.clone(), egui::TextureOptions::LINEAR);
                    shown.texture
                }
                _ => ctx.load_texture(
                    "compare-b",
                    ready.image.clone(),
                    egui::TextureOptions::LINEAR,
                ),
            };
            self.b_shown = Some(BFrame {
                index: ready.index,
                exact: ready.exact,
                texture,
                frame: ready.frame,
                samples: ready.samples,
            });
        }
    }

    /// Scores computed under an older pairing (the offset was nudged while they were on their
    /// way) are dropped: only pairs the current pairing makes are kept.
    fn drain_worker(&mut self, ctx: &egui::Context, a_times: &[Option<f64>]) {
        while let Some(reply) = self.worker.try_recv() {
            // Until the worker answers a (re)open, what arrives was computed for the old A.
            if !self.worker_ready
                && !matches!(reply, CompareReply::Opened | CompareReply::Failed(_))
            {
                continue;
            }
            match reply {
                CompareReply::Opened => {
                    self.worker_ready = true;
                    self.error = None;
                }
                CompareReply::Scores(scores) => {
                    for score in scores {
                        if self.partner_of(a_times, score.a - 1) == Some(score.b - 1) {
                            self.scores.insert(score.a - 1, score);
                        }
                    }
                }
                CompareReply::Progress { run, done, total } => {
                    if run == self.score_run {
                        self.progress = (done < total).then_some((done, total));
                    }
                }
                CompareReply::Difference { a, b, gain, image } => {
                    self.difference_requested = None;
                    let texture = match self.difference.take() {
                        Some(mut old) if old.texture.size() == image.size => {
                            old.texture.set(image, egui::TextureOptions::LINEAR);
                            old.texture
                        }
                        _ => ctx.load_texture(
                            "compare-difference",
                            image,
                            egui::TextureOptions::LINEAR,
                        ),
                    };
                    self.difference = Some(DifferenceTexture {
                        a,
                        b,
                        gain,
                        texture,
                    });
                }
                CompareReply::RgbPsnr { a, b, db } => {
                    self.rgb_requested = None;
                    self.rgb_psnr = Some((a, b, db));
                }
                CompareReply::Failed(e) => {
                    self.progress = None;
                    self.error = Some(e.to_string());
                }
            }
        }
    }

    /// Why the pair on screen has no B frame, when it has none.
    pub fn no_partner_reason(&self, a: usize) -> Option<String> {
        if self.partner.is_some() || self.b_times.is_empty() {
            return None;
        }
        let offset = self.pairing.offset;
        let side = if offset < 0 {
            "before B's first frame".to_string()
        } else {
            format!("past B's last frame ({})", self.b_times.len())
        };
        Some(format!(
            "no partner frame: A {} with offset {offset:+} is {side}; ] and [ move the offset",
            a + 1
        ))
    }

    /// Whether the whole clip has been scored.
    pub fn scoring(&self) -> bool {
        self.progress.is_some()
    }

    /// The worst pairs scored so far (lowest PSNR first).
    pub fn worst(&self, n: usize) -> Vec<&FrameScore> {
        let mut all: Vec<&FrameScore> = self.scores.values().collect();
        all.sort_by(|x, y| x.key_psnr().total_cmp(&y.key_psnr()));
        all.truncate(n);
        all
    }
}
