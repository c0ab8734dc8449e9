//! The desktop app (eframe/egui), behind the `gui` feature. The UI thread only draws and routes
//! messages: the [`Player`](crate::player::Player) does every decode, conversion, encode and
//! file read, and the clipboard worker ([`crate::clipboard`]) every clipboard read and write.
//!
//! - `app`: state, `logic()` (drain replies, keys), `ui()` (draw).
//! - `state`: what the panels draw (screen, view, status messages): a leaf, no panel imports
//!   `app`.
//! - `command`: what panels return and tests send.
//! - `viewer`: the frame view (fit / 1:1 / wheel zoom / pan) and the pixel inspector.
//! - `timeline`: slider, filmstrip, go-to box, status line.
//! - `scopes`: the scopes panel; its thread is [`crate::player::scopes`].
//! - `compare_view`: A/B compare (views, scores, plot); its thread is [`crate::compare::worker`].
//! - `transcode_panel`: the batch transcode window.

pub mod app;
pub mod command;
pub mod compare_view;
pub mod dialogs;
pub mod gpu_display;
pub mod scopes;
pub mod state;
pub mod timeline;
pub mod transcode_panel;
pub mod viewer;

use std::path::PathBuf;

pub use app::{AppOptions, FramekitApp};
pub use command::Command;
pub use gpu_display::DisplayMode;

/// The player builds the texture image on its own thread; the UI thread only uploads it.
impl crate::player::FrameImage for egui::ColorImage {
    fn from_frame(frame: &crate::frame::Frame) -> Self {
        let size = [frame.width as usize, frame.height as usize];
        match frame.layout {
            crate::frame::PixelLayout::Rgb8 => egui::ColorImage::from_rgb(size, &frame.pixels),
            crate::frame::PixelLayout::Rgba8 => {
                egui::ColorImage::from_rgba_unmultiplied(size, &frame.pixels)
            }
        }
    }
}

pub use crate::media::file_label;

/// Whether a window can be opened here.
pub fn display_available() -> bool {
    if cfg!(target_os = "linux") {
        let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        set("DISPLAY") || set("WAYLAND_DISPLAY")
    } else {
        true
    }
}

/// The window icon: the 256 px PNG rendered from `assets/icons/framekit.svg`, built in.
fn app_icon() -> egui::IconData {
    const PNG: &[u8] = include_bytes!("../../assets/icons/framekit-256.png");
    match image::load_from_memory_with_format(PNG, image::ImageFormat::Png) {
        Ok(icon) => {
            let icon = icon.into_rgba8();
            egui::IconData {
                width: icon.width(),
                height: icon.height(),
                rgba: icon.into_raw(),
            }
        }
        Err(_) => egui::IconData::default(),
    }
}

/// Opens the app window, optionally on a file, with `cache_bytes` for decoded frames, video
/// decoded as `hwdec` says and frames converted for display by `display`. Returns the process
/// exit code.
pub fn run(
    file: Option<PathBuf>,
    compare: Option<PathBuf>,
    cache_bytes: usize,
    hwdec: crate::media::HwDecode,
    display: DisplayMode,
) -> i32 {
    if !display_available() {
        eprintln!(
            "framekit: no display available (DISPLAY and WAYLAND_DISPLAY are not set); \
             use the command line instead: framekit probe, framekit frames, framekit encode, framekit decode, framekit transcode (see framekit --help)"
        );
        return 2;
    }
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("framekit")
            .with_app_id("framekit")
            .with_inner_size([1180.0, 760.0])
            .with_min_inner_size([480.0, 320.0])
            .with_drag_and_drop(true)
            .with_icon(app_icon()),
        ..Default::default()
    };
    let result = eframe::run_native(
        "framekit",
        options,
        Box::new(move |cc| {
            let mut options =
                AppOptions::new(Box::new(crate::clipboard::SystemClipboard::default()));
            options.file = file;
            options.compare = compare;
            options.player.cache_budget_bytes = cache_bytes;
            options.player.open.hwdec = hwdec;
            options.display = display;
            Ok(Box::new(FramekitApp::new(cc, options)))
        }),
    );
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("framekit: cannot open the window: {e}");
            1
        }
    }
}
