//! `ucc demo` end to end: the binary is run as a user would run it.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};
use std::time::Duration;

fn ucc(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ucc"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start ucc");
    // Bounded: a hung demo fails the test instead of hanging the run.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().expect("poll ucc").is_some() {
            return child.wait_with_output().expect("ucc output");
        }
        if std::time::Instant::now() > deadline {
            child.kill().ok();
            panic!("ucc {args:?} did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn demo_over_memory_reports_a_complete_call() {
    let out = ucc(&[
        "demo",
        "--transport",
        "memory",
        "--duration",
        "300ms",
        "--messages",
        "200",
        "--json",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON summary on stdout");
    assert_eq!(s["transport"], "memory");
    let im = &s["im"];
    assert_eq!(im["sent"], 200);
    assert_eq!(im["delivered"], 200, "{s:#}");
    assert_eq!(im["received_in_order"], 200, "{s:#}");
    for flag in ["composing_seen", "idle_seen", "reply_received"] {
        assert_eq!(im[flag], true, "im.{flag}: {s:#}");
    }
    let call = &s["call"];
    for flag in [
        "hold",
        "resume",
        "video_added",
        "video_removed",
        "hangup_seen",
    ] {
        assert_eq!(call[flag], true, "call.{flag}: {s:#}");
    }
    let duration = call["duration_ms"].as_f64().unwrap();
    assert!(
        (300.0..5000.0).contains(&duration),
        "call lasted {duration} ms"
    );
    assert!(call["setup_ms"].as_f64().unwrap() > 0.0);
    assert!(s["media"].is_null(), "no media engine is plugged in yet");
}

#[test]
fn table_output_names_every_figure() {
    let out = ucc(&["demo", "--duration", "100ms", "--messages", "3"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    for row in [
        "transport",
        "IM setup",
        "call setup",
        "hold / resume",
        "video added / removed",
    ] {
        assert!(table.contains(row), "row {row} missing:\n{table}");
    }
    assert!(table.contains("3 / 3 / 3"), "{table}");
}

#[test]
fn bad_flags_exit_2_with_one_error() {
    let out = ucc(&["demo", "--duration", "forever"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--duration"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let out = ucc(&["demo", "--transport", "carrier-pigeon"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn demo_over_every_network_transport() {
    for transport in ["sip-udp", "sip-tcp", "sip-tls", "quic"] {
        let out = ucc(&[
            "demo",
            "--transport",
            transport,
            "--duration",
            "200ms",
            "--messages",
            "50",
            "--json",
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{transport}: exit {:?}: {stderr}",
            out.status
        );
        let s: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON summary");
        assert_eq!(s["transport"], transport);
        assert_eq!(s["im"]["delivered"], 50, "{transport}: {s:#}");
        assert_eq!(s["im"]["received_in_order"], 50, "{transport}: {s:#}");
        for flag in [
            "hold",
            "resume",
            "video_added",
            "video_removed",
            "hangup_seen",
        ] {
            assert_eq!(s["call"][flag], true, "{transport}: call.{flag}: {s:#}");
        }
    }
}
