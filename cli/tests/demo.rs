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
        "2s",
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
        (2000.0..8000.0).contains(&duration),
        "call lasted {duration} ms"
    );
    assert!(call["setup_ms"].as_f64().unwrap() > 0.0);
    assert_media(&s, "memory");
}

#[test]
fn table_output_names_every_figure() {
    let out = ucc(&[
        "demo",
        "--transport",
        "memory",
        "--duration",
        "100ms",
        "--messages",
        "3",
    ]);
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
            "2s",
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
        assert_media(&s, transport);
    }
}

/// The quality bounds of the summary: what bob decoded is the 1 kHz tone and the test
/// pattern alice sent. Bounds leave room for a loaded 2-core machine: Opus at its
/// default rate measures about 27 dB SNR here and H.264 pictures over 50 dB PSNR.
fn assert_media(s: &serde_json::Value, transport: &str) {
    let m = &s["media"];
    let f = m["audio_frequency_hz"].as_f64().unwrap_or(0.0);
    assert!(
        (990.0..=1010.0).contains(&f),
        "{transport}: tone at {f} Hz: {s:#}"
    );
    let snr = m["audio_snr_db"].as_f64().unwrap_or(0.0);
    assert!(snr >= 15.0, "{transport}: audio SNR {snr} dB: {s:#}");
    assert!(
        m["video_frames"].as_u64().unwrap_or(0) >= 3,
        "{transport}: pictures: {s:#}"
    );
    let psnr = m["video_psnr_min_db"].as_f64().unwrap_or(0.0);
    assert!(psnr >= 30.0, "{transport}: worst PSNR {psnr} dB: {s:#}");
    let loss = m["loss"].as_f64().unwrap_or(1.0);
    assert!(loss <= 0.05, "{transport}: loss {loss}: {s:#}");
    assert!(
        m["packets_received"].as_u64().unwrap_or(0) >= 50,
        "{transport}: {s:#}"
    );
}

#[test]
fn record_writes_what_bob_received() {
    let dir = std::env::temp_dir().join(format!("ucc-record-{}", std::process::id()));
    let out = ucc(&[
        "demo",
        "--transport",
        "memory",
        "--duration",
        "1500ms",
        "--record",
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let wav = hound::WavReader::open(dir.join("bob-audio.wav")).expect("bob-audio.wav");
    assert!(
        wav.duration() >= wav.spec().sample_rate,
        "at least a second of audio"
    );
    let y4m = std::fs::read(dir.join("bob-video.y4m")).expect("bob-video.y4m");
    assert!(y4m.starts_with(b"YUV4MPEG2 W"), "a Y4M stream");
    assert!(
        y4m.windows(6).filter(|w| w == b"FRAME\n").count() >= 3,
        "pictures"
    );
    std::fs::remove_dir_all(&dir).ok();
}
