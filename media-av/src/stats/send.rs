//! Sender statistics for SRs and round-trip time from report blocks
//! (RFC 3550 §6.4.1).

use std::time::{Duration, Instant};

use crate::rtcp::{NtpTime, ReportBlock, SenderInfo, compact_to_duration};
use crate::rtp::Timestamp;

/// How many recent SRs a [`SenderStats`] remembers for round-trip time.
pub const SR_HISTORY: usize = 8;

/// Round-trip time from a report block received at NTP time `arrival`
/// (RFC 3550 §6.4.1): `A - LSR - DLSR` in compact NTP (1/65536 s) units.
///
/// `None` when the block has no LSR, or when the result is negative (the
/// clocks disagree).
///
/// ```
/// use std::time::Duration;
/// use media_av::rtcp::{NtpTime, ReportBlock};
/// use media_av::stats::round_trip_time;
/// // The example of RFC 3550 §6.4.1: A = 46864.500, LSR = 46853.125, DLSR = 5.250.
/// let block = ReportBlock { last_sr: 0xB705_2000, delay_since_last_sr: 0x0005_4000, ..Default::default() };
/// let arrival = NtpTime(0x0000_B710_8000_0000);
/// assert_eq!(round_trip_time(&block, arrival), Some(Duration::from_millis(6125)));
/// ```
#[must_use]
pub fn round_trip_time(block: &ReportBlock, arrival: NtpTime) -> Option<Duration> {
    if block.last_sr == 0 {
        return None;
    }
    let rtt = arrival
        .middle32()
        .wrapping_sub(block.last_sr)
        .wrapping_sub(block.delay_since_last_sr);
    if rtt > u32::MAX / 2 {
        return None;
    }
    Some(compact_to_duration(rtt))
}

/// Maps the monotonic clock to NTP wall-clock time from one reading of each,
/// so sans-IO code can stamp SRs from an [`Instant`].
#[derive(Clone, Copy, Debug)]
pub struct NtpClock {
    base: Instant,
    base_ntp: NtpTime,
}

impl NtpClock {
    /// A clock where `base` is NTP time `base_ntp` (read both once, together).
    #[must_use]
    pub const fn new(base: Instant, base_ntp: NtpTime) -> Self {
        Self { base, base_ntp }
    }

    /// The NTP time of `at` (instants before the base map to the base).
    #[must_use]
    pub fn ntp(&self, at: Instant) -> NtpTime {
        self.base_ntp
            .advanced(at.saturating_duration_since(self.base))
    }
}

/// Counters of one sending source for its SRs, and the SRs it sent for
/// round-trip time without a wall clock.
#[derive(Clone, Debug, Default)]
pub struct SenderStats {
    packets: u32,
    octets: u32,
    sent_srs: [Option<(u32, Instant)>; SR_HISTORY],
    next_slot: usize,
}

impl SenderStats {
    /// No packet sent yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one RTP packet sent with `payload_len` payload octets (header
    /// and padding excluded, RFC 3550 §6.4.1).
    pub fn on_packet_sent(&mut self, payload_len: usize) {
        self.packets = self.packets.wrapping_add(1);
        self.octets = self.octets.wrapping_add(payload_len as u32);
    }

    /// Packets sent (wraps at 2³²).
    #[must_use]
    pub fn packets(&self) -> u32 {
        self.packets
    }

    /// Payload octets sent (wraps at 2³²).
    #[must_use]
    pub fn octets(&self) -> u32 {
        self.octets
    }

    /// The sender info of an SR sent at NTP time `ntp`, whose media clock
    /// reads `rtp_timestamp` then.
    #[must_use]
    pub fn sender_info(&self, ntp: NtpTime, rtp_timestamp: Timestamp) -> SenderInfo {
        SenderInfo {
            ntp,
            rtp_timestamp,
            packet_count: self.packets,
            octet_count: self.octets,
        }
    }

    /// Records that an SR stamped `ntp` left at `now`, so that a report block
    /// echoing it gives the round-trip time on the monotonic clock.
    pub fn on_sender_report_sent(&mut self, ntp: NtpTime, now: Instant) {
        self.sent_srs[self.next_slot] = Some((ntp.middle32(), now));
        self.next_slot = (self.next_slot + 1) % SR_HISTORY;
    }

    /// Round-trip time from a report block received at `now` that echoes one
    /// of the last [`SR_HISTORY`] SRs: `now - sent - DLSR`. `None` when the
    /// block has no LSR, echoes an SR not remembered, or DLSR exceeds the
    /// elapsed time.
    #[must_use]
    pub fn round_trip_time(&self, block: &ReportBlock, now: Instant) -> Option<Duration> {
        if block.last_sr == 0 {
            return None;
        }
        let (_, sent) = self
            .sent_srs
            .iter()
            .flatten()
            .find(|(lsr, _)| *lsr == block.last_sr)?;
        now.saturating_duration_since(*sent)
            .checked_sub(compact_to_duration(block.delay_since_last_sr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_rtt_on_monotonic_clock() {
        let t0 = Instant::now();
        let clock = NtpClock::new(t0, NtpTime::new(1000, 0));
        let mut s = SenderStats::new();
        s.on_packet_sent(160);
        s.on_packet_sent(160);
        let ntp = clock.ntp(t0 + Duration::from_secs(2));
        let info = s.sender_info(ntp, Timestamp(5));
        assert_eq!((info.packet_count, info.octet_count), (2, 320));
        assert_eq!(ntp, NtpTime::new(1002, 0));
        s.on_sender_report_sent(ntp, t0 + Duration::from_secs(2));
        let block = ReportBlock {
            last_sr: ntp.middle32(),
            delay_since_last_sr: 0x8000, // 0.5 s
            ..ReportBlock::default()
        };
        let rtt = s.round_trip_time(&block, t0 + Duration::from_millis(2600));
        assert_eq!(rtt, Some(Duration::from_millis(100)));
        let unknown = ReportBlock {
            last_sr: 1,
            ..block
        };
        assert_eq!(
            s.round_trip_time(&unknown, t0 + Duration::from_secs(3)),
            None
        );
    }
}
