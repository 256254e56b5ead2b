//! The media engine: session-core's media contract
//! ([`MediaEngine`]/[`MediaStream`]) over real RTP.
//!
//! [`AvEngine`] offers its codecs (audio: Opus, PCMU, PCMA; video: H.264
//! packetization-mode 1), opens one [`AvStream`] per negotiated media line
//! and runs it:
//!
//! ```text
//! send:    source ─ 20 ms frames / paced pictures ─ encoder ─ RTP packetizer ─┐
//!          (tone, test pattern, or the application's)                          │
//!                                                                              ├─ path (UDP or
//! receive: sink ◀─ decoder (PLC) ◀─ depacketizer ◀─ jitter buffer / frame      │   QUIC datagrams)
//!          (the application's tap)     assembler ◀─ stats ◀─ RTP checks ◀─ demux┘
//!                                                       RTCP: SR/RR, RTT, PLI, BYE
//! ```
//!
//! # Plugging it in
//!
//! ```
//! use std::sync::Arc;
//! use media_av::engine::{AvEngine, EngineConfig, PathPolicy};
//! use media_av::sink::{AudioSink, NullSink};
//! use session_core::memory::MemoryNetwork;
//! use session_core::contract::media::MediaEngine;
//! use session_core::{MediaType, Platform};
//!
//! let config = EngineConfig::new()
//!     // Real UDP media even though the memory transport offers a path.
//!     .path_policy(PathPolicy::UdpOnly)
//!     // The receive tap: every receiving audio pipeline gets a sink.
//!     .audio_sink(Arc::new(|_info| Box::new(NullSink::default()) as Box<dyn AudioSink>));
//! let engine = Arc::new(AvEngine::new(config));
//! let monitor = engine.monitor();
//! assert_eq!(engine.codecs(MediaType::Video)[0].name, "H264");
//!
//! let network = MemoryNetwork::new();
//! let platform = Platform::builder()
//!     .transport(network.transport())
//!     .media_engine(engine)
//!     .build();
//! # let _ = platform;
//! assert!(monitor.streams().is_empty());
//! ```
//!
//! # Design
//!
//! - **Paths.** [`MediaEngine::open`] uses the request's packet path (QUIC
//!   datagrams) unless [`PathPolicy::UdpOnly`], else binds a [`UdpPath`] on
//!   the configured IP, port 0, and offers `MediaAddress::Udp`. RTP and RTCP
//!   always share the path (rtcp-mux, RFC 5761); a peer that refuses
//!   rtcp-mux gets RTP but no RTCP.
//! - **Tasks.** Each stream runs a send task and a receive task (see
//!   [`AvStream`]); `apply` hands them the negotiated parameters over a
//!   `watch` channel and returns at once. Counters are relaxed atomics,
//!   read by [`MediaStream::stats`] and the [`Monitor`] without locks. No
//!   lock is held across an await; the per-packet path takes none (the UDP
//!   receive buffer's mutex is taken inside `poll_recv` only).
//! - **Sending.** Random SSRC, first sequence number and timestamp origin
//!   (RFC 3550 §5.1), kept for the stream's life: hold and resume, mute and
//!   codec changes keep the SSRC and let the media clock run on. Audio goes
//!   out in 20 ms packets, a late tick sends the frames it owes; video at
//!   the configured frame rate, a late tick drops the picture.
//! - **Hold and mute.** Hold is a direction without send: the send task
//!   idles (nothing is sent, no keep-alive). Mute keeps the stream and its
//!   pacing but **sends nothing** (no silence or comfort noise): the media
//!   clock runs on and the first packet after unmute carries the marker bit;
//!   video asks the encoder for a keyframe on unmute. A direction without
//!   receive drops incoming RTP uncounted.
//! - **Receiving.** RTP of a payload type not negotiated, of our own SSRC
//!   (collision, RFC 3550 §8.2: counted and dropped, our SSRC is not
//!   changed) or of a second source while the first is active (silent for
//!   less than 500 ms) is counted and dropped. Audio goes through the
//!   adaptive [`JitterBuffer`](crate::jitter::JitterBuffer); a lost Opus
//!   packet is rebuilt from the in-band FEC of the packet after it when that
//!   one has already arrived ([`JitterBuffer::peek_next`](crate::jitter::JitterBuffer::peek_next)),
//!   and concealed otherwise (Opus PLC; G.711 silence). Video goes through the
//!   [`FrameAssembler`](crate::jitter::FrameAssembler); a lost or broken
//!   frame drops pictures until the next keyframe and sends a PLI, which
//!   makes the sender's encoder emit one.
//! - **RTCP.** See [below](self#rtcp): SR or RR with a report block
//!   and SDES CNAME about once per [`RtcpSettings::interval`]; round-trip
//!   time from the peer's LSR/DLSR; BYE on close.
//!
//! # RTCP
//!
//! Reports follow RFC 3550 §6 with a simplified interval: the configured
//! mean (1 s by default, below §6.2's 5 s minimum so short calls measure
//! round-trip time), randomized to 0.5–1.5 times, the first after half an
//! interval; no bandwidth share, member count or reconsideration (one source
//! per side). Video receivers NACK missing packets (RFC 4585 §6.2.1 generic
//! NACK, while the frame waits; [`VideoSettings::nack`]) and video senders
//! answer NACKs by resending the packets from a history of the last 512, in
//! the original stream (RFC 4588's `rtx` stream needs SDP negotiation that is
//! not done).
//!
//! # Known limits
//!
//! | Limit | Value |
//! |---|---|
//! | Audio | mono, 20 ms packets; sources must produce the codec's rate (no resampling) |
//! | Opus FEC | used when the packet after a lost one is in the jitter buffer at the lost one's playout time; the buffer does not wait longer for it |
//! | Video | H.264 constrained baseline, packetization-mode 1; keyframes only on request and (re)start |
//! | Retransmission | video only, resent in the original stream (no RFC 4588 `rtx` payload type); `nack`/`nack pli` are not negotiated in SDP (a peer that ignores NACKs still gets PLIs) |
//! | Sources per stream | one remote SSRC at a time |
//! | Allocation | per frame in codecs and sources (owned buffers in their APIs); none per packet in RTP, jitter buffer, UDP receive or send |
//! | Threads | the stream tasks run on the caller's tokio runtime, encoding and decoding included (no dedicated real-time thread): a busy runtime delays pacing; audio then catches up in a burst, video drops the late picture |
//! | Pipeline errors | a source or encoder that cannot start fails `apply`; one that fails later is logged and counted (`send_errors`) and sending stops until the next `apply` |

mod audio_pipeline;
mod config;
mod counters;
mod error;
mod history;
mod monitor;
mod negotiated;
mod receive_task;
mod rtcp_session;
mod send_buffer;
mod send_task;
mod stream;
mod udp_path;
mod video_pipeline;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use session_core::contract::media::{MediaEngine, MediaStream, StreamRequest};
use session_core::description::{Codec, MediaType};
use session_core::error::MediaError;

pub use config::{
    AddressMapper, AudioCodec, AudioSettings, AudioSinkFactory, AudioSourceFactory, EngineConfig,
    PathPolicy, PipelineInfo, RtcpSettings, VideoSettings, VideoSinkFactory, VideoSourceFactory,
};
pub use counters::CounterSnapshot;
pub use error::EngineError;
pub use monitor::{Monitor, StreamSnapshot};
pub use stream::AvStream;
pub use udp_path::UdpPath;

use negotiated::CodecKind;

/// Identifies a stream of an engine (in order of opening).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(pub u64);

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s{}", self.0)
    }
}

/// A random 32-bit value for SSRCs, sequence and timestamp origins (RFC 3550
/// §5.1, §8.1: unpredictable, not cryptographic): SipHash with the
/// process's random keys over a counter and the time.
pub(crate) fn random_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    h.write_u128(now.as_nanos());
    let v = h.finish();
    (v ^ (v >> 32)) as u32
}

/// The media engine: see the [module docs](self).
#[derive(Clone)]
pub struct AvEngine {
    config: Arc<EngineConfig>,
    monitor: Monitor,
    next_id: Arc<AtomicU64>,
    opus_available: bool,
}

impl fmt::Debug for AvEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AvEngine")
            .field("config", &self.config)
            .field("opus_available", &self.opus_available)
            .finish_non_exhaustive()
    }
}

impl AvEngine {
    /// An engine with `config`. Checks once whether libopus works; Opus is
    /// not offered when it does not.
    #[must_use]
    pub fn new(config: EngineConfig) -> Self {
        let opus_available =
            crate::codec::opus::OpusEncoder::new(crate::codec::opus::OpusConfig::default()).is_ok();
        Self {
            config: Arc::new(config),
            monitor: Monitor::default(),
            next_id: Arc::new(AtomicU64::new(1)),
            opus_available,
        }
    }

    /// The window on this engine's streams.
    #[must_use]
    pub fn monitor(&self) -> Monitor {
        self.monitor.clone()
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Opens a stream (what [`MediaEngine::open`] does), typed.
    ///
    /// # Errors
    ///
    /// [`EngineError::Bind`] when the UDP socket cannot be bound.
    pub async fn open_stream(&self, request: StreamRequest) -> Result<AvStream, EngineError> {
        let id = StreamId(self.next_id.fetch_add(1, Ordering::Relaxed));
        AvStream::open(id, &self.config, &self.monitor, request).await
    }
}

#[async_trait]
impl MediaEngine for AvEngine {
    fn codecs(&self, media_type: MediaType) -> Vec<Codec> {
        match media_type {
            MediaType::Audio => self
                .config
                .audio
                .codecs
                .iter()
                .filter(|&&c| c != AudioCodec::Opus || self.opus_available)
                .map(|&c| CodecKind::from(c).offer())
                .collect(),
            MediaType::Video if self.config.video.enabled => vec![CodecKind::H264.offer()],
            MediaType::Video => Vec::new(),
        }
    }

    async fn open(&self, request: StreamRequest) -> Result<Box<dyn MediaStream>, MediaError> {
        Ok(Box::new(self.open_stream(request).await?))
    }
}
