//! Frame mode: the packets of a whole access unit at once, with FU-A NAL units
//! lent out of their packets instead of copied.
//!
//! A receiver that holds a frame's packets until the frame is complete (the
//! [`FrameAssembler`](crate::jitter::FrameAssembler) does) has no need to copy
//! FU-A fragments into a NAL unit of their own: the decoder copies them once,
//! after a start code, into its access unit. The same state machine as the
//! packet-by-packet path decides what is a NAL unit and what is dropped; only
//! the copy is left out.

use bytes::Bytes;

use super::{
    DroppedNal, FU_A, FU_HEADER_LEN, FuState, H264Depacketizer, LentNal, NAL_TYPE_MASK, NalUnit,
    Pending,
};
use crate::rtp::header::{RtpPacket, Timestamp};

/// What [`H264Depacketizer::push_frame`] yields.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum H264FrameEvent<'a> {
    /// A NAL unit that arrived whole (single NAL unit packet or STAP-A
    /// entry), sharing its packet's buffer.
    Nal(NalUnit),
    /// A NAL unit that arrived as FU-A fragments, left in its packets.
    Fragmented(FragmentedNal<'a>),
    /// A broken NAL unit was dropped; the receiver may ask for a keyframe.
    Dropped(DroppedNal),
}

/// An FU-A NAL unit lent out of the packets it arrived in: its header byte
/// (rebuilt from the FU indicator and header) and each fragment's body.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct FragmentedNal<'a> {
    header: u8,
    len: usize,
    timestamp: Timestamp,
    end_of_access_unit: bool,
    fragments: &'a [RtpPacket<Bytes>],
}

impl<'a> FragmentedNal<'a> {
    /// The NAL unit header byte (RFC 6184 §5.8: F and NRI from the FU
    /// indicator, the type from the FU header).
    #[must_use]
    pub fn header(&self) -> u8 {
        self.header
    }

    /// Length in bytes, header byte included.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: a NAL unit has at least its header byte.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The RTP timestamp of its access unit.
    #[must_use]
    pub fn timestamp(&self) -> Timestamp {
        self.timestamp
    }

    /// Whether its last fragment had the marker bit: the last NAL unit of its
    /// access unit.
    #[must_use]
    pub fn end_of_access_unit(&self) -> bool {
        self.end_of_access_unit
    }

    /// The fragments' bodies in order (after the header byte).
    pub fn bodies(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.fragments
            .iter()
            .map(|p| p.payload().get(FU_HEADER_LEN..).unwrap_or_default())
    }

    /// Appends the NAL unit's bytes to `out` (the one copy they need).
    pub fn append_to(&self, out: &mut Vec<u8>) {
        out.reserve(self.len);
        out.push(self.header);
        for body in self.bodies() {
            out.extend_from_slice(body);
        }
    }

    /// The NAL unit's bytes in a buffer of their own (a copy).
    #[must_use]
    pub fn to_bytes(&self) -> Bytes {
        let mut out = Vec::with_capacity(self.len);
        self.append_to(&mut out);
        Bytes::from(out)
    }
}

impl std::fmt::Debug for FragmentedNal<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FragmentedNal")
            .field("header", &self.header)
            .field("len", &self.len)
            .field("timestamp", &self.timestamp)
            .field("end_of_access_unit", &self.end_of_access_unit)
            .field("fragments", &self.fragments.len())
            .finish()
    }
}

impl H264Depacketizer {
    /// Feeds the packets of one access unit, in sequence order, and yields
    /// what they hold: NAL units that arrived whole, FU-A NAL units lent out
    /// of `packets` (nothing copied, no reference count touched), and drop
    /// reports, in order.
    ///
    /// The frame is self-contained: an FU-A left unfinished by earlier input
    /// is dropped ([`DropReason::Truncated`](super::DropReason::Truncated))
    /// first. What is yielded and
    /// dropped is otherwise what [`H264Depacketizer::push_packet`] would give
    /// for the same packets (the state machine is the same); packets the
    /// iterator has not reached when it is dropped are not fed.
    pub fn push_frame<'a>(&'a mut self, packets: &'a [RtpPacket<Bytes>]) -> FrameEvents<'a> {
        self.copying = false;
        self.switch_drop = None;
        let mut out = Pending::default();
        self.abort_fu(&mut out, false);
        self.out = out;
        FrameEvents {
            depacketizer: self,
            packets,
            next: 0,
            fu_start: 0,
        }
    }
}

/// The events of one frame; see [`H264Depacketizer::push_frame`].
#[derive(Debug)]
pub struct FrameEvents<'a> {
    depacketizer: &'a mut H264Depacketizer,
    packets: &'a [RtpPacket<Bytes>],
    /// The next packet to feed; `depacketizer.out` holds what the one before
    /// produced.
    next: usize,
    /// Where the FU-A being assembled started.
    fu_start: usize,
}

impl<'a> FrameEvents<'a> {
    /// Feeds `packets[i]` in frame mode.
    #[inline]
    fn feed(&mut self, i: usize) {
        let d = &mut *self.depacketizer;
        let packet = &self.packets[i];
        let (seq, ts, marker) = (packet.sequence(), packet.timestamp(), packet.marker());
        let payload = packet.payload();
        if d.continues_fu(seq, ts, payload) {
            d.last_seq = Some(seq);
            d.fu_len += payload.len() - FU_HEADER_LEN;
            return;
        }
        // What the packet produced stays in `d.out` for `next` to read.
        let _ = d.push_with(seq, ts, marker, payload, || packet.payload_bytes());
        let starts_fu = matches!(payload, [i, h, ..] if i & NAL_TYPE_MASK == FU_A && h & 0x80 != 0);
        if starts_fu && d.fu == FuState::Assembling {
            self.fu_start = i;
        }
    }

    fn lend(&self, nal: LentNal, last: usize) -> FragmentedNal<'a> {
        FragmentedNal {
            header: nal.header,
            len: nal.len,
            timestamp: nal.timestamp,
            end_of_access_unit: nal.end_of_access_unit,
            fragments: &self.packets[self.fu_start..=last],
        }
    }
}

impl<'a> Iterator for FrameEvents<'a> {
    type Item = H264FrameEvent<'a>;

    fn next(&mut self) -> Option<H264FrameEvent<'a>> {
        loop {
            let out = &mut self.depacketizer.out;
            if let Some(event) = out.next_event() {
                return Some(match event {
                    super::H264Event::Nal(n) => H264FrameEvent::Nal(n),
                    super::H264Event::Dropped(d) => H264FrameEvent::Dropped(d),
                });
            }
            if let Some(nal) = out.lent.take() {
                return Some(H264FrameEvent::Fragmented(self.lend(nal, self.next - 1)));
            }
            if self.next == self.packets.len() {
                return None;
            }
            self.feed(self.next);
            self.next += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::h264::{DropReason, H264Event, H264Packetizer};
    use crate::rtp::header::{PayloadType, Ssrc};
    use crate::rtp::packet::Sequencer;
    use crate::rtp::seq::SeqNo;

    fn packets(nals: &[Bytes], mtu: usize) -> Vec<RtpPacket> {
        let mut seq = Sequencer::new(Ssrc(1), SeqNo(65_530));
        H264Packetizer::new(PayloadType::new(96).unwrap(), mtu)
            .unwrap()
            .packetize_nals(&mut seq, nals, Timestamp(90))
            .map(|p| RtpPacket::parse(p.to_bytes()).unwrap())
            .collect()
    }

    fn nal(t: u8, len: usize) -> Bytes {
        (0..len)
            .map(|i| if i == 0 { 0x60 | t } else { i as u8 })
            .collect()
    }

    #[test]
    fn fu_a_nal_units_are_lent_out_of_their_packets() {
        let nals = [nal(7, 10), nal(8, 4), nal(5, 5000), nal(1, 3000)];
        let packets = packets(&nals, 1200);
        let mut d = H264Depacketizer::new();
        let events: Vec<_> = d.push_frame(&packets).collect();
        let mut got = Vec::new();
        for e in &events {
            match e {
                H264FrameEvent::Nal(n) => got.push(n.data.clone()),
                H264FrameEvent::Fragmented(f) => {
                    assert!(f.fragments.len() > 1);
                    // Lent, not copied: the bodies point into the packets.
                    let first = f.bodies().next().unwrap();
                    assert!(
                        packets
                            .iter()
                            .any(|p| p.as_bytes().as_ptr_range().contains(&first.as_ptr()))
                    );
                    assert_eq!(f.timestamp(), Timestamp(90));
                    got.push(f.to_bytes());
                }
                H264FrameEvent::Dropped(d) => panic!("dropped {d:?}"),
            }
        }
        assert_eq!(got, nals);
        assert!(
            matches!(events.last(), Some(H264FrameEvent::Fragmented(f)) if f.end_of_access_unit())
        );
        assert_eq!(d.stats().nal_units, 4);
    }

    #[test]
    fn unfinished_fu_a_is_dropped_when_a_frame_or_a_copying_call_follows() {
        let packets = packets(&[nal(5, 3000)], 1200);
        let (first, rest) = packets.split_at(2);
        let mut d = H264Depacketizer::new();
        assert_eq!(d.push_frame(first).count(), 0);
        // The next frame cannot continue an FU-A whose start it does not hold.
        let events: Vec<_> = d.push_frame(rest).collect();
        assert!(matches!(
            events[0],
            H264FrameEvent::Dropped(DroppedNal {
                reason: DropReason::Truncated,
                ..
            })
        ));
        assert_eq!(events.len(), 2, "{events:?}"); // and the last fragment lacks its start
        // Copying cannot continue one left in packets either.
        let mut d = H264Depacketizer::new();
        assert_eq!(d.push_frame(first).count(), 0);
        let events: Vec<_> = d.push_packet_ref(&rest[0]).collect();
        assert!(
            matches!(
                events[..],
                [
                    H264Event::Dropped(DroppedNal {
                        reason: DropReason::Truncated,
                        ..
                    }),
                    H264Event::Dropped(DroppedNal {
                        reason: DropReason::MissingStart,
                        ..
                    })
                ]
            ),
            "{events:?}"
        );
        assert_eq!(d.stats().dropped, 2);
    }
}
