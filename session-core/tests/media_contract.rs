//! The media-engine contract: streams opened before offering, negotiated parameters
//! applied after each exchange, closed at the end; media over the transport's packet path.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use session_core::contract::media::{
    MediaEngine, MediaStream, NegotiatedStream, PacketPath, StreamRequest, StreamStats, recv_packet,
};
use session_core::description::{Codec, MediaAddress};
use session_core::error::MediaError;
use session_core::memory::MemoryNetwork;
use session_core::{
    Context, EndpointConfig, MediaDirection, MediaType, Platform, Reason, SessionType, Uri,
};

#[derive(Debug)]
struct StreamLog {
    media_type: MediaType,
    path: Option<Arc<dyn PacketPath>>,
    applied: Mutex<Vec<NegotiatedStream>>,
    muted: AtomicBool,
    closed: AtomicBool,
}

#[derive(Debug, Default)]
struct Recording {
    streams: Mutex<Vec<Arc<StreamLog>>>,
}

#[derive(Debug)]
struct RecordingStream(Arc<StreamLog>);

#[async_trait]
impl MediaEngine for Recording {
    fn codecs(&self, media_type: MediaType) -> Vec<Codec> {
        match media_type {
            MediaType::Audio => vec![Codec::pcmu()],
            MediaType::Video => vec![Codec::h264()],
        }
    }

    async fn open(&self, request: StreamRequest) -> Result<Box<dyn MediaStream>, MediaError> {
        let log = Arc::new(StreamLog {
            media_type: request.media_type,
            path: request.packet_path,
            applied: Mutex::new(Vec::new()),
            muted: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        });
        self.streams.lock().unwrap().push(log.clone());
        Ok(Box::new(RecordingStream(log)))
    }
}

#[async_trait]
impl MediaStream for RecordingStream {
    fn local_address(&self) -> MediaAddress {
        MediaAddress::Signaling { flow_id: 0 }
    }
    async fn apply(&self, negotiated: NegotiatedStream) -> Result<(), MediaError> {
        self.0.applied.lock().unwrap().push(negotiated);
        Ok(())
    }
    fn set_muted(&self, muted: bool) {
        self.0.muted.store(muted, Ordering::SeqCst);
    }
    fn stats(&self) -> StreamStats {
        StreamStats::default()
    }
    async fn close(&self) {
        self.0.closed.store(true, Ordering::SeqCst);
    }
}

fn last_direction(log: &StreamLog) -> MediaDirection {
    log.applied.lock().unwrap().last().unwrap().direction
}

#[tokio::test]
async fn streams_follow_negotiation_and_media_flows_over_the_transport() {
    let network = MemoryNetwork::new();
    let (alice_engine, bob_engine) = (
        Arc::new(Recording::default()),
        Arc::new(Recording::default()),
    );
    let alice_platform = Platform::builder()
        .transport(network.transport())
        .media_engine(alice_engine.clone())
        .build();
    let bob_platform = Platform::builder()
        .transport(network.transport())
        .media_engine(bob_engine.clone())
        .build();
    let alice = alice_platform
        .create_endpoint(EndpointConfig::new(Uri::parse("sip:alice@t").unwrap()))
        .unwrap();
    let bob = bob_platform
        .create_endpoint(EndpointConfig::new(Uri::parse("sip:bob@t").unwrap()))
        .unwrap();
    let mut incoming = bob.session_manager().incoming().unwrap();
    alice.enable(None).unwrap().await.unwrap();
    bob.enable(None).unwrap().await.unwrap();

    let session = alice
        .session_manager()
        .create_session(SessionType::AudioVideo, Context::new())
        .unwrap();
    let p = session
        .create_participant(Uri::parse("sip:bob@t").unwrap(), Context::new())
        .unwrap();
    let av = p.av().unwrap();
    let audio = av.create_channel(MediaType::Audio);
    av.add_channel(&audio).unwrap();
    let op = session.add_participant(&p, None).unwrap();
    let mut inc = incoming.next().await.unwrap();
    assert!(
        bob_engine.streams.lock().unwrap().is_empty(),
        "nothing opened before accepting"
    );
    let bob_session = inc.accept().await.unwrap();
    op.await.unwrap();

    let a = alice_engine.streams.lock().unwrap()[0].clone();
    let b = bob_engine.streams.lock().unwrap()[0].clone();
    assert_eq!(
        (a.media_type, b.media_type),
        (MediaType::Audio, MediaType::Audio)
    );
    assert_eq!(last_direction(&a), MediaDirection::BOTH);
    assert_eq!(last_direction(&b), MediaDirection::BOTH);
    let applied = a.applied.lock().unwrap().last().unwrap().clone();
    assert_eq!(applied.codec.name, "PCMU");
    assert_eq!(applied.remote, MediaAddress::Signaling { flow_id: 0 });

    // Media flows both ways over the memory transport's packet paths.
    let (pa, pb) = (a.path.clone().unwrap(), b.path.clone().unwrap());
    pa.send(Bytes::from_static(b"rtp from alice")).unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), recv_packet(pb.as_ref()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&got[..], b"rtp from alice");
    pb.send(Bytes::from_static(b"rtp from bob")).unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), recv_packet(pa.as_ref()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&got[..], b"rtp from bob");
    assert!(
        pa.send(Bytes::from(vec![0u8; pa.max_packet_size() + 1]))
            .is_err(),
        "oversized datagram refused"
    );

    // Hold: Alice's stream only sends, Bob's only receives. Mute reaches the stream.
    audio.set_preferred_media(MediaDirection::SEND);
    av.update_channels(None).unwrap().await.unwrap();
    assert_eq!(last_direction(&a), MediaDirection::SEND);
    assert_eq!(last_direction(&b), MediaDirection::RECEIVE);
    audio.set_muted(true);
    assert!(a.muted.load(Ordering::SeqCst));

    // Hanging up closes both streams.
    bob_session
        .terminate(Reason::NotSpecified, None)
        .unwrap()
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), async {
        while !(a.closed.load(Ordering::SeqCst) && b.closed.load(Ordering::SeqCst)) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("both streams closed");
}
