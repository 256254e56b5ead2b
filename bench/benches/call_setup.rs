//! Call setup to first media: the time from `Session::add_participant` at the caller
//! to the first media packet the caller receives from the callee, for SIP over UDP,
//! SIP over TLS and QUIC, through loopback relays that add [`DELAY`] each way
//! (`bench::relay`). Everything crosses a relay: signaling (UDP datagrams, TCP bytes
//! with the TCP handshake charged, QUIC datagrams) and, for SIP, RTP (each side's media
//! engine offers a relay in front of its socket, `EngineConfig::advertise`). Under
//! QUIC, media rides the connection's datagrams, through the same relay.
//!
//! Each sample is one call between two fresh stacks (no connection, no TLS session
//! to resume), set up untimed. Both sides run the same application code: session-core
//! sessions, the callee accepting every call as it arrives, audio only, media-av's
//! engine with its default codecs and tone. `warm/…` functions place a second call on
//! the pair after a first one, so the connection (TCP+TLS or QUIC) already stands.
//! `resumed/quic` places the second call after the first connection closed (linger):
//! the new connection resumes TLS with the first one's ticket and carries the INVITE as
//! 0-RTT data; the callee answers in 0.5-RTT data.
//!
//! One-way delays counted from the protocols (d = [`DELAY`], first media = the
//! callee's first RTP packet, sent as it answers):
//! * SIP over UDP: INVITE (d), 200 and RTP back (d) = 2 d.
//! * SIP over TLS: TCP handshake (2 d), TLS 1.3 handshake (2 d), INVITE (d), RTP back
//!   (d) = 6 d.
//! * QUIC: QUIC+TLS handshake (2 d, the client's Finished travels with the INVITE
//!   stream), INVITE (d), datagram back (d) = 4 d.
//! * QUIC resumed with 0-RTT: INVITE in the first flight (d), answer and datagram back
//!   (d) = 2 d.
//! * Warm (connection up): SIP over TLS and QUIC alike, INVITE (d) and media back (d)
//!   = 2 d.
//!
//! Under `cargo bench`, medians in milliseconds and round trips (2 d) are printed on
//! stderr after each function.

#![allow(clippy::unwrap_used, clippy::print_stderr)] // a benchmark: failures abort, figures go to stderr

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bench::relay::{TcpRelay, UdpRelay};
use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use media_av::engine::{AvEngine, EngineConfig, Monitor, StreamId};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use session_core::{
    Context, Endpoint, EndpointConfig, MediaType, Platform, Reason, SessionType, Uri,
};
use tokio::runtime::Runtime;
use transport_quic::{LocalCertificate, QuicConfig, QuicTransport};
use transport_sip::transport::TlsConfig;
use transport_sip::ua::{SipConfig, SipTransport};

/// One-way delay each relay adds.
const DELAY: Duration = Duration::from_millis(25);
/// How long a QUIC connection without sessions stays (short, so `resumed/quic` gets a
/// new connection soon; long enough for `warm/quic` to reuse it).
const LINGER: Duration = Duration::from_millis(300);
/// Longest wait for any step.
const STEP: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    SipUdp,
    SipTls,
    Quic,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::SipUdp => "sip_udp",
            Kind::SipTls => "sip_tls",
            Kind::Quic => "quic",
        }
    }
}

/// A test CA and one leaf for 127.0.0.1 it signed (both sides use the leaf).
struct Pki {
    ca: CertificateDer<'static>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Pki {
    fn new() -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "bench CA");
        let ca = params.self_signed(&ca_key).unwrap();
        let key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .unwrap()
            .signed_by(&key, &ca, &ca_key)
            .unwrap();
        Pki {
            ca: ca.der().clone(),
            chain: vec![leaf.der().clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        }
    }
}

/// Relays kept alive for a pair's lifetime.
#[derive(Default)]
struct Relays {
    udp: Mutex<Vec<UdpRelay>>,
    tcp: Mutex<Vec<TcpRelay>>,
}

/// A media engine whose UDP streams are offered behind a delaying relay.
fn engine(relays: &Arc<Relays>) -> (Arc<AvEngine>, Monitor) {
    let relays = relays.clone();
    let engine = AvEngine::new(EngineConfig::new().advertise(Arc::new(
        move |bound: SocketAddr| {
            let relay = UdpRelay::start(bound, DELAY).unwrap();
            let front = relay.front();
            relays.udp.lock().unwrap().push(relay);
            front
        },
    )));
    let monitor = engine.monitor();
    (Arc::new(engine), monitor)
}

/// Caller and callee on fresh stacks; the caller dials the callee through a relay.
struct Pair {
    alice: Endpoint,
    alice_media: Monitor,
    /// The callee as the caller dials it: the relay's address.
    bob_via_relay: Uri,
    _bob: Endpoint,
    /// The caller's QUIC transport (for its 0-RTT count).
    alice_quic: Option<QuicTransport>,
    _platforms: Vec<Platform>,
    _relays: Arc<Relays>,
}

async fn sip_platform(kind: Kind, pki: &Pki, engine: Arc<AvEngine>) -> (Platform, SocketAddr) {
    let bind: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let config = match kind {
        Kind::SipTls => {
            let tls = TlsConfig::with_roots([pki.ca.clone()])
                .and_then(|t| t.with_identity(pki.chain.clone(), pki.key.clone_key()))
                .unwrap();
            SipConfig::tls(bind, tls)
        }
        _ => SipConfig::udp(bind),
    };
    let sip = SipTransport::bind(config).await.unwrap();
    let addr = sip.local_addr();
    let platform = Platform::builder()
        .transport(sip)
        .media_engine(engine)
        .build();
    (platform, addr)
}

fn quic_platform(pki: &Pki, engine: Arc<AvEngine>) -> (Platform, SocketAddr, QuicTransport) {
    let config = QuicConfig::new(LocalCertificate::new(
        pki.chain.clone(),
        pki.key.clone_key(),
    ))
    .bind("127.0.0.1:0".parse().unwrap())
    .root(pki.ca.clone())
    .linger(LINGER);
    let quic = QuicTransport::new(config).unwrap();
    let addr = quic.local_addr().unwrap();
    let platform = Platform::builder()
        .transport(quic.clone())
        .media_engine(engine)
        .build();
    (platform, addr, quic)
}

impl Pair {
    async fn new(kind: Kind, pki: &Pki) -> Pair {
        let relays = Arc::new(Relays::default());
        let (alice_engine, alice_media) = engine(&relays);
        let (bob_engine, _) = engine(&relays);
        let mut alice_quic = None;
        let ((alice_platform, alice_addr), (bob_platform, bob_addr)) = match kind {
            Kind::SipUdp | Kind::SipTls => (
                sip_platform(kind, pki, alice_engine).await,
                sip_platform(kind, pki, bob_engine).await,
            ),
            Kind::Quic => {
                let (alice_platform, alice_addr, quic) = quic_platform(pki, alice_engine);
                let (bob_platform, bob_addr, _) = quic_platform(pki, bob_engine);
                alice_quic = Some(quic);
                ((alice_platform, alice_addr), (bob_platform, bob_addr))
            }
        };
        let front = match kind {
            Kind::SipTls => {
                let relay = TcpRelay::start(bob_addr, DELAY).await.unwrap();
                let front = relay.front();
                relays.tcp.lock().unwrap().push(relay);
                front
            }
            Kind::SipUdp | Kind::Quic => {
                let relay = UdpRelay::start(bob_addr, DELAY).unwrap();
                let front = relay.front();
                relays.udp.lock().unwrap().push(relay);
                front
            }
        };
        let scheme = if kind == Kind::Quic { "quic" } else { "sip" };
        let uri = |user: &str, addr: SocketAddr| Uri::parse(&format!("{scheme}:{user}@{addr}"));
        let alice = alice_platform
            .create_endpoint(EndpointConfig::new(uri("alice", alice_addr).unwrap()))
            .unwrap();
        let bob = bob_platform
            .create_endpoint(EndpointConfig::new(uri("bob", bob_addr).unwrap()))
            .unwrap();
        let mut incoming = bob.session_manager().incoming().unwrap();
        alice.enable(None).unwrap().await.unwrap();
        bob.enable(None).unwrap().await.unwrap();
        // The callee answers every call at once, as an auto-answering phone, and keeps
        // the answered sessions (dropping a session hangs it up).
        tokio::spawn(async move {
            let answered = Arc::new(Mutex::new(Vec::new()));
            while let Some(mut call) = incoming.next().await {
                let answered = answered.clone();
                tokio::spawn(async move {
                    if let Ok(session) = call.accept().await {
                        answered.lock().unwrap().push(session);
                    }
                });
            }
        });
        Pair {
            alice,
            alice_media,
            bob_via_relay: uri("bob", front).unwrap(),
            _bob: bob,
            alice_quic,
            _platforms: vec![alice_platform, bob_platform],
            _relays: relays,
        }
    }

    /// Outgoing connections of the caller whose 0-RTT data the callee took.
    fn quic_zero_rtt(&self) -> u64 {
        self.alice_quic
            .as_ref()
            .map_or(0, |q| q.stats().zero_rtt_accepted)
    }

    /// The caller's audio streams now open.
    fn streams(&self) -> Vec<StreamId> {
        self.alice_media
            .streams_of(MediaType::Audio)
            .iter()
            .map(|s| s.id)
            .collect()
    }

    /// Audio packets received on the caller's streams other than `old` (those of an
    /// earlier call, which may still be closing).
    fn received(&self, old: &[StreamId]) -> u64 {
        self.alice_media
            .streams_of(MediaType::Audio)
            .iter()
            .filter(|s| !old.contains(&s.id))
            .map(|s| s.counters.stats.packets_received)
            .sum()
    }

    /// One call: the time to the first media packet received; then hangs up.
    async fn call(&self) -> Duration {
        let old = self.streams();
        let session = self
            .alice
            .session_manager()
            .create_session(SessionType::AudioVideo, Context::new())
            .unwrap();
        let bob = session
            .create_participant(self.bob_via_relay.clone(), Context::new())
            .unwrap();
        let av = bob.av().unwrap();
        av.add_channel(&av.create_channel(MediaType::Audio))
            .unwrap();
        let started = Instant::now();
        let mut invite = std::pin::pin!(session.add_participant(&bob, None).unwrap());
        let mut answered = false;
        while self.received(&old) == 0 {
            assert!(started.elapsed() < STEP, "no media within {STEP:?}");
            if answered {
                tokio::time::sleep(Duration::from_micros(500)).await;
            } else if let Ok(outcome) =
                tokio::time::timeout(Duration::from_micros(500), &mut invite).await
            {
                outcome.unwrap();
                answered = true;
            }
        }
        let first_media = started.elapsed();
        if !answered {
            tokio::time::timeout(STEP, invite).await.unwrap().unwrap();
        }
        let end = session.terminate(Reason::NotSpecified, None).unwrap();
        tokio::time::timeout(STEP, end).await.unwrap().unwrap();
        // Nothing crosses a relay faster than its delays: at least one round trip.
        assert!(
            first_media >= 2 * DELAY,
            "{first_media:?}: a relay was bypassed"
        );
        first_media
    }
}

fn median_ms(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples
        .get(samples.len() / 2)
        .map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

fn report(name: &str, samples: Vec<Duration>) {
    if bench::benching() && !samples.is_empty() {
        let n = samples.len();
        let ms = median_ms(samples);
        let rtt = 2.0 * DELAY.as_secs_f64() * 1e3;
        eprintln!(
            "call_setup/{name}: median {ms:.1} ms = {:.2} round trips of {rtt:.0} ms ({n} calls)",
            ms / rtt
        );
    }
}

fn call_setup(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let pki = Pki::new();
    let mut group = c.benchmark_group("call_setup");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4));
    for kind in [Kind::SipUdp, Kind::SipTls, Kind::Quic] {
        let samples = Mutex::new(Vec::new());
        group.bench_function(format!("cold/{}", kind.name()), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let pair = Pair::new(kind, &pki).await;
                        let took = pair.call().await;
                        samples.lock().unwrap().push(took);
                        total += took;
                    }
                    total
                })
            });
        });
        report(
            &format!("cold/{}", kind.name()),
            samples.into_inner().unwrap(),
        );
    }
    for kind in [Kind::SipTls, Kind::Quic] {
        let samples = Mutex::new(Vec::new());
        group.bench_function(format!("warm/{}", kind.name()), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let pair = Pair::new(kind, &pki).await;
                        pair.call().await;
                        let took = pair.call().await;
                        samples.lock().unwrap().push(took);
                        total += took;
                    }
                    total
                })
            });
        });
        report(
            &format!("warm/{}", kind.name()),
            samples.into_inner().unwrap(),
        );
    }
    let samples = Mutex::new(Vec::new());
    group.bench_function("resumed/quic", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let pair = Pair::new(Kind::Quic, &pki).await;
                    pair.call().await;
                    // The connection closes for want of sessions; the next one resumes
                    // with the TLS ticket of the first, invitation in 0-RTT.
                    tokio::time::sleep(LINGER + 8 * DELAY).await;
                    let took = pair.call().await;
                    assert_eq!(pair.quic_zero_rtt(), 1, "the call did not go in 0-RTT");
                    samples.lock().unwrap().push(took);
                    total += took;
                }
                total
            })
        });
    });
    report("resumed/quic", samples.into_inner().unwrap());
    group.finish();
}

criterion_group!(benches, call_setup);
criterion_main!(benches);
