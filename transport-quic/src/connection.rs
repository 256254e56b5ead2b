//! Connections: one per pair of endpoints, reused by all their sessions; the accept
//! loop; and each connection's driver (incoming session streams, media datagrams).
//!
//! A connection is keyed by the peer's UDP address. Outgoing connections are always
//! reusable. An incoming connection is reused for calls back to the same address only
//! when the caller presented a certificate this endpoint verified (client
//! authentication): otherwise the callee opens its own, server-verified connection.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, Weak};

use bytes::Bytes;
use quinn::ConnectionError;
use rustls_pki_types::CertificateDer;
use session_core::error::{SignalingError, SignalingErrorKind};
use session_core::{Status, StatusCode, Uri};
use tokio::sync::mpsc;
use tracing::{Instrument, debug, info_span, trace};

use crate::codec::varint;
use crate::config::DEFAULT_PORT;
use crate::error::ErrorCode;
use crate::identity::{ALPN, Fingerprint};
use crate::lock;
use crate::session_stream;
use crate::transport::Shared;

/// One QUIC connection to a peer endpoint and the media flows it carries.
pub(crate) struct PeerConnection {
    pub(crate) conn: quinn::Connection,
    /// The fingerprint of the certificate the peer presented and this side verified.
    pub(crate) peer: Option<Fingerprint>,
    /// Receive queues of media flows, by wire flow id (a B-tree: no hashing per
    /// datagram, and no hash flooding by chosen flow ids).
    flows: Mutex<BTreeMap<u64, mpsc::Sender<Bytes>>>,
}

impl PeerConnection {
    fn new(conn: quinn::Connection) -> Arc<Self> {
        let peer = conn
            .peer_identity()
            .and_then(|any| any.downcast::<Vec<CertificateDer<'static>>>().ok())
            .and_then(|chain| chain.first().map(Fingerprint::of));
        Arc::new(Self {
            conn,
            peer,
            flows: Mutex::new(BTreeMap::new()),
        })
    }

    pub(crate) fn is_open(&self) -> bool {
        self.conn.close_reason().is_none()
    }

    pub(crate) fn register_flow(&self, wire: u64, tx: mpsc::Sender<Bytes>) {
        lock(&self.flows).insert(wire, tx);
    }

    pub(crate) fn remove_flow(&self, wire: u64) {
        lock(&self.flows).remove(&wire);
    }

    /// Routes one received datagram to its flow (RTP-over-QUIC: flow id varint, then
    /// the packet). Unknown flows, malformed prefixes and full queues drop it.
    fn dispatch(&self, mut datagram: Bytes) {
        let Ok(flow) = varint::get(&mut datagram) else {
            trace!("datagram without a flow id dropped");
            return;
        };
        match lock(&self.flows).get(&flow) {
            Some(tx) => {
                let _ = tx.try_send(datagram);
            }
            None => trace!(flow, "datagram for an unknown flow dropped"),
        }
    }
}

/// The connections of a transport, one slot per peer address.
#[derive(Default)]
pub(crate) struct Peers {
    slots: Mutex<HashMap<SocketAddr, Slot>>,
}

type Slot = Arc<tokio::sync::Mutex<Option<Arc<PeerConnection>>>>;

impl Peers {
    fn slot(&self, addr: SocketAddr) -> Slot {
        lock(&self.slots).entry(addr).or_default().clone()
    }

    /// Offers an incoming connection for reuse, unless a live one is there already.
    async fn offer(&self, pc: &Arc<PeerConnection>) {
        let slot = self.slot(pc.conn.remote_address());
        let mut held = slot.lock().await;
        if !held.as_ref().is_some_and(|p| p.is_open()) {
            *held = Some(pc.clone());
        }
    }

    /// Removes `addr`'s slot if it holds nothing and nobody is using it.
    fn prune(&self, addr: SocketAddr) {
        let mut slots = lock(&self.slots);
        let unused = slots
            .get(&addr)
            .is_some_and(|s| Arc::strong_count(s) == 1 && s.try_lock().is_ok_and(|p| p.is_none()));
        if unused {
            slots.remove(&addr);
        }
    }

    /// Forgets a connection that ended.
    fn forget(&self, pc: &PeerConnection) {
        let mut slots = lock(&self.slots);
        let addr = pc.conn.remote_address();
        let Some(slot) = slots.get(&addr) else { return };
        let Ok(mut held) = slot.try_lock() else {
            return;
        };
        if held
            .as_ref()
            .is_some_and(|p| p.conn.stable_id() == pc.conn.stable_id())
        {
            *held = None;
            drop(held);
            slots.remove(&addr);
        }
    }
}

fn unreachable(text: String) -> SignalingError {
    SignalingError::new(
        SignalingErrorKind::Network,
        Status::with_text(StatusCode::TEMPORARILY_UNAVAILABLE, text),
    )
}

/// The UDP address and TLS server name of a `quic:` URI (`user@host:port`; the port
/// defaults to [`DEFAULT_PORT`]).
pub(crate) async fn resolve(uri: &Uri) -> Result<(SocketAddr, String), SignalingError> {
    let host = uri.host().trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(unreachable(format!("{uri} has no host")));
    }
    let port = uri.port().unwrap_or(DEFAULT_PORT);
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok((SocketAddr::new(ip, port), host.to_owned()));
    }
    let mut addrs = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| unreachable(format!("cannot resolve {host}: {e}")))?;
    let addr = addrs
        .next()
        .ok_or_else(|| unreachable(format!("{host} has no address")))?;
    Ok((addr, host.to_owned()))
}

/// Whether the handshake negotiated `ucc/1`.
fn alpn_ok(conn: &quinn::Connection) -> bool {
    conn.handshake_data()
        .and_then(|d| d.downcast::<quinn::crypto::rustls::HandshakeData>().ok())
        .is_some_and(|d| d.protocol.as_deref() == Some(ALPN))
}

/// The connection to the endpoint at `to`: the live one, or a new one.
pub(crate) async fn connect(
    shared: &Arc<Shared>,
    to: &Uri,
) -> Result<Arc<PeerConnection>, SignalingError> {
    let (addr, name) = resolve(to).await?;
    let slot = shared.peers.slot(addr);
    let mut held = slot.lock().await;
    if let Some(pc) = held.as_ref().filter(|p| p.is_open()) {
        return Ok(pc.clone());
    }
    let result = establish(shared, addr, &name).await;
    match &result {
        Ok(pc) => *held = Some(pc.clone()),
        Err(_) => {
            *held = None;
            drop(held);
            drop(slot);
            shared.peers.prune(addr);
        }
    }
    result
}

async fn establish(
    shared: &Arc<Shared>,
    addr: SocketAddr,
    name: &str,
) -> Result<Arc<PeerConnection>, SignalingError> {
    let span = info_span!("connection", peer = %addr, side = "client");
    let connecting = shared
        .endpoint
        .connect(addr, name)
        .map_err(|e| unreachable(format!("cannot connect to {addr}: {e}")))?;
    let timeout = shared.config.timeouts.connect;
    let conn = match tokio::time::timeout(timeout, connecting).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => {
            debug!(parent: &span, error = %e, "handshake failed");
            return Err(unreachable(handshake_failure(addr, &e)).with_source(e));
        }
        Err(_) => {
            return Err(unreachable(format!(
                "no QUIC answer from {addr} within {timeout:?}"
            )));
        }
    };
    if !alpn_ok(&conn) {
        conn.close(ErrorCode::WrongProtocol.varint(), b"ALPN ucc/1 required");
        return Err(unreachable(format!("{addr} does not speak ucc/1")));
    }
    let pc = PeerConnection::new(conn);
    debug!(parent: &span, id = pc.conn.stable_id(), "connected");
    tokio::spawn(drive(Arc::downgrade(shared), pc.clone()).instrument(span));
    Ok(pc)
}

fn handshake_failure(addr: SocketAddr, e: &ConnectionError) -> String {
    match e {
        ConnectionError::ConnectionClosed(c)
            if c.error_code == quinn::TransportErrorCode::CONNECTION_REFUSED =>
        {
            format!("{addr} refused the QUIC connection (no endpoint registered there)")
        }
        ConnectionError::TransportError(t) if t.to_string().contains("certificate") => {
            format!("the certificate of {addr} is not trusted: {t}")
        }
        ConnectionError::ConnectionClosed(c) if c.to_string().contains("certificate") => {
            format!("{addr} did not accept this endpoint's certificate: {c}")
        }
        ConnectionError::TimedOut => format!("no QUIC answer from {addr} (handshake timed out)"),
        other => format!("QUIC handshake with {addr} failed: {other}"),
    }
}

/// Accepts connections while the transport lives. With no endpoint registered, a
/// connection attempt is refused at once (CONNECTION_REFUSED).
pub(crate) async fn accept_loop(shared: Weak<Shared>, endpoint: quinn::Endpoint) {
    while let Some(incoming) = endpoint.accept().await {
        let Some(s) = shared.upgrade() else {
            incoming.refuse();
            break;
        };
        let peer = incoming.remote_address();
        if !s.any_registered() {
            debug!(%peer, "refusing a connection: no endpoint registered");
            incoming.refuse();
            continue;
        }
        let timeout = s.config.timeouts.connect;
        drop(s);
        let shared = shared.clone();
        let span = info_span!("connection", %peer, side = "server");
        tokio::spawn(
            async move {
                let connecting = match incoming.accept() {
                    Ok(c) => c,
                    Err(e) => {
                        debug!(error = %e, "incoming connection failed");
                        return;
                    }
                };
                let conn = match tokio::time::timeout(timeout, connecting).await {
                    Ok(Ok(conn)) => conn,
                    Ok(Err(e)) => {
                        debug!(error = %e, "incoming handshake failed");
                        return;
                    }
                    Err(_) => {
                        debug!("incoming handshake timed out");
                        return;
                    }
                };
                if !alpn_ok(&conn) {
                    conn.close(ErrorCode::WrongProtocol.varint(), b"ALPN ucc/1 required");
                    return;
                }
                let pc = PeerConnection::new(conn);
                debug!(id = pc.conn.stable_id(), caller = ?pc.peer, "accepted");
                let Some(s) = shared.upgrade() else { return };
                if pc.peer.is_some() {
                    s.peers.offer(&pc).await;
                }
                drop(s);
                drive(shared, pc).await;
            }
            .instrument(span),
        );
    }
    trace!("accept loop stopped");
}

/// Runs one connection: a task per session stream the peer opens, the datagram
/// demultiplexer, and cleanup when it ends.
async fn drive(shared: Weak<Shared>, pc: Arc<PeerConnection>) {
    let datagrams = pc.clone();
    tokio::spawn(
        async move {
            while let Ok(d) = datagrams.conn.read_datagram().await {
                datagrams.dispatch(d);
            }
            datagrams.conn.closed().await;
            lock(&datagrams.flows).clear();
        }
        .in_current_span(),
    );
    loop {
        match pc.conn.accept_bi().await {
            Ok((send, recv)) => {
                let Some(s) = shared.upgrade() else { break };
                let pc = pc.clone();
                tokio::spawn(session_stream::answer(s, pc, send, recv).in_current_span());
            }
            Err(e) => {
                debug!(reason = %e, "connection ended");
                break;
            }
        }
    }
    if let Some(s) = shared.upgrade() {
        s.peers.forget(&pc);
    }
}

/// The status sessions end with when their connection is lost.
pub(crate) fn lost_status(e: &ConnectionError) -> Status {
    let (code, text) = match e {
        ConnectionError::TimedOut => (
            StatusCode::REQUEST_TIMEOUT,
            "QUIC connection lost: idle timeout (the peer stopped answering)".to_owned(),
        ),
        ConnectionError::ApplicationClosed(c) => {
            let reason = String::from_utf8_lossy(&c.reason);
            let code = u64::from(c.error_code);
            let name = ErrorCode::from_code(code).map_or("unknown", ErrorCode::name);
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("QUIC connection closed by the peer: {reason} (code {code:#x} {name})"),
            )
        }
        ConnectionError::LocallyClosed => (
            StatusCode::SERVICE_UNAVAILABLE,
            "QUIC connection closed locally".to_owned(),
        ),
        ConnectionError::Reset => (
            StatusCode::SERVICE_UNAVAILABLE,
            "QUIC connection reset by the peer".to_owned(),
        ),
        other => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("QUIC connection failed: {other}"),
        ),
    };
    Status::with_text(code, text)
}
