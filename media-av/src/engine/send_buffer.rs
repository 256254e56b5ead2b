//! Contiguous datagrams for outgoing packets without one allocation each.

use bytes::{Bytes, BytesMut};

use crate::rtp::OutPacket;

/// Bytes allocated at a time.
const POOL: usize = 64 * 1024;

/// Copies outgoing [`OutPacket`]s (head plus shared body) into one large
/// buffer and splits each off as its own [`Bytes`], so a
/// [`PacketPath`](session_core::contract::media::PacketPath), which takes
/// owned datagrams, gets them with one allocation per 64 KiB rather than
/// per packet.
#[derive(Debug, Default)]
pub(crate) struct SendBuffer {
    buf: BytesMut,
}

impl SendBuffer {
    /// The packet as one datagram.
    pub(crate) fn datagram(&mut self, packet: &OutPacket) -> Bytes {
        self.bytes(packet.wire_len(), |b| {
            b.extend_from_slice(packet.head());
            b.extend_from_slice(packet.body());
        })
    }

    /// `len` bytes written by `write` as one datagram.
    pub(crate) fn bytes(&mut self, len: usize, write: impl FnOnce(&mut BytesMut)) -> Bytes {
        if self.buf.capacity() - self.buf.len() < len {
            // Reclaims the allocation when every datagram split from it was
            // sent and dropped, else allocates a new one.
            self.buf.reserve(POOL.max(len));
        }
        write(&mut self.buf);
        self.buf.split().freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::{PayloadType, SeqNo, Sequencer, Ssrc, Timestamp};

    #[test]
    fn datagrams_are_independent_and_whole() {
        let mut seq = Sequencer::new(Ssrc(9), SeqNo(1));
        let mut sb = SendBuffer::default();
        let a = seq.stamp(
            PayloadType::PCMU,
            true,
            Timestamp(0),
            Bytes::from_static(&[1; 160]),
        );
        let b = seq.stamp(
            PayloadType::PCMU,
            false,
            Timestamp(160),
            Bytes::from_static(&[2; 160]),
        );
        let (da, db) = (sb.datagram(&a), sb.datagram(&b));
        assert_eq!(da, a.to_bytes());
        assert_eq!(db, b.to_bytes());
    }
}
