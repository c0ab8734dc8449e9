//! Frame-exact random access: for every frame n, fetching it in shuffled order and in reverse
//! order gives the same pixels as the nth frame of one plain sequential decode.

mod common;

use std::path::Path;

use framekit::media::color::Orientation;
use framekit::media::{OpenOptions, VideoReader};

/// How random access must reach the frames: by seeking to keyframes (timestamps identify
/// frames), or by counting from the start (the stream has no presentation timestamps).
#[derive(Clone, Copy, PartialEq)]
enum Access {
    Seek,
    Count,
}

fn assert_frame_exact(path: &Path) {
    assert_frame_exact_by(path, Access::Seek);
}

fn assert_frame_exact_by(path: &Path, access: Access) {
    let expected: Vec<u64> = common::sequential_frames(path, Orientation::default())
        .iter()
        .map(common::frame_hash)
        .collect();
    assert!(
        expected.len() >= 120,
        "{}: fixture too short ({} frames)",
        path.display(),
        expected.len()
    );
    let distinct: std::collections::HashSet<u64> = expected.iter().copied().collect();
    assert!(
        distinct.len() > expected.len() * 9 / 10,
        "fixture frames must differ from each other"
    );

    let mut reader = VideoReader::open(path, &OpenOptions::default()).expect("open");
    assert_eq!(
        reader.frame_count(),
        expected.len(),
        "{}: index frame count vs sequential decode",
        path.display()
    );

    let orders = [
        ("shuffled", common::shuffled(expected.len(), 0x5eed)),
        ("reverse", (0..expected.len()).rev().collect::<Vec<_>>()),
    ];
    for (name, order) in orders {
        for &n in &order {
            let frame = reader
                .frame(n)
                .unwrap_or_else(|e| panic!("{name} frame {n}: {e}"));
            assert_eq!(frame.index, n);
            assert_eq!(
                common::frame_hash(&frame),
                expected[n],
                "{}: frame {} ({name} order) differs from sequential decode",
                path.display(),
                n + 1
            );
        }
    }
    // The get_frames path: told that frame n is the last one wanted, the reader drains the
    // decoder after n's packet instead of feeding it on; n is still exact, and so is a frame
    // asked for after all (it costs a seek).
    for n in common::shuffled(expected.len(), 0xd4a1)
        .into_iter()
        .take(16)
    {
        reader.expect_last_frame(n);
        for index in [n, (n + 1).min(expected.len() - 1)] {
            let frame = reader
                .frame(index)
                .unwrap_or_else(|e| panic!("frame {index} after the last-frame hint {n}: {e}"));
            assert_eq!(
                common::frame_hash(&frame),
                expected[index],
                "{}: frame {} (last wanted: {}) differs from sequential decode",
                path.display(),
                index + 1,
                n + 1
            );
        }
    }
    // Opened lazily (what `frames` does): the index grows as frames are asked for, from the
    // container's table or from the start, and every answer is the same.
    let mut lazy = VideoReader::open_lazy(path, &OpenOptions::default()).expect("open lazily");
    for n in common::shuffled(expected.len(), 0x1a2f)
        .into_iter()
        .take(40)
    {
        let frame = lazy
            .frame(n)
            .unwrap_or_else(|e| panic!("lazy frame {n}: {e}"));
        assert_eq!(
            common::frame_hash(&frame),
            expected[n],
            "{}: frame {} (lazy open) differs from sequential decode",
            path.display(),
            n + 1
        );
    }
    assert_eq!(lazy.complete_index().expect("count"), expected.len());
    match access {
        Access::Seek => assert!(reader.stats().seeks > 0, "random access must have seeked"),
        Access::Count => {
            assert!(!reader.index().timestamps_identify_frames());
            assert!(reader.stats().linear_restarts > 0, "counted from the start");
        }
    }
}

#[test]
fn h264_bframes_mp4() {
    assert_frame_exact(&common::h264_mp4());
}

#[test]
fn h264_bframes_mkv() {
    assert_frame_exact(&common::h264_mkv());
}

#[test]
fn hevc_open_gop_mkv() {
    assert_frame_exact(&common::hevc_open_gop());
}

#[test]
fn vp9_webm() {
    assert_frame_exact(&common::vp9_webm());
}

#[test]
fn mpeg4_avi_with_mp3() {
    assert_frame_exact(&common::mpeg4_avi_mp3());
}

#[test]
fn xvid_bframes_avi_without_presentation_timestamps() {
    assert_frame_exact_by(&common::xvid_bframes_avi(), Access::Count);
}

#[test]
fn divx_packed_bframes_avi() {
    let packed = common::divx_packed_avi();
    // The fixture really is packed: many packets hold two VOPs.
    framekit::media::init_ffmpeg();
    let mut input = ffmpeg_next::format::input(&packed).expect("open");
    let two_vops = input
        .packets()
        .filter(|(_, p)| {
            p.data()
                .is_some_and(|d| d.windows(4).filter(|w| *w == [0, 0, 1, 0xB6]).count() == 2)
        })
        .count();
    assert!(two_vops > 30, "only {two_vops} packed packets");
    // ...and decodes to the same pictures as the unpacked stream it was made from.
    let unpacked = common::fixtures_dir().join("divx_unpacked_bf1.avi");
    let hashes = |path: &Path| -> Vec<u64> {
        common::sequential_frames(path, Orientation::default())
            .iter()
            .map(common::frame_hash)
            .collect()
    };
    assert_eq!(hashes(&packed), hashes(&unpacked));
    assert_frame_exact_by(&packed, Access::Count);
}

#[test]
fn mjpeg_avi() {
    assert_frame_exact(&common::mjpeg());
}

/// Intra-only frames whose timestamps do not follow the order they are stored in: a decoder
/// outputs them as it reads them, so frame N is the Nth stored, whatever its timestamp.
#[test]
fn mjpeg_with_timestamps_out_of_order_is_numbered_in_decode_order() {
    for shuffled in [true, false] {
        let path = common::mjpeg_out_of_order(shuffled);
        let sequential: Vec<u64> = common::sequential_frames(&path, Orientation::default())
            .iter()
            .map(common::frame_hash)
            .collect();
        let stored: Vec<u64> = common::sequential_frames(&common::mjpeg(), Orientation::default())
            .iter()
            .map(common::frame_hash)
            .collect();
        assert_eq!(
            sequential, stored,
            "a sequential decode outputs stored order"
        );
        assert_frame_exact_by(&path, Access::Count);
    }
}

#[test]
fn variable_frame_rate_mp4() {
    let path = common::vfr_mp4();
    let mut reader = VideoReader::open(&path, &OpenOptions::default()).expect("open");
    // A frame's time is known once its packet has been read (the table gives only the
    // count): read them, then frame times follow the stream, not n / fps: intervals grow.
    for n in [0, 1, 119, 120] {
        reader.frame(n).expect("frame");
    }
    let early = reader.frame_time(1).unwrap() - reader.frame_time(0).unwrap();
    let late = reader.frame_time(120).unwrap() - reader.frame_time(119).unwrap();
    assert!(
        late > early * 1.5,
        "VFR intervals: early {early}, late {late}"
    );
    assert_frame_exact(&path);
}

#[test]
fn h264_10bit() {
    assert_frame_exact(&common::h264_10bit());
}

#[test]
fn mp4_edit_list_with_discarded_packets() {
    let path = common::edit_list_mp4();
    let mut reader = VideoReader::open(&path, &OpenOptions::default()).expect("open");
    reader.frame(0).expect("frame 1");
    assert!(
        reader.index().frames().first().is_some_and(|f| !f.keyframe),
        "the cut starts after a keyframe"
    );
    assert_frame_exact(&path);
}

#[test]
fn stepping_forward_decodes_on_without_seeking() {
    let mut reader = VideoReader::open(&common::h264_mp4(), &OpenOptions::default()).expect("open");
    reader.frame(40).expect("frame 41");
    let seeks = reader.stats().seeks;
    for n in 41..50 {
        reader.frame(n).expect("frame");
    }
    assert_eq!(
        reader.stats().seeks,
        seeks,
        "stepping forward must not seek"
    );
}
