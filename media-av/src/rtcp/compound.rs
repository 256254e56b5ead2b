//! Compound RTCP packets (RFC 3550 §6.1): validation per Appendix A.2 and
//! iteration over the typed packets, as views over the received bytes.

use super::bye::{self, Bye};
use super::error::RtcpParseError;
use super::feedback::{FMT_NACK, FMT_PLI, Nack, PSFB, Pli, RTPFB};
use super::report::{REPORT_BLOCK_LEN, ReceiverReport, SENDER_INFO_LEN, SenderInfo, SenderReport};
use super::sdes::{self, Sdes};
use crate::rtp::Ssrc;

/// RTCP packet type of a sender report.
pub const SR: u8 = 200;
/// RTCP packet type of a receiver report.
pub const RR: u8 = 201;
/// RTCP packet type of source description.
pub const SDES: u8 = 202;
/// RTCP packet type of goodbye.
pub const BYE: u8 = 203;
/// RTCP packet type of application-defined packets.
pub const APP: u8 = 204;

/// One packet of a compound, typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RtcpPacket<'a> {
    /// Sender report (200).
    SenderReport(SenderReport<'a>),
    /// Receiver report (201).
    ReceiverReport(ReceiverReport<'a>),
    /// Source description (202).
    Sdes(Sdes<'a>),
    /// Goodbye (203).
    Bye(Bye<'a>),
    /// Generic NACK (205, FMT 1).
    Nack(Nack<'a>),
    /// Picture loss indication (206, FMT 1).
    Pli(Pli),
    /// Any other packet type or feedback message (APP, XR, REMB, TWCC…),
    /// kept raw so the caller can skip or decode it.
    Other(RawPacket<'a>),
}

/// An RTCP packet this module does not decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawPacket<'a> {
    /// The packet type.
    pub packet_type: u8,
    /// The five-bit count / FMT field.
    pub count: u8,
    /// The body after the four-byte header, padding removed.
    pub body: &'a [u8],
}

/// A validated compound RTCP packet: a view over the received bytes.
///
/// Parsing checks the whole datagram once (every header and every body) and
/// never allocates; [`Compound::packets`] then hands out typed views.
///
/// ```
/// use media_av::rtcp::{Compound, RtcpPacket};
/// // An RR with no report blocks from SSRC 0x01020304.
/// let datagram = [0x80, 201, 0, 1, 1, 2, 3, 4];
/// let compound = Compound::parse(&datagram)?;
/// let Some(RtcpPacket::ReceiverReport(rr)) = compound.packets().next() else { panic!() };
/// assert_eq!(rr.ssrc().0, 0x0102_0304);
/// # Ok::<(), media_av::rtcp::RtcpParseError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compound<'a> {
    buf: &'a [u8],
}

impl<'a> Compound<'a> {
    /// Parses and validates a compound packet as RFC 3550 A.2 asks: every
    /// packet version 2, padding only on the last, lengths summing to the
    /// datagram, and the first packet an SR or RR.
    pub fn parse(buf: &'a [u8]) -> Result<Self, RtcpParseError> {
        Self::parse_inner(buf, true)
    }

    /// Like [`Compound::parse`] but accepts any first packet, for
    /// reduced-size RTCP (RFC 5506), such as a lone PLI or NACK.
    pub fn parse_reduced_size(buf: &'a [u8]) -> Result<Self, RtcpParseError> {
        Self::parse_inner(buf, false)
    }

    fn parse_inner(buf: &'a [u8], require_report_first: bool) -> Result<Self, RtcpParseError> {
        if buf.is_empty() {
            return Err(RtcpParseError::Empty);
        }
        let mut walker = Walker { buf, offset: 0 };
        let mut first = true;
        while let Some(next) = walker.next_raw() {
            let (offset, raw) = next?;
            if first && require_report_first && raw.packet_type != SR && raw.packet_type != RR {
                return Err(RtcpParseError::FirstNotReport {
                    packet_type: raw.packet_type,
                });
            }
            first = false;
            decode(offset, raw)?;
        }
        Ok(Self { buf })
    }

    /// The datagram bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }

    /// The packets in order. All were validated by the parse.
    pub fn packets(&self) -> impl Iterator<Item = RtcpPacket<'a>> + 'a {
        let mut walker = Walker {
            buf: self.buf,
            offset: 0,
        };
        // Validated at parse time: no error can occur here, and none is skipped.
        std::iter::from_fn(move || walker.next_raw()?.ok())
            .filter_map(|(offset, raw)| decode(offset, raw).ok())
    }
}

/// Walks the packet headers of a compound.
struct Walker<'a> {
    buf: &'a [u8],
    offset: usize,
}

impl<'a> Walker<'a> {
    /// The next packet and its offset, `None` at the end. After an error the
    /// walk stops.
    fn next_raw(&mut self) -> Option<Result<(usize, RawPacket<'a>), RtcpParseError>> {
        let offset = self.offset;
        let rest = self.buf.get(offset..)?;
        if rest.is_empty() {
            return None;
        }
        let result = self.header(offset, rest);
        if result.is_err() {
            self.offset = self.buf.len();
        }
        Some(result)
    }

    fn header(
        &mut self,
        offset: usize,
        rest: &'a [u8],
    ) -> Result<(usize, RawPacket<'a>), RtcpParseError> {
        let Some(h) = rest.first_chunk::<4>() else {
            return Err(RtcpParseError::TruncatedHeader {
                offset,
                available: rest.len(),
            });
        };
        let version = h[0] >> 6;
        if version != 2 {
            return Err(RtcpParseError::BadVersion { offset, version });
        }
        let declared = 4 * (usize::from(u16::from_be_bytes([h[2], h[3]])) + 1);
        let Some(packet) = rest.get(..declared) else {
            return Err(RtcpParseError::LengthBeyondData {
                offset,
                declared,
                available: rest.len(),
            });
        };
        let mut body = &packet[4..];
        if h[0] & 0x20 != 0 {
            if declared != rest.len() {
                return Err(RtcpParseError::PaddingNotLast { offset });
            }
            let count = body.last().copied().unwrap_or(0);
            if count == 0 || usize::from(count) > body.len() {
                return Err(RtcpParseError::BadPadding {
                    offset,
                    count,
                    available: body.len(),
                });
            }
            body = &body[..body.len() - usize::from(count)];
        }
        self.offset = offset + declared;
        Ok((
            offset,
            RawPacket {
                packet_type: h[1],
                count: h[0] & 0x1F,
                body,
            },
        ))
    }
}

fn ssrc_at(b: &[u8], i: usize) -> Ssrc {
    Ssrc(u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]))
}

/// Decodes one packet body by type, checking its structure.
fn decode(offset: usize, raw: RawPacket<'_>) -> Result<RtcpPacket<'_>, RtcpParseError> {
    let body = raw.body;
    let too_short = |needed: usize| RtcpParseError::BodyTooShort {
        offset,
        packet_type: raw.packet_type,
        needed,
        available: body.len(),
    };
    match raw.packet_type {
        SR => {
            let blocks_len = usize::from(raw.count) * REPORT_BLOCK_LEN;
            let needed = 4 + SENDER_INFO_LEN + blocks_len;
            if body.len() < needed {
                return Err(too_short(needed));
            }
            let (head, rest) = body[4..].split_at(SENDER_INFO_LEN);
            let Some(info) = head.first_chunk::<SENDER_INFO_LEN>() else {
                return Err(too_short(needed));
            };
            Ok(RtcpPacket::SenderReport(SenderReport {
                ssrc: ssrc_at(body, 0),
                info: SenderInfo::read(info),
                blocks: &rest[..blocks_len],
                extension: &rest[blocks_len..],
            }))
        }
        RR => {
            let blocks_len = usize::from(raw.count) * REPORT_BLOCK_LEN;
            let needed = 4 + blocks_len;
            if body.len() < needed {
                return Err(too_short(needed));
            }
            Ok(RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc: ssrc_at(body, 0),
                blocks: &body[4..needed],
                extension: &body[needed..],
            }))
        }
        SDES => {
            if !sdes::validate(body, raw.count) {
                return Err(RtcpParseError::BadSdes { offset });
            }
            Ok(RtcpPacket::Sdes(Sdes {
                count: raw.count,
                body,
            }))
        }
        BYE => {
            let needed = 4 * usize::from(raw.count);
            if body.len() < needed {
                return Err(too_short(needed));
            }
            bye::parse(body, raw.count)
                .map(RtcpPacket::Bye)
                .ok_or(RtcpParseError::BadByeReason { offset })
        }
        RTPFB | PSFB => {
            if body.len() < 8 {
                return Err(too_short(8));
            }
            let sender = ssrc_at(body, 0);
            let media = ssrc_at(body, 4);
            Ok(match (raw.packet_type, raw.count) {
                (RTPFB, FMT_NACK) => RtcpPacket::Nack(Nack {
                    sender,
                    media,
                    fci: &body[8..],
                }),
                (PSFB, FMT_PLI) => RtcpPacket::Pli(Pli {
                    sender_ssrc: sender,
                    media_ssrc: media,
                }),
                _ => RtcpPacket::Other(raw),
            })
        }
        _ => Ok(RtcpPacket::Other(raw)),
    }
}
