//! SDP (RFC 8866): a typed session description, its parser and serializer, and the
//! mapping to session-core's neutral [`SessionDescription`](session_core::description::SessionDescription)
//! ([`SdpSession`], RFC 3264 offer/answer).
//!
//! # Design
//!
//! [`Sdp`] holds the session-level lines and one [`Media`] per `m=` section. Attributes
//! stay in one ordered list per section ([`Attribute`]): the ones the stack acts on
//! (`rtpmap`, `fmtp`, directions, `rtcp-mux`, `rtcp`, `ptime`) are typed, every other one
//! is kept as [`Attribute::Other`] in its place, so `parse → serialize` keeps unknown
//! attributes in order. [`Sdp::to_bytes`] writes the lines in the order of RFC 8866 §5
//! with CRLF endings; the parser also accepts bare LF.
//!
//! # Errors vs panics
//!
//! Remote input never panics (property-tested over arbitrary bytes). Malformed input is an
//! [`SdpError`] naming the 1-based line and what was wrong; input over the
//! [`SdpLimits`] (size, lines, media sections) is rejected before it is parsed.
//!
//! # Known limits
//!
//! | Limit | Note |
//! | --- | --- |
//! | Charset | the whole description must be UTF-8 (`a=charset` is kept, not applied) |
//! | `k=` | kept as text; RFC 8866 obsoletes it |
//! | Type letters outside RFC 8866 | rejected, as RFC 8866 §5 asks |
//!
//! # Example
//!
//! ```
//! use transport_sip::sdp::{Direction, Sdp};
//!
//! let sdp = Sdp::parse(
//!     b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
//!       m=audio 49170 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n\
//!       a=fmtp:101 0-16\r\na=sendonly\r\na=x-custom:42\r\n",
//! )?;
//! let audio = &sdp.media[0];
//! assert_eq!(audio.port, 49170);
//! assert_eq!(audio.direction(&sdp), Direction::SendOnly);
//! assert_eq!(audio.rtpmap("101").map(|r| r.encoding.as_str()), Some("telephone-event"));
//! assert_eq!(audio.fmtp("101"), Some("0-16"));
//! assert_eq!(Sdp::parse(&sdp.to_bytes())?, sdp);
//! # Ok::<(), transport_sip::sdp::SdpError>(())
//! ```

mod mapping;
mod parse;

use std::fmt::Write as _;
use std::net::IpAddr;

pub use self::mapping::{MappingError, SdpSession, description_to_sdp, sdp_to_description};
pub use self::parse::{LineError, SdpError, SdpLimits};

/// A session description (RFC 8866 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sdp {
    /// `o=`: the originator and session version.
    pub origin: Origin,
    /// `s=`: the session name (`-` when there is none).
    pub session_name: String,
    /// `i=`: session information.
    pub info: Option<String>,
    /// `u=`: a URI with more information.
    pub uri: Option<String>,
    /// `e=` lines.
    pub emails: Vec<String>,
    /// `p=` lines.
    pub phones: Vec<String>,
    /// The session-level `c=`, which applies to every media section without its own.
    pub connection: Option<Connection>,
    /// Session-level `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// `t=` lines, each with its `r=` lines.
    pub timing: Vec<Timing>,
    /// `z=`: time-zone adjustments, as text.
    pub time_zones: Option<String>,
    /// Session-level `k=`, as text (obsolete, RFC 8866 §5.12).
    pub key: Option<String>,
    /// Session-level `a=` lines, in order.
    pub attributes: Vec<Attribute>,
    /// The `m=` sections, in order.
    pub media: Vec<Media>,
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>` (§5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The user name (`-` when there is none).
    pub username: String,
    /// The session id: a numeric string, kept as text because some agents exceed 64 bits.
    pub session_id: String,
    /// The session version, incremented on each change (RFC 3264 §8).
    pub session_version: u64,
    /// The originator's address.
    pub address: Address,
}

/// A network address as SDP writes it: `<nettype> <addrtype> <address>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// Network type: `IN` for the Internet.
    pub net_type: String,
    /// Address type.
    pub addr_type: AddrType,
    /// The address: an IP literal or a name, with `/ttl/count` for multicast in `c=`.
    pub address: String,
}

impl Address {
    /// An `IN IP4` or `IN IP6` address for `ip`.
    pub fn ip(ip: IpAddr) -> Address {
        Address {
            net_type: "IN".to_owned(),
            addr_type: match ip {
                IpAddr::V4(_) => AddrType::Ip4,
                IpAddr::V6(_) => AddrType::Ip6,
            },
            address: ip.to_string(),
        }
    }

    /// The IP address, when the address is an `IN` IP literal (a multicast `/ttl` suffix
    /// is ignored).
    pub fn to_ip(&self) -> Option<IpAddr> {
        if self.net_type != "IN" {
            return None;
        }
        let host = self.address.split('/').next().unwrap_or_default();
        let ip: IpAddr = host.parse().ok()?;
        match (&self.addr_type, ip) {
            (AddrType::Ip4, IpAddr::V4(_)) | (AddrType::Ip6, IpAddr::V6(_)) => Some(ip),
            _ => None,
        }
    }
}

/// The address type of an [`Address`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrType {
    /// `IP4`.
    Ip4,
    /// `IP6`.
    Ip6,
    /// Any other token, as received.
    Other(String),
}

impl AddrType {
    fn parse(s: &str) -> AddrType {
        match s {
            "IP4" => AddrType::Ip4,
            "IP6" => AddrType::Ip6,
            other => AddrType::Other(other.to_owned()),
        }
    }

    /// The token.
    pub fn as_str(&self) -> &str {
        match self {
            AddrType::Ip4 => "IP4",
            AddrType::Ip6 => "IP6",
            AddrType::Other(s) => s,
        }
    }
}

/// `c=` (§5.7): where media is received.
pub type Connection = Address;

/// `b=<bwtype>:<bandwidth>` (§5.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bandwidth {
    /// The type (`AS`, `CT`, `TIAS`, …).
    pub kind: String,
    /// The value (kilobits per second for `AS` and `CT`).
    pub value: u64,
}

/// `t=<start-time> <stop-time>` (§5.9) with its `r=` lines (§5.10).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Timing {
    /// Start, NTP seconds (0: unbounded).
    pub start: u64,
    /// Stop, NTP seconds (0: unbounded).
    pub stop: u64,
    /// `r=` lines, as text.
    pub repeats: Vec<String>,
}

/// One `m=` section (§5.14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// Media type: `audio`, `video`, `text`, `application`, `message`, `image`, …
    pub kind: String,
    /// Transport port; 0 rejects or disables the stream (RFC 3264 §6).
    pub port: u16,
    /// The `/<number of ports>` suffix.
    pub port_count: Option<u16>,
    /// Transport protocol: `RTP/AVP`, `RTP/SAVPF`, `UDP/TLS/RTP/SAVPF`, …
    pub proto: String,
    /// Media formats: RTP payload types for RTP protocols.
    pub formats: Vec<String>,
    /// `i=`.
    pub info: Option<String>,
    /// Media-level `c=`, overriding the session-level one.
    pub connection: Option<Connection>,
    /// Media-level `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// Media-level `k=`, as text.
    pub key: Option<String>,
    /// Media-level `a=` lines, in order.
    pub attributes: Vec<Attribute>,
}

impl Media {
    /// A section with no lines besides `m=`.
    pub fn new(kind: &str, port: u16, proto: &str, formats: Vec<String>) -> Media {
        Media {
            kind: kind.to_owned(),
            port,
            port_count: None,
            proto: proto.to_owned(),
            formats,
            info: None,
            connection: None,
            bandwidths: Vec::new(),
            key: None,
            attributes: Vec::new(),
        }
    }

    /// The `rtpmap` of `format`.
    pub fn rtpmap(&self, format: &str) -> Option<&Rtpmap> {
        let pt: u8 = format.parse().ok()?;
        self.attributes.iter().find_map(|a| match a {
            Attribute::Rtpmap(r) if r.payload_type == pt => Some(r),
            _ => None,
        })
    }

    /// The `fmtp` parameters of `format`.
    pub fn fmtp(&self, format: &str) -> Option<&str> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Fmtp { format: f, params } if f == format => Some(params.as_str()),
            _ => None,
        })
    }

    /// The direction: this section's attribute, else the session's, else `sendrecv`
    /// (RFC 8866 §6.7).
    pub fn direction(&self, session: &Sdp) -> Direction {
        find_direction(&self.attributes)
            .or_else(|| find_direction(&session.attributes))
            .unwrap_or(Direction::SendRecv)
    }

    /// The connection address: this section's `c=`, else the session's.
    pub fn effective_connection<'a>(&'a self, session: &'a Sdp) -> Option<&'a Connection> {
        self.connection.as_ref().or(session.connection.as_ref())
    }

    /// Whether `a=rtcp-mux` is present (RFC 5761).
    pub fn rtcp_mux(&self) -> bool {
        self.attributes
            .iter()
            .any(|a| matches!(a, Attribute::RtcpMux))
    }

    /// `a=ptime` in milliseconds.
    pub fn ptime(&self) -> Option<u32> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Ptime(p) => Some(*p),
            _ => None,
        })
    }

    /// The first attribute named `name` that is kept as [`Attribute::Other`].
    pub fn other_attribute(&self, name: &str) -> Option<Option<&str>> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Other { name: n, value } if n == name => Some(value.as_deref()),
            _ => None,
        })
    }
}

fn find_direction(attrs: &[Attribute]) -> Option<Direction> {
    attrs.iter().find_map(|a| match a {
        Attribute::Direction(d) => Some(*d),
        _ => None,
    })
}

/// The direction attributes (RFC 8866 §6.7, RFC 3264 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `a=sendrecv`.
    SendRecv,
    /// `a=sendonly`.
    SendOnly,
    /// `a=recvonly`.
    RecvOnly,
    /// `a=inactive`.
    Inactive,
}

impl Direction {
    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    fn parse(name: &str) -> Option<Direction> {
        Some(match name {
            "sendrecv" => Direction::SendRecv,
            "sendonly" => Direction::SendOnly,
            "recvonly" => Direction::RecvOnly,
            "inactive" => Direction::Inactive,
            _ => return None,
        })
    }
}

/// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]` (§6.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rtpmap {
    /// RTP payload type, 0 to 127.
    pub payload_type: u8,
    /// Encoding name (`opus`, `PCMU`, `H264`, `telephone-event`).
    pub encoding: String,
    /// Clock rate in Hz.
    pub clock_rate: u32,
    /// Encoding parameters: the channel count for audio.
    pub channels: Option<u8>,
}

/// One `a=` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribute {
    /// `a=rtpmap`.
    Rtpmap(Rtpmap),
    /// `a=fmtp:<format> <parameters>` (§6.15); parameters verbatim.
    Fmtp {
        /// The format (payload type) it applies to.
        format: String,
        /// The format-specific parameters.
        params: String,
    },
    /// `a=sendrecv`, `a=sendonly`, `a=recvonly` or `a=inactive`.
    Direction(Direction),
    /// `a=rtcp-mux` (RFC 5761).
    RtcpMux,
    /// `a=rtcp:<port> [<nettype> <addrtype> <address>]` (RFC 3605).
    Rtcp {
        /// The RTCP port.
        port: u16,
        /// The RTCP address, if not the media's.
        address: Option<Address>,
    },
    /// `a=ptime:<milliseconds>` (§6.4).
    Ptime(u32),
    /// Any other attribute, as received.
    Other {
        /// The attribute name.
        name: String,
        /// The value after `:`, if any.
        value: Option<String>,
    },
}

impl Attribute {
    /// An attribute the stack does not interpret.
    pub fn other(name: &str, value: Option<&str>) -> Attribute {
        Attribute::Other {
            name: name.to_owned(),
            value: value.map(str::to_owned),
        }
    }
}

impl Sdp {
    /// A description with `v=0`, the given origin, `s=-`, `t=0 0` and nothing else.
    pub fn new(origin: Origin) -> Sdp {
        Sdp {
            origin,
            session_name: "-".to_owned(),
            info: None,
            uri: None,
            emails: Vec::new(),
            phones: Vec::new(),
            connection: None,
            bandwidths: Vec::new(),
            timing: vec![Timing::default()],
            time_zones: None,
            key: None,
            attributes: Vec::new(),
            media: Vec::new(),
        }
    }

    /// Parses a description with default [`SdpLimits`].
    pub fn parse(b: &[u8]) -> Result<Sdp, SdpError> {
        parse::parse(b, &SdpLimits::default())
    }

    /// Parses a description with the given limits.
    pub fn parse_with(b: &[u8], limits: &SdpLimits) -> Result<Sdp, SdpError> {
        parse::parse(b, limits)
    }

    /// The wire form, lines in RFC 8866 §5 order, CRLF line ends.
    ///
    /// CR and LF inside values are written as spaces, so a value cannot inject a line.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

/// Appends `t=value CRLF`, with CR/LF in the value replaced by spaces.
fn line(out: &mut String, t: char, value: &str) {
    out.push(t);
    out.push('=');
    out.extend(
        value
            .chars()
            .map(|c| if c == '\r' || c == '\n' { ' ' } else { c }),
    );
    out.push_str("\r\n");
}

fn address_text(a: &Address) -> String {
    format!("{} {} {}", a.net_type, a.addr_type.as_str(), a.address)
}

fn attribute_text(a: &Attribute) -> String {
    match a {
        Attribute::Rtpmap(r) => {
            let mut s = format!("rtpmap:{} {}/{}", r.payload_type, r.encoding, r.clock_rate);
            if let Some(c) = r.channels {
                let _ = write!(s, "/{c}");
            }
            s
        }
        Attribute::Fmtp { format, params } => format!("fmtp:{format} {params}"),
        Attribute::Direction(d) => d.as_str().to_owned(),
        Attribute::RtcpMux => "rtcp-mux".to_owned(),
        Attribute::Rtcp { port, address } => match address {
            Some(a) => format!("rtcp:{port} {}", address_text(a)),
            None => format!("rtcp:{port}"),
        },
        Attribute::Ptime(p) => format!("ptime:{p}"),
        Attribute::Other { name, value } => match value {
            Some(v) => format!("{name}:{v}"),
            None => name.clone(),
        },
    }
}

impl std::fmt::Display for Sdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = String::with_capacity(512);
        line(&mut out, 'v', "0");
        let o = &self.origin;
        line(
            &mut out,
            'o',
            &format!(
                "{} {} {} {}",
                o.username,
                o.session_id,
                o.session_version,
                address_text(&o.address)
            ),
        );
        line(&mut out, 's', &self.session_name);
        if let Some(i) = &self.info {
            line(&mut out, 'i', i);
        }
        if let Some(u) = &self.uri {
            line(&mut out, 'u', u);
        }
        for e in &self.emails {
            line(&mut out, 'e', e);
        }
        for p in &self.phones {
            line(&mut out, 'p', p);
        }
        if let Some(c) = &self.connection {
            line(&mut out, 'c', &address_text(c));
        }
        for b in &self.bandwidths {
            line(&mut out, 'b', &format!("{}:{}", b.kind, b.value));
        }
        for t in &self.timing {
            line(&mut out, 't', &format!("{} {}", t.start, t.stop));
            for r in &t.repeats {
                line(&mut out, 'r', r);
            }
        }
        if let Some(z) = &self.time_zones {
            line(&mut out, 'z', z);
        }
        if let Some(k) = &self.key {
            line(&mut out, 'k', k);
        }
        for a in &self.attributes {
            line(&mut out, 'a', &attribute_text(a));
        }
        for m in &self.media {
            let mut s = format!("{} {}", m.kind, m.port);
            if let Some(n) = m.port_count {
                let _ = write!(s, "/{n}");
            }
            let _ = write!(s, " {}", m.proto);
            for fmt in &m.formats {
                let _ = write!(s, " {fmt}");
            }
            line(&mut out, 'm', &s);
            if let Some(i) = &m.info {
                line(&mut out, 'i', i);
            }
            if let Some(c) = &m.connection {
                line(&mut out, 'c', &address_text(c));
            }
            for b in &m.bandwidths {
                line(&mut out, 'b', &format!("{}:{}", b.kind, b.value));
            }
            if let Some(k) = &m.key {
                line(&mut out, 'k', k);
            }
            for a in &m.attributes {
                line(&mut out, 'a', &attribute_text(a));
            }
        }
        f.write_str(&out)
    }
}
