//! Writing compound RTCP packets into a caller buffer ([`RtcpWriter`]).

use super::compound::{BYE, RR, SDES, SR};
use super::error::RtcpWriteError;
use super::feedback::{FMT_NACK, FMT_PLI, PSFB, RTPFB, nack_pairs};
use super::report::{REPORT_BLOCK_LEN, ReportBlock, SENDER_INFO_LEN, SenderInfo};
use super::sdes::SdesItem;
use crate::rtp::{SeqNo, Ssrc};

/// Most entries a five-bit RTCP count field holds.
pub const MAX_COUNT: usize = 31;

/// Appends RTCP packets to a caller buffer, building one compound packet.
///
/// Each method writes one whole packet or, on error, nothing. Nothing
/// allocates. Put an SR or RR first and an SDES with the CNAME next to make a
/// compound RFC 3550 §6.1 accepts (reduced-size RTCP, RFC 5506, may send a
/// lone feedback packet).
///
/// ```
/// use media_av::rtcp::{Compound, RtcpPacket, RtcpWriter};
/// use media_av::rtp::{SeqNo, Ssrc};
/// let mut buf = [0u8; 256];
/// let mut w = RtcpWriter::new(&mut buf);
/// w.receiver_report(Ssrc(1), &[])?;
/// w.sdes_cname(Ssrc(1), b"alice@example.com")?;
/// w.nack(Ssrc(1), Ssrc(2), [SeqNo(10), SeqNo(12)])?;
/// let n = w.finish();
/// let compound = Compound::parse(&buf[..n])?;
/// assert_eq!(compound.packets().count(), 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct RtcpWriter<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> RtcpWriter<'b> {
    /// A writer that fills `buf` from the start.
    pub fn new(buf: &'b mut [u8]) -> Self {
        Self { buf, len: 0 }
    }

    /// Bytes written so far.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been written.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes written so far.
    #[must_use]
    pub fn written(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Ends the compound and returns its length.
    #[must_use]
    pub fn finish(self) -> usize {
        self.len
    }

    /// Reserves `total` bytes for a packet and writes its header.
    fn start(
        &mut self,
        count: u8,
        packet_type: u8,
        total: usize,
    ) -> Result<&mut [u8], RtcpWriteError> {
        debug_assert!(total % 4 == 0 && total >= 4);
        let words =
            u16::try_from(total / 4 - 1).map_err(|_| RtcpWriteError::PacketTooLong(total))?;
        let available = self.buf.len() - self.len;
        let Some(out) = self.buf.get_mut(self.len..self.len + total) else {
            return Err(RtcpWriteError::BufferTooSmall {
                needed: total,
                available,
            });
        };
        out[0] = 0x80 | count;
        out[1] = packet_type;
        out[2..4].copy_from_slice(&words.to_be_bytes());
        self.len += total;
        Ok(out)
    }

    fn count(n: usize) -> Result<u8, RtcpWriteError> {
        if n > MAX_COUNT {
            return Err(RtcpWriteError::TooMany(n));
        }
        Ok(n as u8)
    }

    /// Writes a sender report (RFC 3550 §6.4.1).
    pub fn sender_report(
        &mut self,
        ssrc: Ssrc,
        info: &SenderInfo,
        blocks: &[ReportBlock],
    ) -> Result<(), RtcpWriteError> {
        let count = Self::count(blocks.len())?;
        let total = 8 + SENDER_INFO_LEN + REPORT_BLOCK_LEN * blocks.len();
        let out = self.start(count, SR, total)?;
        out[4..8].copy_from_slice(&ssrc.0.to_be_bytes());
        let (info_out, rest) = out[8..].split_at_mut(SENDER_INFO_LEN);
        if let Some(info_out) = info_out.first_chunk_mut::<SENDER_INFO_LEN>() {
            info.write(info_out);
        }
        write_blocks(rest, blocks);
        Ok(())
    }

    /// Writes a receiver report (RFC 3550 §6.4.2).
    pub fn receiver_report(
        &mut self,
        ssrc: Ssrc,
        blocks: &[ReportBlock],
    ) -> Result<(), RtcpWriteError> {
        let count = Self::count(blocks.len())?;
        let out = self.start(count, RR, 8 + REPORT_BLOCK_LEN * blocks.len())?;
        out[4..8].copy_from_slice(&ssrc.0.to_be_bytes());
        write_blocks(&mut out[8..], blocks);
        Ok(())
    }

    /// Writes an SDES packet with one chunk per `(source, items)` entry
    /// (RFC 3550 §6.5).
    pub fn sdes(&mut self, chunks: &[(Ssrc, &[SdesItem<'_>])]) -> Result<(), RtcpWriteError> {
        let count = Self::count(chunks.len())?;
        let mut total = 4;
        for (_, items) in chunks {
            let mut item_bytes = 0;
            for item in *items {
                if item.value.len() > 255 {
                    return Err(RtcpWriteError::TextTooLong(item.value.len()));
                }
                item_bytes += 2 + item.value.len();
            }
            // SSRC, items, at least one null octet, padded to 32 bits.
            total += (4 + item_bytes + 1).next_multiple_of(4);
        }
        let out = self.start(count, SDES, total)?;
        out[4..].fill(0);
        let mut pos = 4;
        for (ssrc, items) in chunks {
            let start = pos;
            out[pos..pos + 4].copy_from_slice(&ssrc.0.to_be_bytes());
            pos += 4;
            for item in *items {
                out[pos] = item.kind.to_u8();
                out[pos + 1] = item.value.len() as u8;
                out[pos + 2..pos + 2 + item.value.len()].copy_from_slice(item.value);
                pos += 2 + item.value.len();
            }
            pos = start + (pos - start + 1).next_multiple_of(4);
        }
        Ok(())
    }

    /// Writes an SDES packet holding only `ssrc`'s CNAME.
    pub fn sdes_cname(&mut self, ssrc: Ssrc, cname: &[u8]) -> Result<(), RtcpWriteError> {
        let item = [SdesItem {
            kind: super::sdes::SdesItemKind::Cname,
            value: cname,
        }];
        self.sdes(&[(ssrc, &item)])
    }

    /// Writes a BYE for `sources` with an optional reason (RFC 3550 §6.6).
    pub fn bye(&mut self, sources: &[Ssrc], reason: Option<&[u8]>) -> Result<(), RtcpWriteError> {
        let count = Self::count(sources.len())?;
        let reason_len = match reason {
            Some(r) if r.len() > 255 => return Err(RtcpWriteError::TextTooLong(r.len())),
            Some(r) => (1 + r.len()).next_multiple_of(4),
            None => 0,
        };
        let out = self.start(count, BYE, 4 + 4 * sources.len() + reason_len)?;
        let mut pos = 4;
        for s in sources {
            out[pos..pos + 4].copy_from_slice(&s.0.to_be_bytes());
            pos += 4;
        }
        if let Some(r) = reason {
            out[pos..].fill(0);
            out[pos] = r.len() as u8;
            out[pos + 1..pos + 1 + r.len()].copy_from_slice(r);
        }
        Ok(())
    }

    /// Writes a generic NACK (RFC 4585 §6.2.1) for the lost sequence numbers,
    /// given in increasing wrap-aware order, packed with [`nack_pairs`].
    pub fn nack(
        &mut self,
        sender: Ssrc,
        media: Ssrc,
        lost: impl IntoIterator<Item = SeqNo>,
    ) -> Result<(), RtcpWriteError> {
        let start = self.len;
        let out = self.start(FMT_NACK, RTPFB, 12)?;
        out[4..8].copy_from_slice(&sender.0.to_be_bytes());
        out[8..12].copy_from_slice(&media.0.to_be_bytes());
        let mut entries = 0usize;
        for pair in nack_pairs(lost) {
            let Some(slot) = self.buf.get_mut(self.len..self.len + 4) else {
                let available = self.buf.len() - start;
                self.len = start;
                return Err(RtcpWriteError::BufferTooSmall {
                    needed: 16 + 4 * entries,
                    available,
                });
            };
            slot[..2].copy_from_slice(&pair.pid.0.to_be_bytes());
            slot[2..].copy_from_slice(&pair.blp.to_be_bytes());
            self.len += 4;
            entries += 1;
        }
        if entries == 0 {
            self.len = start;
            return Err(RtcpWriteError::EmptyNack);
        }
        let total = 12 + 4 * entries;
        let Ok(words) = u16::try_from(total / 4 - 1) else {
            self.len = start;
            return Err(RtcpWriteError::PacketTooLong(total));
        };
        self.buf[start + 2..start + 4].copy_from_slice(&words.to_be_bytes());
        Ok(())
    }

    /// Writes a picture loss indication (RFC 4585 §6.3.1).
    pub fn pli(&mut self, sender: Ssrc, media: Ssrc) -> Result<(), RtcpWriteError> {
        let out = self.start(FMT_PLI, PSFB, 12)?;
        out[4..8].copy_from_slice(&sender.0.to_be_bytes());
        out[8..12].copy_from_slice(&media.0.to_be_bytes());
        Ok(())
    }
}

fn write_blocks(out: &mut [u8], blocks: &[ReportBlock]) {
    for (chunk, block) in out.chunks_exact_mut(REPORT_BLOCK_LEN).zip(blocks) {
        if let Some(chunk) = chunk.first_chunk_mut::<REPORT_BLOCK_LEN>() {
            block.write(chunk);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_leaves_buffer_untouched() {
        let mut buf = [0u8; 40];
        let mut w = RtcpWriter::new(&mut buf);
        w.pli(Ssrc(1), Ssrc(2)).unwrap();
        let lost = (0..40u16).map(|i| SeqNo(i * 20));
        assert!(matches!(
            w.nack(Ssrc(1), Ssrc(2), lost),
            Err(RtcpWriteError::BufferTooSmall { .. })
        ));
        assert_eq!(w.len(), 12);
        assert_eq!(w.nack(Ssrc(1), Ssrc(2), []), Err(RtcpWriteError::EmptyNack));
        assert_eq!(w.len(), 12);
        let blocks = [ReportBlock::default(); 32];
        assert_eq!(
            w.receiver_report(Ssrc(1), &blocks),
            Err(RtcpWriteError::TooMany(32))
        );
        assert_eq!(w.finish(), 12);
    }
}
