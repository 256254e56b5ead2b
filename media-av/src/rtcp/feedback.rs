//! Transport- and payload-specific feedback (RFC 4585 §6): generic NACK
//! ([`Nack`], [`NackPair`]) and picture loss indication ([`Pli`]).

use crate::rtp::{SeqNo, Ssrc};

/// RTCP packet type of transport-layer feedback (RTPFB, RFC 4585 §6.1).
pub const RTPFB: u8 = 205;
/// RTCP packet type of payload-specific feedback (PSFB, RFC 4585 §6.1).
pub const PSFB: u8 = 206;
/// Feedback message type (FMT) of the generic NACK in RTPFB.
pub const FMT_NACK: u8 = 1;
/// Feedback message type (FMT) of the PLI in PSFB.
pub const FMT_PLI: u8 = 1;

/// One generic NACK entry (RFC 4585 §6.2.1): a lost packet ID and a bitmask
/// of the 16 following packets also lost (bit `i` = `pid + i + 1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NackPair {
    /// Packet ID: the first lost sequence number.
    pub pid: SeqNo,
    /// Bitmask of following lost packets.
    pub blp: u16,
}

impl NackPair {
    /// Every sequence number this entry reports lost, in order.
    pub fn lost(self) -> impl Iterator<Item = SeqNo> {
        std::iter::once(self.pid).chain(
            (0..16u16)
                .filter(move |i| self.blp & (1 << i) != 0)
                .map(move |i| self.pid.add(i + 1)),
        )
    }
}

/// Packs lost sequence numbers, given in increasing (wrap-aware) order, into
/// as few [`NackPair`]s as possible. Allocation-free.
///
/// ```
/// use media_av::rtcp::{NackPair, nack_pairs};
/// use media_av::rtp::SeqNo;
/// let lost = [SeqNo(65534), SeqNo(1), SeqNo(40)];
/// let pairs: Vec<NackPair> = nack_pairs(lost).collect();
/// assert_eq!(pairs, [
///     NackPair { pid: SeqNo(65534), blp: 0b100 },
///     NackPair { pid: SeqNo(40), blp: 0 },
/// ]);
/// ```
pub fn nack_pairs<I: IntoIterator<Item = SeqNo>>(lost: I) -> NackPairs<I::IntoIter> {
    NackPairs {
        inner: lost.into_iter(),
        current: None,
    }
}

/// Iterator returned by [`nack_pairs`].
#[derive(Clone, Debug)]
pub struct NackPairs<I> {
    inner: I,
    current: Option<NackPair>,
}

impl<I: Iterator<Item = SeqNo>> Iterator for NackPairs<I> {
    type Item = NackPair;

    fn next(&mut self) -> Option<NackPair> {
        for seq in self.inner.by_ref() {
            match self.current.as_mut() {
                None => self.current = Some(NackPair { pid: seq, blp: 0 }),
                Some(cur) => {
                    let d = seq.diff(cur.pid);
                    if (1..=16).contains(&d) {
                        cur.blp |= 1 << (d - 1);
                    } else if d != 0 {
                        let done = *cur;
                        *cur = NackPair { pid: seq, blp: 0 };
                        return Some(done);
                    }
                }
            }
        }
        self.current.take()
    }
}

/// A received generic NACK (RTPFB, FMT 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nack<'a> {
    pub(crate) sender: Ssrc,
    pub(crate) media: Ssrc,
    pub(crate) fci: &'a [u8],
}

impl<'a> Nack<'a> {
    /// SSRC of the packet sender (the receiver asking).
    #[must_use]
    pub fn sender_ssrc(&self) -> Ssrc {
        self.sender
    }

    /// SSRC of the media source whose packets were lost.
    #[must_use]
    pub fn media_ssrc(&self) -> Ssrc {
        self.media
    }

    /// The NACK entries.
    pub fn pairs(&self) -> impl ExactSizeIterator<Item = NackPair> + 'a {
        self.fci.chunks_exact(4).map(|c| NackPair {
            pid: SeqNo(u16::from_be_bytes([c[0], c[1]])),
            blp: u16::from_be_bytes([c[2], c[3]]),
        })
    }

    /// Every lost sequence number the packet lists.
    pub fn lost(&self) -> impl Iterator<Item = SeqNo> + 'a {
        self.pairs().flat_map(NackPair::lost)
    }
}

/// A received picture loss indication (PSFB, FMT 1, RFC 4585 §6.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pli {
    /// SSRC of the packet sender (the receiver asking).
    pub sender_ssrc: Ssrc,
    /// SSRC of the media source that should send a key frame.
    pub media_ssrc: Ssrc,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_expand_and_pack() {
        let p = NackPair {
            pid: SeqNo(65535),
            blp: 0b1000_0000_0000_0011,
        };
        let lost: Vec<_> = p.lost().collect();
        assert_eq!(lost, [SeqNo(65535), SeqNo(0), SeqNo(1), SeqNo(15)]);
        let packed: Vec<_> = nack_pairs(lost).collect();
        assert_eq!(packed, [p]);
        let spread: Vec<_> = nack_pairs([SeqNo(1), SeqNo(17), SeqNo(17), SeqNo(35)]).collect();
        assert_eq!(spread.len(), 2);
        assert_eq!(
            spread[1],
            NackPair {
                pid: SeqNo(35),
                blp: 0
            }
        );
        assert_eq!(
            spread[0],
            NackPair {
                pid: SeqNo(1),
                blp: 1 << 15
            }
        );
    }
}
