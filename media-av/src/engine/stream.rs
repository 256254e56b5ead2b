//! [`AvStream`]: one media stream, its negotiated state and its two tasks.
//!
//! - The **send task** ([`send_task`](super::send_task)) paces the sending
//!   pipeline in real time (20 ms audio frames; video at the configured frame
//!   rate), encodes, packetizes and sends. It idles while the negotiated
//!   direction does not include sending (hold). Mute keeps it pacing but
//!   sends nothing.
//! - The **receive task** ([`receive_task`](super::receive_task)) reads the
//!   path, tells RTP from RTCP (rtcp-mux), checks and counts RTP, feeds the
//!   receiving pipeline and plays it out at the jitter buffer's deadlines,
//!   and runs the RTCP session (reports, round-trip time, PLI both ways, BYE
//!   on close).
//!
//! They share only atomics ([`StreamShared`]) and a `watch` channel carrying
//! the negotiated parameters: no lock is held across an await and the media
//! path takes none.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use session_core::contract::media::{
    MediaStream, NegotiatedStream, PacketPath, StreamRequest, StreamStats,
};
use session_core::description::MediaAddress;
use session_core::error::MediaError;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{Instrument, debug, info_span, warn};

use super::config::{EngineConfig, PathPolicy};
use super::counters::Counters;
use super::error::EngineError;
use super::monitor::{Monitor, StreamShared};
use super::negotiated::{ActiveParams, SendParams};
use super::receive_task::receive_task;
use super::send_task::{Sender, build_sender, send_task};
use super::udp_path::UdpPath;
use super::{StreamId, random_u32};
use crate::rtp::{Ssrc, Timestamp};

/// What the tasks are told.
#[derive(Clone, Debug)]
pub(super) enum Control {
    /// Opened, not negotiated yet.
    Idle,
    /// Negotiated.
    Active(Arc<ActiveParams>),
    /// Closing: send BYE and stop.
    Closed,
}

/// What both tasks of a stream hold.
#[derive(Clone, Debug)]
pub(super) struct TaskCtx {
    pub(super) shared: Arc<StreamShared>,
    pub(super) path: Arc<dyn PacketPath>,
    pub(super) config: Arc<EngineConfig>,
    pub(super) clock: MediaClock,
    /// A sending pipeline `apply` built (so that its errors are returned)
    /// for the send task to take. Locked briefly, never across an await.
    pub(super) prepared: Arc<Mutex<Option<(SendParams, Sender)>>>,
}

/// One media stream of the [`AvEngine`](super::AvEngine): see the module
/// docs of [`engine`](super).
#[derive(Debug)]
pub struct AvStream {
    shared: Arc<StreamShared>,
    ctx: TaskCtx,
    udp: Option<Arc<UdpPath>>,
    /// The send parameters of the last `apply`.
    last_send: Mutex<Option<SendParams>>,
    control: watch::Sender<Control>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl AvStream {
    /// Opens a stream: takes the request's path or binds UDP, starts the
    /// tasks (idle until [`MediaStream::apply`]).
    pub(crate) async fn open(
        id: StreamId,
        config: &Arc<EngineConfig>,
        monitor: &Monitor,
        request: StreamRequest,
    ) -> Result<Self, EngineError> {
        let (path, udp, local): (Arc<dyn PacketPath>, _, _) =
            match (request.packet_path, config.path_policy) {
                (Some(path), PathPolicy::PreferSignaling) => {
                    // The contract does not say which flow: session-core and
                    // the transports key paths by line, so 0 is informative.
                    (path, None, MediaAddress::Signaling { flow_id: 0 })
                }
                _ => {
                    let addr = (config.bind_ip, 0).into();
                    let udp = UdpPath::bind(addr, config.max_packet_size)
                        .await
                        .map_err(|source| EngineError::Bind { addr, source })?;
                    let udp = Arc::new(udp);
                    let bound = udp.local_addr();
                    let offered = config.advertise.as_ref().map_or(bound, |map| map(bound));
                    let local = MediaAddress::Udp(offered);
                    (udp.clone() as Arc<dyn PacketPath>, Some(udp), local)
                }
            };
        let shared = Arc::new(StreamShared {
            id,
            media_type: request.media_type,
            local: local.clone(),
            ssrc: Ssrc(random_u32()),
            opened: Instant::now(),
            counters: Counters::default(),
            muted: Default::default(),
            keyframe_requested: Default::default(),
            history: Default::default(),
            closed: Default::default(),
            negotiated: Mutex::new(None),
        });
        monitor.register(&shared);
        let span = info_span!("media_stream", stream = %id, media = %request.media_type, ssrc = shared.ssrc.0);
        debug!(parent: &span, ?local, "stream opened");
        let (control, rx) = watch::channel(Control::Idle);
        let ctx = TaskCtx {
            shared: shared.clone(),
            path,
            config: config.clone(),
            clock: MediaClock {
                epoch: shared.opened,
                origin: random_u32(),
            },
            prepared: Arc::default(),
        };
        let tasks = vec![
            tokio::spawn(receive_task(ctx.clone(), rx.clone()).instrument(span.clone())),
            tokio::spawn(send_task(ctx.clone(), rx).instrument(span)),
        ];
        Ok(Self {
            shared,
            ctx,
            udp,
            last_send: Mutex::new(None),
            control,
            tasks: Mutex::new(tasks),
        })
    }

    /// The stream's id (as the [`Monitor`] lists it).
    #[must_use]
    pub fn id(&self) -> StreamId {
        self.shared.id
    }

    fn apply_now(&self, negotiated: NegotiatedStream) -> Result<(), EngineError> {
        if self.shared.closed.load(Relaxed) || self.control.is_closed() {
            return Err(EngineError::Closed);
        }
        let params = ActiveParams::new(&negotiated)?;
        {
            let mut last = self
                .last_send
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(send) = params.send.as_ref().filter(|&s| last.as_ref() != Some(s)) {
                // Built here so that a codec or source that cannot start
                // fails the negotiation instead of a log line.
                let sender = build_sender(&self.ctx, send, Instant::now())?;
                *self
                    .ctx
                    .prepared
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some((send.clone(), sender));
            }
            if params.send.is_some() {
                last.clone_from(&params.send);
            }
        }
        match (&negotiated.remote, &self.udp) {
            (MediaAddress::Udp(addr), Some(udp)) => udp.set_remote(Some(*addr)),
            (MediaAddress::Signaling { .. }, Some(_)) => {
                return Err(EngineError::UnusableRemote(format!(
                    "{:?}",
                    negotiated.remote
                )));
            }
            (MediaAddress::None, Some(udp)) => udp.set_remote(None),
            // A signaling path goes where the transport goes.
            (_, None) => {}
        }
        debug!(stream = %self.shared.id, direction = %negotiated.direction, codec = %negotiated.codec.name, "applying");
        *self
            .shared
            .negotiated
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(negotiated);
        self.control.send_replace(Control::Active(Arc::new(params)));
        Ok(())
    }
}

impl Drop for AvStream {
    fn drop(&mut self) {
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        for t in tasks {
            t.abort();
        }
    }
}

#[async_trait]
impl MediaStream for AvStream {
    fn local_address(&self) -> MediaAddress {
        self.shared.local.clone()
    }

    async fn apply(&self, negotiated: NegotiatedStream) -> Result<(), MediaError> {
        Ok(self.apply_now(negotiated)?)
    }

    fn set_muted(&self, muted: bool) {
        self.shared.muted.store(muted, Relaxed);
    }

    fn stats(&self) -> StreamStats {
        self.shared.counters.stream_stats()
    }

    async fn close(&self) {
        self.control.send_replace(Control::Closed);
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        for mut t in tasks {
            if tokio::time::timeout(Duration::from_secs(2), &mut t)
                .await
                .is_err()
            {
                warn!(stream = %self.shared.id, "media task did not stop; aborted");
                t.abort();
            }
        }
        self.shared.closed.store(true, Relaxed);
        debug!(stream = %self.shared.id, "stream closed");
    }
}

/// The media clock of the send side: a random origin advancing with the
/// monotonic clock, so timestamps stay consistent across hold, resume and
/// codec changes.
#[derive(Clone, Copy, Debug)]
pub(super) struct MediaClock {
    pub(super) epoch: Instant,
    pub(super) origin: u32,
}

impl MediaClock {
    pub(super) fn at(&self, now: Instant, rate: u32) -> Timestamp {
        let ticks =
            now.saturating_duration_since(self.epoch).as_nanos() * u128::from(rate) / 1_000_000_000;
        Timestamp(self.origin.wrapping_add(ticks as u32))
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use bytes::Bytes;
    use session_core::description::{Codec, MediaDirection, MediaType};
    use tokio::net::UdpSocket;

    use super::*;
    use crate::engine::{AudioCodec, AvEngine, EngineConfig, VideoSettings};
    use crate::rtcp::{Compound, RtcpWriter};
    use crate::rtcp::{Demuxed, demux};
    use crate::rtp::PayloadType;
    use crate::rtp::{SeqNo, Sequencer};

    async fn open(engine: &AvEngine, media_type: MediaType) -> (AvStream, SocketAddr, UdpSocket) {
        let stream = engine
            .open_stream(StreamRequest {
                media_type,
                packet_path: None,
            })
            .await
            .unwrap();
        let MediaAddress::Udp(local) = stream.local_address() else {
            panic!("{:?}", stream.local_address())
        };
        let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        (stream, local, peer)
    }

    async fn until(mut f: impl FnMut() -> bool) {
        let start = Instant::now();
        while !f() {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "condition not met"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn offers_the_advertised_address_of_the_bound_socket() {
        let seen = Arc::new(std::sync::Mutex::new(None));
        let record = seen.clone();
        let engine = AvEngine::new(EngineConfig::new().advertise(Arc::new(
            move |bound: SocketAddr| {
                *record.lock().unwrap() = Some(bound);
                SocketAddr::from(([192, 0, 2, 10], bound.port().wrapping_add(1)))
            },
        )));
        let stream = engine
            .open_stream(StreamRequest {
                media_type: MediaType::Audio,
                packet_path: None,
            })
            .await
            .unwrap();
        let bound = seen
            .lock()
            .unwrap()
            .expect("the mapper saw the bound address");
        assert_eq!(bound.ip(), std::net::IpAddr::from([127, 0, 0, 1]));
        assert_ne!(bound.port(), 0);
        assert_eq!(
            stream.local_address(),
            MediaAddress::Udp(SocketAddr::from(([192, 0, 2, 10], bound.port() + 1)))
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn counts_and_drops_bad_payload_types_collisions_and_garbage() {
        let engine = AvEngine::new(EngineConfig::new().audio_codecs(&[AudioCodec::Pcmu]));
        let (stream, local, peer) = open(&engine, MediaType::Audio).await;
        stream
            .apply(NegotiatedStream {
                direction: MediaDirection::RECEIVE,
                codec: Codec::pcmu(),
                codecs: vec![Codec::pcmu()],
                remote: MediaAddress::Udp(peer.local_addr().unwrap()),
                rtcp_mux: true,
            })
            .await
            .unwrap();
        let own = stream.shared.ssrc;
        let mut theirs = Sequencer::new(Ssrc(own.0 ^ 1), SeqNo(10));
        let mut mine = Sequencer::new(own, SeqNo(10));
        let body = Bytes::from_static(&[0xFF; 160]);
        let pcma = PayloadType::PCMA;
        for i in 0..5u32 {
            let ts = Timestamp(160 * i);
            let good = theirs.stamp(PayloadType::PCMU, false, ts, body.clone());
            peer.send_to(&good.to_bytes(), local).await.unwrap();
            let wrong_pt = theirs.stamp(pcma, false, ts, body.clone());
            peer.send_to(&wrong_pt.to_bytes(), local).await.unwrap();
            let looped = mine.stamp(PayloadType::PCMU, false, ts, body.clone());
            peer.send_to(&looped.to_bytes(), local).await.unwrap();
        }
        peer.send_to(&[0x80, 0x00, 0x01], local).await.unwrap();
        let monitor = engine.monitor();
        until(|| {
            let c = monitor.stream(stream.id()).unwrap().counters;
            c.stats.packets_received == 5
                && c.dropped_payload_type == 5
                && c.ssrc_collisions == 5
                && c.malformed == 1
        })
        .await;
        // A receive-only stream still reports: an RR with a block about the
        // peer's source and the CNAME.
        let mut buf = [0u8; 1500];
        let (n, _) = tokio::time::timeout(Duration::from_secs(3), peer.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(demux(&buf[..n]), Demuxed::Rtcp);
        let rr = Compound::parse(&buf[..n]).unwrap().packets().next();
        let Some(crate::rtcp::RtcpPacket::ReceiverReport(rr)) = rr else {
            panic!("{rr:?}")
        };
        assert_eq!(rr.ssrc(), own);
        assert_eq!(
            rr.report_blocks().next().map(|b| b.ssrc),
            Some(Ssrc(own.0 ^ 1))
        );
        assert_eq!(stream.stats().packets_sent, 0);
        stream.close().await;
        assert!(monitor.stream(stream.id()).unwrap().closed);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_pli_makes_the_sender_emit_a_keyframe() {
        let engine = AvEngine::new(EngineConfig::new().video_settings(VideoSettings {
            width: 64,
            height: 48,
            ..VideoSettings::default()
        }));
        let (stream, local, peer) = open(&engine, MediaType::Video).await;
        stream
            .apply(NegotiatedStream {
                direction: MediaDirection::BOTH,
                codec: Codec::h264(),
                codecs: vec![Codec::h264()],
                remote: MediaAddress::Udp(peer.local_addr().unwrap()),
                rtcp_mux: true,
            })
            .await
            .unwrap();
        let monitor = engine.monitor();
        let counters = || monitor.stream(stream.id()).unwrap().counters;
        until(|| counters().frames_sent >= 3).await;
        assert_eq!(counters().keyframes_sent, 1, "only the first picture");
        let mut buf = [0u8; 100];
        let mut w = RtcpWriter::new(&mut buf);
        w.receiver_report(Ssrc(5), &[]).unwrap();
        w.sdes_cname(Ssrc(5), b"peer").unwrap();
        w.pli(Ssrc(5), stream.shared.ssrc).unwrap();
        let n = w.finish();
        peer.send_to(&buf[..n], local).await.unwrap();
        until(|| counters().keyframes_sent == 2).await;
        assert_eq!(counters().plis_received, 1);
        stream.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn apply_fails_when_the_source_cannot_start_or_the_stream_is_closed() {
        let engine = AvEngine::new(EngineConfig::new().audio_source(Arc::new(|_| {
            // 44.1 kHz does not fit PCMU's 8 kHz.
            Ok(
                Box::new(crate::source::ToneGenerator::new(440.0, 1000, 44_100, 1)?)
                    as Box<dyn crate::source::AudioSource>,
            )
        })));
        let (stream, _, peer) = open(&engine, MediaType::Audio).await;
        let negotiated = NegotiatedStream {
            direction: MediaDirection::BOTH,
            codec: Codec::pcmu(),
            codecs: vec![Codec::pcmu()],
            remote: MediaAddress::Udp(peer.local_addr().unwrap()),
            rtcp_mux: true,
        };
        let e = stream.apply(negotiated.clone()).await.unwrap_err();
        assert!(e.to_string().contains("44100"), "{e}");
        // Receiving only needs no source.
        stream
            .apply(NegotiatedStream {
                direction: MediaDirection::RECEIVE,
                ..negotiated.clone()
            })
            .await
            .unwrap();
        let e = stream
            .apply(NegotiatedStream {
                codec: Codec::new(9, "G722", 8000, 1),
                ..negotiated.clone()
            })
            .await
            .unwrap_err();
        assert!(e.to_string().contains("G722"), "{e}");
        stream.close().await;
        assert!(stream.apply(negotiated).await.is_err());
    }
}
