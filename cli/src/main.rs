//! The `ucc` command: `ucc demo` runs a whole call between two endpoints in one process
//! and prints what happened; it is the README's main job. `ucc agent` is a long-running
//! user agent for real peers, and `ucc call`, `ucc message` and `ucc register` do one
//! thing each with exit codes a script can rely on.
//!
//! Exit codes are part of the interface (scripts rely on them): see [`exit::CliError`].
//!
//! # Dependencies
//!
//! - `session-core`: the object model the demo drives.
//! - `transport-sip`, `transport-quic`: the transports `--transport` picks.
//! - `media-av`: the media engine (tone and test pattern, Opus/G.711, H.264, RTP/RTCP)
//!   and the quality measures of the summary.
//! - `rcgen`, `rustls-pki-types`: the demo's throw-away certificate authority for
//!   SIP over TLS and QUIC (certificates are verified, as in production).
//! - `clap`: flags and subcommands, with help and usage errors (exit code 2).
//! - `serde`, `serde_json`: the `--json` summary and result.
//! - `toml`: the user agent's `--config` file.
//! - `tokio`: the runtime the library's operations run on.
//! - `thiserror`: [`exit::CliError`].
//! - `tracing`, `tracing-subscriber`: logs to stderr, filtered by `RUST_LOG`.

// The terminal is this crate's output: the summary goes to stdout, errors to stderr.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod agent;
mod args;
mod commands;
mod demo;
mod exit;
mod pki;
mod stack;
mod summary;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::exit::CliError;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ucc: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Help and version print as clap prints them; a usage error becomes one line on
/// stderr (scripts read the first line) and exit code 2.
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    let text = e.render().to_string();
    let message: Vec<&str> = text
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:"))
        .filter(|l| !l.is_empty())
        .collect();
    let message = message.join(" ");
    let message = message.strip_prefix("error: ").unwrap_or(&message);
    eprintln!("ucc: {message} (see --help)");
    ExitCode::from(2)
}

fn run(cli: Cli) -> Result<(), CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Internal(format!("cannot start the runtime: {e}")))?;
    match cli.command {
        Command::Demo(args) => runtime.block_on(demo::run(args)),
        Command::Agent(args) => runtime.block_on(agent::run(args)),
        Command::Call(args) => runtime.block_on(commands::call::run(args)),
        Command::Message(args) => runtime.block_on(commands::message::run(args)),
        Command::Register(args) => runtime.block_on(commands::register::run(args)),
    }
}
