//! Builds the platform and the two demo endpoints for the chosen transport.

use session_core::memory::MemoryNetwork;
use session_core::{Endpoint, EndpointConfig, Platform, Uri};

use crate::args::TransportChoice;
use crate::exit::CliError;

/// A platform with alice and bob on it.
pub(crate) struct Stack {
    /// Keeps the transport alive for the run.
    _platform: Platform,
    /// The caller.
    pub(crate) alice: Endpoint,
    /// The callee.
    pub(crate) bob: Endpoint,
    /// Bob's address, as alice dials it.
    pub(crate) bob_uri: Uri,
}

impl Stack {
    /// Builds the stack for `choice`.
    pub(crate) fn build(choice: TransportChoice) -> Result<Stack, CliError> {
        match choice {
            TransportChoice::Memory => {
                let network = MemoryNetwork::new();
                let platform = Platform::builder()
                    .name("ucc demo")
                    .transport(network.transport())
                    .build();
                let alice_uri = uri("sip:alice@demo.invalid")?;
                let bob_uri = uri("sip:bob@demo.invalid")?;
                let alice = endpoint(&platform, alice_uri, "Alice")?;
                let bob = endpoint(&platform, bob_uri.clone(), "Bob")?;
                Ok(Stack {
                    _platform: platform,
                    alice,
                    bob,
                    bob_uri,
                })
            }
            TransportChoice::SipUdp | TransportChoice::SipTcp | TransportChoice::SipTls => {
                Err(CliError::TransportUnavailable(
                    choice.name(),
                    "transport-sip does not implement the session contract yet (issue 4)",
                ))
            }
            TransportChoice::Quic => Err(CliError::TransportUnavailable(
                choice.name(),
                "the QUIC transport is not wired into ucc yet (issue 5)",
            )),
        }
    }
}

fn uri(s: &str) -> Result<Uri, CliError> {
    Uri::parse(s).map_err(|e| CliError::Internal(format!("demo address {s}: {e}")))
}

fn endpoint(platform: &Platform, uri: Uri, name: &str) -> Result<Endpoint, CliError> {
    platform
        .create_endpoint(EndpointConfig::new(uri).display_name(name))
        .map_err(|e| CliError::from_library("create endpoint", e))
}
