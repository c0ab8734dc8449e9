//! The GPU display's shader against the CPU recipe: frames made with the ffmpeg CLI (8-bit
//! 4:2:0 BT.709 limited, 10-bit 4:2:2, 4:4:4 full range, BT.601, 16-bit 4:4:4,
//! and 10-bit PQ and HLG tone-mapped) are converted by the shader into an offscreen
//! framebuffer, read back, and compared on every pixel with what the CPU path makes of the
//! same decoded planes: within 2 levels. Then the conversion is timed at 1080p and 4K 10-bit
//! against the CPU's (printed; no assertion on time).
//!
//! It runs the real glow context eframe makes, under its own Xvfb with Mesa's software
//! renderer (`LIBGL_ALWAYS_SOFTWARE=1`, llvmpipe), like `scripts/gui-smoke.sh`. Without Xvfb
//! or without an OpenGL context it fails with a message saying so (make test installs Xvfb
//! through scripts/install-deps.sh). `harness = false`: winit wants the main thread.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::BT709_LIMITED;
use eframe::glow::{self, HasContext};
use framekit::gui::gpu_display::GpuConverter;
use framekit::media::{OpenOptions, VideoReader};

/// A clip of one frame, losslessly coded (FFV1 keeps any size, format and depth).
fn clip(name: &str, size: &str, pix_fmt: &str, tags: &[&str]) -> PathBuf {
    let source = format!("testsrc2=size={size}:rate=25:duration=0.04");
    let mut args = vec!["-f", "lavfi", "-i", &source, "-pix_fmt", pix_fmt];
    args.extend_from_slice(tags);
    args.extend_from_slice(&["-c:v", "ffv1", "-frames:v", "1"]);
    common::fixture(name, &args)
}

/// The frames compared, by name.
fn cases() -> Vec<(&'static str, PathBuf)> {
    let bt601: &[&str] = &["-colorspace", "smpte170m", "-color_range", "tv"];
    let full: &[&str] = &["-colorspace", "bt709", "-color_range", "pc"];
    vec![
        (
            "8-bit 4:2:0 BT.709 limited",
            clip("gpu_420_709.mkv", "320x180", "yuv420p", BT709_LIMITED),
        ),
        (
            "10-bit 4:2:2 BT.709 limited",
            clip("gpu_422_10.mkv", "320x180", "yuv422p10le", BT709_LIMITED),
        ),
        (
            "8-bit 4:4:4 full range",
            clip("gpu_444_full.mkv", "320x180", "yuv444p", full),
        ),
        (
            "8-bit 4:2:0 BT.601",
            clip("gpu_420_601.mkv", "640x480", "yuv420p", bt601),
        ),
        (
            "16-bit 4:4:4 BT.709 limited",
            clip("gpu_444_16.mkv", "320x180", "yuv444p16le", BT709_LIMITED),
        ),
        ("10-bit PQ tone-mapped", common::pq_x264()),
        ("10-bit HLG tone-mapped", common::hlg_x264()),
    ]
}

/// Max and mean level difference over every pixel.
fn difference(a: &[u8], b: &[u8]) -> (u8, f64) {
    let max = a
        .iter()
        .zip(b)
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0);
    let sum: u64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    (max, sum as f64 / a.len().max(1) as f64)
}

struct Compared {
    name: &'static str,
    size: (usize, usize),
    max: u8,
    mean: f64,
}

struct Timed {
    name: &'static str,
    gpu_ms: f64,
    cpu_ms: f64,
}

/// GPU RGB, CPU RGB and the size of one frame.
type Converted = (Vec<u8>, Vec<u8>, (usize, usize));

/// Converts `path`'s first frame on the GPU and on the CPU.
fn both(
    gl: &glow::Context,
    converter: &mut GpuConverter,
    path: &Path,
) -> Result<Converted, String> {
    let mut reader = VideoReader::open(path, &OpenOptions::default()).map_err(|e| e.to_string())?;
    let decoded = reader.decoded(0).map_err(|e| e.to_string())?;
    let cpu = reader
        .convert_decoded(0, &decoded)
        .map_err(|e| e.to_string())?;
    let planes = reader
        .display_planes(&decoded)
        .ok_or_else(|| format!("{}: no planes for the GPU display", path.display()))?;
    converter
        .convert(gl, &planes, None)
        .map_err(|e| e.to_string())?;
    let gpu = converter.read_rgb(gl, None);
    Ok((gpu, cpu.pixels, (planes.width, planes.height)))
}

/// Upload + convert time on the GPU (finished) and the CPU's conversion, per frame, in ms.
fn time_both(
    gl: &glow::Context,
    converter: &mut GpuConverter,
    path: &Path,
    runs: usize,
) -> Result<(f64, f64), String> {
    let mut reader = VideoReader::open(path, &OpenOptions::default()).map_err(|e| e.to_string())?;
    let decoded = reader.decoded(0).map_err(|e| e.to_string())?;
    let planes = reader
        .display_planes(&decoded)
        .ok_or("no planes for the GPU display")?;
    // Once untimed: first allocations, shader warm-up.
    converter
        .convert(gl, &planes, None)
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    for _ in 0..runs {
        converter
            .convert(gl, &planes, None)
            .map_err(|e| e.to_string())?;
        // SAFETY: waits for the context's work to finish; no memory of ours is involved.
        unsafe { gl.finish() };
    }
    let gpu = started.elapsed().as_secs_f64() * 1000.0 / runs as f64;
    reader
        .convert_decoded(0, &decoded)
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    for _ in 0..runs {
        reader
            .convert_decoded(0, &decoded)
            .map_err(|e| e.to_string())?;
    }
    let cpu = started.elapsed().as_secs_f64() * 1000.0 / runs as f64;
    Ok((gpu, cpu))
}

type Outcome = Result<(Vec<Compared>, Vec<Timed>, String), String>;

/// Everything the test does on the GL context.
fn run_on(gl: &glow::Context) -> Outcome {
    // SAFETY: plain queries on the current context.
    let renderer = unsafe {
        format!(
            "{} / {}",
            gl.get_parameter_string(glow::RENDERER),
            gl.get_parameter_string(glow::VERSION)
        )
    };
    let mut converter = GpuConverter::new(gl).map_err(|e| e.to_string())?;
    let mut compared = Vec::new();
    for (name, path) in cases() {
        let (gpu, cpu, size) = both(gl, &mut converter, &path)?;
        if gpu.len() != cpu.len() {
            return Err(format!(
                "{name}: {} GPU bytes, {} CPU",
                gpu.len(),
                cpu.len()
            ));
        }
        let (max, mean) = difference(&gpu, &cpu);
        compared.push(Compared {
            name,
            size,
            max,
            mean,
        });
    }
    let hd = clip(
        "gpu_1080p_10.mkv",
        "1920x1080",
        "yuv420p10le",
        BT709_LIMITED,
    );
    let uhd = clip("gpu_4k_10.mkv", "3840x2160", "yuv420p10le", BT709_LIMITED);
    let hlg = common::hdr_clip(
        "gpu_1080p_hlg.mkv",
        "testsrc2=size=1920x1080:rate=25:duration=0.04",
        &["-c:v", "ffv1"],
        "arib-std-b67",
    );
    let mut timed = Vec::new();
    for (name, path, runs) in [
        ("1080p 10-bit 4:2:0", hd, 10),
        ("4K 10-bit 4:2:0", uhd, 5),
        ("1080p 10-bit HLG tone-mapped", hlg, 10),
    ] {
        let (gpu_ms, cpu_ms) = time_both(gl, &mut converter, &path, runs)?;
        timed.push(Timed {
            name,
            gpu_ms,
            cpu_ms,
        });
    }
    converter.destroy(gl);
    Ok((compared, timed, renderer))
}

/// The first free X display number from 99 (as scripts/gui-smoke.sh picks it).
fn free_display() -> u32 {
    (99..200)
        .find(|n| {
            !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
        })
        .unwrap_or(99)
}

struct Xvfb(Child);

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_xvfb() -> Xvfb {
    let number = free_display();
    let display = format!(":{number}");
    let child = Command::new("Xvfb")
        .args([
            display.as_str(),
            "-screen",
            "0",
            "640x480x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "gpu_display: cannot start Xvfb ({e}); the GPU display test needs it \
                 (scripts/install-deps.sh installs it)"
            )
        });
    let socket = format!("/tmp/.X11-unix/X{number}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !Path::new(&socket).exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        Path::new(&socket).exists(),
        "gpu_display: Xvfb did not start on {display}"
    );
    // SAFETY: no other thread runs yet (this is the test's main, before eframe starts).
    unsafe {
        std::env::set_var("DISPLAY", &display);
        std::env::remove_var("WAYLAND_DISPLAY");
        std::env::set_var("LIBGL_ALWAYS_SOFTWARE", "1");
    }
    Xvfb(child)
}

/// Closes the window at its first frame: the work was done on the creation context.
struct CloseAtOnce;

impl eframe::App for CloseAtOnce {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
    }
}

fn main() {
    // `cargo test -- --list` and filters from other tests: nothing to list here but this.
    if std::env::args().any(|a| a == "--list") {
        println!("gpu_display: test");
        return;
    }
    let _xvfb = start_xvfb();
    let outcome: Arc<Mutex<Option<Outcome>>> = Arc::new(Mutex::new(None));
    let slot = outcome.clone();
    let options = eframe::NativeOptions {
        renderer: eframe::Renderer::Glow,
        viewport: egui::ViewportBuilder::default().with_inner_size([64.0, 64.0]),
        ..Default::default()
    };
    let ran = eframe::run_native(
        "framekit-gpu-display-test",
        options,
        Box::new(move |cc| {
            let result = match &cc.gl {
                Some(gl) => run_on(gl),
                None => Err("eframe made no OpenGL context".to_string()),
            };
            if let Ok(mut slot) = slot.lock() {
                *slot = Some(result);
            }
            Ok(Box::new(CloseAtOnce))
        }),
    );
    if let Err(e) = ran {
        panic!("gpu_display: no OpenGL window under Xvfb with software GL: {e}");
    }
    let outcome = outcome
        .lock()
        .ok()
        .and_then(|mut o| o.take())
        .expect("gpu_display: the window never ran the test");
    let (compared, timed, renderer) = outcome.unwrap_or_else(|e| panic!("gpu_display: {e}"));
    println!("gpu_display: {renderer}");
    let mut worst = 0;
    for c in &compared {
        println!(
            "gpu_display: {:<30} {}x{}: max {} levels, mean {:.4}",
            c.name, c.size.0, c.size.1, c.max, c.mean
        );
        worst = worst.max(c.max);
    }
    for t in &timed {
        println!(
            "gpu_display: {:<30} GPU upload + convert {:.1} ms, CPU conversion {:.1} ms",
            t.name, t.gpu_ms, t.cpu_ms
        );
    }
    assert!(
        worst <= 2,
        "gpu_display: the shader is {worst} levels from the CPU recipe"
    );
    println!(
        "gpu_display: ok ({} frames, every pixel within 2 levels)",
        compared.len()
    );
}
