//! Participant addresses: `sip:`, `sips:`, `tel:` and `quic:` URIs.
//!
//! This is the neutral address form of the object model (`IUccUri`): enough structure
//! to pick a transport by scheme, to compare participants by user@host, and to keep
//! parameters and headers for the transport that needs them. The full RFC 3261
//! grammar (escaping rules, §19.1.4 comparison of every parameter) belongs to the SIP
//! transport's codec; this parser accepts the common forms and rejects the rest with
//! a typed error.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::error::UriError;

/// Longest URI accepted, in bytes.
pub const MAX_URI_LEN: usize = 2048;
/// Most `;name=value` parameters plus `?headers` accepted in one URI.
pub const MAX_URI_PARAMS: usize = 32;

/// The scheme of a [`Uri`] (`UCC_URI_SCHEME`, extended with `sips` and `quic`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `sip:` (RFC 3261).
    Sip,
    /// `sips:` — SIP over TLS end to end.
    Sips,
    /// `tel:` (RFC 3966) — a telephone number.
    Tel,
    /// `quic:` — the ucc-rs QUIC transport (`quic:user@host:port`).
    Quic,
}

impl Scheme {
    /// The scheme as written before the colon.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Sip => "sip",
            Scheme::Sips => "sips",
            Scheme::Tel => "tel",
            Scheme::Quic => "quic",
        }
    }

    fn parse(s: &str) -> Result<Self, UriError> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "sip" => Scheme::Sip,
            "sips" => Scheme::Sips,
            "tel" => Scheme::Tel,
            "quic" => Scheme::Quic,
            _ => return Err(UriError::UnknownScheme(s.to_owned())),
        })
    }
}

/// How two URIs are compared (`UCC_URI_COMPARISON_OPTION`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum UriComparison {
    /// Scheme, user, host and port equal; parameters ignored.
    #[default]
    Default,
    /// Every part equal, parameters and headers included (host case-insensitively).
    ExactMatch,
    /// Only user and host equal (`alice@example.com`), whatever the scheme or port.
    UserHost,
}

/// A parsed participant address. Cloning shares the parsed parts (a reference count):
/// sessions, participants and events hold copies of their addresses.
#[derive(Clone)]
pub struct Uri {
    parts: Arc<UriParts>,
}

/// The parts of a [`Uri`].
#[derive(Clone)]
struct UriParts {
    scheme: Scheme,
    user: Option<String>,
    host: String,
    port: Option<u16>,
    params: Vec<(String, Option<String>)>,
    headers: Vec<(String, String)>,
}

impl fmt::Debug for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.parts;
        f.debug_struct("Uri")
            .field("scheme", &p.scheme)
            .field("user", &p.user)
            .field("host", &p.host)
            .field("port", &p.port)
            .field("params", &p.params)
            .field("headers", &p.headers)
            .finish()
    }
}

impl Uri {
    /// Parses a URI.
    pub fn parse(input: &str) -> Result<Self, UriError> {
        if input.len() > MAX_URI_LEN {
            return Err(UriError::TooLong {
                len: input.len(),
                max: MAX_URI_LEN,
            });
        }
        let input = input.trim();
        if input.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return Err(UriError::InvalidCharacter);
        }
        let (scheme, rest) = input.split_once(':').ok_or(UriError::MissingScheme)?;
        let scheme = Scheme::parse(scheme)?;
        let (rest, headers) = match rest.split_once('?') {
            Some((r, h)) if scheme != Scheme::Tel => (r, parse_headers(h)?),
            Some(_) => return Err(UriError::InvalidCharacter),
            None => (rest, Vec::new()),
        };
        let mut parts = rest.split(';');
        let addr = parts.next().unwrap_or_default();
        let mut params = Vec::new();
        for p in parts {
            if params.len() + headers.len() >= MAX_URI_PARAMS {
                return Err(UriError::TooManyParameters {
                    max: MAX_URI_PARAMS,
                });
            }
            if p.is_empty() {
                return Err(UriError::EmptyParameter);
            }
            params.push(match p.split_once('=') {
                Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
                None => (p.to_owned(), None),
            });
        }
        if scheme == Scheme::Tel {
            let number = addr;
            let valid = !number.is_empty()
                && number
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b"+-.()*#".contains(&b));
            if !valid {
                return Err(UriError::InvalidTelNumber(number.to_owned()));
            }
            return Ok(Self::of(UriParts {
                scheme,
                user: Some(number.to_owned()),
                host: String::new(),
                port: None,
                params,
                headers,
            }));
        }
        let (user, hostport) = match addr.rsplit_once('@') {
            Some((u, h)) => {
                if u.is_empty() {
                    return Err(UriError::EmptyUser);
                }
                (Some(u.to_owned()), h)
            }
            None => (None, addr),
        };
        let (host, port) = split_host_port(hostport)?;
        Ok(Self::of(UriParts {
            scheme,
            user,
            host,
            port,
            params,
            headers,
        }))
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.parts.scheme
    }

    /// The user part (the number, for `tel:`), without any password.
    pub fn user(&self) -> Option<&str> {
        self.parts
            .user
            .as_deref()
            .map(|u| u.split_once(':').map_or(u, |(user, _)| user))
    }

    /// The host (empty for `tel:`); IPv6 references keep their brackets.
    pub fn host(&self) -> &str {
        &self.parts.host
    }

    /// The port, when written.
    pub fn port(&self) -> Option<u16> {
        self.parts.port
    }

    /// The `;name=value` parameters in order (a flag parameter has no value).
    pub fn params(&self) -> &[(String, Option<String>)] {
        &self.parts.params
    }

    /// The value of parameter `name` (case-insensitive name); `Some(None)` for a flag.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.parts
            .params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }

    /// The `?name=value` headers in order.
    pub fn headers(&self) -> &[(String, String)] {
        &self.parts.headers
    }

    /// `user@host` (or just the host, or just the number for `tel:`), host lower-cased.
    pub fn user_at_host(&self) -> String {
        match (self.user(), self.parts.scheme) {
            (Some(u), Scheme::Tel) => u.to_owned(),
            (Some(u), _) => format!("{u}@{}", self.parts.host.to_ascii_lowercase()),
            (None, _) => self.parts.host.to_ascii_lowercase(),
        }
    }

    /// The address of record: scheme, user and host, no port or parameters.
    pub fn address_of_record(&self) -> String {
        format!("{}:{}", self.parts.scheme.as_str(), self.user_at_host())
    }

    /// Compares two URIs under `option`.
    pub fn is_equal(&self, other: &Uri, option: UriComparison) -> bool {
        let user_host =
            self.user() == other.user() && self.parts.host.eq_ignore_ascii_case(&other.parts.host);
        match option {
            UriComparison::UserHost => user_host,
            UriComparison::Default => {
                user_host
                    && self.parts.scheme == other.parts.scheme
                    && self.parts.port == other.parts.port
            }
            UriComparison::ExactMatch => {
                user_host
                    && self.parts.scheme == other.parts.scheme
                    && self.parts.port == other.parts.port
                    && self.parts.user == other.parts.user
                    && same_params(&self.parts.params, &other.parts.params)
                    && self.parts.headers == other.parts.headers
            }
        }
    }

    /// This URI with the scheme replaced, e.g. to reach the same user over another transport.
    pub fn with_scheme(&self, scheme: Scheme) -> Self {
        Self::of(UriParts {
            scheme,
            ..(*self.parts).clone()
        })
    }

    fn of(parts: UriParts) -> Self {
        Self {
            parts: Arc::new(parts),
        }
    }
}

fn same_params(a: &[(String, Option<String>)], b: &[(String, Option<String>)]) -> bool {
    a.len() == b.len()
        && a.iter().all(|(n, v)| {
            b.iter()
                .any(|(n2, v2)| n.eq_ignore_ascii_case(n2) && v == v2)
        })
}

fn parse_headers(h: &str) -> Result<Vec<(String, String)>, UriError> {
    let mut out = Vec::new();
    for pair in h.split('&') {
        if out.len() >= MAX_URI_PARAMS {
            return Err(UriError::TooManyParameters {
                max: MAX_URI_PARAMS,
            });
        }
        let (n, v) = pair.split_once('=').ok_or(UriError::EmptyParameter)?;
        if n.is_empty() {
            return Err(UriError::EmptyParameter);
        }
        out.push((n.to_owned(), v.to_owned()));
    }
    Ok(out)
}

fn split_host_port(s: &str) -> Result<(String, Option<u16>), UriError> {
    if s.is_empty() {
        return Err(UriError::EmptyHost);
    }
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let end = rest.find(']').ok_or(UriError::InvalidHost(s.to_owned()))?;
        let v6 = &rest[..end];
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(UriError::InvalidHost(s.to_owned()));
        }
        let after = &rest[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(UriError::InvalidHost(s.to_owned())),
        };
        (format!("[{v6}]"), port)
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (s.to_owned(), None),
        }
    };
    let valid_host = !host.is_empty()
        && (host.starts_with('[')
            || host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'));
    if !valid_host {
        return Err(UriError::InvalidHost(host));
    }
    let port = match port {
        Some(p) => Some(
            p.parse::<u16>()
                .map_err(|_| UriError::InvalidPort(p.to_owned()))?,
        ),
        None => None,
    };
    Ok((host, port))
}

impl FromStr for Uri {
    type Err = UriError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uri::parse(s)
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.parts.scheme.as_str())?;
        match (&self.parts.user, self.parts.scheme) {
            (Some(u), Scheme::Tel) => f.write_str(u)?,
            (Some(u), _) => write!(f, "{u}@{}", self.parts.host)?,
            (None, _) => f.write_str(&self.parts.host)?,
        }
        if let Some(p) = self.parts.port {
            write!(f, ":{p}")?;
        }
        for (n, v) in &self.parts.params {
            match v {
                Some(v) => write!(f, ";{n}={v}")?,
                None => write!(f, ";{n}")?,
            }
        }
        for (i, (n, v)) in self.parts.headers.iter().enumerate() {
            write!(f, "{}{n}={v}", if i == 0 { '?' } else { '&' })?;
        }
        Ok(())
    }
}

impl PartialEq for Uri {
    /// Equality is [`UriComparison::Default`]: scheme, user, host and port.
    fn eq(&self, other: &Self) -> bool {
        self.is_equal(other, UriComparison::Default)
    }
}

impl Eq for Uri {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn uri(s: &str) -> Uri {
        Uri::parse(s).expect("valid test URI")
    }

    #[test]
    fn parses_the_common_forms() {
        let u = uri("sip:alice:secret@Example.COM:5061;transport=tls;lr?subject=hi");
        assert_eq!(u.scheme(), Scheme::Sip);
        assert_eq!(u.user(), Some("alice"));
        assert_eq!(u.host(), "Example.COM");
        assert_eq!(u.port(), Some(5061));
        assert_eq!(u.param("TRANSPORT"), Some(Some("tls")));
        assert_eq!(u.param("lr"), Some(None));
        assert_eq!(u.headers(), &[("subject".to_owned(), "hi".to_owned())]);
        assert_eq!(u.user_at_host(), "alice@example.com");

        let v6 = uri("sips:bob@[::1]:5061");
        assert_eq!(v6.host(), "[::1]");
        assert_eq!(v6.port(), Some(5061));

        let tel = uri("tel:+1-201-555-0123;phone-context=example.com");
        assert_eq!(tel.scheme(), Scheme::Tel);
        assert_eq!(tel.user(), Some("+1-201-555-0123"));

        let q = uri("quic:carol@127.0.0.1:4433");
        assert_eq!(q.scheme(), Scheme::Quic);
        assert_eq!(q.to_string(), "quic:carol@127.0.0.1:4433");
    }

    #[test]
    fn comparison_options() {
        let a = uri("sip:a@b;transport=tls");
        let b = uri("sip:a@B");
        assert!(a.is_equal(&b, UriComparison::UserHost));
        assert!(a.is_equal(&b, UriComparison::Default));
        assert!(!a.is_equal(&b, UriComparison::ExactMatch));
        assert!(uri("sips:a@b:5061").is_equal(&uri("quic:a@b"), UriComparison::UserHost));
        assert!(!uri("sip:a@b:5061").is_equal(&uri("sip:a@b"), UriComparison::Default));
        assert!(!uri("sip:A@b").is_equal(&uri("sip:a@b"), UriComparison::UserHost));
    }

    #[test]
    fn rejects_bad_input_with_typed_errors() {
        assert!(matches!(Uri::parse("alice"), Err(UriError::MissingScheme)));
        assert!(matches!(
            Uri::parse("http://x"),
            Err(UriError::UnknownScheme(_))
        ));
        assert!(matches!(Uri::parse("sip:"), Err(UriError::EmptyHost)));
        assert!(matches!(Uri::parse("sip:@host"), Err(UriError::EmptyUser)));
        assert!(matches!(
            Uri::parse("sip:a@host:99999"),
            Err(UriError::InvalidPort(_))
        ));
        assert!(matches!(
            Uri::parse("sip:a@[zz]"),
            Err(UriError::InvalidHost(_))
        ));
        assert!(matches!(
            Uri::parse("sip:a@h o"),
            Err(UriError::InvalidCharacter)
        ));
        assert!(matches!(
            Uri::parse("tel:abc-x"),
            Err(UriError::InvalidTelNumber(_))
        ));
        let long = format!("sip:{}@h", "a".repeat(MAX_URI_LEN));
        assert!(matches!(Uri::parse(&long), Err(UriError::TooLong { .. })));
        let many = format!("sip:a@h{}", ";p".repeat(MAX_URI_PARAMS + 1));
        assert!(matches!(
            Uri::parse(&many),
            Err(UriError::TooManyParameters { .. })
        ));
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(s in "\\PC{0,300}") {
            let _ = Uri::parse(&s);
        }

        #[test]
        fn display_round_trips(user in "[a-z0-9._-]{1,16}", host in "[a-z0-9-]{1,12}(\\.[a-z]{2,5})?",
                               port in proptest::option::of(1u16..), scheme in 0usize..3) {
            let scheme = ["sip", "sips", "quic"][scheme];
            let text = match port {
                Some(p) => format!("{scheme}:{user}@{host}:{p};transport=udp"),
                None => format!("{scheme}:{user}@{host}"),
            };
            let parsed = Uri::parse(&text).unwrap();
            prop_assert_eq!(parsed.to_string(), text.clone());
            prop_assert!(Uri::parse(&parsed.to_string()).unwrap().is_equal(&parsed, UriComparison::ExactMatch));
        }
    }
}
