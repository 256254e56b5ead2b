//! [`TransportConfig`]: limits, timeouts and TLS settings of a
//! [`TransportLayer`](super::TransportLayer).

use std::time::Duration;

use super::TlsConfig;
use crate::ParseLimits;

/// Settings of a [`TransportLayer`](super::TransportLayer). Start from
/// [`TransportConfig::default`] and change what you need with the `with_*` methods.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    pub(crate) limits: ParseLimits,
    pub(crate) channel_capacity: usize,
    pub(crate) write_queue: usize,
    pub(crate) max_connections: usize,
    pub(crate) idle_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) udp_size_threshold: usize,
    pub(crate) tcp_for_large_requests: bool,
    pub(crate) tls: Option<TlsConfig>,
    pub(crate) udp_buffer: Option<usize>,
}

impl Default for TransportConfig {
    /// Default parse limits; 1024 queued incoming messages; 1024 connections; 5-minute
    /// idle timeout; 10-second connect timeout; requests over 1300 bytes move to TCP
    /// (RFC 3261 §18.1.1 with an unknown path MTU); no TLS.
    fn default() -> Self {
        TransportConfig {
            limits: ParseLimits::default(),
            channel_capacity: 1024,
            write_queue: 64,
            max_connections: 1024,
            idle_timeout: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(10),
            udp_size_threshold: 1300,
            tcp_for_large_requests: true,
            tls: None,
            udp_buffer: None,
        }
    }
}

impl TransportConfig {
    /// Bounds on received messages; stream buffers never grow past
    /// [`ParseLimits::max_message_size`].
    pub fn with_limits(mut self, limits: ParseLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Capacity of the incoming-message channel (at least 1).
    pub fn with_channel_capacity(mut self, capacity: usize) -> Self {
        self.channel_capacity = capacity.max(1);
        self
    }

    /// Messages queued for writing on one connection before senders wait (at least 1).
    pub fn with_write_queue(mut self, capacity: usize) -> Self {
        self.write_queue = capacity.max(1);
        self
    }

    /// Most open TCP/TLS connections, inbound and outbound together. Past it, accepted
    /// connections are closed at once and new outgoing ones fail with
    /// [`TransportError::ConnectionLimit`](super::TransportError::ConnectionLimit).
    pub fn with_max_connections(mut self, max: usize) -> Self {
        self.max_connections = max;
        self
    }

    /// A connection with no traffic either way for this long is closed.
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Bound on a TCP connect plus TLS handshake, outgoing or incoming.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Requests larger than this many bytes are sent over TCP instead of UDP (RFC 3261
    /// §18.1.1: 1300 when the path MTU is unknown, otherwise MTU − 200).
    pub fn with_udp_size_threshold(mut self, bytes: usize) -> Self {
        self.udp_size_threshold = bytes;
        self
    }

    /// The threshold for a known path MTU: MTU − 200 bytes (RFC 3261 §18.1.1).
    pub fn with_path_mtu(self, mtu: usize) -> Self {
        self.with_udp_size_threshold(mtu.saturating_sub(200))
    }

    /// Whether large requests move from UDP to TCP (default `true`; RFC 3261 requires
    /// every element to implement TCP). When the TCP connect fails the request goes over
    /// UDP after all, as §18.1.1 allows.
    pub fn with_tcp_for_large_requests(mut self, enabled: bool) -> Self {
        self.tcp_for_large_requests = enabled;
        self
    }

    /// Asks for `bytes` of receive and send buffer on UDP sockets (SO_RCVBUF/SO_SNDBUF;
    /// the kernel caps it at `net.core.rmem_max`/`wmem_max`). The kernel default holds
    /// only a few milliseconds of traffic at thousands of requests per second.
    pub fn with_udp_buffer(mut self, bytes: usize) -> Self {
        self.udp_buffer = Some(bytes);
        self
    }

    /// TLS roots and, for TLS listeners, a certificate.
    pub fn with_tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }
}
