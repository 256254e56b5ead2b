//! Transaction identity: the opaque [`TransactionKey`] the TU holds, and the matching
//! keys of RFC 3261 §17.1.3 (client) and §17.2.3 (server, with the RFC 2543 fallback).

use std::fmt::{self, Write as _};

use rand::Rng;

use crate::header::Via;
use crate::message::{Method, Request, Response};
use crate::uri::Uri;

/// The RFC 3261 branch prefix (§8.1.1.7).
pub const MAGIC_COOKIE: &str = "z9hG4bK";

/// A handle to one live transaction, client or server. Keys are never reused by a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionKey(pub(crate) u64);

impl fmt::Display for TransactionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "txn-{}", self.0)
    }
}

/// A new Via branch: the magic cookie followed by 64 random bits in hex (§8.1.1.7).
pub fn new_branch() -> String {
    branch_from(&mut rand::rng())
}

pub(crate) fn branch_from(rng: &mut impl Rng) -> String {
    format!("{MAGIC_COOKIE}{:016x}", rng.random::<u64>())
}

/// The method a transaction is keyed under: an ACK belongs to its INVITE (§17.2.3).
fn keyed_method(m: &Method) -> Method {
    match m {
        Method::Ack => Method::Invite,
        other => other.clone(),
    }
}

/// Client transaction matching (§17.1.3): top Via branch plus CSeq method.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ClientKey {
    branch: String,
    method: Method,
}

impl ClientKey {
    /// The key of a request the TU sends.
    pub(crate) fn of_request(req: &Request) -> Option<ClientKey> {
        Some(ClientKey {
            branch: req.top_via()?.branch()?.to_owned(),
            method: req.method().clone(),
        })
    }

    /// The key a response is matched under.
    pub(crate) fn of_response(resp: &Response) -> Option<ClientKey> {
        Some(ClientKey {
            branch: resp.top_via()?.branch()?.to_owned(),
            method: resp.cseq()?.method.clone(),
        })
    }
}

/// Server transaction matching for RFC 3261 requests (§17.2.3): branch, sent-by and
/// method, with ACK keyed as INVITE.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ServerKey {
    /// The branch, a space (in neither a branch nor a host) and the sent-by host in
    /// lower case: one allocation per key.
    branch_host: String,
    port: Option<u16>,
    method: Method,
}

impl ServerKey {
    /// The key of a request whose top Via branch has the magic cookie; `None` for an
    /// RFC 2543 request (use [`LegacyKey`]).
    pub(crate) fn of_request(req: &Request) -> Option<ServerKey> {
        let via = req.top_via()?;
        if !via.is_rfc3261_branch() {
            return None;
        }
        ServerKey::of_via(via, keyed_method(req.method()))
    }

    fn of_via(via: &Via, method: Method) -> Option<ServerKey> {
        let branch = via.branch()?;
        let mut branch_host = String::with_capacity(branch.len() + 48);
        branch_host.push_str(branch);
        branch_host.push(' ');
        // Writing into a String cannot fail.
        let _ = write!(branch_host, "{}", via.host());
        branch_host[branch.len() + 1..].make_ascii_lowercase();
        Some(ServerKey {
            branch_host,
            port: via.port(),
            method,
        })
    }

    /// The same branch and sent-by under another method (a CANCEL looking for its INVITE).
    pub(crate) fn with_method(&self, method: Method) -> ServerKey {
        ServerKey {
            method,
            ..self.clone()
        }
    }
}

/// What an RFC 2543 request is matched on (§17.2.3, and §9.2 for CANCEL).
#[derive(Debug, Clone)]
pub(crate) struct LegacyKey {
    uri: Uri,
    to_tag: Option<String>,
    from_tag: Option<String>,
    call_id: Vec<u8>,
    seq: u32,
    method: Method,
    top_via: Vec<u8>,
}

impl LegacyKey {
    pub(crate) fn of_request(req: &Request) -> Option<LegacyKey> {
        let cseq = req.cseq()?;
        Some(LegacyKey {
            uri: req.uri().clone(),
            to_tag: req.to()?.tag().map(str::to_owned),
            from_tag: req.from()?.tag().map(str::to_owned),
            call_id: req.call_id()?.as_bytes().to_vec(),
            seq: cseq.seq,
            method: cseq.method.clone(),
            top_via: req.top_via()?.as_bytes().to_vec(),
        })
    }

    /// The fields every rule compares: Request-URI, From tag, Call-ID, CSeq number, top Via.
    fn common(&self, other: &LegacyKey) -> bool {
        self.seq == other.seq
            && self.call_id == other.call_id
            && self.from_tag == other.from_tag
            && self.top_via == other.top_via
            && self.uri.equivalent(&other.uri)
    }

    /// A retransmission of the request that created this transaction: all of the
    /// above plus the To tag and the CSeq method.
    pub(crate) fn matches_request(&self, other: &LegacyKey) -> bool {
        self.method == other.method && self.to_tag == other.to_tag && self.common(other)
    }

    /// An ACK for this INVITE transaction: its To tag is the one of the response sent.
    pub(crate) fn matches_ack(&self, ack: &LegacyKey, response_to_tag: Option<&str>) -> bool {
        self.method == Method::Invite
            && ack.to_tag.as_deref() == response_to_tag
            && self.common(ack)
    }

    /// A CANCEL for this INVITE transaction (§9.2): the To tag too, not the method.
    pub(crate) fn matches_cancel(&self, cancel: &LegacyKey) -> bool {
        self.method == Method::Invite && self.to_tag == cancel.to_tag && self.common(cancel)
    }
}

/// Call-ID and CSeq number: the index server transactions are found under for RFC 2543
/// matching and for routing an ACK for 2xx to its INVITE transaction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CSeqKey {
    call_id: Vec<u8>,
    seq: u32,
}

impl CSeqKey {
    pub(crate) fn of_request(req: &Request) -> Option<CSeqKey> {
        Some(CSeqKey {
            call_id: req.call_id()?.as_bytes().to_vec(),
            seq: req.cseq()?.seq,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::fixtures::{request, with_header};

    #[test]
    fn branches_are_rfc3261_and_unique() {
        let a = new_branch();
        let b = new_branch();
        assert!(a.starts_with(MAGIC_COOKIE));
        assert_eq!(a.len(), MAGIC_COOKIE.len() + 16);
        assert_ne!(a, b);
    }

    #[test]
    fn server_key_uses_branch_sent_by_and_method() {
        let invite = request(Method::Invite, "z9hG4bKabc", "Host.Example.com:5060");
        let ack = request(Method::Ack, "z9hG4bKabc", "host.example.com:5060");
        let cancel = request(Method::Cancel, "z9hG4bKabc", "host.example.com:5060");
        let other_port = request(Method::Invite, "z9hG4bKabc", "host.example.com:5070");
        let k = ServerKey::of_request(&invite).expect("cookie");
        assert_eq!(ServerKey::of_request(&ack), Some(k.clone()));
        let c = ServerKey::of_request(&cancel).expect("cookie");
        assert_ne!(c, k);
        assert_eq!(c.with_method(Method::Invite), k);
        assert_ne!(ServerKey::of_request(&other_port), Some(k.clone()));
        let other_host = request(Method::Invite, "z9hG4bKabc", "hosts.example.com:5060");
        assert_ne!(ServerKey::of_request(&other_host), Some(k.clone()));
        let other_branch = request(Method::Invite, "z9hG4bKabd", "host.example.com:5060");
        assert_ne!(ServerKey::of_request(&other_branch), Some(k));
        let legacy = request(Method::Invite, "1234", "host.example.com");
        assert_eq!(ServerKey::of_request(&legacy), None);
    }

    #[test]
    fn legacy_rules() {
        let invite = request(Method::Invite, "old1", "h.example.com");
        let k = LegacyKey::of_request(&invite).expect("complete");
        assert!(k.matches_request(&k));
        let other_via = request(Method::Invite, "old2", "h.example.com");
        assert!(!k.matches_request(&LegacyKey::of_request(&other_via).expect("complete")));
        let ack = with_header(
            request(Method::Ack, "old1", "h.example.com"),
            "To",
            "<sip:bob@example.com>;tag=t9",
        );
        let ack = LegacyKey::of_request(&ack).expect("complete");
        assert!(k.matches_ack(&ack, Some("t9")));
        assert!(!k.matches_ack(&ack, Some("other")));
        let cancel = LegacyKey::of_request(&request(Method::Cancel, "old1", "h.example.com"))
            .expect("complete");
        assert!(k.matches_cancel(&cancel));
        assert!(!k.matches_request(&cancel));
    }
}
