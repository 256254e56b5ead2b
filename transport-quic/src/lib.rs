//! # transport-quic
//!
//! The ucc-rs session model over QUIC. This crate holds, so far, the signaling
//! protocol's codec ([`codec`]): the frames one session's bidirectional stream carries,
//! encoded and decoded without IO, as specified in `docs/quic-signaling.md`. The
//! transport itself (quinn endpoints, identity, the session-core contract, media over
//! datagrams) is built on it by the transport-quic issue.
//!
//! ```
//! use bytes::BytesMut;
//! use transport_quic::codec::{Frame, FrameDecoder};
//! use session_core::StatusCode;
//!
//! let mut wire = BytesMut::new();
//! Frame::Progress { code: StatusCode::RINGING }.encode(&mut wire)?;
//! let mut decoder = FrameDecoder::new();
//! decoder.push(&wire);
//! assert_eq!(decoder.next_frame(), Some(Ok(Frame::Progress { code: StatusCode::RINGING })));
//! # Ok::<(), transport_quic::codec::CodecError>(())
//! ```
//!
//! ## Dependencies
//! `session-core` (the vocabulary the frames carry), `bytes` (zero-copy bodies),
//! `thiserror` (the codec error).

pub mod codec;
