//! [`Uri`]: SIP, SIPS and TEL URIs, and any other absolute URI kept opaque
//! (RFC 3261 §19.1, §25.1; RFC 3966), with comparison per RFC 3261 §19.1.4.

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bytes::Bytes;

use crate::parse::Span;
use crate::parse::chars::{is_host, is_param, is_password, is_uri_header, is_uric, is_user};
use crate::parse::params::Params;
use crate::text::{Text, ascii};
use crate::{ParseLimits, UriError};

/// A URI scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// `sip:` (RFC 3261 §19.1).
    Sip,
    /// `sips:` (RFC 3261 §19.1).
    Sips,
    /// `tel:` (RFC 3966).
    Tel,
    /// Any other scheme; the URI is kept opaque (RFC 4475 §3.3.2-§3.3.4).
    Other,
}

/// The host of a SIP URI or Via.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host<'a> {
    /// A domain name, as received (compare case-insensitively).
    Domain(&'a str),
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 reference (`[...]` in the text).
    Ipv6(Ipv6Addr),
}

impl fmt::Display for Host<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(d) => f.write_str(d),
            Host::Ipv4(a) => write!(f, "{a}"),
            Host::Ipv6(a) => write!(f, "[{a}]"),
        }
    }
}

/// A parsed URI. It keeps its text and the positions of its parts, so it re-serializes
/// exactly as received.
#[derive(Clone)]
pub struct Uri {
    raw: Text,
    scheme: Scheme,
    user: Option<Span>,
    password: Option<Span>,
    host: Span,
    ip: Option<IpAddr>,
    port: Option<u16>,
    params: Span,
    headers: Option<Span>,
}

impl PartialEq for Uri {
    /// Textual equality; see [`Uri::equivalent`] for RFC 3261 §19.1.4 comparison.
    fn eq(&self, other: &Uri) -> bool {
        self.raw == other.raw
    }
}
impl Eq for Uri {}

impl fmt::Debug for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uri({})", self.raw)
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.raw, f)
    }
}

impl std::str::FromStr for Uri {
    type Err = UriError;
    fn from_str(s: &str) -> Result<Uri, UriError> {
        Uri::parse(s.as_bytes())
    }
}

impl Uri {
    /// Parses a URI with default limits.
    pub fn parse(b: &[u8]) -> Result<Uri, UriError> {
        let src = Bytes::copy_from_slice(b);
        parse_uri(&src, 0, src.len(), ParseLimits::default().max_params)
    }

    /// The URI as received.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The user part, still percent-escaped (the number for `tel:`).
    pub fn user(&self) -> Option<&[u8]> {
        self.user.map(|s| s.get(&self.raw))
    }

    /// The password part, still percent-escaped.
    pub fn password(&self) -> Option<&[u8]> {
        self.password.map(|s| s.get(&self.raw))
    }

    /// The host of a `sip:`/`sips:` URI; `None` for other schemes.
    pub fn host(&self) -> Option<Host<'_>> {
        if !matches!(self.scheme, Scheme::Sip | Scheme::Sips) {
            return None;
        }
        Some(match self.ip {
            Some(IpAddr::V4(a)) => Host::Ipv4(a),
            Some(IpAddr::V6(a)) => Host::Ipv6(a),
            None => Host::Domain(ascii(self.host.get(&self.raw))),
        })
    }

    /// The explicit port, if any.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The `;parameters` (after the host, before `?`).
    pub fn params(&self) -> Params<'_> {
        Params::uri(self.params.get(&self.raw))
    }

    /// The `?headers` part (after the `?`), still escaped.
    pub fn headers(&self) -> Option<&[u8]> {
        self.headers.map(|s| s.get(&self.raw))
    }

    /// The `transport` parameter.
    pub fn transport(&self) -> Option<&[u8]> {
        self.params().get("transport").flatten()
    }

    /// Whether the `lr` parameter is present (loose routing, RFC 3261 §19.1.1).
    pub fn lr(&self) -> bool {
        self.params().get("lr").is_some()
    }

    /// The `maddr` parameter.
    pub fn maddr(&self) -> Option<&[u8]> {
        self.params().get("maddr").flatten()
    }

    /// Compares two URIs by the rules of RFC 3261 §19.1.4.
    ///
    /// SIP and SIPS URIs: same scheme; user and password equal case-sensitively after
    /// unescaping; host equal case-insensitively; ports equal (an absent port differs
    /// from an explicit 5060); `user`, `ttl`, `method`, `maddr` and `transport` equal
    /// if either URI has them; other parameters equal where both have them; headers
    /// equal as sets. Other schemes compare case-insensitively after unescaping.
    pub fn equivalent(&self, other: &Uri) -> bool {
        if self.scheme != other.scheme {
            return false;
        }
        if !matches!(self.scheme, Scheme::Sip | Scheme::Sips) {
            return unescape(&self.raw).eq_ignore_ascii_case(&unescape(&other.raw));
        }
        let opt_eq = |a: Option<&[u8]>, b: Option<&[u8]>| match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => unescape(a) == unescape(b),
            _ => false,
        };
        if !opt_eq(self.user(), other.user()) || !opt_eq(self.password(), other.password()) {
            return false;
        }
        let hosts_equal = match (self.ip, other.ip) {
            (Some(a), Some(b)) => a == b,
            (None, None) => unescape(self.host.get(&self.raw))
                .eq_ignore_ascii_case(&unescape(other.host.get(&other.raw))),
            _ => false,
        };
        if !hosts_equal || self.port != other.port {
            return false;
        }
        let find = |u: &Uri, name: &[u8]| {
            u.params()
                .find(|(n, _)| unescape(n).eq_ignore_ascii_case(name))
                .map(|(_, v)| unescape(v.unwrap_or_default()).to_ascii_lowercase())
        };
        for name in [&b"user"[..], b"ttl", b"method", b"maddr", b"transport"] {
            if find(self, name) != find(other, name) {
                return false;
            }
        }
        for (n, _) in self.params() {
            let n = unescape(n).to_ascii_lowercase();
            if let (Some(a), Some(b)) = (find(self, &n), find(other, &n))
                && a != b
            {
                return false;
            }
        }
        let header_set = |u: &Uri| {
            let mut v: Vec<(Vec<u8>, Vec<u8>)> = u
                .headers()
                .unwrap_or_default()
                .split(|&c| c == b'&')
                .filter(|h| !h.is_empty())
                .map(|h| {
                    let (n, v) = match crate::parse::scan::find(b'=', h) {
                        Some(eq) => (&h[..eq], &h[eq + 1..]),
                        None => (h, &b""[..]),
                    };
                    (unescape(n).to_ascii_lowercase(), unescape(v).into_owned())
                })
                .collect();
            v.sort();
            v
        };
        header_set(self) == header_set(other)
    }
}

/// Decodes `%HH` escapes; malformed escapes are kept as is.
pub fn unescape(b: &[u8]) -> Cow<'_, [u8]> {
    if !b.contains(&b'%') {
        return Cow::Borrowed(b);
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|c| (*c as char).to_digit(16)),
                b.get(i + 2).and_then(|c| (*c as char).to_digit(16)),
            )
        {
            // Two hex digits make at most 255.
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    Cow::Owned(out)
}

fn check_escapes(b: &[u8]) -> Result<(), UriError> {
    let mut i = 0;
    while let Some(p) = crate::parse::scan::find(b'%', &b[i..]) {
        let at = i + p;
        let ok = b.get(at + 1).is_some_and(u8::is_ascii_hexdigit)
            && b.get(at + 2).is_some_and(u8::is_ascii_hexdigit);
        if !ok {
            return Err(UriError::Escape);
        }
        i = at + 3;
    }
    Ok(())
}

/// Parses `src[start..end]` as a URI.
pub(crate) fn parse_uri(
    src: &Bytes,
    start: usize,
    end: usize,
    max_params: usize,
) -> Result<Uri, UriError> {
    let b = src.get(start..end).ok_or(UriError::Character)?;
    let mut uri = parse_parts(b, max_params)?;
    uri.raw = Text::slice_of(src, start, end);
    Ok(uri)
}

fn parse_parts(b: &[u8], max_params: usize) -> Result<Uri, UriError> {
    // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
    let colon = crate::parse::scan::find(b':', b).ok_or(UriError::Scheme)?;
    let scheme_bytes = &b[..colon];
    if !scheme_bytes.first().is_some_and(u8::is_ascii_alphabetic)
        || !scheme_bytes
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
    {
        return Err(UriError::Scheme);
    }
    let scheme = if scheme_bytes.eq_ignore_ascii_case(b"sip") {
        Scheme::Sip
    } else if scheme_bytes.eq_ignore_ascii_case(b"sips") {
        Scheme::Sips
    } else if scheme_bytes.eq_ignore_ascii_case(b"tel") {
        Scheme::Tel
    } else {
        Scheme::Other
    };
    let mut uri = Uri {
        raw: Text::EMPTY,
        scheme,
        user: None,
        password: None,
        host: Span::default(),
        ip: None,
        port: None,
        params: Span::default(),
        headers: None,
    };
    let mut pos = colon + 1;
    match scheme {
        Scheme::Other => {
            if pos >= b.len() || !b[pos..].iter().all(|&c| is_uric(c)) {
                return Err(UriError::Character);
            }
            return Ok(uri);
        }
        Scheme::Tel => {
            let n = b[pos..]
                .iter()
                .position(|&c| c == b';')
                .unwrap_or(b.len() - pos);
            if n == 0 || !b[pos..pos + n].iter().all(|&c| is_param(c)) {
                return Err(UriError::User);
            }
            uri.user = Some(Span::new(pos, pos + n));
            pos += n;
        }
        Scheme::Sip | Scheme::Sips => {
            // userinfo: '@' appears nowhere else in a SIP URI, so the first one ends it.
            if let Some(at) = crate::parse::scan::find(b'@', &b[pos..]) {
                let info = &b[pos..pos + at];
                let (user, pass) = match crate::parse::scan::find(b':', info) {
                    Some(c) => (&info[..c], Some(&info[c + 1..])),
                    None => (info, None),
                };
                if user.is_empty() || !user.iter().all(|&c| is_user(c)) {
                    return Err(UriError::User);
                }
                check_escapes(user)?;
                uri.user = Some(Span::new(pos, pos + user.len()));
                if let Some(p) = pass {
                    if !p.iter().all(|&c| is_password(c)) {
                        return Err(UriError::User);
                    }
                    check_escapes(p)?;
                    let ps = pos + user.len() + 1;
                    uri.password = Some(Span::new(ps, ps + p.len()));
                }
                pos += at + 1;
            }
            // hostport
            if b.get(pos) == Some(&b'[') {
                let close = crate::parse::scan::find(b']', &b[pos..]).ok_or(UriError::Host)?;
                let addr = ascii(&b[pos + 1..pos + close])
                    .parse::<Ipv6Addr>()
                    .map_err(|_| UriError::Host)?;
                uri.ip = Some(IpAddr::V6(addr));
                uri.host = Span::new(pos, pos + close + 1);
                pos += close + 1;
            } else {
                let hs = pos;
                while pos < b.len() && is_host(b[pos]) {
                    pos += 1;
                }
                let host = &b[hs..pos];
                if host.is_empty() || host[0] == b'-' || host[0] == b'.' {
                    return Err(UriError::Host);
                }
                if host.iter().all(|c| c.is_ascii_digit() || *c == b'.') {
                    let addr = ascii(host)
                        .parse::<Ipv4Addr>()
                        .map_err(|_| UriError::Host)?;
                    uri.ip = Some(IpAddr::V4(addr));
                }
                uri.host = Span::new(hs, pos);
            }
            if b.get(pos) == Some(&b':') {
                pos += 1;
                let ps = pos;
                while pos < b.len() && b[pos].is_ascii_digit() {
                    pos += 1;
                }
                let port = crate::parse::chars::parse_number(&b[ps..pos], u64::from(u16::MAX))
                    .map_err(|_| UriError::Port)?;
                uri.port = Some(port as u16);
            }
        }
    }
    // uri-parameters = *( ";" uri-parameter )
    let ps = pos;
    let mut count = 0;
    while b.get(pos) == Some(&b';') {
        pos += 1;
        let ns = pos;
        while pos < b.len() && is_param(b[pos]) {
            pos += 1;
        }
        if pos == ns {
            return Err(UriError::Param);
        }
        if b.get(pos) == Some(&b'=') {
            pos += 1;
            let vs = pos;
            while pos < b.len() && is_param(b[pos]) {
                pos += 1;
            }
            if pos == vs {
                return Err(UriError::Param);
            }
        }
        count += 1;
        if count > max_params {
            return Err(UriError::TooManyParams);
        }
    }
    check_escapes(&b[ps..pos])?;
    uri.params = Span::new(ps, pos);
    if b.get(pos) == Some(&b'?') {
        if !matches!(scheme, Scheme::Sip | Scheme::Sips) {
            return Err(UriError::Character);
        }
        pos += 1;
        let hs = pos;
        while pos < b.len() && is_uri_header(b[pos]) {
            pos += 1;
        }
        if pos == hs {
            return Err(UriError::Headers);
        }
        check_escapes(&b[hs..pos])?;
        uri.headers = Some(Span::new(hs, pos));
    }
    if pos != b.len() {
        return Err(UriError::Character);
    }
    Ok(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> Uri {
        Uri::parse(s.as_bytes()).expect(s)
    }

    #[test]
    fn parts() {
        let u = uri("sip:alice:secret@[2001:db8::1]:5070;transport=tcp;lr?subject=hi");
        assert_eq!(u.user(), Some(&b"alice"[..]));
        assert_eq!(u.password(), Some(&b"secret"[..]));
        assert_eq!(
            u.host(),
            Some(Host::Ipv6("2001:db8::1".parse().expect("ip")))
        );
        assert_eq!(u.port(), Some(5070));
        assert_eq!(u.transport(), Some(&b"tcp"[..]));
        assert!(u.lr());
        assert_eq!(u.headers(), Some(&b"subject=hi"[..]));
        let t = uri("tel:+1-201-555-0123;phone-context=example.com");
        assert_eq!(t.scheme(), Scheme::Tel);
        assert_eq!(t.user(), Some(&b"+1-201-555-0123"[..]));
        assert_eq!(uri("soap.beep://192.0.2.103:3002").scheme(), Scheme::Other);
    }

    #[test]
    fn rejects() {
        assert_eq!(Uri::parse(b"<sip:a@b>").err(), Some(UriError::Scheme));
        assert_eq!(Uri::parse(b"sip:a@b c").err(), Some(UriError::Character));
        assert_eq!(Uri::parse(b"sip:a@b:99999").err(), Some(UriError::Port));
        assert_eq!(Uri::parse(b"sip:a@b;;").err(), Some(UriError::Param));
        assert_eq!(Uri::parse(b"sip:%zz@b").err(), Some(UriError::Escape));
        assert_eq!(Uri::parse(b"sip:@b").err(), Some(UriError::User));
    }

    // The equivalent and non-equivalent pairs of RFC 3261 §19.1.4.
    #[test]
    fn rfc3261_comparison_examples() {
        let same = [
            (
                "sip:%61lice@atlanta.com;transport=TCP",
                "sip:alice@AtLanTa.CoM;Transport=tcp",
            ),
            ("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"),
            ("sip:carol@chicago.com", "sip:carol@chicago.com;security=on"),
            (
                "sip:carol@chicago.com;newparam=5",
                "sip:carol@chicago.com;security=on",
            ),
            (
                "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
                "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com",
            ),
            (
                "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
                "sip:alice@atlanta.com?priority=urgent&subject=project%20x",
            ),
        ];
        for (a, b) in same {
            assert!(uri(a).equivalent(&uri(b)), "{a} == {b}");
        }
        let differ = [
            (
                "SIP:ALICE@AtLanTa.CoM;Transport=udp",
                "sip:alice@AtLanTa.CoM;Transport=UDP",
            ),
            ("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"),
            ("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"),
            (
                "sip:bob@biloxi.com",
                "sip:bob@biloxi.com:6000;transport=tcp",
            ),
            (
                "sip:carol@chicago.com",
                "sip:carol@chicago.com?Subject=next%20meeting",
            ),
            ("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"),
            (
                "sip:carol@chicago.com;security=on",
                "sip:carol@chicago.com;security=off",
            ),
        ];
        for (a, b) in differ {
            assert!(!uri(a).equivalent(&uri(b)), "{a} != {b}");
        }
    }
}
