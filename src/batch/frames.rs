//! Frames for many requests: the get_frames rules over a stream of requests, decoded on N
//! threads, answered in input order, one result per request, errors as rows. The one engine
//! behind `framekit frames --jsonl`, its Spark helpers, and the library's [`frames_batch`].
//!
//! Memory is bounded: at most `threads` requests are in flight (a request waits for a slot
//! that is freed only when its result has been handed out in order), and each decoder holds
//! one decoded frame at a time plus the text it is building.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crossbeam_channel::{bounded, unbounded};
use serde::{Deserialize, Serialize};

use crate::codec::{self, TextForm};
use crate::media::{LimitError, MediaSource, OpenOptions};

/// One request: frames `ids` (the get_frames id syntax, `"1,30"`) of the file or URL `path`.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameRequest {
    /// Echoed back in the result (any JSON value), so callers can match results to rows.
    pub id: serde_json::Value,
    pub path: String,
    pub ids: String,
    pub form: TextForm,
}

/// One answer, in the JSONL schema: `frames` is the `|`-joined text `framekit frames` would
/// print (empty on error), `ids` the frame ids it holds, `error` one line or `null`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameResult {
    pub id: serde_json::Value,
    pub path: String,
    pub frames: String,
    pub ids: Vec<usize>,
    pub error: Option<String>,
    /// The decode limit the request ran into, when that is why it failed (not in the JSON:
    /// a face may add to `error` how to raise it).
    #[serde(skip)]
    pub limit: Option<LimitError>,
}

impl FrameResult {
    /// An error row for a request (or a line that was not one).
    pub fn failed(id: serde_json::Value, path: String, error: String) -> FrameResult {
        FrameResult {
            id,
            path,
            frames: String::new(),
            ids: Vec::new(),
            error: Some(error.replace('\n', " ")),
            limit: None,
        }
    }
}

/// A request line as JSON.
#[derive(Deserialize)]
struct RequestLine {
    path: String,
    ids: IdsField,
    #[serde(default)]
    id: serde_json::Value,
    #[serde(default)]
    format: Option<String>,
}

/// `"1,30"`, or `[1, 30]` for convenience.
enum IdsField {
    Text(String),
    Numbers(Vec<i64>),
}

/// What a JSON value is, for a message: `true`, `null`, `the number 2.5`, `an object`.
fn json_kind(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "null".to_string(),
        serde_json::Value::Bool(b) => b.to_string(),
        serde_json::Value::Number(n) => format!("the number {n}"),
        serde_json::Value::String(_) => "a string".to_string(),
        serde_json::Value::Array(_) => "an array".to_string(),
        serde_json::Value::Object(_) => "an object".to_string(),
    }
}

/// Says what is wrong with a bad `ids` (serde's own word for an untagged enum would be
/// "data did not match any variant of untagged enum IdsField").
impl<'de> Deserialize<'de> for IdsField {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<IdsField, D::Error> {
        use serde::de::Error as _;
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(text) => Ok(IdsField::Text(text)),
            serde_json::Value::Array(items) => items
                .iter()
                .map(|item| {
                    item.as_i64().ok_or_else(|| {
                        D::Error::custom(format!(
                            "\"ids\" holds {}, not a whole number (write [1, 30] or \"1,30\")",
                            json_kind(item)
                        ))
                    })
                })
                .collect::<Result<Vec<i64>, D::Error>>()
                .map(IdsField::Numbers),
            other => Err(D::Error::custom(format!(
                "\"ids\" is {}: write the frame ids as \"1,30\" or [1, 30]",
                json_kind(&other)
            ))),
        }
    }
}

/// The longest request line `--jsonl` reads by default (a request is a path and an id list).
pub const DEFAULT_MAX_LINE_BYTES: usize = 1 << 20;

/// One line of a JSONL stream, read with a length limit.
#[derive(Debug, PartialEq, Eq)]
pub enum JsonLine {
    /// A line's text (a UTF-8 byte order mark at the very start of the stream dropped).
    Text(String),
    /// A line longer than the limit (`limit` bytes): the rest of it up to its newline is
    /// skipped.
    TooLong { limit: usize },
    /// A line that is not UTF-8.
    NotUtf8,
}

/// Reads JSONL lines from `input`, never holding more than `max_bytes` of one line: a longer
/// line is reported as soon as it passes the limit (one endless line from `/dev/zero` gets
/// its error row at once), then skipped to its newline, and reading goes on with the next
/// request. Yields `(1-based line number, line)`; ends at the end of the input or on a read
/// error, which goes to `on_error`.
pub fn jsonl_lines<R: std::io::BufRead>(
    mut input: R,
    max_bytes: usize,
    mut on_error: impl FnMut(std::io::Error),
) -> impl Iterator<Item = (usize, JsonLine)> {
    let mut line_number = 0usize;
    // After a line too long was reported: the rest of it is still to skip.
    let mut skipping = false;
    std::iter::from_fn(move || {
        let mut line: Vec<u8> = Vec::new();
        loop {
            let chunk = match input.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    on_error(e);
                    return None;
                }
            };
            if chunk.is_empty() {
                if line.is_empty() || skipping {
                    return None;
                }
                break;
            }
            let (take, ends) = match chunk.iter().position(|&b| b == b'\n') {
                Some(at) => (at + 1, true),
                None => (chunk.len(), false),
            };
            if skipping {
                input.consume(take);
                skipping = !ends;
                continue;
            }
            let content = &chunk[..take - usize::from(ends)];
            if line.len() + content.len() > max_bytes {
                input.consume(take);
                skipping = !ends;
                line_number += 1;
                return Some((line_number, JsonLine::TooLong { limit: max_bytes }));
            }
            line.extend_from_slice(content);
            input.consume(take);
            if ends {
                break;
            }
        }
        line_number += 1;
        let mut bytes = line.as_slice();
        if line_number == 1 {
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        Some((
            line_number,
            match std::str::from_utf8(bytes) {
                Ok(text) => JsonLine::Text(text.to_string()),
                Err(_) => JsonLine::NotUtf8,
            },
        ))
    })
}

/// Reads one JSONL request line (`line_number` is 1-based, for the error row).
pub fn parse_request_line(
    line: &str,
    line_number: usize,
) -> Result<FrameRequest, Box<FrameResult>> {
    let parsed: RequestLine = serde_json::from_str(line).map_err(|e| {
        // Keep whatever id the line has, so the caller can still match the error row.
        let id = serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .and_then(|v| v.get("id").cloned())
            .unwrap_or(serde_json::Value::Null);
        let path = serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .and_then(|v| v.get("path").and_then(|p| p.as_str()).map(str::to_string))
            .unwrap_or_default();
        Box::new(FrameResult::failed(
            id,
            path,
            format!("line {line_number}: not a request: {e}"),
        ))
    })?;
    let form = match parsed.format.as_deref() {
        None | Some("b64") => TextForm::Base64,
        Some("datauri") => TextForm::DataUri,
        Some(other) => {
            return Err(Box::new(FrameResult::failed(
                parsed.id,
                parsed.path,
                format!("line {line_number}: unknown format \"{other}\" (b64 or datauri)"),
            )));
        }
    };
    let ids = match parsed.ids {
        IdsField::Text(text) => text,
        IdsField::Numbers(numbers) => numbers
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(","),
    };
    Ok(FrameRequest {
        id: parsed.id,
        path: parsed.path,
        ids,
        form,
    })
}

/// Answers one request by the get_frames rules (the same code as `framekit frames`).
pub fn answer(request: &FrameRequest, options: &OpenOptions) -> FrameResult {
    /// The error's message, and the limit behind it if there is one.
    fn failure(error: &(dyn std::error::Error + 'static)) -> (String, Option<LimitError>) {
        (error.to_string(), LimitError::find(error).cloned())
    }
    let run = || -> Result<(String, Vec<usize>), (String, Option<LimitError>)> {
        let requested = codec::parse_frame_ids(&request.ids).map_err(|e| failure(&e))?;
        let path = PathBuf::from(&request.path);
        let mut source = MediaSource::open_lazy(&path, options).map_err(|e| failure(&e))?;
        let (text, selection) = codec::frames_text_from_source(
            &mut source,
            &requested,
            request.form,
            options.limits.max_answer_bytes,
        )
        .map_err(|e| failure(&e))?;
        Ok((text, selection.ids))
    };
    match run() {
        Ok((frames, ids)) => FrameResult {
            id: request.id.clone(),
            path: request.path.clone(),
            frames,
            ids,
            error: None,
            limit: None,
        },
        Err((error, limit)) => FrameResult {
            limit,
            ..FrameResult::failed(request.id.clone(), request.path.clone(), error)
        },
    }
}

/// The cores this process sees (its CPU affinity and cgroup limits included).
pub fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

/// Threads for each of `decoders` decoders running at once on `cores` cores: they share the
/// cores rather than each starting a thread per core (frame threads beyond a decoder's share
/// only contend with the others, and with sibling processes).
pub fn decoder_threads_for(cores: usize, decoders: usize) -> usize {
    (cores / decoders.max(1)).max(1)
}

/// Answers `requests` on `threads` decoders, yielding one result per request in input order.
/// A request that could not be read (`Err`) comes back as its error row, in its place.
pub fn frames_batch<I>(requests: I, threads: usize, mut options: OpenOptions) -> FramesBatch
where
    I: Iterator<Item = Result<FrameRequest, Box<FrameResult>>> + Send + 'static,
{
    let threads = threads.max(1);
    if options.decoder_threads == 0 {
        options.decoder_threads = decoder_threads_for(available_cores(), threads);
    }
    // A slot per request in flight: taken before dispatch, given back when its result is
    // handed out, so at most `threads` requests (and results) exist at once.
    let (slot_tx, slot_rx) = bounded::<()>(threads);
    let (work_tx, work_rx) = bounded::<(u64, FrameRequest)>(threads);
    let (result_tx, result_rx) = unbounded::<(u64, FrameResult)>();
    let dispatch_results = result_tx.clone();
    let _ = std::thread::Builder::new()
        .name("framekit-batch-dispatch".into())
        .spawn(move || {
            for (seq, request) in (0u64..).zip(requests) {
                if slot_tx.send(()).is_err() {
                    return;
                }
                let sent = match request {
                    Ok(request) => work_tx.send((seq, request)).is_ok(),
                    Err(row) => dispatch_results.send((seq, *row)).is_ok(),
                };
                if !sent {
                    return;
                }
            }
        });
    for n in 0..threads {
        let work = work_rx.clone();
        let results = result_tx.clone();
        let options = options.clone();
        let _ = std::thread::Builder::new()
            .name(format!("framekit-batch-{n}"))
            .spawn(move || {
                for (seq, request) in work {
                    if results.send((seq, answer(&request, &options))).is_err() {
                        return;
                    }
                }
            });
    }
    FramesBatch {
        results: result_rx,
        slots: slot_rx,
        waiting: BTreeMap::new(),
        next: 0,
    }
}

/// The results of [`frames_batch`], in input order.
pub struct FramesBatch {
    results: crossbeam_channel::Receiver<(u64, FrameResult)>,
    slots: crossbeam_channel::Receiver<()>,
    waiting: BTreeMap<u64, FrameResult>,
    next: u64,
}

impl Iterator for FramesBatch {
    type Item = FrameResult;

    fn next(&mut self) -> Option<FrameResult> {
        loop {
            if let Some(result) = self.waiting.remove(&self.next) {
                self.next += 1;
                let _ = self.slots.recv();
                return Some(result);
            }
            // Ends when the dispatcher and every worker are done (all senders dropped).
            let (seq, result) = self.results.recv().ok()?;
            self.waiting.insert(seq, result);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<(usize, JsonLine)> {
        jsonl_lines(input, max, |e| panic!("{e}")).collect()
    }

    #[test]
    fn long_lines_are_skipped_to_their_newline_and_reading_goes_on() {
        let mut input = b"\xEF\xBB\xBF{\"a\":1}\r\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 100));
        input.extend_from_slice(b"\n\xFF\xFE\n{\"b\":2}");
        assert_eq!(
            lines(&input, 20),
            vec![
                (1, JsonLine::Text("{\"a\":1}".to_string())),
                (2, JsonLine::TooLong { limit: 20 }),
                (3, JsonLine::NotUtf8),
                (4, JsonLine::Text("{\"b\":2}".to_string())),
            ]
        );
        assert!(lines(b"", 20).is_empty());
    }
}
