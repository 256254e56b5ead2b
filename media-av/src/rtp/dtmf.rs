//! DTMF and other telephone events over RTP (RFC 4733 §2): the four-byte
//! event payload, the sender's event lifecycle and a receiver that turns the
//! redundant packet stream into one start and one end per event.

use bytes::Bytes;
use thiserror::Error;

use super::header::{PayloadType, RtpPacket, Timestamp};
use super::packet::{OutPacket, Sequencer};

/// Length of one event payload block (RFC 4733 §2.3).
pub const EVENT_PAYLOAD_LEN: usize = 4;
/// Number of packets that carry the end of an event (RFC 4733 §2.5.1.4
/// recommends sending the final packet three times).
pub const END_PACKET_COUNT: u8 = 3;
/// Longest volume value: -63 dBm0 (RFC 4733 §2.3.4).
pub const MAX_VOLUME: u8 = 63;

/// A telephone-event code (RFC 4733 §3.2): 0–9, `*` (10), `#` (11),
/// A–D (12–15) for DTMF; other registered events above.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TelephoneEvent(pub u8);

impl TelephoneEvent {
    /// The event for DTMF digit `c` (`0-9`, `*`, `#`, `A-D`, case-insensitive).
    #[must_use]
    pub fn from_digit(c: char) -> Option<Self> {
        let code = match c.to_ascii_uppercase() {
            d @ '0'..='9' => d as u8 - b'0',
            '*' => 10,
            '#' => 11,
            d @ 'A'..='D' => d as u8 - b'A' + 12,
            _ => return None,
        };
        Some(Self(code))
    }

    /// The DTMF digit of this event, if it is one.
    #[must_use]
    pub fn to_digit(self) -> Option<char> {
        match self.0 {
            d @ 0..=9 => Some(char::from(b'0' + d)),
            10 => Some('*'),
            11 => Some('#'),
            d @ 12..=15 => Some(char::from(b'A' + d - 12)),
            _ => None,
        }
    }
}

/// One RFC 4733 §2.3 event payload block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventPayload {
    /// The event.
    pub event: TelephoneEvent,
    /// The E bit: this packet ends the event.
    pub end: bool,
    /// Power level as -dBm0, 0..=63.
    pub volume: u8,
    /// Duration so far, in timestamp units from the event's timestamp.
    pub duration: u16,
}

/// A malformed telephone-event payload from the peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[error("peer sent a telephone-event payload of {0} bytes; need at least 4")]
pub struct ShortEventPayload(pub usize);

impl EventPayload {
    /// Parses the first block of `payload` (further blocks, from RFC 2198
    /// redundancy, are ignored).
    pub fn parse(payload: &[u8]) -> Result<Self, ShortEventPayload> {
        let Some(b) = payload.first_chunk::<EVENT_PAYLOAD_LEN>() else {
            return Err(ShortEventPayload(payload.len()));
        };
        Ok(Self {
            event: TelephoneEvent(b[0]),
            end: b[1] & 0x80 != 0,
            volume: b[1] & 0x3F,
            duration: u16::from_be_bytes([b[2], b[3]]),
        })
    }

    /// The payload bytes (the R bit is zero; volume is cut to six bits).
    #[must_use]
    pub fn to_bytes(self) -> [u8; EVENT_PAYLOAD_LEN] {
        let d = self.duration.to_be_bytes();
        [
            self.event.0,
            (u8::from(self.end) << 7) | (self.volume & 0x3F),
            d[0],
            d[1],
        ]
    }
}

/// A caller asked for an event the sender cannot produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DtmfSendError {
    /// Duration zero or above 65535 timestamp units (long-event segmentation,
    /// RFC 4733 §2.5.2.3, is not implemented).
    #[error("telephone-event duration of {0} ticks is outside 1..=65535")]
    BadDuration(u32),
    /// Packet interval zero.
    #[error("telephone-event packet interval must be at least one tick")]
    BadInterval,
    /// Volume above 63.
    #[error("telephone-event volume {0} is above 63")]
    BadVolume(u8),
}

/// Builds the packets of one telephone event of known duration (RFC 4733
/// §2.5.1): all carry the event's start timestamp; the first has the
/// marker bit; updates follow every `interval` ticks with the duration so
/// far; the end is sent [`END_PACKET_COUNT`] times with the E bit and the
/// final duration.
///
/// Sans-IO: [`DtmfTone::next_packet`] says when (in ticks from the event's
/// start) each packet is due; the caller sends it then, numbering it with the
/// audio stream's [`Sequencer`].
#[derive(Clone, Debug)]
pub struct DtmfTone {
    payload_type: PayloadType,
    timestamp: Timestamp,
    event: TelephoneEvent,
    volume: u8,
    duration: u16,
    interval: u16,
    /// Duration reported by the next update packet.
    next_duration: u32,
    ends_sent: u8,
    started: bool,
}

/// One packet of a [`DtmfTone`] and when it is due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueEventPacket {
    /// Ticks after the event's start at which to send it.
    pub due: u32,
    /// The packet.
    pub packet: OutPacket,
}

impl DtmfTone {
    /// An event of `duration` ticks starting at `timestamp`, with a packet
    /// every `interval` ticks (50 ms = 400 ticks at 8 kHz is usual).
    pub fn new(
        payload_type: PayloadType,
        timestamp: Timestamp,
        event: TelephoneEvent,
        volume: u8,
        duration: u32,
        interval: u32,
    ) -> Result<Self, DtmfSendError> {
        if volume > MAX_VOLUME {
            return Err(DtmfSendError::BadVolume(volume));
        }
        let duration = match u16::try_from(duration) {
            Ok(d) if d > 0 => d,
            _ => return Err(DtmfSendError::BadDuration(duration)),
        };
        if interval == 0 {
            return Err(DtmfSendError::BadInterval);
        }
        let interval = u16::try_from(interval).unwrap_or(u16::MAX);
        Ok(Self {
            payload_type,
            timestamp,
            event,
            volume,
            duration,
            interval,
            next_duration: u32::from(interval.min(duration)),
            ends_sent: 0,
            started: false,
        })
    }

    /// The next packet, numbered by `seq`, or `None` once the three end
    /// packets are out.
    pub fn next_packet(&mut self, seq: &mut Sequencer) -> Option<DueEventPacket> {
        if self.ends_sent >= END_PACKET_COUNT {
            return None;
        }
        let duration = self.next_duration.min(u32::from(self.duration)) as u16;
        let end = duration == self.duration;
        if end {
            self.ends_sent += 1;
        } else {
            self.next_duration += u32::from(self.interval);
        }
        let marker = !std::mem::replace(&mut self.started, true);
        let payload = EventPayload {
            event: self.event,
            end,
            volume: self.volume,
            duration,
        };
        let body = Bytes::copy_from_slice(&payload.to_bytes());
        let packet = seq.stamp(self.payload_type, marker, self.timestamp, body);
        Some(DueEventPacket {
            due: u32::from(duration),
            packet,
        })
    }
}

/// What a [`DtmfReceiver`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DtmfEvent {
    /// An event began (its first packet to arrive).
    Started {
        /// The event.
        event: TelephoneEvent,
        /// Its RTP timestamp.
        timestamp: Timestamp,
        /// Power level as -dBm0.
        volume: u8,
    },
    /// An event ended (first packet with the E bit). If every earlier
    /// packet was lost, this comes without a `Started`.
    Ended {
        /// The event.
        event: TelephoneEvent,
        /// Its RTP timestamp.
        timestamp: Timestamp,
        /// Its total duration in timestamp units.
        duration: u16,
    },
}

/// Turns a stream of telephone-event packets into [`DtmfEvent`]s, removing
/// the repeated updates and end packets (RFC 4733 §2.5.2).
///
/// Events are told apart by timestamp. Packets older than the current event
/// (late retransmissions) are ignored.
#[derive(Clone, Debug, Default)]
pub struct DtmfReceiver {
    current: Option<(Timestamp, bool)>,
}

impl DtmfReceiver {
    /// A receiver that has seen no event.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one telephone-event packet.
    pub fn push(
        &mut self,
        packet: &RtpPacket<Bytes>,
    ) -> Result<Option<DtmfEvent>, ShortEventPayload> {
        let p = EventPayload::parse(packet.payload())?;
        let ts = packet.timestamp();
        let ended = |p: EventPayload| DtmfEvent::Ended {
            event: p.event,
            timestamp: ts,
            duration: p.duration,
        };
        match self.current {
            Some((cur, _)) if ts.diff(cur) < 0 => Ok(None),
            Some((cur, true)) if cur == ts => Ok(None),
            Some((cur, false)) if cur == ts => {
                if p.end {
                    self.current = Some((ts, true));
                    Ok(Some(ended(p)))
                } else {
                    Ok(None)
                }
            }
            _ => {
                self.current = Some((ts, p.end));
                if p.end {
                    Ok(Some(ended(p)))
                } else {
                    Ok(Some(DtmfEvent::Started {
                        event: p.event,
                        timestamp: ts,
                        volume: p.volume,
                    }))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::header::Ssrc;
    use crate::rtp::seq::SeqNo;

    fn pt() -> PayloadType {
        PayloadType::new(101).unwrap()
    }

    #[test]
    fn digits_map_to_codes() {
        let all: String = (0..16)
            .map(|c| TelephoneEvent(c).to_digit().unwrap())
            .collect();
        assert_eq!(all, "0123456789*#ABCD");
        assert_eq!(TelephoneEvent::from_digit('#'), Some(TelephoneEvent(11)));
        assert_eq!(TelephoneEvent::from_digit('d'), Some(TelephoneEvent(15)));
        assert_eq!(TelephoneEvent::from_digit('x'), None);
        assert_eq!(TelephoneEvent(16).to_digit(), None);
    }

    #[test]
    fn rfc4733_payload_layout() {
        // Digit 9, end bit, volume 10, duration 1760 (RFC 4733 §2.3 layout).
        let p = EventPayload {
            event: TelephoneEvent(9),
            end: true,
            volume: 10,
            duration: 1760,
        };
        assert_eq!(p.to_bytes(), [9, 0x8A, 0x06, 0xE0]);
        assert_eq!(EventPayload::parse(&p.to_bytes()), Ok(p));
        assert_eq!(EventPayload::parse(&[1, 2]), Err(ShortEventPayload(2)));
    }

    #[test]
    fn lifecycle_marker_first_three_ends() {
        let mut seq = Sequencer::new(Ssrc(3), SeqNo(100));
        let mut tone =
            DtmfTone::new(pt(), Timestamp(8000), TelephoneEvent(5), 10, 1000, 400).unwrap();
        let mut packets = Vec::new();
        while let Some(p) = tone.next_packet(&mut seq) {
            packets.push(p);
        }
        let summary: Vec<_> = packets
            .iter()
            .map(|p| {
                let e = EventPayload::parse(&p.packet.body()[..]).unwrap();
                (
                    p.due,
                    p.packet.marker(),
                    e.end,
                    e.duration,
                    p.packet.timestamp(),
                )
            })
            .collect();
        let ts = Timestamp(8000);
        assert_eq!(
            summary,
            [
                (400, true, false, 400, ts),
                (800, false, false, 800, ts),
                (1000, false, true, 1000, ts),
                (1000, false, true, 1000, ts),
                (1000, false, true, 1000, ts),
            ]
        );
        assert_eq!(seq.next_sequence(), SeqNo(105));

        let mut rx = DtmfReceiver::new();
        let events: Vec<_> = packets
            .iter()
            .filter_map(|p| {
                rx.push(&RtpPacket::parse(p.packet.to_bytes()).unwrap())
                    .unwrap()
            })
            .collect();
        assert_eq!(
            events,
            [
                DtmfEvent::Started {
                    event: TelephoneEvent(5),
                    timestamp: ts,
                    volume: 10
                },
                DtmfEvent::Ended {
                    event: TelephoneEvent(5),
                    timestamp: ts,
                    duration: 1000
                },
            ]
        );
        // A late retransmission of an older event is ignored.
        let mut old_seq = Sequencer::new(Ssrc(3), SeqNo(0));
        let mut old = DtmfTone::new(pt(), Timestamp(10), TelephoneEvent(1), 10, 100, 400).unwrap();
        let late = old.next_packet(&mut old_seq).unwrap();
        assert_eq!(
            rx.push(&RtpPacket::parse(late.packet.to_bytes()).unwrap()),
            Ok(None)
        );
    }

    #[test]
    fn rejects_bad_tones() {
        let e = TelephoneEvent(1);
        assert_eq!(
            DtmfTone::new(pt(), Timestamp(0), e, 64, 100, 10).err(),
            Some(DtmfSendError::BadVolume(64))
        );
        assert_eq!(
            DtmfTone::new(pt(), Timestamp(0), e, 1, 0, 10).err(),
            Some(DtmfSendError::BadDuration(0))
        );
        assert_eq!(
            DtmfTone::new(pt(), Timestamp(0), e, 1, 70_000, 10).err(),
            Some(DtmfSendError::BadDuration(70_000))
        );
        assert_eq!(
            DtmfTone::new(pt(), Timestamp(0), e, 1, 100, 0).err(),
            Some(DtmfSendError::BadInterval)
        );
    }
}
