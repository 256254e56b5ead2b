//! [`State`] and [`Kind`]: what a transaction is and where it stands (Figures 5 to 8 of
//! RFC 3261, with the Accepted states of RFC 6026).

/// The state of a transaction. Terminated transactions are destroyed at once, so a
/// layer never reports that state for a live key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum State {
    /// INVITE client: request sent, nothing received.
    Calling,
    /// Non-INVITE client: request sent, nothing received. Non-INVITE server: request
    /// passed to the TU, nothing sent.
    Trying,
    /// A provisional response was received (client) or sent / awaited from the TU (server).
    Proceeding,
    /// A final response was received (client) or sent (server); absorbing retransmissions.
    Completed,
    /// INVITE server: the ACK for a non-2xx arrived; absorbing ACK retransmissions.
    Confirmed,
    /// INVITE, RFC 6026: a 2xx was received (client) or sent (server).
    Accepted,
    /// Finished; about to be destroyed.
    Terminated,
}

/// Which of the four state machines a transaction runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// §17.1.1.
    InviteClient,
    /// §17.1.2.
    NonInviteClient,
    /// §17.2.1.
    InviteServer,
    /// §17.2.2.
    NonInviteServer,
}
