//! Routing what a transport receives to the sessions it belongs to.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::{debug, trace};

use crate::context::{Context, ids};
use crate::contract::signaling::{
    Answer, ComposingState, Inbound, Invite, LegId, Message, Progress, Reply,
};
use crate::description::SessionDescription;
use crate::endpoint::{EndpointCore, EndpointState};
use crate::events::{ParticipantEvent, SessionEvent, SessionManagerEvent};
use crate::incoming::IncomingSession;
use crate::lock;
use crate::operation::{OperationKind, OperationProgress};
use crate::participant::{Direction, Participant, ParticipantState, StateChangeReason};
use crate::session::{Session, SessionType, av, lifecycle_fail};
use crate::status::{Status, StatusCode};

/// Without a refresh, a remote "composing" indication turns idle after this long
/// (RFC 3994 §4: the default refresh interval of an active state).
pub const COMPOSING_TIMEOUT: Duration = Duration::from_secs(120);
/// Messages held for an incoming session not yet accepted.
pub(crate) const MAX_HELD_MESSAGES: usize = 64;

pub(crate) async fn route(core: Weak<EndpointCore>, mut rx: mpsc::Receiver<Inbound>) {
    while let Some(inbound) = rx.recv().await {
        let Some(core) = core.upgrade() else { break };
        handle(&core, inbound);
    }
    trace!("inbound router stopped");
}

fn handle(core: &Arc<EndpointCore>, inbound: Inbound) {
    let leg = inbound.leg();
    if let Inbound::Invite { leg, invite, reply } = inbound {
        on_invite(core, leg, invite, reply);
        return;
    }
    let Some(participant) = core.participant_of(leg) else {
        debug!(%leg, "inbound signal for an unknown leg");
        reject_unknown(inbound);
        return;
    };
    let Some(session) = participant.session() else {
        reject_unknown(inbound);
        return;
    };
    match inbound {
        Inbound::Invite { .. } => {}
        Inbound::Progress { progress, .. } => on_progress(&session, &participant, progress),
        Inbound::Cancelled { .. } => {
            let pending = {
                let p = lock(&participant.inner.data);
                p.direction == Direction::Incoming && p.state == ParticipantState::Connecting
            };
            if pending {
                lifecycle_fail(
                    &session.inner,
                    &participant,
                    StateChangeReason::RemoteHangup,
                    Status::new(StatusCode::REQUEST_TERMINATED),
                );
            }
        }
        Inbound::Update { offer, reply, .. } => on_update(session, participant, offer, reply),
        Inbound::Message { message, reply, .. } => on_message(&participant, message, reply),
        Inbound::Composing { state, .. } => on_composing(&participant, state),
        Inbound::Answer { answer, .. } => av::on_late_answer(session, participant, answer),
        Inbound::Terminated { status, .. } => {
            let reason = if status.code.is_success() {
                StateChangeReason::RemoteHangup
            } else {
                StateChangeReason::Failed
            };
            lifecycle_fail(&session.inner, &participant, reason, status);
        }
    }
}

fn reject_unknown(inbound: Inbound) {
    let gone = Status::new(StatusCode::CALL_DOES_NOT_EXIST);
    match inbound {
        Inbound::Update { reply, .. } => reply.reject(gone),
        Inbound::Message { reply, .. } => reply.reject(gone),
        Inbound::Invite { reply, .. } => reply.reject(gone),
        _ => {}
    }
}

fn on_invite(core: &Arc<EndpointCore>, leg: LegId, invite: Invite, reply: Reply<Answer>) {
    if core.state() != EndpointState::Enabled {
        reply.reject(Status::new(StatusCode::TEMPORARILY_UNAVAILABLE));
        return;
    }
    let mut context = Context::new();
    if let Some(id) = &invite.conversation_id {
        // A fresh context cannot be full.
        let _ = context.add(ids::CONVERSATION_ID, id.as_str());
    }
    let session = Session::new(core.clone(), invite.session_type, context);
    let inviter = Participant::new(
        Arc::downgrade(&session.inner),
        invite.from.clone(),
        Context::new(),
        false,
        leg,
        Direction::Incoming,
    );
    {
        let mut data = lock(&session.inner.data);
        let mut p = lock(&inviter.inner.data);
        let _ = p.transition(
            ParticipantState::Connecting,
            StateChangeReason::Normal,
            None,
        );
        p.add_endpoint(&invite.from, invite.device.as_deref());
        drop(p);
        data.participants.push(inviter.clone());
        data.publish(SessionEvent::ParticipantAdded {
            participant: inviter.clone(),
        });
    }
    core.remember_leg(&inviter);
    if invite.session_type == SessionType::AudioVideo {
        // Without an offer ("delayed offer"), accepting makes one (`IncomingSession::accept`).
        let accepted = match &invite.offer {
            Some(offer) => av::sync_lines(&inviter, offer).map(|_| ()),
            None => Ok(()),
        };
        if accepted.is_err() {
            reply.reject(Status::with_text(
                StatusCode::NOT_ACCEPTABLE_HERE,
                "unusable media offer",
            ));
            lifecycle_fail(
                &session.inner,
                &inviter,
                StateChangeReason::Error,
                Status::new(StatusCode::NOT_ACCEPTABLE_HERE),
            );
            return;
        }
        lock(&inviter.inner.data).remote_offer = invite.offer.clone();
    }
    let incoming = IncomingSession::new(session.clone(), inviter, reply);
    match core.deliver_incoming(incoming) {
        Ok(()) => core.publish_sm(SessionManagerEvent::IncomingSession { session }),
        Err(incoming) => {
            debug!("no taker for incoming sessions: rejecting");
            drop(incoming);
        }
    }
}

fn on_progress(session: &Session, participant: &Participant, progress: Progress) {
    let reason = match progress {
        Progress::Trying => StateChangeReason::Trying,
        Progress::Ringing | Progress::SessionProgress => StateChangeReason::Ringing,
    };
    let status = progress.status();
    let op = {
        let mut p = lock(&participant.inner.data);
        if p.state != ParticipantState::Connecting || p.direction != Direction::Outgoing {
            return;
        }
        let _ = p.transition(ParticipantState::Connecting, reason, Some(status.clone()));
        p.pending_op.clone()
    };
    if let Some(context) = op {
        session
            .inner
            .publish(SessionEvent::Operation(OperationProgress {
                kind: OperationKind::AddParticipant,
                context,
                status,
                is_complete: false,
            }));
    }
}

fn on_update(
    session: Session,
    participant: Participant,
    offer: SessionDescription,
    reply: Reply<SessionDescription>,
) {
    {
        let mut p = lock(&participant.inner.data);
        if p.state != ParticipantState::Connected {
            drop(p);
            reply.reject(Status::new(StatusCode::CALL_DOES_NOT_EXIST));
            return;
        }
        if p.negotiating {
            // Glare: our own offer is out (RFC 3261 §14.2).
            drop(p);
            reply.reject(Status::new(StatusCode::REQUEST_PENDING));
            return;
        }
        p.negotiating = true;
    }
    if session.session_type() != SessionType::AudioVideo {
        lock(&participant.inner.data).negotiating = false;
        reply.reject(Status::new(StatusCode::NOT_ACCEPTABLE_HERE));
        return;
    }
    av::on_offer(session, participant, offer, reply);
}

fn on_message(participant: &Participant, message: Message, reply: Reply<()>) {
    let mut p = lock(&participant.inner.data);
    match (p.state, p.direction) {
        (ParticipantState::Connected, _) => {
            if std::mem::take(&mut p.remote_composing) {
                p.publish(ParticipantEvent::Idle);
            }
            p.publish(ParticipantEvent::MessageReceived {
                content_type: message.content_type.into(),
                body: message.body,
            });
            drop(p);
            reply.accept(());
        }
        (ParticipantState::Connecting, Direction::Incoming)
            if p.held_messages.len() < MAX_HELD_MESSAGES =>
        {
            p.held_messages.push((message, reply));
        }
        (ParticipantState::Connecting, Direction::Incoming) => {
            drop(p);
            reply.reject(Status::with_text(
                StatusCode::BUSY_HERE,
                "too many messages before accept",
            ));
        }
        _ => {
            drop(p);
            reply.reject(Status::new(StatusCode::CALL_DOES_NOT_EXIST));
        }
    }
}

fn on_composing(participant: &Participant, state: ComposingState) {
    let mut p = lock(&participant.inner.data);
    if !matches!(
        p.state,
        ParticipantState::Connected | ParticipantState::Connecting
    ) {
        return;
    }
    match state {
        ComposingState::Active => {
            p.composing_epoch += 1;
            if !std::mem::replace(&mut p.remote_composing, true) {
                p.publish(ParticipantEvent::Composing);
            }
            let epoch = p.composing_epoch;
            let weak = Arc::downgrade(&participant.inner);
            tokio::spawn(async move {
                tokio::time::sleep(COMPOSING_TIMEOUT).await;
                let Some(inner) = weak.upgrade() else { return };
                let mut p = lock(&inner.data);
                if p.composing_epoch == epoch && std::mem::take(&mut p.remote_composing) {
                    p.publish(ParticipantEvent::Idle);
                }
            });
        }
        ComposingState::Idle => {
            p.composing_epoch += 1;
            if std::mem::take(&mut p.remote_composing) {
                p.publish(ParticipantEvent::Idle);
            }
        }
    }
}
