//! What the layer hands back: [`Transmit`]s for the transport and [`Event`]s for the
//! transaction user.

use std::collections::VecDeque;

use bytes::Bytes;

use super::key::TransactionKey;
use super::peer::Peer;
use super::timers::Timer;
use crate::message::{Request, Response};

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The transaction that sent it; `None` for stateless sends (ACK for 2xx, 503 when
    /// over the transaction limit). Report a failure to send with
    /// [`TransactionLayer::handle_transport_error`](super::TransactionLayer::handle_transport_error).
    pub key: Option<TransactionKey>,
    /// Where to send it, and over which transport.
    pub destination: Peer,
    /// The serialized message.
    pub payload: Bytes,
}

impl Transmit {
    /// Whether the destination transport is reliable.
    pub fn is_reliable(&self) -> bool {
        self.destination.is_reliable()
    }
}

/// What the layer tells the transaction user (TU).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
// Events are moved once through a queue; boxing the messages would cost an allocation each.
#[allow(clippy::large_enum_variant)]
pub enum Event {
    /// A new request created server transaction `key`; answer it with
    /// [`respond`](super::TransactionLayer::respond). Retransmissions are absorbed.
    IncomingRequest {
        /// The new server transaction.
        key: TransactionKey,
        /// The request.
        request: Request,
        /// Where it came from.
        source: Peer,
    },
    /// A CANCEL created server transaction `key` (answer it: 200, or 481 when `invite` is
    /// `None`). `invite` is the INVITE server transaction it matches (§9.2), which the TU
    /// answers with 487 if it has not sent a final response yet.
    Cancel {
        /// The CANCEL's own server transaction.
        key: TransactionKey,
        /// The INVITE server transaction the CANCEL targets, if any.
        invite: Option<TransactionKey>,
        /// The CANCEL request.
        request: Request,
        /// Where it came from.
        source: Peer,
    },
    /// An ACK no transaction absorbed: normally the ACK for a 2xx, which has a branch of
    /// its own (§13.2.2.4) and belongs to the TU (RFC 6026 §8.7). `invite` is the INVITE
    /// server transaction in the Accepted state it acknowledges (same branch, or same
    /// Call-ID, CSeq number, From tag and the To tag of the 2xx sent), while it is live.
    /// `None` means no live transaction matches (it ended, or the ACK answers a stateless
    /// response): the dialog layer matches it to a dialog or drops it.
    Ack2xx {
        /// The INVITE server transaction acknowledged, if still live.
        invite: Option<TransactionKey>,
        /// The ACK.
        request: Request,
        /// Where it came from.
        source: Peer,
    },
    /// A provisional or final response on client transaction `key`. For an INVITE, every
    /// 2xx (retransmissions and forks, RFC 6026 §8.4) is passed up; the TU sends the ACK.
    Response {
        /// The client transaction.
        key: TransactionKey,
        /// The response.
        response: Response,
    },
    /// A 2xx to INVITE that matches no client transaction (its transaction ended with
    /// Timer M). The dialog layer ACKs it if it knows the dialog, else discards it.
    Stray2xx {
        /// The response.
        response: Response,
        /// Where it came from.
        source: Peer,
    },
    /// Timer B, F or H fired: no final response (client) or no ACK (server) arrived.
    Timeout {
        /// The transaction, terminated just after this event.
        key: TransactionKey,
        /// The timer that fired.
        timer: Timer,
    },
    /// Sending a message of transaction `key` failed (reported by the transport).
    TransportError {
        /// The transaction.
        key: TransactionKey,
    },
    /// Transaction `key` reached the Terminated state and was destroyed.
    Terminated {
        /// The transaction.
        key: TransactionKey,
    },
}

/// The queues the state machines write into.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    pub(crate) transmits: VecDeque<Transmit>,
    pub(crate) events: VecDeque<Event>,
}

impl Outbox {
    pub(crate) fn send(&mut self, key: Option<TransactionKey>, destination: Peer, payload: Bytes) {
        self.transmits.push_back(Transmit {
            key,
            destination,
            payload,
        });
    }

    pub(crate) fn event(&mut self, event: Event) {
        self.events.push_back(event);
    }
}
