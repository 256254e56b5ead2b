//! [`ContentType`] (RFC 3261 §20.15), [`Event`] and [`SubscriptionState`] (RFC 6665 §8.2),
//! [`Product`] for User-Agent and Server (§20.41, §20.35), and [`Date`] (§20.17).

use bytes::Bytes;

use crate::HeaderError;
use crate::parse::Span;
use crate::parse::cursor::Cursor;
use crate::parse::params::{Params, scan_params};
use crate::text::{Text, ascii};

macro_rules! raw_eq {
    ($t:ty) => {
        impl PartialEq for $t {
            fn eq(&self, other: &$t) -> bool {
                self.raw == other.raw
            }
        }
        impl Eq for $t {}
    };
}

/// Content-Type: `m-type SLASH m-subtype *(SEMI m-parameter)`.
#[derive(Debug, Clone)]
pub struct ContentType {
    raw: Text,
    mtype: Span,
    subtype: Span,
    params: Span,
}
raw_eq!(ContentType);

impl ContentType {
    /// Parses a media type.
    pub fn parse(b: &[u8]) -> Result<ContentType, HeaderError> {
        let src = Bytes::copy_from_slice(b);
        parse_content_type(&src, 0, src.len(), crate::ParseLimits::default().max_params)
    }

    /// The value as received.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// The type (`application`).
    pub fn media_type(&self) -> &str {
        ascii(self.mtype.get(&self.raw))
    }

    /// The subtype (`sdp`).
    pub fn subtype(&self) -> &str {
        ascii(self.subtype.get(&self.raw))
    }

    /// Whether this is `type/subtype`, case-insensitively.
    pub fn is(&self, mtype: &str, subtype: &str) -> bool {
        self.media_type().eq_ignore_ascii_case(mtype)
            && self.subtype().eq_ignore_ascii_case(subtype)
    }

    /// Parameters (`boundary`, `charset`, ...).
    pub fn params(&self) -> Params<'_> {
        Params::header(self.params.get(&self.raw))
    }
}

pub(crate) fn parse_content_type(
    src: &Bytes,
    start: usize,
    end: usize,
    max_params: usize,
) -> Result<ContentType, HeaderError> {
    let b = &src[start..end];
    let mut c = Cursor::new(b);
    let mtype = c.token()?;
    c.expect_sep(b'/')?;
    let subtype = c.token()?;
    let params = scan_params(&mut c, max_params, |_, _, _| Ok(()))?;
    c.finish()?;
    Ok(ContentType {
        raw: Text::slice_of(src, start, end),
        mtype,
        subtype,
        params,
    })
}

/// A token with parameters: the shape of [`Event`] and [`SubscriptionState`].
#[derive(Debug, Clone)]
pub struct TokenParams {
    raw: Text,
    token: Span,
    params: Span,
}
raw_eq!(TokenParams);

/// Event: `event-type *( SEMI event-param )` (RFC 6665 §8.2.1).
pub type Event = TokenParams;
/// Subscription-State: `substate-value *( SEMI subexp-params )` (RFC 6665 §8.2.3).
pub type SubscriptionState = TokenParams;

impl TokenParams {
    /// Parses a `token *(SEMI generic-param)` value.
    pub fn parse(b: &[u8]) -> Result<TokenParams, HeaderError> {
        let src = Bytes::copy_from_slice(b);
        parse_token_params(&src, 0, src.len(), crate::ParseLimits::default().max_params)
    }

    /// The value as received.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// The event package or subscription state (`presence`, `active`, ...).
    pub fn value(&self) -> &str {
        ascii(self.token.get(&self.raw))
    }

    /// Parameters (`id`, `expires`, `reason`, `retry-after`, ...).
    pub fn params(&self) -> Params<'_> {
        Params::header(self.params.get(&self.raw))
    }
}

pub(crate) fn parse_token_params(
    src: &Bytes,
    start: usize,
    end: usize,
    max_params: usize,
) -> Result<TokenParams, HeaderError> {
    let b = &src[start..end];
    let mut c = Cursor::new(b);
    let token = c.token()?;
    let params = scan_params(&mut c, max_params, |_, _, _| Ok(()))?;
    c.finish()?;
    Ok(TokenParams {
        raw: Text::slice_of(src, start, end),
        token,
        params,
    })
}

/// User-Agent or Server: product tokens and comments, kept as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product(pub(crate) Text);

impl Product {
    /// The value as received.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The value, with invalid UTF-8 replaced.
    pub fn to_string_lossy(&self) -> String {
        self.0.to_string_lossy()
    }
}

/// Date: an RFC 1123 date, which SIP restricts to GMT (§20.17).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Date(Text);

impl Date {
    /// The value as received.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Checks `wkday "," SP 2DIGIT SP month SP 4DIGIT SP 2DIGIT ":" 2DIGIT ":" 2DIGIT SP "GMT"`.
pub(crate) fn parse_date(src: &Bytes, start: usize, end: usize) -> Result<Date, HeaderError> {
    const DAYS: [&[u8]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];
    const MONTHS: [&[u8]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let b = &src[start..end];
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let ok = b.len() == 29
        && DAYS.contains(&&b[0..3])
        && &b[3..5] == b", "
        && digits(5..7)
        && b[7] == b' '
        && MONTHS.contains(&&b[8..11])
        && b[11] == b' '
        && digits(12..16)
        && b[16] == b' '
        && digits(17..19)
        && b[19] == b':'
        && digits(20..22)
        && b[22] == b':'
        && digits(23..25)
        && &b[25..29] == b" GMT";
    if ok {
        Ok(Date(Text::slice_of(src, start, end)))
    } else {
        Err(HeaderError::Date)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_event_date() {
        let ct = ContentType::parse(b"multipart/mixed;boundary=7a9cbec02ceef655").expect("valid");
        assert!(ct.is("Multipart", "MIXED"));
        assert_eq!(
            ct.params().get("boundary"),
            Some(Some(&b"7a9cbec02ceef655"[..]))
        );
        let e = Event::parse(b"presence;id=1").expect("valid");
        assert_eq!(e.value(), "presence");
        assert_eq!(e.params().get("id"), Some(Some(&b"1"[..])));
        let ss = SubscriptionState::parse(b"terminated;reason=timeout").expect("valid");
        assert_eq!(ss.value(), "terminated");
        let src = Bytes::from_static(b"Sat, 13 Nov 2010 23:29:00 GMT");
        assert!(parse_date(&src, 0, src.len()).is_ok());
        let src = Bytes::from_static(b"Fri, 01 Jan 2010 16:00:00 EST");
        assert_eq!(parse_date(&src, 0, src.len()), Err(HeaderError::Date));
    }
}
