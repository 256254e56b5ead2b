//! The video sender's retransmission history: the last packets sent, by
//! sequence number, for answering the peer's generic NACKs (RFC 4585 §6.2.1).
//!
//! Packets are resent as they were first sent, in the original stream (same
//! SSRC, sequence number and payload type): the receiver's frame assembler
//! takes a late copy of a missing sequence number like any other arrival.
//! RFC 4588's separate retransmission stream (`rtx`) needs SDP negotiation
//! that the engine does not do.

use bytes::Bytes;

use crate::rtp::SeqNo;

/// Packets kept: at 30 pictures per second and a few packets each, well over
/// the 150 ms a receiver waits for a missing packet.
pub(crate) const HISTORY_PACKETS: usize = 512;

/// The last [`HISTORY_PACKETS`] datagrams sent, each under its sequence
/// number. Storing a datagram clones its [`Bytes`] handle (no copy).
#[derive(Debug, Default)]
pub(crate) struct RetransmitHistory {
    /// Slot `seq % HISTORY_PACKETS`; allocated on the first store, so audio
    /// streams, which never store, pay nothing.
    slots: Vec<Option<(SeqNo, Bytes)>>,
}

impl RetransmitHistory {
    /// Keeps `datagram`, sent with sequence number `seq`.
    pub(crate) fn store(&mut self, seq: SeqNo, datagram: Bytes) {
        if self.slots.is_empty() {
            self.slots.resize_with(HISTORY_PACKETS, || None);
        }
        if let Some(slot) = self.slots.get_mut(usize::from(seq.0) % HISTORY_PACKETS) {
            *slot = Some((seq, datagram));
        }
    }

    /// The datagram sent with `seq`, if it is still kept.
    pub(crate) fn get(&self, seq: SeqNo) -> Option<Bytes> {
        match self.slots.get(usize::from(seq.0) % HISTORY_PACKETS)? {
            Some((kept, datagram)) if *kept == seq => Some(datagram.clone()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_packets_by_sequence_number_across_the_wrap() {
        let mut h = RetransmitHistory::default();
        assert_eq!(h.get(SeqNo(1)), None);
        let start = 65_000u16;
        for i in 0..2_000u16 {
            let seq = SeqNo(start.wrapping_add(i));
            h.store(seq, Bytes::from(seq.0.to_be_bytes().to_vec()));
        }
        let last = start.wrapping_add(1_999);
        for back in 0..HISTORY_PACKETS as u16 {
            let seq = SeqNo(last.wrapping_sub(back));
            assert_eq!(h.get(seq).as_deref(), Some(&seq.0.to_be_bytes()[..]));
        }
        // One older than the window: its slot holds a newer packet.
        assert_eq!(
            h.get(SeqNo(last.wrapping_sub(HISTORY_PACKETS as u16))),
            None
        );
    }
}
