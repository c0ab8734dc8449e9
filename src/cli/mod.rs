//! Command-line parsing (clap) and dispatch. Each subcommand lives in its own file; errors are
//! printed once, on one line, as `framekit: <reason>`, with exit code 1 (2 for usage errors).

mod compare;
mod decode;
mod encode;
mod fleet;
mod frames;
mod install;
mod jobs;
mod probe;
mod scope;
mod signals;
mod transcode;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use framekit::media::{LimitError, LimitKind};

/// Frame-exact video frames as base64 PNGs, and back.
#[derive(Debug, Parser)]
#[command(name = "framekit", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// A video or image to open in the app (when no subcommand is given).
    file: Option<PathBuf>,
    /// Open the app comparing FILE (A) with this file (B).
    #[arg(long, value_name = "B", requires = "file")]
    compare: Option<PathBuf>,
    /// The app's memory budget for decoded frames, in MiB.
    #[arg(long, default_value_t = 512, value_name = "MIB")]
    cache_mib: usize,
    /// The app decodes video on a hardware device where one works (`auto`, the default;
    /// software when none does, the info panel says why) or only in software (`none`).
    #[arg(long, value_enum, default_value_t = HwdecArg::Auto)]
    hwdec: HwdecArg,
    /// How the app converts frames for display: on the GPU (a shader), on the CPU, or on the
    /// GPU where there is a hardware one (not software OpenGL). Exports, copies and the
    /// inspector always use the CPU's exact path.
    #[arg(long, value_enum, default_value_t = DisplayArg::Auto, env = "FRAMEKIT_DISPLAY")]
    display: DisplayArg,
}

/// `--display`: which path converts the app's frames for display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DisplayArg {
    Cpu,
    Gpu,
    Auto,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show what a video or image holds: codec, size, frame rates, exact frame count, colour.
    Probe(probe::ProbeArgs),
    /// List the hardware decoders this FFmpeg was built with and whether each opens here.
    Hwdec(probe::HwdecArgs),
    /// Extract frames by 1-based id as base64 PNGs joined by '|' (the get_frames rules).
    Frames(frames::FramesArgs),
    /// Write a frame's waveform, RGB parade, vectorscope and histogram as PNGs.
    Scope(scope::ScopeArgs),
    /// PSNR and SSIM of two videos or images, frame by frame (FFmpeg's filters), with a summary.
    Compare(compare::CompareArgs),
    /// Turn base64 text (one image or a '|' list) into image files.
    Decode(decode::DecodeArgs),
    /// Turn image files into base64 PNG text, joined by '|'.
    Encode(encode::EncodeArgs),
    /// Transcode videos (or folders of them) to MP4 through the job queue.
    Transcode(transcode::TranscodeArgs),
    /// Show and manage the transcode job queue (SQLite or PostgreSQL).
    Jobs(jobs::JobsArgs),
    /// Add videos to a job queue without running them (workers run them).
    Enqueue(fleet::EnqueueArgs),
    /// Run jobs from a queue as a headless worker (one node of a fleet).
    Worker(fleet::WorkerArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(install::CompletionsArgs),
    /// Print the man page (roff).
    Man,
}

/// The decode limits, the same flags on every command that decodes images; turned into the
/// library's [`framekit::media::DecodeLimits`] here and nowhere else.
#[derive(Debug, Clone, clap::Args)]
pub struct LimitArgs {
    /// Largest image file or decoded base64 image, in MiB.
    #[arg(long, default_value_t = 256, value_name = "MIB")]
    pub max_mib: usize,
    /// Largest image frame, in megapixels (width x height).
    #[arg(long, default_value_t = 100, value_name = "MP")]
    pub max_megapixels: u64,
    /// Most frames in an animated image.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub max_frames: usize,
    /// Most pixels an animated image may decode to in all, in megapixels.
    #[arg(long, default_value_t = 4_000, value_name = "MP")]
    pub max_total_megapixels: u64,
    /// Largest answer of one frames request (its base64 text), in MiB.
    #[arg(long, default_value_t = 512, value_name = "MIB")]
    pub max_answer_mib: usize,
}

impl LimitArgs {
    pub fn limits(&self) -> framekit::media::DecodeLimits {
        framekit::media::DecodeLimits {
            max_decoded_bytes: self.max_mib.saturating_mul(1 << 20),
            max_pixels: self.max_megapixels.saturating_mul(1_000_000),
            max_frames: self.max_frames,
            max_total_pixels: self.max_total_megapixels.saturating_mul(1_000_000),
            max_answer_bytes: self.max_answer_mib.saturating_mul(1 << 20),
        }
    }
}

/// How media is opened: the same flags on `probe` and `frames` (and in each `--jsonl`
/// request), turned into [`framekit::OpenOptions`] here.
#[derive(Debug, Clone, clap::Args)]
pub struct OpenArgs {
    /// Keep the stored orientation instead of applying the display matrix.
    #[arg(long)]
    pub no_autorotate: bool,
    /// Seconds a network connection or read (http/https URLs) may stall before it fails.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub timeout: u64,
    /// Seconds the whole read of one input may take (a slow trickle, an endless body).
    /// Default: 120 for http/https URLs, none for local files; 0: none.
    #[arg(long, value_name = "SECS")]
    pub deadline: Option<u64>,
    /// Open HLS/DASH playlists and concat lists (refused by default: they open further
    /// inputs, and live or looping ones never end).
    #[arg(long)]
    pub allow_playlists: bool,
    /// Open no local file, only URLs (for requests from untrusted input); a URL may not
    /// redirect to a local file either.
    #[arg(long, conflicts_with = "allow_root")]
    pub no_local_files: bool,
    /// Open local files only inside DIR (repeatable; symbolic links resolved); a refusal
    /// reads the same whether the file exists or not.
    #[arg(long, value_name = "DIR")]
    pub allow_root: Vec<PathBuf>,
    /// Refuse URLs whose host is at an internal address (loopback, private, link-local, a
    /// cloud metadata service...) and follow no HTTP redirect, whose target could not be
    /// checked (for requests from untrusted input; see docs/security.md).
    #[arg(long)]
    pub no_private_addresses: bool,
    /// With --no-private-addresses: a host that may be reached whatever its address
    /// (HOST or HOST:PORT as URLs write it; repeatable), such as an internal media server.
    #[arg(long, value_name = "HOST[:PORT]", requires = "no_private_addresses")]
    pub allow_host: Vec<String>,
    /// HDR (PQ/HLG) video: tone-map to SDR BT.709 for 8-bit output, or convert it as tagged.
    #[arg(long, value_enum, default_value_t = HdrArg::Tonemap)]
    pub hdr: HdrArg,
    /// Decode video on a hardware device (VAAPI, VDPAU, CUDA, as this FFmpeg was built):
    /// `auto` uses one where it works and falls back to software decoding (`probe` says
    /// which ran and why); `none` decodes in software, the same frames on every machine.
    #[arg(long, value_enum, default_value_t = HwdecArg::None)]
    pub hwdec: HwdecArg,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// `--hdr`: what to do with HDR video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HdrArg {
    Tonemap,
    None,
}

/// `--hwdec`: whether video may decode on a hardware device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HwdecArg {
    Auto,
    None,
}

impl HwdecArg {
    pub fn mode(self) -> framekit::media::HwDecode {
        match self {
            HwdecArg::Auto => framekit::media::HwDecode::Auto,
            HwdecArg::None => framekit::media::HwDecode::Off,
        }
    }
}

impl HdrArg {
    pub fn mode(self) -> framekit::media::HdrMode {
        match self {
            HdrArg::Tonemap => framekit::media::HdrMode::Tonemap,
            HdrArg::None => framekit::media::HdrMode::None,
        }
    }
}

impl OpenArgs {
    pub fn options(&self) -> anyhow::Result<framekit::OpenOptions> {
        let local_files = if self.no_local_files {
            framekit::media::LocalFiles::Refused
        } else if self.allow_root.is_empty() {
            framekit::media::LocalFiles::Any
        } else {
            framekit::media::LocalFiles::under(&self.allow_root)
                .map_err(|e| anyhow::anyhow!("--allow-root: each folder must exist: {e}"))?
        };
        Ok(framekit::OpenOptions {
            autorotate: !self.no_autorotate,
            limits: self.limits.limits(),
            timeout: std::time::Duration::from_secs(self.timeout.max(1)),
            hdr: self.hdr.mode(),
            hwdec: self.hwdec.mode(),
            deadline: match self.deadline {
                None => framekit::media::Deadline::UrlDefault,
                Some(0) => framekit::media::Deadline::Never,
                Some(secs) => {
                    framekit::media::Deadline::After(std::time::Duration::from_secs(secs))
                }
            },
            allow_playlists: self.allow_playlists,
            local_files,
            addresses: if self.no_private_addresses {
                framekit::media::Addresses::public_only(&self.allow_host)
            } else {
                framekit::media::Addresses::Any
            },
            ..framekit::OpenOptions::default()
        })
    }
}

/// `text` for a terminal or a log line: control characters (a newline or an escape sequence
/// in a file name, an error or a host name) escaped, so no name can forge or break a line.
pub(crate) fn printable(text: &str) -> String {
    framekit::media::printable_path(std::path::Path::new(text))
}

/// A path as [`printable`] shows it.
pub(crate) fn shown(path: &std::path::Path) -> String {
    framekit::media::printable_path(path)
}

/// Runs the CLI and returns the process exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if is_value_error(&e) => {
            eprintln!("framekit: {}", value_error_line(&e));
            return 2;
        }
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let result = match cli.command {
        Some(Command::Probe(args)) => probe::run(&args),
        Some(Command::Hwdec(args)) => probe::run_hwdec(&args),
        Some(Command::Frames(args)) => {
            if let Err(message) = check_parallelism(&args) {
                eprintln!("framekit: {message}");
                return 2;
            }
            frames::run(&args)
        }
        Some(Command::Compare(args)) => compare::run(&args),
        Some(Command::Scope(args)) => scope::run(&args),
        Some(Command::Decode(args)) => decode::run(&args),
        Some(Command::Encode(args)) => encode::run(&args),
        Some(Command::Transcode(args)) => transcode::run(&args),
        Some(Command::Jobs(args)) => jobs::run(&args),
        Some(Command::Enqueue(args)) => fleet::enqueue(&args),
        Some(Command::Worker(args)) => fleet::worker(&args),
        Some(Command::Completions(args)) => install::completions(&args),
        Some(Command::Man) => install::man(),
        None => {
            return open_app(
                cli.file,
                cli.compare,
                cli.cache_mib,
                cli.hwdec.mode(),
                cli.display,
            );
        }
    };
    match result {
        Ok(()) => 0,
        // A closed pipe (`framekit frames ... | head`) is the reader's choice, not an error.
        Err(e) if is_broken_pipe(&e) => 0,
        Err(e) if e.downcast_ref::<signals::Interrupted>().is_some() => {
            eprintln!("framekit: {e}");
            e.downcast_ref::<signals::Interrupted>()
                .map_or(130, |i| 128 + i.0)
        }
        Err(e) => {
            eprintln!("framekit: {}", one_line(&e));
            1
        }
    }
}

/// A bad value for one flag (a number out of range, not a number, not one of the choices):
/// told on one line like every other error, rather than clap's three.
fn is_value_error(error: &clap::Error) -> bool {
    use clap::error::ErrorKind;
    matches!(
        error.kind(),
        ErrorKind::ValueValidation | ErrorKind::InvalidValue
    )
}

/// Clap's message for a value error on one line, without its "error: " and help hint, and
/// with control characters in the value escaped.
fn value_error_line(error: &clap::Error) -> String {
    let text = error.to_string();
    let parts: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
        .collect();
    let line = parts.join(" ");
    printable(line.strip_prefix("error: ").unwrap_or(&line))
}

/// The most decoders (`--threads`) or cores (`--cores`) `frames --jsonl` takes: 64, or four
/// per core on a bigger machine. Like `--jobs`, a count that would only exhaust memory (a
/// thread and a frame buffer each) is refused before anything starts.
pub fn max_parallelism() -> usize {
    framekit::batch::frames::available_cores()
        .saturating_mul(4)
        .max(framekit::batch::MAX_JOBS)
}

/// `frames --threads N` and `--cores N` within 1..=[`max_parallelism`].
fn check_parallelism(args: &frames::FramesArgs) -> Result<(), String> {
    let cap = max_parallelism();
    for (flag, value) in [
        ("--threads", args.threads),
        ("--cores", args.cores.map(usize::from)),
    ] {
        if let Some(n) = value
            && !(1..=cap).contains(&n)
        {
            return Err(format!(
                "{flag} {n} is outside 1..={cap} (64, or 4 per core on bigger machines)"
            ));
        }
    }
    Ok(())
}

#[cfg(feature = "gui")]
fn open_app(
    file: Option<PathBuf>,
    compare: Option<PathBuf>,
    cache_mib: usize,
    hwdec: framekit::media::HwDecode,
    display: DisplayArg,
) -> i32 {
    let display = match display {
        DisplayArg::Cpu => framekit::gui::DisplayMode::Cpu,
        DisplayArg::Gpu => framekit::gui::DisplayMode::Gpu,
        DisplayArg::Auto => framekit::gui::DisplayMode::Auto,
    };
    framekit::gui::run(
        file,
        compare,
        cache_mib.saturating_mul(1 << 20),
        hwdec,
        display,
    )
}

/// A headless build (without the `gui` feature) has no app to open.
#[cfg(not(feature = "gui"))]
fn open_app(
    _file: Option<PathBuf>,
    _compare: Option<PathBuf>,
    _cache_mib: usize,
    _hwdec: framekit::media::HwDecode,
    _display: DisplayArg,
) -> i32 {
    eprintln!(
        "framekit: this build has no app (built without the `gui` feature); \
         use a subcommand: framekit probe, frames, encode, decode, transcode, jobs (see framekit --help)"
    );
    2
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes on one line, without repeating a cause already in the message,
/// and, when a decode limit is why, the flag that raises it; other control characters (an
/// escape sequence in a file name) are shown escaped.
fn one_line(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    if let Some(limit) = error.chain().find_map(|c| c.downcast_ref::<LimitError>()) {
        text.push_str(&raise_hint(limit));
    }
    printable(&text.replace('\n', " "))
}

/// The flag that raises a decode limit.
fn limit_flag(kind: LimitKind) -> &'static str {
    match kind {
        LimitKind::ImageBytes => "--max-mib",
        LimitKind::FramePixels => "--max-megapixels",
        LimitKind::AnimationFrames => "--max-frames",
        LimitKind::TotalPixels => "--max-total-megapixels",
        LimitKind::AnswerBytes => "--max-answer-mib (or ask for fewer ids a request)",
    }
}

/// What the CLI adds to a limit's message: ` (raise it with --max-mib)`.
pub(crate) fn raise_hint(limit: &LimitError) -> String {
    format!(" (raise it with {})", limit_flag(limit.kind))
}
