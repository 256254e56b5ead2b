//! [`StreamDecoder`]: splits a TCP/TLS/WebSocket-less byte stream into messages by
//! Content-Length (RFC 3261 §18.3) and recognises RFC 5626 §3.5.1 keep-alives.

use bytes::{Buf, Bytes, BytesMut};

use crate::message::Message;
use crate::parse::chars::{is_lws, parse_number, trim_lws};
use crate::parse::message::parse_datagram;
use crate::{FramingError, ParseError, ParseLimits};

/// One item decoded from a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
// Boxing would cost an allocation per parsed message/value on the hot path.
#[allow(clippy::large_enum_variant)]
pub enum Frame {
    /// A complete message.
    Message(Message),
    /// A CRLFCRLF ping (RFC 5626 §3.5.1): answer with a single CRLF pong.
    KeepAlivePing,
    /// A CRLF pong answering our ping.
    KeepAlivePong,
}

/// A sans-IO stream decoder: [`push`](Self::push) received bytes, then drain
/// [`next`](Self::next) until it returns `None`.
///
/// A message that is framed but does not parse is returned as
/// `Err(FramingError::Message { .. })` and decoding goes on; an error after which the
/// message boundary is unknown is [`FramingError::Fatal`], after which `next` returns
/// `None` and the connection should be closed.
#[derive(Debug)]
pub struct StreamDecoder {
    buf: BytesMut,
    limits: ParseLimits,
    skip: usize,
    ping_outstanding: bool,
    failed: bool,
}

impl StreamDecoder {
    /// A decoder with the given limits.
    pub fn new(limits: ParseLimits) -> StreamDecoder {
        StreamDecoder {
            buf: BytesMut::new(),
            limits,
            skip: 0,
            ping_outstanding: false,
            failed: false,
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, data: &[u8]) {
        if self.failed {
            return;
        }
        let mut data = data;
        if self.skip > 0 {
            let n = self.skip.min(data.len());
            self.skip -= n;
            data = &data[n..];
        }
        self.buf.extend_from_slice(data);
    }

    /// Tells the decoder we sent a CRLFCRLF ping, so a lone CRLF is its pong rather than
    /// the start of a ping from the peer.
    pub fn ping_sent(&mut self) {
        self.ping_outstanding = true;
    }

    /// Bytes buffered and not yet decoded.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next decoded item, or `None` when more bytes are needed.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Result<Frame, FramingError>> {
        if self.failed {
            return None;
        }
        // Keep-alives (RFC 5626 §3.5.1).
        if self.buf.starts_with(b"\r\n") {
            if self.buf.starts_with(b"\r\n\r\n") {
                self.buf.advance(4);
                return Some(Ok(Frame::KeepAlivePing));
            }
            if self.ping_outstanding || (self.buf.len() > 2 && self.buf[2] != b'\r') {
                self.buf.advance(2);
                self.ping_outstanding = false;
                return Some(Ok(Frame::KeepAlivePong));
            }
            if self.buf.len() < 4 {
                return None;
            }
        }
        let Some(head_end) = memchr::memmem::find(&self.buf, b"\r\n\r\n") else {
            if self.buf.len() > self.limits.max_message_size {
                return self.fatal(ParseError::MessageTooLarge {
                    size: self.buf.len(),
                    limit: self.limits.max_message_size,
                });
            }
            return None;
        };
        let head_len = head_end + 4;
        if head_len > self.limits.max_message_size {
            return self.fatal(ParseError::MessageTooLarge {
                size: head_len,
                limit: self.limits.max_message_size,
            });
        }
        let body_len = match content_length(&self.buf[..head_end]) {
            Ok(Some(n)) => n,
            Ok(None) => {
                let raw = self.buf.split_to(head_len).freeze();
                return Some(Err(FramingError::MissingContentLength { raw }));
            }
            Err(e) => return self.fatal(e),
        };
        if body_len > self.limits.max_body_size
            || head_len + body_len > self.limits.max_message_size
        {
            let raw = self.buf.split_to(head_len).freeze();
            let have = body_len.min(self.buf.len());
            self.buf.advance(have);
            self.skip = body_len - have;
            return Some(Err(FramingError::BodyTooLarge {
                size: body_len,
                limit: self.limits.max_body_size,
                raw,
            }));
        }
        if self.buf.len() < head_len + body_len {
            return None;
        }
        let raw: Bytes = self.buf.split_to(head_len + body_len).freeze();
        Some(match parse_datagram(raw.clone(), &self.limits) {
            Ok(m) => Ok(Frame::Message(m)),
            Err(error) => Err(FramingError::Message { error, raw }),
        })
    }

    fn fatal(&mut self, e: ParseError) -> Option<Result<Frame, FramingError>> {
        self.failed = true;
        self.buf = BytesMut::new();
        Some(Err(FramingError::Fatal(e)))
    }
}

/// Finds Content-Length (or `l`) in a header section. Several equal values are one value;
/// differing ones lose framing.
fn content_length(head: &[u8]) -> Result<Option<usize>, ParseError> {
    let mut found: Option<usize> = None;
    let mut offset = 0;
    for line in head.split(|&c| c == b'\n') {
        let line_start = offset;
        offset += line.len() + 1;
        if line.first().is_some_and(|&c| is_lws(c)) {
            continue;
        }
        let Some(colon) = memchr::memchr(b':', line) else {
            continue;
        };
        let (ns, ne) = trim_lws(&line[..colon]);
        let name = &line[ns..ne];
        if !(name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l")) {
            continue;
        }
        let (vs, ve) = trim_lws(&line[colon + 1..]);
        let n = parse_number(&line[colon + 1 + vs..colon + 1 + ve], u64::from(u32::MAX)).map_err(
            |kind| ParseError::InvalidHeader {
                name: crate::HeaderName::ContentLength,
                offset: line_start,
                kind,
            },
        )? as usize;
        if found.is_some_and(|f| f != n) {
            return Err(ParseError::DuplicateHeader {
                name: crate::HeaderName::ContentLength,
                offset: line_start,
            });
        }
        found = Some(n);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\
From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 3\r\n\r\nabc";

    #[test]
    fn byte_by_byte_with_keepalives() {
        let mut d = StreamDecoder::new(ParseLimits::default());
        let mut input = b"\r\n\r\n".to_vec();
        input.extend_from_slice(MSG);
        input.extend_from_slice(MSG);
        let mut frames = Vec::new();
        for &byte in &input {
            d.push(&[byte]);
            while let Some(f) = d.next() {
                frames.push(f.expect("valid"));
            }
        }
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[0], Frame::KeepAlivePing);
        assert!(matches!(&frames[1], Frame::Message(m) if m.body().as_ref() == b"abc"));
        d.ping_sent();
        d.push(b"\r\n");
        assert_eq!(d.next(), Some(Ok(Frame::KeepAlivePong)));
        assert_eq!(d.next(), None);
    }

    #[test]
    fn bad_message_is_an_item_and_stream_goes_on() {
        let mut d = StreamDecoder::new(ParseLimits::default());
        d.push(b"INVITE  sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n");
        d.push(MSG);
        assert!(matches!(d.next(), Some(Err(FramingError::Message { .. }))));
        assert!(matches!(d.next(), Some(Ok(Frame::Message(_)))));
        d.push(b"X a SIP/2.0\r\nContent-Length: zz\r\n\r\n");
        assert!(matches!(d.next(), Some(Err(FramingError::Fatal(_)))));
        assert_eq!(d.next(), None);
    }

    #[test]
    fn oversized_body_is_skipped() {
        let mut d = StreamDecoder::new(ParseLimits {
            max_body_size: 2,
            ..ParseLimits::default()
        });
        d.push(&MSG[..MSG.len() - 2]);
        assert!(matches!(
            d.next(),
            Some(Err(FramingError::BodyTooLarge { size: 3, .. }))
        ));
        d.push(b"bc");
        d.push(b"\r\n\r\n");
        assert_eq!(d.next(), Some(Ok(Frame::KeepAlivePing)));
    }
}
