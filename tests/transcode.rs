//! Batch transcoding through the real binary and the job table: outputs decode with the
//! expected streams, sizes and durations; a SIGKILL mid-encode loses nothing and redoes
//! nothing; two processes share a queue without running a job twice; a corrupt input fails
//! after its attempts while the others finish; an unwritable output folder fails clearly.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use ffmpeg_next as ffmpeg;
use framekit::jobs::{JobQueue, JobStatus, JobStore};

struct OutputFacts {
    width: u32,
    height: u32,
    pix_fmt: String,
    video_codec: String,
    audio: Vec<String>,
    duration: f64,
    fps: f64,
    rotated: bool,
}

fn facts(path: &Path) -> OutputFacts {
    framekit::media::init_ffmpeg();
    let input = ffmpeg::format::input(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let video = input
        .streams()
        .best(ffmpeg::media::Type::Video)
        .expect("video stream");
    let decoder = ffmpeg::codec::context::Context::from_parameters(video.parameters())
        .expect("ctx")
        .decoder()
        .video()
        .expect("decoder");
    let rotated = !framekit::media::probe::stream_orientation(&video).is_identity();
    OutputFacts {
        width: decoder.width(),
        height: decoder.height(),
        pix_fmt: framekit::media::color::pixel_format_name(decoder.format()),
        video_codec: video.parameters().id().name().to_string(),
        audio: input
            .streams()
            .filter(|s| s.parameters().medium() == ffmpeg::media::Type::Audio)
            .map(|s| s.parameters().id().name().to_string())
            .collect(),
        duration: input.duration() as f64 / 1_000_000.0,
        fps: f64::from(video.avg_frame_rate()),
        rotated,
    }
}

fn duration_of(path: &Path) -> f64 {
    framekit::media::init_ffmpeg();
    ffmpeg::format::input(&path).expect("open").duration() as f64 / 1_000_000.0
}

fn transcode(args: &[&str]) -> Output {
    common::framekit_bin()
        .arg("transcode")
        .args(args)
        .output()
        .expect("run framekit transcode")
}

fn clip(name: &str, args: &[&str]) -> PathBuf {
    common::fixture(name, args)
}

fn with_audio() -> PathBuf {
    clip(
        "tc_audio.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x240:r=25:d=3",
            "-f",
            "lavfi",
            "-i",
            "sine=f=440:d=3",
            "-f",
            "lavfi",
            "-i",
            "sine=f=660:d=3",
            "-map",
            "0",
            "-map",
            "1",
            "-map",
            "2",
            "-c:v",
            "libx264",
            "-c:a",
            "aac",
            "-shortest",
        ],
    )
}

fn without_audio() -> PathBuf {
    clip(
        "tc_silent.mkv",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x240:r=30:d=2",
            "-c:v",
            "libx264",
        ],
    )
}

fn odd_avi() -> PathBuf {
    clip(
        "tc_odd.avi",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=641x359:r=25:d=2",
            "-f",
            "lavfi",
            "-i",
            "sine=d=2",
            "-c:v",
            "mpeg4",
            "-q:v",
            "4",
            "-c:a",
            "libmp3lame",
            "-shortest",
        ],
    )
}

fn ten_bit() -> PathBuf {
    clip(
        "tc_10bit.mov",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x180:r=24:d=2",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p10le",
        ],
    )
}

/// `INPUT... -o OUT --queue QUEUE EXTRA...` as strings.
fn cli_args(inputs: &[PathBuf], out: &Path, queue: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = inputs
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    args.extend([
        "-o".to_string(),
        out.to_string_lossy().into_owned(),
        "--queue".to_string(),
    ]);
    args.push(queue.to_string_lossy().into_owned());
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

#[test]
fn outputs_have_the_expected_streams_sizes_and_durations() {
    let dir = scratch();
    let out = dir.path().join("out");
    let queue = dir.path().join("queue.sqlite");
    let rotated = common::rotated_mp4();
    let inputs = [
        with_audio(),
        without_audio(),
        odd_avi(),
        ten_bit(),
        rotated.clone(),
    ];
    let args = cli_args(&inputs, &out, &queue, &[]);
    let result = transcode(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let expect = [
        ("tc_audio.mp4", (320, 240), 2),
        ("tc_silent.mp4", (320, 240), 0),
        ("tc_odd.mp4", (640, 358), 1),
        ("tc_10bit.mp4", (320, 180), 0),
        ("rotated.mp4", (64, 32), 0),
    ];
    for ((name, size, audio), input) in expect.iter().zip(&inputs) {
        let f = facts(&out.join(name));
        assert_eq!(f.video_codec, "h264", "{name}");
        assert_eq!(f.pix_fmt, "yuv420p", "{name}");
        assert_eq!((f.width, f.height), *size, "{name}");
        assert_eq!(f.audio, vec!["aac".to_string(); *audio], "{name}");
        let want = duration_of(input);
        assert!(
            (f.duration - want).abs() <= 1.0 / f.fps + 0.1,
            "{name}: duration {} vs {want}",
            f.duration
        );
        // The output decodes to the end.
        let mut reader = framekit::media::VideoReader::open(&out.join(name), &Default::default())
            .expect("open output");
        let last = reader.frame_count() - 1;
        reader.frame(last).expect("last frame decodes");
    }
    assert!(
        facts(&out.join("rotated.mp4")).rotated,
        "rotation carried over"
    );
    let mut rotated_reader =
        framekit::media::VideoReader::open(&out.join("rotated.mp4"), &Default::default())
            .expect("open");
    let frame = rotated_reader.frame(0).expect("frame");
    assert_eq!(
        (frame.width, frame.height),
        (32, 64),
        "shown rotated like the source"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .expect("list")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no temporary files left: {leftovers:?}"
    );

    // The reference preset: fits 1280x720, 18 fps, video and audio at their bit rates.
    let result = transcode(&[
        &odd_avi().to_string_lossy(),
        "-o",
        &dir.path().join("ref").to_string_lossy(),
        "--preset",
        "reference",
        "--queue",
        &queue.to_string_lossy(),
    ]);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let f = facts(&dir.path().join("ref").join("tc_odd.mp4"));
    assert_eq!((f.width, f.height), (1280, 716));
    assert!((f.fps - 18.0).abs() < 0.01, "fps {}", f.fps);
}

#[test]
fn enqueueing_again_does_not_redo_finished_work_unless_forced() {
    let dir = scratch();
    let queue = dir.path().join("queue.sqlite");
    let out = dir.path().join("out");
    let args = [
        without_audio().to_string_lossy().into_owned(),
        "-o".into(),
        out.to_string_lossy().into_owned(),
        "--queue".into(),
        queue.to_string_lossy().into_owned(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert!(transcode(&args).status.success());
    let first = std::fs::metadata(out.join("tc_silent.mp4"))
        .expect("output")
        .modified()
        .expect("mtime");
    std::thread::sleep(Duration::from_millis(20));
    let again = transcode(&args);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already done"));
    assert_eq!(
        std::fs::metadata(out.join("tc_silent.mp4"))
            .expect("output")
            .modified()
            .expect("mtime"),
        first,
        "not redone"
    );
    let jobs = JobQueue::open(&queue).expect("queue").list().expect("list");
    assert_eq!(jobs.len(), 1, "no second job");
    let mut forced = args.clone();
    forced.push("--force");
    assert!(transcode(&forced).status.success());
    assert_ne!(
        std::fs::metadata(out.join("tc_silent.mp4"))
            .expect("output")
            .modified()
            .expect("mtime"),
        first,
        "--force redoes it"
    );
}

#[test]
fn sigkill_mid_encode_then_rerun_produces_every_output_exactly_once() {
    let dir = scratch();
    let queue = dir.path().join("queue.sqlite");
    let out = dir.path().join("out");
    let long = |name: &str, freq: &str| {
        clip(
            name,
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc2=s=480x270:r=25:d=6",
                "-f",
                "lavfi",
                "-i",
                &format!("sine=f={freq}:d=6"),
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-c:a",
                "aac",
                "-shortest",
            ],
        )
    };
    let inputs = [
        long("kill_a.mp4", "300"),
        long("kill_b.mp4", "400"),
        long("kill_c.mp4", "500"),
    ];
    // One file at a time, so the kill lands while exactly one encode runs.
    let extra = ["--preset", "hq", "--lease-seconds", "60", "--jobs", "1"];
    let args = cli_args(&inputs, &out, &queue, &extra);

    let mut child = common::framekit_bin()
        .arg("transcode")
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    // Wait until the first output is published and the second is being written, then kill.
    let mut killed_mid_encode = false;
    for _ in 0..6000 {
        let names: Vec<String> = std::fs::read_dir(&out)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        let partial = names.iter().any(|n| n.starts_with(".kill_b.mp4.framekit-"));
        if names.iter().any(|n| n == "kill_a.mp4") && partial {
            std::thread::sleep(Duration::from_millis(150));
            child.kill().expect("SIGKILL");
            killed_mid_encode = true;
            break;
        }
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.wait();
    assert!(
        killed_mid_encode,
        "the test must kill the CLI while it encodes the second file"
    );
    assert!(
        !out.join("kill_b.mp4").exists(),
        "no partial file at a final path"
    );
    let a_before = std::fs::metadata(out.join("kill_a.mp4"))
        .expect("a")
        .modified()
        .expect("mtime");
    {
        let jobs = JobQueue::open(&queue).expect("queue").list().expect("list");
        assert_eq!(
            jobs.iter()
                .filter(|j| j.status == JobStatus::Processing)
                .count(),
            1,
            "the killed job is still leased"
        );
    }

    let rerun = transcode(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        rerun.status.success(),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );
    let jobs = JobQueue::open(&queue).expect("queue").list().expect("list");
    assert!(
        jobs.iter().all(|j| j.status == JobStatus::Succeeded),
        "{jobs:?}"
    );
    let attempts: Vec<i64> = jobs.iter().map(|j| j.attempts).collect();
    assert_eq!(
        attempts,
        vec![1, 2, 1],
        "a ran once, b was reclaimed once, c ran once"
    );
    assert_eq!(
        std::fs::metadata(out.join("kill_a.mp4"))
            .expect("a")
            .modified()
            .expect("mtime"),
        a_before,
        "finished work not redone"
    );
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .expect("list")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec!["kill_a.mp4", "kill_b.mp4", "kill_c.mp4"],
        "each output once, no temporary files left"
    );
    for (name, input) in names.iter().zip(&inputs) {
        let frames = framekit::MediaSource::open(input, &framekit::OpenOptions::default())
            .expect("input")
            .frame_count() as u64;
        assert!(
            framekit::transcode::verify_output(input, &out.join(name), Some(frames)).is_ok(),
            "{name} is complete"
        );
        let error = framekit::transcode::verify_output(input, &out.join(name), Some(frames + 2))
            .expect_err("a frame count that does not match fails the check");
        assert!(
            error.to_string().contains(&format!(
                "holds {frames} video frames, the input decodes to {}",
                frames + 2
            )),
            "{error}"
        );
    }
}

#[test]
fn two_processes_on_one_queue_run_every_job_once() {
    let dir = scratch();
    let queue = dir.path().join("queue.sqlite");
    let out = dir.path().join("out");
    let inputs: Vec<PathBuf> = (0..4)
        .map(|i| {
            clip(
                &format!("pair_{i}.mp4"),
                &[
                    "-f",
                    "lavfi",
                    "-i",
                    &format!("testsrc2=s=320x240:r=25:d={}", 2 + i),
                    "-c:v",
                    "libx264",
                    "-preset",
                    "ultrafast",
                ],
            )
        })
        .collect();
    let mut args = vec!["transcode".to_string()];
    args.extend(cli_args(&inputs, &out, &queue, &[]));
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_framekit"))
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let (first, second) = (spawn(), spawn());
    let (first, second) = (
        first.wait_with_output().expect("first"),
        second.wait_with_output().expect("second"),
    );
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let jobs = JobQueue::open(&queue).expect("queue").list().expect("list");
    assert_eq!(jobs.len(), 4);
    assert!(
        jobs.iter()
            .all(|j| j.status == JobStatus::Succeeded && j.attempts == 1),
        "{jobs:?}"
    );
    let started = |o: &Output| {
        String::from_utf8_lossy(&o.stderr)
            .lines()
            .filter(|l| l.starts_with("started"))
            .count()
    };
    assert_eq!(
        started(&first) + started(&second),
        4,
        "each job started exactly once across both processes"
    );
}

#[test]
fn corrupt_input_fails_after_its_attempts_and_the_others_finish() {
    let dir = scratch();
    let queue = dir.path().join("queue.sqlite");
    let out = dir.path().join("out");
    let broken = dir.path().join("broken.avi");
    let noise: Vec<u8> = (0..50_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    std::fs::write(&broken, noise).expect("write");
    // No video stream: retrying cannot help, so it fails after one attempt.
    let audio_only = clip(
        "tc_audio_only.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=1",
            "-c:a",
            "aac",
        ],
    );
    let result = transcode(&[
        &without_audio().to_string_lossy(),
        &broken.to_string_lossy(),
        &audio_only.to_string_lossy(),
        &ten_bit().to_string_lossy(),
        "-o",
        &out.to_string_lossy(),
        "--queue",
        &queue.to_string_lossy(),
        "--retry-ms",
        "20",
    ]);
    assert_eq!(
        result.status.code(),
        Some(1),
        "a failed job makes the exit code non-zero"
    );
    let jobs = JobQueue::open(&queue).expect("queue").list().expect("list");
    let broken_job = jobs
        .iter()
        .find(|j| j.input.ends_with("broken.avi"))
        .expect("job");
    assert_eq!(broken_job.status, JobStatus::Failed);
    assert_eq!(broken_job.attempts, 3);
    let error = broken_job.last_error.clone().unwrap_or_default();
    assert!(
        error.contains("broken.avi") && error.contains("cannot open"),
        "{error}"
    );
    let audio_job = jobs
        .iter()
        .find(|j| j.input.ends_with("tc_audio_only.mp4"))
        .expect("job");
    assert_eq!(
        (audio_job.status, audio_job.attempts),
        (JobStatus::Failed, 1),
        "a permanent error fails at once"
    );
    let error = audio_job.last_error.clone().unwrap_or_default();
    assert!(
        error.contains("tc_audio_only.mp4") && error.contains("no video stream"),
        "{error}"
    );
    assert!(
        jobs.iter()
            .filter(|j| j.id != broken_job.id && j.id != audio_job.id)
            .all(|j| j.status == JobStatus::Succeeded)
    );
    assert!(out.join("tc_silent.mp4").exists() && out.join("tc_10bit.mp4").exists());
    assert!(!out.join("broken.mp4").exists());
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(stdout.contains("2 succeeded, 2 failed"), "{stdout}");
}

#[test]
fn an_existing_output_fails_once_before_any_encoding_and_is_kept() {
    let dir = scratch();
    let queue = dir.path().join("queue.sqlite");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("mkdir");
    let existing = out.join("tc_silent.mp4");
    std::fs::write(&existing, b"someone else's file").expect("write");
    let result = transcode(&[
        &without_audio().to_string_lossy(),
        "-o",
        &out.to_string_lossy(),
        "--queue",
        &queue.to_string_lossy(),
        "--retry-ms",
        "20",
    ]);
    assert_eq!(result.status.code(), Some(1));
    let jobs = JobQueue::open(&queue).expect("queue").list().expect("list");
    assert_eq!((jobs[0].status, jobs[0].attempts), (JobStatus::Failed, 1));
    let error = jobs[0].last_error.clone().unwrap_or_default();
    assert!(error.contains("output already exists"), "{error}");
    assert_eq!(
        std::fs::read(&existing).expect("kept"),
        b"someone else's file"
    );
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        !stderr.contains("progress"),
        "nothing was encoded before the clash was found: {stderr}"
    );
}

#[test]
fn unwritable_output_folder_fails_clearly_and_loses_nothing() {
    let dir = scratch();
    let queue = dir.path().join("queue.sqlite");
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, b"a file where the output folder should be").expect("write");
    let input = without_audio();
    let before = std::fs::read(&input).expect("input");
    let result = transcode(&[
        &input.to_string_lossy(),
        "-o",
        &blocker.join("out").to_string_lossy(),
        "--queue",
        &queue.to_string_lossy(),
        "--retry-ms",
        "20",
    ]);
    assert_eq!(result.status.code(), Some(1));
    let jobs = JobQueue::open(&queue).expect("queue").list().expect("list");
    let error = jobs[0].last_error.clone().unwrap_or_default();
    assert!(error.contains("cannot create the output folder"), "{error}");
    assert_eq!(
        std::fs::read(&input).expect("input"),
        before,
        "the input is untouched"
    );
    assert_eq!(
        std::fs::read(&blocker).expect("blocker"),
        b"a file where the output folder should be"
    );
    assert!(
        String::from_utf8_lossy(&result.stderr)
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("framekit: 1 of 1 jobs failed"))
    );
}

#[test]
fn sigint_and_sigterm_put_running_jobs_back_and_exit_130_and_143() {
    let input = clip(
        "signal_src.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=640x360:r=25:d=8",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        ],
    );
    for (signal, code) in [(libc::SIGINT, 130), (libc::SIGTERM, 143)] {
        let dir = scratch();
        let queue = dir.path().join("queue.sqlite");
        let out = dir.path().join("out");
        let args = cli_args(
            std::slice::from_ref(&input),
            &out,
            &queue,
            &["--preset", "hq", "--jobs", "1"],
        );
        let child = common::framekit_bin()
            .arg("transcode")
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        let pid = child.id() as libc::pid_t;
        let mut signalled = false;
        for _ in 0..3000 {
            let encoding = std::fs::read_dir(&out).is_ok_and(|d| {
                d.filter_map(|e| e.ok())
                    .any(|e| e.file_name().to_string_lossy().contains(".framekit-"))
            });
            if encoding {
                std::thread::sleep(Duration::from_millis(200));
                // SAFETY: signalling our own running child.
                unsafe { libc::kill(pid, signal) };
                signalled = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(signalled, "the encode never started");
        let output = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "{stderr}");
        assert!(
            stderr
                .lines()
                .last()
                .is_some_and(|l| l.starts_with("framekit: interrupted")),
            "{stderr}"
        );
        let left: Vec<String> = std::fs::read_dir(&out)
            .expect("out")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(left.is_empty(), "no temporary or partial files: {left:?}");
        let jobs = JobQueue::open(&queue).expect("queue").list().expect("list");
        assert_eq!(
            (jobs[0].status, jobs[0].attempts),
            (JobStatus::Pending, 0),
            "back to pending, the attempt not counted"
        );
        let rerun = transcode(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(
            rerun.status.success(),
            "{}",
            String::from_utf8_lossy(&rerun.stderr)
        );
        let jobs = JobQueue::open(&queue).expect("queue").list().expect("list");
        assert_eq!(
            (jobs[0].status, jobs[0].attempts),
            (JobStatus::Succeeded, 1)
        );
    }
}

/// Ten frames, then ten more ten hours later: libx264 shifts the first frames before zero and
/// the MP4 edit list hides them (the ffmpeg CLI does the same with `-fps_mode passthrough`),
/// so the output would show 18 of 20 frames with the right duration. The check counts the
/// frames a player shows and refuses to publish it.
#[test]
fn a_ten_hour_timestamp_gap_that_loses_frames_is_not_published() {
    let gap = clip(
        "tc_gap.mkv",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x240:r=25:d=0.8",
            "-vf",
            "setpts='PTS+if(gte(N,10),36000/TB,0)'",
            "-fps_mode",
            "passthrough",
            "-c:v",
            "libx264",
            "-g",
            "5",
        ],
    );
    let dir = scratch();
    let queue = dir.path().join("queue.sqlite");
    let out = dir.path().join("out");
    let result = transcode(&[
        &gap.to_string_lossy(),
        "-o",
        &out.to_string_lossy(),
        "--queue",
        &queue.to_string_lossy(),
        "--retry-ms",
        "10",
    ]);
    let frames = framekit::MediaSource::open(&gap, &framekit::OpenOptions::default())
        .expect("open")
        .frame_count();
    assert_eq!(frames, 20);
    if result.status.success() {
        let shown = framekit::MediaSource::open(&out.join("tc_gap.mp4"), &Default::default())
            .expect("output")
            .frame_count();
        assert_eq!(shown, 20, "a published output shows every frame");
    } else {
        let jobs = JobQueue::open(&queue).expect("queue").list().expect("list");
        let error = jobs[0].last_error.clone().unwrap_or_default();
        assert!(
            error.contains("video frames, the input decodes to 20"),
            "{error}"
        );
        assert!(!out.join("tc_gap.mp4").exists(), "nothing published");
    }
}

#[test]
fn running_in_place_twice_never_transcodes_its_own_outputs_or_follows_link_cycles() {
    let dir = scratch();
    let queue = dir.path().join("queue.sqlite");
    let folder = dir.path().join("d");
    std::fs::create_dir_all(folder.join("a")).expect("mkdir");
    std::fs::copy(without_audio(), folder.join("s1.mov")).expect("copy");
    std::os::unix::fs::symlink(".", folder.join("self")).expect("link");
    std::os::unix::fs::symlink("..", folder.join("a").join("up")).expect("link");
    for run in 1..=2 {
        let result = transcode(&[
            &folder.to_string_lossy(),
            "--queue",
            &queue.to_string_lossy(),
        ]);
        assert!(
            result.status.success(),
            "run {run}: {}",
            String::from_utf8_lossy(&result.stderr)
        );
    }
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .expect("list")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, vec!["a", "s1.mov", "s1.mp4", "self"]);
    let jobs = JobQueue::open(&queue).expect("queue").list().expect("list");
    assert_eq!(jobs.len(), 1, "one job: {jobs:?}");
}

// The library's transcode run (`batch::TranscodeRun`, what `framekit transcode` and the app's
// panel drive), tested as a handle without a UI or a process.

/// Every event of `run` up to and including `Done`; `on_event` sees each as it comes.
fn drain_run(
    run: &framekit::batch::TranscodeRun,
    mut on_event: impl FnMut(&framekit::batch::RunEvent),
) -> Vec<framekit::batch::RunEvent> {
    let mut events = Vec::new();
    loop {
        let event = run
            .events()
            .recv_timeout(Duration::from_secs(120))
            .expect("the run reports within two minutes");
        on_event(&event);
        let done = matches!(event, framekit::batch::RunEvent::Done(_));
        events.push(event);
        if done {
            return events;
        }
    }
}

fn run_plan(queue: &Path, files: &[PathBuf], out: &Path) -> framekit::batch::RunPlan {
    let location = framekit::jobs::QueueLocation::Sqlite(queue.to_path_buf());
    let mut plan = framekit::batch::RunPlan::new(location);
    let (accepted, refused) = framekit::batch::inputs::check_inputs(files);
    assert!(refused.is_empty(), "{refused:?}");
    plan.files = accepted;
    plan.out = Some(out.to_path_buf());
    plan.refusals = framekit::batch::Refusals::Report;
    plan
}

#[test]
fn a_transcode_run_enqueues_runs_and_reports_typed_events_in_order() {
    use framekit::batch::{JobEvent, RunEvent, TranscodeRun};
    let dir = scratch();
    let out = dir.path().join("out");
    let clip = common::tiny_clip();
    let plan = run_plan(
        &dir.path().join("q.sqlite"),
        std::slice::from_ref(&clip),
        &out,
    );
    let run = TranscodeRun::spawn(plan, || {}).expect("spawn");
    let events = drain_run(&run, |_| {});
    let kinds: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            RunEvent::Taken(paths) => {
                assert_eq!(paths, &vec![clip.clone()]);
                Some("taken")
            }
            RunEvent::Queued { jobs, ids, .. } => {
                assert_eq!(jobs.as_ref().map(Vec::len), Some(1));
                assert_eq!(ids.len(), 1);
                Some("queued")
            }
            RunEvent::Job(JobEvent::Started { .. }) => Some("started"),
            RunEvent::Job(JobEvent::Succeeded { .. }) => Some("succeeded"),
            RunEvent::Done(Ok(())) => Some("done"),
            RunEvent::Done(Err(e)) => panic!("the run failed: {e}"),
            RunEvent::Refused(path, why) => panic!("{} refused: {why}", path.display()),
            RunEvent::Job(_) => None,
        })
        .collect();
    assert_eq!(kinds, ["taken", "queued", "started", "succeeded", "done"]);
    assert!(out.join("tiny.mp4").exists(), "the output is published");
}

#[test]
fn a_transcode_run_cancels_one_job_and_stops_all_on_request() {
    use framekit::batch::{JobEvent, RunEvent, TranscodeRun};
    let dir = scratch();
    let queue = dir.path().join("q.sqlite");
    let clip = with_audio();

    // Cancel: the job stops, is recorded as cancelled, and the run ends well.
    let plan = run_plan(&queue, std::slice::from_ref(&clip), &dir.path().join("a"));
    let run = TranscodeRun::spawn(plan, || {}).expect("spawn");
    let events = drain_run(&run, |event| {
        if let RunEvent::Job(JobEvent::Started { id, .. }) = event {
            run.cancel(*id);
        }
    });
    assert!(
        events
            .iter()
            .any(|e| matches!(e, RunEvent::Job(JobEvent::Cancelled { .. }))),
        "the job was cancelled"
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, RunEvent::Job(JobEvent::Failed { .. }))),
        "a cancelled job is not reported failed"
    );
    assert!(matches!(events.last(), Some(RunEvent::Done(Ok(())))));
    let jobs = JobQueue::open(&queue).expect("queue").list().expect("list");
    assert_eq!(jobs[0].status, JobStatus::Cancelled);
    assert_eq!(jobs[0].last_error, None);

    // Stop all: the running job goes back to pending and resumes next time.
    let plan = run_plan(&queue, std::slice::from_ref(&clip), &dir.path().join("b"));
    let run = TranscodeRun::spawn(plan, || {}).expect("spawn");
    let events = drain_run(&run, |event| {
        if let RunEvent::Job(JobEvent::Started { .. }) = event {
            run.stop_all();
        }
    });
    assert!(
        events
            .iter()
            .any(|e| matches!(e, RunEvent::Job(JobEvent::Released { .. }))),
        "the job was released"
    );
    let jobs = JobQueue::open(&queue).expect("queue").list().expect("list");
    assert_eq!(jobs[1].status, JobStatus::Pending);
    assert!(!dir.path().join("b").join("tc_audio.mp4").exists());
}

#[test]
fn a_transcode_run_ends_with_typed_errors() {
    use framekit::batch::{BatchError, RunError, RunEvent, RunPlan, TranscodeRun};
    let dir = scratch();
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let mut plan = RunPlan::new(framekit::jobs::QueueLocation::Sqlite(
        dir.path().join("q.sqlite"),
    ));
    plan.walk = vec![empty];
    let run = TranscodeRun::spawn(plan, || {}).expect("spawn");
    let events = drain_run(&run, |_| {});
    assert!(matches!(
        events.as_slice(),
        [RunEvent::Done(Err(RunError::Batch(BatchError::NoVideos(
            _
        ))))]
    ));

    // A queue that cannot be opened ends the run before anything is enqueued.
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"x").expect("write");
    let mut plan = RunPlan::new(framekit::jobs::QueueLocation::Sqlite(
        blocker.join("q.sqlite"),
    ));
    plan.files = framekit::batch::inputs::check_inputs(&[common::tiny_clip()]).0;
    let run = TranscodeRun::spawn(plan, || {}).expect("spawn");
    let events = drain_run(&run, |_| {});
    assert!(matches!(
        events.as_slice(),
        [RunEvent::Done(Err(RunError::Jobs(_)))]
    ));
}

/// An MPEG-TS whose clock starts at 10 s (as broadcast captures do): the output starts at 0
/// and lasts as long as the input, its audio still in step with its video.
#[test]
fn a_transport_stream_whose_clock_starts_late_keeps_its_length_and_sync() {
    let source = with_audio();
    let ts = clip(
        "tc_late_clock.ts",
        &[
            "-i",
            source.to_str().expect("utf-8"),
            "-map",
            "0:v",
            "-map",
            "0:a:0",
            "-c",
            "copy",
            "-output_ts_offset",
            "10",
            "-f",
            "mpegts",
        ],
    );
    let dir = scratch();
    let out = dir.path().join("out");
    let queue = dir.path().join("queue.sqlite");
    let args = cli_args(std::slice::from_ref(&ts), &out, &queue, &[]);
    let result = transcode(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let output = out.join("tc_late_clock.mp4");
    let (input_duration, output_duration) = (duration_of(&ts), duration_of(&output));
    assert!(
        (output_duration - input_duration).abs() < 0.1,
        "output {output_duration} s, input {input_duration} s"
    );
    framekit::media::init_ffmpeg();
    let opened = ffmpeg::format::input(&output).expect("open output");
    let starts: Vec<f64> = opened
        .streams()
        .map(|s| s.start_time() as f64 * f64::from(s.time_base()))
        .collect();
    assert_eq!(starts.len(), 2, "video and audio");
    for start in &starts {
        assert!(*start < 0.1, "streams start near 0: {starts:?}");
    }
    assert!(
        (starts[0] - starts[1]).abs() < 0.05,
        "audio in step with video: {starts:?}"
    );
}

#[test]
fn the_inputs_facts_come_from_one_open_and_the_sync_check_catches_shifted_audio() {
    use framekit::transcode::SourceFacts;
    // Frames from the MP4 sample table and from a Matroska demux pass, as a player counts them.
    for clip in [common::h264_mp4(), common::h264_mkv()] {
        let facts = SourceFacts::read(&clip, true).expect("facts");
        let frames = framekit::MediaSource::open(&clip, &framekit::OpenOptions::default())
            .expect("open")
            .frame_count() as u64;
        assert_eq!(facts.video_frames, Some(frames), "{}", clip.display());
        assert!(facts.duration_seconds.is_some_and(|d| d > 4.0));
        assert_eq!(
            SourceFacts::read(&clip, false).expect("facts").video_frames,
            None
        );
    }
    let clip = common::h264_mp4();
    let facts = SourceFacts::read(&clip, false).expect("facts");
    assert_eq!(facts.audio_streams, 1);
    assert!(facts.spans.is_some(), "video and audio spans");

    // The same streams with the audio 0.5 s late: the check against the input says so.
    let dir = tempfile::tempdir().expect("tempdir");
    let shifted = dir.path().join("shifted.mp4");
    common::succeed(std::process::Command::new("ffmpeg").args([
        "-v",
        "error",
        "-i",
        &clip.to_string_lossy(),
        "-itsoffset",
        "0.5",
        "-i",
        &clip.to_string_lossy(),
        "-map",
        "0:v",
        "-map",
        "1:a",
        "-c",
        "copy",
        &shifted.to_string_lossy(),
    ]));
    let tolerance = framekit::transcode::join::SYNC_TOLERANCE;
    let same = framekit::transcode::join::check_sync_against(facts.spans, &clip, tolerance)
        .expect("in sync with itself");
    assert!(same < 1e-6, "{same}");
    let error = framekit::transcode::join::check_sync_against(facts.spans, &shifted, tolerance)
        .expect_err("shifted audio");
    assert!(error.to_string().contains("out of sync"), "{error}");
}
