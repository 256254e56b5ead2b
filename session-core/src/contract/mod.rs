//! The contracts a transport and a media engine implement.
//!
//! * [`signaling`]: what session-core asks of a signaling transport (register, invite,
//!   update, message, composing, terminate, cancel) and what a transport tells
//!   session-core ([`signaling::Inbound`]). The vocabulary is neutral: no SIP, SDP or
//!   QUIC type appears in it.
//! * [`media`]: what a media engine offers (codecs, streams on negotiated parameters)
//!   and the [`media::PacketPath`] over which media can flow — a UDP socket, or the
//!   signaling transport itself (QUIC datagrams).
//!
//! Both are object-safe (`async-trait`), so a platform picks transports and an engine
//! at run time.

pub mod media;
pub mod signaling;
