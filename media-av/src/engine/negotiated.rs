//! Negotiated parameters in the engine's terms: which of its codecs a
//! session-core [`Codec`] is, and the parameters each pipeline runs with.

use session_core::contract::media::NegotiatedStream;
use session_core::description::{Codec, MediaAddress, MediaDirection};

use super::config::AudioCodec;
use super::error::EngineError;
use crate::rtp::PayloadType;

/// A codec the engine has a pipeline for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum CodecKind {
    Pcmu,
    Pcma,
    Opus,
    H264,
}

impl CodecKind {
    /// The engine's codec for `codec`, if it has one: same encoding name,
    /// clock rate and channels, and for H.264 packetization-mode 1.
    pub(crate) fn of(codec: &Codec) -> Option<Self> {
        let name = codec.name.as_str();
        let kind = if name.eq_ignore_ascii_case("PCMU") && codec.clock_rate == 8000 {
            Self::Pcmu
        } else if name.eq_ignore_ascii_case("PCMA") && codec.clock_rate == 8000 {
            Self::Pcma
        } else if name.eq_ignore_ascii_case("opus") && codec.clock_rate == 48_000 {
            Self::Opus
        } else if name.eq_ignore_ascii_case("H264") && codec.clock_rate == 90_000 {
            // RFC 6184 §8.1: packetization-mode absent means 0 (single NAL
            // unit), which cannot carry FU-A fragments.
            let mode1 = codec.parameters.as_deref().is_some_and(|p| {
                p.split(';')
                    .any(|kv| kv.trim().eq_ignore_ascii_case("packetization-mode=1"))
            });
            if !mode1 {
                return None;
            }
            Self::H264
        } else {
            return None;
        };
        Some(kind)
    }

    /// The codec as offered, with its default payload type.
    pub(crate) fn offer(self) -> Codec {
        match self {
            Self::Pcmu => Codec::pcmu(),
            Self::Pcma => Codec::pcma(),
            Self::Opus => Codec::opus().with_parameters("minptime=10;useinbandfec=1"),
            Self::H264 => Codec::h264(),
        }
    }

    /// The RTP clock rate.
    pub(crate) fn clock_rate(self) -> u32 {
        match self {
            Self::Pcmu | Self::Pcma => 8000,
            Self::Opus => 48_000,
            Self::H264 => 90_000,
        }
    }

    /// PCM samples per channel in one 20 ms packet (0 for video).
    pub(crate) fn frame_samples(self) -> usize {
        match self {
            Self::Pcmu | Self::Pcma => 160,
            Self::Opus => 960,
            Self::H264 => 0,
        }
    }

    /// Whether it is a video codec.
    pub(crate) fn is_video(self) -> bool {
        self == Self::H264
    }
}

impl From<AudioCodec> for CodecKind {
    fn from(c: AudioCodec) -> Self {
        match c {
            AudioCodec::Opus => Self::Opus,
            AudioCodec::Pcmu => Self::Pcmu,
            AudioCodec::Pcma => Self::Pcma,
        }
    }
}

/// The send side of a negotiated stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SendParams {
    pub(crate) kind: CodecKind,
    pub(crate) payload_type: PayloadType,
    pub(crate) codec: Codec,
}

/// A negotiated stream in the engine's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ActiveParams {
    pub(crate) direction: MediaDirection,
    /// What to send with, when sending.
    pub(crate) send: Option<SendParams>,
    /// Payload types to accept and their codecs.
    pub(crate) receive: Vec<(PayloadType, CodecKind, Codec)>,
    /// Whether RTCP is sent (only multiplexed RTCP is supported).
    pub(crate) rtcp: bool,
}

impl ActiveParams {
    /// Maps `n`, checking that the engine can send its codec.
    pub(crate) fn new(n: &NegotiatedStream) -> Result<Self, EngineError> {
        let send_kind = CodecKind::of(&n.codec)
            .ok_or_else(|| EngineError::UnsupportedCodec(n.codec.clone()))?;
        let payload_type = PayloadType::new(n.codec.payload_type)
            .ok_or_else(|| EngineError::UnsupportedCodec(n.codec.clone()))?;
        let mut receive = Vec::with_capacity(n.codecs.len() + 1);
        for c in n.codecs.iter().chain(std::iter::once(&n.codec)) {
            if let (Some(kind), Some(pt)) = (CodecKind::of(c), PayloadType::new(c.payload_type)) {
                if !receive.iter().any(|(p, _, _)| *p == pt) {
                    receive.push((pt, kind, c.clone()));
                }
            }
        }
        let can_send = !matches!(n.remote, MediaAddress::None);
        Ok(Self {
            direction: n.direction,
            send: (n.direction.sends() && can_send).then(|| SendParams {
                kind: send_kind,
                payload_type,
                codec: n.codec.clone(),
            }),
            receive,
            rtcp: n.rtcp_mux,
        })
    }

    /// The codec of received payload type `pt`, if negotiated.
    pub(crate) fn receive_codec(&self, pt: PayloadType) -> Option<(CodecKind, &Codec)> {
        self.receive
            .iter()
            .find(|(p, _, _)| *p == pt)
            .map(|(_, k, c)| (*k, c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_codecs_and_refuses_h264_mode_0() {
        assert_eq!(CodecKind::of(&Codec::pcmu()), Some(CodecKind::Pcmu));
        assert_eq!(CodecKind::of(&Codec::opus()), Some(CodecKind::Opus));
        assert_eq!(CodecKind::of(&Codec::h264()), Some(CodecKind::H264));
        let mode0 = Codec::new(97, "H264", 90_000, 1).with_parameters("profile-level-id=42e01f");
        assert_eq!(CodecKind::of(&mode0), None);
        assert_eq!(CodecKind::of(&Codec::new(9, "G722", 8000, 1)), None);
    }

    #[test]
    fn send_needs_direction_and_address() {
        let n = NegotiatedStream {
            direction: MediaDirection::RECEIVE,
            codec: Codec::pcmu(),
            codecs: vec![Codec::pcmu(), Codec::pcma()],
            remote: MediaAddress::Udp(([127, 0, 0, 1], 9).into()),
            rtcp_mux: true,
        };
        let p = ActiveParams::new(&n).unwrap();
        assert!(p.send.is_none());
        assert_eq!(p.receive.len(), 2);
        let p = ActiveParams::new(&NegotiatedStream {
            direction: MediaDirection::BOTH,
            ..n
        })
        .unwrap();
        assert_eq!(p.send.map(|s| s.kind), Some(CodecKind::Pcmu));
    }
}
