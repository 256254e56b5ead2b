//! Stateless answers to requests that do not parse (RFC 3261 §8.2.6, §18.2.1).

use bytes::Bytes;

use super::routing::add_to_tag;
use crate::{ParseError, error_response};

/// The wire form of the 400/413/505/513 response to an unparseable request, with a To tag
/// (§8.2.6.2), or `None` when the input may not or cannot be answered (a response, an
/// ACK, or no Via/From/To/Call-ID/CSeq to copy).
pub(crate) fn reject(error: &ParseError, raw: &[u8]) -> Option<Bytes> {
    let mut response = error_response(error, raw)?;
    let tag = format!("{:016x}", rand::random::<u64>());
    add_to_tag(response.headers_mut(), &tag);
    Some(response.to_bytes())
}

/// Whether a datagram holds only CR and LF (an RFC 5626 keep-alive on UDP, or the empty
/// lines RFC 3261 §7.5 says to ignore).
pub(crate) fn is_blank(datagram: &[u8]) -> bool {
    datagram.iter().all(|&b| b == b'\r' || b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_cseq_gets_a_tagged_400() {
        let raw = b"OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: c\r\nCSeq: x OPTIONS\r\n\r\n";
        let error = crate::Message::parse(Bytes::from_static(raw)).expect_err("bad CSeq");
        let wire = reject(&error, raw).expect("answerable");
        assert!(wire.starts_with(b"SIP/2.0 400 "));
        let text = String::from_utf8_lossy(&wire);
        assert!(text.contains("To: <sip:b@h>;tag="), "{text}");
        assert!(reject(&error, b"\x00\xff").is_none());
        assert!(is_blank(b"\r\n\r\n"));
        assert!(!is_blank(b"\r\nX"));
    }
}
