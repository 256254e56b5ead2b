//! QUIC transport: transport-quic beside raw quinn 0.11, on the same loopback, with
//! certificates of the same test CA (rcgen, ECDSA P-256), the same rustls 0.23 *ring*
//! provider (TLS 1.3), on one current-thread tokio runtime per benchmark (both ends of
//! every connection run on it; the multi-thread runtime is bimodal on 2 cores).
//!
//! Groups:
//! * `round_trip_200B`: one request and its answer on an established connection, per
//!   iteration.
//!   - ours: `SignalingEndpoint::message` (200-byte `text/plain` body) on an established
//!     leg; the peer's inbound handler task accepts the `Inbound::Message` reply; the
//!     call resolves when the RESULT frame is back. This is the path session-core's
//!     `ImSession::send_message` takes below session-core.
//!   - raw quinn: 200 bytes written on one long-lived bidirectional stream; the server
//!     task reads them (`read_exact`) and writes a 16-byte reply, which the client reads.
//! * `datagrams_1200B`: a batch of 10,000 packets of 1,200 bytes sent without waiting
//!   (yielding to the runtime every [`PACE`] packets, identical on both sides), counted
//!   at the receiver. QUIC datagrams may be dropped, so the figure is the *delivered*
//!   rate: each batch's time (first send to last delivery) is scaled by
//!   sent / delivered, so criterion's elements per second are delivered packets per
//!   second. Delivery ratios are printed on stderr after each function.
//!   - ours: `PacketPath::send` on the caller's path of media flow 0 of an established
//!     audio/video leg, received with `recv_packet` on the callee's path of that flow.
//!   - raw quinn: `Connection::send_datagram` on the client, `read_datagram` on the
//!     server.
//!
//! Packets carry the batch number in their first 8 bytes, so a late packet of one batch
//! is never counted in the next.
//!
//! The machine is shared and its load moves within seconds, so criterion's figures for
//! ours and raw quinn (measured one after the other) are also compared *paired*: after
//! each group (under `cargo bench` only), blocks of ours and raw quinn alternate
//! ([`PAIRS`] pairs) and the median of the per-pair ratios is printed on stderr.

#![allow(clippy::unwrap_used, clippy::print_stderr)] // a benchmark: failures abort, ratios go to stderr

use std::cell::Cell;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bench::paired::paired;
use bytes::{BufMut, Bytes, BytesMut};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use session_core::contract::media::{PacketPath, recv_packet};
use session_core::contract::signaling::{
    Answer, Inbound, Invite, LegId, LocalIdentity, Message, SignalingEndpoint, SignalingTransport,
};
use session_core::{CredentialCache, SessionType, Uri};
use tokio::runtime::Runtime;
use tokio::sync::mpsc;
use transport_quic::{LocalCertificate, QuicConfig, QuicTransport};

/// Request body of a round trip.
const BODY: usize = 200;
/// Raw quinn's reply (ours answers with a RESULT frame of 5 bytes).
const REPLY: usize = 16;
/// Media packet size.
const PACKET: usize = 1200;
/// Packets per datagram batch.
const BATCH: u64 = 10_000;
/// Packets sent between two yields to the runtime (the connection drivers run then).
const PACE: u64 = 32;
/// A batch ends when every packet arrived, or when none arrived for this long after the
/// last was sent.
const QUIET: Duration = Duration::from_millis(20);
/// Alternating blocks (ours, then raw quinn) of the paired comparison.
const PAIRS: usize = 15;
/// Round trips per block of the paired comparison.
const PAIRED_ROUNDS: u64 = 500;

/// Longest wait for any setup step.
const SETUP: Duration = Duration::from_secs(10);

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// The test CA every certificate here chains to.
struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    fn new() -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "bench CA");
        let cert = params.self_signed(&key).unwrap();
        Self { cert, key }
    }

    fn root(&self) -> CertificateDer<'static> {
        self.cert.der().clone()
    }

    /// A leaf for localhost / 127.0.0.1: its chain and key.
    fn leaf(&self, name: &str) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        let der = PrivatePkcs8KeyDer::from(key.serialize_der());
        (vec![cert.der().clone()], der.into())
    }
}

/// Waits for `cond` (polled every millisecond) at most [`SETUP`].
async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + SETUP;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

// ---------------------------------------------------------------------------------
// Ours: two QuicTransports, one established leg.

struct Ours {
    // Held so the transports and their connection live as long as the fixture.
    _transports: [QuicTransport; 2],
    caller: Arc<dyn SignalingEndpoint>,
    leg: LegId,
    callee: Arc<dyn SignalingEndpoint>,
    callee_leg: LegId,
}

/// Attaches and registers `user`; its inbound handler task accepts every invitation
/// and message, and reports the legs of invitations on `legs`.
async fn attach(
    transport: &QuicTransport,
    user: &str,
    legs: mpsc::UnboundedSender<LegId>,
) -> (Uri, Arc<dyn SignalingEndpoint>) {
    let uri = transport.uri(user).unwrap();
    let (tx, mut rx) = mpsc::channel(session_core::contract::signaling::INBOUND_CAPACITY);
    let identity = LocalIdentity {
        uri: uri.clone(),
        credentials: CredentialCache::new(),
        display_name: None,
    };
    let endpoint = transport.attach(identity, tx).await.unwrap();
    endpoint.register().await.unwrap();
    tokio::spawn(async move {
        while let Some(inbound) = rx.recv().await {
            match inbound {
                Inbound::Invite { leg, reply, .. } => {
                    reply.accept(Answer::default());
                    let _ = legs.send(leg);
                }
                Inbound::Message { reply, .. } => reply.accept(()),
                _ => {}
            }
        }
    });
    (uri, endpoint)
}

impl Ours {
    async fn new(ca: &Ca, session_type: SessionType) -> Self {
        let transport = |name: &str| {
            let (chain, key) = ca.leaf(name);
            QuicTransport::new(
                QuicConfig::new(LocalCertificate::new(chain, key))
                    .bind(loopback())
                    .root(ca.root()),
            )
            .unwrap()
        };
        let (alice_t, bob_t) = (transport("alice"), transport("bob"));
        let (legs_tx, mut legs) = mpsc::unbounded_channel();
        let (alice_uri, caller) = attach(&alice_t, "alice", legs_tx.clone()).await;
        let (bob_uri, callee) = attach(&bob_t, "bob", legs_tx).await;
        let leg = LegId::next();
        let invite = Invite {
            from: alice_uri,
            to: bob_uri,
            session_type,
            conversation_id: None,
            offer: None,
            device: None,
        };
        tokio::time::timeout(SETUP, caller.invite(leg, invite))
            .await
            .unwrap()
            .unwrap();
        let callee_leg = legs.recv().await.unwrap();
        Self {
            _transports: [alice_t, bob_t],
            caller,
            leg,
            callee,
            callee_leg,
        }
    }

    async fn message(&self, body: &Bytes) {
        self.caller
            .message(
                self.leg,
                Message {
                    content_type: "text/plain".into(),
                    body: body.clone(),
                },
            )
            .await
            .unwrap();
    }

    /// Flow 0 of the leg at both ends, once the path carries [`PACKET`]-byte packets
    /// (MTU discovery has raised the datagram budget).
    async fn media(&self) -> (Arc<dyn PacketPath>, Arc<dyn PacketPath>) {
        let tx = self.caller.packet_path(self.leg, 0).unwrap();
        let rx = self.callee.packet_path(self.callee_leg, 0).unwrap();
        until("the datagram budget", || {
            tx.max_packet_size() >= PACKET && rx.max_packet_size() >= PACKET
        })
        .await;
        (tx, rx)
    }
}

// ---------------------------------------------------------------------------------
// Raw quinn: a server and a client endpoint, one connection.

struct Raw {
    _endpoints: [quinn::Endpoint; 2],
    client: quinn::Connection,
    server: quinn::Connection,
}

impl Raw {
    async fn new(ca: &Ca) -> Self {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.root()).unwrap();
        let roots = Arc::new(roots);
        let alpn = vec![b"raw".to_vec()];

        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            roots.clone(),
            provider.clone(),
        )
        .allow_unauthenticated()
        .build()
        .unwrap();
        let (chain, key) = ca.leaf("server");
        let mut server_tls = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .unwrap();
        server_tls.alpn_protocols = alpn.clone();
        let server_config = quinn::ServerConfig::with_crypto(Arc::new(
            QuicServerConfig::try_from(server_tls).unwrap(),
        ));
        let server = quinn::Endpoint::server(server_config, loopback()).unwrap();

        let (chain, key) = ca.leaf("client");
        let mut client_tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .unwrap();
        client_tls.alpn_protocols = alpn;
        let mut client = quinn::Endpoint::client(loopback()).unwrap();
        client.set_default_client_config(quinn::ClientConfig::new(Arc::new(
            QuicClientConfig::try_from(client_tls).unwrap(),
        )));

        let accept = {
            let server = server.clone();
            tokio::spawn(async move { server.accept().await.unwrap().await.unwrap() })
        };
        let connecting = client
            .connect(server.local_addr().unwrap(), "localhost")
            .unwrap();
        let client_conn = tokio::time::timeout(SETUP, connecting)
            .await
            .unwrap()
            .unwrap();
        let server_conn = tokio::time::timeout(SETUP, accept).await.unwrap().unwrap();
        Self {
            _endpoints: [server, client],
            client: client_conn,
            server: server_conn,
        }
    }

    /// One long-lived bidirectional stream whose server side answers each [`BODY`]-byte
    /// request with [`REPLY`] bytes.
    async fn stream(&self) -> (quinn::SendStream, quinn::RecvStream) {
        let (mut send, mut recv) = self.client.open_bi().await.unwrap();
        let server = self.server.clone();
        tokio::spawn(async move {
            let (mut send, mut recv) = server.accept_bi().await.unwrap();
            let mut request = [0u8; BODY];
            let reply = [0x5a; REPLY];
            while recv.read_exact(&mut request).await.is_ok() {
                if send.write_all(&reply).await.is_err() {
                    break;
                }
            }
        });
        // The server sees the stream with its first bytes: one warm-up round trip.
        send.write_all(&[0u8; BODY]).await.unwrap();
        let mut reply = [0u8; REPLY];
        recv.read_exact(&mut reply).await.unwrap();
        (send, recv)
    }

    async fn media(&self) {
        until("the datagram budget", || {
            self.client.max_datagram_size().unwrap_or(0) >= PACKET
        })
        .await;
    }
}

// ---------------------------------------------------------------------------------
// Round trips.

fn round_trip(c: &mut Criterion) {
    let ca = Ca::new();
    let body = Bytes::from(vec![b'm'; BODY]);
    // Criterion calls a function's closure once per sample: the fixtures (and their
    // connections) are built once, outside.
    let rt = runtime();
    let ours = rt.block_on(Ours::new(&ca, SessionType::InstantMessaging));
    let raw = rt.block_on(Raw::new(&ca));
    let (mut send, mut recv) = rt.block_on(raw.stream());
    let mut g = c.benchmark_group("quic_transport/round_trip_200B");

    g.bench_function("ucc_quic_message", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    ours.message(&body).await;
                }
                start.elapsed()
            })
        });
    });

    g.bench_function("raw_quinn_bidi", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut reply = [0u8; REPLY];
                let start = Instant::now();
                for _ in 0..iters {
                    send.write_all(&body).await.unwrap();
                    recv.read_exact(&mut reply).await.unwrap();
                }
                start.elapsed()
            })
        });
    });
    g.finish();

    if bench::benching() {
        let n = PAIRED_ROUNDS;
        let (ratio, a, b) = paired(
            PAIRS,
            || {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..n {
                        ours.message(&body).await;
                    }
                    start.elapsed()
                })
            },
            || {
                rt.block_on(async {
                    let mut reply = [0u8; REPLY];
                    let start = Instant::now();
                    for _ in 0..n {
                        send.write_all(&body).await.unwrap();
                        recv.read_exact(&mut reply).await.unwrap();
                    }
                    start.elapsed()
                })
            },
        );
        eprintln!(
            "paired round trip ({PAIRS} x {n}): ucc {:.2?}, raw quinn {:.2?}, median ratio {ratio:.3}",
            a / n as u32,
            b / n as u32
        );
    }
    rt.block_on(async move { drop((send, recv, raw, ours)) });
}

// ---------------------------------------------------------------------------------
// Datagrams.

/// The packet of batch `batch`: the batch number, then filler.
fn packet(batch: u64) -> Bytes {
    let mut p = BytesMut::with_capacity(PACKET);
    p.put_u64(batch);
    p.resize(PACKET, 0xa5);
    p.freeze()
}

fn batch_of(p: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(p.get(..8)?.try_into().ok()?))
}

/// Sends one batch with `send` while receiving with `recv`; the time from the first
/// send to the last delivery, and how many were delivered.
async fn batch<R, F>(number: u64, send: impl Fn(Bytes), mut recv: R) -> (Duration, u64)
where
    R: FnMut() -> F,
    F: Future<Output = Option<Bytes>>,
{
    let packet = packet(number);
    let sent_all = Cell::new(false);
    let start = Instant::now();
    let sender = async {
        for i in 0..BATCH {
            send(packet.clone());
            if i % PACE == PACE - 1 {
                tokio::task::yield_now().await;
            }
        }
        sent_all.set(true);
    };
    let receiver = async {
        let (mut delivered, mut last) = (0u64, start);
        let mut tick = tokio::time::interval(QUIET / 4);
        while delivered < BATCH {
            tokio::select! {
                p = recv() => match p {
                    Some(p) => {
                        if batch_of(&p) == Some(number) {
                            delivered += 1;
                            last = Instant::now();
                        }
                    }
                    None => break,
                },
                _ = tick.tick() => {
                    if sent_all.get() && last.max(start).elapsed() >= QUIET {
                        break;
                    }
                }
            }
        }
        (last - start, delivered)
    };
    tokio::join!(sender, receiver).1
}

/// Runs `iters` batches; the total time scaled to delivered packets.
async fn batches<R, F>(
    iters: u64,
    counts: &Cell<(u64, u64)>,
    next: &Cell<u64>,
    send: impl Fn(Bytes),
    mut recv: R,
) -> Duration
where
    R: FnMut() -> F,
    F: Future<Output = Option<Bytes>>,
{
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let number = next.get();
        next.set(number + 1);
        let (time, delivered) = batch(number, &send, &mut recv).await;
        let (s, d) = counts.get();
        counts.set((s + BATCH, d + delivered));
        total += time.mul_f64(BATCH as f64 / delivered.max(1) as f64);
    }
    total
}

fn report(name: &str, counts: &Cell<(u64, u64)>) {
    let (sent, delivered) = counts.get();
    eprintln!(
        "{name}: delivered {delivered} of {sent} datagrams ({:.2}%)",
        100.0 * delivered as f64 / sent.max(1) as f64
    );
}

fn datagrams(c: &mut Criterion) {
    let ca = Ca::new();
    let rt = runtime();
    let ours = rt.block_on(Ours::new(&ca, SessionType::AudioVideo));
    let (tx, rx) = rt.block_on(ours.media());
    let raw = rt.block_on(Raw::new(&ca));
    rt.block_on(raw.media());
    let mut g = c.benchmark_group("quic_transport/datagrams_1200B");
    g.throughput(Throughput::Elements(BATCH));
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(20);

    let (counts, next) = (Cell::new((0, 0)), Cell::new(1));
    g.bench_function("ucc_packet_path", |b| {
        b.iter_custom(|iters| {
            rt.block_on(batches(
                iters,
                &counts,
                &next,
                |p| {
                    let _ = tx.send(p);
                },
                || async { recv_packet(&*rx).await.ok() },
            ))
        });
    });
    report("ucc_packet_path", &counts);

    let (counts, next) = (Cell::new((0, 0)), Cell::new(1));
    g.bench_function("raw_quinn_datagram", |b| {
        b.iter_custom(|iters| {
            rt.block_on(batches(
                iters,
                &counts,
                &next,
                |p| {
                    let _ = raw.client.send_datagram(p);
                },
                || async { raw.server.read_datagram().await.ok() },
            ))
        });
    });
    report("raw_quinn_datagram", &counts);
    g.finish();

    if bench::benching() {
        let (ours_counts, raw_counts) = (Cell::new((0, 0)), Cell::new((0, 0)));
        let next = Cell::new(1_000_000);
        let (ratio, a, b) = paired(
            PAIRS,
            || {
                rt.block_on(batches(
                    1,
                    &ours_counts,
                    &next,
                    |p| {
                        let _ = tx.send(p);
                    },
                    || async { recv_packet(&*rx).await.ok() },
                ))
            },
            || {
                rt.block_on(batches(
                    1,
                    &raw_counts,
                    &next,
                    |p| {
                        let _ = raw.client.send_datagram(p);
                    },
                    || async { raw.server.read_datagram().await.ok() },
                ))
            },
        );
        let rate = |d: Duration| BATCH as f64 / d.as_secs_f64() / 1000.0;
        eprintln!(
            "paired datagrams ({PAIRS} x {BATCH}): ucc {:.0}k/s, raw quinn {:.0}k/s, median rate ratio {:.3}",
            rate(a),
            rate(b),
            1.0 / ratio
        );
        report("paired ucc_packet_path", &ours_counts);
        report("paired raw_quinn_datagram", &raw_counts);
    }
    rt.block_on(async move { drop((tx, rx, ours, raw)) });
}

criterion_group!(benches, round_trip, datagrams);
criterion_main!(benches);
