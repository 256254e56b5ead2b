//! # transport-quic
//!
//! The ucc-rs session model over QUIC (quinn 0.11, rustls 0.23 with *ring*): a
//! [`QuicTransport`] implements session-core's signaling contract, so an application
//! picks it like any other transport — by name (`"quic"`) or by the `quic:` scheme of
//! an endpoint's URI. The wire protocol (`ucc/1`) is specified in
//! `docs/quic-signaling.md`; its frames are encoded by the pure [`codec`].
//!
//! ```no_run
//! use session_core::{EndpointConfig, Platform};
//! use transport_quic::{LocalCertificate, QuicConfig, QuicTransport};
//! # use rustls_pki_types::{CertificateDer, PrivateKeyDer};
//! # async fn demo(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>,
//! #               peer: transport_quic::Fingerprint) -> Result<(), Box<dyn std::error::Error>> {
//! // This endpoint's certificate, and the peer's pinned (self-signed deployment).
//! let config = QuicConfig::new(LocalCertificate::new(chain, key))
//!     .bind("127.0.0.1:4433".parse()?)
//!     .pin(peer);
//! let quic = QuicTransport::new(config)?; // binds the socket
//! let alice_uri = quic.uri("alice")?;     // quic:alice@127.0.0.1:4433
//! let platform = Platform::builder().transport(quic).build();
//! let alice = platform.create_endpoint(EndpointConfig::new(alice_uri))?;
//! alice.enable(None)?.await?;             // registers: incoming sessions are accepted
//! # Ok(()) }
//! ```
//!
//! ## Design
//! * **Addressing.** `quic:user@host:port` (port default [`DEFAULT_PORT`]). The
//!   host:port is where the peer's transport listens; `user@host` picks the identity
//!   among those registered on it ([`QuicTransport::uri`] writes one).
//! * **Connections.** One QUIC connection per pair of endpoints, reused by all their
//!   sessions; an incoming connection is reused for calls back only when the caller
//!   proved its identity with a client certificate. Idle timeout plus keep-alive
//!   ([`Timeouts`]) detect a lost peer; a lost or closed connection ends each of its
//!   sessions at both sides with a status saying why (408 idle timeout, 503 closed).
//!   [`QuicTransport::close`] closes cleanly; [`QuicTransport::rebind`] migrates.
//! * **Sessions.** One bidirectional stream per session, owned by one task that maps
//!   contract commands to frames and frames to
//!   [`Inbound`](session_core::contract::signaling::Inbound) events, in order.
//! * **Security.** TLS 1.3, ALPN [`ALPN`] (`ucc/1`). Peers are verified against
//!   configured roots ([`QuicConfig::root`]) or pinned by SHA-256 [`Fingerprint`]
//!   ([`QuicConfig::pin`]); callers present certificates, which the callee asks for
//!   or requires ([`ClientAuth`]) and reports as the caller's device
//!   (`sha256:<hex>`). Nothing skips verification.
//! * **Media.** `SignalingEndpoint::packet_path` gives a path over QUIC datagrams,
//!   flow id varint first; without peer datagram support it returns `None` and media
//!   uses UDP (see [`datagram`]).
//!
//! ## Known limits
//! | limit | why |
//! |---|---|
//! | 0-RTT carries only INVITE frames, and only to a peer whose single-use ticket this side holds | a replayed first flight must not open a session twice (see `docs/quic-signaling.md`) |
//! | a callee that asks for client certificates answers 0-RTT invitations only from resumed callers | a full handshake's certificate comes last |
//! | a rebound transport keeps only the connections it opened | QUIC servers do not migrate |
//! | a message body ≤ 64 KiB minus headers | one frame per message |
//! | up to one partial frame (64 KiB) buffered per stream | 1,024 streams per connection by default ([`Limits`]) |
//!
//! ## Errors vs panics
//! Nothing here panics on peer input. A malformed, oversize or misplaced frame resets
//! its stream with [`ErrorCode::ProtocolViolation`] (`0x1`) and ends that session only
//! (status 400 at the local side); the connection and its other sessions go on. Memory
//! is bounded: a frame is at most 64 KiB and the decoder holds at most one; sessions per
//! connection, stream and connection windows, and datagram queues are limited by
//! [`Limits`]; a stream that sends no INVITE within [`Timeouts::first_frame`] is reset.
//!
//! ## Dependencies
//! `session-core` (the contract implemented and the vocabulary the frames carry),
//! `quinn` (QUIC: connections, streams, datagrams, migration), `rustls` (TLS 1.3 and the
//! certificate verifiers, with the *ring* provider), `rustls-pki-types` (certificate
//! and key types in the public API), `sha2` (SHA-256 certificate fingerprints), `tokio`
//! (tasks, channels, timeouts), `async-trait` (the object-safe contract), `bytes`
//! (zero-copy bodies and datagrams), `thiserror` (error enums), `tracing` (spans per
//! connection and session).

use std::sync::{Mutex, MutexGuard, PoisonError};

pub mod codec;
mod config;
mod connection;
pub mod datagram;
mod error;
mod identity;
mod session_stream;
mod transport;

pub use config::{DEFAULT_PORT, Limits, QuicConfig, Timeouts};
pub use error::{ErrorCode, QuicError};
pub use identity::{ALPN, ClientAuth, Fingerprint, FingerprintParseError, LocalCertificate, Trust};
pub use transport::{QuicTransport, TransportStats};

/// Locks a mutex, recovering the data of a poisoned one: no lock here is held across a
/// point that can leave its data half-updated.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
