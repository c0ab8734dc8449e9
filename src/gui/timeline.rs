//! The bottom panel: filmstrip, timeline slider over every frame, transport buttons, the
//! go-to box and the status line (frame n / total, time, keyframe, exact or placeholder).

use super::app::{Command, FramekitApp, parse_goto};

/// Draws the timeline and returns what the user did.
pub fn timeline_ui(ui: &mut egui::Ui, app: &mut FramekitApp) -> Vec<Command> {
    let mut commands = Vec::new();
    let count = app.frame_count();
    if count > 1 && !app.thumbnails.is_empty() {
        egui::ScrollArea::horizontal()
            .id_salt("filmstrip")
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    let mut thumbs: Vec<_> = app.thumbnails.iter().collect();
                    thumbs.sort_by_key(|(i, _)| *i);
                    for (index, texture) in thumbs {
                        let size = texture.size_vec2();
                        let button = egui::Button::image(egui::Image::new((texture.id(), size)))
                            .selected(*index <= app.target && app.target < index + count / 16 + 1);
                        if ui
                            .add(button)
                            .on_hover_text(format!("frame {}", index + 1))
                            .clicked()
                        {
                            commands.push(Command::Goto(*index));
                        }
                    }
                });
            });
    }
    if count > 1 {
        let mut value = app.target + 1;
        ui.spacing_mut().slider_width = (ui.available_width() - 90.0).max(100.0);
        let slider = ui.add(
            egui::Slider::new(&mut value, 1..=count)
                .text("frame")
                .show_value(true)
                .clamping(egui::SliderClamping::Always),
        );
        if slider.changed() {
            commands.push(Command::Goto(value - 1));
        }
    }
    ui.horizontal(|ui| {
        if ui.button("|<").on_hover_text("first frame (Home)").clicked() {
            commands.push(Command::Goto(0));
        }
        if ui.button("<").on_hover_text("previous frame (Left; Shift: 10)").clicked() {
            commands.push(Command::Step(-1));
        }
        let play = if app.is_playing() { "Pause" } else { "Play" };
        if ui.button(play).on_hover_text("play / pause (Space)").clicked() {
            commands.push(Command::TogglePlay);
        }
        if ui.button(">").on_hover_text("next frame (Right; Shift: 10)").clicked() {
            commands.push(Command::Step(1));
        }
        if ui.button(">|").on_hover_text("last frame (End)").clicked() {
            commands.push(Command::Goto(usize::MAX));
        }
        ui.separator();
        let label = ui.label("Go to");
        let goto = ui.add(
            egui::TextEdit::singleline(&mut app.goto_text).desired_width(90.0).hint_text("150 or 4.9s"),
        );
        let goto = goto.labelled_by(label.id);
        if goto.lost_focus()
            && ui.input(|i| i.key_pressed(egui::Key::Enter))
            && let Some(media) = &app.media
        {
            {
                match parse_goto(&app.goto_text, &media.frame_times, media.fps()) {
                    Some(index) => commands.push(Command::Goto(index)),
                    None => commands.push(Command::ShowError(format!(
                        "go to: \"{}\" is neither a frame number (1-{count}) nor a time like 4.9s or 1:02.5",
                        app.goto_text.trim()
                    ))),
                }
            }
        }
        if ui.button("Copy f/t").on_hover_text("copy frame number and time, e.g. f=150 t=4.967s").clicked() {
            commands.push(Command::CopyStamp);
        }
        ui.separator();
        status_ui(ui, app);
    });
    if let Some(error) = &app.error {
        ui.horizontal(|ui| {
            ui.colored_label(
                egui::Color32::from_rgb(255, 110, 100),
                format!("Error: {error}"),
            );
            if ui.small_button("dismiss").clicked() {
                commands.push(Command::DismissMessage);
            }
        });
    }
    commands
}

fn status_ui(ui: &mut egui::Ui, app: &FramekitApp) {
    let Some(media) = &app.media else {
        ui.label("no file open");
        return;
    };
    let count = media.frame_count();
    let shown_index = app.shown.as_ref().map_or(app.target, |s| s.index);
    ui.label(format!("frame {} / {count}", shown_index + 1));
    if let Some(t) = media.frame_times.get(shown_index).copied().flatten() {
        ui.monospace(format!("t={t:.3}s"));
    }
    if media.keyframes.get(shown_index).copied().unwrap_or(false) {
        ui.label("keyframe")
            .on_hover_text("a keyframe (seek point)");
    }
    match &app.shown {
        Some(_) if app.is_playing() => {
            ui.label("playing");
        }
        Some(shown) if shown.exact && shown.index == app.target => {
            ui.label("exact");
        }
        Some(_) => {
            ui.colored_label(
                egui::Color32::YELLOW,
                format!("placeholder, decoding frame {}", app.target + 1),
            );
        }
        None => {
            ui.label("decoding…");
        }
    }
    if let Some(busy) = &app.busy {
        ui.add(egui::Spinner::new());
        ui.label(busy);
    } else if let Some(note) = &app.note {
        ui.weak(note);
    }
}
