//! Adding, removing and ending participants and sessions.

use std::sync::Arc;

use tracing::{Instrument, debug, info_span};

use super::{MAX_PARTICIPANTS, SessionInner, SessionType, av};
use crate::context::ids;
use crate::contract::signaling::{Invite, SignalingEndpoint};
use crate::error::Error;
use crate::events::SessionEvent;
use crate::lock;
use crate::operation::{Operation, OperationContext, OperationKind, OperationProgress};
use crate::participant::{Direction, Participant, ParticipantState, StateChangeReason};
use crate::status::{Reason, Status, StatusCode};

fn completion(
    kind: OperationKind,
    context: Option<Arc<OperationContext>>,
    status: Status,
) -> SessionEvent {
    SessionEvent::Operation(OperationProgress {
        kind,
        context,
        status,
        is_complete: true,
    })
}

/// A remote participant of this session, or a "foreign participant" error.
fn ensure_remote_member(
    session: &Arc<SessionInner>,
    participant: &Participant,
) -> Result<(), Error> {
    if participant.is_local() || !participant.belongs_to(session) {
        return Err(Error::Foreign("participant"));
    }
    Ok(())
}

pub(super) fn add_participant(
    session: &Arc<SessionInner>,
    participant: &Participant,
    operation: Option<OperationContext>,
) -> Result<Operation<()>, Error> {
    ensure_remote_member(session, participant)?;
    let operation = operation.map(Arc::new);
    let signaling = session.signaling()?;
    {
        let mut data = lock(&session.data);
        if data.terminated {
            return Err(Error::invalid_state(
                "session",
                "Terminated",
                "add a participant",
            ));
        }
        if data.participants.len() >= MAX_PARTICIPANTS {
            return Err(Error::invalid_state("session", "full", "add a participant"));
        }
        let mut p = lock(&participant.inner.data);
        if p.state != ParticipantState::Idle {
            return Err(Error::invalid_state("participant", p.state, "be invited"));
        }
        p.transition(
            ParticipantState::Connecting,
            StateChangeReason::Normal,
            None,
        )?;
        p.pending_op = Some(operation.clone());
        drop(p);
        data.participants.push(participant.clone());
        data.publish(SessionEvent::ParticipantAdded {
            participant: participant.clone(),
        });
    }
    session.endpoint.remember_leg(participant);
    let session = session.clone();
    let participant = participant.clone();
    let span = info_span!("invite", session = session.id, leg = %participant.leg());
    Ok(Operation::spawn(
        OperationKind::AddParticipant,
        move |cancel| {
            async move {
                let leg = participant.leg();
                let offer = match session.session_type {
                    SessionType::AudioVideo => {
                        match av::build_offer(&session, &participant).await {
                            Ok(offer) => Some(offer),
                            Err(e) => {
                                fail_participant(
                                    &session,
                                    &participant,
                                    StateChangeReason::Error,
                                    e.status(),
                                );
                                session.publish(completion(
                                    OperationKind::AddParticipant,
                                    operation,
                                    e.status(),
                                ));
                                return Err(e);
                            }
                        }
                    }
                    _ => None,
                };
                let invite = Invite {
                    from: session.endpoint.uri.clone(),
                    to: participant.uri().clone(),
                    session_type: session.session_type,
                    conversation_id: session
                        .context
                        .text(ids::CONVERSATION_ID)
                        .ok()
                        .map(str::to_owned),
                    offer: offer.clone(),
                    device: None,
                };
                let invite_fut = signaling.invite(leg, invite);
                tokio::pin!(invite_fut);
                let result = tokio::select! {
                    r = &mut invite_fut => r,
                    _ = cancel.cancelled() => {
                        debug!("cancelling invitation");
                        if let Err(e) = signaling.cancel(leg).await {
                            debug!(error = %e, "cancel failed");
                        }
                        invite_fut.await
                    }
                };
                let answer = match result {
                    Ok(answer) => answer,
                    Err(e) => {
                        let status = e.status.clone();
                        fail_participant(
                            &session,
                            &participant,
                            StateChangeReason::Failed,
                            status.clone(),
                        );
                        session.publish(completion(
                            OperationKind::AddParticipant,
                            operation,
                            status,
                        ));
                        return Err(Error::failed("add participant", e));
                    }
                };
                if let (Some(offer), SessionType::AudioVideo) = (&offer, session.session_type) {
                    if let Err(e) =
                        av::apply_answer(&participant, offer, answer.description.as_ref()).await
                    {
                        let status =
                            Status::with_text(StatusCode::NOT_ACCEPTABLE_HERE, e.to_string());
                        let _ = signaling.terminate(leg, Reason::NotAcceptable).await;
                        fail_participant(
                            &session,
                            &participant,
                            StateChangeReason::Error,
                            status.clone(),
                        );
                        session.publish(completion(
                            OperationKind::AddParticipant,
                            operation,
                            status,
                        ));
                        return Err(e);
                    }
                }
                let connected = {
                    let mut p = lock(&participant.inner.data);
                    p.pending_op = None;
                    let ok = p
                        .transition(ParticipantState::Connected, StateChangeReason::Normal, None)
                        .is_ok();
                    if ok {
                        p.add_endpoint(participant.uri(), answer.device.as_deref());
                    }
                    ok
                };
                if !connected {
                    // Terminated or removed while the answer was on its way: hang up.
                    let _ = signaling.terminate(leg, Reason::NotSpecified).await;
                    session.publish(completion(
                        OperationKind::AddParticipant,
                        operation,
                        Status::new(StatusCode::REQUEST_TERMINATED),
                    ));
                    return Err(Error::Cancelled("add participant"));
                }
                let mut data = lock(&session.data);
                data.ever_connected = true;
                data.publish(completion(
                    OperationKind::AddParticipant,
                    operation,
                    Status::ok(),
                ));
                Ok(())
            }
            .instrument(span)
        },
    ))
}

/// Moves a participant to Disconnected (if it is not already) and out of the session.
pub(crate) fn fail_participant(
    session: &Arc<SessionInner>,
    participant: &Participant,
    reason: StateChangeReason,
    status: Status,
) {
    {
        let mut p = lock(&participant.inner.data);
        p.pending_op = None;
        let _ = p.transition(ParticipantState::Disconnected, reason, Some(status));
    }
    participant_gone(session, participant);
}

/// Removes a disconnected participant from the collection and ends the session when
/// it was the last one of a session that had been established, or of an incoming one.
pub(crate) fn participant_gone(session: &Arc<SessionInner>, participant: &Participant) {
    session.endpoint.forget_leg(participant.leg());
    let channels = {
        let mut p = lock(&participant.inner.data);
        for (_, reply) in p.held_messages.drain(..) {
            reply.reject(Status::new(StatusCode::CALL_DOES_NOT_EXIST));
        }
        p.all_channels()
    };
    av::close_streams(&channels);
    let mut data = lock(&session.data);
    let Some(pos) = data.participants.iter().position(|p| p == participant) else {
        return;
    };
    data.participants.remove(pos);
    data.publish(SessionEvent::ParticipantRemoved {
        participant: participant.clone(),
    });
    let incoming = lock(&participant.inner.data).direction == Direction::Incoming;
    if data.participants.is_empty() && !data.terminated && (data.ever_connected || incoming) {
        data.terminated = true;
        data.close(SessionEvent::Terminated {
            status: Status::ok(),
        });
    }
}

pub(super) fn remove_participant(
    session: &Arc<SessionInner>,
    participant: &Participant,
    operation: Option<OperationContext>,
) -> Result<Operation<()>, Error> {
    ensure_remote_member(session, participant)?;
    let signaling = session.signaling()?;
    session.check_live("remove a participant")?;
    let (state, direction) = {
        let p = lock(&participant.inner.data);
        (p.state, p.direction)
    };
    match (state, direction) {
        (ParticipantState::Connected, _) => {}
        (ParticipantState::Connecting, Direction::Outgoing) => {}
        (state, _) => return Err(Error::invalid_state("participant", state, "be removed")),
    }
    let operation = operation.map(Arc::new);
    let session = session.clone();
    let participant = participant.clone();
    Ok(Operation::spawn(
        OperationKind::RemoveParticipant,
        move |_| async move {
            hang_up(&session, &signaling, &participant, Reason::NotSpecified).await;
            session.publish(completion(
                OperationKind::RemoveParticipant,
                operation,
                Status::ok(),
            ));
            Ok(())
        },
    ))
}

/// Ends one participant's leg from the local side.
async fn hang_up(
    session: &Arc<SessionInner>,
    signaling: &Arc<dyn SignalingEndpoint>,
    participant: &Participant,
    reason: Reason,
) {
    let leg = participant.leg();
    let state = lock(&participant.inner.data).state;
    match state {
        ParticipantState::Connected => {
            let _ = lock(&participant.inner.data).transition(
                ParticipantState::Disconnecting,
                StateChangeReason::Normal,
                None,
            );
            if let Err(e) = signaling.terminate(leg, reason).await {
                debug!(%leg, error = %e, "terminate failed; treating the leg as ended");
            }
            fail_participant(
                session,
                participant,
                StateChangeReason::Normal,
                Status::ok(),
            );
        }
        ParticipantState::Connecting => {
            // The add-participant task sees the cancelled invitation and cleans up.
            let _ = signaling.cancel(leg).await;
        }
        _ => {}
    }
}

/// Hangs up a connected participant whose media could not be negotiated (the answer
/// to our offer was missing or unusable): BYE, and 488 as the participant's status.
pub(crate) async fn hang_up_unusable(session: &Arc<SessionInner>, participant: &Participant) {
    let leg = participant.leg();
    let connected = {
        let mut p = lock(&participant.inner.data);
        p.state == ParticipantState::Connected
            && p.transition(
                ParticipantState::Disconnecting,
                StateChangeReason::Error,
                None,
            )
            .is_ok()
    };
    if !connected {
        return;
    }
    if let Ok(signaling) = session.signaling() {
        if let Err(e) = signaling.terminate(leg, Reason::NotAcceptable).await {
            debug!(%leg, error = %e, "terminate failed; treating the leg as ended");
        }
    }
    fail_participant(
        session,
        participant,
        StateChangeReason::Error,
        Status::with_text(
            StatusCode::NOT_ACCEPTABLE_HERE,
            "no usable answer to our offer",
        ),
    );
}

pub(super) fn terminate(
    session: &Arc<SessionInner>,
    reason: Reason,
    operation: Option<OperationContext>,
) -> Result<Operation<()>, Error> {
    let participants = {
        let mut data = lock(&session.data);
        if data.terminated {
            return Err(Error::invalid_state("session", "Terminated", "terminate"));
        }
        data.terminated = true;
        data.participants.clone()
    };
    let signaling = session.signaling().ok();
    let operation = operation.map(Arc::new);
    let session = session.clone();
    Ok(Operation::spawn(
        OperationKind::Terminate,
        move |_| async move {
            for p in &participants {
                match &signaling {
                    Some(s) => hang_up(&session, s, p, reason).await,
                    None => fail_participant(&session, p, StateChangeReason::Normal, Status::ok()),
                }
            }
            let mut data = lock(&session.data);
            for p in data.participants.drain(..).collect::<Vec<_>>() {
                data.publish(SessionEvent::ParticipantRemoved { participant: p });
            }
            data.publish(completion(
                OperationKind::Terminate,
                operation,
                Status::ok(),
            ));
            data.close(SessionEvent::Terminated {
                status: reason_status(reason),
            });
            Ok(())
        },
    ))
}

fn reason_status(reason: Reason) -> Status {
    match reason {
        Reason::NotSpecified => Status::ok(),
        other => other.status(),
    }
}
