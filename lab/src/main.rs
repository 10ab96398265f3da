//! The `fangsheng-lab` command: the experiments' flags, turned into a
//! validated configuration, run on the lab library. Errors print as
//! `error: file:line: ...` and exit with status 2.

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
