//! [`SipEndpoint`]: session-core's handle on one attached endpoint of a SIP stack.

use std::fmt;

use async_trait::async_trait;
use session_core::contract::signaling::{
    Answer, ComposingState, Invite, LegId, Message, Progress, SignalingEndpoint,
};
use session_core::description::SessionDescription;
use session_core::error::SignalingError;
use session_core::status::Reason;
use tokio::sync::{mpsc, oneshot};

use super::leg::{Done, EndpointId};
use super::stack::Command;

/// One endpoint attached to a [`SipTransport`](super::SipTransport).
pub(crate) struct SipEndpoint {
    pub(crate) ep: EndpointId,
    pub(crate) commands: mpsc::UnboundedSender<Command>,
    pub(crate) aor: String,
}

impl fmt::Debug for SipEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SipEndpoint")
            .field("aor", &self.aor)
            .finish()
    }
}

impl SipEndpoint {
    async fn ask<T>(&self, make: impl FnOnce(Done<T>) -> Command) -> Result<T, SignalingError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .map_err(|_| SignalingError::closed())?;
        rx.await.unwrap_or_else(|_| Err(SignalingError::closed()))
    }
}

#[async_trait]
impl SignalingEndpoint for SipEndpoint {
    async fn register(&self) -> Result<(), SignalingError> {
        let ep = self.ep;
        self.ask(|done| Command::Register { ep, done }).await
    }

    async fn unregister(&self) -> Result<(), SignalingError> {
        let ep = self.ep;
        self.ask(|done| Command::Unregister { ep, done }).await
    }

    async fn invite(&self, leg: LegId, invite: Invite) -> Result<Answer, SignalingError> {
        let ep = self.ep;
        self.ask(|done| Command::Invite {
            ep,
            leg,
            invite,
            done,
        })
        .await
    }

    async fn cancel(&self, leg: LegId) -> Result<(), SignalingError> {
        self.ask(|done| Command::Cancel { leg, done }).await
    }

    async fn progress(&self, leg: LegId, progress: Progress) -> Result<(), SignalingError> {
        self.ask(|done| Command::Progress {
            leg,
            progress,
            done,
        })
        .await
    }

    async fn update(
        &self,
        leg: LegId,
        offer: SessionDescription,
    ) -> Result<SessionDescription, SignalingError> {
        self.ask(|done| Command::Update { leg, offer, done }).await
    }

    async fn message(&self, leg: LegId, message: Message) -> Result<(), SignalingError> {
        self.ask(|done| Command::Message { leg, message, done })
            .await
    }

    async fn composing(&self, leg: LegId, state: ComposingState) -> Result<(), SignalingError> {
        self.ask(|done| Command::Composing { leg, state, done })
            .await
    }

    async fn terminate(&self, leg: LegId, reason: Reason) -> Result<(), SignalingError> {
        self.ask(|done| Command::Terminate { leg, reason, done })
            .await
    }

    async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self
            .commands
            .send(Command::Detach {
                ep: self.ep,
                done: tx,
            })
            .is_ok()
        {
            let _ = rx.await;
        }
    }
}
