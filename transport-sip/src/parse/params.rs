//! `*( SEMI generic-param )` (RFC 3261 §25.1), scanned once for validation and known
//! values, then kept as one span and iterated on demand by [`Params`].

use super::Span;
use super::chars::is_lws;
use super::cursor::Cursor;
use crate::HeaderError;

/// Scans parameters at the cursor (which sits before an optional `;`). Calls `visit` with
/// each name and value span and returns the span of the whole parameter section.
pub(crate) fn scan_params(
    c: &mut Cursor<'_>,
    limit: usize,
    mut visit: impl FnMut(&[u8], Span, Option<Span>) -> Result<(), HeaderError>,
) -> Result<Span, HeaderError> {
    let save = c.pos;
    c.skip_lws();
    let start = c.pos;
    let mut end = save;
    let mut count = 0;
    while c.peek() == Some(b';') {
        c.pos += 1;
        c.skip_lws();
        if matches!(c.peek(), Some(b';' | b',') | None) {
            return Err(HeaderError::EmptyElement);
        }
        let name = c.token()?;
        let value = if c.eat_sep(b'=') {
            Some(gen_value(c)?)
        } else {
            None
        };
        count += 1;
        if count > limit {
            return Err(HeaderError::TooManyParams);
        }
        visit(c.b, name, value)?;
        end = c.pos;
        let before = c.pos;
        c.skip_lws();
        if c.peek() != Some(b';') {
            c.pos = before;
        }
    }
    if count == 0 {
        c.pos = save;
        return Ok(Span::new(save, save));
    }
    Ok(Span::new(start, end))
}

/// `gen-value = token / host / quoted-string`.
fn gen_value(c: &mut Cursor<'_>) -> Result<Span, HeaderError> {
    match c.peek() {
        Some(b'"') => c.quoted_string(),
        Some(b'[') => {
            let start = c.pos;
            let s = c.take_while(|b| b != b']' && !is_lws(b) && b != b';' && b != b',');
            if c.peek() != Some(b']') || s.end - s.start < 2 {
                return Err(HeaderError::Host);
            }
            c.pos += 1;
            Ok(Span::new(start, c.pos))
        }
        Some(b) if b == b':' || b.is_ascii_hexdigit() => {
            // A bare IPv6 address: RFC 3261's `via-received` is `IPv6address` without
            // brackets (RFC 5118 §4.5 asks receivers to take both forms).
            let start = c.pos;
            let s = c.take_while(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
            let text = s.get(c.b);
            let is_ipv6 = text.contains(&b':')
                && std::str::from_utf8(text).is_ok_and(|t| t.parse::<std::net::Ipv6Addr>().is_ok());
            if is_ipv6 {
                return Ok(s);
            }
            c.pos = start;
            c.token()
        }
        _ => c.token(),
    }
}

/// Parameters of a header value or URI: `(name, value)` pairs, in order.
///
/// Values are as received (quoted strings keep their quotes; see
/// [`unquote`](crate::header::unquote)). Names compare case-insensitively (RFC 3261 §7.3.1).
#[derive(Clone, Copy)]
pub struct Params<'a> {
    c: &'a [u8],
    pos: usize,
    uri: bool,
}

impl<'a> Params<'a> {
    pub(crate) fn header(section: &'a [u8]) -> Self {
        Params {
            c: section,
            pos: 0,
            uri: false,
        }
    }

    pub(crate) fn uri(section: &'a [u8]) -> Self {
        Params {
            c: section,
            pos: 0,
            uri: true,
        }
    }

    /// The value of parameter `name`: `None` if absent, `Some(None)` if it has no value.
    pub fn get(&self, name: &str) -> Option<Option<&'a [u8]>> {
        self.into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }
}

impl<'a> Iterator for Params<'a> {
    type Item = (&'a [u8], Option<&'a [u8]>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.uri {
            // URI params hold no LWS or quotes: split on ';' and '='.
            while self.pos < self.c.len() && self.c[self.pos] == b';' {
                self.pos += 1;
            }
            if self.pos >= self.c.len() {
                return None;
            }
            let rest = &self.c[self.pos..];
            let len = crate::parse::scan::find(b';', rest).unwrap_or(rest.len());
            let item = &rest[..len];
            self.pos += len;
            return Some(match crate::parse::scan::find(b'=', item) {
                Some(eq) => (&item[..eq], Some(&item[eq + 1..])),
                None => (item, None),
            });
        }
        let mut c = Cursor {
            b: self.c,
            pos: self.pos,
        };
        c.skip_lws();
        if c.peek() != Some(b';') {
            return None;
        }
        c.pos += 1;
        c.skip_lws();
        let name = c.token().ok()?;
        let value = if c.eat_sep(b'=') {
            Some(gen_value(&mut c).ok()?)
        } else {
            None
        };
        self.pos = c.pos;
        Some((name.get(self.c), value.map(|v| v.get(self.c))))
    }
}

impl std::fmt::Debug for Params<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.into_iter().map(|(n, v)| {
                (
                    String::from_utf8_lossy(n),
                    v.map(|v| String::from_utf8_lossy(v)),
                )
            }))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_with_lws_and_quotes() {
        let v = b" ; newparam =\r\n      newvalue ;\r\n  secondparam ; q = 0.33";
        let mut c = Cursor::new(v);
        let mut names = Vec::new();
        let span = scan_params(&mut c, 8, |b, n, _| {
            names.push(n.get(b).to_vec());
            Ok(())
        })
        .expect("valid");
        assert_eq!(names.len(), 3);
        let p = Params::header(span.get(v));
        assert_eq!(p.get("Q"), Some(Some(&b"0.33"[..])));
        assert_eq!(p.get("secondparam"), Some(None));
        assert_eq!(p.get("newparam"), Some(Some(&b"newvalue"[..])));
    }

    #[test]
    fn empty_params_are_rejected() {
        let mut c = Cursor::new(b";;,");
        assert_eq!(
            scan_params(&mut c, 8, |_, _, _| Ok(())),
            Err(HeaderError::EmptyElement)
        );
    }
}
