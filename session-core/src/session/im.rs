//! The instant-messaging facet (`IUccInstantMessagingSession`).
//!
//! Messages and composing indications of one session leave in the order the
//! application issued them: `send_message` and `start_composing`/`stop_composing`
//! put them on the session's bounded outgoing queue, drained by one task that sends
//! each to every connected participant before taking the next. Each message's
//! operation resolves with one delivery result per participant.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use tracing::{Instrument, debug, info_span};

use super::{Session, SessionInner};
use crate::contract::signaling::{ComposingState, Message};
use crate::error::Error;
use crate::events::{ParticipantResult, SessionEvent};
use crate::lock;
use crate::operation::{Operation, OperationContext, OperationKind, OperationProgress};
use crate::participant::{Participant, ParticipantState};
use crate::status::Status;

/// Largest message body accepted, in bytes.
pub const MAX_MESSAGE_SIZE: usize = 64 * 1024;
/// Messages and indications queued per session before `send_message` refuses.
pub(crate) const OUTGOING_QUEUE: usize = 4096;

/// Per-participant results of one message (`IUccSessionOperationEvent`).
#[derive(Clone, Debug)]
pub struct MessageReport {
    /// One result per participant the message was sent to.
    pub results: Vec<ParticipantResult>,
}

impl MessageReport {
    /// Whether every participant accepted it.
    pub fn all_delivered(&self) -> bool {
        self.results.iter().all(|r| r.status.code.is_success())
    }
}

enum Outgoing {
    Message {
        message: Message,
        operation: Option<Arc<OperationContext>>,
        done: oneshot::Sender<Result<MessageReport, Error>>,
    },
    Composing(ComposingState),
}

#[derive(Default)]
pub(crate) struct ImState {
    queue: Mutex<Option<mpsc::Sender<Outgoing>>>,
}

/// The instant-messaging facet of a session; from [`Session::im`].
#[derive(Clone, Debug)]
pub struct ImSession {
    pub(super) session: Session,
}

impl ImSession {
    /// The session.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Sends a message to every connected participant (`SendMessage`). The body is
    /// sent byte-exact. The operation resolves with each participant's result, or
    /// fails with the first failure when no participant accepted it.
    pub fn send_message(
        &self,
        content_type: &str,
        body: impl Into<Bytes>,
        operation: Option<OperationContext>,
    ) -> Result<Operation<MessageReport>, Error> {
        let body = body.into();
        if body.len() > MAX_MESSAGE_SIZE {
            return Err(Error::invalid_state(
                "message",
                format!("{} bytes", body.len()),
                "be sent",
            ));
        }
        let inner = &self.session.inner;
        connected_participants(inner)?;
        let (done, rx) = oneshot::channel();
        let message = Message {
            content_type: content_type.to_owned(),
            body,
        };
        enqueue(
            inner,
            Outgoing::Message {
                message,
                operation: operation.map(Arc::new),
                done,
            },
        )?;
        Ok(Operation::spawn(
            OperationKind::SendMessage,
            move |_| async move { rx.await.unwrap_or(Err(Error::Closed("session"))) },
        ))
    }

    /// Tells the participants the local user is typing (`StartComposing`).
    pub fn start_composing(&self) -> Result<(), Error> {
        self.composing(ComposingState::Active)
    }

    /// Tells the participants the local user stopped typing (`StopComposing`).
    pub fn stop_composing(&self) -> Result<(), Error> {
        self.composing(ComposingState::Idle)
    }

    fn composing(&self, state: ComposingState) -> Result<(), Error> {
        let inner = &self.session.inner;
        connected_participants(inner)?;
        enqueue(inner, Outgoing::Composing(state))
    }
}

fn connected_participants(inner: &Arc<SessionInner>) -> Result<Vec<Participant>, Error> {
    let data = lock(&inner.data);
    if data.terminated {
        return Err(Error::invalid_state("session", "Terminated", "send"));
    }
    let connected: Vec<Participant> = data
        .participants
        .iter()
        .filter(|p| p.state() == ParticipantState::Connected)
        .cloned()
        .collect();
    if connected.is_empty() {
        return Err(Error::invalid_state(
            "session",
            "without connected participants",
            "send",
        ));
    }
    Ok(connected)
}

fn enqueue(inner: &Arc<SessionInner>, item: Outgoing) -> Result<(), Error> {
    let mut queue = lock(&inner.im.queue);
    let tx = match &*queue {
        Some(tx) if !tx.is_closed() => tx.clone(),
        _ => {
            let (tx, rx) = mpsc::channel(OUTGOING_QUEUE);
            let weak = Arc::downgrade(inner);
            let span = info_span!("im", session = inner.id);
            tokio::spawn(pump(weak, rx).instrument(span));
            *queue = Some(tx.clone());
            tx
        }
    };
    tx.try_send(item)
        .map_err(|_| Error::invalid_state("session", "outgoing queue full", "send"))
}

async fn pump(session: std::sync::Weak<SessionInner>, mut rx: mpsc::Receiver<Outgoing>) {
    while let Some(item) = rx.recv().await {
        let Some(session) = session.upgrade() else {
            break;
        };
        match item {
            Outgoing::Composing(state) => {
                let Ok(signaling) = session.signaling() else {
                    continue;
                };
                for p in connected_participants(&session).unwrap_or_default() {
                    let changed = {
                        let mut d = lock(&p.inner.data);
                        let active = state == ComposingState::Active;
                        std::mem::replace(&mut d.local_composing, active) != active
                    };
                    if changed {
                        if let Err(e) = signaling.composing(p.leg(), state).await {
                            debug!(error = %e, "composing indication failed");
                        }
                    }
                }
            }
            Outgoing::Message {
                message,
                operation,
                done,
            } => {
                let result = deliver(&session, message, operation).await;
                let _ = done.send(result);
            }
        }
    }
}

async fn deliver(
    session: &Arc<SessionInner>,
    message: Message,
    operation: Option<Arc<OperationContext>>,
) -> Result<MessageReport, Error> {
    let signaling = session.signaling()?;
    let participants = connected_participants(session)?;
    let mut results = Vec::with_capacity(participants.len());
    let mut first_failure = None;
    for p in participants {
        // A message ends the sender's composing state (RFC 3994 §3.1).
        lock(&p.inner.data).local_composing = false;
        let status = match signaling.message(p.leg(), message.clone()).await {
            Ok(()) => Status::ok(),
            Err(e) => {
                let status = e.status.clone();
                first_failure.get_or_insert(e);
                status
            }
        };
        results.push(ParticipantResult {
            participant: p,
            status,
        });
    }
    let all_failed = results.iter().all(|r| !r.status.code.is_success());
    let status = match (&first_failure, all_failed) {
        (Some(e), true) => e.status.clone(),
        _ => Status::ok(),
    };
    session.publish(SessionEvent::MessageSent {
        progress: OperationProgress {
            kind: OperationKind::SendMessage,
            context: operation,
            status,
            is_complete: true,
        },
        results: results.clone().into(),
    });
    match (first_failure, all_failed) {
        (Some(e), true) => Err(Error::failed("send message", e)),
        _ => Ok(MessageReport { results }),
    }
}
