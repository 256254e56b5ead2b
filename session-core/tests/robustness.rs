//! Timers and misbehaving transports.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use common::Scripted;

use bytes::Bytes;
use session_core::contract::signaling::{Inbound, Invite, LegId, Message, Progress, Reply};
use session_core::description::SessionDescription;
use session_core::events::ParticipantEvent;
use session_core::memory::MemoryNetwork;
use session_core::{
    COMPOSING_TIMEOUT, Context, EndpointConfig, ParticipantState, Platform, SessionType,
    StatusCode, Uri,
};

fn uri(s: &str) -> Uri {
    Uri::parse(s).unwrap()
}

#[tokio::test(start_paused = true)]
async fn remote_composing_turns_idle_without_a_refresh() {
    let network = MemoryNetwork::new();
    let platform = Platform::builder().transport(network.transport()).build();
    let alice = platform
        .create_endpoint(EndpointConfig::new(uri("sip:alice@t")))
        .unwrap();
    let bob = platform
        .create_endpoint(EndpointConfig::new(uri("sip:bob@t")))
        .unwrap();
    let mut incoming = bob.session_manager().incoming().unwrap();
    alice.enable(None).unwrap().await.unwrap();
    bob.enable(None).unwrap().await.unwrap();
    let s = alice
        .session_manager()
        .create_session(SessionType::InstantMessaging, Context::new())
        .unwrap();
    let p = s
        .create_participant(uri("sip:bob@t"), Context::new())
        .unwrap();
    let op = s.add_participant(&p, None).unwrap();
    let mut inc = incoming.next().await.unwrap();
    let mut events = inc.inviter().events();
    let _bob_session = inc.accept().await.unwrap();
    op.await.unwrap();
    s.im().unwrap().start_composing().unwrap();
    loop {
        if matches!(events.recv().await.unwrap(), ParticipantEvent::Composing) {
            break;
        }
    }
    let started = tokio::time::Instant::now();
    loop {
        if matches!(events.recv().await.unwrap(), ParticipantEvent::Idle) {
            break;
        }
    }
    assert!(
        started.elapsed() >= COMPOSING_TIMEOUT,
        "idle only after the timeout"
    );
    assert!(started.elapsed() < COMPOSING_TIMEOUT + std::time::Duration::from_secs(1));
}

#[tokio::test]
async fn signals_for_unknown_legs_get_481_and_touch_no_session() {
    let transport = Scripted::default();
    let platform = Platform::builder().transport(transport.clone()).build();
    let alice = platform
        .create_endpoint(EndpointConfig::new(uri("sip:alice@t")))
        .unwrap();
    alice.enable(None).unwrap().await.unwrap();
    let inbound = transport.inbound.lock().unwrap().clone().unwrap();

    // A healthy session alongside.
    let s = alice
        .session_manager()
        .create_session(SessionType::InstantMessaging, Context::new())
        .unwrap();
    let p = s
        .create_participant(uri("sip:bob@t"), Context::new())
        .unwrap();
    s.add_participant(&p, None).unwrap().await.unwrap();
    assert_eq!(p.state(), ParticipantState::Connected);

    // Garbage for legs nobody opened.
    let (reply, rx) = Reply::channel();
    let message = Message {
        content_type: "text/plain".into(),
        body: Bytes::from_static(b"x"),
    };
    inbound
        .send(Inbound::Message {
            leg: LegId::next(),
            message,
            reply,
        })
        .await
        .unwrap();
    assert_eq!(rx.await.unwrap_err().code, StatusCode::CALL_DOES_NOT_EXIST);
    let (reply, rx) = Reply::channel();
    let offer = SessionDescription::default();
    inbound
        .send(Inbound::Update {
            leg: LegId::next(),
            offer,
            reply,
        })
        .await
        .unwrap();
    assert_eq!(rx.await.unwrap_err().code, StatusCode::CALL_DOES_NOT_EXIST);
    inbound
        .send(Inbound::Terminated {
            leg: LegId::next(),
            status: session_core::Status::ok(),
        })
        .await
        .unwrap();
    inbound
        .send(Inbound::Cancelled { leg: LegId::next() })
        .await
        .unwrap();
    inbound
        .send(Inbound::Progress {
            leg: LegId::next(),
            progress: Progress::Ringing,
        })
        .await
        .unwrap();

    // An invitation arrives while nobody took the incoming stream: 480, nothing leaks.
    let (reply, rx) = Reply::channel();
    let invite = Invite {
        from: uri("sip:mallory@t"),
        to: uri("sip:alice@t"),
        session_type: SessionType::InstantMessaging,
        conversation_id: None,
        offer: None,
        device: None,
    };
    inbound
        .send(Inbound::Invite {
            leg: LegId::next(),
            invite,
            reply,
        })
        .await
        .unwrap();
    assert_eq!(
        rx.await.unwrap_err().code,
        StatusCode::TEMPORARILY_UNAVAILABLE
    );

    // The healthy session is untouched.
    assert_eq!(p.state(), ParticipantState::Connected);
    let report = s
        .im()
        .unwrap()
        .send_message("text/plain", "still fine", None)
        .unwrap()
        .await
        .unwrap();
    assert!(report.all_delivered());
}

#[tokio::test]
async fn endpoints_pick_transports_by_name_or_scheme() {
    let network = MemoryNetwork::new();
    let platform = Platform::builder()
        .transport(Scripted::default())
        .transport(network.transport())
        .build();
    assert_eq!(platform.transport_names(), vec!["scripted", "memory"]);
    let by_scheme = platform
        .create_endpoint(EndpointConfig::new(uri("sip:a@t")))
        .unwrap();
    assert_eq!(by_scheme.transport_name(), "scripted");
    let quic = platform
        .create_endpoint(EndpointConfig::new(uri("quic:a@t")))
        .unwrap();
    assert_eq!(quic.transport_name(), "memory");
    let by_name = platform
        .create_endpoint(EndpointConfig::new(uri("sip:a@t")).transport("memory"))
        .unwrap();
    assert_eq!(by_name.transport_name(), "memory");
    assert!(matches!(
        platform.create_endpoint(EndpointConfig::new(uri("sip:a@t")).transport("nope")),
        Err(session_core::Error::NoTransport(_))
    ));
    let none = Platform::builder().build();
    assert!(matches!(
        none.create_endpoint(EndpointConfig::new(uri("tel:+1555"))),
        Err(session_core::Error::NoTransportForScheme("tel"))
    ));
}
