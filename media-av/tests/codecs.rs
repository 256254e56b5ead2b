//! Codec behaviour end to end: Opus tone quality, concealment and FEC;
//! H.264 picture quality, keyframes on request and compatibility with the
//! RTP packetizer; the build tools the codecs need.

use bytes::Bytes;
use media_av::codec::h264::{H264Config, H264Decoder, H264Encoder};
use media_av::codec::opus::{FRAME_SAMPLES, OpusConfig, OpusDecoder, OpusEncoder};
use media_av::codec::{AudioDecoder, AudioEncoder, CodecError, VideoDecoder, VideoEncoder};
use media_av::quality::{align, dominant_frequency, psnr, snr_db};
use media_av::rtp::h264::{H264Depacketizer, H264Event, H264Packetizer};
use media_av::rtp::{PayloadType, RtpPacket, SeqNo, Sequencer, Ssrc, Timestamp};
use media_av::source::{AudioSource, TestPattern, ToneGenerator};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Lowest SNR accepted for a 1 kHz tone (peak 10000) through Opus at
/// 32 kbit/s (VoIP, FEC on), after aligning the codec delay. Measured with
/// libopus 1.3.1: 27.8 dB mono, 28.0 dB stereo; the bound leaves about 4 dB
/// for other libopus versions.
const OPUS_MIN_SNR_DB: f64 = 24.0;

/// What went in and came out of an Opus round trip, and the encoder's
/// lookahead.
struct RoundTrip {
    sent: Vec<i16>,
    received: Vec<i16>,
    lookahead: usize,
}

/// One second of a 1 kHz tone through the Opus encoder and decoder.
fn opus_round_trip(channels: u16) -> Result<RoundTrip, Box<dyn std::error::Error>> {
    let mut tone = ToneGenerator::new(1000.0, 10_000, 48_000, channels)?;
    let mut encoder = OpusEncoder::new(OpusConfig {
        channels,
        ..OpusConfig::default()
    })?;
    let mut decoder = OpusDecoder::new(channels)?;
    let lookahead = encoder.lookahead()?;
    let (mut sent, mut received) = (Vec::new(), Vec::new());
    for _ in 0..50 {
        let frame = tone.next_frame()?.ok_or("tone ended")?;
        let packet = encoder.encode(&frame)?;
        assert!(packet.len() <= 1275);
        let decoded = decoder.decode(&packet, frame.timestamp())?;
        assert_eq!(decoded.samples_per_channel(), FRAME_SAMPLES);
        assert_eq!(decoded.channels(), channels);
        sent.extend_from_slice(frame.samples());
        received.extend_from_slice(decoded.samples());
    }
    Ok(RoundTrip {
        sent,
        received,
        lookahead,
    })
}

#[test]
fn opus_tone_keeps_frequency_and_snr() -> TestResult {
    let RoundTrip {
        sent,
        received,
        lookahead,
    } = opus_round_trip(1)?;
    // Skip the first 100 ms (encoder start-up), then align on the codec
    // delay: the encoder's lookahead, refined by cross-correlation within
    // half a period of the tone (48 samples at 1 kHz).
    let start = 4800;
    let lag = align(
        &sent[start..],
        &received[start..],
        lookahead - 24..=lookahead + 24,
        9600,
    );
    assert!(
        lag.abs_diff(lookahead) <= 8,
        "lag {lag}, lookahead {lookahead}"
    );
    let end = sent.len() - lag;
    let snr = snr_db(&sent[start..end], &received[start + lag..]);
    let freq = dominant_frequency(&received[start..], 48_000).ok_or("silence")?;
    println!(
        "opus mono 32 kbit/s: lookahead {lookahead}, lag {lag}, SNR {snr:.2} dB, {freq:.2} Hz"
    );
    assert!((freq - 1000.0).abs() <= 10.0, "dominant frequency {freq}");
    assert!(snr >= OPUS_MIN_SNR_DB, "SNR {snr:.2} dB");
    Ok(())
}

#[test]
fn opus_stereo_round_trip() -> TestResult {
    let RoundTrip {
        sent,
        received,
        lookahead,
    } = opus_round_trip(2)?;
    let left = |s: &[i16]| s.iter().step_by(2).copied().collect::<Vec<_>>();
    let (sent, received) = (left(&sent), left(&received));
    let start = 4800;
    let lag = align(
        &sent[start..],
        &received[start..],
        lookahead - 24..=lookahead + 24,
        9600,
    );
    let snr = snr_db(&sent[start..sent.len() - lag], &received[start + lag..]);
    let freq = dominant_frequency(&received[start..], 48_000).ok_or("silence")?;
    println!(
        "opus stereo 32 kbit/s: lookahead {lookahead}, lag {lag}, SNR {snr:.2} dB, {freq:.2} Hz"
    );
    assert!((freq - 1000.0).abs() <= 10.0, "dominant frequency {freq}");
    assert!(snr >= OPUS_MIN_SNR_DB, "SNR {snr:.2} dB");
    Ok(())
}

#[test]
fn opus_conceals_lost_packets_and_recovers_with_fec() -> TestResult {
    let mut tone = ToneGenerator::new(440.0, 8000, 48_000, 1)?;
    let mut encoder = OpusEncoder::new(OpusConfig {
        expected_loss_percent: 20,
        ..OpusConfig::default()
    })?;
    let mut decoder = OpusDecoder::new(1)?;
    let mut packets = Vec::new();
    for _ in 0..12 {
        let frame = tone.next_frame()?.ok_or("tone ended")?;
        packets.push((frame.timestamp(), encoder.encode(&frame)?));
    }
    for (ts, packet) in &packets[..5] {
        decoder.decode(packet, *ts)?;
    }
    // Packet 5 lost, nothing after it yet: PLC.
    let plc = decoder.conceal(None, packets[5].0)?;
    assert_eq!(plc.samples_per_channel(), FRAME_SAMPLES);
    assert_eq!(plc.timestamp(), packets[5].0);
    assert!(
        plc.samples().iter().any(|&s| s != 0),
        "PLC continues the tone"
    );
    decoder.decode(&packets[6].1, packets[6].0)?;
    decoder.decode(&packets[7].1, packets[7].0)?;
    // Packet 8 lost, packet 9 at hand: in-band FEC rebuilds it.
    let fec = decoder.conceal(Some(&packets[9].1), packets[8].0)?;
    assert_eq!(fec.samples_per_channel(), FRAME_SAMPLES);
    assert!(fec.samples().iter().any(|&s| s != 0), "FEC audio");
    let next = decoder.decode(&packets[9].1, packets[9].0)?;
    assert_eq!(next.samples_per_channel(), FRAME_SAMPLES);
    // What FEC buys: with the same history, the frame rebuilt from packet 9's
    // low-bitrate copy is closer to the real packet 8 than PLC's guess.
    let history = |decoder: &mut OpusDecoder| -> Result<(), CodecError> {
        for (ts, packet) in &packets[..8] {
            decoder.decode(packet, *ts)?;
        }
        Ok(())
    };
    let (mut real, mut with_fec, mut with_plc) = (
        OpusDecoder::new(1)?,
        OpusDecoder::new(1)?,
        OpusDecoder::new(1)?,
    );
    history(&mut real)?;
    history(&mut with_fec)?;
    history(&mut with_plc)?;
    let reference = real.decode(&packets[8].1, packets[8].0)?;
    let fec = with_fec.conceal(Some(&packets[9].1), packets[8].0)?;
    let plc = with_plc.conceal(None, packets[8].0)?;
    let fec_snr = snr_db(reference.samples(), fec.samples());
    let plc_snr = snr_db(reference.samples(), plc.samples());
    println!("lost frame vs the real one: FEC {fec_snr:.1} dB, PLC {plc_snr:.1} dB");
    assert!(
        fec_snr > plc_snr + 3.0,
        "FEC {fec_snr:.1} dB, PLC {plc_snr:.1} dB"
    );
    // Garbage from the network is the peer's fault, not a panic.
    assert!(decoder.decode(&[0xFF; 3], Timestamp(0)).is_err());
    Ok(())
}

/// NAL unit type of the first non-parameter-set NAL unit.
fn slice_type(nals: &[Bytes]) -> Option<u8> {
    nals.iter()
        .map(|n| n[0] & 0x1F)
        .find(|&t| t != 7 && t != 8 && t != 6 && t != 9)
}

#[test]
fn h264_round_trip_quality_and_keyframe_on_request() -> TestResult {
    const W: u32 = 640;
    const H: u32 = 360;
    let pattern = TestPattern::new(W, H, 30)?;
    let mut encoder = H264Encoder::new(H264Config {
        bitrate: 2_000_000,
        ..H264Config::default()
    })?;
    let mut decoder = H264Decoder::new()?;
    let mut via_rtp = H264Decoder::new()?;
    let pt = PayloadType::new(102).ok_or("payload type")?;
    let packetizer = H264Packetizer::new(pt, 1200)?;
    let mut depacketizer = H264Depacketizer::new();
    let mut seq = Sequencer::new(Ssrc(7), SeqNo(1));
    let mut worst = f64::INFINITY;
    let mut datagram = vec![0u8; 1500];
    for n in 0..30u64 {
        if n == 15 {
            encoder.request_keyframe();
        }
        let frame = pattern.frame(n)?;
        let encoded = encoder.encode(&frame)?;
        assert!(!encoded.is_empty(), "frame {n} skipped");
        // Keyframes exactly at the start and where the PLI asked for one,
        // and a keyframe is an IDR slice behind SPS and PPS.
        let expect_key = n == 0 || n == 15;
        assert_eq!(encoded.keyframe, expect_key, "frame {n}");
        let first = slice_type(&encoded.nals).ok_or("no slice")?;
        assert_eq!(first == 5, expect_key, "frame {n}: slice NAL type {first}");
        if expect_key {
            let types: Vec<u8> = encoded.nals.iter().map(|n| n[0] & 0x1F).collect();
            assert!(
                types.contains(&7) && types.contains(&8),
                "parameter sets with IDR: {types:?}"
            );
            // Constrained baseline: profile_idc 66 with constraint_set1.
            let sps = encoded
                .nals
                .iter()
                .find(|n| n[0] & 0x1F == 7)
                .ok_or("SPS")?;
            assert_eq!(sps[1], 66, "profile_idc");
            assert_eq!(
                sps[2] & 0xC0,
                0xC0,
                "constraint_set0 and constraint_set1 flags"
            );
        }

        let picture = decoder
            .decode(&encoded.access_unit, encoded.timestamp)?
            .ok_or("no picture")?;
        let quality = psnr(&frame, &picture)?;
        worst = worst.min(quality);
        assert!(quality >= 30.0, "frame {n}: PSNR {quality:.2} dB");

        // The same access unit through RTP packetization and back.
        let mut nals = Vec::new();
        for packet in packetizer.packetize_nals(&mut seq, &encoded.nals, encoded.timestamp) {
            let len = packet.write_to(&mut datagram)?;
            let received = RtpPacket::parse(Bytes::copy_from_slice(&datagram[..len]))?;
            for event in depacketizer.push_packet(received) {
                if let H264Event::Nal(nal) = event {
                    nals.push(nal.data);
                }
            }
        }
        assert_eq!(nals, encoded.nals, "frame {n}: NAL units through RTP");
        let over_rtp = via_rtp
            .decode_nals(&nals, encoded.timestamp)?
            .ok_or("no picture via RTP")?;
        assert_eq!(
            over_rtp.to_packed(),
            picture.to_packed(),
            "frame {n}: same picture over RTP"
        );
    }
    println!("h264 640x360 at 2 Mbit/s: worst PSNR {worst:.2} dB over 30 frames");
    Ok(())
}

#[test]
fn h264_decoder_rejects_garbage_without_panicking() -> TestResult {
    let mut decoder = H264Decoder::new()?;
    for junk in [
        &[0u8, 0, 0, 1, 0x65, 0xFF, 0x00, 0x12][..],
        &[0, 0, 1, 0x67, 0x42][..],
        &[1, 2, 3][..],
    ] {
        // Either an error or no picture; never a panic.
        let _ = decoder.decode(junk, Timestamp(0));
    }
    Ok(())
}

/// openh264 compiles its x86 assembly only when `nasm` is on the PATH and
/// silently builds a ~3x slower C-only library otherwise; this makes a
/// machine without it fail loudly.
#[test]
#[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
fn nasm_is_installed() {
    let ok = std::process::Command::new("nasm")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "nasm is missing: openh264 was built without its assembly (about 3x slower). \
         Install it (Debian: apt-get install nasm, or run scripts/test) and rebuild with \
         `cargo clean -p openh264-sys2`."
    );
}

#[test]
fn opus_bitrate_control_changes_packet_sizes() -> TestResult {
    let mut tone = ToneGenerator::new(1000.0, 10_000, 48_000, 1)?;
    let mut encoder = OpusEncoder::new(OpusConfig {
        inband_fec: false,
        ..OpusConfig::default()
    })?;
    let mut mean_size =
        |encoder: &mut OpusEncoder, bps: u32| -> Result<usize, Box<dyn std::error::Error>> {
            AudioEncoder::set_bitrate(encoder, bps)?;
            let mut total = 0;
            for _ in 0..25 {
                total += encoder
                    .encode(&tone.next_frame()?.ok_or("tone ended")?)?
                    .len();
            }
            Ok(total / 25)
        };
    let low = mean_size(&mut encoder, 12_000)?;
    let high = mean_size(&mut encoder, 64_000)?;
    // 20 ms at 12 kbit/s is 30 bytes, at 64 kbit/s 160 bytes.
    assert!(
        (15..=45).contains(&low),
        "12 kbit/s: {low} bytes per packet"
    );
    assert!(
        (110..=200).contains(&high),
        "64 kbit/s: {high} bytes per packet"
    );
    assert!(AudioEncoder::set_bitrate(&mut encoder, 1_000_000).is_err());
    Ok(())
}

#[test]
fn h264_bitrate_change_takes_effect() -> TestResult {
    let pattern = TestPattern::new(320, 180, 30)?;
    let mut encoder = H264Encoder::new(H264Config {
        bitrate: 1_500_000,
        ..H264Config::default()
    })?;
    let mut sizes = Vec::new();
    for n in 0..20u64 {
        if n == 10 {
            encoder.set_bitrate(50_000)?;
        }
        let encoded = encoder.encode(&pattern.frame(n)?)?;
        // Restarting the encoder for the new rate starts with a keyframe.
        assert_eq!(encoded.keyframe, n == 0 || n == 10, "frame {n}");
        sizes.push(encoded.access_unit.len());
    }
    let high: usize = sizes[2..10].iter().sum();
    let low: usize = sizes[12..20].iter().sum();
    // 8 frames at 50 kbit/s and 30 frames/s are 1667 bytes.
    println!("P-frame bytes over 8 frames: {high} at 1.5 Mbit/s, {low} at 50 kbit/s");
    assert!(
        low < high && low <= 2500,
        "P-frame bytes at 1.5 Mbit/s {high}, at 50 kbit/s {low}"
    );
    assert!(encoder.set_bitrate(0).is_err());
    Ok(())
}
