//! [`error_response`]: the response a stack sends for a request it could not parse
//! (RFC 3261 §8.2.6, §16.3; RFC 4475 §3.1.2).

use bytes::Bytes;

use crate::header::{ContentLength, Header, HeaderName};
use crate::message::{Response, StatusCode};
use crate::parse::chars::{is_token, trim_lws};
use crate::text::Text;
use crate::{ParseError, StartLineError};

impl ParseError {
    /// The status code that answers this error: 513 for an oversized message, 413 for an
    /// oversized body, 505 for another SIP version, 400 otherwise.
    pub fn status_code(&self) -> StatusCode {
        match self {
            ParseError::MessageTooLarge { .. } => StatusCode::MESSAGE_TOO_LARGE,
            ParseError::BodyTooLarge { .. } => StatusCode::REQUEST_ENTITY_TOO_LARGE,
            ParseError::UnsupportedVersion { .. } => StatusCode::VERSION_NOT_SUPPORTED,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// A reason phrase naming the problem, e.g. `Bad Request - Invalid CSeq Header`.
    pub fn reason_phrase(&self) -> String {
        let what = match self {
            ParseError::MessageTooLarge { .. } => return "Message Too Large".into(),
            ParseError::BodyTooLarge { .. } => return "Request Entity Too Large".into(),
            ParseError::UnsupportedVersion { .. } => return "Version Not Supported".into(),
            ParseError::TooManyHeaders { .. } => "Too Many Header Fields".to_string(),
            ParseError::HeaderLineTooLong { .. } => "Header Field Too Long".to_string(),
            ParseError::Truncated => "Truncated Message".to_string(),
            ParseError::StartLine {
                kind: StartLineError::Whitespace,
                ..
            } => "Malformed Request-Line Whitespace".to_string(),
            ParseError::StartLine { .. } => "Malformed Request-Line".to_string(),
            ParseError::RequestUri { .. } => "Malformed Request-URI".to_string(),
            ParseError::RequestUriHasHeaders { .. } => "Headers In Request-URI".to_string(),
            ParseError::MissingColon { .. } | ParseError::InvalidHeaderName { .. } => {
                "Malformed Header Field".to_string()
            }
            ParseError::InvalidHeader { name, .. } => format!("Invalid {name} Header"),
            ParseError::MissingHeader(name) => format!("Missing {name} Header"),
            ParseError::DuplicateHeader { name, .. } => format!("Multiple {name} Headers"),
            ParseError::ContentLengthExceedsMessage { .. } => {
                "Content-Length Exceeds Message".to_string()
            }
            ParseError::CSeqMethodMismatch => "CSeq Method Mismatch".to_string(),
        };
        format!("Bad Request - {what}")
    }
}

/// Builds the response to a request that failed to parse, or `None` when none may or can
/// be sent: the input is a response or an ACK (never answered, RFC 3261 §17.2.1), or its
/// Via, From, To, Call-ID or CSeq cannot be found.
///
/// Following §8.2.6.1 the Via values, From, To, Call-ID and CSeq are copied from the
/// request as received; a value that does not parse (the overflowing CSeq of RFC 4475
/// §3.1.2.4, say) is carried as [`Header::Other`]. The To tag that §8.2.6.2 requires is
/// left to the transaction layer, which owns tag generation.
pub fn error_response(error: &ParseError, raw: &[u8]) -> Option<Response> {
    let mut pos = 0;
    while pos < raw.len() && (raw[pos] == b'\r' || raw[pos] == b'\n') {
        pos += 1;
    }
    let le = memchr::memchr(b'\n', &raw[pos..])? + pos;
    let line = &raw[pos..le];
    if line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"SIP/") {
        return None;
    }
    let method = &line[..memchr::memchr(b' ', line).unwrap_or(line.len())];
    if method == b"ACK" {
        return None;
    }
    pos = le + 1;
    let mut vias: Vec<&[u8]> = Vec::new();
    let [mut from, mut to, mut call_id, mut cseq]: [Option<&[u8]>; 4] = [None; 4];
    while pos < raw.len() && raw[pos] != b'\r' && raw[pos] != b'\n' {
        let start = pos;
        let mut le = memchr::memchr(b'\n', &raw[pos..]).map_or(raw.len(), |i| i + pos);
        while matches!(raw.get(le + 1), Some(b' ' | b'\t')) {
            le = memchr::memchr(b'\n', &raw[le + 1..]).map_or(raw.len(), |i| i + le + 1);
        }
        pos = le + 1;
        let field = &raw[start..le.min(raw.len())];
        let Some(colon) = memchr::memchr(b':', field) else {
            continue;
        };
        let (ns, ne) = trim_lws(&field[..colon]);
        let name = &field[ns..ne];
        if name.is_empty() || !name.iter().all(|&c| is_token(c)) {
            continue;
        }
        let (vs, ve) = trim_lws(&field[colon + 1..]);
        let value = &field[colon + 1 + vs..colon + 1 + ve];
        match HeaderName::from_token(name) {
            HeaderName::Via => vias.push(value),
            HeaderName::From => from = from.or(Some(value)),
            HeaderName::To => to = to.or(Some(value)),
            HeaderName::CallId => call_id = call_id.or(Some(value)),
            HeaderName::CSeq => cseq = cseq.or(Some(value)),
            _ => {}
        }
    }
    if vias.is_empty() {
        return None;
    }
    let mut response = Response::new(error.status_code());
    response.set_reason(&error.reason_phrase());
    let mut copy = |name: HeaderName, value: &[u8]| {
        let mut out = Vec::new();
        if Header::parse_into(&name, value, &mut out).is_err() {
            out = vec![Header::Other(name, Text::copy_from(value))];
        }
        for h in out {
            response.headers_mut().push(h);
        }
    };
    for v in vias {
        copy(HeaderName::Via, v);
    }
    copy(HeaderName::From, from?);
    copy(HeaderName::To, to?);
    copy(HeaderName::CallId, call_id?);
    copy(HeaderName::CSeq, cseq?);
    response
        .headers_mut()
        .push(Header::ContentLength(ContentLength(0)));
    response.body = Bytes::new();
    Some(response)
}
