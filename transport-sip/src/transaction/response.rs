//! Building responses (RFC 3261 §8.2.6) and the requests the layer generates itself:
//! the ACK for a non-2xx (§17.1.1.3) and CANCEL (§9.1).

use bytes::Bytes;

use crate::header::{CSeq, ContentLength, Header, MaxForwards, NameAddr};
use crate::message::{Method, Request, Response, StatusCode};

/// Fields a transaction user typically adds to a response besides the copied ones.
const RESPONSE_FIELDS_ADDED: usize = 8;

/// A response to `request` with `status` (§8.2.6.2): the Via values, From, To, Call-ID
/// and CSeq are copied, and `to_tag` is added to To unless it already carries a tag. The
/// body is empty. A tag that would not parse is left out.
pub fn response_for(request: &Request, status: StatusCode, to_tag: Option<&str>) -> Response {
    let mut resp = Response::new(status);
    let h = resp.headers_mut();
    // The copied fields, and room for what the transaction user adds (Contact,
    // Content-Type, Allow, Supported, Server, …).
    h.reserve(request.vias().count() + 4 + RESPONSE_FIELDS_ADDED);
    for via in request.vias() {
        h.push(Header::Via(via.clone()));
    }
    if let Some(from) = request.from() {
        h.push(Header::From(from.clone()));
    }
    if let Some(to) = request.to() {
        h.push(Header::To(match to_tag {
            Some(tag) if to.tag().is_none() => with_tag(to, tag),
            _ => to.clone(),
        }));
    }
    if let Some(c) = request.call_id() {
        h.push(Header::CallId(c.clone()));
    }
    if let Some(c) = request.cseq() {
        h.push(Header::CSeq(c.clone()));
    }
    resp.set_body(Bytes::new());
    resp
}

/// `addr` with `;tag=tag` appended, or `addr` unchanged if that does not parse.
fn with_tag(addr: &NameAddr, tag: &str) -> NameAddr {
    let mut raw = addr.as_bytes().to_vec();
    raw.extend_from_slice(b";tag=");
    raw.extend_from_slice(tag.as_bytes());
    NameAddr::parse(&raw).unwrap_or_else(|_| addr.clone())
}

/// Copies the headers shared by ACK and CANCEL: top Via, Route set, Max-Forwards,
/// From, To (given), Call-ID and CSeq number with `method`.
fn derived_request(request: &Request, method: Method, to: Option<&NameAddr>) -> Request {
    let mut out = Request::new(method.clone(), request.uri().clone());
    let h = out.headers_mut();
    if let Some(via) = request.top_via() {
        h.push(Header::Via(via.clone()));
    }
    for header in request.headers() {
        if let Header::Route(r) = header {
            h.push(Header::Route(r.clone()));
        }
    }
    h.push(Header::MaxForwards(
        request.max_forwards().unwrap_or(MaxForwards(70)),
    ));
    if let Some(from) = request.from() {
        h.push(Header::From(from.clone()));
    }
    if let Some(to) = to {
        h.push(Header::To(to.clone()));
    }
    if let Some(c) = request.call_id() {
        h.push(Header::CallId(c.clone()));
    }
    if let Some(c) = request.cseq() {
        h.push(Header::CSeq(CSeq { seq: c.seq, method }));
    }
    h.push(Header::ContentLength(ContentLength(0)));
    out
}

/// The ACK for a non-2xx final `response` to `invite` (§17.1.1.3): the INVITE's
/// Request-URI, top Via, Route set, From, Call-ID and CSeq number, with To from the
/// response.
pub(crate) fn ack_for(invite: &Request, response: &Response) -> Request {
    derived_request(invite, Method::Ack, response.to().or(invite.to()))
}

/// The CANCEL for `invite` (§9.1): Request-URI, top Via, Route set, From, To, Call-ID
/// and CSeq number of the INVITE.
pub(crate) fn cancel_for(invite: &Request) -> Request {
    derived_request(invite, Method::Cancel, invite.to())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Message;
    use crate::header::HeaderName;
    use crate::transaction::fixtures::request;

    #[test]
    fn response_copies_headers_and_adds_tag() {
        let req = request(Method::Options, "z9hG4bK1", "a.example.com");
        let r = response_for(&req, StatusCode::OK, Some("abc"));
        assert_eq!(r.to().and_then(|t| t.tag()), Some("abc"));
        assert_eq!(r.from(), req.from());
        assert_eq!(r.cseq(), req.cseq());
        assert_eq!(r.top_via(), req.top_via());
        // Round-trips through the parser.
        let Message::Response(back) = Message::parse(r.to_bytes()).expect("parses") else {
            panic!("not a response")
        };
        assert_eq!(back.status(), StatusCode::OK);
        assert_eq!(back.to().and_then(|t| t.tag()), Some("abc"));
    }

    #[test]
    fn ack_follows_17_1_1_3() {
        let mut invite = request(Method::Invite, "z9hG4bKinv", "a.example.com");
        let mut routes = Vec::new();
        Header::parse_into(&HeaderName::Route, b"<sip:p1;lr>, <sip:p2;lr>", &mut routes)
            .expect("route");
        for r in routes {
            invite.headers_mut().insert(1, r);
        }
        let resp = response_for(&invite, StatusCode::new(486).expect("code"), Some("callee"));
        let ack = ack_for(&invite, &resp);
        assert_eq!(ack.method(), &Method::Ack);
        assert_eq!(ack.uri(), invite.uri());
        assert_eq!(ack.vias().count(), 1);
        assert_eq!(ack.top_via(), invite.top_via());
        assert_eq!(ack.to().and_then(|t| t.tag()), Some("callee"));
        assert_eq!(ack.from(), invite.from());
        assert_eq!(ack.call_id(), invite.call_id());
        let cseq = ack.cseq().expect("cseq");
        assert_eq!((cseq.seq, &cseq.method), (1, &Method::Ack));
        let routes: Vec<_> = ack
            .headers()
            .iter()
            .filter(|h| matches!(h, Header::Route(_)))
            .collect();
        assert_eq!(routes.len(), 2);
        assert!(Message::parse(ack.to_bytes()).is_ok());
        let cancel = cancel_for(&invite);
        assert_eq!(cancel.cseq().map(|c| &c.method), Some(&Method::Cancel));
        assert_eq!(cancel.top_via(), invite.top_via());
        assert_eq!(cancel.to(), invite.to());
    }
}
