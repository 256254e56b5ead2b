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
        self.render().into_bytes()
    }

    /// The text, written into one buffer (no allocation per line).
    fn render(&self) -> String {
        let mut out = Lines(String::with_capacity(512));
        out.line('v', format_args!("0"));
        let o = &self.origin;
        out.line(
            'o',
            format_args!(
                "{} {} {} {}",
                o.username,
                o.session_id,
                o.session_version,
                AddressText(&o.address)
            ),
        );
        out.line('s', format_args!("{}", self.session_name));
        if let Some(i) = &self.info {
            out.line('i', format_args!("{i}"));
        }
        if let Some(u) = &self.uri {
            out.line('u', format_args!("{u}"));
        }
        for e in &self.emails {
            out.line('e', format_args!("{e}"));
        }
        for p in &self.phones {
            out.line('p', format_args!("{p}"));
        }
        if let Some(c) = &self.connection {
            out.line('c', format_args!("{}", AddressText(c)));
        }
        for b in &self.bandwidths {
            out.line('b', format_args!("{}:{}", b.kind, b.value));
        }
        for t in &self.timing {
            out.line('t', format_args!("{} {}", t.start, t.stop));
            for r in &t.repeats {
                out.line('r', format_args!("{r}"));
            }
        }
        if let Some(z) = &self.time_zones {
            out.line('z', format_args!("{z}"));
        }
        if let Some(k) = &self.key {
            out.line('k', format_args!("{k}"));
        }
        for a in &self.attributes {
            out.line('a', format_args!("{}", AttributeText(a)));
        }
        for m in &self.media {
            out.line('m', format_args!("{}", MediaLine(m)));
            if let Some(i) = &m.info {
                out.line('i', format_args!("{i}"));
            }
            if let Some(c) = &m.connection {
                out.line('c', format_args!("{}", AddressText(c)));
            }
            for b in &m.bandwidths {
                out.line('b', format_args!("{}:{}", b.kind, b.value));
            }
            if let Some(k) = &m.key {
                out.line('k', format_args!("{k}"));
            }
            for a in &m.attributes {
                out.line('a', format_args!("{}", AttributeText(a)));
            }
        }
        out.0
    }
}

/// An SDP text being written: `t=value CRLF` lines, with CR and LF inside a value
/// replaced by spaces (a value can never end its line early).
struct Lines(String);

impl Lines {
    fn line(&mut self, t: char, value: std::fmt::Arguments<'_>) {
        self.0.push(t);
        self.0.push('=');
        // Writing into a String cannot fail.
        let _ = std::fmt::Write::write_fmt(&mut OneLine(&mut self.0), value);
        self.0.push_str("\r\n");
    }
}

/// Appends to a String with CR and LF replaced by spaces.
struct OneLine<'a>(&'a mut String);

impl std::fmt::Write for OneLine<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        if s.bytes().any(|b| b == b'\r' || b == b'\n') {
            self.0.extend(
                s.chars()
                    .map(|c| if c == '\r' || c == '\n' { ' ' } else { c }),
            );
        } else {
            self.0.push_str(s);
        }
        Ok(())
    }
}

/// `nettype addrtype address`.
struct AddressText<'a>(&'a Address);

impl std::fmt::Display for AddressText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let a = self.0;
        write!(f, "{} {} {}", a.net_type, a.addr_type.as_str(), a.address)
    }
}

/// The value of an `a=` line.
struct AttributeText<'a>(&'a Attribute);

impl std::fmt::Display for AttributeText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Attribute::Rtpmap(r) => {
                write!(
                    f,
                    "rtpmap:{} {}/{}",
                    r.payload_type, r.encoding, r.clock_rate
                )?;
                if let Some(c) = r.channels {
                    write!(f, "/{c}")?;
                }
                Ok(())
            }
            Attribute::Fmtp { format, params } => write!(f, "fmtp:{format} {params}"),
            Attribute::Direction(d) => f.write_str(d.as_str()),
            Attribute::RtcpMux => f.write_str("rtcp-mux"),
            Attribute::Rtcp { port, address } => match address {
                Some(a) => write!(f, "rtcp:{port} {}", AddressText(a)),
                None => write!(f, "rtcp:{port}"),
            },
            Attribute::Ptime(p) => write!(f, "ptime:{p}"),
            Attribute::Other { name, value } => match value {
                Some(v) => write!(f, "{name}:{v}"),
                None => f.write_str(name),
            },
        }
    }
}

/// The value of an `m=` line.
struct MediaLine<'a>(&'a Media);

impl std::fmt::Display for MediaLine<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = self.0;
        write!(f, "{} {}", m.kind, m.port)?;
        if let Some(n) = m.port_count {
            write!(f, "/{n}")?;
        }
        write!(f, " {}", m.proto)?;
        for fmt in &m.formats {
            write!(f, " {fmt}")?;
        }
        Ok(())
    }
}

impl std::fmt::Display for Sdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_in_order_and_a_value_cannot_break_its_line() {
        let mut sdp = Sdp::new(Origin {
            username: "-".into(),
            session_id: "42".into(),
            session_version: 7,
            address: Address::ip("192.0.2.1".parse().unwrap()),
        });
        sdp.session_name = "call\r\nm=audio 1 RTP/AVP 0".into();
        sdp.connection = Some(Address::ip("192.0.2.1".parse().unwrap()));
        let mut m = Media::new("audio", 4000, "RTP/AVP", vec!["0".into(), "101".into()]);
        m.attributes.push(Attribute::Other {
            name: "rtpmap".into(),
            value: Some("101 telephone-event/8000".into()),
        });
        m.attributes.push(Attribute::RtcpMux);
        sdp.media.push(m);
        let text = String::from_utf8(sdp.to_bytes()).unwrap();
        assert_eq!(
            text,
            "v=0\r\no=- 42 7 IN IP4 192.0.2.1\r\ns=call  m=audio 1 RTP/AVP 0\r\n\
             c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 101\r\n\
             a=rtpmap:101 telephone-event/8000\r\na=rtcp-mux\r\n"
        );
        assert_eq!(sdp.to_string(), text);
    }
}
