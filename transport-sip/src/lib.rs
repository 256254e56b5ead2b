//! SIP for ucc-rs (RFC 3261): the message model and codec.
//!
//! This crate holds the SIP wire layer: [`Request`], [`Response`] and [`Message`];
//! typed headers ([`header`]); URIs with RFC 3261 §19.1.4 comparison ([`Uri`]); a
//! datagram parser ([`Message::parse`]); a stream decoder for TCP/TLS ([`StreamDecoder`]);
//! and the error responses a stack sends for unparseable requests ([`error_response`]).
//!
//! # Design
//!
//! Sans-IO: bytes in, values out. Nothing here opens sockets, reads clocks or spawns
//! tasks, so every behaviour is tested by feeding bytes.
//!
//! Parsing takes a [`bytes::Bytes`] and keeps what it can of it: the body is a zero-copy
//! slice of the input, long header values are slices too, and short ones (tags,
//! branches, hosts, Call-IDs) are copied inline into a [`Text`], which is cheaper than
//! the reference count a shared slice pays. Each typed header keeps its value as
//! received plus the positions of its parts, so it re-serializes byte for byte and
//! unknown parameters survive a proxy. Headers keep their received order; comma lists of
//! Via, Contact, Route and Record-Route become one [`Header`] per value.
//!
//! The core headers are parsed eagerly: a message that parses has a valid Via, From,
//! To, Call-ID and CSeq (RFC 3261 §8.1.1), and Contact, Content-Length, Max-Forwards,
//! Expires and Date are valid where present. Every other known header (Route, Allow,
//! Supported, the authentication headers, …) is typed the first time it is read
//! ([`Headers`]); one that turns out malformed reads as [`Header::Other`] with its raw
//! text instead of failing a message whose routing does not depend on it. Protocol logic
//! never reads header strings.
//!
//! # Errors vs panics
//!
//! Malformed input is a [`ParseError`] naming the header and byte offset; nothing panics
//! on any input (property-tested over arbitrary bytes). [`error_response`] turns a
//! request's [`ParseError`] into the 400 / 413 / 505 / 513 response RFC 3261 §8.2.6 asks
//! for, with a reason phrase naming the problem.
//!
//! # Limits
//!
//! [`ParseLimits`] bounds message size (64 KiB), body size (64 KiB), header count (128),
//! header field length (8 KiB, folds included), parameters per URI or header (32) and
//! values per header field (64). The parser does not recurse, so there is no depth to bound.
//!
//! | Known limit | Note |
//! | --- | --- |
//! | Multipart bodies | kept as bytes; MIME parsing belongs above this crate |
//! | Headers not listed in [`HeaderName`] | kept raw as [`Header::Other`] |
//! | To tag in [`error_response`] | added by the transaction layer (§8.2.6.2) |
//!
//! # Dependencies
//!
//! - `bytes`: shared, zero-copy buffers for input and bodies.
//! - `thiserror`: the error enums.
//! - `memchr`: SIMD search for line ends and separators, the parser's inner loop.
//!
//! # Example
//!
//! ```
//! use bytes::Bytes;
//! use transport_sip::{Message, Method};
//!
//! let raw = Bytes::from_static(
//!     b"OPTIONS sip:bob@example.com SIP/2.0\r\n\
//!       Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds\r\n\
//!       Max-Forwards: 70\r\n\
//!       To: <sip:bob@example.com>\r\n\
//!       From: Alice <sip:alice@example.com>;tag=1928301774\r\n\
//!       Call-ID: a84b4c76e66710@pc33.example.com\r\n\
//!       CSeq: 63104 OPTIONS\r\n\
//!       Content-Length: 0\r\n\r\n",
//! );
//! let Message::Request(req) = Message::parse(raw)? else { unreachable!() };
//! assert_eq!(req.method(), &Method::Options);
//! assert_eq!(req.top_via().and_then(|v| v.branch()), Some("z9hG4bK776asdhds"));
//! assert_eq!(req.from().and_then(|f| f.tag()), Some("1928301774"));
//! let wire = req.to_bytes();
//! assert!(wire.starts_with(b"OPTIONS sip:bob@example.com SIP/2.0\r\nVia: "));
//! # Ok::<(), transport_sip::ParseError>(())
//! ```

mod error;
mod error_response;
mod framing;
pub mod header;
mod limits;
mod message;
mod parse;
mod text;
mod uri;

pub mod auth;
pub mod dialog;
pub mod sdp;
pub mod transaction;
pub mod transport;
pub mod ua;

pub use crate::auth::DigestClient;
pub use crate::dialog::{Dialog, DialogId};
pub use crate::error::{FramingError, HeaderError, ParseError, StartLineError, UriError};
pub use crate::error_response::error_response;
pub use crate::framing::{Frame, StreamDecoder};
pub use crate::header::{Header, HeaderName, Headers};
pub use crate::limits::ParseLimits;
pub use crate::message::{Message, Method, Request, Response, StatusCode, Version};
pub use crate::sdp::{Sdp, SdpSession};
pub use crate::text::Text;
pub use crate::transaction::{TransactionKey, TransactionLayer};
pub use crate::transport::{Incoming, Target, TransportConfig, TransportKind, TransportLayer};
pub use crate::uri::{Host, Scheme, Uri, unescape};
