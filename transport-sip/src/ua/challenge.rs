//! Digest challenges (401/407) to INVITE and pager-mode MESSAGE: the request is sent
//! again with a new CSeq and branch and an Authorization / Proxy-Authorization answering
//! the challenge, from the endpoint's credentials (RFC 3261 §22.2, §22.3). The digest
//! client refuses to answer the same realm twice with the same credentials, so a server
//! that keeps challenging ends the request with its status instead of looping.

use std::time::Instant;

use session_core::contract::signaling::LegId;
use tracing::debug;

use super::header_text::{push, push_front};
use super::leg::{EndpointId, LegKind};
use super::stack::{Purpose, Stack};
use crate::auth::{ChallengeOutcome, Credentials};
use crate::header::HeaderName;
use crate::transaction::TransactionKey;
use crate::{Request, Response};

impl Stack {
    /// `original` again, answering the challenges of `response`; `None` when they
    /// cannot be answered (no credentials for the realm, or refused ones).
    fn authorized_retry(
        &mut self,
        ep: EndpointId,
        original: &Request,
        response: &Response,
    ) -> Option<Request> {
        let via = self.via();
        let attached = self.endpoints.get_mut(&ep)?;
        match attached.digest.handle_challenges(response) {
            Ok(ChallengeOutcome::Retry) => {}
            Ok(ChallengeOutcome::NeedCredentials { realms }) => {
                for realm in realms {
                    let c = attached.identity.credentials.get(&realm)?;
                    attached
                        .digest
                        .store_mut()
                        .insert(&realm, Credentials::new(&c.user, &c.password));
                }
            }
            Ok(ChallengeOutcome::Rejected { realms }) => {
                debug!(?realms, "credentials refused");
                return None;
            }
            Err(e) => {
                debug!(error = %e, "challenge not answerable");
                return None;
            }
        }
        let cseq = original.cseq()?;
        let mut retry = original.clone();
        let h = retry.headers_mut();
        h.remove_all(&HeaderName::Via);
        h.remove_all(&HeaderName::CSeq);
        h.remove_all(&HeaderName::Authorization);
        h.remove_all(&HeaderName::ProxyAuthorization);
        push_front(h, "Via", &via).ok()?;
        let next = cseq.seq.checked_add(1)?;
        let method = String::from_utf8_lossy(cseq.method.as_bytes()).into_owned();
        push(h, "CSeq", &format!("{next} {method}")).ok()?;
        attached.digest.authorize(&mut retry, &mut self.rng).ok()?;
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
        let Some(retry) = self.authorized_retry(ep, &original, response) else {
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
        let Some(original) = self.sent.remove(&key) else {
            return false;
        };
        let Some(l) = self.legs.get(&leg) else {
            return false;
        };
        if l.kind != LegKind::ImPager {
            return false;
        }
        let (ep, peer) = (l.ep, l.peer);
        let Some(retry) = self.authorized_retry(ep, &original, response) else {
            return false;
        };
        let seq = retry.cseq().map_or(0, |c| c.seq);
        let Ok(new_key) = self.txn.start_client(retry.clone(), peer, now) else {
            return false;
        };
        self.purposes.remove(&key);
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
}
