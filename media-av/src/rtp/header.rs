//! The RTP header (RFC 3550 §5.1): parsing received packets as a zero-copy
//! view ([`RtpPacket`]) and writing headers into caller buffers
//! ([`RtpHeader`]), plus the typed header fields.

use std::fmt;

use bytes::{Buf, BufMut, Bytes};
use thiserror::Error;

use super::extension::HeaderExtension;
use super::seq::SeqNo;

/// The only RTP version there is (RFC 3550 §5.1).
pub const RTP_VERSION: u8 = 2;
/// Length of the fixed RTP header, without CSRCs or extension.
pub const FIXED_HEADER_LEN: usize = 12;
/// The most CSRCs a header can list (the CC field has four bits).
pub const MAX_CSRCS: usize = 15;

/// A synchronization source identifier (RFC 3550 §3); also used for CSRCs.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Ssrc(pub u32);

impl fmt::Debug for Ssrc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ssrc({:#010x})", self.0)
    }
}

/// An RTP media timestamp in units of the payload format's clock rate
/// (RFC 3550 §5.1). Wraps at 2³²; compare with [`Timestamp::diff`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug)]
pub struct Timestamp(pub u32);

impl Timestamp {
    /// This timestamp advanced by `ticks` clock units, wrapping.
    #[must_use]
    pub const fn add(self, ticks: u32) -> Self {
        Self(self.0.wrapping_add(ticks))
    }

    /// Signed distance from `earlier` to `self` in clock units
    /// (serial-number arithmetic).
    #[must_use]
    pub const fn diff(self, earlier: Timestamp) -> i32 {
        self.0.wrapping_sub(earlier.0) as i32
    }
}

/// An RTP payload type: 7 bits, 0..=127 (RFC 3550 §5.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct PayloadType(u8);

impl PayloadType {
    /// Static payload type of G.711 µ-law (RFC 3551 §6).
    pub const PCMU: Self = Self(0);
    /// Static payload type of G.711 A-law (RFC 3551 §6).
    pub const PCMA: Self = Self(8);

    /// The payload type `value`, or `None` above 127.
    #[must_use]
    pub const fn new(value: u8) -> Option<Self> {
        if value <= 127 {
            Some(Self(value))
        } else {
            None
        }
    }

    /// The numeric value, 0..=127.
    #[must_use]
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for PayloadType {
    type Error = InvalidPayloadType;

    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Self::new(value).ok_or(InvalidPayloadType(value))
    }
}

/// A caller gave a payload type above 127.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[error("payload type {0} is out of range 0..=127")]
pub struct InvalidPayloadType(pub u8);

/// A received RTP packet the peer malformed (RFC 3550 §5.1): the packet is
/// dropped, never partially used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RtpParseError {
    /// Shorter than the 12-byte fixed header.
    #[error("peer sent an RTP packet of {len} bytes, shorter than the 12-byte fixed header")]
    Truncated {
        /// Packet length.
        len: usize,
    },
    /// The version field is not 2.
    #[error("peer sent an RTP packet with version {0}, not 2")]
    BadVersion(u8),
    /// The CC field lists more CSRCs than the packet holds.
    #[error("peer sent an RTP packet listing {count} CSRCs in {len} bytes")]
    CsrcBeyondData {
        /// The CC field.
        count: u8,
        /// Packet length.
        len: usize,
    },
    /// The extension block header or its declared length runs past the packet.
    #[error("peer sent an RTP header extension of {declared} bytes with {available} bytes left")]
    BadExtensionLength {
        /// Bytes the extension declares, including its four-byte header.
        declared: usize,
        /// Bytes left in the packet after the CSRCs.
        available: usize,
    },
    /// The padding count is zero or larger than the bytes after the header.
    #[error(
        "peer sent an RTP packet padding count of {count} with {available} bytes after the header"
    )]
    BadPadding {
        /// The last byte of the packet (0 when there is no byte after the header).
        count: u8,
        /// Bytes after the header, padding included.
        available: usize,
    },
}

/// A caller asked to write something RTP cannot carry, or gave too small a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RtpWriteError {
    /// The output buffer is too small.
    #[error("RTP output buffer too small: need {needed} bytes, have {available}")]
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// More than 15 CSRCs.
    #[error("{0} CSRCs given; an RTP header holds at most 15")]
    TooManyCsrcs(usize),
    /// Extension data length not a multiple of four, or above 262140 bytes.
    #[error("RTP header extension data of {0} bytes is not a multiple of 4 up to 262140")]
    BadExtensionLength(usize),
}

/// A received RTP packet, parsed as a view over its buffer (RFC 3550 §5.1).
///
/// `B` is the buffer: [`Bytes`] (the default) lets [`RtpPacket::into_payload`]
/// and [`RtpPacket::payload_bytes`] hand out the payload without copying;
/// `&[u8]` parses a borrowed datagram with no reference counting at all.
/// Parsing validates every length, stores only offsets and never allocates;
/// CSRCs and extension elements are read lazily from the buffer.
#[derive(Clone, PartialEq, Eq)]
pub struct RtpPacket<B = Bytes> {
    buf: B,
    marker: bool,
    payload_type: PayloadType,
    sequence: SeqNo,
    timestamp: Timestamp,
    ssrc: Ssrc,
    csrc_count: u8,
    padding_len: u8,
    has_extension: bool,
    extension_profile: u16,
    payload_start: usize,
    payload_end: usize,
}

impl<B: AsRef<[u8]>> RtpPacket<B> {
    /// Parses `buf` as one RTP packet, taking ownership of the buffer.
    pub fn parse(buf: B) -> Result<Self, RtpParseError> {
        let b = buf.as_ref();
        let len = b.len();
        let Some(fixed) = b.first_chunk::<FIXED_HEADER_LEN>() else {
            return Err(RtpParseError::Truncated { len });
        };
        let version = fixed[0] >> 6;
        if version != RTP_VERSION {
            return Err(RtpParseError::BadVersion(version));
        }
        let has_padding = fixed[0] & 0x20 != 0;
        let has_extension = fixed[0] & 0x10 != 0;
        let csrc_count = fixed[0] & 0x0F;
        let mut pos = FIXED_HEADER_LEN + 4 * usize::from(csrc_count);
        if pos > len {
            return Err(RtpParseError::CsrcBeyondData {
                count: csrc_count,
                len,
            });
        }
        let mut extension_profile = 0;
        if has_extension {
            let available = len - pos;
            let Some(ext) = b[pos..].first_chunk::<4>() else {
                return Err(RtpParseError::BadExtensionLength {
                    declared: 4,
                    available,
                });
            };
            extension_profile = u16::from_be_bytes([ext[0], ext[1]]);
            let declared = 4 + 4 * usize::from(u16::from_be_bytes([ext[2], ext[3]]));
            if declared > available {
                return Err(RtpParseError::BadExtensionLength {
                    declared,
                    available,
                });
            }
            pos += declared;
        }
        let mut padding_len = 0;
        if has_padding {
            let available = len - pos;
            let count = if available == 0 { 0 } else { b[len - 1] };
            if count == 0 || usize::from(count) > available {
                return Err(RtpParseError::BadPadding { count, available });
            }
            padding_len = count;
        }
        Ok(Self {
            marker: fixed[1] & 0x80 != 0,
            payload_type: PayloadType(fixed[1] & 0x7F),
            sequence: SeqNo(u16::from_be_bytes([fixed[2], fixed[3]])),
            timestamp: Timestamp(u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]])),
            ssrc: Ssrc(u32::from_be_bytes([
                fixed[8], fixed[9], fixed[10], fixed[11],
            ])),
            csrc_count,
            padding_len,
            has_extension,
            extension_profile,
            payload_start: pos,
            payload_end: len - usize::from(padding_len),
            buf,
        })
    }

    /// The marker bit; its meaning is set by the payload format.
    #[must_use]
    pub fn marker(&self) -> bool {
        self.marker
    }

    /// The payload type.
    #[must_use]
    pub fn payload_type(&self) -> PayloadType {
        self.payload_type
    }

    /// The sequence number.
    #[must_use]
    pub fn sequence(&self) -> SeqNo {
        self.sequence
    }

    /// The media timestamp.
    #[must_use]
    pub fn timestamp(&self) -> Timestamp {
        self.timestamp
    }

    /// The synchronization source.
    #[must_use]
    pub fn ssrc(&self) -> Ssrc {
        self.ssrc
    }

    /// The contributing sources (RFC 3550 §5.1), read lazily.
    pub fn csrcs(&self) -> impl ExactSizeIterator<Item = Ssrc> + '_ {
        let end = FIXED_HEADER_LEN + 4 * usize::from(self.csrc_count);
        self.buf.as_ref()[FIXED_HEADER_LEN..end]
            .chunks_exact(4)
            .map(|c| Ssrc(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
    }

    /// The header extension block, if the X bit is set.
    #[must_use]
    pub fn extension(&self) -> Option<HeaderExtension<'_>> {
        if !self.has_extension {
            return None;
        }
        let start = FIXED_HEADER_LEN + 4 * usize::from(self.csrc_count) + 4;
        Some(HeaderExtension {
            profile: self.extension_profile,
            data: &self.buf.as_ref()[start..self.payload_start],
        })
    }

    /// Whether the P bit is set.
    #[must_use]
    pub fn has_padding(&self) -> bool {
        self.padding_len != 0
    }

    /// Number of padding bytes at the end, including the count byte.
    #[must_use]
    pub fn padding_len(&self) -> u8 {
        self.padding_len
    }

    /// Length of the header: fixed part, CSRCs and extension.
    #[must_use]
    pub fn header_len(&self) -> usize {
        self.payload_start
    }

    /// The payload, without header and padding.
    #[must_use]
    pub fn payload(&self) -> &[u8] {
        &self.buf.as_ref()[self.payload_start..self.payload_end]
    }

    /// The whole packet as received.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.as_ref()
    }

    /// Gives the buffer back.
    #[must_use]
    pub fn into_inner(self) -> B {
        self.buf
    }
}

impl RtpPacket<Bytes> {
    /// The payload as a [`Bytes`] sharing the packet's buffer (no copy).
    #[must_use]
    pub fn payload_bytes(&self) -> Bytes {
        self.buf.slice(self.payload_start..self.payload_end)
    }

    /// The payload, consuming the packet (no copy, no reference-count change).
    #[must_use]
    #[inline]
    pub fn into_payload(self) -> Bytes {
        let mut buf = self.buf;
        buf.truncate(self.payload_end);
        buf.advance(self.payload_start);
        buf
    }
}

impl<B: AsRef<[u8]>> fmt::Debug for RtpPacket<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RtpPacket")
            .field("marker", &self.marker)
            .field("payload_type", &self.payload_type)
            .field("sequence", &self.sequence)
            .field("timestamp", &self.timestamp)
            .field("ssrc", &self.ssrc)
            .field("csrc_count", &self.csrc_count)
            .field(
                "extension_profile",
                &self.has_extension.then_some(self.extension_profile),
            )
            .field("padding_len", &self.padding_len)
            .field("payload_len", &(self.payload_end - self.payload_start))
            .finish()
    }
}

/// An RTP header to write (RFC 3550 §5.1): the fields, borrowed CSRCs and
/// extension data. Writing never allocates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtpHeader<'a> {
    /// The marker bit.
    pub marker: bool,
    /// The payload type.
    pub payload_type: PayloadType,
    /// The sequence number.
    pub sequence: SeqNo,
    /// The media timestamp.
    pub timestamp: Timestamp,
    /// The synchronization source.
    pub ssrc: Ssrc,
    /// Contributing sources, at most 15.
    pub csrcs: &'a [Ssrc],
    /// The extension block; its data length must be a multiple of four.
    pub extension: Option<HeaderExtension<'a>>,
    /// Padding bytes [`RtpHeader::write_packet`] appends after the payload
    /// (0 = none). Any non-zero value sets the P bit.
    pub padding: u8,
}

impl<'a> RtpHeader<'a> {
    /// A header with no marker, CSRCs, extension or padding.
    #[must_use]
    pub const fn new(
        payload_type: PayloadType,
        sequence: SeqNo,
        timestamp: Timestamp,
        ssrc: Ssrc,
    ) -> Self {
        Self {
            marker: false,
            payload_type,
            sequence,
            timestamp,
            ssrc,
            csrcs: &[],
            extension: None,
            padding: 0,
        }
    }

    /// Length of the header on the wire (without payload and padding).
    #[must_use]
    pub fn wire_len(&self) -> usize {
        FIXED_HEADER_LEN + 4 * self.csrcs.len() + self.extension.map_or(0, |e| 4 + e.data.len())
    }

    fn validate(&self) -> Result<(), RtpWriteError> {
        if self.csrcs.len() > MAX_CSRCS {
            return Err(RtpWriteError::TooManyCsrcs(self.csrcs.len()));
        }
        if let Some(ext) = self.extension {
            let n = ext.data.len();
            if n % 4 != 0 || n / 4 > usize::from(u16::MAX) {
                return Err(RtpWriteError::BadExtensionLength(n));
            }
        }
        Ok(())
    }

    #[inline]
    fn fixed(&self) -> [u8; FIXED_HEADER_LEN] {
        let mut b0 = (RTP_VERSION << 6) | self.csrcs.len() as u8;
        if self.padding != 0 {
            b0 |= 0x20;
        }
        if self.extension.is_some() {
            b0 |= 0x10;
        }
        // Three big-endian words: three byte swaps and stores, not twelve bytes.
        let b1 = (u8::from(self.marker) << 7) | self.payload_type.0;
        let w0 = (u32::from(b0) << 24) | (u32::from(b1) << 16) | u32::from(self.sequence.0);
        let mut out = [0u8; FIXED_HEADER_LEN];
        out[..4].copy_from_slice(&w0.to_be_bytes());
        out[4..8].copy_from_slice(&self.timestamp.0.to_be_bytes());
        out[8..].copy_from_slice(&self.ssrc.0.to_be_bytes());
        out
    }

    /// Writes the header into the front of `out` and returns its length.
    #[inline]
    pub fn write(&self, out: &mut [u8]) -> Result<usize, RtpWriteError> {
        if self.csrcs.is_empty() && self.extension.is_none() {
            // Fast path: the fixed header alone.
            let available = out.len();
            let Some(fixed) = out.first_chunk_mut::<FIXED_HEADER_LEN>() else {
                return Err(RtpWriteError::BufferTooSmall {
                    needed: FIXED_HEADER_LEN,
                    available,
                });
            };
            *fixed = self.fixed();
            return Ok(FIXED_HEADER_LEN);
        }
        self.write_general(out)
    }

    /// [`RtpHeader::write`] with CSRCs or an extension: out of line, so that
    /// the fixed header's path stays small enough to inline.
    #[inline(never)]
    fn write_general(&self, out: &mut [u8]) -> Result<usize, RtpWriteError> {
        self.validate()?;
        let needed = self.wire_len();
        let available = out.len();
        let Some(out) = out.get_mut(..needed) else {
            return Err(RtpWriteError::BufferTooSmall { needed, available });
        };
        let (fixed, mut rest) = out.split_at_mut(FIXED_HEADER_LEN);
        fixed.copy_from_slice(&self.fixed());
        for csrc in self.csrcs {
            let (c, r) = rest.split_at_mut(4);
            c.copy_from_slice(&csrc.0.to_be_bytes());
            rest = r;
        }
        if let Some(ext) = self.extension {
            let words = (ext.data.len() / 4) as u16;
            let (h, r) = rest.split_at_mut(4);
            h[..2].copy_from_slice(&ext.profile.to_be_bytes());
            h[2..].copy_from_slice(&words.to_be_bytes());
            r.copy_from_slice(ext.data);
        }
        Ok(needed)
    }

    /// Appends the header to `out`.
    pub fn put(&self, out: &mut impl BufMut) -> Result<(), RtpWriteError> {
        self.validate()?;
        let needed = self.wire_len();
        let available = out.remaining_mut();
        if available < needed {
            return Err(RtpWriteError::BufferTooSmall { needed, available });
        }
        out.put_slice(&self.fixed());
        for csrc in self.csrcs {
            out.put_u32(csrc.0);
        }
        if let Some(ext) = self.extension {
            out.put_u16(ext.profile);
            out.put_u16((ext.data.len() / 4) as u16);
            out.put_slice(ext.data);
        }
        Ok(())
    }

    /// Writes header, `payload` and [`RtpHeader::padding`] bytes (the last
    /// holding the count, RFC 3550 §5.1) into `out`; returns the packet length.
    pub fn write_packet(&self, payload: &[u8], out: &mut [u8]) -> Result<usize, RtpWriteError> {
        self.validate()?;
        let header_len = self.wire_len();
        let needed = header_len + payload.len() + usize::from(self.padding);
        let available = out.len();
        if available < needed {
            return Err(RtpWriteError::BufferTooSmall { needed, available });
        }
        self.write(out)?;
        out[header_len..header_len + payload.len()].copy_from_slice(payload);
        if self.padding != 0 {
            let pad = &mut out[header_len + payload.len()..needed];
            pad.fill(0);
            pad[pad.len() - 1] = self.padding;
        }
        Ok(needed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::extension::ONE_BYTE_PROFILE;

    #[test]
    fn parses_fixed_header() {
        // V=2, M=1, PT=96, seq 0x1234, ts 0xDEADBEEF, ssrc 0x01020304, payload "hi".
        let raw = [
            0x80, 0xE0, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 1, 2, 3, 4, b'h', b'i',
        ];
        let p = RtpPacket::parse(Bytes::copy_from_slice(&raw)).unwrap();
        assert!(p.marker());
        assert_eq!(p.payload_type().get(), 96);
        assert_eq!(p.sequence(), SeqNo(0x1234));
        assert_eq!(p.timestamp(), Timestamp(0xDEAD_BEEF));
        assert_eq!(p.ssrc(), Ssrc(0x0102_0304));
        assert_eq!(p.csrcs().len(), 0);
        assert!(p.extension().is_none());
        assert_eq!(p.payload(), b"hi");
        assert_eq!(p.clone().into_payload(), Bytes::from_static(b"hi"));
        assert_eq!(p.payload_bytes(), Bytes::from_static(b"hi"));
    }

    #[test]
    fn parses_csrcs_extension_padding() {
        let raw = [
            0xB2, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, // V=2 P X CC=2
            0, 0, 0, 10, 0, 0, 0, 11, // CSRCs
            0xBE, 0xDE, 0, 1, 0x10, 0xAA, 0, 0, // one-byte ext, 1 word
            b'x', b'y', 0, 0, 3, // payload + 3 padding bytes
        ];
        let p = RtpPacket::parse(&raw[..]).unwrap();
        assert_eq!(p.csrcs().collect::<Vec<_>>(), vec![Ssrc(10), Ssrc(11)]);
        let ext = p.extension().unwrap();
        assert_eq!(ext.profile, ONE_BYTE_PROFILE);
        assert_eq!(ext.find(1), Some(&[0xAA][..]));
        assert_eq!(p.padding_len(), 3);
        assert_eq!(p.payload(), b"xy");
        assert_eq!(p.header_len(), 28);
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(
            RtpPacket::parse(&[0x80u8; 11][..]),
            Err(RtpParseError::Truncated { len: 11 })
        );
        let mut raw = [0u8; 12];
        raw[0] = 0x40;
        assert_eq!(
            RtpPacket::parse(&raw[..]),
            Err(RtpParseError::BadVersion(1))
        );
        raw[0] = 0x81;
        assert_eq!(
            RtpPacket::parse(&raw[..]),
            Err(RtpParseError::CsrcBeyondData { count: 1, len: 12 })
        );
        raw[0] = 0x90;
        assert!(matches!(
            RtpPacket::parse(&raw[..]),
            Err(RtpParseError::BadExtensionLength { .. })
        ));
        let ext = [
            0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xBE, 0xDE, 0, 2, 0, 0, 0, 0,
        ];
        assert_eq!(
            RtpPacket::parse(&ext[..]),
            Err(RtpParseError::BadExtensionLength {
                declared: 12,
                available: 8
            })
        );
        raw[0] = 0xA0;
        assert_eq!(
            RtpPacket::parse(&raw[..]),
            Err(RtpParseError::BadPadding {
                count: 0,
                available: 0
            })
        );
        let pad = [0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 5];
        assert_eq!(
            RtpPacket::parse(&pad[..]),
            Err(RtpParseError::BadPadding {
                count: 5,
                available: 2
            })
        );
        let pad0 = [0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0];
        assert!(matches!(
            RtpPacket::parse(&pad0[..]),
            Err(RtpParseError::BadPadding { count: 0, .. })
        ));
    }

    #[test]
    fn writes_and_reads_back() {
        let csrcs = [Ssrc(7), Ssrc(8)];
        let ext_data = [0x10, 0xAA, 0, 0];
        let h = RtpHeader {
            marker: true,
            csrcs: &csrcs,
            extension: Some(HeaderExtension {
                profile: ONE_BYTE_PROFILE,
                data: &ext_data,
            }),
            padding: 4,
            ..RtpHeader::new(PayloadType::PCMA, SeqNo(65535), Timestamp(160), Ssrc(42))
        };
        let mut buf = [0u8; 64];
        let n = h.write_packet(b"abc", &mut buf).unwrap();
        assert_eq!(n, 12 + 8 + 8 + 3 + 4);
        let p = RtpPacket::parse(&buf[..n]).unwrap();
        assert!(p.marker());
        assert_eq!(p.payload_type(), PayloadType::PCMA);
        assert_eq!(p.sequence(), SeqNo(65535));
        assert_eq!(p.timestamp(), Timestamp(160));
        assert_eq!(p.ssrc(), Ssrc(42));
        assert_eq!(p.csrcs().collect::<Vec<_>>(), csrcs);
        assert_eq!(p.extension().unwrap().data, ext_data);
        assert_eq!(p.payload(), b"abc");
        assert_eq!(p.padding_len(), 4);

        let mut v = Vec::new();
        h.put(&mut v).unwrap();
        assert_eq!(v, buf[..h.wire_len()]);

        let mut small = [0u8; 10];
        assert_eq!(
            h.write(&mut small),
            Err(RtpWriteError::BufferTooSmall {
                needed: 28,
                available: 10
            })
        );
        let bad = RtpHeader {
            extension: Some(HeaderExtension {
                profile: 1,
                data: &[1, 2, 3],
            }),
            ..h
        };
        assert_eq!(
            bad.write(&mut buf),
            Err(RtpWriteError::BadExtensionLength(3))
        );
        let many = [Ssrc(0); 16];
        let bad = RtpHeader { csrcs: &many, ..h };
        assert_eq!(bad.write(&mut buf), Err(RtpWriteError::TooManyCsrcs(16)));
    }

    #[test]
    fn payload_type_range() {
        assert_eq!(PayloadType::new(127).map(PayloadType::get), Some(127));
        assert_eq!(PayloadType::new(128), None);
        assert_eq!(PayloadType::try_from(200), Err(InvalidPayloadType(200)));
    }

    #[test]
    fn timestamp_wraps() {
        assert_eq!(Timestamp(u32::MAX).add(2), Timestamp(1));
        assert_eq!(Timestamp(1).diff(Timestamp(u32::MAX)), 2);
    }
}
