//! `make bench`: framekit against the `ffmpeg` command line on the same files, as ratios.
//!
//! - frames: `framekit frames --ids ...` (exact) against `ffmpeg -ss` (by time, not exact) and
//!   `ffmpeg -vf select=eq(n,...)` (exact, sequential) on a 1080p H.264 clip;
//! - PNG: encode time and size of a 1080p frame, fast against zlib-default setting; base64;
//!   the paste path (base64 + PNG decode); Python's cv2 when it is installed;
//! - app: random seek and step-back latency on the decoder thread, median and p95.
//!
//! - fleet: claim throughput (no-op jobs/s) with 1 and 8 workers on PostgreSQL (a throw-away
//!   cluster) and SQLite; a batch of four clips on 2 worker processes against 1.
//!
//! Medians of several runs; nothing here is asserted, it is printed.

#[path = "support.rs"]
mod support;
use support::{bench_dir, ffmpeg};

#[path = "../tests/common/pg.rs"]
#[allow(dead_code)]
mod pg;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use framekit::codec::{self, DecodeLimits, PngSpeed};
use framekit::media::{OpenOptions, VideoReader};
use framekit::player::scopes::{PLAYING_RATE, ScopeRequest, ScopeSide, ScopeWorker, sample_step};
use framekit::player::{Player, PlayerOptions, Reply, Request};

const RUNS: usize = 7;
/// Rounds of the dataset comparison (each round times both sides back to back).
const DATASET_ROUNDS: usize = 3;

/// `name` in the bench folder, made once with `ffmpeg <args> <temp>` and moved into place.
fn generated_clip(name: &str, args: &[&str]) -> PathBuf {
    let path = bench_dir().join(name);
    if !path.exists() {
        let temp = bench_dir().join(format!("partial-{name}"));
        let mut full: Vec<&str> = args.to_vec();
        full.extend(["-f", "mp4", temp.to_str().expect("utf8 path")]);
        ffmpeg(&full);
        std::fs::rename(&temp, &path).expect("rename");
    }
    path
}

/// 1080p H.264, 30 fps, 10 s (300 frames), GOP 60, B-frames, AAC.
#[rustfmt::skip]
fn clip_1080p() -> PathBuf {
    generated_clip("clip1080.mp4", &[
        "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30:duration=10",
        "-f", "lavfi", "-i", "sine=frequency=440:duration=10",
        "-c:v", "libx264", "-preset", "fast", "-crf", "20", "-g", "60", "-keyint_min", "60",
        "-sc_threshold", "0", "-bf", "3", "-pix_fmt", "yuv420p", "-c:a", "aac",
    ])
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn median_f64(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn percentile(mut samples: Vec<Duration>, p: f64) -> Duration {
    samples.sort();
    let at = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[at]
}

fn run_timed(program: &str, args: &[String]) -> Duration {
    let start = Instant::now();
    let output = Command::new(program).args(args).output().expect("run");
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    start.elapsed()
}

/// Median wall time of `RUNS` runs of one command.
fn time_command(program: &str, args: &[String]) -> Duration {
    median((0..RUNS).map(|_| run_timed(program, args)).collect())
}

fn ms(d: Duration) -> String {
    format!("{:8.1} ms", d.as_secs_f64() * 1000.0)
}

fn bench_frames(clip: &Path) {
    println!(
        "\n== frames: framekit (exact) vs ffmpeg CLI, 1080p H.264 GOP 60 with B-frames, median of {RUNS}"
    );
    let reader = VideoReader::open(clip, &OpenOptions::default()).expect("open clip");
    let times: Vec<f64> = (0..reader.frame_count())
        .map(|i| reader.frame_time(i).unwrap_or(0.0))
        .collect();
    drop(reader);
    let out_dir = bench_dir().join("frames-out");
    std::fs::create_dir_all(&out_dir).expect("out dir");
    let clip_arg = clip.to_string_lossy().into_owned();
    println!(
        "{:<14} {:>11} {:>14} {:>16} {:>10} {:>12}",
        "ids", "framekit", "ffmpeg -ss", "ffmpeg select", "vs -ss", "vs select"
    );
    for ids in ["150", "1,30", "1,150,299"] {
        let list: Vec<usize> = ids.split(',').map(|s| s.parse().expect("id")).collect();
        let framekit = time_command(
            env!("CARGO_BIN_EXE_framekit"),
            &[
                "frames".into(),
                clip_arg.clone(),
                "--ids".into(),
                ids.into(),
            ],
        );
        // -ss: one invocation per id (each seeks by time; not frame-exact in general).
        let seek: Duration = list
            .iter()
            .map(|id| {
                let out = out_dir
                    .join(format!("ss_{id}.png"))
                    .to_string_lossy()
                    .into_owned();
                let args: Vec<String> = [
                    "-nostdin",
                    "-v",
                    "error",
                    "-y",
                    "-ss",
                    &format!("{:.6}", times[id - 1]),
                    "-i",
                    &clip_arg,
                    "-frames:v",
                    "1",
                    &out,
                ]
                .iter()
                .map(|s| s.to_string())
                .collect();
                time_command("ffmpeg", &args)
            })
            .sum();
        let expr: Vec<String> = list
            .iter()
            .map(|id| format!("eq(n\\,{})", id - 1))
            .collect();
        let out = out_dir.join("select_%d.png").to_string_lossy().into_owned();
        let select_args: Vec<String> = [
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-i",
            &clip_arg,
            "-vf",
            &format!("select='{}'", expr.join("+")),
            "-fps_mode",
            "passthrough",
            "-frames:v",
            &list.len().to_string(),
            &out,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let select = time_command("ffmpeg", &select_args);
        println!(
            "{:<14} {} {} {} {:>9.2}x {:>11.2}x",
            ids,
            ms(framekit),
            ms(seek),
            ms(select),
            seek.as_secs_f64() / framekit.as_secs_f64(),
            select.as_secs_f64() / framekit.as_secs_f64()
        );
    }
    println!(
        "(ratios > 1 mean framekit is faster; framekit's time includes its index pass, PNG and base64)"
    );
}

fn time_it<T>(runs: usize, mut work: impl FnMut() -> T) -> (Duration, T) {
    let mut samples = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        last = Some(work());
        samples.push(start.elapsed());
    }
    (median(samples), last.expect("at least one run"))
}

fn bench_png(clip: &Path) {
    println!("\n== PNG + base64 for one 1080p frame, median of {RUNS}");
    let mut reader = VideoReader::open(clip, &OpenOptions::default()).expect("open");
    let frame = reader.frame(149).expect("frame 150");
    let (fast_time, fast_png) = time_it(RUNS, || {
        codec::encode_png_with(&frame, PngSpeed::Fast).expect("png")
    });
    let (compact_time, compact_png) = time_it(RUNS, || {
        codec::encode_png_with(&frame, PngSpeed::Compact).expect("png")
    });
    println!(
        "encode fast (used)      {}  {:>6.2} MB",
        ms(fast_time),
        fast_png.len() as f64 / 1e6
    );
    println!(
        "encode zlib default     {}  {:>6.2} MB",
        ms(compact_time),
        compact_png.len() as f64 / 1e6
    );
    let (b64_time, text) = time_it(RUNS, || codec::to_base64(&fast_png));
    println!(
        "base64 encode           {}  {:>6.2} MB text",
        ms(b64_time),
        text.len() as f64 / 1e6
    );
    let (decode_time, _) = time_it(RUNS, || {
        codec::decode_base64_images(&text, &DecodeLimits::default()).expect("decode")
    });
    println!("paste: base64 + decode  {}", ms(decode_time));
    let total = fast_time + b64_time;
    println!("framekit encode total   {}", ms(total));

    let png_path = bench_dir().join("frame150.png");
    std::fs::write(&png_path, &fast_png).expect("write png");
    let script = format!(
        "import cv2, base64, time, statistics\n\
         img = cv2.imread({path:?})\n\
         enc, dec = [], []\n\
         for _ in range({RUNS}):\n\
         \u{20}   t = time.perf_counter(); ok, buf = cv2.imencode('.png', img); s = base64.b64encode(buf).decode(); enc.append(time.perf_counter() - t)\n\
         \u{20}   t = time.perf_counter(); import numpy as np; cv2.imdecode(np.frombuffer(base64.b64decode(s), dtype=np.uint8), 1); dec.append(time.perf_counter() - t)\n\
         print(f'{{statistics.median(enc)*1000:.1f}} {{statistics.median(dec)*1000:.1f}} {{len(s)/1e6:.2f}}')\n",
        path = png_path.to_string_lossy()
    );
    match Command::new("python3").args(["-c", &script]).output() {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            let parts: Vec<f64> = text
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect();
            if let [enc, dec, size] = parts[..] {
                println!(
                    "python cv2.imencode + b64encode {enc:8.1} ms  {size:.2} MB text   (framekit {:.2}x faster)",
                    enc / (total.as_secs_f64() * 1000.0)
                );
                println!(
                    "python b64decode + cv2.imdecode {dec:8.1} ms               (framekit {:.2}x faster)",
                    dec / (decode_time.as_secs_f64() * 1000.0)
                );
            }
        }
        _ => println!(
            "python cv2 column skipped: Python with OpenCV (cv2) is not installed on this machine"
        ),
    }
}

fn wait_for_frame(decoder: &Player<()>, index: usize) -> Duration {
    let start = Instant::now();
    loop {
        match decoder.try_recv().expect("decoder alive") {
            Some(Reply::Frame(ready)) if ready.index == index && ready.exact => {
                return start.elapsed();
            }
            Some(Reply::Failed { error, .. }) => panic!("player failed: {error}"),
            Some(_) => {}
            None => std::thread::sleep(Duration::from_micros(200)),
        }
    }
}

fn bench_app_seeks(clip: &Path) {
    println!(
        "\n== player (the app's engine, no GUI): request -> exact frame ready (1080p, includes RGB conversion)"
    );
    let decoder: Player<()> = Player::spawn(PlayerOptions::default(), || {});
    decoder
        .send(Request::Open(clip.to_path_buf()))
        .expect("open");
    loop {
        if let Some(Reply::Opened { .. }) = decoder.try_recv().expect("alive") {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let count = 300usize;
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut random = Vec::new();
    let mut back = Vec::new();
    for _ in 0..30 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let index = 1 + (state % (count as u64 - 1)) as usize;
        decoder.send(Request::Show { frame: index }).expect("show");
        random.push(wait_for_frame(&decoder, index));
        // Give the idle prefetch time to fill the GOP behind the playhead, as a user would.
        std::thread::sleep(Duration::from_millis(600));
        decoder
            .send(Request::Show { frame: index - 1 })
            .expect("show");
        back.push(wait_for_frame(&decoder, index - 1));
    }
    println!(
        "random seek   median {}   p95 {}",
        ms(median(random.clone())),
        ms(percentile(random, 0.95))
    );
    println!(
        "step back 1   median {}   p95 {}",
        ms(median(back.clone())),
        ms(percentile(back, 0.95))
    );
}

/// The app's engine driven the way the UI drives it, one UI frame every 16.7 ms: each tick
/// sends the frame the UI wants (latest wins) and keeps the newest reply, as `logic()` does.
struct UiSimulation {
    player: Player<egui::ColorImage>,
    started: Instant,
    /// The frame on screen and whether it is exact.
    shown: Option<(usize, bool)>,
    /// Whether the frame on screen is at full size (not converted for the view).
    shown_full: bool,
    requested: Option<usize>,
    /// While playing, the view the frames are shown in (the app's `Request::ShowAt`).
    fit: Option<(u32, u32)>,
    /// The video's colour, for scope requests.
    color: Option<framekit::media::probe::ColorInfo>,
    /// With the scopes panel open: its worker, fed as the app feeds it while playing
    /// (`PLAYING_RATE`, `sample_step`), the time of the last request and how many scopes
    /// came back.
    scopes: Option<(ScopeWorker<egui::ColorImage>, Duration, usize)>,
}

const UI_TICK: Duration = Duration::from_micros(16_667);

impl UiSimulation {
    fn open(clip: &Path) -> UiSimulation {
        let player: Player<egui::ColorImage> = Player::spawn(
            PlayerOptions {
                filmstrip: true,
                ..PlayerOptions::default()
            },
            || {},
        );
        player
            .send(Request::Open(clip.to_path_buf()))
            .expect("open");
        let mut sim = UiSimulation {
            player,
            started: Instant::now(),
            shown: None,
            shown_full: false,
            requested: None,
            fit: None,
            color: None,
            scopes: None,
        };
        loop {
            if let Some(Reply::Opened { info, .. }) = sim.player.try_recv().expect("alive") {
                sim.color = info.video.map(|v| v.color);
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        sim.request(0);
        while sim.shown != Some((0, true)) {
            sim.tick();
        }
        // Let the idle prefetch settle, as a user looking at the first frame would.
        std::thread::sleep(Duration::from_millis(800));
        sim.tick();
        sim.started = Instant::now();
        sim
    }

    fn request(&mut self, frame: usize) {
        if self.requested != Some(frame) {
            let request = match self.fit {
                Some(fit) => Request::ShowAt { frame, fit },
                None => Request::Show { frame },
            };
            self.player.send(request).expect("show");
            self.requested = Some(frame);
        }
    }

    /// One UI frame: drain the replies, keep the newest frame; sleep to the next tick.
    /// Returns the frame shown now if it changed.
    fn tick(&mut self) -> Option<(usize, bool)> {
        let mut newest = None;
        let mut newest_ready = None;
        while let Some(reply) = self.player.try_recv().expect("alive") {
            if let Reply::Frame(ready) = reply {
                newest = Some((ready.index, ready.exact));
                self.shown_full = !ready.is_reduced();
                newest_ready = Some(ready);
            }
        }
        if let (Some((worker, last, drawn)), Some(ready), Some(color)) =
            (&mut self.scopes, newest_ready, &self.color)
        {
            while let Ok(Some(reply)) = worker.try_recv() {
                if matches!(reply, framekit::player::scopes::ScopeReply::Ready(_)) {
                    *drawn += 1;
                }
            }
            let now = self.started.elapsed();
            if let Some(samples) = ready.samples.clone()
                && now.saturating_sub(*last) >= Duration::from_secs_f64(1.0 / PLAYING_RATE)
            {
                *last = now;
                let sample_step = sample_step(&samples, true);
                let _ = worker.send(ScopeRequest {
                    side: ScopeSide::A,
                    samples,
                    shown: ready.frame.clone(),
                    planes: None,
                    decision: color.used,
                    hdr: color.tagged.hdr,
                    sample_step,
                });
            }
        }
        let elapsed = self.started.elapsed();
        let next = UI_TICK * (elapsed.as_micros() / UI_TICK.as_micros() + 1) as u32;
        std::thread::sleep(next.saturating_sub(elapsed));
        match newest {
            Some(frame) if Some(frame) != self.shown => {
                self.shown = Some(frame);
                Some(frame)
            }
            _ => None,
        }
    }
}

/// Held Right (25 presses a second), playback at the clip's rate, a timeline drag.
/// A 3 s, 30 fps HEVC 10-bit test pattern of `size` (x265 ultrafast), with `extra` output
/// arguments (colour tags).
fn hevc10_clip(name: &str, size: &str, extra: &[&str]) -> PathBuf {
    let source = format!("testsrc2=size={size}:rate=30:duration=3");
    let mut args = vec![
        "-f",
        "lavfi",
        "-i",
        &source,
        "-c:v",
        "libx265",
        "-preset",
        "ultrafast",
        "-x265-params",
        "log-level=error",
        "-pix_fmt",
        "yuv420p10le",
    ];
    args.extend_from_slice(extra);
    generated_clip(name, &args)
}

/// The 1080p HLG clip of the viewer-pace part.
fn clip_1080p_hlg() -> PathBuf {
    hevc10_clip(
        "clip1080_hlg.mkv",
        "1920x1080",
        &[
            "-color_primaries",
            "bt2020",
            "-color_trc",
            "arib-std-b67",
            "-colorspace",
            "bt2020nc",
        ],
    )
}

/// Tone mapping one decoded 1080p HLG frame: libavfilter's zscale + tonemap graph against
/// the lookup tables (median of 20 frames each; decoding is not counted).
fn bench_tone_map() {
    use framekit::media::tonemap::{Peak, SourceTags, ToneMapper};
    println!("\n== tone map: one 1080p HLG frame to SDR BT.709 (decode not counted)");
    let clip = clip_1080p_hlg();
    let mut reader = VideoReader::open(&clip, &OpenOptions::default()).expect("open HLG clip");
    let frames: Vec<_> = (0..20)
        .map(|i| reader.decoded(i).expect("decode"))
        .collect();
    let tags = |frame: &ffmpeg_next::frame::Video| SourceTags {
        space: frame.color_space(),
        range: frame.color_range(),
        primaries: frame.color_primaries(),
        transfer: frame.color_transfer_characteristic(),
    };
    for (label, mut mapper) in [
        ("filter graph (zscale + tonemap)", ToneMapper::filter_only()),
        ("lookup tables", ToneMapper::default()),
    ] {
        // The first run builds the graph or the tables.
        let started = Instant::now();
        mapper
            .run(&frames[0], tags(&frames[0]), Peak::DEFAULT)
            .expect("tone map");
        let first = started.elapsed();
        let mut times = Vec::new();
        for frame in &frames {
            let started = Instant::now();
            mapper
                .run(frame, tags(frame), Peak::DEFAULT)
                .expect("tone map");
            times.push(started.elapsed());
        }
        println!(
            "{label}: median {} per frame, p95 {} (first frame with setup {})",
            ms(median(times.clone())),
            ms(percentile(times, 0.95)),
            ms(first)
        );
    }
}

fn bench_viewer_pace(clip: &Path) {
    println!(
        "\n== viewer pace: the app's player driven like the UI (60 Hz ticks), 1080p H.264 30 fps GOP 60"
    );
    viewer_pace(clip, 300, 30.0, 2.0);
    let clip_4k = hevc10_clip("clip4k_hevc10.mkv", "3840x2160", &[]);
    println!("-- 4K HEVC 10-bit, 30 fps, 90 frames");
    viewer_pace(&clip_4k, 90, 30.0, 10.0);
    bench_display_conversion(&clip_4k);
    let clip_hlg = clip_1080p_hlg();
    println!("-- 1080p HEVC 10-bit HLG, tone-mapped, 30 fps, 90 frames");
    viewer_pace(&clip_hlg, 90, 30.0, 2.0);
}

/// What the player does with one decoded 4K frame before it can be shown: converted at full
/// size (paused) or for a 1600x900 view (playing), plus the texture image built from it;
/// both on the same frames, interleaved, median of 20 (decoding not counted).
fn bench_display_conversion(clip: &Path) {
    use framekit::frame::FrameImage;
    let mut reader = VideoReader::open(clip, &OpenOptions::default()).expect("open 4K clip");
    let frames: Vec<_> = (0..20)
        .map(|i| reader.decoded(i).expect("decode"))
        .collect();
    let (mut full, mut display) = (Vec::new(), Vec::new());
    let (mut full_bytes, mut display_bytes) = (0, 0);
    for (i, frame) in frames.iter().enumerate() {
        let started = Instant::now();
        let converted = reader.shown_from_decoded(i, frame).expect("convert");
        let image = egui::ColorImage::from_frame(&converted);
        full.push(started.elapsed());
        full_bytes = converted.pixels.len() + image.pixels.len() * 4;
        let started = Instant::now();
        let converted = reader
            .display_from_decoded(i, frame, PLAYBACK_VIEW)
            .expect("convert");
        let image = egui::ColorImage::from_frame(&converted);
        display.push(started.elapsed());
        display_bytes = converted.pixels.len() + image.pixels.len() * 4;
    }
    println!(
        "4K frame to screen (conversion + texture image, decode not counted): full size median {} ({:.1} MB fresh), for a {}x{} view median {} ({:.1} MB fresh)",
        ms(median(full)),
        full_bytes as f64 / 1e6,
        PLAYBACK_VIEW.0,
        PLAYBACK_VIEW.1,
        ms(median(display)),
        display_bytes as f64 / 1e6,
    );
}

/// The view playback is shown in (a maximised window on a 1080p screen).
const PLAYBACK_VIEW: (u32, u32) = (1600, 900);

/// As the app settles after a move: once no step came for this long, the frame on screen is
/// asked for at full size (`gui::app::playback::SETTLE`).
const SETTLE: Duration = Duration::from_millis(150);

/// After a move stops on `target`: waits the app's settle time, asks for the frame at full
/// size and returns how long after the last step it was on screen at full size.
fn full_size_after_settle(sim: &mut UiSimulation, target: usize, last_step: Duration) -> String {
    while sim.shown != Some((target, true)) {
        sim.tick();
        if sim.started.elapsed() > last_step + Duration::from_secs(10) {
            return "never".to_string();
        }
    }
    if sim.shown_full {
        return "at once (not reduced for the view)".to_string();
    }
    while sim.started.elapsed() < last_step + SETTLE {
        sim.tick();
    }
    sim.fit = None;
    sim.requested = None;
    sim.request(target);
    let deadline = sim.started.elapsed() + Duration::from_secs(10);
    while !(sim.shown == Some((target, true)) && sim.shown_full) {
        sim.tick();
        if sim.started.elapsed() > deadline {
            return "never".to_string();
        }
    }
    ms(sim.started.elapsed() - last_step)
}

/// Held Right (`forward`, from the first frame) or Left (from the last): the key repeats
/// every 40 ms and each repeat steps one frame. As in the app, the first press asks for the
/// frame at full size and the repeats (a move) at the size of the view; the frame the key
/// stops on comes at full size once it settles.
fn held_key(clip: &Path, count: usize, forward: bool) {
    let mut sim = UiSimulation::open(clip);
    let mut target = 0usize;
    if !forward {
        // Start on the last frame, settled (its GOP prefetched behind it, as a user would
        // have it after looking at it).
        target = count - 1;
        sim.request(target);
        while sim.shown != Some((target, true)) {
            sim.tick();
        }
        std::thread::sleep(Duration::from_millis(800));
        sim.tick();
        sim.started = Instant::now();
    }
    let mut distinct = std::collections::BTreeSet::new();
    let mut steps = 0;
    let mut next_press = Duration::ZERO;
    let mut last_step = Duration::ZERO;
    let hold = Duration::from_secs(3);
    while sim.started.elapsed() < hold {
        let can_step = if forward {
            target + 1 < count
        } else {
            target > 0
        };
        if sim.started.elapsed() >= next_press && can_step {
            target = if forward { target + 1 } else { target - 1 };
            steps += 1;
            if steps > 1 {
                sim.fit = Some(PLAYBACK_VIEW);
            }
            last_step = sim.started.elapsed();
            next_press += Duration::from_millis(40);
            sim.request(target);
        }
        if let Some((index, true)) = sim.tick() {
            distinct.insert(index);
        }
    }
    let settled = full_size_after_settle(&mut sim, target, last_step);
    println!(
        "held {} (25 presses/s, 3 s, {}x{} view): {:.1} distinct exact frames/s shown (target 25), {} of {steps} steps; full size {settled} after the last step",
        if forward { "Right" } else { "Left" },
        PLAYBACK_VIEW.0,
        PLAYBACK_VIEW.1,
        distinct.len() as f64 / hold.as_secs_f64(),
        distinct.len()
    );
}

/// The viewer driven like the UI on `clip` (`count` frames at `fps`); `drop_target` is the
/// share of frames playback may drop (percent).
fn viewer_pace(clip: &Path, count: usize, fps: f64, drop_target: f64) {
    held_key(clip, count, true);
    held_key(clip, count, false);

    for with_scopes in [false, true] {
        playback_pace(clip, count, fps, drop_target, with_scopes);
    }

    // A timeline drag across the whole clip in 2 s (frames at the view's size, as the app
    // asks while the playhead moves), then release.
    let mut sim = UiSimulation::open(clip);
    sim.fit = Some(PLAYBACK_VIEW);
    let sweep = Duration::from_secs(2);
    let mut reached_at: Vec<Option<Duration>> = vec![None; count];
    let mut lags = Vec::new();
    let mut released_at = None;
    let mut exact_after_release = None;
    loop {
        let now = sim.started.elapsed();
        let pointer = if now < sweep {
            ((now.as_secs_f64() / sweep.as_secs_f64()) * (count - 1) as f64) as usize
        } else {
            released_at.get_or_insert(now);
            count - 1
        };
        for slot in reached_at.iter_mut().take(pointer + 1) {
            slot.get_or_insert(now);
        }
        sim.request(pointer);
        sim.tick();
        if let Some((index, exact)) = sim.shown {
            if released_at.is_none()
                && let Some(at) = reached_at[index]
            {
                lags.push(sim.started.elapsed().saturating_sub(at));
            }
            if let Some(released) = released_at
                && index == count - 1
                && exact
            {
                exact_after_release = Some(sim.started.elapsed() - released);
                break;
            }
        }
        if now > sweep * 5 {
            break;
        }
    }
    let settled = match released_at {
        Some(released) if exact_after_release.is_some() => {
            full_size_after_settle(&mut sim, count - 1, released)
        }
        _ => "never".to_string(),
    };
    println!(
        "drag (whole clip in 2 s): shown frame behind the pointer median {} p95 {} (target ~150 ms); exact frame {} after release (target 300 ms), full size {settled}",
        ms(median(lags.clone())),
        ms(percentile(lags, 0.95)),
        exact_after_release.map_or("never".to_string(), ms)
    );
}

/// Playback at the clip's own rate from frame 0, shown fitted in a 1600x900 view (a
/// maximised window on a 1080p screen), as the app asks while playing; `with_scopes`: with
/// the scopes panel open, fed as the app feeds it.
fn playback_pace(clip: &Path, count: usize, fps: f64, drop_target: f64, with_scopes: bool) {
    let mut sim = UiSimulation::open(clip);
    sim.fit = Some(PLAYBACK_VIEW);
    if with_scopes {
        sim.scopes = Some((ScopeWorker::spawn(|| {}), Duration::ZERO, 0));
    }
    let before = sim.player.counts();
    let mut shown = std::collections::BTreeSet::new();
    let mut last_shown_at = Duration::ZERO;
    loop {
        let due = ((sim.started.elapsed().as_secs_f64() * fps) as usize).min(count - 1);
        sim.request(due);
        if let Some((index, true)) = sim.tick() {
            shown.insert(index);
            last_shown_at = sim.started.elapsed();
        }
        if sim.shown == Some((count - 1, true)) {
            break;
        }
        if sim.started.elapsed() > Duration::from_secs_f64(count as f64 / fps * 3.0) {
            break;
        }
    }
    let nominal = count as f64 / fps;
    let counts = sim.player.counts();
    // Frame 0 is on screen when playback starts: the frames due are the others.
    shown.remove(&0);
    let due = count - 1;
    let scopes = match &sim.scopes {
        Some((_, _, drawn)) => format!(" with the scopes open ({drawn} drawn)"),
        None => String::new(),
    };
    println!(
        "playback{scopes}: {} of the {due} frames due shown, {:.1}% dropped (target < {drop_target}%), last frame at {:.2} s for {nominal:.2} s; {} converted ({} at display size), {} dropped late before conversion",
        shown.len(),
        100.0 * (due - shown.len()) as f64 / due as f64,
        last_shown_at.as_secs_f64(),
        counts.converted - before.converted,
        counts.converted_for_display - before.converted_for_display,
        counts.late_skipped - before.late_skipped,
    );
}

/// 720p, 5 s, a different hue per index.
#[rustfmt::skip]
fn clip_720p(index: usize) -> PathBuf {
    let source = format!("testsrc2=size=1280x720:rate=30:duration=5,hue=h={}", index * 40);
    generated_clip(&format!("batch{index}.mp4"), &[
        "-f", "lavfi", "-i", &source, "-f", "lavfi", "-i", "sine=frequency=330:duration=5",
        "-c:v", "libx264", "-preset", "fast", "-crf", "20", "-c:a", "aac",
    ])
}

fn bench_transcode(clip: &Path) {
    println!("\n== transcode: 1080p, 10 s, H.264 CRF 23 preset medium + AAC (median of 3)");
    let out = bench_dir().join("transcode-out");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("out dir");
    let clip_arg = clip.to_string_lossy().into_owned();
    let ffmpeg_out = out.join("ffmpeg.mp4").to_string_lossy().into_owned();
    let ffmpeg_args: Vec<String> = [
        "-nostdin",
        "-v",
        "error",
        "-y",
        "-i",
        &clip_arg,
        "-c:v",
        "libx264",
        "-crf",
        "23",
        "-preset",
        "medium",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-b:a",
        "128k",
        "-movflags",
        "+faststart",
        &ffmpeg_out,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let ffmpeg_time = median((0..3).map(|_| run_timed("ffmpeg", &ffmpeg_args)).collect());
    let framekit_time = median(
        (0..3)
            .map(|run| {
                let queue = out
                    .join(format!("queue{run}.sqlite"))
                    .to_string_lossy()
                    .into_owned();
                let dir = out
                    .join(format!("framekit{run}"))
                    .to_string_lossy()
                    .into_owned();
                let args: Vec<String> = ["transcode", &clip_arg, "-o", &dir, "--queue", &queue]
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
                run_timed(env!("CARGO_BIN_EXE_framekit"), &args)
            })
            .collect(),
    );
    println!("ffmpeg CLI   {}", ms(ffmpeg_time));
    println!(
        "framekit     {}   throughput {:.2}x ffmpeg's (includes verify + publish)",
        ms(framekit_time),
        ffmpeg_time.as_secs_f64() / framekit_time.as_secs_f64()
    );

    println!("\n== batch of 4 clips (720p, 5 s each), default preset");
    let clips: Vec<String> = (0..4)
        .map(|i| clip_720p(i).to_string_lossy().into_owned())
        .collect();
    for jobs in [1, 2] {
        let queue = out
            .join(format!("batch-queue-{jobs}.sqlite"))
            .to_string_lossy()
            .into_owned();
        let dir = out
            .join(format!("batch-{jobs}"))
            .to_string_lossy()
            .into_owned();
        let mut args: Vec<String> = vec!["transcode".into()];
        args.extend(clips.iter().cloned());
        args.extend(
            ["-o", &dir, "--queue", &queue, "--jobs", &jobs.to_string()]
                .iter()
                .map(|s| s.to_string()),
        );
        let time = run_timed(env!("CARGO_BIN_EXE_framekit"), &args);
        println!("--jobs {jobs}      {}", ms(time));
    }
}

/// The reference helper's approach (OpenCV, sequential decode, one call per clip, in a Python
/// loop), as a script over a JSONL request file; prints the seconds it took.
const REFERENCE_LOOP: &str = r#"
import base64, json, sys, time
import cv2

def get_frames(url, frame_ids):
    frame_ids = [int(c.strip()) for c in frame_ids.split(',')]
    cap = cv2.VideoCapture(url)
    retval, i, imgs = True, 0, []
    while retval:
        retval, image = cap.read()
        if i == 0:
            first_image = image
        if (not retval) or (i >= max(frame_ids)):
            break
        i += 1
        if i in frame_ids:
            imgs.append(image)
    cap.release()
    if len(imgs) == 0:
        imgs.append(first_image)
    return '|'.join(base64.b64encode(cv2.imencode('.png', im)[1]).decode() for im in imgs)

requests = [json.loads(l) for l in open(sys.argv[1])]
start = time.perf_counter()
for r in requests:
    get_frames(r['path'], r['ids'])
print(time.perf_counter() - start)
"#;

/// The same helper as a Spark Python UDF against framekit's DataFrame helper, in one local[2]
/// session; prints "udf_seconds framekit_seconds".
const SPARK_COMPARISON: &str = r#"
import json, os, sys, time
sys.path.insert(0, os.environ['FRAMEKIT_PYTHON_DIR'])
exec(open(os.environ['REFERENCE_SCRIPT']).read().split('requests = ')[0])
import framekit_spark
from pyspark.sql import SparkSession
from pyspark.sql.functions import udf
spark = (SparkSession.builder.master('local[2]').config('spark.ui.enabled', 'false')
         .config('spark.driver.host', '127.0.0.1').getOrCreate())
spark.sparkContext.setLogLevel('ERROR')
rows = [(json.loads(l)['path'], json.loads(l)['ids']) for l in open(sys.argv[1])]
df = spark.createDataFrame(rows, 'path string, ids string').repartition(2).cache()
df.count()
frames_udf = udf(get_frames, 'string')
for _ in range(int(os.environ['ROUNDS'])):
    start = time.perf_counter()
    df.select(frames_udf('path', 'ids').alias('f')).write.format('noop').mode('overwrite').save()
    udf_seconds = time.perf_counter() - start
    start = time.perf_counter()
    framekit_spark.frames_df(df, binary=os.environ['FRAMEKIT_BIN']).write.format('noop').mode('overwrite').save()
    pipe_seconds = time.perf_counter() - start
    try:
        import framekit  # the module (make bench builds it into this venv)
    except ImportError:
        print(udf_seconds, pipe_seconds, flush=True)
        continue
    start = time.perf_counter()
    framekit_spark.frames_df_inprocess(df).write.format('noop').mode('overwrite').save()
    print(udf_seconds, pipe_seconds, time.perf_counter() - start, flush=True)
spark.stop()
"#;

/// Runs a Python script that prints a number of seconds; `None` when it fails.
fn python_seconds(python: &Path, args: &[&Path]) -> Option<f64> {
    Command::new(python)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
}

/// One request's latency, `--ids 1,30` on the 1080p clip (2 s GOPs, B-frames): the reference
/// helper called in a running Python (as a Spark task calls it) against framekit started for
/// it (`frames --ids`) and framekit already running (`frames --jsonl`, as `frames_df` and
/// `frames_rdd` keep it). Both sides run alternately and the ratio is the median of the
/// pairs' ratios: this machine's speed drifts by 10-30% within minutes.
fn bench_single_request(python: &Path, reference_script: &Path, framekit: &Path) {
    let clip = clip_1080p();
    let script = bench_dir().join("reference_latency.py");
    std::fs::write(&script, REFERENCE_LATENCY).expect("script");
    let once = bench_dir().join("reference_once.py");
    std::fs::write(&once, REFERENCE_ONCE).expect("script");
    let python_args = [
        once.to_string_lossy().into_owned(),
        reference_script.to_string_lossy().into_owned(),
        clip.to_string_lossy().into_owned(),
    ];
    let framekit_args = [
        "frames".to_string(),
        clip.to_string_lossy().into_owned(),
        "--ids".into(),
        "1,30".into(),
    ];
    // Started for the request: the helper in a new Python (import cv2 included) against
    // framekit started for it; both pay their process start.
    let (mut reference_process, mut one_shot) = (Vec::new(), Vec::new());
    for _ in 0..RUNS + 2 {
        reference_process.push(run_timed(&python.to_string_lossy(), &python_args));
        one_shot.push(run_timed(&framekit.to_string_lossy(), &framekit_args));
    }
    let process_ratio = median_f64(
        one_shot
            .iter()
            .zip(&reference_process)
            .map(|(ours, theirs)| ours.as_secs_f64() / theirs.as_secs_f64())
            .collect(),
    );
    // Already running: rounds of the helper called 7 times in one Python against 7 requests
    // to one framekit --jsonl.
    let (mut reference_running, mut resident, mut running_ratios) =
        (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..DATASET_ROUNDS {
        let Some(theirs) = python_seconds(python, &[&script, reference_script, &clip]) else {
            println!("single request: the reference helper did not run");
            return;
        };
        let ours = resident_latency(framekit, &clip).as_secs_f64();
        reference_running.push(theirs);
        resident.push(ours);
        running_ratios.push(ours / theirs);
    }
    let seconds = |s: f64| ms(Duration::from_secs_f64(s));
    println!(
        "single request --ids 1,30 (1080p), target 0.5x (medians; ratios: median of alternating pairs):\n  started for it: reference helper in a new python {} | framekit frames --ids {} ({:.2}x)\n  already running: reference helper called in python {} | framekit --jsonl {} ({:.2}x)\n  (framekit started for it against the helper already running: {:.2}x)",
        ms(median(reference_process)),
        ms(median(one_shot.clone())),
        process_ratio,
        seconds(median_f64(reference_running.clone())),
        seconds(median_f64(resident)),
        median_f64(running_ratios),
        median(one_shot).as_secs_f64() / median_f64(reference_running)
    );
}

/// Median time of one `--ids 1,30` request to a framekit --jsonl already running (the first
/// request, which warms the process, is not counted).
fn resident_latency(framekit: &Path, clip: &Path) -> Duration {
    use std::io::{BufRead, Write};
    let mut child = Command::new(framekit)
        .args(["frames", "--jsonl", "--threads", "1"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("framekit --jsonl");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let request = format!(
        "{{\"path\": {:?}, \"ids\": \"1,30\"}}\n",
        clip.display().to_string()
    );
    let mut samples = Vec::new();
    for _ in 0..RUNS + 1 {
        let start = Instant::now();
        stdin.write_all(request.as_bytes()).expect("request");
        stdin.flush().expect("flush");
        let mut line = String::new();
        stdout.read_line(&mut line).expect("result");
        samples.push(start.elapsed());
    }
    drop(stdin);
    let _ = child.wait();
    median(samples[1..].to_vec())
}

const REFERENCE_ONCE: &str = r#"
import sys
exec(open(sys.argv[1]).read().split('requests = ')[0])
get_frames(sys.argv[2], "1,30")
"#;

const REFERENCE_LATENCY: &str = r#"
import sys, time, statistics
exec(open(sys.argv[1]).read().split('requests = ')[0])
get_frames(sys.argv[2], "1,30")
times = []
for _ in range(7):
    start = time.perf_counter()
    get_frames(sys.argv[2], "1,30")
    times.append(time.perf_counter() - start)
print(statistics.median(times))
"#;

/// The Spark venv's python with OpenCV added (bench only), or why not.
fn bench_python() -> Result<PathBuf, String> {
    support::bench_python(&[("cv2", "opencv-python-headless==4.10.0.84")])
}

fn bench_dataset() {
    println!(
        "\n== dataset: 40 clips 720p (5 s, 150 frames) x ids 1,30,150, and 8 of them at 1080p"
    );
    let framekit = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/framekit");
    let mut requests: Vec<String> = (0..40)
        .map(|i| {
            let path = clip_720p(i);
            format!(
                r#"{{"id": {i}, "path": {:?}, "ids": "1,30,150"}}"#,
                path.display().to_string()
            )
        })
        .collect();
    let full_hd = clip_1080p();
    for i in 0..8 {
        requests.push(format!(
            r#"{{"id": {}, "path": {:?}, "ids": "1,30,150"}}"#,
            40 + i,
            full_hd.display().to_string()
        ));
    }
    let request_file = bench_dir().join("dataset.jsonl");
    std::fs::write(&request_file, requests.join("\n") + "\n").expect("write requests");
    let run_jsonl = |threads: &str| {
        let start = Instant::now();
        let out = Command::new(&framekit)
            .args(["frames", "--jsonl", "--threads", threads])
            .stdin(std::fs::File::open(&request_file).expect("requests"))
            .output()
            .expect("framekit --jsonl");
        assert!(out.status.success());
        start.elapsed()
    };
    let python = match bench_python() {
        Ok(python) => python,
        Err(why) => {
            println!("reference columns skipped: {why}");
            return;
        }
    };
    let script = bench_dir().join("reference_loop.py");
    std::fs::write(&script, REFERENCE_LOOP).expect("script");
    // Rounds, each timing framekit and the reference back to back: this machine's speed
    // drifts by 10-30% over minutes, so a ratio is taken within a round and the median of
    // the rounds' ratios is reported.
    let clips = requests.len() as f64;
    let mut ratios_one = Vec::new();
    let mut ratios_two = Vec::new();
    for round in 1..=DATASET_ROUNDS {
        let one = run_jsonl("1");
        let two = run_jsonl("2");
        let Some(reference) = python_seconds(&python, &[&script, &request_file]) else {
            println!("the reference helper did not run");
            return;
        };
        println!(
            "round {round}: framekit --jsonl --threads 1 {:.2} s ({:.1} clips/s), --threads 2 {:.2} s ({:.1} clips/s); reference helper (OpenCV loop) {reference:.2} s ({:.1} clips/s): {:.2}x, {:.2}x",
            one.as_secs_f64(),
            clips / one.as_secs_f64(),
            two.as_secs_f64(),
            clips / two.as_secs_f64(),
            clips / reference,
            reference / one.as_secs_f64(),
            reference / two.as_secs_f64(),
        );
        ratios_one.push(reference / one.as_secs_f64());
        ratios_two.push(reference / two.as_secs_f64());
    }
    println!(
        "throughput against the reference helper, median of {DATASET_ROUNDS} rounds (target 3x): 1 thread {:.2}x, 2 threads {:.2}x",
        median_f64(ratios_one),
        median_f64(ratios_two)
    );
    bench_single_request(&python, &script, &framekit);
    let spark = bench_dir().join("spark_comparison.py");
    std::fs::write(&spark, SPARK_COMPARISON).expect("script");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let compared = Command::new(&python)
        .arg(&spark)
        .arg(&request_file)
        .env("FRAMEKIT_PYTHON_DIR", root.join("python"))
        .env("REFERENCE_SCRIPT", &script)
        .env("FRAMEKIT_BIN", &framekit)
        .env("PYSPARK_PYTHON", &python)
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        .env("ROUNDS", DATASET_ROUNDS.to_string())
        .output();
    match compared {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            let mut ratios = Vec::new();
            let mut in_process_ratios = Vec::new();
            for (round, line) in text.lines().enumerate() {
                let numbers: Vec<f64> = line
                    .split_whitespace()
                    .filter_map(|t| t.parse().ok())
                    .collect();
                if let [udf, ours, ..] = numbers[..] {
                    println!(
                        "spark local[2], round {}: Python UDF {udf:.2} s, framekit_spark.frames_df {ours:.2} s ({:.2}x)",
                        round + 1,
                        udf / ours
                    );
                    ratios.push(udf / ours);
                }
                if let [udf, pipe, in_process] = numbers[..] {
                    println!(
                        "spark local[2], round {}: frames_df_inprocess (the module, mapInArrow) {in_process:.2} s: {:.2}x the UDF, {:.2}x the pipe",
                        round + 1,
                        udf / in_process,
                        pipe / in_process
                    );
                    in_process_ratios.push((udf / in_process, pipe / in_process));
                }
            }
            if !ratios.is_empty() {
                println!(
                    "spark: frames_df against the Python UDF, median of {} rounds (target 2x): {:.2}x",
                    ratios.len(),
                    median_f64(ratios)
                );
            }
            if !in_process_ratios.is_empty() {
                let (udf, pipe): (Vec<f64>, Vec<f64>) = in_process_ratios.into_iter().unzip();
                println!(
                    "spark: frames_df_inprocess, median of {} rounds: {:.2}x the Python UDF, {:.2}x the pipe (frames_df)",
                    udf.len(),
                    median_f64(udf),
                    median_f64(pipe)
                );
            }
        }
        Ok(out) => println!(
            "spark column failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or_default()
        ),
        Err(e) => println!("spark column skipped: {e}"),
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    // FRAMEKIT_BENCH_ONLY=fleet (compare, viewer, tonemap, dataset) runs one part.
    match std::env::var("FRAMEKIT_BENCH_ONLY").as_deref() {
        Ok("fleet") => return bench_fleet(),
        Ok("compare") => return bench_compare(&clip_1080p()),
        Ok("viewer") => {
            bench_tone_map();
            return bench_viewer_pace(&clip_1080p());
        }
        Ok("tonemap") => return bench_tone_map(),
        Ok("dataset") => return bench_dataset(),
        _ => {}
    }
    let clip = clip_1080p();
    bench_frames(&clip);
    bench_png(&clip);
    bench_app_seeks(&clip);
    bench_tone_map();
    bench_viewer_pace(&clip);
    bench_dataset();
    bench_compare(&clip);
    if std::env::var_os("FRAMEKIT_BENCH_SKIP_TRANSCODE").is_none() {
        bench_transcode(&clip);
    }
    bench_fleet();
}

/// Whole-clip PSNR + SSIM of the 1080p clip against a transcode of it: `framekit compare`
/// against `ffmpeg -lavfi "[0][1]ssim;[0][1]psnr"` on the same pair.
fn bench_compare(clip: &Path) {
    let transcode = generated_clip(
        "clip1080_crf30.mp4",
        &[
            "-i",
            &clip.to_string_lossy(),
            "-c:v",
            "libx264",
            "-crf",
            "30",
            "-preset",
            "veryfast",
            "-an",
        ],
    );
    println!(
        "\n== compare: whole-clip PSNR + SSIM, 1080p H.264 (300 frames) vs its CRF 30 transcode, median of 3"
    );
    let (a, b) = (
        clip.to_string_lossy().into_owned(),
        transcode.to_string_lossy().into_owned(),
    );
    let framekit = median(
        (0..3)
            .map(|_| {
                run_timed(
                    env!("CARGO_BIN_EXE_framekit"),
                    &["compare".into(), a.clone(), b.clone(), "--json".into()],
                )
            })
            .collect(),
    );
    let ffmpeg_args: Vec<String> = [
        "-nostdin",
        "-v",
        "error",
        "-i",
        &a,
        "-i",
        &b,
        "-lavfi",
        "[0][1]ssim;[0][1]psnr",
        "-f",
        "null",
        "-",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let ffmpeg = median((0..3).map(|_| run_timed("ffmpeg", &ffmpeg_args)).collect());
    println!("framekit compare --json   {}", ms(framekit));
    println!("ffmpeg -lavfi ssim;psnr   {}", ms(ffmpeg));
    println!(
        "ratio {:.2}x (> 1: framekit faster; target: not slower than FFmpeg)",
        ffmpeg.as_secs_f64() / framekit.as_secs_f64()
    );
}

/// Claims and publishes `count` no-op jobs with `workers` threads (one connection each);
/// returns jobs per second.
fn claim_throughput(location: &framekit::jobs::QueueLocation, workers: usize, count: usize) -> f64 {
    use framekit::jobs::ClaimFilter;
    let dir = bench_dir().join(format!("claims-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let mut store = location.open().expect("open queue");
    store.clear(true).expect("clear");
    for i in 0..count {
        let input = dir.join(format!("in{i}"));
        std::fs::write(&input, b"x").expect("input");
        store
            .enqueue(&input, "default", &dir.join(format!("out{i}")), false)
            .expect("enqueue");
    }
    let started = Instant::now();
    std::thread::scope(|scope| {
        for worker in 0..workers {
            let (location, dir) = (location.clone(), dir.clone());
            scope.spawn(move || {
                let mut store = location.open().expect("open");
                let owner = format!("bench:{worker}");
                while let Some(lease) = store
                    .claim(&owner, Duration::from_secs(60), &ClaimFilter::default())
                    .expect("claim")
                {
                    let temp = dir.join(format!("t{}", lease.job.id));
                    std::fs::write(&temp, b"done").expect("temp");
                    store.publish(&lease, &temp).expect("publish");
                }
            });
        }
    });
    let rate = count as f64 / started.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&dir);
    rate
}

fn bench_fleet() {
    use framekit::jobs::QueueLocation;
    println!("\n== fleet: claim + publish throughput, no-op jobs (one connection per worker)");
    let cluster = pg::PgCluster::start();
    let postgres = QueueLocation::Postgres(cluster.fresh_database());
    let sqlite = QueueLocation::Sqlite(bench_dir().join("claims.sqlite"));
    for (name, location) in [("PostgreSQL", &postgres), ("SQLite", &sqlite)] {
        for workers in [1, 8] {
            let rate = claim_throughput(location, workers, 400);
            println!("{name:<11} {workers} worker(s)  {rate:>7.0} jobs/s");
        }
    }

    println!("\n== fleet: four 720p clips (5 s each) on PostgreSQL, worker processes");
    let clips = bench_dir().join("fleet-clips");
    let _ = std::fs::remove_dir_all(&clips);
    std::fs::create_dir_all(&clips).expect("dir");
    for i in 0..4 {
        std::fs::copy(clip_720p(i), clips.join(format!("clip{i}.mp4"))).expect("copy");
    }
    let mut times = Vec::new();
    for workers in [1usize, 2] {
        let url = cluster.fresh_database();
        let out = bench_dir().join(format!("fleet-out-{workers}"));
        let _ = std::fs::remove_dir_all(&out);
        let status = Command::new(env!("CARGO_BIN_EXE_framekit"))
            .args(["enqueue", "--queue", &url, "-o"])
            .arg(&out)
            .arg(&clips)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("enqueue");
        assert!(status.success(), "enqueue failed");
        let started = Instant::now();
        let mut children: Vec<_> = (0..workers)
            .map(|_| {
                Command::new(env!("CARGO_BIN_EXE_framekit"))
                    .args(["worker", "--once", "--queue", &url])
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .expect("worker")
            })
            .collect();
        for child in &mut children {
            let status = child.wait().expect("wait");
            assert!(status.success(), "worker failed");
        }
        let time = started.elapsed();
        println!("{workers} worker(s)    {}", ms(time));
        times.push(time);
    }
    println!(
        "2 workers finish the batch {:.2}x as fast as 1",
        times[0].as_secs_f64() / times[1].as_secs_f64()
    );
    bench_big_queue(&cluster);
}

/// Reading a queue of a million jobs: the counts and a page (what `jobs summary`, `jobs list
/// --limit` and the app's fleet view ask for) against reading every row (`jobs list`).
fn bench_big_queue(cluster: &pg::PgCluster) {
    use framekit::jobs::{JobQuery, JobStatus, QueueLocation};
    const JOBS: i64 = 1_000_000;
    println!("\n== fleet: a queue of {JOBS} jobs on PostgreSQL (median of 3)");
    let url = cluster.fresh_database();
    let mut queue = QueueLocation::Postgres(url.clone())
        .open()
        .expect("open (creates the tables)");
    let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    client
        .batch_execute(&format!(
            "INSERT INTO framekit_jobs (input_path, input_size, input_mtime_ns, preset, output_path,
                 status, created_at, updated_at)
             SELECT '/data/clips/' || g || '.mp4', 1000000, 0, 'small', '/data/out/' || g || '.mp4',
                 CASE WHEN g % 100 = 0 THEN 'failed' WHEN g % 1000 = 1 THEN 'processing'
                      WHEN g > {JOBS} - 200000 THEN 'pending' ELSE 'succeeded' END, 0, 0
             FROM generate_series(1, {JOBS}) g;
             ANALYZE framekit_jobs;"
        ))
        .expect("fill the queue");
    let time = |what: &str, work: &mut dyn FnMut() -> usize| {
        let mut samples = Vec::new();
        let mut rows = 0;
        for _ in 0..3 {
            let start = Instant::now();
            rows = work();
            samples.push(start.elapsed());
        }
        println!("{what:<58} {} ({rows} rows)", ms(median(samples)));
    };
    time("counts by state (jobs summary)", &mut || {
        queue.counts().expect("counts").total() as usize
    });
    time(
        "50 newest failed (jobs list --status failed --limit 50)",
        &mut || {
            queue
                .query(&JobQuery {
                    statuses: vec![JobStatus::Failed],
                    limit: Some(50),
                    newest_first: true,
                    ..JobQuery::default()
                })
                .expect("query")
                .len()
        },
    );
    time("the app's fleet view: running + 200 newest", &mut || {
        let running = queue
            .query(&JobQuery {
                statuses: vec![JobStatus::Processing],
                limit: Some(10_000),
                ..JobQuery::default()
            })
            .expect("query")
            .len();
        let newest = queue
            .query(&JobQuery {
                limit: Some(200),
                newest_first: true,
                ..JobQuery::default()
            })
            .expect("query")
            .len();
        running + newest
    });
    time(
        "every job (jobs list, and the fleet view before)",
        &mut || queue.list().expect("list").len(),
    );
}
