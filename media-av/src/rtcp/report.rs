//! Sender and receiver reports (RFC 3550 §6.4): [`SenderReport`],
//! [`ReceiverReport`], their [`ReportBlock`]s, and [`NtpTime`].

use std::time::Duration;

use crate::rtp::{Ssrc, Timestamp};

/// Bytes of one report block (RFC 3550 §6.4.1).
pub const REPORT_BLOCK_LEN: usize = 24;
/// Bytes of the sender-info section of an SR after its SSRC.
pub const SENDER_INFO_LEN: usize = 20;

/// A 64-bit NTP timestamp (RFC 3550 §4): seconds since 1900 in the high 32
/// bits, the fraction of a second in the low 32.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct NtpTime(pub u64);

impl NtpTime {
    /// The NTP time `seconds` plus `fraction` / 2³² seconds.
    #[must_use]
    pub const fn new(seconds: u32, fraction: u32) -> Self {
        Self(((seconds as u64) << 32) | fraction as u64)
    }

    /// The middle 32 bits (16 bits of seconds, 16 of fraction): the compact
    /// form carried in LSR (RFC 3550 §6.4.1) and used for round-trip time.
    #[must_use]
    pub const fn middle32(self) -> u32 {
        (self.0 >> 16) as u32
    }

    /// This time advanced by `d` (wrapping, like NTP itself).
    #[must_use]
    pub fn advanced(self, d: Duration) -> Self {
        let secs = d.as_secs();
        let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
        Self(
            self.0
                .wrapping_add(secs.wrapping_shl(32))
                .wrapping_add(frac),
        )
    }
}

/// A duration in the 1/65536-second units of DLSR and compact NTP (RFC 3550
/// §6.4.1), saturating at `u32::MAX`.
#[must_use]
pub fn duration_to_compact(d: Duration) -> u32 {
    let units = d.as_nanos().saturating_mul(65_536) / 1_000_000_000;
    u32::try_from(units).unwrap_or(u32::MAX)
}

/// A compact-NTP span (1/65536 s units) as a [`Duration`].
#[must_use]
pub fn compact_to_duration(units: u32) -> Duration {
    Duration::from_nanos((u64::from(units) * 1_000_000_000) >> 16)
}

/// The sender-info section of an SR (RFC 3550 §6.4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SenderInfo {
    /// Wall-clock time when the report was sent.
    pub ntp: NtpTime,
    /// The same instant in the RTP clock of the sender's media.
    pub rtp_timestamp: Timestamp,
    /// RTP data packets sent since starting transmission (wraps).
    pub packet_count: u32,
    /// RTP payload octets sent since starting transmission (wraps).
    pub octet_count: u32,
}

impl SenderInfo {
    pub(crate) fn read(b: &[u8; SENDER_INFO_LEN]) -> Self {
        let w = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        Self {
            ntp: NtpTime::new(w(0), w(4)),
            rtp_timestamp: Timestamp(w(8)),
            packet_count: w(12),
            octet_count: w(16),
        }
    }

    pub(crate) fn write(&self, out: &mut [u8; SENDER_INFO_LEN]) {
        out[0..8].copy_from_slice(&self.ntp.0.to_be_bytes());
        out[8..12].copy_from_slice(&self.rtp_timestamp.0.to_be_bytes());
        out[12..16].copy_from_slice(&self.packet_count.to_be_bytes());
        out[16..20].copy_from_slice(&self.octet_count.to_be_bytes());
    }
}

/// One reception report block (RFC 3550 §6.4.1) about one source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ReportBlock {
    /// The source this block reports on.
    pub ssrc: Ssrc,
    /// Fraction of packets lost since the previous report, in 1/256 units.
    pub fraction_lost: u8,
    /// Cumulative packets lost: a 24-bit signed value (duplicates can make it
    /// negative), clamped to -8 388 608..=8 388 607 when written.
    pub cumulative_lost: i32,
    /// Extended highest sequence number received (cycles in the high 16 bits).
    pub highest_seq: u32,
    /// Interarrival jitter in RTP timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP time of the last SR received (0: none).
    pub last_sr: u32,
    /// Delay since that SR was received, in 1/65536 s (0: no SR yet).
    pub delay_since_last_sr: u32,
}

impl ReportBlock {
    pub(crate) fn read(b: &[u8; REPORT_BLOCK_LEN]) -> Self {
        let w = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        // Sign-extend the 24-bit cumulative count.
        let lost = (i32::from_be_bytes([b[5], b[6], b[7], 0])) >> 8;
        Self {
            ssrc: Ssrc(w(0)),
            fraction_lost: b[4],
            cumulative_lost: lost,
            highest_seq: w(8),
            jitter: w(12),
            last_sr: w(16),
            delay_since_last_sr: w(20),
        }
    }

    pub(crate) fn write(&self, out: &mut [u8; REPORT_BLOCK_LEN]) {
        let lost = self
            .cumulative_lost
            .clamp(-0x80_0000, 0x7F_FFFF)
            .to_be_bytes();
        out[0..4].copy_from_slice(&self.ssrc.0.to_be_bytes());
        out[4] = self.fraction_lost;
        out[5..8].copy_from_slice(&lost[1..4]);
        out[8..12].copy_from_slice(&self.highest_seq.to_be_bytes());
        out[12..16].copy_from_slice(&self.jitter.to_be_bytes());
        out[16..20].copy_from_slice(&self.last_sr.to_be_bytes());
        out[20..24].copy_from_slice(&self.delay_since_last_sr.to_be_bytes());
    }
}

/// Iterator over the report blocks of an SR or RR, read lazily from the packet.
#[derive(Clone, Debug)]
pub struct ReportBlocks<'a> {
    rest: &'a [u8],
}

impl<'a> ReportBlocks<'a> {
    pub(crate) fn new(rest: &'a [u8]) -> Self {
        Self { rest }
    }
}

impl Iterator for ReportBlocks<'_> {
    type Item = ReportBlock;

    fn next(&mut self) -> Option<ReportBlock> {
        let (block, rest) = self.rest.split_first_chunk::<REPORT_BLOCK_LEN>()?;
        self.rest = rest;
        Some(ReportBlock::read(block))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.rest.len() / REPORT_BLOCK_LEN;
        (n, Some(n))
    }
}

impl ExactSizeIterator for ReportBlocks<'_> {}

/// A received sender report (RTCP packet type 200), a view over its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SenderReport<'a> {
    pub(crate) ssrc: Ssrc,
    pub(crate) info: SenderInfo,
    /// The report blocks, exactly `count × 24` bytes.
    pub(crate) blocks: &'a [u8],
    /// Profile-specific extensions after the blocks.
    pub(crate) extension: &'a [u8],
}

impl<'a> SenderReport<'a> {
    /// The sender's SSRC.
    #[must_use]
    pub fn ssrc(&self) -> Ssrc {
        self.ssrc
    }

    /// The sender-info section.
    #[must_use]
    pub fn sender_info(&self) -> SenderInfo {
        self.info
    }

    /// The reception report blocks.
    #[must_use]
    pub fn report_blocks(&self) -> ReportBlocks<'a> {
        ReportBlocks::new(self.blocks)
    }

    /// Profile-specific extension bytes after the report blocks (usually empty).
    #[must_use]
    pub fn profile_extension(&self) -> &'a [u8] {
        self.extension
    }
}

/// A received receiver report (RTCP packet type 201), a view over its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceiverReport<'a> {
    pub(crate) ssrc: Ssrc,
    pub(crate) blocks: &'a [u8],
    pub(crate) extension: &'a [u8],
}

impl<'a> ReceiverReport<'a> {
    /// The reporter's SSRC.
    #[must_use]
    pub fn ssrc(&self) -> Ssrc {
        self.ssrc
    }

    /// The reception report blocks.
    #[must_use]
    pub fn report_blocks(&self) -> ReportBlocks<'a> {
        ReportBlocks::new(self.blocks)
    }

    /// Profile-specific extension bytes after the report blocks (usually empty).
    #[must_use]
    pub fn profile_extension(&self) -> &'a [u8] {
        self.extension
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_block_round_trips_negative_loss() {
        let block = ReportBlock {
            ssrc: Ssrc(0xDEAD_BEEF),
            fraction_lost: 64,
            cumulative_lost: -3,
            highest_seq: 0x0001_0005,
            jitter: 17,
            last_sr: 0x1234_5678,
            delay_since_last_sr: 0x0001_8000,
        };
        let mut buf = [0u8; REPORT_BLOCK_LEN];
        block.write(&mut buf);
        assert_eq!(&buf[4..8], &[64, 0xFF, 0xFF, 0xFD]);
        assert_eq!(ReportBlock::read(&buf), block);
        let clamped = ReportBlock {
            cumulative_lost: 10_000_000,
            ..block
        };
        clamped.write(&mut buf);
        assert_eq!(ReportBlock::read(&buf).cumulative_lost, 0x7F_FFFF);
    }

    #[test]
    fn ntp_middle_and_compact_units() {
        let t = NtpTime::new(0x1234_5678, 0x9ABC_DEF0);
        assert_eq!(t.middle32(), 0x5678_9ABC);
        assert_eq!(
            duration_to_compact(Duration::from_millis(1500)),
            0x0001_8000
        );
        assert_eq!(
            compact_to_duration(0x0001_8000),
            Duration::from_millis(1500)
        );
        assert_eq!(t.advanced(Duration::from_millis(500)).0, t.0 + (1 << 31));
    }
}
