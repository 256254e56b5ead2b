//! Per-source receive statistics (RFC 3550 A.1, A.3, A.8).

use std::time::{Duration, Instant};

use tracing::debug;

use crate::rtcp::{NtpTime, ReportBlock, duration_to_compact};
use crate::rtp::{SeqNo, Ssrc, Timestamp};

/// Sequential packets needed before a new source counts as valid (RFC 3550 A.1).
pub const MIN_SEQUENTIAL: u32 = 2;
/// A forward sequence jump below this is a gap, not a restart (RFC 3550 A.1).
pub const MAX_DROPOUT: u16 = 3000;
/// A backward jump of at most this is reordering, not a restart (RFC 3550 A.1).
pub const MAX_MISORDER: u16 = 100;

const SEQ_MOD: u64 = 1 << 16;

/// What [`ReceiveStats::on_packet`] made of a packet's sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeqVerdict {
    /// Counted: in order, a gap, reordered or a duplicate.
    Valid,
    /// The source is still on probation; the packet is not counted.
    Probation,
    /// A large jump was confirmed by the next packet: the statistics restarted
    /// at this sequence number (the sender restarted).
    Restarted,
    /// A large jump not (yet) confirmed: the packet is not counted.
    Bad,
}

/// Receive statistics of one source, as RFC 3550 A.1, A.3 and A.8 keep them.
///
/// Feed every RTP packet of the source with its arrival time; call
/// [`ReceiveStats::report_block`] when building an RR or SR.
///
/// ```
/// use std::time::{Duration, Instant};
/// use media_av::rtp::{SeqNo, Ssrc, Timestamp};
/// use media_av::stats::ReceiveStats;
///
/// let t0 = Instant::now();
/// let mut stats = ReceiveStats::new(Ssrc(7), 8000);
/// for i in [0u16, 1, 2, 4] {
///     let at = t0 + Duration::from_millis(20 * u64::from(i));
///     stats.on_packet(SeqNo(i), Timestamp(160 * u32::from(i)), at);
/// }
/// let block = stats.report_block(t0 + Duration::from_millis(100));
/// assert_eq!(block.cumulative_lost, 1); // seq 3
/// assert_eq!(block.highest_seq, 4);
/// ```
#[derive(Clone, Debug)]
pub struct ReceiveStats {
    ssrc: Ssrc,
    clock_rate: u32,
    max_seq: u16,
    cycles: u64,
    base_seq: u64,
    bad_seq: u64,
    probation: u32,
    started: bool,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    /// Arrival times are measured from here, in media clock ticks.
    epoch: Option<Instant>,
    transit: Option<i32>,
    /// Jitter × 16 (the integer form of RFC 3550 A.8).
    jitter_q4: u32,
    last_sr: Option<(u32, Instant)>,
    restarts: u64,
}

impl ReceiveStats {
    /// Statistics for `ssrc`, whose media clock runs at `clock_rate` Hz, with
    /// the RFC's probation of [`MIN_SEQUENTIAL`] packets.
    #[must_use]
    pub fn new(ssrc: Ssrc, clock_rate: u32) -> Self {
        Self {
            ssrc,
            clock_rate,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: SEQ_MOD + 1,
            probation: MIN_SEQUENTIAL,
            started: false,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            epoch: None,
            transit: None,
            jitter_q4: 0,
            last_sr: None,
            restarts: 0,
        }
    }

    /// Sets the probation (sequential packets before the source is valid);
    /// 0 trusts the first packet, e.g. when SRTP already authenticated it.
    #[must_use]
    pub fn with_probation(mut self, packets: u32) -> Self {
        self.probation = packets;
        self
    }

    /// The source.
    #[must_use]
    pub fn ssrc(&self) -> Ssrc {
        self.ssrc
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u64::from(seq);
        self.max_seq = seq;
        self.bad_seq = SEQ_MOD + 1;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
        self.transit = None;
    }

    /// RFC 3550 A.1 `update_seq`.
    fn update_seq(&mut self, seq: u16) -> SeqVerdict {
        if !self.started {
            self.started = true;
            self.init_seq(seq);
            self.max_seq = seq.wrapping_sub(1);
            if self.probation == 0 {
                self.max_seq = seq;
                self.received = 1;
                return SeqVerdict::Valid;
            }
        }
        let udelta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    self.received += 1;
                    return SeqVerdict::Valid;
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
            }
            return SeqVerdict::Probation;
        }
        let mut verdict = SeqVerdict::Valid;
        if udelta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles += SEQ_MOD;
            }
            self.max_seq = seq;
        } else if u64::from(udelta) <= SEQ_MOD - u64::from(MAX_MISORDER) {
            if u64::from(seq) == self.bad_seq {
                debug!(ssrc = ?self.ssrc, seq, "RTP source restarted its sequence");
                self.init_seq(seq);
                self.restarts += 1;
                verdict = SeqVerdict::Restarted;
            } else {
                self.bad_seq = (u64::from(seq) + 1) & (SEQ_MOD - 1);
                return SeqVerdict::Bad;
            }
        }
        // Otherwise a duplicate or reordered packet: counted, as in A.1.
        self.received += 1;
        verdict
    }

    /// Records a received packet: updates sequence state and, for counted
    /// packets, the interarrival jitter (RFC 3550 A.8).
    pub fn on_packet(&mut self, seq: SeqNo, timestamp: Timestamp, arrival: Instant) -> SeqVerdict {
        let verdict = self.update_seq(seq.0);
        if matches!(verdict, SeqVerdict::Valid | SeqVerdict::Restarted) {
            let arrival = self.arrival_ticks(arrival);
            let transit = arrival.wrapping_sub(timestamp.0) as i32;
            if let Some(prev) = self.transit {
                let d = transit.wrapping_sub(prev).unsigned_abs();
                // J += (|D| - J) / 16, in the integer form of A.8 (J × 16).
                self.jitter_q4 = self
                    .jitter_q4
                    .wrapping_add(d)
                    .wrapping_sub((self.jitter_q4 + 8) >> 4);
            }
            self.transit = Some(transit);
        }
        verdict
    }

    /// Arrival time in media clock ticks since the first packet (wrapping).
    fn arrival_ticks(&mut self, arrival: Instant) -> u32 {
        let epoch = *self.epoch.get_or_insert(arrival);
        let nanos = arrival.saturating_duration_since(epoch).as_nanos();
        (nanos * u128::from(self.clock_rate) / 1_000_000_000) as u32
    }

    /// Records a sender report from this source, received at `arrival`, for
    /// the LSR and DLSR fields of the next report block.
    pub fn on_sender_report(&mut self, ntp: NtpTime, arrival: Instant) {
        self.last_sr = Some((ntp.middle32(), arrival));
    }

    /// The extended highest sequence number received (A.1: cycles + max_seq).
    #[must_use]
    pub fn extended_highest(&self) -> u64 {
        self.cycles + u64::from(self.max_seq)
    }

    /// Packets counted as received (duplicates included, as in A.1).
    #[must_use]
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Packets expected: extended highest minus base plus one (A.3).
    #[must_use]
    pub fn expected(&self) -> u64 {
        if self.probation > 0 || !self.started {
            return 0;
        }
        (self.extended_highest() + 1).saturating_sub(self.base_seq)
    }

    /// Cumulative packets lost (expected minus received; negative with duplicates).
    #[must_use]
    pub fn cumulative_lost(&self) -> i64 {
        self.expected() as i64 - self.received as i64
    }

    /// Interarrival jitter in timestamp units (the report-block value).
    #[must_use]
    pub fn jitter(&self) -> u32 {
        self.jitter_q4 >> 4
    }

    /// Interarrival jitter as a duration.
    #[must_use]
    pub fn jitter_duration(&self) -> Duration {
        if self.clock_rate == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(
            u64::from(self.jitter_q4) * 1_000_000_000 / 16 / u64::from(self.clock_rate),
        )
    }

    /// Times a confirmed sequence jump restarted the statistics.
    #[must_use]
    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    /// Builds a report block (RFC 3550 A.3) at `now` and starts the next
    /// reporting interval: `fraction_lost` covers the packets since the
    /// previous call.
    pub fn report_block(&mut self, now: Instant) -> ReportBlock {
        let expected = self.expected();
        let expected_interval = expected.saturating_sub(self.expected_prior);
        self.expected_prior = expected;
        let received_interval = self.received.saturating_sub(self.received_prior);
        self.received_prior = self.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval as u64) * 256 / expected_interval).min(255) as u8
        };
        let (last_sr, delay_since_last_sr) = match self.last_sr {
            Some((lsr, at)) => (lsr, duration_to_compact(now.saturating_duration_since(at))),
            None => (0, 0),
        };
        ReportBlock {
            ssrc: self.ssrc,
            fraction_lost,
            cumulative_lost: self.cumulative_lost().clamp(-0x80_0000, 0x7F_FFFF) as i32,
            highest_seq: self.extended_highest() as u32,
            jitter: self.jitter(),
            last_sr,
            delay_since_last_sr,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(stats: &mut ReceiveStats, seqs: &[u16]) -> Vec<SeqVerdict> {
        let t0 = Instant::now();
        seqs.iter()
            .map(|&s| stats.on_packet(SeqNo(s), Timestamp(0), t0))
            .collect()
    }

    #[test]
    fn probation_then_valid() {
        let mut s = ReceiveStats::new(Ssrc(1), 8000);
        assert_eq!(
            feed(&mut s, &[10, 11, 12]),
            [SeqVerdict::Probation, SeqVerdict::Valid, SeqVerdict::Valid]
        );
        assert_eq!((s.received(), s.expected()), (2, 2));
        // A broken run restarts probation.
        let mut s = ReceiveStats::new(Ssrc(1), 8000);
        assert_eq!(
            feed(&mut s, &[10, 20, 21]),
            [
                SeqVerdict::Probation,
                SeqVerdict::Probation,
                SeqVerdict::Valid
            ]
        );
    }

    #[test]
    fn wrap_counts_a_cycle() {
        let mut s = ReceiveStats::new(Ssrc(1), 8000).with_probation(0);
        feed(&mut s, &[65534, 65535, 0, 1]);
        assert_eq!(s.extended_highest(), 65536 + 1);
        assert_eq!(s.expected(), 4);
        assert_eq!(s.cumulative_lost(), 0);
    }

    #[test]
    fn jump_needs_confirmation_to_restart() {
        let mut s = ReceiveStats::new(Ssrc(1), 8000).with_probation(0);
        feed(&mut s, &[100, 101]);
        assert_eq!(feed(&mut s, &[40_000]), [SeqVerdict::Bad]);
        assert_eq!(feed(&mut s, &[102]), [SeqVerdict::Valid]);
        assert_eq!(
            feed(&mut s, &[50_000, 50_001]),
            [SeqVerdict::Bad, SeqVerdict::Restarted]
        );
        assert_eq!(s.restarts(), 1);
        assert_eq!((s.received(), s.expected()), (1, 1));
        // Reordering within MAX_MISORDER and duplicates are counted.
        assert_eq!(feed(&mut s, &[49_990, 50_001]), [SeqVerdict::Valid; 2]);
        assert_eq!(s.cumulative_lost(), 1 - 3);
    }
}
