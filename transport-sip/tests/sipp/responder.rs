//! Test support shared by `tests/transports.rs` and `tests/sipp_interop.rs`: build
//! requests, answer them (RFC 3261 §8.2.6) and run a small responder on a
//! `TransportLayer`.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use transport_sip::header::{ContentLength, Header, NameAddr};
use transport_sip::transport::{Incoming, Source, TransportKind, TransportLayer};
use transport_sip::{Message, Method, Request, Response, StatusCode};

/// A request with a Via naming `sent_by` over `kind`, parsed from text.
// Test helper: positional arguments read better at the call sites than a struct.
#[allow(clippy::too_many_arguments)]
pub(crate) fn request(
    method: &str,
    uri: &str,
    kind: TransportKind,
    sent_by: SocketAddr,
    branch: &str,
    call_id: &str,
    cseq: u32,
    body: &str,
) -> Request {
    let raw = format!(
        "{method} {uri} SIP/2.0\r\n\
         Via: SIP/2.0/{kind} {sent_by};branch={branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:client@{sent_by}>;tag=c{cseq}\r\n\
         To: <{uri}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} {method}\r\n\
         Content-Type: text/plain\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    match Message::parse(Bytes::from(raw)).expect("test request parses") {
        Message::Request(r) => r,
        Message::Response(_) => panic!("built a response"),
    }
}

/// The response to `request` built as RFC 3261 §8.2.6 says: Via values in order, From,
/// To with a tag added if it had none, Call-ID, CSeq, and an empty body.
pub(crate) fn response_to(request: &Request, status: StatusCode, to_tag: &str) -> Response {
    let mut response = Response::new(status);
    let headers = response.headers_mut();
    for via in request.vias() {
        headers.push(Header::Via(via.clone()));
    }
    if let Some(from) = request.from() {
        headers.push(Header::From(from.clone()));
    }
    if let Some(to) = request.to() {
        let to = if to.tag().is_some() {
            to.clone()
        } else {
            let mut raw = to.as_bytes().to_vec();
            raw.extend_from_slice(format!(";tag={to_tag}").as_bytes());
            NameAddr::parse(&raw).expect("To with a tag parses")
        };
        headers.push(Header::To(to));
    }
    if let Some(call_id) = request.call_id() {
        headers.push(Header::CallId(call_id.clone()));
    }
    if let Some(cseq) = request.cseq() {
        headers.push(Header::CSeq(cseq.clone()));
    }
    headers.push(Header::ContentLength(ContentLength(0)));
    response
}

/// What the responder saw.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    /// The method.
    pub(crate) method: Method,
    /// Where it came from.
    pub(crate) source: Source,
    /// The top Via as delivered (stamped).
    pub(crate) top_via: Vec<u8>,
}

/// Answers every request but ACK with 200 until `stop` fires or the channel closes;
/// returns what it answered.
pub(crate) fn spawn_responder(
    layer: Arc<TransportLayer>,
    mut incoming: mpsc::Receiver<Incoming>,
    stop: oneshot::Receiver<()>,
) -> JoinHandle<Vec<Seen>> {
    tokio::spawn(async move {
        let mut seen = Vec::new();
        tokio::pin!(stop);
        loop {
            let msg = tokio::select! {
                m = incoming.recv() => match m { Some(m) => m, None => break },
                _ = &mut stop => break,
            };
            let Message::Request(req) = msg.message else {
                continue;
            };
            seen.push(Seen {
                method: req.method().clone(),
                source: msg.source,
                top_via: req
                    .top_via()
                    .map(|v| v.as_bytes().to_vec())
                    .unwrap_or_default(),
            });
            if req.method() == &Method::Ack {
                continue;
            }
            let response = response_to(&req, StatusCode::OK, "responder");
            layer
                .send_response(&response, Some(&msg.source))
                .await
                .expect("response sent");
        }
        seen
    })
}
