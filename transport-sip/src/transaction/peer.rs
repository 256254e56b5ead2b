//! [`Peer`]: a remote address and the transport used to reach it, and where a response
//! to a received request goes (RFC 3261 §18.2.2, RFC 3581).

use std::net::SocketAddr;

use crate::header::{Rport, Transport, Via};

/// A remote transport address: where a request came from, or where a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    /// The remote socket address.
    pub addr: SocketAddr,
    /// The transport protocol.
    pub transport: Transport,
}

impl Peer {
    /// A peer reached over `transport`.
    pub fn new(addr: SocketAddr, transport: Transport) -> Peer {
        Peer { addr, transport }
    }

    /// A peer reached over UDP.
    pub fn udp(addr: SocketAddr) -> Peer {
        Peer::new(addr, Transport::Udp)
    }

    /// A peer reached over TCP.
    pub fn tcp(addr: SocketAddr) -> Peer {
        Peer::new(addr, Transport::Tcp)
    }

    /// Whether the transport delivers reliably, which turns retransmissions off and the
    /// D, I, J and K timers to zero (§17). UDP and unknown transports are unreliable.
    pub fn is_reliable(&self) -> bool {
        !matches!(self.transport, Transport::Udp | Transport::Other)
    }
}

/// Where responses to a request received from `source` with top Via `via` are sent
/// (§18.2.2): back over the connection for reliable transports; otherwise to the source
/// address when `rport` was asked for (RFC 3581), else to the source IP (the `received`
/// address) at the sent-by port, 5060 by default.
pub(crate) fn response_destination(via: Option<&Via>, source: Peer) -> Peer {
    match via {
        Some(v) if !source.is_reliable() && v.rport() == Rport::Absent => Peer::new(
            SocketAddr::new(source.addr.ip(), v.port().unwrap_or(5060)),
            source.transport,
        ),
        _ => source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reliability_and_response_destination() {
        let src: SocketAddr = "192.0.2.7:40000".parse().expect("addr");
        assert!(!Peer::udp(src).is_reliable());
        assert!(Peer::tcp(src).is_reliable());
        assert!(Peer::new(src, Transport::Tls).is_reliable());
        let plain = Via::parse(b"SIP/2.0/UDP host.example.com:5070;branch=z9hG4bKx").expect("via");
        let d = response_destination(Some(&plain), Peer::udp(src));
        assert_eq!(d.addr, "192.0.2.7:5070".parse().expect("addr"));
        let no_port = Via::parse(b"SIP/2.0/UDP host.example.com;branch=z9hG4bKx").expect("via");
        let d = response_destination(Some(&no_port), Peer::udp(src));
        assert_eq!(d.addr, "192.0.2.7:5060".parse().expect("addr"));
        let rport = Via::parse(b"SIP/2.0/UDP host:5070;rport;branch=z9hG4bKx").expect("via");
        assert_eq!(response_destination(Some(&rport), Peer::udp(src)).addr, src);
        assert_eq!(response_destination(Some(&plain), Peer::tcp(src)).addr, src);
    }
}
