//! [`TransactionError`]: misuse of the layer by the transaction user.

use super::key::TransactionKey;
use super::state::State;
use crate::message::StatusCode;

/// A TU command the layer refused. Nothing was sent and no state changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransactionError {
    /// The key names no live transaction (it terminated, or never existed).
    #[error("no live transaction {0}")]
    UnknownTransaction(TransactionKey),
    /// Responses are sent on server transactions only.
    #[error("{0} is not a server transaction")]
    NotServer(TransactionKey),
    /// CANCEL applies to INVITE client transactions only.
    #[error("{0} is not an INVITE client transaction")]
    NotInviteClient(TransactionKey),
    /// The request has no top Via with a branch.
    #[error("the request has no top Via with a branch")]
    MissingBranch,
    /// The branch lacks the RFC 3261 magic cookie `z9hG4bK` (§8.1.1.7).
    #[error("the top Via branch does not start with z9hG4bK")]
    InvalidBranch,
    /// The request lacks CSeq, Call-ID, From or To, or its CSeq method differs from the
    /// request method.
    #[error("the request is incomplete: {0}")]
    InvalidRequest(&'static str),
    /// ACK is not a transaction (§17): send it with
    /// [`send_stateless`](super::TransactionLayer::send_stateless).
    #[error("ACK does not start a transaction")]
    AckIsNotATransaction,
    /// A client transaction with the same branch and method is live.
    #[error("a client transaction with this branch and method is live")]
    Duplicate,
    /// The configured limit of live transactions is reached.
    #[error("transaction limit of {0} reached")]
    Overloaded(usize),
    /// The transaction cannot send this response in its state (e.g. a second final
    /// response, or a non-2xx after a 2xx).
    #[error("{key} cannot send {status} in state {state:?}")]
    InvalidState {
        /// The transaction.
        key: TransactionKey,
        /// The status refused.
        status: StatusCode,
        /// Its state.
        state: State,
    },
    /// There is nothing to cancel: the INVITE already got a final response (§9.1).
    #[error("{key} cannot be cancelled in state {state:?}")]
    CannotCancel {
        /// The INVITE client transaction.
        key: TransactionKey,
        /// Its state.
        state: State,
    },
}
