//! [`Leg`]: what the user agent keeps for one signaling relationship of session-core.

use std::collections::VecDeque;

use bytes::Bytes;
use session_core::contract::signaling::{Answer, LegId};
use session_core::description::SessionDescription;
use session_core::error::SignalingError;
use tokio::sync::oneshot;

use crate::Request;
use crate::dialog::{Dialog, Retransmit2xx};
use crate::sdp::SdpSession;
use crate::transaction::{Peer, TransactionKey};

/// Which stack endpoint (attached identity) a leg belongs to.
pub(crate) type EndpointId = u64;

/// A one-shot completion of a session-core command.
pub(crate) type Done<T> = oneshot::Sender<Result<T, SignalingError>>;

/// What the leg carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LegKind {
    /// An audio/video call: INVITE dialog with SDP.
    Call,
    /// Session-mode IM: INVITE dialog with `m=message`, in-dialog MESSAGE.
    ImSession,
    /// Pager-mode IM: MESSAGE outside any dialog, tied by Call-ID.
    ImPager,
}

/// An outgoing MESSAGE waiting for its turn (one in flight per leg keeps the order).
#[derive(Debug)]
pub(crate) struct QueuedMessage {
    pub(crate) content_type: String,
    pub(crate) body: Bytes,
    pub(crate) done: Done<()>,
}

/// The INVITE this side sent and has no final answer for yet.
#[derive(Debug)]
pub(crate) struct OutgoingInvite {
    pub(crate) key: TransactionKey,
    pub(crate) request: Request,
    pub(crate) done: Option<Done<Answer>>,
    pub(crate) provisional_seen: bool,
    pub(crate) cancel_wanted: bool,
}

/// An INVITE (initial or re-INVITE) this side received and has not answered.
#[derive(Debug)]
pub(crate) struct IncomingInvite {
    pub(crate) key: TransactionKey,
    pub(crate) request: Request,
}

/// A 2xx to an INVITE retransmitted until its ACK (RFC 3261 §13.3.1.4).
#[derive(Debug)]
pub(crate) struct Pending2xx {
    pub(crate) timer: Retransmit2xx,
    pub(crate) response: crate::Response,
    pub(crate) destination: Peer,
    pub(crate) cseq: u32,
}

/// One leg.
#[derive(Debug)]
pub(crate) struct Leg {
    pub(crate) id: LegId,
    pub(crate) ep: EndpointId,
    pub(crate) kind: LegKind,
    pub(crate) call_id: String,
    pub(crate) local_tag: String,
    /// Where out-of-dialog requests of this leg go (pager MESSAGE, the first INVITE).
    pub(crate) peer: Peer,
    /// Request-URI, From and To of pager-mode requests, as text.
    pub(crate) remote_uri: String,
    pub(crate) local_uri: String,
    pub(crate) dialog: Option<Dialog>,
    pub(crate) sdp: SdpSession,
    pub(crate) conversation_id: Option<String>,
    pub(crate) outgoing_invite: Option<OutgoingInvite>,
    pub(crate) incoming_invite: Option<IncomingInvite>,
    pub(crate) pending_2xx: Option<Pending2xx>,
    /// The re-INVITE this side sent: its transaction, offer (kept for a glare retry)
    /// and completion.
    pub(crate) update: Option<(TransactionKey, SessionDescription, Done<SessionDescription>)>,
    pub(crate) outbox: VecDeque<QueuedMessage>,
    pub(crate) in_flight: Option<(TransactionKey, Done<()>)>,
    pub(crate) pager_cseq: u32,
    /// A pager-mode MESSAGE that opened this (incoming) leg, answered once the session is.
    pub(crate) held_message: Option<(TransactionKey, Request)>,
    pub(crate) bye: Option<(TransactionKey, Done<()>)>,
    /// Set once session-core was told the leg ended (or it ended it).
    pub(crate) ended: bool,
    /// An incoming INVITE came without SDP ("delayed offer", RFC 3261 §13.2.1): our 2xx
    /// carries the offer and the ACK the answer, for session-core as `Inbound::Answer`.
    pub(crate) late_offer: bool,
}

impl Leg {
    /// The leg's dialog once established.
    pub(crate) fn confirmed_dialog(&mut self) -> Option<&mut Dialog> {
        self.dialog
            .as_mut()
            .filter(|d| d.state() == crate::dialog::DialogState::Confirmed)
    }
}
