//! Participants (`IUccSessionParticipant`) and their state machine.

use std::fmt;
use std::sync::{Arc, Mutex, Weak};

use crate::channel::MediaChannel;
use crate::context::Context;
use crate::contract::signaling::{LegId, Message, Reply};
use crate::description::SessionDescription;
use crate::dispatch::{self, EventHub, Publisher, Subscription};
use crate::error::Error;
use crate::events::{ParticipantEvent, StateChange};
use crate::lock;
use crate::operation::OperationContext;
use crate::session::{Session, SessionInner};
use crate::status::Status;
use crate::uri::Uri;

/// A participant's state (`UCC_SESSION_ENTITY_STATE`, same numeric values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParticipantState {
    /// Created, not invited (1).
    Idle,
    /// Invited, no final answer yet (2).
    Connecting,
    /// In the session (3).
    Connected,
    /// Leaving (4).
    Disconnecting,
    /// Gone; terminal (5).
    Disconnected,
}

impl ParticipantState {
    /// The UCC numeric value.
    pub fn ucc_value(self) -> u32 {
        match self {
            ParticipantState::Idle => 1,
            ParticipantState::Connecting => 2,
            ParticipantState::Connected => 3,
            ParticipantState::Disconnecting => 4,
            ParticipantState::Disconnected => 5,
        }
    }

    /// Whether the state machine allows `self → to`. Connecting → Connecting is allowed
    /// so progress (trying → ringing) can be reported.
    pub fn can_become(self, to: ParticipantState) -> bool {
        use ParticipantState::*;
        matches!(
            (self, to),
            (Idle, Connecting | Disconnected)
                | (
                    Connecting,
                    Connecting | Connected | Disconnecting | Disconnected
                )
                | (Connected, Disconnecting | Disconnected)
                | (Disconnecting, Disconnected)
        )
    }
}

/// Why a participant's state changed (`UCC_PARTICIPANT_STATE_CHANGE_REASON`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StateChangeReason {
    /// Normal progression (0).
    Normal,
    /// The far end is ringing (1).
    Ringing,
    /// The far end received the invitation (2).
    Trying,
    /// The far end hung up or cancelled (3).
    RemoteHangup,
    /// The invitation failed: rejected, timed out, cancelled (8).
    Failed,
    /// A local or transport error (9).
    Error,
}

impl StateChangeReason {
    /// The UCC numeric value.
    pub fn ucc_value(self) -> u32 {
        match self {
            StateChangeReason::Normal => 0,
            StateChangeReason::Ringing => 1,
            StateChangeReason::Trying => 2,
            StateChangeReason::RemoteHangup => 3,
            StateChangeReason::Failed => 8,
            StateChangeReason::Error => 9,
        }
    }
}

/// One device of a participant (`IUccSessionParticipantEndpoint`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParticipantEndpoint {
    /// The participant's address.
    pub uri: Uri,
    /// The device's id (a SIP instance id, a QUIC client identity…).
    pub id: String,
    /// Whether it is a local device.
    pub is_local: bool,
}

/// Who sent the invitation of a participant's leg.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Outgoing,
    Incoming,
}

/// One media line of a participant's negotiated description.
#[derive(Clone, Debug)]
pub(crate) struct Line {
    pub(crate) channel: Option<MediaChannel>,
    pub(crate) media_type: crate::description::MediaType,
}

pub(crate) struct ParticipantData {
    pub(crate) state: ParticipantState,
    publisher: Option<Publisher<ParticipantEvent>>,
    pub(crate) direction: Direction,
    /// Channels attached and not yet part of a negotiated line.
    pub(crate) new_channels: Vec<MediaChannel>,
    /// The negotiated media lines, in order.
    pub(crate) lines: Vec<Line>,
    pub(crate) endpoints: Vec<ParticipantEndpoint>,
    pub(crate) remote_composing: bool,
    pub(crate) composing_epoch: u64,
    pub(crate) local_composing: bool,
    /// Messages that arrived before the incoming session was accepted.
    pub(crate) held_messages: Vec<(Message, Reply<()>)>,
    /// The operation context of a pending `add_participant`, for progress events.
    pub(crate) pending_op: Option<Option<Arc<OperationContext>>>,
    /// The offer of an incoming invitation, until answered.
    pub(crate) remote_offer: Option<SessionDescription>,
    /// The offer this side made accepting an invitation without one, until the remote
    /// answer comes ([`Inbound::Answer`](crate::contract::signaling::Inbound::Answer)).
    pub(crate) local_offer: Option<SessionDescription>,
    /// An offer/answer exchange is under way (glare guard).
    pub(crate) negotiating: bool,
    /// Where offers that add media go, once the application took them.
    pub(crate) media_requests: Option<tokio::sync::mpsc::Sender<crate::session::MediaRequest>>,
    pub(crate) media_requests_taken: bool,
}

impl ParticipantData {
    /// Moves the state machine, publishing the change; refuses illegal transitions.
    pub(crate) fn transition(
        &mut self,
        to: ParticipantState,
        reason: StateChangeReason,
        status: Option<Status>,
    ) -> Result<(), Error> {
        if !self.state.can_become(to) {
            return Err(Error::invalid_state(
                "participant",
                self.state,
                "change state",
            ));
        }
        let change = StateChange {
            old: self.state,
            new: to,
            reason,
            status,
        };
        self.state = to;
        self.publish(ParticipantEvent::StateChanged(change));
        if to == ParticipantState::Disconnected {
            // Nothing follows Disconnected: subscribers drain and then see the end.
            self.publisher = None;
        }
        Ok(())
    }

    pub(crate) fn publish(&mut self, event: ParticipantEvent) {
        if let Some(p) = &mut self.publisher {
            p.publish(event);
        }
    }

    /// Records the device a participant signals from and announces it.
    pub(crate) fn add_endpoint(&mut self, uri: &Uri, device: Option<&str>) {
        let endpoint = ParticipantEndpoint {
            uri: uri.clone(),
            id: device.unwrap_or("default").to_owned(),
            is_local: false,
        };
        if self.endpoints.iter().all(|e| e.id != endpoint.id) {
            self.endpoints.push(endpoint.clone());
            self.publish(ParticipantEvent::EndpointAdded {
                endpoint: Arc::new(endpoint),
            });
        }
    }

    /// Every channel attached, negotiated or not.
    pub(crate) fn all_channels(&self) -> Vec<MediaChannel> {
        self.lines
            .iter()
            .filter_map(|l| l.channel.clone())
            .chain(self.new_channels.iter().cloned())
            .collect()
    }
}

pub(crate) struct ParticipantInner {
    pub(crate) id: u64,
    pub(crate) uri: Uri,
    pub(crate) context: Context,
    pub(crate) is_local: bool,
    pub(crate) leg: LegId,
    pub(crate) session: Weak<SessionInner>,
    hub: EventHub<ParticipantEvent>,
    pub(crate) data: Mutex<ParticipantData>,
}

/// A participant of a session. Cheap to clone; all clones are the same participant.
#[derive(Clone)]
pub struct Participant {
    pub(crate) inner: Arc<ParticipantInner>,
}

impl fmt::Debug for Participant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Participant")
            .field("id", &self.inner.id)
            .field("uri", &self.inner.uri.to_string())
            .field("local", &self.inner.is_local)
            .field("state", &self.state())
            .finish()
    }
}

impl PartialEq for Participant {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Participant {
    pub(crate) fn new(
        session: Weak<SessionInner>,
        uri: Uri,
        context: Context,
        is_local: bool,
        leg: LegId,
        direction: Direction,
    ) -> Self {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let (publisher, hub) = dispatch::channel(dispatch::DEFAULT_CAPACITY);
        let state = if is_local {
            ParticipantState::Connected
        } else {
            ParticipantState::Idle
        };
        Self {
            inner: Arc::new(ParticipantInner {
                id: NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                uri,
                context,
                is_local,
                leg,
                session,
                hub,
                data: Mutex::new(ParticipantData {
                    state,
                    publisher: Some(publisher),
                    direction,
                    new_channels: Vec::new(),
                    lines: Vec::new(),
                    endpoints: Vec::new(),
                    remote_composing: false,
                    composing_epoch: 0,
                    local_composing: false,
                    held_messages: Vec::new(),
                    pending_op: None,
                    remote_offer: None,
                    local_offer: None,
                    negotiating: false,
                    media_requests: None,
                    media_requests_taken: false,
                }),
            }),
        }
    }

    /// The participant's address.
    pub fn uri(&self) -> &Uri {
        &self.inner.uri
    }

    /// The participant's context, as given to `create_participant` (or the transport's, for an inviter).
    pub fn context(&self) -> &Context {
        &self.inner.context
    }

    /// Whether this is the local participant.
    pub fn is_local(&self) -> bool {
        self.inner.is_local
    }

    /// The current state.
    pub fn state(&self) -> ParticipantState {
        lock(&self.inner.data).state
    }

    /// The session, while it exists.
    pub fn session(&self) -> Option<Session> {
        self.inner.session.upgrade().map(|inner| Session { inner })
    }

    /// The participant's devices known so far.
    pub fn endpoints(&self) -> Vec<ParticipantEndpoint> {
        lock(&self.inner.data).endpoints.clone()
    }

    /// Whether the participant is composing a message now (IM sessions).
    pub fn is_composing(&self) -> bool {
        lock(&self.inner.data).remote_composing
    }

    /// Subscribes to this participant's events. After `Disconnected` the stream ends.
    pub fn events(&self) -> Subscription<ParticipantEvent> {
        self.inner.hub.subscribe()
    }

    pub(crate) fn leg(&self) -> LegId {
        self.inner.leg
    }

    pub(crate) fn belongs_to(&self, session: &Arc<SessionInner>) -> bool {
        std::ptr::eq(self.inner.session.as_ptr(), Arc::as_ptr(session))
    }
}

#[cfg(test)]
mod tests {
    use super::ParticipantState::*;
    use super::*;

    #[test]
    fn only_legal_transitions() {
        let all = [Idle, Connecting, Connected, Disconnecting, Disconnected];
        let legal = [
            (Idle, Connecting),
            (Idle, Disconnected),
            (Connecting, Connecting),
            (Connecting, Connected),
            (Connecting, Disconnecting),
            (Connecting, Disconnected),
            (Connected, Disconnecting),
            (Connected, Disconnected),
            (Disconnecting, Disconnected),
        ];
        for from in all {
            for to in all {
                assert_eq!(
                    from.can_become(to),
                    legal.contains(&(from, to)),
                    "{from:?} -> {to:?}"
                );
            }
        }
        assert_eq!(Disconnected.ucc_value(), 5);
        assert_eq!(StateChangeReason::Failed.ucc_value(), 8);
    }

    #[test]
    fn no_event_after_disconnected() {
        let p = Participant::new(
            Weak::new(),
            Uri::parse("sip:a@b").unwrap(),
            Context::new(),
            false,
            LegId::next(),
            Direction::Outgoing,
        );
        let mut events = p.events();
        {
            let mut d = lock(&p.inner.data);
            d.transition(Connecting, StateChangeReason::Normal, None)
                .unwrap();
            d.transition(Disconnected, StateChangeReason::Failed, None)
                .unwrap();
            assert!(
                d.transition(Connected, StateChangeReason::Normal, None)
                    .is_err()
            );
            d.publish(ParticipantEvent::Composing);
        }
        let mut seen = Vec::new();
        while let Ok(e) = events.try_recv() {
            seen.push(e);
        }
        assert_eq!(seen.len(), 2);
        assert!(matches!(
            &seen[1],
            ParticipantEvent::StateChanged(StateChange {
                new: Disconnected,
                ..
            })
        ));
        assert_eq!(
            events.try_recv().unwrap_err(),
            dispatch::TryRecvError::Closed
        );
    }
}
