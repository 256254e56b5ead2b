//! Lock-free counters of one stream, written by its tasks and read by
//! [`MediaStream::stats`](session_core::contract::media::MediaStream::stats)
//! and the [`Monitor`](super::Monitor).

use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use session_core::contract::media::StreamStats;

/// Counters of one stream (relaxed atomics: each is a statistic on its own).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) packets_sent: AtomicU64,
    pub(crate) octets_sent: AtomicU64,
    pub(crate) frames_sent: AtomicU64,
    pub(crate) keyframes_sent: AtomicU64,
    pub(crate) send_errors: AtomicU64,
    pub(crate) packets_received: AtomicU64,
    pub(crate) octets_received: AtomicU64,
    /// Cumulative lost of earlier sources plus the current one's.
    pub(crate) packets_lost: AtomicI64,
    pub(crate) jitter: AtomicU32,
    pub(crate) frames_decoded: AtomicU64,
    pub(crate) concealed: AtomicU64,
    pub(crate) fec_decoded: AtomicU64,
    pub(crate) decode_errors: AtomicU64,
    pub(crate) dropped_payload_type: AtomicU64,
    pub(crate) dropped_foreign_ssrc: AtomicU64,
    pub(crate) ssrc_collisions: AtomicU64,
    pub(crate) malformed: AtomicU64,
    pub(crate) rtcp_sent: AtomicU64,
    pub(crate) rtcp_received: AtomicU64,
    pub(crate) plis_sent: AtomicU64,
    pub(crate) plis_received: AtomicU64,
    pub(crate) nacks_sent: AtomicU64,
    pub(crate) nacked_received: AtomicU64,
    pub(crate) retransmitted: AtomicU64,
    /// Round-trip time in microseconds, 0 before the first measurement.
    pub(crate) rtt_micros: AtomicU64,
    /// RTP timestamp of the last packet sent and when (µs since the stream
    /// opened), for the SR's RTP timestamp.
    pub(crate) last_rtp_timestamp: AtomicU32,
    pub(crate) last_send_micros: AtomicU64,
}

pub(crate) fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Relaxed);
}

pub(crate) fn inc(c: &AtomicU64) {
    c.fetch_add(1, Relaxed);
}

impl Counters {
    /// The contract's counters.
    pub(crate) fn stream_stats(&self) -> StreamStats {
        StreamStats {
            packets_sent: self.packets_sent.load(Relaxed),
            packets_received: self.packets_received.load(Relaxed),
            packets_lost: u64::try_from(self.packets_lost.load(Relaxed)).unwrap_or(0),
            jitter: self.jitter.load(Relaxed),
        }
    }

    /// Every counter.
    pub(crate) fn snapshot(&self) -> CounterSnapshot {
        let rtt = self.rtt_micros.load(Relaxed);
        CounterSnapshot {
            stats: self.stream_stats(),
            octets_sent: self.octets_sent.load(Relaxed),
            frames_sent: self.frames_sent.load(Relaxed),
            keyframes_sent: self.keyframes_sent.load(Relaxed),
            send_errors: self.send_errors.load(Relaxed),
            octets_received: self.octets_received.load(Relaxed),
            frames_decoded: self.frames_decoded.load(Relaxed),
            concealed: self.concealed.load(Relaxed),
            fec_decoded: self.fec_decoded.load(Relaxed),
            decode_errors: self.decode_errors.load(Relaxed),
            dropped_payload_type: self.dropped_payload_type.load(Relaxed),
            dropped_foreign_ssrc: self.dropped_foreign_ssrc.load(Relaxed),
            ssrc_collisions: self.ssrc_collisions.load(Relaxed),
            malformed: self.malformed.load(Relaxed),
            rtcp_sent: self.rtcp_sent.load(Relaxed),
            rtcp_received: self.rtcp_received.load(Relaxed),
            plis_sent: self.plis_sent.load(Relaxed),
            plis_received: self.plis_received.load(Relaxed),
            nacks_sent: self.nacks_sent.load(Relaxed),
            nacked_received: self.nacked_received.load(Relaxed),
            retransmitted: self.retransmitted.load(Relaxed),
            round_trip_time: (rtt > 0).then(|| Duration::from_micros(rtt)),
        }
    }
}

/// Every counter of a stream at one moment (each read on its own, so two
/// counters may be a packet apart).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CounterSnapshot {
    /// The contract's counters (what `MediaStream::stats` returns).
    pub stats: StreamStats,
    /// RTP payload octets sent.
    pub octets_sent: u64,
    /// Audio frames or video pictures sent (encoded and packetized).
    pub frames_sent: u64,
    /// Keyframes sent (video).
    pub keyframes_sent: u64,
    /// Packets the path refused (too large, closed, socket error).
    pub send_errors: u64,
    /// RTP payload octets received.
    pub octets_received: u64,
    /// Audio frames (concealed ones included) or pictures decoded and given
    /// to the sink.
    pub frames_decoded: u64,
    /// Audio frames made up for lost packets: decoded from the next packet's
    /// forward error correction (also counted in `fec_decoded`) or concealed (PLC).
    pub concealed: u64,
    /// Of `concealed`, the frames decoded with Opus in-band FEC (RFC 7587 §3.2)
    /// from the packet after the lost one, which had already arrived. libopus
    /// rebuilds the lost audio from that packet's low-bitrate copy when it
    /// carries one and conceals (PLC) when it does not.
    pub fec_decoded: u64,
    /// Payloads the decoder rejected, or video frames broken by loss.
    pub decode_errors: u64,
    /// RTP packets dropped for a payload type not negotiated.
    pub dropped_payload_type: u64,
    /// RTP packets dropped from a second source while the first is active.
    pub dropped_foreign_ssrc: u64,
    /// RTP packets dropped because they carry this stream's own SSRC.
    pub ssrc_collisions: u64,
    /// Datagrams that were neither valid RTP nor valid RTCP.
    pub malformed: u64,
    /// RTCP compound packets sent.
    pub rtcp_sent: u64,
    /// RTCP compound packets received.
    pub rtcp_received: u64,
    /// Picture loss indications sent (video receive side).
    pub plis_sent: u64,
    /// Picture loss indications received (video send side).
    pub plis_received: u64,
    /// Generic NACK packets sent for missing video packets (receive side,
    /// RFC 4585 §6.2.1).
    pub nacks_sent: u64,
    /// Sequence numbers the peer's NACKs asked for (video send side).
    pub nacked_received: u64,
    /// Of those, packets still in the history and sent again.
    pub retransmitted: u64,
    /// The last round-trip time measured from SR/RR (RFC 3550 §6.4.1).
    pub round_trip_time: Option<Duration>,
}
