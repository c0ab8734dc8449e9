//! Transcoding to MP4 in process through FFmpeg (demux, decode, scale/convert, encode, mux):
//! presets, output sizing, the encode pipeline (`pipeline`) and the check of a finished output
//! against its input (`verify`).

pub mod join;
mod lanes;
pub mod pipeline;
pub mod segments;
pub mod verify;

use std::fmt;
use std::str::FromStr;

pub use pipeline::{Progress, Scope, TranscodeReport, transcode, transcode_scope};
pub use verify::{SourceFacts, verify_against, verify_output};

/// Why a transcode failed.
#[derive(Debug, thiserror::Error)]
pub enum TranscodeError {
    #[error("{path}: cannot open as media: {reason}")]
    Open { path: String, reason: String },
    #[error("{path}: no video stream to transcode")]
    NoVideo { path: String },
    #[error("{path}: is {kind}; framekit transcodes media files, not playlists")]
    Playlist { path: String, kind: &'static str },
    #[error("{stage}: {reason}")]
    Ffmpeg { stage: &'static str, reason: String },
    #[error("cancelled")]
    Cancelled,
    /// Seeking to a segment's start landed past it (the pipeline then starts from further
    /// back; only seen when even decoding from the beginning found no frame at the start).
    #[error("the segment's first frame could not be reached by seeking")]
    SeekOvershot,
    /// The check could not run (a file did not open): it may pass on another attempt.
    #[error("output check failed: {0}")]
    Verify(String),
    /// The output does not match the input (duration, streams, frame count): encoding the
    /// same input again gives the same output, so retrying cannot help.
    #[error("output check failed: {0}")]
    Mismatch(String),
    #[error("unknown preset \"{0}\" (choose default, small, hq or reference)")]
    UnknownPreset(String),
    #[error(
        "{path}: the output would be {width}x{height}, and libx264 encodes at most {max} pixels a side (choose a preset that scales down: small or reference)"
    )]
    OutputTooLarge {
        path: String,
        width: u32,
        height: u32,
        max: u32,
    },
}

impl TranscodeError {
    /// Whether retrying cannot help: the input has no video or is a playlist, the preset
    /// does not exist, or the output came out unlike the input (the same encode would again).
    /// Everything else (an unreadable or damaged input, an encoder error, a check that could
    /// not run) is retried.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            TranscodeError::NoVideo { .. }
                | TranscodeError::Playlist { .. }
                | TranscodeError::UnknownPreset(_)
                | TranscodeError::Mismatch(_)
                | TranscodeError::OutputTooLarge { .. }
        )
    }

    pub(crate) fn ffmpeg(stage: &'static str) -> impl FnOnce(ffmpeg_next::Error) -> TranscodeError {
        move |e| TranscodeError::Ffmpeg {
            stage,
            reason: e.to_string(),
        }
    }
}

/// How big the output may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sizing {
    /// The source size (rounded down to even).
    Source,
    /// Fit inside the box, never scaling up.
    ShrinkToFit { width: u32, height: u32 },
    /// Fit inside the box, scaling up or down.
    Fit { width: u32, height: u32 },
}

/// Rate control for libx264.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateControl {
    Crf(u8),
    /// Average bit rate in bits per second.
    Bitrate(u64),
}

/// An output preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    pub name: &'static str,
    pub sizing: Sizing,
    pub rate: RateControl,
    /// x264's speed preset.
    pub x264_preset: &'static str,
    pub audio_bitrate: u64,
    /// A fixed output frame rate (numerator, denominator); `None` keeps the source timing.
    pub fps: Option<(i32, i32)>,
}

impl Preset {
    pub const DEFAULT: Preset = Preset {
        name: "default",
        sizing: Sizing::Source,
        rate: RateControl::Crf(23),
        x264_preset: "medium",
        audio_bitrate: 128_000,
        fps: None,
    };
    pub const SMALL: Preset = Preset {
        name: "small",
        sizing: Sizing::ShrinkToFit {
            width: 1280,
            height: 720,
        },
        rate: RateControl::Crf(28),
        x264_preset: "medium",
        audio_bitrate: 96_000,
        fps: None,
    };
    pub const HQ: Preset = Preset {
        name: "hq",
        sizing: Sizing::Source,
        rate: RateControl::Crf(18),
        x264_preset: "slow",
        audio_bitrate: 192_000,
        fps: None,
    };
    /// The settings from the design source: 1280x720, yuv420p, 753 kbit/s video, 63 kbit/s
    /// audio, 18 fps.
    pub const REFERENCE: Preset = Preset {
        name: "reference",
        sizing: Sizing::Fit {
            width: 1280,
            height: 720,
        },
        rate: RateControl::Bitrate(753_000),
        x264_preset: "medium",
        audio_bitrate: 63_000,
        fps: Some((18, 1)),
    };
    pub const ALL: [Preset; 4] = [
        Preset::DEFAULT,
        Preset::SMALL,
        Preset::HQ,
        Preset::REFERENCE,
    ];

    /// Output size for a source of `width` x `height` with sample aspect `sar` (num, den):
    /// square pixels, aspect kept, even dimensions.
    pub fn output_size(&self, width: u32, height: u32, sar: (i32, i32)) -> (u32, u32) {
        let sar = if sar.0 > 0 && sar.1 > 0 {
            f64::from(sar.0) / f64::from(sar.1)
        } else {
            1.0
        };
        let display_w = f64::from(width) * sar;
        let display_h = f64::from(height);
        let scale = match self.sizing {
            Sizing::Source => 1.0,
            Sizing::ShrinkToFit {
                width: bw,
                height: bh,
            } => (f64::from(bw) / display_w)
                .min(f64::from(bh) / display_h)
                .min(1.0),
            Sizing::Fit {
                width: bw,
                height: bh,
            } => (f64::from(bw) / display_w).min(f64::from(bh) / display_h),
        };
        let even = |v: f64| ((v / 2.0).floor() as u32 * 2).max(2);
        (
            even(display_w * scale + 1e-6),
            even(display_h * scale + 1e-6),
        )
    }
}

impl FromStr for Preset {
    type Err = TranscodeError;

    fn from_str(name: &str) -> Result<Preset, TranscodeError> {
        Preset::ALL
            .into_iter()
            .find(|p| p.name == name)
            .ok_or_else(|| TranscodeError::UnknownPreset(name.to_string()))
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_keep_aspect_and_are_even() {
        assert_eq!(Preset::DEFAULT.output_size(641, 359, (1, 1)), (640, 358));
        assert_eq!(Preset::SMALL.output_size(1920, 1080, (1, 1)), (1280, 720));
        assert_eq!(
            Preset::SMALL.output_size(640, 480, (1, 1)),
            (640, 480),
            "never scales up"
        );
        assert_eq!(Preset::REFERENCE.output_size(640, 480, (1, 1)), (960, 720));
        assert_eq!(
            Preset::REFERENCE.output_size(1920, 1080, (1, 1)),
            (1280, 720)
        );
        assert_eq!(
            Preset::DEFAULT.output_size(720, 576, (16, 15)),
            (768, 576),
            "anamorphic to square pixels"
        );
        assert_eq!(
            Preset::REFERENCE.output_size(1080, 1920, (1, 1)),
            (404, 720),
            "portrait fits the box"
        );
    }

    #[test]
    fn presets_parse_by_name() {
        assert_eq!("reference".parse::<Preset>().ok(), Some(Preset::REFERENCE));
        assert!("fast".parse::<Preset>().is_err());
    }
}
