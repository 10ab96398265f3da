//! The `fangsheng` command: parse flags, turn them into a validated
//! configuration, call the library. Errors print as `error: file:line: ...`
//! and exit with status 2.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
