//! Sessions (`IUccSession`) and their typed facets.
//!
//! A [`Session`] is created by the session manager (outgoing) or arrives as an
//! [`IncomingSession`](crate::IncomingSession). Participants are created without
//! signaling ([`Session::create_participant`]) and invited with
//! [`Session::add_participant`]. The instant-messaging facet is [`ImSession`]
//! ([`Session::im`]); audio/video channels are per participant
//! ([`Participant::av`](crate::Participant::av)).
//!
//! # Locking
//! A session's mutable state sits behind one short-held mutex (and each participant
//! and channel behind its own, always taken after the session's). No lock is held
//! across an `.await` or while calling the transport; events are published under
//! the owning object's lock, which is what orders them.

pub(crate) mod av;
mod im;
mod lifecycle;

pub(crate) use lifecycle::fail_participant as lifecycle_fail;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub use av::{AvParticipant, MEDIA_REQUEST_QUEUE, MediaRequest, MediaRequests};
pub use im::{ImSession, MAX_MESSAGE_SIZE, MessageReport};

use crate::context::{Context, ids};
use crate::contract::signaling::{LegId, SignalingEndpoint};
use crate::dispatch::{self, EventHub, Publisher, Subscription};
use crate::endpoint::EndpointCore;
use crate::error::Error;
use crate::events::SessionEvent;
use crate::lock;
use crate::operation::{Operation, OperationContext};
use crate::participant::{Direction, Participant, ParticipantState};
use crate::status::Reason;
use crate::uri::Uri;

/// Most participants in one session.
pub const MAX_PARTICIPANTS: usize = 64;

/// The type of a session (`UCC_SESSION_TYPE`, same numeric values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SessionType {
    /// Instant messaging (0).
    InstantMessaging,
    /// Audio/video (1).
    AudioVideo,
    /// Conference (2): exists as a type; its focus behaviour comes later.
    Conference,
    /// Application-defined session (3): exists as a type; its behaviour comes later.
    Application,
}

impl SessionType {
    /// The UCC numeric value.
    pub fn ucc_value(self) -> u32 {
        match self {
            SessionType::InstantMessaging => 0,
            SessionType::AudioVideo => 1,
            SessionType::Conference => 2,
            SessionType::Application => 3,
        }
    }

    /// From the UCC numeric value.
    pub fn from_ucc_value(v: u32) -> Option<Self> {
        Some(match v {
            0 => SessionType::InstantMessaging,
            1 => SessionType::AudioVideo,
            2 => SessionType::Conference,
            3 => SessionType::Application,
            _ => return None,
        })
    }

    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            SessionType::InstantMessaging => "instant messaging",
            SessionType::AudioVideo => "audio/video",
            SessionType::Conference => "conference",
            SessionType::Application => "application",
        }
    }
}

pub(crate) struct SessionData {
    publisher: Option<Publisher<SessionEvent>>,
    pub(crate) participants: Vec<Participant>,
    pub(crate) terminated: bool,
    /// Some participant reached Connected: the session ends with its last participant.
    pub(crate) ever_connected: bool,
}

impl SessionData {
    pub(crate) fn publish(&mut self, event: SessionEvent) {
        if let Some(p) = &mut self.publisher {
            p.publish(event);
        }
    }

    /// Publishes the final event and closes the stream.
    pub(crate) fn close(&mut self, last: SessionEvent) {
        self.publish(last);
        self.publisher = None;
    }
}

pub(crate) struct SessionInner {
    pub(crate) id: u64,
    pub(crate) session_type: SessionType,
    pub(crate) context: Context,
    pub(crate) endpoint: Arc<EndpointCore>,
    pub(crate) local: Participant,
    hub: EventHub<SessionEvent>,
    pub(crate) data: Mutex<SessionData>,
    version: AtomicU64,
    pub(crate) im: im::ImState,
}

impl SessionInner {
    pub(crate) fn publish(&self, event: SessionEvent) {
        lock(&self.data).publish(event);
    }

    pub(crate) fn signaling(&self) -> Result<Arc<dyn SignalingEndpoint>, Error> {
        self.endpoint.signaling()
    }

    pub(crate) fn next_version(&self) -> u64 {
        self.version.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn check_live(&self, action: &'static str) -> Result<(), Error> {
        if lock(&self.data).terminated {
            return Err(Error::invalid_state("session", "Terminated", action));
        }
        Ok(())
    }
}

impl Drop for SessionInner {
    fn drop(&mut self) {
        // Nobody holds the session any more: hang up what is still connected.
        let data = self
            .data
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if data.terminated {
            return;
        }
        let Ok(signaling) = self.endpoint.signaling() else {
            return;
        };
        let legs: Vec<LegId> = data
            .participants
            .iter()
            .filter(|p| p.state() == ParticipantState::Connected)
            .map(Participant::leg)
            .collect();
        for leg in &legs {
            self.endpoint.forget_leg(*leg);
        }
        if let (false, Ok(rt)) = (legs.is_empty(), tokio::runtime::Handle::try_current()) {
            rt.spawn(async move {
                for leg in legs {
                    let _ = signaling.terminate(leg, Reason::NotSpecified).await;
                }
            });
        }
    }
}

/// A communication session. Cheap to clone; all clones are the same session.
#[derive(Clone)]
pub struct Session {
    pub(crate) inner: Arc<SessionInner>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.inner.id)
            .field("type", &self.inner.session_type)
            .field("terminated", &self.is_terminated())
            .finish()
    }
}

impl PartialEq for Session {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Session {
    pub(crate) fn new(
        endpoint: Arc<EndpointCore>,
        session_type: SessionType,
        context: Context,
    ) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let (publisher, hub) = dispatch::channel(dispatch::DEFAULT_CAPACITY);
        let local_uri = endpoint.uri.clone();
        let inner = Arc::new_cyclic(|weak| SessionInner {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            session_type,
            context,
            local: Participant::new(
                weak.clone(),
                local_uri,
                Context::new(),
                true,
                LegId::next(),
                Direction::Outgoing,
            ),
            endpoint,
            hub,
            data: Mutex::new(SessionData {
                publisher: Some(publisher),
                participants: Vec::new(),
                terminated: false,
                ever_connected: false,
            }),
            version: AtomicU64::new(0),
            im: im::ImState::default(),
        });
        Session { inner }
    }

    /// A number that identifies the session within this process (for logs).
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The session's type.
    pub fn session_type(&self) -> SessionType {
        self.inner.session_type
    }

    /// The session's context (for an incoming session: what the transport carried,
    /// including the conversation id).
    pub fn context(&self) -> &Context {
        &self.inner.context
    }

    /// The conversation id ([`ids::CONVERSATION_ID`]).
    pub fn conversation_id(&self) -> Option<&str> {
        self.inner.context.conversation_id()
    }

    /// The local participant.
    pub fn local_participant(&self) -> Participant {
        self.inner.local.clone()
    }

    /// The remote participants in the collection, in the order they were added.
    pub fn participants(&self) -> Vec<Participant> {
        lock(&self.inner.data).participants.clone()
    }

    /// Whether the session ended.
    pub fn is_terminated(&self) -> bool {
        lock(&self.inner.data).terminated
    }

    /// Subscribes to the session's events. After `Terminated` the stream ends.
    pub fn events(&self) -> Subscription<SessionEvent> {
        self.inner.hub.subscribe()
    }

    /// Creates a participant without any signaling (`CreateParticipant`).
    pub fn create_participant(&self, uri: Uri, context: Context) -> Result<Participant, Error> {
        self.inner.check_live("create a participant")?;
        Ok(Participant::new(
            Arc::downgrade(&self.inner),
            uri,
            context,
            false,
            LegId::next(),
            Direction::Outgoing,
        ))
    }

    /// Invites a participant (`AddParticipant`). It joins the collection at once; the
    /// operation completes when it answers. Cancel the operation to cancel the invitation.
    pub fn add_participant(
        &self,
        participant: &Participant,
        operation: Option<OperationContext>,
    ) -> Result<Operation<()>, Error> {
        lifecycle::add_participant(&self.inner, participant, operation)
    }

    /// Removes a participant (`RemoveParticipant`): hangs up its leg, or cancels its
    /// pending invitation.
    pub fn remove_participant(
        &self,
        participant: &Participant,
        operation: Option<OperationContext>,
    ) -> Result<Operation<()>, Error> {
        lifecycle::remove_participant(&self.inner, participant, operation)
    }

    /// Ends the session for every participant (`Terminate`).
    pub fn terminate(
        &self,
        reason: Reason,
        operation: Option<OperationContext>,
    ) -> Result<Operation<()>, Error> {
        lifecycle::terminate(&self.inner, reason, operation)
    }

    /// The instant-messaging facet.
    pub fn im(&self) -> Result<ImSession, Error> {
        match self.inner.session_type {
            SessionType::InstantMessaging => Ok(ImSession {
                session: self.clone(),
            }),
            other => Err(Error::WrongSessionType {
                action: "instant messaging",
                expected: SessionType::InstantMessaging.name(),
                actual: other.name(),
            }),
        }
    }
}

/// Fills in the conversation id of an outgoing session's context when the
/// application did not set one, and checks its type when it did.
pub(crate) fn ensure_conversation_id(mut context: Context) -> Result<Context, Error> {
    if context.is_set(ids::CONVERSATION_ID) {
        context.text(ids::CONVERSATION_ID)?;
    } else {
        context.add(ids::CONVERSATION_ID, uuid::Uuid::new_v4().to_string())?;
    }
    Ok(context)
}
