//! G.711 over RTP (RFC 3551 §4.5.14): PCMU (µ-law, static payload type 0)
//! and PCMA (A-law, static payload type 8), one byte per sample on an 8 kHz
//! clock, 20 ms (160 samples) per packet by default.

use bytes::Bytes;
use thiserror::Error;

use super::header::{PayloadType, RtpPacket, Timestamp};
use super::packet::{OutPacket, Sequencer};

/// The G.711 RTP clock rate (RFC 3551 §4.5.14).
pub const G711_CLOCK_RATE: u32 = 8_000;
/// Samples in 20 ms, the default packet time (RFC 3551 §4.5).
pub const SAMPLES_PER_20MS: usize = 160;
/// Longest packet time accepted, 120 ms (960 bytes), keeping packets under
/// common MTUs.
pub const MAX_SAMPLES_PER_PACKET: usize = 960;

/// Which G.711 companding law.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum G711Law {
    /// µ-law (PCMU).
    MuLaw,
    /// A-law (PCMA).
    ALaw,
}

impl G711Law {
    /// The static payload type (RFC 3551 Table 4).
    #[must_use]
    pub const fn payload_type(self) -> PayloadType {
        match self {
            G711Law::MuLaw => PayloadType::PCMU,
            G711Law::ALaw => PayloadType::PCMA,
        }
    }
}

/// A caller asked for a packet time G.711 packetization does not support.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[error("G.711 packet of {0} samples is outside 1..=960")]
pub struct BadPacketTime(pub usize);

/// Splits encoded G.711 bytes into RTP packets and keeps the 8 kHz timestamp
/// (one tick per sample, i.e. per byte).
///
/// The marker bit is set on the first packet after [`G711Packetizer::start_talkspurt`]
/// (RFC 3551 §4.1), and on the very first packet.
#[derive(Clone, Debug)]
pub struct G711Packetizer {
    law: G711Law,
    payload_type: PayloadType,
    samples_per_packet: usize,
    next_timestamp: Timestamp,
    mark_next: bool,
}

impl G711Packetizer {
    /// A packetizer for `law` with 20 ms packets, its static payload type,
    /// and first timestamp `first` (chosen at random by the caller).
    #[must_use]
    pub const fn new(law: G711Law, first: Timestamp) -> Self {
        Self {
            law,
            payload_type: law.payload_type(),
            samples_per_packet: SAMPLES_PER_20MS,
            next_timestamp: first,
            mark_next: true,
        }
    }

    /// Uses `samples` per packet (8 per millisecond) instead of 160.
    pub fn with_samples_per_packet(mut self, samples: usize) -> Result<Self, BadPacketTime> {
        if !(1..=MAX_SAMPLES_PER_PACKET).contains(&samples) {
            return Err(BadPacketTime(samples));
        }
        self.samples_per_packet = samples;
        Ok(self)
    }

    /// Uses a dynamic `payload_type` instead of the static one.
    #[must_use]
    pub const fn with_payload_type(mut self, payload_type: PayloadType) -> Self {
        self.payload_type = payload_type;
        self
    }

    /// The law packetized.
    #[must_use]
    pub const fn law(&self) -> G711Law {
        self.law
    }

    /// The timestamp the next packet gets.
    #[must_use]
    pub const fn next_timestamp(&self) -> Timestamp {
        self.next_timestamp
    }

    /// Marks the next packet as the start of a talkspurt (after silence
    /// suppression) and advances the timestamp over `silent_samples`.
    pub fn start_talkspurt(&mut self, silent_samples: u32) {
        self.next_timestamp = self.next_timestamp.add(silent_samples);
        self.mark_next = true;
    }

    /// Packetizes `samples` (encoded G.711, one byte per sample) into packets
    /// of the configured size; the last may be shorter. Packet bodies share
    /// `samples`' buffer.
    pub fn packetize<'s>(&'s mut self, seq: &'s mut Sequencer, samples: &Bytes) -> G711Packets<'s> {
        G711Packets {
            packetizer: self,
            seq,
            samples: samples.clone(),
        }
    }
}

/// The packets of one [`G711Packetizer::packetize`] call, produced lazily.
#[derive(Debug)]
pub struct G711Packets<'s> {
    packetizer: &'s mut G711Packetizer,
    seq: &'s mut Sequencer,
    samples: Bytes,
}

impl Iterator for G711Packets<'_> {
    type Item = OutPacket;

    fn next(&mut self) -> Option<OutPacket> {
        if self.samples.is_empty() {
            return None;
        }
        let p = &mut *self.packetizer;
        let n = p.samples_per_packet.min(self.samples.len());
        let body = self.samples.split_to(n);
        let ts = p.next_timestamp;
        p.next_timestamp = ts.add(n as u32);
        let marker = std::mem::take(&mut p.mark_next);
        Some(self.seq.stamp(p.payload_type, marker, ts, body))
    }
}

/// One received G.711 packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct G711Frame {
    /// Encoded samples, one byte each, sharing the RTP packet's buffer.
    pub samples: Bytes,
    /// Timestamp of the first sample (8 kHz).
    pub timestamp: Timestamp,
    /// The law, as configured for the payload type.
    pub law: G711Law,
    /// The marker bit: first packet of a talkspurt.
    pub talkspurt_start: bool,
}

/// The peer sent a G.711 packet without samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[error("peer sent an empty G.711 RTP payload")]
pub struct EmptyG711Payload;

/// Takes G.711 samples out of RTP packets.
#[derive(Clone, Copy, Debug)]
pub struct G711Depacketizer {
    law: G711Law,
}

impl G711Depacketizer {
    /// A depacketizer for payloads of `law`.
    #[must_use]
    pub const fn new(law: G711Law) -> Self {
        Self { law }
    }

    /// The samples of `packet` (zero-copy; by value so the payload moves out).
    pub fn depacketize(&self, packet: RtpPacket<Bytes>) -> Result<G711Frame, EmptyG711Payload> {
        if packet.payload().is_empty() {
            return Err(EmptyG711Payload);
        }
        let timestamp = packet.timestamp();
        let talkspurt_start = packet.marker();
        Ok(G711Frame {
            samples: packet.into_payload(),
            timestamp,
            law: self.law,
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
    fn splits_into_20ms_packets() {
        let mut seq = Sequencer::new(Ssrc(1), SeqNo(0));
        let mut p = G711Packetizer::new(G711Law::MuLaw, Timestamp(u32::MAX - 100));
        let samples = Bytes::from(vec![0xFFu8; 400]);
        let packets: Vec<_> = p.packetize(&mut seq, &samples).collect();
        assert_eq!(
            packets.iter().map(OutPacket::wire_len).collect::<Vec<_>>(),
            [172, 172, 92]
        );
        assert_eq!(packets[1].timestamp(), Timestamp(59));
        assert_eq!(
            packets.iter().map(OutPacket::marker).collect::<Vec<_>>(),
            [true, false, false]
        );
        assert_eq!(p.next_timestamp(), Timestamp(299));
        p.start_talkspurt(800);
        let next: Vec<_> = p.packetize(&mut seq, &samples.slice(..160)).collect();
        assert!(next[0].marker());
        assert_eq!(next[0].timestamp(), Timestamp(1099));

        let d = G711Depacketizer::new(G711Law::MuLaw);
        let f = d
            .depacketize(RtpPacket::parse(packets[0].to_bytes()).unwrap())
            .unwrap();
        assert_eq!(f.samples.len(), 160);
        assert_eq!(f.law, G711Law::MuLaw);
        assert!(f.talkspurt_start);
        assert_eq!(PayloadType::PCMU.get(), 0);
        assert_eq!(G711Law::ALaw.payload_type().get(), 8);
        assert_eq!(
            G711Packetizer::new(G711Law::ALaw, Timestamp(0))
                .with_samples_per_packet(0)
                .err(),
            Some(BadPacketTime(0))
        );
    }
}
