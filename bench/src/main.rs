//! `switchboard-bench`: see the library's docs and `--help`.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = switchboard_bench::config::Cli::parse();
    match switchboard_bench::main_with(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("switchboard-bench: {e:#}");
            ExitCode::from(2)
        }
    }
}
