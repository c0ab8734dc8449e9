//! `framekit completions SHELL` and `framekit man`: shell completion scripts and a roff man page,
//! both generated from the clap definitions, so they always match the real options.

use std::io::Write;

use clap::{Args, CommandFactory};

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, powershell or elvish.
    pub shell: clap_complete::Shell,
}

pub fn completions(args: &CompletionsArgs) -> anyhow::Result<()> {
    let mut command = super::Cli::command();
    let mut stdout = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut command, "framekit", &mut stdout);
    stdout.flush()?;
    Ok(())
}

/// The man page: the command itself, then a section per subcommand with its synopsis and
/// options.
pub fn man() -> anyhow::Result<()> {
    let command = super::Cli::command();
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut page)?;
    for sub in command.get_subcommands() {
        let name = format!("framekit {}", sub.get_name());
        let sub = sub.clone().name(name.clone()).bin_name(name.clone());
        let man = clap_mangen::Man::new(sub.clone());
        let heading = name.to_uppercase();
        let mut part = Vec::new();
        man.render_synopsis_section(&mut part)?;
        man.render_description_section(&mut part)?;
        man.render_options_section(&mut part)?;
        let part = String::from_utf8_lossy(&part)
            .replace(".SH SYNOPSIS", &format!(".SH \"{heading}\""))
            .replace(".SH DESCRIPTION", "")
            .replace(".SH OPTIONS", &format!(".SS \"{name} options\""));
        page.extend_from_slice(part.as_bytes());
    }
    std::io::stdout().lock().write_all(&page)?;
    Ok(())
}
