//! The `framekit` binary: command-line subcommands, or the desktop app when none is given.

mod cli;
mod lazy_avfilter;

fn main() {
    std::process::exit(cli::run());
}
