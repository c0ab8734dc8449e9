//! `batch::grouped::frames_grouped`: requests on one file share a reader and each frame is
//! decoded once, and every row is what the request alone gets from `batch::frames::answer`,
//! errors and the answer-size limit included.

mod common;

use framekit::batch::frames::{FrameRequest, FrameResult, answer};
use framekit::batch::grouped::frames_grouped;
use framekit::codec::TextForm;
use framekit::media::{DecodeLimits, OpenOptions};

fn requests(path: &str) -> Vec<FrameRequest> {
    [
        "1,30", "30,2,31", "1,30", "0,9999", "132,100", "x", "5", "2,3,4,5",
    ]
    .iter()
    .enumerate()
    .map(|(n, ids)| FrameRequest {
        id: serde_json::json!(n),
        path: path.to_string(),
        ids: ids.to_string(),
        form: if n == 6 {
            TextForm::DataUri
        } else {
            TextForm::Base64
        },
    })
    .collect()
}

fn alone_and_grouped(options: &OpenOptions) -> (Vec<FrameResult>, Vec<FrameResult>) {
    let clip = common::h264_mp4();
    let other = common::vp9_webm();
    let mut all = requests(&clip.to_string_lossy());
    all.extend(requests(&other.to_string_lossy()));
    let alone = all.iter().map(|r| answer(r, options)).collect();
    let grouped = frames_grouped(all.into_iter().map(Ok).collect(), 2, options.clone());
    (alone, grouped)
}

#[test]
fn grouped_rows_equal_each_request_alone() {
    let (alone, grouped) = alone_and_grouped(&OpenOptions::default());
    assert_eq!(grouped, alone);
    assert!(grouped.iter().filter(|r| r.error.is_none()).count() >= 12);
}

#[test]
fn grouped_rows_keep_the_answer_limit() {
    // About two 176x144 PNGs' base64: longer answers fail alone and grouped alike, and the
    // frames held for sharing stay near one answer's limit.
    let options = OpenOptions {
        limits: DecodeLimits {
            max_answer_bytes: 60_000,
            ..DecodeLimits::default()
        },
        ..OpenOptions::default()
    };
    let (alone, grouped) = alone_and_grouped(&options);
    assert_eq!(grouped, alone);
    assert!(grouped.iter().any(|r| r.limit.is_some()));
    assert!(grouped.iter().any(|r| r.error.is_none()));
}
