//! The desktop app (eframe/egui). The UI thread only draws and routes messages; the decoder
//! thread (`decoder_thread`) does every decode, encode and file read.
//!
//! - `app`: state, `logic()` (drain replies, keys), `ui()` (draw), commands.
//! - `viewer`: the frame view (fit / 1:1 / wheel zoom / pan) and the pixel inspector.
//! - `timeline`: slider, filmstrip, go-to box, status line.
//! - `clipboard`: arboard behind a trait.

pub mod app;
pub mod clipboard;
pub mod decoder_thread;
pub mod timeline;
pub mod transcode_panel;
pub mod viewer;

use std::path::PathBuf;

pub use app::FramekitApp;

/// Whether a window can be opened here.
pub fn display_available() -> bool {
    if cfg!(target_os = "linux") {
        let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        set("DISPLAY") || set("WAYLAND_DISPLAY")
    } else {
        true
    }
}

/// Opens the app window, optionally on a file, with `cache_bytes` for decoded frames.
/// Returns the process exit code.
pub fn run(file: Option<PathBuf>, cache_bytes: usize) -> i32 {
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
            .with_drag_and_drop(true),
        ..Default::default()
    };
    let result = eframe::run_native(
        "framekit",
        options,
        Box::new(move |cc| {
            let options = decoder_thread::DecoderOptions {
                cache_budget_bytes: cache_bytes,
                ..Default::default()
            };
            let clipboard = Box::new(clipboard::SystemClipboard::default());
            Ok(Box::new(FramekitApp::new(cc, file, clipboard, options)))
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
