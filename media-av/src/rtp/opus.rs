//! Opus over RTP (RFC 7587): one Opus packet per RTP packet, timestamps on
//! a 48 kHz clock whatever the coded bandwidth.

use bytes::Bytes;
use thiserror::Error;

use super::header::{PayloadType, RtpPacket, Timestamp};
use super::packet::{OutPacket, Sequencer};

/// The Opus RTP clock rate (RFC 7587 §4.1): always 48 kHz.
pub const OPUS_CLOCK_RATE: u32 = 48_000;
/// Longest Opus packet duration, 120 ms at 48 kHz (RFC 6716 §3.2.5).
pub const MAX_OPUS_PACKET_SAMPLES: u32 = 5_760;

/// An Opus packet that breaks the RFC 6716 §3.4 rules; from the peer when
/// depacketizing, from the encoder (caller) when packetizing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OpusPacketError {
    /// An empty packet (rule R1: at least one byte).
    #[error("Opus packet is empty")]
    Empty,
    /// Code 1 with an odd number of frame bytes (rule R3).
    #[error("Opus code-1 packet has an odd frame length")]
    OddCode1,
    /// Code 2 or 3 header runs past the packet (rules R4, R6, R7).
    #[error("Opus packet framing header is truncated")]
    TruncatedFraming,
    /// Code 3 with zero frames or more than 120 ms of audio (rule R5).
    #[error("Opus code-3 packet holds {frames} frames, outside 1..=120 ms")]
    BadFrameCount {
        /// Frame count from the header.
        frames: u8,
    },
}

/// Duration of one Opus frame for each TOC configuration (RFC 6716 §3.1,
/// Table 2), in 48 kHz samples: one load per packet.
const FRAME_SAMPLES: [u32; 32] = [
    // SILK-only: 10, 20, 40, 60 ms, for NB, MB, WB.
    480, 960, 1920, 2880, 480, 960, 1920, 2880, 480, 960, 1920, 2880,
    // Hybrid: 10, 20 ms, for SWB, FB.
    480, 960, 480, 960, // CELT-only: 2.5, 5, 10, 20 ms, for NB, WB, SWB, FB.
    120, 240, 480, 960, 120, 240, 480, 960, 120, 240, 480, 960, 120, 240, 480, 960,
];

/// The duration of an Opus packet in 48 kHz samples, after checking its
/// framing (RFC 6716 §3.1–§3.2): the TOC byte, code-1 parity, the code-2
/// first length and the code-3 frame count. Code-3 padding and frame lengths
/// and the frames themselves are left to the decoder.
#[inline]
pub fn packet_duration(packet: &[u8]) -> Result<u32, OpusPacketError> {
    let (&toc, rest) = packet.split_first().ok_or(OpusPacketError::Empty)?;
    let per_frame = FRAME_SAMPLES[usize::from(toc >> 3)];
    let frames = match toc & 0x03 {
        0 => 1,
        1 => {
            if rest.len() % 2 != 0 {
                return Err(OpusPacketError::OddCode1);
            }
            2
        }
        2 => {
            // First frame length (§3.2.1): one byte, or two when the first
            // is 252..=255; `len` counts the length bytes too.
            let len = match rest {
                [b, ..] if *b < 252 => 1 + usize::from(*b),
                [b0, b1, ..] => 2 + 4 * usize::from(*b1) + usize::from(*b0),
                _ => return Err(OpusPacketError::TruncatedFraming),
            };
            if len > rest.len() {
                return Err(OpusPacketError::TruncatedFraming);
            }
            2
        }
        _ => {
            let count = *rest.first().ok_or(OpusPacketError::TruncatedFraming)? & 0x3F;
            if count == 0 || u32::from(count) * per_frame > MAX_OPUS_PACKET_SAMPLES {
                return Err(OpusPacketError::BadFrameCount { frames: count });
            }
            u32::from(count)
        }
    };
    Ok(frames * per_frame)
}

/// Puts Opus packets into RTP packets (RFC 7587 §4.2) and keeps the 48 kHz
/// timestamp.
///
/// The marker bit is set on the first packet of a talkspurt, i.e. after a
/// DTX pause (RFC 7587 §4.1); say so with `talkspurt_start`.
#[derive(Clone, Debug)]
pub struct OpusPacketizer {
    payload_type: PayloadType,
    next_timestamp: Timestamp,
}

impl OpusPacketizer {
    /// A packetizer whose first packet has timestamp `first` (RFC 3550 asks
    /// for a random initial value: the caller chooses it).
    #[must_use]
    pub const fn new(payload_type: PayloadType, first: Timestamp) -> Self {
        Self {
            payload_type,
            next_timestamp: first,
        }
    }

    /// The timestamp the next packet gets.
    #[must_use]
    pub const fn next_timestamp(&self) -> Timestamp {
        self.next_timestamp
    }

    /// Advances the timestamp over `samples` (48 kHz) of untransmitted audio,
    /// e.g. a DTX pause.
    pub fn skip(&mut self, samples: u32) {
        self.next_timestamp = self.next_timestamp.add(samples);
    }

    /// Packetizes one Opus packet (shared, not copied) and advances the
    /// timestamp by its duration.
    pub fn packetize(
        &mut self,
        seq: &mut Sequencer,
        opus_packet: Bytes,
        talkspurt_start: bool,
    ) -> Result<OutPacket, OpusPacketError> {
        let duration = packet_duration(&opus_packet)?;
        let ts = self.next_timestamp;
        self.next_timestamp = ts.add(duration);
        Ok(seq.stamp(self.payload_type, talkspurt_start, ts, opus_packet))
    }
}

/// One received Opus packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpusFrame {
    /// The Opus packet, sharing the RTP packet's buffer.
    pub data: Bytes,
    /// Its RTP timestamp (48 kHz).
    pub timestamp: Timestamp,
    /// Its duration in 48 kHz samples.
    pub duration: u32,
    /// The marker bit: first packet of a talkspurt.
    pub talkspurt_start: bool,
}

/// One received Opus packet, borrowed from its RTP packet: what a decoder
/// reads (libopus takes a slice), with no reference-count traffic on the
/// packet's buffer. [`OpusFrame`] is the owned form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpusPayload<'a> {
    /// The Opus packet: the RTP payload.
    pub data: &'a [u8],
    /// Its RTP timestamp (48 kHz).
    pub timestamp: Timestamp,
    /// Its duration in 48 kHz samples.
    pub duration: u32,
    /// The marker bit: first packet of a talkspurt.
    pub talkspurt_start: bool,
}

/// Counters of an [`OpusDepacketizer`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpusDepacketizerStats {
    /// Packets handed out.
    pub packets: u64,
    /// Malformed packets dropped.
    pub malformed: u64,
}

/// Takes Opus packets out of RTP packets (RFC 7587 §4.2), checking their
/// framing. Loss concealment is the jitter buffer's and decoder's job.
#[derive(Clone, Debug, Default)]
pub struct OpusDepacketizer {
    stats: OpusDepacketizerStats,
}

impl OpusDepacketizer {
    /// A new depacketizer.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The counters so far.
    #[must_use]
    pub fn stats(&self) -> OpusDepacketizerStats {
        self.stats
    }

    /// The Opus packet of `packet`, borrowed, or the reason it was dropped:
    /// the receive path's form (depacketize, then decode from the slice while
    /// the jitter buffer's packet is still held).
    #[inline]
    pub fn depacketize_ref<'a, B: AsRef<[u8]>>(
        &mut self,
        packet: &'a RtpPacket<B>,
    ) -> Result<OpusPayload<'a>, OpusPacketError> {
        let data = packet.payload();
        match packet_duration(data) {
            Ok(duration) => {
                self.stats.packets += 1;
                Ok(OpusPayload {
                    data,
                    timestamp: packet.timestamp(),
                    duration,
                    talkspurt_start: packet.marker(),
                })
            }
            Err(e) => {
                self.stats.malformed += 1;
                Err(e)
            }
        }
    }

    /// The Opus packet of `packet`, owned, or the reason it was dropped. Takes
    /// the packet by value so the payload moves out without touching the
    /// buffer's reference count.
    #[inline]
    pub fn depacketize(&mut self, packet: RtpPacket<Bytes>) -> Result<OpusFrame, OpusPacketError> {
        let OpusPayload {
            timestamp,
            duration,
            talkspurt_start,
            ..
        } = self.depacketize_ref(&packet)?;
        Ok(OpusFrame {
            data: packet.into_payload(),
            timestamp,
            duration,
            talkspurt_start,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::header::Ssrc;
    use crate::rtp::seq::SeqNo;

    #[test]
    fn frame_durations_follow_rfc6716_table_2() {
        for config in 0u8..32 {
            let ms_x2 = match config {
                0..=11 => [20, 40, 80, 120][usize::from(config % 4)],
                12..=15 => [20, 40][usize::from(config % 2)],
                _ => [5, 10, 20, 40][usize::from(config % 4)],
            };
            // 48 samples per ms.
            assert_eq!(
                FRAME_SAMPLES[usize::from(config)],
                ms_x2 * 24,
                "config {config}"
            );
            assert_eq!(packet_duration(&[config << 3]), Ok(ms_x2 * 24));
        }
    }

    #[test]
    fn durations_follow_rfc6716_table() {
        // config 1 (SILK NB 20 ms), code 0.
        assert_eq!(packet_duration(&[1 << 3]), Ok(960));
        // config 31 (CELT FB 20 ms), code 1, two equal frames.
        assert_eq!(packet_duration(&[(31 << 3) | 1, 0, 0]), Ok(1920));
        assert_eq!(
            packet_duration(&[(31 << 3) | 1, 0]),
            Err(OpusPacketError::OddCode1)
        );
        // config 16 (CELT NB 2.5 ms), code 3, 48 frames = 120 ms.
        assert_eq!(packet_duration(&[(16 << 3) | 3, 48]), Ok(5760));
        assert_eq!(
            packet_duration(&[(16 << 3) | 3, 49]),
            Err(OpusPacketError::BadFrameCount { frames: 49 })
        );
        assert_eq!(
            packet_duration(&[(3 << 3) | 3, 0]),
            Err(OpusPacketError::BadFrameCount { frames: 0 })
        );
        // code 2, first frame length 2 of 3 bytes.
        assert_eq!(packet_duration(&[(13 << 3) | 2, 1, 9, 9]), Ok(1920));
        assert_eq!(
            packet_duration(&[(13 << 3) | 2, 5, 9]),
            Err(OpusPacketError::TruncatedFraming)
        );
        assert_eq!(
            packet_duration(&[(13 << 3) | 2, 253]),
            Err(OpusPacketError::TruncatedFraming)
        );
        assert_eq!(packet_duration(&[]), Err(OpusPacketError::Empty));
    }

    #[test]
    fn round_trip_with_48k_timestamps() {
        let pt = PayloadType::new(111).unwrap();
        let mut seq = Sequencer::new(Ssrc(5), SeqNo(1));
        let mut p = OpusPacketizer::new(pt, Timestamp(1000));
        let frame = Bytes::from_static(&[0xFC, 1, 2, 3]); // config 31, 20 ms
        let a = p.packetize(&mut seq, frame.clone(), true).unwrap();
        p.skip(960 * 3);
        let b = p.packetize(&mut seq, frame.clone(), false).unwrap();
        assert_eq!(a.timestamp(), Timestamp(1000));
        assert_eq!(b.timestamp(), Timestamp(1000 + 960 * 4));
        assert!(a.marker() && !b.marker());
        assert_eq!(
            p.packetize(&mut seq, Bytes::new(), false),
            Err(OpusPacketError::Empty)
        );

        let mut d = OpusDepacketizer::new();
        let got = d
            .depacketize(RtpPacket::parse(a.to_bytes()).unwrap())
            .unwrap();
        assert_eq!(
            got,
            OpusFrame {
                data: frame.clone(),
                timestamp: Timestamp(1000),
                duration: 960,
                talkspurt_start: true
            }
        );
        let b_packet = RtpPacket::parse(b.to_bytes()).unwrap();
        assert_eq!(
            d.depacketize_ref(&b_packet).unwrap(),
            OpusPayload {
                data: &frame[..],
                timestamp: Timestamp(1000 + 960 * 4),
                duration: 960,
                talkspurt_start: false
            }
        );
        let empty = crate::rtp::header::RtpHeader::new(pt, SeqNo(0), Timestamp(0), Ssrc(0));
        let mut buf = [0u8; 12];
        empty.write(&mut buf).unwrap();
        let empty = RtpPacket::parse(Bytes::copy_from_slice(&buf)).unwrap();
        assert_eq!(d.depacketize_ref(&empty), Err(OpusPacketError::Empty));
        assert!(d.depacketize(empty).is_err());
        assert_eq!(
            d.stats(),
            OpusDepacketizerStats {
                packets: 2,
                malformed: 2
            }
        );
    }
}
