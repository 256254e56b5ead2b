//! The transaction layer (RFC 3261 §17, RFC 6026): sans-IO client and server transactions.
//!
//! A [`TransactionLayer`] holds every live transaction of one endpoint and matches what
//! arrives to them: responses by top Via branch and CSeq method (§17.1.3), requests by
//! branch, sent-by and method (§17.2.3), with the RFC 2543 rules for branches without the
//! `z9hG4bK` cookie, and CANCEL to the INVITE it targets (§9.2). The four state machines
//! follow Figures 5 to 8 of RFC 3261 with the Accepted states of RFC 6026.
//!
//! # Design
//!
//! Sans-IO, in the manner of quinn-proto: no sockets, no clock, no tasks. Methods come in
//! four groups: getters ([`len`](TransactionLayer::len), [`state`](TransactionLayer::state));
//! `handle_*` for input from the network, the transport and time; TU commands
//! ([`start_client`](TransactionLayer::start_client), [`respond`](TransactionLayer::respond),
//! [`cancel`](TransactionLayer::cancel), [`send_stateless`](TransactionLayer::send_stateless));
//! and `poll_*` for output. Each transaction keeps a fixed table of [`Timer`] deadlines;
//! the layer keeps the earliest of each in one heap.
//!
//! A CANCEL asked for before any provisional response waits inside the layer and goes
//! out with the first one (§9.1); it is dropped unsent if a final response comes first.
//!
//! What belongs to the TU stays with the TU: the ACK for a 2xx and 2xx retransmissions
//! (§13.2.2.4, §13.3.1.4) pass through as [`Event::Response`], [`Event::Stray2xx`] and
//! [`Event::Ack2xx`]; the ACK for a non-2xx is generated here (§17.1.1.3).
//!
//! # Run loop
//!
//! After every input, drain [`poll_transmit`](TransactionLayer::poll_transmit) (write each
//! payload to its destination; report a failed send with
//! [`handle_transport_error`](TransactionLayer::handle_transport_error)) and
//! [`poll_event`](TransactionLayer::poll_event), then sleep until
//! [`poll_timeout`](TransactionLayer::poll_timeout) or the next datagram, and call
//! [`handle_timeout`](TransactionLayer::handle_timeout) when the deadline passes.
//!
//! # Time
//!
//! Every method that can start or fire a timer takes `now: Instant`. Retransmission
//! intervals are counted from the deadline that fired, not from when the caller got round
//! to it, so the schedule does not drift. Retransmissions (Timers A, E, G) run only over
//! unreliable transports; D, I, J and K are zero over reliable ones, which terminates the
//! transaction at once.
//!
//! # Errors vs panics
//!
//! Remote input never fails: unmatched or incomplete messages are dropped with a
//! `tracing` event. TU misuse (responding on an unknown or client transaction, a second
//! final response, an ACK as a transaction) is a [`TransactionError`] and changes nothing.
//!
//! # Limits
//!
//! [`Config::max_transactions`] bounds live transactions; a request over it is answered
//! 503 with Retry-After and not stored, and a client transaction fails with
//! [`TransactionError::Overloaded`]. The deadline heap is rebuilt when stale entries
//! outnumber live ones, so memory follows the live count.
//!
//! | Known limit | Note |
//! | --- | --- |
//! | Timer C (proxy INVITE timeout) | a proxy concern, left to the proxy core |
//! | Response destination | §18.2.2 for unicast: connection, rport, or received IP + sent-by port; `maddr` is ignored |
//! | INVITE client in Proceeding | no timer after a provisional (§17.1.1.2); the TU cancels or gives up |
//! | Non-INVITE server in Trying | waits for the TU without a timer, as RFC 3261 specifies; the limit bounds a silent TU |
//!
//! # Example
//!
//! ```
//! use std::time::Instant;
//!
//! use bytes::Bytes;
//! use transport_sip::transaction::{Config, Event, Peer, TransactionLayer, response_for};
//! use transport_sip::{Message, StatusCode};
//!
//! let alice = "192.0.2.1:5060".parse()?;
//! let bob = "192.0.2.2:5060".parse()?;
//! let mut client = TransactionLayer::new(Config::default());
//! let mut server = TransactionLayer::new(Config::default());
//! let now = Instant::now();
//!
//! let branch = client.new_branch();
//! let raw = format!(
//!     "OPTIONS sip:bob@192.0.2.2 SIP/2.0\r\n\
//!      Via: SIP/2.0/UDP 192.0.2.1:5060;branch={branch}\r\n\
//!      Max-Forwards: 70\r\n\
//!      To: <sip:bob@192.0.2.2>\r\n\
//!      From: <sip:alice@192.0.2.1>;tag=a1\r\n\
//!      Call-ID: c1@192.0.2.1\r\n\
//!      CSeq: 1 OPTIONS\r\n\
//!      Content-Length: 0\r\n\r\n"
//! );
//! let Message::Request(options) = Message::parse(Bytes::from(raw))? else { unreachable!() };
//! let key = client.start_client(options, Peer::udp(bob), now)?;
//!
//! // A driver would write this to a socket; here it is delivered at once.
//! let sent = client.poll_transmit().expect("OPTIONS sent");
//! assert!(!sent.is_reliable());
//! server.handle_message(Message::parse(sent.payload)?, Peer::udp(alice), now);
//! let Some(Event::IncomingRequest { key: incoming, request, .. }) = server.poll_event() else {
//!     panic!("the server TU sees the request")
//! };
//! server.respond(incoming, response_for(&request, StatusCode::OK, Some("b1")), now)?;
//!
//! let sent = server.poll_transmit().expect("200 sent");
//! assert_eq!(sent.destination.addr, alice);
//! client.handle_message(Message::parse(sent.payload)?, Peer::udp(bob), now);
//! match client.poll_event() {
//!     Some(Event::Response { key: k, response }) => {
//!         assert_eq!(k, key);
//!         assert_eq!(response.status(), StatusCode::OK);
//!     }
//!     other => panic!("expected the 200, got {other:?}"),
//! }
//! // Timer K (T4 over UDP) then ends the client transaction.
//! let deadline = client.poll_timeout().expect("Timer K armed");
//! client.handle_timeout(deadline);
//! assert_eq!(client.poll_event(), Some(Event::Terminated { key }));
//! assert!(client.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
#[cfg(test)]
mod fixtures;
mod invite_client;
mod invite_server;
mod key;
mod layer;
mod non_invite_client;
mod non_invite_server;
mod output;
mod peer;
mod response;
mod state;
mod timers;

pub use self::error::TransactionError;
pub use self::key::{MAGIC_COOKIE, TransactionKey, new_branch};
pub use self::layer::{ABSORBING_FACTOR, Config, TransactionLayer};
pub use self::output::{Event, Transmit};
pub use self::peer::Peer;
pub(crate) use self::peer::response_destination;
pub use self::response::response_for;
pub use self::state::{Kind, State};
pub use self::timers::{Timer, TimerConfig};
