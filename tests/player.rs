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
