//! What every test against a real peer program needs before it starts one: a free
//! loopback port, SIPp's transport flag, the URI parameter of a transport, and a clear
//! failure when SIPp is not installed.

// Shared by several test binaries: each uses part of it.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::process::{Command, Stdio};
use std::time::Duration;

use session_core::{Endpoint, EndpointConfig, Platform, Uri};
use transport_sip::transport::TransportKind;
use transport_sip::ua::{SipConfig, SipTransport};

/// A port free for both UDP and TCP on 127.0.0.1.
pub(crate) fn free_port() -> u16 {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind UDP");
        let port = udp.local_addr().expect("local addr").port();
        // baresip also opens its SIP/TLS listener on the next port.
        let next_free = port
            .checked_add(1)
            .is_some_and(|next| TcpListener::bind(("127.0.0.1", next)).is_ok());
        if TcpListener::bind(("127.0.0.1", port)).is_ok() && next_free {
            return port;
        }
    }
    panic!("no port free for UDP and TCP (and TCP on the next port) on 127.0.0.1");
}

/// SIPp's `-t` value for `kind`.
pub(crate) fn sipp_transport_flag(kind: TransportKind) -> &'static str {
    match kind {
        TransportKind::Udp => "u1",
        TransportKind::Tcp => "t1",
        TransportKind::Tls => "l1",
    }
}

/// The URI parameter selecting `kind` (none for UDP, the default).
pub(crate) fn uri_transport(kind: TransportKind) -> &'static str {
    match kind {
        TransportKind::Udp => "",
        TransportKind::Tcp => ";transport=tcp",
        TransportKind::Tls => ";transport=tls",
    }
}

/// Fails with instructions when `sipp` is not installed.
pub(crate) fn require_sipp() {
    match Command::new("sipp")
        .arg("-v")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "`sipp` is not on PATH: install the Debian package `sip-tester` \
             (scripts/test installs it); the SIPp interop tests cannot run without it"
        ),
        Err(e) => panic!("could not run `sipp -v`: {e}"),
    }
}

/// Our side of a test against a peer: one SIP stack and one enabled endpoint,
/// `sip:alice@<addr>`.
pub(crate) struct Ua {
    _platform: Platform,
    pub(crate) endpoint: Endpoint,
    pub(crate) addr: SocketAddr,
    pub(crate) kind: TransportKind,
}

impl Ua {
    /// The endpoint's URI, with the transport parameter peers need to reach it.
    pub(crate) fn uri(&self) -> String {
        format!("sip:alice@{}{}", self.addr, uri_transport(self.kind))
    }
}

/// Binds a UDP or TCP stack on an ephemeral loopback port and enables alice on it.
pub(crate) async fn start_ua(kind: TransportKind) -> Ua {
    let bind: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let config = match kind {
        TransportKind::Udp => SipConfig::udp(bind),
        TransportKind::Tcp => SipConfig::tcp(bind),
        TransportKind::Tls => unreachable!("peer tests run over UDP and TCP"),
    };
    let sip = SipTransport::bind(config).await.expect("bind SIP");
    let addr = sip.local_addr();
    let uri = Uri::parse(&format!("sip:alice@{addr}")).expect("uri");
    let platform = Platform::builder().transport(sip).build();
    let endpoint = platform
        .create_endpoint(EndpointConfig::new(uri).display_name("ucc-rs alice"))
        .expect("endpoint");
    tokio::time::timeout(
        Duration::from_secs(10),
        endpoint.enable(None).expect("enable"),
    )
    .await
    .expect("enable timed out")
    .expect("enabled");
    Ua {
        _platform: platform,
        endpoint,
        addr,
        kind,
    }
}
