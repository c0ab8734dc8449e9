//! Frames for a batch of requests held at once, grouped by file: the requests naming one file
//! share one reader, and each frame any of them asks for is decoded and PNG-encoded once, in
//! file order (one seek per GOP for all of them). What the Python module's `frames_grouped`
//! and the Spark helper's in-process path use, where a batch of rows often names a clip more
//! than once.
//!
//! Every answer is the one [`answer`] gives the request alone: the same rules and text, and
//! where anything fails for a request (its ids, the file, a frame, the answer's size) that
//! request is answered alone, so its error row is the same too.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::frames::{FrameRequest, FrameResult, answer, available_cores, decoder_threads_for};
use crate::codec::{self, FrameSelection};
use crate::media::{MediaSource, OpenOptions};

/// Answers `requests` (a request that could not be read is its error row, `Err`) on `threads`
/// workers, one file's requests at a time on one worker; results in input order.
pub fn frames_grouped(
    requests: Vec<Result<FrameRequest, Box<FrameResult>>>,
    threads: usize,
    mut options: OpenOptions,
) -> Vec<FrameResult> {
    let threads = threads.max(1);
    if options.decoder_threads == 0 {
        options.decoder_threads = decoder_threads_for(available_cores(), threads);
    }
    let mut results: Vec<Option<FrameResult>> = Vec::with_capacity(requests.len());
    let mut groups: Vec<Vec<(usize, FrameRequest)>> = Vec::new();
    let mut group_of: HashMap<String, usize> = HashMap::new();
    for (n, request) in requests.into_iter().enumerate() {
        match request {
            Ok(request) => {
                let group = *group_of.entry(request.path.clone()).or_insert_with(|| {
                    groups.push(Vec::new());
                    groups.len() - 1
                });
                groups[group].push((n, request));
                results.push(None);
            }
            Err(row) => results.push(Some(*row)),
        }
    }
    let results = Mutex::new(results);
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads.min(groups.len()) {
            scope.spawn(|| {
                while let Some(group) = groups.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let answers = answer_together(group, &options);
                    let mut results = results.lock().unwrap_or_else(|e| e.into_inner());
                    for ((n, _), result) in group.iter().zip(answers) {
                        results[*n] = Some(result);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

/// Answers requests that all name the same file, with one reader.
fn answer_together(group: &[(usize, FrameRequest)], options: &OpenOptions) -> Vec<FrameResult> {
    let alone = |request: &FrameRequest| answer(request, options);
    let Some((_, first)) = group.first() else {
        return Vec::new();
    };
    if group.len() == 1 {
        return vec![alone(first)];
    }
    let Ok(mut source) = MediaSource::open_lazy(&PathBuf::from(&first.path), options) else {
        return group.iter().map(|(_, r)| alone(r)).collect();
    };
    // Each request's frames by the get_frames rules; `None`: answered alone.
    let selections: Vec<Option<FrameSelection>> = group
        .iter()
        .map(|(_, request)| {
            let requested = codec::parse_frame_ids(&request.ids).ok()?;
            FrameSelection::for_source(&requested, &mut source).ok()
        })
        .collect();
    let wanted: BTreeSet<usize> = selections
        .iter()
        .flatten()
        .flat_map(|s| s.ids.clone())
        .collect();
    let zero_based: Vec<usize> = wanted.iter().map(|id| id - 1).collect();
    source.expect_frames(&zero_based);
    if let Some(&last) = zero_based.last() {
        source.expect_last_frame(last);
    }
    // Each wanted frame's PNG, or `None` where it could not be made. What is held stays
    // within one answer's limit: the frames past it are left to requests answered alone.
    let max_bytes = options.limits.max_answer_bytes;
    let mut pngs: BTreeMap<usize, Option<Vec<u8>>> = BTreeMap::new();
    let mut held = 0usize;
    for &id in &wanted {
        if held > max_bytes {
            break;
        }
        let png = source
            .frame(id - 1)
            .ok()
            .and_then(|frame| codec::encode_png(&frame).ok());
        held = held.saturating_add(png.as_ref().map_or(0, Vec::len));
        pngs.insert(id, png);
    }
    drop(source);
    group
        .iter()
        .zip(&selections)
        .map(|((_, request), selection)| {
            selection
                .as_ref()
                .and_then(|s| joined_text(request, s, &pngs, max_bytes))
                .unwrap_or_else(|| alone(request))
        })
        .collect()
}

/// A request's answer from the shared PNGs, as [`answer`] writes it; `None` when one of its
/// frames failed or the answer passes `max_bytes` (answered alone, for the same error).
fn joined_text(
    request: &FrameRequest,
    selection: &FrameSelection,
    pngs: &BTreeMap<usize, Option<Vec<u8>>>,
    max_bytes: usize,
) -> Option<FrameResult> {
    let mut text = String::new();
    for (n, id) in selection.ids.iter().enumerate() {
        let png = pngs.get(id)?.as_ref()?;
        if n > 0 {
            text.push('|');
        }
        text.push_str(&codec::png_to_text(png, request.form));
        if text.len() > max_bytes {
            return None;
        }
    }
    Some(FrameResult {
        id: request.id.clone(),
        path: request.path.clone(),
        frames: text,
        ids: selection.ids.clone(),
        error: None,
        limit: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::TextForm;

    fn request(id: u64, path: &str, ids: &str) -> Result<FrameRequest, Box<FrameResult>> {
        Ok(FrameRequest {
            id: serde_json::json!(id),
            path: path.to_string(),
            ids: ids.to_string(),
            form: TextForm::Base64,
        })
    }

    #[test]
    fn results_keep_input_order_and_error_rows() {
        let failed = FrameResult::failed(serde_json::json!(9), String::new(), "bad".into());
        let requests = vec![
            request(1, "/no/such/a.mp4", "1"),
            Err(Box::new(failed.clone())),
            request(2, "/no/such/b.mp4", "1,2"),
            request(3, "/no/such/a.mp4", "x"),
        ];
        let results = frames_grouped(requests, 2, OpenOptions::default());
        let ids: Vec<_> = results.iter().map(|r| r.id.clone()).collect();
        assert_eq!(
            ids,
            [1, 9, 2, 3].map(|n| serde_json::json!(n)).to_vec(),
            "one result per request, in input order"
        );
        assert_eq!(results[1], failed);
        for (n, result) in results.iter().enumerate() {
            assert!(result.error.is_some(), "row {n} is an error row");
        }
        // Alone, each request gives the same error row.
        let alone = answer(
            &FrameRequest {
                id: serde_json::json!(3),
                path: "/no/such/a.mp4".into(),
                ids: "x".into(),
                form: TextForm::Base64,
            },
            &OpenOptions::default(),
        );
        assert_eq!(results[3], alone);
    }
}
