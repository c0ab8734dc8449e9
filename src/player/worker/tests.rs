//! The worker driven without its thread: requests handled by calling it.
use super::*;

/// A worker without a thread (its requests are handled by calling it) and its replies.
fn worker_on(path: &std::path::Path) -> (Worker<()>, Receiver<Reply<()>>) {
    let (_request_tx, request_rx) = crossbeam_channel::bounded(4);
    let (reply_tx, reply_rx) = crossbeam_channel::bounded::<Reply<()>>(256);
    let outbox = Outbox {
        replies: reply_tx,
        wake: Arc::new(|| {}),
        stop: Arc::new(AtomicBool::new(false)),
    };
    let shared = Shared {
        generation: Arc::new(AtomicU64::new(1)),
        wanted: Arc::new(AtomicUsize::new(0)),
        counters: Arc::new(Counters::default()),
    };
    let options = PlayerOptions {
        filmstrip: false,
        ..PlayerOptions::default()
    };
    let mut worker: Worker<()> = Worker::new(request_rx, outbox, shared, options);
    assert!(worker.open(path.to_path_buf()));
    (worker, reply_rx)
}

/// The reader's seeks so far.
fn seeks(worker: &Worker<()>) -> usize {
    match &worker.source {
        Some(MediaSource::Video(video)) => video.stats().seeks,
        _ => 0,
    }
}

/// Stepping back onto a frame not cached decodes the frames before it in the same pass
/// (one seek) and keeps them: the steps back after it are served from the cache.
#[test]
fn a_step_back_keeps_the_frames_before_it_for_the_next_steps() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sample.mp4");
    let (mut worker, replies) = worker_on(&path);
    assert!(worker.show(100, 1, None));
    worker.plan_prefetch(100);
    let before = seeks(&worker);
    worker.wanted.store(99, Ordering::SeqCst);
    assert!(worker.show(99, 1, None));
    assert_eq!(seeks(&worker), before + 1, "one seek back to the keyframe");
    let keyframe = match &worker.source {
        Some(MediaSource::Video(video)) => video.index().keyframe_for(99).expect("keyframe"),
        _ => unreachable!(),
    };
    let first_kept = 99usize.saturating_sub(FILL_BEHIND).max(keyframe);
    assert!(first_kept < 99);
    for index in (first_kept..99).rev() {
        worker.wanted.store(index, Ordering::SeqCst);
        assert!(worker.cache.contains(index), "frame {index} kept");
        assert!(worker.show(index, 1, None));
    }
    assert_eq!(
        seeks(&worker),
        before + 1,
        "the steps back found their frames cached"
    );
    let exact: Vec<usize> = replies
        .try_iter()
        .filter_map(|reply| match reply {
            Reply::Frame(ready) if ready.exact => Some(ready.index),
            _ => None,
        })
        .collect();
    let expected: Vec<usize> = [100, 99]
        .into_iter()
        .chain((first_kept..99).rev())
        .collect();
    assert_eq!(exact, expected);
}

/// A decoder that falls back to software mid-stream (what a hardware failure does) is
/// told to the caller once, with the info's new decoder label.
#[test]
fn a_decoder_fallback_mid_stream_is_told_to_the_caller() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sample.mp4");
    let (mut worker, reply_rx) = worker_on(&path);
    assert!(worker.show(0, 1, None));
    assert!(worker.show(1, 1, None));
    let told = |rx: &Receiver<Reply<()>>| {
        rx.try_iter()
            .filter_map(|reply| match reply {
                Reply::InfoChanged { info, .. } => info.video.map(|v| v.decoder),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    assert!(told(&reply_rx).is_empty(), "nothing changed yet");

    let Some(MediaSource::Video(video)) = worker.source.as_mut() else {
        panic!("a video");
    };
    video
        .fall_back_to_software("simulated".to_string())
        .expect("fall back");
    assert!(worker.show(40, 1, None));
    assert!(worker.show(41, 1, None));
    assert_eq!(
        told(&reply_rx),
        ["software (hardware failed mid-stream: simulated)"],
        "told once"
    );
}
