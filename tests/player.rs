//! The playback engine on its own, with no GUI: open, exact frames, latest-wins requests, the
//! filmstrip, copy and paste, typed errors.

mod common;

use std::time::Duration;

use framekit::player::{
    ClipboardPayload, CopyForm, Operation, Player, PlayerError, PlayerOptions, Reply, Request,
};
use framekit::{MediaSource, OpenOptions};

/// Waits for the first reply `pick` accepts, failing on a `Failed` reply it does not accept.
/// Waits for the first reply `pick` accepts, failing on a `Failed` reply it does not accept.
fn wait_for<T>(player: &Player<()>, what: &str, pick: impl FnMut(Reply<()>) -> Option<T>) -> T {
    common::wait_for_reply(player, what, Duration::from_secs(60), pick)
}

fn opened(player: &Player<()>) -> usize {
    wait_for(player, "the open", |reply| match reply {
        Reply::Opened { frame_times, .. } => Some(frame_times.len()),
        Reply::Failed { error, .. } => panic!("{error}"),
        _ => None,
    })
}

#[test]
fn shows_exact_frames_and_builds_a_filmstrip_without_a_gui() {
    let clip = common::h264_mp4();
    let player: Player<()> = Player::spawn(PlayerOptions::default(), || {});
    player.send(Request::Open(clip.clone())).expect("open");
    assert_eq!(opened(&player), 132);
    let generation = player.send(Request::Show { frame: 77 }).expect("show");
    let mut thumbnails = 0;
    let frame = wait_for(&player, "frame 78", |reply| match reply {
        Reply::Frame(ready) if ready.exact && ready.index == 77 => {
            assert_eq!(ready.generation, generation);
            Some(ready.frame)
        }
        Reply::Thumbnail { .. } => {
            thumbnails += 1;
            None
        }
        Reply::Failed { error, .. } => panic!("{error}"),
        _ => None,
    });
    let mut source = MediaSource::open(&clip, &OpenOptions::default()).expect("open");
    assert_eq!(frame.pixels, source.frame(77).expect("frame").pixels);
    wait_for(&player, "the filmstrip", |reply| match reply {
        Reply::Thumbnail { index, .. } => {
            thumbnails += 1;
            (thumbnails == 16).then_some(index)
        }
        _ => None,
    });
}

#[test]
fn frame_requests_are_latest_wins_not_queued() {
    let (permit, gate) = crossbeam_channel::unbounded();
    let options = PlayerOptions {
        decode_gate: Some(gate),
        filmstrip: false,
        ..PlayerOptions::default()
    };
    let player: Player<()> = Player::spawn(options, || {});
    player
        .send(Request::Open(common::h264_mp4()))
        .expect("open");
    // The worker blocks in the first request's decode while fifty more pile up.
    for frame in 10..60 {
        player.send(Request::Show { frame }).expect("show");
    }
    for _ in 0..3 {
        permit.send(()).expect("permit");
    }
    let mut exact = Vec::new();
    wait_for(&player, "frame 60", |reply| match reply {
        Reply::Frame(ready) if ready.exact => {
            exact.push(ready.index);
            (ready.index == 59).then_some(())
        }
        Reply::Failed { error, .. } => panic!("{error}"),
        _ => None,
    });
    assert_eq!(
        exact,
        vec![59],
        "only the newest request is decoded; stale ones are dropped"
    );
}

#[test]
fn copy_list_is_the_same_text_as_get_frames() {
    let clip = common::h264_mp4();
    let player: Player<()> = Player::spawn(PlayerOptions::default(), || {});
    player.send(Request::Open(clip.clone())).expect("open");
    opened(&player);
    player
        .send(Request::Copy {
            frame: 0,
            form: CopyForm::List("30, 1,500".to_string()),
        })
        .expect("copy");
    let (text, summary) = wait_for(&player, "the copy", |reply| match reply {
        Reply::Copied {
            payload: ClipboardPayload::Text(text),
            summary,
        } => Some((text, summary)),
        Reply::Failed { error, .. } => panic!("{error}"),
        _ => None,
    });
    assert_eq!(text, framekit::get_frames(&clip, "1,30").expect("frames"));
    assert!(
        summary.contains("frames 1,30") && summary.contains("skipped 500"),
        "{summary}"
    );
}

#[test]
fn errors_cross_the_thread_typed_with_their_operation() {
    let player: Player<()> = Player::spawn(PlayerOptions::default(), || {});
    player
        .send(Request::Open("/nonexistent/clip.mp4".into()))
        .expect("open");
    let (op, error) = wait_for(&player, "the open error", |reply| match reply {
        Reply::Failed { op, error } => Some((op, error)),
        _ => None,
    });
    assert_eq!(op, Operation::Open);
    assert!(matches!(error, PlayerError::Media(_)), "{error:?}");
    assert!(error.to_string().contains("no such file"), "{error}");

    player
        .send(Request::Paste {
            text: "eyJhIjogMX0=".to_string(),
        })
        .expect("paste");
    let (op, error) = wait_for(&player, "the paste error", |reply| match reply {
        Reply::Failed { op, error } => Some((op, error)),
        _ => None,
    });
    assert_eq!(op, Operation::Paste);
    assert!(matches!(error, PlayerError::Paste(_)), "{error:?}");

    player
        .send(Request::Copy {
            frame: 0,
            form: CopyForm::Base64,
        })
        .expect("copy");
    let (op, error) = wait_for(&player, "the copy error", |reply| match reply {
        Reply::Failed { op, error } => Some((op, error)),
        _ => None,
    });
    assert_eq!(op, Operation::Copy);
    assert!(matches!(error, PlayerError::NothingOpen), "{error:?}");
}

#[test]
fn pasted_text_becomes_steppable_frames() {
    let clip = common::h264_mp4();
    let list = framekit::get_frames(&clip, "3,7").expect("frames");
    let player: Player<()> = Player::spawn(PlayerOptions::default(), || {});
    player.send(Request::Paste { text: list }).expect("paste");
    let info = wait_for(&player, "the pasted frames", |reply| match reply {
        Reply::Opened { info, .. } => Some(info),
        Reply::Failed { error, .. } => panic!("{error}"),
        _ => None,
    });
    assert!(info.pasted);
    assert_eq!(info.kind_label(), "pasted images");
    player.send(Request::Show { frame: 1 }).expect("show");
    let frame = wait_for(&player, "pasted frame 2", |reply| match reply {
        Reply::Frame(ready) if ready.exact && ready.index == 1 => Some(ready.frame),
        _ => None,
    });
    let mut source = MediaSource::open(&clip, &OpenOptions::default()).expect("open");
    assert_eq!(frame.pixels, source.frame(6).expect("frame").pixels);
}

/// A headless player without a filmstrip, `clip` sent to it (not waited for).
fn open_without_filmstrip(clip: &std::path::Path) -> Player<()> {
    let player: Player<()> = Player::spawn(
        PlayerOptions {
            filmstrip: false,
            ..PlayerOptions::default()
        },
        || {},
    );
    player
        .send(Request::Open(clip.to_path_buf()))
        .expect("open");
    player
}

fn exact_frame(player: &Player<()>, index: usize) -> framekit::player::ReadyFrame<()> {
    wait_for(
        player,
        &format!("frame {}", index + 1),
        |reply| match reply {
            Reply::Frame(ready) if ready.exact && ready.index == index => Some(ready),
            Reply::Failed { error, .. } => panic!("{error}"),
            _ => None,
        },
    )
}

/// Waits until the worker stops converting (its idle prefetch is done).
fn until_idle(player: &Player<()>) {
    let mut last = player.counts().converted;
    loop {
        std::thread::sleep(Duration::from_millis(150));
        let now = player.counts().converted;
        if now == last {
            return;
        }
        last = now;
    }
}

#[test]
fn stepping_forward_under_a_small_cache_converts_each_frame_once() {
    // Room for about ten 720p frames (RGB and the samples behind it): the frames prefetched
    // ahead of the playhead must outlive the ones it has passed, or each step decodes again
    // the frame it asks for (in a long GOP, from the keyframe).
    let clip = common::solid_720p_untagged();
    let player: Player<()> = Player::spawn(
        PlayerOptions {
            filmstrip: false,
            cache_budget_bytes: 42 << 20,
            ..PlayerOptions::default()
        },
        || {},
    );
    player.send(Request::Open(clip)).expect("open");
    assert_eq!(opened(&player), 90);
    let steps = 20;
    for index in 0..=steps {
        player.send(Request::Show { frame: index }).expect("show");
        exact_frame(&player, index);
        until_idle(&player);
    }
    // Frames 0..=20 and at most the ten prefetched past the last: each converted once.
    let converted = player.counts().converted;
    assert!(
        converted <= steps as u64 + 1 + 10,
        "{converted} conversions for {} frames stepped through",
        steps + 1
    );
}

#[test]
fn playing_a_large_clip_gives_display_size_frames_and_paused_full_size() {
    let clip = common::solid_720p_untagged();
    let player = open_without_filmstrip(&clip);
    assert_eq!(opened(&player), 90);
    // Playing in a 320x200 view: converted at 320x180, the full size said beside it.
    player
        .send(Request::ShowAt {
            frame: 5,
            fit: (320, 200),
        })
        .expect("show");
    let playing = exact_frame(&player, 5);
    assert_eq!((playing.frame.width, playing.frame.height), (320, 180));
    assert_eq!(playing.full_size, (1280, 720));
    assert!(playing.is_reduced());
    assert!(player.counts().converted_for_display >= 1);
    // The samples behind it are the full frame's, for the inspector.
    let samples = playing.samples.as_ref().expect("samples");
    assert_eq!((samples.width, samples.height), (1280, 720));

    // Paused: the same frame at full size, exactly the library's.
    player.send(Request::Show { frame: 5 }).expect("show");
    let paused = exact_frame(&player, 5);
    assert_eq!((paused.frame.width, paused.frame.height), (1280, 720));
    assert!(!paused.is_reduced());
    let mut source = MediaSource::open(&clip, &OpenOptions::default()).expect("open");
    let full = source.frame(5).expect("frame");
    assert_eq!(paused.frame.pixels, full.pixels);
    // The display-size frame has the full frame's colour (the matrix was decided on the
    // 720-line frame, not on the 180-line one).
    let small = playing.frame.rgba_at(160, 90).expect("inside");
    let large = full.rgba_at(640, 360).expect("inside");
    for c in 0..3 {
        assert!(
            small[c].abs_diff(large[c]) <= 2,
            "display-size {small:?} against full-size {large:?}"
        );
    }
    // A view larger than the frame gets it at full size.
    player
        .send(Request::ShowAt {
            frame: 7,
            fit: (1920, 1080),
        })
        .expect("show");
    let roomy = exact_frame(&player, 7);
    assert_eq!((roomy.frame.width, roomy.frame.height), (1280, 720));
}

#[test]
fn a_frame_made_late_while_it_decodes_is_dropped_before_its_conversion() {
    let clip = common::h264_mp4();
    let (permit, gate) = crossbeam_channel::unbounded();
    let (decoded_tx, decoded) = crossbeam_channel::unbounded();
    let player: Player<()> = Player::spawn(
        PlayerOptions {
            filmstrip: false,
            convert_gate: Some((decoded_tx, gate)),
            ..PlayerOptions::default()
        },
        || {},
    );
    player.send(Request::Open(clip)).expect("open");
    opened(&player);
    let fit = (88, 72);
    // Frame 11 decodes and waits before its conversion; meanwhile playback moves on to 13:
    // 11 is dropped, never converted.
    player
        .send(Request::ShowAt { frame: 10, fit })
        .expect("show");
    let wait = Duration::from_secs(60);
    assert_eq!(decoded.recv_timeout(wait), Ok(10));
    player
        .send(Request::ShowAt { frame: 12, fit })
        .expect("show");
    permit.send(()).expect("permit");
    assert_eq!(decoded.recv_timeout(wait), Ok(12));
    permit.send(()).expect("permit");
    let mut late_shown = false;
    let ready = wait_for(&player, "frame 13", |reply| match reply {
        Reply::Frame(ready) if ready.index == 10 && ready.exact => {
            late_shown = true;
            None
        }
        Reply::Frame(ready) if ready.exact && ready.index == 12 => Some(ready),
        Reply::Failed { error, .. } => panic!("{error}"),
        _ => None,
    });
    assert!(!late_shown, "the late frame was converted and sent");
    assert_eq!((ready.frame.width, ready.frame.height), (88, 72));
    let counts = player.counts();
    assert!(counts.late_skipped >= 1, "{counts:?}");

    // One frame behind is not late enough to drop: frame 21 is converted and sent while 22
    // is asked for.
    player
        .send(Request::ShowAt { frame: 20, fit })
        .expect("show");
    assert_eq!(decoded.recv_timeout(wait), Ok(20));
    player
        .send(Request::ShowAt { frame: 21, fit })
        .expect("show");
    permit.send(()).expect("permit");
    exact_frame(&player, 20);
    assert_eq!(decoded.recv_timeout(wait), Ok(21));
    permit.send(()).expect("permit");
    exact_frame(&player, 21);
}

#[test]
fn hdr_frames_at_display_size_are_tone_mapped_like_the_full_ones() {
    // One colour, 10-bit HLG: scaled down first, the frame must still be read as HLG and
    // tone-mapped (its colour tags travel with the scaled planes).
    let clip = common::hdr_clip(
        "hdr_solid_hlg_512.mp4",
        "color=c=0x4080C0:s=512x288:rate=25:duration=0.4",
        &["-c:v", "libx264", "-qp", "0"],
        "arib-std-b67",
    );
    let player = open_without_filmstrip(&clip);
    opened(&player);
    player
        .send(Request::ShowAt {
            frame: 2,
            fit: (128, 128),
        })
        .expect("show");
    let small = exact_frame(&player, 2);
    assert_eq!((small.frame.width, small.frame.height), (128, 72));
    let mut mapped = MediaSource::open(&clip, &OpenOptions::default()).expect("open");
    let mapped = mapped.frame(2).expect("frame");
    let as_tagged = OpenOptions {
        hdr: framekit::media::HdrMode::None,
        ..OpenOptions::default()
    };
    let mut tagged = MediaSource::open(&clip, &as_tagged).expect("open");
    let tagged = tagged.frame(2).expect("frame");
    let at = |frame: &framekit::Frame| {
        frame
            .rgba_at(frame.width / 2, frame.height / 2)
            .expect("inside")
    };
    let (small, mapped, tagged) = (at(&small.frame), at(&mapped), at(&tagged));
    let off = |a: [u8; 4], b: [u8; 4]| (0..3).map(|c| a[c].abs_diff(b[c])).max().unwrap_or(0);
    assert!(off(mapped, tagged) > 6, "the fixture tells them apart");
    assert!(
        off(small, mapped) <= 2,
        "display size {small:?}, tone-mapped {mapped:?}, as tagged {tagged:?}"
    );
}
