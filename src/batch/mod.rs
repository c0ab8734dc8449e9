//! Batches, two halves that share nothing but the word:
//!
//! - [`frames`]: frames for many requests (JSONL, Spark); [`grouped`]: a batch held at once,
//!   one reader per file.
//! - [`inputs`] and [`run`]: the transcode batch. `inputs` holds the rules both faces (CLI and
//!   app) take: which files are videos, walking folders, naming outputs, enqueueing; `run` is
//!   [`TranscodeRun`], the handle that enqueues files and runs the jobs on a background thread
//!   with typed events (the same loop as a fleet worker, [`crate::jobs::worker`]).

pub mod frames;
pub mod grouped;
pub mod inputs;
pub mod run;

pub use crate::jobs::worker::{
    CancelRequests, DEFAULT_JOBS, JobEvent, MAX_JOBS, PathMap, RunOptions, RunUntil, run_jobs,
};
pub use inputs::{
    BatchError, EnqueuedFile, InputFile, OWN_OUTPUT_SUFFIX, VIDEO_EXTENSIONS, collect_inputs,
    enqueue_files, is_video_path, output_for,
};
pub use run::{Refusals, RunError, RunEvent, RunPlan, TranscodeRun};
