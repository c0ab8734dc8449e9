//! `framekit decode [TEXT | - | --clipboard] --out DIR [--png]`: base64 to image files.

use std::io::Cursor;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use framekit::codec::paste::{DecodedImage, PartReader, format_name};
use framekit::codec::{self};
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
    /// File name stem: files are <stem>_<n>.<ext>, always inside --out.
    #[arg(long, default_value = "image", value_parser = file_stem)]
    pub name: String,
    /// Replace files that already exist in the output folder.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub limits: super::LimitArgs,
}

/// `--name`: a plain file name stem, so every file lands inside `--out`. A path (`../../x`,
/// `/etc/x`, `a/b`), `.` or `..`, or a control character is refused.
fn file_stem(text: &str) -> Result<String, String> {
    let shown = super::printable(text);
    if text.is_empty() || text == "." || text == ".." {
        return Err(format!("\"{shown}\" is not a file name"));
    }
    if text.contains('/') || text.contains('\\') {
        return Err(format!(
            "\"{shown}\" is a path; give a file name stem (the files go in --out)"
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(format!("\"{shown}\" has control characters"));
    }
    Ok(text.to_string())
}

#[cfg(feature = "gui")]
fn clipboard_text() -> anyhow::Result<String> {
    use framekit::clipboard::{ClipboardAccess, SystemClipboard};
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

/// Decodes the parts one at a time and writes each image before reading the next, so memory
/// holds one part whatever the length of the list (standard input is read as a stream).
pub fn run(args: &DecodeArgs) -> anyhow::Result<()> {
    let limits = args.limits.limits();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create output folder", args.out.display()))?;
    match (args.clipboard, args.text.as_deref()) {
        (true, _) => write_parts(
            args,
            &limits,
            PartReader::new(Cursor::new(clipboard_text()?), &limits),
        ),
        (false, Some("-")) => write_parts(
            args,
            &limits,
            PartReader::new(std::io::stdin().lock(), &limits),
        ),
        (false, Some(text)) => {
            write_parts(args, &limits, PartReader::new(text.as_bytes(), &limits))
        }
        (false, None) => anyhow::bail!("no text given"),
    }
}

fn write_parts<R: std::io::Read>(
    args: &DecodeArgs,
    limits: &framekit::media::DecodeLimits,
    parts: PartReader<R>,
) -> anyhow::Result<()> {
    let mut written = 0;
    for (i, part) in parts.enumerate() {
        let (offset, text, numbered) = part?;
        let image = codec::paste::decode_part(&text, offset, numbered.then_some(i + 1), limits)?;
        drop(text);
        write_image(args, i + 1, &image)?;
        written += 1;
    }
    if written == 0 {
        return Err(codec::PasteError::Empty.into());
    }
    Ok(())
}

fn write_image(args: &DecodeArgs, number: usize, image: &DecodedImage) -> anyhow::Result<()> {
    let first = image.image.first_frame()?;
    let png;
    let (bytes, ext, label): (&[u8], &str, String) =
        if args.png && image.format != image::ImageFormat::Png {
            png = codec::encode_png(&first)?;
            (
                &png,
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
            (&image.bytes, ext, format_name(image.format))
        };
    let path = args.out.join(format!("{}_{number}.{ext}", args.name));
    let result = if args.force {
        output::write_atomically(&path, bytes)
    } else {
        output::write_new(&path, bytes)
    };
    match result {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => anyhow::bail!(
            "{}: already exists; not replacing it (use --force, or another --name or --out)",
            super::shown(&path)
        ),
        Err(e) => {
            return Err(e).with_context(|| format!("{}: cannot write", super::shown(&path)));
        }
    }
    println!(
        "{} ({label}, {}x{}, {} bytes)",
        super::shown(&path),
        first.width,
        first.height,
        bytes.len()
    );
    Ok(())
}
