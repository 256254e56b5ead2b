//! Command-line flags.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::agent::config::NetTransport;

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
    /// A long-running user agent: listens (and registers), answers calls and IM
    /// sessions, records and echoes; one line per event on stdout. Stops on SIGINT,
    /// SIGTERM or `--max-duration`.
    Agent(AgentCommand),
    /// Places an audio call, keeps it up for `--duration`, hangs up and prints a
    /// one-line result.
    Call(CallArgs),
    /// Sends one instant message; exit 0 once the peer accepted it (2xx).
    Message(MessageArgs),
    /// Registers at the registrar and unregisters; exit 0, or 5 when the credentials
    /// are refused.
    Register(RegisterArgs),
}

/// Settings every user-agent command shares; each overrides `--config`.
#[derive(Debug, Args, Default)]
pub(crate) struct UaArgs {
    /// A TOML file with `[transport]`, `[account]` and `[agent]` sections (see README).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// The transport (overrides `[transport] kind`).
    #[arg(long, value_enum)]
    pub(crate) transport: Option<NetTransport>,
    /// The local address to listen on (overrides `[transport] listen`).
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: Option<SocketAddr>,
    /// Our certificate chain, PEM (sip-tls, quic).
    #[arg(long, value_name = "FILE")]
    pub(crate) cert: Option<PathBuf>,
    /// The private key of `--cert`, PEM.
    #[arg(long, value_name = "FILE")]
    pub(crate) key: Option<PathBuf>,
    /// CA certificates peers are verified against, PEM (sip-tls, quic).
    #[arg(long, value_name = "FILE")]
    pub(crate) ca: Option<PathBuf>,
    /// QUIC: trust the peer certificate with this SHA-256 fingerprint (hex).
    #[arg(long, value_name = "HEX")]
    pub(crate) pin: Option<String>,
    /// Our own address (`sip:alice@example.com`); default: `sip:ucc@<listen address>`.
    #[arg(long)]
    pub(crate) uri: Option<String>,
    /// The user name for digest authentication.
    #[arg(long)]
    pub(crate) user: Option<String>,
    /// The password (default: the `UCC_PASSWORD` environment variable).
    #[arg(long)]
    pub(crate) password: Option<String>,
    /// Register at this registrar (`sip:example.com`).
    #[arg(long, visible_alias = "register", value_name = "URI")]
    pub(crate) registrar: Option<String>,
    /// Send requests outside a dialog through this proxy.
    #[arg(long, value_name = "URI")]
    pub(crate) outbound_proxy: Option<String>,
    /// How long each network step may take (registration, call setup, delivery).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub(crate) timeout: Duration,
}

/// Flags of `ucc agent`.
#[derive(Debug, Args)]
pub(crate) struct AgentCommand {
    #[command(flatten)]
    pub(crate) ua: UaArgs,
    #[command(flatten)]
    pub(crate) agent: AgentArgs,
    /// Stop after this long (default: run until SIGINT or SIGTERM).
    #[arg(long, value_parser = parse_duration)]
    pub(crate) max_duration: Option<Duration>,
}

/// What the agent does with incoming calls and messages (each overrides `[agent]`).
#[derive(Debug, Args, Default)]
pub(crate) struct AgentArgs {
    /// Answer every incoming call and IM session (otherwise they are declined).
    #[arg(long)]
    pub(crate) auto_answer: bool,
    /// Reject every incoming call and IM session as busy (486).
    #[arg(long)]
    pub(crate) busy: bool,
    /// Send this WAV file (16-bit PCM at the codec's rate) instead of the 1 kHz tone.
    #[arg(long, value_name = "FILE.wav")]
    pub(crate) play: Option<PathBuf>,
    /// Write each call's received audio to this folder as `call-<n>.wav`.
    #[arg(long, value_name = "DIR")]
    pub(crate) record: Option<PathBuf>,
    /// Send every received instant message back to its sender.
    #[arg(long)]
    pub(crate) echo: bool,
    /// Send what this capture device records (`default`: the system's default) instead
    /// of the tone (`--echo` takes precedence, then this, then `--play`).
    #[cfg(feature = "audio-device")]
    #[arg(long, value_name = "NAME")]
    pub(crate) capture_device: Option<String>,
    /// Play received audio on this playback device (`default`: the system's default).
    #[cfg(feature = "audio-device")]
    #[arg(long, value_name = "NAME")]
    pub(crate) playback_device: Option<String>,
    /// Send what this V4L2 camera captures (`default`: /dev/video0) instead of the test
    /// pattern, at 640x480 and 30 frames/s or what the camera agrees to.
    #[cfg(feature = "video-device")]
    #[arg(long, value_name = "PATH")]
    pub(crate) video_device: Option<String>,
}

/// Flags of `ucc call`.
#[derive(Debug, Args)]
pub(crate) struct CallArgs {
    /// Whom to call (`sip:bob@192.0.2.1:5060`, `quic:bob@192.0.2.1:4433`).
    pub(crate) target: String,
    #[command(flatten)]
    pub(crate) ua: UaArgs,
    /// How long the call stays up once answered.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub(crate) duration: Duration,
    /// Send this WAV file (16-bit PCM at the codec's rate) instead of the 1 kHz tone.
    #[arg(long, value_name = "FILE.wav")]
    pub(crate) play: Option<PathBuf>,
    /// Write the received audio to this folder as `call-<n>.wav`.
    #[arg(long, value_name = "DIR")]
    pub(crate) record: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Flags of `ucc message`.
#[derive(Debug, Args)]
pub(crate) struct MessageArgs {
    /// The recipient (`sip:bob@192.0.2.1:5060`).
    pub(crate) target: String,
    /// The text (sent as `text/plain; charset=UTF-8`).
    pub(crate) text: String,
    #[command(flatten)]
    pub(crate) ua: UaArgs,
    /// After delivery, print replies that arrive within this long (`reply: …`).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub(crate) wait_reply: Option<Duration>,
}

/// Flags of `ucc register`.
#[derive(Debug, Args)]
pub(crate) struct RegisterArgs {
    #[command(flatten)]
    pub(crate) ua: UaArgs,
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
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
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
