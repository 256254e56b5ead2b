//! RTCP errors: [`RtcpParseError`] for packets the peer malformed,
//! [`RtcpWriteError`] for packets the caller cannot build.

use thiserror::Error;

/// A received compound RTCP packet the peer malformed (RFC 3550 §6.1 and the
/// validity checks of Appendix A.2). The whole compound packet is dropped.
///
/// `offset` is the byte offset of the offending packet in the compound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RtcpParseError {
    /// The datagram holds no RTCP packet at all.
    #[error("peer sent an empty RTCP datagram")]
    Empty,
    /// Fewer than four bytes left for a packet header.
    #[error("peer sent a truncated RTCP header at offset {offset} ({available} bytes left)")]
    TruncatedHeader {
        /// Offset of the packet.
        offset: usize,
        /// Bytes left from `offset`.
        available: usize,
    },
    /// The version field is not 2.
    #[error("peer sent an RTCP packet with version {version} at offset {offset}")]
    BadVersion {
        /// Offset of the packet.
        offset: usize,
        /// The version field.
        version: u8,
    },
    /// The length field runs past the end of the datagram.
    #[error(
        "peer sent an RTCP packet at offset {offset} declaring {declared} bytes with {available} left"
    )]
    LengthBeyondData {
        /// Offset of the packet.
        offset: usize,
        /// Bytes the length field declares, header included.
        declared: usize,
        /// Bytes left from `offset`.
        available: usize,
    },
    /// The padding bit is set on a packet that is not the last of the compound
    /// (RFC 3550 §6.4.1, A.2).
    #[error("peer sent RTCP padding on a packet at offset {offset} that is not the last")]
    PaddingNotLast {
        /// Offset of the packet.
        offset: usize,
    },
    /// The padding count is zero or larger than the packet body.
    #[error(
        "peer sent an RTCP padding count of {count} at offset {offset} with a {available}-byte body"
    )]
    BadPadding {
        /// Offset of the packet.
        offset: usize,
        /// The last byte of the packet.
        count: u8,
        /// Body bytes after the four-byte header, padding included.
        available: usize,
    },
    /// The first packet of a compound is not an SR or RR (RFC 3550 A.2);
    /// use [`Compound::parse_reduced_size`](super::Compound::parse_reduced_size)
    /// to accept RFC 5506 reduced-size RTCP.
    #[error(
        "peer sent a compound RTCP packet starting with packet type {packet_type}, not SR or RR"
    )]
    FirstNotReport {
        /// Packet type of the first packet.
        packet_type: u8,
    },
    /// A packet body is shorter than its count field and type require.
    #[error(
        "peer sent an RTCP packet of type {packet_type} at offset {offset} with a {available}-byte body, {needed} needed"
    )]
    BodyTooShort {
        /// Offset of the packet.
        offset: usize,
        /// Packet type.
        packet_type: u8,
        /// Body bytes the count field and type require.
        needed: usize,
        /// Body bytes present (without padding).
        available: usize,
    },
    /// An SDES chunk or item runs past the packet, or the chunk count is wrong
    /// (RFC 3550 §6.5).
    #[error("peer sent a malformed SDES packet at offset {offset}")]
    BadSdes {
        /// Offset of the packet.
        offset: usize,
    },
    /// A BYE reason runs past the packet (RFC 3550 §6.6).
    #[error("peer sent a BYE reason running past its packet at offset {offset}")]
    BadByeReason {
        /// Offset of the packet.
        offset: usize,
    },
}

/// A caller asked to write an RTCP packet that cannot be encoded, or gave too
/// small a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RtcpWriteError {
    /// The output buffer is too small.
    #[error("RTCP output buffer too small: need {needed} bytes, have {available}")]
    BufferTooSmall {
        /// Bytes needed by the packet being written.
        needed: usize,
        /// Bytes left in the buffer.
        available: usize,
    },
    /// More than 31 report blocks, SDES chunks or BYE sources (five-bit count).
    #[error("{0} entries given; an RTCP count field holds at most 31")]
    TooMany(usize),
    /// An SDES item value or BYE reason longer than 255 bytes.
    #[error("SDES item or BYE reason of {0} bytes; at most 255 fit")]
    TextTooLong(usize),
    /// A generic NACK needs at least one entry (RFC 4585 §6.2.1).
    #[error("a generic NACK needs at least one lost packet")]
    EmptyNack,
    /// The packet would exceed the 16-bit length field (262 144 bytes).
    #[error("RTCP packet of {0} bytes exceeds the length field")]
    PacketTooLong(usize),
}
