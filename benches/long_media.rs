//! `make bench` (second part): long and remote media. A 1080p clip (10 s, 8 Mbit/s, 2 s
//! GOPs, B-frames, AAC) concatenated with `-c copy` into 1-minute, 30-minute and 2-hour MP4s
//! and a 30-minute Matroska remux, served over HTTP by the tests' byte-counting range server
//! (paced to about 30 MB/s, a 250 Mbit/s link). For `--ids 1,30`, one far id and ten spread
//! ids it prints the bytes each approach downloads and its time: `framekit frames` against
//! the reference helper's approach (OpenCV decoding from the start up to the last id) and
//! PyAV seeking by time then decoding to the frame (exact only at a constant frame rate).
//! Then the app engine's time to the first frame on each length. Printed, never asserted.

#[path = "../tests/common/http.rs"]
#[allow(dead_code)]
mod http;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use framekit::player::{Player, PlayerOptions, Reply, Request};
use http::{Serve, Server};
use support::{bench_dir, ffmpeg};

#[path = "support.rs"]
mod support;

const CLIP_SECONDS: usize = 10;
const FPS: usize = 25;

/// `name` in the bench folder, made once by `make(temp)` and moved into place.
fn made_once(name: &str, make: impl FnOnce(&str)) -> PathBuf {
    let path = bench_dir().join(name);
    if !path.exists() {
        let temp = bench_dir().join(format!("partial-{name}"));
        make(temp.to_str().expect("utf-8 path"));
        std::fs::rename(&temp, &path).expect("rename");
    }
    path
}

#[rustfmt::skip]
fn clip() -> PathBuf {
    made_once("long_clip.mp4", |out| ffmpeg(&[
        "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=25:duration=10",
        "-f", "lavfi", "-i", "sine=frequency=440:duration=10",
        "-c:v", "libx264", "-preset", "veryfast", "-b:v", "8M", "-maxrate", "8M",
        "-bufsize", "16M", "-g", "50", "-keyint_min", "50", "-sc_threshold", "0", "-bf", "2",
        "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "mp4", out,
    ]))
}

/// The clip `copies` times over, stream-copied into one file.
fn long_file(name: &str, copies: usize) -> PathBuf {
    let source = clip();
    made_once(name, |out| {
        let list = bench_dir().join(format!("{name}.txt"));
        std::fs::write(
            &list,
            format!("file '{}'\n", source.display()).repeat(copies),
        )
        .expect("list");
        let list = list.to_string_lossy().into_owned();
        let format = if name.ends_with(".mkv") {
            "matroska"
        } else {
            "mp4"
        };
        ffmpeg(&[
            "-f", "concat", "-safe", "0", "-i", &list, "-c", "copy", "-f", format, out,
        ]);
    })
}

fn framekit_bin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/framekit")
}

/// One approach's cost: seconds and bytes downloaded (bytes only over HTTP).
struct Cost {
    seconds: f64,
    bytes: Option<u64>,
}

fn show(cost: &Option<Cost>) -> String {
    match cost {
        None => "n/a".to_string(),
        Some(c) => match c.bytes {
            Some(b) => format!("{:7.2} s {:9.1} MB", c.seconds, b as f64 / 1e6),
            None => format!("{:7.2} s", c.seconds),
        },
    }
}

fn timed(server: Option<&Server>, mut command: Command) -> Option<Cost> {
    if let Some(s) = server {
        s.reset_counts();
    }
    let start = Instant::now();
    let output = command.output().ok()?;
    let seconds = start.elapsed().as_secs_f64();
    if !output.status.success() {
        eprintln!(
            "failed: {}",
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .last()
                .unwrap_or_default()
        );
        return None;
    }
    Some(Cost {
        seconds,
        bytes: server.map(Server::bytes_sent),
    })
}

/// The reference helper's approach: OpenCV reading from the start up to the last id.
const OPENCV_HELPER: &str = r#"
import sys, base64, cv2
url, ids = sys.argv[1], [int(i) for i in sys.argv[2].split(',')]
cap = cv2.VideoCapture(url)
i, out = 0, []
while True:
    ok, image = cap.read()
    if not ok or i >= max(ids):
        break
    i += 1
    if i in ids:
        out.append(base64.b64encode(cv2.imencode('.png', image)[1]).decode())
print('|'.join(out))
"#;

/// PyAV as people use it for a far frame: seek by time to the keyframe before it, decode
/// until the frame's timestamp (exact only when the frame rate is constant).
const PYAV_SEEK: &str = r#"
import sys, base64, av, cv2
url, ids = sys.argv[1], [int(i) for i in sys.argv[2].split(',')]
fps = float(sys.argv[3])
container = av.open(url)
stream = container.streams.video[0]
out = []
for frame_id in ids:
    target = (frame_id - 1) / fps
    container.seek(int(target / stream.time_base), stream=stream, backward=True, any_frame=False)
    for frame in container.decode(stream):
        if frame.time is not None and frame.time >= target - 0.5 / fps:
            image = frame.to_ndarray(format='bgr24')
            out.append(base64.b64encode(cv2.imencode('.png', image)[1]).decode())
            break
print('|'.join(out))
"#;

/// The Spark venv's python with OpenCV and PyAV added (bench only), or why not.
fn bench_python() -> Result<PathBuf, String> {
    support::bench_python(&[
        ("cv2", "opencv-python-headless==4.10.0.84"),
        ("av", "av==13.1.0"),
    ])
}

fn python(python: &Option<PathBuf>, script: &Path, args: &[String]) -> Option<Command> {
    let mut command = Command::new(python.as_ref()?);
    command.arg(script).args(args);
    Some(command)
}

fn framekit_frames(target: &str, ids: &str) -> Command {
    let mut command = Command::new(framekit_bin());
    command.args(["frames", target, "--ids", ids]);
    command
}

fn bench_requests(long: &Path, python_bin: &Option<PathBuf>) {
    let frames = 30 * 60 * FPS;
    let size = std::fs::metadata(long).expect("size").len();
    let root = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink(long, root.path().join("long.mp4")).expect("link");
    let server = Server::start(root.path().to_path_buf(), Serve::Ranges);
    let url = server.url("long.mp4");
    let helper = bench_dir().join("opencv_helper.py");
    let pyav = bench_dir().join("pyav_seek.py");
    std::fs::write(&helper, OPENCV_HELPER).expect("script");
    std::fs::write(&pyav, PYAV_SEEK).expect("script");
    let spread: Vec<String> = (0..10)
        .map(|i| (1_234 + i * (frames / 10) + i * i * 7).to_string())
        .collect();
    let cases = [
        ("ids 1,30", "1,30".to_string()),
        ("one far id", "40000".to_string()),
        ("10 spread ids", spread.join(",")),
    ];
    println!(
        "\n== long media: 30-minute 1080p MP4 ({:.2} GB, {frames} frames), local and over HTTP",
        size as f64 / 1e9
    );
    println!(
        "{:<16}{:<8}{:>22}{:>22}{:>22}",
        "request", "where", "framekit", "OpenCV (helper)", "PyAV seek+decode"
    );
    for (label, ids) in &cases {
        for (place, target, counted) in [
            ("local", long.to_string_lossy().into_owned(), None),
            ("http", url.clone(), Some(&server)),
        ] {
            let ours = timed(counted, framekit_frames(&target, ids));
            // The helper decodes from the start: only the near request is run; a far one is
            // estimated from its rate on the near one.
            let helper_cost = if ids == "1,30" {
                python(python_bin, &helper, &[target.clone(), ids.clone()])
                    .and_then(|c| timed(counted, c))
            } else {
                None
            };
            let pyav_cost = python(
                python_bin,
                &pyav,
                &[target.clone(), ids.clone(), FPS.to_string()],
            )
            .and_then(|c| timed(counted, c));
            println!(
                "{label:<16}{place:<8}{:>22}{:>22}{:>22}",
                show(&ours),
                show(&helper_cost),
                show(&pyav_cost)
            );
        }
    }
    let last: usize = 40_000;
    println!(
        "(the helper for id {last}: it decodes {last} frames and downloads about {:.0} MB: the whole file up to it)",
        size as f64 * last as f64 / frames as f64 / 1e6
    );
}

fn first_frame_time(path: &Path) -> Duration {
    let player: Player<()> = Player::spawn(PlayerOptions::default(), || {});
    let start = Instant::now();
    player
        .send(Request::Open(path.to_path_buf()))
        .expect("open");
    player.send(Request::Show { frame: 0 }).expect("show");
    loop {
        match player
            .recv_timeout(Duration::from_secs(600))
            .expect("player")
        {
            Some(Reply::Frame(ready)) if ready.exact && ready.index == 0 => {
                return start.elapsed();
            }
            Some(Reply::Failed { error, .. }) => panic!("{error}"),
            _ => {}
        }
    }
}

fn bench_first_frame(files: &[(&str, PathBuf)]) {
    println!("\n== the app engine: open -> first exact frame (page cache warm)");
    for (label, path) in files {
        let size = std::fs::metadata(path).map_or(0, |m| m.len());
        let times: Vec<Duration> = (0..3).map(|_| first_frame_time(path)).collect();
        let mut sorted = times.clone();
        sorted.sort();
        println!(
            "{label:<22}{:>8.2} GB   first frame {:>7.0} ms (median of 3)",
            size as f64 / 1e9,
            sorted[1].as_secs_f64() * 1000.0
        );
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    framekit::media::init_ffmpeg();
    let minute = long_file("long_1min.mp4", 60 / CLIP_SECONDS);
    let half_hour = long_file("long_30min.mp4", 30 * 60 / CLIP_SECONDS);
    let half_hour_mkv = long_file("long_30min.mkv", 30 * 60 / CLIP_SECONDS);
    let two_hours = long_file("long_2h.mp4", 2 * 3600 / CLIP_SECONDS);
    let python_bin = match bench_python() {
        Ok(p) => Some(p),
        Err(why) => {
            println!("Python columns skipped: {why}");
            None
        }
    };
    bench_requests(&half_hour, &python_bin);
    bench_first_frame(&[
        ("1-minute MP4", minute),
        ("30-minute MP4", half_hour),
        ("30-minute Matroska", half_hour_mkv),
        ("2-hour MP4", two_hours),
    ]);
}
