//! The conversation id on the wire.
//!
//! session-core's context property 10000 (the conversation id) travels in the
//! `Ms-Conversation-ID` header, the header the UCC clients used for it; peers that do
//! not know it ignore it (RFC 3261 §7.3.1).

use crate::Request;
use crate::header::{Header, HeaderName};

/// The header's name.
pub const HEADER: &str = "Ms-Conversation-ID";

/// Longest conversation id accepted from the wire; longer values are ignored.
pub const MAX_LEN: usize = 256;

/// The conversation id a request carries, if any and if it is printable UTF-8 of at
/// most [`MAX_LEN`] bytes.
pub fn conversation_id(request: &Request) -> Option<String> {
    request.headers().iter().find_map(|h| match h {
        Header::Other(name, value) if is_conversation_header(name) => {
            let s = value.as_str()?.trim();
            (!s.is_empty() && s.len() <= MAX_LEN && s.chars().all(|c| !c.is_control()))
                .then(|| s.to_owned())
        }
        _ => None,
    })
}

fn is_conversation_header(name: &HeaderName) -> bool {
    name.as_str().eq_ignore_ascii_case(HEADER)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::Message;

    fn request(extra: &str) -> Request {
        let raw = format!(
            "MESSAGE sip:bob@example.com SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\n\
             From: <sip:alice@example.com>;tag=a\r\nTo: <sip:bob@example.com>\r\n\
             Call-ID: c1\r\nCSeq: 1 MESSAGE\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        match Message::parse(Bytes::from(raw)) {
            Ok(Message::Request(r)) => r,
            other => panic!("test request: {other:?}"),
        }
    }

    #[test]
    fn reads_the_header_case_insensitively() {
        let r = request("ms-conversation-id: 3f2a-01\r\n");
        assert_eq!(conversation_id(&r).as_deref(), Some("3f2a-01"));
    }

    #[test]
    fn absent_empty_or_oversized_is_none() {
        assert_eq!(conversation_id(&request("")), None);
        assert_eq!(conversation_id(&request("Ms-Conversation-ID: \r\n")), None);
        let long = "x".repeat(MAX_LEN + 1);
        assert_eq!(
            conversation_id(&request(&format!("Ms-Conversation-ID: {long}\r\n"))),
            None
        );
    }
}
