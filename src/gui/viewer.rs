//! The frame view: fit to window or a fixed scale, wheel zoom around the cursor, drag to pan,
//! nearest-neighbour sampling from 200% up; and the pixel inspector for the info panel.

use egui::{Color32, Pos2, Rect, Sense, Vec2};

use super::command::Command;
use super::compare_view::{self, CompareLayout, CompareView};
use super::gpu_display::GpuDisplay;
pub use super::state::Zoom;
use super::state::{MIN_SCALE, Screen, ViewState};

/// From this zoom up single pixels are drawn as sharp squares.
pub const NEAREST_FROM_SCALE: f32 = 2.0;
const MAX_SCALE: f32 = 64.0;

/// Wheel zoom: this many notches double the scale (x1.19 a notch, fine enough for pixel work).
pub const NOTCHES_PER_DOUBLING: f32 = 4.0;

/// The scales the wheel stops at on its way past them (100%, 200%, 400%, …).
const SNAP_SCALES: [f32; 9] = [0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0];

/// Mouse-wheel notches this frame (up: positive); a trackpad's points count 40 to a notch.
/// Ctrl+wheel is left to the system.
fn wheel_notches(input: &egui::InputState) -> f32 {
    input
        .events
        .iter()
        .map(|event| match event {
            egui::Event::MouseWheel {
                unit,
                delta,
                modifiers,
                ..
            } if !modifiers.command => match unit {
                egui::MouseWheelUnit::Line => delta.y,
                egui::MouseWheelUnit::Point => delta.y / 40.0,
                egui::MouseWheelUnit::Page => delta.y * 4.0,
            },
            _ => 0.0,
        })
        .sum()
}

/// `to`, or the snap scale (100%, 200%, …) between `from` and `to` nearest `from`: a zoom that
/// passes one of them stops there first.
pub fn snap_on_the_way(from: f32, to: f32) -> f32 {
    let passed = |p: &&f32| (from < **p && **p < to) || (to < **p && **p < from);
    let nearest = SNAP_SCALES
        .iter()
        .filter(passed)
        .min_by(|a, b| (**a - from).abs().total_cmp(&(**b - from).abs()));
    nearest.copied().unwrap_or(to)
}

/// A fixed zoom within the allowed range.
pub fn clamp_zoom(scale: f32) -> Zoom {
    Zoom::Scale(scale.clamp(MIN_SCALE, MAX_SCALE))
}

/// Where the image lands on screen.
pub fn image_rect(zoom: Zoom, pan: Vec2, size: Vec2, view: Rect) -> Rect {
    let scale = zoom.scale_for(size.x as u32, size.y as u32, Some(view));
    Rect::from_center_size(view.center() + pan, size * scale)
}

/// New zoom and pan after scaling by `factor` with the image point under `anchor` kept fixed.
pub fn zoom_around(
    zoom: Zoom,
    pan: Vec2,
    size: Vec2,
    view: Rect,
    anchor: Pos2,
    factor: f32,
) -> (Zoom, Vec2) {
    let scale = zoom.scale_for(size.x as u32, size.y as u32, Some(view));
    let rect = image_rect(zoom, pan, size, view);
    let new_scale = (scale * factor).clamp(MIN_SCALE, MAX_SCALE);
    let image_point = (anchor - rect.min) / scale;
    let new_min = anchor - image_point * new_scale;
    let new_center = new_min + size * new_scale / 2.0;
    (Zoom::Scale(new_scale), new_center - view.center())
}

/// The image pixel under screen point `pos`, if any.
pub fn pixel_at(rect: Rect, width: u32, height: u32, pos: Pos2) -> Option<(u32, u32)> {
    if !rect.contains(pos) || rect.width() <= 0.0 || rect.height() <= 0.0 {
        return None;
    }
    let x = ((pos.x - rect.min.x) / rect.width() * width as f32).floor() as i64;
    let y = ((pos.y - rect.min.y) / rect.height() * height as f32).floor() as i64;
    (x >= 0 && y >= 0 && x < i64::from(width) && y < i64::from(height))
        .then_some((x as u32, y as u32))
}

/// Draws the frame (or, while comparing, A and B in the compare's view) and returns what the
/// user did with it. Zoom, pan and the inspector's pixel are A's and apply to B as well.
#[must_use]
pub fn viewer_ui(
    ui: &mut egui::Ui,
    view_state: &ViewState,
    screen: &Screen,
    compare: Option<&CompareView>,
    gpu: Option<&GpuDisplay>,
) -> Vec<Command> {
    let mut commands = Vec::new();
    let (full_view, response) =
        ui.allocate_exact_size(ui.available_size(), Sense::click_and_drag());
    let painter = ui.painter_at(full_view);
    painter.rect_filled(full_view, 0.0, Color32::from_gray(24));
    let Some(shown) = &screen.shown else {
        let message = if screen.media.is_some() {
            "decoding…"
        } else {
            "Open a video or image: Ctrl+O, drop a file here, or paste base64 with Ctrl+V"
        };
        painter.text(
            full_view.center(),
            egui::Align2::CENTER_CENTER,
            message,
            egui::FontId::proportional(16.0),
            Color32::GRAY,
        );
        return commands;
    };
    // Layout uses the frame's full size: while playing the picture may be converted smaller.
    let (full_w, full_h) = shown.full_size;
    let size = Vec2::new(full_w as f32, full_h as f32);
    let place = |view: Rect| image_rect(view_state.zoom, view_state.pan, size, view);
    let layout = match compare {
        Some(compare) => CompareLayout::new(compare.mode, full_view, place),
        None => CompareLayout {
            view: full_view,
            a_rect: place(full_view),
            b_rect: None,
        },
    };
    // The zoom arithmetic uses A's part of the view (the left half side by side).
    let view = layout.view;
    if view_state.last_view != Some(view) {
        commands.push(Command::ViewRect(view));
    }
    let rect = layout.a_rect;
    let nearest = view_state.zoom.scale_for(full_w, full_h, Some(view)) >= NEAREST_FROM_SCALE;
    if nearest != view_state.nearest {
        commands.push(Command::SetNearest(nearest));
    }
    if compare.is_none() && shown.frame.layout == crate::frame::PixelLayout::Rgba8 {
        checkerboard(&painter, rect.intersect(view));
    }
    let texture = shown.texture.as_ref().map(egui::TextureHandle::id);
    match (compare, gpu, &shown.planes, texture) {
        (Some(compare), _, _, Some(texture)) => commands.extend(compare_view::draw_views(
            ui, &painter, full_view, &layout, texture, compare,
        )),
        // The GPU display: the planes converted by the shader, drawn through eframe's glow
        // renderer.
        (None, Some(gpu), Some(planes), _) => {
            painter.add(gpu.paint_callback(rect, planes.clone(), nearest));
        }
        (None, _, _, Some(texture)) => {
            let uv = Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0));
            painter.image(texture, rect, uv, Color32::WHITE);
        }
        // Its picture is on its way (uploaded next frame, or asked for again).
        _ => {}
    }
    let scale = view_state.zoom.scale_for(full_w, full_h, Some(view));
    let fit = if view_state.zoom == Zoom::Fit {
        " (fit)"
    } else {
        ""
    };
    // A label, not painted text, so screen readers (and tests) find it.
    let zoom_area = Rect::from_min_size(
        full_view.right_top() + Vec2::new(-110.0, 6.0),
        Vec2::new(104.0, 18.0),
    );
    ui.put(
        zoom_area,
        egui::Label::new(
            egui::RichText::new(format!("{:.0}%{fit}", scale * 100.0))
                .color(Color32::from_gray(210))
                .size(13.0),
        ),
    );
    if !shown.exact {
        painter.text(
            view.left_top() + Vec2::new(8.0, 8.0),
            egui::Align2::LEFT_TOP,
            "placeholder: decoding the exact frame…",
            egui::FontId::proportional(14.0),
            Color32::YELLOW,
        );
    }
    if response.dragged() {
        commands.push(Command::Pan(response.drag_delta()));
    }
    if response.double_clicked() {
        commands.push(Command::SetZoom(if view_state.zoom == Zoom::Fit {
            Zoom::Scale(1.0)
        } else {
            Zoom::Fit
        }));
    }
    // A point over B (side by side) stands for the same point over A.
    let hover = response.hover_pos().map(|pos| layout.to_a_space(pos));
    if let Some(anchor) = hover {
        let notches = ui.input(wheel_notches);
        if notches != 0.0 {
            // A zoom that passes 100%, 200%, … stops there first.
            let scale = view_state.zoom.scale_for(full_w, full_h, Some(view));
            let wanted = scale * 2f32.powf(notches / NOTCHES_PER_DOUBLING);
            commands.push(Command::ZoomAround {
                factor: snap_on_the_way(scale, wanted) / scale,
                anchor,
                view,
            });
        }
    }
    let pixel = hover.and_then(|pos| pixel_at(rect, full_w, full_h, pos));
    if pixel != view_state.hover_pixel {
        commands.push(Command::Hover(pixel));
    }
    // A single click pins the inspector to the pixel under the cursor (Esc unpins).
    if response.clicked()
        && !response.double_clicked()
        && let Some(pixel) = pixel
    {
        commands.push(Command::PinPixel(Some(pixel)));
    }
    if let Some((x, y)) = view_state.pinned_pixel {
        // Mark the pinned pixel on the frame (on both sides side by side).
        let scale = rect.width() / full_w as f32;
        for side in std::iter::once(rect).chain(layout.b_rect) {
            let marker = Rect::from_min_size(
                side.min + Vec2::new(x as f32 * scale, y as f32 * scale),
                Vec2::splat(scale.max(1.0)),
            )
            .expand(2.0);
            painter.rect_stroke(
                marker,
                0.0,
                egui::Stroke::new(1.5, Color32::from_rgb(255, 200, 0)),
                egui::StrokeKind::Outside,
            );
        }
    }
    commands
}

/// The usual grey checkerboard behind transparent pixels.
fn checkerboard(painter: &egui::Painter, area: Rect) {
    const CELL: f32 = 12.0;
    if area.width() <= 0.0 || area.height() <= 0.0 {
        return;
    }
    painter.rect_filled(area, 0.0, Color32::from_gray(200));
    let columns = (area.width() / CELL).ceil() as usize;
    let rows = (area.height() / CELL).ceil() as usize;
    for row in 0..rows {
        for column in (row % 2..columns).step_by(2) {
            let min = area.min + Vec2::new(column as f32 * CELL, row as f32 * CELL);
            let cell = Rect::from_min_size(min, Vec2::splat(CELL)).intersect(area);
            painter.rect_filled(cell, 0.0, Color32::from_gray(150));
        }
    }
}

/// Position and colour under the cursor, and the conversion used; while comparing, A's and
/// B's values at the same place.
pub fn inspector_ui(
    ui: &mut egui::Ui,
    view_state: &ViewState,
    screen: &Screen,
    compare: Option<&CompareView>,
) {
    ui.heading("Pixel");
    let pixel = view_state.pinned_pixel.or(view_state.hover_pixel);
    let (Some(shown), Some((x, y))) = (&screen.shown, pixel) else {
        ui.label("hover over the frame (click to pin a pixel)");
        return;
    };
    if view_state.pinned_pixel.is_some() {
        ui.label(
            egui::RichText::new("pinned (Esc to unpin)").color(Color32::from_rgb(255, 200, 0)),
        );
    }
    ui.monospace(format!("x={x} y={y}"));
    let side = if compare.is_some() { "A " } else { "" };
    if shown.is_reduced() {
        // Playing at display size: the samples are exact, the RGB comes when paused.
        ui.label("playing: RGB at full size when paused");
        if let Some(samples) = shown.samples.as_deref() {
            sample_values_ui(ui, side, samples, (x, y));
        }
    } else {
        pixel_values_ui(ui, side, &shown.frame, shown.samples.as_deref(), (x, y));
    }
    if let Some(video) = screen.media.as_ref().and_then(|m| m.info.video.as_ref()) {
        ui.monospace(format!(
            "from {} via {} {}",
            video.pixel_format,
            video.color.used.matrix.label(),
            video.color.used.range.label()
        ));
        if let Some(tone_map) = &video.color.tone_map {
            ui.monospace(format!(
                "RGB tone-mapped ({}); samples are the raw values",
                tone_map.operator
            ));
        }
    }
    if let Some(b) = compare.and_then(|c| c.b_shown.as_ref()) {
        let at = compare_view::b_pixel(&shown.frame, &b.frame, (x, y));
        let label = if at == (x, y) {
            "B ".to_string()
        } else {
            format!("B ({},{}) ", at.0, at.1)
        };
        pixel_values_ui(ui, &label, &b.frame, b.samples.as_deref(), at);
    }
}

/// One side's colour (swatch, hex, RGB(A)) and decoded samples at a pixel.
fn pixel_values_ui(
    ui: &mut egui::Ui,
    side: &str,
    frame: &crate::frame::Frame,
    samples: Option<&crate::media::color::SourceSamples>,
    (x, y): (u32, u32),
) {
    if let Some([r, g, b, a]) = frame.rgba_at(x, y) {
        let alpha = if frame.layout == crate::frame::PixelLayout::Rgba8 {
            format!(" A {a}")
        } else {
            String::new()
        };
        ui.horizontal(|ui| {
            let (swatch, _) = ui.allocate_exact_size(Vec2::splat(18.0), Sense::hover());
            ui.painter()
                .rect_filled(swatch, 2.0, Color32::from_rgb(r, g, b));
            ui.monospace(format!(
                "{side}#{r:02X}{g:02X}{b:02X}  R {r} G {g} B {b}{alpha}"
            ));
        });
    }
    if let Some(samples) = samples {
        sample_values_ui(ui, side, samples, (x, y));
    }
}

/// One side's decoded samples at a pixel.
fn sample_values_ui(
    ui: &mut egui::Ui,
    side: &str,
    samples: &crate::media::color::SourceSamples,
    (x, y): (u32, u32),
) {
    if let Some(values) = samples.at_display(x, y) {
        let names =
            if samples.pixel_format.starts_with("yuv") || samples.pixel_format.starts_with("nv") {
                ["Y", "U", "V"]
            } else {
                ["c0", "c1", "c2"]
            };
        let text: Vec<String> = values
            .iter()
            .zip(names)
            .map(|(v, n)| format!("{n} {v}"))
            .collect();
        ui.monospace(format!(
            "{side}{}  ({}-bit)",
            text.join(" "),
            samples.bit_depth
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zoom_stops_at_the_snap_scale_it_passes() {
        assert_eq!(snap_on_the_way(1.7, 2.4), 2.0);
        assert_eq!(snap_on_the_way(2.4, 1.7), 2.0);
        assert_eq!(
            snap_on_the_way(2.0, 2.38),
            2.38,
            "from a snap scale it moves on"
        );
        assert_eq!(snap_on_the_way(0.9, 4.5), 1.0, "the nearest one first");
        assert_eq!(snap_on_the_way(1.1, 1.3), 1.3);
    }

    #[test]
    fn zoom_keeps_the_point_under_the_cursor() {
        let view = Rect::from_min_size(Pos2::ZERO, Vec2::new(800.0, 600.0));
        let size = Vec2::new(400.0, 300.0);
        let anchor = Pos2::new(300.0, 200.0);
        let before = image_rect(Zoom::Fit, Vec2::ZERO, size, view);
        let under = pixel_at(before, 400, 300, anchor);
        let (zoom, pan) = zoom_around(Zoom::Fit, Vec2::ZERO, size, view, anchor, 3.0);
        let after = image_rect(zoom, pan, size, view);
        assert_eq!(pixel_at(after, 400, 300, anchor), under);
        assert!(matches!(zoom, Zoom::Scale(s) if (s - 6.0).abs() < 1e-3));
    }
}
