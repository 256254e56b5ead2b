//! Requests this side receives, and session-core's answers to them.

use std::cmp::Reverse;
use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;
use rand::Rng;
use session_core::contract::signaling::{
    ComposingState, Inbound, Invite, LegId, Message as ImMessage, Progress, Reply,
};
use session_core::description::SessionDescription;
use session_core::error::SignalingError;
use session_core::session::SessionType;
use session_core::status::{Status, StatusCode};
use tracing::debug;

use super::body;
use super::header_text::push;
use super::iscomposing::{self, IsComposing};
use super::leg::{EndpointId, IncomingInvite, Leg, LegKind, Pending2xx};
use super::stack::{Command, Stack};
use super::uac::{ALLOW, progress_status};
use crate::dialog::{Dialog, Retransmit2xx, Retransmit2xxAction};
use crate::sdp::SdpSession;
use crate::transaction::{Peer, TransactionKey, response_for};
use crate::{Message, Method, Request, Response};

impl Stack {
    /// Answers `request` on server transaction `key` with a bare `code`.
    pub(crate) fn reply(
        &mut self,
        key: TransactionKey,
        request: &Request,
        code: u16,
        tag: Option<&str>,
        now: Instant,
    ) {
        let Some(status) = crate::StatusCode::new(code) else {
            return;
        };
        let mut response = response_for(request, status, tag);
        let options_ok = request.method() == &Method::Options && code == 200;
        if code == 405 || options_ok {
            let _ = push(response.headers_mut(), "Allow", ALLOW);
        }
        if code == 415 || options_ok {
            // RFC 3261 §11.2 (OPTIONS SHOULD list it), §21.4.13 (415 MUST).
            let _ = push(response.headers_mut(), "Accept", ACCEPT);
        }
        if let Err(e) = self.txn.respond(key, response, now) {
            debug!(error = %e, "response not sent");
        }
    }

    fn reply_status(
        &mut self,
        key: TransactionKey,
        request: &Request,
        status: &Status,
        tag: Option<&str>,
        now: Instant,
    ) {
        let Some(code) = crate::StatusCode::new(status.code.as_u16()) else {
            return;
        };
        let mut response = response_for(request, code, tag);
        if !status.text.is_empty() {
            response.set_reason(&status.text);
        }
        if let Err(e) = self.txn.respond(key, response, now) {
            debug!(error = %e, "response not sent");
        }
    }

    /// The attached endpoint a request is for: the one whose user is the Request-URI's,
    /// or the only one.
    fn endpoint_for(&self, request: &Request) -> Option<EndpointId> {
        let user = request
            .uri()
            .user()
            .map(|u| String::from_utf8_lossy(u).into_owned());
        let by_user = self
            .endpoints
            .iter()
            .find(|(_, a)| a.identity.uri.user().map(str::to_owned) == user)
            .map(|(id, _)| *id);
        by_user.or_else(|| {
            (self.endpoints.len() == 1)
                .then(|| self.endpoints.keys().next().copied())
                .flatten()
        })
    }

    pub(crate) async fn on_request(
        &mut self,
        key: TransactionKey,
        request: Request,
        source: Peer,
        now: Instant,
    ) {
        let unsupported = unsupported_required(&request);
        if !unsupported.is_empty() {
            // RFC 3261 §8.2.2.3: refuse what we cannot honour, before any dialog or
            // session-core sees it.
            let Some(bad_extension) = crate::StatusCode::new(420) else {
                return;
            };
            let tag = self.txn.new_tag();
            let mut response = response_for(&request, bad_extension, Some(&tag));
            let _ = push(
                response.headers_mut(),
                "Unsupported",
                &unsupported.join(", "),
            );
            if let Err(e) = self.txn.respond(key, response, now) {
                debug!(error = %e, "420 not sent");
            }
            return;
        }
        let call_id = request
            .call_id()
            .map(|c| c.as_str().to_owned())
            .unwrap_or_default();
        if let Some(tag) = request.to().and_then(|t| t.tag()).map(str::to_owned) {
            match self.by_dialog.get(&(call_id, tag.clone())).copied() {
                Some(leg) => self.in_dialog(leg, key, request, now).await,
                None => self.reply(key, &request, 481, Some(&tag), now),
            }
            return;
        }
        match request.method() {
            Method::Invite => self.new_invite(key, request, source, now),
            Method::Message => self.pager_message(key, request, source, call_id, now),
            Method::Options => {
                let tag = self.txn.new_tag();
                self.reply(key, &request, 200, Some(&tag), now);
            }
            Method::Bye | Method::Update | Method::Info | Method::Prack | Method::Notify => {
                self.reply(key, &request, 481, None, now);
            }
            Method::Register | Method::Subscribe | Method::Publish | Method::Refer => {
                self.reply(key, &request, 405, None, now);
            }
            _ => self.reply(key, &request, 501, None, now),
        }
    }

    fn new_invite(&mut self, key: TransactionKey, request: Request, source: Peer, now: Instant) {
        let Some(ep) = self.endpoint_for(&request) else {
            // Nobody signed in for this user here (RFC 3261 §21.4.18).
            self.reply(key, &request, 480, None, now);
            return;
        };
        let offer_sdp = body::sdp_of_request(&request);
        let kind = if offer_sdp.as_ref().is_some_and(body::is_im_sdp) {
            LegKind::ImSession
        } else {
            LegKind::Call
        };
        let mut sdp = SdpSession::new(self.rng.random::<u32>().into(), self.local.ip());
        let offer = match (kind, &offer_sdp) {
            (LegKind::Call, Some(s)) => match sdp.remote_description(s) {
                Ok(d) => Some(d),
                Err(e) => {
                    debug!(error = %e, "unusable SDP offer");
                    self.reply(key, &request, 488, None, now);
                    return;
                }
            },
            _ => None,
        };
        let (Some(from), Some(to)) = (body::core_uri(request.from()), body::core_uri(request.to()))
        else {
            self.reply(key, &request, 400, None, now);
            return;
        };
        let leg = LegId::next();
        let local_tag = self.txn.new_tag();
        let call_id = request
            .call_id()
            .map(|c| c.as_str().to_owned())
            .unwrap_or_default();
        let conversation_id = super::conversation::conversation_id(&request);
        let invite = Invite {
            from: from.clone(),
            to: to.clone(),
            session_type: if kind == LegKind::ImSession {
                SessionType::InstantMessaging
            } else {
                SessionType::AudioVideo
            },
            conversation_id: conversation_id.clone(),
            offer,
            device: body::device(request.contacts()),
        };
        self.legs.insert(
            leg,
            new_leg(
                leg,
                ep,
                kind,
                call_id.clone(),
                local_tag.clone(),
                source,
                from.to_string(),
                to.to_string(),
                sdp,
                conversation_id,
            ),
        );
        if kind == LegKind::Call && offer_sdp.is_none() {
            if let Some(l) = self.legs.get_mut(&leg) {
                l.late_offer = true;
            }
        }
        if let Some(l) = self.legs.get_mut(&leg) {
            l.incoming_invite = Some(IncomingInvite { key, request });
        }
        self.by_dialog.insert((call_id, local_tag), leg);
        let (reply, rx) = Reply::channel();
        self.deliver(ep, Inbound::Invite { leg, invite, reply });
        self.waiters.push(Box::pin(async move {
            let result = rx.await;
            Command::InviteAnswered { leg, result }
        }));
    }

    fn pager_message(
        &mut self,
        key: TransactionKey,
        request: Request,
        source: Peer,
        call_id: String,
        now: Instant,
    ) {
        if let Some(leg) = self.pagers.get(&call_id).copied() {
            self.incoming_message(leg, key, request, now);
            return;
        }
        let Some(ep) = self.endpoint_for(&request) else {
            // Nobody signed in for this user here (RFC 3261 §21.4.18).
            self.reply(key, &request, 480, None, now);
            return;
        };
        if body::content_type(&request).eq_ignore_ascii_case(iscomposing::CONTENT_TYPE) {
            // Composing before any session: nothing to show it on.
            let tag = self.txn.new_tag();
            self.reply(key, &request, 200, Some(&tag), now);
            return;
        }
        let (Some(from), Some(to)) = (body::core_uri(request.from()), body::core_uri(request.to()))
        else {
            self.reply(key, &request, 400, None, now);
            return;
        };
        let leg = LegId::next();
        let local_tag = self.txn.new_tag();
        let conversation_id = super::conversation::conversation_id(&request);
        let sdp = SdpSession::new(0, self.local.ip());
        let invite = Invite {
            from: from.clone(),
            to: to.clone(),
            session_type: SessionType::InstantMessaging,
            conversation_id: conversation_id.clone(),
            offer: None,
            device: body::device(request.contacts()),
        };
        let mut l = new_leg(
            leg,
            ep,
            LegKind::ImPager,
            call_id.clone(),
            local_tag.clone(),
            source,
            from.to_string(),
            to.to_string(),
            sdp,
            conversation_id,
        );
        l.held_message = Some((key, request));
        self.legs.insert(leg, l);
        self.pagers.insert(call_id.clone(), leg);
        self.by_dialog.insert((call_id, local_tag), leg);
        let (reply, rx) = Reply::channel();
        self.deliver(ep, Inbound::Invite { leg, invite, reply });
        self.waiters.push(Box::pin(async move {
            let result = rx.await;
            Command::InviteAnswered { leg, result }
        }));
    }

    /// A MESSAGE on an established leg: composing state, or a message for session-core.
    fn incoming_message(
        &mut self,
        leg: LegId,
        key: TransactionKey,
        request: Request,
        now: Instant,
    ) {
        let Some(l) = self.legs.get(&leg) else {
            return;
        };
        let (ep, tag) = (l.ep, l.local_tag.clone());
        let content_type = body::content_type(&request);
        if content_type.eq_ignore_ascii_case(iscomposing::CONTENT_TYPE) {
            match IsComposing::parse(request.body()) {
                Ok(doc) => {
                    self.reply(key, &request, 200, Some(&tag), now);
                    let state = match doc.state {
                        iscomposing::State::Active => ComposingState::Active,
                        iscomposing::State::Idle => ComposingState::Idle,
                    };
                    self.deliver(ep, Inbound::Composing { leg, state });
                }
                Err(e) => {
                    debug!(error = %e, "bad isComposing document");
                    self.reply(key, &request, 400, Some(&tag), now);
                }
            }
            return;
        }
        let message = ImMessage {
            content_type,
            body: request.body().clone(),
        };
        self.awaiting_answer.insert(key, (leg, request));
        let (reply, rx) = Reply::channel();
        self.deliver(
            ep,
            Inbound::Message {
                leg,
                message,
                reply,
            },
        );
        self.waiters.push(Box::pin(async move {
            let result = rx.await;
            Command::MessageAnswered { key, result }
        }));
    }

    async fn in_dialog(&mut self, leg: LegId, key: TransactionKey, request: Request, now: Instant) {
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        let tag = l.local_tag.clone();
        let ep = l.ep;
        if l.kind != LegKind::ImPager {
            if let Some(d) = l.dialog.as_mut() {
                if let Err(e) = d.handle_request(&request) {
                    debug!(error = %e, "in-dialog request refused");
                    self.reply(key, &request, 500, Some(&tag), now);
                    return;
                }
            }
        }
        match request.method() {
            Method::Bye => {
                let already = l.ended;
                if let Some((_, done)) = l.bye.take() {
                    let _ = done.send(Ok(()));
                }
                self.reply(key, &request, 200, Some(&tag), now);
                self.forget(leg);
                if !already {
                    self.deliver(
                        ep,
                        Inbound::Terminated {
                            leg,
                            status: Status::ok(),
                        },
                    );
                }
            }
            Method::Message => self.incoming_message(leg, key, request, now),
            Method::Invite => {
                let busy = if l.update.is_some() {
                    Some(491)
                } else if l.incoming_invite.is_some() {
                    Some(500)
                } else {
                    None
                };
                if let Some(code) = busy {
                    self.reply(key, &request, code, Some(&tag), now);
                    return;
                }
                let offer = body::sdp_of_request(&request).map(|s| l.sdp.remote_description(&s));
                let offer = match offer {
                    Some(Ok(d)) => d,
                    _ => {
                        self.reply(key, &request, 488, Some(&tag), now);
                        return;
                    }
                };
                l.incoming_invite = Some(IncomingInvite { key, request });
                let (reply, rx) = Reply::channel();
                self.deliver(ep, Inbound::Update { leg, offer, reply });
                self.waiters.push(Box::pin(async move {
                    let result = rx.await;
                    Command::UpdateAnswered { leg, key, result }
                }));
            }
            Method::Options => self.reply(key, &request, 200, Some(&tag), now),
            _ => self.reply(key, &request, 405, Some(&tag), now),
        }
    }

    pub(crate) fn on_cancel(
        &mut self,
        key: TransactionKey,
        invite: Option<TransactionKey>,
        request: &Request,
        now: Instant,
    ) {
        let leg = invite.and_then(|ik| {
            self.legs
                .values()
                .find(|l| l.incoming_invite.as_ref().is_some_and(|i| i.key == ik))
                .map(|l| l.id)
        });
        let Some(leg) = leg else {
            self.reply(key, request, 481, None, now);
            return;
        };
        self.reply(key, request, 200, None, now);
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        let (ep, tag) = (l.ep, l.local_tag.clone());
        if let Some(inc) = l.incoming_invite.take() {
            self.reply(inc.key, &inc.request, 487, Some(&tag), now);
        }
        self.forget(leg);
        self.deliver(ep, Inbound::Cancelled { leg });
    }

    pub(crate) fn on_ack(&mut self, request: &Request) {
        let call_id = request
            .call_id()
            .map(|c| c.as_str().to_owned())
            .unwrap_or_default();
        let Some(tag) = request.to().and_then(|t| t.tag()).map(str::to_owned) else {
            return;
        };
        if let Some(leg) = self.by_dialog.get(&(call_id, tag)).copied() {
            if let Some(l) = self.legs.get_mut(&leg) {
                let acked = l
                    .pending_2xx
                    .as_ref()
                    .is_some_and(|p| request.cseq().is_some_and(|c| c.seq == p.cseq));
                if acked {
                    l.pending_2xx = None;
                    if std::mem::take(&mut l.late_offer) && !l.ended {
                        // The answer to the offer our 2xx carried (RFC 3264 §5 via
                        // RFC 3261 §13.2.1); without a usable one session-core hangs up.
                        let answer = body::sdp_of_request(request)
                            .and_then(|s| l.sdp.remote_description(&s).ok());
                        let ep = l.ep;
                        self.deliver(ep, Inbound::Answer { leg, answer });
                        return;
                    }
                    if l.ended {
                        // Hung up before the ACK: the BYE was waiting for it (§15).
                        let (done, _rx) = tokio::sync::oneshot::channel();
                        let _ = self.commands.send(Command::Terminate {
                            leg,
                            reason: session_core::status::Reason::NotSpecified,
                            done,
                        });
                    }
                }
            }
        }
    }

    pub(crate) fn send_progress(
        &mut self,
        leg: LegId,
        progress: &Progress,
        now: Instant,
    ) -> Result<(), SignalingError> {
        let ep;
        let (key, request, tag) = {
            let l = self
                .legs
                .get(&leg)
                .ok_or_else(SignalingError::unknown_leg)?;
            ep = l.ep;
            let inc = l
                .incoming_invite
                .as_ref()
                .ok_or_else(SignalingError::unknown_leg)?;
            (inc.key, inc.request.clone(), l.local_tag.clone())
        };
        let code = progress_status(progress);
        if code == 100 {
            return Ok(()); // the transaction layer sends 100 Trying itself
        }
        let status = crate::StatusCode::new(code).ok_or_else(SignalingError::unknown_leg)?;
        let mut response = response_for(&request, status, Some(&tag));
        copy_record_route(&request, &mut response);
        let _ = push(response.headers_mut(), "Contact", &self.contact(ep));
        self.txn.respond(key, response, now).map_err(|e| {
            SignalingError::rejected(Status::with_text(
                StatusCode::SERVER_INTERNAL_ERROR,
                e.to_string(),
            ))
        })
    }

    pub(crate) async fn answer_invite(
        &mut self,
        leg: LegId,
        result: Result<session_core::contract::signaling::Answer, Status>,
        now: Instant,
    ) {
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        let tag = l.local_tag.clone();
        if l.kind == LegKind::ImPager {
            let Some((key, request)) = l.held_message.take() else {
                return;
            };
            match result {
                Ok(_) => self.incoming_message(leg, key, request, now),
                Err(status) => {
                    self.reply_status(key, &request, &status, Some(&tag), now);
                    self.forget(leg);
                }
            }
            return;
        }
        let Some(inc) = l.incoming_invite.take() else {
            return; // cancelled meanwhile
        };
        let answer = match result {
            Ok(a) => a,
            Err(status) => {
                self.reply_status(inc.key, &inc.request, &status, Some(&tag), now);
                self.forget(leg);
                return;
            }
        };
        let body = match (l.kind, &answer.description) {
            (LegKind::Call, Some(d)) => match l.sdp.local_sdp(d) {
                Ok(s) => Some(Bytes::from(s.to_bytes())),
                Err(e) => {
                    debug!(error = %e, "answer does not map to SDP");
                    self.reply(inc.key, &inc.request, 488, Some(&tag), now);
                    self.forget(leg);
                    return;
                }
            },
            (LegKind::Call, None) => None,
            _ => Some(body::im_sdp(&mut l.sdp, self.local.ip())),
        };
        let ep = l.ep;
        let mut response = response_for(&inc.request, crate::StatusCode::OK, Some(&tag));
        copy_record_route(&inc.request, &mut response);
        let contact = self.contact(ep);
        let h = response.headers_mut();
        let _ = push(h, "Contact", &contact);
        let _ = push(h, "Allow", ALLOW);
        let _ = push(h, "Server", &self.config.user_agent);
        if let Some(b) = body {
            let _ = push(response.headers_mut(), "Content-Type", "application/sdp");
            response.set_body(b);
        }
        match Dialog::uas(&inc.request, &response) {
            Ok(d) => {
                if let Some(l) = self.legs.get_mut(&leg) {
                    l.dialog = Some(d);
                }
            }
            Err(e) => debug!(error = %e, "INVITE does not make a dialog"),
        }
        self.send_2xx(leg, inc, response, now);
        // Session-core hung up before this answer went out: end the call now that it
        // exists (over UDP the BYE waits for the ACK, see `terminate`).
        if self.legs.get(&leg).is_some_and(|l| l.ended) {
            let (done, _rx) = tokio::sync::oneshot::channel();
            self.terminate(leg, session_core::status::Reason::NotSpecified, done, now)
                .await;
        }
    }

    /// Sends a 2xx to an INVITE and waits for its ACK, retransmitting it over UDP.
    fn send_2xx(&mut self, leg: LegId, inc: IncomingInvite, response: Response, now: Instant) {
        let cseq = inc.request.cseq().map_or(0, |c| c.seq);
        let source = self.legs.get(&leg).map(|l| l.peer);
        if let Err(e) = self.txn.respond(inc.key, response.clone(), now) {
            debug!(error = %e, "2xx not sent");
            return;
        }
        let Some(source) = source else {
            return;
        };
        // Tracked on every transport: the ACK also gates our BYE (RFC 3261 §15); the 2xx
        // is only re-sent over unreliable ones (see `retransmit_2xx`).
        let destination = crate::transaction::response_destination(inc.request.top_via(), source);
        let timers = self.config.timers;
        let timer = Retransmit2xx::with_timers(now, timers.t1, timers.t2);
        if let Some(at) = timer.poll_timeout() {
            self.retransmit_heap.push(Reverse((at, leg)));
        }
        if let Some(l) = self.legs.get_mut(&leg) {
            l.pending_2xx = Some(Pending2xx {
                timer,
                response,
                destination,
                cseq,
            });
        }
    }

    pub(crate) async fn retransmit_2xx(&mut self, leg: LegId, now: Instant) {
        let Some(p) = self.legs.get_mut(&leg).and_then(|l| l.pending_2xx.as_mut()) else {
            return;
        };
        match p.timer.handle_timeout(now) {
            Some(Retransmit2xxAction::Retransmit) => {
                let message = Message::Response(p.response.clone());
                let destination = p.destination;
                if let Some(at) = p.timer.poll_timeout() {
                    self.retransmit_heap.push(Reverse((at, leg)));
                }
                if !destination.is_reliable() {
                    self.txn.send_stateless(&message, destination);
                }
            }
            Some(Retransmit2xxAction::GiveUp) => {
                // Nobody to tell when session-core already ended the leg itself.
                let ep = self.legs.get(&leg).filter(|l| !l.ended).map(|l| l.ep);
                if let Some(l) = self.legs.get_mut(&leg) {
                    l.pending_2xx = None;
                }
                let (done, _rx) = tokio::sync::oneshot::channel();
                self.terminate(leg, session_core::status::Reason::NotSpecified, done, now)
                    .await;
                if let Some(ep) = ep {
                    self.deliver(
                        ep,
                        Inbound::Terminated {
                            leg,
                            status: Status::with_text(
                                StatusCode::REQUEST_TIMEOUT,
                                "no ACK for the 2xx",
                            ),
                        },
                    );
                }
            }
            None => {
                if let Some(at) = p.timer.poll_timeout() {
                    self.retransmit_heap.push(Reverse((at, leg)));
                }
            }
        }
    }

    pub(crate) async fn answer_update(
        &mut self,
        leg: LegId,
        key: TransactionKey,
        result: Result<SessionDescription, Status>,
        now: Instant,
    ) {
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        let tag = l.local_tag.clone();
        let Some(inc) = l.incoming_invite.take().filter(|i| i.key == key) else {
            return;
        };
        let description = match result {
            Ok(d) => d,
            Err(status) => {
                self.reply_status(key, &inc.request, &status, Some(&tag), now);
                return;
            }
        };
        let body = match l.sdp.local_sdp(&description) {
            Ok(s) => Bytes::from(s.to_bytes()),
            Err(e) => {
                debug!(error = %e, "answer does not map to SDP");
                self.reply(key, &inc.request, 488, Some(&tag), now);
                return;
            }
        };
        let ep = l.ep;
        let mut response = response_for(&inc.request, crate::StatusCode::OK, Some(&tag));
        let contact = self.contact(ep);
        let _ = push(response.headers_mut(), "Contact", &contact);
        let _ = push(response.headers_mut(), "Content-Type", "application/sdp");
        response.set_body(body);
        self.send_2xx(leg, inc, response, now);
    }

    pub(crate) fn answer_message(
        &mut self,
        key: TransactionKey,
        result: Result<(), Status>,
        now: Instant,
    ) {
        let Some((leg, request)) = self.awaiting_answer.remove(&key) else {
            return;
        };
        let tag = self.legs.get(&leg).map(|l| l.local_tag.clone());
        match result {
            Ok(()) => self.reply(key, &request, 200, tag.as_deref(), now),
            Err(status) => self.reply_status(key, &request, &status, tag.as_deref(), now),
        }
    }
}

/// Copies the request's Record-Route values, in order, into a response that creates a
/// dialog (RFC 3261 §12.1.1): the proxies that record-routed see the dialog's requests.
fn copy_record_route(request: &Request, response: &mut Response) {
    let routes: Vec<crate::Header> = request
        .headers()
        .iter()
        .filter(|h| matches!(h, crate::Header::RecordRoute(_)))
        .cloned()
        .collect();
    for route in routes {
        response.headers_mut().push(route);
    }
}

/// The SIP extensions (option tags) this user agent implements; a request that
/// requires any other is refused with 420 (RFC 3261 §8.2.2.3).
const SUPPORTED: [&str; 0] = [];

/// The option tags of `request`'s Require headers this user agent does not implement.
fn unsupported_required(request: &Request) -> Vec<String> {
    request
        .headers()
        .iter()
        .filter_map(|h| match h {
            crate::Header::Require(tags) => Some(tags),
            _ => None,
        })
        .flat_map(|tags| tags.iter())
        .filter(|tag| !SUPPORTED.iter().any(|s| s.eq_ignore_ascii_case(tag)))
        .map(str::to_owned)
        .collect()
}

/// The body types this user agent takes: SDP in INVITEs, instant messages and
/// isComposing documents in MESSAGEs (`Accept` of OPTIONS and 415 answers).
pub(crate) const ACCEPT: &str =
    "application/sdp, text/plain, text/html, application/im-iscomposing+xml";

#[allow(clippy::too_many_arguments)]
fn new_leg(
    id: LegId,
    ep: EndpointId,
    kind: LegKind,
    call_id: String,
    local_tag: String,
    peer: Peer,
    remote_uri: String,
    local_uri: String,
    sdp: SdpSession,
    conversation_id: Option<String>,
) -> Leg {
    Leg {
        id,
        ep,
        kind,
        call_id,
        local_tag,
        peer,
        remote_uri,
        local_uri,
        dialog: None,
        sdp,
        conversation_id,
        outgoing_invite: None,
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
    }
}
