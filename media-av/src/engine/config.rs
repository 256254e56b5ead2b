//! The engine's configuration: where it binds, which codecs it offers, its
//! synthetic sources and the factories that plug an application's own sources
//! and sinks in.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use session_core::description::{Codec, MediaType};

use super::StreamId;
use crate::sink::{AudioSink, VideoSink};
use crate::source::{AudioSource, SourceError, VideoSource};

/// An audio codec the engine can offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AudioCodec {
    /// Opus (RFC 7587), 48 kHz, sent mono, payload type 111.
    Opus,
    /// G.711 µ-law, payload type 0.
    Pcmu,
    /// G.711 A-law, payload type 8.
    Pcma,
}

/// Which path a stream's packets take when session-core offers one over the
/// signaling transport.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PathPolicy {
    /// Use the transport's path (QUIC datagrams) when given, else bind UDP.
    #[default]
    PreferSignaling,
    /// Always bind a UDP socket (SIP deployments, or tests of real UDP media
    /// over the memory transport).
    UdpOnly,
}

/// Audio settings.
#[derive(Clone, Debug, PartialEq)]
pub struct AudioSettings {
    /// Codecs to offer, in preference order. Opus is left out when libopus
    /// cannot create an encoder.
    pub codecs: Vec<AudioCodec>,
    /// Opus target bitrate in bit/s.
    pub opus_bitrate: u32,
    /// Frequency of the default tone source, in Hz.
    pub tone_frequency: f64,
    /// Peak amplitude of the default tone source.
    pub tone_amplitude: i16,
    /// Jitter buffer: smallest and largest target delay.
    pub jitter_delay_bounds: (Duration, Duration),
    /// Jitter buffer: target delay before jitter is measured.
    pub jitter_initial_delay: Duration,
}

impl Default for AudioSettings {
    /// Opus, PCMU, PCMA; Opus at 32 kbit/s; a 1 kHz tone at amplitude 8000
    /// (-12 dBFS); jitter buffer 20–500 ms starting at 60 ms.
    fn default() -> Self {
        Self {
            codecs: vec![AudioCodec::Opus, AudioCodec::Pcmu, AudioCodec::Pcma],
            opus_bitrate: 32_000,
            tone_frequency: 1000.0,
            tone_amplitude: 8000,
            jitter_delay_bounds: (Duration::from_millis(20), Duration::from_millis(500)),
            jitter_initial_delay: Duration::from_millis(60),
        }
    }
}

/// Video settings (H.264, constrained baseline, packetization-mode 1).
#[derive(Clone, Debug, PartialEq)]
pub struct VideoSettings {
    /// Whether video is offered at all.
    pub enabled: bool,
    /// Width of the default test pattern (even).
    pub width: u32,
    /// Height of the default test pattern (even).
    pub height: u32,
    /// Frames per second the sender paces at.
    pub fps: u32,
    /// Encoder target bitrate in bit/s.
    pub bitrate: u32,
    /// How long an incomplete frame waits for its packets before it is given
    /// up (and a PLI asks for a keyframe).
    pub max_frame_wait: Duration,
    /// Whether the receiver asks for missing packets with generic NACKs
    /// (RFC 4585 §6.2.1: right away, then every 30 ms, 3 times at most)
    /// while the frame waits. The sender answers NACKs either way, from the
    /// last 512 packets it sent.
    pub nack: bool,
}

impl Default for VideoSettings {
    /// 320x240 at 15 frames/s, 500 kbit/s, 150 ms frame wait, NACKs on.
    fn default() -> Self {
        Self {
            enabled: true,
            width: 320,
            height: 240,
            fps: 15,
            bitrate: 500_000,
            max_frame_wait: Duration::from_millis(150),
            nack: true,
        }
    }
}

/// RTCP settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtcpSettings {
    /// Mean time between reports. Each interval is randomized to 0.5–1.5
    /// times this (RFC 3550 §6.3.1) and the first report goes out after half
    /// of it (§6.2's "initial" rule); the bandwidth-based computation of
    /// §6.3.1 and timer reconsideration are not built. RFC 3550's 5 s
    /// minimum is relaxed to 1 s by default so round-trip times and loss
    /// show up quickly in short calls.
    pub interval: Duration,
    /// The SDES CNAME (RFC 3550 §6.5.1).
    pub cname: String,
}

impl Default for RtcpSettings {
    /// One report per second, CNAME `ucc-rs@<random hex>`.
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(1),
            cname: format!("ucc-rs@{:08x}", super::random_u32()),
        }
    }
}

/// What a source or sink factory is asked for: one pipeline of one stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PipelineInfo {
    /// The stream.
    pub stream: StreamId,
    /// Audio or video.
    pub media_type: MediaType,
    /// The negotiated codec the pipeline encodes or decodes.
    pub codec: Codec,
    /// PCM sample rate the source must produce or the sink receives (the
    /// 90 kHz media clock for video).
    pub sample_rate: u32,
    /// PCM channels the source must produce or the sink receives (1 for video).
    pub channels: u16,
}

/// Creates the audio source of a sending pipeline. The source must produce
/// frames at [`PipelineInfo::sample_rate`] and [`PipelineInfo::channels`].
pub type AudioSourceFactory =
    Arc<dyn Fn(&PipelineInfo) -> Result<Box<dyn AudioSource>, SourceError> + Send + Sync>;
/// Creates the video source of a sending pipeline.
pub type VideoSourceFactory =
    Arc<dyn Fn(&PipelineInfo) -> Result<Box<dyn VideoSource>, SourceError> + Send + Sync>;
/// Creates the sink that receives a stream's decoded audio (the receive tap).
pub type AudioSinkFactory = Arc<dyn Fn(&PipelineInfo) -> Box<dyn AudioSink> + Send + Sync>;
/// Creates the sink that receives a stream's decoded pictures (the receive tap).
pub type VideoSinkFactory = Arc<dyn Fn(&PipelineInfo) -> Box<dyn VideoSink> + Send + Sync>;
/// Maps the address a stream's UDP socket is bound to onto the address offered to
/// the peer: a static NAT's public address, a port forward, a relay in front of the
/// socket. Called once per stream when it opens.
pub type AddressMapper = Arc<dyn Fn(SocketAddr) -> SocketAddr + Send + Sync>;

/// The sources and sinks the engine's pipelines use.
#[derive(Clone, Default)]
pub(crate) struct Factories {
    pub(crate) audio_source: Option<AudioSourceFactory>,
    pub(crate) video_source: Option<VideoSourceFactory>,
    pub(crate) audio_sink: Option<AudioSinkFactory>,
    pub(crate) video_sink: Option<VideoSinkFactory>,
}

/// Configuration of an [`AvEngine`](super::AvEngine), built with methods.
///
/// ```
/// use std::net::{IpAddr, Ipv4Addr};
/// use media_av::engine::{AudioCodec, EngineConfig, PathPolicy};
///
/// let config = EngineConfig::new()
///     .bind_ip(IpAddr::V4(Ipv4Addr::LOCALHOST))
///     .path_policy(PathPolicy::UdpOnly)
///     .audio_codecs(&[AudioCodec::Pcmu]);
/// assert_eq!(config.audio().codecs, [AudioCodec::Pcmu]);
/// ```
#[derive(Clone)]
pub struct EngineConfig {
    pub(crate) bind_ip: IpAddr,
    pub(crate) path_policy: PathPolicy,
    pub(crate) max_packet_size: usize,
    pub(crate) audio: AudioSettings,
    pub(crate) video: VideoSettings,
    pub(crate) rtcp: RtcpSettings,
    pub(crate) factories: Factories,
    pub(crate) advertise: Option<AddressMapper>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineConfig")
            .field("bind_ip", &self.bind_ip)
            .field("path_policy", &self.path_policy)
            .field("max_packet_size", &self.max_packet_size)
            .field("audio", &self.audio)
            .field("video", &self.video)
            .field("rtcp", &self.rtcp)
            .field("advertise", &self.advertise.is_some())
            .finish_non_exhaustive()
    }
}

impl EngineConfig {
    /// Defaults: UDP on 127.0.0.1 (port chosen by the system), the signaling
    /// path when offered, 1200-byte packets, the default audio, video and
    /// RTCP settings, a 1 kHz tone and a test pattern as sources, decoded
    /// media dropped.
    #[must_use]
    pub fn new() -> Self {
        Self {
            bind_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            path_policy: PathPolicy::default(),
            max_packet_size: 1200,
            audio: AudioSettings::default(),
            video: VideoSettings::default(),
            rtcp: RtcpSettings::default(),
            factories: Factories::default(),
            advertise: None,
        }
    }

    /// The IP address UDP sockets bind to (port 0: the system chooses).
    #[must_use]
    pub fn bind_ip(mut self, ip: IpAddr) -> Self {
        self.bind_ip = ip;
        self
    }

    /// Offers `mapper(bound address)` to peers instead of the bound address of each
    /// UDP stream (without it, the bound address is offered). What arrives from the
    /// mapped address is received as from any other source.
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// use std::sync::Arc;
    /// use media_av::engine::EngineConfig;
    ///
    /// // A 1:1 NAT: same port, public address 192.0.2.10.
    /// let config = EngineConfig::new()
    ///     .advertise(Arc::new(|bound: SocketAddr| SocketAddr::from(([192, 0, 2, 10], bound.port()))));
    /// # let _ = config;
    /// ```
    #[must_use]
    pub fn advertise(mut self, mapper: AddressMapper) -> Self {
        self.advertise = Some(mapper);
        self
    }

    /// Which path streams use.
    #[must_use]
    pub fn path_policy(mut self, policy: PathPolicy) -> Self {
        self.path_policy = policy;
        self
    }

    /// Largest RTP packet sent over UDP (H.264 fragments to fit); a signaling
    /// path's own limit applies when smaller.
    #[must_use]
    pub fn max_packet_size(mut self, bytes: usize) -> Self {
        self.max_packet_size = bytes.clamp(100, 65_000);
        self
    }

    /// The audio codecs to offer, in preference order.
    #[must_use]
    pub fn audio_codecs(mut self, codecs: &[AudioCodec]) -> Self {
        self.audio.codecs = codecs.to_vec();
        self
    }

    /// All audio settings.
    #[must_use]
    pub fn audio_settings(mut self, settings: AudioSettings) -> Self {
        self.audio = settings;
        self
    }

    /// All video settings.
    #[must_use]
    pub fn video_settings(mut self, settings: VideoSettings) -> Self {
        self.video = settings;
        self
    }

    /// All RTCP settings.
    #[must_use]
    pub fn rtcp_settings(mut self, settings: RtcpSettings) -> Self {
        self.rtcp = settings;
        self
    }

    /// Where sending audio pipelines get their frames (default: the tone).
    #[must_use]
    pub fn audio_source(mut self, factory: AudioSourceFactory) -> Self {
        self.factories.audio_source = Some(factory);
        self
    }

    /// Where sending video pipelines get their pictures (default: the test
    /// pattern).
    #[must_use]
    pub fn video_source(mut self, factory: VideoSourceFactory) -> Self {
        self.factories.video_source = Some(factory);
        self
    }

    /// Where receiving audio pipelines deliver decoded audio (default:
    /// dropped).
    #[must_use]
    pub fn audio_sink(mut self, factory: AudioSinkFactory) -> Self {
        self.factories.audio_sink = Some(factory);
        self
    }

    /// Where receiving video pipelines deliver decoded pictures (default:
    /// dropped).
    #[must_use]
    pub fn video_sink(mut self, factory: VideoSinkFactory) -> Self {
        self.factories.video_sink = Some(factory);
        self
    }

    /// The audio settings.
    #[must_use]
    pub fn audio(&self) -> &AudioSettings {
        &self.audio
    }

    /// The video settings.
    #[must_use]
    pub fn video(&self) -> &VideoSettings {
        &self.video
    }

    /// The RTCP settings.
    #[must_use]
    pub fn rtcp(&self) -> &RtcpSettings {
        &self.rtcp
    }
}
