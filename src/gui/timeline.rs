//! The bottom panel: filmstrip, timeline slider over every frame, transport buttons, the
//! go-to box and the status line (frame n / total, time, keyframe, exact or placeholder).

use super::command::Command;
use super::state::{Screen, StatusMessages};

/// The player's thumbnails are at most this high (points).
const THUMBNAIL_HEIGHT: f32 = crate::player::THUMBNAIL_HEIGHT as f32;

/// Draws the timeline and returns what the user did. `goto_text` is the go-to box's text.
#[must_use]
pub fn timeline_ui(
    ui: &mut egui::Ui,
    screen: &Screen,
    messages: &StatusMessages,
    goto_text: &mut String,
) -> Vec<Command> {
    let mut commands = Vec::new();
    let count = screen.frame_count();
    // In a low window the filmstrip shrinks (to an eighth of the height) so the picture keeps
    // the space.
    let thumb_height = (ui.ctx().content_rect().height() / 8.0).clamp(28.0, THUMBNAIL_HEIGHT);
    // The error line sits on top: the panel grows upwards from the window's bottom edge, so
    // an error showing up or going away never moves the controls under it.
    if let Some(error) = &messages.error {
        ui.horizontal_wrapped(|ui| {
            ui.add(
                egui::Label::new(
                    egui::RichText::new(format!("Error: {error}"))
                        .color(egui::Color32::from_rgb(255, 110, 100)),
                )
                .wrap(),
            );
            if ui.small_button("dismiss").clicked() {
                commands.push(Command::DismissMessage);
            }
        });
    }
    if count > 1 {
        egui::ScrollArea::horizontal()
            .id_salt("filmstrip")
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    // The strip's height is kept from the start, before its thumbnails
                    // arrive: the controls under it never jump (a click would miss).
                    ui.set_min_height(thumb_height + 2.0 * ui.spacing().button_padding.y);
                    let mut thumbs: Vec<_> = screen.thumbnails.iter().collect();
                    thumbs.sort_by_key(|(i, _)| *i);
                    for (index, texture) in thumbs {
                        let mut size = texture.size_vec2();
                        if size.y > thumb_height {
                            size *= thumb_height / size.y;
                        }
                        let button = egui::Button::image(egui::Image::new((texture.id(), size)))
                            .selected(
                                *index <= screen.target && screen.target < index + count / 16 + 1,
                            );
                        let current =
                            *index <= screen.target && screen.target < index + count / 16 + 1;
                        let response = ui.add(button).on_hover_text(format!("frame {}", index + 1));
                        if current && screen.filmstrip_follows {
                            // The filmstrip keeps the playhead's thumbnail in view.
                            response.scroll_to_me(None);
                        }
                        if response.clicked() {
                            commands.push(Command::Goto(*index));
                        }
                    }
                });
            });
    }
    if count > 1 {
        let mut value = screen.target + 1;
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
        keyframe_ticks_ui(ui, screen, slider.rect, count);
    }
    ui.horizontal(|ui| {
        if ui.button("|<").on_hover_text("first frame (Home)").clicked() {
            commands.push(Command::Goto(0));
        }
        if ui.button("<").on_hover_text("previous frame (Left; Shift: 10)").clicked() {
            commands.push(Command::Step(-1));
        }
        let play = if screen.playing { "Pause" } else { "Play" };
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
            egui::TextEdit::singleline(goto_text).desired_width(90.0).hint_text("150 or 4.9s"),
        );
        let goto = goto.labelled_by(label.id);
        if goto.lost_focus()
            && ui.input(|i| i.key_pressed(egui::Key::Enter))
            && let Some(media) = &screen.media
        {
            let number = goto_text.trim().parse::<usize>().ok();
            match (parse_goto(goto_text, &media.frame_times, media.fps()), number) {
                (Some(index), _) => commands.push(Command::Goto(index)),
                // While the index is still counting, a later frame may well exist.
                (None, Some(n)) if n > count && media.count_is_partial() => {
                    commands.push(Command::Goto(n - 1))
                }
                (None, Some(n)) => commands.push(Command::ShowError(format!(
                    "go to: there is no frame {n}; frames are numbered 1-{count}"
                ))),
                (None, None) => commands.push(Command::ShowError(format!(
                    "go to: \"{}\" is neither a frame number (1-{count}) nor a time like 4.9s or 1:02.5",
                    goto_text.trim()
                ))),
            }
        }
        if ui.button("Copy f/t").on_hover_text("copy frame number and time, e.g. f=150 t=4.967s").clicked() {
            commands.push(Command::CopyStamp);
        }
    });
    // The status has a line of its own, always one line high (its height never moves the
    // controls): its parts stay whole and a long note is shortened to fit.
    ui.horizontal(|ui| status_ui(ui, screen, messages));
    commands
}

/// Small ticks under the slider where the keyframes (seek points) are.
fn keyframe_ticks_ui(ui: &egui::Ui, screen: &Screen, slider: egui::Rect, count: usize) {
    let Some(media) = &screen.media else { return };
    // The slider's rail, without the value box to its right.
    let rail_width = ui.spacing().slider_width;
    let handle = ui.spacing().interact_size.y / 2.0;
    let left = slider.left() + handle;
    let right = slider.left() + rail_width - handle;
    if right <= left || count < 2 {
        return;
    }
    let painter = ui.painter();
    let y = slider.bottom() - 1.0;
    let colour = egui::Color32::from_rgb(120, 170, 255);
    for (index, _) in media.keyframes.iter().enumerate().filter(|(_, k)| **k) {
        let x = left + (right - left) * index as f32 / (count - 1) as f32;
        painter.line_segment(
            [egui::pos2(x, y - 4.0), egui::pos2(x, y)],
            egui::Stroke::new(1.0, colour),
        );
    }
}

fn status_ui(ui: &mut egui::Ui, screen: &Screen, messages: &StatusMessages) {
    ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Extend);
    let Some(media) = &screen.media else {
        // Opening a long or remote file takes a moment: say so, not "no file open".
        match &messages.busy {
            Some(busy) => {
                ui.add(egui::Spinner::new());
                ui.label(busy);
            }
            None => {
                ui.label("no file open");
            }
        }
        return;
    };
    let count = media.frame_count();
    let shown_index = screen.shown.as_ref().map_or(screen.target, |s| s.index);
    let more = if media.count_is_partial() { "+" } else { "" };
    ui.label(format!("frame {} / {count}{more}", shown_index + 1));
    if let Some(fraction) = media.indexing {
        ui.weak(format!("indexing {:.0}%", fraction * 100.0))
            .on_hover_text(
                "the frame index is being read in the background; seeking works meanwhile",
            );
    }
    if let Some(t) = media.frame_times.get(shown_index).copied().flatten() {
        ui.monospace(format!("t={t:.3}s"));
    }
    if media.keyframes.get(shown_index).copied().unwrap_or(false) {
        ui.label("keyframe")
            .on_hover_text("a keyframe (seek point)");
    }
    match &screen.shown {
        Some(_) if screen.playing => {
            ui.label("playing");
        }
        Some(shown) if shown.exact && shown.index == screen.target => {
            ui.label("exact");
        }
        Some(_) => {
            ui.colored_label(
                egui::Color32::YELLOW,
                format!("placeholder, decoding frame {}", screen.target + 1),
            );
        }
        None => {
            ui.label("decoding…");
        }
    }
    if let Some(count) = screen.playback_frames
        && screen.playing
    {
        let percent = 100.0 * count.dropped as f64 / count.due.max(1) as f64;
        let colour = if percent < 2.0 {
            egui::Color32::GRAY
        } else {
            egui::Color32::from_rgb(255, 170, 60)
        };
        ui.colored_label(colour, format!("dropped {} ({percent:.1}%)", count.dropped))
            .on_hover_text(format!(
                "{} of {} frames due so far never reached the screen",
                count.dropped, count.due
            ));
    }
    if let Some(color) = media.info.video.as_ref().map(|v| &v.color)
        && let Some(hdr) = color.tagged.hdr
    {
        match &color.tone_map {
            Some(tone_map) => {
                ui.colored_label(egui::Color32::from_rgb(255, 170, 60), "tone-mapped")
                    .on_hover_text(format!("{}: {}", hdr.label(), tone_map.label()));
            }
            None => {
                ui.colored_label(egui::Color32::from_rgb(255, 170, 60), "HDR as tagged")
                    .on_hover_text(format!(
                        "{}: converted without tone mapping (View > Tone-map HDR, or H)",
                        hdr.label()
                    ));
            }
        }
    }
    if let Some(busy) = &messages.busy {
        ui.add(egui::Spinner::new());
        ui.label(busy);
    } else if let Some(note) = &messages.note {
        // A long note (a path) is shortened to the line, in full on hover.
        ui.add(egui::Label::new(egui::RichText::new(note).weak()).truncate())
            .on_hover_text(note);
    }
}

/// Parses the go-to box: a 1-based frame number (`150`), or a time (`4.967s`, `1:02.5`,
/// `00:01:02.5`). Returns the 0-based frame index; `None` for a frame number outside
/// 1..=count (never clamped silently) or anything else it cannot read.
pub fn parse_goto(text: &str, frame_times: &[Option<f64>], fps: f64) -> Option<usize> {
    let text = text.trim();
    if text.is_empty() || frame_times.is_empty() {
        return None;
    }
    if let Ok(n) = text.parse::<usize>() {
        return (1..=frame_times.len()).contains(&n).then(|| n - 1);
    }
    let seconds = if let Some(s) = text.strip_suffix('s') {
        s.trim().parse::<f64>().ok()?
    } else if text.contains(':') {
        let mut total = 0.0;
        for part in text.split(':') {
            total = total * 60.0 + part.trim().parse::<f64>().ok()?;
        }
        total
    } else {
        text.parse::<f64>().ok()?
    };
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    // The last frame that starts at or before the time.
    let index = frame_times
        .iter()
        .enumerate()
        .map(|(i, t)| (i, t.unwrap_or(i as f64 / fps)))
        .take_while(|(_, t)| *t <= seconds + 1e-6)
        .last()
        .map_or(0, |(i, _)| i);
    Some(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goto_parses_frames_and_times() {
        let times: Vec<Option<f64>> = (0..100).map(|i| Some(f64::from(i) / 10.0)).collect();
        assert_eq!(parse_goto("1", &times, 10.0), Some(0));
        assert_eq!(parse_goto("50", &times, 10.0), Some(49));
        assert_eq!(parse_goto("100", &times, 10.0), Some(99));
        assert_eq!(
            parse_goto("5000", &times, 10.0),
            None,
            "never clamped silently"
        );
        assert_eq!(parse_goto("0", &times, 10.0), None);
        assert_eq!(parse_goto("2.05s", &times, 10.0), Some(20));
        assert_eq!(parse_goto("0:03.5", &times, 10.0), Some(35));
        assert_eq!(parse_goto("00:00:01", &times, 10.0), Some(10));
        assert_eq!(parse_goto("abc", &times, 10.0), None);
        assert_eq!(parse_goto("-1s", &times, 10.0), None);
    }
}
