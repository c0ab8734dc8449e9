//! File dialogs that always do something: the native dialog (rfd) runs on its own thread;
//! when the system has none (no desktop portal, no zenity: rfd then answers "nothing picked"
//! at once), the app says so and offers a typed-path box instead, with completion of folders
//! and files. Listing folders for completion happens on a worker thread, never the UI thread.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, unbounded};

/// A native dialog that answered sooner than this never showed: a person cannot pick or
/// cancel that fast.
const NO_DIALOG_WITHIN: Duration = Duration::from_millis(400);

/// What a path is being asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathPurpose {
    OpenFile,
    AddFiles,
    /// A folder to transcode (walked for videos).
    AddFolder,
    OutputFolder,
    /// B for an A/B compare.
    CompareFile,
}

impl PathPurpose {
    fn title(self) -> &'static str {
        match self {
            PathPurpose::OpenFile => "Open a file by path",
            PathPurpose::AddFiles => "Add a file to transcode by path",
            PathPurpose::AddFolder => "Add a folder to transcode by path",
            PathPurpose::OutputFolder => "Output folder by path",
            PathPurpose::CompareFile => "Compare with a file by path",
        }
    }

    /// Only a folder will do (completion lists folders only).
    fn wants_folder(self) -> bool {
        matches!(self, PathPurpose::OutputFolder | PathPurpose::AddFolder)
    }

    /// A folder will do (the transcode panel walks it).
    fn takes_folder(self) -> bool {
        matches!(
            self,
            PathPurpose::OutputFolder | PathPurpose::AddFolder | PathPurpose::AddFiles
        )
    }
}

/// What a dialog thread reports.
#[derive(Debug)]
pub enum DialogOutcome {
    Picked(PathPurpose, Vec<PathBuf>),
    /// Nothing picked: the user cancelled.
    Cancelled,
    /// No native dialog could be shown here.
    Unavailable(PathPurpose),
}

/// Runs the native dialog for `purpose` on its own thread; the outcome arrives on the channel.
pub fn spawn_native(
    purpose: PathPurpose,
    native: bool,
    wake: impl Fn() + Send + 'static,
) -> Receiver<DialogOutcome> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    if !native {
        let _ = tx.send(DialogOutcome::Unavailable(purpose));
        return rx;
    }
    let spawned = std::thread::Builder::new()
        .name("framekit-file-dialog".into())
        .spawn(move || {
            if !backend_possible() {
                let _ = tx.send(DialogOutcome::Unavailable(purpose));
                wake();
                return;
            }
            let started = Instant::now();
            let picked: Vec<PathBuf> = match purpose {
                PathPurpose::OpenFile | PathPurpose::CompareFile => rfd::FileDialog::new()
                    .add_filter("Video and images", &video_and_image_extensions())
                    .add_filter("All files", &["*"])
                    .pick_file()
                    .into_iter()
                    .collect(),
                PathPurpose::AddFiles => rfd::FileDialog::new().pick_files().unwrap_or_default(),
                PathPurpose::OutputFolder | PathPurpose::AddFolder => {
                    rfd::FileDialog::new().pick_folder().into_iter().collect()
                }
            };
            let outcome = if !picked.is_empty() {
                DialogOutcome::Picked(purpose, picked)
            } else if started.elapsed() < NO_DIALOG_WITHIN {
                DialogOutcome::Unavailable(purpose)
            } else {
                DialogOutcome::Cancelled
            };
            let _ = tx.send(outcome);
            wake();
        });
    if spawned.is_err() {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let _ = tx.send(DialogOutcome::Unavailable(purpose));
        return rx;
    }
    rx
}

/// Whether a native dialog can exist here at all. On Linux rfd talks to the desktop portal
/// over the D-Bus session bus; without a session bus there is no dialog to show.
fn backend_possible() -> bool {
    if cfg!(target_os = "linux") {
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|v| !v.is_empty())
    } else {
        true
    }
}

/// Completions for a partly typed path, listed on a worker thread.
struct Completer {
    queries: Sender<String>,
    answers: Receiver<(String, Completion)>,
}

/// The entries that complete a typed path: the first [`COMPLETION_LIMIT`] in name order, and
/// how many there are in all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Completion {
    pub shown: Vec<String>,
    pub total: usize,
    /// The longest text all of them (listed or not) start with.
    pub common: Option<String>,
}

/// At most this many completions are listed.
pub const COMPLETION_LIMIT: usize = 12;

/// The longest text every one of `names` starts with.
pub fn common_prefix(names: &[String]) -> Option<String> {
    let first = names.first()?;
    let mut end = first.len();
    for other in &names[1..] {
        let differs = first
            .char_indices()
            .zip(other.chars())
            .find(|((_, a), b)| a != b)
            .map(|((i, _), _)| i);
        end = end.min(differs.unwrap_or(other.len().min(first.len())));
    }
    Some(first[..end].to_string())
}

impl Completer {
    fn spawn(folders_only: bool, wake: impl Fn() + Send + 'static) -> Completer {
        let (query_tx, query_rx) = unbounded::<String>();
        let (answer_tx, answer_rx) = unbounded();
        let _ = std::thread::Builder::new()
            .name("framekit-path-completion".into())
            .spawn(move || {
                while let Ok(mut text) = query_rx.recv() {
                    // Only the newest query matters.
                    while let Ok(newer) = query_rx.try_recv() {
                        text = newer;
                    }
                    let found = complete(&text, folders_only);
                    if answer_tx.send((text, found)).is_err() {
                        return;
                    }
                    wake();
                }
            });
        Completer {
            queries: query_tx,
            answers: answer_rx,
        }
    }
}

/// Entries of the typed path's folder that start with its last part (only folders when
/// `folders_only`), folders with a trailing `/`, sorted; the first [`COMPLETION_LIMIT`] listed,
/// with the count of all.
pub fn complete(text: &str, folders_only: bool) -> Completion {
    let (folder, prefix) = match text.rfind('/') {
        Some(i) => (&text[..=i], &text[i + 1..]),
        None => ("./", text),
    };
    let Ok(entries) = std::fs::read_dir(if folder.is_empty() { "/" } else { folder }) else {
        return Completion::default();
    };
    let shown_folder = if text.contains('/') { folder } else { "" };
    let mut found: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.starts_with(prefix) || (name.starts_with('.') && !prefix.starts_with('.')) {
                return None;
            }
            let dir = e.path().is_dir();
            if folders_only && !dir {
                return None;
            }
            Some(format!(
                "{shown_folder}{name}{}",
                if dir { "/" } else { "" }
            ))
        })
        .collect();
    found.sort();
    let total = found.len();
    let common = common_prefix(&found);
    found.truncate(COMPLETION_LIMIT);
    Completion {
        shown: found,
        total,
        common,
    }
}

/// The typed-path box shown when no native dialog can be.
pub struct PathPrompt {
    purpose: PathPurpose,
    text: String,
    suggestions: Completion,
    completer: Completer,
    last_query: String,
    problem: Option<String>,
    /// The path box takes the keyboard when the prompt first shows.
    focused: bool,
}

impl PathPrompt {
    pub fn new(purpose: PathPurpose, start: &Path, wake: impl Fn() + Send + 'static) -> PathPrompt {
        let mut text = start.display().to_string();
        if !text.ends_with('/') {
            text.push('/');
        }
        PathPrompt {
            purpose,
            text,
            suggestions: Completion::default(),
            completer: Completer::spawn(purpose.wants_folder(), wake),
            last_query: String::new(),
            problem: None,
            focused: false,
        }
    }

    pub fn purpose(&self) -> PathPurpose {
        self.purpose
    }

    /// What Tab makes of the typed path: the one completion, or the completions' common
    /// prefix when it is longer than what is typed (`None`: nothing to add).
    fn tab_completion(&self) -> Option<String> {
        let prefix = self.suggestions.common.clone()?;
        (prefix.len() > self.text.len() && prefix.starts_with(&self.text)).then_some(prefix)
    }

    /// Draws the box. Returns the chosen path when the user confirms one, `Err(())` when the
    /// box is closed.
    #[must_use]
    pub fn window_ui(
        &mut self,
        ctx: &egui::Context,
        area: egui::Rect,
    ) -> Option<Result<PathBuf, ()>> {
        while let Ok((query, found)) = self.completer.answers.try_recv() {
            if query == self.text {
                self.suggestions = found;
            }
        }
        if self.text != self.last_query {
            self.last_query = self.text.clone();
            let _ = self.completer.queries.send(self.text.clone());
        }
        let mut open = true;
        let mut result = None;
        egui::Window::new(self.purpose.title())
            .open(&mut open)
            .constrain_to(area)
            .default_width(480.0)
            .show(ctx, |ui| {
                ui.label(
                    "No file dialog is available on this system (no desktop portal or zenity). \
                     Type a path instead; Tab completes.",
                );
                let (edit, choose) = ui
                    .horizontal(|ui| {
                        let label = ui.label("Path");
                        let width = (ui.available_width() - 80.0).max(120.0);
                        let edit = ui
                            .add(egui::TextEdit::singleline(&mut self.text).desired_width(width))
                            .labelled_by(label.id);
                        (edit, ui.button("Choose").clicked())
                    })
                    .inner;
                if !self.focused {
                    // Typing goes straight into the box, after the folder it starts with.
                    self.focused = true;
                    focus_at_end(ui.ctx(), &edit, &self.text);
                }
                // Tab completes as a shell does: the one match, or as far as all matches agree;
                // the keyboard stays in the box (egui would move focus on to the button).
                let tab = (edit.has_focus() || edit.lost_focus())
                    && ui.input(|i| i.key_pressed(egui::Key::Tab));
                if tab {
                    if let Some(prefix) = self.tab_completion() {
                        self.text = prefix;
                    }
                    focus_at_end(ui.ctx(), &edit, &self.text);
                }
                let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                egui::ScrollArea::vertical()
                    .max_height((area.height() * 0.5).max(80.0))
                    .show(ui, |ui| {
                        for suggestion in self.suggestions.shown.clone() {
                            if ui.small_button(&suggestion).clicked() {
                                self.text = suggestion;
                            }
                        }
                    });
                let Completion { shown, total, .. } = &self.suggestions;
                if *total > shown.len() {
                    ui.weak(format!(
                        "showing {} of {total} matches; type more of the name to narrow them",
                        shown.len()
                    ));
                }
                if let Some(problem) = &self.problem {
                    ui.colored_label(egui::Color32::from_rgb(255, 110, 100), problem);
                }
                if enter || choose {
                    // No disk access here: a wrong path is reported by what opens it.
                    let text = self.text.trim();
                    if text.is_empty() || (!self.purpose.takes_folder() && text.ends_with('/')) {
                        self.problem = Some("type a file's path, not a folder".to_string());
                    } else {
                        result = Some(Ok(PathBuf::from(text)));
                    }
                }
            });
        if !open {
            return Some(Err(()));
        }
        result
    }
}

/// Gives the text box the keyboard with the cursor after its last character.
fn focus_at_end(ctx: &egui::Context, edit: &egui::Response, text: &str) {
    edit.request_focus();
    if let Some(mut state) = egui::TextEdit::load_state(ctx, edit.id) {
        let end = egui::text::CCursor::new(text.chars().count());
        state
            .cursor
            .set_char_range(Some(egui::text::CCursorRange::one(end)));
        state.store(ctx, edit.id);
    }
}

/// The file dialog's filter: the one list of video and image extensions.
fn video_and_image_extensions() -> Vec<&'static str> {
    use crate::media::extensions::{IMAGE_EXTENSIONS, VIDEO_EXTENSIONS};
    VIDEO_EXTENSIONS
        .into_iter()
        .chain(IMAGE_EXTENSIONS)
        .collect()
}
