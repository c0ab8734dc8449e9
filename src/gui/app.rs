//! `FramekitApp`: the app state. `logic()` drains the player's and the clipboard's replies,
//! reads keys and changes state; `ui()` draws the panels, which take the state they draw and
//! return [`Command`]s that are applied after drawing. The UI thread never decodes, encodes or
//! touches the disk or the clipboard's data: the player and the clipboard worker do.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crossbeam_channel::Receiver;
use egui::{Key, Modifiers, TextureHandle, TextureOptions};

use crate::frame::Frame;
use crate::media::MediaInfo;
use crate::media::color::SourceSamples;
use crate::player::{
    ClipboardPayload, CopyForm, Operation, Player, PlayerOptions, ReadyFrame, Reply, Request,
};

use super::clipboard::{
    ClipboardAccess, ClipboardImage, ClipboardJob, ClipboardReply, ClipboardWorker,
};
use super::command::Command;
use super::dialogs::{self, DialogOutcome, PathPrompt, PathPurpose};
use super::timeline;
use super::transcode_panel::{PanelCommand, TranscodePanel};
use super::viewer::{self, Zoom};

/// Recent files kept between runs.
const RECENT_LIMIT: usize = 10;
const RECENT_KEY: &str = "framekit.recent";

/// The open media, as the UI knows it.
pub struct OpenMedia {
    pub info: MediaInfo,
    pub frame_times: Vec<Option<f64>>,
    pub keyframes: Vec<bool>,
    pub media_id: u64,
}

impl OpenMedia {
    pub fn frame_count(&self) -> usize {
        self.frame_times.len()
    }

    pub fn fps(&self) -> f64 {
        self.info
            .video
            .as_ref()
            .and_then(|v| v.avg_fps)
            .filter(|f| *f > 0.0)
            .unwrap_or(25.0)
    }
}

/// The frame on screen.
pub struct ShownFrame {
    pub index: usize,
    pub exact: bool,
    pub texture: TextureHandle,
    /// Kept to re-upload with other sampling when the zoom crosses 200%.
    pub image: Arc<egui::ColorImage>,
    pub frame: Arc<Frame>,
    pub samples: Option<Arc<SourceSamples>>,
}

/// What the viewer, the timeline and the inspector draw: the media and the frame on screen.
#[derive(Default)]
pub struct Screen {
    pub media: Option<OpenMedia>,
    /// The frame the user asked for (0-based).
    pub target: usize,
    pub shown: Option<ShownFrame>,
    pub thumbnails: Vec<(usize, TextureHandle)>,
    pub playing: bool,
    /// The filmstrip scrolls to the playhead's thumbnail (set when the target moves).
    pub filmstrip_follows: bool,
}

impl Screen {
    pub fn frame_count(&self) -> usize {
        self.media.as_ref().map_or(0, OpenMedia::frame_count)
    }

    /// Whether frame `index` is on screen, exact, and the one asked for.
    pub fn is_showing(&self, index: usize) -> bool {
        self.target == index
            && self
                .shown
                .as_ref()
                .is_some_and(|s| s.index == index && s.exact)
    }
}

/// How the frame is viewed.
pub struct ViewState {
    pub zoom: Zoom,
    pub pan: egui::Vec2,
    /// Image pixel under the cursor, for the inspector.
    pub hover_pixel: Option<(u32, u32)>,
    /// A pixel the inspector stays on (clicked), whatever the cursor does.
    pub pinned_pixel: Option<(u32, u32)>,
    /// Nearest-neighbour sampling (zoomed to 200% or more) instead of linear.
    pub nearest: bool,
    /// The view rectangle of the last frame drawn (for "fit" zoom arithmetic).
    pub last_view: Option<egui::Rect>,
}

impl Default for ViewState {
    fn default() -> Self {
        ViewState {
            zoom: Zoom::Fit,
            pan: egui::Vec2::ZERO,
            hover_pixel: None,
            pinned_pixel: None,
            nearest: false,
            last_view: None,
        }
    }
}

/// The status line's messages.
#[derive(Default)]
pub struct StatusMessages {
    pub error: Option<String>,
    pub note: Option<String>,
    pub busy: Option<String>,
}

/// Playback from a point in (UI) time.
#[derive(Debug, Clone, Copy)]
struct Playback {
    started_at: f64,
    from_media_time: f64,
    from_index: usize,
}

/// The "Paste base64" panel.
#[derive(Default)]
struct PastePanel {
    open: bool,
    text: String,
    last_sent: String,
    /// What the last paste gave: a summary, or why it failed.
    feedback: Option<Result<String, String>>,
}

/// How the app starts.
pub struct AppOptions {
    /// A file to open at once.
    pub file: Option<PathBuf>,
    pub clipboard: Box<dyn ClipboardAccess>,
    pub player: PlayerOptions,
    pub recent: Vec<PathBuf>,
    /// The transcode job table.
    pub queue_path: PathBuf,
    /// Try the system's file dialogs (tests turn this off to get the typed-path box).
    pub native_dialogs: bool,
}

impl AppOptions {
    /// Defaults around a clipboard: the user's job table, no file, no recent files.
    pub fn new(clipboard: Box<dyn ClipboardAccess>) -> AppOptions {
        AppOptions {
            file: None,
            clipboard,
            player: PlayerOptions::default(),
            recent: Vec::new(),
            queue_path: crate::jobs::default_queue_path(),
            native_dialogs: true,
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
    show_info: bool,
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
}

impl FramekitApp {
    /// Creates the app for eframe, restoring recent files.
    pub fn new(cc: &eframe::CreationContext<'_>, mut options: AppOptions) -> FramekitApp {
        options.recent = cc
            .storage
            .and_then(|s| eframe::get_value::<Vec<PathBuf>>(s, RECENT_KEY))
            .unwrap_or_default();
        let mut app = FramekitApp::with_options(&cc.egui_ctx, options);
        app.transcode.scan_unfinished(&cc.egui_ctx);
        app
    }

    /// Creates the app (tests call this with a memory clipboard and their own options).
    pub fn with_options(ctx: &egui::Context, options: AppOptions) -> FramekitApp {
        let repaint = ctx.clone();
        let mut player_options = options.player;
        // Frames larger than the GPU takes are shown downscaled (the pixels stay exact).
        player_options.max_image_side = ctx.input(|i| i.max_texture_side) as u32;
        let player = Player::spawn(player_options, move || repaint.request_repaint());
        let repaint = ctx.clone();
        let clipboard =
            ClipboardWorker::spawn(options.clipboard, move || repaint.request_repaint());
        let mut app = FramekitApp {
            player,
            clipboard,
            screen: Screen::default(),
            view: ViewState::default(),
            messages: StatusMessages::default(),
            show_info: true,
            paste: PastePanel::default(),
            goto_text: String::new(),
            copy_ids: "1,30".to_string(),
            recent: options.recent,
            transcode: TranscodePanel::new(options.queue_path),
            confirm_quit: false,
            quit_confirmed: false,
            playback: None,
            dialog: None,
            prompt: None,
            native_dialogs: options.native_dialogs,
            shown_generation: 0,
            title_sent: String::new(),
        };
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
        let name = std::path::Path::new(&media.info.path)
            .file_name()
            .map_or(media.info.path.clone(), |n| {
                n.to_string_lossy().into_owned()
            });
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

    /// Asks for frame `index` (clamped), unless it is already the target and on screen.
    fn request_frame(&mut self, index: usize) {
        let count = self.frame_count();
        if count == 0 {
            return;
        }
        let index = index.min(count - 1);
        let on_screen = self
            .screen
            .shown
            .as_ref()
            .is_some_and(|s| s.index == index && s.exact);
        if index == self.screen.target && on_screen {
            return;
        }
        self.screen.target = index;
        self.screen.filmstrip_follows = true;
        self.send(Request::Show { frame: index });
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
                self.send(Request::Open(path));
            }
            Command::PickFile => self.ask_for_path(ctx, PathPurpose::OpenFile),
            Command::Goto(index) => {
                self.playback = None;
                self.request_frame(index);
            }
            Command::Step(delta) => {
                self.playback = None;
                let target = (self.screen.target as i64 + delta).max(0) as usize;
                self.request_frame(target);
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
                self.playback = None;
                self.messages.error = None;
                self.send(Request::PasteBitmap(image));
            }
            Command::PasteText(text) => {
                self.playback = None;
                self.messages.error = None;
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
                        shown.frame.width,
                        shown.frame.height,
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
                    let size = egui::vec2(shown.frame.width as f32, shown.frame.height as f32);
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
            Command::ToggleInfo => self.show_info = !self.show_info,
            Command::TogglePastePanel => self.paste.open = !self.paste.open,
            Command::DismissMessage => {
                self.messages.error = None;
                self.messages.note = None;
            }
            Command::Hover(pixel) => self.view.hover_pixel = pixel,
            Command::PinPixel(pixel) => self.view.pinned_pixel = pixel,
            Command::ViewRect(rect) => self.view.last_view = Some(rect),
            Command::SetNearest(nearest) => {
                self.view.nearest = nearest;
                if let Some(shown) = &mut self.screen.shown {
                    shown.texture.set(shown.image.clone(), sampling(nearest));
                }
            }
            Command::ShowError(message) => self.messages.error = Some(message),
            Command::Transcode(files) => self.transcode.apply(ctx, PanelCommand::AddFiles(files)),
            Command::Panel(command) => self.transcode.apply(ctx, command),
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

    fn toggle_play(&mut self, ctx: &egui::Context) {
        if self.playback.take().is_some() {
            return;
        }
        let Some(media) = &self.screen.media else {
            return;
        };
        if media.frame_count() < 2 {
            return;
        }
        let from_index = if self.screen.target + 1 >= media.frame_count() {
            0
        } else {
            self.screen.target
        };
        let from_media_time = media
            .frame_times
            .get(from_index)
            .copied()
            .flatten()
            .unwrap_or(0.0);
        self.playback = Some(Playback {
            started_at: ctx.input(|i| i.time),
            from_media_time,
            from_index,
        });
    }

    /// Advances playback to the frame due now, at the clip's own timing.
    fn advance_playback(&mut self, ctx: &egui::Context) {
        let (Some(play), Some(media)) = (self.playback, &self.screen.media) else {
            return;
        };
        let elapsed = ctx.input(|i| i.time) - play.started_at;
        let due_time = play.from_media_time + elapsed;
        let fps = media.fps();
        let mut due = play.from_index;
        while due + 1 < media.frame_count() {
            let next_time = media.frame_times[due + 1].unwrap_or((due + 1) as f64 / fps);
            if next_time > due_time {
                break;
            }
            due += 1;
        }
        let at_end = due + 1 >= media.frame_count();
        if due != self.screen.target {
            self.screen.target = due;
            self.send(Request::Show { frame: due });
        }
        if at_end {
            self.playback = None;
        } else {
            ctx.request_repaint();
        }
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
            PathPurpose::AddFiles => self.transcode.apply(ctx, PanelCommand::AddFiles(paths)),
            PathPurpose::OutputFolder => {
                let folder = paths.into_iter().next();
                self.transcode
                    .apply(ctx, PanelCommand::SetOutputFolder(folder));
            }
        }
    }

    /// The typed-path box, if one is open.
    pub fn path_prompt(&self) -> Option<PathPurpose> {
        self.prompt.as_ref().map(PathPrompt::purpose)
    }

    /// Reads the player's and the clipboard's replies (newest frame wins) and changes state
    /// accordingly.
    pub fn drain_replies(&mut self, ctx: &egui::Context) {
        let mut newest_frame = None;
        loop {
            match self.player.try_recv() {
                Ok(Some(Reply::Frame(ready))) => {
                    // Newer than what is on screen: show it, even if the user has asked for
                    // another frame since (playback and drags stay live when decoding is
                    // slower than the requests; the status says "placeholder").
                    if ready.generation >= self.shown_generation {
                        self.shown_generation = ready.generation;
                        newest_frame = Some(ready);
                    }
                }
                Ok(Some(Reply::Opened {
                    info,
                    frame_times,
                    keyframes,
                    media_id,
                })) => {
                    newest_frame = None;
                    self.opened(*info, frame_times, keyframes, media_id);
                }
                Ok(Some(reply)) => self.reply(ctx, reply),
                Ok(None) => break,
                Err(e) => {
                    self.messages.error = Some(e.to_string());
                    break;
                }
            }
        }
        loop {
            match self.clipboard.try_recv() {
                Ok(Some(reply)) => self.clipboard_reply(ctx, reply),
                Ok(None) => break,
                Err(e) => {
                    self.messages.error = Some(e.to_string());
                    break;
                }
            }
        }
        if let Some(ready) = newest_frame {
            self.show_frame(ctx, ready);
        }
    }

    fn opened(
        &mut self,
        info: MediaInfo,
        frame_times: Vec<Option<f64>>,
        keyframes: Vec<bool>,
        media_id: u64,
    ) {
        self.messages.busy = None;
        self.messages.error = None;
        self.screen.shown = None;
        self.screen.thumbnails.clear();
        self.view.zoom = Zoom::Fit;
        self.view.pan = egui::Vec2::ZERO;
        self.messages.note = Some(format!("opened {}", info.path));
        if info.pasted {
            let size = info
                .video
                .as_ref()
                .map_or(String::new(), |v| format!(", {}x{}", v.width, v.height));
            let summary = format!(
                "showing {} frame(s) from {}{size}",
                frame_times.len(),
                info.path
            );
            self.paste.feedback = Some(Ok(summary));
        } else {
            // Only files that opened go into the recent list.
            self.remember_recent(Path::new(&info.path));
        }
        self.screen.media = Some(OpenMedia {
            info,
            frame_times,
            keyframes,
            media_id,
        });
        self.screen.target = 0;
        self.send(Request::Show { frame: 0 });
    }

    /// Every reply but frames and opens.
    fn reply(&mut self, ctx: &egui::Context, reply: Reply<egui::ColorImage>) {
        match reply {
            Reply::Frame(_) | Reply::Opened { .. } => {}
            Reply::Thumbnail {
                media_id,
                index,
                image,
            } => {
                if self
                    .screen
                    .media
                    .as_ref()
                    .is_some_and(|m| m.media_id == media_id)
                {
                    let texture =
                        ctx.load_texture(format!("thumb-{index}"), image, TextureOptions::LINEAR);
                    self.screen.thumbnails.push((index, texture));
                }
            }
            Reply::Busy(note) => self.messages.busy = Some(note),
            Reply::Copied { payload, summary } => {
                // The clipboard thread puts it there; arboard's PNG encode of a bitmap runs
                // there too, never here.
                self.messages.busy = Some("copying to the clipboard…".to_string());
                let job = match payload {
                    ClipboardPayload::Text(text) => ClipboardJob::SetText { text, summary },
                    ClipboardPayload::Image(image) => ClipboardJob::SetImage { image, summary },
                };
                self.send_clipboard(job);
            }
            Reply::Failed { op, error } => {
                self.messages.busy = None;
                let message = error.to_string();
                if op == Operation::Paste {
                    self.paste.feedback = Some(Err(message.clone()));
                }
                self.messages.error = Some(message);
            }
        }
    }

    fn clipboard_reply(&mut self, ctx: &egui::Context, reply: ClipboardReply) {
        self.messages.busy = None;
        match reply {
            ClipboardReply::Set { summary } => {
                self.messages.error = None;
                self.messages.note = Some(summary);
            }
            ClipboardReply::ReadImage(image) => self.apply(ctx, Command::PasteBitmap(image)),
            ClipboardReply::ReadText(text) => self.apply(ctx, Command::PasteText(text)),
            ClipboardReply::Failed(e) => self.messages.error = Some(e.to_string()),
        }
    }

    fn show_frame(&mut self, ctx: &egui::Context, ready: ReadyFrame<egui::ColorImage>) {
        if ready.exact {
            self.messages.error = None;
        }
        let options = sampling(self.view.nearest);
        let texture = match self.screen.shown.take() {
            Some(mut shown) if shown.texture.size() == ready.image.size => {
                shown.texture.set(ready.image.clone(), options);
                shown.texture
            }
            _ => ctx.load_texture("frame", ready.image.clone(), options),
        };
        self.screen.shown = Some(ShownFrame {
            index: ready.index,
            exact: ready.exact,
            texture,
            image: ready.image,
            frame: ready.frame,
            samples: ready.samples,
        });
    }

    /// Keyboard shortcuts, unless a text box has the keyboard.
    fn read_keys(&mut self, ctx: &egui::Context) -> Vec<Command> {
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
            // One file: view it. Several videos, or any video while the transcode panel is
            // open: queue them for transcoding.
            let videos: Vec<PathBuf> = dropped
                .iter()
                .filter(|p| crate::batch::is_video_path(p))
                .cloned()
                .collect();
            if dropped.len() > 1 || (self.transcode.is_open() && !videos.is_empty()) {
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

    fn menu_ui(&self, ui: &mut egui::Ui) -> Vec<Command> {
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
            ui.menu_button("View", |ui| {
                if ui.button("Fit to window").clicked() {
                    commands.push(Command::SetZoom(Zoom::Fit));
                }
                if ui.button("Actual size (1:1)").clicked() {
                    commands.push(Command::SetZoom(Zoom::Scale(1.0)));
                }
                if ui
                    .button(if self.show_info {
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

    fn paste_panel_ui(&mut self, ctx: &egui::Context) -> Vec<Command> {
        let mut commands = Vec::new();
        let mut open = self.paste.open;
        egui::Window::new("Paste base64").open(&mut open).default_width(420.0).constrain_to(below_menu(ctx)).show(ctx, |ui| {
            ui.label("Paste base64, a data URI, or several joined by '|'. Whitespace, quotes and URL-safe base64 are fine.");
            let label = ui.label("Base64 text");
            let response = ui.add(
                egui::TextEdit::multiline(&mut self.paste.text).desired_rows(8).desired_width(f32::INFINITY).code_editor(),
            );
            let response = response.labelled_by(label.id);
            if response.changed() && self.paste.text.trim() != self.paste.last_sent.trim() && !self.paste.text.trim().is_empty() {
                self.paste.last_sent = self.paste.text.clone();
                commands.push(Command::PasteText(self.paste.text.clone()));
            }
                        ui.label(format!("{} characters", self.paste.text.chars().count()));
            match &self.paste.feedback {
                Some(Ok(summary)) => {
                    ui.colored_label(egui::Color32::from_rgb(120, 200, 120), summary);
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

    fn info_panel_ui(&mut self, ui: &mut egui::Ui) -> Vec<Command> {
        let mut commands = Vec::new();
        egui::ScrollArea::vertical().show(ui, |ui| {
            ui.heading("Info");
            match &self.screen.media {
                Some(media) => {
                    egui::Grid::new("info-grid")
                        .num_columns(2)
                        .striped(true)
                        .show(ui, |ui| {
                            for (key, value) in media.info.to_rows() {
                                ui.label(key);
                                ui.add(
                                    egui::Label::new(egui::RichText::new(value).monospace()).wrap(),
                                );
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
            viewer::inspector_ui(ui, &self.view, &self.screen);
        });
        commands
    }
}

impl eframe::App for FramekitApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        if let Some(outcome) = self.dialog.as_ref().and_then(|rx| rx.try_recv().ok()) {
            self.dialog = None;
            self.dialog_outcome(ctx, outcome);
        }
        if let Some(purpose) = self.transcode.take_dialog_request() {
            self.ask_for_path(ctx, purpose);
        }
        self.drain_replies(ctx);
        self.transcode.logic();
        let closing = ctx.input(|i| i.viewport().close_requested());
        if closing && self.transcode.is_running() && !self.quit_confirmed {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.confirm_quit = true;
        }
        for command in self.read_keys(ctx) {
            self.apply(ctx, command);
        }
        self.advance_playback(ctx);
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
        egui::Panel::bottom("timeline").show(ui, |ui| {
            commands.extend(timeline::timeline_ui(
                ui,
                &self.screen,
                &self.messages,
                &mut self.goto_text,
            ))
        });
        if self.show_info {
            egui::Panel::right("info")
                .default_size(320.0)
                .show(ui, |ui| commands.extend(self.info_panel_ui(ui)));
        }
        egui::CentralPanel::default().show(ui, |ui| {
            commands.extend(viewer::viewer_ui(ui, &self.view, &self.screen))
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
        self.transcode.window_ui(&ctx);
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
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        // Running jobs go back to pending; a job whose thread dies with the process is
        // reclaimed at the next start (its lease owner is gone).
        self.transcode.stop_all();
    }
}

/// The screen below the menu bar: windows and panels never cover it.
pub fn below_menu(ctx: &egui::Context) -> egui::Rect {
    let mut area = ctx.content_rect();
    area.min.y += 28.0;
    area
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

/// Parses the go-to box: a 1-based frame number (`150`), or a time (`4.967s`, `1:02.5`,
/// `00:01:02.5`). Returns the 0-based frame index.
pub fn parse_goto(text: &str, frame_times: &[Option<f64>], fps: f64) -> Option<usize> {
    let text = text.trim();
    if text.is_empty() || frame_times.is_empty() {
        return None;
    }
    if let Ok(n) = text.parse::<usize>() {
        return Some(n.clamp(1, frame_times.len()) - 1);
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
        assert_eq!(parse_goto("5000", &times, 10.0), Some(99));
        assert_eq!(parse_goto("2.05s", &times, 10.0), Some(20));
        assert_eq!(parse_goto("0:03.5", &times, 10.0), Some(35));
        assert_eq!(parse_goto("00:00:01", &times, 10.0), Some(10));
        assert_eq!(parse_goto("abc", &times, 10.0), None);
        assert_eq!(parse_goto("-1s", &times, 10.0), None);
    }
}
