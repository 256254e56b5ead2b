//! The transport's configuration: where it binds, who it is, whom it trusts, its
//! timeouts and limits.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use quinn::{IdleTimeout, TransportConfig, VarInt};

use crate::error::QuicError;
use crate::identity::{ClientAuth, Fingerprint, LocalCertificate, Trust};

/// The UDP port a `quic:` URI without a port means.
pub const DEFAULT_PORT: u16 = 4433;

/// Timeouts of the transport.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// A connection silent for this long is lost (QUIC idle timeout, RFC 9000 §10.1);
    /// its sessions end with 408 at this side.
    pub idle: Duration,
    /// Keep-alive interval (PING frames) keeping a connection open while it is kept;
    /// must be below `idle`.
    pub keep_alive: Duration,
    /// How long a connection without sessions stays open for the next session to the
    /// same peer; then either side closes it ("no sessions", code 0).
    pub linger: Duration,
    /// Longest wait for a connection's handshake.
    pub connect: Duration,
    /// Longest wait for the INVITE on a stream a peer opened.
    pub first_frame: Duration,
    /// Longest wait for the answer to a CANCEL.
    pub cancel: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(30),
            keep_alive: Duration::from_secs(10),
            linger: Duration::from_secs(60),
            connect: Duration::from_secs(10),
            first_frame: Duration::from_secs(10),
            cancel: Duration::from_secs(8),
        }
    }
}

/// Resource limits per connection.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Concurrent sessions (bidirectional streams) a peer may open on one connection;
    /// more wait for a free one.
    pub sessions_per_connection: u32,
    /// Receive window of one session stream, in bytes (at least one frame).
    pub stream_window: u32,
    /// Receive window of a whole connection, in bytes.
    pub connection_window: u32,
    /// Whether this endpoint accepts QUIC datagrams (RFC 9221) for media.
    pub datagrams: bool,
    /// Datagrams queued per media flow before new ones are dropped.
    pub flow_queue: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            sessions_per_connection: 1024,
            stream_window: 256 * 1024,
            connection_window: 16 * 1024 * 1024,
            datagrams: true,
            flow_queue: 1024,
        }
    }
}

/// How to build a [`QuicTransport`](crate::QuicTransport).
///
/// ```
/// # fn demo(cert: transport_quic::LocalCertificate, peer: transport_quic::Fingerprint) {
/// use std::time::Duration;
/// use transport_quic::{ClientAuth, QuicConfig};
///
/// let config = QuicConfig::new(cert)
///     .bind("127.0.0.1:0".parse().expect("address"))
///     .pin(peer)
///     .client_auth(ClientAuth::Required)
///     .idle_timeout(Duration::from_secs(15));
/// # let _ = config; }
/// ```
#[derive(Clone, Debug)]
pub struct QuicConfig {
    pub(crate) name: String,
    pub(crate) bind: SocketAddr,
    pub(crate) certificate: LocalCertificate,
    pub(crate) trust: Trust,
    pub(crate) client_auth: ClientAuth,
    pub(crate) send_client_certificate: bool,
    pub(crate) zero_rtt: bool,
    pub(crate) timeouts: Timeouts,
    pub(crate) limits: Limits,
}

impl QuicConfig {
    /// A configuration presenting `certificate`, bound to `[::]:4433`, trusting nobody
    /// yet (add [`roots`](Self::root) or [`pins`](Self::pin)).
    pub fn new(certificate: LocalCertificate) -> Self {
        Self {
            name: "quic".into(),
            bind: SocketAddr::from(([0u16; 8], DEFAULT_PORT)),
            certificate,
            trust: Trust::default(),
            client_auth: ClientAuth::default(),
            send_client_certificate: true,
            zero_rtt: true,
            timeouts: Timeouts::default(),
            limits: Limits::default(),
        }
    }

    /// The transport's name (`"quic"` by default), as `EndpointConfig::transport` selects it.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The local UDP address (port 0: any free port, see
    /// [`QuicTransport::local_addr`](crate::QuicTransport::local_addr)).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// Trusts certificates chaining to `root`.
    pub fn root(mut self, root: rustls_pki_types::CertificateDer<'static>) -> Self {
        self.trust.roots.push(root);
        self
    }

    /// Trusts the certificate with this SHA-256 fingerprint, whatever its issuer and names.
    pub fn pin(mut self, fingerprint: Fingerprint) -> Self {
        self.trust.pins.push(fingerprint);
        self
    }

    /// Whether callers are asked for (or must present) a certificate.
    pub fn client_auth(mut self, mode: ClientAuth) -> Self {
        self.client_auth = mode;
        self
    }

    /// Whether this endpoint presents its certificate when it calls (default yes), so
    /// callees know who calls and may reuse the connection to call back.
    pub fn send_client_certificate(mut self, send: bool) -> Self {
        self.send_client_certificate = send;
        self
    }

    /// Whether a reconnection to a peer seen before sends its first invitations as 0-RTT
    /// data, and whether this endpoint accepts such data (default yes; see the 0-RTT
    /// section of `docs/quic-signaling.md`). Only INVITE frames of sessions opened
    /// while the handshake is in flight travel in 0-RTT; tickets are single-use, so a
    /// replayed first flight cannot deliver an invitation twice.
    pub fn zero_rtt(mut self, enabled: bool) -> Self {
        self.zero_rtt = enabled;
        self
    }

    /// The idle timeout (connection loss detection).
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.timeouts.idle = idle;
        self
    }

    /// The keep-alive interval.
    pub fn keep_alive(mut self, interval: Duration) -> Self {
        self.timeouts.keep_alive = interval;
        self
    }

    /// How long a connection without sessions stays open.
    pub fn linger(mut self, linger: Duration) -> Self {
        self.timeouts.linger = linger;
        self
    }

    /// All timeouts at once.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// All limits at once.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Whether this endpoint accepts datagrams (media over the connection).
    pub fn datagrams(mut self, enabled: bool) -> Self {
        self.limits.datagrams = enabled;
        self
    }

    /// The QUIC transport parameters these settings mean.
    pub(crate) fn transport_config(&self) -> Result<Arc<TransportConfig>, QuicError> {
        let mut t = TransportConfig::default();
        let idle = IdleTimeout::try_from(self.timeouts.idle).map_err(|_| QuicError::Config {
            what: "idle timeout",
            reason: "out of range".into(),
        })?;
        t.max_idle_timeout(Some(idle))
            .keep_alive_interval(Some(self.timeouts.keep_alive))
            .max_concurrent_bidi_streams(VarInt::from_u32(self.limits.sessions_per_connection))
            .max_concurrent_uni_streams(VarInt::from_u32(0))
            .stream_receive_window(VarInt::from_u32(self.limits.stream_window))
            .receive_window(VarInt::from_u32(self.limits.connection_window))
            .send_window(u64::from(self.limits.connection_window))
            .datagram_receive_buffer_size(
                self.limits
                    .datagrams
                    .then_some(self.limits.flow_queue.saturating_mul(1500).max(64 * 1024)),
            );
        Ok(Arc::new(t))
    }
}
