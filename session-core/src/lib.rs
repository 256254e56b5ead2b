//! # session-core
//!
//! The transport-agnostic heart of ucc-rs: sessions, participants, contexts, events,
//! operations, and the one signaling contract every transport implements. It follows
//! the Unified Communications Client API object model — platform → endpoint →
//! session manager → sessions → participants → media channels — in Rust terms:
//! handles are cheap clones, operations are futures, events are pulled.
//!
//! It knows nothing of SIP or QUIC: transports plug in through
//! [`contract::signaling`], media engines through [`contract::media`]. The
//! [`memory`] transport connects endpoints inside one process, for tests and demos,
//! and the conformance suite (`testkit`, behind the feature of that name) proves any transport
//! behaves the same.
//!
//! ```
//! use session_core::{Context, EndpointConfig, Platform, SessionType, Uri, memory::MemoryNetwork};
//! use session_core::events::ParticipantEvent;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), session_core::Error> {
//! let network = MemoryNetwork::new();
//! let platform = Platform::builder().transport(network.transport()).build();
//! let alice = platform.create_endpoint(EndpointConfig::new(Uri::parse("sip:alice@example.com")?))?;
//! let bob = platform.create_endpoint(EndpointConfig::new(Uri::parse("sip:bob@example.com")?))?;
//! alice.enable(None)?.await?;
//! bob.enable(None)?.await?;
//! let mut incoming = bob.session_manager().incoming()?;
//!
//! // Alice invites Bob to an instant-messaging session…
//! let session = alice.session_manager().create_session(SessionType::InstantMessaging, Context::new())?;
//! let to_bob = session.create_participant(Uri::parse("sip:bob@example.com")?, Context::new())?;
//! let invite = session.add_participant(&to_bob, None)?;
//!
//! // …Bob accepts, with the conversation id Alice's session carries…
//! let mut offer = incoming.next().await.expect("an invitation");
//! assert_eq!(offer.context().conversation_id(), session.conversation_id());
//! let mut from_alice = offer.inviter().events();
//! let bob_session = offer.accept().await?;
//! invite.await?;
//!
//! // …and receives her message, byte-exact.
//! session.im()?.send_message("text/plain", "hello", None)?.await?;
//! loop {
//!     if let ParticipantEvent::MessageReceived { body, .. } = from_alice.recv().await.expect("event") {
//!         assert_eq!(&body[..], b"hello");
//!         break;
//!     }
//! }
//! bob_session.terminate(session_core::Reason::NotSpecified, None)?.await?;
//! # Ok(()) }
//! ```
//!
//! ## Design
//! * **Objects and handles.** [`Platform`], [`Endpoint`], [`SessionManager`],
//!   [`Session`], [`Participant`], [`MediaChannel`] are handles (`Arc` inside). Each
//!   object's mutable state is behind its own short-held lock, never held across an
//!   `.await` or a transport call.
//! * **Operations** ([`operation`]): misuse is reported at once as an [`Error`]; the
//!   network part runs as an [`Operation`] future, cancellable, whose progress and
//!   completion are also published as events carrying the caller's
//!   [`OperationContext`].
//! * **Events** ([`events`], [`dispatch`]): a typed `#[non_exhaustive]` enum per
//!   object, pulled from one bounded shared ring per object; ordered per object; a lagging
//!   subscriber is told how many events it lost; dropping the subscription
//!   unsubscribes.
//! * **Incoming requests** ([`IncomingSession`], [`contract::signaling::Reply`]) must
//!   be answered; dropping one rejects it (480).
//! * **Runtime.** Operations and routing run on tokio: call the API from within a
//!   tokio runtime.
//!
//! ## Errors vs panics
//! Nothing here panics on peer input or API misuse. Every queue is bounded: events per
//! subscriber ([`dispatch::DEFAULT_CAPACITY`]), inbound signals per endpoint
//! ([`contract::signaling::INBOUND_CAPACITY`]), incoming sessions
//! ([`endpoint::INCOMING_QUEUE`]), outgoing messages per session, participants per
//! session ([`session::MAX_PARTICIPANTS`]), properties per context, media lines per
//! description. A transport that sends a signal for an unknown leg gets a 481 reply and
//! touches no other session.
//!
//! ## Dependencies
//! `tokio` (tasks, channels, timers for operations and routing), `async-trait` (the
//! object-safe transport and media contracts), `bytes` (message bodies without
//! copies),
//! `atomic-waker` (waking a subscriber without a lock), `futures-core` (`Stream`),
//! `thiserror` (error enums), `tracing` (spans per endpoint, session and invite),
//! `uuid` (conversation ids).

use std::sync::{Mutex, MutexGuard, PoisonError};

pub mod channel;
pub mod context;
pub mod contract;
pub mod description;
pub mod dispatch;
pub mod endpoint;
pub mod error;
pub mod events;
mod inbound;
pub mod incoming;
pub mod memory;
pub mod operation;
pub mod participant;
pub mod platform;
pub mod session;
pub mod status;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod uri;

pub use channel::MediaChannel;
pub use context::{Context, PropertyKey, PropertyValue};
pub use description::{MediaDirection, MediaType};
pub use endpoint::{
    Credential, CredentialCache, Endpoint, EndpointConfig, EndpointState, SessionManager,
};
pub use error::Error;
pub use inbound::COMPOSING_TIMEOUT;
pub use incoming::IncomingSession;
pub use operation::{Operation, OperationContext, OperationKind, OperationProgress};
pub use participant::{Participant, ParticipantState, StateChangeReason};
pub use platform::{Platform, PlatformBuilder, PlatformState};
pub use session::{
    AvParticipant, ImSession, MediaRequest, MediaRequests, MessageReport, Session, SessionType,
};
pub use status::{Reason, Status, StatusCode};
pub use uri::{Scheme, Uri, UriComparison};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

/// Locks a mutex, recovering the data of a poisoned one: state is never left
/// half-updated across a panic point, so the data stays usable.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
