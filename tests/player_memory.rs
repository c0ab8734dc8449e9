//! "Copy list" of 500 ids on a 1080p clip holds one decoded frame at a time: the peak resident
//! memory of this process (its own test binary, one test) grows by well under 100 MB, where
//! holding the frames would take 3 GB. Measured with the kernel's peak-RSS counter, reset
//! before the copy.

mod common;

use std::time::{Duration, Instant};

use framekit::player::{ClipboardPayload, CopyForm, Player, PlayerOptions, Reply, Request};

/// Peak resident set size of this process so far, in bytes (`VmHWM`).
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmHWM")
        * 1024
}

#[test]
fn copy_list_of_500_full_hd_frames_stays_small() {
    let clip = common::fixture(
        "bars_1080p_17s.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "smptehdbars=size=1920x1080:rate=30:duration=17",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "60",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    let options = PlayerOptions {
        // No frame cache and no filmstrip: what is measured is the copy itself.
        cache_budget_bytes: 0,
        filmstrip: false,
        ..PlayerOptions::default()
    };
    let player: Player<()> = Player::spawn(options, || {});
    player.send(Request::Open(clip)).expect("open");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match player
            .recv_timeout(Duration::from_millis(50))
            .expect("alive")
        {
            Some(Reply::Opened { frame_times, .. }) => {
                assert!(frame_times.len() >= 500, "{} frames", frame_times.len());
                break;
            }
            Some(Reply::Failed { error, .. }) => panic!("{error}"),
            _ => assert!(Instant::now() < deadline, "open timed out"),
        }
    }
    // Reset the peak counter to the current size (Linux 4.0+).
    std::fs::write("/proc/self/clear_refs", "5").expect("reset VmHWM");
    let before = peak_rss();
    let ids: Vec<String> = (1..=500).map(|i| i.to_string()).collect();
    player
        .send(Request::Copy {
            frame: 0,
            form: CopyForm::List(ids.join(",")),
        })
        .expect("copy");
    let text = loop {
        match player
            .recv_timeout(Duration::from_millis(50))
            .expect("alive")
        {
            Some(Reply::Copied {
                payload: ClipboardPayload::Text(text),
                ..
            }) => break text,
            Some(Reply::Failed { error, .. }) => panic!("{error}"),
            _ => assert!(Instant::now() < deadline + Duration::from_secs(240)),
        }
    };
    assert_eq!(text.split('|').count(), 500);
    let grown = peak_rss().saturating_sub(before);
    println!(
        "copy list of 500 1080p frames: {} MB of text, peak RSS grew {} MB",
        text.len() / 1_000_000,
        grown / 1_000_000
    );
    assert!(
        grown < 100_000_000,
        "peak RSS grew {} MB for a 500-frame copy",
        grown / 1_000_000
    );
}
