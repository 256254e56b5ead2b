//! Interop of the SIP user agent (`transport_sip::ua`, driven through session-core) with
//! Kamailio (Debian package `kamailio`) as registrar and proxy with digest
//! authentication, on 127.0.0.1. This is the scale-out deployment: the library is the
//! client, an existing SIP server does registration and routing.
//!
//! Each test runs its own Kamailio with `tests/ua_kamailio/kamailio.cfg` (no database:
//! users in an in-memory hash table, bindings in memory), listening on a free port for
//! UDP and TCP, in the foreground with its log on stderr. Domain and realm `ucc.test`;
//! every endpoint has Kamailio as registrar (`sip:ucc.test`) and outbound proxy.
//!
//! - **Call and IM through the proxy** (UDP and TCP): alice and bob register (401, digest,
//!   200); alice calls `sip:bob@ucc.test` (407, digest, Kamailio finds bob's binding and
//!   record-routes), bob accepts, alice hangs up and bob's session ends; then an IM
//!   session between them with one message each way, byte-exact; the ACK, BYE and the
//!   in-dialog MESSAGEs are seen by Kamailio (loose routing over its Record-Route) and
//!   not challenged; both unregister.
//! - **Pager mode through the proxy**: Kamailio refuses session-mode IM to carol (488),
//!   so alice's IM session falls back to MESSAGE outside a dialog; each side's first
//!   MESSAGE is challenged (407) and answered; one message each way, byte-exact.
//! - **Refresh**: a registration granted for 2 s is refreshed every second with the
//!   nonce already known (not challenged again), and removed with `Expires: 0`.
//! - **Wrong password**: `enable()` fails with the registrar's 401 (Kamailio challenges
//!   again) or 403.
//!
//! A missing `kamailio` fails the test with a message saying how to install it. Every
//! Kamailio is bounded in time (a watchdog stops it after [`KAMAILIO_LIFETIME`]) and is
//! stopped through its own child handle when the test ends, pass or fail; its log is in
//! every failure message.

#[path = "common/peer_setup.rs"]
mod peer_setup;
use peer_setup::free_port;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use session_core::dispatch::Subscription;
use session_core::endpoint::IncomingSessions;
use session_core::events::{ParticipantEvent, SessionEvent};
use session_core::{
    Context, Credential, Endpoint, EndpointConfig, IncomingSession, MediaType, Participant,
    ParticipantState, Platform, Reason, SessionType, StatusCode, Uri,
};
use tokio::time::timeout;
use transport_sip::ua::{SipConfig, SipTransport};

/// The SIP domain and digest realm of the Kamailio configuration.
const DOMAIN: &str = "ucc.test";
/// Bound on any one step.
const STEP: Duration = Duration::from_secs(10);
/// A Kamailio still running this long after its start is stopped by the watchdog.
const KAMAILIO_LIFETIME: Duration = Duration::from_secs(120);
/// How long Kamailio may take to answer its first OPTIONS.
const STARTUP: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    fn param(self) -> &'static str {
        match self {
            Transport::Udp => "",
            Transport::Tcp => ";transport=tcp",
        }
    }
}

/// The last `max` bytes of `s`, on a character boundary.
fn tail(s: &str, max: usize) -> &str {
    let start = s.len().saturating_sub(max);
    let start = (start..s.len())
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(s.len());
    &s[start..]
}

/// The Kamailio binary: on PATH, else in an sbin directory (Debian installs it as
/// `/usr/sbin/kamailio`, which is not on an unprivileged user's PATH).
fn kamailio_program() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join("kamailio"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("kamailio"))
}

/// Stops a Kamailio: SIGTERM to its main process (which stops its children), then, if it
/// is still there after a grace period, SIGKILL to its process group and to the child.
/// Idempotent: a reaped child is left alone (its pid may have been reused).
fn stop(child: &mut Child) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    let pid = child.id().to_string();
    let _ = Command::new("kill")
        .args(["-TERM", &pid])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // Still running: the whole group (this Kamailio and its children, nothing else:
    // it was started as the leader of a group of its own).
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

/// A running Kamailio, stopped when dropped (also when a test panics).
struct Kamailio {
    child: Arc<Mutex<Child>>,
    stopped: Arc<AtomicBool>,
    log: Arc<Mutex<String>>,
    port: u16,
    dir: PathBuf,
}

impl Kamailio {
    /// Starts Kamailio with the test configuration on a free port (UDP and TCP) and waits
    /// until it answers OPTIONS on both.
    fn start(name: &str) -> Kamailio {
        let port = free_port();
        let dir =
            std::env::temp_dir().join(format!("ucc-ua-kamailio-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        let cfg = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ua_kamailio/kamailio.cfg");
        let mut command = Command::new(kamailio_program());
        command
            // Foreground: the creator does not daemonize; logs on stderr.
            .args(["-DD", "-E"])
            .arg("-f")
            .arg(&cfg)
            .args(["-l", &format!("udp:127.0.0.1:{port}")])
            .args(["-l", &format!("tcp:127.0.0.1:{port}")])
            // Runtime and working directories of its own; small memory pools.
            .arg("-Y")
            .arg(&dir)
            .arg("-w")
            .arg(&dir)
            .args(["-m", "32", "-M", "4"])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // A process group of its own, so that its children can be found if the main
            // process does not stop them.
            .process_group(0);
        let mut child = match command.spawn() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "`kamailio` is not installed (not on PATH nor in /usr/sbin): install the Debian \
                 package `kamailio` \
                 (scripts/test installs it); the Kamailio interop tests cannot run without it"
            ),
            Err(e) => panic!("could not start kamailio: {e}"),
        };
        let log = Arc::new(Mutex::new(String::new()));
        let streams: [Option<Box<dyn Read + Send>>; 2] = [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ];
        for stream in streams.into_iter().flatten() {
            let log = Arc::clone(&log);
            // Ends when every Kamailio process has closed the pipe; never joined.
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    let mut log = log.lock().expect("log lock");
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        }
        let child = Arc::new(Mutex::new(child));
        let stopped = Arc::new(AtomicBool::new(false));
        {
            let (child, stopped) = (Arc::clone(&child), Arc::clone(&stopped));
            let started = Instant::now();
            std::thread::spawn(move || {
                while started.elapsed() < KAMAILIO_LIFETIME {
                    if stopped.load(Ordering::Acquire) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                if let Ok(mut c) = child.lock() {
                    stop(&mut c);
                }
            });
        }
        let kamailio = Kamailio {
            child,
            stopped,
            log,
            port,
            dir,
        };
        kamailio.wait_ready();
        kamailio
    }

    /// Waits (bounded) until Kamailio answers an OPTIONS over UDP and one over TCP.
    fn wait_ready(&self) {
        let deadline = Instant::now() + STARTUP;
        let udp = UdpSocket::bind("127.0.0.1:0").expect("probe socket");
        udp.set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        let mut n = 0;
        loop {
            self.assert_running("while starting");
            assert!(
                Instant::now() < deadline,
                "kamailio did not answer OPTIONS over UDP within {STARTUP:?}\n{}",
                self.report()
            );
            n += 1;
            let local = udp.local_addr().expect("addr");
            let options = self.options(&format!("UDP {local}"), n);
            let _ = udp.send_to(options.as_bytes(), ("127.0.0.1", self.port));
            let mut buf = [0u8; 4096];
            if let Ok((len, _)) = udp.recv_from(&mut buf) {
                if buf[..len].starts_with(b"SIP/2.0 200") {
                    break;
                }
            }
        }
        loop {
            self.assert_running("while starting");
            assert!(
                Instant::now() < deadline,
                "kamailio did not answer OPTIONS over TCP within {STARTUP:?}\n{}",
                self.report()
            );
            n += 1;
            if let Ok(mut tcp) = TcpStream::connect(("127.0.0.1", self.port)) {
                let local = tcp.local_addr().expect("addr");
                let options = self.options(&format!("TCP {local}"), n);
                tcp.set_read_timeout(Some(Duration::from_millis(500)))
                    .expect("timeout");
                let _ = tcp.write_all(options.as_bytes());
                let mut buf = [0u8; 4096];
                if let Ok(len) = tcp.read(&mut buf) {
                    if buf[..len].starts_with(b"SIP/2.0 200") {
                        break;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// An OPTIONS to Kamailio itself (answered 200 Keepalive by the configuration).
    fn options(&self, via: &str, n: u32) -> String {
        let port = self.port;
        format!(
            "OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n\
             Via: SIP/2.0/{via};branch=z9hG4bK-probe-{n};rport\r\n\
             Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=probe\r\n\
             To: <sip:127.0.0.1:{port}>\r\nCall-ID: probe-{n}@127.0.0.1\r\n\
             CSeq: {n} OPTIONS\r\nContent-Length: 0\r\n\r\n"
        )
    }

    fn assert_running(&self, when: &str) {
        let status = self.child.lock().expect("child lock").try_wait();
        if let Ok(Some(status)) = status {
            // Let the reader threads take the last lines.
            std::thread::sleep(Duration::from_millis(200));
            panic!("kamailio exited {when} ({status})\n{}", self.report());
        }
    }

    /// The outbound proxy URI: Kamailio's listening address.
    fn proxy(&self, transport: Transport) -> transport_sip::Uri {
        let uri = format!("sip:127.0.0.1:{}{};lr", self.port, transport.param());
        transport_sip::Uri::parse(uri.as_bytes()).expect("proxy uri")
    }

    /// The registrar URI: the domain (reached through the outbound proxy).
    fn registrar(&self, transport: Transport) -> transport_sip::Uri {
        let uri = format!("sip:{DOMAIN}{}", transport.param());
        transport_sip::Uri::parse(uri.as_bytes()).expect("registrar uri")
    }

    fn log(&self) -> String {
        self.log.lock().expect("log lock").clone()
    }

    /// Waits (bounded) until Kamailio's log has a line containing every one of `parts`.
    async fn wait_log(&self, parts: &[&str]) -> bool {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            if self
                .log()
                .lines()
                .any(|l| parts.iter().all(|p| l.contains(p)))
            {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn report(&self) -> String {
        format!(
            "--- kamailio log (port {}) ---\n{}",
            self.port,
            tail(&self.log(), 12000)
        )
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::Release);
        if let Ok(mut child) = self.child.lock() {
            stop(&mut child);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One of our users: its own SIP stack (on 127.0.0.1, a free port) with Kamailio as
/// registrar and outbound proxy, and one endpoint `sip:USER@ucc.test`.
struct User {
    _platform: Platform,
    endpoint: Endpoint,
    incoming: IncomingSessions,
}

impl User {
    async fn new(kam: &Kamailio, transport: Transport, user: &str, password: &str) -> User {
        User::with_expiry(kam, transport, user, password, None).await
    }

    /// As [`User::new`], asking the registrar for `expires` seconds when given.
    async fn with_expiry(
        kam: &Kamailio,
        transport: Transport,
        user: &str,
        password: &str,
        expires: Option<u32>,
    ) -> User {
        let bind = "127.0.0.1:0".parse().expect("addr");
        let mut config = match transport {
            Transport::Udp => SipConfig::udp(bind),
            Transport::Tcp => SipConfig::tcp(bind),
        }
        .with_registrar(kam.registrar(transport))
        .with_outbound_proxy(kam.proxy(transport));
        if let Some(expires) = expires {
            config.register_expires = expires;
        }
        let sip = SipTransport::bind(config).await.expect("bind SIP");
        let platform = Platform::builder().transport(sip).build();
        let endpoint = platform
            .create_endpoint(
                EndpointConfig::new(aor(user))
                    .display_name(user)
                    .credential(DOMAIN, Credential::new(user, password)),
            )
            .expect("endpoint");
        let incoming = endpoint.session_manager().incoming().expect("incoming");
        User {
            _platform: platform,
            endpoint,
            incoming,
        }
    }

    /// Registers through Kamailio; panics with its log on failure.
    async fn enable(&self, kam: &Kamailio) {
        let enabled = timeout(STEP, self.endpoint.enable(None).expect("enable")).await;
        match enabled {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!(
                "{} did not register: {e}\n{}",
                self.endpoint.uri(),
                kam.report()
            ),
            Err(_) => panic!(
                "{} did not register within {STEP:?}\n{}",
                self.endpoint.uri(),
                kam.report()
            ),
        }
    }

    /// Unregisters through Kamailio.
    async fn disable(&self, kam: &Kamailio) {
        let disabled = timeout(STEP, self.endpoint.disable(None).expect("disable")).await;
        assert!(
            matches!(disabled, Ok(Ok(()))),
            "{} did not unregister: {disabled:?}\n{}",
            self.endpoint.uri(),
            kam.report()
        );
    }

    /// The next incoming session (bounded).
    async fn next_incoming(&mut self, kam: &Kamailio) -> IncomingSession {
        match timeout(STEP, self.incoming.next()).await {
            Ok(Some(s)) => s,
            Ok(None) => panic!("incoming stream closed"),
            Err(_) => panic!(
                "no incoming session at {}\n{}",
                self.endpoint.uri(),
                kam.report()
            ),
        }
    }
}

fn aor(user: &str) -> Uri {
    Uri::parse(&format!("sip:{user}@{DOMAIN}")).expect("aor")
}

/// Waits (bounded) for a session's end; `Some(status)` when it ended.
async fn ended(events: &mut Subscription<SessionEvent>) -> Option<session_core::Status> {
    timeout(STEP, async {
        loop {
            match events.recv().await {
                Ok(SessionEvent::Terminated { status }) => return Some(status),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    })
    .await
    .ok()
    .flatten()
}

/// Waits (bounded) for the next message from a participant: (content type, body).
async fn message(events: &mut Subscription<ParticipantEvent>) -> Option<(String, Vec<u8>)> {
    timeout(STEP, async {
        loop {
            match events.recv().await {
                Ok(ParticipantEvent::MessageReceived { content_type, body }) => {
                    return Some((content_type.to_string(), body.to_vec()));
                }
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    })
    .await
    .ok()
    .flatten()
}

/// Sends one message in an IM session (bounded); panics with Kamailio's log on failure.
async fn send(kam: &Kamailio, session: &session_core::Session, text: &str) {
    let sent = timeout(
        STEP,
        session
            .im()
            .expect("im")
            .send_message("text/plain; charset=UTF-8", text.to_owned(), None)
            .expect("send"),
    )
    .await;
    match sent {
        Ok(Ok(report)) => assert!(report.all_delivered(), "{report:?}\n{}", kam.report()),
        Ok(Err(e)) => panic!("the MESSAGE failed: {e}\n{}", kam.report()),
        Err(_) => panic!("the MESSAGE got no answer\n{}", kam.report()),
    }
}

/// Asserts that the next message on `events` is `text`, byte-exact, as text/plain.
async fn receive(kam: &Kamailio, events: &mut Subscription<ParticipantEvent>, text: &str) {
    let (content_type, body) = message(events)
        .await
        .unwrap_or_else(|| panic!("no message {text:?} arrived\n{}", kam.report()));
    assert_eq!(body, text.as_bytes(), "{}", kam.report());
    assert!(
        content_type.to_ascii_lowercase().starts_with("text/plain"),
        "{content_type}"
    );
}

/// Alice calls bob through Kamailio; bob accepts; alice hangs up and bob's session ends.
async fn call(kam: &Kamailio, alice: &User, bob: &mut User) {
    let session = alice
        .endpoint
        .session_manager()
        .create_session(SessionType::AudioVideo, Context::new())
        .expect("session");
    let callee: Participant = session
        .create_participant(aor("bob"), Context::new())
        .expect("participant");
    let av = callee.av().expect("av");
    av.add_channel(&av.create_channel(MediaType::Audio))
        .expect("audio");
    let op = session.add_participant(&callee, None).expect("invite");
    let mut offer = bob.next_incoming(kam).await;
    assert_eq!(offer.session_type(), SessionType::AudioVideo);
    assert_eq!(
        offer.inviter().uri().to_string(),
        aor("alice").to_string(),
        "the caller as bob sees it\n{}",
        kam.report()
    );
    let mut at_bob = offer.session().events();
    let bob_session = timeout(STEP, offer.accept())
        .await
        .expect("accept timed out")
        .unwrap_or_else(|e| panic!("bob could not accept: {e}\n{}", kam.report()));
    match timeout(STEP, op).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("the call failed: {e}\n{}", kam.report()),
        Err(_) => panic!("the call got no answer\n{}", kam.report()),
    }
    assert_eq!(callee.state(), ParticipantState::Connected);
    let hangup = timeout(
        STEP,
        session
            .terminate(Reason::NotSpecified, None)
            .expect("hang up"),
    )
    .await;
    assert!(
        matches!(hangup, Ok(Ok(()))),
        "hang-up: {hangup:?}\n{}",
        kam.report()
    );
    let status = ended(&mut at_bob)
        .await
        .unwrap_or_else(|| panic!("bob's session did not end\n{}", kam.report()));
    assert_eq!(status.code, StatusCode::OK, "{}", kam.report());
    assert!(bob_session.is_terminated());
}

/// Alice opens an IM session with `peer`, who accepts; one message each way. Returns
/// both sessions.
async fn im_each_way(
    kam: &Kamailio,
    alice: &User,
    peer: &mut User,
    peer_name: &str,
) -> (session_core::Session, session_core::Session) {
    let session = alice
        .endpoint
        .session_manager()
        .create_session(SessionType::InstantMessaging, Context::new())
        .expect("session");
    let remote = session
        .create_participant(aor(peer_name), Context::new())
        .expect("participant");
    let mut at_alice = remote.events();
    let invited = timeout(
        STEP,
        session.add_participant(&remote, None).expect("invite"),
    );
    // In session mode the peer sees the INVITE before alice's invitation completes; in
    // pager mode (a 488 from the proxy) only alice's first MESSAGE opens the session
    // at the peer. Either way: complete the invitation and the first message while the
    // peer accepts.
    let to_peer = "hello from alice via kamailio, caf\u{e9} \u{2713}";
    let alice_side = async {
        match invited.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("the IM invitation failed: {e}\n{}", kam.report()),
            Err(_) => panic!("the IM invitation got no answer\n{}", kam.report()),
        }
        send(kam, &session, to_peer).await;
    };
    let peer_side = async {
        let mut offer = peer.next_incoming(kam).await;
        assert_eq!(offer.session_type(), SessionType::InstantMessaging);
        let mut from_alice = offer.inviter().events();
        let peer_session = timeout(STEP, offer.accept())
            .await
            .expect("accept timed out")
            .unwrap_or_else(|e| panic!("{peer_name} could not accept: {e}\n{}", kam.report()));
        receive(kam, &mut from_alice, to_peer).await;
        peer_session
    };
    let ((), peer_session) = tokio::join!(alice_side, peer_side);
    let to_alice = format!("hello from {peer_name} via kamailio, \u{2713} <&>");
    send(kam, &peer_session, &to_alice).await;
    receive(kam, &mut at_alice, &to_alice).await;
    (session, peer_session)
}

async fn call_and_im_through_kamailio(transport: Transport) {
    let kam = Kamailio::start(&format!("call-{transport:?}"));
    let alice = User::new(&kam, transport, "alice", "alice-secret").await;
    let mut bob = User::new(&kam, transport, "bob", "bob-secret").await;
    alice.enable(&kam).await;
    bob.enable(&kam).await;
    for user in ["alice", "bob"] {
        assert!(
            kam.wait_log(&["REGISTER authenticated as", user]).await,
            "Kamailio did not authenticate {user}'s REGISTER\n{}",
            kam.report()
        );
    }
    // What Kamailio should have seen but did not; reported together at the end, so
    // that one routing fault does not hide the rest of the run.
    let mut missing: Vec<&str> = Vec::new();

    call(&kam, &alice, &mut bob).await;
    // The initial INVITE was challenged and authenticated; ACK and BYE followed
    // Kamailio's Record-Route (loose routing), to bob's contact.
    for line in [
        "INVITE authenticated as alice",
        "request ACK sip:bob@127.0.0.1",
        "request BYE sip:bob@127.0.0.1",
    ] {
        if !kam.wait_log(&[line]).await {
            missing.push(line);
        }
    }

    let (session, peer_session) = im_each_way(&kam, &alice, &mut bob, "bob").await;
    // Both messages were in-dialog MESSAGEs relayed by Kamailio, to bob's contact and
    // to alice's.
    for line in [
        "request MESSAGE sip:bob@127.0.0.1",
        "request MESSAGE sip:alice@127.0.0.1",
    ] {
        if !kam.wait_log(&[line]).await {
            missing.push(line);
        }
    }
    let mut at_bob = peer_session.events();
    timeout(
        STEP,
        session.terminate(Reason::NotSpecified, None).expect("end"),
    )
    .await
    .expect("BYE timed out")
    .expect("IM session ended");
    assert!(
        ended(&mut at_bob).await.is_some(),
        "bob's IM session did not end\n{}",
        kam.report()
    );

    alice.disable(&kam).await;
    bob.disable(&kam).await;

    let log = kam.log();
    assert!(
        missing.is_empty(),
        "requests inside the dialogs did not go through Kamailio: no {missing:?} in its \
         log. Kamailio record-routes the INVITEs, so the 2xx must carry its Record-Route \
         (RFC 3261 §12.1.1) and the caller's route set must send ACK, BYE and MESSAGE \
         to it; the 200 as Kamailio relayed it: {:?}\n{}",
        log.lines()
            .find(|l| l.contains("reply 200") && l.contains("to INVITE")),
        kam.report()
    );
    // Nothing inside a dialog was challenged, and no request carried credentials the
    // proxy did not consume (they would reach the callee).
    assert!(
        !log.contains("carries other credentials"),
        "credentials relayed to the callee\n{}",
        kam.report()
    );
    assert!(
        !log.lines()
            .any(|l| l.contains("challenging") && ["ACK", "BYE"].iter().any(|m| l.contains(m))),
        "a request inside a dialog was challenged\n{}",
        kam.report()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_call_and_message_through_kamailio_udp() {
    call_and_im_through_kamailio(Transport::Udp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_call_and_message_through_kamailio_tcp() {
    call_and_im_through_kamailio(Transport::Tcp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pager_mode_messages_through_kamailio() {
    let kam = Kamailio::start("pager");
    let alice = User::new(&kam, Transport::Udp, "alice", "alice-secret").await;
    let mut carol = User::new(&kam, Transport::Udp, "carol", "carol-secret").await;
    alice.enable(&kam).await;
    carol.enable(&kam).await;
    let (session, carol_session) = im_each_way(&kam, &alice, &mut carol, "carol").await;
    // Kamailio refused the session-mode INVITE, and both MESSAGEs went outside a
    // dialog, each sender's challenged and authenticated.
    for parts in [
        &["session-mode IM to carol refused: 488"][..],
        &["MESSAGE authenticated as alice"][..],
        &["MESSAGE authenticated as carol"][..],
    ] {
        assert!(
            kam.wait_log(parts).await,
            "no {parts:?} in Kamailio's log\n{}",
            kam.report()
        );
    }
    drop((session, carol_session));
    alice.disable(&kam).await;
    carol.disable(&kam).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_refreshes_through_kamailio() {
    let kam = Kamailio::start("refresh");
    let alice = User::with_expiry(&kam, Transport::Udp, "alice", "alice-secret", Some(2)).await;
    alice.enable(&kam).await;
    // Granted 2 s, refreshed after 1 s: the refresh answers the nonce it already has
    // (no second challenge) and Kamailio accepts it.
    let deadline = Instant::now() + Duration::from_secs(6);
    let count = |needle: &str| kam.log().lines().filter(|l| l.contains(needle)).count();
    while count("REGISTER authenticated as alice") < 3 {
        assert!(
            Instant::now() < deadline,
            "no two refreshes within 6 s\n{}",
            kam.report()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        count("REGISTER of sip:alice@ucc.test without credentials"),
        1,
        "only the first REGISTER is challenged\n{}",
        kam.report()
    );
    alice.disable(&kam).await;
    assert!(
        kam.wait_log(&["REGISTER of sip:alice@ucc.test saved (Expires 0)"])
            .await,
        "Kamailio saw no unregistration\n{}",
        kam.report()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_fails_enable() {
    let kam = Kamailio::start("wrong-password");
    let alice = User::new(&kam, Transport::Udp, "alice", "not-alices-password").await;
    let enabled = timeout(STEP, alice.endpoint.enable(None).expect("enable"))
        .await
        .unwrap_or_else(|_| panic!("enable did not finish\n{}", kam.report()));
    let err = enabled.expect_err("a wrong password must not register");
    assert!(
        matches!(
            err.status().code,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        ),
        "{err}\n{}",
        kam.report()
    );
    assert!(
        kam.wait_log(&["REGISTER of sip:alice@ucc.test: digest result -2"])
            .await,
        "Kamailio did not refuse the password\n{}",
        kam.report()
    );
}
