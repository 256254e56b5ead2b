//! Sans-IO routing rules of RFC 3261 §18: stamping `received`/`rport` on inbound
//! requests (§18.2.1, RFC 3581), where a response goes (§18.2.2), where a request goes
//! for a URI (§18.1.1, RFC 3263 without NAPTR/SRV), and the UDP→TCP size rule (§18.1.1).
//!
//! ```
//! use bytes::Bytes;
//! use transport_sip::Message;
//! use transport_sip::transport::TransportKind;
//! use transport_sip::transport::routing::{RouteHost, response_route, stamp_received};
//!
//! let raw = Bytes::from_static(
//!     b"OPTIONS sip:b@example.com SIP/2.0\r\n\
//!       Via: SIP/2.0/UDP pc.example.com:5070;rport;branch=z9hG4bK1\r\n\
//!       From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\n\
//!       Call-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
//! );
//! let Message::Request(mut req) = Message::parse(raw)? else { unreachable!() };
//! assert!(stamp_received(&mut req, "192.0.2.7:40000".parse()?));
//! let via = req.top_via().expect("stamped Via");
//! assert_eq!(via.received(), Some("192.0.2.7"));
//! let route = response_route(via)?;
//! assert_eq!(route.transport, TransportKind::Udp);
//! assert_eq!(route.host, RouteHost::Ip("192.0.2.7".parse()?));
//! assert_eq!(route.port, 40000);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::net::{IpAddr, SocketAddr};

use super::TransportKind;
use crate::Request;
use crate::header::{Header, HeaderName, Headers, Rport, Via};
use crate::uri::{Host, Scheme, Uri};

/// Why no destination could be derived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    /// The response has no Via.
    #[error("the message has no Via")]
    NoVia,
    /// The top Via names a transport this layer does not implement.
    #[error("unsupported transport {0:?}")]
    UnsupportedTransport(String),
    /// `received` or `maddr` is not an IP address.
    #[error("Via parameter {name} is not an IP address: {value:?}")]
    BadAddress {
        /// The parameter.
        name: &'static str,
        /// Its value.
        value: String,
    },
    /// The URI is not a `sip:` or `sips:` URI.
    #[error("cannot route to a non-SIP URI {0}")]
    NotSipUri(String),
}

/// A host to send to: an address, or a name still to resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteHost {
    /// An IP address.
    Ip(IpAddr),
    /// A DNS name.
    Domain(String),
}

impl From<Host<'_>> for RouteHost {
    fn from(host: Host<'_>) -> RouteHost {
        match host {
            Host::Ipv4(a) => RouteHost::Ip(IpAddr::V4(a)),
            Host::Ipv6(a) => RouteHost::Ip(IpAddr::V6(a)),
            Host::Domain(d) => RouteHost::Domain(d.to_owned()),
        }
    }
}

/// Where to send: transport, host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The transport.
    pub transport: TransportKind,
    /// The host.
    pub host: RouteHost,
    /// The port.
    pub port: u16,
}

impl Route {
    /// The socket address, when the host is an IP address.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        match self.host {
            RouteHost::Ip(ip) => Some(SocketAddr::new(ip, self.port)),
            RouteHost::Domain(_) => None,
        }
    }
}

/// Parses an IP address as written in a Via parameter, with or without IPv6 brackets.
fn param_ip(name: &'static str, value: &str) -> Result<IpAddr, RouteError> {
    let bare = value
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .unwrap_or(value);
    bare.parse().map_err(|_| RouteError::BadAddress {
        name,
        value: value.to_owned(),
    })
}

/// Where a response with this top Via goes (RFC 3261 §18.2.2, RFC 3581 §4).
///
/// Reliable transports: `received` (else the sent-by host) and the sent-by port; the
/// caller first tries the connection the request came on. Unreliable: `maddr` if
/// present; else `received` with the `rport` value or the sent-by port; else sent-by.
/// Missing ports are 5060 (5061 for TLS).
pub fn response_route(via: &Via) -> Result<Route, RouteError> {
    let transport = TransportKind::from_via(via.transport())
        .ok_or_else(|| RouteError::UnsupportedTransport(via.transport_str().to_owned()))?;
    let sent_by_port = via.port().unwrap_or(transport.default_port());
    let received = via
        .received()
        .map(|r| param_ip("received", r))
        .transpose()?;
    if transport.is_reliable() {
        let host = received.map_or_else(|| via.host().into(), RouteHost::Ip);
        return Ok(Route {
            transport,
            host,
            port: sent_by_port,
        });
    }
    if let Some(maddr) = via.maddr() {
        let host = match maddr.parse::<IpAddr>() {
            Ok(ip) => RouteHost::Ip(ip),
            Err(_) => RouteHost::Domain(maddr.to_owned()),
        };
        return Ok(Route {
            transport,
            host,
            port: sent_by_port,
        });
    }
    let port = match via.rport() {
        Rport::Port(p) => p,
        Rport::Absent | Rport::Requested => sent_by_port,
    };
    Ok(match received {
        Some(ip) => Route {
            transport,
            host: RouteHost::Ip(ip),
            port,
        },
        None => Route {
            transport,
            host: via.host().into(),
            port: sent_by_port,
        },
    })
}

/// Where a request for `uri` goes (RFC 3261 §18.1.1 and RFC 3263 §4 without NAPTR and
/// SRV): `sips:` or `transport=tls` use TLS, `transport=tcp` TCP, otherwise UDP; the
/// `maddr` parameter overrides the host; the port defaults to 5060 (5061 for TLS).
pub fn request_route(uri: &Uri) -> Result<Route, RouteError> {
    let host = uri
        .host()
        .ok_or_else(|| RouteError::NotSipUri(uri.to_string()))?;
    let param = uri.transport();
    let transport =
        if uri.scheme() == Scheme::Sips || param.is_some_and(|t| t.eq_ignore_ascii_case(b"tls")) {
            TransportKind::Tls
        } else if param.is_some_and(|t| t.eq_ignore_ascii_case(b"tcp")) {
            TransportKind::Tcp
        } else {
            TransportKind::Udp
        };
    let host = match uri.maddr() {
        Some(m) => {
            let m = String::from_utf8_lossy(m).into_owned();
            match param_ip("maddr", &m) {
                Ok(ip) => RouteHost::Ip(ip),
                Err(_) => RouteHost::Domain(m),
            }
        }
        None => host.into(),
    };
    Ok(Route {
        transport,
        host,
        port: uri.port().unwrap_or(transport.default_port()),
    })
}

/// Whether a request of `size` bytes must leave UDP for a congestion-controlled
/// transport (RFC 3261 §18.1.1): over `threshold` (1300, or path MTU − 200).
pub fn must_use_stream(size: usize, threshold: usize) -> bool {
    size > threshold
}

/// Stamps the top Via of an inbound request (RFC 3261 §18.2.1, RFC 3581 §4): adds
/// `received` when the sent-by host is not the packet's source address (or when `rport`
/// was requested), and fills a valueless `rport` with the source port. Returns whether the
/// Via changed. A request without a Via is left alone.
pub fn stamp_received(request: &mut Request, source: SocketAddr) -> bool {
    let Some(via) = request.top_via() else {
        return false;
    };
    let source_ip = source.ip().to_canonical();
    let sent_by_ip = match via.host() {
        Host::Ipv4(a) => Some(IpAddr::V4(a)),
        Host::Ipv6(a) => Some(IpAddr::V6(a).to_canonical()),
        Host::Domain(_) => None,
    };
    let fill_rport = via.rport() == Rport::Requested;
    if sent_by_ip == Some(source_ip) && !fill_rport {
        return false;
    }
    // RFC 3261 §25.1: `received` is an IPv4address or a bare IPv6address.
    let received = source_ip.to_string();
    let mut replace = vec![("received", Some(received))];
    if fill_rport {
        replace.push(("rport", Some(source.port().to_string())));
    }
    let transport = via.transport_str().to_owned();
    match rebuild_via(via, &transport, &replace) {
        Some(new) => {
            replace_top_via(request.headers_mut(), new);
            true
        }
        None => {
            tracing::warn!(%source, "could not stamp received on the top Via");
            false
        }
    }
}

/// Sets the transport of the top Via (RFC 3261 §18.1.1: when a large request moves to
/// TCP, the Via must say so). Returns whether the Via changed.
pub fn set_top_via_transport(request: &mut Request, transport: TransportKind) -> bool {
    let Some(via) = request.top_via() else {
        return false;
    };
    if TransportKind::from_via(via.transport()) == Some(transport) {
        return false;
    }
    match rebuild_via(via, transport.via_token(), &[]) {
        Some(new) => {
            replace_top_via(request.headers_mut(), new);
            true
        }
        None => false,
    }
}

/// A copy of `via` with another transport token, and the parameters named in `replace`
/// removed and appended with the given values. `None` if the result does not parse.
fn rebuild_via(via: &Via, transport: &str, replace: &[(&str, Option<String>)]) -> Option<Via> {
    let mut out = Vec::with_capacity(via.as_bytes().len() + 48);
    out.extend_from_slice(b"SIP/2.0/");
    out.extend_from_slice(transport.as_bytes());
    out.push(b' ');
    out.extend_from_slice(via.host().to_string().as_bytes());
    if let Some(port) = via.port() {
        out.extend_from_slice(format!(":{port}").as_bytes());
    }
    for (name, value) in via.params() {
        if replace
            .iter()
            .any(|(r, _)| r.as_bytes().eq_ignore_ascii_case(name))
        {
            continue;
        }
        out.push(b';');
        out.extend_from_slice(name);
        if let Some(v) = value {
            out.push(b'=');
            out.extend_from_slice(v);
        }
    }
    for (name, value) in replace {
        out.push(b';');
        out.extend_from_slice(name.as_bytes());
        if let Some(v) = value {
            out.push(b'=');
            out.extend_from_slice(v.as_bytes());
        }
    }
    Via::parse(&out).ok()
}

/// Replaces the first Via of `headers`, keeping the order of the others.
fn replace_top_via(headers: &mut Headers, via: Via) {
    headers.set_first(Header::Via(via));
}

/// Adds `;tag=<tag>` to the To header when it has none (RFC 3261 §8.2.6.2). Returns
/// whether a tag was added.
pub(crate) fn add_to_tag(headers: &mut Headers, tag: &str) -> bool {
    let tagged = headers
        .named(&HeaderName::To)
        .find_map(|h| match h {
            Header::To(to) if to.tag().is_none() => Some(to),
            _ => None,
        })
        .and_then(|to| {
            let mut raw = to.as_bytes().to_vec();
            raw.extend_from_slice(b";tag=");
            raw.extend_from_slice(tag.as_bytes());
            crate::header::NameAddr::parse(&raw).ok()
        });
    match tagged {
        Some(to) => {
            headers.set_first(Header::To(to));
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::Message;

    fn request(via: &str) -> Request {
        let raw = format!(
            "OPTIONS sip:b@h SIP/2.0\r\nVia: {via}\r\nVia: SIP/2.0/UDP second;branch=z9hG4bK2\r\n\
             From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\
             Content-Length: 0\r\n\r\n"
        );
        match Message::parse(Bytes::from(raw)) {
            Ok(Message::Request(r)) => r,
            other => panic!("not a request: {other:?}"),
        }
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("socket address")
    }

    #[test]
    fn same_address_without_rport_is_left_alone() {
        let mut r = request("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1");
        assert!(!stamp_received(&mut r, addr("192.0.2.1:5060")));
        assert_eq!(r.top_via().and_then(|v| v.received()), None);
    }

    #[test]
    fn domain_gets_received_and_rport_is_filled() {
        let mut r = request("SIP/2.0/UDP pc.example.com;rport;branch=z9hG4bK1;received=1.1.1.1");
        assert!(stamp_received(&mut r, addr("192.0.2.9:4444")));
        let v = r.top_via().expect("via");
        assert_eq!(v.received(), Some("192.0.2.9"));
        assert_eq!(v.rport(), Rport::Port(4444));
        assert_eq!(v.branch(), Some("z9hG4bK1"));
        assert_eq!(r.vias().count(), 2, "second Via kept");
        let route = response_route(v).expect("route");
        assert_eq!(route.socket_addr(), Some(addr("192.0.2.9:4444")));
    }

    #[test]
    fn ipv6_received_is_bracketed_and_routable() {
        let mut r = request("SIP/2.0/TCP [2001:db8::1]:5070;branch=z9hG4bK1");
        assert!(stamp_received(&mut r, addr("[::1]:6000")));
        let v = r.top_via().expect("via");
        assert_eq!(v.received(), Some("::1"));
        let route = response_route(v).expect("route");
        assert_eq!(route.transport, TransportKind::Tcp);
        assert_eq!(route.socket_addr(), Some(addr("[::1]:5070")));
    }

    #[test]
    fn unreliable_routes_maddr_then_received_then_sent_by() {
        let v = Via::parse(b"SIP/2.0/UDP h:5080;maddr=224.0.1.75;received=192.0.2.3;rport=9")
            .expect("via");
        let route = response_route(&v).expect("route");
        assert_eq!(route.socket_addr(), Some(addr("224.0.1.75:5080")));
        let v = Via::parse(b"SIP/2.0/UDP h:5080;received=192.0.2.3").expect("via");
        assert_eq!(
            response_route(&v).expect("route").socket_addr(),
            Some(addr("192.0.2.3:5080"))
        );
        let v = Via::parse(b"SIP/2.0/UDP h.example").expect("via");
        let route = response_route(&v).expect("route");
        assert_eq!(route.host, RouteHost::Domain("h.example".into()));
        assert_eq!(route.port, 5060);
        let v = Via::parse(b"SIP/2.0/TLS h.example").expect("via");
        assert_eq!(response_route(&v).expect("route").port, 5061);
        let v = Via::parse(b"SIP/2.0/SCTP h").expect("via");
        assert!(matches!(
            response_route(&v),
            Err(RouteError::UnsupportedTransport(_))
        ));
        let v = Via::parse(b"SIP/2.0/UDP h;received=nothost").expect("via");
        assert!(matches!(
            response_route(&v),
            Err(RouteError::BadAddress { .. })
        ));
    }

    #[test]
    fn uri_routes() {
        let u = Uri::parse(b"sips:b@192.0.2.4").expect("uri");
        let r = request_route(&u).expect("route");
        assert_eq!(r.transport, TransportKind::Tls);
        assert_eq!(r.socket_addr(), Some(addr("192.0.2.4:5061")));
        let u = Uri::parse(b"sip:b@[::1]:7000;transport=TCP").expect("uri");
        let r = request_route(&u).expect("route");
        assert_eq!(r.transport, TransportKind::Tcp);
        assert_eq!(r.socket_addr(), Some(addr("[::1]:7000")));
        let u = Uri::parse(b"tel:+1234").expect("uri");
        assert!(request_route(&u).is_err());
    }

    #[test]
    fn transport_switch_rewrites_only_the_top_via() {
        let mut r = request("SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1;rport");
        assert!(set_top_via_transport(&mut r, TransportKind::Tcp));
        let vias: Vec<_> = r.vias().map(|v| v.transport()).collect();
        assert_eq!(
            vias,
            [crate::header::Transport::Tcp, crate::header::Transport::Udp]
        );
        assert_eq!(r.top_via().and_then(|v| v.branch()), Some("z9hG4bK1"));
        assert!(!set_top_via_transport(&mut r, TransportKind::Tcp));
        assert!(must_use_stream(1301, 1300));
        assert!(!must_use_stream(1300, 1300));
    }

    #[test]
    fn to_tag_added_once() {
        let mut r = request("SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1");
        assert!(add_to_tag(r.headers_mut(), "abc"));
        assert_eq!(r.to().and_then(|t| t.tag()), Some("abc"));
        assert!(!add_to_tag(r.headers_mut(), "def"));
    }
}
