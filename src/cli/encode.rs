//! `framekit encode IMAGE... [--datauri] [--keep-format]`: files to base64, `|`-joined.

use std::path::PathBuf;

use anyhow::Context as _;
use base64::Engine as _;
use clap::Args;
use framekit::codec::{self, TextForm};
use framekit::{MediaSource, OpenOptions};

#[derive(Debug, Args)]
pub struct EncodeArgs {
    /// Image files (a video gives its first frame).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Write data URIs (data:image/png;base64,...).
    #[arg(long)]
    pub datauri: bool,
    /// Encode each file's bytes as they are (JPEG stays JPEG) instead of as a PNG.
    #[arg(long)]
    pub keep_format: bool,
    #[command(flatten)]
    pub limits: super::LimitArgs,
}

pub fn run(args: &EncodeArgs) -> anyhow::Result<()> {
    let mut texts = Vec::with_capacity(args.files.len());
    for path in &args.files {
        let text = if args.keep_format {
            // The same checks as every other input: no FIFO or device (`/dev/zero` would
            // never end), nothing over --max-mib.
            let bytes = framekit::media::read_image_file(path, &args.limits.limits())?;
            let format = image::guess_format(&bytes).map_err(|_| {
                anyhow::anyhow!("{}: not an image format framekit knows", path.display())
            })?;
            let body = base64::engine::general_purpose::STANDARD.encode(&bytes);
            if args.datauri {
                format!("data:{};base64,{body}", format.to_mime_type())
            } else {
                body
            }
        } else {
            let options = OpenOptions {
                limits: args.limits.limits(),
                ..OpenOptions::default()
            };
            let mut source = MediaSource::open(path, &options)?;
            let frame = source.frame(0)?;
            let png = codec::encode_png(&frame)
                .with_context(|| format!("{}: cannot encode PNG", path.display()))?;
            codec::png_to_text(
                &png,
                if args.datauri {
                    TextForm::DataUri
                } else {
                    TextForm::Base64
                },
            )
        };
        texts.push(text);
    }
    println!("{}", texts.join("|"));
    Ok(())
}
