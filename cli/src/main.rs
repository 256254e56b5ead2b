//! The `ucc` command. Its demo and user agent are built by the cli issue; until
//! then it states that plainly and exits with a distinct code.

use std::process::ExitCode;

fn main() -> ExitCode {
    // The command-line front end is the one place where writing to the terminal is the job.
    #[allow(clippy::print_stderr)]
    {
        eprintln!("ucc: not built yet (see the cli issue); the library crates are usable today");
    }
    ExitCode::from(2)
}
