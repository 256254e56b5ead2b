//! The signaling contract.
//!
//! # Shape
//! A [`SignalingTransport`] is added to a platform. When an endpoint is created, the
//! platform [`attach`](SignalingTransport::attach)es it to its transport, which returns
//! a [`SignalingEndpoint`]: the commands session-core sends. Everything the transport
//! receives goes the other way as [`Inbound`] values on a bounded channel given at
//! attach time; session-core routes them by [`LegId`].
//!
//! A *leg* is one signaling relationship between a local session and one remote
//! participant: a SIP dialog (or a pseudo-dialog of MESSAGE requests), a QUIC stream,
//! a link in the memory network. Session-core allocates leg ids for outgoing legs and
//! transports allocate them for incoming ones, both with [`LegId::next`].
//!
//! # Requests and replies
//! Commands that wait for the far end are `async` and resolve with its final answer
//! (or a [`SignalingError`] carrying the status). Inbound requests that need an answer
//! carry a [`Reply`]; dropping a `Reply` unanswered answers 480, so nothing leaks.
//! Provisional progress (trying, ringing, session progress) of an outgoing invite
//! arrives as [`Inbound::Progress`] before the invite resolves.
//!
//! # Ordering
//! A transport delivers the `Inbound` values of one leg in the order it received them.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context as TaskContext, Poll};

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use crate::contract::media::PacketPath;
use crate::description::SessionDescription;
use crate::endpoint::CredentialCache;
use crate::error::SignalingError;
use crate::session::SessionType;
use crate::status::{Reason, Status, StatusCode};
use crate::uri::{Scheme, Uri};

/// Capacity of the inbound channel session-core gives each attached endpoint.
pub const INBOUND_CAPACITY: usize = 4096;

/// One signaling relationship between a local session and one remote participant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LegId(u64);

impl LegId {
    /// A fresh id, unique in this process.
    pub fn next() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Self(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// The number.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for LegId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "leg-{}", self.0)
    }
}

/// The local identity an endpoint signals as.
#[derive(Clone, Debug)]
pub struct LocalIdentity {
    /// The endpoint's address of record.
    pub uri: Uri,
    /// Credentials per realm, for registration and authentication challenges.
    pub credentials: CredentialCache,
    /// Display name for From headers and the like.
    pub display_name: Option<String>,
}

/// An invitation to a session.
#[derive(Clone, Debug)]
pub struct Invite {
    /// Who invites.
    pub from: Uri,
    /// Who is invited.
    pub to: Uri,
    /// The session's type.
    pub session_type: SessionType,
    /// The conversation id of the session's context ([`crate::context::ids::CONVERSATION_ID`]).
    pub conversation_id: Option<String>,
    /// The media offer (audio/video sessions).
    pub offer: Option<SessionDescription>,
    /// The inviting device's id (a SIP instance id, a QUIC client identity…), filled by
    /// the transport when it knows one.
    pub device: Option<String>,
}

/// The final positive answer to an invitation.
#[derive(Clone, Debug, Default)]
pub struct Answer {
    /// The media answer (audio/video sessions). To an A/V invitation that came without
    /// an offer (`Invite::offer` is `None`: a SIP INVITE without SDP, "delayed offer"),
    /// this is session-core's *offer*; the remote answer then comes as
    /// [`Inbound::Answer`] (in SIP, from the ACK).
    pub description: Option<SessionDescription>,
    /// The answering device's id, filled by the transport when it knows one.
    pub device: Option<String>,
}

/// Provisional progress of an invitation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// The far end received it (100).
    Trying,
    /// The far end is alerting its user (180).
    Ringing,
    /// Early session progress (183).
    SessionProgress,
}

impl Progress {
    /// The status code this progress maps to.
    pub fn status(&self) -> Status {
        Status::new(match self {
            Progress::Trying => StatusCode::TRYING,
            Progress::Ringing => StatusCode::RINGING,
            Progress::SessionProgress => StatusCode::SESSION_PROGRESS,
        })
    }
}

/// An instant message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// MIME type (`text/plain; charset=UTF-8`, `text/html`, …).
    pub content_type: String,
    /// The body, byte-exact.
    pub body: Bytes,
}

/// Composing indication (RFC 3994 semantics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComposingState {
    /// The user is typing.
    Active,
    /// The user stopped typing.
    Idle,
}

/// A transport the platform can use.
#[async_trait]
pub trait SignalingTransport: Send + Sync + fmt::Debug {
    /// The name an endpoint configuration selects it by (`"memory"`, `"sip-udp"`, `"quic"`).
    fn name(&self) -> &str;

    /// The URI schemes it can reach.
    fn schemes(&self) -> &[Scheme];

    /// Attaches one local endpoint. `inbound` receives what the transport receives for it.
    async fn attach(
        &self,
        identity: LocalIdentity,
        inbound: mpsc::Sender<Inbound>,
    ) -> Result<Arc<dyn SignalingEndpoint>, SignalingError>;
}

/// The commands session-core sends through a transport for one endpoint.
#[async_trait]
pub trait SignalingEndpoint: Send + Sync + fmt::Debug {
    /// Makes the endpoint reachable (SIP REGISTER; binding for QUIC; directory entry in memory).
    async fn register(&self) -> Result<(), SignalingError>;

    /// Makes it unreachable again.
    async fn unregister(&self) -> Result<(), SignalingError>;

    /// Opens `leg` with an invitation; resolves with the final answer. Progress arrives
    /// as [`Inbound::Progress`] meanwhile. After [`cancel`](Self::cancel) it resolves with a
    /// [`SignalingErrorKind::Cancelled`](crate::error::SignalingErrorKind::Cancelled) error.
    async fn invite(&self, leg: LegId, invite: Invite) -> Result<Answer, SignalingError>;

    /// Cancels the pending invitation of `leg`.
    async fn cancel(&self, leg: LegId) -> Result<(), SignalingError>;

    /// Sends provisional progress for an incoming invitation not yet answered.
    async fn progress(&self, leg: LegId, progress: Progress) -> Result<(), SignalingError>;

    /// Sends a new offer on an established leg; resolves with the answer.
    async fn update(
        &self,
        leg: LegId,
        offer: SessionDescription,
    ) -> Result<SessionDescription, SignalingError>;

    /// Sends a message on `leg`; resolves when the far end accepted it.
    async fn message(&self, leg: LegId, message: Message) -> Result<(), SignalingError>;

    /// Sends a composing indication on `leg`.
    async fn composing(&self, leg: LegId, state: ComposingState) -> Result<(), SignalingError>;

    /// Ends an established leg (or rejects nothing: use the `Reply` for pending ones).
    async fn terminate(&self, leg: LegId, reason: Reason) -> Result<(), SignalingError>;

    /// A packet path for media flow `flow_id` of `leg`, when the transport carries media
    /// itself (QUIC datagrams). `None`: media goes over its own UDP sockets.
    fn packet_path(&self, leg: LegId, flow_id: u64) -> Option<Arc<dyn PacketPath>> {
        let _ = (leg, flow_id);
        None
    }

    /// Releases everything; later commands fail with a closed error.
    async fn shutdown(&self);
}

/// What a transport tells session-core, per leg.
#[derive(Debug)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // one per signal, moved once: boxing would cost more than it saves
pub enum Inbound {
    /// A remote party invites this endpoint.
    Invite {
        /// The new leg.
        leg: LegId,
        /// The invitation.
        invite: Invite,
        /// The final answer (progress goes through [`SignalingEndpoint::progress`]).
        reply: Reply<Answer>,
    },
    /// Progress of an outgoing invitation.
    Progress {
        /// The leg.
        leg: LegId,
        /// The progress.
        progress: Progress,
    },
    /// The remote party cancelled its invitation before it was answered.
    Cancelled {
        /// The leg.
        leg: LegId,
    },
    /// A new offer on an established leg (re-INVITE).
    Update {
        /// The leg.
        leg: LegId,
        /// The offer.
        offer: SessionDescription,
        /// The answer.
        reply: Reply<SessionDescription>,
    },
    /// A message.
    Message {
        /// The leg.
        leg: LegId,
        /// The message.
        message: Message,
        /// Acceptance (the sender's delivery result).
        reply: Reply<()>,
    },
    /// A composing indication.
    Composing {
        /// The leg.
        leg: LegId,
        /// The state.
        state: ComposingState,
    },
    /// The remote answer to the offer this side made when it accepted an invitation
    /// that came without one (see [`Answer::description`]); in SIP, the ACK's SDP.
    /// `None`: the remote party sent no usable answer (session-core then hangs up).
    Answer {
        /// The leg.
        leg: LegId,
        /// The answer.
        answer: Option<SessionDescription>,
    },
    /// The remote party ended the leg, or the transport lost it.
    Terminated {
        /// The leg.
        leg: LegId,
        /// Why (a 2xx status for a normal hang-up).
        status: Status,
    },
}

impl Inbound {
    /// The leg this is about.
    pub fn leg(&self) -> LegId {
        match self {
            Inbound::Invite { leg, .. }
            | Inbound::Progress { leg, .. }
            | Inbound::Cancelled { leg }
            | Inbound::Update { leg, .. }
            | Inbound::Message { leg, .. }
            | Inbound::Composing { leg, .. }
            | Inbound::Answer { leg, .. }
            | Inbound::Terminated { leg, .. } => *leg,
        }
    }
}

/// The answer to an inbound request. Dropping it unanswered answers 480.
#[must_use = "an unanswered reply rejects the request with 480"]
pub struct Reply<T> {
    tx: Option<oneshot::Sender<Result<T, Status>>>,
}

impl<T> fmt::Debug for Reply<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply")
            .field("answered", &self.tx.is_none())
            .finish()
    }
}

impl<T> Reply<T> {
    /// A reply and the receiver a transport awaits.
    pub fn channel() -> (Reply<T>, ReplyReceiver<T>) {
        let (tx, rx) = oneshot::channel();
        (Reply { tx: Some(tx) }, ReplyReceiver { rx })
    }

    /// Answers positively.
    pub fn accept(mut self, value: T) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Ok(value));
        }
    }

    /// Answers with a failure status.
    pub fn reject(mut self, status: Status) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Err(status));
        }
    }

    /// Whether the requester has gone (cancelled, timed out).
    pub fn is_closed(&self) -> bool {
        self.tx.as_ref().is_none_or(|tx| tx.is_closed())
    }
}

impl<T> Drop for Reply<T> {
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Err(Status::new(StatusCode::TEMPORARILY_UNAVAILABLE)));
        }
    }
}

/// What a transport awaits for an inbound request's answer.
#[derive(Debug)]
pub struct ReplyReceiver<T> {
    rx: oneshot::Receiver<Result<T, Status>>,
}

impl<T> Future for ReplyReceiver<T> {
    type Output = Result<T, Status>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.unwrap_or_else(|_| Err(Status::new(StatusCode::TEMPORARILY_UNAVAILABLE))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dropped_reply_answers_480() {
        let (reply, rx) = Reply::<()>::channel();
        drop(reply);
        assert_eq!(
            rx.await.unwrap_err().code,
            StatusCode::TEMPORARILY_UNAVAILABLE
        );
        let (reply, rx) = Reply::<u8>::channel();
        reply.accept(3);
        assert_eq!(rx.await.unwrap(), 3);
    }

    #[test]
    fn leg_ids_are_unique() {
        let a = LegId::next();
        let b = LegId::next();
        assert_ne!(a, b);
    }
}
