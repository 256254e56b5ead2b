//! Digest authentication against SIPp: as a registrar it challenges REGISTER (401, MD5,
//! qop=auth) and verifies our answer with SIPp's own `verifyauth` — a right password
//! registers and unregisters, a wrong one fails `enable()` with the registrar's 403; as
//! a callee it challenges the INVITE, and the call goes through once we answer.
#![allow(clippy::unwrap_used)]

#[path = "common/peer_setup.rs"]
mod peer_setup;
use peer_setup::{free_port, require_sipp};
use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use session_core::endpoint::Credential;
use session_core::{EndpointConfig, Platform, StatusCode, Uri};
use transport_sip::ua::{SipConfig, SipTransport};

fn scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/ua_register")
        .join(name)
}

/// Starts SIPp as the registrar on `port`; it exits after one registration dialog.
fn registrar(port: u16) -> Child {
    sipp_uas("registrar.xml", port)
}

/// Starts SIPp with UAS scenario `name` on `port`, for one call.
fn sipp_uas(name: &str, port: u16) -> Child {
    require_sipp();
    Command::new("sipp")
        .arg("-sf")
        .arg(scenario(name))
        .args(["-i", "127.0.0.1", "-p", &port.to_string()])
        .args(["-m", "1", "-timeout", "20s", "-timeout_error", "-nostdin"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for SIPp (bounded) and returns its exit code and output.
fn finish(mut child: Child) -> (Option<i32>, String) {
    let deadline = Instant::now() + Duration::from_secs(25);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().ok();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Waits until SIPp listens on `port` (our bind of it then fails).
fn wait_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while UdpSocket::bind(("127.0.0.1", port)).is_ok() {
        assert!(Instant::now() < deadline, "sipp never listened on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn endpoint(registrar_port: u16, password: &str) -> (session_core::Endpoint, Platform) {
    let registrar =
        transport_sip::Uri::parse(format!("sip:127.0.0.1:{registrar_port}").as_bytes()).unwrap();
    let sip = SipTransport::bind(
        SipConfig::udp("127.0.0.1:0".parse().unwrap()).with_registrar(registrar),
    )
    .await
    .unwrap();
    let uri = Uri::parse("sip:alice@ucc.test").unwrap();
    let platform = Platform::builder().transport(sip).build();
    let endpoint = platform
        .create_endpoint(
            EndpointConfig::new(uri).credential("ucc.test", Credential::new("alice", password)),
        )
        .unwrap();
    (endpoint, platform)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_with_digest_and_unregisters() {
    let port = free_port();
    let sipp = registrar(port);
    wait_listening(port);
    let (alice, _platform) = endpoint(port, "s3cret").await;
    let enabled = tokio::time::timeout(Duration::from_secs(10), alice.enable(None).unwrap()).await;
    let disabled = match &enabled {
        Ok(Ok(())) => {
            Some(tokio::time::timeout(Duration::from_secs(10), alice.disable(None).unwrap()).await)
        }
        _ => None,
    };
    let (code, output) = finish(sipp);
    assert!(
        matches!(enabled, Ok(Ok(()))),
        "enable: {enabled:?}\n{output}"
    );
    assert!(
        matches!(disabled, Some(Ok(Ok(())))),
        "disable: {disabled:?}\n{output}"
    );
    assert_eq!(code, Some(0), "sipp failed:\n{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_fails_enable_with_the_registrars_status() {
    let port = free_port();
    let sipp = registrar(port);
    wait_listening(port);
    let (alice, _platform) = endpoint(port, "wrong").await;
    let enabled = tokio::time::timeout(Duration::from_secs(10), alice.enable(None).unwrap())
        .await
        .expect("enable finishes");
    let (_code, output) = finish(sipp);
    let err = enabled.expect_err("a wrong password must not register");
    assert_eq!(err.status().code, StatusCode::FORBIDDEN, "{err}\n{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_answers_a_digest_challenge() {
    challenged_call("challenged_call.xml").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bye_answers_a_digest_challenge() {
    challenged_call("challenged_bye.xml").await;
}

/// Alice (with credentials for realm ucc.test) calls SIPp running `scenario`, then hangs
/// up; SIPp must see the whole exchange, challenges answered, and exit 0.
async fn challenged_call(scenario: &str) {
    use session_core::events::SessionEvent;
    use session_core::{Context, MediaType, Reason, SessionType};

    let port = free_port();
    let sipp = sipp_uas(scenario, port);
    wait_listening(port);
    let sip = SipTransport::bind(SipConfig::udp("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    let platform = Platform::builder().transport(sip).build();
    let alice = platform
        .create_endpoint(
            EndpointConfig::new(Uri::parse("sip:alice@ucc.test").unwrap())
                .credential("ucc.test", Credential::new("alice", "s3cret")),
        )
        .unwrap();
    alice.enable(None).unwrap().await.unwrap();
    let session = alice
        .session_manager()
        .create_session(SessionType::AudioVideo, Context::new())
        .unwrap();
    let bob = session
        .create_participant(
            Uri::parse(&format!("sip:bob@127.0.0.1:{port}")).unwrap(),
            Context::new(),
        )
        .unwrap();
    let av = bob.av().unwrap();
    av.add_channel(&av.create_channel(MediaType::Audio))
        .unwrap();
    let mut events = session.events();
    let call = tokio::time::timeout(
        Duration::from_secs(10),
        session.add_participant(&bob, None).unwrap(),
    )
    .await;
    let hangup = match &call {
        Ok(Ok(())) => Some(
            tokio::time::timeout(
                Duration::from_secs(10),
                session.terminate(Reason::NotSpecified, None).unwrap(),
            )
            .await,
        ),
        _ => None,
    };
    let (code, output) = finish(sipp);
    assert!(matches!(call, Ok(Ok(()))), "call: {call:?}\n{output}");
    assert!(
        matches!(hangup, Some(Ok(Ok(())))),
        "hang-up: {hangup:?}\n{output}"
    );
    let ended = std::iter::from_fn(|| events.try_recv().ok())
        .any(|e| matches!(e, SessionEvent::Terminated { .. }));
    assert!(ended, "the session ended");
    assert_eq!(code, Some(0), "sipp failed:\n{output}");
}
