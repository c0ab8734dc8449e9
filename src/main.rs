//! The `framekit` binary: command-line subcommands, or the desktop app when none is given.

mod cli;
mod lazy_avfilter;
mod out_of_memory;

#[global_allocator]
static ALLOCATOR: out_of_memory::ReportingAllocator = out_of_memory::ReportingAllocator;

fn main() {
    std::process::exit(cli::run());
}
