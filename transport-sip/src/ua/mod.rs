//! The SIP user agent that carries session-core's signaling contract (see
//! `docs/sip-mapping.md`): registration, calls, instant messaging.
//!
//! Built so far: [`iscomposing`] (RFC 3994 documents) and [`conversation`] (the
//! conversation-id header).

pub mod conversation;
pub mod iscomposing;
