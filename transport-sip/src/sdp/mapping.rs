//! The one mapping between session-core's [`SessionDescription`] and SDP (RFC 8866,
//! RFC 3264 offer/answer).
//!
//! | Description | SDP |
//! | --- | --- |
//! | `enabled = false` | port 0 (RFC 3264 §6, §8.2) |
//! | `MediaAddress::Udp(a)` | `c=IN IP4`/`IP6` (session-level when every stream shares the IP) and the `m=` port |
//! | `MediaAddress::None` on an enabled stream | `c=IN IP4 0.0.0.0`, port 9 (and back) |
//! | codecs | `m=` payload types, `a=rtpmap` for each, `a=fmtp` when parameters are set |
//! | direction | `a=sendrecv` / `sendonly` / `recvonly` / `inactive` on every stream |
//! | `rtcp_mux` | `a=rtcp-mux` |
//! | `version` | `o=` session version, owned by [`SdpSession`] |
//!
//! Streams are written as `RTP/AVP`, or as the protocol the remote offer used for that
//! line when it was `RTP/AVPF` (an answer keeps the offer's protocol, RFC 3264 §6).
//! `m=` sections the neutral model cannot hold (`application`, `image`, and protocols
//! other than `RTP/AVP` and `RTP/AVPF`: the model has no SRTP keys) are remembered by [`SdpSession::remote_description`] and written back,
//! rejected with port 0, at the same position in every later local SDP, so answers keep
//! the offer's `m=` order (RFC 3264 §6) without the application seeing them.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use session_core::description::{
    Codec, MediaAddress, MediaDescription, MediaDirection, MediaType, NegotiationError,
    SessionDescription, check_limits,
};

use super::{Address, Attribute, Direction, Media, Origin, Rtpmap, Sdp};

/// Why a description could not be mapped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MappingError {
    /// A stream is carried over the signaling connection, which SDP cannot describe.
    #[error("media line {index} has a signaling-flow address, which SDP cannot carry")]
    SignalingAddress {
        /// The media line.
        index: usize,
    },
    /// An enabled stream has port 0, which SDP reads as rejected.
    #[error("media line {index} is enabled but has port 0")]
    ZeroPort {
        /// The media line.
        index: usize,
    },
    /// An enabled remote stream has no `c=` line, neither its own nor the session's.
    #[error("remote media line {index} has no connection address")]
    MissingConnection {
        /// The `m=` index in the SDP.
        index: usize,
    },
    /// A remote `c=` is not an `IN IP4`/`IN IP6` literal (names are not resolved here).
    #[error("remote media line {index} has a connection address that is not an IP literal")]
    ConnectionNotIp {
        /// The `m=` index in the SDP.
        index: usize,
    },
    /// A codec SDP cannot carry: a payload type above 127, or a name that is empty or
    /// holds a space or `/`.
    #[error("media line {index} has a codec SDP cannot carry (payload type {payload_type})")]
    InvalidCodec {
        /// The media line.
        index: usize,
        /// The codec's payload type.
        payload_type: u8,
    },
    /// More media lines or codecs than session-core accepts.
    #[error(transparent)]
    Limits(#[from] NegotiationError),
}

/// The caller-held SDP state of one session: the `o=` line (RFC 8866 §5.2) and the
/// remote `m=` sections the neutral model cannot hold.
///
/// [`local_sdp`](Self::local_sdp) increments the `o=` session version whenever the
/// description differs from the last one sent and keeps it when it does not (RFC 3264
/// §8: an unchanged re-offer repeats the version).
#[derive(Debug, Clone)]
pub struct SdpSession {
    username: String,
    session_id: String,
    version: u64,
    address: IpAddr,
    /// The text of the last SDP sent, written with version 0: the next one gets a new
    /// version only when its text differs (RFC 3264 §8). Text rather than a copy of the
    /// `Sdp`: one buffer instead of a string per field.
    last_sent: Option<Vec<u8>>,
    foreign: Vec<(usize, Media)>,
    /// The remote protocol of each mapped line, by description index.
    remote_protos: Vec<String>,
}

impl SdpSession {
    /// A session whose `o=` line has `session_id` (chosen by the caller, e.g. random or
    /// an NTP timestamp) and `address`, the host's address. The first SDP has version 1.
    pub fn new(session_id: u64, address: IpAddr) -> SdpSession {
        SdpSession {
            username: "-".to_owned(),
            session_id: session_id.to_string(),
            version: 0,
            address,
            last_sent: None,
            foreign: Vec::new(),
            remote_protos: Vec::new(),
        }
    }

    /// The `o=` session version of the last SDP built (0 before the first).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Builds the SDP for a local offer or answer. `desc.version` is not used: the
    /// session owns the `o=` version.
    pub fn local_sdp(&mut self, desc: &SessionDescription) -> Result<Sdp, MappingError> {
        let origin = Origin {
            username: self.username.clone(),
            session_id: self.session_id.clone(),
            // Set below, once the content is known to have changed or not.
            session_version: 0,
            address: Address::ip(self.address),
        };
        let mut sdp = description_to_sdp(desc, origin)?;
        for (m, proto) in sdp.media.iter_mut().zip(&self.remote_protos) {
            m.proto.clone_from(proto);
        }
        for (index, m) in &self.foreign {
            let rejected = Media::new(&m.kind, 0, &m.proto, m.formats.clone());
            let at = (*index).min(sdp.media.len());
            sdp.media.insert(at, rejected);
        }
        // The version is still 0 here, as in the text kept.
        let text = sdp.to_bytes();
        let changed = self.last_sent.as_deref() != Some(&text[..]);
        if changed {
            self.last_sent = Some(text);
            self.version = self.version.saturating_add(1);
            tracing::debug!(version = self.version, "new local SDP version");
        }
        sdp.origin.session_version = self.version;
        Ok(sdp)
    }

    /// Maps a remote offer or answer, remembering the `m=` sections the neutral model
    /// cannot hold so that [`local_sdp`](Self::local_sdp) writes them back rejected.
    pub fn remote_description(&mut self, sdp: &Sdp) -> Result<SessionDescription, MappingError> {
        let (desc, foreign) = map_remote(sdp)?;
        // A later offer never removes m= lines (RFC 3264 §8), so the latest list wins.
        self.remote_protos = sdp
            .media
            .iter()
            .enumerate()
            .filter(|(i, _)| !foreign.iter().any(|(f, _)| f == i))
            .map(|(_, m)| m.proto.clone())
            .collect();
        self.foreign = foreign;
        Ok(desc)
    }
}

/// Maps a description to SDP with the given origin (no state: see [`SdpSession`]).
pub fn description_to_sdp(desc: &SessionDescription, origin: Origin) -> Result<Sdp, MappingError> {
    check_limits(desc)?;
    let mut sdp = Sdp::new(origin);
    // Session-level c= when every addressed stream shares one IP.
    let mut ips = desc
        .media
        .iter()
        .filter_map(|m| match (&m.address, m.enabled) {
            (MediaAddress::Udp(a), true) => Some(a.ip()),
            _ => None,
        });
    let common = match ips.next() {
        Some(first) => ips.all(|ip| ip == first).then_some(first),
        None => None,
    };
    sdp.connection = common.map(Address::ip);
    for (index, m) in desc.media.iter().enumerate() {
        let (port, connection) = match (&m.address, m.enabled) {
            (MediaAddress::Signaling { .. }, _) => {
                return Err(MappingError::SignalingAddress { index });
            }
            (_, false) => (0, common.is_none().then(unspecified)),
            (MediaAddress::Udp(a), true) => {
                if a.port() == 0 {
                    return Err(MappingError::ZeroPort { index });
                }
                (
                    a.port(),
                    (common != Some(a.ip())).then(|| Address::ip(a.ip())),
                )
            }
            (MediaAddress::None, true) => (9, Some(unspecified())),
        };
        let kind = match m.media_type {
            MediaType::Audio => "audio",
            MediaType::Video => "video",
        };
        let formats = m
            .codecs
            .iter()
            .map(|c| c.payload_type.to_string())
            .collect();
        let mut media = Media::new(kind, port, "RTP/AVP", formats);
        media.connection = connection;
        for c in &m.codecs {
            if c.payload_type > 127
                || c.name.is_empty()
                || c.name.contains(|ch: char| ch == '/' || ch.is_whitespace())
            {
                return Err(MappingError::InvalidCodec {
                    index,
                    payload_type: c.payload_type,
                });
            }
            media.attributes.push(Attribute::Rtpmap(Rtpmap {
                payload_type: c.payload_type,
                encoding: c.name.clone(),
                clock_rate: c.clock_rate,
                channels: (c.channels != 1).then_some(c.channels),
            }));
            if let Some(p) = &c.parameters {
                media.attributes.push(Attribute::Fmtp {
                    format: c.payload_type.to_string(),
                    params: p.clone(),
                });
            }
        }
        media
            .attributes
            .push(Attribute::Direction(to_direction(m.direction)));
        if m.rtcp_mux {
            media.attributes.push(Attribute::RtcpMux);
        }
        sdp.media.push(media);
    }
    Ok(sdp)
}

/// Maps SDP to a description, dropping `m=` sections the model cannot hold (see
/// [`SdpSession::remote_description`] to keep their positions). The description's
/// `version` is the `o=` session version.
pub fn sdp_to_description(sdp: &Sdp) -> Result<SessionDescription, MappingError> {
    map_remote(sdp).map(|(d, _)| d)
}

fn unspecified() -> Address {
    Address::ip(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

fn to_direction(d: MediaDirection) -> Direction {
    match (d.sends(), d.receives()) {
        (true, true) => Direction::SendRecv,
        (true, false) => Direction::SendOnly,
        (false, true) => Direction::RecvOnly,
        (false, false) => Direction::Inactive,
    }
}

fn from_direction(d: Direction) -> MediaDirection {
    match d {
        Direction::SendRecv => MediaDirection::BOTH,
        Direction::SendOnly => MediaDirection::SEND,
        Direction::RecvOnly => MediaDirection::RECEIVE,
        Direction::Inactive => MediaDirection::NONE,
    }
}

/// The static audio payload types of RFC 3551 §6 a peer may send without `a=rtpmap`.
fn static_codec(pt: u8) -> Option<Codec> {
    let (name, rate) = match pt {
        0 => ("PCMU", 8000),
        3 => ("GSM", 8000),
        4 => ("G723", 8000),
        8 => ("PCMA", 8000),
        9 => ("G722", 8000),
        13 => ("CN", 8000),
        18 => ("G729", 8000),
        _ => return None,
    };
    Some(Codec::new(pt, name, rate, 1))
}

/// The protocols the model can answer: plain RTP, with or without feedback.
fn is_plain_rtp(proto: &str) -> bool {
    proto.eq_ignore_ascii_case("RTP/AVP") || proto.eq_ignore_ascii_case("RTP/AVPF")
}

type Foreign = Vec<(usize, Media)>;

fn map_remote(sdp: &Sdp) -> Result<(SessionDescription, Foreign), MappingError> {
    let mut media = Vec::new();
    let mut foreign = Vec::new();
    for (index, m) in sdp.media.iter().enumerate() {
        let media_type = match m.kind.as_str() {
            "audio" if is_plain_rtp(&m.proto) => MediaType::Audio,
            "video" if is_plain_rtp(&m.proto) => MediaType::Video,
            _ => {
                tracing::debug!(index, kind = %m.kind, proto = %m.proto, "m= line kept aside");
                foreign.push((index, m.clone()));
                continue;
            }
        };
        let enabled = m.port != 0;
        let address = if !enabled {
            MediaAddress::None
        } else {
            let c = m
                .effective_connection(sdp)
                .ok_or(MappingError::MissingConnection { index })?;
            let ip = c.to_ip().ok_or(MappingError::ConnectionNotIp { index })?;
            if ip.is_unspecified() {
                // RFC 3264 §8.4 legacy hold: nothing is to be sent there.
                MediaAddress::None
            } else {
                MediaAddress::Udp(SocketAddr::new(ip, m.port))
            }
        };
        let mut codecs = Vec::new();
        for f in &m.formats {
            let Ok(pt) = f.parse::<u8>() else { continue };
            let codec = match m.rtpmap(f) {
                Some(r) => Some(Codec::new(
                    pt,
                    &r.encoding,
                    r.clock_rate,
                    r.channels.unwrap_or(1),
                )),
                None => static_codec(pt),
            };
            let Some(mut codec) = codec else {
                tracing::debug!(
                    index,
                    payload_type = pt,
                    "payload type without rtpmap skipped"
                );
                continue;
            };
            codec.parameters = m.fmtp(f).map(str::to_owned);
            codecs.push(codec);
        }
        media.push(MediaDescription {
            media_type,
            enabled,
            direction: from_direction(m.direction(sdp)),
            address,
            rtcp_mux: m.rtcp_mux(),
            codecs,
        });
    }
    let desc = SessionDescription {
        version: sdp.origin.session_version,
        media,
    };
    check_limits(&desc)?;
    Ok((desc, foreign))
}
