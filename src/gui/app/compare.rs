//! The app's side of the A/B compare: opening B with the options A was opened with, and
//! routing compare commands (opening and closing here, the rest to the compare's state).

use super::{Command, CompareCommand, CompareView, FramekitApp, PathBuf, PathPurpose};

impl FramekitApp {
    /// How files open now (the HDR switch included).
    pub(super) fn open_options(&self) -> crate::media::OpenOptions {
        crate::media::OpenOptions {
            hdr: self.hdr,
            ..self.compare_player.open.clone()
        }
    }

    /// Opens `b` as B beside the file on screen, with the same open options.
    fn open_compare(&mut self, ctx: &egui::Context, b: PathBuf) {
        let options = self.open_options();
        self.compare = Some(CompareView::open(
            ctx,
            b,
            self.compare_player.clone(),
            options,
        ));
    }

    pub(super) fn apply_compare(&mut self, ctx: &egui::Context, command: CompareCommand) {
        match command {
            CompareCommand::OpenB(path) => {
                if self.screen.media.is_none() {
                    self.messages.error =
                        Some("open a file first (A), then compare it with another".to_string());
                    return;
                }
                self.open_compare(ctx, path);
            }
            CompareCommand::PickB => self.ask_for_path(ctx, PathPurpose::CompareFile),
            CompareCommand::WithSource { source, output } => {
                self.apply(ctx, Command::Open(source));
                self.open_compare(ctx, output);
            }
            CompareCommand::Close => self.compare = None,
            other => {
                if let Some(compare) = &mut self.compare {
                    compare.apply(other);
                }
            }
        }
    }
}
