//! The scalar headers every message carries: [`CallId`], [`CSeq`], [`MaxForwards`],
//! [`ContentLength`] (RFC 3261 §20.8, §20.16, §20.22, §20.14), plus [`Expires`] and
//! [`RetryAfter`] (§20.19, §20.33).

use bytes::Bytes;

use crate::HeaderError;
use crate::message::Method;
use crate::parse::Span;
use crate::parse::chars::{is_lws, is_word, parse_number};
use crate::parse::cursor::Cursor;
use crate::parse::params::{Params, scan_params};
use crate::text::{Text, ascii};

/// Call-ID: `word [ "@" word ]` (§20.8). Compared byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CallId(Text);

impl CallId {
    /// Parses a Call-ID value.
    pub fn parse(b: &[u8]) -> Result<CallId, HeaderError> {
        let src = Bytes::copy_from_slice(b);
        parse_call_id(&src, 0, src.len())
    }

    /// The Call-ID.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The Call-ID as text (it is always ASCII).
    pub fn as_str(&self) -> &str {
        ascii(&self.0)
    }
}

pub(crate) fn parse_call_id(src: &Bytes, start: usize, end: usize) -> Result<CallId, HeaderError> {
    let b = &src[start..end];
    if b.is_empty() {
        return Err(HeaderError::Empty);
    }
    let mut at = false;
    for &c in b {
        if c == b'@' && !at {
            at = true;
        } else if !is_word(c) {
            return Err(if is_lws(c) {
                HeaderError::Trailing
            } else {
                HeaderError::ExpectedToken
            });
        }
    }
    Ok(CallId(Text::slice_of(src, start, end)))
}

/// CSeq: `1*DIGIT LWS Method` (§20.16). The number is below 2^31 (§8.1.1.5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CSeq {
    /// The sequence number.
    pub seq: u32,
    /// The method.
    pub method: Method,
}

impl CSeq {
    /// Parses a CSeq value.
    pub fn parse(b: &[u8]) -> Result<CSeq, HeaderError> {
        let mut c = Cursor::new(b);
        let digits = c.take_while(|b| b.is_ascii_digit());
        let seq = parse_number(digits.get(b), (1 << 31) - 1)? as u32;
        let before = c.pos;
        c.skip_lws();
        if c.pos == before {
            return Err(HeaderError::NotANumber);
        }
        let m = c.token()?;
        c.finish()?;
        Ok(CSeq {
            seq,
            method: Method::from_token(m.get(b)),
        })
    }
}

/// Max-Forwards: 0 to 255 (§20.22).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MaxForwards(pub u8);

/// Content-Length in bytes (§20.14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContentLength(pub u32);

/// Expires: delta-seconds up to 2^32-1 (§20.19).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Expires(pub u32);

pub(crate) fn parse_decimal(b: &[u8], max: u64) -> Result<u64, HeaderError> {
    let mut c = Cursor::new(b);
    let digits = c.take_while(|b| b.is_ascii_digit());
    let n = parse_number(digits.get(b), max)?;
    c.finish().map_err(|_| HeaderError::NotANumber)?;
    Ok(n)
}

/// Retry-After: `delta-seconds [ comment ] *( SEMI retry-param )` (§20.33).
#[derive(Debug, Clone)]
pub struct RetryAfter {
    raw: Text,
    seconds: u32,
    comment: Option<Span>,
    params: Span,
}

impl PartialEq for RetryAfter {
    fn eq(&self, other: &RetryAfter) -> bool {
        self.raw == other.raw
    }
}
impl Eq for RetryAfter {}

impl RetryAfter {
    /// Parses a Retry-After value.
    pub fn parse(b: &[u8]) -> Result<RetryAfter, HeaderError> {
        let src = Bytes::copy_from_slice(b);
        parse_retry_after(&src, 0, src.len(), crate::ParseLimits::default().max_params)
    }

    /// The value as received.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// Seconds to wait.
    pub fn seconds(&self) -> u32 {
        self.seconds
    }

    /// The comment, parentheses included.
    pub fn comment(&self) -> Option<&[u8]> {
        self.comment.map(|s| s.get(&self.raw))
    }

    /// Parameters (`duration` and extensions).
    pub fn params(&self) -> Params<'_> {
        Params::header(self.params.get(&self.raw))
    }
}

pub(crate) fn parse_retry_after(
    src: &Bytes,
    start: usize,
    end: usize,
    max_params: usize,
) -> Result<RetryAfter, HeaderError> {
    let b = &src[start..end];
    let mut c = Cursor::new(b);
    let digits = c.take_while(|b| b.is_ascii_digit());
    let seconds = parse_number(digits.get(b), u64::from(u32::MAX))? as u32;
    c.skip_lws();
    let comment = if c.peek() == Some(b'(') {
        // comment = LPAREN *(ctext / quoted-pair / comment) RPAREN, depth-counted.
        let s = c.pos;
        let mut depth = 0usize;
        loop {
            match c.peek() {
                None => return Err(HeaderError::Expected(')')),
                Some(b'\\') => c.pos += 1,
                Some(b'(') => depth += 1,
                Some(b')') => {
                    depth -= 1;
                    if depth == 0 {
                        c.pos += 1;
                        break;
                    }
                }
                _ => {}
            }
            c.pos += 1;
        }
        Some(Span::new(s, c.pos))
    } else {
        None
    };
    let params = scan_params(&mut c, max_params, |_, _, _| Ok(()))?;
    c.finish()?;
    Ok(RetryAfter {
        raw: Text::slice_of(src, start, end),
        seconds,
        comment,
        params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cseq_and_call_id() {
        let c = CSeq::parse(b"0009\r\n  INVITE").expect("valid");
        assert_eq!(c.seq, 9);
        assert_eq!(c.method, Method::Invite);
        assert_eq!(
            CSeq::parse(b"36893488147419103232 REGISTER").err(),
            Some(HeaderError::OutOfRange)
        );
        assert_eq!(
            CSeq::parse(b"2147483648 INVITE").err(),
            Some(HeaderError::OutOfRange)
        );
        assert!(CallId::parse(b"intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{").is_ok());
        assert!(CallId::parse(b"a b").is_err());
    }

    #[test]
    fn retry_after() {
        let r = RetryAfter::parse(b"18000 (in a (nested) meeting);duration=3600").expect("valid");
        assert_eq!(r.seconds(), 18000);
        assert_eq!(r.comment(), Some(&b"(in a (nested) meeting)"[..]));
        assert_eq!(r.params().get("duration"), Some(Some(&b"3600"[..])));
        assert_eq!(
            RetryAfter::parse(b"949302838503028349304023988").err(),
            Some(HeaderError::OutOfRange)
        );
    }
}
