//! [`QuicTransport`]: session-core's [`SignalingTransport`] over QUIC, and the
//! [`SignalingEndpoint`] of each identity attached to it.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use session_core::contract::media::PacketPath;
use session_core::contract::signaling::{
    Answer, ComposingState, Inbound, Invite, LegId, LocalIdentity, Message, Progress,
    SignalingEndpoint, SignalingTransport,
};
use session_core::description::SessionDescription;
use session_core::error::{SignalingError, UriError};
use session_core::{Reason, Scheme, Status, StatusCode, Uri};
use tokio::sync::{mpsc, oneshot};
use tracing::debug;

use crate::config::QuicConfig;
use crate::connection::{self, Peers};
use crate::datagram::{self, QuicPacketPath};
use crate::error::{ErrorCode, QuicError};
use crate::identity::{self, Fingerprint};
use crate::lock;
use crate::session_stream::{self, Command, LegSlot};

const SCHEMES: &[Scheme] = &[Scheme::Quic];

/// How long [`SignalingEndpoint::shutdown`] and [`QuicTransport::close`] wait for the
/// peers to take their TERMINATE / CONNECTION_CLOSE.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// What a transport and all its endpoints and connections share.
pub(crate) struct Shared {
    pub(crate) endpoint: quinn::Endpoint,
    pub(crate) config: QuicConfig,
    pub(crate) peers: Peers,
    fingerprint: Fingerprint,
    /// Registered identities by `user@host`.
    identities: Mutex<HashMap<String, Weak<EndpointShared>>>,
    attachments: AtomicU64,
    pub(crate) stats: Counters,
}

/// Live counters behind [`QuicTransport::stats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) zero_rtt_accepted: AtomicU64,
    pub(crate) zero_rtt_rejected: AtomicU64,
    pub(crate) zero_rtt_failed: AtomicU64,
}

/// What a transport counted since it was built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransportStats {
    /// Outgoing connections whose 0-RTT data (the first invitations) the peer took.
    pub zero_rtt_accepted: u64,
    /// Outgoing connections that tried 0-RTT and whose peer discarded it (the
    /// invitations were sent again once the handshake completed).
    pub zero_rtt_rejected: u64,
    /// Outgoing connections that tried 0-RTT and whose handshake failed.
    pub zero_rtt_failed: u64,
}

impl Shared {
    pub(crate) fn any_registered(&self) -> bool {
        lock(&self.identities)
            .values()
            .any(|w| w.strong_count() > 0)
    }

    /// The registered endpoint a session addressed to `to` belongs to.
    pub(crate) fn registered(&self, to: &Uri) -> Option<Arc<EndpointShared>> {
        lock(&self.identities)
            .get(&to.user_at_host())
            .and_then(Weak::upgrade)
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.endpoint
            .close(ErrorCode::NoError.varint(), b"transport dropped");
    }
}

/// The QUIC signaling transport (`ucc/1`, see `docs/quic-signaling.md`).
///
/// One transport is one UDP socket (bound when it is built, so its address is known
/// before any endpoint registers) and one QUIC endpoint, serving any number of local
/// identities. It reaches `quic:` URIs. Build it inside a tokio runtime.
#[derive(Clone)]
pub struct QuicTransport {
    shared: Arc<Shared>,
}

impl fmt::Debug for QuicTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QuicTransport")
            .field("name", &self.shared.config.name)
            .field("local", &self.shared.endpoint.local_addr().ok())
            .field("fingerprint", &self.shared.fingerprint)
            .finish()
    }
}

impl QuicTransport {
    /// Builds the TLS configuration, binds the socket and starts the accept loop
    /// (connections are refused until an endpoint registers).
    pub fn new(config: QuicConfig) -> Result<Self, QuicError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(QuicError::Config {
                what: "runtime",
                reason: "a QuicTransport must be built inside a tokio runtime".into(),
            });
        }
        let (client_tls, server_tls) = identity::rustls_configs(
            &config.certificate,
            &config.trust,
            config.client_auth,
            config.send_client_certificate,
            config.zero_rtt,
        )?;
        let transport = config.transport_config()?;
        let server_crypto = QuicServerConfig::try_from(server_tls)
            .map_err(|e| QuicError::NoInitialCipherSuite(e.to_string()))?;
        let mut server = quinn::ServerConfig::with_crypto(Arc::new(server_crypto));
        server.transport_config(transport.clone());
        let client_crypto = QuicClientConfig::try_from(client_tls)
            .map_err(|e| QuicError::NoInitialCipherSuite(e.to_string()))?;
        let mut client = quinn::ClientConfig::new(Arc::new(client_crypto));
        client.transport_config(transport);
        let mut endpoint =
            quinn::Endpoint::server(server, config.bind).map_err(|source| QuicError::Bind {
                addr: config.bind,
                source,
            })?;
        endpoint.set_default_client_config(client);
        let shared = Arc::new(Shared {
            endpoint: endpoint.clone(),
            fingerprint: config.certificate.fingerprint(),
            config,
            peers: Peers::default(),
            identities: Mutex::new(HashMap::new()),
            attachments: AtomicU64::new(1),
            stats: Counters::default(),
        });
        tokio::spawn(connection::accept_loop(Arc::downgrade(&shared), endpoint));
        Ok(Self { shared })
    }

    /// What this transport counted so far (0-RTT outcomes).
    pub fn stats(&self) -> TransportStats {
        let c = &self.shared.stats;
        TransportStats {
            zero_rtt_accepted: c.zero_rtt_accepted.load(Ordering::Relaxed),
            zero_rtt_rejected: c.zero_rtt_rejected.load(Ordering::Relaxed),
            zero_rtt_failed: c.zero_rtt_failed.load(Ordering::Relaxed),
        }
    }

    /// The bound UDP address.
    pub fn local_addr(&self) -> Result<SocketAddr, QuicError> {
        self.shared
            .endpoint
            .local_addr()
            .map_err(|source| QuicError::Bind {
                addr: self.shared.config.bind,
                source,
            })
    }

    /// The `quic:user@ip:port` URI of `user` on this transport's bound address (an
    /// unspecified bind address is written as loopback).
    pub fn uri(&self, user: &str) -> Result<Uri, UriError> {
        let mut addr = self
            .shared
            .endpoint
            .local_addr()
            .unwrap_or(self.shared.config.bind);
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr {
                SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        Uri::parse(&format!("quic:{user}@{addr}"))
    }

    /// The SHA-256 fingerprint of this transport's certificate (what peers pin).
    pub fn fingerprint(&self) -> Fingerprint {
        self.shared.fingerprint
    }

    /// Live QUIC connections.
    pub fn open_connections(&self) -> usize {
        self.shared.endpoint.open_connections()
    }

    /// The QUIC connection to the endpoint at `uri`, opened if there is none: for
    /// diagnostics (RTT, statistics) and extensions. Streams opened on it are session
    /// streams to the peer, which expects an INVITE first.
    pub async fn connection(&self, uri: &Uri) -> Result<quinn::Connection, SignalingError> {
        Ok(connection::connect(&self.shared, uri).await?.conn.clone())
    }

    /// Moves the transport to a new UDP socket bound to `addr` (connection migration,
    /// RFC 9000 §9): connections this side opened follow it and their sessions go on.
    /// Connections peers opened to the old address cannot follow (servers do not
    /// migrate), and new callers must use the new address.
    pub fn rebind(&self, addr: SocketAddr) -> Result<SocketAddr, QuicError> {
        let bind = |source| QuicError::Bind { addr, source };
        let socket = std::net::UdpSocket::bind(addr).map_err(bind)?;
        let local = socket.local_addr().map_err(bind)?;
        self.shared.endpoint.rebind(socket).map_err(bind)?;
        Ok(local)
    }

    /// Closes every connection (CONNECTION_CLOSE with code 0 "shutdown": the peers end
    /// their sessions at once with 503) and waits briefly for the close to go out.
    pub async fn close(&self) {
        self.shared
            .endpoint
            .close(ErrorCode::NoError.varint(), b"shutdown");
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, self.shared.endpoint.wait_idle()).await;
    }
}

#[async_trait]
impl SignalingTransport for QuicTransport {
    fn name(&self) -> &str {
        &self.shared.config.name
    }

    fn schemes(&self) -> &[Scheme] {
        SCHEMES
    }

    async fn attach(
        &self,
        identity: LocalIdentity,
        inbound: mpsc::Sender<Inbound>,
    ) -> Result<Arc<dyn SignalingEndpoint>, SignalingError> {
        let n = self.shared.attachments.fetch_add(1, Ordering::Relaxed);
        let device = format!("quic-{}-{n}", &self.shared.fingerprint.to_hex()[..16]);
        Ok(Arc::new(QuicEndpoint {
            shared: Arc::new(EndpointShared {
                transport: self.shared.clone(),
                key: identity.uri.user_at_host(),
                uri: identity.uri,
                device,
                inbound,
                legs: Mutex::new(HashMap::new()),
                paths: Mutex::new(HashMap::new()),
                closed: AtomicBool::new(false),
            }),
        }))
    }
}

/// One attached identity.
pub(crate) struct EndpointShared {
    pub(crate) transport: Arc<Shared>,
    key: String,
    uri: Uri,
    /// This attachment's device id (sent in INVITE / ACCEPT).
    pub(crate) device: String,
    pub(crate) inbound: mpsc::Sender<Inbound>,
    pub(crate) legs: Mutex<HashMap<LegId, LegSlot>>,
    pub(crate) paths: Mutex<HashMap<(LegId, u64), Weak<QuicPacketPath>>>,
    closed: AtomicBool,
}

impl EndpointShared {
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn forget(&self, leg: LegId) {
        lock(&self.legs).remove(&leg);
    }

    fn commands(&self, leg: LegId) -> Result<mpsc::Sender<Command>, SignalingError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(SignalingError::closed());
        }
        match lock(&self.legs).get(&leg) {
            Some(LegSlot::Open(entry)) => Ok(entry.commands.clone()),
            _ => Err(SignalingError::unknown_leg()),
        }
    }

    async fn command(&self, leg: LegId, command: Command) -> Result<(), SignalingError> {
        self.commands(leg)?
            .send(command)
            .await
            .map_err(|_| SignalingError::unknown_leg())
    }
}

/// The [`SignalingEndpoint`] of one identity on a [`QuicTransport`].
struct QuicEndpoint {
    shared: Arc<EndpointShared>,
}

impl fmt::Debug for QuicEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QuicEndpoint")
            .field("uri", &self.shared.uri.to_string())
            .field("legs", &lock(&self.shared.legs).len())
            .finish()
    }
}

async fn pending_answer<T>(
    rx: oneshot::Receiver<Result<T, SignalingError>>,
) -> Result<T, SignalingError> {
    rx.await.unwrap_or_else(|_| {
        Err(SignalingError::rejected(Status::with_text(
            StatusCode::CALL_DOES_NOT_EXIST,
            "session ended before the answer",
        )))
    })
}

#[async_trait]
impl SignalingEndpoint for QuicEndpoint {
    async fn register(&self) -> Result<(), SignalingError> {
        if self.shared.closed.load(Ordering::Acquire) {
            return Err(SignalingError::closed());
        }
        let mut ids = lock(&self.shared.transport.identities);
        if let Some(existing) = ids.get(&self.shared.key).and_then(Weak::upgrade) {
            if !Arc::ptr_eq(&existing, &self.shared) {
                return Err(SignalingError::rejected(Status::with_text(
                    StatusCode::FORBIDDEN,
                    "address already registered by another endpoint on this transport",
                )));
            }
        }
        ids.insert(self.shared.key.clone(), Arc::downgrade(&self.shared));
        debug!(uri = %self.shared.uri, "registered");
        Ok(())
    }

    async fn unregister(&self) -> Result<(), SignalingError> {
        let mut ids = lock(&self.shared.transport.identities);
        if ids
            .get(&self.shared.key)
            .is_some_and(|w| w.as_ptr() == Arc::as_ptr(&self.shared))
        {
            ids.remove(&self.shared.key);
        }
        Ok(())
    }

    async fn invite(&self, leg: LegId, mut invite: Invite) -> Result<Answer, SignalingError> {
        if self.shared.closed.load(Ordering::Acquire) {
            return Err(SignalingError::closed());
        }
        invite.device = Some(self.shared.device.clone());
        session_stream::call(self.shared.clone(), leg, invite).await
    }

    async fn cancel(&self, leg: LegId) -> Result<(), SignalingError> {
        let commands = {
            let mut legs = lock(&self.shared.legs);
            match legs.get_mut(&leg) {
                Some(LegSlot::Connecting(trigger)) => {
                    if let Some(t) = trigger.take() {
                        let _ = t.send(());
                    }
                    None
                }
                Some(LegSlot::Open(entry)) => Some(entry.commands.clone()),
                None => None,
            }
        };
        if let Some(c) = commands {
            let _ = c.send(Command::Cancel).await;
        }
        Ok(())
    }

    async fn progress(&self, leg: LegId, progress: Progress) -> Result<(), SignalingError> {
        self.shared.command(leg, Command::Progress(progress)).await
    }

    async fn update(
        &self,
        leg: LegId,
        offer: SessionDescription,
    ) -> Result<SessionDescription, SignalingError> {
        let (tx, rx) = oneshot::channel();
        self.shared.command(leg, Command::Update(offer, tx)).await?;
        pending_answer(rx).await
    }

    async fn message(&self, leg: LegId, message: Message) -> Result<(), SignalingError> {
        let (tx, rx) = oneshot::channel();
        self.shared
            .command(leg, Command::Message(message, tx))
            .await?;
        pending_answer(rx).await
    }

    async fn composing(&self, leg: LegId, state: ComposingState) -> Result<(), SignalingError> {
        self.shared.command(leg, Command::Composing(state)).await
    }

    async fn terminate(&self, leg: LegId, reason: Reason) -> Result<(), SignalingError> {
        let commands = self.shared.commands(leg)?;
        self.shared.forget(leg);
        let status = match reason {
            Reason::NotSpecified => Status::ok(),
            other => other.status(),
        };
        let (tx, rx) = oneshot::channel();
        commands
            .send(Command::Terminate(status, tx))
            .await
            .map_err(|_| SignalingError::unknown_leg())?;
        let _ = rx.await;
        Ok(())
    }

    fn packet_path(&self, leg: LegId, flow_id: u64) -> Option<Arc<dyn PacketPath>> {
        datagram::open(&self.shared, leg, flow_id)
    }

    async fn shutdown(&self) {
        let _ = self.unregister().await;
        self.shared.closed.store(true, Ordering::Release);
        let slots: Vec<LegSlot> = lock(&self.shared.legs).drain().map(|(_, s)| s).collect();
        let mut done = Vec::new();
        for slot in slots {
            match slot {
                LegSlot::Connecting(Some(trigger)) => {
                    let _ = trigger.send(());
                }
                LegSlot::Connecting(None) => {}
                LegSlot::Open(entry) => {
                    let (tx, rx) = oneshot::channel();
                    let status =
                        Status::with_text(StatusCode::SERVICE_UNAVAILABLE, "peer shut down");
                    if entry
                        .commands
                        .try_send(Command::Terminate(status, tx))
                        .is_ok()
                    {
                        done.push(rx);
                    }
                }
            }
        }
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, async {
            for rx in done {
                let _ = rx.await;
            }
        })
        .await;
        debug!(uri = %self.shared.uri, "shut down");
    }
}
