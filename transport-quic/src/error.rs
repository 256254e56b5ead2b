//! Errors of the QUIC transport and the application error codes it puts on the wire.

use std::io;

use quinn::VarInt;

/// Application error codes of `ucc/1`: the code a session stream is reset (or stopped)
/// with, or a connection closed with (`docs/quic-signaling.md`, "Error codes").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `0x0` — no error: a clean shutdown, or a stream abandoned after a final answer.
    NoError,
    /// `0x1` — `UCC_PROTOCOL_VIOLATION`: a malformed or oversize frame, or a first frame
    /// that is not INVITE. Closes only the stream it came on.
    ProtocolViolation,
    /// `0x2` — `UCC_SESSION_TIMEOUT`: no INVITE on a new stream in time, or no answer to
    /// a CANCEL in time.
    SessionTimeout,
    /// `0x3` — `UCC_WRONG_PROTOCOL`: the connection did not negotiate ALPN `ucc/1`.
    WrongProtocol,
}

impl ErrorCode {
    /// The numeric code.
    pub fn code(self) -> u32 {
        match self {
            ErrorCode::NoError => 0x0,
            ErrorCode::ProtocolViolation => 0x1,
            ErrorCode::SessionTimeout => 0x2,
            ErrorCode::WrongProtocol => 0x3,
        }
    }

    /// The code of a received reset or close, if `ucc/1` defines it.
    pub fn from_code(code: u64) -> Option<Self> {
        Some(match code {
            0x0 => ErrorCode::NoError,
            0x1 => ErrorCode::ProtocolViolation,
            0x2 => ErrorCode::SessionTimeout,
            0x3 => ErrorCode::WrongProtocol,
            _ => return None,
        })
    }

    /// The code as a QUIC varint.
    pub fn varint(self) -> VarInt {
        VarInt::from_u32(self.code())
    }

    /// A short name for logs and status texts.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::NoError => "no error",
            ErrorCode::ProtocolViolation => "UCC_PROTOCOL_VIOLATION",
            ErrorCode::SessionTimeout => "UCC_SESSION_TIMEOUT",
            ErrorCode::WrongProtocol => "UCC_WRONG_PROTOCOL",
        }
    }
}

/// Why the transport could not be built or bound.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QuicError {
    /// The UDP socket could not be bound (or rebound).
    #[error("cannot bind QUIC endpoint to {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The socket error.
        #[source]
        source: io::Error,
    },
    /// The TLS configuration is unusable (bad key, certificate, roots).
    #[error("TLS configuration for {what}: {source}")]
    Tls {
        /// Which part (server, client, roots).
        what: &'static str,
        /// The rustls error.
        #[source]
        source: rustls::Error,
    },
    /// A root certificate could not be added or a verifier not built.
    #[error("certificate verifier for {what}: {reason}")]
    Verifier {
        /// Server or client verification.
        what: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// rustls produced a configuration quinn cannot use for QUIC (no TLS 1.3 suite).
    #[error("TLS configuration unusable for QUIC: {0}")]
    NoInitialCipherSuite(String),
    /// A setting is out of range.
    #[error("invalid configuration of {what}: {reason}")]
    Config {
        /// The setting.
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Neither roots nor pins are configured: no peer could ever be verified.
    #[error("no trust configured: add root certificates or pin fingerprints")]
    NoTrust,
    /// The endpoint is closed.
    #[error("QUIC endpoint closed")]
    Closed,
}
