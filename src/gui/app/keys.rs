//! Keyboard shortcuts, read once per frame in `logic()` (unless a text box has the keyboard),
//! turned into commands. Every press and key repeat counts.

use super::{Command, CopyForm, FramekitApp, Key, Modifiers, PathBuf, Zoom, clipboard_image_from};
use crate::gui::compare_view::CompareCommand;

impl FramekitApp {
    /// Keyboard shortcuts, unless a text box has the keyboard.
    pub(super) fn read_keys(&mut self, ctx: &egui::Context) -> Vec<Command> {
        let mut commands = Vec::new();
        let typing = ctx.egui_wants_keyboard_input();
        ctx.input(|input| {
            for event in &input.events {
                match event {
                    egui::Event::Paste(text) if !typing => {
                        commands.push(Command::PasteText(text.clone()))
                    }
                    egui::Event::PasteImage(image) if !typing => {
                        commands.push(Command::PasteBitmap(clipboard_image_from(image)))
                    }
                    // Ctrl+Shift+C also arrives as a Copy event; it is handled as a key below.
                    egui::Event::Copy if !typing && !input.modifiers.shift => {
                        commands.push(Command::Copy(CopyForm::Base64));
                    }
                    _ => {}
                }
            }
            let dropped: Vec<PathBuf> = input
                .raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
                .collect();
            // One file: view it. Several videos, or videos and folders (no extension) while
            // the transcode panel is open: stage them for transcoding (the panel checks each
            // off the UI thread, walks folders and says why it refuses a path).
            let videos: Vec<PathBuf> = dropped
                .iter()
                .filter(|p| crate::batch::is_video_path(p))
                .cloned()
                .collect();
            if input.modifiers.shift
                && dropped.len() == 1
                && self.screen.media.is_some()
                && let Some(path) = dropped.first()
            {
                commands.push(Command::Compare(CompareCommand::OpenB(path.clone())));
            } else if self.transcode.is_open()
                && dropped
                    .iter()
                    .any(|p| crate::batch::is_video_path(p) || p.extension().is_none())
            {
                commands.push(Command::Transcode(dropped));
            } else if dropped.len() > 1 {
                if !videos.is_empty() {
                    commands.push(Command::Transcode(videos));
                }
            } else if let Some(path) = dropped.into_iter().next() {
                commands.push(Command::Open(path));
            }
            let command = Modifiers::COMMAND;
            if input.modifiers.matches_exact(command) && input.key_pressed(Key::O) {
                commands.push(Command::PickFile);
            }
            let copy_event = input.events.iter().any(|e| matches!(e, egui::Event::Copy));
            if !typing
                && !copy_event
                && input.modifiers.matches_exact(command)
                && input.key_pressed(Key::C)
            {
                commands.push(Command::Copy(CopyForm::Base64));
            }
            if !typing
                && input.modifiers.matches_exact(command | Modifiers::SHIFT)
                && input.key_pressed(Key::C)
            {
                commands.push(Command::Copy(CopyForm::DataUri));
            }
            if typing {
                return;
            }
            // Every press counts, key repeats included: ten presses that land in one UI frame
            // step ten frames (Shift: a hundred), as in a frame-exact editor.
            for event in &input.events {
                if let egui::Event::Key {
                    key: key @ (Key::ArrowRight | Key::ArrowLeft),
                    pressed: true,
                    modifiers,
                    ..
                } = event
                    && !modifiers.command
                    && !modifiers.alt
                {
                    let step = if modifiers.shift { 10 } else { 1 };
                    commands.push(Command::Step(if *key == Key::ArrowRight {
                        step
                    } else {
                        -step
                    }));
                }
            }
            if input.modifiers.matches_exact(command) {
                if input.key_pressed(Key::Num0) {
                    commands.push(Command::SetZoom(Zoom::Fit));
                }
                if input.key_pressed(Key::Num1) {
                    commands.push(Command::SetZoom(Zoom::Scale(1.0)));
                }
            }
            // Plus takes Shift on many layouts: Ctrl+Shift+plus zooms the picture too.
            if input.modifiers.matches_logically(command) {
                if input.key_pressed(Key::Plus) || input.key_pressed(Key::Equals) {
                    commands.push(Command::ZoomBy(1.25));
                }
                if input.key_pressed(Key::Minus) {
                    commands.push(Command::ZoomBy(0.8));
                }
            }
            if input.key_pressed(Key::Home) {
                commands.push(Command::Goto(0));
            }
            if input.key_pressed(Key::End) {
                commands.push(Command::Goto(usize::MAX));
            }
            if input.key_pressed(Key::PageDown) {
                commands.push(Command::StepSeconds(1.0));
            }
            if input.key_pressed(Key::PageUp) {
                commands.push(Command::StepSeconds(-1.0));
            }
            if input.key_pressed(Key::Space) {
                commands.push(Command::TogglePlay);
            }
            if self.compare.is_some() && input.modifiers.is_none() {
                for (key, command) in [
                    (Key::C, CompareCommand::CycleMode),
                    (Key::F, CompareCommand::ToggleFlicker),
                    (Key::OpenBracket, CompareCommand::NudgeOffset(-1)),
                    (Key::CloseBracket, CompareCommand::NudgeOffset(1)),
                ] {
                    if input.key_pressed(key) {
                        commands.push(Command::Compare(command));
                    }
                }
            }
            if input.modifiers.is_none() && input.key_pressed(Key::H) {
                commands.push(Command::SetHdr(match self.hdr {
                    crate::media::HdrMode::Tonemap => crate::media::HdrMode::None,
                    crate::media::HdrMode::None => crate::media::HdrMode::Tonemap,
                }));
            }
            if input.modifiers.is_none() && input.key_pressed(Key::S) {
                commands.push(Command::ToggleScopes);
            }
            if input.key_pressed(Key::Escape) && self.view.pinned_pixel.is_some() {
                commands.push(Command::PinPixel(None));
            }
            if input.modifiers.matches_exact(command) && input.key_pressed(Key::V) {
                let pasted_text = input
                    .events
                    .iter()
                    .any(|e| matches!(e, egui::Event::Paste(_) | egui::Event::PasteImage(_)));
                if !pasted_text {
                    commands.push(Command::PasteFromClipboard);
                }
            }
        });
        commands
    }
}
