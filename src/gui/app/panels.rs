//! The app's own panels: the menu bar, the "Paste base64" window and the info side panel
//! (media rows, "Copy list", the pixel inspector). Each draws and returns the commands the
//! user gave; the app applies them after drawing.

use super::{Command, FramekitApp, Zoom, below_menu, viewer};
use crate::gui::compare_view::{CompareCommand, CompareMode};
use crate::player::CopyForm;
use std::path::PathBuf;

impl FramekitApp {
    #[must_use]
    pub(super) fn menu_ui(&self, ui: &mut egui::Ui) -> Vec<Command> {
        let mut commands = Vec::new();
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                if ui.button("Open…  (Ctrl+O)").clicked() {
                    commands.push(Command::PickFile);
                }
                ui.menu_button("Open recent", |ui| {
                    if self.recent.is_empty() {
                        ui.label("no recent files");
                    }
                    for path in &self.recent {
                        if ui.button(path.display().to_string()).clicked() {
                            commands.push(Command::Open(path.clone()));
                        }
                    }
                });
                if let Some((path, _)) = &self.before_paste
                    && ui
                        .button(format!("Back to {}", crate::gui::file_label(path)))
                        .on_hover_text("the file the paste replaced, on the frame it showed")
                        .clicked()
                {
                    commands.push(Command::BackBeforePaste);
                }
                ui.separator();
                if ui.button("Transcode to MP4…").clicked() {
                    commands.push(Command::Transcode(Vec::new()));
                }
                if let Some(media) = &self.screen.media
                    && media.info.kind == crate::media::MediaKind::Video
                    && !media.info.pasted
                    && ui.button("Transcode this file").clicked()
                {
                    commands.push(Command::Transcode(vec![PathBuf::from(&media.info.path)]));
                }
                ui.separator();
                if ui.button("Quit").clicked() {
                    ui.send_viewport_cmd(egui::ViewportCommand::Close);
                }
            });
            ui.menu_button("Edit", |ui| {
                if ui.button("Copy frame as base64 PNG  (Ctrl+C)").clicked() {
                    commands.push(Command::Copy(CopyForm::Base64));
                }
                if ui
                    .button("Copy frame as data URI  (Ctrl+Shift+C)")
                    .clicked()
                {
                    commands.push(Command::Copy(CopyForm::DataUri));
                }
                if ui.button("Copy frame as image").clicked() {
                    commands.push(Command::Copy(CopyForm::Image));
                }
                if ui.button("Copy frame number and time").clicked() {
                    commands.push(Command::CopyStamp);
                }
                ui.separator();
                if ui.button("Paste  (Ctrl+V)").clicked() {
                    commands.push(Command::PasteFromClipboard);
                }
                if ui.button("Paste base64…").clicked() {
                    commands.push(Command::TogglePastePanel);
                }
            });
            ui.menu_button("Compare", |ui| {
                let has_media = self.screen.media.is_some();
                if ui
                    .add_enabled(has_media, egui::Button::new("Compare with…  (Shift+drop)"))
                    .clicked()
                {
                    commands.push(Command::Compare(CompareCommand::PickB));
                }
                if let Some(compare) = &self.compare {
                    ui.separator();
                    for mode in CompareMode::ALL {
                        if ui.radio(compare.mode == mode, mode.label()).clicked() {
                            commands.push(Command::Compare(CompareCommand::SetMode(mode)));
                        }
                    }
                    ui.separator();
                    if ui.button("Score whole clip").clicked() {
                        commands.push(Command::Compare(CompareCommand::ScoreAll));
                    }
                    if ui.button("Close compare").clicked() {
                        commands.push(Command::Compare(CompareCommand::Close));
                    }
                }
            });
            ui.menu_button("View", |ui| {
                if menu_item(ui, "Fit to window", egui::Key::Num0) {
                    commands.push(Command::SetZoom(Zoom::Fit));
                }
                if menu_item(ui, "Actual size (1:1)", egui::Key::Num1) {
                    commands.push(Command::SetZoom(Zoom::Scale(1.0)));
                }
                if menu_item(ui, "Zoom in", egui::Key::Equals) {
                    commands.push(Command::ZoomBy(1.25));
                }
                if menu_item(ui, "Zoom out", egui::Key::Minus) {
                    commands.push(Command::ZoomBy(0.8));
                }
                let mut tone_map = self.hdr == crate::media::HdrMode::Tonemap;
                if ui
                    .checkbox(&mut tone_map, "Tone-map HDR to SDR  (H)")
                    .on_hover_text(
                        "PQ and HLG video: tone-mapped to BT.709 (hable), or shown as tagged",
                    )
                    .changed()
                {
                    commands.push(Command::SetHdr(if tone_map {
                        crate::media::HdrMode::Tonemap
                    } else {
                        crate::media::HdrMode::None
                    }));
                }
                let mut gpu = self.display_path() == "GPU shader";
                if ui
                    .checkbox(&mut gpu, "Convert frames on the GPU")
                    .on_hover_text(
                        "playback and stepping drawn by a shader from the decoded planes; \
                         copies, the inspector and compare always use the CPU's exact RGB",
                    )
                    .changed()
                {
                    commands.push(Command::SetGpuDisplay(gpu));
                }
                let mut scopes = self.scopes.is_open();
                if ui
                    .checkbox(&mut scopes, "Scopes  (S)")
                    .on_hover_text("waveform, RGB parade, vectorscope and histogram of the frame")
                    .changed()
                {
                    commands.push(Command::ToggleScopes);
                }
                if ui
                    .button(if self.info_drawn {
                        "Hide info panel"
                    } else {
                        "Show info panel"
                    })
                    .clicked()
                {
                    commands.push(Command::ToggleInfo);
                }
            });
        });
        commands
    }

    #[must_use]
    pub(super) fn paste_panel_ui(&mut self, ctx: &egui::Context) -> Vec<Command> {
        let mut commands = Vec::new();
        let mut open = self.paste.open;
        let area = below_menu(ctx);
        // A long text scrolls inside its box; the window never grows past the screen, so
        // the result under the box stays in view.
        let text_height = (area.height() * 0.45).clamp(60.0, 320.0);
        egui::Window::new("Paste base64").open(&mut open).default_width(420.0).max_width(area.width() - 16.0).constrain_to(area).show(ctx, |ui| {
            ui.label("Paste base64, a data URI, or several joined by '|'. Whitespace, quotes and URL-safe base64 are fine.");
            let label = ui.label("Base64 text");
            let response = egui::ScrollArea::vertical()
                .id_salt("paste-text")
                .max_height(text_height)
                .show(ui, |ui| {
                    ui.add(
                        egui::TextEdit::multiline(&mut self.paste.text)
                            .desired_rows(8)
                            .desired_width(f32::INFINITY)
                            .code_editor(),
                    )
                })
                .inner;
            let response = response.labelled_by(label.id);
            if response.changed() && self.paste.text.trim() != self.paste.last_sent.trim() && !self.paste.text.trim().is_empty() {
                self.paste.last_sent = self.paste.text.clone();
                commands.push(Command::PasteText(self.paste.text.clone()));
            }
                        ui.label(format!("{} characters", self.paste.text.chars().count()));
            match &self.paste.feedback {
                Some(Ok(summary)) => {
                    ui.colored_label(egui::Color32::from_rgb(120, 200, 120), summary);
                    if let Some((path, _)) = &self.before_paste
                        && ui
                            .button(format!("Back to {}", crate::gui::file_label(path)))
                            .clicked()
                    {
                        commands.push(Command::BackBeforePaste);
                    }
                }
                Some(Err(reason)) => {
                    ui.colored_label(egui::Color32::from_rgb(255, 110, 100), reason);
                }
                None => {}
            }
        });
        self.paste.open = open;
        commands
    }

    #[must_use]
    pub(super) fn info_panel_ui(&mut self, ui: &mut egui::Ui) -> Vec<Command> {
        let mut commands = Vec::new();
        egui::ScrollArea::vertical().show(ui, |ui| {
            ui.heading("Info");
            match &self.screen.media {
                Some(media) => {
                    egui::Grid::new("info-grid")
                        .num_columns(2)
                        .striped(true)
                        .show(ui, |ui| {
                            let display = match self.display_note() {
                                Some(why) => format!("{} ({why})", self.display_path()),
                                None => self.display_path().to_string(),
                            };
                            let rows = media.info.to_rows().into_iter();
                            for (key, value) in rows.chain([("display".to_string(), display)]) {
                                ui.label(key.as_str());
                                // Which decoder and display run, and why: the short answer
                                // shown, the whole reason on hover.
                                let (shown, whole) = match key.as_str() {
                                    "decoder" | "display" => short_reason(&value),
                                    _ => (value, None),
                                };
                                let label = ui.add(
                                    egui::Label::new(egui::RichText::new(shown).monospace()).wrap(),
                                );
                                if let Some(whole) = whole {
                                    label.on_hover_text(whole);
                                }
                                ui.end_row();
                            }
                        });
                }
                None => {
                    ui.label(
                        "Open a video or image (Ctrl+O or drop a file), or paste base64 (Ctrl+V).",
                    );
                }
            }
            ui.separator();
            ui.heading("Copy frames");
            ui.horizontal(|ui| {
                let label = ui.label("Ids");
                ui.add(egui::TextEdit::singleline(&mut self.copy_ids).desired_width(90.0))
                    .labelled_by(label.id);
                if ui.button("Copy list").clicked() {
                    commands.push(Command::Copy(CopyForm::List(self.copy_ids.clone())));
                }
            });
            ui.label(
                "1-based ids, comma separated; '|'-joined base64 PNGs, as framekit frames prints.",
            );
            ui.separator();
            viewer::inspector_ui(ui, &self.view, &self.screen, self.compare.as_ref());
        });
        commands
    }
}

/// A menu button that shows its Ctrl+`key` shortcut; whether it was clicked.
fn menu_item(ui: &mut egui::Ui, label: &str, key: egui::Key) -> bool {
    let shortcut = egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, key);
    // "Ctrl+=" and "Ctrl+-" read better than egui's key names.
    let text = ui
        .ctx()
        .format_shortcut(&shortcut)
        .replace("Equals", "=")
        .replace("Minus", "-");
    ui.add(egui::Button::new(label).shortcut_text(text))
        .clicked()
}

/// `software (no hardware device: cuda: …; vaapi: …)` as `software (no hardware device)`
/// and the whole text (for a hover), when the reason in brackets says more than its first
/// clause; other values as they are.
fn short_reason(value: &str) -> (String, Option<String>) {
    let Some((head, reason)) = value.split_once(" (") else {
        return (value.to_string(), None);
    };
    let reason = reason.strip_suffix(')').unwrap_or(reason);
    match reason.find([':', ';', '(']) {
        Some(end) if reason[..end].trim().len() > 2 => (
            format!("{head} ({}…)", reason[..end].trim_end()),
            Some(value.to_string()),
        ),
        _ => (value.to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::short_reason;

    #[test]
    fn long_reasons_are_shortened_to_their_first_clause() {
        let (shown, whole) = short_reason(
            "software (no hardware device: cuda: Operation not permitted; vaapi: Generic error)",
        );
        assert_eq!(shown, "software (no hardware device…)");
        assert!(whole.is_some_and(|w| w.contains("vaapi: Generic error")));
        assert_eq!(
            short_reason("hardware (vaapi)"),
            ("hardware (vaapi)".to_string(), None)
        );
        assert_eq!(short_reason("CPU"), ("CPU".to_string(), None));
        let (shown, _) = short_reason(
            "CPU (auto: llvmpipe (LLVM 15.0.6, 256 bits) is software OpenGL, slower than the CPU converter)",
        );
        assert_eq!(shown, "CPU (auto…)");
    }
}
