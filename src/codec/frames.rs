//! `get_frames`: the reference helper's rules (`shared/reference/get_frames.py`).
//!
//! - ids are a comma list of integers, 1-based; spaces around each id are fine;
//! - frames come out in ascending order, each once, whatever the order of the ids;
//! - ids that name no frame (0, negative, past the end) are skipped;
//! - when no id named a frame, the first frame is returned;
//! - stills are one-frame videos; output is lossless PNG, base64, joined by `|`.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use crate::media::{DecodeLimits, LimitError, MediaError, MediaSource, OpenOptions};

use super::{TextForm, png_to_text};

/// Why an id list was refused (the same lists the reference refuses).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdListError {
    #[error("empty frame id list")]
    Empty,
    #[error("frame id {position} is empty in \"{list}\" (write ids like 1,30)")]
    EmptyItem { position: usize, list: String },
    #[error("frame id {position} (\"{item}\") is not an integer")]
    NotInteger { position: usize, item: String },
}

/// Parses `"1, 30"` into `[1, 30]`. Accepts what Python's `int()` accepts for plain integers:
/// optional surrounding whitespace, an optional sign, ASCII digits (underscores between digits
/// too). Values beyond the 64-bit range saturate (they name no frame either way).
pub fn parse_frame_ids(list: &str) -> Result<Vec<i64>, IdListError> {
    if list.trim().is_empty() {
        return Err(IdListError::Empty);
    }
    list.split(',')
        .enumerate()
        .map(|(i, raw)| {
            let item = raw.trim();
            if item.is_empty() {
                return Err(IdListError::EmptyItem {
                    position: i + 1,
                    list: list.to_string(),
                });
            }
            parse_python_int(item).ok_or_else(|| IdListError::NotInteger {
                position: i + 1,
                item: item.to_string(),
            })
        })
        .collect()
}

fn parse_python_int(item: &str) -> Option<i64> {
    let (negative, digits) = match item.as_bytes().first()? {
        b'-' => (true, &item[1..]),
        b'+' => (false, &item[1..]),
        _ => (false, item),
    };
    let bytes = digits.as_bytes();
    let valid = !bytes.is_empty()
        && bytes.first().is_some_and(u8::is_ascii_digit)
        && bytes.last().is_some_and(u8::is_ascii_digit)
        && bytes.iter().all(|b| b.is_ascii_digit() || *b == b'_')
        && !digits.contains("__");
    if !valid {
        return None;
    }
    let mut value: i64 = 0;
    for b in bytes.iter().filter(|b| b.is_ascii_digit()) {
        value = value.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    Some(if negative { -value } else { value })
}

/// Errors of `get_frames`.
#[derive(Debug, thiserror::Error)]
pub enum GetFramesError {
    #[error(transparent)]
    Ids(#[from] IdListError),
    #[error(transparent)]
    Media(#[from] MediaError),
    #[error("cannot encode frame {id} as PNG: {reason}")]
    Png { id: usize, reason: String },
    #[error("cannot write the frames: {0}")]
    Io(#[source] std::io::Error),
    #[error("{0}")]
    AnswerTooLarge(#[source] LimitError),
}

/// Which frames an id list names, by the reference rules, decided before any decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameSelection {
    /// 1-based ids to output, ascending, each once.
    pub ids: Vec<usize>,
    /// Requested ids that named no frame (0, negative or past the end), ascending, once each.
    pub skipped: Vec<i64>,
    /// No requested id named a frame, so frame 1 is returned.
    pub fell_back_to_first: bool,
    pub frame_count: usize,
}

impl FrameSelection {
    /// Applies the rules to `requested` ids for a source of `frame_count` frames.
    pub fn new(requested: &[i64], frame_count: usize) -> FrameSelection {
        let mut wanted = BTreeSet::new();
        let mut skipped = BTreeSet::new();
        for &id in requested {
            if id >= 1 && (id as u64) <= frame_count as u64 {
                wanted.insert(id as usize);
            } else {
                skipped.insert(id);
            }
        }
        let fell_back_to_first = wanted.is_empty();
        if fell_back_to_first {
            wanted.insert(1);
        }
        FrameSelection {
            ids: wanted.into_iter().collect(),
            skipped: skipped.into_iter().collect(),
            fell_back_to_first,
            frame_count,
        }
    }

    /// Applies the rules for an open source, learning its frame count only as far as the
    /// largest requested id (a long file's index is not read to its end).
    pub fn for_source(
        requested: &[i64],
        source: &mut MediaSource,
    ) -> Result<FrameSelection, MediaError> {
        let largest = requested
            .iter()
            .filter(|&&id| id >= 1)
            .max()
            .map_or(1, |&id| usize::try_from(id).unwrap_or(usize::MAX));
        let known = source.count_up_to(largest.max(1))?;
        Ok(FrameSelection::new(requested, known))
    }

    /// One line for stderr when ids were skipped, naming what happened.
    pub fn warning(&self, path: &Path) -> Option<String> {
        if self.skipped.is_empty() {
            return None;
        }
        let ids: Vec<String> = self.skipped.iter().map(i64::to_string).collect();
        let noun = if self.skipped.len() == 1 { "id" } else { "ids" };
        let tail = if self.fell_back_to_first {
            "; returning frame 1 instead"
        } else {
            ""
        };
        Some(format!(
            "warning: {}: frame {noun} {} name no frame (valid: 1..={}); skipped{tail}",
            path.display(),
            ids.join(", "),
            self.frame_count
        ))
    }
}

/// Writes the frames `selection` names as text (base64 PNG or data URI) joined by `|`,
/// decoding, encoding and writing one frame at a time: memory holds one frame whatever the
/// id list. The one get_frames writer behind `framekit frames`, the library's
/// [`get_frames`] and the app's "Copy list". Returns the ids written.
pub fn write_frames_text(
    source: &mut MediaSource,
    selection: &FrameSelection,
    form: TextForm,
    max_bytes: usize,
    out: &mut impl Write,
) -> Result<Vec<usize>, GetFramesError> {
    // Ids ascend: decoding stops at the last one's packet, and frames between the wanted
    // ones that nothing references are not decoded.
    if let Some(&last) = selection.ids.last() {
        source.expect_last_frame(last - 1);
    }
    let wanted: Vec<usize> = selection.ids.iter().map(|id| id - 1).collect();
    source.expect_frames(&wanted);
    let result = write_each(source, selection, form, max_bytes, out);
    // The hint is this list's only: a player's reader goes on reading frame after frame.
    source.expect_frames(&[]);
    result
}

fn write_each(
    source: &mut MediaSource,
    selection: &FrameSelection,
    form: TextForm,
    max_bytes: usize,
    out: &mut impl Write,
) -> Result<Vec<usize>, GetFramesError> {
    let mut written = 0usize;
    for (n, &id) in selection.ids.iter().enumerate() {
        let frame = source.frame(id - 1)?;
        let png = super::encode_png(&frame).map_err(|e| GetFramesError::Png {
            id,
            reason: e.to_string(),
        })?;
        drop(frame);
        let text = png_to_text(&png, form);
        written = written.saturating_add(text.len() + usize::from(n > 0));
        if written > max_bytes {
            let limits = DecodeLimits {
                max_answer_bytes: max_bytes,
                ..DecodeLimits::default()
            };
            return Err(GetFramesError::AnswerTooLarge(
                limits.answer_error(n + 1, written),
            ));
        }
        if n > 0 {
            out.write_all(b"|").map_err(GetFramesError::Io)?;
        }
        out.write_all(text.as_bytes()).map_err(GetFramesError::Io)?;
    }
    Ok(selection.ids.clone())
}

/// The frames an id list names in an open source, by the reference rules, as `|`-joined
/// text, with the selection that says what was skipped.
pub fn frames_text_from_source(
    source: &mut MediaSource,
    requested: &[i64],
    form: TextForm,
    max_bytes: usize,
) -> Result<(String, FrameSelection), GetFramesError> {
    let selection = FrameSelection::for_source(requested, source)?;
    let mut text = Vec::new();
    write_frames_text(source, &selection, form, max_bytes, &mut text)?;
    // Base64 and data URIs are ASCII.
    let text = String::from_utf8(text).unwrap_or_default();
    Ok((text, selection))
}

/// `getFrames(url, frame_ids)`: base64 PNGs joined by `|`.
pub fn get_frames(path: &Path, ids: &str) -> Result<String, GetFramesError> {
    let requested = parse_frame_ids(ids)?;
    let mut source = MediaSource::open_lazy(path, &OpenOptions::default())?;
    let max_bytes = DecodeLimits::default().max_answer_bytes;
    frames_text_from_source(&mut source, &requested, TextForm::Base64, max_bytes)
        .map(|(text, _)| text)
}

/// The original contract: `""` on any failure.
pub fn get_frames_or_empty(path: &Path, ids: &str) -> String {
    get_frames(path, ids).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_like_python_int() {
        assert_eq!(parse_frame_ids(" 3 , 7 "), Ok(vec![3, 7]));
        assert_eq!(parse_frame_ids("12,3,5,5"), Ok(vec![12, 3, 5, 5]));
        assert_eq!(parse_frame_ids("0,-3,+4"), Ok(vec![0, -3, 4]));
        assert_eq!(parse_frame_ids("1_000"), Ok(vec![1000]));
        assert_eq!(
            parse_frame_ids("99999999999999999999999"),
            Ok(vec![i64::MAX])
        );
    }

    #[test]
    fn selection_follows_the_reference_rules() {
        let s = FrameSelection::new(&[12, 3, 5, 5, 30, 0, -3], 20);
        assert_eq!(s.ids, vec![3, 5, 12]);
        assert_eq!(s.skipped, vec![-3, 0, 30]);
        assert!(!s.fell_back_to_first);
        let none = FrameSelection::new(&[0, 21], 20);
        assert_eq!((none.ids, none.fell_back_to_first), (vec![1], true));
        assert!(
            FrameSelection::new(&[2], 20)
                .warning(Path::new("clip.mp4"))
                .is_none()
        );
    }

    #[test]
    fn ids_the_reference_rejects_are_rejected() {
        assert_eq!(parse_frame_ids(""), Err(IdListError::Empty));
        assert_eq!(parse_frame_ids("  "), Err(IdListError::Empty));
        assert!(matches!(
            parse_frame_ids("a,2"),
            Err(IdListError::NotInteger { position: 1, .. })
        ));
        assert!(matches!(
            parse_frame_ids("1,,2"),
            Err(IdListError::EmptyItem { position: 2, .. })
        ));
        assert!(matches!(
            parse_frame_ids("3,"),
            Err(IdListError::EmptyItem { position: 2, .. })
        ));
        assert!(parse_frame_ids("1.5").is_err());
        assert!(parse_frame_ids("1__0").is_err());
        assert!(parse_frame_ids("_1").is_err());
        assert!(parse_frame_ids("- 1").is_err());
    }
}
