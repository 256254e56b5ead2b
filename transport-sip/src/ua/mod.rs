//! The SIP user agent that carries session-core's signaling contract: a
//! [`SipTransport`] is a bound SIP stack that session-core endpoints attach to, so an
//! application written against session-core runs over SIP by swapping the transport.
//! `docs/sip-mapping.md` describes how each contract call maps onto SIP.
//!
//! # Shape
//!
//! One task per stack owns the transaction layer, the dialogs and the legs; the
//! transport layer's sockets feed it received messages, session-core's calls reach it
//! as commands, and answers to inbound requests come back as commands from small
//! waiter tasks. Nothing else mutates SIP state, so there are no locks on the path.
//!
//! ```no_run
//! use session_core::{EndpointConfig, Platform, Uri};
//! use transport_sip::ua::{SipConfig, SipTransport};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let sip = SipTransport::bind(SipConfig::udp("127.0.0.1:5060".parse()?)).await?;
//! let platform = Platform::builder().transport(sip).build();
//! let alice = platform.create_endpoint(EndpointConfig::new(Uri::parse("sip:alice@127.0.0.1:5060")?))?;
//! alice.enable(None)?.await?;
//! # Ok(()) }
//! ```
//!
//! | Known limit | Note |
//! | --- | --- |
//! | Wildcard bind address | Via and Contact carry the bound address: bind a reachable IP |
//! | TLS server name | taken from the peer's IP address; DNS names are not yet carried to the handshake |

mod body;
mod challenge;
mod config;
pub mod conversation;
mod endpoint;
mod header_text;
pub mod iscomposing;
mod leg;
mod registration;
mod sip_transport;
mod stack;
mod uac;
mod uas;

pub use self::config::SipConfig;
pub use self::sip_transport::SipTransport;
