//! Dialogs (RFC 3261 §12-§14): sans-IO dialog state for a user agent.
//!
//! # Design
//!
//! A [`Dialog`] is a value the transaction user owns: it is created from the messages
//! that establish it ([`Dialog::uac`] from an INVITE and its 1xx-with-tag or 2xx,
//! [`Dialog::uas`] from a request and the response sent to it), updated by the
//! messages of the dialog ([`Dialog::handle_request`], [`Dialog::handle_response`]),
//! and builds the requests it sends ([`Dialog::request`], [`Dialog::ack`]). It reads
//! only typed headers and never touches a socket or a clock.
//!
//! [`InviteDialogs`] holds the dialogs one INVITE creates when a proxy forks it
//! (RFC 3261 §13.2.2.4): early dialogs per To tag, the first 2xx confirms one, and a 2xx
//! with another tag after that is reported as [`InviteEvent::ExtraConfirmed`], a
//! dialog the TU acknowledges and then ends with BYE.
//!
//! # Time
//!
//! [`Retransmit2xx`] is the UAS 2xx retransmission timer of §13.3.1.4, driven by
//! `Instant`s the caller passes in (`poll_timeout` / `handle_timeout(now)`);
//! [`glare_retry_delay`] is the §14.1 wait after a 491, drawn from the caller's RNG.
//!
//! # What the caller adds
//!
//! Built requests carry Request-URI, Route, Max-Forwards, From, To, Call-ID and CSeq.
//! The sender adds the top Via (with a new branch, §8.1.1.7), Contact on target-refresh
//! requests, credentials and a body.
//!
//! # Known limits
//!
//! | Limit | Note |
//! | --- | --- |
//! | `secure` dialogs (§12.1.1) | not tracked; the caller knows the transport |
//! | Strict routing | the first route URI becomes the Request-URI as is (parameters not stripped) |
//! | Dialog-creating requests other than INVITE (SUBSCRIBE/REFER, RFC 6665) | the same constructors work; their extra rules are not modelled |
//!
//! # Example
//!
//! ```
//! use bytes::Bytes;
//! use transport_sip::dialog::{Dialog, DialogState};
//! use transport_sip::{Message, Method};
//!
//! let parse = |s: &'static str| Message::parse(Bytes::from_static(s.as_bytes()));
//! let Message::Request(invite) = parse(
//!     "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
//!      Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK74bf9\r\n\
//!      Max-Forwards: 70\r\nFrom: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n\
//!      To: Bob <sip:bob@biloxi.example.com>\r\nCall-ID: 3848276298220188511@atlanta\r\n\
//!      CSeq: 1 INVITE\r\nContact: <sip:alice@192.0.2.101>\r\nContent-Length: 0\r\n\r\n",
//! )? else { unreachable!() };
//! let Message::Response(ok) = parse(
//!     "SIP/2.0 200 OK\r\n\
//!      Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK74bf9\r\n\
//!      Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n\
//!      From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n\
//!      To: Bob <sip:bob@biloxi.example.com>;tag=8321234356\r\n\
//!      Call-ID: 3848276298220188511@atlanta\r\nCSeq: 1 INVITE\r\n\
//!      Contact: <sip:bob@192.0.2.4>\r\nContent-Length: 0\r\n\r\n",
//! )? else { unreachable!() };
//! let mut dialog = Dialog::uac(&invite, &ok)?;
//! assert_eq!(dialog.state(), DialogState::Confirmed);
//! let ack = dialog.ack()?;
//! assert_eq!(ack.cseq().map(|c| c.seq), Some(1));
//! let bye = dialog.request(Method::Bye)?;
//! assert_eq!(bye.uri().as_bytes(), b"sip:bob@192.0.2.4");
//! assert_eq!(bye.cseq().map(|c| c.seq), Some(2));
//! // The UAC reverses Record-Route: the proxy nearest to it comes first.
//! let routes: Vec<_> = bye.headers().values(&transport_sip::HeaderName::Route).collect();
//! assert_eq!(routes, [&b"<sip:p2.example.com;lr>"[..], &b"<sip:p1.example.com;lr>"[..]]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod fork;
mod state;
mod timers;

pub use self::fork::{InviteDialogs, InviteEvent};
pub use self::state::{Dialog, DialogError, DialogId, DialogState, Role};
pub use self::timers::{Retransmit2xx, Retransmit2xxAction, T1, T2, glare_retry_delay};
