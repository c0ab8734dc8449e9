//! framekit: frame-exact video frames in true colour, base64 PNG round trips, and batch
//! transcoding to MP4.
//!
//! The core knows nothing about a GUI toolkit; the CLI (`src/cli/`, in the binary) and the app (`gui`,
//! behind the `gui` feature) are two thin faces on it.
//!
//! - [`media`]: a path or URL to frames — probe, frame index, frame-exact video access,
//!   stills and lazily indexed animations, decode limits, colour, rotation, raw samples.
//! - [`frame`]: the decoded RGB(A) frame type.
//! - [`codec`]: PNG, base64, data URIs, `|` lists, tolerant paste parsing, `get_frames`.
//! - [`player`]: the playback engine without a UI — decoder thread, frame cache, prefetch,
//!   filmstrip, copy/paste work — generic over the image it hands out.
//! - [`batch`]: frames for many requests (JSONL, Spark) and the transcode batch rules.
//! - [`transcode`]: presets, the in-process MP4 encode pipeline, output verification.
//! - [`jobs`]: the SQLite job table (leases, fenced writes, retries) and the worker loop.
//! - `clipboard`: the system clipboard behind a trait, on its own thread (feature `gui`).
//! - `gui`: the eframe app; the UI thread only draws.
//! - [`output`]: writing files so no partial file is ever visible at a final path.
//! - [`read_bound`]: stops FFmpeg reading on through unparseable data (sparse files).
//! - [`text`]: numbers as people read them (`2,048`, `1.8 MB`); the ground floor.

pub mod batch;
#[cfg(feature = "gui")]
pub mod clipboard;
pub mod codec;
pub mod compare;
pub mod frame;
#[cfg(feature = "gui")]
pub mod gui;
pub mod jobs;
pub mod media;
pub mod output;
pub mod player;
pub mod read_bound;
pub mod storage;
pub mod text;
pub mod transcode;

pub use codec::{get_frames, get_frames_or_empty};
pub use frame::{Frame, PixelLayout};
pub use media::{MediaError, MediaInfo, MediaSource, OpenOptions};
