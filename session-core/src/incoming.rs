//! Incoming sessions: invitations the application must answer.

use std::fmt;

use tracing::debug;

use crate::context::Context;
use crate::contract::signaling::{Answer, Progress, Reply};
use crate::error::Error;
use crate::events::ParticipantEvent;
use crate::lock;
use crate::participant::{Participant, ParticipantState, StateChangeReason};
use crate::session::{Session, SessionType, av, lifecycle_fail};
use crate::status::{Reason, Status, StatusCode};

/// An invitation to a session (`IUccIncomingSessionEvent`). Accept it or reject it;
/// dropping it unanswered rejects it with 480 (Temporarily Unavailable).
#[must_use = "dropping an incoming session rejects it"]
pub struct IncomingSession {
    session: Session,
    inviter: Participant,
    reply: Option<Reply<Answer>>,
}

impl fmt::Debug for IncomingSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IncomingSession")
            .field("session", &self.session)
            .field("inviter", &self.inviter.uri().to_string())
            .field("answered", &self.reply.is_none())
            .finish()
    }
}

impl IncomingSession {
    pub(crate) fn new(session: Session, inviter: Participant, reply: Reply<Answer>) -> Self {
        Self {
            session,
            inviter,
            reply: Some(reply),
        }
    }

    /// The session offered.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Its type.
    pub fn session_type(&self) -> SessionType {
        self.session.session_type()
    }

    /// Its context, with the conversation id the inviter set.
    pub fn context(&self) -> &Context {
        self.session.context()
    }

    /// Who invites. For audio/video its channels are already there: set their preferred
    /// direction or remove one before accepting to answer accordingly.
    pub fn inviter(&self) -> &Participant {
        &self.inviter
    }

    /// Tells the inviter the user is being alerted (180).
    pub async fn ringing(&self) -> Result<(), Error> {
        if self.reply.is_none() {
            return Err(Error::invalid_state("incoming session", "answered", "ring"));
        }
        let signaling = self.session.inner.signaling()?;
        signaling
            .progress(self.inviter.leg(), Progress::Ringing)
            .await
            .map_err(|e| Error::failed("ringing", e))
    }

    /// Accepts (`Accept`). Fails with an invalid-state error when already answered or
    /// when the inviter cancelled meanwhile.
    pub async fn accept(&mut self) -> Result<Session, Error> {
        if self.reply.is_none() {
            return Err(Error::invalid_state(
                "incoming session",
                "answered",
                "accept",
            ));
        }
        self.check_pending("accept")?;
        let description = if self.session.session_type() == SessionType::AudioVideo {
            let offer = lock(&self.inviter.inner.data).remote_offer.clone();
            let answered = match &offer {
                Some(offer) => av::answer_offer(&self.session.inner, &self.inviter, offer).await,
                // No offer came: this acceptance carries ours, the answer comes later.
                None => av::late_offer(&self.session.inner, &self.inviter).await,
            };
            match answered {
                Ok(answer) => Some(answer),
                Err(e) => {
                    self.finish(Reason::NotAcceptable);
                    return Err(e);
                }
            }
        } else {
            None
        };
        // The inviter may have cancelled while the answer was prepared.
        self.check_pending("accept")?;
        let Some(reply) = self.reply.take() else {
            return Err(Error::invalid_state(
                "incoming session",
                "answered",
                "accept",
            ));
        };
        if reply.is_closed() {
            lifecycle_fail(
                &self.session.inner,
                &self.inviter,
                StateChangeReason::RemoteHangup,
                Status::new(StatusCode::REQUEST_TERMINATED),
            );
            return Err(Error::invalid_state(
                "incoming session",
                "cancelled",
                "accept",
            ));
        }
        reply.accept(Answer {
            description,
            device: None,
        });
        let held = {
            let mut p = lock(&self.inviter.inner.data);
            p.remote_offer = None;
            p.transition(ParticipantState::Connected, StateChangeReason::Normal, None)?;
            let held: Vec<_> = p.held_messages.drain(..).collect();
            for (message, _) in &held {
                p.publish(ParticipantEvent::MessageReceived {
                    content_type: message.content_type.as_str().into(),
                    body: message.body.clone(),
                });
            }
            held
        };
        lock(&self.session.inner.data).ever_connected = true;
        for (_, reply) in held {
            reply.accept(());
        }
        debug!(session = self.session.id(), "incoming session accepted");
        Ok(self.session.clone())
    }

    /// Rejects (`Reject`): the inviter sees the reason's status (busy 486, decline 603…).
    pub fn reject(&mut self, reason: Reason) -> Result<(), Error> {
        if self.reply.is_none() {
            return Err(Error::invalid_state(
                "incoming session",
                "answered",
                "reject",
            ));
        }
        self.finish(reason);
        Ok(())
    }

    fn check_pending(&self, action: &'static str) -> Result<(), Error> {
        let state = self.inviter.state();
        if state != ParticipantState::Connecting {
            return Err(Error::invalid_state("incoming session", state, action));
        }
        Ok(())
    }

    fn finish(&mut self, reason: Reason) {
        if let Some(reply) = self.reply.take() {
            reply.reject(reason.status());
            lifecycle_fail(
                &self.session.inner,
                &self.inviter,
                StateChangeReason::Normal,
                reason.status(),
            );
        }
    }
}

impl Drop for IncomingSession {
    fn drop(&mut self) {
        self.finish(Reason::Unavailable);
    }
}
