//! Transports (RFC 3261 §18): UDP, TCP and TLS, IPv4 and IPv6, behind one
//! [`TransportLayer`].
//!
//! # Design
//!
//! This is the crate's IO driver. Everything else here is sans-IO; this module opens
//! sockets, spawns tokio tasks and reads the clock (for idle timeouts only). The protocol
//! rules it applies are pure functions in [`routing`] (tested without sockets):
//! stamping `received`/`rport` on inbound requests (§18.2.1, RFC 3581), choosing where a
//! response goes (§18.2.2), and switching large requests from UDP to TCP (§18.1.1).
//!
//! One [`TransportLayer`] owns every listener and connection. It hands inbound messages
//! to the layer above as [`Incoming`] values on one bounded tokio mpsc channel; the
//! [`Source`] in each says where the message came from (transport, remote and local
//! address, and the connection for TCP/TLS) so the response can go back the same way.
//!
//! # Run loop
//!
//! - One task per UDP socket: receive, parse, stamp, deliver.
//! - One task per TCP/TLS listener: accept (refusing past
//!   [`TransportConfig::with_max_connections`]) and start a connection task.
//! - One task per connection, inbound or outbound: it owns the socket, splits the stream
//!   with the crate's [`StreamDecoder`](crate::StreamDecoder), answers RFC 5626 §3.5.1
//!   CRLFCRLF pings with CRLF, writes the messages queued for it and closes itself after
//!   [`TransportConfig::with_idle_timeout`] without traffic.
//!
//! TCP and TLS share one connection task, generic over the stream type; UDP has its own
//! task; the layer dispatches on [`TransportKind`], so the three transports sit behind
//! one type rather than a trait object.
//!
//! Connections live in a pool keyed by (transport, remote address): an outgoing message
//! to a remote reuses an open connection to it (RFC 5923 spirit), and a response goes
//! back on the connection its request came on. No lock is held across an `await`.
//! Dropping the [`TransportLayer`] stops every task it started.
//!
//! # Overflow policy
//!
//! The incoming channel is bounded ([`TransportConfig::with_channel_capacity`]). A
//! stream connection waits for room (TCP flow control pushes back on the peer); a UDP
//! socket drops the datagram and logs it (the peer retransmits, RFC 3261 §17).
//!
//! # Errors vs panics
//!
//! Unparseable input never panics and never stops a socket: a request that does not
//! parse is answered with [`error_response`](crate::error_response) (400, 413, 505 or
//! 513, with a To tag added), anything else is dropped and logged with `tracing`. Only a
//! stream whose framing is lost is closed. Local failures are [`TransportError`]s that
//! name the operation and the address.
//!
//! # Memory bounds
//!
//! Per connection: a 16 KiB read buffer, a decoder buffer of at most
//! [`ParseLimits::max_message_size`](crate::ParseLimits) (64 KiB by default) and a
//! write queue of [`TransportConfig::with_write_queue`] messages; at most
//! [`TransportConfig::with_max_connections`] connections. Per UDP socket: one 64 KiB
//! datagram buffer. Incoming: [`TransportConfig::with_channel_capacity`] messages.
//!
//! | Known limit | Note |
//! | --- | --- |
//! | DNS | `A`/`AAAA` via the system resolver only; no RFC 3263 NAPTR/SRV |
//! | RFC 5923 aliases | connections are reused per (transport, remote address); an inbound connection is not aliased to the peer's listening port |
//! | `maddr` multicast | the response is sent to `maddr`, but no multicast TTL is set |
//! | Backpressure | a connection waits for room in the incoming channel; a consumer that blocks on sending to that same connection while both queues are full stalls it |
//! | TLS | no client certificates (mutual TLS); the pool key does not include the server name |
//! | §18.1.2 sent-by check on responses | not done here: the sent-by a stack writes may be a name or a public address this layer cannot know; the transaction layer matches responses by branch |
//! | WebSocket, SCTP | not implemented |
//!
//! # Example
//!
//! Two layers on loopback UDP: one sends an OPTIONS, the other receives it with the
//! `received`/`rport` stamp of §18.2.1 and answers by §18.2.2.
//!
//! ```
//! use bytes::Bytes;
//! use transport_sip::transport::{Target, TransportConfig, TransportKind, TransportLayer};
//! use transport_sip::{Message, Response, StatusCode, header::Header};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
//! let (server, mut server_rx) = TransportLayer::new(TransportConfig::default());
//! let server_addr = server.bind(TransportKind::Udp, "127.0.0.1:0".parse()?).await?;
//! let (client, mut client_rx) = TransportLayer::new(TransportConfig::default());
//! let client_addr = client.bind(TransportKind::Udp, "127.0.0.1:0".parse()?).await?;
//!
//! let raw = format!(
//!     "OPTIONS sip:s@{server_addr} SIP/2.0\r\n\
//!      Via: SIP/2.0/UDP {client_addr};branch=z9hG4bKdoc;rport\r\n\
//!      From: <sip:c@{client_addr}>;tag=1\r\nTo: <sip:s@{server_addr}>\r\n\
//!      Call-ID: doc-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
//! );
//! let Message::Request(mut request) = Message::parse(Bytes::from(raw))? else { unreachable!() };
//! client.send_request(&mut request, &Target::udp(server_addr)).await?;
//!
//! let incoming = server_rx.recv().await.ok_or("server closed")?;
//! let Message::Request(request) = incoming.message else { unreachable!() };
//! assert_eq!(incoming.source.remote, client_addr);
//! let mut response = Response::new(StatusCode::OK);
//! // RFC 3261 §8.2.6.2: copy Via, From, To, Call-ID and CSeq (a UAS also adds a To tag).
//! let copied = |h: &&Header| {
//!     matches!(h, Header::Via(_) | Header::From(_) | Header::To(_) | Header::CallId(_) | Header::CSeq(_))
//! };
//! for h in request.headers().iter().filter(copied) {
//!     response.headers_mut().push(h.clone());
//! }
//! server.send_response(&response, Some(&incoming.source)).await?;
//!
//! let answer = client_rx.recv().await.ok_or("client closed")?;
//! assert!(matches!(answer.message, Message::Response(r) if r.status() == StatusCode::OK));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })
//! # }
//! ```

mod config;
mod connection_pool;
mod error;
mod layer;
pub mod routing;
mod stateless;
mod stream;
mod tls;
mod udp;

use std::fmt;
use std::net::SocketAddr;

use crate::Message;
use crate::header::Transport;

pub use self::config::TransportConfig;
pub use self::error::TransportError;
pub use self::layer::{Sent, TransportLayer};
pub use self::routing::RouteError;
pub use self::tls::TlsConfig;

/// A transport this layer implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// UDP: unreliable, one message per datagram.
    Udp,
    /// TCP: reliable stream framed by Content-Length.
    Tcp,
    /// TLS over TCP; used for `sips:` URIs.
    Tls,
}

impl TransportKind {
    /// Whether the transport is reliable (RFC 3261 §18.2.2 routes responses differently).
    pub fn is_reliable(self) -> bool {
        !matches!(self, TransportKind::Udp)
    }

    /// The Via `transport` token: `UDP`, `TCP` or `TLS`.
    pub fn via_token(self) -> &'static str {
        match self {
            TransportKind::Udp => "UDP",
            TransportKind::Tcp => "TCP",
            TransportKind::Tls => "TLS",
        }
    }

    /// The default port: 5061 for TLS, 5060 otherwise (RFC 3261 §19.1.2).
    pub fn default_port(self) -> u16 {
        match self {
            TransportKind::Tls => 5061,
            _ => 5060,
        }
    }

    /// The kind for a Via transport, if this layer implements it.
    pub fn from_via(transport: Transport) -> Option<TransportKind> {
        match transport {
            Transport::Udp => Some(TransportKind::Udp),
            Transport::Tcp => Some(TransportKind::Tcp),
            Transport::Tls => Some(TransportKind::Tls),
            _ => None,
        }
    }
}

impl From<TransportKind> for Transport {
    fn from(kind: TransportKind) -> Transport {
        match kind {
            TransportKind::Udp => Transport::Udp,
            TransportKind::Tcp => Transport::Tcp,
            TransportKind::Tls => Transport::Tls,
        }
    }
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.via_token())
    }
}

/// Identifies one TCP or TLS connection for the lifetime of a [`TransportLayer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub(crate) u64);

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn#{}", self.0)
    }
}

/// Where a message came from: keep it to answer on the same path (RFC 3261 §18.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    /// The transport it arrived on.
    pub transport: TransportKind,
    /// The peer's address (the packet source).
    pub remote: SocketAddr,
    /// Our address it arrived at.
    pub local: SocketAddr,
    /// The connection, for TCP and TLS.
    pub connection: Option<ConnectionId>,
}

/// A message received by the [`TransportLayer`].
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The parsed message. A request's top Via already carries `received` and `rport`
    /// as RFC 3261 §18.2.1 and RFC 3581 ask.
    pub message: Message,
    /// Where it came from.
    pub source: Source,
}

/// Where to send a message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// The transport.
    pub transport: TransportKind,
    /// The remote address.
    pub addr: SocketAddr,
    /// For TLS, the name the server certificate must carry; `None` checks the IP address.
    pub server_name: Option<String>,
}

impl Target {
    /// A UDP target.
    pub fn udp(addr: SocketAddr) -> Target {
        Target {
            transport: TransportKind::Udp,
            addr,
            server_name: None,
        }
    }

    /// A TCP target.
    pub fn tcp(addr: SocketAddr) -> Target {
        Target {
            transport: TransportKind::Tcp,
            addr,
            server_name: None,
        }
    }

    /// A TLS target whose certificate must be valid for `server_name` (a DNS name or an
    /// IP address in text form).
    pub fn tls(addr: SocketAddr, server_name: impl Into<String>) -> Target {
        Target {
            transport: TransportKind::Tls,
            addr,
            server_name: Some(server_name.into()),
        }
    }
}
