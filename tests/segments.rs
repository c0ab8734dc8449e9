//! Segmented transcoding (`--segment`): a 32 s clip with audio cut into 10 s segments.
//! On both backends: the parent (join) and its children, the join not claimable before every
//! child succeeded, a failed child failing the parent, `jobs list --json` showing the parts
//! done. End to end: the joined output equals a whole-file encode in frame count, duration and
//! quality (PSNR, FFmpeg's way, through the compare module); a worker killed with `kill -9`
//! mid-segment: that segment is reclaimed and redone, no other part is redone, the output is
//! right.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::pg::PgCluster;
use common::s3::S3Server;
use common::worker::Worker;
use framekit::compare::{Comparison, Pairing, summarize};
use framekit::jobs::{
    ClaimFilter, Enqueued, Job, JobPart, JobQuery, JobStatus, JobStore, PartsProgress,
    QueueLocation,
};

const SEGMENT: Duration = Duration::from_secs(10);

/// 32 s of a moving pattern (30 fps, a keyframe every 2 s) with a tone: cut at 10 s it makes
/// four segments (10, 10, 10 and 2 s) and an audio part.
fn clip() -> PathBuf {
    clip_of(32)
}

/// [`clip`]'s recipe, `seconds` long.
fn clip_of(seconds: u32) -> PathBuf {
    let video = format!("testsrc2=size=256x144:rate=30:duration={seconds}");
    let audio = format!("sine=frequency=440:duration={seconds}");
    common::fixture(
        &format!("segments-{seconds}s.mp4"),
        &[
            "-f",
            "lavfi",
            "-i",
            &video,
            "-f",
            "lavfi",
            "-i",
            &audio,
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "60",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
        ],
    )
}

#[derive(Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

fn location(backend: Backend, dir: &Path) -> QueueLocation {
    match backend {
        Backend::Sqlite => QueueLocation::Sqlite(dir.join("q.sqlite")),
        Backend::Postgres => QueueLocation::Postgres(PgCluster::shared().fresh_database()),
    }
}

fn queue_arg(location: &QueueLocation) -> String {
    match location {
        QueueLocation::Sqlite(path) => path.display().to_string(),
        QueueLocation::Postgres(url) => url.clone(),
    }
}

fn children(q: &mut dyn JobStore, parent: i64) -> Vec<Job> {
    q.query(&JobQuery {
        parent: Some(parent),
        ..JobQuery::default()
    })
    .expect("children")
}

/// Enqueues the clip with `--segment 10s`; returns the parent's id.
fn enqueue(q: &mut dyn JobStore, out: &Path) -> i64 {
    match q
        .enqueue_segmented(&clip(), "default", out, false, Some(SEGMENT))
        .expect("enqueue")
    {
        Enqueued::New(id) => id,
        other => panic!("expected a new job, got {other:?}"),
    }
}

fn parent_and_children_and_the_join_waits(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let location = location(backend, dir.path());
    let mut q = location.open().expect("open");
    let out = dir.path().join("out.mp4");
    let id = enqueue(q.as_mut(), &out);
    // Enqueueing again adds nothing.
    assert!(matches!(
        q.enqueue_segmented(&clip(), "default", &out, false, Some(SEGMENT)),
        Ok(Enqueued::Existing(i, JobStatus::Pending)) if i == id
    ));
    let parent = q.get(id).expect("get").expect("the parent");
    assert_eq!(parent.part, Some(JobPart::Join));
    assert_eq!(parent.output, out);
    assert_eq!(parent.parts, Some(PartsProgress { done: 0, total: 5 }));
    let kids = children(q.as_mut(), id);
    assert_eq!(kids.len(), 5, "{kids:#?}");
    let ranges: Vec<(i64, Option<i64>)> = kids
        .iter()
        .filter_map(|k| match k.part {
            Some(JobPart::Segment { start, end }) => Some((start, end)),
            _ => None,
        })
        .collect();
    // The input's video time base is 1/15360: 10 s is 153600 ticks, and the keyframes every
    // 2 s fall on the multiples of 10 s.
    assert_eq!(
        ranges,
        vec![
            (0, Some(153_600)),
            (153_600, Some(307_200)),
            (307_200, Some(460_800)),
            (460_800, None)
        ]
    );
    assert_eq!(
        kids.iter()
            .filter(|k| k.part == Some(JobPart::Audio))
            .count(),
        1
    );
    assert!(kids.iter().all(|k| {
        k.parent == Some(id)
            && k.output
                .starts_with(dir.path().join(".out.mp4.framekit-parts"))
    }));

    // A claim for the parent's id takes its children, never the join while they run.
    let filter = ClaimFilter::ids(&[id]);
    let lease = Duration::from_secs(30);
    let mut leases = Vec::new();
    for _ in 0..5 {
        let claimed = q.claim("test:1", lease, &filter).expect("claim");
        let claimed = claimed.expect("a child is claimable");
        assert_ne!(
            claimed.job.id, id,
            "the join is claimed before its children"
        );
        leases.push(claimed);
    }
    assert!(q.claim("test:1", lease, &filter).expect("claim").is_none());
    assert_eq!(
        q.next_claimable_in(&filter)
            .expect("next")
            .map(|d| d > Duration::ZERO),
        Some(true),
        "only the children's leases are waited for"
    );
    let last = leases.pop().expect("five leases");
    for child in &leases {
        q.publish_with(child, &mut || Ok(())).expect("publish");
    }
    assert!(
        q.claim("test:1", lease, &filter).expect("claim").is_none(),
        "one child still runs"
    );
    let listed = list_json(&location);
    let parent_row = listed
        .iter()
        .find(|j| j["id"].as_i64() == Some(id))
        .expect("the parent is listed");
    assert_eq!(
        parent_row["parts"]["done"].as_u64(),
        Some(4),
        "{parent_row}"
    );
    assert_eq!(parent_row["parts"]["total"].as_u64(), Some(5));
    assert_eq!(parent_row["part"]["kind"].as_str(), Some("join"));
    q.publish_with(&last, &mut || Ok(())).expect("publish");
    let join = q
        .claim("test:1", lease, &filter)
        .expect("claim")
        .expect("the join is claimable once every child succeeded");
    assert_eq!(join.job.id, id);
    assert_eq!(join.job.parts, Some(PartsProgress { done: 5, total: 5 }));
}

fn list_json(location: &QueueLocation) -> Vec<serde_json::Value> {
    let output = common::framekit_bin()
        .args(["jobs", "list", "--json", "--queue", &queue_arg(location)])
        .stdin(Stdio::null())
        .output()
        .expect("framekit jobs list");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("jobs list --json")
}

fn a_failed_child_fails_the_parent(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let location = location(backend, dir.path());
    let mut q = location.open().expect("open");
    let id = enqueue(q.as_mut(), &dir.path().join("out.mp4"));
    let lease = Duration::from_secs(30);
    let filter = ClaimFilter::ids(&[id]);
    let first = q
        .claim("test:1", lease, &filter)
        .expect("claim")
        .expect("a child");
    q.publish_with(&first, &mut || Ok(())).expect("publish");
    let second = q
        .claim("test:1", lease, &filter)
        .expect("claim")
        .expect("a child");
    let status = q
        .fail(
            &second,
            "segment 2: the encoder broke",
            true,
            Duration::ZERO,
        )
        .expect("fail");
    assert_eq!(status, JobStatus::Failed);
    let parent = q.get(id).expect("get").expect("parent");
    assert_eq!(parent.status, JobStatus::Failed);
    assert_eq!(
        parent.last_error.as_deref(),
        Some("segment 2: the encoder broke")
    );
    let kids = children(q.as_mut(), id);
    let by_id = |job: i64| kids.iter().find(|k| k.id == job).expect("child").status;
    assert_eq!(
        by_id(first.job.id),
        JobStatus::Succeeded,
        "done work is kept"
    );
    assert_eq!(
        kids.iter()
            .filter(|k| k.status == JobStatus::Cancelled)
            .count(),
        3,
        "the pending siblings are stopped: {kids:#?}"
    );
    assert!(q.claim("test:1", lease, &filter).expect("claim").is_none());
    assert_eq!(q.next_claimable_in(&filter).expect("next"), None);

    // Retrying the parent puts back its failed and cancelled children, not the finished one.
    q.retry_failed(&[id]).expect("retry");
    let kids = children(q.as_mut(), id);
    assert_eq!(
        kids.iter()
            .filter(|k| k.status == JobStatus::Pending)
            .count(),
        4
    );
    assert_eq!(
        q.get(id).expect("get").expect("parent").status,
        JobStatus::Pending
    );
    let next = q
        .claim("test:1", lease, &filter)
        .expect("claim")
        .expect("a child again");
    assert_ne!(next.job.id, id);
    assert_ne!(next.job.id, first.job.id);
}

fn cancelling_a_part_cancels_its_job(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let location = location(backend, dir.path());
    let mut q = location.open().expect("open");
    let id = enqueue(q.as_mut(), &dir.path().join("out.mp4"));
    let lease = Duration::from_secs(30);
    let filter = ClaimFilter::ids(&[id]);
    let running = q
        .claim("test:1", lease, &filter)
        .expect("claim")
        .expect("a child");
    let other = children(q.as_mut(), id)
        .into_iter()
        .find(|k| k.id != running.job.id)
        .expect("another part");
    assert_eq!(q.cancel_ids(&[other.id]).expect("cancel"), 6);
    assert_eq!(
        q.get(id).expect("get").expect("parent").status,
        JobStatus::Cancelled
    );
    assert!(
        children(q.as_mut(), id)
            .iter()
            .all(|k| k.status == JobStatus::Cancelled)
    );
    assert!(
        !q.heartbeat(running.job.id, &running.token, lease, 0.5)
            .expect("beat"),
        "the running part's lease is revoked"
    );
    assert!(q.claim("test:1", lease, &filter).expect("claim").is_none());
    // Running it again by id brings back the job and its parts.
    q.retry_failed(&[id]).expect("retry");
    assert!(
        children(q.as_mut(), id)
            .iter()
            .all(|k| k.status == JobStatus::Pending)
    );
}

fn an_enqueue_stopped_before_the_parts_is_completed_by_the_next(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let location = location(backend, dir.path());
    let mut q = location.open().expect("open");
    let out = dir.path().join("out.mp4");
    // The join alone, as an enqueue killed before it added the parts leaves it.
    let mut job =
        framekit::jobs::NewJob::prepare(&clip(), "default", &out, false).expect("prepare");
    job.part = Some(JobPart::Join);
    let id = q.add(&job).expect("add").id();
    assert_eq!(
        q.get(id).expect("get").expect("join").parts,
        Some(PartsProgress { done: 0, total: 0 })
    );
    let again = q
        .enqueue_segmented(&clip(), "default", &out, false, Some(SEGMENT))
        .expect("enqueue");
    assert!(matches!(again, Enqueued::Existing(i, JobStatus::Pending) if i == id));
    assert_eq!(children(q.as_mut(), id).len(), 5);
}

/// The segment ranges of a parent's children, in order.
fn segment_ranges(kids: &[Job]) -> Vec<(i64, Option<i64>)> {
    let mut ranges: Vec<(i64, Option<i64>)> = kids
        .iter()
        .filter_map(|k| match k.part {
            Some(JobPart::Segment { start, end }) => Some((start, end)),
            _ => None,
        })
        .collect();
    ranges.sort();
    ranges
}

fn an_input_changed_before_the_join_is_cut_again(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let location = location(backend, dir.path());
    let mut q = location.open().expect("open");
    let input = dir.path().join("film.mp4");
    let out = dir.path().join("out.mp4");
    std::fs::copy(clip(), &input).expect("copy the input");
    let id = match q
        .enqueue_segmented(&input, "default", &out, false, Some(SEGMENT))
        .expect("enqueue")
    {
        Enqueued::New(id) => id,
        other => panic!("expected a new job, got {other:?}"),
    };
    assert_eq!(children(q.as_mut(), id).len(), 5);
    // One part of the first cut finishes.
    let lease = Duration::from_secs(30);
    let first = q
        .claim("test:1", lease, &ClaimFilter::ids(&[id]))
        .expect("claim")
        .expect("a part");
    q.publish_with(&first, &mut || Ok(())).expect("publish");

    // The file is replaced by a 22 s one before the rest ran, and enqueued again.
    std::fs::copy(clip_of(22), &input).expect("replace the input");
    let again = q
        .enqueue_segmented(&input, "default", &out, false, Some(SEGMENT))
        .expect("enqueue again");
    assert!(
        matches!(again, Enqueued::Requeued(i) if i == id),
        "{again:?}"
    );
    let kids = children(q.as_mut(), id);
    assert_eq!(kids.len(), 4, "three segments and the audio: {kids:#?}");
    assert_eq!(
        segment_ranges(&kids),
        vec![
            (0, Some(153_600)),
            (153_600, Some(307_200)),
            (307_200, None)
        ]
    );
    assert!(
        kids.iter().all(|k| k.status == JobStatus::Pending),
        "the finished part of the old cut is redone: {kids:#?}"
    );
    assert_eq!(
        q.get(id).expect("get").expect("parent").parts,
        Some(PartsProgress { done: 0, total: 4 })
    );
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(super::Backend::Sqlite) } )*
        }
        mod postgres {
            $( #[test] fn $name() { super::$name(super::Backend::Postgres) } )*
        }
    };
}

on_both_backends!(
    parent_and_children_and_the_join_waits,
    a_failed_child_fails_the_parent,
    cancelling_a_part_cancels_its_job,
    an_enqueue_stopped_before_the_parts_is_completed_by_the_next,
    an_input_changed_before_the_join_is_cut_again
);

/// The cuts read from MP4 sample tables (a few packets) equal the cuts a scan of every packet
/// finds, on B-frame, 10-bit, variable-frame-rate, edit-list and joined inputs; inputs
/// without a usable table (Matroska, AVI without timestamps) are scanned.
#[test]
fn cuts_from_the_sample_table_equal_a_scan() {
    use framekit::transcode::segments::{PlanReading, plan_with};
    let mp4s = [
        ("32 s x264 + AAC", clip(), 10.0),
        ("B-frames", common::h264_mp4(), 1.0),
        ("10-bit", common::h264_10bit(), 0.5),
        ("variable frame rate", common::vfr_mp4(), 0.7),
        ("edit list", common::edit_list_mp4(), 0.5),
        ("joined clips", common::long_mp4(), 7.0),
    ];
    for (what, path, seconds) in &mp4s {
        let length = Duration::from_secs_f64(*seconds);
        let scanned = plan_with(path, length, PlanReading::Scan)
            .expect("scan")
            .unwrap_or_else(|| panic!("{what}: no cut"));
        let from_table = plan_with(path, length, PlanReading::TableFirst)
            .expect("table")
            .expect("cuts");
        assert!(scanned.ranges.len() >= 2, "{what}: {scanned:?}");
        assert_eq!(scanned.read_by, PlanReading::Scan);
        assert_eq!(from_table.ranges, scanned.ranges, "{what}");
        assert_eq!(from_table.has_audio, scanned.has_audio, "{what}");
        if *what != "edit list" {
            assert_eq!(from_table.read_by, PlanReading::TableFirst, "{what}");
        }
    }
    for (what, path) in [
        ("Matroska", common::hevc_open_gop()),
        (
            "AVI, B-frames without timestamps",
            common::xvid_bframes_avi(),
        ),
    ] {
        let length = Duration::from_secs_f64(0.5);
        let plan = plan_with(&path, length, PlanReading::TableFirst).expect("plan");
        let scanned = plan_with(&path, length, PlanReading::Scan).expect("scan");
        assert_eq!(
            plan.as_ref().map(|p| &p.ranges),
            scanned.as_ref().map(|p| &p.ranges),
            "{what}"
        );
        if let Some(plan) = plan {
            assert_eq!(plan.read_by, PlanReading::Scan, "{what}");
        }
    }
}

#[test]
fn a_short_input_is_one_job_and_a_bad_length_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let location = QueueLocation::Sqlite(dir.path().join("q.sqlite"));
    let mut q = location.open().expect("open");
    let outcome = q
        .enqueue_segmented(
            &clip(),
            "default",
            &dir.path().join("out.mp4"),
            false,
            Some(Duration::from_secs(60)),
        )
        .expect("enqueue");
    let job = q.get(outcome.id()).expect("get").expect("the job");
    assert_eq!((job.part, job.parts), (None, None), "32 s is under 60 s");
    assert_eq!(q.list().expect("list").len(), 1);

    for bad in ["0s", "ten", "25h"] {
        let output = framekit(&[
            "enqueue",
            clip().to_str().expect("utf-8"),
            "--segment",
            bad,
            "--queue",
            dir.path().join("q2.sqlite").to_str().expect("utf-8"),
        ]);
        assert_eq!(output.status.code(), Some(2), "--segment {bad}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("--segment"), "{stderr}");
    }
}

fn framekit(args: &[&str]) -> std::process::Output {
    common::framekit_bin()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run framekit")
}

/// Frames and duration (seconds) of a file, as `framekit probe --json` reads them.
fn frames_and_duration(path: &Path) -> (usize, f64) {
    let output = framekit(&["probe", path.to_str().expect("utf-8"), "--json"]);
    assert!(output.status.success(), "probe {}", path.display());
    let info: serde_json::Value = serde_json::from_slice(&output.stdout).expect("probe --json");
    (
        info["frame_count"].as_u64().expect("frame count") as usize,
        info["duration_seconds"].as_f64().expect("duration"),
    )
}

/// Mean PSNR (average of the planes, FFmpeg's way) of `b` against `a`, frame by frame.
fn mean_psnr(a: &Path, b: &Path) -> f64 {
    let mut comparison =
        Comparison::open(a, b, &framekit::OpenOptions::default(), Pairing::default())
            .expect("open the pair");
    let pairs = comparison.all_pairs();
    let mut scores = Vec::new();
    comparison
        .score(&pairs, |score| {
            scores.push(score);
            true
        })
        .expect("score");
    summarize(&scores).expect("scores").psnr_avg_mean
}

/// `framekit transcode INPUT -o DIR/NAME --queue DIR/NAME.sqlite [--segment LENGTH]`, which
/// must succeed; returns the output folder.
fn transcode_into(dir: &Path, input: &Path, name: &str, segment: Option<&str>) -> PathBuf {
    let out = dir.join(name);
    let queue = dir.join(format!("{name}.sqlite"));
    let mut args = vec![
        "transcode",
        input.to_str().expect("utf-8"),
        "-o",
        out.to_str().expect("utf-8"),
        "--queue",
        queue.to_str().expect("utf-8"),
    ];
    if let Some(length) = segment {
        args.extend(["--segment", length]);
    }
    let output = framekit(&args);
    assert!(
        output.status.success(),
        "transcode {name}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

#[test]
fn a_segmented_encode_equals_a_whole_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = clip();
    let run = |name: &str, segment: Option<&str>| transcode_into(dir.path(), &input, name, segment);
    let whole_dir = run("whole", None);
    let joined_dir = run("segmented", Some("10s"));
    let (whole, joined) = (
        whole_dir.join("segments-32s.mp4"),
        joined_dir.join("segments-32s.mp4"),
    );

    let rows = list_json(&QueueLocation::Sqlite(dir.path().join("segmented.sqlite")));
    assert_eq!(rows.len(), 6, "a join, four segments, the audio: {rows:#?}");
    assert!(
        rows.iter()
            .all(|r| r["status"] == "succeeded" && r["attempts"] == 1)
    );
    let whole_rows = list_json(&QueueLocation::Sqlite(dir.path().join("whole.sqlite")));
    assert_eq!(whole_rows.len(), 1, "without --segment the file is one job");
    let names: Vec<_> = std::fs::read_dir(&joined_dir)
        .expect("out")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        names,
        vec!["segments-32s.mp4"],
        "the parts folder is removed"
    );

    let (whole_frames, whole_seconds) = frames_and_duration(&whole);
    let (joined_frames, joined_seconds) = frames_and_duration(&joined);
    assert_eq!(whole_frames, 960);
    assert_eq!(joined_frames, whole_frames);
    assert!(
        (joined_seconds - whole_seconds).abs() <= 1.0 / 30.0,
        "joined {joined_seconds} s, whole {whole_seconds} s"
    );
    let whole_psnr = mean_psnr(&input, &whole);
    let joined_psnr = mean_psnr(&input, &joined);
    println!("PSNR against the input: whole {whole_psnr:.3} dB, joined {joined_psnr:.3} dB");
    assert!(
        (whole_psnr - joined_psnr).abs() <= 0.3,
        "whole {whole_psnr:.3} dB, joined {joined_psnr:.3} dB"
    );
}

#[test]
fn a_worker_killed_mid_segment_costs_that_segment_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = clip();
    let out = dir.path().join("out");
    let (input_frames, input_seconds) = frames_and_duration(&input);
    killed_mid_segment(
        dir.path(),
        &common::framekit_bin,
        input.to_str().expect("utf-8"),
        out.to_str().expect("utf-8"),
    );
    let (frames, seconds) = frames_and_duration(&out.join("segments-32s.mp4"));
    assert_eq!(frames, input_frames);
    assert!(
        (seconds - input_seconds).abs() <= 1.0 / 30.0,
        "{seconds} s, input {input_seconds} s"
    );
    let left: Vec<_> = std::fs::read_dir(&out)
        .expect("out")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        left,
        vec!["segments-32s.mp4"],
        "no parts or temporary files left"
    );
}

#[test]
fn segments_in_a_bucket_survive_a_killed_worker() {
    let server = S3Server::start(&["media"]);
    server.put_file("media", "in/clip.mp4", &clip());
    let dir = tempfile::tempdir().expect("tempdir");
    killed_mid_segment(
        dir.path(),
        &|| server.framekit(),
        "s3://media/in/clip.mp4",
        "s3://media/out/",
    );
    assert_eq!(
        server.keys("media"),
        ["in/clip.mp4", "out/clip.mp4"],
        "the output published, the parts and staging objects removed"
    );
    let probe = server
        .framekit()
        .args(["probe", "s3://media/out/clip.mp4", "--json"])
        .output()
        .expect("probe");
    assert!(probe.status.success());
    let info: serde_json::Value = serde_json::from_slice(&probe.stdout).expect("json");
    assert_eq!(info["frame_count"].as_u64(), Some(960));
}

/// Enqueues `input` (hq, `--segment 10s`, outputs in `out`) on a fresh PostgreSQL queue,
/// kills a worker with `kill -9` while it encodes a segment after the first part succeeded,
/// lets another finish: the killed segment ran twice, every other part and the join once.
fn killed_mid_segment(
    dir: &Path,
    framekit_command: &dyn Fn() -> std::process::Command,
    input: &str,
    out: &str,
) {
    let url = PgCluster::shared().fresh_database();
    let enqueued = framekit_command()
        .args([
            "enqueue",
            input,
            "--queue",
            &url,
            "--preset",
            "hq",
            "--segment",
            "10s",
            "-o",
            out,
        ])
        .stdin(Stdio::null())
        .output()
        .expect("enqueue");
    assert!(
        enqueued.status.success(),
        "{}",
        String::from_utf8_lossy(&enqueued.stderr)
    );
    let location = QueueLocation::Postgres(url.clone());
    let mut q = location.open().expect("open");
    let parent = q
        .list()
        .expect("list")
        .into_iter()
        .find(|j| j.part == Some(JobPart::Join))
        .expect("a join");

    // Kill the worker while it encodes a segment after the first part succeeded.
    let mut doomed = Worker::start_command(
        framekit_command(),
        &url,
        dir.join("a.log"),
        &["--jobs", "1"],
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    let victim = loop {
        let kids = children(q.as_mut(), parent.id);
        let done = kids
            .iter()
            .filter(|k| k.status == JobStatus::Succeeded)
            .count();
        let running = kids.iter().find(|k| {
            matches!(k.part, Some(JobPart::Segment { .. }))
                && k.status == JobStatus::Processing
                && k.temp_path
                    .as_ref()
                    .is_some_and(|t| t.metadata().is_ok_and(|m| m.len() > 0))
        });
        if let (true, Some(running)) = (done >= 1, running) {
            break running.id;
        }
        assert!(Instant::now() < deadline, "no segment under way: {kids:#?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let pid = doomed.child.id() as i32;
    // SAFETY: kill has no memory-safety preconditions.
    let sent = unsafe { libc::kill(pid, libc::SIGKILL) };
    assert_eq!(sent, 0);
    doomed.wait(Duration::from_secs(10));
    let before = children(q.as_mut(), parent.id);
    let killed = before.iter().find(|k| k.id == victim).expect("victim");
    assert_eq!(
        killed.status,
        JobStatus::Processing,
        "the segment was still running when its worker died"
    );

    let mut rescuer = Worker::start_command(
        framekit_command(),
        &url,
        dir.join("b.log"),
        &["--jobs", "1", "--once"],
    );
    assert_eq!(rescuer.wait(Duration::from_secs(300)), 0);
    let after = children(q.as_mut(), parent.id);
    let joined = q.get(parent.id).expect("get").expect("parent");
    assert_eq!(
        (joined.status, joined.attempts),
        (JobStatus::Succeeded, 1),
        "{:?}",
        joined.last_error
    );
    assert_eq!(joined.parts, Some(PartsProgress { done: 5, total: 5 }));
    for kid in &after {
        assert_eq!(kid.status, JobStatus::Succeeded, "{kid:#?}");
        let expected = if kid.id == victim { 2 } else { 1 };
        assert_eq!(
            kid.attempts, expected,
            "only the killed segment is redone: {kid:#?}"
        );
    }
}

/// A segment of an MPEG-TS file, whose seeks go by byte position and can land past the
/// keyframe they aim at: the encode starts from further back and still holds exactly the
/// frames from its start to the end.
#[test]
fn a_segment_of_a_transport_stream_holds_its_frames() {
    let input = common::fixture(
        "segments-8s.ts",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=192x108:rate=25:duration=8",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-bf",
            "2",
            "-g",
            "50",
            "-pix_fmt",
            "yuv420p",
            "-f",
            "mpegts",
        ],
    );
    let plan = framekit::transcode::segments::plan(&input, Duration::from_secs(2))
        .expect("plan")
        .expect("an 8 s file cut at 2 s");
    assert_eq!(plan.ranges.len(), 4, "{:?}", plan.ranges);
    let mut ictx = framekit::media::open_input(&input).expect("open");
    let index = ictx
        .streams()
        .best(ffmpeg_next::media::Type::Video)
        .expect("video")
        .index();
    let frames = framekit::media::index::FrameIndex::build(&mut ictx, index);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut total = 0;
    for (n, &(start, end)) in plan.ranges.iter().enumerate() {
        let expected = frames
            .frames()
            .iter()
            .filter(|f| f.pts >= start && end.is_none_or(|e| f.pts < e))
            .count() as u64;
        let out = dir.path().join(format!("v{n}.mp4"));
        let report = framekit::transcode::transcode_scope(
            &input,
            &out,
            &framekit::transcode::Preset::SMALL,
            framekit::transcode::Scope::VideoRange { start, end },
            &|| false,
            |_| {},
        )
        .expect("encode the segment");
        assert_eq!(report.video_frames, expected, "segment {n} at {start}");
        framekit::transcode::segments::verify_part(&out, Some(expected), 0).expect("check");
        total += expected;
    }
    assert_eq!(total, 200, "every frame in exactly one segment");
}

/// An input made of clips joined with `-c copy` (as the long-media fixtures are, and as many
/// real files are): its audio comes out of the encoder some tens of milliseconds longer than it
/// went in (whole AAC frames, gaps at the joins filled), in a whole encode too. The join
/// accepts what a whole encode gives and the output keeps the whole encode's sync.
#[test]
fn an_input_of_joined_clips_is_joined_like_a_whole_encode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let piece = common::fixture(
        "segments-piece.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=256x144:rate=30:duration=4",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=500:duration=4",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "30",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
        ],
    );
    let list = dir.path().join("list.txt");
    std::fs::write(&list, format!("file '{}'\n", piece.display()).repeat(8)).expect("list");
    let input = dir.path().join("joined.mp4");
    let made = std::process::Command::new("ffmpeg")
        .args([
            "-nostdin", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i",
        ])
        .arg(&list)
        .args(["-c", "copy"])
        .arg(&input)
        .status()
        .expect("ffmpeg");
    assert!(made.success());
    let encode = |name: &str, segment: Option<&str>| {
        transcode_into(dir.path(), &input, name, segment).join("joined.mp4")
    };
    let whole = encode("whole", None);
    let joined = encode("segmented", Some("4s"));
    assert_eq!(
        frames_and_duration(&joined).0,
        frames_and_duration(&whole).0
    );
    framekit::media::init_ffmpeg();
    let starts_and_ends = |path: &Path| -> Vec<(f64, f64)> {
        let ctx = ffmpeg_next::format::input(&path).expect("open");
        ctx.streams()
            .map(|s| {
                let base = f64::from(s.time_base());
                let start = s.start_time() as f64 * base;
                (start, start + s.duration() as f64 * base)
            })
            .collect()
    };
    let (w, j) = (starts_and_ends(&whole), starts_and_ends(&joined));
    assert_eq!(w.len(), 2, "video and audio");
    for (a, b) in w.iter().zip(&j) {
        assert!(
            (a.0 - b.0).abs() < 0.01 && (a.1 - b.1).abs() < 0.04,
            "the join's streams span what the whole encode's do: {w:?} vs {j:?}"
        );
    }
}
