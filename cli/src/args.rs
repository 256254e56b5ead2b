//! Command-line flags.

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The `ucc` command.
#[derive(Debug, Parser)]
#[command(
    name = "ucc",
    version,
    about = "ucc-rs: a live demo call and a user agent"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Two endpoints (alice and bob) in one process: instant messages with composing
    /// indication, then a call with hold, resume, video added and removed, and hang-up;
    /// prints a summary.
    Demo(DemoArgs),
}

/// Flags of `ucc demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// The transport carrying the signaling.
    #[arg(long, value_enum, default_value_t = TransportChoice::SipUdp)]
    pub(crate) transport: TransportChoice,
    /// How long the call stays up (e.g. `3s`, `500ms`).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub(crate) duration: Duration,
    /// How many instant messages alice sends to bob.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub(crate) messages: u32,
    /// Print the summary as JSON on stdout instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
    /// Write what bob received to this folder (`bob-audio.wav`, `bob-video.y4m`).
    #[arg(long, value_name = "DIR")]
    pub(crate) record: Option<std::path::PathBuf>,
}

/// The transports `ucc` can run over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TransportChoice {
    /// SIP over UDP on loopback.
    SipUdp,
    /// SIP over TCP on loopback.
    SipTcp,
    /// SIP over TLS on loopback.
    SipTls,
    /// QUIC on loopback.
    Quic,
    /// The in-process memory transport.
    Memory,
}

impl TransportChoice {
    /// The name used on the command line and in summaries.
    pub(crate) fn name(self) -> &'static str {
        match self {
            TransportChoice::SipUdp => "sip-udp",
            TransportChoice::SipTcp => "sip-tcp",
            TransportChoice::SipTls => "sip-tls",
            TransportChoice::Quic => "quic",
            TransportChoice::Memory => "memory",
        }
    }
}

/// Parses `1500ms`, `2s`, `1m` or a bare number of seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (try 2s or 500ms)"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("unknown unit `{unit}` in `{s}` (use ms, s or m)")),
    };
    if !(0.0..=3600.0).contains(&seconds) {
        return Err(format!("`{s}` is out of range (0 to 1 hour)"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("2h").is_err());
        assert!(parse_duration("abc").is_err());
        assert!(parse_duration("2 hours").is_err());
        assert!(parse_duration("7200").is_err());
    }
}
