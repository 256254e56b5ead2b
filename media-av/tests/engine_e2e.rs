//! The media engine end to end: two endpoints signal over session-core's
//! memory transport, each platform with an `AvEngine` sending real RTP over
//! UDP on 127.0.0.1; what the callee decodes is measured against what the
//! caller's source produced.
//!
//! Figures are measured on a loaded 2-core machine; the bounds leave margin
//! for real-time pacing under contention (see each assertion).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use media_av::engine::{
    AudioCodec, AvEngine, AvStream, CounterSnapshot, EngineConfig, Monitor, PathPolicy,
    PipelineInfo, RtcpSettings, StreamSnapshot, VideoSettings,
};
use media_av::frame::{AudioFrame, VideoFrame};
use media_av::quality::{dominant_frequency, median, psnr, tone_block_snrs};
use media_av::sink::{AudioSink, SinkError, VideoSink};
use media_av::source::{TestPattern, ToneGenerator};
use session_core::contract::media::{
    MediaStream, NegotiatedStream, PacketPath, PacketPathError, StreamRequest,
};
use session_core::description::{Codec, MediaAddress};
use session_core::memory::MemoryNetwork;
use session_core::session::AvParticipant;
use session_core::{
    Context, Endpoint, EndpointConfig, MediaChannel, MediaDirection, MediaType, Platform, Reason,
    Session, SessionType, Uri,
};

/// Every wait is bounded by this.
const LIMIT: Duration = Duration::from_secs(10);

/// Decoded audio of every stream of one engine, in arrival order.
#[derive(Clone, Default)]
struct AudioTap(Arc<Mutex<(u32, Vec<i16>)>>);

impl AudioTap {
    fn samples(&self) -> (u32, Vec<i16>) {
        self.0.lock().unwrap().clone()
    }
}

impl AudioSink for AudioTap {
    fn write_frame(&mut self, frame: &AudioFrame) -> Result<(), SinkError> {
        let mut g = self.0.lock().unwrap();
        g.0 = frame.sample_rate();
        g.1.extend_from_slice(frame.samples());
        Ok(())
    }
}

/// Decoded pictures of one engine.
#[derive(Clone, Default)]
struct VideoTap(Arc<Mutex<Vec<VideoFrame>>>);

impl VideoSink for VideoTap {
    fn write_frame(&mut self, frame: &VideoFrame) -> Result<(), SinkError> {
        self.0.lock().unwrap().push(frame.clone());
        Ok(())
    }
}

struct Side {
    _platform: Platform,
    endpoint: Endpoint,
    monitor: Monitor,
    audio: AudioTap,
    video: VideoTap,
}

/// `config` with short RTCP intervals and sinks that record into taps.
fn tapped(config: EngineConfig) -> (EngineConfig, AudioTap, VideoTap) {
    let audio = AudioTap::default();
    let video = VideoTap::default();
    let (a, v) = (audio.clone(), video.clone());
    let config = config
        .rtcp_settings(RtcpSettings {
            interval: Duration::from_millis(400),
            ..RtcpSettings::default()
        })
        .audio_sink(Arc::new(move |_: &PipelineInfo| {
            Box::new(a.clone()) as Box<dyn AudioSink>
        }))
        .video_sink(Arc::new(move |_: &PipelineInfo| {
            Box::new(v.clone()) as Box<dyn VideoSink>
        }));
    (config, audio, video)
}

fn side(network: &MemoryNetwork, user: &str, config: EngineConfig) -> Side {
    let (config, audio, video) = tapped(config.path_policy(PathPolicy::UdpOnly));
    let engine = Arc::new(AvEngine::new(config));
    let monitor = engine.monitor();
    let platform = Platform::builder()
        .transport(network.transport())
        .media_engine(engine)
        .build();
    let endpoint = platform
        .create_endpoint(EndpointConfig::new(
            Uri::parse(&format!("sip:{user}@t")).unwrap(),
        ))
        .unwrap();
    Side {
        _platform: platform,
        endpoint,
        monitor,
        audio,
        video,
    }
}

async fn bounded<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, f)
        .await
        .unwrap_or_else(|_| panic!("{what} timed out"))
}

struct Call {
    alice: Side,
    bob: Side,
    av: AvParticipant,
    channel: MediaChannel,
    session: Session,
    _bob_session: Session,
}

/// Alice calls Bob with one channel of `media_type`; both engines use `config`.
async fn call(media_type: MediaType, config: impl Fn() -> EngineConfig) -> Call {
    let network = MemoryNetwork::new();
    let alice = side(&network, "alice", config());
    let bob = side(&network, "bob", config());
    let mut incoming = bob.endpoint.session_manager().incoming().unwrap();
    bounded("enable", alice.endpoint.enable(None).unwrap())
        .await
        .unwrap();
    bounded("enable", bob.endpoint.enable(None).unwrap())
        .await
        .unwrap();
    let session = alice
        .endpoint
        .session_manager()
        .create_session(SessionType::AudioVideo, Context::new())
        .unwrap();
    let p = session
        .create_participant(Uri::parse("sip:bob@t").unwrap(), Context::new())
        .unwrap();
    let av = p.av().unwrap();
    let channel = av.create_channel(media_type);
    av.add_channel(&channel).unwrap();
    let op = session.add_participant(&p, None).unwrap();
    let mut inc = bounded("incoming", incoming.next()).await.unwrap();
    let bob_session = bounded("accept", inc.accept()).await.unwrap();
    bounded("answer", op).await.unwrap();
    Call {
        alice,
        bob,
        av,
        channel,
        session,
        _bob_session: bob_session,
    }
}

impl Call {
    async fn prefer(&self, direction: MediaDirection) {
        self.channel.set_preferred_media(direction);
        bounded("re-offer", self.av.update_channels(None).unwrap())
            .await
            .unwrap();
    }

    async fn hang_up(self) {
        bounded(
            "hang up",
            self.session.terminate(Reason::NotSpecified, None).unwrap(),
        )
        .await
        .unwrap();
    }
}

fn only(monitor: &Monitor, media_type: MediaType) -> StreamSnapshot {
    let mut s = monitor.streams_of(media_type);
    assert_eq!(s.len(), 1, "{s:?}");
    s.remove(0)
}

/// Waits (bounded) until `f` holds.
async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < LIMIT, "{what}: not within {LIMIT:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn block_snrs(received: &[i16], rate: u32) -> Vec<f64> {
    tone_block_snrs(
        received,
        &ToneGenerator::new(1000.0, 8000, rate, 1).unwrap(),
    )
}

/// Checks the received tone; returns (frequency, median SNR, share of blocks
/// above `min_snr`).
fn check_tone(tap: &AudioTap, expected_rate: u32, min_snr: f64) -> (f64, f64, f64) {
    let (rate, samples) = tap.samples();
    assert_eq!(rate, expected_rate);
    // Skip the first 300 ms (jitter buffer start, codec warm-up).
    let skip = rate as usize * 3 / 10;
    assert!(
        samples.len() > skip + rate as usize,
        "only {} samples",
        samples.len()
    );
    let steady = &samples[skip..];
    let f = dominant_frequency(&steady[..rate as usize], rate).unwrap();
    let snrs = block_snrs(steady, rate);
    let good = snrs.iter().filter(|&&s| s >= min_snr).count() as f64 / snrs.len() as f64;
    (f, median(&snrs), good)
}

fn pcmu_only() -> EngineConfig {
    EngineConfig::new().audio_codecs(&[AudioCodec::Pcmu])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g711_call_carries_the_tone_and_follows_hold_mute_and_resume() {
    let call = call(MediaType::Audio, pcmu_only).await;
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;

    let a = only(&call.alice.monitor, MediaType::Audio);
    let b = only(&call.bob.monitor, MediaType::Audio);
    let codec = &a.negotiated.as_ref().unwrap().codec;
    assert_eq!(codec.name, "PCMU");
    let elapsed = started.elapsed().as_secs_f64();
    let (sent, received) = (
        a.counters.stats.packets_sent,
        b.counters.stats.packets_received,
    );
    println!(
        "PCMU after {elapsed:.2} s: alice sent {sent}, bob received {received}, lost {}, jitter {} ticks, rtt {:?}",
        b.counters.stats.packets_lost, b.counters.stats.jitter, a.counters.round_trip_time
    );
    // 50 packets/s; the call was set up before `started`.
    assert!(
        sent as f64 >= 40.0 * elapsed,
        "sent {sent} in {elapsed:.2} s"
    );
    // In flight: at most a few packets (localhost UDP never drops these).
    assert!(
        received <= sent && received + 10 >= sent,
        "{received} of {sent}"
    );
    // Loopback UDP loses a datagram only when the receiving socket's buffer
    // overflows, which a 2-core machine running the whole test suite has shown
    // rarely (one packet in a run): allow 1%, far below what concealment hides.
    assert!(
        b.counters.stats.packets_lost <= (sent / 100).max(1),
        "lost {} of {sent}",
        b.counters.stats.packets_lost
    );
    assert_eq!(
        b.counters.dropped_payload_type + b.counters.ssrc_collisions,
        0
    );
    let rtt = a.counters.round_trip_time.expect("RTT from SR/RR");
    assert!(rtt < Duration::from_millis(200), "{rtt:?}");

    let (f, snr, good) = check_tone(&call.bob.audio, 8000, 30.0);
    println!(
        "PCMU tone: {f:.2} Hz, median block SNR {snr:.1} dB, {:.0} % of blocks >= 30 dB",
        good * 100.0
    );
    assert!((f - 1000.0).abs() <= 10.0, "{f} Hz");
    assert!(snr >= 33.0, "median SNR {snr:.1} dB");
    assert!(good >= 0.8, "{good}");

    // Hold as RFC 3264 §8.4 does it: Alice goes send-only, so Bob stops
    // sending and Alice's receive counters stop; Alice's audio still flows.
    call.prefer(MediaDirection::SEND).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let a1 = call.channel.stats();
    let b1 = only(&call.bob.monitor, MediaType::Audio).counters.stats;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let a2 = call.channel.stats();
    let b2 = only(&call.bob.monitor, MediaType::Audio).counters.stats;
    println!(
        "send-only hold: alice rx {} -> {}, bob tx {} -> {}, bob rx {} -> {}",
        a1.packets_received,
        a2.packets_received,
        b1.packets_sent,
        b2.packets_sent,
        b1.packets_received,
        b2.packets_received
    );
    assert_eq!(
        a2.packets_received, a1.packets_received,
        "Alice receives nothing on hold"
    );
    assert_eq!(
        b2.packets_sent, b1.packets_sent,
        "Bob sends nothing to a send-only peer"
    );
    assert!(
        b2.packets_received >= b1.packets_received + 20,
        "Alice still sends"
    );

    // Alice receive-only: now Bob receives nothing new.
    call.prefer(MediaDirection::RECEIVE).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let b3 = only(&call.bob.monitor, MediaType::Audio).counters.stats;
    let a3 = call.channel.stats();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let b4 = only(&call.bob.monitor, MediaType::Audio).counters.stats;
    let a4 = call.channel.stats();
    assert_eq!(
        b4.packets_received, b3.packets_received,
        "Bob receives nothing"
    );
    assert_eq!(a4.packets_sent, a3.packets_sent, "Alice sends nothing");
    assert!(
        a4.packets_received >= a3.packets_received + 20,
        "Bob sends again"
    );

    // Resume; then mute: the stream stays, nothing is sent.
    call.prefer(MediaDirection::BOTH).await;
    let resumed_at = b4.packets_received;
    until("media flows again", || {
        only(&call.bob.monitor, MediaType::Audio)
            .counters
            .stats
            .packets_received
            >= resumed_at + 25
    })
    .await;
    call.channel.set_muted(true);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let m1 = call.channel.stats().packets_sent;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(call.channel.stats().packets_sent, m1, "muted: nothing sent");
    call.channel.set_muted(false);
    until("unmuted", || call.channel.stats().packets_sent >= m1 + 10).await;
    let b5 = only(&call.bob.monitor, MediaType::Audio);
    let a5 = only(&call.alice.monitor, MediaType::Audio);
    // At most one packet lost across hold, resume, mute and unmute. Under CPU load
    // (3 busy loops on 2 cores) 1 run in 6 loses exactly one packet here, concealed by
    // PLC, with no send error at alice; the cause is not found yet (see the closing
    // note of 2026-11-26). More than one is a failure.
    assert!(
        b5.counters.stats.packets_lost <= 1,
        "bob {:?}\nalice {:?}",
        b5.counters,
        a5.counters
    );
    assert_eq!(a5.counters.send_errors, 0, "alice {:?}", a5.counters);
    // The tail of what Bob heard after resuming is still the tone.
    let (_, samples) = call.bob.audio.samples();
    let tail = &samples[samples.len() - 2400..];
    let f = dominant_frequency(tail, 8000).unwrap();
    assert!((f - 1000.0).abs() <= 10.0, "after resume: {f} Hz");
    call.hang_up().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opus_call_carries_the_tone() {
    let call = call(MediaType::Audio, EngineConfig::new).await;
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let a = only(&call.alice.monitor, MediaType::Audio);
    let b = only(&call.bob.monitor, MediaType::Audio);
    assert_eq!(a.negotiated.as_ref().unwrap().codec.name, "opus");
    let elapsed = started.elapsed().as_secs_f64();
    let (sent, received) = (
        a.counters.stats.packets_sent,
        b.counters.stats.packets_received,
    );
    assert!(
        sent as f64 >= 40.0 * elapsed,
        "sent {sent} in {elapsed:.2} s"
    );
    assert!(
        received <= sent && received + 10 >= sent,
        "{received} of {sent}"
    );
    let (f, snr, good) = check_tone(&call.bob.audio, 48_000, 15.0);
    println!(
        "Opus: sent {sent}, received {received}, {f:.2} Hz, median block SNR {snr:.1} dB, {:.0} % of blocks >= 15 dB",
        good * 100.0
    );
    assert!((f - 1000.0).abs() <= 10.0, "{f} Hz");
    assert!(snr >= 15.0, "median SNR {snr:.1} dB");
    call.hang_up().await;
}

fn frame_index(picture: &VideoFrame) -> u64 {
    TestPattern::frame_index(picture).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_call_delivers_pictures_that_match_the_pattern() {
    let (w, h, fps) = (176, 144, 15);
    let config = move || {
        EngineConfig::new()
            .video_settings(VideoSettings {
                width: w,
                height: h,
                fps,
                ..VideoSettings::default()
            })
            // Small packets: keyframes travel as FU-A fragments.
            .max_packet_size(400)
    };
    let call = call(MediaType::Video, config).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // Alice stops sending; what was sent arrives.
    call.prefer(MediaDirection::RECEIVE).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let a = only(&call.alice.monitor, MediaType::Video);
    let b = only(&call.bob.monitor, MediaType::Video);
    let pictures = call.bob.video.0.lock().unwrap().clone();
    let pattern = TestPattern::new(w, h, fps).unwrap();
    let psnrs: Vec<f64> = pictures
        .iter()
        .map(|p| psnr(p, &pattern.frame(frame_index(p)).unwrap()).unwrap())
        .collect();
    let sent = a.counters.frames_sent;
    let mean = psnrs.iter().sum::<f64>() / psnrs.len().max(1) as f64;
    let min = psnrs.iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "H.264 {w}x{h}@{fps}: {} of {sent} pictures decoded, PSNR mean {mean:.1} dB, min {min:.1} dB, keyframes {}, PLIs {}/{}, packets {}/{}",
        pictures.len(),
        a.counters.keyframes_sent,
        b.counters.plis_sent,
        a.counters.plis_received,
        a.counters.stats.packets_sent,
        b.counters.stats.packets_received,
    );
    assert!(sent >= 20, "{sent} pictures sent");
    assert!(
        a.counters.stats.packets_sent > sent,
        "some pictures were fragmented"
    );
    assert_eq!(b.counters.stats.packets_lost, 0);
    assert!(
        pictures.len() as f64 >= 0.95 * sent as f64,
        "{} of {sent}",
        pictures.len()
    );
    assert!(min >= 30.0, "PSNR min {min:.1} dB");
    call.hang_up().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_added_and_removed_mid_call_opens_and_closes_its_streams() {
    let config = || {
        pcmu_only().video_settings(VideoSettings {
            width: 96,
            height: 64,
            fps: 15,
            ..VideoSettings::default()
        })
    };
    let call = call(MediaType::Audio, config).await;
    let video = call.av.create_channel(MediaType::Video);
    call.av.add_channel(&video).unwrap();
    bounded("add video", call.av.update_channels(None).unwrap())
        .await
        .unwrap();
    assert_eq!(video.negotiated_media(), MediaDirection::BOTH);
    until("pictures decoded both ways", || {
        let decoded = |m: &Monitor| {
            m.streams_of(MediaType::Video)
                .first()
                .map_or(0, |s| s.counters.frames_decoded)
        };
        decoded(&call.alice.monitor) >= 8 && decoded(&call.bob.monitor) >= 8
    })
    .await;

    call.av.remove_channel(&video).unwrap();
    bounded("remove video", call.av.update_channels(None).unwrap())
        .await
        .unwrap();
    until("video streams closed", || {
        [&call.alice.monitor, &call.bob.monitor]
            .iter()
            .all(|m| m.streams_of(MediaType::Video).iter().all(|s| s.closed))
    })
    .await;
    let before = only(&call.bob.monitor, MediaType::Audio)
        .counters
        .stats
        .packets_received;
    until("audio still flows", || {
        only(&call.bob.monitor, MediaType::Audio)
            .counters
            .stats
            .packets_received
            >= before + 10
    })
    .await;
    call.hang_up().await;
}

/// A datagram path between two in-process ends that drops every
/// `drop_every`-th datagram it is given (RTP and RTCP alike) and, when
/// `reorder_every` is set, holds every `reorder_every`-th one back until the
/// next has gone (adjacent packets swapped).
#[derive(Debug)]
struct LossyPath {
    tx: tokio::sync::mpsc::Sender<bytes::Bytes>,
    rx: Mutex<tokio::sync::mpsc::Receiver<bytes::Bytes>>,
    drop_every: u64,
    reorder_every: u64,
    held: Mutex<Option<bytes::Bytes>>,
    sent: std::sync::atomic::AtomicU64,
}

impl LossyPath {
    fn pair(drop_every: u64) -> (Arc<Self>, Arc<Self>) {
        Self::pair_reordering(drop_every, 0)
    }

    fn pair_reordering(drop_every: u64, reorder_every: u64) -> (Arc<Self>, Arc<Self>) {
        let (tx_ab, rx_ab) = tokio::sync::mpsc::channel(1024);
        let (tx_ba, rx_ba) = tokio::sync::mpsc::channel(1024);
        let end = |tx, rx| {
            Arc::new(Self {
                tx,
                rx: Mutex::new(rx),
                drop_every,
                reorder_every,
                held: Mutex::new(None),
                sent: Default::default(),
            })
        };
        (end(tx_ab, rx_ba), end(tx_ba, rx_ab))
    }
}

impl PacketPath for LossyPath {
    fn send(&self, packet: bytes::Bytes) -> Result<(), PacketPathError> {
        let n = self.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if n % self.drop_every == self.drop_every - 1 {
            return Ok(());
        }
        let mut held = self.held.lock().unwrap();
        if self.reorder_every > 0 && n % self.reorder_every == 0 && held.is_none() {
            *held = Some(packet);
            return Ok(());
        }
        let _ = self.tx.try_send(packet);
        if let Some(late) = held.take() {
            let _ = self.tx.try_send(late);
        }
        Ok(())
    }

    fn poll_recv(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<bytes::Bytes, PacketPathError>> {
        self.rx
            .lock()
            .unwrap()
            .poll_recv(cx)
            .map(|p| p.ok_or(PacketPathError::Closed))
    }

    fn max_packet_size(&self) -> usize {
        1200
    }
}

/// Two engines, one stream each, over a path: returns the streams and taps.
async fn direct_pair(
    media_type: MediaType,
    codec: Codec,
    config: impl Fn() -> EngineConfig,
    path: (Arc<LossyPath>, Arc<LossyPath>),
) -> [(AvEngine, AvStream, AudioTap, VideoTap); 2] {
    let mut out = Vec::new();
    for p in [path.0, path.1] {
        let (config, audio, video) = tapped(config());
        let engine = AvEngine::new(config);
        let stream = engine
            .open_stream(StreamRequest {
                media_type,
                packet_path: Some(p),
            })
            .await
            .unwrap();
        assert_eq!(
            stream.local_address(),
            MediaAddress::Signaling { flow_id: 0 }
        );
        out.push((engine, stream, audio, video));
    }
    for (_, stream, _, _) in &out {
        stream
            .apply(NegotiatedStream {
                direction: MediaDirection::BOTH,
                codec: codec.clone(),
                codecs: vec![codec.clone()],
                remote: MediaAddress::Signaling { flow_id: 0 },
                rtcp_mux: true,
            })
            .await
            .unwrap();
    }
    let Ok(pair) = out.try_into() else {
        unreachable!("two ends")
    };
    pair
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opus_conceals_loss_on_a_lossy_path() {
    // Every 13th datagram lost (7.7 %).
    let [(_, alice, _, _), (bob_engine, bob, bob_audio, _)] = direct_pair(
        MediaType::Audio,
        Codec::opus(),
        EngineConfig::new,
        LossyPath::pair(13),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    alice.close().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let b = bob_engine.monitor().stream(bob.id()).unwrap().counters;
    let sent = alice.stats().packets_sent;
    println!(
        "Opus over 1/13 loss: sent {sent}, received {}, lost {}, concealed {}",
        b.stats.packets_received, b.stats.packets_lost, b.concealed
    );
    // RTCP shares the path and the loss pattern, so RTP loss is about 1/13.
    assert!(b.stats.packets_lost >= sent / 20, "{b:?}");
    // A loss after the last packet received cannot be seen.
    let accounted = b.stats.packets_received + b.stats.packets_lost;
    assert!(accounted <= sent && accounted + 2 >= sent, "{b:?}");
    // Lost packets are concealed (the very last ones may not have been due).
    assert!(b.concealed + 2 >= b.stats.packets_lost, "{b:?}");
    let (rate, samples) = bob_audio.samples();
    assert_eq!(rate, 48_000);
    let f = dominant_frequency(&samples[14_400..62_400], rate).unwrap();
    assert!((f - 1000.0).abs() <= 10.0, "{f} Hz");
    bob.close().await;
}

/// What a 3-second 128x96 H.264 call over a path losing every 23rd datagram
/// delivered: the sender's and receiver's counters, pictures shown, worst PSNR.
struct LossyVideo {
    a: CounterSnapshot,
    b: CounterSnapshot,
    shown: usize,
    worst_psnr: f64,
}

#[allow(clippy::print_stdout, reason = "the figures go to the test's output")]
async fn lossy_video_call(nack: bool) -> LossyVideo {
    let (w, h, fps) = (128, 96, 15);
    let config = move || {
        EngineConfig::new()
            .video_settings(VideoSettings {
                width: w,
                height: h,
                fps,
                nack,
                ..VideoSettings::default()
            })
            .max_packet_size(300)
    };
    let [(alice_engine, alice, _, _), (bob_engine, bob, _, bob_video)] =
        direct_pair(MediaType::Video, Codec::h264(), config, LossyPath::pair(23)).await;
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let a = alice_engine.monitor().stream(alice.id()).unwrap().counters;
    let b = bob_engine.monitor().stream(bob.id()).unwrap().counters;
    let pictures = bob_video.0.lock().unwrap().clone();
    let pattern = TestPattern::new(w, h, fps).unwrap();
    let worst_psnr = pictures
        .iter()
        .map(|p| psnr(p, &pattern.frame(frame_index(p)).unwrap()).unwrap())
        .fold(f64::INFINITY, f64::min);
    alice.close().await;
    bob.close().await;
    println!(
        "H.264 over 1/23 loss, NACK {nack}: {} of {} pictures shown, PSNR min {worst_psnr:.1} dB, lost {}, NACKs sent {}, asked {}, resent {}, PLIs sent {} received {}, keyframes {}",
        pictures.len(),
        a.frames_sent,
        b.stats.packets_lost,
        b.nacks_sent,
        a.nacked_received,
        a.retransmitted,
        b.plis_sent,
        a.plis_received,
        a.keyframes_sent,
    );
    LossyVideo {
        a,
        b,
        shown: pictures.len(),
        worst_psnr,
    }
}

/// NACKs off: every loss breaks its frame, and only a keyframe repairs it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_recovers_from_loss_with_pli_and_never_shows_a_broken_picture() {
    let LossyVideo {
        a,
        b,
        shown,
        worst_psnr,
    } = lossy_video_call(false).await;
    assert!(b.stats.packets_lost > 0);
    assert_eq!(b.nacks_sent, 0);
    assert!(b.plis_sent >= 1 && a.plis_received >= 1, "{a:?} {b:?}");
    assert!(a.keyframes_sent >= 2, "a PLI brought a keyframe");
    assert!(shown as f64 >= 0.3 * a.frames_sent as f64);
    assert!(
        worst_psnr >= 30.0,
        "a broken picture was shown: {worst_psnr:.1} dB"
    );
}

/// The same loss with NACKs (the default): the receiver asks for each missing packet,
/// the sender resends it from its history, and nearly every picture is shown, where
/// keyframe requests alone show far fewer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_loss_is_repaired_by_nack_and_retransmission() {
    let LossyVideo {
        a,
        b,
        shown,
        worst_psnr,
    } = lossy_video_call(true).await;
    assert!(b.nacks_sent >= 1 && a.nacked_received >= 1, "{a:?} {b:?}");
    assert!(a.retransmitted >= 1, "{a:?}");
    assert!(
        shown as f64 >= 0.9 * a.frames_sent as f64,
        "{shown} of {} pictures",
        a.frames_sent
    );
    assert!(
        worst_psnr >= 30.0,
        "a broken picture was shown: {worst_psnr:.1} dB"
    );
}

/// 5 % loss and reordering (every 7th datagram swapped with the next): audio keeps its
/// tone, every loss is concealed and reordered packets are not counted as lost; video
/// keeps showing correct pictures, asking for the missing packets or keyframes after
/// losses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_survives_loss_and_reordering() {
    let [(_, alice, _, _), (bob_engine, bob, bob_audio, _)] = direct_pair(
        MediaType::Audio,
        Codec::opus(),
        EngineConfig::new,
        LossyPath::pair_reordering(20, 7),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    alice.close().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let b = bob_engine.monitor().stream(bob.id()).unwrap().counters;
    let sent = alice.stats().packets_sent;
    println!(
        "Opus over 5 % loss + reordering: sent {sent}, received {}, lost {}, concealed {}",
        b.stats.packets_received, b.stats.packets_lost, b.concealed
    );
    // About 1 in 20 lost (RTCP shares the pattern); reordering adds no loss.
    assert!(b.stats.packets_lost >= 1, "{b:?}");
    assert!(
        b.stats.packets_lost <= sent / 10,
        "reordered packets counted lost: {b:?}"
    );
    assert!(b.concealed + 2 >= b.stats.packets_lost, "{b:?}");
    let (rate, samples) = bob_audio.samples();
    let f = dominant_frequency(&samples[14_400..62_400], rate).unwrap();
    assert!((f - 1000.0).abs() <= 10.0, "{f} Hz");
    bob.close().await;

    let (w, h, fps) = (128, 96, 15);
    let config = move || {
        EngineConfig::new()
            .video_settings(VideoSettings {
                width: w,
                height: h,
                fps,
                ..VideoSettings::default()
            })
            .max_packet_size(300)
    };
    let [(_, alice, _, _), (bob_engine, bob, _, bob_video)] = direct_pair(
        MediaType::Video,
        Codec::h264(),
        config,
        LossyPath::pair_reordering(20, 7),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let b = bob_engine.monitor().stream(bob.id()).unwrap().counters;
    let pictures = bob_video.0.lock().unwrap().clone();
    let pattern = TestPattern::new(w, h, fps).unwrap();
    let worst = pictures
        .iter()
        .map(|p| psnr(p, &pattern.frame(frame_index(p)).unwrap()).unwrap())
        .fold(f64::INFINITY, f64::min);
    println!(
        "H.264 over 5 % loss + reordering: {} pictures, worst PSNR {worst:.1} dB, {} NACKs, {} PLIs",
        pictures.len(),
        b.nacks_sent,
        b.plis_sent
    );
    assert!(
        pictures.len() >= 10,
        "pictures kept flowing: {}",
        pictures.len()
    );
    assert!(worst >= 30.0, "a broken picture was shown: {worst} dB");
    assert!(
        b.nacks_sent + b.plis_sent >= 1,
        "losses ask for retransmissions or keyframes: {b:?}"
    );
    alice.close().await;
    bob.close().await;
}
