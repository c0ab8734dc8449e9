//! framekit: frame-exact video frames in true colour, base64 PNG round trips, and batch
//! transcoding to MP4.
//!
//! The core (`media`, `codec`, `transcode`, `jobs`) knows nothing about egui; the CLI
//! (`src/cli/`, in the binary) and the app ([`gui`]) are two thin faces on it.
//!
//! - [`media`]: a path to frames — probe, frame index, frame-exact video access, stills,
//!   colour conversion and rotation.
//! - [`frame`]: the decoded RGB(A) frame type.
//! - [`codec`]: PNG, base64, data URIs, `|` lists, tolerant paste parsing, `get_frames`.
//! - [`transcode`]: presets, the in-process MP4 encode pipeline, output verification.
//! - [`jobs`]: the SQLite job table (leases, fenced publish, retries) and the worker loop.
//! - [`gui`]: the eframe app; its decoder thread is the only place the app touches media.
//! - [`output`]: writing files so no partial file is ever visible at a final path.

pub mod batch;
pub mod codec;
pub mod frame;
#[cfg(feature = "gui")]
pub mod gui;
pub mod jobs;
pub mod media;
pub mod output;
pub mod player;
pub mod transcode;

pub use codec::{get_frames, get_frames_or_empty};
pub use frame::{Frame, PixelLayout};
pub use media::{MediaError, MediaInfo, MediaSource, OpenOptions};
