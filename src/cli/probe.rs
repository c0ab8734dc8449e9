//! `framekit probe FILE [--json]`.

use std::path::PathBuf;

use clap::Args;
use framekit::{MediaSource, OpenOptions};

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Video or image file.
    pub file: PathBuf,
    /// Print the stable JSON form (documented in the README).
    #[arg(long)]
    pub json: bool,
    /// Report sizes as stored, ignoring the display matrix.
    #[arg(long)]
    pub no_autorotate: bool,
    #[command(flatten)]
    pub limits: super::LimitArgs,
}

pub fn run(args: &ProbeArgs) -> anyhow::Result<()> {
    let source = MediaSource::open(
        &args.file,
        &OpenOptions {
            autorotate: !args.no_autorotate,
            limits: args.limits.limits(),
        },
    )?;
    let info = source.info();
    if args.json {
        println!("{}", serde_json::to_string_pretty(info)?);
    } else {
        print!("{}", info.to_text());
    }
    Ok(())
}
