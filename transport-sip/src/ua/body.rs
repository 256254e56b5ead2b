//! Bodies and header values the user agent reads and writes: SDP of calls and IM
//! sessions, content types, display names, device ids.

use std::net::IpAddr;

use bytes::Bytes;
use session_core::Uri as CoreUri;

use crate::header::{Contact, Header, NameAddr};
use crate::sdp::{Sdp, SdpSession};
use crate::{Message, Request, Response};

/// The SDP of a session-mode IM invitation or its answer: one `m=message` line, as the
/// UCC clients used (see `docs/sip-mapping.md`).
pub(crate) fn im_sdp(session: &mut SdpSession, ip: IpAddr) -> Bytes {
    let family = if ip.is_ipv6() { "IP6" } else { "IP4" };
    let id = session.version();
    Bytes::from(format!(
        "v=0\r\no=- {id} {id} IN {family} {ip}\r\ns=-\r\nc=IN {family} {ip}\r\nt=0 0\r\n\
         m=message 9 SIP null\r\n\
         a=accept-types:text/plain text/html application/im-iscomposing+xml\r\n"
    ))
}

/// Whether an SDP offers session-mode IM only (a `message` line and no audio or video).
pub(crate) fn is_im_sdp(sdp: &Sdp) -> bool {
    let kinds: Vec<&str> = sdp.media.iter().map(|m| m.kind.as_str()).collect();
    kinds.contains(&"message") && !kinds.iter().any(|k| *k == "audio" || *k == "video")
}

/// `"Name" ` for a From header, quoted and escaped, or nothing.
pub(crate) fn display_name(name: Option<&str>) -> String {
    match name {
        Some(n) if !n.is_empty() => {
            let escaped: String = n
                .chars()
                .filter(|c| !c.is_control())
                .flat_map(|c| match c {
                    '"' | '\\' => vec!['\\', c],
                    _ => vec![c],
                })
                .collect();
            format!("\"{escaped}\" ")
        }
        _ => String::new(),
    }
}

/// Parses a request built as text: `head` (start line and headers, each ending in
/// CRLF) plus the body with its Content-Type.
pub(crate) fn request(
    mut head: String,
    content_type: &str,
    body: Bytes,
) -> Result<Request, String> {
    if !body.is_empty() {
        head.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut raw = head.into_bytes();
    raw.extend_from_slice(&body);
    match Message::parse(Bytes::from(raw)) {
        Ok(Message::Request(r)) => Ok(r),
        Ok(Message::Response(_)) => Err("built a response".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

/// The message's Content-Type (type/subtype and parameters as sent), `text/plain` if none.
pub(crate) fn content_type(request: &Request) -> String {
    request
        .headers()
        .iter()
        .find_map(|h| match h {
            Header::ContentType(c) => Some(String::from_utf8_lossy(c.as_bytes()).into_owned()),
            _ => None,
        })
        .unwrap_or_else(|| "text/plain".to_owned())
}

fn is_sdp(headers: &crate::Headers) -> bool {
    headers.iter().any(|h| match h {
        Header::ContentType(c) => c
            .as_bytes()
            .to_ascii_lowercase()
            .starts_with(b"application/sdp"),
        _ => false,
    })
}

/// The SDP body of a request, if it has one that parses.
pub(crate) fn sdp_of_request(request: &Request) -> Option<Sdp> {
    (is_sdp(request.headers()) && !request.body().is_empty())
        .then(|| Sdp::parse(request.body()).ok())
        .flatten()
}

/// The SDP body of a response, if it has one that parses.
pub(crate) fn sdp_of(response: &Response) -> Option<Sdp> {
    (is_sdp(response.headers()) && !response.body().is_empty())
        .then(|| Sdp::parse(response.body()).ok())
        .flatten()
}

/// A From/To address as a session-core URI.
pub(crate) fn core_uri(addr: Option<&NameAddr>) -> Option<CoreUri> {
    // Borrowed when the URI is UTF-8 (as the grammar makes it): no copy.
    CoreUri::parse(&String::from_utf8_lossy(addr?.uri().as_bytes())).ok()
}

/// The device id a peer announces: its Contact's `+sip.instance` (RFC 5626), else the
/// Contact URI itself.
pub(crate) fn device<'a>(mut contacts: impl Iterator<Item = &'a Contact>) -> Option<String> {
    let address = contacts.find_map(Contact::address)?;
    let instance = address.params().find_map(|(name, value)| {
        name.eq_ignore_ascii_case(b"+sip.instance").then(|| {
            let v = String::from_utf8_lossy(&crate::header::unquote(value?)).into_owned();
            Some(v.trim_start_matches('<').trim_end_matches('>').to_owned())
        })?
    });
    instance.or_else(|| Some(address.uri().to_string()))
}
