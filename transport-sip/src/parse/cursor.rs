//! [`Cursor`]: a position in a header value with the LWS-aware steps the grammar needs.

use super::Span;
use super::chars::{is_lws, is_token};
use crate::HeaderError;

/// A read position in one header value. Folds are already inside the value, so CR and
/// LF count as whitespace (RFC 3261 §7.3.1).
pub(crate) struct Cursor<'a> {
    pub(crate) b: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Self {
        Cursor { b, pos: 0 }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.b.len()
    }

    pub(crate) fn skip_lws(&mut self) {
        while self.pos < self.b.len() && is_lws(self.b[self.pos]) {
            self.pos += 1;
        }
    }

    /// Skips LWS, then consumes `c` if it is next (the `SWS c SWS` separators).
    pub(crate) fn eat_sep(&mut self, c: u8) -> bool {
        let save = self.pos;
        self.skip_lws();
        if self.peek() == Some(c) {
            self.pos += 1;
            self.skip_lws();
            true
        } else {
            self.pos = save;
            false
        }
    }

    pub(crate) fn expect_sep(&mut self, c: u8) -> Result<(), HeaderError> {
        if self.eat_sep(c) {
            Ok(())
        } else {
            Err(HeaderError::Expected(c as char))
        }
    }

    /// Consumes bytes while `f` holds; returns their span (possibly empty).
    pub(crate) fn take_while(&mut self, f: impl Fn(u8) -> bool) -> Span {
        let start = self.pos;
        while self.pos < self.b.len() && f(self.b[self.pos]) {
            self.pos += 1;
        }
        Span::new(start, self.pos)
    }

    /// `token`: one or more token characters.
    pub(crate) fn token(&mut self) -> Result<Span, HeaderError> {
        let s = self.take_while(is_token);
        if s.is_empty() {
            Err(HeaderError::ExpectedToken)
        } else {
            Ok(s)
        }
    }

    /// `quoted-string` at the cursor, quotes included (RFC 3261 §25.1: `qdtext` and
    /// `quoted-pair`, where `\` escapes any octet but CR and LF).
    pub(crate) fn quoted_string(&mut self) -> Result<Span, HeaderError> {
        let start = self.pos;
        debug_assert_eq!(self.peek(), Some(b'"'));
        self.pos += 1;
        loop {
            match self.b.get(self.pos) {
                None => return Err(HeaderError::UnterminatedQuote),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Span::new(start, self.pos));
                }
                Some(b'\\') => match self.b.get(self.pos + 1) {
                    Some(b'\r' | b'\n') | None => return Err(HeaderError::UnterminatedQuote),
                    Some(_) => self.pos += 2,
                },
                Some(_) => self.pos += 1,
            }
        }
    }

    /// Errors unless only LWS remains.
    pub(crate) fn finish(&mut self) -> Result<(), HeaderError> {
        self.skip_lws();
        if self.at_end() {
            Ok(())
        } else {
            Err(HeaderError::Trailing)
        }
    }
}

/// Removes the quotes and `\` escapes of a quoted string; other input is returned as is.
pub(crate) fn unquote(b: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if b.len() >= 2 && b[0] == b'"' && b[b.len() - 1] == b'"' {
        let inner = &b[1..b.len() - 1];
        if !inner.contains(&b'\\') {
            return std::borrow::Cow::Borrowed(inner);
        }
        let mut out = Vec::with_capacity(inner.len());
        let mut i = 0;
        while i < inner.len() {
            if inner[i] == b'\\' && i + 1 < inner.len() {
                i += 1;
            }
            out.push(inner[i]);
            i += 1;
        }
        std::borrow::Cow::Owned(out)
    } else {
        std::borrow::Cow::Borrowed(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_string_with_escapes() {
        let mut c = Cursor::new(br#""J Rosenberg \\\"" <x>"#);
        let s = c.quoted_string().expect("valid");
        assert_eq!(s.get(c.b), br#""J Rosenberg \\\"""#);
        assert_eq!(&*unquote(s.get(c.b)), br#"J Rosenberg \""#);
        assert_eq!(
            Cursor::new(b"\"open").quoted_string(),
            Err(HeaderError::UnterminatedQuote)
        );
    }

    #[test]
    fn separators_take_lws_around_them() {
        let mut c = Cursor::new(b"SIP  /\r\n 2.0");
        c.token().expect("token");
        assert!(c.eat_sep(b'/'));
        assert_eq!(c.token().expect("token").get(c.b), b"2.0");
    }
}
