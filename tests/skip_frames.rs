//! Requests that say which frames they want (`expect_frames`, what `get_frames` and the Python
//! reader's batches do): the decoder skips the non-reference frames between the wanted ones,
//! and every wanted frame still equals the same frame of a plain sequential decode. On MP4
//! clips with B-frames used as references (H.264 b-pyramid, HEVC), where the container's
//! table places every packet.

mod common;

use std::path::{Path, PathBuf};

use framekit::media::color::Orientation;
use framekit::media::{OpenOptions, VideoReader};

fn h264_pyramid_mp4() -> PathBuf {
    common::fixture(
        "skip_h264_pyramid.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            common::PATTERN,
            "-c:v",
            "libx264",
            "-bf",
            "3",
            "-x264-params",
            "b-pyramid=normal:keyint=48:min-keyint=48:scenecut=0",
            "-pix_fmt",
            "yuv420p",
        ],
    )
}

fn hevc_mp4() -> PathBuf {
    common::fixture(
        "skip_hevc.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            common::PATTERN,
            "-c:v",
            "libx265",
            "-tag:v",
            "hvc1",
            "-pix_fmt",
            "yuv420p",
            "-x265-params",
            "keyint=48:min-keyint=48:bframes=4:b-pyramid=1:scenecut=0:log-level=error",
        ],
    )
}

/// Requests, each a set of frames asked for together (as one `get_frames` id list).
const REQUESTS: &[&[usize]] = &[
    &[0, 29],
    &[5, 17, 40],
    &[2, 3, 4],
    &[47, 48, 49],
    &[60, 61, 100, 131],
    &[131],
    &[10, 90, 20],
];

/// Decodes each request's frames in file order on a fresh reader told its last frame (as
/// `get_frames` does), and which frames are wanted when `hint`; returns the frames' hashes and the frames the decoder put out.
fn run(path: &Path, request: &[usize], hint: bool) -> (Vec<(usize, u64)>, usize) {
    let mut reader = VideoReader::open_lazy(path, &OpenOptions::default()).expect("open");
    let mut order = request.to_vec();
    order.sort_unstable();
    reader.expect_last_frame(*order.last().expect("a frame"));
    if hint {
        reader.expect_frames(request);
    }
    let hashes = order
        .iter()
        .map(|&n| {
            let frame = reader
                .frame(n)
                .unwrap_or_else(|e| panic!("frame {n} of {request:?}: {e}"));
            (n, common::frame_hash(&frame))
        })
        .collect();
    (hashes, reader.stats().frames_decoded)
}

fn assert_skipping_is_exact(path: &Path) {
    let expected: Vec<u64> = common::sequential_frames(path, Orientation::default())
        .iter()
        .map(common::frame_hash)
        .collect();
    assert_eq!(expected.len(), 132, "{}: fixture length", path.display());
    let (mut with_skips, mut without) = (0, 0);
    for request in REQUESTS {
        let (hashes, decoded) = run(path, request, true);
        for (n, hash) in hashes {
            assert_eq!(
                hash,
                expected[n],
                "{}: frame {} of request {request:?} (skipping) differs from sequential decode",
                path.display(),
                n + 1
            );
        }
        let (plain, plain_decoded) = run(path, request, false);
        for (n, hash) in plain {
            assert_eq!(hash, expected[n], "frame {} without the hint", n + 1);
        }
        with_skips += decoded;
        without += plain_decoded;
    }
    eprintln!(
        "{}: {with_skips} frames decoded with the hint, {without} without",
        path.display()
    );
    assert!(
        with_skips < without,
        "{}: the hint must skip frames ({with_skips} decoded, {without} without it)",
        path.display()
    );

    // One reader for every request in turn (a reused Python reader): a frame that an earlier
    // request skipped is still exact when asked for after all.
    let mut reader = VideoReader::open_lazy(path, &OpenOptions::default()).expect("open");
    for request in REQUESTS {
        reader.expect_frames(request);
        let mut order = request.to_vec();
        order.sort_unstable();
        for n in order.iter().copied().chain([order[0] + 1, order[0] + 2]) {
            let n = n.min(expected.len() - 1);
            let frame = reader.frame(n).unwrap_or_else(|e| panic!("frame {n}: {e}"));
            assert_eq!(
                common::frame_hash(&frame),
                expected[n],
                "{}: frame {} after request {request:?} on a reused reader",
                path.display(),
                n + 1
            );
        }
    }
}

#[test]
fn h264_b_pyramid_mp4_skipping_is_exact() {
    assert_skipping_is_exact(&h264_pyramid_mp4());
}

#[test]
fn h264_bframes_mp4_skipping_is_exact() {
    assert_skipping_is_exact(&common::h264_mp4());
}

#[test]
fn hevc_mp4_skipping_is_exact() {
    assert_skipping_is_exact(&hevc_mp4());
}
