//! `framekit probe FILE [--json]`.

use std::path::PathBuf;

use clap::Args;
use framekit::MediaSource;

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Video or image file.
    pub file: PathBuf,
    /// Print the stable JSON form (documented in the README).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub open: super::OpenArgs,
}

pub fn run(args: &ProbeArgs) -> anyhow::Result<()> {
    let source = MediaSource::open(&args.file, &args.open.options()?)?;
    let info = source.info();
    if args.json {
        println!("{}", serde_json::to_string_pretty(info)?);
    } else {
        print!("{}", info.to_text());
    }
    Ok(())
}
