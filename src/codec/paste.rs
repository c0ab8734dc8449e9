//! Tolerant, honest reading of base64 images from pasted text (`parseB64`, grown up).
//!
//! Accepts: a `data:image/...;base64,` prefix, surrounding quotes, whitespace and line breaks
//! anywhere, the URL-safe alphabet, missing padding, and `|`-separated lists. Decodes any
//! format the `image` crate reads. Errors say where and what. Hostile input is bounded: the
//! decoded size is checked before decoding, and the pixel count is read from the image header
//! before any pixel memory is allocated.

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use image::ImageFormat;

use crate::media::{MediaErrorKind, StillImage};

pub use crate::media::DecodeLimits;

/// One decoded image from the text.
#[derive(Debug, Clone)]
pub struct DecodedImage {
    pub format: ImageFormat,
    /// The decoded bytes, exactly as they were encoded (the original file).
    pub bytes: Arc<[u8]>,
    /// Its frames (an animation is composed again frame by frame when asked);
    /// `image.first_frame()` borrows a still image's pixels.
    pub image: StillImage,
}

/// What was wrong with pasted text. `part` is 1-based and only shown for `|` lists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasteError {
    #[error("nothing to decode: the text is empty")]
    Empty,
    #[error("{}not base64: character '{character}' at position {position}", part_prefix(*.part))]
    NotBase64 {
        part: Option<usize>,
        character: String,
        position: usize,
    },
    #[error("{}not base64: {chars} characters cannot be a whole base64 text (one character too many, or cut short)", part_prefix(*.part))]
    BadLength { part: Option<usize>, chars: usize },
    #[error("{}the data URI is not base64 (no ';base64,' before the data)", part_prefix(*.part))]
    DataUriNotBase64 { part: Option<usize> },
    /// The base64 text decodes to more bytes than the decode limit (found before decoding).
    #[error("{}{error}", part_prefix(*.part))]
    TooLarge {
        part: Option<usize>,
        #[source]
        error: crate::media::LimitError,
    },
    #[error("{}decoded {} bytes, but they are not an image (starts with {head}: {guess})", part_prefix(*.part), thousands(*.bytes))]
    NotImage {
        part: Option<usize>,
        bytes: usize,
        head: String,
        guess: String,
    },
    #[error("{}{error}", part_prefix(*.part))]
    OverLimit {
        part: Option<usize>,
        #[source]
        error: crate::media::LimitError,
    },
    #[error("{}decoded {} bytes of {format}, but the image is damaged: {reason}", part_prefix(*.part), thousands(*.bytes))]
    BadImage {
        part: Option<usize>,
        bytes: usize,
        format: String,
        reason: String,
    },
}

fn part_prefix(part: Option<usize>) -> String {
    part.map_or(String::new(), |p| format!("image {p}: "))
}

pub use crate::text::thousands;

/// Lenient decoder: padding optional, trailing bits ignored.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes text holding one base64 image or several joined by `|`.
pub fn decode_base64_images(
    text: &str,
    limits: &DecodeLimits,
) -> Result<Vec<DecodedImage>, PasteError> {
    let parts = split_parts(text);
    if parts.is_empty() {
        return Err(PasteError::Empty);
    }
    let numbered = parts.len() > 1;
    parts
        .iter()
        .enumerate()
        .map(|(i, (offset, part))| decode_part(part, *offset, numbered.then_some(i + 1), limits))
        .collect()
}

/// Reads `|`-separated parts from a stream one at a time, so a long list (or a huge paste on
/// standard input) never sits in memory whole. Each part is refused once it grows past what
/// `limits` could decode. Yields `(character offset, part text, numbered)`, where `numbered`
/// says whether the text holds more than one part.
pub struct PartReader<R> {
    input: std::io::Bytes<std::io::BufReader<R>>,
    /// The first bytes of the next part, read while looking past a `|`.
    carried: Vec<u8>,
    offset: usize,
    max_part_bytes: usize,
    limits: DecodeLimits,
    parts_seen: usize,
    done: bool,
}

impl<R: std::io::Read> PartReader<R> {
    pub fn new(input: R, limits: &DecodeLimits) -> PartReader<R> {
        use std::io::Read as _;
        // Base64 is 4/3 of the data; allow 10% for line breaks, quotes and a data-URI prefix.
        let max_part_bytes = limits
            .max_decoded_bytes
            .saturating_div(3)
            .saturating_mul(4)
            .saturating_div(10)
            .saturating_mul(11)
            .saturating_add(4096);
        PartReader {
            input: std::io::BufReader::with_capacity(1 << 16, input).bytes(),
            carried: Vec::new(),
            offset: 0,
            max_part_bytes,
            limits: *limits,
            parts_seen: 0,
            done: false,
        }
    }
}

/// Why the stream of parts could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PartReadError {
    #[error("cannot read the text: {0}")]
    Io(#[from] std::io::Error),
    /// A part longer than the base64 of an image within the decode limit could be.
    #[error("{0}")]
    TooLong(#[source] crate::media::LimitError),
    #[error("part {part} is not text (UTF-8)")]
    NotText { part: usize },
}

impl<R: std::io::Read> Iterator for PartReader<R> {
    type Item = Result<(usize, String, bool), PartReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done && self.carried.is_empty() {
                return None;
            }
            let mut part = std::mem::take(&mut self.carried);
            let mut ended_by_bar = false;
            while !self.done {
                match self.input.next() {
                    None => self.done = true,
                    Some(Err(e)) => return Some(Err(e.into())),
                    Some(Ok(b'|')) => {
                        ended_by_bar = true;
                        break;
                    }
                    Some(Ok(byte)) => {
                        part.push(byte);
                        if part.len() > self.max_part_bytes {
                            self.done = true;
                            self.carried.clear();
                            let what = format!(
                                "part {} is longer than {} characters of base64",
                                self.parts_seen + 1,
                                thousands(self.max_part_bytes)
                            );
                            // At least what those characters decode to.
                            let bytes = part.len() as u64 / 4 * 3;
                            return Some(Err(PartReadError::TooLong(
                                self.limits.bytes_error_as(bytes, what),
                            )));
                        }
                    }
                }
            }
            // Look past the bar: only whitespace (or nothing) after it means no next part.
            let mut more_follow = false;
            if ended_by_bar {
                while !self.done {
                    match self.input.next() {
                        None => self.done = true,
                        Some(Err(e)) => return Some(Err(e.into())),
                        Some(Ok(byte)) => {
                            self.carried.push(byte);
                            if !byte.is_ascii_whitespace() {
                                more_follow = true;
                                break;
                            }
                        }
                    }
                }
            }
            let Ok(text) = String::from_utf8(part) else {
                self.done = true;
                self.carried.clear();
                return Some(Err(PartReadError::NotText {
                    part: self.parts_seen + 1,
                }));
            };
            let offset = self.offset;
            self.offset += text.chars().count() + 1;
            if text.trim().is_empty() {
                continue;
            }
            self.parts_seen += 1;
            let numbered = self.parts_seen > 1 || more_follow;
            return Some(Ok((offset, text, numbered)));
        }
    }
}

/// Splits on `|` and drops empty pieces (a trailing newline or `|`). Returns each piece with
/// its character offset in the whole text.
fn split_parts(text: &str) -> Vec<(usize, &str)> {
    let mut parts = Vec::new();
    let mut offset = 0;
    for piece in text.split('|') {
        if !piece.trim().is_empty() {
            parts.push((offset, piece));
        }
        offset += piece.chars().count() + 1;
    }
    parts
}

/// Decodes one part of a `|` list: `offset` is its character offset in the whole text (for
/// error positions) and `number` its 1-based number when the text holds several.
pub fn decode_part(
    part: &str,
    offset: usize,
    number: Option<usize>,
    limits: &DecodeLimits,
) -> Result<DecodedImage, PasteError> {
    let payload_start = payload_start(part, number)?;
    let mut cleaned = String::with_capacity(part.len());
    let mut padding_seen = false;
    for (char_index, (byte_index, c)) in part.char_indices().enumerate() {
        if byte_index < payload_start || c.is_whitespace() {
            continue;
        }
        let trailing_quote = matches!(c, '"' | '\'' | '`')
            && part[byte_index + c.len_utf8()..]
                .trim_matches(|q: char| {
                    q.is_whitespace() || matches!(q, '"' | '\'' | '`' | ',' | ';')
                })
                .is_empty();
        if trailing_quote {
            break;
        }
        let mapped = match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '+' | '/' if !padding_seen => c,
            '-' if !padding_seen => '+',
            '_' if !padding_seen => '/',
            '=' => {
                padding_seen = true;
                continue;
            }
            _ => {
                return Err(PasteError::NotBase64 {
                    part: number,
                    character: c.escape_default().to_string(),
                    position: offset + char_index + 1,
                });
            }
        };
        cleaned.push(mapped);
    }
    if cleaned.is_empty() {
        return Err(PasteError::Empty);
    }
    if cleaned.len() % 4 == 1 {
        return Err(PasteError::BadLength {
            part: number,
            chars: cleaned.len(),
        });
    }
    let decoded_len = cleaned.len() / 4 * 3 + (cleaned.len() % 4).saturating_sub(1);
    if decoded_len > limits.max_decoded_bytes {
        return Err(PasteError::TooLarge {
            part: number,
            error: limits.bytes_error_as(
                decoded_len as u64,
                format!("decodes to {} bytes", thousands(decoded_len)),
            ),
        });
    }
    let bytes = LENIENT
        .decode(cleaned.as_bytes())
        .map_err(|_| PasteError::BadLength {
            part: number,
            chars: cleaned.len(),
        })?;
    decode_image_bytes(bytes, number, limits)
}

/// Where the base64 payload starts: after leading quotes/whitespace and any data-URI prefix.
fn payload_start(part: &str, number: Option<usize>) -> Result<usize, PasteError> {
    let trimmed_start = part.len()
        - part
            .trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`'))
            .len();
    let rest = &part[trimmed_start..];
    if rest
        .get(..5)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("data:"))
    {
        let Some(comma) = rest.find(',') else {
            return Err(PasteError::DataUriNotBase64 { part: number });
        };
        if !rest[..comma].to_ascii_lowercase().ends_with(";base64") {
            return Err(PasteError::DataUriNotBase64 { part: number });
        }
        return Ok(trimmed_start + comma + 1);
    }
    Ok(trimmed_start)
}

/// Turns decoded bytes into an image, checking the header's size before decoding pixels.
pub fn decode_image_bytes(
    bytes: Vec<u8>,
    number: Option<usize>,
    limits: &DecodeLimits,
) -> Result<DecodedImage, PasteError> {
    let Ok(format) = image::guess_format(&bytes) else {
        return Err(PasteError::NotImage {
            part: number,
            bytes: bytes.len(),
            head: hex_head(&bytes),
            guess: describe_non_image(&bytes).to_string(),
        });
    };
    let byte_count = bytes.len();
    let damaged = |reason: String| PasteError::BadImage {
        part: number,
        bytes: byte_count,
        format: format_name(format),
        reason,
    };
    let label = number.map_or("pasted image".to_string(), |n| format!("pasted image {n}"));
    let bytes: Arc<[u8]> = Arc::from(bytes);
    let image = StillImage::decode(Path::new(&label), bytes.clone(), format, limits).map_err(
        |e| match e.kind {
            MediaErrorKind::OverLimit(error) => PasteError::OverLimit {
                part: number,
                error,
            },
            other => damaged(other.to_string()),
        },
    )?;
    Ok(DecodedImage {
        format,
        bytes,
        image,
    })
}

/// Upper-case name of an image format ("PNG", "JPEG").
pub fn format_name(format: ImageFormat) -> String {
    format!("{format:?}").to_uppercase()
}

fn hex_head(bytes: &[u8]) -> String {
    let mut hex: Vec<String> = bytes.iter().take(3).map(|b| format!("{b:02X}")).collect();
    if bytes.len() > 3 {
        hex.push("...".to_string());
    }
    if hex.is_empty() {
        "nothing".to_string()
    } else {
        hex.join(" ")
    }
}

fn describe_non_image(bytes: &[u8]) -> &'static str {
    let text_start = bytes
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .copied()
        .next();
    let printable = bytes
        .iter()
        .take(512)
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace());
    match (text_start, bytes) {
        (_, [0x1F, 0x8B, ..]) => "looks like gzip data",
        (_, [b'P', b'K', 3, 4, ..]) => "looks like a ZIP archive",
        (_, [b'%', b'P', b'D', b'F', ..]) => "looks like a PDF",
        (_, [_, _, _, _, b'f', b't', b'y', b'p', ..]) => {
            "looks like an MP4/MOV video, not an image"
        }
        (_, [0x1A, 0x45, 0xDF, 0xA3, ..]) => "looks like a Matroska/WebM video, not an image",
        (Some(b'{' | b'['), _) if printable => "looks like JSON",
        (Some(b'<'), _) if printable => "looks like XML, HTML or SVG (SVG is not supported)",
        _ if printable => "looks like plain text; was it base64-encoded twice?",
        _ => "unknown binary data",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_named() {
        let err =
            decode_image_bytes(b"{\"a\": 1}".to_vec(), None, &DecodeLimits::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "decoded 8 bytes, but they are not an image (starts with 7B 22 61 ...: looks like JSON)"
        );
    }

    #[test]
    fn bad_character_position_is_reported() {
        let err = decode_base64_images("iVBO#w0K", &DecodeLimits::default()).unwrap_err();
        assert_eq!(
            err,
            PasteError::NotBase64 {
                part: None,
                character: "#".into(),
                position: 5
            }
        );
    }
}
