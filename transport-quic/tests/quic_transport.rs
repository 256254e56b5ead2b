//! The QUIC transport's own behaviour, through session-core's signaling contract and
//! raw quinn streams, on loopback: certificate verification and pinning, connection
//! loss, malformed input, media datagrams, migration.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use session_core::contract::media::{PacketPath, PacketPathError, recv_packet};
use session_core::contract::signaling::{
    Answer, Inbound, Invite, LegId, LocalIdentity, Message, SignalingEndpoint, SignalingTransport,
};
use session_core::{CredentialCache, SessionType, Status, StatusCode, Uri};
use tokio::sync::mpsc;
use tokio::time::timeout;
use transport_quic::codec::{Frame, FrameDecoder};
use transport_quic::{ClientAuth, ErrorCode, QuicConfig, QuicTransport, datagram};

use common::relay::Relay;
use common::{Ca, loopback, self_signed};

/// Longest wait for any step.
const STEP: Duration = Duration::from_secs(10);

/// What a test sees of an endpoint's inbound signals (invitations and messages are
/// accepted automatically).
#[derive(Debug)]
enum Seen {
    Invite { leg: LegId, device: Option<String> },
    Message { leg: LegId, body: Bytes },
    Terminated { leg: LegId, status: Status },
    Other,
}

/// One identity attached and registered on a transport.
struct Station {
    transport: QuicTransport,
    uri: Uri,
    endpoint: Arc<dyn SignalingEndpoint>,
    seen: mpsc::UnboundedReceiver<Seen>,
}

async fn station(transport: QuicTransport, user: &str) -> Station {
    let uri = transport.uri(user).unwrap();
    let (tx, mut rx) = mpsc::channel(64);
    let endpoint = transport
        .attach(
            LocalIdentity {
                uri: uri.clone(),
                credentials: CredentialCache::new(),
                display_name: None,
            },
            tx,
        )
        .await
        .unwrap();
    endpoint.register().await.unwrap();
    let (seen_tx, seen) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(inbound) = rx.recv().await {
            let seen = match inbound {
                Inbound::Invite { leg, invite, reply } => {
                    reply.accept(Answer::default());
                    Seen::Invite {
                        leg,
                        device: invite.device,
                    }
                }
                Inbound::Message {
                    leg,
                    message,
                    reply,
                } => {
                    reply.accept(());
                    Seen::Message {
                        leg,
                        body: message.body,
                    }
                }
                Inbound::Terminated { leg, status } => Seen::Terminated { leg, status },
                _ => Seen::Other,
            };
            let _ = seen_tx.send(seen);
        }
    });
    Station {
        transport,
        uri,
        endpoint,
        seen,
    }
}

impl Station {
    async fn invite(
        &self,
        to: &Station,
    ) -> Result<(LegId, Answer), session_core::error::SignalingError> {
        let leg = LegId::next();
        let answer = self
            .invite_on(leg, to.uri.clone(), SessionType::InstantMessaging)
            .await?;
        Ok((leg, answer))
    }

    /// Invites `to` on `leg` to a session of `session_type`, no offer, and waits (at
    /// most [`STEP`]) for the answer.
    async fn invite_on(
        &self,
        leg: LegId,
        to: Uri,
        session_type: SessionType,
    ) -> Result<Answer, session_core::error::SignalingError> {
        let invite = Invite {
            from: self.uri.clone(),
            to,
            session_type,
            conversation_id: None,
            offer: None,
            device: None,
        };
        timeout(STEP, self.endpoint.invite(leg, invite))
            .await
            .expect("invite answered in time")
    }

    async fn next(&mut self, what: &str) -> Seen {
        loop {
            let seen = timeout(STEP, self.seen.recv())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
                .expect("inbound open");
            if !matches!(seen, Seen::Other) {
                return seen;
            }
        }
    }

    async fn invited(&mut self) -> (LegId, Option<String>) {
        match self.next("an invitation").await {
            Seen::Invite { leg, device } => (leg, device),
            other => panic!("expected an invitation, got {other:?}"),
        }
    }

    async fn terminated(&mut self) -> (LegId, Status) {
        match self.next("the session's end").await {
            Seen::Terminated { leg, status } => (leg, status),
            other => panic!("expected the end of a session, got {other:?}"),
        }
    }

    async fn message(&self, leg: LegId, body: &'static str) {
        timeout(
            STEP,
            self.endpoint.message(
                leg,
                Message {
                    content_type: "text/plain".into(),
                    body: Bytes::from_static(body.as_bytes()),
                },
            ),
        )
        .await
        .expect("message answered in time")
        .expect("message delivered");
    }

    async fn received(&mut self) -> (LegId, Bytes) {
        match self.next("a message").await {
            Seen::Message { leg, body } => (leg, body),
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

fn pinned(
    pin: transport_quic::Fingerprint,
    cert: transport_quic::LocalCertificate,
) -> QuicTransport {
    QuicTransport::new(QuicConfig::new(cert).bind(loopback()).pin(pin)).unwrap()
}

#[tokio::test]
async fn pinning_accepts_the_right_fingerprint_and_rejects_a_wrong_one() {
    let (alice_cert, bob_cert, mallory_cert) = (self_signed(), self_signed(), self_signed());
    let alice_fp = alice_cert.fingerprint();
    let bob_fp = bob_cert.fingerprint();
    let mallory_fp = mallory_cert.fingerprint();
    // Bob pins Alice (as a caller) and Alice pins Bob.
    let mut bob = station(pinned(alice_fp, bob_cert), "bob").await;
    let alice = station(pinned(bob_fp, alice_cert.clone()), "alice").await;
    let (_, answer) = alice.invite(&bob).await.expect("pinned peer reached");
    assert_eq!(
        answer.device.as_deref(),
        Some(format!("sha256:{}", bob_fp.to_hex()).as_str()),
        "the callee's device is its verified certificate"
    );
    let (_, device) = bob.invited().await;
    assert_eq!(
        device.as_deref(),
        Some(format!("sha256:{}", alice_fp.to_hex()).as_str()),
        "the caller's client certificate identifies it"
    );

    // A caller pinning another fingerprint refuses Bob's certificate.
    let wrong = station(pinned(mallory_fp, alice_cert), "alice2").await;
    let err = wrong.invite(&bob).await.expect_err("wrong pin must fail");
    assert_eq!(
        err.status.code,
        StatusCode::TEMPORARILY_UNAVAILABLE,
        "{err}"
    );
    assert!(err.status.text.contains("not trusted"), "{err}");
    // A caller whose own certificate Bob does not pin is refused by Bob.
    let stranger = station(pinned(bob_fp, mallory_cert), "mallory").await;
    let err = stranger
        .invite(&bob)
        .await
        .expect_err("unpinned caller must fail");
    assert_eq!(
        err.status.code,
        StatusCode::TEMPORARILY_UNAVAILABLE,
        "{err}"
    );
}

#[tokio::test]
async fn certificates_are_verified_against_the_configured_roots() {
    let (ca, other_ca) = (Ca::new("trusted CA"), Ca::new("other CA"));
    let bob = station(common::transport(&ca, "bob"), "bob").await;
    // A caller trusting only another CA rejects Bob's certificate.
    let alice = station(common::transport(&other_ca, "alice"), "alice").await;
    let err = alice.invite(&bob).await.expect_err("untrusted server");
    assert_eq!(err.status.code, StatusCode::TEMPORARILY_UNAVAILABLE);
    assert!(err.status.text.contains("not trusted"), "{err}");
    // Bob requiring client certificates refuses a caller without one.
    let strict = station(
        QuicTransport::new(
            QuicConfig::new(ca.leaf("strict"))
                .bind(loopback())
                .root(ca.root())
                .client_auth(ClientAuth::Required),
        )
        .unwrap(),
        "strict",
    )
    .await;
    let anonymous = station(
        QuicTransport::new(
            QuicConfig::new(ca.leaf("anon"))
                .bind(loopback())
                .root(ca.root())
                .send_client_certificate(false),
        )
        .unwrap(),
        "anon",
    )
    .await;
    let err = anonymous
        .invite(&strict)
        .await
        .expect_err("client certificate required");
    assert_eq!(err.status.code, StatusCode::TEMPORARILY_UNAVAILABLE);
    // With a trusted certificate it works, and the connection is reused both ways.
    let mut bob = bob;
    let carol = station(common::transport(&ca, "carol"), "carol").await;
    let (leg, _) = carol.invite(&bob).await.expect("trusted");
    let (bob_leg, _) = bob.invited().await;
    let mut carol = carol;
    let (back, _) = bob.invite(&carol).await.expect("call back");
    carol.invited().await;
    assert_eq!(
        carol.transport.open_connections(),
        1,
        "one connection per pair"
    );
    carol.message(leg, "hi").await;
    assert_eq!(bob.received().await, (bob_leg, Bytes::from_static(b"hi")));
    let _ = back;
}

#[tokio::test]
async fn a_closed_peer_ends_its_sessions_at_both_sides() {
    let ca = Ca::new("ca");
    let mut alice = station(common::transport(&ca, "alice"), "alice").await;
    let mut bob = station(common::transport(&ca, "bob"), "bob").await;
    let (leg, _) = alice.invite(&bob).await.unwrap();
    let (bob_leg, _) = bob.invited().await;
    bob.transport.close().await;
    let (ended, status) = alice.terminated().await;
    assert_eq!(ended, leg);
    assert_eq!(status.code, StatusCode::SERVICE_UNAVAILABLE);
    assert!(status.text.contains("closed by the peer"), "{status}");
    let (ended, status) = bob.terminated().await;
    assert_eq!(ended, bob_leg);
    assert!(status.text.contains("closed locally"), "{status}");
}

#[tokio::test]
async fn a_vanished_peer_ends_the_session_with_the_idle_timeout() {
    let ca = Arc::new(Ca::new("ca"));
    let mut alice = station(
        QuicTransport::new(
            QuicConfig::new(ca.leaf("alice"))
                .bind(loopback())
                .root(ca.root())
                .idle_timeout(Duration::from_millis(1500))
                .keep_alive(Duration::from_millis(300)),
        )
        .unwrap(),
        "alice",
    )
    .await;
    // Bob lives on a runtime of his own, which then stops without closing anything.
    let (uri_tx, uri_rx) = std::sync::mpsc::channel();
    let (die_tx, die_rx) = tokio::sync::oneshot::channel::<()>();
    let bob_ca = ca.clone();
    let bob_thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let bob = station(common::transport(&bob_ca, "bob"), "bob").await;
            uri_tx.send(bob.uri.clone()).unwrap();
            let _ = die_rx.await;
            // Never dropped: dropping would send CONNECTION_CLOSE.
            std::mem::forget(bob);
        });
        drop(rt);
    });
    let bob_uri = uri_rx.recv_timeout(STEP).unwrap();
    let leg = LegId::next();
    alice
        .invite_on(leg, bob_uri, SessionType::InstantMessaging)
        .await
        .unwrap();
    die_tx.send(()).unwrap();
    bob_thread.join().unwrap();
    let (ended, status) = alice.terminated().await;
    assert_eq!(ended, leg);
    assert_eq!(status.code, StatusCode::REQUEST_TIMEOUT, "{status}");
    assert!(status.text.contains("idle timeout"), "{status}");
}

#[tokio::test]
async fn terminate_returns_once_the_peer_has_the_hang_up() {
    let ca = Ca::new("ca");
    let alice = station(common::transport(&ca, "alice"), "alice").await;
    let mut bob = station(common::transport(&ca, "bob"), "bob").await;
    let relay = Relay::start(bob.transport.local_addr().unwrap(), Duration::ZERO).await;
    let (front, hold) = (relay.front, relay.hold.clone());
    let leg = LegId::next();
    alice
        .invite_on(
            leg,
            format!("quic:bob@{front}").parse().unwrap(),
            SessionType::InstantMessaging,
        )
        .await
        .unwrap();
    let (bob_leg, _) = bob.invited().await;
    // The hang-up is lost on its way until the relay lets packets through again: a
    // process that exits as soon as `terminate` returns must not have hung up alone.
    hold.store(true, Ordering::Relaxed);
    let endpoint = alice.endpoint.clone();
    let mut hang_up = tokio::spawn(async move {
        endpoint
            .terminate(leg, session_core::Reason::NotSpecified)
            .await
    });
    assert!(
        timeout(Duration::from_millis(150), &mut hang_up)
            .await
            .is_err(),
        "terminate returned while the peer could not have its hang-up"
    );
    hold.store(false, Ordering::Relaxed);
    timeout(STEP, hang_up).await.unwrap().unwrap().unwrap();
    let (ended, status) = timeout(Duration::from_secs(2), bob.terminated())
        .await
        .expect("bob had the hang-up when alice's terminate returned");
    assert_eq!(ended, bob_leg);
    assert_eq!(status.code, StatusCode::OK, "{status}");
}

async fn read_reset(recv: &mut quinn::RecvStream) -> u64 {
    let mut buf = [0u8; 1024];
    loop {
        match timeout(STEP, recv.read(&mut buf)).await.unwrap() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("stream finished instead of reset"),
            Err(quinn::ReadError::Reset(code)) => return code.into_inner(),
            Err(e) => panic!("unexpected read error {e}"),
        }
    }
}

#[tokio::test]
async fn garbage_on_a_session_stream_resets_it_and_the_endpoint_serves_others() {
    let ca = Ca::new("ca");
    let mut alice = station(common::transport(&ca, "alice"), "alice").await;
    let mut bob = station(common::transport(&ca, "bob"), "bob").await;
    let conn = alice.transport.connection(&bob.uri).await.unwrap();

    // 1. An oversize frame announced as the first bytes: reset with 0x1 at once.
    let (mut send, mut recv) = conn.open_bi().await.unwrap();
    let mut wire = BytesMut::new();
    transport_quic::codec::varint::put(&mut wire, 1 << 20);
    send.write_all(&wire).await.unwrap();
    assert_eq!(
        read_reset(&mut recv).await,
        u64::from(ErrorCode::ProtocolViolation.code())
    );

    // 2. An established session that then receives a malformed frame.
    let (mut send, mut recv) = conn.open_bi().await.unwrap();
    let mut wire = BytesMut::new();
    Frame::Invite {
        from: alice.uri.clone(),
        to: bob.uri.clone(),
        session_type: SessionType::InstantMessaging,
        conversation_id: None,
        offer: None,
        device: None,
    }
    .encode(&mut wire)
    .unwrap();
    send.write_all(&wire).await.unwrap();
    let (bob_leg, _) = bob.invited().await;
    let mut decoder = FrameDecoder::new();
    let mut buf = [0u8; 4096];
    let accepted = loop {
        if let Some(frame) = decoder.next_frame() {
            break frame.unwrap();
        }
        let n = timeout(STEP, recv.read(&mut buf))
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        decoder.push(&buf[..n]);
    };
    assert!(matches!(accepted, Frame::Accept { .. }), "{accepted:?}");
    // A MESSAGE frame (type 8) without its required fields.
    send.write_all(&[0x01, 0x08]).await.unwrap();
    assert_eq!(read_reset(&mut recv).await, 1);
    let (ended, status) = bob.terminated().await;
    assert_eq!(ended, bob_leg);
    assert_eq!(status.code, StatusCode::BAD_REQUEST);
    assert!(status.text.contains("protocol"), "{status}");

    // 3. The connection and the endpoint go on serving other sessions.
    assert!(conn.close_reason().is_none(), "the connection stays open");
    let (leg, _) = alice.invite(&bob).await.unwrap();
    let (bob_leg, _) = bob.invited().await;
    alice.message(leg, "still here").await;
    assert_eq!(
        bob.received().await,
        (bob_leg, Bytes::from_static(b"still here"))
    );
    assert_eq!(alice.transport.open_connections(), 1);
    let _ = alice.seen.try_recv();
}

#[tokio::test]
async fn datagram_paths_carry_packets_both_ways_with_flows_kept_apart() {
    let ca = Ca::new("ca");
    let alice = station(common::transport(&ca, "alice"), "alice").await;
    let mut bob = station(common::transport(&ca, "bob"), "bob").await;
    // Alice asks for her paths before inviting, as session-core does for an offer.
    let leg = LegId::next();
    let a0 = alice.endpoint.packet_path(leg, 0).unwrap();
    let a1 = alice.endpoint.packet_path(leg, 1).unwrap();
    alice
        .invite_on(leg, bob.uri.clone(), SessionType::AudioVideo)
        .await
        .unwrap();
    let (bob_leg, _) = bob.invited().await;
    let b0 = bob.endpoint.packet_path(bob_leg, 0).unwrap();
    let b1 = bob.endpoint.packet_path(bob_leg, 1).unwrap();
    // A second session on the same connection, its flow 0 distinct from the first's.
    let (leg2, _) = alice.invite(&bob).await.unwrap();
    let (bob_leg2, _) = bob.invited().await;
    let c0 = alice.endpoint.packet_path(leg2, 0).unwrap();
    let d0 = bob.endpoint.packet_path(bob_leg2, 0).unwrap();
    assert!(a0.max_packet_size() >= 1000, "{}", a0.max_packet_size());

    // Datagrams may be lost even on loopback: send until one arrives.
    async fn deliver(from: &dyn PacketPath, to: &dyn PacketPath, packet: &'static [u8]) {
        let got = timeout(STEP, async {
            loop {
                from.send(Bytes::from_static(packet)).unwrap();
                if let Ok(p) = timeout(Duration::from_millis(200), recv_packet(to)).await {
                    return p.unwrap();
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(&got[..], packet);
    }
    // Malformed datagrams (a truncated flow id, an unknown flow) are dropped.
    let conn = alice.transport.connection(&bob.uri).await.unwrap();
    conn.send_datagram(Bytes::from_static(&[0xc0])).unwrap();
    conn.send_datagram(Bytes::from_static(&[0x3f, 1, 2, 3]))
        .unwrap();
    deliver(&*a0, &*b0, b"audio a->b").await;
    deliver(&*a1, &*b1, b"video a->b").await;
    deliver(&*b0, &*a0, b"audio b->a").await;
    deliver(&*b1, &*a1, b"video b->a").await;
    deliver(&*c0, &*d0, b"second session").await;
    deliver(&*d0, &*c0, b"second session back").await;
    // Nothing leaked across flows: whatever else is queued is a copy of the flow's own.
    for (path, own) in [
        (&b0, &b"audio a->b"[..]),
        (&b1, b"video a->b"),
        (&a0, b"audio b->a"),
        (&a1, b"video b->a"),
        (&d0, b"second session"),
        (&c0, b"second session back"),
    ] {
        while let Ok(Ok(p)) = timeout(Duration::from_millis(50), recv_packet(&**path)).await {
            assert_eq!(&p[..], own);
        }
    }
    let too_big = Bytes::from(vec![0u8; 4000]);
    assert!(matches!(
        a0.send(too_big),
        Err(PacketPathError::TooLarge { len: 4000, .. })
    ));
    assert_eq!(datagram::flow_id(4, 1), Some(65));
    assert_eq!(datagram::flow_id(4, 16), None);
}

#[tokio::test]
async fn without_peer_datagrams_packet_paths_fall_back_to_udp() {
    let ca = Ca::new("ca");
    let alice = station(common::transport(&ca, "alice"), "alice").await;
    let mut bob = station(
        QuicTransport::new(
            QuicConfig::new(ca.leaf("bob"))
                .bind(loopback())
                .root(ca.root())
                .datagrams(false),
        )
        .unwrap(),
        "bob",
    )
    .await;
    let leg = LegId::next();
    let early = alice.endpoint.packet_path(leg, 0).expect("not known yet");
    alice
        .invite_on(leg, bob.uri.clone(), SessionType::AudioVideo)
        .await
        .unwrap();
    bob.invited().await;
    assert!(
        alice.endpoint.packet_path(leg, 1).is_none(),
        "an open leg whose peer takes no datagrams has no packet path: media uses UDP"
    );
    match early.send(Bytes::from_static(b"rtp")) {
        Err(PacketPathError::Io(e)) => {
            assert_eq!(e.kind(), std::io::ErrorKind::Unsupported);
            assert!(e.to_string().contains("datagrams"), "{e}");
        }
        other => panic!("expected an unsupported error, got {other:?}"),
    }
    assert!(recv_packet(&*early).await.is_err());
}

#[tokio::test]
async fn a_session_survives_the_callers_socket_rebind() {
    let ca = Ca::new("ca");
    let mut alice = station(common::transport(&ca, "alice"), "alice").await;
    let mut bob = station(common::transport(&ca, "bob"), "bob").await;
    let (leg, _) = alice.invite(&bob).await.unwrap();
    let (bob_leg, _) = bob.invited().await;
    alice.message(leg, "before").await;
    assert_eq!(bob.received().await.1, Bytes::from_static(b"before"));
    let old = alice.transport.local_addr().unwrap();
    let new = alice.transport.rebind(loopback()).unwrap();
    assert_ne!(old.port(), new.port());
    alice.message(leg, "after").await;
    assert_eq!(
        bob.received().await,
        (bob_leg, Bytes::from_static(b"after"))
    );
    bob.message(bob_leg, "back").await;
    assert_eq!(alice.received().await, (leg, Bytes::from_static(b"back")));
    // Bob's side of the same connection now sees Alice at her new address.
    let at_bob = bob.transport.connection(&alice.uri).await.unwrap();
    assert_eq!(at_bob.remote_address(), new, "the connection migrated");
    assert_eq!(alice.transport.open_connections(), 1);
}

#[tokio::test]
async fn endpoint_shutdown_ends_the_peers_sessions() {
    let ca = Ca::new("ca");
    let alice = station(common::transport(&ca, "alice"), "alice").await;
    let mut bob = station(common::transport(&ca, "bob"), "bob").await;
    alice.invite(&bob).await.unwrap();
    let (bob_leg, _) = bob.invited().await;
    alice.endpoint.shutdown().await;
    let (ended, status) = bob.terminated().await;
    assert_eq!(ended, bob_leg);
    assert_eq!(status.code, StatusCode::SERVICE_UNAVAILABLE);
    assert!(status.text.contains("shut down"), "{status}");
    let err = alice.invite(&bob).await.expect_err("closed endpoint");
    assert_eq!(err.status.code, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn ipv6_loopback_and_unregistered_users() {
    let ca = Ca::new("ca");
    let v6 = |name: &str| {
        QuicTransport::new(
            QuicConfig::new(ca.leaf(name))
                .bind("[::1]:0".parse().unwrap())
                .root(ca.root()),
        )
        .unwrap()
    };
    let alice = station(v6("alice"), "alice").await;
    let mut bob = station(v6("bob"), "bob").await;
    assert!(
        bob.uri.to_string().starts_with("quic:bob@[::1]:"),
        "{}",
        bob.uri
    );
    let (leg, _) = alice.invite(&bob).await.unwrap();
    let (bob_leg, _) = bob.invited().await;
    alice.message(leg, "over v6").await;
    assert_eq!(
        bob.received().await,
        (bob_leg, Bytes::from_static(b"over v6"))
    );
    // A user nobody registered on Bob's transport.
    let nobody = Station {
        transport: bob.transport.clone(),
        uri: bob.transport.uri("nobody").unwrap(),
        endpoint: bob.endpoint.clone(),
        seen: mpsc::unbounded_channel().1,
    };
    let err = alice.invite(&nobody).await.expect_err("unregistered");
    assert_eq!(err.status.code, StatusCode::TEMPORARILY_UNAVAILABLE);
    assert!(err.status.text.contains("not registered"), "{err}");
    // After unregistering, Bob's new invitations fail with 480 too.
    bob.endpoint.unregister().await.unwrap();
    let err = alice.invite(&bob).await.expect_err("unregistered");
    assert_eq!(err.status.code, StatusCode::TEMPORARILY_UNAVAILABLE);
}

#[tokio::test]
async fn a_stream_without_an_invite_is_reset_when_its_time_is_up() {
    let ca = Ca::new("ca");
    let alice = station(common::transport(&ca, "alice"), "alice").await;
    let bob = station(
        QuicTransport::new(
            QuicConfig::new(ca.leaf("bob"))
                .bind(loopback())
                .root(ca.root())
                .timeouts(transport_quic::Timeouts {
                    first_frame: Duration::from_millis(300),
                    ..Default::default()
                }),
        )
        .unwrap(),
        "bob",
    )
    .await;
    let conn = alice.transport.connection(&bob.uri).await.unwrap();
    let (mut send, mut recv) = conn.open_bi().await.unwrap();
    // The start of a frame, never completed.
    send.write_all(&[0x10, 0x01]).await.unwrap();
    assert_eq!(
        read_reset(&mut recv).await,
        u64::from(ErrorCode::SessionTimeout.code())
    );
    assert!(conn.close_reason().is_none(), "the connection stays open");
}

#[tokio::test]
async fn an_application_selects_quic_by_name_or_scheme() {
    use session_core::memory::MemoryNetwork;
    use session_core::{EndpointConfig, Platform};
    let ca = Ca::new("ca");
    let quic = common::transport(&ca, "alice");
    let uri = quic.uri("alice").unwrap();
    // The memory transport serves quic: too, so with it first the name decides.
    let platform = Platform::builder()
        .transport(MemoryNetwork::new().transport())
        .transport(quic.clone())
        .build();
    let named = platform
        .create_endpoint(EndpointConfig::new(uri.clone()).transport("quic"))
        .unwrap();
    assert_eq!(named.transport_name(), "quic");
    // Alone, it is picked by the URI's scheme.
    let platform = Platform::builder().transport(quic).build();
    let by_scheme = platform.create_endpoint(EndpointConfig::new(uri)).unwrap();
    assert_eq!(by_scheme.transport_name(), "quic");
    timeout(STEP, by_scheme.enable(None).unwrap())
        .await
        .unwrap()
        .unwrap();
}

/// One-way delay of the 0-RTT tests' relay.
const D: Duration = Duration::from_millis(60);

/// A transport of `ca` that closes connections soon after their last session ends.
fn short_lived(ca: &Ca, name: &str) -> QuicTransport {
    QuicTransport::new(
        QuicConfig::new(ca.leaf(name))
            .bind(loopback())
            .root(ca.root())
            .linger(Duration::from_millis(200)),
    )
    .unwrap()
}

impl Station {
    /// Invites `to` at `via` (a relay in front of it): the answer and how long it took.
    async fn invite_via(&self, to: &Station, via: std::net::SocketAddr) -> (LegId, Duration) {
        let leg = LegId::next();
        let to = format!("quic:{}@{via}", to.uri.user().unwrap())
            .parse()
            .unwrap();
        let started = std::time::Instant::now();
        self.invite_on(leg, to, SessionType::InstantMessaging)
            .await
            .expect("invite accepted");
        (leg, started.elapsed())
    }

    async fn hang_up(&mut self, leg: LegId, peer: &mut Station) {
        self.endpoint
            .terminate(leg, session_core::Reason::NotSpecified)
            .await
            .unwrap();
        peer.terminated().await;
    }

    /// Nothing but `Other` arrives for `window`.
    async fn no_invitation_for(&mut self, window: Duration) {
        let _ = timeout(window, async {
            loop {
                match self.seen.recv().await {
                    Some(Seen::Invite { .. }) => panic!("an invitation arrived"),
                    Some(_) => {}
                    None => return,
                }
            }
        })
        .await;
    }
}

/// Long enough for a connection of [`short_lived`] transports to linger out (and its
/// close to cross the relay).
const IDLE_OUT: Duration = Duration::from_millis(600);

#[tokio::test]
async fn a_reconnection_invites_in_0rtt_one_round_trip_sooner_and_a_replay_invites_nobody() {
    let ca = Ca::new("ca");
    let mut alice = station(short_lived(&ca, "alice"), "alice").await;
    let mut bob = station(short_lived(&ca, "bob"), "bob").await;
    let bob_addr = bob.transport.local_addr().unwrap();
    let relay = Relay::start(bob_addr, D).await;

    // A first connection: full handshake (2 round trips to the answer).
    let (leg, full) = alice.invite_via(&bob, relay.front).await;
    bob.invited().await;
    assert!(full >= 4 * D, "{full:?}");
    alice.hang_up(leg, &mut bob).await;
    assert_eq!(alice.transport.stats().zero_rtt_accepted, 0);
    tokio::time::sleep(IDLE_OUT).await;

    // A new connection resumes with the ticket: the INVITE rides the first flight and
    // the answer comes one round trip later.
    relay.record();
    let (leg, resumed) = alice.invite_via(&bob, relay.front).await;
    bob.invited().await;
    assert!(resumed >= 2 * D, "{resumed:?}");
    assert!(resumed < 3 * D, "{resumed:?} (full handshake: {full:?})");
    assert_eq!(
        alice.transport.stats().zero_rtt_accepted,
        1,
        "{:?}",
        alice.transport.stats()
    );
    alice.hang_up(leg, &mut bob).await;
    tokio::time::sleep(IDLE_OUT).await;

    // An attacker replays that first flight (ClientHello with the ticket + 0-RTT
    // INVITE) from elsewhere: the ticket was single-use, the early data is discarded,
    // and no invitation reaches bob.
    let first_flight = relay.recorded();
    assert!(!first_flight.is_empty());
    let attacker = tokio::net::UdpSocket::bind(loopback()).await.unwrap();
    for datagram in &first_flight {
        attacker.send_to(datagram, bob_addr).await.unwrap();
    }
    bob.no_invitation_for(Duration::from_millis(500)).await;
}

#[tokio::test]
async fn an_invitation_the_peer_discarded_as_0rtt_is_sent_again() {
    let ca = Ca::new("ca");
    let alice = station(short_lived(&ca, "alice"), "alice").await;
    let bob = station(short_lived(&ca, "bob"), "bob").await;
    let bob_addr = bob.transport.local_addr().unwrap();
    let (leg, _) = alice.invite_via(&bob, bob_addr).await;
    alice
        .endpoint
        .terminate(leg, session_core::Reason::NotSpecified)
        .await
        .unwrap();
    // Bob restarts on the same address: his session cache (and alice's ticket) is gone.
    bob.transport.close().await;
    drop(bob);
    tokio::time::sleep(IDLE_OUT).await;
    let mut bob = station(
        QuicTransport::new(
            QuicConfig::new(ca.leaf("bob"))
                .bind(bob_addr)
                .root(ca.root()),
        )
        .unwrap(),
        "bob",
    )
    .await;
    let (leg, _) = alice.invite_via(&bob, bob_addr).await;
    let (bob_leg, _) = bob.invited().await;
    let stats = alice.transport.stats();
    assert_eq!((stats.zero_rtt_accepted, stats.zero_rtt_rejected), (0, 1));
    // The session works on the stream that replaced the discarded one.
    alice.message(leg, "after a rejected 0-RTT").await;
    let (at, body) = bob.received().await;
    assert_eq!((at, &body[..]), (bob_leg, &b"after a rejected 0-RTT"[..]));
}
