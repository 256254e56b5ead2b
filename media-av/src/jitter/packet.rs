//! What the jitter buffer and frame assembler need to know about a packet.

use crate::rtp::{RtpPacket, SeqNo, Timestamp};

/// The RTP fields the jitter buffer orders and times packets by.
///
/// Implemented for [`RtpPacket`]; implement it for your own type to buffer
/// decrypted or already-depacketized units.
pub trait JitterPacket {
    /// The RTP sequence number.
    fn sequence(&self) -> SeqNo;
    /// The RTP media timestamp.
    fn timestamp(&self) -> Timestamp;
    /// The RTP marker bit (last packet of a video frame).
    fn marker(&self) -> bool;
}

impl<B: AsRef<[u8]>> JitterPacket for RtpPacket<B> {
    fn sequence(&self) -> SeqNo {
        RtpPacket::sequence(self)
    }

    fn timestamp(&self) -> Timestamp {
        RtpPacket::timestamp(self)
    }

    fn marker(&self) -> bool {
        RtpPacket::marker(self)
    }
}

/// Extends 16-bit sequence numbers and 32-bit timestamps to signed 64-bit
/// values relative to the most recent packet, so wrap-around never breaks
/// ordering. Values start far from zero, at a multiple of 2³², so packets
/// reordered before the first one stay positive and truncating an extended
/// value gives back the 16- or 32-bit one.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Extender {
    last_seq: SeqNo,
    last_ext_seq: i64,
    last_ts: Timestamp,
    last_ext_ts: i64,
}

const ORIGIN: i64 = 1 << 40;

impl Extender {
    pub(crate) fn new(seq: SeqNo, ts: Timestamp) -> Self {
        Self {
            last_seq: seq,
            last_ext_seq: ORIGIN + i64::from(seq.0),
            last_ts: ts,
            last_ext_ts: ORIGIN + i64::from(ts.0),
        }
    }

    /// The extended sequence number of `seq` (not recorded).
    pub(crate) fn seq(&self, seq: SeqNo) -> i64 {
        self.last_ext_seq + i64::from(seq.diff(self.last_seq))
    }

    /// The extended timestamp of `ts` (not recorded).
    pub(crate) fn ts(&self, ts: Timestamp) -> i64 {
        self.last_ext_ts + i64::from(ts.diff(self.last_ts))
    }

    /// Makes `seq`/`ts` the reference when `seq` is the newest so far.
    pub(crate) fn record(&mut self, seq: SeqNo, ts: Timestamp) {
        let ext = self.seq(seq);
        if ext > self.last_ext_seq {
            self.last_ext_ts = self.ts(ts);
            self.last_ext_seq = ext;
            self.last_seq = seq;
            self.last_ts = ts;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extends_across_wraps_and_truncates_back() {
        let mut x = Extender::new(SeqNo(65535), Timestamp(u32::MAX - 10));
        let s = x.seq(SeqNo(1));
        let t = x.ts(Timestamp(5));
        assert_eq!(s - x.seq(SeqNo(65535)), 2);
        assert_eq!(t - x.ts(Timestamp(u32::MAX - 10)), 16);
        assert_eq!((s as u16, t as u32), (1, 5));
        x.record(SeqNo(1), Timestamp(5));
        // An older packet does not move the reference.
        x.record(SeqNo(65000), Timestamp(0));
        assert_eq!(x.seq(SeqNo(2)) - s, 1);
        assert!(x.seq(SeqNo(65534)) > 0);
    }
}
