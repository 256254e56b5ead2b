//! [`TokenList`]: Allow, Supported, Require, Proxy-Require, Unsupported
//! (RFC 3261 §20.5, §20.37, §20.32, §20.29, §20.40).

use bytes::Bytes;

use crate::HeaderError;
use crate::parse::chars::{is_lws, is_token, trim_lws};
use crate::text::{Text, ascii};

/// A comma-separated list of tokens (option tags or methods), validated and kept as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenList(Text);

impl TokenList {
    /// Parses a list; an empty list is allowed (`Supported:` with no value is legal).
    pub fn parse(b: &[u8]) -> Result<TokenList, HeaderError> {
        let src = Bytes::copy_from_slice(b);
        parse(&src, 0, src.len(), usize::MAX)
    }

    /// The value as received.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The tokens, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.split(|&c| c == b',').filter_map(|t| {
            let (s, e) = trim_lws(t);
            (s < e).then(|| ascii(&t[s..e]))
        })
    }

    /// Whether `token` is listed (case-insensitive, as option tags are).
    pub fn contains(&self, token: &str) -> bool {
        self.iter().any(|t| t.eq_ignore_ascii_case(token))
    }
}

pub(crate) fn parse(
    src: &Bytes,
    start: usize,
    end: usize,
    max_values: usize,
) -> Result<TokenList, HeaderError> {
    let b = &src[start..end];
    // One pass: `LWS* token LWS*` per element, elements separated by commas.
    let mut i = 0;
    let mut n = 0;
    while !b.is_empty() {
        while i < b.len() && is_lws(b[i]) {
            i += 1;
        }
        let token_start = i;
        while i < b.len() && is_token(b[i]) {
            i += 1;
        }
        if i == token_start {
            return Err(match b.get(i) {
                None | Some(b',') => HeaderError::EmptyElement,
                Some(_) => HeaderError::ExpectedToken,
            });
        }
        let token_end = i;
        while i < b.len() && is_lws(b[i]) {
            i += 1;
        }
        n += 1;
        if n > max_values {
            return Err(HeaderError::TooManyValues);
        }
        match b.get(i) {
            None => break,
            Some(b',') => i += 1,
            // Two tokens in one element, or a character no token holds.
            Some(_) if i > token_end => return Err(HeaderError::Trailing),
            Some(_) => return Err(HeaderError::ExpectedToken),
        }
    }
    Ok(TokenList(Text::slice_of(src, start, end)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists() {
        let l = TokenList::parse(b"abc    ,def").expect("valid");
        assert_eq!(l.iter().collect::<Vec<_>>(), ["abc", "def"]);
        assert!(l.contains("DEF"));
        assert!(
            TokenList::parse(b"")
                .expect("empty ok")
                .iter()
                .next()
                .is_none()
        );
        assert_eq!(
            TokenList::parse(b"a,,b").err(),
            Some(HeaderError::EmptyElement)
        );
    }
}
