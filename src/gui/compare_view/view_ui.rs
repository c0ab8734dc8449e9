//! The compare's drawing: the bar under the menu, A and B in the viewer's geometry for each
//! view, B's pixel for the inspector, and the PSNR plot under the timeline. Each function
//! draws from the state it is given and returns the commands the user gave.

use std::path::Path;

use egui::{Color32, Pos2, Rect, Sense, Vec2};

use super::{CompareCommand, CompareMode, CompareView};
use crate::compare::format_db as db;
use crate::compare::{FrameScore, PairBy};
use crate::frame::Frame;
use crate::gui::command::Command;
use crate::gui::file_label;
use crate::gui::state::Screen;

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
                file_label(Path::new(&m.info.path))
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
    // The button first, so a long score line can never push it out of the window.
    ui.horizontal_wrapped(|ui| {
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
        ui.separator();
        let no_partner = compare.no_partner_reason(screen.target);
        match (no_partner, compare.scores.get(&screen.target)) {
            (Some(reason), _) => {
                ui.colored_label(Color32::from_rgb(255, 170, 60), reason);
            }
            (None, Some(score)) => {
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
            (None, None) => {
                ui.weak("scoring this pair…");
            }
        }
        if let Some((a, b, psnr)) = compare.rgb_psnr
            && a == screen.target
            && compare.partner == Some(b)
            && compare
                .b_shown
                .as_ref()
                .is_some_and(|shown| shown.index == b)
        {
            ui.monospace(format!("RGB PSNR {} dB", db(psnr)))
                .on_hover_text("over R, G and B of the frames as shown (after tone mapping)");
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
