//! Frames in and out as text: lossless PNG encoding, base64 and data URIs, `|`-joined lists,
//! the tolerant base64 reader for pasted text, and `get_frames` with the reference helper's
//! exact rules.

pub mod frames;
pub mod paste;
pub mod png;

pub use frames::{
    FrameSelection, GetFramesError, IdListError, frames_text_from_source, get_frames,
    get_frames_or_empty, parse_frame_ids, write_frames_text,
};
pub use paste::{DecodeLimits, DecodedImage, PasteError, decode_base64_images};
pub use png::{PngSpeed, encode_png, encode_png_with};

use base64::Engine as _;

/// The `data:` prefix of a PNG data URI.
pub const PNG_DATA_URI_PREFIX: &str = "data:image/png;base64,";

/// Standard base64 (with padding) of `bytes`.
pub fn to_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// How a PNG is written out as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextForm {
    /// Plain base64.
    #[default]
    Base64,
    /// `data:image/png;base64,...`
    DataUri,
}

/// PNG bytes as text in the chosen form.
pub fn png_to_text(png: &[u8], form: TextForm) -> String {
    match form {
        TextForm::Base64 => to_base64(png),
        TextForm::DataUri => format!("{PNG_DATA_URI_PREFIX}{}", to_base64(png)),
    }
}
