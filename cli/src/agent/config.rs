//! The user agent's settings: a TOML file (`--config`) with `[transport]`, `[account]`
//! and `[agent]` sections, overridden by flags. Only `[transport]` changes between
//! deployments: the same account and agent settings run over SIP (UDP, TCP, TLS) or QUIC.
//!
//! ```toml
//! [transport]
//! kind = "sip-udp"            # sip-udp | sip-tcp | sip-tls | quic
//! listen = "127.0.0.1:5060"
//! # cert = "agent.pem"        # sip-tls and quic: our chain (PEM)
//! # key = "agent.key"         # and its private key (PEM)
//! # ca = "ca.pem"             # roots peers are verified against
//! # pin = "ab12…"             # quic: or trust one peer certificate by SHA-256
//!
//! [account]
//! uri = "sip:alice@example.com"
//! user = "alice"
//! password_env = "UCC_PASSWORD"
//! registrar = "sip:example.com"
//!
//! [agent]
//! auto_answer = true
//! record = "recordings"
//! echo = true
//! ```
//!
//! Relative paths in the file are relative to the file's folder.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use serde::Deserialize;

use crate::args::{AgentArgs, UaArgs};
use crate::exit::CliError;

/// The environment variable the password comes from when neither a flag nor the file
/// gives one.
pub(crate) const PASSWORD_ENV: &str = "UCC_PASSWORD";

/// The network transports a user agent runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum NetTransport {
    /// SIP over UDP (and TCP on the same port).
    SipUdp,
    /// SIP over TCP.
    SipTcp,
    /// SIP over TLS (needs `cert`, `key` and `ca`).
    SipTls,
    /// QUIC (needs `cert`, `key`, and `ca` or `pin`).
    Quic,
}

impl NetTransport {
    /// The name used on the command line and in the file.
    pub(crate) fn name(self) -> &'static str {
        match self {
            NetTransport::SipUdp => "sip-udp",
            NetTransport::SipTcp => "sip-tcp",
            NetTransport::SipTls => "sip-tls",
            NetTransport::Quic => "quic",
        }
    }
}

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct File {
    transport: TransportSection,
    account: AccountSection,
    agent: AgentSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct TransportSection {
    kind: Option<NetTransport>,
    listen: Option<SocketAddr>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    ca: Option<PathBuf>,
    pin: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct AccountSection {
    uri: Option<String>,
    user: Option<String>,
    password: Option<String>,
    password_env: Option<String>,
    realm: Option<String>,
    registrar: Option<String>,
    outbound_proxy: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct AgentSection {
    auto_answer: Option<bool>,
    busy: Option<bool>,
    play: Option<PathBuf>,
    record: Option<PathBuf>,
    echo: Option<bool>,
}

/// Where and how the user agent signals.
#[derive(Debug, Clone)]
pub(crate) struct TransportSettings {
    pub(crate) kind: NetTransport,
    pub(crate) listen: SocketAddr,
    pub(crate) cert: Option<PathBuf>,
    pub(crate) key: Option<PathBuf>,
    pub(crate) ca: Option<PathBuf>,
    pub(crate) pin: Option<String>,
}

/// Who the user agent is.
#[derive(Debug, Clone, Default)]
pub(crate) struct AccountSettings {
    pub(crate) uri: Option<String>,
    pub(crate) user: Option<String>,
    pub(crate) password: Option<String>,
    pub(crate) realm: Option<String>,
    pub(crate) registrar: Option<String>,
    pub(crate) outbound_proxy: Option<String>,
}

/// What `ucc agent` does with what comes in.
#[derive(Debug, Clone, Default)]
pub(crate) struct AgentSettings {
    pub(crate) auto_answer: bool,
    pub(crate) busy: bool,
    pub(crate) play: Option<PathBuf>,
    pub(crate) record: Option<PathBuf>,
    pub(crate) echo: bool,
}

/// Everything, file and flags merged.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) transport: TransportSettings,
    pub(crate) account: AccountSettings,
    pub(crate) agent: AgentSettings,
}

/// Any free port: the one-shot commands' default.
pub(crate) fn any_port(_: NetTransport) -> u16 {
    0
}

impl Settings {
    /// Reads `--config` (if any) and applies the flags over it. `default_port` gives
    /// the listening port of a transport when neither gives an address (0 for the
    /// one-shot commands: any free port).
    pub(crate) fn resolve(
        ua: &UaArgs,
        agent: Option<&AgentArgs>,
        default_port: fn(NetTransport) -> u16,
    ) -> Result<Settings, CliError> {
        let (file, base) = match &ua.config {
            Some(path) => (read(path)?, path.parent().map(Path::to_path_buf)),
            None => (File::default(), None),
        };
        let rel = |p: Option<PathBuf>| {
            p.map(|p| match &base {
                Some(b) if p.is_relative() => b.join(p),
                _ => p,
            })
        };
        let t = file.transport;
        let kind = ua.transport.or(t.kind).unwrap_or(NetTransport::SipUdp);
        let listen = ua
            .listen
            .or(t.listen)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], default_port(kind))));
        let transport = TransportSettings {
            kind,
            listen,
            cert: ua.cert.clone().or(rel(t.cert)),
            key: ua.key.clone().or(rel(t.key)),
            ca: ua.ca.clone().or(rel(t.ca)),
            pin: ua.pin.clone().or(t.pin),
        };
        let a = file.account;
        let password = match ua.password.clone().or(a.password) {
            Some(p) => Some(p),
            None => {
                let var = a.password_env.as_deref().unwrap_or(PASSWORD_ENV);
                std::env::var(var).ok()
            }
        };
        let account = AccountSettings {
            uri: ua.uri.clone().or(a.uri),
            user: ua.user.clone().or(a.user),
            password,
            realm: a.realm,
            registrar: ua.registrar.clone().or(a.registrar),
            outbound_proxy: ua.outbound_proxy.clone().or(a.outbound_proxy),
        };
        let g = file.agent;
        let agent = AgentSettings {
            auto_answer: agent.is_some_and(|f| f.auto_answer) || g.auto_answer.unwrap_or(false),
            busy: agent.is_some_and(|f| f.busy) || g.busy.unwrap_or(false),
            play: agent.and_then(|f| f.play.clone()).or(rel(g.play)),
            record: agent.and_then(|f| f.record.clone()).or(rel(g.record)),
            echo: agent.is_some_and(|f| f.echo) || g.echo.unwrap_or(false),
        };
        Ok(Settings {
            transport,
            account,
            agent,
        })
    }
}

fn read(path: &Path) -> Result<File, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Usage(format!("--config {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| {
        // TOML errors span several lines (a caret under the text): keep the first.
        let message = e
            .message()
            .lines()
            .next()
            .unwrap_or("invalid TOML")
            .to_owned();
        let at = e
            .span()
            .map(|s| {
                let line = text[..s.start.min(text.len())].lines().count().max(1);
                format!(" (line {line})")
            })
            .unwrap_or_default();
        CliError::Usage(format!("--config {}: {message}{at}", path.display()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_section() {
        let f: File = toml::from_str(
            r#"
            [transport]
            kind = "quic"
            listen = "127.0.0.1:4433"
            cert = "a.pem"
            key = "a.key"
            pin = "00"
            [account]
            uri = "sip:alice@example.com"
            user = "alice"
            password_env = "ALICE_PW"
            registrar = "sip:example.com"
            [agent]
            auto_answer = true
            echo = true
            record = "rec"
            "#,
        )
        .expect("valid file");
        assert_eq!(f.transport.kind, Some(NetTransport::Quic));
        assert_eq!(f.account.password_env.as_deref(), Some("ALICE_PW"));
        assert_eq!(f.agent.auto_answer, Some(true));
        assert!(toml::from_str::<File>("[transport]\nkind = \"carrier-pigeon\"").is_err());
        assert!(toml::from_str::<File>("[transport]\nlisten_on = 1").is_err());
    }
}
