//! RTP interop with FFmpeg (Debian package `ffmpeg`, installed by `scripts/test`):
//! FFmpeg sends PCMU RTP and we depacketize and decode it; we send PCMU RTP and FFmpeg,
//! given our SDP, decodes it bit-exactly. Loopback only; every FFmpeg run is bounded.
#![allow(clippy::unwrap_used)]

use std::net::UdpSocket;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use media_av::codec::g711::{ulaw_compress, ulaw_expand};
use media_av::rtp::g711::{G711Law, G711Packetizer};
use media_av::rtp::{PayloadType, RtpPacket, SeqNo, Sequencer, Ssrc, Timestamp};

const RATE: f64 = 8000.0;

fn ffmpeg() -> Command {
    let probe = Command::new("ffmpeg").arg("-version").output();
    assert!(
        probe.is_ok_and(|o| o.status.success()),
        "ffmpeg is not installed: this interop test needs it (scripts/test installs the Debian package `ffmpeg`)"
    );
    let mut c = Command::new("ffmpeg");
    c.args(["-hide_banner", "-nostdin", "-loglevel", "error"]);
    c
}

/// Waits for `child` to exit within `limit`; kills it (by its own handle) otherwise.
fn wait_bounded(mut child: Child, limit: Duration) -> std::process::Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().ok();
            let out = child.wait_with_output().unwrap();
            panic!(
                "ffmpeg did not finish within {limit:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Frequency by zero crossings of the middle of the signal (the ends may hold codec
/// start-up or a partial period).
fn frequency(samples: &[i16]) -> f64 {
    let s = &samples[samples.len() / 10..samples.len() * 9 / 10];
    let crossings = s
        .windows(2)
        .filter(|w| (w[0] < 0) != (w[1] < 0))
        .count();
    crossings as f64 / 2.0 / (s.len() as f64 / RATE)
}

fn tone(hz: f64, seconds: f64, amplitude: f64) -> Vec<i16> {
    (0..(seconds * RATE) as usize)
        .map(|n| (amplitude * (2.0 * std::f64::consts::PI * hz * n as f64 / RATE).sin()) as i16)
        .collect()
}

#[test]
fn ffmpeg_sends_pcmu_we_depacketize_and_decode() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let port = socket.local_addr().unwrap().port();
    // RTCP to the same port (rtcp-mux style), told apart by payload type below.
    let child = ffmpeg()
        .args(["-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=8000:duration=1.5"])
        .args(["-c:a", "pcm_mulaw", "-f", "rtp"])
        .arg(format!("rtp://127.0.0.1:{port}?rtcpport={port}&pkt_size=200"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut packets = Vec::new();
    let mut buf = [0u8; 2048];
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        match socket.recv(&mut buf) {
            Ok(n) => {
                // RFC 5761 §4: second byte 200..=206 (PT 72..78 with the marker) is RTCP.
                if n >= 2 && (200..=206).contains(&buf[1]) {
                    continue;
                }
                packets.push(RtpPacket::parse(Bytes::copy_from_slice(&buf[..n])).unwrap());
            }
            Err(_) if !packets.is_empty() => break, // quiet for 500 ms after the stream
            Err(_) => {}
        }
    }
    let out = wait_bounded(child, Duration::from_secs(20));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!packets.is_empty(), "no RTP from ffmpeg");
    assert!(packets.iter().all(|p| p.payload_type() == PayloadType::PCMU));
    let ssrc = packets[0].ssrc();
    assert!(packets.iter().all(|p| p.ssrc() == ssrc));
    // In sequence order, across a wrap: relative to the first arrival (minus slack for reordering).
    let base = packets[0].sequence().0.wrapping_sub(1000);
    packets.sort_by_key(|p| p.sequence().0.wrapping_sub(base));
    // Timestamps advance by the payload length (8 kHz, one byte per sample).
    for w in packets.windows(2) {
        assert_eq!(
            w[1].timestamp().0.wrapping_sub(w[0].timestamp().0) as usize,
            w[0].payload().len()
        );
    }
    let pcm: Vec<i16> = packets
        .iter()
        .flat_map(|p| p.payload().iter().map(|&c| ulaw_expand(c)))
        .collect();
    assert_eq!(pcm.len(), 12_000, "1.5 s at 8 kHz");
    let f = frequency(&pcm);
    assert!((995.0..=1005.0).contains(&f), "decoded tone at {f:.1} Hz");
}

#[test]
fn we_send_pcmu_ffmpeg_decodes_bit_exactly() {
    let dir = std::env::temp_dir().join(format!("ucc-ffmpeg-rtp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let sdp = dir.join("in.sdp");
    std::fs::write(
        &sdp,
        format!(
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=ucc\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
        ),
    )
    .unwrap();
    let wav = dir.join("out.wav");
    let child = ffmpeg()
        .args(["-protocol_whitelist", "file,udp,rtp", "-i"])
        .arg(&sdp)
        .args(["-t", "1.5", "-c:a", "pcm_s16le", "-y"])
        .arg(&wav)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until_bound(port);

    let input = tone(1000.0, 2.0, 12_000.0);
    let encoded: Vec<u8> = input.iter().map(|&s| ulaw_compress(s)).collect();
    let mut packetizer = G711Packetizer::new(G711Law::MuLaw, Timestamp(0x1234_5678));
    let mut sequencer = Sequencer::new(Ssrc(0x0bad_cafe), SeqNo(65_500)); // wraps mid-stream
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut datagram = [0u8; 1500];
    for (i, packet) in packetizer
        .packetize(&mut sequencer, &Bytes::from(encoded))
        .enumerate()
    {
        let n = packet.write_to(&mut datagram).unwrap();
        sender.send_to(&datagram[..n], ("127.0.0.1", port)).unwrap();
        if i % 10 == 9 {
            std::thread::sleep(Duration::from_millis(5)); // spare ffmpeg's socket buffer
        }
    }
    let out = wait_bounded(child, Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.trim().is_empty(), "ffmpeg reported errors: {stderr}");
    let decoded = read_wav(&wav);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(decoded.len(), 12_000, "1.5 s at 8 kHz");
    // FFmpeg's pcm_mulaw decoder expands exactly as G.711 does: every sample matches.
    let expected: Vec<i16> = input[..12_000]
        .iter()
        .map(|&s| ulaw_expand(ulaw_compress(s)))
        .collect();
    let mismatches = decoded.iter().zip(&expected).filter(|(a, b)| a != b).count();
    assert_eq!(mismatches, 0, "samples differing from our own expansion");
    let f = frequency(&decoded);
    assert!((995.0..=1005.0).contains(&f), "ffmpeg decoded {f:.1} Hz");
}

/// A UDP port nobody uses right now (and its RTCP neighbour).
fn free_port() -> u16 {
    loop {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = s.local_addr().unwrap().port();
        if port % 2 == 0 && port < 65_000 && UdpSocket::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
}

/// Waits until ffmpeg has bound `port` (our own bind then fails).
fn wait_until_bound(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while UdpSocket::bind(("0.0.0.0", port)).is_ok() {
        assert!(Instant::now() < deadline, "ffmpeg never bound port {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn read_wav(path: &Path) -> Vec<i16> {
    let mut reader = hound::WavReader::open(path).unwrap();
    let spec = reader.spec();
    assert_eq!((spec.sample_rate, spec.channels), (8000, 1), "{spec:?}");
    reader.samples::<i16>().map(Result::unwrap).collect()
}
