//! The app's state that the panels draw, a leaf module: the media and the frame on screen
//! ([`Screen`]), how it is viewed ([`ViewState`], [`Zoom`]), the status line's messages
//! ([`StatusMessages`]) and where windows may go ([`below_menu`]). The app owns these values;
//! the panels (`viewer`, `timeline`, `compare_view`, `transcode_panel`) import them from here,
//! never from `app`.

use std::sync::Arc;

use egui::{Rect, TextureHandle};

use crate::frame::Frame;
use crate::media::MediaInfo;
use crate::media::color::SourceSamples;

/// The open media, as the UI knows it.
pub struct OpenMedia {
    pub info: MediaInfo,
    pub frame_times: Vec<Option<f64>>,
    pub keyframes: Vec<bool>,
    pub media_id: u64,
    /// How far the background index has read (0..1), while it runs.
    pub indexing: Option<f32>,
}

impl OpenMedia {
    /// Whether the count is only what has been read so far (no sample table, the
    /// background index still running).
    pub fn count_is_partial(&self) -> bool {
        self.info
            .video
            .as_ref()
            .is_some_and(|v| v.frame_index == "partial")
    }

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
    /// The CPU path's picture as a texture; `None` while the GPU display draws `planes`
    /// (uploaded when compare or the CPU display needs it).
    pub texture: Option<TextureHandle>,
    /// Kept to re-upload with other sampling when the zoom crosses 200%.
    pub image: Arc<egui::ColorImage>,
    /// The decoded planes for the GPU display (when it is on and takes this frame).
    pub planes: Option<Arc<crate::media::display_planes::DisplayPlanes>>,
    pub frame: Arc<Frame>,
    pub samples: Option<Arc<SourceSamples>>,
    /// The frame's full size (oriented); `frame` is smaller while playing when the view
    /// shows it smaller (the player converts at display size).
    pub full_size: (u32, u32),
}

impl ShownFrame {
    /// Converted at display size (playing): its RGB is not the full frame's.
    pub fn is_reduced(&self) -> bool {
        (self.frame.width, self.frame.height) != self.full_size
    }
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
    /// While playing: frames due so far and how many of them never reached the screen.
    pub playback_frames: Option<PlaybackCount>,
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

/// Frames due and dropped in the current playback (shown in the status line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlaybackCount {
    pub due: usize,
    pub dropped: usize,
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

/// How long a note ("opened …", "copied …") stays in the status line; errors stay until
/// dismissed.
pub const NOTE_SECONDS: f64 = 6.0;

/// The status line's messages.
#[derive(Default)]
pub struct StatusMessages {
    pub error: Option<String>,
    pub note: Option<String>,
    pub busy: Option<String>,
}

/// How the frame is scaled into the view.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zoom {
    Fit,
    /// Screen points per image pixel.
    Scale(f32),
}

/// The smallest scale (points per image pixel).
pub const MIN_SCALE: f32 = 0.02;

impl Zoom {
    /// Points per image pixel for a `width` x `height` frame in `view` (1.0 for Fit without one).
    pub fn scale_for(self, width: u32, height: u32, view: Option<Rect>) -> f32 {
        match (self, view) {
            (Zoom::Scale(s), _) => s,
            (Zoom::Fit, Some(view)) => (view.width() / width.max(1) as f32)
                .min(view.height() / height.max(1) as f32)
                .max(MIN_SCALE),
            (Zoom::Fit, None) => 1.0,
        }
    }
}

/// The screen below the menu bar: windows and panels never cover it.
pub fn below_menu(ctx: &egui::Context) -> egui::Rect {
    let mut area = ctx.content_rect();
    area.min.y += 28.0;
    area
}
