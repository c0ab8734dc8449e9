//! `framekit decode [TEXT | - | --clipboard] --out DIR [--png]`: base64 to image files.

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use framekit::codec::{self, DecodeLimits, paste::format_name};
use framekit::output;

#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// Base64 text, or "-" to read standard input.
    #[arg(required_unless_present = "clipboard", conflicts_with = "clipboard")]
    pub text: Option<String>,
    /// Read the text from the clipboard.
    #[arg(long)]
    pub clipboard: bool,
    /// Folder for the images (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Convert every image to PNG instead of keeping its format.
    #[arg(long)]
    pub png: bool,
    /// File name stem: files are <stem>_<n>.<ext>.
    #[arg(long, default_value = "image")]
    pub name: String,
    /// Largest decoded size of one image, in MiB.
    #[arg(long, default_value_t = 256)]
    pub max_mib: usize,
    /// Largest image, in megapixels.
    #[arg(long, default_value_t = 100)]
    pub max_megapixels: u64,
}

#[cfg(feature = "gui")]
fn clipboard_text() -> anyhow::Result<String> {
    use framekit::gui::clipboard::{ClipboardAccess, SystemClipboard};
    SystemClipboard::default()
        .get_text()
        .map_err(|e| anyhow::anyhow!("cannot read the clipboard: {e}"))
}

/// A headless build has no clipboard access (arboard comes with the `gui` feature).
#[cfg(not(feature = "gui"))]
fn clipboard_text() -> anyhow::Result<String> {
    anyhow::bail!(
        "--clipboard needs the app's clipboard support; this build has no `gui` feature (pipe the text in with '-')"
    )
}

pub fn run(args: &DecodeArgs) -> anyhow::Result<()> {
    let text = match (args.clipboard, args.text.as_deref()) {
        (true, _) => clipboard_text()?,
        (false, Some("-")) => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read standard input")?;
            text
        }
        (false, Some(text)) => text.to_string(),
        (false, None) => anyhow::bail!("no text given"),
    };
    let limits = DecodeLimits {
        max_decoded_bytes: args.max_mib.saturating_mul(1 << 20),
        max_pixels: args.max_megapixels.saturating_mul(1_000_000),
    };
    let images = codec::decode_base64_images(&text, &limits)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create output folder", args.out.display()))?;
    for (i, image) in images.iter().enumerate() {
        let Some(first) = image.frames.first() else {
            continue;
        };
        let (bytes, ext, label) = if args.png && image.format != image::ImageFormat::Png {
            (
                codec::encode_png(first)?,
                "png",
                format!("PNG from {}", format_name(image.format)),
            )
        } else {
            let ext = image
                .format
                .extensions_str()
                .first()
                .copied()
                .unwrap_or("bin");
            (image.bytes.clone(), ext, format_name(image.format))
        };
        let path = args.out.join(format!("{}_{}.{ext}", args.name, i + 1));
        output::write_atomically(&path, &bytes)
            .with_context(|| format!("{}: cannot write", path.display()))?;
        println!(
            "{} ({label}, {}x{}, {} bytes)",
            path.display(),
            first.width,
            first.height,
            bytes.len()
        );
    }
    Ok(())
}
