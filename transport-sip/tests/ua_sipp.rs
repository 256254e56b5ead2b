//! Interop of the SIP user agent (`transport_sip::ua`, driven through session-core) with
//! SIPp (the `sipp` binary, Debian package `sip-tester`) on 127.0.0.1, over UDP and TCP.
//! Scenarios are in `tests/ua_sipp/`.
//!
//! - **SIPp calls us** (`uac_call.xml`, 5 calls): INVITE with an SDP offer; our
//!   application accepts each incoming A/V session; SIPp checks the 200's SDP answer, To
//!   tag and Contact, ACKs and BYEs to that Contact; our side must see every session
//!   accepted with the offered audio line and terminated by the peer (status 200).
//! - **We call SIPp** (`uas_call.xml`, 3 calls): SIPp checks our INVITE's SDP offer,
//!   rings, answers 200 with SDP; our side must see the ringing, the connected
//!   participant with audio negotiated both ways, then hangs up (BYE, 200).
//! - **SIPp sends pager-mode MESSAGEs** (`uac_message.xml`, 5 "calls"): an OPTIONS probe
//!   (SIPp checks Allow and Accept), then three MESSAGEs of one Call-ID; the first opens
//!   an incoming IM session our application accepts, every body arrives byte-exact with
//!   its content type, every MESSAGE gets a 200 with a To tag.
//! - **We message SIPp** (`uas_im_fallback.xml`, 2 sessions): SIPp declines the
//!   session-mode IM INVITE (488); the session falls back to pager mode and two MESSAGEs
//!   are delivered, with the INVITE's Call-ID, no To tag and CSeq numbers above the
//!   INVITE's.
//! - **SIPp cancels** (`uac_cancel.xml`, 3 calls): our application rings; SIPp's CANCEL
//!   gets 200, the INVITE 487; our side sees the invitation end with 487.
//! - **We cancel** (`uas_cancelled.xml`, 2 calls): SIPp rings and checks that our CANCEL
//!   and the ACK of its 487 carry the INVITE's branch and CSeq number.
//! - **SIPp holds and resumes** (`uac_hold.xml`): re-INVITEs sendonly / sendrecv; SIPp
//!   checks the answers (recvonly, then sendrecv, same o= session id); our audio channel
//!   goes receive-only and back.
//! - **SIPp withholds its ACK** (`uac_ack_lost.xml`, UDP): our 200 is retransmitted until
//!   the ACK, and the call survives.
//! - **SIPp requires an extension** (`uac_require.xml`): INVITE and MESSAGE with
//!   `Require: 100rel, …` get 420 with Unsupported; the application never sees them.
//! - **Record-routed call, we hang up at once** (`uac_record_route.xml`): the 200 copies
//!   both Record-Route values in order; our BYE (sent only after SIPp's ACK, although
//!   the application hung up right after accepting) carries them as Route and targets
//!   SIPp's Contact.
//! - **A forked answer** (`uas_forked.xml`): SIPp answers our INVITE with two 200s of
//!   different To tags; we keep the first dialog, ACK the second and end it with a BYE
//!   (both to its Contact, with its tag), and SIPp's BYE of the first ends our call.
//! - **Offerless INVITE** (`uac_late_offer.xml`): our 200 offers, SIPp's ACK answers.
//!
//! SIPp must exit 0 with every call successful and no failed calls, unexpected messages or
//! retransmission failures in its statistics. A missing `sipp` fails the test with a
//! message saying how to install it. Every SIPp run has `-timeout 20s -timeout_error`, is
//! killed through its own child handle if it outlives [`KILL_AFTER`], and its output,
//! statistics, error log and message trace are in every failure message
//! (`UCC_KEEP_SIPP=1` keeps them for a passing run).

#[path = "common/peer_setup.rs"]
mod peer_setup;
use peer_setup::{Ua, free_port, require_sipp, sipp_transport_flag, start_ua, uri_transport};
#[path = "ua_sipp/process.rs"]
mod process;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use session_core::events::{MediaChannelEvent, ParticipantEvent, SessionEvent, StateChange};
use session_core::{
    Context, MediaDirection, MediaType, ParticipantState, Reason, SessionType, StateChangeReason,
    Status, StatusCode, Uri,
};
use tokio::time::timeout;
use transport_sip::transport::TransportKind;

use process::{PeerProcess, tail};

/// SIPp's own bound on a run (`-timeout`), passed with `-timeout_error`.
const SIPP_TIMEOUT: &str = "20s";
/// When we kill a SIPp that has not exited.
const KILL_AFTER: Duration = Duration::from_secs(25);
/// Bound on any one step of our side.
const STEP: Duration = Duration::from_secs(15);

fn scenario(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/ua_sipp")
        .join(name)
        .display()
        .to_string()
}

/// Whether something listens on 127.0.0.1:`port` (TCP) or has it bound (UDP), from
/// `/proc/net`; SIPp prints no readiness line.
fn listening(port: u16, kind: TransportKind) -> bool {
    let (file, state) = match kind {
        TransportKind::Udp => ("/proc/net/udp", "07"),
        _ => ("/proc/net/tcp", "0A"),
    };
    let want = format!("0100007F:{port:04X}");
    std::fs::read_to_string(file).is_ok_and(|table| {
        table.lines().skip(1).any(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            cols.get(1) == Some(&want.as_str()) && cols.get(3) == Some(&state)
        })
    })
}

/// A SIPp run in its scratch directory.
struct Sipp {
    process: PeerProcess,
    dir: PathBuf,
}

/// A finished SIPp run.
struct SippRun {
    dir: PathBuf,
    code: Option<i32>,
    killed: bool,
    output: String,
    errors: String,
    messages: String,
    stats: HashMap<String, String>,
}

impl Sipp {
    /// Starts `sipp args…` with statistics, error and message tracing in a scratch dir.
    fn start(name: &str, args: Vec<String>) -> Sipp {
        let dir = std::env::temp_dir().join(format!("ucc-ua-sipp-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        let mut all = args;
        all.extend(
            [
                "-nostdin",
                "-timeout",
                SIPP_TIMEOUT,
                "-timeout_error",
                "-trace_stat",
                "-stf",
                "stats.csv",
                "-trace_err",
                "-error_file",
                "errors.log",
                "-trace_msg",
                "-message_file",
                "messages.log",
            ]
            .map(str::to_owned),
        );
        let process = match PeerProcess::spawn("sipp", &all, &dir, KILL_AFTER) {
            Ok(p) => p,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                panic!("`sipp` is not on PATH: install the Debian package `sip-tester`")
            }
            Err(e) => panic!("could not start sipp: {e}"),
        };
        Sipp { process, dir }
    }

    /// Waits until SIPp listens on `port` (bounded).
    async fn wait_listening(&mut self, port: u16, kind: TransportKind) {
        let until = tokio::time::Instant::now() + Duration::from_secs(10);
        while !listening(port, kind) {
            assert!(
                tokio::time::Instant::now() < until && !self.process.has_exited(),
                "SIPp did not bind {kind} port {port}:\n{}",
                self.process.output()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn finish(self) -> SippRun {
        let finished = self.process.finish().await;
        let read = |p: &str| std::fs::read_to_string(self.dir.join(p)).unwrap_or_default();
        let stats_text = read("stats.csv");
        let mut lines = stats_text.lines().filter(|l| !l.trim().is_empty());
        let header = lines.next().unwrap_or_default();
        let last = lines.next_back().unwrap_or_default();
        let stats = header
            .split(';')
            .zip(last.split(';'))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        SippRun {
            code: finished.code,
            killed: finished.killed,
            output: finished.output,
            errors: read("errors.log"),
            messages: read("messages.log"),
            stats,
            dir: self.dir,
        }
    }
}

impl SippRun {
    fn stat(&self, name: &str) -> Option<u64> {
        self.stats.get(name).and_then(|v| v.trim().parse().ok())
    }

    /// Everything a failure message needs.
    fn report(&self) -> String {
        let mut keys: Vec<_> = self
            .stats
            .iter()
            .filter(|(k, v)| k.ends_with("(C)") && v.trim() != "0")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        keys.sort();
        format!(
            "SIPp exit code {:?}{} (dir {})\nnon-zero cumulative stats: {}\n\
             --- errors ---\n{}\n--- output (tail) ---\n{}\n--- messages (tail) ---\n{}",
            self.code,
            if self.killed {
                ", killed at the deadline"
            } else {
                ""
            },
            self.dir.display(),
            keys.join(" "),
            tail(&self.errors, 3000),
            tail(&self.output, 2000),
            tail(&self.messages, 6000),
        )
    }

    /// SIPp exited 0 with `calls` successful calls and no failures or unexpected messages.
    fn assert_clean(&self, calls: u64) {
        let report = self.report();
        assert_eq!(self.code, Some(0), "SIPp failed:\n{report}");
        assert_eq!(self.stat("SuccessfulCall(C)"), Some(calls), "{report}");
        for counter in [
            "FailedCall(C)",
            "FailedUnexpectedMessage(C)",
            "FailedMaxUDPRetrans(C)",
            "FailedTcpConnect(C)",
            "FailedTcpClosed(C)",
            "FailedRegexpDoesntMatch(C)",
            "FailedRegexpHdrNotFound(C)",
            "FailedTimeoutOnRecv(C)",
            "FailedTimeoutOnSend(C)",
            "OutOfCallMsgs(C)",
            "FatalErrors(C)",
        ] {
            assert_eq!(self.stat(counter), Some(0), "{counter}:\n{report}");
        }
    }

    /// Removes the scratch directory, unless `UCC_KEEP_SIPP` is set (to read the traces
    /// of a passing run).
    fn cleanup(self) {
        if std::env::var_os("UCC_KEEP_SIPP").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The SIPp arguments common to every run: local address and ports, transport.
fn sipp_args(kind: TransportKind, port: u16) -> Vec<String> {
    vec![
        "-i".into(),
        "127.0.0.1".into(),
        "-p".into(),
        port.to_string(),
        "-mi".into(),
        "127.0.0.1".into(),
        "-mp".into(),
        free_port().to_string(),
        "-t".into(),
        sipp_transport_flag(kind).into(),
    ]
}

/// What our application saw of the calls SIPp made.
#[derive(Debug, Default)]
struct CallsSeen {
    accepted: usize,
    /// Audio lines offered per call.
    offered_audio: Vec<usize>,
    /// The caller each invitation came from.
    callers: Vec<String>,
    /// How each accepted session ended.
    terminated: Vec<Status>,
    /// The negotiated direction of each ended call's audio channels.
    negotiated_audio: Vec<Vec<MediaDirection>>,
    /// Why accepting failed, per failed call.
    accept_errors: Vec<String>,
}

/// An application that accepts `calls` incoming A/V sessions and waits for each to end.
fn accept_calls(ua: &Ua, calls: usize) -> tokio::task::JoinHandle<CallsSeen> {
    let mut incoming = ua.endpoint.session_manager().incoming().expect("incoming");
    tokio::spawn(async move {
        let mut seen = CallsSeen::default();
        let mut sessions = Vec::new();
        let mut ends = Vec::new();
        for i in 0..calls {
            let Ok(Some(mut offer)) = timeout(STEP, incoming.next()).await else {
                panic!("call {i}: no incoming session ({seen:?})");
            };
            assert_eq!(offer.session_type(), SessionType::AudioVideo);
            let channels = offer.inviter().av().expect("av facet").channels();
            seen.offered_audio.push(
                channels
                    .iter()
                    .filter(|c| c.media_type() == MediaType::Audio)
                    .count(),
            );
            seen.callers.push(offer.inviter().uri().to_string());
            let mut events = offer.session().events();
            let session = match timeout(STEP, offer.accept()).await {
                Ok(Ok(session)) => session,
                Ok(Err(e)) => {
                    seen.accept_errors.push(e.to_string());
                    continue;
                }
                Err(_) => panic!("call {i}: accept timed out"),
            };
            seen.accepted += 1;
            let inviter = offer.inviter().clone();
            // Dropping every handle of a session ends it: the application keeps them.
            sessions.push((offer, session));
            ends.push(tokio::spawn(async move {
                loop {
                    match timeout(STEP, events.recv()).await {
                        Ok(Ok(SessionEvent::Terminated { status })) => {
                            let audio = inviter
                                .av()
                                .map(|av| av.channels())
                                .unwrap_or_default()
                                .iter()
                                .filter(|c| c.media_type() == MediaType::Audio)
                                .map(|c| c.negotiated_media())
                                .collect::<Vec<_>>();
                            return Some((status, audio));
                        }
                        Ok(Ok(_)) => {}
                        _ => return None,
                    }
                }
            }));
        }
        for end in ends {
            if let Some((status, audio)) = end.await.expect("watcher") {
                seen.terminated.push(status);
                seen.negotiated_audio.push(audio);
            }
        }
        drop(sessions);
        seen
    })
}

/// SIPp calls our endpoint `CALLS` times, and hangs up each call.
async fn sipp_calls_ua(kind: TransportKind) {
    const CALLS: usize = 5;
    require_sipp();
    let ua = start_ua(kind).await;
    let app = accept_calls(&ua, CALLS);
    let mut args = vec![
        ua.addr.to_string(),
        "-sf".into(),
        scenario("uac_call.xml"),
        "-s".into(),
        "alice".into(),
        "-m".into(),
        CALLS.to_string(),
        "-r".into(),
        "10".into(),
        "-l".into(),
        "2".into(),
    ];
    args.extend(sipp_args(kind, free_port()));
    let run = Sipp::start(&format!("caller-{kind}"), args).finish().await;
    run.assert_clean(CALLS as u64);
    let seen = timeout(STEP, app)
        .await
        .unwrap_or_else(|_| panic!("our application hung\n{}", run.report()))
        .unwrap_or_else(|e| panic!("our application failed: {e}\n{}", run.report()));
    assert_eq!(seen.accepted, CALLS, "{seen:?}\n{}", run.report());
    assert_eq!(seen.offered_audio, vec![1; CALLS], "{seen:?}");
    assert!(
        seen.callers
            .iter()
            .all(|c| c.starts_with("sip:sipp@127.0.0.1:")),
        "{seen:?}"
    );
    assert_eq!(seen.terminated.len(), CALLS, "{seen:?}\n{}", run.report());
    assert!(
        seen.terminated.iter().all(|s| s.code == StatusCode::OK),
        "remote hang-ups end with 200: {seen:?}"
    );
    run.cleanup();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_calls_ua_over_udp() {
    sipp_calls_ua(TransportKind::Udp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_calls_ua_over_tcp() {
    sipp_calls_ua(TransportKind::Tcp).await;
}

/// Our endpoint calls SIPp's UAS `CALLS` times and hangs up each call.
async fn ua_calls_sipp(kind: TransportKind) {
    const CALLS: usize = 3;
    ua_drives_sipp_uas(kind, "callee", "uas_call.xml", CALLS, "call", one_call).await;
}

/// Starts SIPp's UAS with `scenario` for `count` calls, then runs `one` against it that
/// many times (stopping at the first failure); SIPp must end clean.
async fn ua_drives_sipp_uas(
    kind: TransportKind,
    name: &str,
    scenario_file: &str,
    count: usize,
    label: &str,
    one: impl AsyncFn(&Ua, &Uri) -> Result<(), String>,
) {
    require_sipp();
    let port = free_port();
    let mut args = vec![
        "-sf".into(),
        scenario(scenario_file),
        "-m".into(),
        count.to_string(),
    ];
    args.extend(sipp_args(kind, port));
    let mut sipp = Sipp::start(&format!("{name}-{kind}"), args);
    sipp.wait_listening(port, kind).await;
    let ua = start_ua(kind).await;
    let target =
        Uri::parse(&format!("sip:sipp@127.0.0.1:{port}{}", uri_transport(kind))).expect("SIPp uri");
    let mut failures = Vec::new();
    for i in 0..count {
        if let Err(e) = one(&ua, &target).await {
            failures.push(format!("{label} {i}: {e}"));
            break;
        }
    }
    let run = sipp.finish().await;
    assert!(failures.is_empty(), "{failures:?}\n{}", run.report());
    run.assert_clean(count as u64);
    run.cleanup();
}

/// One call to `target`: ringing seen, connected with audio both ways, hung up.
async fn one_call(ua: &Ua, target: &Uri) -> Result<(), String> {
    let session = ua
        .endpoint
        .session_manager()
        .create_session(SessionType::AudioVideo, Context::new())
        .map_err(|e| e.to_string())?;
    let callee = session
        .create_participant(target.clone(), Context::new())
        .map_err(|e| e.to_string())?;
    let av = callee.av().map_err(|e| e.to_string())?;
    let audio = av.create_channel(MediaType::Audio);
    av.add_channel(&audio).map_err(|e| e.to_string())?;
    let mut events = callee.events();
    let op = session
        .add_participant(&callee, None)
        .map_err(|e| e.to_string())?;
    timeout(STEP, op)
        .await
        .map_err(|_| "the INVITE got no final answer".to_owned())?
        .map_err(|e| format!("the INVITE failed: {e}"))?;
    let mut ringing = false;
    while let Ok(e) = events.try_recv() {
        if let ParticipantEvent::StateChanged(StateChange {
            reason: StateChangeReason::Ringing,
            ..
        }) = e
        {
            ringing = true;
        }
    }
    if !ringing {
        return Err("SIPp's 180 was not reported as ringing".into());
    }
    if callee.state() != ParticipantState::Connected {
        return Err(format!("callee is {:?}, not connected", callee.state()));
    }
    if audio.negotiated_media() != MediaDirection::BOTH {
        return Err(format!(
            "audio negotiated {:?}, SIPp answered sendrecv",
            audio.negotiated_media()
        ));
    }
    let hangup = session
        .terminate(Reason::NotSpecified, None)
        .map_err(|e| e.to_string())?;
    timeout(STEP, hangup)
        .await
        .map_err(|_| "the BYE got no answer".to_owned())?
        .map_err(|e| format!("hang-up failed: {e}"))?;
    if !session.is_terminated() {
        return Err("session not terminated after the BYE".into());
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ua_calls_sipp_over_udp() {
    ua_calls_sipp(TransportKind::Udp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ua_calls_sipp_over_tcp() {
    ua_calls_sipp(TransportKind::Tcp).await;
}

/// The bodies SIPp's `uac_message.xml` sends in "call" `n` (SIPp ends each body with
/// CRLF), with their content types.
fn expected_messages(n: usize) -> Vec<(String, Bytes)> {
    [
        (
            "text/plain;charset=UTF-8",
            format!("call {n} message 1: hello from SIPp\r\n"),
        ),
        (
            "text/plain;charset=UTF-8",
            format!("call {n} message 2: caf\u{e9} \u{2713} <b>\r\n"),
        ),
        (
            "text/html",
            format!("<p>call {n} message 3: <i>bye</i></p>\r\n"),
        ),
    ]
    .into_iter()
    .map(|(ct, body)| (ct.to_owned(), Bytes::from(body)))
    .collect()
}

/// SIPp sends pager-mode MESSAGEs; each "call" (Call-ID) opens one incoming IM session.
async fn sipp_messages_ua(kind: TransportKind) {
    const CALLS: usize = 5;
    const PER_CALL: usize = 3;
    require_sipp();
    let ua = start_ua(kind).await;
    let mut incoming = ua.endpoint.session_manager().incoming().expect("incoming");
    let app = tokio::spawn(async move {
        let mut sessions = Vec::new();
        let mut watchers = Vec::new();
        for i in 0..CALLS {
            let Ok(Some(mut offer)) = timeout(STEP, incoming.next()).await else {
                panic!("pager session {i} never arrived");
            };
            assert_eq!(offer.session_type(), SessionType::InstantMessaging);
            let from = offer.inviter().uri().to_string();
            let mut events = offer.inviter().events();
            let session = timeout(STEP, offer.accept())
                .await
                .expect("accept timed out")
                .expect("accept");
            sessions.push((offer, session));
            watchers.push(tokio::spawn(async move {
                let mut got = Vec::new();
                while got.len() < PER_CALL {
                    match timeout(STEP, events.recv()).await {
                        Ok(Ok(ParticipantEvent::MessageReceived { content_type, body })) => {
                            got.push((content_type.to_string(), body));
                        }
                        Ok(Ok(_)) => {}
                        _ => break,
                    }
                }
                (from, got)
            }));
        }
        let mut all = Vec::new();
        for w in watchers {
            all.push(w.await.expect("watcher"));
        }
        (sessions, all)
    });
    let mut args = vec![
        ua.addr.to_string(),
        "-sf".into(),
        scenario("uac_message.xml"),
        "-s".into(),
        "alice".into(),
        "-m".into(),
        CALLS.to_string(),
        "-r".into(),
        "10".into(),
    ];
    args.extend(sipp_args(kind, free_port()));
    let run = Sipp::start(&format!("pager-{kind}"), args).finish().await;
    run.assert_clean(CALLS as u64);
    let (_sessions, got) = timeout(STEP, app)
        .await
        .unwrap_or_else(|_| panic!("our application hung\n{}", run.report()))
        .unwrap_or_else(|e| panic!("our application failed: {e}\n{}", run.report()));
    assert_eq!(got.len(), CALLS);
    // Each session holds exactly one SIPp "call"'s messages, in order.
    let mut calls_seen = Vec::new();
    for (from, messages) in &got {
        assert!(from.starts_with("sip:sipp@127.0.0.1:"), "{from}");
        let first = messages
            .first()
            .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        let n: usize = first
            .strip_prefix("call ")
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first message {first:?}\n{}", run.report()));
        assert_eq!(
            messages,
            &expected_messages(n),
            "session of call {n}\n{}",
            run.report()
        );
        calls_seen.push(n);
    }
    calls_seen.sort_unstable();
    assert_eq!(calls_seen, (1..=CALLS).collect::<Vec<_>>());
    run.cleanup();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_messages_ua_over_udp() {
    sipp_messages_ua(TransportKind::Udp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_messages_ua_over_tcp() {
    sipp_messages_ua(TransportKind::Tcp).await;
}

/// Our endpoint opens `SESSIONS` IM sessions with SIPp's UAS, which declines
/// session-mode IM (488): each falls back to pager mode and delivers two MESSAGEs.
async fn ua_messages_sipp(kind: TransportKind) {
    const SESSIONS: usize = 2;
    ua_drives_sipp_uas(
        kind,
        "pager-callee",
        "uas_im_fallback.xml",
        SESSIONS,
        "session",
        one_pager_session,
    )
    .await;
}

/// One IM session to `target` that falls back to pager mode: two messages delivered.
async fn one_pager_session(ua: &Ua, target: &Uri) -> Result<(), String> {
    let session = ua
        .endpoint
        .session_manager()
        .create_session(SessionType::InstantMessaging, Context::new())
        .map_err(|e| e.to_string())?;
    let peer = session
        .create_participant(target.clone(), Context::new())
        .map_err(|e| e.to_string())?;
    let op = session
        .add_participant(&peer, None)
        .map_err(|e| e.to_string())?;
    timeout(STEP, op)
        .await
        .map_err(|_| "the IM INVITE got no final answer".to_owned())?
        .map_err(|e| format!("no pager-mode fallback after the 488: {e}"))?;
    let im = session.im().map_err(|e| e.to_string())?;
    for (content_type, body) in [
        ("text/plain", "first message from ucc-rs"),
        ("text/html", "<p>second</p>"),
    ] {
        let report = timeout(
            STEP,
            im.send_message(content_type, body, None)
                .map_err(|e| e.to_string())?,
        )
        .await
        .map_err(|_| format!("{body:?} got no answer"))?
        .map_err(|e| format!("{body:?} failed: {e}"))?;
        if !report.all_delivered() {
            return Err(format!("{body:?} not delivered: {report:?}"));
        }
    }
    timeout(
        STEP,
        session
            .terminate(Reason::NotSpecified, None)
            .map_err(|e| e.to_string())?,
    )
    .await
    .map_err(|_| "terminate hung".to_owned())?
    .map_err(|e| e.to_string())?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ua_messages_sipp_over_udp() {
    ua_messages_sipp(TransportKind::Udp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ua_messages_sipp_over_tcp() {
    ua_messages_sipp(TransportKind::Tcp).await;
}

/// SIPp calls, our application rings without answering, SIPp cancels; `CALLS` times.
async fn sipp_cancels_ua(kind: TransportKind) {
    const CALLS: usize = 3;
    require_sipp();
    let ua = start_ua(kind).await;
    let mut incoming = ua.endpoint.session_manager().incoming().expect("incoming");
    let app = tokio::spawn(async move {
        let mut cancelled = Vec::new();
        for i in 0..CALLS {
            let Ok(Some(mut offer)) = timeout(STEP, incoming.next()).await else {
                panic!("call {i}: no incoming session");
            };
            let mut events = offer.inviter().events();
            timeout(STEP, offer.ringing())
                .await
                .expect("ringing timed out")
                .expect("ringing");
            let status = timeout(STEP, async {
                loop {
                    match events.recv().await {
                        Ok(ParticipantEvent::StateChanged(StateChange {
                            new: ParticipantState::Disconnected,
                            status,
                            ..
                        })) => return status,
                        Ok(_) => {}
                        Err(_) => return None,
                    }
                }
            })
            .await
            .unwrap_or_else(|_| panic!("call {i}: the CANCEL never reached the application"));
            let late_accept = offer.accept().await;
            assert!(late_accept.is_err(), "call {i}: accept after CANCEL");
            cancelled.push(status.map(|s| s.code));
        }
        cancelled
    });
    let mut args = vec![
        ua.addr.to_string(),
        "-sf".into(),
        scenario("uac_cancel.xml"),
        "-s".into(),
        "alice".into(),
        "-m".into(),
        CALLS.to_string(),
        "-l".into(),
        "1".into(),
    ];
    args.extend(sipp_args(kind, free_port()));
    let run = Sipp::start(&format!("cancel-{kind}"), args).finish().await;
    run.assert_clean(CALLS as u64);
    let cancelled = timeout(STEP, app)
        .await
        .unwrap_or_else(|_| panic!("our application hung\n{}", run.report()))
        .unwrap_or_else(|e| panic!("our application failed: {e}\n{}", run.report()));
    assert_eq!(
        cancelled,
        vec![Some(StatusCode::REQUEST_TERMINATED); CALLS],
        "{}",
        run.report()
    );
    run.cleanup();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_cancels_ua_over_udp() {
    sipp_cancels_ua(TransportKind::Udp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_cancels_ua_over_tcp() {
    sipp_cancels_ua(TransportKind::Tcp).await;
}

/// SIPp calls, holds (re-INVITE sendonly), resumes (sendrecv) and hangs up; our
/// application accepts and its audio channel follows: receive-only, then both ways.
async fn sipp_holds_ua(kind: TransportKind) {
    require_sipp();
    let ua = start_ua(kind).await;
    let mut incoming = ua.endpoint.session_manager().incoming().expect("incoming");
    let app = tokio::spawn(async move {
        let Ok(Some(mut offer)) = timeout(STEP, incoming.next()).await else {
            panic!("no incoming session");
        };
        let audio = offer
            .inviter()
            .av()
            .expect("av")
            .channels()
            .pop()
            .expect("audio");
        let mut media = audio.events();
        let mut events = offer.session().events();
        let session = timeout(STEP, offer.accept())
            .await
            .expect("accept timed out")
            .expect("accept");
        // Every negotiation: the answer to the first offer, the hold, the resume.
        let mut directions = Vec::new();
        let status = timeout(STEP, async {
            loop {
                tokio::select! {
                    e = media.recv() => {
                        if let Ok(MediaChannelEvent::NegotiatedMediaChanged { new, .. }) = e {
                            directions.push(new);
                        }
                    }
                    e = events.recv() => match e {
                        Ok(SessionEvent::Terminated { status }) => return Some(status),
                        Ok(_) => {}
                        Err(_) => return None,
                    },
                }
            }
        })
        .await
        .expect("the call never ended");
        drop((offer, session));
        (directions, status)
    });
    let mut args = vec![
        ua.addr.to_string(),
        "-sf".into(),
        scenario("uac_hold.xml"),
        "-s".into(),
        "alice".into(),
        "-m".into(),
        "1".into(),
    ];
    args.extend(sipp_args(kind, free_port()));
    let run = Sipp::start(&format!("hold-{kind}"), args).finish().await;
    run.assert_clean(1);
    let (directions, status) = timeout(STEP, app)
        .await
        .unwrap_or_else(|_| panic!("our application hung\n{}", run.report()))
        .unwrap_or_else(|e| panic!("our application failed: {e}\n{}", run.report()));
    assert_eq!(
        directions,
        vec![
            MediaDirection::BOTH,
            MediaDirection::RECEIVE,
            MediaDirection::BOTH
        ],
        "{}",
        run.report()
    );
    assert_eq!(status.map(|s| s.code), Some(StatusCode::OK));
    run.cleanup();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_holds_ua_over_udp() {
    sipp_holds_ua(TransportKind::Udp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_holds_ua_over_tcp() {
    sipp_holds_ua(TransportKind::Tcp).await;
}

/// Our endpoint calls SIPp, which rings and never answers; we cancel, `CALLS` times.
async fn ua_cancels_sipp(kind: TransportKind) {
    const CALLS: usize = 2;
    ua_drives_sipp_uas(
        kind,
        "cancelled",
        "uas_cancelled.xml",
        CALLS,
        "call",
        one_cancelled_call,
    )
    .await;
}

/// One call to `target` cancelled once it rings.
async fn one_cancelled_call(ua: &Ua, target: &Uri) -> Result<(), String> {
    let session = ua
        .endpoint
        .session_manager()
        .create_session(SessionType::AudioVideo, Context::new())
        .map_err(|e| e.to_string())?;
    let callee = session
        .create_participant(target.clone(), Context::new())
        .map_err(|e| e.to_string())?;
    let av = callee.av().map_err(|e| e.to_string())?;
    av.add_channel(&av.create_channel(MediaType::Audio))
        .map_err(|e| e.to_string())?;
    let mut events = callee.events();
    let op = session
        .add_participant(&callee, None)
        .map_err(|e| e.to_string())?;
    timeout(STEP, async {
        loop {
            match events.recv().await {
                Ok(ParticipantEvent::StateChanged(StateChange {
                    reason: StateChangeReason::Ringing,
                    ..
                })) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(format!("participant events: {e:?}")),
            }
        }
    })
    .await
    .map_err(|_| "SIPp's 180 was not reported as ringing".to_owned())??;
    op.cancel();
    match timeout(STEP, op).await {
        Err(_) => Err("the cancelled INVITE never completed".into()),
        Ok(Ok(())) => Err("the cancelled INVITE succeeded".into()),
        Ok(Err(e)) if e.status().code == StatusCode::REQUEST_TERMINATED => Ok(()),
        Ok(Err(e)) => Err(format!("cancelled INVITE ended with {e}, not 487")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ua_cancels_sipp_over_udp() {
    ua_cancels_sipp(TransportKind::Udp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ua_cancels_sipp_over_tcp() {
    ua_cancels_sipp(TransportKind::Tcp).await;
}

/// SIPp runs `scenario` (one call) against our endpoint, whose application accepts.
async fn sipp_call_scenario(kind: TransportKind, scenario_file: &str) -> (SippRun, CallsSeen) {
    require_sipp();
    let ua = start_ua(kind).await;
    let app = accept_calls(&ua, 1);
    let mut args = vec![
        ua.addr.to_string(),
        "-sf".into(),
        scenario(scenario_file),
        "-s".into(),
        "alice".into(),
        "-m".into(),
        "1".into(),
    ];
    args.extend(sipp_args(kind, free_port()));
    let name = format!("{}-{kind}", scenario_file.trim_end_matches(".xml"));
    let run = Sipp::start(&name, args).finish().await;
    let seen = timeout(STEP, app)
        .await
        .unwrap_or_else(|_| panic!("our application hung\n{}", run.report()))
        .unwrap_or_else(|e| panic!("our application failed: {e}\n{}", run.report()));
    (run, seen)
}

/// Over UDP our 2xx to an INVITE is retransmitted until SIPp's (withheld) ACK.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_withholds_ack_over_udp() {
    let (run, seen) = sipp_call_scenario(TransportKind::Udp, "uac_ack_lost.xml").await;
    run.assert_clean(1);
    // Every 200 to the INVITE SIPp received: the first and its retransmissions.
    let oks = run
        .messages
        .split("-----------------------------------------------")
        .filter(|m| {
            m.contains("message received")
                && m.contains("SIP/2.0 200 OK")
                && m.contains("CSeq: 1 INVITE")
        })
        .count();
    assert!(
        oks >= 2,
        "the 200 was not retransmitted ({oks} seen)\n{}",
        run.report()
    );
    assert_eq!(seen.accepted, 1, "{seen:?}");
    assert_eq!(
        seen.terminated.iter().map(|s| s.code).collect::<Vec<_>>(),
        vec![StatusCode::OK],
        "the call survived the late ACK and ended with SIPp's BYE: {seen:?}"
    );
    run.cleanup();
}

/// An offerless INVITE ("delayed offer", RFC 3261 §13.2.1): our 200 carries the offer
/// (an audio line with PCMU, checked by the scenario), SIPp's ACK the answer, which
/// session-core applies (`Inbound::Answer`); SIPp's BYE ends the call.
async fn sipp_calls_without_offer(kind: TransportKind) {
    let (run, seen) = sipp_call_scenario(kind, "uac_late_offer.xml").await;
    assert!(seen.accept_errors.is_empty(), "{seen:?}\n{}", run.report());
    run.assert_clean(1);
    assert_eq!(seen.accepted, 1, "{seen:?}");
    assert_eq!(seen.terminated.len(), 1, "{seen:?}");
    // Session-core offered one audio line and applied SIPp's sendrecv answer to it.
    assert_eq!(
        seen.negotiated_audio,
        vec![vec![MediaDirection::BOTH]],
        "{seen:?}"
    );
    run.cleanup();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_calls_without_offer_over_udp() {
    sipp_calls_without_offer(TransportKind::Udp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_calls_without_offer_over_tcp() {
    sipp_calls_without_offer(TransportKind::Tcp).await;
}

/// SIPp's INVITE and MESSAGE require extensions we do not implement: both are refused
/// with 420 and Unsupported, and the application never hears of them.
async fn sipp_requires_extension(kind: TransportKind) {
    require_sipp();
    let ua = start_ua(kind).await;
    let mut incoming = ua.endpoint.session_manager().incoming().expect("incoming");
    let mut args = vec![
        ua.addr.to_string(),
        "-sf".into(),
        scenario("uac_require.xml"),
        "-s".into(),
        "alice".into(),
        "-m".into(),
        "2".into(),
        "-l".into(),
        "1".into(),
    ];
    args.extend(sipp_args(kind, free_port()));
    let run = Sipp::start(&format!("require-{kind}"), args).finish().await;
    run.assert_clean(2);
    assert!(
        incoming.try_next().is_none(),
        "a request with an unsupported Require reached the application\n{}",
        run.report()
    );
    run.cleanup();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_requires_extension_over_udp() {
    sipp_requires_extension(TransportKind::Udp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_requires_extension_over_tcp() {
    sipp_requires_extension(TransportKind::Tcp).await;
}

/// SIPp calls through two record-routing "proxies" (itself); our application accepts
/// and hangs up: the 200 must carry the Record-Route values, the BYE follow them.
async fn sipp_record_routes(kind: TransportKind) {
    require_sipp();
    let ua = start_ua(kind).await;
    let mut incoming = ua.endpoint.session_manager().incoming().expect("incoming");
    let app = tokio::spawn(async move {
        let Ok(Some(mut offer)) = timeout(STEP, incoming.next()).await else {
            return Err("no incoming session".to_owned());
        };
        let session = timeout(STEP, offer.accept())
            .await
            .map_err(|_| "accept timed out".to_owned())?
            .map_err(|e| format!("accept: {e}"))?;
        let hangup = session
            .terminate(Reason::NotSpecified, None)
            .map_err(|e| e.to_string())?;
        timeout(STEP, hangup)
            .await
            .map_err(|_| "the BYE got no answer".to_owned())?
            .map_err(|e| format!("hang-up: {e}"))?;
        Ok(())
    });
    let mut args = vec![
        ua.addr.to_string(),
        "-sf".into(),
        scenario("uac_record_route.xml"),
        "-s".into(),
        "alice".into(),
        "-m".into(),
        "1".into(),
    ];
    args.extend(sipp_args(kind, free_port()));
    let run = Sipp::start(&format!("record-route-{kind}"), args)
        .finish()
        .await;
    let result = timeout(STEP, app)
        .await
        .unwrap_or_else(|_| panic!("our application hung\n{}", run.report()))
        .unwrap_or_else(|e| panic!("our application failed: {e}\n{}", run.report()));
    assert_eq!(result, Ok(()), "{}", run.report());
    run.assert_clean(1);
    run.cleanup();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_record_routes_over_udp() {
    sipp_record_routes(TransportKind::Udp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_record_routes_over_tcp() {
    sipp_record_routes(TransportKind::Tcp).await;
}

/// SIPp answers our INVITE twice with different To tags (a forked call): we keep the
/// first dialog, ACK and BYE the second, and see the first ended by SIPp's BYE.
async fn ua_call_forked_by_sipp(kind: TransportKind) {
    require_sipp();
    let port = free_port();
    let mut args = vec![
        "-sf".into(),
        scenario("uas_forked.xml"),
        "-m".into(),
        "1".into(),
    ];
    args.extend(sipp_args(kind, port));
    let mut sipp = Sipp::start(&format!("forked-{kind}"), args);
    sipp.wait_listening(port, kind).await;
    let ua = start_ua(kind).await;
    let target =
        Uri::parse(&format!("sip:sipp@127.0.0.1:{port}{}", uri_transport(kind))).expect("SIPp uri");
    let session = ua
        .endpoint
        .session_manager()
        .create_session(SessionType::AudioVideo, Context::new())
        .expect("session");
    let callee = session
        .create_participant(target, Context::new())
        .expect("participant");
    let av = callee.av().expect("av");
    av.add_channel(&av.create_channel(MediaType::Audio))
        .expect("audio");
    let mut events = session.events();
    let op = session.add_participant(&callee, None).expect("invite");
    let answered = timeout(STEP, op).await;
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
    let run = sipp.finish().await;
    let report = run.report();
    answered
        .unwrap_or_else(|_| panic!("the INVITE got no answer\n{report}"))
        .unwrap_or_else(|e| panic!("the INVITE failed: {e}\n{report}"));
    let status = ended
        .unwrap_or_else(|_| panic!("SIPp's BYE of the kept dialog never ended the call\n{report}"))
        .expect("session events");
    assert_eq!(status.code, StatusCode::OK, "{report}");
    run.assert_clean(1);
    run.cleanup();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ua_call_forked_by_sipp_over_udp() {
    ua_call_forked_by_sipp(TransportKind::Udp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ua_call_forked_by_sipp_over_tcp() {
    ua_call_forked_by_sipp(TransportKind::Tcp).await;
}
