//! `framekit frames FILE --ids LIST [--out DIR] [--format b64|datauri]`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use framekit::codec::{self, TextForm, frames::FrameSelection};
use framekit::{MediaSource, OpenOptions, output};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutputForm {
    /// Plain base64 PNG.
    B64,
    /// data:image/png;base64,...
    Datauri,
}

#[derive(Debug, Args)]
pub struct FramesArgs {
    /// Video or image file.
    pub file: PathBuf,
    /// Comma list of 1-based frame ids, e.g. "1,30" (see README for the exact syntax).
    #[arg(long, allow_hyphen_values = true)]
    pub ids: String,
    /// Write PNG files named <stem>_f<id>.png into DIR instead, and print their paths.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Text form on stdout.
    #[arg(long, value_enum, default_value = "b64")]
    pub format: OutputForm,
    /// Keep the stored orientation instead of applying the display matrix.
    #[arg(long)]
    pub no_autorotate: bool,
    #[command(flatten)]
    pub limits: super::LimitArgs,
}

pub fn run(args: &FramesArgs) -> anyhow::Result<()> {
    let options = OpenOptions {
        autorotate: !args.no_autorotate,
        limits: args.limits.limits(),
    };
    // Frames are decoded, encoded and written one at a time, so memory stays at one frame
    // whatever the id list.
    let requested = codec::parse_frame_ids(&args.ids)?;
    let mut source = MediaSource::open(&args.file, &options)?;
    let selection = FrameSelection::new(&requested, source.frame_count());
    if let Some(warning) = selection.warning(&args.file) {
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
    let stem = args
        .file
        .file_stem()
        .map_or("frame".into(), |s| s.to_string_lossy().into_owned());
    match &args.out {
        None => {
            // Built whole before anything is printed: on a failure part-way (a damaged file)
            // stdout stays empty, so no caller takes a partial answer for a whole one. Only
            // the text is held, one decoded frame at a time.
            let mut text = Vec::new();
            codec::write_frames_text(&mut source, &selection, form, &mut text)?;
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
                writeln!(stdout, "{}", path.display())?;
            }
        }
    }
    Ok(())
}
