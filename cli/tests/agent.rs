//! `ucc agent`, `ucc call`, `ucc message` and `ucc register` end to end: the binary is
//! run as a script would run it, on loopback, against itself and against SIPp. Every
//! wait is bounded; the only processes stopped are the children started here, by
//! their handles.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// No single command of these tests may take longer.
const BOUND: Duration = Duration::from_secs(30);

/// Runs `ucc args` to completion (bounded) with `env` added.
fn ucc_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ucc"))
        .args(args)
        .env_remove("UCC_PASSWORD")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ucc");
    let deadline = Instant::now() + BOUND;
    loop {
        if child.try_wait().expect("poll ucc").is_some() {
            return child.wait_with_output().expect("ucc output");
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            panic!("ucc {args:?} did not finish within {BOUND:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn ucc(args: &[&str]) -> Output {
    ucc_env(args, &[])
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A failed command: `code`, and exactly one line on stderr, no panic.
fn assert_fails(out: &Output, code: i32, what: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "{what}: {err}");
    assert!(!err.contains("panicked"), "{what}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{what}: one line: {err}");
    assert!(err.starts_with("ucc: "), "{what}: {err}");
}

fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: exit {:?}\nstdout: {}\nstderr: {}",
        out.status,
        stdout(out),
        stderr(out)
    );
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ucc-agent-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A running `ucc agent`, its stdout read line by line; killed when dropped.
struct Agent {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    /// The agent's own URI, from its `listening` line.
    uri: String,
}

impl Agent {
    fn start(args: &[&str]) -> Agent {
        Agent::start_env(args, &[])
    }

    /// Starts an agent with extra environment variables.
    fn start_env(args: &[&str], env: &[(&str, &str)]) -> Agent {
        let mut all = vec!["agent"];
        if !args.contains(&"--max-duration") {
            all.extend_from_slice(&["--max-duration", "60s"]);
        }
        all.extend_from_slice(args);
        let mut child = Command::new(env!("CARGO_BIN_EXE_ucc"))
            .args(&all)
            .env_remove("UCC_PASSWORD")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ucc agent");
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut agent = Agent {
            child,
            lines,
            seen: Vec::new(),
            uri: String::new(),
        };
        let ready = agent.wait_for("listening ");
        agent.uri = ready
            .split_whitespace()
            .nth(1)
            .expect("listening <uri> over <transport>")
            .to_owned();
        agent
    }

    /// Waits (bounded) for a line starting with `prefix`.
    fn wait_for(&mut self, prefix: &str) -> String {
        let deadline = Instant::now() + BOUND;
        loop {
            if let Some(l) = self.seen.iter().find(|l| l.starts_with(prefix)) {
                return l.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!(
                    "the agent never printed `{prefix}…`; it printed:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// SIPp and baresip are required, as in transport-sip's interop tests: a missing one
/// fails the test with how to install it.
fn require(peer: &str, probe: &str, package: &str) {
    let ok = Command::new(peer)
        .arg(probe)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(
        ok,
        "`{peer}` is not on PATH: install the Debian package `{package}` (scripts/test installs it)"
    );
}

fn require_sipp() {
    require("sipp", "-v", "sip-tester");
}

/// Waits (bounded) for SIPp or baresip; its exit code and output.
fn finish_peer(mut child: Child) -> (Option<i32>, String) {
    let deadline = Instant::now() + BOUND;
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

/// Waits until SIPp listens on UDP `port`.
fn wait_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while UdpSocket::bind(("127.0.0.1", port)).is_ok() {
        assert!(Instant::now() < deadline, "sipp never listened on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn bad_flags_and_config_exit_2_with_one_line() {
    assert_fails(&ucc(&["call"]), 2, "missing callee");
    assert_fails(
        &ucc(&["agent", "--transport", "carrier-pigeon"]),
        2,
        "unknown transport",
    );
    assert_fails(
        &ucc(&["call", "sip:bob@127.0.0.1:5060", "--duration", "forever"]),
        2,
        "bad duration",
    );
    assert_fails(&ucc(&["message", "not a uri", "hi"]), 2, "bad URI");
    assert_fails(&ucc(&["register"]), 2, "no registrar");
    let dir = temp_dir("badconfig");
    let file = dir.join("bad.toml");
    std::fs::write(&file, "[transport]\nkind = \"carrier-pigeon\"\n").unwrap();
    let out = ucc(&["agent", "--config", file.to_str().unwrap()]);
    assert_fails(&out, 2, "bad config");
    assert!(stderr(&out).contains("line 2"), "{}", stderr(&out));
    let out = ucc(&[
        "agent",
        "--config",
        dir.join("missing.toml").to_str().unwrap(),
    ]);
    assert_fails(&out, 2, "missing config");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn unreachable_peer_exits_4_within_the_timeout() {
    let closed = free_udp_port();
    let started = Instant::now();
    let out = ucc(&[
        "call",
        &format!("sip:nobody@127.0.0.1:{closed}"),
        "--timeout",
        "1s",
    ]);
    assert_fails(&out, 4, "unreachable call");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "took {:?}",
        started.elapsed()
    );
    let out = ucc(&[
        "message",
        &format!("sip:nobody@127.0.0.1:{closed}"),
        "hello?",
        "--timeout",
        "1s",
    ]);
    assert_fails(&out, 4, "unreachable message");
}

#[test]
fn busy_agent_makes_call_and_message_exit_6() {
    let mut agent = Agent::start(&["--listen", "127.0.0.1:0", "--busy"]);
    let out = ucc(&["call", &agent.uri]);
    assert_fails(&out, 6, "busy call");
    assert!(stderr(&out).contains("486"), "{}", stderr(&out));
    agent.wait_for("rejected call from ");
    assert_fails(&ucc(&["message", &agent.uri, "hi"]), 6, "busy message");
}

#[test]
fn agent_records_the_tone_of_a_ucc_call() {
    let dir = temp_dir("record");
    let mut agent = Agent::start(&[
        "--listen",
        "127.0.0.1:0",
        "--auto-answer",
        "--record",
        dir.to_str().unwrap(),
    ]);
    let out = ucc(&["call", &agent.uri, "--duration", "2s", "--json"]);
    assert_ok(&out, "call");
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON result");
    assert_eq!(result["ended_by"], "us", "{result}");
    assert!(
        result["packets_received"].as_u64().unwrap() > 20,
        "{result}"
    );
    agent.wait_for("answered call from ");
    agent.wait_for("ended call with ");
    let recorded = agent.wait_for("recorded ");
    let path = recorded.split_whitespace().nth(1).unwrap();
    assert_tone(Path::new(path));
    std::fs::remove_dir_all(&dir).ok();
}

/// The WAV holds at least a second of media-av's default 1 kHz tone.
fn assert_tone(path: &Path) {
    assert_frequency(path, 1000.0);
}

/// The WAV holds at least a second of audio whose dominant frequency is `hz` (±1 %).
fn assert_frequency(path: &Path, hz: f64) {
    let mut wav = hound::WavReader::open(path).expect("the recorded WAV");
    let rate = wav.spec().sample_rate;
    let samples: Vec<i16> = wav.samples::<i16>().map(Result::unwrap).collect();
    assert!(samples.len() >= rate as usize, "{} samples", samples.len());
    // Skip jitter-buffer start-up and codec warm-up.
    let steady = &samples[(rate as usize * 3 / 10)..];
    let f =
        media_av::quality::dominant_frequency(&steady[..(rate as usize).min(steady.len())], rate)
            .expect("audio, not silence");
    assert!(
        (hz * 0.99..=hz * 1.01).contains(&f),
        "dominant frequency {f} Hz, expected {hz} Hz"
    );
}

#[test]
fn message_to_an_echoing_agent_gets_the_echo() {
    let mut agent = Agent::start(&["--listen", "127.0.0.1:0", "--auto-answer", "--echo"]);
    let out = ucc(&["message", &agent.uri, "héllo ✓ agent", "--wait-reply", "5s"]);
    assert_ok(&out, "message");
    let printed = stdout(&out);
    assert!(printed.starts_with("delivered to "), "{printed}");
    assert!(printed.contains("reply: héllo ✓ agent"), "{printed}");
    let line = agent.wait_for("message from ");
    assert!(line.ends_with(": héllo ✓ agent"), "{line}");
    // The reply printed above is the echo; the agent's own `echoed to` line may report
    // a failure instead, as the sender can hang up before its 200 to the echo leaves.
}

#[test]
fn agent_answers_a_sipp_call() {
    require_sipp();
    let dir = temp_dir("sipp");
    let mut agent = Agent::start(&[
        "--listen",
        "127.0.0.1:0",
        "--auto-answer",
        "--record",
        dir.to_str().unwrap(),
    ]);
    let target = agent.uri.trim_start_matches("sip:ucc@").to_owned();
    // INVITE offering PCMU, 200, ACK, 2 s of a 1 kHz tone as RTP from a PCAP, BYE, 200.
    write_tone_pcap(&dir.join("tone.pcap"));
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/agent/uac_tone.xml");
    let sipp = Command::new("sipp")
        .current_dir(&dir)
        .arg(&target)
        .arg("-sf")
        .arg(&scenario)
        .args(["-s", "ucc", "-m", "1"])
        .args(["-mp", &free_udp_port().to_string()])
        .args(["-i", "127.0.0.1", "-p", &free_udp_port().to_string()])
        .args(["-timeout", "20s", "-timeout_error", "-nostdin"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (code, output) = finish_peer(sipp);
    assert_eq!(code, Some(0), "sipp's call failed:\n{output}");
    agent.wait_for("answered call from sip:sipp@");
    agent.wait_for("ended call with sip:sipp@");
    let recorded = agent.wait_for("recorded ");
    assert_tone(Path::new(recorded.split_whitespace().nth(1).unwrap()));
    std::fs::remove_dir_all(&dir).ok();
}

/// A PCAP (Ethernet, IPv4, UDP) of 2 s of RTP: PCMU, 20 ms packets of a 1 kHz tone.
fn write_tone_pcap(path: &Path) {
    let mut out = Vec::new();
    // Global header: magic, version 2.4, zone, accuracy, snap length, Ethernet.
    out.extend_from_slice(&0xa1b2_c3d4_u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65_535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for n in 0..100u32 {
        let mut rtp = vec![0x80, 0x00];
        rtp.extend_from_slice(&(n as u16).to_be_bytes());
        rtp.extend_from_slice(&(n * 160).to_be_bytes());
        rtp.extend_from_slice(&0x1234_5678u32.to_be_bytes());
        for i in 0..160 {
            let t = f64::from(n * 160 + i) / 8000.0;
            let s = (8000.0 * (2.0 * std::f64::consts::PI * 1000.0 * t).sin()) as i16;
            rtp.push(media_av::codec::g711::ulaw_compress(s));
        }
        let udp_len = 8 + rtp.len() as u16;
        let ip_len = 20 + udp_len;
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x08, 0x00]);
        frame.extend_from_slice(&[0x45, 0x00]);
        frame.extend_from_slice(&ip_len.to_be_bytes());
        frame.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0]);
        frame.extend_from_slice(&[127, 0, 0, 1, 127, 0, 0, 1]);
        frame.extend_from_slice(&6000u16.to_be_bytes());
        frame.extend_from_slice(&6002u16.to_be_bytes());
        frame.extend_from_slice(&udp_len.to_be_bytes());
        frame.extend_from_slice(&[0, 0]);
        frame.extend_from_slice(&rtp);
        let usec = n * 20_000;
        out.extend_from_slice(&(usec / 1_000_000).to_le_bytes());
        out.extend_from_slice(&(usec % 1_000_000).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&frame);
    }
    std::fs::write(path, out).unwrap();
}

#[test]
fn register_against_a_sipp_digest_registrar() {
    require_sipp();
    // The transport-sip scenario: a 401 digest challenge (realm ucc.test, alice/s3cret),
    // 403 for a wrong answer.
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../transport-sip/tests/ua_register/registrar.xml");
    for (password, code) in [("s3cret", 0), ("wrong", 5)] {
        let port = free_udp_port();
        let sipp = sipp_registrar(&scenario, port);
        wait_listening(port);
        // The password comes from the environment, as a script would pass it.
        let out = ucc_env(
            &[
                "register",
                "--registrar",
                &format!("sip:127.0.0.1:{port}"),
                "--uri",
                "sip:alice@ucc.test",
                "--user",
                "alice",
                "--timeout",
                "5s",
            ],
            &[("UCC_PASSWORD", password)],
        );
        let (_, sipp_output) = finish_peer(sipp);
        if code == 0 {
            assert_ok(&out, &format!("register\n{sipp_output}"));
            assert!(stdout(&out).starts_with("registered sip:alice@ucc.test"));
        } else {
            assert_fails(&out, code, "wrong password");
            assert!(stderr(&out).contains("403"), "{}", stderr(&out));
        }
    }
}

/// A CA and a certificate for 127.0.0.1 it signed, as PEM files in `dir`.
fn write_certificates(dir: &Path) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "ucc test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("agent.pem"), leaf.pem()).unwrap();
    std::fs::write(dir.join("agent.key"), key.serialize_pem()).unwrap();
}

/// The same `[account]` and `[agent]` sections; only `[transport]` differs.
const COMMON: &str = r#"
[account]
user = "ucc"
password_env = "UCC_TEST_UNUSED_PASSWORD"

[agent]
auto_answer = true
record = "recordings"
"#;

#[test]
fn same_config_runs_over_every_transport() {
    let dir = temp_dir("swap");
    write_certificates(&dir);
    let transports = [
        ("sip-udp", "kind = \"sip-udp\"\nlisten = \"127.0.0.1:0\"\n"),
        ("sip-tcp", "kind = \"sip-tcp\"\nlisten = \"127.0.0.1:0\"\n"),
        (
            "sip-tls",
            "kind = \"sip-tls\"\nlisten = \"127.0.0.1:0\"\ncert = \"agent.pem\"\nkey = \"agent.key\"\nca = \"ca.pem\"\n",
        ),
        (
            "quic",
            "kind = \"quic\"\nlisten = \"127.0.0.1:0\"\ncert = \"agent.pem\"\nkey = \"agent.key\"\nca = \"ca.pem\"\n",
        ),
    ];
    for (name, transport) in transports {
        let file = dir.join(format!("{name}.toml"));
        std::fs::write(&file, format!("[transport]\n{transport}{COMMON}")).unwrap();
        let config = file.to_str().unwrap();
        let mut agent = Agent::start(&["--config", config]);
        assert!(
            agent.seen[0].ends_with(&format!("over {name}")),
            "{}",
            agent.seen[0]
        );
        let out = ucc(&[
            "call",
            &agent.uri,
            "--config",
            config,
            "--duration",
            "1500ms",
        ]);
        assert_ok(&out, name);
        assert!(
            stdout(&out).contains(&format!("over {name}: answered")),
            "{}",
            stdout(&out)
        );
        let recorded = agent.wait_for("recorded ");
        let path = recorded.split_whitespace().nth(1).unwrap();
        assert!(
            Path::new(path).starts_with(dir.join("recordings")),
            "relative to the file: {path}"
        );
        assert_tone(Path::new(path));
        std::fs::remove_dir_all(dir.join("recordings")).ok();
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn played_file_is_what_the_agent_records() {
    let dir = temp_dir("play");
    // 3 s of 440 Hz, 48 kHz mono: what Opus sends.
    let wav = dir.join("a440.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&wav, spec).unwrap();
    for i in 0..48_000 * 3 {
        let t = f64::from(i) / 48_000.0;
        w.write_sample((8000.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
    let rec = dir.join("rec");
    let mut agent = Agent::start(&[
        "--listen",
        "127.0.0.1:0",
        "--auto-answer",
        "--record",
        rec.to_str().unwrap(),
    ]);
    let out = ucc(&[
        "call",
        &agent.uri,
        "--duration",
        "2s",
        "--play",
        wav.to_str().unwrap(),
    ]);
    assert_ok(&out, "call --play");
    let recorded = agent.wait_for("recorded ");
    assert_frequency(
        Path::new(recorded.split_whitespace().nth(1).unwrap()),
        440.0,
    );
    assert_fails(
        &ucc(&[
            "call",
            &agent.uri,
            "--play",
            dir.join("missing.wav").to_str().unwrap(),
        ]),
        2,
        "missing --play file",
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn echoing_agent_sends_the_callers_audio_back() {
    let dir = temp_dir("echo");
    let agent = Agent::start(&["--listen", "127.0.0.1:0", "--auto-answer", "--echo"]);
    let out = ucc(&[
        "call",
        &agent.uri,
        "--duration",
        "2s",
        "--record",
        dir.to_str().unwrap(),
        "--json",
    ]);
    assert_ok(&out, "call --record");
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON result");
    let path = result["recorded"].as_str().expect("a recording");
    // The caller sends the 1 kHz tone; what comes back is that tone.
    assert_tone(Path::new(path));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn quic_peers_can_pin_instead_of_a_ca() {
    let dir = temp_dir("pin");
    write_certificates(&dir);
    let transport = |extra: &str| {
        format!(
            "[transport]\nkind = \"quic\"\nlisten = \"127.0.0.1:0\"\ncert = \"agent.pem\"\nkey = \"agent.key\"\n{extra}{COMMON}"
        )
    };
    let agent_file = dir.join("agent.toml");
    std::fs::write(&agent_file, transport("ca = \"ca.pem\"\n")).unwrap();
    let mut agent = Agent::start(&["--config", agent_file.to_str().unwrap()]);
    let line = agent.wait_for("certificate sha-256 ");
    let fingerprint = line.rsplit(' ').next().unwrap();
    let caller_file = dir.join("caller.toml");
    std::fs::write(
        &caller_file,
        transport(&format!("pin = \"{fingerprint}\"\n")),
    )
    .unwrap();
    let out = ucc(&[
        "call",
        &agent.uri,
        "--config",
        caller_file.to_str().unwrap(),
        "--duration",
        "500ms",
    ]);
    assert_ok(&out, "call with a pin");
    let bad = transport("pin = \"00\"\n");
    std::fs::write(&caller_file, bad).unwrap();
    let out = ucc(&[
        "call",
        &agent.uri,
        "--config",
        caller_file.to_str().unwrap(),
    ]);
    assert_fails(&out, 2, "malformed pin");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn agent_with_a_wrong_password_exits_5() {
    require_sipp();
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../transport-sip/tests/ua_register/registrar.xml");
    let port = free_udp_port();
    let sipp = sipp_registrar(&scenario, port);
    wait_listening(port);
    let out = ucc(&[
        "agent",
        "--listen",
        "127.0.0.1:0",
        "--register",
        &format!("sip:127.0.0.1:{port}"),
        "--uri",
        "sip:alice@ucc.test",
        "--user",
        "alice",
        "--password",
        "wrong",
        "--max-duration",
        "20s",
    ]);
    let (_, sipp_output) = finish_peer(sipp);
    assert_fails(&out, 5, &format!("agent, wrong password\n{sipp_output}"));
}

/// A baresip configuration (in `dir`) on `port`: Opus only (baresip's sine source,
/// `ausine`, runs at 48 kHz only), a 1 kHz sine as the microphone, no sound card,
/// commands on stdin.
fn write_baresip_config(dir: &Path, port: u16) {
    let config = format!(
        "poll_method\tepoll\n\
         sip_listen\t127.0.0.1:{port}\n\
         net_interface\t127.0.0.1\n\
         audio_player\taubridge,ucc\n\
         audio_source\tausine,1000\n\
         audio_alert\taubridge,alert\n\
         rtp_stats\tno\n\
         module_path\t/usr/lib/baresip/modules\n\
         module\t\tstdio.so\n\
         module\t\topus.so\n\
         module\t\taubridge.so\n\
         module\t\tausine.so\n\
         module_tmp\tuuid.so\n\
         module_tmp\taccount.so\n\
         module_app\tmenu.so\n"
    );
    std::fs::write(dir.join("config"), config).unwrap();
    std::fs::write(
        dir.join("accounts"),
        format!("<sip:baresip@127.0.0.1:{port}>;regint=0\n"),
    )
    .unwrap();
    std::fs::write(dir.join("contacts"), "").unwrap();
}

#[test]
fn agent_answers_and_records_a_baresip_call() {
    require("baresip", "-h", "baresip");
    let dir = temp_dir("baresip");
    let rec = dir.join("rec");
    let mut agent = Agent::start(&[
        "--listen",
        "127.0.0.1:0",
        "--auto-answer",
        "--record",
        rec.to_str().unwrap(),
    ]);
    write_baresip_config(&dir, free_udp_port());
    let mut baresip = Command::new("baresip")
        .arg("-4")
        .arg("-f")
        .arg(&dir)
        .args(["-t", "20", "-e", &format!("/dial {}", agent.uri)])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    agent.wait_for("answered call from sip:baresip@");
    std::thread::sleep(Duration::from_millis(2500));
    {
        use std::io::Write;
        let stdin = baresip.stdin.as_mut().unwrap();
        stdin.write_all(b"/hangup\n").ok();
        stdin.flush().ok();
    }
    agent.wait_for("ended call with sip:baresip@");
    {
        use std::io::Write;
        let stdin = baresip.stdin.as_mut().unwrap();
        stdin.write_all(b"/quit\n").ok();
        stdin.flush().ok();
    }
    finish_peer(baresip);
    let recorded = agent.wait_for("recorded ");
    assert_tone(Path::new(recorded.split_whitespace().nth(1).unwrap()));
    std::fs::remove_dir_all(&dir).ok();
}

/// SIPp running the registrar scenario on `port` for one registration.
fn sipp_registrar(scenario: &Path, port: u16) -> std::process::Child {
    Command::new("sipp")
        .arg("-sf")
        .arg(scenario)
        .args(["-i", "127.0.0.1", "-p", &port.to_string()])
        .args(["-m", "1", "-timeout", "20s", "-timeout_error", "-nostdin"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn a_stopping_agent_hangs_up_its_calls() {
    let mut agent = Agent::start(&[
        "--listen",
        "127.0.0.1:0",
        "--auto-answer",
        "--max-duration",
        "3s",
    ]);
    let started = Instant::now();
    let out = ucc(&["call", &agent.uri, "--duration", "20s", "--json"]);
    assert_ok(&out, "call");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(summary["ended_by"], "peer", "{summary:#}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the call ended when the agent stopped, not at --duration"
    );
    agent.wait_for("hung up call");
}

/// ALSA configuration for the device tests: ALSA's own, then `default` = the null
/// plugin (captures silence, discards playback), so the devices run for real on a
/// machine without a sound card. Returns the `ALSA_CONFIG_PATH` value.
#[cfg(feature = "audio-device")]
fn null_alsa(dir: &Path) -> String {
    const ALSA_CONF: &str = "/usr/share/alsa/alsa.conf";
    assert!(
        Path::new(ALSA_CONF).exists(),
        "{ALSA_CONF} is missing: install libasound2 (scripts/test does)"
    );
    let conf = dir.join("null-default.conf");
    std::fs::write(&conf, "pcm.!default { type null }\n").unwrap();
    format!("{ALSA_CONF}:{}", conf.display())
}

#[cfg(feature = "audio-device")]
#[test]
fn agent_sends_from_a_capture_device_and_plays_on_a_playback_device() {
    let dir = temp_dir("devices");
    let alsa = null_alsa(&dir);
    let mut agent = Agent::start_env(
        &[
            "--listen",
            "127.0.0.1:0",
            "--auto-answer",
            "--capture-device",
            "default",
            "--playback-device",
            "default",
        ],
        &[("ALSA_CONFIG_PATH", &alsa)],
    );
    let out = ucc(&["call", &agent.uri, "--duration", "1s", "--json"]);
    assert_ok(&out, "call the device agent");
    let result: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    // What the agent sent came from its capture device (silence from the null plugin).
    assert!(
        result["packets_received"].as_u64().unwrap() > 10,
        "{result}"
    );
    agent.wait_for("ended call");
    std::fs::remove_dir_all(&dir).ok();
}

#[cfg(feature = "audio-device")]
#[test]
fn a_missing_audio_device_is_a_setup_error() {
    let dir = temp_dir("nodevice");
    let alsa = null_alsa(&dir);
    let out = ucc_env(
        &[
            "agent",
            "--listen",
            "127.0.0.1:0",
            "--capture-device",
            "no-such-mic",
        ],
        &[("ALSA_CONFIG_PATH", &alsa)],
    );
    // alsa-lib itself prints a line per PCM it probes (pipewire, pulse, ...) on stderr;
    // ours is the last line.
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("ucc: ")
            && last.contains("no audio capture device no-such-mic; available: default"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[cfg(feature = "video-device")]
#[test]
fn a_missing_camera_is_a_setup_error() {
    let out = ucc(&[
        "agent",
        "--listen",
        "127.0.0.1:0",
        "--video-device",
        "/dev/no-such-camera",
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("ucc: cannot start: --video-device: no video capture device /dev/no-such-camera; available: "),
        "{err}"
    );
    // A file that is not a camera: refused at start with the reason.
    let out = ucc(&[
        "agent",
        "--listen",
        "127.0.0.1:0",
        "--video-device",
        "/dev/null",
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.starts_with("ucc: cannot start: --video-device: device /dev/null: not a V4L2 device"),
        "{err}"
    );
}
