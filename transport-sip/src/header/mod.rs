//! Typed header fields (RFC 3261 §7.3, §20) and the ordered [`Headers`] list.
//!
//! Known headers are parsed when the message is; a header the parser does not type is
//! kept as [`Header::Other`] with its raw value. Every header re-serializes in the order
//! received. Comma-separated Via, Contact, Route and Record-Route fields become one
//! [`Header`] per value (RFC 3261 §7.3.1 makes both forms equivalent).

mod auth;
mod core;
mod headers;
mod media;
mod name;
mod name_addr;
mod spare;
mod token_list;
mod via;

use bytes::{BufMut, Bytes, BytesMut};

pub use self::auth::Auth;
pub use self::core::{CSeq, CallId, ContentLength, Expires, MaxForwards, RetryAfter};
pub(crate) use self::headers::{HeaderSink, PARSE_CAPACITY};
pub use self::headers::{Headers, Iter};
pub use self::media::{ContentType, Date, Event, Product, SubscriptionState, TokenParams};
pub use self::name::HeaderName;
pub use self::name_addr::{Contact, NameAddr};
pub use self::token_list::TokenList;
pub use self::via::{Rport, Transport, Via};
pub use crate::parse::params::Params;

use crate::parse::chars::trim_lws;
use crate::text::Text;
use crate::{HeaderError, ParseLimits};

/// Removes the quotes and backslash escapes of a quoted string; other input is returned as is.
pub fn unquote(b: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    crate::parse::cursor::unquote(b)
}

/// One header field value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Header {
    /// Via.
    Via(Via),
    /// From.
    From(NameAddr),
    /// To.
    To(NameAddr),
    /// Call-ID.
    CallId(CallId),
    /// CSeq.
    CSeq(CSeq),
    /// Contact.
    Contact(Contact),
    /// Max-Forwards.
    MaxForwards(MaxForwards),
    /// Route.
    Route(NameAddr),
    /// Record-Route.
    RecordRoute(NameAddr),
    /// Content-Type.
    ContentType(ContentType),
    /// Content-Length.
    ContentLength(ContentLength),
    /// Expires.
    Expires(Expires),
    /// Allow.
    Allow(TokenList),
    /// Supported.
    Supported(TokenList),
    /// Require.
    Require(TokenList),
    /// Proxy-Require.
    ProxyRequire(TokenList),
    /// Unsupported.
    Unsupported(TokenList),
    /// WWW-Authenticate.
    WwwAuthenticate(Auth),
    /// Proxy-Authenticate.
    ProxyAuthenticate(Auth),
    /// Authorization.
    Authorization(Auth),
    /// Proxy-Authorization.
    ProxyAuthorization(Auth),
    /// Event.
    Event(Event),
    /// Subscription-State.
    SubscriptionState(SubscriptionState),
    /// Refer-To.
    ReferTo(NameAddr),
    /// Referred-By.
    ReferredBy(NameAddr),
    /// Retry-After.
    RetryAfter(RetryAfter),
    /// User-Agent.
    UserAgent(Product),
    /// Server.
    Server(Product),
    /// Date.
    Date(Date),
    /// A header kept as received: its name and raw value (folds included).
    Other(HeaderName, Text),
}

impl Header {
    /// The header name.
    pub fn name(&self) -> HeaderName {
        match self {
            Header::Via(_) => HeaderName::Via,
            Header::From(_) => HeaderName::From,
            Header::To(_) => HeaderName::To,
            Header::CallId(_) => HeaderName::CallId,
            Header::CSeq(_) => HeaderName::CSeq,
            Header::Contact(_) => HeaderName::Contact,
            Header::MaxForwards(_) => HeaderName::MaxForwards,
            Header::Route(_) => HeaderName::Route,
            Header::RecordRoute(_) => HeaderName::RecordRoute,
            Header::ContentType(_) => HeaderName::ContentType,
            Header::ContentLength(_) => HeaderName::ContentLength,
            Header::Expires(_) => HeaderName::Expires,
            Header::Allow(_) => HeaderName::Allow,
            Header::Supported(_) => HeaderName::Supported,
            Header::Require(_) => HeaderName::Require,
            Header::ProxyRequire(_) => HeaderName::ProxyRequire,
            Header::Unsupported(_) => HeaderName::Unsupported,
            Header::WwwAuthenticate(_) => HeaderName::WwwAuthenticate,
            Header::ProxyAuthenticate(_) => HeaderName::ProxyAuthenticate,
            Header::Authorization(_) => HeaderName::Authorization,
            Header::ProxyAuthorization(_) => HeaderName::ProxyAuthorization,
            Header::Event(_) => HeaderName::Event,
            Header::SubscriptionState(_) => HeaderName::SubscriptionState,
            Header::ReferTo(_) => HeaderName::ReferTo,
            Header::ReferredBy(_) => HeaderName::ReferredBy,
            Header::RetryAfter(_) => HeaderName::RetryAfter,
            Header::UserAgent(_) => HeaderName::UserAgent,
            Header::Server(_) => HeaderName::Server,
            Header::Date(_) => HeaderName::Date,
            Header::Other(n, _) => n.clone(),
        }
    }

    /// Parses `value` as a header named `name`, appending one [`Header`] per value.
    pub fn parse_into(
        name: &HeaderName,
        value: &[u8],
        out: &mut Vec<Header>,
    ) -> Result<(), HeaderError> {
        let src = Bytes::copy_from_slice(value);
        let (s, e) = trim_lws(&src);
        parse_value(name, &src, s, e, &ParseLimits::default(), out)
    }

    /// Appends the value's wire form.
    pub fn write_value(&self, out: &mut BytesMut) {
        match self {
            Header::Via(v) => out.put_slice(v.as_bytes()),
            Header::From(a)
            | Header::To(a)
            | Header::Route(a)
            | Header::RecordRoute(a)
            | Header::ReferTo(a)
            | Header::ReferredBy(a) => out.put_slice(a.as_bytes()),
            Header::Contact(Contact::Wildcard) => out.put_u8(b'*'),
            Header::Contact(Contact::Address(a)) => out.put_slice(a.as_bytes()),
            Header::CallId(c) => out.put_slice(c.as_bytes()),
            Header::CSeq(c) => {
                write_u64(out, u64::from(c.seq));
                out.put_u8(b' ');
                out.put_slice(c.method.as_bytes());
            }
            Header::MaxForwards(m) => write_u64(out, u64::from(m.0)),
            Header::ContentLength(l) => write_u64(out, u64::from(l.0)),
            Header::Expires(e) => write_u64(out, u64::from(e.0)),
            Header::ContentType(c) => out.put_slice(c.as_bytes()),
            Header::Allow(l)
            | Header::Supported(l)
            | Header::Require(l)
            | Header::ProxyRequire(l)
            | Header::Unsupported(l) => out.put_slice(l.as_bytes()),
            Header::WwwAuthenticate(a)
            | Header::ProxyAuthenticate(a)
            | Header::Authorization(a)
            | Header::ProxyAuthorization(a) => out.put_slice(a.as_bytes()),
            Header::Event(e) | Header::SubscriptionState(e) => out.put_slice(e.as_bytes()),
            Header::RetryAfter(r) => out.put_slice(r.as_bytes()),
            Header::UserAgent(p) | Header::Server(p) => out.put_slice(p.as_bytes()),
            Header::Date(d) => out.put_slice(d.as_bytes()),
            Header::Other(_, v) => out.put_slice(v),
        }
    }

    /// Appends `Name: value CRLF`.
    pub fn write_to(&self, out: &mut BytesMut) {
        match self {
            Header::Other(n, _) => out.put_slice(n.as_str().as_bytes()),
            h => out.put_slice(h.name().as_str().as_bytes()),
        }
        out.put_slice(b": ");
        self.write_value(out);
        out.put_slice(b"\r\n");
    }
}

pub(crate) fn write_u64(out: &mut BytesMut, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put_slice(&buf[i..]);
}

/// Splits a header value at top-level commas (not inside quotes or `<>`), yielding
/// trimmed element ranges relative to `b`.
fn split_list(
    b: &[u8],
    max_values: usize,
    mut each: impl FnMut(usize, usize) -> Result<(), HeaderError>,
) -> Result<(), HeaderError> {
    let mut start = 0;
    let mut i = 0;
    let mut count = 0;
    let mut emit = |s: usize, e: usize, count: &mut usize| {
        let (ts, te) = trim_lws(&b[s..e]);
        if ts == te {
            return Err(HeaderError::EmptyElement);
        }
        *count += 1;
        if *count > max_values {
            return Err(HeaderError::TooManyValues);
        }
        each(s + ts, s + te)
    };
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if i >= b.len() {
                    return Err(HeaderError::UnterminatedQuote);
                }
            }
            b'<' => {
                i += crate::parse::scan::find(b'>', &b[i..])
                    .ok_or(HeaderError::UnterminatedAngle)?;
            }
            b',' => {
                emit(start, i, &mut count)?;
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    emit(start, b.len(), &mut count)
}

/// Parses the value `src[start..end]` (already trimmed) of header `name` into `out`.
pub(crate) fn parse_value(
    name: &HeaderName,
    src: &Bytes,
    start: usize,
    end: usize,
    limits: &ParseLimits,
    out: &mut impl HeaderSink,
) -> Result<(), HeaderError> {
    let p = limits.max_params;
    let num = |max: u64| core::parse_decimal(&src[start..end], max);
    let header = match name {
        HeaderName::Via => {
            return split_list(&src[start..end], limits.max_values_per_header, |s, e| {
                out.push_header(Header::Via(via::parse(src, start + s, start + e, p)?));
                Ok(())
            });
        }
        HeaderName::Contact if &src[start..end] == b"*" => Header::Contact(Contact::Wildcard),
        HeaderName::Contact | HeaderName::Route | HeaderName::RecordRoute => {
            return split_list(&src[start..end], limits.max_values_per_header, |s, e| {
                let a = name_addr::parse(src, start + s, start + e, p)?;
                out.push_header(match name {
                    HeaderName::Contact => Header::Contact(Contact::Address(a)),
                    HeaderName::Route => Header::Route(a),
                    _ => Header::RecordRoute(a),
                });
                Ok(())
            });
        }
        HeaderName::From => Header::From(name_addr::parse(src, start, end, p)?),
        HeaderName::To => Header::To(name_addr::parse(src, start, end, p)?),
        HeaderName::ReferTo => Header::ReferTo(name_addr::parse(src, start, end, p)?),
        HeaderName::ReferredBy => Header::ReferredBy(name_addr::parse(src, start, end, p)?),
        HeaderName::CallId => Header::CallId(core::parse_call_id(src, start, end)?),
        HeaderName::CSeq => Header::CSeq(CSeq::parse(&src[start..end])?),
        HeaderName::MaxForwards => Header::MaxForwards(MaxForwards(num(255)? as u8)),
        HeaderName::ContentLength => {
            Header::ContentLength(ContentLength(num(u64::from(u32::MAX))? as u32))
        }
        HeaderName::Expires => Header::Expires(Expires(num(u64::from(u32::MAX))? as u32)),
        HeaderName::ContentType => {
            Header::ContentType(media::parse_content_type(src, start, end, p)?)
        }
        HeaderName::Allow
        | HeaderName::Supported
        | HeaderName::Require
        | HeaderName::ProxyRequire
        | HeaderName::Unsupported => {
            let l = token_list::parse(src, start, end, limits.max_values_per_header)?;
            match name {
                HeaderName::Allow => Header::Allow(l),
                HeaderName::Supported => Header::Supported(l),
                HeaderName::Require => Header::Require(l),
                HeaderName::ProxyRequire => Header::ProxyRequire(l),
                _ => Header::Unsupported(l),
            }
        }
        HeaderName::WwwAuthenticate
        | HeaderName::ProxyAuthenticate
        | HeaderName::Authorization
        | HeaderName::ProxyAuthorization => {
            let a = auth::parse(src, start, end, p)?;
            match name {
                HeaderName::WwwAuthenticate => Header::WwwAuthenticate(a),
                HeaderName::ProxyAuthenticate => Header::ProxyAuthenticate(a),
                HeaderName::Authorization => Header::Authorization(a),
                _ => Header::ProxyAuthorization(a),
            }
        }
        HeaderName::Event => Header::Event(media::parse_token_params(src, start, end, p)?),
        HeaderName::SubscriptionState => {
            Header::SubscriptionState(media::parse_token_params(src, start, end, p)?)
        }
        HeaderName::RetryAfter => Header::RetryAfter(core::parse_retry_after(src, start, end, p)?),
        HeaderName::UserAgent => Header::UserAgent(Product(Text::slice_of(src, start, end))),
        HeaderName::Server => Header::Server(Product(Text::slice_of(src, start, end))),
        HeaderName::Date => Header::Date(media::parse_date(src, start, end)?),
        other => Header::Other(other.clone(), Text::slice_of(src, start, end)),
    };
    out.push_header(header);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_split_outside_quotes_and_angles() {
        let mut out = Vec::new();
        Header::parse_into(
            &HeaderName::Contact,
            br#""a, b" <sip:x@y;p=1,2>, <sip:z@w>;q=0.1"#,
            &mut out,
        )
        .expect_err("comma inside <> params is not a URI char");
        out.clear();
        Header::parse_into(
            &HeaderName::Contact,
            br#""a, b" <sip:x@y>, <sip:z@w>;q=0.1"#,
            &mut out,
        )
        .expect("valid");
        assert_eq!(out.len(), 2);
        out.clear();
        Header::parse_into(&HeaderName::Contact, b"*", &mut out).expect("valid");
        assert_eq!(out, [Header::Contact(Contact::Wildcard)]);
    }
}
