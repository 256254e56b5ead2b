//! [`SipConfig`]: what a [`SipTransport`](super::SipTransport) binds and how it behaves.

use std::net::SocketAddr;

use crate::Uri;
use crate::transaction::TimerConfig;
use crate::transport::{TlsConfig, TransportKind};

/// Settings of one SIP stack.
#[derive(Debug, Clone)]
pub struct SipConfig {
    /// The transport this stack signals over (its name: `sip-udp`, `sip-tcp`, `sip-tls`).
    /// A UDP or TCP stack also listens on the other one on the same port (RFC 3261
    /// §18), and answers requests on the transport they came on.
    pub transport: TransportKind,
    /// Where to listen; port 0 picks a free one (see [`SipTransport::local_addr`](super::SipTransport::local_addr)).
    pub bind: SocketAddr,
    /// Certificates: roots that servers are verified against, and the identity a TLS
    /// listener presents. Required for `sip-tls`.
    pub tls: Option<TlsConfig>,
    /// RFC 3261 timers T1, T2 and T4.
    pub timers: TimerConfig,
    /// The `User-Agent` / `Server` header value.
    pub user_agent: String,
    /// The registrar REGISTER goes to (`sip:example.com`); `None`: no registration,
    /// `enable()` only listens (peer-to-peer use).
    pub registrar: Option<Uri>,
    /// The outbound proxy (RFC 3261 §8.1.2): requests outside a dialog carry it as a
    /// pre-loaded `Route` and go to it first.
    pub outbound_proxy: Option<Uri>,
    /// Most SIP transactions in progress (waiting for a final response); requests over
    /// it get 503. Each call also leaves two that absorb retransmissions for 32 s after
    /// their final response (RFC 6026 Timer L, Timer J); up to
    /// [`ABSORBING_FACTOR`](crate::transaction::ABSORBING_FACTOR) × this many of those
    /// are kept besides (65,536 × 4 such transactions sustain 4,096 calls/s).
    pub max_transactions: usize,
    /// UDP socket buffer size (SO_RCVBUF/SO_SNDBUF), capped by the kernel.
    pub udp_buffer: Option<usize>,
    /// The registration lifetime asked for, in seconds (refreshed at half of what the
    /// registrar grants).
    pub register_expires: u32,
}

impl SipConfig {
    /// SIP over UDP on `bind`.
    pub fn udp(bind: SocketAddr) -> SipConfig {
        SipConfig::new(TransportKind::Udp, bind)
    }

    /// SIP over TCP on `bind`.
    pub fn tcp(bind: SocketAddr) -> SipConfig {
        SipConfig::new(TransportKind::Tcp, bind)
    }

    /// SIP over TLS on `bind`, with `tls` for both directions.
    pub fn tls(bind: SocketAddr, tls: TlsConfig) -> SipConfig {
        SipConfig {
            tls: Some(tls),
            ..SipConfig::new(TransportKind::Tls, bind)
        }
    }

    /// Registers every attached endpoint at `registrar` on `enable()`.
    pub fn with_registrar(mut self, registrar: Uri) -> SipConfig {
        self.registrar = Some(registrar);
        self
    }

    /// Sends requests outside a dialog through `proxy`.
    pub fn with_outbound_proxy(mut self, proxy: Uri) -> SipConfig {
        self.outbound_proxy = Some(proxy);
        self
    }

    fn new(transport: TransportKind, bind: SocketAddr) -> SipConfig {
        SipConfig {
            transport,
            bind,
            tls: None,
            timers: TimerConfig::default(),
            user_agent: concat!("ucc-rs/", env!("CARGO_PKG_VERSION")).to_owned(),
            registrar: None,
            outbound_proxy: None,
            max_transactions: 65_536,
            udp_buffer: Some(4 << 20),
            register_expires: 3600,
        }
    }

    /// The transport's name on the platform.
    pub fn name(&self) -> &'static str {
        match self.transport {
            TransportKind::Udp => "sip-udp",
            TransportKind::Tcp => "sip-tcp",
            TransportKind::Tls => "sip-tls",
        }
    }
}
