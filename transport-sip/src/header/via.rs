//! [`Via`] (RFC 3261 §20.42, §18.2.1; RFC 3581 rport).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bytes::Bytes;

use crate::HeaderError;
use crate::parse::Span;
use crate::parse::chars::parse_number;
use crate::parse::cursor::Cursor;
use crate::parse::params::{Params, scan_params};
use crate::text::{Text, ascii};
use crate::uri::Host;

/// The transport of a Via `sent-protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
    /// SCTP.
    Sctp,
    /// WebSocket (RFC 7118).
    Ws,
    /// Secure WebSocket (RFC 7118).
    Wss,
    /// Any other token; see [`Via::transport_str`].
    Other,
}

impl Transport {
    fn from_token(b: &[u8]) -> Transport {
        if b.eq_ignore_ascii_case(b"UDP") {
            Transport::Udp
        } else if b.eq_ignore_ascii_case(b"TCP") {
            Transport::Tcp
        } else if b.eq_ignore_ascii_case(b"TLS") {
            Transport::Tls
        } else if b.eq_ignore_ascii_case(b"SCTP") {
            Transport::Sctp
        } else if b.eq_ignore_ascii_case(b"WS") {
            Transport::Ws
        } else if b.eq_ignore_ascii_case(b"WSS") {
            Transport::Wss
        } else {
            Transport::Other
        }
    }
}

/// The `rport` parameter (RFC 3581).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rport {
    /// Absent.
    Absent,
    /// Present without a value: the client asks for it to be filled in.
    Requested,
    /// Present with the port the server saw.
    Port(u16),
}

/// One Via value: `sent-protocol LWS sent-by *( SEMI via-params )`.
#[derive(Debug, Clone)]
pub struct Via {
    raw: Text,
    transport: Transport,
    transport_span: Span,
    host: Span,
    ip: Option<IpAddr>,
    port: Option<u16>,
    branch: Option<Span>,
    received: Option<Span>,
    rport: Rport,
    maddr: Option<Span>,
    ttl: Option<u8>,
    params: Span,
}

impl PartialEq for Via {
    fn eq(&self, other: &Via) -> bool {
        self.raw == other.raw
    }
}
impl Eq for Via {}

impl Via {
    /// Parses one Via value (no commas).
    pub fn parse(b: &[u8]) -> Result<Via, HeaderError> {
        let src = Bytes::copy_from_slice(b);
        parse(&src, 0, src.len(), crate::ParseLimits::default().max_params)
    }

    /// The value as received.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// The transport.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// The transport token as received (e.g. `UNKNOWN` for [`Transport::Other`]).
    pub fn transport_str(&self) -> &str {
        ascii(self.transport_span.get(&self.raw))
    }

    /// The sent-by host.
    pub fn host(&self) -> Host<'_> {
        match self.ip {
            Some(IpAddr::V4(a)) => Host::Ipv4(a),
            Some(IpAddr::V6(a)) => Host::Ipv6(a),
            None => Host::Domain(ascii(self.host.get(&self.raw))),
        }
    }

    /// The sent-by port, if present.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The `branch` parameter: the transaction id (RFC 3261 §17.2.3).
    pub fn branch(&self) -> Option<&str> {
        self.branch.map(|s| ascii(s.get(&self.raw)))
    }

    /// Whether the branch carries the RFC 3261 magic cookie `z9hG4bK` (§8.1.1.7).
    pub fn is_rfc3261_branch(&self) -> bool {
        self.branch().is_some_and(|b| b.starts_with("z9hG4bK"))
    }

    /// The `received` parameter (RFC 3261 §18.2.1).
    pub fn received(&self) -> Option<&str> {
        self.received.map(|s| ascii(s.get(&self.raw)))
    }

    /// The `rport` parameter (RFC 3581).
    pub fn rport(&self) -> Rport {
        self.rport
    }

    /// The `maddr` parameter.
    pub fn maddr(&self) -> Option<&str> {
        self.maddr.map(|s| ascii(s.get(&self.raw)))
    }

    /// The `ttl` parameter.
    pub fn ttl(&self) -> Option<u8> {
        self.ttl
    }

    /// All parameters, known ones included, in order.
    pub fn params(&self) -> Params<'_> {
        Params::header(self.params.get(&self.raw))
    }
}

/// Parses `host [ COLON port ]` at the cursor.
pub(crate) fn host_port(
    c: &mut Cursor<'_>,
) -> Result<(Span, Option<IpAddr>, Option<u16>), HeaderError> {
    let start = c.pos;
    let (span, ip) = if c.peek() == Some(b'[') {
        let close = crate::parse::scan::find(b']', &c.b[c.pos..]).ok_or(HeaderError::Host)?;
        let addr = ascii(&c.b[c.pos + 1..c.pos + close])
            .parse::<Ipv6Addr>()
            .map_err(|_| HeaderError::Host)?;
        c.pos += close + 1;
        (Span::new(start, c.pos), Some(IpAddr::V6(addr)))
    } else {
        let s = c.take_while(crate::parse::chars::is_host);
        let host = s.get(c.b);
        if host.is_empty() {
            return Err(HeaderError::Host);
        }
        let ip = if host.iter().all(|b| b.is_ascii_digit() || *b == b'.') {
            Some(IpAddr::V4(
                ascii(host)
                    .parse::<Ipv4Addr>()
                    .map_err(|_| HeaderError::Host)?,
            ))
        } else {
            None
        };
        (s, ip)
    };
    let port = if c.eat_sep(b':') {
        let digits = c.take_while(|b| b.is_ascii_digit());
        Some(parse_number(digits.get(c.b), u64::from(u16::MAX))? as u16)
    } else {
        None
    };
    Ok((span, ip, port))
}

pub(crate) fn parse(
    src: &Bytes,
    start: usize,
    end: usize,
    max_params: usize,
) -> Result<Via, HeaderError> {
    let b = &src[start..end];
    let mut c = Cursor::new(b);
    // sent-protocol = protocol-name SLASH protocol-version SLASH transport
    c.token()?;
    c.expect_sep(b'/')?;
    c.token()?;
    c.expect_sep(b'/')?;
    let transport_span = c.token()?;
    let transport = Transport::from_token(transport_span.get(b));
    let before = c.pos;
    c.skip_lws();
    if c.pos == before {
        return Err(HeaderError::Expected(' '));
    }
    let (host, ip, port) = host_port(&mut c)?;
    let mut branch = None;
    let mut received = None;
    let mut rport = Rport::Absent;
    let mut maddr = None;
    let mut ttl = None;
    let params = scan_params(&mut c, max_params, |b, name, value| {
        let n = name.get(b);
        if n.eq_ignore_ascii_case(b"branch") {
            branch = Some(value.ok_or(HeaderError::Expected('='))?);
        } else if n.eq_ignore_ascii_case(b"received") {
            received = Some(value.ok_or(HeaderError::Expected('='))?);
        } else if n.eq_ignore_ascii_case(b"rport") {
            rport = match value {
                None => Rport::Requested,
                Some(v) => Rport::Port(parse_number(v.get(b), u64::from(u16::MAX))? as u16),
            };
        } else if n.eq_ignore_ascii_case(b"maddr") {
            maddr = Some(value.ok_or(HeaderError::Expected('='))?);
        } else if n.eq_ignore_ascii_case(b"ttl") {
            let v = value.ok_or(HeaderError::Expected('='))?;
            ttl = Some(parse_number(v.get(b), 255)? as u8);
        }
        Ok(())
    })?;
    c.finish()?;
    Ok(Via {
        raw: Text::slice_of(src, start, end),
        transport,
        transport_span,
        host,
        ip,
        port,
        branch,
        received,
        rport,
        maddr,
        ttl,
        params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_sent_protocol_and_params() {
        let v = Via::parse(
            b"SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8",
        )
        .expect("valid");
        assert_eq!(v.transport(), Transport::Tcp);
        assert_eq!(v.host(), Host::Domain("spindle.example.com"));
        assert_eq!(v.branch(), Some("z9hG4bK9ikj8"));
        assert!(v.is_rfc3261_branch());
    }

    #[test]
    fn bare_ipv6_received() {
        // RFC 3261 §25.1: via-received = "received" EQUAL (IPv4address / IPv6address).
        let v = Via::parse(b"SIP/2.0/UDP [2001:db8::9]:5060;received=2001:db8::1;rport=5060")
            .expect("bare IPv6 in received");
        assert_eq!(v.received(), Some("2001:db8::1"));
        assert_eq!(v.rport(), Rport::Port(5060));
        let v = Via::parse(b"SIP/2.0/UDP h;received=[::1]").expect("bracketed too");
        assert_eq!(v.received(), Some("[::1]"));
        assert!(
            Via::parse(b"SIP/2.0/UDP h;received=1:2:3").is_err(),
            "not an address"
        );
        // Hex-looking tokens stay tokens.
        let v = Via::parse(b"SIP/2.0/UDP h;branch=z9hG4bKabc;x=deadbeef").expect("token");
        assert_eq!(v.branch(), Some("z9hG4bKabc"));
    }

    #[test]
    fn ipv6_rport_received() {
        let v = Via::parse(
            b"SIP/2.0/UDP [2001:db8::9]:5061;rport;received=192.0.2.1;ttl=16;maddr=224.2.0.1;x",
        )
        .expect("valid");
        assert_eq!(v.host(), Host::Ipv6("2001:db8::9".parse().expect("ip")));
        assert_eq!(v.port(), Some(5061));
        assert_eq!(v.rport(), Rport::Requested);
        assert_eq!(v.received(), Some("192.0.2.1"));
        assert_eq!(v.ttl(), Some(16));
        assert_eq!(v.maddr(), Some("224.2.0.1"));
        assert_eq!(v.params().get("x"), Some(None));
        let v = Via::parse(b"SIP/2.0/WSS h;rport=5070;branch=z9hG4bKx").expect("valid");
        assert_eq!(v.rport(), Rport::Port(5070));
        assert_eq!(v.transport(), Transport::Wss);
        assert_eq!(
            Via::parse(b"SIP/2.0/UDP 192.0.2.15;;").err(),
            Some(HeaderError::EmptyElement)
        );
        assert_eq!(
            Via::parse(b"SIP/2.0/UDP h;ttl=256").err(),
            Some(HeaderError::OutOfRange)
        );
    }
}
