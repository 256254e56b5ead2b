//! Builds the two demo endpoints on the chosen transport: each side gets its own
//! platform and, for SIP and QUIC, its own stack on a loopback port, so what crosses
//! between alice and bob is real packets.

use media_av::engine::Monitor;
use session_core::memory::MemoryNetwork;
use session_core::{Endpoint, EndpointConfig, Platform, Uri};
use transport_quic::{LocalCertificate, QuicConfig, QuicTransport};
use transport_sip::transport::TlsConfig;
use transport_sip::ua::{SipConfig, SipTransport};

use crate::args::TransportChoice;
use crate::demo::media::{Taps, engine};
use crate::exit::CliError;
use crate::pki::DemoPki;

/// Alice and bob, ready to enable.
pub(crate) struct Stack {
    /// Keep the transports alive for the run.
    _platforms: Vec<Platform>,
    /// The caller.
    pub(crate) alice: Endpoint,
    /// The callee.
    pub(crate) bob: Endpoint,
    /// Bob's address, as alice dials it.
    pub(crate) bob_uri: Uri,
    /// Alice's media counters.
    pub(crate) alice_media: Monitor,
    /// Bob's media counters.
    pub(crate) bob_media: Monitor,
    /// What bob decoded.
    pub(crate) bob_taps: Taps,
}

/// Each side's media engine: alice's sends the synthetic sources, bob's also records.
struct Media {
    alice: (std::sync::Arc<media_av::engine::AvEngine>, Monitor),
    bob: (std::sync::Arc<media_av::engine::AvEngine>, Monitor),
    taps: Taps,
}

impl Media {
    fn new() -> Media {
        let taps = Taps::default();
        Media {
            alice: engine(None),
            bob: engine(Some(&taps)),
            taps,
        }
    }
}

impl Stack {
    /// Builds the stack for `choice`.
    pub(crate) async fn build(choice: TransportChoice) -> Result<Stack, CliError> {
        let media = Media::new();
        match choice {
            TransportChoice::Memory => {
                let network = MemoryNetwork::new();
                let side = |engine: std::sync::Arc<media_av::engine::AvEngine>| {
                    Platform::builder()
                        .name("ucc demo")
                        .transport(network.transport())
                        .media_engine(engine)
                        .build()
                };
                let alice_platform = side(media.alice.0.clone());
                let bob_platform = side(media.bob.0.clone());
                let alice = endpoint(&alice_platform, uri("sip:alice@demo.invalid")?, "Alice")?;
                let bob_uri = uri("sip:bob@demo.invalid")?;
                let bob = endpoint(&bob_platform, bob_uri.clone(), "Bob")?;
                Ok(Stack {
                    _platforms: vec![alice_platform, bob_platform],
                    alice,
                    bob,
                    bob_uri,
                    alice_media: media.alice.1,
                    bob_media: media.bob.1,
                    bob_taps: media.taps,
                })
            }
            TransportChoice::SipUdp | TransportChoice::SipTcp | TransportChoice::SipTls => {
                let pki = (choice == TransportChoice::SipTls)
                    .then(DemoPki::new)
                    .transpose()?;
                let (alice_platform, alice_uri) =
                    sip_side(choice, pki.as_ref(), "alice", media.alice.0.clone()).await?;
                let (bob_platform, bob_uri) =
                    sip_side(choice, pki.as_ref(), "bob", media.bob.0.clone()).await?;
                Ok(Stack {
                    alice: endpoint(&alice_platform, alice_uri, "Alice")?,
                    bob: endpoint(&bob_platform, bob_uri.clone(), "Bob")?,
                    bob_uri,
                    _platforms: vec![alice_platform, bob_platform],
                    alice_media: media.alice.1,
                    bob_media: media.bob.1,
                    bob_taps: media.taps,
                })
            }
            TransportChoice::Quic => {
                let pki = DemoPki::new()?;
                let (alice_platform, alice_uri) = quic_side(&pki, "alice", media.alice.0.clone())?;
                let (bob_platform, bob_uri) = quic_side(&pki, "bob", media.bob.0.clone())?;
                Ok(Stack {
                    alice: endpoint(&alice_platform, alice_uri, "Alice")?,
                    bob: endpoint(&bob_platform, bob_uri.clone(), "Bob")?,
                    bob_uri,
                    _platforms: vec![alice_platform, bob_platform],
                    alice_media: media.alice.1,
                    bob_media: media.bob.1,
                    bob_taps: media.taps,
                })
            }
        }
    }
}

/// One SIP stack on an ephemeral loopback port and the URI of `user` on it.
async fn sip_side(
    choice: TransportChoice,
    pki: Option<&DemoPki>,
    user: &str,
    engine: std::sync::Arc<media_av::engine::AvEngine>,
) -> Result<(Platform, Uri), CliError> {
    let bind = "127.0.0.1:0"
        .parse()
        .map_err(|_| CliError::Internal("bind address".into()))?;
    let config = match (choice, pki) {
        (TransportChoice::SipTcp, _) => SipConfig::tcp(bind),
        (TransportChoice::SipTls, Some(pki)) => {
            let tls = TlsConfig::with_roots([pki.ca.clone()])
                .and_then(|t| t.with_identity(pki.chain.clone(), pki.key.clone_key()))
                .map_err(|e| CliError::Internal(format!("TLS configuration: {e}")))?;
            SipConfig::tls(bind, tls)
        }
        _ => SipConfig::udp(bind),
    };
    let sip = SipTransport::bind(config)
        .await
        .map_err(|e| CliError::Setup(format!("SIP listener: {e}")))?;
    let uri = uri(&format!("sip:{user}@{}", sip.local_addr()))?;
    let platform = Platform::builder()
        .name(user)
        .transport(sip)
        .media_engine(engine)
        .build();
    Ok((platform, uri))
}

/// One QUIC transport on an ephemeral loopback port and the URI of `user` on it.
fn quic_side(
    pki: &DemoPki,
    user: &str,
    engine: std::sync::Arc<media_av::engine::AvEngine>,
) -> Result<(Platform, Uri), CliError> {
    let bind = "127.0.0.1:0"
        .parse()
        .map_err(|_| CliError::Internal("bind address".into()))?;
    let config = QuicConfig::new(LocalCertificate::new(
        pki.chain.clone(),
        pki.key.clone_key(),
    ))
    .bind(bind)
    .root(pki.ca.clone());
    let quic =
        QuicTransport::new(config).map_err(|e| CliError::Setup(format!("QUIC endpoint: {e}")))?;
    let uri = quic
        .uri(user)
        .map_err(|e| CliError::Internal(format!("QUIC address: {e}")))?;
    let platform = Platform::builder()
        .name(user)
        .transport(quic)
        .media_engine(engine)
        .build();
    Ok((platform, uri))
}

fn uri(s: &str) -> Result<Uri, CliError> {
    Uri::parse(s).map_err(|e| CliError::Internal(format!("demo address {s}: {e}")))
}

fn endpoint(platform: &Platform, uri: Uri, name: &str) -> Result<Endpoint, CliError> {
    platform
        .create_endpoint(EndpointConfig::new(uri).display_name(name))
        .map_err(|e| CliError::from_library("create endpoint", e))
}
