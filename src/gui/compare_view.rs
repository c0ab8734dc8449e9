//! A/B compare in the app. B is opened in a second [`Player`] (its own decoder thread) and
//! follows A's frame by number or by time plus a nudgeable offset; a [`CompareWorker`] scores
//! the pair on screen (and, on request, the whole clip) with FFmpeg's PSNR/SSIM and builds
//! difference images. This module holds that state, its commands, the compare bar, the
//! drawing of the four views (side by side, wipe, difference, flicker) inside the viewer's
//! geometry, and the score plot under the timeline.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use egui::{Color32, Pos2, Rect, Sense, Vec2};

use super::app::Screen;
use super::command::Command;
use super::compare_worker::{CompareJob, CompareReply, CompareWorker};
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
    pub mode: CompareMode,
    pub pairing: Pairing,
    pub wipe: f32,
    pub gain: f32,
    /// Flicker shows B (else A).
    pub flicker_b: bool,
    worker: CompareWorker,
    /// The A the worker has open (media id) and whether it answered.
    worker_media: Option<u64>,
    worker_ready: bool,
    open_options: OpenOptions,
    /// Scores by A's frame (0-based), for the current pairing.
    pub scores: BTreeMap<usize, FrameScore>,
    score_requested: Option<(usize, Pairing)>,
    /// A whole-clip run: pairs done and total.
    pub progress: Option<(usize, usize)>,
    pub difference: Option<DifferenceTexture>,
    difference_requested: Option<(usize, usize, u32)>,
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
        player_options.open = open_options;
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
            difference: None,
            difference_requested: None,
            error: None,
        };
        if let Err(e) = view.player.send(Request::Open(b_path)) {
            view.error = Some(e.to_string());
        }
        view
    }

    /// B's file name.
    pub fn b_name(&self) -> String {
        file_name(&self.b_path)
    }

    /// B's frame for A's frame `a`.
    pub fn partner_of(&self, a_times: &[Option<f64>], a: usize) -> Option<usize> {
        partner(a_times, &self.b_times, self.pairing, a)
    }

    /// Changes what this compare shows (the app calls it for [`Command::Compare`]).
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
                if self.worker.send(CompareJob::ScoreAll) {
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
        self.scores.clear();
        self.progress = None;
        self.score_requested = None;
        self.worker.send(CompareJob::SetPairing(pairing));
    }

    /// Tone-map (or not) B as A is.
    pub fn set_open_options(&mut self, options: OpenOptions) {
        self.open_options = options;
        self.worker_media = None;
        if let Err(e) = self.player.send(Request::SetHdr(options.hdr)) {
            self.error = Some(e.to_string());
        }
    }

    /// Drains B's player and the worker, and asks for what the screen needs now: B's partner
    /// frame, the pair's scores, the difference image.
    pub fn logic(&mut self, ctx: &egui::Context, screen: &Screen, a_path: Option<&Path>) {
        self.drain_player(ctx);
        self.drain_worker(ctx);
        let Some(media) = &screen.media else {
            return;
        };
        // (Re)open the worker's comparison when A changes.
        if self.worker_media != Some(media.media_id)
            && let Some(a_path) = a_path
        {
            self.scores.clear();
            self.progress = None;
            self.score_requested = None;
            self.worker_ready = false;
            if self.worker.send(CompareJob::Open {
                a: a_path.to_path_buf(),
                b: self.b_path.clone(),
                options: self.open_options,
                pairing: self.pairing,
            }) {
                self.worker_media = Some(media.media_id);
            }
        }
        let partner = self.partner_of(&media.frame_times, screen.target);
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
        if self.mode == CompareMode::Difference
            && let (Some(a), Some(b), Some(b_index)) = (&screen.shown, &self.b_shown, partner)
            && a.exact
            && a.index == screen.target
            && b.exact
            && b.index == b_index
        {
            let key = (a.index, b.index, self.gain.to_bits());
            let have = self
                .difference
                .as_ref()
                .map(|d| (d.a, d.b, d.gain.to_bits()));
            if have != Some(key)
                && self.difference_requested != Some(key)
                && self.worker.send(CompareJob::Difference {
                    a: a.frame.clone(),
                    b: b.frame.clone(),
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
                Ok(Some(Reply::Opened { frame_times, .. })) => {
                    self.b_times = frame_times;
                    self.b_requested = None;
                    self.b_shown = None;
                    self.error = None;
                }
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
        if let Some(ready) = newest {
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

    fn drain_worker(&mut self, ctx: &egui::Context) {
        while let Some(reply) = self.worker.try_recv() {
            match reply {
                CompareReply::Opened => {
                    self.worker_ready = true;
                    self.error = None;
                }
                CompareReply::Scores(scores) => {
                    for score in scores {
                        self.scores.insert(score.a - 1, score);
                    }
                }
                CompareReply::Progress { done, total } => {
                    self.progress = (done < total).then_some((done, total));
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
                CompareReply::Failed(e) => {
                    self.progress = None;
                    self.error = Some(e.to_string());
                }
            }
        }
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

fn file_name(path: &Path) -> String {
    path.file_name().map_or(path.display().to_string(), |n| {
        n.to_string_lossy().into_owned()
    })
}

/// The bar under the menu while comparing: sides, views, pairing, offset, gain, close.
#[must_use]
pub fn compare_bar_ui(ui: &mut egui::Ui, compare: &CompareView, screen: &Screen) -> Vec<Command> {
    let mut commands = Vec::new();
    let send = |commands: &mut Vec<Command>, c| commands.push(Command::Compare(c));
    ui.horizontal_wrapped(|ui| {
        let a_name = screen
            .media
            .as_ref()
            .map_or("nothing open".to_string(), |m| {
                file_name(Path::new(&m.info.path))
            });
        ui.label(egui::RichText::new(format!("A: {a_name}")).strong());
        ui.label(egui::RichText::new(format!("B: {}", compare.b_name())).strong());
        ui.separator();
        for mode in CompareMode::ALL {
            if ui
                .selectable_label(compare.mode == mode, mode.label())
                .on_hover_text("C cycles the views; F flickers A/B")
                .clicked()
            {
                send(&mut commands, CompareCommand::SetMode(mode));
            }
        }
        ui.separator();
        for (by, label) in [(PairBy::Frame, "by frame"), (PairBy::Time, "by time")] {
            if ui
                .selectable_label(compare.pairing.by == by, label)
                .clicked()
            {
                send(&mut commands, CompareCommand::SetPairBy(by));
            }
        }
        if ui
            .small_button("−")
            .on_hover_text("B one frame earlier ([)")
            .clicked()
        {
            send(&mut commands, CompareCommand::NudgeOffset(-1));
        }
        ui.label(format!("offset {:+}", compare.pairing.offset));
        if ui
            .small_button("+")
            .on_hover_text("B one frame later (])")
            .clicked()
        {
            send(&mut commands, CompareCommand::NudgeOffset(1));
        }
        if compare.mode == CompareMode::Difference {
            ui.separator();
            ui.label(format!("gain ×{:.0}", compare.gain));
            if ui.small_button("×½").clicked() {
                send(&mut commands, CompareCommand::SetGain(compare.gain / 2.0));
            }
            if ui.small_button("×2").clicked() {
                send(&mut commands, CompareCommand::SetGain(compare.gain * 2.0));
            }
        }
        ui.separator();
        if ui.button("Close compare").clicked() {
            send(&mut commands, CompareCommand::Close);
        }
        if let Some(error) = &compare.error {
            ui.colored_label(Color32::from_rgb(255, 110, 100), error);
        }
    });
    commands
}

/// What the compare adds to the viewer's geometry: where A and B land and which pixel of A
/// the pointer is over (in either half of side by side).
pub struct CompareLayout {
    /// The view the zoom arithmetic uses (the left half in side by side).
    pub view: Rect,
    pub a_rect: Rect,
    /// Side by side only: B's rectangle in the right half (same scale as A's).
    pub b_rect: Option<Rect>,
}

impl CompareLayout {
    pub fn new(
        mode: CompareMode,
        full_view: Rect,
        image_rect: impl Fn(Rect) -> Rect,
    ) -> CompareLayout {
        if mode == CompareMode::SideBySide {
            let (left, right) = full_view.split_left_right_at_fraction(0.5);
            let a_rect = image_rect(left);
            CompareLayout {
                view: left,
                a_rect,
                b_rect: Some(a_rect.translate(right.min - left.min)),
            }
        } else {
            CompareLayout {
                view: full_view,
                a_rect: image_rect(full_view),
                b_rect: None,
            }
        }
    }

    /// The point in A's half a screen point stands for.
    pub fn to_a_space(&self, pos: Pos2) -> Pos2 {
        match self.b_rect {
            Some(b_rect) if b_rect.contains(pos) || pos.x >= self.view.max.x => {
                pos - (b_rect.min - self.a_rect.min)
            }
            _ => pos,
        }
    }
}

/// Draws A and B for the compare's view and returns commands (the wipe divider's drag).
#[must_use]
pub fn draw_views(
    ui: &mut egui::Ui,
    painter: &egui::Painter,
    full_view: Rect,
    layout: &CompareLayout,
    a_texture: egui::TextureId,
    compare: &CompareView,
) -> Vec<Command> {
    let mut commands = Vec::new();
    let uv = Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0));
    let b_texture = compare.b_shown.as_ref().map(|b| b.texture.id());
    // Captions sit on a dark plate, readable over any picture.
    let caption = |text: String, at: Pos2| {
        let colour = Color32::from_rgb(255, 220, 120);
        let galley = painter.layout_no_wrap(text, egui::FontId::proportional(14.0), colour);
        let plate = Rect::from_min_size(at, galley.size()).expand(3.0);
        painter.rect_filled(plate, 3.0, Color32::from_black_alpha(180));
        painter.galley(at, galley, colour);
    };
    let b_caption = match &compare.b_shown {
        Some(b) if b.exact => format!("B frame {}", b.index + 1),
        Some(b) => format!("B decoding… (showing {})", b.index + 1),
        None if compare.b_times.is_empty() => "B opening…".to_string(),
        None => "B: no partner frame".to_string(),
    };
    match compare.mode {
        CompareMode::SideBySide => {
            painter.image(a_texture, layout.a_rect, uv, Color32::WHITE);
            if let (Some(b_rect), Some(b)) = (layout.b_rect, b_texture) {
                painter.image(b, b_rect, uv, Color32::WHITE);
            }
            let mid = full_view.center().x;
            painter.line_segment(
                [
                    Pos2::new(mid, full_view.min.y),
                    Pos2::new(mid, full_view.max.y),
                ],
                egui::Stroke::new(2.0, Color32::from_gray(60)),
            );
            caption("A".to_string(), full_view.left_top() + Vec2::new(8.0, 28.0));
            caption(b_caption, Pos2::new(mid + 8.0, full_view.min.y + 28.0));
        }
        CompareMode::Wipe => {
            let x = full_view.min.x + full_view.width() * compare.wipe;
            painter.image(a_texture, layout.a_rect, uv, Color32::WHITE);
            if let Some(b) = b_texture {
                let mut right = full_view;
                right.min.x = x;
                painter
                    .with_clip_rect(right)
                    .image(b, layout.a_rect, uv, Color32::WHITE);
            }
            painter.line_segment(
                [Pos2::new(x, full_view.min.y), Pos2::new(x, full_view.max.y)],
                egui::Stroke::new(2.0, Color32::from_rgb(255, 220, 120)),
            );
            let handle = Rect::from_center_size(
                Pos2::new(x, full_view.center().y),
                Vec2::new(14.0, full_view.height()),
            );
            let response = ui
                .interact(
                    handle,
                    egui::Id::unique("framekit-wipe-divider"),
                    Sense::drag(),
                )
                .on_hover_cursor(egui::CursorIcon::ResizeHorizontal);
            if response.dragged()
                && let Some(pos) = response.interact_pointer_pos()
            {
                let fraction = (pos.x - full_view.min.x) / full_view.width().max(1.0);
                commands.push(Command::Compare(CompareCommand::SetWipe(fraction)));
            }
            caption("A".to_string(), full_view.left_top() + Vec2::new(8.0, 28.0));
            caption(b_caption, Pos2::new(x + 8.0, full_view.min.y + 28.0));
        }
        CompareMode::Difference => {
            let current = compare.difference.as_ref().filter(|d| {
                compare
                    .b_shown
                    .as_ref()
                    .is_some_and(|b| b.index == d.b && b.exact)
            });
            match current {
                Some(difference) => {
                    painter.image(difference.texture.id(), layout.a_rect, uv, Color32::WHITE);
                    caption(
                        format!(
                            "|A − B| × {:.0}  (A {} / B {})",
                            difference.gain,
                            difference.a + 1,
                            difference.b + 1
                        ),
                        full_view.left_top() + Vec2::new(8.0, 28.0),
                    );
                }
                None => {
                    painter.image(a_texture, layout.a_rect, uv, Color32::from_gray(90));
                    caption(
                        "computing the difference…".to_string(),
                        full_view.left_top() + Vec2::new(8.0, 28.0),
                    );
                }
            }
        }
        CompareMode::Flicker => {
            let texture = match (compare.flicker_b, b_texture) {
                (true, Some(b)) => b,
                _ => a_texture,
            };
            painter.image(texture, layout.a_rect, uv, Color32::WHITE);
            let which = if compare.flicker_b {
                b_caption
            } else {
                "A".to_string()
            };
            caption(
                format!("{which}  (F flips)"),
                full_view.left_top() + Vec2::new(8.0, 28.0),
            );
        }
    }
    commands
}

/// B's pixel for A's pixel (B is shown stretched to A's size).
pub fn b_pixel(a: &Frame, b: &Frame, (x, y): (u32, u32)) -> (u32, u32) {
    let bx = (u64::from(x) * u64::from(b.width) / u64::from(a.width.max(1))) as u32;
    let by = (u64::from(y) * u64::from(b.height) / u64::from(a.height.max(1))) as u32;
    (
        bx.min(b.width.saturating_sub(1)),
        by.min(b.height.saturating_sub(1)),
    )
}

/// The scores under the timeline: PSNR along A's frames (click to jump), the pair on screen,
/// the worst frames, and "Score whole clip".
#[must_use]
pub fn score_plot_ui(ui: &mut egui::Ui, compare: &CompareView, screen: &Screen) -> Vec<Command> {
    let mut commands = Vec::new();
    let count = screen.frame_count();
    ui.horizontal(|ui| {
        match compare.scores.get(&screen.target) {
            Some(score) => {
                let text = match (score.psnr_y, score.ssim_y) {
                    (Some(p), Some(s)) => format!(
                        "A {} / B {}: PSNR y {} avg {} dB, SSIM y {s:.4} all {:.4}",
                        score.a,
                        score.b,
                        db(p),
                        db(score.psnr_avg),
                        score.ssim_all
                    ),
                    _ => format!(
                        "A {} / B {}: PSNR {} dB, SSIM {:.4}",
                        score.a,
                        score.b,
                        db(score.psnr_avg),
                        score.ssim_all
                    ),
                };
                ui.monospace(text);
            }
            None => {
                ui.weak("scoring this pair…");
            }
        }
        ui.separator();
        match compare.progress {
            Some((done, total)) => {
                ui.add(
                    egui::ProgressBar::new(done as f32 / total.max(1) as f32)
                        .desired_width(140.0)
                        .text(format!("scoring {done}/{total}")),
                );
            }
            None => {
                if ui.button("Score whole clip").clicked() {
                    commands.push(Command::Compare(CompareCommand::ScoreAll));
                }
            }
        }
        let worst = compare.worst(5);
        if compare.scores.len() > 1 && !worst.is_empty() {
            ui.label("worst:");
            for score in worst {
                if ui
                    .small_button(format!("{} ({})", score.a, db(score.key_psnr())))
                    .on_hover_text("go to this frame")
                    .clicked()
                {
                    commands.push(Command::Goto(score.a - 1));
                }
            }
        }
    });
    let (rect, response) =
        ui.allocate_exact_size(Vec2::new(ui.available_width(), 70.0), Sense::click());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, Color32::from_gray(30));
    if count == 0 {
        return commands;
    }
    let x_of = |frame: usize| rect.min.x + rect.width() * (frame as f32 + 0.5) / count as f32;
    let finite: Vec<f64> = compare
        .scores
        .values()
        .map(FrameScore::key_psnr)
        .filter(|v| v.is_finite())
        .collect();
    let (low, high) = if finite.is_empty() {
        (0.0, 60.0)
    } else {
        let low = finite.iter().copied().fold(f64::INFINITY, f64::min);
        let high = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (low - 1.0, high + 1.0)
    };
    let y_of = |psnr: f64| {
        let t = if psnr.is_finite() {
            ((psnr - low) / (high - low).max(1e-6)) as f32
        } else {
            1.0
        };
        rect.max.y - 4.0 - t.clamp(0.0, 1.0) * (rect.height() - 8.0)
    };
    let mut previous: Option<(usize, Pos2)> = None;
    for (&frame, score) in &compare.scores {
        let point = Pos2::new(x_of(frame), y_of(score.key_psnr()));
        if let Some((before, at)) = previous
            && before + 1 == frame
        {
            painter.line_segment(
                [at, point],
                egui::Stroke::new(1.5, Color32::from_rgb(120, 200, 255)),
            );
        }
        painter.circle_filled(point, 1.5, Color32::from_rgb(120, 200, 255));
        previous = Some((frame, point));
    }
    let playhead = x_of(screen.target);
    painter.line_segment(
        [
            Pos2::new(playhead, rect.min.y),
            Pos2::new(playhead, rect.max.y),
        ],
        egui::Stroke::new(1.0, Color32::from_rgb(255, 200, 0)),
    );
    painter.text(
        rect.left_top() + Vec2::new(4.0, 2.0),
        egui::Align2::LEFT_TOP,
        format!("PSNR {high:.1} dB"),
        egui::FontId::proportional(11.0),
        Color32::GRAY,
    );
    painter.text(
        rect.left_bottom() + Vec2::new(4.0, -2.0),
        egui::Align2::LEFT_BOTTOM,
        format!("{low:.1} dB"),
        egui::FontId::proportional(11.0),
        Color32::GRAY,
    );
    if response.clicked()
        && let Some(pos) = response.interact_pointer_pos()
    {
        let frame = ((pos.x - rect.min.x) / rect.width() * count as f32).floor();
        commands.push(Command::Goto((frame.max(0.0) as usize).min(count - 1)));
    }
    commands
}

fn db(value: f64) -> String {
    if value.is_infinite() {
        "inf".to_string()
    } else {
        format!("{value:.2}")
    }
}
