//! The `ctxsbom` binary: parse the command line, run, report errors with their causes.

use clap::Parser;

fn main() {
    let cli = ctxsbom::cli::Cli::parse();
    if let Err(e) = ctxsbom::cli::run(cli) {
        eprintln!("error: {e}");
        for cause in e.chain().skip(1) {
            eprintln!("  caused by: {cause}");
        }
        std::process::exit(1);
    }
}
