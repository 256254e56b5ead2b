//! An audio/video invitation without an offer ("delayed offer", as a SIP INVITE without
//! SDP): accepting it makes the offer, the remote answer arrives as `Inbound::Answer`
//! and is applied to the streams; a missing answer ends the call.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use common::Scripted;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use session_core::contract::media::{
    MediaEngine, MediaStream, NegotiatedStream, StreamRequest, StreamStats,
};
use session_core::contract::signaling::{Inbound, Invite, LegId, Reply};
use session_core::description::{Codec, MediaAddress, MediaDescription, SessionDescription};
use session_core::error::MediaError;
use session_core::{
    EndpointConfig, MediaDirection, MediaType, ParticipantState, Platform, Reason, SessionType,
    StatusCode, Uri,
};

const STEP: Duration = Duration::from_secs(5);

/// A media engine that records what is applied to its streams.
#[derive(Debug, Default)]
struct Engine {
    applied: Arc<Mutex<Vec<NegotiatedStream>>>,
    closed: Arc<Mutex<usize>>,
}

#[derive(Debug)]
struct Stream {
    applied: Arc<Mutex<Vec<NegotiatedStream>>>,
    closed: Arc<Mutex<usize>>,
}

#[async_trait]
impl MediaEngine for Engine {
    fn codecs(&self, _media_type: MediaType) -> Vec<Codec> {
        vec![Codec::pcmu()]
    }
    async fn open(&self, _request: StreamRequest) -> Result<Box<dyn MediaStream>, MediaError> {
        Ok(Box::new(Stream {
            applied: self.applied.clone(),
            closed: self.closed.clone(),
        }))
    }
}

#[async_trait]
impl MediaStream for Stream {
    fn local_address(&self) -> MediaAddress {
        MediaAddress::Udp("127.0.0.1:40000".parse().unwrap())
    }
    async fn apply(&self, negotiated: NegotiatedStream) -> Result<(), MediaError> {
        self.applied.lock().unwrap().push(negotiated);
        Ok(())
    }
    fn set_muted(&self, _muted: bool) {}
    fn stats(&self) -> StreamStats {
        StreamStats::default()
    }
    async fn close(&self) {
        *self.closed.lock().unwrap() += 1;
    }
}

fn uri(s: &str) -> Uri {
    Uri::parse(s).unwrap()
}

/// An endpoint on the scripted transport, enabled, with its incoming stream taken; an
/// offerless A/V invitation delivered to it and accepted by the application.
async fn accepted_offerless_call() -> (
    Scripted,
    Arc<Engine>,
    session_core::Session,
    session_core::Participant,
    LegId,
    SessionDescription,
) {
    let transport = Scripted::default();
    let engine = Arc::new(Engine::default());
    let platform = Platform::builder()
        .transport(transport.clone())
        .media_engine(engine.clone())
        .build();
    let bob = platform
        .create_endpoint(EndpointConfig::new(uri("sip:bob@t")))
        .unwrap();
    let mut incoming = bob.session_manager().incoming().unwrap();
    bob.enable(None).unwrap().await.unwrap();
    let inbound = transport.inbound.lock().unwrap().clone().unwrap();
    let leg = LegId::next();
    let (reply, answered) = Reply::channel();
    inbound
        .send(Inbound::Invite {
            leg,
            invite: Invite {
                from: uri("sip:pbx@t"),
                to: uri("sip:bob@t"),
                session_type: SessionType::AudioVideo,
                conversation_id: None,
                offer: None,
                device: None,
            },
            reply,
        })
        .await
        .unwrap();
    let mut call = tokio::time::timeout(STEP, incoming.next())
        .await
        .unwrap()
        .unwrap();
    let inviter = call.inviter().clone();
    let session = call.accept().await.unwrap();
    // The acceptance carries our offer: one audio line, our address and codecs.
    let offer = answered.await.unwrap().description.unwrap();
    assert_eq!(offer.media.len(), 1);
    let line = &offer.media[0];
    assert_eq!(line.media_type, MediaType::Audio);
    assert!(line.enabled);
    assert_eq!(line.direction, MediaDirection::BOTH);
    assert_eq!(line.codecs, vec![Codec::pcmu()]);
    assert_eq!(
        line.address,
        MediaAddress::Udp("127.0.0.1:40000".parse().unwrap())
    );
    assert_eq!(inviter.state(), ParticipantState::Connected);
    // Nothing is applied before the answer.
    assert!(engine.applied.lock().unwrap().is_empty());
    (transport, engine, session, inviter, leg, offer)
}

async fn wait_until(what: &str, f: impl Fn() -> bool) {
    tokio::time::timeout(STEP, async {
        while !f() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what} did not happen"));
}

#[tokio::test]
async fn accepting_without_an_offer_offers_and_applies_the_late_answer() {
    let (transport, engine, _session, inviter, leg, offer) = accepted_offerless_call().await;
    let remote: std::net::SocketAddr = "192.0.2.7:5004".parse().unwrap();
    let mut line =
        MediaDescription::new(MediaType::Audio, MediaDirection::BOTH, vec![Codec::pcmu()]);
    line.address = MediaAddress::Udp(remote);
    let answer = SessionDescription {
        version: 1,
        media: vec![line],
    };
    let inbound = transport.inbound.lock().unwrap().clone().unwrap();
    inbound
        .send(Inbound::Answer {
            leg,
            answer: Some(answer),
        })
        .await
        .unwrap();
    wait_until("the answer applied", || {
        !engine.applied.lock().unwrap().is_empty()
    })
    .await;
    let applied = engine.applied.lock().unwrap()[0].clone();
    assert_eq!(applied.remote, MediaAddress::Udp(remote));
    assert_eq!(applied.codec, Codec::pcmu());
    assert_eq!(applied.direction, MediaDirection::BOTH);
    assert_eq!(inviter.state(), ParticipantState::Connected);
    assert!(transport.terminated.lock().unwrap().is_empty());
    let channels = inviter.av().unwrap().channels();
    assert_eq!(channels.len(), 1);
    assert_eq!(channels[0].negotiated_media(), MediaDirection::BOTH);
    // A second answer (a retransmitted ACK) changes nothing.
    inbound
        .send(Inbound::Answer {
            leg,
            answer: Some(offer),
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(engine.applied.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_missing_late_answer_hangs_up_with_488() {
    let (transport, engine, session, inviter, leg, _offer) = accepted_offerless_call().await;
    let mut events = inviter.events();
    let inbound = transport.inbound.lock().unwrap().clone().unwrap();
    inbound
        .send(Inbound::Answer { leg, answer: None })
        .await
        .unwrap();
    wait_until("the hang-up", || {
        !transport.terminated.lock().unwrap().is_empty()
    })
    .await;
    assert_eq!(
        transport.terminated.lock().unwrap()[0],
        (leg, Reason::NotAcceptable)
    );
    wait_until("the participant gone", || {
        inviter.state() == ParticipantState::Disconnected
    })
    .await;
    let mut status = None;
    while let Ok(Some(e)) = tokio::time::timeout(Duration::from_millis(100), events.recv())
        .await
        .map(Result::ok)
    {
        if let session_core::events::ParticipantEvent::StateChanged(change) = e {
            if change.new == ParticipantState::Disconnected {
                status = change.status;
            }
        }
    }
    assert_eq!(
        status.map(|s| s.code),
        Some(StatusCode::NOT_ACCEPTABLE_HERE)
    );
    wait_until("the stream closed", || *engine.closed.lock().unwrap() == 1).await;
    assert!(engine.applied.lock().unwrap().is_empty());
    wait_until("the session over", || session.is_terminated()).await;
}
