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
    if !b.is_empty() {
        let mut n = 0;
        for item in b.split(|&c| c == b',') {
            let (s, e) = trim_lws(item);
            if s == e {
                return Err(HeaderError::EmptyElement);
            }
            if !item[s..e].iter().all(|&c| is_token(c)) {
                return Err(if item[s..e].iter().any(|&c| is_lws(c)) {
                    HeaderError::Trailing
                } else {
                    HeaderError::ExpectedToken
                });
            }
            n += 1;
            if n > max_values {
                return Err(HeaderError::TooManyValues);
            }
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
