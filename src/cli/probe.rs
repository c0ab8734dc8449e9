//! `framekit probe FILE [--json]` and `framekit hwdec [--json]`.

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

#[derive(Debug, Args)]
pub struct HwdecArgs {
    /// Print JSON: `compiled` (every device type this FFmpeg has) and `devices` (the ones
    /// framekit decodes on, each with `compiled_in` and `unavailable`: null when a device
    /// opened, else why not).
    #[arg(long)]
    pub json: bool,
}

/// `framekit hwdec`: the hardware device types FFmpeg was built with, and for the ones
/// framekit uses (cuda, vaapi, vdpau) whether a device opens on this machine.
pub fn run_hwdec(args: &HwdecArgs) -> anyhow::Result<()> {
    use framekit::media::video::hwdec;
    let compiled = hwdec::compiled_device_types();
    let devices = hwdec::device_status();
    if args.json {
        let value = serde_json::json!({ "compiled": compiled, "devices": devices });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    let compiled = if compiled.is_empty() {
        "none".to_string()
    } else {
        compiled.join(", ")
    };
    println!("{:<18}{compiled}", "compiled in");
    for device in devices {
        let state = match (&device.unavailable, device.compiled_in) {
            (None, _) => "available".to_string(),
            (Some(why), true) => format!("unavailable ({why})"),
            (Some(_), false) => "not in this FFmpeg build".to_string(),
        };
        println!("{:<18}{state}", device.name);
    }
    Ok(())
}
