//! What every test against a real peer program needs before it starts one: a free
//! loopback port, SIPp's transport flag, the URI parameter of a transport, and a clear
//! failure when SIPp is not installed.

// Shared by several test binaries: each uses part of it.
#![allow(dead_code)]

use std::net::{TcpListener, UdpSocket};
use std::process::{Command, Stdio};

use transport_sip::transport::TransportKind;

/// A port free for both UDP and TCP on 127.0.0.1.
pub(crate) fn free_port() -> u16 {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind UDP");
        let port = udp.local_addr().expect("local addr").port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no port free for both UDP and TCP on 127.0.0.1");
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
