//! `FramekitApp`: the app state. `logic()` drains the player's and the clipboard's replies,
//! reads keys and changes state; `ui()` draws the panels, which take the state they draw and
//! return [`Command`]s that are applied after drawing. The UI thread never decodes, encodes or
//! touches the disk or the clipboard's data: the player and the clipboard worker do.

use std::path::{Path, PathBuf};

use crossbeam_channel::Receiver;
use egui::{Key, Modifiers, TextureOptions};

use crate::player::{
    ClipboardPayload, CopyForm, Operation, Player, PlayerOptions, ReadyFrame, Reply, Request,
};

use super::command::Command;
use super::compare_view::{self, CompareCommand, CompareView};
use super::dialogs::{self, DialogOutcome, PathPrompt, PathPurpose};
use super::scopes::ScopesView;
use super::state::{
    NOTE_SECONDS, OpenMedia, PlaybackCount, Screen, ShownFrame, StatusMessages, ViewState, Zoom,
    below_menu,
};
use super::timeline;
use super::transcode_panel::{PanelCommand, TranscodePanel};
use super::viewer;
use crate::clipboard::{
    ClipboardAccess, ClipboardImage, ClipboardJob, ClipboardReply, ClipboardWorker,
};

mod compare;
mod display;
mod keys;
mod panels;
mod playback;
mod replies;

/// Recent files kept between runs.
const RECENT_LIMIT: usize = 10;
const RECENT_KEY: &str = "framekit.recent";
/// The transcode panel's output folder, kept between runs.
const OUTPUT_DIR_KEY: &str = "framekit.output_dir";

/// Playback from a point in (UI) time.
#[derive(Debug, Clone, Copy)]
struct Playback {
    started_at: f64,
    from_media_time: f64,
    from_index: usize,
    /// Distinct exact frames that reached the screen during this playback.
    shown: usize,
    /// The last frame counted as shown.
    last_shown: Option<usize>,
}

/// The "Paste base64" panel.
#[derive(Default)]
struct PastePanel {
    open: bool,
    text: String,
    last_sent: String,
    /// What the last paste from this panel gave: a summary, or why it failed.
    feedback: Option<Result<String, String>>,
    /// The panel's text was sent and its answer is awaited (a Ctrl+V elsewhere is not the
    /// panel's: its result never shows here).
    awaiting: bool,
}

/// How the app starts.
pub struct AppOptions {
    /// A file to open at once.
    pub file: Option<PathBuf>,
    /// A file to compare it with (B) once it is open.
    pub compare: Option<PathBuf>,
    pub clipboard: Box<dyn ClipboardAccess>,
    pub player: PlayerOptions,
    pub recent: Vec<PathBuf>,
    /// The transcode job table.
    pub queue: crate::jobs::QueueLocation,
    /// Try the system's file dialogs (tests turn this off to get the typed-path box).
    pub native_dialogs: bool,
    /// The transcode panel's output folder (`None`: beside each input), as last chosen.
    pub output_dir: Option<PathBuf>,
    /// Which path converts frames for display (the GPU one needs eframe's OpenGL context).
    pub display: super::gpu_display::DisplayMode,
}

impl AppOptions {
    /// Defaults around a clipboard: the user's job table, no file, no recent files.
    pub fn new(clipboard: Box<dyn ClipboardAccess>) -> AppOptions {
        AppOptions {
            file: None,
            compare: None,
            clipboard,
            player: PlayerOptions::default(),
            recent: Vec::new(),
            queue: crate::jobs::QueueLocation::default_local(),
            native_dialogs: true,
            output_dir: None,
            display: super::gpu_display::DisplayMode::default(),
        }
    }
}

/// The app.
pub struct FramekitApp {
    player: Player<egui::ColorImage>,
    clipboard: ClipboardWorker,
    screen: Screen,
    view: ViewState,
    messages: StatusMessages,
    /// The info panel as the user set it (View menu); `None`: shown when the window is wide
    /// enough for it and the picture ([`INFO_PANEL_FROM_WIDTH`]).
    show_info: Option<bool>,
    /// Whether the last frame drawn had the info panel.
    info_drawn: bool,
    /// The note on screen and since when (UI time), so that it goes after [`NOTE_SECONDS`].
    note_since: Option<(String, f64)>,
    paste: PastePanel,
    goto_text: String,
    copy_ids: String,
    recent: Vec<PathBuf>,
    transcode: TranscodePanel,
    /// The window was asked to close while transcodes run: ask first.
    confirm_quit: bool,
    quit_confirmed: bool,
    playback: Option<Playback>,
    /// A native dialog's answer, on its way.
    dialog: Option<Receiver<DialogOutcome>>,
    /// The typed-path box (no native dialog here).
    prompt: Option<PathPrompt>,
    native_dialogs: bool,
    /// Generation of the frame on screen; older replies are dropped.
    shown_generation: u64,
    /// The window title last sent.
    title_sent: String,
    /// How HDR video is shown (tone-mapped by default).
    hdr: crate::media::HdrMode,
    /// After an HDR switch reopens the file: the frame to go back to.
    reopen_at: Option<(String, usize)>,
    /// B, while comparing.
    compare: Option<CompareView>,
    /// What B's player starts with (A's player options).
    compare_player: PlayerOptions,
    /// The path of the file on screen (A), as it was asked for.
    a_path: Option<PathBuf>,
    /// A path asked for and not yet opened.
    opening: Option<PathBuf>,
    /// The file a paste replaced and the frame it showed: one step back.
    before_paste: Option<(PathBuf, usize)>,
    /// A file being reopened (Back) and the frame to show once it is open.
    return_to: Option<(PathBuf, usize)>,
    /// B from the command line, opened once A is.
    pending_compare: Option<PathBuf>,
    /// The scopes panel (S) and its worker.
    scopes: ScopesView,
    /// The frame asked for again at full size after playback or a held key stopped on it.
    full_asked: Option<usize>,
    /// When (egui input time) the last step or timeline frame was asked for: requests that
    /// follow each other closer than [`playback::SETTLE`] are a move (a held key, a drag).
    last_step_at: Option<f64>,
    /// Which path converts frames for display (GPU shader or CPU).
    display: display::DisplayState,
}

impl FramekitApp {
    /// Creates the app for eframe, restoring recent files.
    pub fn new(cc: &eframe::CreationContext<'_>, mut options: AppOptions) -> FramekitApp {
        options.recent = cc
            .storage
            .and_then(|s| eframe::get_value::<Vec<PathBuf>>(s, RECENT_KEY))
            .unwrap_or_default();
        options.output_dir = cc
            .storage
            .and_then(|s| eframe::get_value::<Option<PathBuf>>(s, OUTPUT_DIR_KEY))
            .flatten();
        let mut app = FramekitApp::with_options(&cc.egui_ctx, options);
        app.start_display(cc.gl.clone());
        app
    }

    /// Creates the app (tests call this with a memory clipboard and their own options).
    pub fn with_options(ctx: &egui::Context, options: AppOptions) -> FramekitApp {
        let repaint = ctx.clone();
        let display_mode = options.display;
        let mut player_options = options.player;
        let hdr = player_options.open.hdr;
        let compare_player = PlayerOptions {
            decode_gate: None,
            convert_gate: None,
            index_gate: None,
            ..player_options.clone()
        };
        // Frames larger than the GPU takes are shown downscaled (the pixels stay exact).
        player_options.max_image_side = ctx.input(|i| i.max_texture_side) as u32;
        let player = Player::spawn(player_options, move || repaint.request_repaint());
        let repaint = ctx.clone();
        let clipboard =
            ClipboardWorker::spawn(options.clipboard, move || repaint.request_repaint());
        // Ctrl+plus / Ctrl+minus / Ctrl+0 scale the picture (see `read_keys`), never the whole
        // interface: egui's own zoom shortcuts are off.
        ctx.options_mut(|o| o.zoom_with_keyboard = false);
        let mut transcode = TranscodePanel::new(options.queue);
        transcode.apply(ctx, PanelCommand::SetOutputFolder(options.output_dir));
        // Jobs an earlier run left unfinished are offered at start-up.
        transcode.scan_unfinished(ctx);
        let mut app = FramekitApp {
            player,
            clipboard,
            screen: Screen::default(),
            view: ViewState::default(),
            messages: StatusMessages::default(),
            show_info: None,
            info_drawn: true,
            note_since: None,
            paste: PastePanel::default(),
            goto_text: String::new(),
            copy_ids: "1,30".to_string(),
            recent: options.recent,
            transcode,
            confirm_quit: false,
            quit_confirmed: false,
            playback: None,
            dialog: None,
            prompt: None,
            native_dialogs: options.native_dialogs,
            shown_generation: 0,
            title_sent: String::new(),
            hdr,
            reopen_at: None,
            compare: None,
            compare_player,
            a_path: None,
            opening: None,
            before_paste: None,
            return_to: None,
            pending_compare: options.compare,
            scopes: ScopesView::default(),
            full_asked: None,
            last_step_at: None,
            display: display::DisplayState::default(),
        };
        app.display.mode = display_mode;
        if let Some(path) = options.file {
            app.apply(ctx, Command::Open(path));
        }
        app
    }

    /// "clip.mp4 — frame 150/300 — framekit", or "framekit" with nothing open.
    pub fn window_title(&self) -> String {
        let Some(media) = &self.screen.media else {
            return "framekit".to_string();
        };
        let name = super::file_label(Path::new(&media.info.path));
        format!(
            "{name} — frame {}/{} — framekit",
            self.screen.target + 1,
            media.frame_count()
        )
    }

    /// The media and the frame on screen.
    pub fn screen(&self) -> &Screen {
        &self.screen
    }

    pub fn view(&self) -> &ViewState {
        &self.view
    }

    pub fn messages(&self) -> &StatusMessages {
        &self.messages
    }

    pub fn transcode(&self) -> &TranscodePanel {
        &self.transcode
    }

    pub fn recent(&self) -> &[PathBuf] {
        &self.recent
    }

    pub fn frame_count(&self) -> usize {
        self.screen.frame_count()
    }

    /// The A/B compare, when one is open.
    pub fn compare(&self) -> Option<&CompareView> {
        self.compare.as_ref()
    }

    /// The scopes panel (S).
    pub fn scopes(&self) -> &ScopesView {
        &self.scopes
    }

    pub fn hdr_mode(&self) -> crate::media::HdrMode {
        self.hdr
    }

    /// Frames due and dropped in the current (or last) playback.
    pub fn playback_count(&self) -> Option<PlaybackCount> {
        self.screen.playback_frames
    }

    pub fn is_playing(&self) -> bool {
        self.playback.is_some()
    }

    fn send(&mut self, request: Request) {
        if let Err(e) = self.player.send(request) {
            self.messages.error = Some(e.to_string());
        }
    }

    fn send_clipboard(&mut self, job: ClipboardJob) {
        if let Err(e) = self.clipboard.send(job) {
            self.messages.error = Some(e.to_string());
        }
    }

    fn remember_recent(&mut self, path: &Path) {
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        self.recent.retain(|p| p != &path);
        self.recent.insert(0, path);
        self.recent.truncate(RECENT_LIMIT);
    }

    /// Applies one command.
    pub fn apply(&mut self, ctx: &egui::Context, command: Command) {
        match command {
            Command::Open(path) => {
                self.playback = None;
                self.messages.error = None;
                self.opening = Some(path.clone());
                self.send(Request::Open(path));
            }
            Command::PickFile => self.ask_for_path(ctx, PathPurpose::OpenFile),
            Command::Goto(index) => {
                self.playback = None;
                self.request_frame(ctx, index);
            }
            Command::Step(delta) => {
                self.playback = None;
                let target = (self.screen.target as i64 + delta).max(0) as usize;
                self.request_frame(ctx, target);
            }
            Command::StepSeconds(seconds) => {
                let frames = self.screen.media.as_ref().map_or(25.0, OpenMedia::fps) * seconds;
                self.apply(ctx, Command::Step(frames.round() as i64));
            }
            Command::TogglePlay => self.toggle_play(ctx),
            Command::Copy(form) => {
                if self.screen.media.is_none() {
                    self.messages.error =
                        Some("nothing to copy: open a file or paste an image first".to_string());
                } else {
                    self.messages.busy = Some("copying…".to_string());
                    self.send(Request::Copy {
                        frame: self.screen.target,
                        form,
                    });
                }
            }
            Command::CopyStamp => {
                if let Some(stamp) = self.stamp() {
                    let summary = format!("copied {stamp}");
                    self.send_clipboard(ClipboardJob::SetText {
                        text: stamp,
                        summary,
                    });
                }
            }
            Command::PasteFromClipboard => {
                self.messages.busy = Some("reading the clipboard…".to_string());
                self.send_clipboard(ClipboardJob::Read);
            }
            Command::PasteBitmap(image) => {
                self.paste.awaiting = false;
                self.playback = None;
                self.messages.error = None;
                self.send(Request::PasteBitmap(image));
            }
            Command::PasteText(text) => {
                self.playback = None;
                self.messages.error = None;
                self.paste.awaiting = self.paste.open && text == self.paste.last_sent;
                self.send(Request::Paste { text });
            }
            Command::SetZoom(zoom) => {
                self.view.zoom = zoom;
                self.view.pan = egui::Vec2::ZERO;
            }
            Command::Pan(delta) => self.view.pan += delta,
            Command::ZoomBy(factor) => {
                if let Some(shown) = &self.screen.shown {
                    let current = self.view.zoom.scale_for(
                        shown.full_size.0,
                        shown.full_size.1,
                        self.view.last_view,
                    );
                    self.view.zoom = viewer::clamp_zoom(current * factor);
                }
            }
            Command::ZoomAround {
                factor,
                anchor,
                view,
            } => {
                if let Some(shown) = &self.screen.shown {
                    let size = egui::vec2(shown.full_size.0 as f32, shown.full_size.1 as f32);
                    let (zoom, pan) = viewer::zoom_around(
                        self.view.zoom,
                        self.view.pan,
                        size,
                        view,
                        anchor,
                        factor,
                    );
                    self.view.zoom = zoom;
                    self.view.pan = pan;
                }
            }
            Command::ToggleInfo => self.show_info = Some(!self.info_drawn),
            Command::ToggleScopes => self.scopes.toggle(),
            Command::SetGpuDisplay(on) => self.choose_gpu_display(on),
            Command::SetHdr(mode) => {
                if mode != self.hdr {
                    self.hdr = mode;
                    self.reopen_at = self
                        .screen
                        .media
                        .as_ref()
                        .map(|m| (m.info.path.clone(), self.screen.target));
                    self.send(Request::SetHdr(mode));
                    let options = self.open_options();
                    if let Some(compare) = &mut self.compare {
                        compare.set_open_options(options);
                    }
                }
            }
            Command::Compare(command) => self.apply_compare(ctx, command),
            Command::BackBeforePaste => {
                if let Some((path, index)) = self.before_paste.take() {
                    self.return_to = Some((path.clone(), index));
                    self.apply(ctx, Command::Open(path));
                }
            }
            Command::TogglePastePanel => {
                self.paste.open = !self.paste.open;
                // It opens fresh: no answer to an earlier paste (a Ctrl+V error included).
                if self.paste.open {
                    self.paste.feedback = None;
                }
            }
            Command::DismissMessage => {
                self.messages.error = None;
                self.messages.note = None;
            }
            Command::Hover(pixel) => self.view.hover_pixel = pixel,
            Command::PinPixel(pixel) => self.view.pinned_pixel = pixel,
            Command::ViewRect(rect) => self.view.last_view = Some(rect),
            Command::SetNearest(nearest) => {
                self.view.nearest = nearest;
                if let Some(shown) = &mut self.screen.shown
                    && let Some(texture) = &mut shown.texture
                {
                    texture.set(shown.image.clone(), sampling(nearest));
                }
            }
            Command::ShowError(message) => self.messages.error = Some(message),
            Command::Transcode(files) => self.apply_panel(ctx, PanelCommand::AddFiles(files)),
            Command::Panel(command) => self.apply_panel(ctx, command),
            Command::AskPath(purpose) => self.ask_for_path(ctx, purpose),
            Command::QuitAnyway => {
                self.transcode.stop_all();
                self.quit_confirmed = true;
                self.confirm_quit = false;
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
            Command::KeepRunning => self.confirm_quit = false,
        }
    }

    /// `f=150 t=4.967s` for the frame on screen.
    pub fn stamp(&self) -> Option<String> {
        let media = self.screen.media.as_ref()?;
        let time = media.frame_times.get(self.screen.target).copied().flatten();
        Some(match time {
            Some(t) => format!("f={} t={t:.3}s", self.screen.target + 1),
            None => format!("f={}", self.screen.target + 1),
        })
    }

    /// Opens the native dialog for `purpose` on its own thread, so the UI keeps drawing;
    /// where there is none, the typed-path box takes its place.
    fn ask_for_path(&mut self, ctx: &egui::Context, purpose: PathPurpose) {
        let repaint = ctx.clone();
        self.dialog = Some(dialogs::spawn_native(
            purpose,
            self.native_dialogs,
            move || repaint.request_repaint(),
        ));
    }

    /// What a dialog answered.
    fn dialog_outcome(&mut self, ctx: &egui::Context, outcome: DialogOutcome) {
        match outcome {
            DialogOutcome::Picked(purpose, paths) => self.path_chosen(ctx, purpose, paths),
            DialogOutcome::Cancelled => {}
            DialogOutcome::Unavailable(purpose) => {
                let start = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
                let repaint = ctx.clone();
                self.prompt = Some(PathPrompt::new(purpose, &start, move || {
                    repaint.request_repaint()
                }));
            }
        }
    }

    fn path_chosen(&mut self, ctx: &egui::Context, purpose: PathPurpose, paths: Vec<PathBuf>) {
        match purpose {
            PathPurpose::OpenFile => {
                if let Some(path) = paths.into_iter().next() {
                    self.apply(ctx, Command::Open(path));
                }
            }
            PathPurpose::AddFiles | PathPurpose::AddFolder => {
                self.apply_panel(ctx, PanelCommand::AddFiles(paths))
            }
            PathPurpose::OutputFolder => {
                let folder = paths.into_iter().next();
                self.apply_panel(ctx, PanelCommand::SetOutputFolder(folder));
            }
            PathPurpose::CompareFile => {
                if let Some(path) = paths.into_iter().next() {
                    self.apply(ctx, Command::Compare(CompareCommand::OpenB(path)));
                }
            }
        }
    }

    /// A command for the transcode panel, and what it asks of the app in turn.
    fn apply_panel(&mut self, ctx: &egui::Context, command: PanelCommand) {
        if let Some(then) = self.transcode.apply(ctx, command) {
            self.apply(ctx, then);
        }
    }

    /// The file a paste replaced (File > Back), if any.
    pub fn before_paste(&self) -> Option<&Path> {
        self.before_paste.as_ref().map(|(p, _)| p.as_path())
    }

    /// The typed-path box, if one is open.
    pub fn path_prompt(&self) -> Option<PathPurpose> {
        self.prompt.as_ref().map(PathPrompt::purpose)
    }
}

impl eframe::App for FramekitApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        if let Some(outcome) = self.dialog.as_ref().and_then(|rx| rx.try_recv().ok()) {
            self.dialog = None;
            self.dialog_outcome(ctx, outcome);
        }
        self.drain_replies(ctx);
        self.check_display(ctx);
        if self.screen.media.is_some()
            && let Some(b) = self.pending_compare.take()
        {
            self.apply(ctx, Command::Compare(CompareCommand::OpenB(b)));
        }
        if let Some(compare) = &mut self.compare {
            compare.logic(ctx, &self.screen, self.a_path.as_deref());
        }
        self.transcode.logic();
        self.scopes.logic(ctx, &self.screen, self.compare.as_ref());
        let closing = ctx.input(|i| i.viewport().close_requested());
        if closing && self.transcode.is_running() && !self.quit_confirmed {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.confirm_quit = true;
        }
        for command in self.read_keys(ctx) {
            self.apply(ctx, command);
        }
        self.advance_playback(ctx);
        self.ask_full_size_when_paused(ctx);
        self.expire_note(ctx);
        self.screen.playing = self.playback.is_some();
        let title = self.window_title();
        if title != self.title_sent {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title_sent = title;
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        let mut commands = Vec::new();
        let follows = self.screen.filmstrip_follows;
        egui::Panel::top("menu").show(ui, |ui| commands.extend(self.menu_ui(ui)));
        if let Some(compare) = &self.compare {
            egui::Panel::top("compare-bar").show(ui, |ui| {
                commands.extend(compare_view::compare_bar_ui(ui, compare, &self.screen))
            });
        }
        egui::Panel::bottom("timeline").show(ui, |ui| {
            commands.extend(timeline::timeline_ui(
                ui,
                &self.screen,
                &self.messages,
                &mut self.goto_text,
            ))
        });
        if let Some(compare) = &self.compare {
            egui::Panel::bottom("compare-scores").show(ui, |ui| {
                commands.extend(compare_view::score_plot_ui(ui, compare, &self.screen))
            });
        }
        if self.scopes.is_open() {
            let comparing = self.compare.is_some();
            let hdr = self
                .screen
                .media
                .as_ref()
                .and_then(|m| m.info.video.as_ref())
                .and_then(|v| v.color.tagged.hdr)
                .map(crate::media::color::Hdr::label);
            egui::Panel::bottom("scopes").show(ui, |ui| {
                commands.extend(super::scopes::scopes_ui(ui, &self.scopes, comparing, hdr))
            });
        }
        self.info_drawn = self.info_shown(&ctx);
        if self.info_drawn {
            // The picture keeps most of the window: the panel takes at most a third of it.
            let width = ctx.content_rect().width();
            let most = (width / 3.0).max(120.0);
            egui::Panel::right("info")
                .default_size((width / 4.0).clamp(120.0, 320.0))
                .size_range(120.0..=most)
                .show(ui, |ui| commands.extend(self.info_panel_ui(ui)));
        }
        egui::CentralPanel::default().show(ui, |ui| {
            commands.extend(viewer::viewer_ui(
                ui,
                &self.view,
                &self.screen,
                self.compare.as_ref(),
                self.gpu_for_view(),
            ))
        });
        commands.extend(self.paste_panel_ui(&ctx));
        if let Some(prompt) = &mut self.prompt {
            match prompt.window_ui(&ctx, below_menu(&ctx)) {
                Some(Ok(path)) => {
                    let purpose = prompt.purpose();
                    self.prompt = None;
                    self.path_chosen(&ctx, purpose, vec![path]);
                }
                Some(Err(())) => self.prompt = None,
                None => {}
            }
        }
        commands.extend(self.transcode.window_ui(&ctx));
        if self.confirm_quit {
            commands.extend(quit_dialog_ui(&ctx));
        }
        // Scrolled once per move of the playhead, then the user may scroll freely.
        if follows {
            self.screen.filmstrip_follows = false;
        }
        for command in commands {
            self.apply(&ctx, command);
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, RECENT_KEY, &self.recent);
        eframe::set_value(
            storage,
            OUTPUT_DIR_KEY,
            &self.transcode.output_dir().map(Path::to_path_buf),
        );
    }

    fn on_exit(&mut self, gl: Option<&eframe::glow::Context>) {
        self.stop_display(gl);
        // Running jobs go back to pending; a job whose thread dies with the process is
        // reclaimed at the next start (its lease owner is gone).
        self.transcode.stop_all();
    }
}

impl FramekitApp {
    /// A note leaves the status line [`NOTE_SECONDS`] after it showed up (a newer one starts
    /// its own time); nothing stale stays beside the frame.
    fn expire_note(&mut self, ctx: &egui::Context) {
        let now = ctx.input(|i| i.time);
        let Some(note) = &self.messages.note else {
            self.note_since = None;
            return;
        };
        match &self.note_since {
            Some((shown, since)) if shown == note => {
                if now - since >= NOTE_SECONDS {
                    self.messages.note = None;
                    self.note_since = None;
                } else {
                    let left = NOTE_SECONDS - (now - since);
                    ctx.request_repaint_after(std::time::Duration::from_secs_f64(left.max(0.0)));
                }
            }
            _ => {
                self.note_since = Some((note.clone(), now));
                ctx.request_repaint_after(std::time::Duration::from_secs_f64(NOTE_SECONDS));
            }
        }
    }
}

/// Narrower windows leave the info panel out unless the user shows it (View menu).
pub const INFO_PANEL_FROM_WIDTH: f32 = 720.0;

impl FramekitApp {
    /// Whether the info panel is drawn: as the user set it, or where the window is wide
    /// enough.
    pub fn info_shown(&self, ctx: &egui::Context) -> bool {
        self.show_info
            .unwrap_or_else(|| ctx.content_rect().width() >= INFO_PANEL_FROM_WIDTH)
    }
}

/// A pasted egui bitmap as straight RGBA.
fn clipboard_image_from(image: &egui::ColorImage) -> ClipboardImage {
    let rgba = image
        .pixels
        .iter()
        .flat_map(|p| p.to_srgba_unmultiplied())
        .collect();
    ClipboardImage {
        width: image.size[0],
        height: image.size[1],
        rgba,
    }
}

fn sampling(nearest: bool) -> TextureOptions {
    if nearest {
        TextureOptions::NEAREST
    } else {
        TextureOptions::LINEAR
    }
}

/// Asks before closing while transcodes run.
fn quit_dialog_ui(ctx: &egui::Context) -> Vec<Command> {
    let mut commands = Vec::new();
    egui::Modal::new(egui::Id::unique("confirm-quit")).show(ctx, |ui| {
        ui.heading("Transcodes are running");
        ui.label("Quit anyway? Unfinished jobs resume the next time framekit starts.");
        ui.horizontal(|ui| {
            if ui.button("Quit").clicked() {
                commands.push(Command::QuitAnyway);
            }
            if ui.button("Keep working").clicked() {
                commands.push(Command::KeepRunning);
            }
        });
    });
    commands
}
