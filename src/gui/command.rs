//! `Command`: everything the user can ask the app for. Panels return commands; the app
//! applies them after drawing, so state never changes halfway through a frame. Tests drive the
//! app with the same commands.

use std::path::PathBuf;

use super::compare_view::CompareCommand;
use super::dialogs::PathPurpose;
use super::transcode_panel::PanelCommand;
use super::viewer::Zoom;
use crate::clipboard::ClipboardImage;
use crate::player::CopyForm;

/// Something the user asked for, applied after the frame is drawn.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Open(PathBuf),
    PickFile,
    Goto(usize),
    Step(i64),
    StepSeconds(f64),
    TogglePlay,
    Copy(CopyForm),
    CopyStamp,
    PasteFromClipboard,
    PasteText(String),
    PasteBitmap(ClipboardImage),
    SetZoom(Zoom),
    /// Zoom in or out by a factor around the view's centre (Ctrl+plus / Ctrl+minus).
    ZoomBy(f32),
    Pan(egui::Vec2),
    ZoomAround {
        factor: f32,
        anchor: egui::Pos2,
        view: egui::Rect,
    },
    ToggleInfo,
    /// Show or hide the scopes panel (S).
    ToggleScopes,
    /// Tone-map HDR video to SDR, or show it as tagged (View menu, H).
    SetHdr(crate::media::HdrMode),
    /// Frames converted for display on the GPU (shader) or the CPU (View menu).
    SetGpuDisplay(bool),
    TogglePastePanel,
    /// Reopen the file a paste replaced, on the frame it showed.
    BackBeforePaste,
    DismissMessage,
    /// The viewer's rectangle on screen changed.
    ViewRect(egui::Rect),
    /// Pin the inspector to a pixel (`None`: follow the cursor again).
    PinPixel(Option<(u32, u32)>),
    /// The image pixel under the cursor changed.
    Hover(Option<(u32, u32)>),
    /// Switch texture sampling: nearest-neighbour from 200% zoom up.
    SetNearest(bool),
    ShowError(String),
    /// Ask for a path with a file dialog (the transcode panel's Add files…, output folder).
    AskPath(PathPurpose),
    /// Open the transcode panel with these files staged (none: just open it).
    Transcode(Vec<PathBuf>),
    /// Something for the transcode panel.
    Panel(PanelCommand),
    /// Something for the A/B compare.
    Compare(CompareCommand),
    /// Stop running transcodes (they resume next time) and close the window.
    QuitAnyway,
    KeepRunning,
}
