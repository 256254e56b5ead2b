//! RTCP (RFC 3550 §6, RFC 4585, RFC 5761): compound packets, SR/RR/SDES/BYE,
//! generic NACK and PLI; sans-IO and allocation-free.
//!
//! - [`Compound`] validates a received compound packet as RFC 3550 A.2 asks
//!   (version 2 everywhere, padding only on the last packet, lengths summing to
//!   the datagram, SR or RR first — or any first packet with
//!   [`Compound::parse_reduced_size`], RFC 5506) and every body's structure,
//!   then iterates [`RtcpPacket`]s: views over the received bytes whose report
//!   blocks, SDES items, BYE sources and NACK entries are read lazily.
//!   Packet types it does not decode (APP, XR, other feedback) come out as
//!   [`RtcpPacket::Other`] so the caller can skip them.
//! - [`RtcpWriter`] appends packets to a caller buffer; each call writes a
//!   whole packet or nothing.
//! - [`demux`] tells RTP from RTCP on a multiplexed port (RFC 5761 §4).
//!
//! Parsing takes `&[u8]`, so a received [`bytes::Bytes`] is parsed in place
//! and nothing is copied or allocated.
//!
//! # Example
//!
//! ```
//! use media_av::rtcp::{Compound, NtpTime, ReportBlock, RtcpPacket, RtcpWriter, SenderInfo};
//! use media_av::rtp::{Ssrc, Timestamp};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let info = SenderInfo {
//!     ntp: NtpTime::new(3_900_000_000, 0),
//!     rtp_timestamp: Timestamp(160),
//!     packet_count: 10,
//!     octet_count: 1600,
//! };
//! let block = ReportBlock { ssrc: Ssrc(2), fraction_lost: 64, ..ReportBlock::default() };
//! let mut buf = [0u8; 1200];
//! let mut w = RtcpWriter::new(&mut buf);
//! w.sender_report(Ssrc(1), &info, &[block])?;
//! w.sdes_cname(Ssrc(1), b"host@example.com")?;
//! w.bye(&[Ssrc(1)], Some(b"done"))?;
//! let n = w.finish();
//!
//! for packet in Compound::parse(&buf[..n])?.packets() {
//!     match packet {
//!         RtcpPacket::SenderReport(sr) => {
//!             assert_eq!(sr.sender_info(), info);
//!             assert_eq!(sr.report_blocks().next(), Some(block));
//!         }
//!         RtcpPacket::Sdes(sdes) => {
//!             let cname = sdes.chunks().next().and_then(|c| c.cname());
//!             assert_eq!(cname, Some(&b"host@example.com"[..]));
//!         }
//!         RtcpPacket::Bye(bye) => assert_eq!(bye.reason(), Some(&b"done"[..])),
//!         _ => {}
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Known limits
//!
//! | Limit | Value |
//! |---|---|
//! | Entries per SR/RR/SDES/BYE | 31 (five-bit count); write more in further packets |
//! | SDES item, BYE reason | 255 bytes; UTF-8 not checked |
//! | Decoded feedback | generic NACK and PLI; others are [`RtcpPacket::Other`] |
//! | Written padding | none (SRTCP does not need it) |

mod bye;
mod compound;
mod demux;
mod error;
mod feedback;
mod report;
mod sdes;
mod writer;

pub use bye::Bye;
pub use compound::{APP, BYE, Compound, RR, RawPacket, RtcpPacket, SDES, SR};
pub use demux::{Demuxed, demux};
pub use error::{RtcpParseError, RtcpWriteError};
pub use feedback::{FMT_NACK, FMT_PLI, Nack, NackPair, NackPairs, PSFB, Pli, RTPFB, nack_pairs};
pub use report::{
    NtpTime, REPORT_BLOCK_LEN, ReceiverReport, ReportBlock, ReportBlocks, SENDER_INFO_LEN,
    SenderInfo, SenderReport, compact_to_duration, duration_to_compact,
};
pub use sdes::{Sdes, SdesChunk, SdesChunks, SdesItem, SdesItemKind, SdesItems};
pub use writer::{MAX_COUNT, RtcpWriter};
