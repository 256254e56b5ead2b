//! RTP interop with FFmpeg (Debian package `ffmpeg`, installed by `scripts/test`), both
//! ways, for PCMU, Opus and H.264 (packetization-mode 1):
//!
//! - FFmpeg sends RTP described by the SDP it writes (`-sdp_file`); we depacketize and
//!   decode it with our own decoders and measure the result.
//! - We send RTP; FFmpeg, given our SDP, decodes it with nothing on its stderr
//!   (`-loglevel error`) and we measure what it wrote. We end each stream with an RTCP
//!   BYE, which makes FFmpeg's RTP demuxer report end of file, so FFmpeg stops on its own
//!   right after the last packet instead of at a guessed `-t`.
//!
//! Loopback only; every FFmpeg run is bounded in time and killed by its own handle.
#![allow(clippy::unwrap_used)]

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use media_av::codec::g711::{ulaw_compress, ulaw_expand};
use media_av::codec::h264::{H264Config, H264Decoder, H264Encoder};
use media_av::codec::opus::{FRAME_SAMPLES, OpusConfig, OpusDecoder, OpusEncoder};
use media_av::codec::{AudioDecoder, AudioEncoder, VideoEncoder};
use media_av::frame::VideoFrame;
use media_av::quality::{dominant_frequency, median, psnr, snr_db, tone_block_snrs};
use media_av::rtcp::RtcpWriter;
use media_av::rtp::g711::{G711Law, G711Packetizer};
use media_av::rtp::h264::{H264Depacketizer, H264Event, H264Packetizer};
use media_av::rtp::opus::{OpusDepacketizer, OpusPacketizer};
use media_av::rtp::{OutPacket, PayloadType, RtpPacket, SeqNo, Sequencer, Ssrc, Timestamp};
use media_av::source::{AudioSource, TestPattern, ToneGenerator};

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
    let crossings = s.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
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
        .args([
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=1000:sample_rate=8000:duration=1.5",
        ])
        .args(["-c:a", "pcm_mulaw", "-f", "rtp"])
        .arg(format!(
            "rtp://127.0.0.1:{port}?rtcpport={port}&pkt_size=200"
        ))
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
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!packets.is_empty(), "no RTP from ffmpeg");
    assert!(
        packets
            .iter()
            .all(|p| p.payload_type() == PayloadType::PCMU)
    );
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
    let mismatches = decoded
        .iter()
        .zip(&expected)
        .filter(|(a, b)| a != b)
        .count();
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

// ---------------------------------------------------------------------------------------
// Opus and H.264, both ways.
// ---------------------------------------------------------------------------------------

const OPUS_RATE: u32 = 48_000;
/// FFmpeg's `sine` source has a peak of 1/8 of full scale: `4095` in s16 (checked with
/// `ffmpeg -f lavfi -i sine=... -f s16le`).
const FFMPEG_SINE_PEAK: i16 = 4095;
const WIDTH: u32 = 320;
const HEIGHT: u32 = 240;
/// Frames per video test stream.
const FRAMES: usize = 30;
/// The PSNR every decoded picture must reach against its source.
const MIN_PSNR_DB: f64 = 30.0;

/// A scratch directory of this test process, `tag` apart from the other tests.
fn scratch_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ucc-ffmpeg-rtp-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts FFmpeg with `args`, stderr captured.
fn spawn(args: &[&str], tail: &[&std::ffi::OsStr]) -> Child {
    ffmpeg()
        .args(args)
        .args(tail)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for FFmpeg and asserts it succeeded with nothing on stderr (`-loglevel error`).
fn expect_clean_exit(child: Child, limit: Duration) {
    let out = wait_bounded(child, limit);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ffmpeg failed: {stderr}");
    assert!(stderr.trim().is_empty(), "ffmpeg reported errors: {stderr}");
}

/// A loopback socket for FFmpeg to send RTP (and its RTCP) to.
fn rtp_receiver() -> (UdpSocket, u16) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let port = socket.local_addr().unwrap().port();
    (socket, port)
}

/// The RTP URL FFmpeg sends to: RTCP to the same port (told apart in [`receive_rtp`]).
fn rtp_url(port: u16) -> String {
    format!("rtp://127.0.0.1:{port}?rtcpport={port}&pkt_size=1200")
}

/// RTP packets from `socket` until it has been quiet for 500 ms after the stream (or
/// 20 s passed), in sequence order across a wrap.
fn receive_rtp(socket: &UdpSocket) -> Vec<RtpPacket> {
    let mut packets = Vec::new();
    let mut buf = [0u8; 2048];
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        match socket.recv(&mut buf) {
            // RFC 5761 §4: second byte 200..=206 (PT 72..78 with the marker) is RTCP.
            Ok(n) if n >= 2 && (200..=206).contains(&buf[1]) => {}
            Ok(n) => packets.push(RtpPacket::parse(Bytes::copy_from_slice(&buf[..n])).unwrap()),
            Err(_) if !packets.is_empty() => break,
            Err(_) => {}
        }
    }
    assert!(!packets.is_empty(), "no RTP from ffmpeg");
    let ssrc = packets[0].ssrc();
    assert!(packets.iter().all(|p| p.ssrc() == ssrc), "one source");
    let base = packets[0].sequence().0.wrapping_sub(1000);
    packets.sort_by_key(|p| p.sequence().0.wrapping_sub(base));
    for w in packets.windows(2) {
        assert_eq!(
            w[1].sequence().0,
            w[0].sequence().0.wrapping_add(1),
            "packets lost or duplicated on loopback"
        );
    }
    packets
}

/// The payload type of the only `m=` line of `sdp` and its `a=rtpmap` encoding (for
/// example `(97, "opus/48000/2")`), and its `a=fmtp` parameters if any.
fn sdp_format(sdp: &str, media: &str) -> (u8, String, Option<String>) {
    let m = sdp
        .lines()
        .find_map(|l| l.strip_prefix(&format!("m={media} ")))
        .unwrap_or_else(|| panic!("no m={media} line in {sdp}"));
    let pt: u8 = m.split_whitespace().nth(2).unwrap().parse().unwrap();
    let attribute = |name: &str| {
        sdp.lines()
            .find_map(|l| l.strip_prefix(&format!("a={name}:{pt} ")))
            .map(|v| v.trim().to_owned())
    };
    let rtpmap = attribute("rtpmap").unwrap_or_else(|| panic!("no rtpmap for {pt} in {sdp}"));
    (pt, rtpmap, attribute("fmtp"))
}

/// An SDP offering one RTP stream to FFmpeg on loopback `port` (RTCP on `port + 1`).
fn our_sdp(dir: &Path, port: u16, media: &str, pt: u8, attributes: &[String]) -> PathBuf {
    let mut sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=ucc\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m={media} {port} RTP/AVP {pt}\r\n"
    );
    for a in attributes {
        sdp.push_str(&format!("a={a}\r\n"));
    }
    let path = dir.join("in.sdp");
    std::fs::write(&path, sdp).unwrap();
    path
}

/// Sends `packet` to FFmpeg's RTP `port`.
fn send(sender: &UdpSocket, port: u16, packet: &OutPacket) {
    let mut datagram = [0u8; 1500];
    let n = packet.write_to(&mut datagram).unwrap();
    sender.send_to(&datagram[..n], ("127.0.0.1", port)).unwrap();
}

/// Ends our stream as RFC 3550 §6.6 says: an RR, an SDES CNAME and a BYE for `ssrc`, to
/// FFmpeg's RTCP port (`port + 1`). FFmpeg's RTP demuxer answers a BYE on every stream
/// with end of file, so FFmpeg flushes its decoder and exits.
fn send_bye(sender: &UdpSocket, port: u16, ssrc: Ssrc) {
    // Let FFmpeg read the last RTP packets before the BYE: it comes on the RTCP
    // socket, and an FFmpeg scheduled late under load would see it first and drop
    // what is still queued on the RTP socket (seen once in CI: 29 of 30 pictures).
    wait_until_read(port);
    let mut buf = [0u8; 128];
    let mut w = RtcpWriter::new(&mut buf);
    w.receiver_report(ssrc, &[]).unwrap();
    w.sdes_cname(ssrc, b"ucc@127.0.0.1").unwrap();
    w.bye(&[ssrc], None).unwrap();
    let n = w.finish();
    sender.send_to(&buf[..n], ("127.0.0.1", port + 1)).unwrap();
}

/// Waits (at most 5 s) until the datagrams queued on the loopback UDP socket bound
/// to `port` have been read, from the kernel's `rx_queue` (/proc/net/udp, udp6).
fn wait_until_read(port: u16) {
    let local = format!(":{port:04X}");
    let queued = || -> Option<u64> {
        ["/proc/net/udp", "/proc/net/udp6"].iter().find_map(|file| {
            let table = std::fs::read_to_string(file).ok()?;
            table.lines().skip(1).find_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                if !fields.get(1)?.ends_with(&local) {
                    return None;
                }
                let (_, rx) = fields.get(4)?.split_once(':')?;
                u64::from_str_radix(rx, 16).ok()
            })
        })
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let q = queued().unwrap_or_else(|| panic!("no UDP socket bound to port {port}"));
        if q == 0 || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // Then a moment for FFmpeg to act on what it read.
    std::thread::sleep(Duration::from_millis(50));
}

/// The first channel of a 48 kHz s16 WAV file and its channel count.
fn read_wav_48k(path: &Path) -> (Vec<i16>, u16) {
    let mut reader = hound::WavReader::open(path).unwrap();
    let spec = reader.spec();
    assert_eq!(spec.sample_rate, OPUS_RATE, "{spec:?}");
    let all: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    let first = all
        .iter()
        .step_by(usize::from(spec.channels))
        .copied()
        .collect();
    (first, spec.channels)
}

/// The pictures of a raw packed I420 file.
fn read_yuv(path: &Path) -> Vec<VideoFrame> {
    let data = Bytes::from(std::fs::read(path).unwrap());
    let size = VideoFrame::packed_len(WIDTH, HEIGHT);
    assert_eq!(
        data.len() % size,
        0,
        "{} bytes: not whole pictures",
        data.len()
    );
    (0..data.len() / size)
        .map(|i| {
            let bytes = data.slice(i * size..(i + 1) * size);
            VideoFrame::from_packed(WIDTH, HEIGHT, bytes, Timestamp(0)).unwrap()
        })
        .collect()
}

/// FFmpeg (libopus encoder) sends a 1.5 s, 1 kHz tone as Opus RTP; we take the payload
/// type from the SDP it writes, depacketize, decode with our `OpusDecoder` and check the
/// timestamps, the duration, the frequency and the SNR.
#[test]
fn ffmpeg_sends_opus_we_depacketize_and_decode() {
    let dir = scratch_dir("opus-in");
    let sdp_path = dir.join("ffmpeg.sdp");
    let (socket, port) = rtp_receiver();
    let child = spawn(
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=1000:sample_rate=48000:duration=1.5",
            "-c:a",
            "libopus",
            "-sdp_file",
        ],
        &[
            sdp_path.as_os_str(),
            "-f".as_ref(),
            "rtp".as_ref(),
            rtp_url(port).as_ref(),
        ],
    );
    let packets = receive_rtp(&socket);
    expect_clean_exit(child, Duration::from_secs(20));
    let sdp = std::fs::read_to_string(&sdp_path).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let (pt, rtpmap, _) = sdp_format(&sdp, "audio");
    assert_eq!(rtpmap, "opus/48000/2", "{sdp}");
    assert!(packets.iter().all(|p| p.payload_type().get() == pt));

    let count = packets.len();
    let mut depacketizer = OpusDepacketizer::new();
    let mut decoder = OpusDecoder::new(1).unwrap();
    let mut pcm = Vec::new();
    let mut next_timestamp = None;
    for packet in packets {
        let frame = depacketizer.depacketize(packet).unwrap();
        if let Some(expected) = next_timestamp {
            assert_eq!(
                frame.timestamp, expected,
                "timestamps advance by the packet duration"
            );
        }
        next_timestamp = Some(frame.timestamp.add(frame.duration));
        let decoded = decoder.decode(&frame.data, frame.timestamp).unwrap();
        assert_eq!(decoded.samples_per_channel(), frame.duration as usize);
        pcm.extend_from_slice(decoded.samples());
    }
    let seconds = pcm.len() as f64 / f64::from(OPUS_RATE);
    let f = dominant_frequency(&pcm, OPUS_RATE).unwrap();
    let tone = ToneGenerator::new(1000.0, FFMPEG_SINE_PEAK, OPUS_RATE, 1).unwrap();
    let snr = median(&tone_block_snrs(&pcm, &tone));
    eprintln!(
        "ffmpeg opus -> us: PT {pt}, {count} packets, {seconds:.3} s, {f:.2} Hz, median SNR \
         {snr:.1} dB"
    );
    // 1.52 s measured: FFmpeg's libopus wrapper pads the end so that the 312-sample
    // encoder delay comes out too (72 312 samples in 76 packets of 20 ms).
    assert!((seconds - 1.5).abs() <= 0.06, "decoded {seconds:.3} s");
    assert!((f - 1000.0).abs() <= 5.0, "decoded tone at {f:.2} Hz");
    assert!(snr >= OPUS_IN_MIN_SNR_DB, "median block SNR {snr:.1} dB");
}

/// Median 100 ms block SNR against FFmpeg's sine of FFmpeg's libopus encoder (its
/// defaults: 64 kbit/s, 20 ms, `audio` application) decoded by us: measured 43.6 dB
/// (Debian 12, FFmpeg 5.1, libopus 1.3.1); the first block, holding the 312-sample
/// encoder delay, at 12 dB.
const OPUS_IN_MIN_SNR_DB: f64 = 38.0;

/// FFmpeg decoding the stream `sdp` describes with `decoder` into `output`, once it has
/// bound the stream's port.
fn ffmpeg_receiver(sdp: &Path, port: u16, decoder: &[&str], output: &[&str], file: &Path) -> Child {
    let mut args = vec!["-protocol_whitelist", "file,udp,rtp"];
    args.extend(decoder);
    args.push("-i");
    let mut tail = vec![sdp.as_os_str()];
    tail.extend(output.iter().map(std::ffi::OsStr::new));
    tail.extend(["-y".as_ref(), file.as_os_str()]);
    let child = spawn(&args, &tail);
    wait_until_bound(port);
    child
}

/// We encode 1.5 s of a 1 kHz tone with our `OpusEncoder` and send it as RTP described
/// by our SDP (`opus/48000/2`); FFmpeg decodes it with no error, every sample we sent,
/// the tone intact and the same audio our own decoder gets from those packets.
#[test]
fn we_send_opus_ffmpeg_decodes_it() {
    // The same packets go to two FFmpeg processes: one with FFmpeg's own Opus decoder
    // (its default), one with libopus (the library our OpusDecoder wraps).
    let decoders = ["opus", "libopus"];
    let mut receivers = Vec::new();
    for (i, decoder) in decoders.into_iter().enumerate() {
        let dir = scratch_dir(&format!("opus-out-{i}"));
        let port = free_port();
        let sdp = our_sdp(
            &dir,
            port,
            "audio",
            111,
            &[
                "rtpmap:111 opus/48000/2".into(),
                "fmtp:111 minptime=10;useinbandfec=1".into(),
            ],
        );
        let wav = dir.join("out.wav");
        let child = ffmpeg_receiver(&sdp, port, &["-c:a", decoder], &["-c:a", "pcm_s16le"], &wav);
        receivers.push((decoder, dir, port, wav, child));
    }

    let amplitude = 8000;
    let mut tone = ToneGenerator::new(1000.0, amplitude, OPUS_RATE, 1).unwrap();
    let mut encoder = OpusEncoder::new(OpusConfig::default()).unwrap();
    let mut packetizer =
        OpusPacketizer::new(PayloadType::new(111).unwrap(), Timestamp(0xffff_0000));
    let ssrc = Ssrc(0x0005_0001);
    let mut sequencer = Sequencer::new(ssrc, SeqNo(65_500)); // wraps mid-stream
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let packets: u32 = 75; // 1.5 s of 20 ms frames
    let mut our_decoder = OpusDecoder::new(1).unwrap();
    let mut our_decode = Vec::new();
    for i in 0..packets {
        let frame = tone.next_frame().unwrap().unwrap();
        let payload = encoder.encode(&frame).unwrap();
        let ours = our_decoder.decode(&payload, frame.timestamp()).unwrap();
        our_decode.extend_from_slice(ours.samples());
        let packet = packetizer
            .packetize(&mut sequencer, payload, i == 0)
            .unwrap();
        for (_, _, port, _, _) in &receivers {
            send(&sender, *port, &packet);
        }
        if i % 10 == 9 {
            std::thread::sleep(Duration::from_millis(2)); // spare ffmpeg's socket buffer
        }
    }
    for (_, _, port, _, _) in &receivers {
        send_bye(&sender, *port, ssrc);
    }

    let sent = f64::from(packets) * 0.020;
    let reference = ToneGenerator::new(1000.0, amplitude, OPUS_RATE, 1).unwrap();
    for (decoder, dir, _, wav, child) in receivers {
        expect_clean_exit(child, Duration::from_secs(20));
        let (decoded, channels) = read_wav_48k(&wav);
        std::fs::remove_dir_all(&dir).ok();
        let seconds = decoded.len() as f64 / f64::from(OPUS_RATE);
        let f = dominant_frequency(&decoded, OPUS_RATE).unwrap();
        let snr = median(&tone_block_snrs(&decoded, &reference));
        // FFmpeg's decoder lags libopus by a couple of samples (its SILK resampler):
        // compare at the best of a few lags.
        let (lag, agreement) = (0..=8)
            .map(|lag| (lag, snr_db(&our_decode, &decoded[lag..])))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap();
        eprintln!(
            "us opus -> ffmpeg ({decoder} decoder): {channels} channel(s), {seconds:.3} s of \
             {sent:.3} s, {f:.2} Hz, median SNR {snr:.1} dB, {agreement:.1} dB from our own \
             decode {lag} samples later"
        );
        // Every sample we sent, no more (the SDP gives no pre-skip to drop).
        assert_eq!(
            decoded.len(),
            packets as usize * FRAME_SAMPLES,
            "{decoder}: ffmpeg decoded {seconds:.4} s of {sent} s"
        );
        assert!((f - 1000.0).abs() <= 5.0, "{decoder}: tone at {f:.2} Hz");
        assert!(
            snr >= OPUS_OUT_MIN_SNR_DB,
            "{decoder}: median block SNR {snr:.1} dB"
        );
        // Whatever the decoder, what FFmpeg hears is what we hear: the same packets, in
        // order, none missing or repeated (one lost or shifted 20 ms packet alone would
        // pull this below 20 dB).
        let min_agreement = if decoder == "libopus" {
            // The same library (Debian's libopus here): bit-exact, inf dB. 60 dB leaves
            // room for a libopus built with other float options.
            60.0
        } else {
            25.0
        };
        assert!(
            agreement >= min_agreement,
            "{decoder}: {agreement:.1} dB from our own decode"
        );
    }
}

/// Median 100 ms block SNR against the sent tone of our Opus encoder (default config:
/// VoIP, 32 kbit/s, mono) decoded by FFmpeg: measured 27.9 dB with FFmpeg's own decoder
/// and 27.6 dB with libopus (Debian 12, FFmpeg 5.1), the first block (decoder start-up)
/// at 12 dB.
const OPUS_OUT_MIN_SNR_DB: f64 = 22.0;

/// FFmpeg (libx264, baseline) sends 30 testsrc pictures as H.264 RTP (FU-A, STAP-A and
/// single NAL unit packets); we depacketize and decode all 30 without error and compare
/// each with FFmpeg's own raw frames of the same source.
#[test]
fn ffmpeg_sends_h264_we_depacketize_and_decode() {
    let dir = scratch_dir("h264-in");
    let sdp_path = dir.join("ffmpeg.sdp");
    let source = [
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=320x240:rate=15",
        "-frames:v",
        "30",
    ];
    let (socket, port) = rtp_receiver();
    let mut args = source.to_vec();
    args.extend([
        "-c:v",
        "libx264",
        "-profile:v",
        "baseline",
        "-pix_fmt",
        "yuv420p",
        "-sdp_file",
    ]);
    let child = spawn(
        &args,
        &[
            sdp_path.as_os_str(),
            "-f".as_ref(),
            "rtp".as_ref(),
            rtp_url(port).as_ref(),
        ],
    );
    let packets = receive_rtp(&socket);
    expect_clean_exit(child, Duration::from_secs(20));
    let sdp = std::fs::read_to_string(&sdp_path).unwrap();
    let (pt, rtpmap, fmtp) = sdp_format(&sdp, "video");
    assert_eq!(rtpmap, "H264/90000", "{sdp}");
    assert!(
        fmtp.is_some_and(|f| f.contains("packetization-mode=1")),
        "{sdp}"
    );
    assert!(packets.iter().all(|p| p.payload_type().get() == pt));

    // FFmpeg's own frames of the same source, converted the same way.
    let reference_path = dir.join("source.yuv");
    let mut args = source.to_vec();
    args.extend(["-pix_fmt", "yuv420p", "-f", "rawvideo", "-y"]);
    expect_clean_exit(
        spawn(&args, &[reference_path.as_os_str()]),
        Duration::from_secs(20),
    );
    let reference = read_yuv(&reference_path);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(reference.len(), FRAMES);

    let mut depacketizer = H264Depacketizer::new();
    let mut decoder = H264Decoder::new().unwrap();
    let mut pictures = Vec::new();
    let mut access_unit: Vec<Bytes> = Vec::new();
    let mut au_timestamp = None;
    let mut decode = |nals: &mut Vec<Bytes>, ts: Timestamp| {
        let decoded = decoder.decode_nals(nals, ts);
        if let Some(picture) = decoded.unwrap_or_else(|e| panic!("decode error: {e}")) {
            pictures.push(picture);
        }
        nals.clear();
    };
    // Payload kinds (RFC 6184 §5.2): single NAL unit, STAP-A (24), FU-A (28).
    let mut kinds = [0usize; 3];
    for packet in packets {
        match packet.payload()[0] & 0x1F {
            24 => kinds[1] += 1,
            28 => kinds[2] += 1,
            _ => kinds[0] += 1,
        }
        for event in depacketizer.push_packet(packet) {
            let H264Event::Nal(nal) = event else {
                panic!("depacketizer dropped a NAL unit: {event:?}");
            };
            if au_timestamp.is_some_and(|ts| ts != nal.timestamp) && !access_unit.is_empty() {
                decode(&mut access_unit, au_timestamp.unwrap()); // no marker bit seen
            }
            au_timestamp = Some(nal.timestamp);
            access_unit.push(nal.data);
            if nal.end_of_access_unit {
                decode(&mut access_unit, nal.timestamp);
            }
        }
    }
    if !access_unit.is_empty() {
        decode(&mut access_unit, au_timestamp.unwrap());
    }
    // FFmpeg stamps frame n at n * 90000 / 15 from a random start.
    for w in pictures.windows(2) {
        assert_eq!(w[1].timestamp().diff(w[0].timestamp()), 6000);
    }
    let stats = depacketizer.stats();
    assert_eq!((stats.dropped, stats.sequence_gaps), (0, 0), "{stats:?}");
    assert_eq!(pictures.len(), FRAMES, "pictures decoded");
    let psnrs: Vec<f64> = pictures
        .iter()
        .zip(&reference)
        .map(|(p, r)| {
            assert_eq!((p.width(), p.height()), (WIDTH, HEIGHT));
            psnr(p, r).unwrap()
        })
        .collect();
    let min = psnrs.iter().copied().fold(f64::INFINITY, f64::min);
    eprintln!(
        "ffmpeg h264 -> us: PT {pt}, packets single/STAP-A/FU-A {kinds:?}, {} NAL units, {} \
         pictures, PSNR min {min:.1} dB, median {:.1} dB",
        stats.nal_units,
        pictures.len(),
        median(&psnrs)
    );
    assert!(min >= MIN_PSNR_DB, "PSNR per picture: {psnrs:.1?}");
}

/// We encode 30 TestPattern pictures with our `H264Encoder`, packetize them (mode 1, MTU
/// 1200) and send them on the 90 kHz clock; FFmpeg, given our SDP (parameter sets in
/// band), decodes all 30 with no error and each matches the picture its bar code names.
#[test]
fn we_send_h264_ffmpeg_decodes_it() {
    let dir = scratch_dir("h264-out");
    let port = free_port();
    let sdp = our_sdp(
        &dir,
        port,
        "video",
        96,
        &[
            "rtpmap:96 H264/90000".into(),
            "fmtp:96 packetization-mode=1;profile-level-id=42e01f".into(),
        ],
    );
    let yuv = dir.join("out.yuv");
    let child = spawn(
        &["-protocol_whitelist", "file,udp,rtp", "-i"],
        &[
            sdp.as_os_str(),
            "-fps_mode".as_ref(),
            "passthrough".as_ref(),
            "-pix_fmt".as_ref(),
            "yuv420p".as_ref(),
            "-f".as_ref(),
            "rawvideo".as_ref(),
            "-y".as_ref(),
            yuv.as_os_str(),
        ],
    );
    wait_until_bound(port);

    let pattern = TestPattern::new(WIDTH, HEIGHT, 15).unwrap();
    let mut encoder = H264Encoder::new(H264Config {
        bitrate: 800_000,
        frame_rate: 15.0,
        frame_skip: false,
        payload_type: PayloadType::new(96).unwrap(),
        ..H264Config::default()
    })
    .unwrap();
    let packetizer = H264Packetizer::new(PayloadType::new(96).unwrap(), 1200).unwrap();
    let ssrc = Ssrc(0x0264_0001);
    let mut sequencer = Sequencer::new(ssrc, SeqNo(65_530)); // wraps mid-stream
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    // Payload kinds (RFC 6184 §5.2): single NAL unit, STAP-A (24), FU-A (28).
    let mut kinds = [0usize; 3];
    for n in 0..FRAMES as u64 {
        let encoded = encoder.encode(&pattern.frame(n).unwrap()).unwrap();
        assert!(!encoded.is_empty(), "frame {n} skipped");
        // 90 kHz timestamps from the pattern (n * 6000 at 15 frames/s).
        for packet in packetizer.packetize_nals(&mut sequencer, &encoded.nals, encoded.timestamp) {
            assert!(packet.wire_len() <= 1200, "MTU");
            let head = packet.payload_header().first().or(packet.body().first());
            match head.unwrap() & 0x1F {
                24 => kinds[1] += 1,
                28 => kinds[2] += 1,
                _ => kinds[0] += 1,
            }
            send(&sender, port, &packet);
            // Paced, as a real sender is: a burst of a keyframe's fragments can overrun
            // the receive buffer of an FFmpeg that a loaded machine schedules late.
            std::thread::sleep(Duration::from_micros(500));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    // FFmpeg hands out its last pictures only at end of stream (its H.264 parser and
    // decoder hold some back: 25 of 30 were out before it with default threads, 27 with
    // `-threads 1`); the BYE ends the stream, so all 30 come out.
    send_bye(&sender, port, ssrc);
    expect_clean_exit(child, Duration::from_secs(20));
    let decoded = read_yuv(&yuv);
    std::fs::remove_dir_all(&dir).ok();

    let mut psnrs = Vec::new();
    for (i, picture) in decoded.iter().enumerate() {
        let n = TestPattern::frame_index(picture).unwrap();
        assert_eq!(n, i as u64, "ffmpeg's picture {i} shows frame {n}");
        psnrs.push(psnr(picture, &pattern.frame(n).unwrap()).unwrap());
    }
    let min = psnrs.iter().copied().fold(f64::INFINITY, f64::min);
    eprintln!(
        "us h264 -> ffmpeg: packets single/STAP-A/FU-A {kinds:?}, {} pictures, PSNR min {min:.1} dB, median {:.1} dB",
        decoded.len(),
        median(&psnrs)
    );
    assert_eq!(decoded.len(), FRAMES, "pictures ffmpeg decoded");
    assert!(min >= MIN_PSNR_DB, "PSNR per picture: {psnrs:.1?}");
}
