//! `framekit frames FILE --ids LIST [--out DIR] [--format b64|datauri]`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use framekit::batch::frames::{
    FrameResult, JsonLine, frames_batch, jsonl_lines, parse_request_line,
};
use framekit::codec::{self, TextForm, frames::FrameSelection};
use framekit::{MediaSource, output};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutputForm {
    /// Plain base64 PNG.
    B64,
    /// data:image/png;base64,...
    Datauri,
}

#[derive(Debug, Args)]
pub struct FramesArgs {
    /// Video or image file, or an http(s):// or file:// URL.
    #[arg(required_unless_present = "jsonl", conflicts_with = "jsonl")]
    pub file: Option<PathBuf>,
    /// Comma list of 1-based frame ids, e.g. "1,30" (see README for the exact syntax).
    #[arg(
        long,
        allow_hyphen_values = true,
        required_unless_present = "jsonl",
        conflicts_with = "jsonl"
    )]
    pub ids: Option<String>,
    /// Read one JSON request per line on stdin ({"path": ..., "ids": "1,30"}) and write one
    /// JSON result per line, in input order (see README, "Frames for a dataset").
    #[arg(long, conflicts_with_all = ["out", "format"])]
    pub jsonl: bool,
    /// Requests decoded at once with --jsonl (default: the cores given by --cores).
    #[arg(long, value_name = "N", requires = "jsonl")]
    pub threads: Option<usize>,
    /// Cores this process may use with --jsonl (default: every core it can see). Each of the
    /// --threads decoders gets cores/threads of them; when several framekit processes share a
    /// machine (one per Spark task), give each its share, e.g. spark.task.cpus.
    #[arg(long, value_name = "N", requires = "jsonl", value_parser = clap::value_parser!(u16).range(1..))]
    pub cores: Option<u16>,
    /// Longest request line with --jsonl, in MiB: a longer line is an error row, and reading
    /// goes on at the next line.
    #[arg(long, value_name = "MIB", default_value_t = 1, requires = "jsonl")]
    pub max_line_mib: usize,
    /// Write PNG files named <stem>_f<id>.png into DIR instead, and print their paths.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Text form on stdout.
    #[arg(long, value_enum, default_value = "b64")]
    pub format: OutputForm,
    #[command(flatten)]
    pub open: super::OpenArgs,
}

pub fn run(args: &FramesArgs) -> anyhow::Result<()> {
    let options = args.open.options()?;
    let (Some(file), Some(ids)) = (&args.file, &args.ids) else {
        return run_jsonl(args, options);
    };
    // Frames are decoded, encoded and written one at a time, so memory stays at one frame
    // whatever the id list.
    let requested = codec::parse_frame_ids(ids)?;
    // Lazily: a long or remote file is read only as far as the ids need.
    let mut source = MediaSource::open_lazy(file, &options)?;
    let selection = FrameSelection::for_source(&requested, &mut source)?;
    if let Some(warning) = selection.warning(file) {
        eprintln!("{warning}");
    }
    let mut stdout = std::io::stdout().lock();
    let form = match args.format {
        OutputForm::B64 => TextForm::Base64,
        OutputForm::Datauri => TextForm::DataUri,
    };
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create output folder", dir.display()))?;
    }
    let stem = file
        .file_stem()
        .map_or("frame".into(), |s| s.to_string_lossy().into_owned());
    match &args.out {
        None => {
            // Built whole before anything is printed: on a failure part-way (a damaged file)
            // stdout stays empty, so no caller takes a partial answer for a whole one. Only
            // the text is held, one decoded frame at a time.
            let mut text = Vec::new();
            let max_bytes = options.limits.max_answer_bytes;
            codec::write_frames_text(&mut source, &selection, form, max_bytes, &mut text)?;
            text.push(b'\n');
            stdout.write_all(&text)?;
        }
        Some(dir) => {
            for id in &selection.ids {
                let frame = source.frame(id - 1)?;
                let png = codec::encode_png(&frame)
                    .with_context(|| format!("cannot encode frame {id} as PNG"))?;
                let path = dir.join(format!("{stem}_f{id}.png"));
                output::write_atomically(&path, &png)
                    .with_context(|| format!("{}: cannot write", path.display()))?;
                // Escaped like every other name framekit prints: a newline in the input's
                // name cannot split or forge a line of this list.
                writeln!(stdout, "{}", super::shown(&path))?;
            }
        }
    }
    Ok(())
}

/// `--jsonl`: requests on stdin, results on stdout, one line each, in input order, flushed as
/// they come. Per-request problems are error rows; only stdin or stdout failing is an error.
fn run_jsonl(args: &FramesArgs, mut options: framekit::OpenOptions) -> anyhow::Result<()> {
    let cores = args
        .cores
        .map_or_else(framekit::batch::frames::available_cores, usize::from);
    let threads = args.threads.unwrap_or(cores).max(1);
    options.decoder_threads = framekit::batch::frames::decoder_threads_for(cores, threads);
    let (read_error_tx, read_error_rx) = crossbeam_channel::bounded(1);
    // Read on the batch's dispatch thread, line by line (each at most --max-line-mib), as
    // results go out.
    let max_line = args.max_line_mib.saturating_mul(1 << 20).max(1);
    let stdin = std::io::BufReader::new(std::io::stdin());
    let requests = jsonl_lines(stdin, max_line, move |e| {
        let _ = read_error_tx.send(e);
    })
    .filter(|(_, line)| !matches!(line, JsonLine::Text(text) if text.trim().is_empty()))
    .map(move |(n, line)| match line {
        JsonLine::Text(text) => parse_request_line(&text, n),
        JsonLine::TooLong { limit } => Err(Box::new(FrameResult::failed(
            serde_json::Value::Null,
            String::new(),
            format!(
                "line {n}: longer than {} MiB, skipped (raise --max-line-mib)",
                limit >> 20
            ),
        ))),
        JsonLine::NotUtf8 => Err(Box::new(FrameResult::failed(
            serde_json::Value::Null,
            String::new(),
            format!("line {n}: not UTF-8 text"),
        ))),
    });
    let results = frames_batch(requests, threads, options);
    // On a terminal, a live count on stderr (the stream's length is unknown); in a pipeline
    // (Spark, scripts) stderr stays silent.
    let progress = indicatif::ProgressBar::new_spinner();
    progress.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {pos} requests answered ({msg})  {per_sec}  {elapsed}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    progress.set_message("no errors");
    let mut errors = 0u64;
    let mut stdout = std::io::stdout().lock();
    for mut result in results {
        if let (Some(error), Some(limit)) = (&mut result.error, &result.limit) {
            error.push_str(&super::raise_hint(limit));
        }
        serde_json::to_writer(&mut stdout, &result)?;
        stdout.write_all(b"\n")?;
        stdout.flush()?;
        if result.error.is_some() {
            errors += 1;
            progress.set_message(if errors == 1 {
                "1 error".to_string()
            } else {
                format!("{errors} errors")
            });
        }
        progress.inc(1);
    }
    progress.finish();
    if let Ok(e) = read_error_rx.try_recv() {
        return Err(anyhow::Error::new(e).context("cannot read requests from standard input"));
    }
    Ok(())
}
