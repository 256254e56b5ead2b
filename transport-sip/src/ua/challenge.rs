//! Digest challenges (401/407) to INVITE and pager-mode MESSAGE: the request is sent
//! again with a new CSeq and branch and an Authorization / Proxy-Authorization answering
//! the challenge, from the endpoint's credentials (RFC 3261 §22.2, §22.3). The digest
//! client refuses to answer the same realm twice with the same credentials, so a server
//! that keeps challenging ends the request with its status instead of looping.
//!
//! "Twice" is about one request: INVITE and pager MESSAGE are first sent without
//! credentials, so a proxy that challenges every new request (Kamailio's
//! `proxy_challenge`, with a fresh nonce each time) challenges a realm already answered
//! for an earlier request. That is a fresh challenge, answered like the first one; only
//! a challenge to a request that carried an answer for the realm is a refusal. The retry
//! carries credentials only for what was challenged along this request, not for every
//! realm the endpoint knows (a registrar's realm would otherwise travel on to the
//! callee in an `Authorization` header the proxy does not consume).

use std::time::Instant;

use session_core::contract::signaling::LegId;
use tracing::debug;

use super::header_text::{push, push_front};
use super::leg::{EndpointId, LegKind};
use super::stack::{Purpose, Stack};
use crate::auth::{AuthTarget, Challenge, ChallengeOutcome, Credentials};
use crate::header::{Header, HeaderName};
use crate::transaction::TransactionKey;
use crate::{Method, Request, Response};

impl Stack {
    /// `original` again, answering the challenges of `response`; `None` when they
    /// cannot be answered (no credentials for the realm, or refused ones).
    fn authorized_retry(
        &mut self,
        ep: EndpointId,
        original: &Request,
        response: &Response,
        seq: Option<u32>,
    ) -> Option<Request> {
        let via = self.via();
        let attached = self.endpoints.get_mut(&ep)?;
        let challenged = challenges(response);
        let realms = match attached.digest.handle_challenges(response) {
            Ok(ChallengeOutcome::Retry) => Vec::new(),
            Ok(ChallengeOutcome::NeedCredentials { realms }) => realms,
            Ok(ChallengeOutcome::Rejected { realms }) => {
                // A refusal only if this request answered the realm; otherwise a fresh
                // challenge to a new request (the client took its nonce already).
                let refused: Vec<&String> = realms
                    .iter()
                    .filter(|realm| {
                        challenged
                            .iter()
                            .any(|(t, r)| r == *realm && answered(original, *t, r))
                    })
                    .collect();
                if !refused.is_empty() {
                    debug!(?refused, "credentials refused");
                    return None;
                }
                debug!(?realms, "fresh challenge to a new request");
                challenged.iter().map(|(_, r)| r.clone()).collect()
            }
            Err(e) => {
                debug!(error = %e, "challenge not answerable");
                return None;
            }
        };
        for realm in realms {
            if attached.digest.store().get(&realm).is_some() {
                continue;
            }
            let c = attached.identity.credentials.get(&realm)?;
            attached
                .digest
                .store_mut()
                .insert(&realm, Credentials::new(&c.user, &c.password));
        }
        let cseq = original.cseq()?;
        let mut retry = original.clone();
        let h = retry.headers_mut();
        h.remove_all(&HeaderName::Via);
        h.remove_all(&HeaderName::CSeq);
        h.remove_all(&HeaderName::Authorization);
        h.remove_all(&HeaderName::ProxyAuthorization);
        push_front(h, "Via", &via).ok()?;
        let next = match seq {
            Some(n) => n,
            None => cseq.seq.checked_add(1)?,
        };
        let method = String::from_utf8_lossy(cseq.method.as_bytes()).into_owned();
        push(h, "CSeq", &format!("{next} {method}")).ok()?;
        attached.digest.authorize(&mut retry, &mut self.rng).ok()?;
        // Only answers to what challenged this request: the ones it carried already and
        // the ones in this response.
        let wanted = |target: AuthTarget, realm: &str| {
            challenged.iter().any(|(t, r)| *t == target && r == realm)
                || answered(original, target, realm)
        };
        let kept: Vec<Header> = retry
            .headers()
            .iter()
            .filter(|h| authorization(h).is_some_and(|(t, r)| wanted(t, &r)))
            .cloned()
            .collect();
        let h = retry.headers_mut();
        h.remove_all(&HeaderName::Authorization);
        h.remove_all(&HeaderName::ProxyAuthorization);
        for header in kept {
            h.push(header);
        }
        Some(retry)
    }

    /// A 401/407 to the leg's INVITE: sends it again with credentials. `true` when it did.
    pub(crate) fn retry_invite_with_auth(
        &mut self,
        leg: LegId,
        key: TransactionKey,
        response: &Response,
        now: Instant,
    ) -> bool {
        let Some(l) = self.legs.get(&leg) else {
            return false;
        };
        let (ep, peer) = (l.ep, l.peer);
        let Some(original) = l
            .outgoing_invite
            .as_ref()
            .filter(|o| o.key == key && !o.cancel_wanted)
            .map(|o| o.request.clone())
        else {
            return false;
        };
        let Some(retry) = self.authorized_retry(ep, &original, response, None) else {
            return false;
        };
        let Ok(new_key) = self.txn.start_client(retry.clone(), peer, now) else {
            return false;
        };
        self.purposes.remove(&key);
        self.purposes.insert(new_key, Purpose::Invite(leg));
        if let Some(out) = self
            .legs
            .get_mut(&leg)
            .and_then(|l| l.outgoing_invite.as_mut())
        {
            out.key = new_key;
            out.request = retry;
            out.provisional_seen = false;
        }
        true
    }

    /// A 401/407 to a pager-mode MESSAGE: sends it again with credentials. `true` when
    /// it did.
    pub(crate) fn retry_message_with_auth(
        &mut self,
        leg: LegId,
        key: TransactionKey,
        response: &Response,
        now: Instant,
    ) -> bool {
        let Some(original) = self.sent.get(&key).cloned() else {
            return false;
        };
        let Some(l) = self.legs.get(&leg) else {
            return false;
        };
        if l.kind != LegKind::ImPager {
            return false;
        }
        let (ep, peer) = (l.ep, l.peer);
        let Some(retry) = self.authorized_retry(ep, &original, response, None) else {
            return false;
        };
        let seq = retry.cseq().map_or(0, |c| c.seq);
        let Ok(new_key) = self.txn.start_client(retry.clone(), peer, now) else {
            return false;
        };
        self.purposes.remove(&key);
        self.sent.remove(&key);
        self.purposes.insert(new_key, Purpose::Message(leg));
        self.sent.insert(new_key, retry);
        if let Some(l) = self.legs.get_mut(&leg) {
            l.pager_cseq = l.pager_cseq.max(seq.saturating_add(1));
            if let Some(flight) = l.in_flight.as_mut() {
                flight.0 = new_key;
            }
        }
        true
    }
    /// A 401/407 to a request inside a dialog (re-INVITE, MESSAGE, BYE): sends it again
    /// with credentials and the dialog's next CSeq (a BYE, whose dialog is over, takes
    /// the next number). `true` when it did.
    pub(crate) fn retry_in_dialog_with_auth(
        &mut self,
        leg: LegId,
        key: TransactionKey,
        response: &Response,
        now: Instant,
    ) -> bool {
        let Some(original) = self.sent.get(&key).cloned() else {
            return false;
        };
        let Some(l) = self.legs.get_mut(&leg) else {
            return false;
        };
        let (ep, method) = (l.ep, original.method().clone());
        // Advance the dialog's CSeq so later requests stay in order (§12.2.1.1).
        let seq = match (&method, l.confirmed_dialog()) {
            (Method::Bye, _) | (_, None) => None,
            (m, Some(d)) => d
                .request(m.clone())
                .ok()
                .and_then(|r| r.cseq().map(|c| c.seq)),
        };
        let Some(retry) = self.authorized_retry(ep, &original, response, seq) else {
            return false;
        };
        let peer = match self.legs.get(&leg) {
            Some(l) => l.peer,
            None => return false,
        };
        let peer = first_hop(&retry).unwrap_or(peer);
        let Ok(new_key) = self.txn.start_client(retry.clone(), peer, now) else {
            return false;
        };
        let Some(purpose) = self.purposes.remove(&key) else {
            return false;
        };
        self.sent.remove(&key);
        self.purposes.insert(new_key, purpose);
        self.sent.insert(new_key, retry);
        if let Some(l) = self.legs.get_mut(&leg) {
            match purpose {
                Purpose::ReInvite(_) => {
                    if let Some(u) = l.update.as_mut() {
                        u.0 = new_key;
                    }
                }
                Purpose::Message(_) => {
                    if let Some(f) = l.in_flight.as_mut() {
                        f.0 = new_key;
                    }
                }
                Purpose::Bye(_) => {
                    if let Some(b) = l.bye.as_mut() {
                        b.0 = new_key;
                    }
                }
                _ => {}
            }
        }
        true
    }
}

/// The (target, realm) of every digest challenge in a 401/407.
fn challenges(response: &Response) -> Vec<(AuthTarget, String)> {
    response
        .headers()
        .iter()
        .filter_map(|h| Challenge::from_header(h)?.ok())
        .map(|c| (c.target, c.realm))
        .collect()
}

/// The (target, realm) an Authorization or Proxy-Authorization header answers.
fn authorization(h: &Header) -> Option<(AuthTarget, String)> {
    let (target, auth) = match h {
        Header::Authorization(a) => (AuthTarget::Www, a),
        Header::ProxyAuthorization(a) => (AuthTarget::Proxy, a),
        _ => return None,
    };
    let realm = auth.param("realm")?;
    Some((target, String::from_utf8_lossy(&realm).into_owned()))
}

/// Whether `request` carried an answer to a `target` challenge of `realm`.
fn answered(request: &Request, target: AuthTarget, realm: &str) -> bool {
    request
        .headers()
        .iter()
        .filter_map(authorization)
        .any(|(t, r)| t == target && r == realm)
}

/// The transaction peer of a request's first hop when it is an IP literal (its first
/// Route, else its Request-URI), over the transport its Via names.
fn first_hop(request: &Request) -> Option<crate::transaction::Peer> {
    let uri = request
        .headers()
        .iter()
        .find_map(|h| match h {
            Header::Route(r) => Some(r.uri().clone()),
            _ => None,
        })
        .unwrap_or_else(|| request.uri().clone());
    let ip = match uri.host()? {
        crate::Host::Ipv4(a) => std::net::IpAddr::V4(a),
        crate::Host::Ipv6(a) => std::net::IpAddr::V6(a),
        crate::Host::Domain(_) => return None,
    };
    let transport = request.top_via()?.transport();
    let port = uri
        .port()
        .unwrap_or(if transport == crate::header::Transport::Tls {
            5061
        } else {
            5060
        });
    Some(crate::transaction::Peer::new(
        std::net::SocketAddr::new(ip, port),
        transport,
    ))
}
