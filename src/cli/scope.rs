//! `framekit scope FILE --ids N [--kind waveform|parade|vectorscope|histogram|all] --out DIR`:
//! the scopes of frames as PNGs named `<stem>_f<id>_<kind>.png`. Each file is written to a
//! temporary name and linked into place; an existing file is kept unless `--force`.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use framekit::frame::{Frame, PixelLayout};
use framekit::media::scope::{ScopeData, ScopeKind};
use framekit::{MediaSource, codec, output};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    Waveform,
    Parade,
    Vectorscope,
    Histogram,
    All,
}

#[derive(Debug, Args)]
pub struct ScopeArgs {
    /// Video file.
    pub file: PathBuf,
    /// Comma list of 1-based frame ids.
    #[arg(long, allow_hyphen_values = true)]
    pub ids: String,
    /// Which scope.
    #[arg(long, value_enum, default_value = "all")]
    pub kind: KindArg,
    /// Folder for the PNGs.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Replace files that exist.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub open: super::OpenArgs,
}

pub fn run(args: &ScopeArgs) -> anyhow::Result<()> {
    let ids = codec::frames::parse_frame_ids(&args.ids)
        .map_err(|e| anyhow::anyhow!("--ids {:?}: {e}", args.ids))?;
    let options = args.open.options()?;
    let MediaSource::Video(mut reader) = MediaSource::open(&args.file, &options)? else {
        anyhow::bail!("{}: scopes read video streams", super::shown(&args.file));
    };
    let kinds: Vec<ScopeKind> = match args.kind {
        KindArg::Waveform => vec![ScopeKind::Waveform],
        KindArg::Parade => vec![ScopeKind::Parade],
        KindArg::Vectorscope => vec![ScopeKind::Vectorscope],
        KindArg::Histogram => vec![ScopeKind::Histogram],
        KindArg::All => ScopeKind::ALL.to_vec(),
    };
    let color = reader.info().video.as_ref().map(|v| v.color.clone());
    let decision = color.as_ref().map(|c| c.used).context("no video stream")?;
    let hdr = color.as_ref().and_then(|c| c.tagged.hdr);
    let stem = args
        .file
        .file_stem()
        .map_or("frame".into(), |s| s.to_string_lossy().into_owned());
    for id in ids {
        let index = usize::try_from(id - 1)
            .map_err(|_| anyhow::anyhow!("frame id {id}: ids start at 1"))?;
        let decoded = reader.decoded(index)?;
        let shown = reader.convert_decoded(index, &decoded)?;
        let data = ScopeData::compute(&decoded, decision, hdr, &shown)?;
        // The folder is made once there is something to put in it (as `frames --out` does).
        std::fs::create_dir_all(&args.out)
            .with_context(|| format!("{}: cannot create output folder", args.out.display()))?;
        for &kind in &kinds {
            let image = data.render(kind);
            let frame = Frame {
                index,
                time_seconds: None,
                width: image.width,
                height: image.height,
                layout: PixelLayout::Rgba8,
                pixels: image.rgba,
            };
            let png = codec::png::encode_png(&frame).context("encode the scope PNG")?;
            let path = args.out.join(format!("{stem}_f{id}_{}.png", kind.name()));
            let result = if args.force {
                output::write_atomically(&path, &png)
            } else {
                output::write_new(&path, &png)
            };
            match result {
                Ok(()) => println!("{}", super::shown(&path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => anyhow::bail!(
                    "{}: already exists; not replacing it (use --force, or another --out)",
                    super::shown(&path)
                ),
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("{}: cannot write", super::shown(&path)));
                }
            }
        }
    }
    Ok(())
}
