//! The conformance suite: the same scenarios against any transport.
//!
//! A transport crate implements [`Harness`] (how to make an endpoint, how to address
//! one) and expands [`conformance_suite!`](crate::conformance_suite) in a test file:
//!
//! ```ignore
//! session_core::conformance_suite!(my_transport_tests, MyHarness::new());
//! ```
//!
//! Each scenario is a separate `#[tokio::test]` on a multi-thread runtime and bounded
//! in time ([`STEP_TIMEOUT`] per awaited step): a transport that loses a message or
//! never answers fails with a message that says which step hung, instead of hanging.
//! Scenarios panic on failure — they are tests.

#![allow(clippy::missing_panics_doc)]

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::context::{Context, ids};
use crate::dispatch::{RecvError, Subscription};
use crate::endpoint::{Endpoint, EndpointState, IncomingSessions};
use crate::error::Error;
use crate::events::{
    EndpointEvent, MediaChannelEvent, ParticipantEvent, SessionEvent, StateChange,
};
use crate::incoming::IncomingSession;
use crate::operation::{OperationContext, OperationKind};
use crate::participant::{ParticipantState, StateChangeReason};
use crate::session::{Session, SessionType};
use crate::status::{Reason, StatusCode};
use crate::uri::Uri;
use crate::{MediaDirection, MediaType, Participant};

/// Longest wait for any single step of a scenario.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(20);

/// What a transport provides to the suite.
#[async_trait]
pub trait Harness: Send + Sync {
    /// A new endpoint (not enabled) for `user`, on the transport under test. Each call
    /// may build its own platform (own sockets); endpoints must reach each other.
    async fn endpoint(&self, user: &str) -> Endpoint;

    /// The address other endpoints use to reach `user`'s endpoint.
    fn uri(&self, user: &str) -> Uri;
}

/// Awaits `fut` for at most [`STEP_TIMEOUT`], panicking with `what` when it hangs.
pub async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(STEP_TIMEOUT, fut).await {
        Ok(v) => v,
        Err(_) => panic!("conformance: timed out waiting for {what}"),
    }
}

/// Waits for the first event matching `pick`, skipping others.
pub async fn wait_for<E, T>(
    what: &str,
    events: &mut Subscription<E>,
    mut pick: impl FnMut(&E) -> Option<T>,
) -> T {
    within(what, async {
        loop {
            match events.recv().await {
                Ok(e) => {
                    if let Some(t) = pick(&e) {
                        return t;
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    panic!("conformance: lagged {n} events waiting for {what}")
                }
                Err(RecvError::Closed) => {
                    panic!("conformance: event stream closed waiting for {what}")
                }
            }
        }
    })
    .await
}

/// Two enabled endpoints, with Bob's incoming stream taken.
pub struct Pair {
    /// Alice.
    pub alice: Endpoint,
    /// Bob.
    pub bob: Endpoint,
    /// Alice's incoming sessions.
    pub alice_incoming: IncomingSessions,
    /// Bob's incoming sessions.
    pub bob_incoming: IncomingSessions,
    /// Alice's address.
    pub alice_uri: Uri,
    /// Bob's address.
    pub bob_uri: Uri,
}

impl Pair {
    /// Makes and enables Alice and Bob.
    pub async fn new(h: &dyn Harness) -> Pair {
        let alice = h.endpoint("alice").await;
        let bob = h.endpoint("bob").await;
        let alice_incoming = alice.session_manager().incoming().expect("incoming stream");
        let bob_incoming = bob.session_manager().incoming().expect("incoming stream");
        within("alice enable", alice.enable(None).expect("enable"))
            .await
            .expect("alice enabled");
        within("bob enable", bob.enable(None).expect("enable"))
            .await
            .expect("bob enabled");
        Pair {
            alice,
            bob,
            alice_incoming,
            bob_incoming,
            alice_uri: h.uri("alice"),
            bob_uri: h.uri("bob"),
        }
    }

    /// Alice invites Bob to a session of `kind` (with an audio channel for A/V) and
    /// Bob accepts; returns both sides' sessions and the participants they see.
    pub async fn connect(&mut self, kind: SessionType, context: Context) -> Connected {
        let session = self
            .alice
            .session_manager()
            .create_session(kind, context)
            .expect("create session");
        let bob = session
            .create_participant(self.bob_uri.clone(), Context::new())
            .expect("participant");
        if kind == SessionType::AudioVideo {
            let av = bob.av().expect("av facet");
            av.add_channel(&av.create_channel(MediaType::Audio))
                .expect("add audio");
        }
        let op = session
            .add_participant(&bob, None)
            .expect("add participant");
        let mut incoming = within("incoming session at bob", self.bob_incoming.next())
            .await
            .expect("incoming");
        let alice_at_bob = incoming.inviter().clone();
        let bob_session = within("accept", incoming.accept()).await.expect("accept");
        within("invite completion", op)
            .await
            .expect("invite accepted");
        Connected {
            alice_session: session,
            bob_at_alice: bob,
            bob_session,
            alice_at_bob,
        }
    }
}

/// Both sides of an established session.
pub struct Connected {
    /// Alice's session.
    pub alice_session: Session,
    /// Bob as Alice sees him.
    pub bob_at_alice: Participant,
    /// Bob's session.
    pub bob_session: Session,
    /// Alice as Bob sees her.
    pub alice_at_bob: Participant,
}

/// Enable and disable: states, events, the echoed operation context, misuse.
pub async fn enable_disable(h: &dyn Harness) {
    let alice = h.endpoint("alice").await;
    let bob = h.endpoint("bob").await;
    let _bob_incoming = bob.session_manager().incoming().expect("incoming");
    assert_eq!(alice.state(), EndpointState::Idle);
    let mut events = alice.events();
    let op = alice
        .enable(Some(OperationContext::new(41)))
        .expect("enable");
    assert!(
        matches!(alice.enable(None), Err(Error::InvalidState { .. })),
        "enable twice must fail"
    );
    within("enable", op).await.expect("enabled");
    assert_eq!(alice.state(), EndpointState::Enabled);
    let mut seen = Vec::new();
    while let Ok(e) = events.try_recv() {
        seen.push(e);
    }
    assert!(
        matches!(
            seen[0],
            EndpointEvent::StateChanged {
                new: EndpointState::Enabling,
                ..
            }
        ),
        "{seen:?}"
    );
    assert!(
        matches!(
            seen[1],
            EndpointEvent::StateChanged {
                new: EndpointState::Enabled,
                ..
            }
        ),
        "{seen:?}"
    );
    match &seen[2] {
        EndpointEvent::Enabled(p) => {
            assert!(p.succeeded());
            assert_eq!(
                p.context.as_ref().map(|c| c.id),
                Some(41),
                "operation context echoed"
            );
        }
        other => panic!("expected Enabled, got {other:?}"),
    }
    // Bob is not enabled: inviting him fails with 480 and his endpoint stays untouched.
    let session = alice
        .session_manager()
        .create_session(SessionType::InstantMessaging, Context::new())
        .expect("session");
    let p = session
        .create_participant(h.uri("bob"), Context::new())
        .expect("participant");
    let err = within(
        "invite to a disabled endpoint",
        session.add_participant(&p, None).expect("add"),
    )
    .await
    .expect_err("the operation must fail");
    assert_eq!(
        err.status().code,
        StatusCode::TEMPORARILY_UNAVAILABLE,
        "{err}"
    );
    assert_eq!(p.state(), ParticipantState::Disconnected);
    within("disable", alice.disable(None).expect("disable"))
        .await
        .expect("disabled");
    assert_eq!(alice.state(), EndpointState::Disabled);
    assert!(matches!(
        alice.disable(None),
        Err(Error::InvalidState { .. })
    ));
    within("re-enable", alice.enable(None).expect("enable"))
        .await
        .expect("enabled again");
    assert_eq!(alice.state(), EndpointState::Enabled);
}

async fn collect_messages(events: &mut Subscription<ParticipantEvent>, n: usize) -> Vec<Bytes> {
    let mut got = Vec::with_capacity(n);
    while got.len() < n {
        let body = wait_for("a message", events, |e| match e {
            ParticipantEvent::MessageReceived { body, .. } => Some(body.clone()),
            _ => None,
        })
        .await;
        got.push(body);
    }
    got
}

/// Instant messages both ways: 1,000 each way, in order, none lost or duplicated;
/// text/plain and text/html bodies byte-exact; per-participant results.
pub async fn im_both_ways(h: &dyn Harness) {
    const N: usize = 1000;
    let mut pair = Pair::new(h).await;
    let c = pair
        .connect(SessionType::InstantMessaging, Context::new())
        .await;
    let mut at_bob = c.alice_at_bob.events();
    let mut at_alice = c.bob_at_alice.events();
    let alice_im = c.alice_session.im().expect("im");
    let bob_im = c.bob_session.im().expect("im");
    let mut ops = Vec::with_capacity(2 * N);
    for i in 0..N {
        ops.push(
            alice_im
                .send_message("text/plain; charset=UTF-8", format!("a→b {i} ✓"), None)
                .expect("send"),
        );
        ops.push(
            bob_im
                .send_message("text/plain; charset=UTF-8", format!("b→a {i} ✓"), None)
                .expect("send"),
        );
    }
    let (to_bob, to_alice) = tokio::join!(
        collect_messages(&mut at_bob, N),
        collect_messages(&mut at_alice, N)
    );
    for op in ops {
        let report = within("message result", op).await.expect("delivered");
        assert!(report.all_delivered());
        assert_eq!(report.results.len(), 1);
    }
    for i in 0..N {
        assert_eq!(
            to_bob[i],
            format!("a→b {i} ✓").as_bytes(),
            "message {i} to bob"
        );
        assert_eq!(
            to_alice[i],
            format!("b→a {i} ✓").as_bytes(),
            "message {i} to alice"
        );
    }
    let html = "<p>caf\u{e9} <b>bold</b>\r\n</p>";
    within(
        "html",
        alice_im
            .send_message("text/html", html, Some(OperationContext::new(7)))
            .expect("send"),
    )
    .await
    .expect("html delivered");
    let (ct, body) = wait_for("html message", &mut at_bob, |e| match e {
        ParticipantEvent::MessageReceived { content_type, body } => {
            Some((content_type.clone(), body.clone()))
        }
        _ => None,
    })
    .await;
    assert_eq!(&*ct, "text/html");
    assert_eq!(&body[..], html.as_bytes());
    assert!(at_bob.try_recv().is_err(), "no duplicate delivered");
}

/// Composing and idle indications.
pub async fn composing(h: &dyn Harness) {
    let mut pair = Pair::new(h).await;
    let c = pair
        .connect(SessionType::InstantMessaging, Context::new())
        .await;
    let mut at_bob = c.alice_at_bob.events();
    let im = c.alice_session.im().expect("im");
    im.start_composing().expect("composing");
    wait_for("composing", &mut at_bob, |e| {
        matches!(e, ParticipantEvent::Composing).then_some(())
    })
    .await;
    assert!(c.alice_at_bob.is_composing());
    im.stop_composing().expect("idle");
    wait_for("idle", &mut at_bob, |e| {
        matches!(e, ParticipantEvent::Idle).then_some(())
    })
    .await;
    assert!(!c.alice_at_bob.is_composing());
    // A message ends composing at the receiver.
    im.start_composing().expect("composing");
    wait_for("composing again", &mut at_bob, |e| {
        matches!(e, ParticipantEvent::Composing).then_some(())
    })
    .await;
    within(
        "message",
        im.send_message("text/plain", "done typing", None)
            .expect("send"),
    )
    .await
    .expect("sent");
    wait_for("idle before message", &mut at_bob, |e| {
        matches!(e, ParticipantEvent::Idle).then_some(())
    })
    .await;
    wait_for("message after idle", &mut at_bob, |e| {
        matches!(e, ParticipantEvent::MessageReceived { .. }).then_some(())
    })
    .await;
}

async fn negotiated(
    what: &str,
    events: &mut Subscription<MediaChannelEvent>,
    want: MediaDirection,
) {
    wait_for(what, events, |e| match e {
        MediaChannelEvent::NegotiatedMediaChanged { new, .. } if *new == want => Some(()),
        _ => None,
    })
    .await;
}

/// Audio/video: offer/answer, hold and resume, adding and removing video mid-call.
pub async fn audio_video(h: &dyn Harness) {
    let mut pair = Pair::new(h).await;
    let c = pair.connect(SessionType::AudioVideo, Context::new()).await;
    let alice_av = c.bob_at_alice.av().expect("av");
    let bob_av = c.alice_at_bob.av().expect("av");
    let a_audio = alice_av.channels().pop().expect("alice audio channel");
    let b_audio = bob_av.channels().pop().expect("bob audio channel");
    assert_eq!(b_audio.media_type(), MediaType::Audio);
    assert_eq!(a_audio.negotiated_media(), MediaDirection::BOTH);
    assert_eq!(b_audio.negotiated_media(), MediaDirection::BOTH);

    // Hold: Alice only sends; Bob then only receives.
    let mut b_audio_events = b_audio.events();
    a_audio.set_preferred_media(MediaDirection::SEND);
    within(
        "hold",
        alice_av
            .update_channels(Some(OperationContext::new(1)))
            .expect("update"),
    )
    .await
    .expect("held");
    assert_eq!(a_audio.negotiated_media(), MediaDirection::SEND);
    negotiated(
        "bob sees hold",
        &mut b_audio_events,
        MediaDirection::RECEIVE,
    )
    .await;
    // Resume.
    a_audio.set_preferred_media(MediaDirection::BOTH);
    within("resume", alice_av.update_channels(None).expect("update"))
        .await
        .expect("resumed");
    assert_eq!(a_audio.negotiated_media(), MediaDirection::BOTH);
    negotiated("bob sees resume", &mut b_audio_events, MediaDirection::BOTH).await;

    // Add video mid-call.
    let mut bob_events = c.alice_at_bob.events();
    let video = alice_av.create_channel(MediaType::Video);
    alice_av.add_channel(&video).expect("add video");
    within("add video", alice_av.update_channels(None).expect("update"))
        .await
        .expect("video added");
    assert_eq!(video.negotiated_media(), MediaDirection::BOTH);
    let b_video = wait_for("bob sees video", &mut bob_events, |e| match e {
        ParticipantEvent::ChannelAdded { channel } if channel.media_type() == MediaType::Video => {
            Some(channel.clone())
        }
        _ => None,
    })
    .await;
    assert_eq!(b_video.negotiated_media(), MediaDirection::BOTH);
    assert_eq!(bob_av.channels().len(), 2);

    // Remove it again.
    alice_av.remove_channel(&video).expect("remove video");
    within(
        "remove video",
        alice_av.update_channels(None).expect("update"),
    )
    .await
    .expect("video removed");
    wait_for("bob sees video removed", &mut bob_events, |e| match e {
        ParticipantEvent::ChannelRemoved { channel }
            if channel.media_type() == MediaType::Video =>
        {
            Some(())
        }
        _ => None,
    })
    .await;
    assert_eq!(bob_av.channels().len(), 1);
    assert_eq!(
        a_audio.negotiated_media(),
        MediaDirection::BOTH,
        "audio untouched"
    );
    within(
        "hang up",
        c.alice_session
            .terminate(Reason::NotSpecified, None)
            .expect("terminate"),
    )
    .await
    .expect("ended");
}

/// A rejected invitation: Bob is busy.
pub async fn reject_busy(h: &dyn Harness) {
    let mut pair = Pair::new(h).await;
    let session = pair
        .alice
        .session_manager()
        .create_session(SessionType::InstantMessaging, Context::new())
        .expect("session");
    let bob = session
        .create_participant(pair.bob_uri.clone(), Context::new())
        .expect("participant");
    let mut bob_events = bob.events();
    let op = session
        .add_participant(&bob, Some(OperationContext::new(9)))
        .expect("add");
    let mut incoming = within("incoming", pair.bob_incoming.next())
        .await
        .expect("incoming");
    incoming.reject(Reason::Busy).expect("reject");
    let err = within("rejection", op)
        .await
        .expect_err("the operation must fail");
    assert_eq!(err.status().code, StatusCode::BUSY_HERE, "{err}");
    let change = wait_for("disconnected", &mut bob_events, |e| match e {
        ParticipantEvent::StateChanged(
            c @ StateChange {
                new: ParticipantState::Disconnected,
                ..
            },
        ) => Some(c.clone()),
        _ => None,
    })
    .await;
    assert_eq!(change.reason, StateChangeReason::Failed);
    assert_eq!(change.status.map(|s| s.code), Some(StatusCode::BUSY_HERE));
    assert!(
        matches!(incoming.accept().await, Err(Error::InvalidState { .. })),
        "accept after reject"
    );
}

/// Progress before the answer: ringing is seen before completion.
pub async fn progress(h: &dyn Harness) {
    let mut pair = Pair::new(h).await;
    let session = pair
        .alice
        .session_manager()
        .create_session(SessionType::InstantMessaging, Context::new())
        .expect("session");
    let mut session_events = session.events();
    let bob = session
        .create_participant(pair.bob_uri.clone(), Context::new())
        .expect("participant");
    let mut bob_events = bob.events();
    let op = session
        .add_participant(&bob, Some(OperationContext::new(5)))
        .expect("add");
    let mut incoming = within("incoming", pair.bob_incoming.next())
        .await
        .expect("incoming");
    within("ringing", incoming.ringing())
        .await
        .expect("ringing sent");
    wait_for("ringing at alice", &mut bob_events, |e| match e {
        ParticipantEvent::StateChanged(StateChange {
            new: ParticipantState::Connecting,
            reason: StateChangeReason::Ringing,
            ..
        }) => Some(()),
        _ => None,
    })
    .await;
    let p = wait_for("progress event", &mut session_events, |e| match e {
        SessionEvent::Operation(p) if p.kind == OperationKind::AddParticipant => Some(p.clone()),
        _ => None,
    })
    .await;
    assert!(!p.is_complete);
    assert_eq!(p.status.code, StatusCode::RINGING);
    assert_eq!(p.context.map(|c| c.id), Some(5));
    within("accept", incoming.accept()).await.expect("accepted");
    within("completion", op).await.expect("connected");
    let done = wait_for("completion event", &mut session_events, |e| match e {
        SessionEvent::Operation(p) if p.is_complete => Some(p.clone()),
        _ => None,
    })
    .await;
    assert!(done.succeeded());
    assert_eq!(bob.state(), ParticipantState::Connected);
}

/// Cancel before answer: cancelled status at both sides; accept afterwards fails.
pub async fn cancel_before_answer(h: &dyn Harness) {
    let mut pair = Pair::new(h).await;
    let session = pair
        .alice
        .session_manager()
        .create_session(SessionType::InstantMessaging, Context::new())
        .expect("session");
    let bob = session
        .create_participant(pair.bob_uri.clone(), Context::new())
        .expect("participant");
    let op = session.add_participant(&bob, None).expect("add");
    let mut incoming: IncomingSession = within("incoming", pair.bob_incoming.next())
        .await
        .expect("incoming");
    let mut inviter_events = incoming.inviter().events();
    let mut bob_session_events = incoming.session().events();
    op.cancel();
    let err = within("cancelled invite", op)
        .await
        .expect_err("the operation must fail");
    assert!(matches!(err, Error::Cancelled(_)), "{err}");
    assert_eq!(err.status().code, StatusCode::REQUEST_TERMINATED);
    let change = wait_for("cancel at bob", &mut inviter_events, |e| match e {
        ParticipantEvent::StateChanged(
            c @ StateChange {
                new: ParticipantState::Disconnected,
                ..
            },
        ) => Some(c.clone()),
        _ => None,
    })
    .await;
    assert_eq!(
        change.status.map(|s| s.code),
        Some(StatusCode::REQUEST_TERMINATED)
    );
    assert!(
        matches!(incoming.accept().await, Err(Error::InvalidState { .. })),
        "accept after cancel"
    );
    wait_for("bob's session ends", &mut bob_session_events, |e| {
        matches!(e, SessionEvent::Terminated { .. }).then_some(())
    })
    .await;
    assert!(incoming.session().is_terminated());
    assert_eq!(bob.state(), ParticipantState::Disconnected);
}

/// The remote side hangs up.
pub async fn remote_terminate(h: &dyn Harness) {
    let mut pair = Pair::new(h).await;
    let c = pair.connect(SessionType::AudioVideo, Context::new()).await;
    let mut alice_events = c.alice_session.events();
    let mut bob_events = c.bob_at_alice.events();
    within(
        "bob hangs up",
        c.bob_session
            .terminate(Reason::NotSpecified, None)
            .expect("terminate"),
    )
    .await
    .expect("ended");
    let change = wait_for("remote hang-up", &mut bob_events, |e| match e {
        ParticipantEvent::StateChanged(
            c @ StateChange {
                new: ParticipantState::Disconnected,
                ..
            },
        ) => Some(c.clone()),
        _ => None,
    })
    .await;
    assert_eq!(change.reason, StateChangeReason::RemoteHangup);
    wait_for("alice's session ends", &mut alice_events, |e| {
        matches!(e, SessionEvent::Terminated { .. }).then_some(())
    })
    .await;
    assert!(c.alice_session.is_terminated());
    assert!(c.bob_session.is_terminated());
}

/// The conversation id set by the caller arrives in the callee's context; one is
/// generated when the caller sets none.
pub async fn conversation_id(h: &dyn Harness) {
    let mut pair = Pair::new(h).await;
    let id = "5f0c8d2a-conversation-✓";
    let ctx = Context::new()
        .with(ids::CONVERSATION_ID, id)
        .expect("context");
    let c = pair.connect(SessionType::InstantMessaging, ctx).await;
    assert_eq!(
        c.bob_session
            .context()
            .text(ids::CONVERSATION_ID)
            .expect("id at bob"),
        id
    );
    let c2 = pair.connect(SessionType::AudioVideo, Context::new()).await;
    let generated = c2
        .alice_session
        .conversation_id()
        .expect("generated id")
        .to_owned();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");
    assert_eq!(c2.bob_session.conversation_id(), Some(generated.as_str()));
}

/// Many sessions at once between the same two endpoints.
pub async fn concurrent_sessions(h: &dyn Harness, count: usize) {
    let mut pair = Pair::new(h).await;
    let mut invites = Vec::with_capacity(count);
    let mut sessions = Vec::with_capacity(count);
    for _ in 0..count {
        let s = pair
            .alice
            .session_manager()
            .create_session(SessionType::InstantMessaging, Context::new())
            .expect("session");
        let p = s
            .create_participant(pair.bob_uri.clone(), Context::new())
            .expect("participant");
        invites.push(s.add_participant(&p, None).expect("add"));
        sessions.push(s);
    }
    let mut accepted = Vec::with_capacity(count);
    for _ in 0..count {
        let mut incoming = within("incoming", pair.bob_incoming.next())
            .await
            .expect("incoming");
        accepted.push((
            incoming.inviter().events(),
            within("accept", incoming.accept()).await.expect("accept"),
        ));
    }
    for op in invites {
        within("invite", op).await.expect("connected");
    }
    let mut ops = Vec::with_capacity(count);
    for (i, s) in sessions.iter().enumerate() {
        ops.push(
            s.im()
                .expect("im")
                .send_message("text/plain", format!("session {i}"), None)
                .expect("send"),
        );
    }
    for op in ops {
        within("message", op).await.expect("delivered");
    }
    let mut bodies: Vec<String> = Vec::with_capacity(count);
    for (events, _) in &mut accepted {
        let body = wait_for("message", events, |e| match e {
            ParticipantEvent::MessageReceived { body, .. } => {
                Some(String::from_utf8_lossy(body).into_owned())
            }
            _ => None,
        })
        .await;
        bodies.push(body);
    }
    bodies.sort();
    let mut expected: Vec<String> = (0..count).map(|i| format!("session {i}")).collect();
    expected.sort();
    assert_eq!(bodies, expected, "each session got its own message once");
    for s in &sessions {
        within(
            "terminate",
            s.terminate(Reason::NotSpecified, None).expect("terminate"),
        )
        .await
        .expect("ended");
    }
    for (_, s) in &accepted {
        let mut events = s.events();
        if !s.is_terminated() {
            wait_for("bob's session ends", &mut events, |e| {
                matches!(e, SessionEvent::Terminated { .. }).then_some(())
            })
            .await;
        }
    }
}

/// API misuse returns typed errors, never panics.
pub async fn misuse(h: &dyn Harness) {
    let mut pair = Pair::new(h).await;
    let c = pair
        .connect(SessionType::InstantMessaging, Context::new())
        .await;
    assert!(
        matches!(
            c.alice_session.add_participant(&c.bob_at_alice, None),
            Err(Error::InvalidState { .. })
        ),
        "invite twice"
    );
    assert!(matches!(
        c.bob_at_alice.av(),
        Err(Error::WrongSessionType { .. })
    ));
    let local = c.alice_session.local_participant();
    assert!(matches!(
        c.alice_session.add_participant(&local, None),
        Err(Error::Foreign(_))
    ));
    assert!(
        matches!(
            c.bob_session.add_participant(&c.bob_at_alice, None),
            Err(Error::Foreign(_))
        ),
        "participant of another session"
    );
    within(
        "terminate",
        c.alice_session
            .terminate(Reason::NotSpecified, None)
            .expect("terminate"),
    )
    .await
    .expect("ended");
    let im = c.alice_session.im().expect("im facet still exists");
    assert!(
        matches!(
            im.send_message("text/plain", "late", None),
            Err(Error::InvalidState { .. })
        ),
        "send on terminated"
    );
    assert!(
        matches!(
            c.alice_session.terminate(Reason::NotSpecified, None),
            Err(Error::InvalidState { .. })
        ),
        "terminate twice"
    );
    assert!(matches!(
        c.alice_session
            .create_participant(pair.bob_uri.clone(), Context::new()),
        Err(Error::InvalidState { .. })
    ));

    // Accept twice.
    let s = pair
        .alice
        .session_manager()
        .create_session(SessionType::InstantMessaging, Context::new())
        .expect("session");
    let p = s
        .create_participant(pair.bob_uri.clone(), Context::new())
        .expect("participant");
    let op = s.add_participant(&p, None).expect("add");
    let mut incoming = within("incoming", pair.bob_incoming.next())
        .await
        .expect("incoming");
    within("accept", incoming.accept())
        .await
        .expect("first accept");
    assert!(
        matches!(incoming.accept().await, Err(Error::InvalidState { .. })),
        "accept twice"
    );
    assert!(
        matches!(
            incoming.reject(Reason::Busy),
            Err(Error::InvalidState { .. })
        ),
        "reject after accept"
    );
    within("invite", op).await.expect("connected");

    // Dropping an incoming session unanswered rejects it with 480.
    let s = pair
        .alice
        .session_manager()
        .create_session(SessionType::InstantMessaging, Context::new())
        .expect("session");
    let p = s
        .create_participant(pair.bob_uri.clone(), Context::new())
        .expect("participant");
    let op = s.add_participant(&p, None).expect("add");
    drop(
        within("incoming", pair.bob_incoming.next())
            .await
            .expect("incoming"),
    );
    let err = within("dropped invitation", op)
        .await
        .expect_err("the operation must fail");
    assert_eq!(err.status().code, StatusCode::TEMPORARILY_UNAVAILABLE);
    assert!(matches!(
        pair.bob.session_manager().incoming(),
        Err(Error::AlreadyTaken(_))
    ));
}

/// Media requests: an offer that adds video is the application's to accept or reject;
/// a video line declined before accepting an incoming call is rejected in the answer;
/// each side knows the other's device.
pub async fn media_requests(h: &dyn Harness) {
    let mut pair = Pair::new(h).await;
    let c = pair.connect(SessionType::AudioVideo, Context::new()).await;
    assert_eq!(
        c.bob_at_alice.endpoints().len(),
        1,
        "the answering device is known"
    );
    assert_eq!(
        c.alice_at_bob.endpoints().len(),
        1,
        "the inviting device is known"
    );
    let alice_av = c.bob_at_alice.av().expect("av");
    let bob_av = c.alice_at_bob.av().expect("av");
    let mut requests = bob_av.media_requests().expect("media requests");
    assert!(matches!(
        bob_av.media_requests(),
        Err(Error::AlreadyTaken(_))
    ));

    // Bob rejects video: Alice's update fails with 488 and the call stays audio-only.
    let video = alice_av.create_channel(MediaType::Video);
    alice_av.add_channel(&video).expect("add video");
    let op = alice_av.update_channels(None).expect("update");
    let request = within("media request", requests.next())
        .await
        .expect("request");
    assert_eq!(request.added_channels().len(), 1);
    assert_eq!(request.added_channels()[0].media_type(), MediaType::Video);
    request.reject();
    let err = within("rejected update", op)
        .await
        .expect_err("the update must fail");
    assert_eq!(err.status().code, StatusCode::NOT_ACCEPTABLE_HERE, "{err}");
    assert_eq!(
        bob_av.channels().len(),
        1,
        "bob's call is back to audio only"
    );

    // Alice asks again; Bob accepts, receiving video only.
    let op = alice_av.update_channels(None).expect("update again");
    let request = within("media request again", requests.next())
        .await
        .expect("request");
    request.added_channels()[0].set_preferred_media(MediaDirection::RECEIVE);
    within("accept request", request.accept())
        .await
        .expect("accepted");
    within("update", op).await.expect("video negotiated");
    assert_eq!(
        video.negotiated_media(),
        MediaDirection::SEND,
        "alice only sends video"
    );

    // An incoming call with audio and video, video declined before accepting.
    let session = pair
        .alice
        .session_manager()
        .create_session(SessionType::AudioVideo, Context::new())
        .expect("session");
    let bob = session
        .create_participant(pair.bob_uri.clone(), Context::new())
        .expect("participant");
    let av = bob.av().expect("av");
    let audio = av.create_channel(MediaType::Audio);
    let video = av.create_channel(MediaType::Video);
    av.add_channel(&audio).expect("audio");
    av.add_channel(&video).expect("video");
    let op = session.add_participant(&bob, None).expect("add");
    let mut incoming = within("incoming", pair.bob_incoming.next())
        .await
        .expect("incoming");
    let offered = incoming.inviter().av().expect("av").channels();
    assert_eq!(offered.len(), 2);
    let offered_video = offered
        .iter()
        .find(|c| c.media_type() == MediaType::Video)
        .expect("video offered");
    incoming
        .inviter()
        .av()
        .expect("av")
        .remove_channel(offered_video)
        .expect("decline video");
    within("accept", incoming.accept()).await.expect("accepted");
    within("invite", op).await.expect("connected");
    assert_eq!(audio.negotiated_media(), MediaDirection::BOTH);
    assert_eq!(
        video.negotiated_media(),
        MediaDirection::NONE,
        "declined video line"
    );
}

/// Expands to one `#[tokio::test]` per conformance scenario, in a module named `$name`,
/// for the harness built by `$harness` (an expression evaluated in each test).
#[macro_export]
macro_rules! conformance_suite {
    ($name:ident, $harness:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use $crate::testkit;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn enable_disable() {
                testkit::enable_disable(&$harness).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn im_both_ways_1000_in_order() {
                testkit::im_both_ways(&$harness).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn composing_and_idle() {
                testkit::composing(&$harness).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn audio_video_hold_resume_video() {
                testkit::audio_video(&$harness).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn reject_busy() {
                testkit::reject_busy(&$harness).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn progress_before_answer() {
                testkit::progress(&$harness).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn cancel_before_answer() {
                testkit::cancel_before_answer(&$harness).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn remote_terminate() {
                testkit::remote_terminate(&$harness).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn conversation_id() {
                testkit::conversation_id(&$harness).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_sessions_1000() {
                testkit::concurrent_sessions(&$harness, 1000).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn media_requests_and_devices() {
                testkit::media_requests(&$harness).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn api_misuse() {
                testkit::misuse(&$harness).await;
            }
        }
    };
}
