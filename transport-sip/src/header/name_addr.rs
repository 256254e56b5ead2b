//! [`NameAddr`]: `( name-addr / addr-spec ) *( SEMI param )`, the shape of From, To,
//! Contact, Route, Record-Route, Refer-To and Referred-By (RFC 3261 §20.10, §25.1).

use std::borrow::Cow;

use bytes::Bytes;

use crate::parse::Span;
use crate::parse::chars::{is_lws, is_token};
use crate::parse::cursor::{Cursor, unquote};
use crate::parse::params::{Params, scan_params};
use crate::text::{Text, ascii};
use crate::uri::{Uri, parse_uri};
use crate::{HeaderError, ParseLimits};

/// An address with optional display name and header parameters.
#[derive(Debug, Clone)]
pub struct NameAddr {
    raw: Text,
    display: Option<Span>,
    uri: Uri,
    params: Span,
    tag: Option<Span>,
}

impl PartialEq for NameAddr {
    fn eq(&self, other: &NameAddr) -> bool {
        self.raw == other.raw
    }
}
impl Eq for NameAddr {}

impl NameAddr {
    /// Parses one value (no top-level commas).
    pub fn parse(b: &[u8]) -> Result<NameAddr, HeaderError> {
        let src = Bytes::copy_from_slice(b);
        parse(&src, 0, src.len(), ParseLimits::default().max_params)
    }

    /// The value as received.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// The display name as received: a quoted string with its quotes, or tokens.
    pub fn display_name_raw(&self) -> Option<&[u8]> {
        self.display.map(|s| s.get(&self.raw))
    }

    /// The display name with quotes and escapes removed.
    pub fn display_name(&self) -> Option<Cow<'_, [u8]>> {
        self.display_name_raw().map(unquote)
    }

    /// The URI.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The `tag` parameter (RFC 3261 §19.3).
    pub fn tag(&self) -> Option<&str> {
        self.tag.map(|s| ascii(s.get(&self.raw)))
    }

    /// The header parameters (after the URI), in order.
    pub fn params(&self) -> Params<'_> {
        Params::header(self.params.get(&self.raw))
    }

    /// The `expires` parameter of a Contact (RFC 3261 §20.10), if it is a number.
    pub fn expires(&self) -> Option<u32> {
        let v = self.params().get("expires")??;
        crate::parse::chars::parse_number(v, u64::from(u32::MAX))
            .ok()
            .map(|n| n as u32)
    }

    /// The `q` parameter of a Contact, as received (`qvalue`, 0 to 1).
    pub fn q(&self) -> Option<&str> {
        self.params().get("q").flatten().map(ascii)
    }
}

/// Where a URI in a header may stop: addr-spec forbids `;`, `,` and `?` in it (§20.10).
pub(crate) fn parse(
    src: &Bytes,
    start: usize,
    end: usize,
    max_params: usize,
) -> Result<NameAddr, HeaderError> {
    let b = &src[start..end];
    let mut c = Cursor::new(b);
    let mut display = None;
    let uri;
    // Decide between name-addr and addr-spec.
    let angle = match c.peek() {
        Some(b'"') => {
            display = Some(c.quoted_string()?);
            c.skip_lws();
            if c.peek() != Some(b'<') {
                return Err(HeaderError::Expected('<'));
            }
            true
        }
        Some(b'<') => true,
        Some(_) => {
            // Tokens then '<' is a display name; a token then ':' is a URI scheme.
            let first = c.take_while(is_token);
            if c.peek() == Some(b':') && !first.is_empty() {
                c.pos = first.start as usize;
                false
            } else {
                let mut last = first;
                loop {
                    c.skip_lws();
                    match c.peek() {
                        Some(b'<') => break,
                        Some(ch) if is_token(ch) => last = c.take_while(is_token),
                        _ => return Err(HeaderError::DisplayName),
                    }
                }
                if first.is_empty() {
                    return Err(HeaderError::DisplayName);
                }
                display = Some(Span::new(first.start as usize, last.end as usize));
                true
            }
        }
        None => return Err(HeaderError::Empty),
    };
    if angle {
        c.pos += 1; // '<'
        let close =
            crate::parse::scan::find(b'>', &b[c.pos..]).ok_or(HeaderError::UnterminatedAngle)?;
        let inner = &b[c.pos..c.pos + close];
        if inner.first().is_some_and(|&ch| is_lws(ch)) || inner.last().is_some_and(|&ch| is_lws(ch))
        {
            return Err(HeaderError::WhitespaceInAngle);
        }
        uri = parse_uri(src, start + c.pos, start + c.pos + close, max_params)
            .map_err(HeaderError::Uri)?;
        c.pos += close + 1;
    } else {
        let s = c.take_while(|ch| !is_lws(ch) && ch != b';' && ch != b',');
        let text = s.get(b);
        if crate::parse::scan::find(b'?', text).is_some() {
            return Err(HeaderError::AddrSpecNeedsAngle);
        }
        uri = parse_uri(
            src,
            start + s.start as usize,
            start + s.end as usize,
            max_params,
        )
        .map_err(HeaderError::Uri)?;
    }
    let mut tag = None;
    let params = scan_params(&mut c, max_params, |b, name, value| {
        if name.get(b).eq_ignore_ascii_case(b"tag") {
            tag = Some(value.ok_or(HeaderError::Expected('='))?);
        }
        Ok(())
    })?;
    c.finish()?;
    Ok(NameAddr {
        raw: Text::slice_of(src, start, end),
        display,
        uri,
        params,
        tag,
    })
}

/// One Contact value (RFC 3261 §20.10).
#[derive(Debug, Clone, PartialEq, Eq)]
// Boxing would cost an allocation per parsed message/value on the hot path.
#[allow(clippy::large_enum_variant)]
pub enum Contact {
    /// `*`, used only in REGISTER to remove all bindings (§10.2.2).
    Wildcard,
    /// An address.
    Address(NameAddr),
}

impl Contact {
    /// The address, unless this is `*`.
    pub fn address(&self) -> Option<&NameAddr> {
        match self {
            Contact::Wildcard => None,
            Contact::Address(a) => Some(a),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let a = NameAddr::parse(
            br#""J Rosenberg \\\""       <sip:jdrosen@example.com>
  ;
  tag = 98asjd8"#,
        )
        .expect("valid");
        assert_eq!(a.display_name().as_deref(), Some(&br#"J Rosenberg \""#[..]));
        assert_eq!(a.tag(), Some("98asjd8"));
        let a = NameAddr::parse(b"caller<sip:caller@example.com>;tag=323").expect("valid");
        assert_eq!(a.display_name_raw(), Some(&b"caller"[..]));
        let a = NameAddr::parse(b"sip:+19725552222@gw1.example.net;unknownparam").expect("valid");
        assert_eq!(a.uri().as_bytes(), b"sip:+19725552222@gw1.example.net");
        assert_eq!(a.params().get("unknownparam"), Some(None));
        let a = NameAddr::parse(b"<sip:u@h>;expires=60;q=0.5").expect("valid");
        assert_eq!(a.expires(), Some(60));
        assert_eq!(a.q(), Some("0.5"));
    }

    #[test]
    fn rejects() {
        assert_eq!(
            NameAddr::parse(b"\"Mr. J. User <sip:j.user@example.com>").err(),
            Some(HeaderError::UnterminatedQuote)
        );
        assert_eq!(
            NameAddr::parse(b"\"Watson, Thomas\" < sip:t.watson@example.org >").err(),
            Some(HeaderError::WhitespaceInAngle)
        );
        assert_eq!(
            NameAddr::parse(b"Bell, Alexander <sip:a.g.bell@example.com>;tag=43").err(),
            Some(HeaderError::DisplayName)
        );
        assert_eq!(
            NameAddr::parse(b"sip:user@example.com?Route=%3Csip:sip.example.com%3E").err(),
            Some(HeaderError::AddrSpecNeedsAngle)
        );
    }
}
