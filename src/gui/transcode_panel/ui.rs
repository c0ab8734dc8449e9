//! The transcode panel's window: settings, buttons and the job rows, drawn from the panel's
//! state; what the user does comes back as [`PanelCommand`]s.

use super::{FLEET_NEWEST_ROWS, JobStatus, PanelCommand, Preset, TranscodePanel};

impl TranscodePanel {
    /// Draws the panel window; what the user did in it comes back as commands for the app to
    /// apply after drawing.
    pub fn window_ui(&mut self, ctx: &egui::Context) -> Vec<crate::gui::Command> {
        let mut open = self.open;
        let mut commands = Vec::new();
        egui::Window::new("Transcode to MP4")
            .constrain_to(crate::gui::state::below_menu(ctx))
            .default_pos(crate::gui::state::below_menu(ctx).min + egui::vec2(40.0, 12.0))
            .open(&mut open)
            .default_width(640.0)
            .show(ctx, |ui| {
                commands = self.contents_ui(ui);
            });
        self.open = open;
        commands
            .into_iter()
            .map(crate::gui::Command::Panel)
            .collect()
    }

    fn contents_ui(&mut self, ui: &mut egui::Ui) -> Vec<PanelCommand> {
        let mut commands = Vec::new();
        ui.horizontal(|ui| {
            let label = ui.label("Preset");
            egui::ComboBox::from_id_salt("preset")
                .selected_text(self.preset.name)
                .show_ui(ui, |ui| {
                    for preset in Preset::ALL {
                        ui.selectable_value(&mut self.preset, preset, preset.name);
                    }
                })
                .response
                .labelled_by(label.id);
            ui.label("Output");
            let folder = self
                .output_dir
                .as_ref()
                .map_or("beside each input".to_string(), |d| d.display().to_string());
            if ui
                .button(folder)
                .on_hover_text("choose the output folder")
                .clicked()
            {
                commands.push(PanelCommand::PickOutputFolder);
            }
            if self.output_dir.is_some() && ui.small_button("reset").clicked() {
                commands.push(PanelCommand::SetOutputFolder(None));
            }
        });
        ui.horizontal(|ui| {
            ui.label("Run on");
            let field = ui.add(
                egui::TextEdit::singleline(&mut self.fleet_text)
                    .hint_text("this machine (or a fleet queue: postgres://user@host/db)")
                    .desired_width(330.0),
            );
            let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if (ui.button("Use fleet queue").clicked() || entered)
                && !self.fleet_text.trim().is_empty()
            {
                commands.push(PanelCommand::SetFleetQueue(Some(self.fleet_text.clone())));
            }
            if self.fleet.is_some() && ui.button("This machine").clicked() {
                commands.push(PanelCommand::SetFleetQueue(None));
            }
        });
        if let Some(fleet) = &self.fleet {
            ui.weak(format!(
                "Start adds the files to the fleet queue {fleet}; its workers (framekit worker) run them."
            ));
            if let Some(counts) = self.fleet_counts {
                let shown = self.rows.len() as u64;
                let note = if counts.total() > shown {
                    format!(" (showing every running job and the {FLEET_NEWEST_ROWS} newest)")
                } else {
                    String::new()
                };
                ui.label(format!("Fleet queue: {counts}{note}"));
            }
        }
        ui.horizontal(|ui| {
            if ui.button("Add files…").clicked() {
                commands.push(PanelCommand::PickFiles);
            }
            if ui
                .button("Add folder…")
                .on_hover_text("every video under it, as framekit transcode walks a folder")
                .clicked()
            {
                commands.push(PanelCommand::PickFolder);
            }
            let start = ui.add_enabled(
                !self.staged.is_empty() && !self.running && self.checking == 0,
                egui::Button::new(format!("Start ({})", self.staged.len())),
            );
            if start.clicked() {
                commands.push(PanelCommand::Start);
            }
            if ui
                .add_enabled(
                    self.running && self.fleet.is_none(),
                    egui::Button::new("Cancel all"),
                )
                .clicked()
            {
                commands.push(PanelCommand::CancelAll);
            }
            let failed = self.rows.values().any(|r| r.status.can_retry());
            if ui
                .add_enabled(
                    failed && (!self.running || self.fleet.is_some()),
                    egui::Button::new("Retry failed"),
                )
                .clicked()
            {
                commands.push(PanelCommand::RetryFailed);
            }
            if ui.button("Open output folder").clicked() {
                commands.push(PanelCommand::OpenOutputFolder);
            }
            if ui
                .add_enabled(!self.running, egui::Button::new("Clear finished"))
                .clicked()
            {
                commands.push(PanelCommand::Clear);
            }
        });
        if !self.unfinished.is_empty() && !self.running {
            ui.horizontal_wrapped(|ui| {
                let text = format!(
                    "{} job(s) were left unfinished last time.",
                    self.unfinished.len()
                );
                if self.offer_resume {
                    ui.strong(text);
                } else {
                    ui.label(text);
                }
                if ui.button("Resume").clicked() {
                    commands.push(PanelCommand::ResumeUnfinished);
                }
                if self.offer_resume && ui.button("Not now").clicked() {
                    commands.push(PanelCommand::NotNow);
                }
            });
        }
        if let Some(error) = &self.error {
            ui.colored_label(
                egui::Color32::from_rgb(255, 110, 100),
                format!("Error: {error}"),
            );
        }
        if !self.refused.is_empty() {
            ui.horizontal(|ui| {
                ui.colored_label(
                    egui::Color32::from_rgb(255, 110, 100),
                    format!("{} refused (not added):", self.refused.len()),
                );
                if ui.small_button("dismiss").clicked() {
                    commands.push(PanelCommand::ClearRefused);
                }
            });
            for (path, why) in &self.refused {
                ui.colored_label(
                    egui::Color32::from_rgb(255, 110, 100),
                    format!("{}: {why}", crate::gui::file_label(path)),
                )
                .on_hover_text(path.display().to_string());
            }
        }
        if self.checking > 0 {
            ui.horizontal(|ui| {
                ui.add(egui::Spinner::new());
                ui.label("checking the added files…");
            });
        }
        ui.separator();
        egui::ScrollArea::vertical()
            .id_salt("staged")
            .max_height(120.0)
            .show(ui, |ui| {
                for file in &self.staged {
                    ui.label(format!("staged: {}", file.path.display()));
                }
            });
        egui::ScrollArea::vertical()
            .max_height(320.0)
            .show(ui, |ui| {
                egui::Grid::new("transcode-rows")
                    .num_columns(4)
                    .striped(true)
                    .show(ui, |ui| {
                        for row in self.rows.values() {
                            let name = crate::gui::file_label(&row.input);
                            ui.label(name).on_hover_text(format!(
                                "{} -> {}",
                                row.input.display(),
                                row.output.display()
                            ));
                            let mut bar = egui::ProgressBar::new(row.fraction as f32)
                                .desired_width(180.0)
                                .show_percentage();
                            if row.status == JobStatus::Processing {
                                bar = bar.animate(true);
                            }
                            ui.add(bar);
                            let detail = match (row.status, row.eta_seconds()) {
                                (JobStatus::Processing, _) if row.worker.is_some() => format!(
                                    "processing on {}",
                                    row.worker.as_deref().unwrap_or_default()
                                ),
                                (JobStatus::Processing, Some(eta)) => {
                                    format!("{} {:.1}x, {eta:.0} s left", row.status, row.speed)
                                }
                                (JobStatus::Processing, None) if row.speed > 0.0 => {
                                    format!("{} {:.1}x, estimating…", row.status, row.speed)
                                }
                                (status, _) => status.to_string(),
                            };
                            ui.label(detail);
                            ui.horizontal(|ui| {
                                if matches!(row.status, JobStatus::Pending | JobStatus::Processing)
                                    && (self.running || self.fleet.is_some())
                                    && ui.small_button("cancel").clicked()
                                {
                                    commands.push(PanelCommand::Cancel(row.id));
                                }
                                if row.status == JobStatus::Succeeded
                                    && ui
                                        .small_button("compare with source")
                                        .on_hover_text("the source as A, the output as B")
                                        .clicked()
                                {
                                    commands.push(PanelCommand::CompareWithSource(row.id));
                                }
                                if let Some(message) = &row.message {
                                    ui.weak(message);
                                }
                            });
                            ui.end_row();
                        }
                    });
            });
        commands
    }
}
