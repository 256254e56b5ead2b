//! Outgoing RTP packets in vectored form ([`OutPacket`]: a small inline head
//! plus a shared payload slice) and the [`Sequencer`] that numbers them.

use std::io::IoSlice;

use bytes::{BufMut, Bytes, BytesMut};

use super::header::{FIXED_HEADER_LEN, PayloadType, RTP_VERSION, RtpWriteError, Ssrc, Timestamp};
use super::seq::SeqNo;

/// Most payload-header bytes a packetizer puts in the head of an
/// [`OutPacket`] (H.264 FU-A uses two).
pub const MAX_PAYLOAD_HEADER_LEN: usize = 4;
const HEAD_CAPACITY: usize = FIXED_HEADER_LEN + MAX_PAYLOAD_HEADER_LEN;

/// An outgoing RTP packet as two pieces: an inline head (the 12-byte RTP
/// header, then up to [`MAX_PAYLOAD_HEADER_LEN`] payload-header bytes such as
/// the FU-A indicator and header) and a body that shares the caller's media
/// buffer.
///
/// Building one copies no media bytes. Send it with vectored IO
/// ([`OutPacket::io_slices`], e.g. `sendmsg`) or copy it once into a datagram
/// buffer with [`OutPacket::write_to`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutPacket {
    head: [u8; HEAD_CAPACITY],
    head_len: u8,
    body: Bytes,
}

impl OutPacket {
    /// The RTP header followed by any payload header.
    #[must_use]
    pub fn head(&self) -> &[u8] {
        &self.head[..usize::from(self.head_len)]
    }

    /// The payload-format header bytes after the RTP header (may be empty).
    #[must_use]
    pub fn payload_header(&self) -> &[u8] {
        &self.head[FIXED_HEADER_LEN..usize::from(self.head_len)]
    }

    /// The media bytes, sharing the buffer they were packetized from.
    #[must_use]
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Total length on the wire (head plus body).
    #[must_use]
    pub fn wire_len(&self) -> usize {
        usize::from(self.head_len) + self.body.len()
    }

    /// The marker bit.
    #[must_use]
    pub fn marker(&self) -> bool {
        self.head[1] & 0x80 != 0
    }

    /// The sequence number.
    #[must_use]
    pub fn sequence(&self) -> SeqNo {
        SeqNo(u16::from_be_bytes([self.head[2], self.head[3]]))
    }

    /// The media timestamp.
    #[must_use]
    pub fn timestamp(&self) -> Timestamp {
        Timestamp(u32::from_be_bytes([
            self.head[4],
            self.head[5],
            self.head[6],
            self.head[7],
        ]))
    }

    /// The two pieces for vectored IO.
    #[must_use]
    pub fn io_slices(&self) -> [IoSlice<'_>; 2] {
        [IoSlice::new(self.head()), IoSlice::new(&self.body)]
    }

    /// Copies the packet into the front of `out` (one datagram) and returns its length.
    pub fn write_to(&self, out: &mut [u8]) -> Result<usize, RtpWriteError> {
        let head = self.head();
        let needed = head.len() + self.body.len();
        let available = out.len();
        let Some(out) = out.get_mut(..needed) else {
            return Err(RtpWriteError::BufferTooSmall { needed, available });
        };
        let (h, b) = out.split_at_mut(head.len());
        h.copy_from_slice(head);
        b.copy_from_slice(&self.body);
        Ok(needed)
    }

    /// Appends the packet to `out`.
    pub fn put(&self, out: &mut impl BufMut) -> Result<(), RtpWriteError> {
        let needed = self.wire_len();
        let available = out.remaining_mut();
        if available < needed {
            return Err(RtpWriteError::BufferTooSmall { needed, available });
        }
        out.put_slice(self.head());
        out.put_slice(&self.body);
        Ok(())
    }

    /// The packet in one new contiguous buffer (allocates; for tests and
    /// callers without a reusable buffer).
    #[must_use]
    pub fn to_bytes(&self) -> Bytes {
        let mut b = BytesMut::with_capacity(self.wire_len());
        b.put_slice(self.head());
        b.put_slice(&self.body);
        b.freeze()
    }
}

/// Numbers the outgoing packets of one SSRC and writes their fixed RTP header.
///
/// One sequencer serves every payload format sent on the SSRC (audio and
/// RFC 4733 telephone events share a sequence-number space). Its packets carry
/// no CSRCs and no header extension: write those with
/// [`RtpHeader`](super::header::RtpHeader).
#[derive(Clone, Debug)]
pub struct Sequencer {
    ssrc: Ssrc,
    next: SeqNo,
}

impl Sequencer {
    /// A sequencer for `ssrc` whose first packet gets `first` (RFC 3550 §5.1
    /// asks for a random initial value: the caller chooses it).
    #[must_use]
    pub const fn new(ssrc: Ssrc, first: SeqNo) -> Self {
        Self { ssrc, next: first }
    }

    /// The SSRC written into every packet.
    #[must_use]
    pub const fn ssrc(&self) -> Ssrc {
        self.ssrc
    }

    /// The sequence number the next packet gets.
    #[must_use]
    pub const fn next_sequence(&self) -> SeqNo {
        self.next
    }

    /// Builds the next packet with `body` as its whole payload.
    pub fn stamp(
        &mut self,
        payload_type: PayloadType,
        marker: bool,
        timestamp: Timestamp,
        body: Bytes,
    ) -> OutPacket {
        self.stamp_with_header(payload_type, marker, timestamp, &[], body)
    }

    /// Builds the next packet with a payload header (at most
    /// [`MAX_PAYLOAD_HEADER_LEN`] bytes; longer input is cut) before `body`.
    pub fn stamp_with_header(
        &mut self,
        payload_type: PayloadType,
        marker: bool,
        timestamp: Timestamp,
        payload_header: &[u8],
        body: Bytes,
    ) -> OutPacket {
        let seq = self.next;
        self.next = seq.next();
        let s = seq.0.to_be_bytes();
        let t = timestamp.0.to_be_bytes();
        let c = self.ssrc.0.to_be_bytes();
        let mut head = [0u8; HEAD_CAPACITY];
        head[..FIXED_HEADER_LEN].copy_from_slice(&[
            RTP_VERSION << 6,
            (u8::from(marker) << 7) | payload_type.get(),
            s[0],
            s[1],
            t[0],
            t[1],
            t[2],
            t[3],
            c[0],
            c[1],
            c[2],
            c[3],
        ]);
        let n = payload_header.len().min(MAX_PAYLOAD_HEADER_LEN);
        head[FIXED_HEADER_LEN..FIXED_HEADER_LEN + n].copy_from_slice(&payload_header[..n]);
        OutPacket {
            head,
            head_len: (FIXED_HEADER_LEN + n) as u8,
            body,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::header::RtpPacket;

    #[test]
    fn stamps_and_writes() {
        let mut seq = Sequencer::new(Ssrc(9), SeqNo(65535));
        let pt = PayloadType::new(96).unwrap();
        let a = seq.stamp_with_header(
            pt,
            true,
            Timestamp(90_000),
            &[0x7C, 0x85],
            Bytes::from_static(b"abc"),
        );
        let b = seq.stamp(pt, false, Timestamp(90_000), Bytes::from_static(b"z"));
        assert_eq!(a.sequence(), SeqNo(65535));
        assert_eq!(b.sequence(), SeqNo(0));
        assert!(a.marker() && !b.marker());
        assert_eq!(a.payload_header(), [0x7C, 0x85]);
        assert_eq!(a.wire_len(), 17);
        let mut buf = [0u8; 32];
        let n = a.write_to(&mut buf).unwrap();
        let p = RtpPacket::parse(&buf[..n]).unwrap();
        assert_eq!(p.payload(), [0x7C, 0x85, b'a', b'b', b'c']);
        assert_eq!(p.timestamp(), Timestamp(90_000));
        assert_eq!(p.ssrc(), Ssrc(9));
        assert_eq!(a.to_bytes(), Bytes::copy_from_slice(&buf[..n]));
        let mut v = Vec::new();
        a.put(&mut v).unwrap();
        assert_eq!(v, &buf[..n]);
        assert!(a.write_to(&mut buf[..5]).is_err());
        let io = a.io_slices();
        assert_eq!(io[0].len() + io[1].len(), n);
    }
}
