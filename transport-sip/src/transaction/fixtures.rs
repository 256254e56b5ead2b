//! Messages and helpers shared by the unit tests of this module.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::output::Transmit;
use super::peer::Peer;
use crate::header::{Header, HeaderName};
use crate::message::{Message, Method, Request, Response};

/// A request from `sent_by` with the given branch, Call-ID `call-1@example.com`, CSeq 1.
pub(crate) fn request(method: Method, branch: &str, sent_by: &str) -> Request {
    let m = method.to_string();
    let raw = format!(
        "{m} sip:bob@example.com SIP/2.0\r\n\
         Via: SIP/2.0/UDP {sent_by};branch={branch}\r\n\
         Max-Forwards: 70\r\n\
         To: <sip:bob@example.com>\r\n\
         From: <sip:alice@example.com>;tag=a1\r\n\
         Call-ID: call-1@example.com\r\n\
         CSeq: 1 {m}\r\n\
         Content-Length: 0\r\n\r\n"
    );
    match Message::parse(Bytes::from(raw)) {
        Ok(Message::Request(r)) => r,
        other => panic!("fixture does not parse: {other:?}"),
    }
}

/// `req` with every `name` header replaced by one with `value`.
pub(crate) fn with_header(mut req: Request, name: &str, value: &str) -> Request {
    let name = HeaderName::parse(name.as_bytes()).expect("header name");
    let mut parsed: Vec<Header> = Vec::new();
    Header::parse_into(&name, value.as_bytes(), &mut parsed).expect("header value");
    req.headers_mut().remove_all(&name);
    for h in parsed {
        req.headers_mut().push(h);
    }
    req
}

pub(crate) fn server_addr() -> SocketAddr {
    "192.0.2.2:5060".parse().expect("addr")
}

pub(crate) fn client_addr() -> SocketAddr {
    "192.0.2.1:5060".parse().expect("addr")
}

pub(crate) fn udp_server() -> Peer {
    Peer::udp(server_addr())
}

pub(crate) fn tcp_server() -> Peer {
    Peer::tcp(server_addr())
}

pub(crate) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub(crate) fn start() -> Instant {
    Instant::now()
}

pub(crate) fn parse(t: &Transmit) -> Message {
    Message::parse(t.payload.clone()).expect("sent messages parse")
}

pub(crate) fn sent_response(t: &Transmit) -> Response {
    match parse(t) {
        Message::Response(r) => r,
        Message::Request(r) => panic!("expected a response, got {}", r.method()),
    }
}

pub(crate) fn sent_request(t: &Transmit) -> Request {
    match parse(t) {
        Message::Request(r) => r,
        Message::Response(r) => panic!("expected a request, got {}", r.status()),
    }
}
