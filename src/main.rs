//! The `framekit` binary: command-line subcommands, or the desktop app when none is given.

mod cli;

fn main() {
    std::process::exit(cli::run());
}
