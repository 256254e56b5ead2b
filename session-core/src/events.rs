//! The typed events of each object.
//!
//! Each object publishes its own enum through its own queue (see [`crate::dispatch`]
//! for the ordering guarantee and the overflow policy): [`EndpointEvent`],
//! [`SessionManagerEvent`], [`SessionEvent`], [`ParticipantEvent`],
//! [`MediaChannelEvent`]. Events are values; the handles they carry (sessions,
//! participants, channels) are cheap clones of the live objects, and their other heap
//! parts are behind `Arc` or `Bytes`, so delivering an event to several subscribers
//! never allocates.

use std::sync::Arc;

use bytes::Bytes;

use crate::channel::MediaChannel;
use crate::description::MediaDirection;
use crate::endpoint::EndpointState;
use crate::operation::OperationProgress;
use crate::participant::{Participant, ParticipantEndpoint, ParticipantState, StateChangeReason};
use crate::session::Session;
use crate::status::Status;

/// Events of a platform (`_IUccPlatformEvents`).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum PlatformEvent {
    /// `shutdown` completed (`OnShutdown`): every transport released.
    Shutdown(OperationProgress),
}

/// Events of an endpoint (`_IUccEndpointEvents`).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum EndpointEvent {
    /// The state changed.
    StateChanged {
        /// Before.
        old: EndpointState,
        /// After.
        new: EndpointState,
    },
    /// `enable` completed (`OnEnable`).
    Enabled(OperationProgress),
    /// `disable` completed (`OnDisable`).
    Disabled(OperationProgress),
}

/// Events of the session manager (`_IUccSessionManagerEvents`).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum SessionManagerEvent {
    /// A remote party invited this endpoint (`OnIncomingSession`). The decision itself
    /// is the [`crate::IncomingSession`] value from `SessionManager::incoming`.
    IncomingSession {
        /// The new session.
        session: Session,
    },
    /// A session was created locally (`OnOutgoingSession`).
    OutgoingSession {
        /// The new session.
        session: Session,
    },
}

/// Result of an operation for one participant (`IUccSessionParticipantOperationEvent`).
#[derive(Clone, Debug)]
pub struct ParticipantResult {
    /// The participant.
    pub participant: Participant,
    /// Its outcome.
    pub status: Status,
}

/// Events of a session (`_IUccSessionEvents`, participant collection and modality events).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum SessionEvent {
    /// A participant joined the collection (`OnParticipantAdded`), before any invitation is answered.
    ParticipantAdded {
        /// The participant.
        participant: Participant,
    },
    /// A participant left the collection (`OnParticipantRemoved`).
    ParticipantRemoved {
        /// The participant.
        participant: Participant,
    },
    /// Progress or completion of an operation of this session (`OnAddParticipant`,
    /// `OnRemoveParticipant`, `OnTerminate`, `OnUpdateChannels`).
    Operation(OperationProgress),
    /// Completion of `send_message`, with one result per participant (`OnSendMessage`).
    MessageSent {
        /// The completion.
        progress: OperationProgress,
        /// Per-participant delivery results.
        results: Arc<[ParticipantResult]>,
    },
    /// The session ended. No session event follows.
    Terminated {
        /// Why (2xx for a normal end).
        status: Status,
    },
}

/// A participant's state change (`IUccSessionParticipantStateChangedEvent`).
#[derive(Clone, Debug, PartialEq)]
pub struct StateChange {
    /// Before.
    pub old: ParticipantState,
    /// After.
    pub new: ParticipantState,
    /// Why.
    pub reason: StateChangeReason,
    /// The status behind it (the peer's final answer, a 487 for a cancel…).
    pub status: Option<Status>,
}

/// Events of a participant (`_IUccSessionParticipantEvents` and modality participant events).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ParticipantEvent {
    /// The state changed (remote participants only). Nothing follows `Disconnected`.
    StateChanged(StateChange),
    /// An instant message from this participant (`OnInstantMessageReceived`).
    MessageReceived {
        /// MIME type.
        content_type: Arc<str>,
        /// Body, byte-exact.
        body: Bytes,
    },
    /// The participant started composing (`OnComposing`).
    Composing,
    /// The participant stopped composing, or its indication timed out (`OnIdle`).
    Idle,
    /// A device of the participant joined (`OnEndpointAdded`).
    EndpointAdded {
        /// The device.
        endpoint: Arc<ParticipantEndpoint>,
    },
    /// A media channel was added, locally or by the peer (`OnChannelAdded`).
    ChannelAdded {
        /// The channel.
        channel: MediaChannel,
    },
    /// A media channel was removed (`OnChannelRemoved`).
    ChannelRemoved {
        /// The channel.
        channel: MediaChannel,
    },
    /// The peer withdrew a media request before it was answered (`OnMediaRequestCancelled`).
    MediaRequestCancelled,
}

/// Events of a media channel (`_IUccMediaChannelEvents`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum MediaChannelEvent {
    /// The negotiated direction changed (`OnNegotiatedMediaChanged`).
    NegotiatedMediaChanged {
        /// Before.
        old: MediaDirection,
        /// After.
        new: MediaDirection,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Events are moved through every subscriber's queue: keep them small.
    #[test]
    fn events_stay_small() {
        assert!(
            std::mem::size_of::<ParticipantEvent>() <= 56,
            "{}",
            std::mem::size_of::<ParticipantEvent>()
        );
        assert!(
            std::mem::size_of::<SessionEvent>() <= 64,
            "{}",
            std::mem::size_of::<SessionEvent>()
        );
        assert!(
            std::mem::size_of::<EndpointEvent>() <= 64,
            "{}",
            std::mem::size_of::<EndpointEvent>()
        );
        assert!(std::mem::size_of::<MediaChannelEvent>() <= 8);
    }
}
