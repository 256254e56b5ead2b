//! `Platform::shutdown` (`IUccPlatform::Shutdown`): the endpoints give up their
//! transport attachments, the peer learns at once (its session ends), the operation
//! completes with `PlatformEvent::Shutdown`, and the platform creates no more endpoints.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::time::Duration;

use session_core::endpoint::EndpointState;
use session_core::events::PlatformEvent;
use session_core::memory::MemoryNetwork;
use session_core::{
    Context, EndpointConfig, Error, OperationContext, OperationKind, ParticipantState, Platform,
    PlatformState, SessionType, Uri,
};

const STEP: Duration = Duration::from_secs(5);

fn uri(s: &str) -> Uri {
    Uri::parse(s).unwrap()
}

#[tokio::test(start_paused = true)]
async fn shutdown_releases_the_transport_and_the_peer_learns_at_once() {
    let network = MemoryNetwork::new();
    let alice_platform = Platform::builder().transport(network.transport()).build();
    let bob_platform = Platform::builder().transport(network.transport()).build();
    let alice = alice_platform
        .create_endpoint(EndpointConfig::new(uri("sip:alice@example.com")))
        .unwrap();
    let bob = bob_platform
        .create_endpoint(EndpointConfig::new(uri("sip:bob@example.com")))
        .unwrap();
    alice.enable(None).unwrap().await.unwrap();
    bob.enable(None).unwrap().await.unwrap();
    let mut incoming = bob.session_manager().incoming().unwrap();

    let session = alice
        .session_manager()
        .create_session(SessionType::InstantMessaging, Context::new())
        .unwrap();
    let to_bob = session
        .create_participant(uri("sip:bob@example.com"), Context::new())
        .unwrap();
    let invite = session.add_participant(&to_bob, None).unwrap();
    let mut offer = tokio::time::timeout(STEP, incoming.next())
        .await
        .unwrap()
        .unwrap();
    let from_alice = offer.inviter().clone();
    let _bob_session = offer.accept().await.unwrap();
    invite.await.unwrap();
    assert_eq!(from_alice.state(), ParticipantState::Connected);

    let mut events = alice_platform.events();
    let shutdown = alice_platform
        .shutdown(Some(OperationContext::new(7)))
        .unwrap();
    assert_eq!(shutdown.kind(), OperationKind::Shutdown);
    // A second call while it runs is refused.
    assert!(matches!(
        alice_platform.shutdown(None),
        Err(Error::InvalidState { .. })
    ));
    tokio::time::timeout(STEP, shutdown).await.unwrap().unwrap();
    assert_eq!(alice_platform.state(), PlatformState::ShutDown);
    match tokio::time::timeout(STEP, events.recv()).await.unwrap() {
        Ok(PlatformEvent::Shutdown(p)) => {
            assert!(p.is_complete && p.status.code.is_success(), "{p:?}");
            assert!(p.context.is_some());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(alice.state(), EndpointState::Disabled);

    // Bob's side ends without waiting for any timeout.
    tokio::time::timeout(STEP, async {
        while from_alice.state() != ParticipantState::Disconnected {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .unwrap();

    assert!(matches!(
        alice_platform.create_endpoint(EndpointConfig::new(uri("sip:carol@example.com"))),
        Err(Error::InvalidState { .. })
    ));
    // The other platform is untouched.
    assert_eq!(bob_platform.state(), PlatformState::Running);
    assert_eq!(bob.state(), EndpointState::Enabled);
}
