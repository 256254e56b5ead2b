//! RTP sequence numbers: 16-bit values that wrap, compared with serial-number
//! arithmetic, and extended to 64 bits as in RFC 3550 Appendix A.1.

use std::fmt;

/// An RTP sequence number (RFC 3550 §5.1).
///
/// Sequence numbers wrap from 65535 to 0, so they have no total order: `SeqNo`
/// deliberately does not implement `Ord`. Compare them with
/// [`SeqNo::is_after`] or [`SeqNo::diff`], which treat the shorter way round
/// the circle as the true distance (serial-number arithmetic, RFC 1982).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNo(pub u16);

impl SeqNo {
    /// The sequence number that follows this one (wrapping 65535 → 0).
    #[must_use]
    pub const fn next(self) -> Self {
        Self(self.0.wrapping_add(1))
    }

    /// This sequence number advanced by `n`, wrapping.
    #[must_use]
    pub const fn add(self, n: u16) -> Self {
        Self(self.0.wrapping_add(n))
    }

    /// Signed distance from `earlier` to `self`: positive when `self` comes
    /// after `earlier`, negative when before. Exactly half the circle apart
    /// (32768) counts as -32768.
    #[must_use]
    pub const fn diff(self, earlier: SeqNo) -> i16 {
        self.0.wrapping_sub(earlier.0) as i16
    }

    /// Whether `self` comes after `other` going the shorter way round.
    #[must_use]
    pub const fn is_after(self, other: SeqNo) -> bool {
        self.diff(other) > 0
    }
}

impl fmt::Debug for SeqNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SeqNo({})", self.0)
    }
}

impl fmt::Display for SeqNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A sequence number extended with the count of wrap-arounds (cycles), as
/// kept by receivers in RFC 3550 Appendix A.1: `cycles << 16 | seq`.
///
/// Unlike [`SeqNo`] it is totally ordered.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct ExtendedSeqNo(pub u64);

impl ExtendedSeqNo {
    /// The 16-bit sequence number this value extends.
    #[must_use]
    pub const fn seq(self) -> SeqNo {
        SeqNo(self.0 as u16)
    }

    /// The number of times the 16-bit sequence number has wrapped.
    #[must_use]
    pub const fn cycles(self) -> u64 {
        self.0 >> 16
    }
}

/// Extends 16-bit sequence numbers of one stream to [`ExtendedSeqNo`]s
/// (RFC 3550 Appendix A.1).
///
/// Each sequence number is placed in the cycle that puts it closest to the
/// highest one seen so far, so wrap-around and reordering of up to 32767
/// packets are handled. It does not implement A.1's probation or
/// `MAX_DROPOUT` restart rules: those belong to receive statistics. A packet
/// that would fall before extended value 0 (reordered ahead of the first packet
/// across a wrap) is reported in cycle 0 and does not move the highest value.
#[derive(Clone, Copy, Debug, Default)]
pub struct SeqExtender {
    highest: Option<u64>,
}

impl SeqExtender {
    /// A new extender that has seen no packet.
    #[must_use]
    pub const fn new() -> Self {
        Self { highest: None }
    }

    /// The highest extended sequence number seen, if any.
    #[must_use]
    pub fn highest(&self) -> Option<ExtendedSeqNo> {
        self.highest.map(ExtendedSeqNo)
    }

    /// Extends `seq` and records it.
    pub fn extend(&mut self, seq: SeqNo) -> ExtendedSeqNo {
        let Some(highest) = self.highest else {
            self.highest = Some(u64::from(seq.0));
            return ExtendedSeqNo(u64::from(seq.0));
        };
        let delta = i64::from(seq.diff(SeqNo(highest as u16)));
        let candidate = highest as i64 + delta;
        if candidate < 0 {
            // Before the first packet, across a wrap: no cycle -1 exists.
            return ExtendedSeqNo(u64::from(seq.0));
        }
        let ext = candidate as u64;
        if ext > highest {
            self.highest = Some(ext);
        }
        ExtendedSeqNo(ext)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_and_compares() {
        assert_eq!(SeqNo(65535).next(), SeqNo(0));
        assert!(SeqNo(0).is_after(SeqNo(65535)));
        assert!(!SeqNo(65535).is_after(SeqNo(0)));
        assert_eq!(SeqNo(2).diff(SeqNo(65534)), 4);
        assert_eq!(SeqNo(65534).diff(SeqNo(2)), -4);
        assert!(!SeqNo(7).is_after(SeqNo(7)));
    }

    #[test]
    fn extends_across_wrap_and_reordering() {
        let mut x = SeqExtender::new();
        assert_eq!(x.extend(SeqNo(65534)).0, 65534);
        assert_eq!(x.extend(SeqNo(65535)).0, 65535);
        assert_eq!(x.extend(SeqNo(1)).0, 65537);
        // A late packet from before the wrap stays in cycle 0.
        assert_eq!(x.extend(SeqNo(65533)).0, 65533);
        assert_eq!(x.extend(SeqNo(0)).0, 65536);
        assert_eq!(x.highest(), Some(ExtendedSeqNo(65537)));
        assert_eq!(ExtendedSeqNo(65537).cycles(), 1);
        assert_eq!(ExtendedSeqNo(65537).seq(), SeqNo(1));
    }

    #[test]
    fn packet_before_first_across_wrap_lands_in_cycle_zero() {
        let mut x = SeqExtender::new();
        assert_eq!(x.extend(SeqNo(3)).0, 3);
        assert_eq!(x.extend(SeqNo(65535)).0, 65535);
        assert_eq!(x.highest(), Some(ExtendedSeqNo(3)));
        assert_eq!(x.extend(SeqNo(4)).0, 4);
    }
}
