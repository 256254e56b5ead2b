//! Message assembly: start line (RFC 3261 §7.1, §7.2), header fields with folding
//! (§7.3.1), mandatory-header checks (§8.1.1) and the body (§7.4, §18.3).

use bytes::Bytes;

use super::chars::{is_lws, is_token, trim_lws};
use crate::header::{Header, HeaderName, Headers, PARSE_CAPACITY, parse_value};
use crate::message::{Message, Method, Request, Response, StatusCode, Version};
use crate::text::Text;
use crate::uri::parse_uri;
use crate::{ParseError, ParseLimits, StartLineError};

enum StartLine {
    Request { method: Method, uri: crate::Uri },
    Response { status: StatusCode, reason: Text },
}

/// Counts of the single-valued headers, to catch repeats (RFC 4475 §3.3.8, §3.3.9).
#[derive(Default)]
struct Seen {
    via: bool,
    from: bool,
    to: bool,
    call_id: bool,
    cseq: bool,
    content_length: bool,
    max_forwards: bool,
    content_type: bool,
}

/// The headers typed while parsing, so that their errors reject the message: what every
/// transaction, dialog and response routing step reads (RFC 3261 §8.1.1, §17.1.3,
/// §18.3), plus the ones RFC 4475's invalid messages are rejected for (Contact, Date).
/// Every other field is typed on first use ([`Headers`]).
fn is_core(name: &HeaderName) -> bool {
    matches!(
        name,
        HeaderName::Via
            | HeaderName::From
            | HeaderName::To
            | HeaderName::CallId
            | HeaderName::CSeq
            | HeaderName::Contact
            | HeaderName::ContentLength
            | HeaderName::MaxForwards
            | HeaderName::Expires
            | HeaderName::Date
    )
}

/// Parses one complete message. Without Content-Length the body is the rest of `buf`;
/// with it, octets past the body are discarded (RFC 3261 §18.3).
pub(crate) fn parse_datagram(buf: Bytes, limits: &ParseLimits) -> Result<Message, ParseError> {
    if buf.len() > limits.max_message_size {
        return Err(ParseError::MessageTooLarge {
            size: buf.len(),
            limit: limits.max_message_size,
        });
    }
    let b: &[u8] = &buf;
    // RFC 3261 §7.5: ignore CRLFs before the start line.
    let mut pos = 0;
    while pos < b.len() && (b[pos] == b'\r' || b[pos] == b'\n') {
        pos += 1;
    }
    let le = crate::parse::scan::find(b'\n', &b[pos..]).ok_or(ParseError::Truncated)? + pos;
    let line_end = if le > pos && b[le - 1] == b'\r' {
        le - 1
    } else {
        le
    };
    let start = parse_start_line(&buf, pos, line_end, limits)?;
    pos = le + 1;

    let mut headers = Headers::for_parse(buf.clone(), limits, PARSE_CAPACITY);
    let mut seen = Seen::default();
    let mut content_length: Option<u32> = None;
    let mut count = 0;
    loop {
        match b.get(pos) {
            None => return Err(ParseError::Truncated),
            Some(b'\n') => {
                pos += 1;
                break;
            }
            Some(b'\r') if b.get(pos + 1) == Some(&b'\n') => {
                pos += 2;
                break;
            }
            _ => {}
        }
        let line_start = pos;
        // Find the end of the field, following folded continuation lines (§7.3.1).
        let mut le = crate::parse::scan::find(b'\n', &b[pos..]).ok_or(ParseError::Truncated)? + pos;
        while matches!(b.get(le + 1), Some(b' ' | b'\t')) {
            le = crate::parse::scan::find(b'\n', &b[le + 1..]).ok_or(ParseError::Truncated)?
                + le
                + 1;
        }
        if le - line_start > limits.max_header_line {
            return Err(ParseError::HeaderLineTooLong {
                offset: line_start,
                limit: limits.max_header_line,
            });
        }
        count += 1;
        if count > limits.max_headers {
            return Err(ParseError::TooManyHeaders {
                limit: limits.max_headers,
            });
        }
        pos = le + 1;
        let field = &b[line_start..le];
        // One pass finds the name (token characters), the LWS after it and the colon.
        let ne = field
            .iter()
            .position(|&c| !is_token(c))
            .unwrap_or(field.len());
        let mut colon = ne;
        while colon < field.len() && is_lws(field[colon]) {
            colon += 1;
        }
        if ne == 0 || field.get(colon) != Some(&b':') {
            return Err(match crate::parse::scan::find(b':', field) {
                None => ParseError::MissingColon { offset: line_start },
                Some(_) => ParseError::InvalidHeaderName { offset: line_start },
            });
        }
        let raw_name = &field[..ne];
        let name = HeaderName::from_token(raw_name);
        let (vs, ve) = trim_lws(&field[colon + 1..]);
        let (vs, ve) = (line_start + colon + 1 + vs, line_start + colon + 1 + ve);
        let dup = match name {
            HeaderName::Via => {
                seen.via = true;
                false
            }
            HeaderName::From => std::mem::replace(&mut seen.from, true),
            HeaderName::To => std::mem::replace(&mut seen.to, true),
            HeaderName::CallId => std::mem::replace(&mut seen.call_id, true),
            HeaderName::CSeq => std::mem::replace(&mut seen.cseq, true),
            HeaderName::ContentLength => std::mem::replace(&mut seen.content_length, true),
            HeaderName::MaxForwards => std::mem::replace(&mut seen.max_forwards, true),
            HeaderName::ContentType => std::mem::replace(&mut seen.content_type, true),
            _ => false,
        };
        if dup {
            return Err(ParseError::DuplicateHeader {
                name,
                offset: line_start,
            });
        }
        if !is_core(&name) {
            headers.push_raw(name, vs, ve);
            continue;
        }
        parse_value(&name, &buf, vs, ve, limits, &mut headers).map_err(|kind| {
            ParseError::InvalidHeader {
                name: name.clone(),
                offset: line_start,
                kind,
            }
        })?;
        if name == HeaderName::ContentLength {
            if let Some(Header::ContentLength(l)) = headers.last_typed() {
                content_length = Some(l.0);
            }
        }
    }

    // §8.1.1: To, From, CSeq, Call-ID, Max-Forwards and Via are mandatory in requests;
    // Max-Forwards is not enforced (RFC 2543 peers omit it, RFC 4475 §3.4.1).
    for (ok, name) in [
        (seen.via, HeaderName::Via),
        (seen.from, HeaderName::From),
        (seen.to, HeaderName::To),
        (seen.call_id, HeaderName::CallId),
        (seen.cseq, HeaderName::CSeq),
    ] {
        if !ok {
            return Err(ParseError::MissingHeader(name));
        }
    }

    let available = b.len() - pos;
    let body_len = match content_length {
        Some(cl) => {
            let cl = cl as usize;
            if cl > limits.max_body_size {
                return Err(ParseError::BodyTooLarge {
                    size: cl,
                    limit: limits.max_body_size,
                });
            }
            if cl > available {
                return Err(ParseError::ContentLengthExceedsMessage {
                    declared: cl,
                    available,
                });
            }
            cl
        }
        None => {
            if available > limits.max_body_size {
                return Err(ParseError::BodyTooLarge {
                    size: available,
                    limit: limits.max_body_size,
                });
            }
            available
        }
    };
    let body = if body_len == 0 {
        Bytes::new()
    } else {
        buf.slice(pos..pos + body_len)
    };
    Ok(match start {
        StartLine::Request { method, uri } => {
            let cseq_matches = headers.named(&HeaderName::CSeq).any(|h| match h {
                Header::CSeq(c) => c.method == method,
                _ => false,
            });
            if !cseq_matches {
                return Err(ParseError::CSeqMethodMismatch);
            }
            Message::Request(Request {
                method,
                uri,
                version: Version::Sip2,
                headers,
                body,
            })
        }
        StartLine::Response { status, reason } => Message::Response(Response {
            version: Version::Sip2,
            status,
            reason,
            headers,
            body,
        }),
    })
}

/// Checks `SIP/2.0` (case-insensitive, §7.1); a well-formed other version is reported as
/// unsupported (505), anything else as malformed.
fn check_version(v: &[u8], offset: usize) -> Result<(), ParseError> {
    if v.eq_ignore_ascii_case(b"SIP/2.0") {
        return Ok(());
    }
    let well_formed = v.len() > 4 && v[..4].eq_ignore_ascii_case(b"SIP/") && {
        let rest = &v[4..];
        match crate::parse::scan::find(b'.', rest) {
            Some(dot) => {
                dot > 0
                    && dot + 1 < rest.len()
                    && rest[..dot].iter().all(u8::is_ascii_digit)
                    && rest[dot + 1..].iter().all(u8::is_ascii_digit)
            }
            None => false,
        }
    };
    if well_formed {
        Err(ParseError::UnsupportedVersion { offset })
    } else {
        Err(ParseError::StartLine {
            offset,
            kind: StartLineError::Version,
        })
    }
}

fn parse_start_line(
    buf: &Bytes,
    start: usize,
    end: usize,
    limits: &ParseLimits,
) -> Result<StartLine, ParseError> {
    let line = &buf[start..end];
    let err = |at: usize, kind| ParseError::StartLine {
        offset: start + at,
        kind,
    };
    if line.is_empty() {
        return Err(err(0, StartLineError::Empty));
    }
    let sp1 = crate::parse::scan::find(b' ', line).ok_or(err(0, StartLineError::Whitespace))?;
    if line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"SIP/") {
        // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF (§7.2)
        check_version(&line[..sp1], start)?;
        let rest = &line[sp1 + 1..];
        let code_len = crate::parse::scan::find(b' ', rest).unwrap_or(rest.len());
        let code = &rest[..code_len];
        if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
            return Err(err(sp1 + 1, StartLineError::StatusCode));
        }
        let n = code
            .iter()
            .fold(0u16, |acc, &d| acc * 10 + u16::from(d - b'0'));
        let status = StatusCode::new(n).ok_or(err(sp1 + 1, StartLineError::StatusCode))?;
        let reason_start = (sp1 + 1 + code_len + 1).min(line.len());
        let reason = &line[reason_start..];
        if reason
            .iter()
            .any(|&c| (c < 0x20 && c != b'\t') || c == 0x7f)
        {
            return Err(err(reason_start, StartLineError::ReasonPhrase));
        }
        return Ok(StartLine::Response {
            status,
            reason: Text::slice_of(buf, start + reason_start, end),
        });
    }
    // Request-Line = Method SP Request-URI SP SIP-Version CRLF (§7.1)
    let method = &line[..sp1];
    if method.is_empty() {
        return Err(err(0, StartLineError::Whitespace));
    }
    if !method.iter().all(|&c| is_token(c)) {
        return Err(err(0, StartLineError::Method));
    }
    let rest = &line[sp1 + 1..];
    let sp2 = crate::parse::scan::find(b' ', rest).ok_or(err(sp1 + 1, StartLineError::Version))?;
    let version = &rest[sp2 + 1..];
    if sp2 == 0 || version.is_empty() || crate::parse::scan::find(b' ', version).is_some() {
        return Err(err(sp1 + 1, StartLineError::Whitespace));
    }
    check_version(version, start + sp1 + 1 + sp2 + 1)?;
    let uri_start = start + sp1 + 1;
    let uri = parse_uri(buf, uri_start, uri_start + sp2, limits.max_params).map_err(|kind| {
        ParseError::RequestUri {
            offset: uri_start,
            kind,
        }
    })?;
    if uri.headers().is_some() {
        return Err(ParseError::RequestUriHasHeaders { offset: uri_start });
    }
    Ok(StartLine::Request {
        method: Method::from_token(method),
        uri,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: &[u8] = b"OPTIONS sip:user@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP h.example.com;branch=z9hG4bKa, SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bKb\r\n\
To: <sip:user@example.com>\r\nFrom: \"A\" <sip:a@example.com>;tag=1\r\n\
Call-ID: abc@h\r\nCSeq: 1 OPTIONS\r\nX-Custom: folded\r\n  value\r\nContent-Length: 4\r\n\r\nbodyEXTRA";

    fn parse(b: &'static [u8]) -> Result<Message, ParseError> {
        parse_datagram(Bytes::from_static(b), &ParseLimits::default())
    }

    #[test]
    fn request_roundtrip() {
        let Ok(Message::Request(r)) = parse(OPTIONS) else {
            panic!("should parse")
        };
        assert_eq!(r.method(), &Method::Options);
        assert_eq!(r.vias().count(), 2);
        assert_eq!(r.body().as_ref(), b"body");
        assert_eq!(r.call_id().map(|c| c.as_str()), Some("abc@h"));
        let again = parse_datagram(r.to_bytes(), &ParseLimits::default()).expect("reparse");
        assert_eq!(again, Message::Request(r));
    }

    #[test]
    fn limits_are_errors() {
        let tight = ParseLimits {
            max_headers: 3,
            ..ParseLimits::default()
        };
        assert_eq!(
            parse_datagram(Bytes::from_static(OPTIONS), &tight).err(),
            Some(ParseError::TooManyHeaders { limit: 3 })
        );
        let tiny = ParseLimits {
            max_message_size: 10,
            ..ParseLimits::default()
        };
        assert!(matches!(
            parse_datagram(Bytes::from_static(OPTIONS), &tiny),
            Err(ParseError::MessageTooLarge { limit: 10, .. })
        ));
        assert_eq!(
            parse(b"OPTIONS sip:a@b SIP/2.0\r\nVia: x").err(),
            Some(ParseError::Truncated)
        );
    }

    #[test]
    fn non_core_headers_are_typed_on_use_and_malformed_ones_stay_raw() {
        const MSG: &[u8] = b"MESSAGE sip:user@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP h.example.com;branch=z9hG4bKa\r\nTo: <sip:user@example.com>\r\n\
From: <sip:a@example.com>;tag=1\r\nCall-ID: abc@h\r\nCSeq: 1 MESSAGE\r\n\
Allow: INVITE BYE\r\nRoute: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n\
Content-Length: 0\r\n\r\n";
        let Ok(Message::Request(r)) = parse(MSG) else {
            panic!("a malformed Allow does not reject the message")
        };
        let routes: Vec<_> = r
            .headers()
            .iter()
            .filter_map(|h| match h {
                Header::Route(a) => Some(a.uri().to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(routes, ["sip:p1.example.com;lr", "sip:p2.example.com;lr"]);
        assert!(
            r.headers().iter().any(
                |h| matches!(h, Header::Other(HeaderName::Allow, v) if &v[..] == b"INVITE BYE")
            )
        );
        // Serialized as received, field by field.
        let wire = r.to_bytes();
        assert!(
            wire.windows(19).any(|w| w == b"Allow: INVITE BYE\r\n"),
            "{wire:?}"
        );
        // A malformed core header still rejects the message.
        let broken = std::str::from_utf8(MSG)
            .expect("ascii")
            .replace("CSeq: 1 MESSAGE", "CSeq: x MESSAGE");
        assert!(matches!(
            parse_datagram(Bytes::from(broken), &ParseLimits::default()),
            Err(ParseError::InvalidHeader {
                name: HeaderName::CSeq,
                ..
            })
        ));
    }
}
