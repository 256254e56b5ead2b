//! [`Auth`]: WWW-Authenticate, Proxy-Authenticate, Authorization and Proxy-Authorization
//! (RFC 3261 §20.7, §20.27, §20.28, §20.44, §25.1; RFC 7616 digest parameters).

use std::borrow::Cow;

use bytes::Bytes;

use crate::HeaderError;
use crate::parse::Span;
use crate::parse::cursor::{Cursor, unquote};
use crate::text::{Text, ascii};

/// A challenge or credentials: `auth-scheme LWS auth-param *(COMMA auth-param)`.
/// The commas separate parameters, not header values.
#[derive(Debug, Clone)]
pub struct Auth {
    raw: Text,
    scheme: Span,
    params: Span,
}

impl PartialEq for Auth {
    fn eq(&self, other: &Auth) -> bool {
        self.raw == other.raw
    }
}
impl Eq for Auth {}

impl Auth {
    /// Parses a challenge or credentials value.
    pub fn parse(b: &[u8]) -> Result<Auth, HeaderError> {
        let src = Bytes::copy_from_slice(b);
        parse(&src, 0, src.len(), crate::ParseLimits::default().max_params)
    }

    /// The value as received.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// The scheme (`Digest`, or any extension scheme, RFC 4475 §3.3.7).
    pub fn scheme(&self) -> &str {
        ascii(self.scheme.get(&self.raw))
    }

    /// The parameters as `(name, value)`, values as received (quoted strings keep quotes).
    pub fn params(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let b = self.params.get(&self.raw);
        let mut c = Cursor::new(b);
        std::iter::from_fn(move || {
            c.skip_lws();
            if c.at_end() {
                return None;
            }
            let (n, v) = auth_param(&mut c).ok()?;
            let _ = c.eat_sep(b',');
            Some((n.get(c.b), v.get(c.b)))
        })
    }

    /// The value of parameter `name` (case-insensitive) with quotes and escapes removed.
    pub fn param(&self, name: &str) -> Option<Cow<'_, [u8]>> {
        self.params()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| unquote(v))
    }
}

/// `auth-param = token EQUAL ( token / quoted-string )`.
fn auth_param(c: &mut Cursor<'_>) -> Result<(Span, Span), HeaderError> {
    let n = c.token()?;
    c.expect_sep(b'=')?;
    let v = if c.peek() == Some(b'"') {
        c.quoted_string()?
    } else {
        // token68 (RFC 7235) values may end in '=' padding.
        let t = c.token()?;
        let extra = c.take_while(|b| b == b'=' || b == b'/');
        Span::new(t.start as usize, extra.end as usize)
    };
    Ok((n, v))
}

pub(crate) fn parse(
    src: &Bytes,
    start: usize,
    end: usize,
    max_params: usize,
) -> Result<Auth, HeaderError> {
    let b = &src[start..end];
    let mut c = Cursor::new(b);
    let scheme = c.token()?;
    c.skip_lws();
    let ps = c.pos;
    let mut count = 0;
    while !c.at_end() {
        auth_param(&mut c)?;
        count += 1;
        if count > max_params {
            return Err(HeaderError::TooManyParams);
        }
        c.skip_lws();
        if c.at_end() {
            break;
        }
        c.expect_sep(b',')?;
        if c.at_end() {
            return Err(HeaderError::EmptyElement);
        }
    }
    Ok(Auth {
        raw: Text::slice_of(src, start, end),
        scheme,
        params: Span::new(ps, b.len()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_and_unknown() {
        let a = Auth::parse(
            br#"Digest username="bob", realm="biloxi.com",
 nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="sip:bob@biloxi.com", qop=auth,
 nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc\"x""#,
        )
        .expect("valid");
        assert_eq!(a.scheme(), "Digest");
        assert_eq!(a.param("REALM").as_deref(), Some(&b"biloxi.com"[..]));
        assert_eq!(a.param("qop").as_deref(), Some(&b"auth"[..]));
        assert_eq!(a.param("opaque").as_deref(), Some(&b"5ccc\"x"[..]));
        assert_eq!(a.params().count(), 9);
        let a = Auth::parse(b"NoOneKnowsThisScheme opaque-data=here").expect("valid");
        assert_eq!(a.scheme(), "NoOneKnowsThisScheme");
        assert_eq!(
            Auth::parse(b"Digest realm=\"x").err(),
            Some(HeaderError::UnterminatedQuote)
        );
    }
}
