//! Interop with SIPp (the `sipp` binary, Debian package `sip-tester`) over UDP and TCP on
//! 127.0.0.1:
//!
//! - SIPp as UAC sends 20 OPTIONS + MESSAGE pairs (`tests/sipp/uac_options_message.xml`)
//!   to a responder built on [`TransportLayer`] and the sans-IO `TransactionLayer`
//!   (server transactions, `response_for`); SIPp must exit 0 with 20 successful calls and
//!   no failed calls or unexpected messages in its statistics file.
//! - Our client sends 20 OPTIONS + MESSAGE pairs to SIPp as UAS
//!   (`tests/sipp/uas_options_message.xml`) in client transactions and must get every
//!   200; SIPp must exit 0 with the same clean statistics.
//!
//! A missing `sipp` fails the test with a message saying how to install it. Every SIPp run
//! has `-timeout 30s -timeout_error` and is killed (by its pid) if it outlives a deadline;
//! its output, statistics and error log are in every failure message.

#[path = "common/peer_setup.rs"]
mod peer_setup;
use peer_setup::{free_port, require_sipp, sipp_transport_flag};
#[path = "sipp/endpoint.rs"]
mod endpoint;
#[path = "sipp/responder.rs"]
mod responder;

use std::collections::HashMap;
use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use transport_sip::transaction::Peer;
use transport_sip::transport::{TransportConfig, TransportKind, TransportLayer};
use transport_sip::{Method, StatusCode};

use endpoint::{Endpoint, spawn_transaction_responder};
use responder::request;

/// SIPp "calls" (one OPTIONS and one MESSAGE each) per run.
const CALLS: u32 = 20;
/// SIPp's own bound on a run (`-timeout`), passed with `-timeout_error`.
const SIPP_TIMEOUT: &str = "30s";
/// When we kill a SIPp that has not exited.
const KILL_AFTER: Duration = Duration::from_secs(45);
/// Bound on one response from SIPp.
const WAIT: Duration = Duration::from_secs(5);

fn scenario(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(name)
        .display()
        .to_string()
}

/// A finished SIPp run.
struct SippRun {
    dir: PathBuf,
    code: Option<i32>,
    killed: bool,
    stdout: String,
    stderr: String,
    errors: String,
    stats: HashMap<String, String>,
}

impl SippRun {
    fn stat(&self, name: &str) -> Option<u64> {
        self.stats.get(name).and_then(|v| v.trim().parse().ok())
    }

    /// Everything a failure message needs.
    fn report(&self) -> String {
        let tail = |s: &str| {
            let start = s.len().saturating_sub(3000);
            let start = (start..s.len())
                .find(|&i| s.is_char_boundary(i))
                .unwrap_or(s.len());
            s[start..].to_owned()
        };
        let mut keys: Vec<_> = self
            .stats
            .iter()
            .filter(|(k, v)| k.ends_with("(C)") && v.trim() != "0")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        keys.sort();
        format!(
            "SIPp exit code {:?}{} (dir {})\nnon-zero cumulative stats: {}\n\
             --- errors ---\n{}\n--- stderr ---\n{}\n--- stdout (tail) ---\n{}",
            self.code,
            if self.killed {
                ", killed at the deadline"
            } else {
                ""
            },
            self.dir.display(),
            keys.join(" "),
            tail(&self.errors),
            tail(&self.stderr),
            tail(&self.stdout),
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
            "OutOfCallMsgs(C)",
            "FatalErrors(C)",
        ] {
            assert_eq!(self.stat(counter), Some(0), "{counter}:\n{report}");
        }
    }
}

/// Runs `sipp args…` in a scratch directory with statistics and error tracing, kills it by
/// pid if it outlives [`KILL_AFTER`], and collects what it wrote. Blocking: call it from
/// `spawn_blocking`.
fn run_sipp(name: &str, args: Vec<String>) -> SippRun {
    let dir = std::env::temp_dir().join(format!("ucc-sipp-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let stats_path = dir.join("stats.csv");
    let errors_path = dir.join("errors.log");
    let stdout = File::create(dir.join("stdout.txt")).expect("stdout file");
    let stderr = File::create(dir.join("stderr.txt")).expect("stderr file");
    let child = Command::new("sipp")
        .args(&args)
        .args(["-nostdin", "-timeout", SIPP_TIMEOUT, "-timeout_error"])
        .args(["-trace_stat", "-stf"])
        .arg(&stats_path)
        .args(["-trace_err", "-error_file"])
        .arg(&errors_path)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("`sipp` is not on PATH: install the Debian package `sip-tester`")
        }
        Err(e) => panic!("could not start sipp: {e}"),
    };
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let _ = tx.send(child.wait().ok().and_then(|s| s.code()));
    });
    let (code, killed) = match rx.recv_timeout(KILL_AFTER) {
        Ok(code) => (code, false),
        Err(_) => {
            // Only this child, by its pid.
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            (rx.recv_timeout(Duration::from_secs(5)).ok().flatten(), true)
        }
    };
    let _ = waiter.join();
    let read = |p: PathBuf| std::fs::read_to_string(p).unwrap_or_default();
    let stats_text = read(stats_path);
    let mut lines = stats_text.lines().filter(|l| !l.trim().is_empty());
    let header = lines.next().unwrap_or_default();
    let last = lines.next_back().unwrap_or_default();
    let stats = header
        .split(';')
        .zip(last.split(';'))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    SippRun {
        code,
        killed,
        stdout: read(dir.join("stdout.txt")),
        stderr: read(dir.join("stderr.txt")),
        errors: read(errors_path),
        stats,
        dir,
    }
}

/// (a) SIPp UAC → our responder.
async fn sipp_uac_to_responder(kind: TransportKind) {
    require_sipp();
    let (server, server_rx) = TransportLayer::new(TransportConfig::default());
    let server = Arc::new(server);
    let addr = server
        .bind(kind, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind");
    let (stop, stopped) = oneshot::channel();
    let responder = spawn_transaction_responder(Endpoint::new(server.clone(), server_rx), stopped);

    let args = vec![
        addr.to_string(),
        "-sf".into(),
        scenario("uac_options_message.xml"),
        "-i".into(),
        "127.0.0.1".into(),
        "-p".into(),
        free_port().to_string(),
        "-t".into(),
        sipp_transport_flag(kind).into(),
        "-m".into(),
        CALLS.to_string(),
        "-r".into(),
        "20".into(),
    ];
    let name = format!("uac-{kind}");
    let run = tokio::task::spawn_blocking(move || run_sipp(&name, args))
        .await
        .expect("sipp runner");
    stop.send(()).expect("responder running");
    let seen = responder.await.expect("responder");
    run.assert_clean(u64::from(CALLS));

    let count = |m: Method| seen.iter().filter(|s| s.method == m).count();
    let calls = CALLS as usize;
    // UDP may see SIPp retransmissions on a loaded machine; TCP sees each request once.
    if kind.is_reliable() {
        assert_eq!(count(Method::Options), calls, "{}", run.report());
        assert_eq!(count(Method::Message), calls, "{}", run.report());
        let first = seen[0].source.remote;
        assert!(
            seen.iter()
                .all(|s| s.source.remote == first && s.source.transport == kind),
            "SIPp t1 used one connection"
        );
    } else {
        assert!(count(Method::Options) >= calls, "{}", run.report());
        assert!(count(Method::Message) >= calls, "{}", run.report());
    }
    let _ = std::fs::remove_dir_all(&run.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_uac_options_and_message_over_udp() {
    sipp_uac_to_responder(TransportKind::Udp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_uac_options_and_message_over_tcp() {
    sipp_uac_to_responder(TransportKind::Tcp).await;
}

/// (b) Our client, through client transactions, → SIPp UAS.
async fn client_to_sipp_uas(kind: TransportKind) {
    require_sipp();
    let port = free_port();
    let sipp_addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let args = vec![
        "-sf".into(),
        scenario("uas_options_message.xml"),
        "-i".into(),
        "127.0.0.1".into(),
        "-p".into(),
        port.to_string(),
        "-t".into(),
        sipp_transport_flag(kind).into(),
        "-m".into(),
        CALLS.to_string(),
    ];
    let name = format!("uas-{kind}");
    let sipp = tokio::task::spawn_blocking(move || run_sipp(&name, args));

    let (client, rx) = TransportLayer::new(TransportConfig::default());
    let client = Arc::new(client);
    let local = client
        .bind(kind, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind");
    let mut endpoint = Endpoint::new(client.clone(), rx);
    let peer = Peer::new(sipp_addr, kind.into());
    let uri = format!("sip:sipp@{sipp_addr}");

    for i in 0..CALLS {
        let call_id = format!("ucc-{kind}-{i}");
        for (cseq, method) in [(1, Method::Options), (2, Method::Message)] {
            let name = String::from_utf8_lossy(method.as_bytes()).into_owned();
            let build = |e: &mut Endpoint| {
                let branch = e.transactions().new_branch();
                request(
                    &name,
                    &uri,
                    kind,
                    local,
                    &branch,
                    &call_id,
                    cseq,
                    "hello SIPp",
                )
            };
            let first = i == 0 && cseq == 1;
            // SIPp has no readiness signal. Over UDP the client transaction retransmits
            // (Timer A) until SIPp listens; over TCP a refused connect ends the transaction,
            // so the first request is retried a bounded number of times.
            let attempts = if first && kind.is_reliable() { 50 } else { 1 };
            let mut response = None;
            for _ in 0..attempts {
                let req = build(&mut endpoint);
                response = endpoint.request(req, peer, WAIT).await;
                if response.is_some() || attempts == 1 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let response = response
                .unwrap_or_else(|| panic!("no final response to {name} {call_id} from SIPp"));
            assert_eq!(response.status(), StatusCode::OK, "{name} {call_id}");
            assert_eq!(
                response.call_id().map(|c| c.as_str()),
                Some(call_id.as_str())
            );
            assert!(
                response.to().and_then(|t| t.tag()).is_some(),
                "SIPp added a To tag"
            );
        }
    }
    if kind.is_reliable() {
        assert_eq!(
            client.connection_count(),
            1,
            "one connection for all requests"
        );
    }
    let run = sipp.await.expect("sipp runner");
    run.assert_clean(u64::from(CALLS));
    let _ = std::fs::remove_dir_all(&run.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_options_and_message_to_sipp_uas_over_udp() {
    client_to_sipp_uas(TransportKind::Udp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_options_and_message_to_sipp_uas_over_tcp() {
    client_to_sipp_uas(TransportKind::Tcp).await;
}
