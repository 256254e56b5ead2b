//! Interop of the SIP user agent (`transport_sip::ua`, driven through session-core) with
//! baresip (Debian package `baresip`), a real softphone, on 127.0.0.1 over UDP and TCP
//! (baresip's `/message` over UDP only, see [`baresip_messages_ua_over_udp`]).
//!
//! Each test runs its own baresip with a generated configuration directory (`-f`, from
//! the templates in `tests/ua_baresip/`): SIP on 127.0.0.1 and a free port, no
//! registration (peer-to-peer `sip:` URIs), auto-answer, no sound card (the `aubridge`
//! module is its audio player and source), commands written to its stdin (`stdio` and
//! `menu` modules) and its events read from its stdout.
//!
//! - **We call baresip**: it auto-answers; our side sees the participant connected with
//!   audio negotiated both ways, holds and resumes the call (re-INVITEs: send-only, then
//!   both ways again, as baresip answers), then hangs up; baresip reports the call closed.
//! - **baresip calls us** (`/dial`): our application accepts the incoming A/V session;
//!   baresip reports the call established, holds and resumes it (`/hold`, `/resume`:
//!   re-INVITEs sendonly / sendrecv; our audio channel goes receive-only and back),
//!   probes us with OPTIONS (`/options`: 200), hangs up (`/hangup`), and our side sees
//!   the session terminated by the peer.
//! - **baresip sends a MESSAGE** (`/message` to its current contact, our endpoint): it
//!   opens an incoming IM session our application accepts; the body arrives byte-exact
//!   and baresip gets the 200 (its SIP trace, `-s`); our reply in the same session
//!   reaches baresip, which prints it.
//! - **We send a MESSAGE**: baresip declines our session-mode IM invitation (488, "no
//!   common audio codecs"), the session falls back to pager mode and the message is
//!   delivered (200); baresip prints it.
//!
//! Every test ends by asking baresip to `/quit` and requires exit code 0.
//!
//! A missing `baresip` fails the test with a message saying how to install it. Every
//! baresip run has `-t` (it quits by itself), is killed through its own child handle if
//! it outlives [`KILL_AFTER`], and its output is in every failure message.

#[path = "common/peer_setup.rs"]
mod peer_setup;
use peer_setup::{Ua, free_port, start_ua, uri_transport};
#[path = "ua_sipp/process.rs"]
mod process;

use std::path::{Path, PathBuf};
use std::time::Duration;

use session_core::events::{MediaChannelEvent, ParticipantEvent, SessionEvent};
use session_core::{
    Context, MediaDirection, MediaType, ParticipantState, Reason, SessionType, StatusCode, Uri,
};
use tokio::time::timeout;
use transport_sip::transport::TransportKind;

use process::{PeerProcess, tail};

/// baresip's own bound on a run (`-t`, seconds).
const BARESIP_LIFETIME: &str = "25";
/// When we kill a baresip that has not exited.
const KILL_AFTER: Duration = Duration::from_secs(28);
/// Bound on any one step.
const STEP: Duration = Duration::from_secs(10);

/// A running baresip.
struct Baresip {
    process: PeerProcess,
    dir: PathBuf,
    port: u16,
    kind: TransportKind,
}

impl Baresip {
    /// Writes a configuration directory for a baresip on a free port whose only contact
    /// (its current one) is `ua`, starts it and waits until it is ready.
    async fn start(name: &str, ua: &Ua) -> Baresip {
        let kind = ua.kind;
        let port = free_port();
        let dir = std::env::temp_dir().join(format!(
            "ucc-ua-baresip-{}-{name}-{kind}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ua_baresip");
        for file in ["config", "accounts", "contacts"] {
            let text = std::fs::read_to_string(templates.join(file)).expect("template");
            let text = text
                .replace("{{SIP_PORT}}", &port.to_string())
                .replace("{{TRANSPORT}}", uri_transport(kind))
                .replace("{{UCC_URI}}", &ua.uri());
            std::fs::write(dir.join(file), text).expect("write config");
        }
        // The contact `/message` goes to (no trailing newline: baresip compares it whole).
        std::fs::write(dir.join("current_contact"), ua.uri()).expect("write current contact");
        let args: Vec<String> = vec![
            "-4".into(),
            // SIP trace on stdout: for failure messages, and to see responses arrive.
            "-s".into(),
            "-f".into(),
            dir.display().to_string(),
            "-t".into(),
            BARESIP_LIFETIME.into(),
        ];
        let process = match PeerProcess::spawn("baresip", &args, &dir, KILL_AFTER) {
            Ok(p) => p,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "`baresip` is not on PATH: install the Debian package `baresip` \
                 (scripts/test installs it); the baresip interop tests cannot run without it"
            ),
            Err(e) => panic!("could not start baresip: {e}"),
        };
        let mut b = Baresip {
            process,
            dir,
            port,
            kind,
        };
        let ready = b.wait_for(|l| l.contains("baresip is ready")).await;
        assert!(ready.is_some(), "baresip did not start:\n{}", b.report());
        b
    }

    fn uri(&self) -> String {
        format!(
            "sip:bob@127.0.0.1:{}{}",
            self.port,
            uri_transport(self.kind)
        )
    }

    /// Sends one command line to baresip's stdin UI.
    fn command(&mut self, line: &str) {
        self.process.send(&format!("{line}\n"));
    }

    /// Waits (bounded) for an output line that `pick` accepts; earlier lines are skipped.
    async fn wait_for(&mut self, mut pick: impl FnMut(&str) -> bool) -> Option<String> {
        self.process
            .wait_line(STEP, |l| pick(l).then(|| l.to_owned()))
            .await
    }

    /// Waits for the SIP trace of a final `status` response to a `method` request
    /// (sent or received by baresip).
    async fn wait_response(&mut self, status: u16, method: &str) -> bool {
        let start = format!("SIP/2.0 {status} ");
        let mut in_response = false;
        self.wait_for(|l| {
            if l.starts_with("SIP/2.0 ") {
                in_response = l.starts_with(&start);
            } else if l.ends_with(" SIP/2.0") {
                in_response = false;
            } else if in_response && l.starts_with("CSeq:") {
                return l.trim_end().ends_with(method);
            }
            false
        })
        .await
        .is_some()
    }

    fn report(&self) -> String {
        format!(
            "--- baresip output ({}) ---\n{}",
            self.dir.display(),
            tail(&self.process.output(), 8000)
        )
    }

    /// Asks baresip to quit and requires a clean exit (code 0).
    async fn quit(mut self) {
        self.command("/quit");
        let finished = self.process.finish().await;
        assert!(
            finished.code == Some(0) && !finished.killed,
            "baresip exit {:?}{}\n{}",
            finished.code,
            if finished.killed { " (killed)" } else { "" },
            tail(&finished.output, 8000)
        );
        if std::env::var_os("UCC_KEEP_BARESIP").is_some() {
            // To read the SIP trace of a passing run.
            let _ = std::fs::write(self.dir.join("output.txt"), &finished.output);
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// We call baresip; it auto-answers; we hang up.
async fn ua_calls_baresip(kind: TransportKind) {
    let ua = start_ua(kind).await;
    let mut bs = Baresip::start("callee", &ua).await;
    let session = ua
        .endpoint
        .session_manager()
        .create_session(SessionType::AudioVideo, Context::new())
        .expect("session");
    let callee = session
        .create_participant(Uri::parse(&bs.uri()).expect("uri"), Context::new())
        .expect("participant");
    let av = callee.av().expect("av");
    let audio = av.create_channel(MediaType::Audio);
    av.add_channel(&audio).expect("audio");
    let op = session.add_participant(&callee, None).expect("invite");
    let answered = timeout(STEP, op).await;
    let report = bs.report();
    answered
        .unwrap_or_else(|_| panic!("baresip did not answer\n{report}"))
        .unwrap_or_else(|e| panic!("the call failed: {e}\n{report}"));
    assert_eq!(callee.state(), ParticipantState::Connected, "{report}");
    assert_eq!(audio.negotiated_media(), MediaDirection::BOTH, "{report}");
    let established = bs.wait_for(|l| l.contains("Call established")).await;
    assert!(established.is_some(), "{}", bs.report());
    // We hold (re-INVITE sendonly: baresip answers recvonly) and resume.
    for want in [MediaDirection::SEND, MediaDirection::BOTH] {
        audio.set_preferred_media(want);
        let updated = timeout(STEP, av.update_channels(None).expect("update")).await;
        let report = bs.report();
        updated
            .unwrap_or_else(|_| panic!("re-INVITE ({want:?}) got no answer\n{report}"))
            .unwrap_or_else(|e| panic!("re-INVITE ({want:?}) failed: {e}\n{report}"));
        assert_eq!(audio.negotiated_media(), want, "{report}");
    }
    timeout(
        STEP,
        session
            .terminate(Reason::NotSpecified, None)
            .expect("hang up"),
    )
    .await
    .expect("BYE timed out")
    .expect("hung up");
    // baresip reports a peer's BYE as "session closed: Connection reset by peer".
    let closed = bs.wait_for(|l| l.contains("session closed")).await;
    assert!(closed.is_some(), "baresip saw no hang-up\n{}", bs.report());
    assert!(session.is_terminated());
    bs.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ua_calls_baresip_over_udp() {
    ua_calls_baresip(TransportKind::Udp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ua_calls_baresip_over_tcp() {
    ua_calls_baresip(TransportKind::Tcp).await;
}

/// baresip calls us; our application accepts; baresip hangs up.
async fn baresip_calls_ua(kind: TransportKind) {
    let ua = start_ua(kind).await;
    let mut incoming = ua.endpoint.session_manager().incoming().expect("incoming");
    let mut bs = Baresip::start("caller", &ua).await;
    bs.command(&format!("/dial {}", ua.uri()));
    let offer = timeout(STEP, incoming.next()).await;
    let report = bs.report();
    let mut offer = offer
        .unwrap_or_else(|_| panic!("no incoming session from baresip\n{report}"))
        .expect("incoming stream open");
    assert_eq!(offer.session_type(), SessionType::AudioVideo, "{report}");
    let offered = offer.inviter().av().expect("av").channels();
    assert_eq!(offered.len(), 1, "{report}");
    assert_eq!(offered[0].media_type(), MediaType::Audio);
    let mut events = offer.session().events();
    let mut media = offered[0].events();
    let session = timeout(STEP, offer.accept())
        .await
        .expect("accept timed out")
        .unwrap_or_else(|e| panic!("accept failed: {e}\n{report}"));
    let established = bs.wait_for(|l| l.contains("Call established")).await;
    assert!(established.is_some(), "{}", bs.report());
    // Hold and resume from baresip (re-INVITEs): our audio channel follows.
    for (command, want) in [
        ("/hold", MediaDirection::RECEIVE),
        ("/resume", MediaDirection::BOTH),
    ] {
        bs.command(command);
        let seen = timeout(STEP, async {
            loop {
                match media.recv().await {
                    Ok(MediaChannelEvent::NegotiatedMediaChanged { new, .. }) if new == want => {
                        return true;
                    }
                    Ok(_) => {}
                    Err(_) => return false,
                }
            }
        })
        .await;
        assert!(
            matches!(seen, Ok(true)),
            "{command}: our audio never became {want:?}\n{}",
            bs.report()
        );
        // …and baresip got our answer before the next command.
        assert!(
            bs.wait_response(200, "INVITE").await,
            "{command}: baresip got no 200 to its re-INVITE\n{}",
            bs.report()
        );
    }
    // baresip probes us with OPTIONS.
    bs.command(&format!("/options {}", ua.uri()));
    assert!(
        bs.wait_response(200, "OPTIONS").await,
        "no 200 to baresip's OPTIONS\n{}",
        bs.report()
    );
    bs.command("/hangup");
    let ended = timeout(STEP, async {
        loop {
            match events.recv().await {
                Ok(SessionEvent::Terminated { status }) => return Some(status),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    })
    .await;
    let report = bs.report();
    let status = ended
        .unwrap_or_else(|_| panic!("baresip's hang-up never ended our session\n{report}"))
        .expect("session events");
    assert_eq!(status.code, StatusCode::OK, "{report}");
    assert!(session.is_terminated());
    assert!(
        bs.wait_response(200, "BYE").await,
        "baresip got no 200 to its BYE\n{}",
        bs.report()
    );
    drop(offer);
    bs.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baresip_calls_ua_over_udp() {
    baresip_calls_ua(TransportKind::Udp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baresip_calls_ua_over_tcp() {
    baresip_calls_ua(TransportKind::Tcp).await;
}

/// baresip sends a MESSAGE (pager mode); our application accepts the IM session it
/// opens and replies in it.
async fn baresip_messages_ua(kind: TransportKind) {
    let ua = start_ua(kind).await;
    let mut incoming = ua.endpoint.session_manager().incoming().expect("incoming");
    let mut bs = Baresip::start("pager", &ua).await;
    let text = "hello from baresip, caf\u{e9} \u{2713}";
    bs.command(&format!("/message {text}"));
    let offer = timeout(STEP, incoming.next()).await;
    let report = bs.report();
    let mut offer = offer
        .unwrap_or_else(|_| panic!("no incoming IM session from baresip\n{report}"))
        .expect("incoming stream open");
    assert_eq!(offer.session_type(), SessionType::InstantMessaging);
    let mut events = offer.inviter().events();
    let session = timeout(STEP, offer.accept())
        .await
        .expect("accept timed out")
        .expect("accept");
    let got = timeout(STEP, async {
        loop {
            match events.recv().await {
                Ok(ParticipantEvent::MessageReceived { content_type, body }) => {
                    return Some((content_type, body));
                }
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    })
    .await;
    let report = bs.report();
    let (content_type, body) = got
        .unwrap_or_else(|_| panic!("no message\n{report}"))
        .expect("events");
    assert_eq!(&body[..], text.as_bytes(), "{report}");
    assert!(
        content_type.to_ascii_lowercase().starts_with("text/plain"),
        "{content_type}"
    );
    assert!(
        bs.wait_response(200, "MESSAGE").await,
        "baresip got no 200 to its MESSAGE\n{}",
        bs.report()
    );
    // A reply in the same session goes back to baresip as a pager-mode MESSAGE.
    let reply = "got it \u{2713}";
    let sent = timeout(
        STEP,
        session
            .im()
            .expect("im")
            .send_message("text/plain", reply, None)
            .expect("send"),
    )
    .await;
    let report = bs.report();
    let sent = sent
        .unwrap_or_else(|_| panic!("the reply got no answer\n{report}"))
        .unwrap_or_else(|e| panic!("the reply failed: {e}\n{report}"));
    assert!(sent.all_delivered(), "{sent:?}\n{report}");
    let printed = bs.wait_for(|l| l.contains(reply)).await;
    assert!(
        printed.is_some(),
        "baresip did not print it\n{}",
        bs.report()
    );
    drop((offer, session));
    bs.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baresip_messages_ua_over_udp() {
    baresip_messages_ua(TransportKind::Udp).await;
}

// No TCP variant: baresip 1.0's contact module drops the URI parameters of the
// current contact (it logs "contact from disk not found (sip:alice@…)" without the
// `;transport=tcp`) and sends `/message` over UDP, which a TCP-only stack never hears.

/// We message baresip: our IM invitation falls back to pager mode.
async fn ua_messages_baresip(kind: TransportKind) {
    let ua = start_ua(kind).await;
    let mut bs = Baresip::start("receiver", &ua).await;
    let session = ua
        .endpoint
        .session_manager()
        .create_session(SessionType::InstantMessaging, Context::new())
        .expect("session");
    let bob = session
        .create_participant(Uri::parse(&bs.uri()).expect("uri"), Context::new())
        .expect("participant");
    let invited = timeout(STEP, session.add_participant(&bob, None).expect("invite")).await;
    let report = bs.report();
    invited
        .unwrap_or_else(|_| panic!("the IM invitation got no answer\n{report}"))
        .unwrap_or_else(|e| panic!("the IM invitation failed: {e}\n{report}"));
    assert!(
        bs.wait_response(488, "INVITE").await,
        "baresip was expected to decline session-mode IM\n{}",
        bs.report()
    );
    let text = "hello baresip, from ucc-rs \u{2713}";
    let sent = timeout(
        STEP,
        session
            .im()
            .expect("im")
            .send_message("text/plain", text, None)
            .expect("send"),
    )
    .await;
    let report = bs.report();
    let sent = sent
        .unwrap_or_else(|_| panic!("the MESSAGE got no answer\n{report}"))
        .unwrap_or_else(|e| panic!("the MESSAGE failed: {e}\n{report}"));
    assert!(sent.all_delivered(), "{sent:?}\n{report}");
    let printed = bs.wait_for(|l| l.contains(text)).await;
    assert!(
        printed.is_some(),
        "baresip did not print it\n{}",
        bs.report()
    );
    drop(session);
    bs.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ua_messages_baresip_over_udp() {
    ua_messages_baresip(TransportKind::Udp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ua_messages_baresip_over_tcp() {
    ua_messages_baresip(TransportKind::Tcp).await;
}
