//! Requests this side starts: INVITE, CANCEL, re-INVITE, MESSAGE, BYE, and what their
//! responses do to the leg.

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;
use rand::Rng;
use session_core::contract::signaling::{Answer, Inbound, Invite, LegId, Progress};
use session_core::description::SessionDescription;
use session_core::error::SignalingError;
use session_core::session::SessionType;
use session_core::status::{Reason, Status, StatusCode};
use tracing::debug;

use super::body;
use super::header_text::{push, push_front};
use super::leg::{Done, EndpointId, Leg, LegKind, OutgoingInvite, QueuedMessage};
use super::stack::{Purpose, Stack};
use crate::dialog::{Dialog, DialogId, glare_retry_delay};
use crate::sdp::SdpSession;
use crate::transaction::{Peer, TransactionKey};
use crate::{Message, Method, Request, Response};

/// Statuses after which a session-mode IM invitation falls back to pager mode.
const PAGER_FALLBACK: [u16; 5] = [405, 415, 488, 501, 606];

impl Stack {
    /// `Via` value for a new request.
    pub(crate) fn via(&mut self) -> String {
        let branch = self.txn.new_branch();
        format!(
            "SIP/2.0/{} {};branch={branch};rport",
            self.config.transport.via_token(),
            self.local
        )
    }

    /// The pre-loaded `Route` header line of the outbound proxy, or nothing.
    pub(crate) fn proxy_route(&self) -> String {
        match &self.config.outbound_proxy {
            Some(proxy) if proxy.lr() => format!("Route: <{proxy}>\r\n"),
            Some(proxy) => format!("Route: <{proxy};lr>\r\n"),
            None => String::new(),
        }
    }

    /// `Contact` value for endpoint `ep`.
    pub(crate) fn contact(&self, ep: EndpointId) -> String {
        let (user, instance) = self
            .endpoints
            .get(&ep)
            .map(|a| {
                (
                    a.identity.uri.user().unwrap_or("ucc").to_owned(),
                    a.instance.clone(),
                )
            })
            .unwrap_or_else(|| ("ucc".to_owned(), String::new()));
        let transport = match self.config.transport {
            crate::transport::TransportKind::Udp => "",
            crate::transport::TransportKind::Tcp => ";transport=tcp",
            crate::transport::TransportKind::Tls => ";transport=tls",
        };
        format!(
            "<sip:{user}@{}{transport}>;+sip.instance=\"<urn:uuid:{instance}>\"",
            self.local
        )
    }

    /// The peer a URI resolves to, over this stack's transport.
    pub(crate) async fn peer_for(&self, uri: &crate::Uri) -> Result<Peer, SignalingError> {
        let target = self
            .transport
            .target_for_uri(uri)
            .await
            .map_err(|e| unreachable(&e.to_string()))?;
        Ok(Peer::new(target.addr, self.via_transport()))
    }

    pub(crate) fn via_transport(&self) -> crate::header::Transport {
        match self.config.transport {
            crate::transport::TransportKind::Udp => crate::header::Transport::Udp,
            crate::transport::TransportKind::Tcp => crate::header::Transport::Tcp,
            crate::transport::TransportKind::Tls => crate::header::Transport::Tls,
        }
    }

    /// Where an in-dialog request goes: its first Route, else its Request-URI (§12.2.1.1).
    pub(crate) async fn next_hop(&self, request: &Request) -> Result<Peer, SignalingError> {
        let route = request.headers().iter().find_map(|h| match h {
            crate::Header::Route(r) => Some(r.uri().clone()),
            _ => None,
        });
        let uri = route.unwrap_or_else(|| request.uri().clone());
        self.peer_for(&uri).await
    }

    pub(crate) async fn send_invite(
        &mut self,
        ep: EndpointId,
        leg: LegId,
        invite: Invite,
        done: Done<Answer>,
        now: Instant,
    ) {
        let kind = match invite.session_type {
            SessionType::InstantMessaging => LegKind::ImSession,
            _ => LegKind::Call,
        };
        let to = invite.to.to_string();
        let request_uri = match crate::Uri::parse(to.as_bytes()) {
            Ok(u) => u,
            Err(e) => {
                let _ = done.send(Err(bad_request(&format!("{to}: {e}"))));
                return;
            }
        };
        let first_hop = self.config.outbound_proxy.clone().unwrap_or(request_uri);
        let peer = match self.peer_for(&first_hop).await {
            Ok(p) => p,
            Err(e) => {
                let _ = done.send(Err(e));
                return;
            }
        };
        let local_tag = self.txn.new_tag();
        let call_id = format!("{:032x}@{}", self.rng.random::<u128>(), self.local.ip());
        let mut sdp = SdpSession::new(self.rng.random::<u32>().into(), self.local.ip());
        let (content_type, body) = match (kind, &invite.offer) {
            (LegKind::Call, Some(offer)) => match sdp.local_sdp(offer) {
                Ok(s) => ("application/sdp", Bytes::from(s.to_bytes())),
                Err(e) => {
                    let _ = done.send(Err(bad_request(&e.to_string())));
                    return;
                }
            },
            (LegKind::Call, None) => ("", Bytes::new()),
            _ => ("application/sdp", body::im_sdp(&mut sdp, self.local.ip())),
        };
        let from = invite.from.to_string();
        let display = self
            .endpoints
            .get(&ep)
            .and_then(|a| a.identity.display_name.clone());
        let mut head = format!(
            "INVITE {to} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\n\
             From: {display}<{from}>;tag={local_tag}\r\nTo: <{to}>\r\nCall-ID: {call_id}\r\n\
             CSeq: 1 INVITE\r\nContact: {contact}\r\nAllow: {ALLOW}\r\nUser-Agent: {ua}\r\n",
            via = self.via(),
            display = body::display_name(display.as_deref()),
            contact = self.contact(ep),
            ua = self.config.user_agent,
        );
        if let Some(cid) = &invite.conversation_id {
            head.push_str(&format!("{}: {cid}\r\n", super::conversation::HEADER));
        }
        head.push_str(&self.proxy_route());
        let request = match body::request(head, content_type, body) {
            Ok(r) => r,
            Err(e) => {
                let _ = done.send(Err(bad_request(&e)));
                return;
            }
        };
        let key = match self.txn.start_client(request.clone(), peer, now) {
            Ok(k) => k,
            Err(e) => {
                let _ = done.send(Err(overloaded(&e.to_string())));
                return;
            }
        };
        self.purposes.insert(key, Purpose::Invite(leg));
        self.legs.insert(
            leg,
            Leg {
                id: leg,
                ep,
                kind,
                call_id,
                local_tag,
                peer,
                remote_uri: to,
                local_uri: from,
                dialog: None,
                sdp,
                conversation_id: invite.conversation_id,
                outgoing_invite: Some(OutgoingInvite {
                    key,
                    request,
                    done: Some(done),
                    provisional_seen: false,
                    cancel_wanted: false,
                }),
                incoming_invite: None,
                pending_2xx: None,
                update: None,
                outbox: VecDeque::new(),
                in_flight: None,
                pager_cseq: 1,
                held_message: None,
                bye: None,
                ended: false,
                late_offer: false,
            },
        );
    }

    pub(crate) fn cancel(&mut self, leg: LegId, now: Instant) -> Result<(), SignalingError> {
        let l = self
            .legs
            .get_mut(&leg)
            .ok_or_else(SignalingError::unknown_leg)?;
        let Some(out) = l.outgoing_invite.as_mut() else {
            return Ok(()); // answered already: session-core terminates instead
        };
        out.cancel_wanted = true;
        if out.provisional_seen {
            let key = out.key;
            if let Ok(cancel) = self.txn.cancel(key, now) {
                self.purposes.insert(cancel, Purpose::Cancel);
            }
        }
        Ok(())
    }

    pub(crate) async fn on_response(
        &mut self,
        key: TransactionKey,
        response: Response,
        now: Instant,
    ) {
        match self.purposes.get(&key).copied() {
            Some(Purpose::Register(ep)) => self.on_register_response(ep, response, now).await,
            Some(Purpose::Invite(leg)) => self.on_invite_response(leg, key, response, now).await,
            Some(Purpose::ReInvite(leg)) => {
                let code = response.status().as_u16();
                if matches!(code, 401 | 407)
                    && self.retry_in_dialog_with_auth(leg, key, &response, now)
                {
                    return;
                }
                self.on_reinvite_response(leg, response).await;
            }
            Some(Purpose::Message(leg)) if is_final(&response) => {
                let code = response.status().as_u16();
                if matches!(code, 401 | 407)
                    && (self.retry_message_with_auth(leg, key, &response, now)
                        || self.retry_in_dialog_with_auth(leg, key, &response, now))
                {
                    return;
                }
                let result = if response.status().as_u16() < 300 {
                    Ok(())
                } else {
                    Err(rejected(&response))
                };
                if let Some((_, done)) = self.legs.get_mut(&leg).and_then(|l| l.in_flight.take()) {
                    let _ = done.send(result);
                }
                self.pump(leg, now).await;
            }
            Some(Purpose::Bye(leg)) if is_final(&response) => {
                if matches!(response.status().as_u16(), 401 | 407)
                    && self.retry_in_dialog_with_auth(leg, key, &response, now)
                {
                    return;
                }
                if let Some((_, done)) = self.legs.get_mut(&leg).and_then(|l| l.bye.take()) {
                    let _ = done.send(Ok(()));
                }
                self.forget(leg);
            }
            _ => {}
        }
    }

    async fn on_invite_response(
        &mut self,
        leg: LegId,
        key: TransactionKey,
        response: Response,
        now: Instant,
    ) {
        let code = response.status().as_u16();
        if matches!(code, 401 | 407) && self.retry_invite_with_auth(leg, key, &response, now) {
            return;
        }
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        let ep = l.ep;
        if code < 200 {
            let Some(out) = l.outgoing_invite.as_mut() else {
                return;
            };
            out.provisional_seen = true;
            if out.cancel_wanted {
                if let Ok(cancel) = self.txn.cancel(key, now) {
                    self.purposes.insert(cancel, Purpose::Cancel);
                }
                return;
            }
            let progress = match code {
                180 => Some(Progress::Ringing),
                183 => Some(Progress::SessionProgress),
                _ => None,
            };
            if let Some(progress) = progress {
                self.deliver(ep, Inbound::Progress { leg, progress });
            }
            return;
        }
        if code >= 300 {
            let Some(mut out) = l.outgoing_invite.take() else {
                return;
            };
            let fallback = l.kind == LegKind::ImSession
                && !out.cancel_wanted
                && PAGER_FALLBACK.contains(&code);
            let result = if fallback {
                debug!(%leg, code, "peer declines session-mode IM; using pager mode");
                l.kind = LegKind::ImPager;
                // The MESSAGEs reuse the INVITE's Call-ID and From tag: their CSeq must
                // follow the INVITE's, or a UAS still holding that INVITE transaction
                // sees a merged request (RFC 3261 §8.2.2.2, 482) and a CSeq going back.
                let invite_seq = out.request.cseq().map_or(0, |c| c.seq);
                l.pager_cseq = l.pager_cseq.max(invite_seq.saturating_add(1));
                let call_id = l.call_id.clone();
                self.pagers.insert(call_id, leg);
                Ok(Answer::default())
            } else if out.cancel_wanted {
                Err(SignalingError::cancelled())
            } else {
                Err(rejected(&response))
            };
            if let Some(done) = out.done.take() {
                let _ = done.send(result);
            }
            if !fallback {
                self.forget(leg);
            }
            return;
        }
        // 2xx: the first makes the dialog; retransmissions are ACKed again; a 2xx with
        // another To tag is a forked dialog, ACKed and ended at once (RFC 3261 §13.2.2.4).
        let Some(id) = DialogId::of_response(&response) else {
            return;
        };
        let known = l.dialog.as_ref().map(|d| d.id().clone());
        match known {
            Some(k) if k == id => {
                self.send_ack(leg).await;
                return;
            }
            Some(_) => {
                let invite = l
                    .outgoing_invite
                    .as_ref()
                    .map(|o| o.request.clone())
                    .or_else(|| invite_of_fork(&l.remote_uri, &response));
                if let Some(invite) = invite {
                    self.end_fork(&invite, &response, now).await;
                }
                return;
            }
            None => {}
        }
        let Some(out) = l.outgoing_invite.as_mut() else {
            return;
        };
        let dialog = match Dialog::uac(&out.request, &response) {
            Ok(d) => d,
            Err(e) => {
                debug!(%leg, error = %e, "2xx does not make a dialog");
                return;
            }
        };
        let done = out.done.take();
        let cancelled = out.cancel_wanted;
        l.dialog = Some(dialog);
        l.outgoing_invite = None;
        let dialog_key = (l.call_id.clone(), l.local_tag.clone());
        let answer = if l.kind == LegKind::Call {
            match body::sdp_of(&response).map(|sdp| l.sdp.remote_description(&sdp)) {
                Some(Ok(d)) => Some(d),
                Some(Err(e)) => {
                    debug!(%leg, error = %e, "unusable SDP answer");
                    None
                }
                None => None,
            }
        } else {
            None
        };
        let device = body::device(response.contacts());
        self.by_dialog.insert(dialog_key, leg);
        self.send_ack(leg).await;
        if cancelled {
            let (bye_done, _rx) = tokio::sync::oneshot::channel();
            self.terminate(leg, Reason::NotSpecified, bye_done, now)
                .await;
            if let Some(done) = done {
                let _ = done.send(Err(SignalingError::cancelled()));
            }
            return;
        }
        if let Some(done) = done {
            let _ = done.send(Ok(Answer {
                description: answer,
                device,
            }));
        }
    }

    /// Sends the ACK for the leg's latest 2xx (§13.2.2.4).
    pub(crate) async fn send_ack(&mut self, leg: LegId) {
        let Some(ack) = self
            .legs
            .get(&leg)
            .and_then(|l| l.dialog.as_ref())
            .and_then(|d| d.ack().ok())
        else {
            return;
        };
        self.send_stateless(ack).await;
    }

    async fn send_stateless(&mut self, mut request: Request) {
        let via = self.via();
        if push_front(request.headers_mut(), "Via", &via).is_err() {
            return;
        }
        request.set_body(Bytes::new());
        if let Ok(peer) = self.next_hop(&request).await {
            self.txn.send_stateless(&Message::Request(request), peer);
        }
    }

    /// ACKs and BYEs a dialog created by a forked 2xx.
    async fn end_fork(&mut self, invite: &Request, response: &Response, now: Instant) {
        let Ok(mut fork) = Dialog::uac(invite, response) else {
            return;
        };
        if let Ok(ack) = fork.ack() {
            self.send_stateless(ack).await;
        }
        if let Ok(mut bye) = fork.request(Method::Bye) {
            let via = self.via();
            if push_front(bye.headers_mut(), "Via", &via).is_ok() {
                bye.set_body(Bytes::new());
                if let Ok(peer) = self.next_hop(&bye).await {
                    if let Ok(key) = self.txn.start_client(bye, peer, now) {
                        self.purposes.insert(key, Purpose::Ack);
                    }
                }
            }
        }
    }

    /// A 2xx after the INVITE transaction ended: a retransmission of the leg's 2xx (ACKed
    /// again), or the answer of another fork (another To tag: ACKed and ended with a BYE,
    /// RFC 3261 §13.2.2.4, never the leg's own dialog).
    pub(crate) async fn on_stray_2xx(&mut self, response: &Response) {
        let Some(id) = DialogId::of_response(response) else {
            return;
        };
        let leg = self
            .by_dialog
            .get(&(id.call_id.clone(), id.local_tag.clone()))
            .copied();
        let Some(l) = leg.and_then(|leg| self.legs.get(&leg)) else {
            return;
        };
        let (leg, own) = (l.id, l.dialog.as_ref().is_some_and(|d| *d.id() == id));
        if own {
            self.send_ack(leg).await;
        } else if let Some(invite) = invite_of_fork(&l.remote_uri, response) {
            self.end_fork(&invite, response, Instant::now()).await;
        }
    }

    pub(crate) async fn on_failure(
        &mut self,
        key: TransactionKey,
        error: SignalingError,
        now: Instant,
    ) {
        match self.purposes.remove(&key) {
            Some(Purpose::Register(ep)) => self.registration_failed(ep, error, now),
            Some(Purpose::Invite(leg)) => {
                if let Some(done) = self
                    .legs
                    .get_mut(&leg)
                    .and_then(|l| l.outgoing_invite.take())
                    .and_then(|mut o| o.done.take())
                {
                    let _ = done.send(Err(error));
                }
                self.forget(leg);
            }
            Some(Purpose::ReInvite(leg)) => {
                if let Some((_, _, done)) = self.legs.get_mut(&leg).and_then(|l| l.update.take()) {
                    let _ = done.send(Err(error));
                }
            }
            Some(Purpose::Message(leg)) => {
                if let Some((_, done)) = self.legs.get_mut(&leg).and_then(|l| l.in_flight.take()) {
                    let _ = done.send(Err(error));
                }
                self.pump(leg, now).await;
            }
            Some(Purpose::Bye(leg)) => {
                if let Some((_, done)) = self.legs.get_mut(&leg).and_then(|l| l.bye.take()) {
                    let _ = done.send(Ok(()));
                }
                self.forget(leg);
            }
            Some(Purpose::Cancel | Purpose::Ack) | None => {}
        }
    }

    pub(crate) async fn send_update(
        &mut self,
        leg: LegId,
        offer: SessionDescription,
        done: Done<SessionDescription>,
        now: Instant,
    ) {
        let Some(l) = self.legs.get_mut(&leg) else {
            let _ = done.send(Err(SignalingError::unknown_leg()));
            return;
        };
        if l.update.is_some() || l.incoming_invite.is_some() {
            // An offer is already in progress on this leg (RFC 3261 §14.1).
            let _ = done.send(Err(SignalingError::rejected(Status::new(
                StatusCode::REQUEST_PENDING,
            ))));
            return;
        }
        let body = match l.sdp.local_sdp(&offer) {
            Ok(s) => Bytes::from(s.to_bytes()),
            Err(e) => {
                let _ = done.send(Err(bad_request(&e.to_string())));
                return;
            }
        };
        let ep = l.ep;
        let Some(mut request) = l
            .confirmed_dialog()
            .and_then(|d| d.request(Method::Invite).ok())
        else {
            let _ = done.send(Err(SignalingError::unknown_leg()));
            return;
        };
        let via = self.via();
        let contact = self.contact(ep);
        let h = request.headers_mut();
        if push_front(h, "Via", &via).is_err()
            || push(h, "Contact", &contact).is_err()
            || push(h, "Content-Type", "application/sdp").is_err()
        {
            let _ = done.send(Err(bad_request("re-INVITE headers")));
            return;
        }
        request.set_body(body);
        match self
            .start_in_dialog(leg, request, Purpose::ReInvite(leg), now)
            .await
        {
            Ok(key) => {
                if let Some(l) = self.legs.get_mut(&leg) {
                    l.update = Some((key, offer, done));
                }
            }
            Err(e) => {
                let _ = done.send(Err(e));
            }
        }
    }

    async fn start_in_dialog(
        &mut self,
        _leg: LegId,
        request: Request,
        purpose: Purpose,
        now: Instant,
    ) -> Result<TransactionKey, SignalingError> {
        let peer = self.next_hop(&request).await?;
        // Kept to answer a digest challenge (RFC 3261 §22.2) until the transaction ends.
        let kept = Some(request.clone());
        let key = self
            .txn
            .start_client(request, peer, now)
            .map_err(|e| overloaded(&e.to_string()))?;
        self.purposes.insert(key, purpose);
        if let Some(request) = kept {
            self.sent.insert(key, request);
        }
        Ok(key)
    }

    async fn on_reinvite_response(&mut self, leg: LegId, response: Response) {
        let code = response.status().as_u16();
        if code < 200 {
            return;
        }
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        if code >= 300 {
            let Some((_, offer, done)) = l.update.take() else {
                return;
            };
            if code == 491 {
                // Glare: retry after the §14.1 delay, with the same offer.
                let owns = l.dialog.as_ref().is_some_and(Dialog::owns_call_id);
                let delay = glare_retry_delay(owns, &mut self.rng);
                let commands = self.commands.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = commands.send(super::stack::Command::RetryUpdate { leg, offer, done });
                });
            } else {
                let _ = done.send(Err(rejected(&response)));
            }
            return;
        }
        if let Some(d) = l.dialog.as_mut() {
            let _ = d.handle_response(&response);
        }
        let answer = body::sdp_of(&response).map(|sdp| l.sdp.remote_description(&sdp));
        let done = l.update.take();
        self.send_ack(leg).await;
        if let Some((_, _, done)) = done {
            let _ = done.send(match answer {
                Some(Ok(d)) => Ok(d),
                Some(Err(e)) => Err(bad_request(&e.to_string())),
                None => Err(bad_request("2xx to re-INVITE without SDP")),
            });
        }
    }

    pub(crate) async fn queue_message(
        &mut self,
        leg: LegId,
        content_type: String,
        body: Bytes,
        done: Done<()>,
        now: Instant,
    ) {
        let Some(l) = self.legs.get_mut(&leg) else {
            let _ = done.send(Err(SignalingError::unknown_leg()));
            return;
        };
        l.outbox.push_back(QueuedMessage {
            content_type,
            body,
            done,
        });
        self.pump(leg, now).await;
    }

    /// Sends the leg's next queued message if none is in flight.
    pub(crate) async fn pump(&mut self, leg: LegId, now: Instant) {
        loop {
            let Some(l) = self.legs.get_mut(&leg) else {
                return;
            };
            if l.in_flight.is_some() {
                return;
            }
            let Some(next) = l.outbox.pop_front() else {
                return;
            };
            let built = self.build_message(leg, &next.content_type, next.body.clone());
            let result = match built {
                Ok(request) => {
                    self.start_in_dialog(leg, request, Purpose::Message(leg), now)
                        .await
                }
                Err(e) => Err(e),
            };
            match result {
                Ok(key) => {
                    if let Some(l) = self.legs.get_mut(&leg) {
                        l.in_flight = Some((key, next.done));
                    }
                    return;
                }
                Err(e) => {
                    let _ = next.done.send(Err(e));
                }
            }
        }
    }

    fn build_message(
        &mut self,
        leg: LegId,
        content_type: &str,
        body: Bytes,
    ) -> Result<Request, SignalingError> {
        let via = self.via();
        let ua = self.config.user_agent.clone();
        let route = self.proxy_route();
        let l = self
            .legs
            .get_mut(&leg)
            .ok_or_else(SignalingError::unknown_leg)?;
        let mut request = if l.kind == LegKind::ImPager {
            let cseq = l.pager_cseq;
            l.pager_cseq += 1;
            let mut head = format!(
                "MESSAGE {to} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\n\
                 From: <{from}>;tag={tag}\r\nTo: <{to}>\r\nCall-ID: {cid}\r\n\
                 CSeq: {cseq} MESSAGE\r\nUser-Agent: {ua}\r\n",
                to = l.remote_uri,
                from = l.local_uri,
                tag = l.local_tag,
                cid = l.call_id,
            );
            if let Some(c) = &l.conversation_id {
                head.push_str(&format!("{}: {c}\r\n", super::conversation::HEADER));
            }
            head.push_str(&route);
            return body::request(head, content_type, body).map_err(|e| bad_request(&e));
        } else {
            let dialog = l
                .confirmed_dialog()
                .ok_or_else(SignalingError::unknown_leg)?;
            let mut r = dialog
                .request(Method::Message)
                .map_err(|e| bad_request(&e.to_string()))?;
            push_front(r.headers_mut(), "Via", &via).map_err(|e| bad_request(&e.to_string()))?;
            r
        };
        push(request.headers_mut(), "Content-Type", content_type)
            .map_err(|e| bad_request(&e.to_string()))?;
        request.set_body(body);
        Ok(request)
    }

    pub(crate) async fn terminate(
        &mut self,
        leg: LegId,
        reason: Reason,
        done: Done<()>,
        now: Instant,
    ) {
        let Some(l) = self.legs.get_mut(&leg) else {
            let _ = done.send(Ok(()));
            return;
        };
        l.ended = true;
        for queued in l.outbox.drain(..) {
            let _ = queued.done.send(Err(SignalingError::closed()));
        }
        if l.incoming_invite.is_some() && l.dialog.is_none() {
            // The INVITE that opens the leg is not answered yet, and session-core's
            // answer is on its way (it answers every invitation; a dropped one is 480),
            // possibly an acceptance that this hang-up overtook: `answer_invite` sends
            // it and then ends the leg (a 2xx is followed by a BYE once ACKed).
            let _ = done.send(Ok(()));
            return;
        }
        // A request of the peer still waiting for our answer gets a final one now, or
        // its transaction would hang until the peer gives up: the pager MESSAGE that
        // opened the leg, a re-INVITE (487, RFC 3261 §15.1.2).
        let tag = l.local_tag.clone();
        let reinvite = l.incoming_invite.take();
        let held = l.held_message.take();
        let awaiting_ack = l.pending_2xx.is_some() && l.kind != LegKind::ImPager;
        let refusal = match reason.status_code().as_u16() {
            code @ 300..=699 => code,
            _ => 480,
        };
        if let Some(inc) = reinvite {
            self.reply(inc.key, &inc.request, 487, Some(&tag), now);
        }
        if let Some((key, request)) = held {
            self.reply(key, &request, refusal, Some(&tag), now);
        }
        if awaiting_ack {
            // Our 2xx is not ACKed yet: the BYE waits for the ACK, or for the 2xx
            // retransmissions to give up (RFC 3261 §15; see `on_ack`, `retransmit_2xx`).
            let _ = done.send(Ok(()));
            return;
        }
        let Some(l) = self.legs.get_mut(&leg) else {
            let _ = done.send(Ok(()));
            return;
        };
        if l.kind == LegKind::ImPager || l.confirmed_dialog().is_none() {
            let _ = done.send(Ok(()));
            self.forget(leg);
            return;
        }
        let Some(mut bye) = l
            .confirmed_dialog()
            .and_then(|d| d.request(Method::Bye).ok())
        else {
            let _ = done.send(Ok(()));
            self.forget(leg);
            return;
        };
        if let Some(d) = l.dialog.as_mut() {
            d.terminate();
        }
        l.pending_2xx = None;
        let via = self.via();
        if push_front(bye.headers_mut(), "Via", &via).is_err() {
            let _ = done.send(Ok(()));
            self.forget(leg);
            return;
        }
        bye.set_body(Bytes::new());
        match self.start_in_dialog(leg, bye, Purpose::Bye(leg), now).await {
            Ok(key) => {
                if let Some(l) = self.legs.get_mut(&leg) {
                    l.bye = Some((key, done));
                }
            }
            Err(_) => {
                let _ = done.send(Ok(()));
                self.forget(leg);
            }
        }
    }
}

/// What a dialog with another fork needs of our INVITE once its transaction is gone:
/// Request-URI, From (with our tag), Call-ID and CSeq, which the fork's 2xx echoes.
fn invite_of_fork(target: &str, response: &Response) -> Option<Request> {
    let uri = crate::Uri::parse(target.as_bytes()).ok()?;
    let mut invite = Request::new(Method::Invite, uri);
    let h = invite.headers_mut();
    h.push(crate::Header::From(response.from()?.clone()));
    h.push(crate::Header::CallId(response.call_id()?.clone()));
    h.push(crate::Header::CSeq(response.cseq()?.clone()));
    Some(invite)
}

/// The INVITE's `Allow`.
pub(crate) const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE";

fn is_final(r: &Response) -> bool {
    r.status().as_u16() >= 200
}

/// A failure response as a contract error.
pub(crate) fn rejected(r: &Response) -> SignalingError {
    let code = StatusCode::new(r.status().as_u16()).unwrap_or(StatusCode::SERVER_INTERNAL_ERROR);
    let text = String::from_utf8_lossy(r.reason()).into_owned();
    SignalingError::rejected(Status::with_text(code, text))
}

pub(crate) fn bad_request(detail: &str) -> SignalingError {
    SignalingError::rejected(Status::with_text(
        StatusCode::BAD_REQUEST,
        detail.to_owned(),
    ))
}

fn unreachable(detail: &str) -> SignalingError {
    SignalingError::rejected(Status::with_text(
        StatusCode::TEMPORARILY_UNAVAILABLE,
        detail.to_owned(),
    ))
}

fn overloaded(detail: &str) -> SignalingError {
    SignalingError::rejected(Status::with_text(
        StatusCode::SERVICE_UNAVAILABLE,
        detail.to_owned(),
    ))
}

/// Session-core progress as a SIP status.
pub(crate) fn progress_status(p: &Progress) -> u16 {
    match p {
        Progress::Trying => 100,
        Progress::Ringing => 180,
        Progress::SessionProgress => 183,
    }
}
