//! [`TransportError`]: what went wrong sending, connecting or binding, and where.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use super::{RouteError, TransportKind};

/// A transport operation failed. Each variant names the operation and the address; IO
/// and TLS causes stay reachable through [`std::error::Error::source`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// A listener or socket could not be bound.
    #[error("binding a {kind} socket on {addr}")]
    Bind {
        /// The transport.
        kind: TransportKind,
        /// The address asked for.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A TCP connection could not be opened.
    #[error("connecting over {kind} to {addr}")]
    Connect {
        /// The transport.
        kind: TransportKind,
        /// The remote address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Connecting (and the TLS handshake) took longer than the connect timeout.
    #[error("connecting over {kind} to {addr} timed out after {after:?}")]
    ConnectTimeout {
        /// The transport.
        kind: TransportKind,
        /// The remote address.
        addr: SocketAddr,
        /// The timeout.
        after: Duration,
    },
    /// The TLS handshake failed, e.g. the peer's certificate is not trusted or is not
    /// valid for the server name.
    #[error("TLS handshake with {addr} failed")]
    Tls {
        /// The remote address.
        addr: SocketAddr,
        /// The cause (wraps a `rustls::Error`).
        #[source]
        source: io::Error,
    },
    /// The TLS server name is neither a DNS name nor an IP address.
    #[error("invalid TLS server name {name:?}")]
    ServerName {
        /// The name given.
        name: String,
    },
    /// TLS was asked for but [`TransportConfig::with_tls`](super::TransportConfig::with_tls)
    /// was not set, or a TLS listener has no certificate.
    #[error("TLS is not configured{detail}")]
    TlsNotConfigured {
        /// What is missing.
        detail: &'static str,
    },
    /// Building the rustls configuration failed (bad key, bad root certificate).
    #[error("building the TLS configuration")]
    TlsConfig(#[source] rustls::Error),
    /// Writing to a socket failed.
    #[error("sending over {kind} to {addr}")]
    Send {
        /// The transport.
        kind: TransportKind,
        /// The remote address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// No UDP socket of the destination's address family is bound.
    #[error("no UDP socket bound for {addr}")]
    NoUdpSocket {
        /// The destination.
        addr: SocketAddr,
    },
    /// The connection limit is reached.
    #[error("connection limit of {limit} reached; not connecting to {addr}")]
    ConnectionLimit {
        /// The configured limit.
        limit: usize,
        /// The remote address.
        addr: SocketAddr,
    },
    /// The connection closed before the message could be queued.
    #[error("connection to {addr} is closed")]
    ConnectionClosed {
        /// The remote address.
        addr: SocketAddr,
    },
    /// A message does not fit in one UDP datagram.
    #[error("message of {size} bytes does not fit in a UDP datagram")]
    DatagramTooLarge {
        /// The message size.
        size: usize,
    },
    /// No RFC 5626 keep-alive pong came back in time.
    #[error("no keep-alive pong from {addr} within {after:?}")]
    KeepAliveTimeout {
        /// The remote address.
        addr: SocketAddr,
        /// The wait.
        after: Duration,
    },
    /// Keep-alives need a stream transport.
    #[error("keep-alives are only sent on TCP and TLS connections")]
    KeepAliveOnUdp,
    /// A host name did not resolve.
    #[error("resolving {host}")]
    Resolve {
        /// The host.
        host: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A response could not be routed (RFC 3261 §18.2.2).
    #[error("routing a response")]
    Route(#[from] RouteError),
}
