//! The neutral session description and its offer/answer rules.
//!
//! A [`SessionDescription`] says what media a side wants, in the vocabulary of the
//! object model (media types, directions, codecs, addresses), not in SDP. The SIP
//! transport maps it to and from SDP (RFC 8866) in one module; the QUIC transport
//! encodes it in its own frames; the memory transport passes it as is.
//!
//! Directions in a description are the author's view, as in SDP: an offer that says
//! [`MediaDirection::SEND`] means "I will send". [`answer`] implements the RFC 3264
//! §6 rules on this model: same number and order of media lines, rejected lines kept
//! with `enabled = false`, directions mirrored and intersected with the answerer's
//! preference, codecs intersected in the offerer's order.

use std::fmt;
use std::net::SocketAddr;
use std::ops::{BitAnd, BitOr};

/// Most media lines in one description.
pub const MAX_MEDIA_LINES: usize = 16;
/// Most codecs in one media line.
pub const MAX_CODECS: usize = 32;

/// The kind of media a channel carries (`UCC_MEDIA_TYPES`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MediaType {
    /// Audio (`UCCMT_AUDIO` = 1).
    Audio,
    /// Video (`UCCMT_VIDEO` = 2).
    Video,
}

impl MediaType {
    /// The UCC flag value.
    pub fn ucc_value(self) -> u32 {
        match self {
            MediaType::Audio => 1,
            MediaType::Video => 2,
        }
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MediaType::Audio => "audio",
            MediaType::Video => "video",
        })
    }
}

/// Media directions as flags (`UCC_MEDIA_DIRECTIONS`: send = 1, receive = 2).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MediaDirection(u8);

impl MediaDirection {
    /// Neither (inactive).
    pub const NONE: Self = Self(0);
    /// Send only.
    pub const SEND: Self = Self(1);
    /// Receive only.
    pub const RECEIVE: Self = Self(2);
    /// Both.
    pub const BOTH: Self = Self(3);

    /// From the UCC flag value (bits other than send/receive are ignored).
    pub fn from_bits(bits: u8) -> Self {
        Self(bits & 3)
    }

    /// The UCC flag value.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// Whether it includes sending.
    pub fn sends(self) -> bool {
        self.0 & 1 != 0
    }

    /// Whether it includes receiving.
    pub fn receives(self) -> bool {
        self.0 & 2 != 0
    }

    /// The same direction seen from the other side (send ↔ receive).
    pub fn reversed(self) -> Self {
        Self(((self.0 & 1) << 1) | ((self.0 & 2) >> 1))
    }
}

impl BitAnd for MediaDirection {
    type Output = Self;
    fn bitand(self, rhs: Self) -> Self {
        Self(self.0 & rhs.0)
    }
}

impl BitOr for MediaDirection {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl fmt::Debug for MediaDirection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            0 => "inactive",
            1 => "sendonly",
            2 => "recvonly",
            _ => "sendrecv",
        })
    }
}

impl fmt::Display for MediaDirection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// One codec of a media line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Codec {
    /// RTP payload type.
    pub payload_type: u8,
    /// Encoding name (`PCMU`, `opus`, `H264`, `telephone-event`).
    pub name: String,
    /// RTP clock rate in Hz.
    pub clock_rate: u32,
    /// Audio channels (1 for video).
    pub channels: u8,
    /// Format parameters (SDP `a=fmtp`), verbatim.
    pub parameters: Option<String>,
}

impl Codec {
    /// A codec without format parameters.
    pub fn new(payload_type: u8, name: &str, clock_rate: u32, channels: u8) -> Self {
        Self {
            payload_type,
            name: name.to_owned(),
            clock_rate,
            channels,
            parameters: None,
        }
    }

    /// With format parameters.
    pub fn with_parameters(mut self, parameters: &str) -> Self {
        self.parameters = Some(parameters.to_owned());
        self
    }

    /// Whether two codecs are the same encoding (name case-insensitive, rate, channels).
    pub fn same_encoding(&self, other: &Codec) -> bool {
        self.name.eq_ignore_ascii_case(&other.name)
            && self.clock_rate == other.clock_rate
            && self.channels == other.channels
    }

    /// G.711 µ-law, static payload type 0.
    pub fn pcmu() -> Self {
        Self::new(0, "PCMU", 8000, 1)
    }

    /// G.711 A-law, static payload type 8.
    pub fn pcma() -> Self {
        Self::new(8, "PCMA", 8000, 1)
    }

    /// Opus (RFC 7587), dynamic payload type 111.
    pub fn opus() -> Self {
        Self::new(111, "opus", 48000, 2)
    }

    /// H.264 constrained baseline, packetization-mode 1, dynamic payload type 96.
    pub fn h264() -> Self {
        Self::new(96, "H264", 90000, 1)
            .with_parameters("profile-level-id=42e01f;packetization-mode=1")
    }
}

/// Where a stream's packets go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediaAddress {
    /// RTP (and, with rtcp-mux, RTCP) to this UDP address.
    Udp(SocketAddr),
    /// Over the signaling transport itself (QUIC datagrams), as flow `flow_id`.
    Signaling {
        /// The flow identifier of the stream on the signaling connection.
        flow_id: u64,
    },
    /// No address: signaling only, nothing will be sent.
    None,
}

/// One media line of a description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaDescription {
    /// Audio or video.
    pub media_type: MediaType,
    /// Whether the stream is in use; `false` is a rejected or removed stream (port 0 in SDP).
    pub enabled: bool,
    /// The author's direction (send = the author sends).
    pub direction: MediaDirection,
    /// Where the author receives.
    pub address: MediaAddress,
    /// RTP and RTCP on one port (RFC 5761).
    pub rtcp_mux: bool,
    /// Codecs in preference order.
    pub codecs: Vec<Codec>,
}

impl MediaDescription {
    /// An enabled line.
    pub fn new(media_type: MediaType, direction: MediaDirection, codecs: Vec<Codec>) -> Self {
        Self {
            media_type,
            enabled: true,
            direction,
            address: MediaAddress::None,
            rtcp_mux: true,
            codecs,
        }
    }

    /// The disabled form of this line (what RFC 3264 §8.2 sends to remove a stream).
    pub fn disabled(&self) -> Self {
        Self {
            enabled: false,
            direction: MediaDirection::NONE,
            address: MediaAddress::None,
            codecs: self.codecs.iter().take(1).cloned().collect(),
            ..self.clone()
        }
    }
}

/// A session description: a version and its media lines.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SessionDescription {
    /// Incremented by the author on every new offer (SDP `o=` version).
    pub version: u64,
    /// The media lines, whose positions never change within a session.
    pub media: Vec<MediaDescription>,
}

/// Why an offer could not be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NegotiationError {
    /// More media lines or codecs than the limits.
    #[error("description exceeds limits ({0})")]
    TooLarge(&'static str),
    /// Nothing in the offer is acceptable.
    #[error("no offered media is acceptable")]
    NothingAcceptable,
    /// An answer does not match the offer (different number or types of lines).
    #[error("answer does not match the offer: {0}")]
    Mismatch(&'static str),
}

/// What the answerer wants for one media type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalMedia {
    /// Media type.
    pub media_type: MediaType,
    /// Preferred direction, from the answerer's view.
    pub direction: MediaDirection,
    /// Supported codecs in preference order.
    pub codecs: Vec<Codec>,
    /// Where the answerer receives.
    pub address: MediaAddress,
}

/// Checks a received description against the limits.
pub fn check_limits(d: &SessionDescription) -> Result<(), NegotiationError> {
    if d.media.len() > MAX_MEDIA_LINES {
        return Err(NegotiationError::TooLarge("media lines"));
    }
    if d.media.iter().any(|m| m.codecs.len() > MAX_CODECS) {
        return Err(NegotiationError::TooLarge("codecs"));
    }
    Ok(())
}

/// Answers `offer` (RFC 3264 §6): `local(i, line)` says what the answerer wants for
/// the offered line `i`, or `None` to reject it.
pub fn answer(
    offer: &SessionDescription,
    version: u64,
    mut local: impl FnMut(usize, &MediaDescription) -> Option<LocalMedia>,
) -> Result<SessionDescription, NegotiationError> {
    check_limits(offer)?;
    let mut media = Vec::with_capacity(offer.media.len());
    for (i, m) in offer.media.iter().enumerate() {
        let accepted = if m.enabled { local(i, m) } else { None };
        let line = match accepted {
            Some(l) if l.media_type == m.media_type => {
                let codecs: Vec<Codec> = m
                    .codecs
                    .iter()
                    .filter(|c| l.codecs.iter().any(|lc| lc.same_encoding(c)))
                    .cloned()
                    .collect();
                if codecs.is_empty() {
                    m.disabled()
                } else {
                    MediaDescription {
                        media_type: m.media_type,
                        enabled: true,
                        direction: m.direction.reversed() & l.direction,
                        address: l.address,
                        rtcp_mux: m.rtcp_mux,
                        codecs,
                    }
                }
            }
            _ => m.disabled(),
        };
        media.push(line);
    }
    if !media.iter().any(|m| m.enabled) && offer.media.iter().any(|m| m.enabled) {
        return Err(NegotiationError::NothingAcceptable);
    }
    Ok(SessionDescription { version, media })
}

/// The negotiated direction of each line, from the offerer's view, given the answer.
pub fn negotiated_directions(
    offer: &SessionDescription,
    answer: &SessionDescription,
) -> Result<Vec<Option<MediaDirection>>, NegotiationError> {
    if offer.media.len() != answer.media.len() {
        return Err(NegotiationError::Mismatch("number of media lines"));
    }
    offer
        .media
        .iter()
        .zip(&answer.media)
        .map(|(o, a)| {
            if o.media_type != a.media_type {
                return Err(NegotiationError::Mismatch("media type"));
            }
            Ok((o.enabled && a.enabled).then(|| o.direction & a.direction.reversed()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(dirs: &[(MediaType, MediaDirection)]) -> SessionDescription {
        SessionDescription {
            version: 1,
            media: dirs
                .iter()
                .map(|(t, d)| {
                    let codecs = match t {
                        MediaType::Audio => vec![Codec::opus(), Codec::pcmu()],
                        MediaType::Video => vec![Codec::h264()],
                    };
                    MediaDescription::new(*t, *d, codecs)
                })
                .collect(),
        }
    }

    fn wants(t: MediaType, d: MediaDirection) -> LocalMedia {
        let codecs = match t {
            MediaType::Audio => vec![Codec::pcmu()],
            MediaType::Video => vec![Codec::h264()],
        };
        LocalMedia {
            media_type: t,
            direction: d,
            codecs,
            address: MediaAddress::None,
        }
    }

    #[test]
    fn direction_algebra() {
        assert_eq!(MediaDirection::SEND.reversed(), MediaDirection::RECEIVE);
        assert_eq!(MediaDirection::BOTH.reversed(), MediaDirection::BOTH);
        assert_eq!(MediaDirection::NONE.reversed(), MediaDirection::NONE);
        assert_eq!(MediaDirection::from_bits(0xff), MediaDirection::BOTH);
    }

    #[test]
    fn offer_sendrecv_answer_recvonly_gives_negotiated_send() {
        let o = offer(&[(MediaType::Audio, MediaDirection::BOTH)]);
        let a = answer(&o, 1, |_, m| {
            Some(wants(m.media_type, MediaDirection::RECEIVE))
        })
        .unwrap();
        assert_eq!(a.media[0].direction, MediaDirection::RECEIVE);
        assert_eq!(a.media[0].codecs, vec![Codec::pcmu()]);
        assert_eq!(
            negotiated_directions(&o, &a).unwrap(),
            vec![Some(MediaDirection::SEND)]
        );
    }

    #[test]
    fn hold_offer_is_answered_recvonly() {
        let o = offer(&[(MediaType::Audio, MediaDirection::SEND)]);
        let a = answer(&o, 2, |_, m| {
            Some(wants(m.media_type, MediaDirection::BOTH))
        })
        .unwrap();
        assert_eq!(a.media[0].direction, MediaDirection::RECEIVE);
        let o = offer(&[(MediaType::Audio, MediaDirection::NONE)]);
        let a = answer(&o, 3, |_, m| {
            Some(wants(m.media_type, MediaDirection::BOTH))
        })
        .unwrap();
        assert_eq!(a.media[0].direction, MediaDirection::NONE);
    }

    #[test]
    fn rejected_lines_keep_their_place() {
        let o = offer(&[
            (MediaType::Audio, MediaDirection::BOTH),
            (MediaType::Video, MediaDirection::BOTH),
        ]);
        let a = answer(&o, 1, |_, m| {
            (m.media_type == MediaType::Audio)
                .then(|| wants(MediaType::Audio, MediaDirection::BOTH))
        })
        .unwrap();
        assert_eq!(a.media.len(), 2);
        assert!(a.media[0].enabled);
        assert!(!a.media[1].enabled);
        assert_eq!(
            negotiated_directions(&o, &a).unwrap(),
            vec![Some(MediaDirection::BOTH), None]
        );
    }

    #[test]
    fn no_common_codec_rejects_and_nothing_acceptable_is_an_error() {
        let o = offer(&[(MediaType::Audio, MediaDirection::BOTH)]);
        let err = answer(&o, 1, |_, _| {
            Some(LocalMedia {
                media_type: MediaType::Audio,
                direction: MediaDirection::BOTH,
                codecs: vec![Codec::pcma()],
                address: MediaAddress::None,
            })
        });
        assert_eq!(err, Err(NegotiationError::NothingAcceptable));
    }

    #[test]
    fn limits_and_mismatch() {
        let mut o = offer(&[(MediaType::Audio, MediaDirection::BOTH)]);
        o.media = vec![o.media[0].clone(); MAX_MEDIA_LINES + 1];
        assert_eq!(
            check_limits(&o),
            Err(NegotiationError::TooLarge("media lines"))
        );
        let o = offer(&[(MediaType::Audio, MediaDirection::BOTH)]);
        let a = offer(&[(MediaType::Video, MediaDirection::BOTH)]);
        assert!(negotiated_directions(&o, &a).is_err());
    }
}
