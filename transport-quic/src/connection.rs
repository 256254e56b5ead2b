//! Connections: one per pair of endpoints, reused by all their sessions; the accept
//! loop; and each connection's driver (incoming session streams, media datagrams).
//!
//! A connection is keyed by the peer's UDP address. Outgoing connections are always
//! reusable. An incoming connection is reused for calls back to the same address only
//! when the caller presented a certificate this endpoint verified (client
//! authentication): otherwise the callee opens its own, server-verified connection.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use bytes::Bytes;
use quinn::ConnectionError;
use rustls_pki_types::CertificateDer;
use session_core::error::{SignalingError, SignalingErrorKind};
use session_core::{Status, StatusCode, Uri};
use tokio::sync::{mpsc, watch};
use tracing::{Instrument, debug, info_span, trace};

use crate::codec::varint;
use crate::config::DEFAULT_PORT;
use crate::error::ErrorCode;
use crate::identity::{ALPN, ClientAuth, Fingerprint};
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
    /// How the 0-RTT data of an outgoing connection fared; `Settled` for others.
    early: watch::Receiver<Early>,
    /// Sessions open on this connection (see [`Timeouts::linger`](crate::Timeouts)).
    sessions: watch::Sender<usize>,
    /// Set when this side closed the connection for having no sessions.
    lingered_out: AtomicBool,
}

/// Counts one session on its connection while it lives.
pub(crate) struct SessionGuard(Arc<PeerConnection>);

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.0.sessions.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// The fate of what a caller sent before its handshake completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Early {
    /// The handshake is in flight: what was sent so far is 0-RTT data.
    Pending,
    /// The handshake completed and the peer took the 0-RTT data (or there was none).
    Settled,
    /// The handshake completed, but the peer discarded the 0-RTT data: streams opened
    /// before are gone and their frames must be sent again.
    Rejected,
    /// The handshake failed.
    Failed,
}

impl PeerConnection {
    fn new(conn: quinn::Connection) -> Arc<Self> {
        let (_, early) = watch::channel(Early::Settled);
        Self::with_early(conn, early)
    }

    fn with_early(conn: quinn::Connection, early: watch::Receiver<Early>) -> Arc<Self> {
        let peer = conn
            .peer_identity()
            .and_then(|any| any.downcast::<Vec<CertificateDer<'static>>>().ok())
            .and_then(|chain| chain.first().map(Fingerprint::of));
        Arc::new(Self {
            conn,
            peer,
            flows: Mutex::new(BTreeMap::new()),
            early,
            sessions: watch::Sender::new(0),
            lingered_out: AtomicBool::new(false),
        })
    }

    /// Counts a session on this connection until the guard drops.
    pub(crate) fn session_started(self: &Arc<Self>) -> SessionGuard {
        self.sessions.send_modify(|n| *n += 1);
        SessionGuard(self.clone())
    }

    /// Whether this side closed the connection for having had no sessions for the
    /// linger time.
    pub(crate) fn lingered_out(&self) -> bool {
        self.lingered_out.load(Ordering::Acquire)
    }

    /// Whether the handshake is still in flight (what is sent now is 0-RTT data).
    pub(crate) fn is_early(&self) -> bool {
        *self.early.borrow() == Early::Pending
    }

    /// Waits (at most `limit`) for the handshake of a 0-RTT connection to complete and
    /// says how its early data fared.
    pub(crate) async fn settled(&self, limit: std::time::Duration) -> Early {
        let mut early = self.early.clone();
        match tokio::time::timeout(limit, early.wait_for(|e| *e != Early::Pending)).await {
            Ok(Ok(e)) => *e,
            Ok(Err(_)) | Err(_) => Early::Failed,
        }
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
    let mut connecting = shared
        .endpoint
        .connect(addr, name)
        .map_err(|e| unreachable(format!("cannot connect to {addr}: {e}")))?;
    if shared.config.zero_rtt {
        // With a ticket from an earlier connection to this peer, sessions go out at
        // once as 0-RTT data; their openers wait for `settled` before relying on them.
        match connecting.into_0rtt() {
            Ok((conn, accepted)) => return Ok(early_connection(shared, conn, accepted, span)),
            Err(full) => connecting = full,
        }
    }
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

/// A connection resuming a session with 0-RTT: usable at once; a task follows the
/// handshake and publishes how the early data fared.
fn early_connection(
    shared: &Arc<Shared>,
    conn: quinn::Connection,
    accepted: quinn::ZeroRttAccepted,
    span: tracing::Span,
) -> Arc<PeerConnection> {
    let (tx, rx) = watch::channel(Early::Pending);
    let pc = PeerConnection::with_early(conn.clone(), rx);
    debug!(parent: &span, id = pc.conn.stable_id(), "connecting with 0-RTT");
    let limit = shared.config.timeouts.connect;
    let stats = Arc::downgrade(shared);
    tokio::spawn(
        async move {
            let outcome = match tokio::time::timeout(limit, accepted).await {
                // Accepted or not, the handshake may still have failed.
                Ok(_) if conn.close_reason().is_some() => Early::Failed,
                Ok(true) => Early::Settled,
                Ok(false) => Early::Rejected,
                Err(_) => Early::Failed,
            };
            if outcome != Early::Failed && !alpn_ok(&conn) {
                conn.close(ErrorCode::WrongProtocol.varint(), b"ALPN ucc/1 required");
                let _ = tx.send(Early::Failed);
                return;
            }
            if outcome == Early::Failed {
                conn.close(ErrorCode::NoError.varint(), b"handshake timed out");
            }
            if let Some(s) = stats.upgrade() {
                let counter = match outcome {
                    Early::Settled => &s.stats.zero_rtt_accepted,
                    Early::Rejected => &s.stats.zero_rtt_rejected,
                    Early::Pending | Early::Failed => &s.stats.zero_rtt_failed,
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
            debug!(?outcome, "0-RTT handshake done");
            let _ = tx.send(outcome);
        }
        .instrument(span.clone()),
    );
    tokio::spawn(drive(Arc::downgrade(shared), pc.clone()).instrument(span));
    pc
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
        let zero_rtt = s.config.zero_rtt;
        let client_auth = s.config.client_auth;
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
                let Some(conn) = accepted(connecting, timeout, zero_rtt, client_auth).await else {
                    return;
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

/// An incoming connection once it may serve sessions. With 0-RTT on, that is as soon
/// as the caller's first flight is in (0.5-RTT: a resumed caller's invitations are
/// answered before its handshake completes), except when the caller's certificate is
/// still to come: then, as without 0-RTT, when the handshake completes.
async fn accepted(
    connecting: quinn::Connecting,
    limit: std::time::Duration,
    zero_rtt: bool,
    client_auth: ClientAuth,
) -> Option<quinn::Connection> {
    let handshake = if zero_rtt {
        match connecting.into_0rtt() {
            Ok((conn, done)) => {
                // A resuming caller's certificate and ALPN come with its ticket; a
                // caller on a full handshake sends nothing before it completes anyway.
                let identified = client_auth == ClientAuth::Off || conn.peer_identity().is_some();
                if identified && conn.handshake_data().is_some() {
                    return Some(conn);
                }
                return match tokio::time::timeout(limit, done).await {
                    Ok(_) if conn.close_reason().is_none() => Some(conn),
                    Ok(_) => {
                        debug!("incoming handshake failed");
                        None
                    }
                    Err(_) => {
                        debug!("incoming handshake timed out");
                        conn.close(ErrorCode::NoError.varint(), b"handshake timed out");
                        None
                    }
                };
            }
            Err(connecting) => connecting,
        }
    } else {
        connecting
    };
    match tokio::time::timeout(limit, handshake).await {
        Ok(Ok(conn)) => Some(conn),
        Ok(Err(e)) => {
            debug!(error = %e, "incoming handshake failed");
            None
        }
        Err(_) => {
            debug!("incoming handshake timed out");
            None
        }
    }
}

/// Runs one connection: a task per session stream the peer opens, the datagram
/// demultiplexer, and cleanup when it ends.
async fn drive(shared: Weak<Shared>, pc: Arc<PeerConnection>) {
    if let Some(s) = shared.upgrade() {
        tokio::spawn(
            linger(
                shared.clone(),
                Arc::downgrade(&pc),
                s.config.timeouts.linger,
            )
            .in_current_span(),
        );
    }
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

/// Closes the connection once it has had no session for `limit`.
async fn linger(shared: Weak<Shared>, pc: Weak<PeerConnection>, limit: std::time::Duration) {
    let Some((conn, mut sessions)) = pc
        .upgrade()
        .map(|p| (p.conn.clone(), p.sessions.subscribe()))
    else {
        return;
    };
    loop {
        tokio::select! {
            _ = conn.closed() => return,
            idle = sessions.wait_for(|n| *n == 0) => if idle.is_err() { return },
        }
        tokio::select! {
            _ = conn.closed() => return,
            busy = tokio::time::timeout(limit, sessions.wait_for(|n| *n > 0)) => match busy {
                Ok(Ok(_)) => continue,
                Ok(Err(_)) => return,
                Err(_) => break,
            },
        }
    }
    let Some(pc) = pc.upgrade() else { return };
    debug!(after = ?limit, "closing a connection without sessions");
    pc.lingered_out.store(true, Ordering::Release);
    if let Some(s) = shared.upgrade() {
        s.peers.forget(&pc);
    }
    pc.conn.close(ErrorCode::NoError.varint(), b"no sessions");
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
