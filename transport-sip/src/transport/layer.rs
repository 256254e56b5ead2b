//! [`TransportLayer`]: binds listeners, owns connections, delivers [`Incoming`]
//! messages and sends requests and responses by the rules of RFC 3261 §18.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::Instrument;

use super::connection_pool::{ConnectionHandle, ConnectionPool, Outbound};
use super::routing::{
    Route, RouteError, RouteHost, must_use_stream, request_route, response_route,
    set_top_via_transport,
};
use super::udp::MAX_DATAGRAM;
use super::{
    ConnectionId, Incoming, Source, Target, TransportConfig, TransportError, TransportKind,
};
use crate::{Host, Message, Request, Response, Uri};

/// Pause after a failed `accept` (e.g. EMFILE) so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// State shared by the layer and its tasks.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: TransportConfig,
    pub(crate) incoming: mpsc::Sender<Incoming>,
    pool: Mutex<ConnectionPool>,
    udp: RwLock<Vec<(SocketAddr, Arc<UdpSocket>)>>,
    /// Inbound TLS handshakes in progress; they count toward the connection limit.
    handshakes: AtomicUsize,
    /// Resolves (with an error) when the [`TransportLayer`] is dropped.
    pub(crate) shutdown: watch::Receiver<()>,
}

impl Shared {
    pub(crate) fn pool(&self) -> MutexGuard<'_, ConnectionPool> {
        // The pool's maps stay consistent even if a holder panicked mid-call.
        self.pool.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How a message left: transport, addresses and, for TCP/TLS, the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// The transport used (TCP when a large request left UDP).
    pub transport: TransportKind,
    /// The remote address.
    pub remote: SocketAddr,
    /// The local address it left from.
    pub local: SocketAddr,
    /// The connection, for TCP and TLS.
    pub connection: Option<ConnectionId>,
}

/// The SIP transport layer (RFC 3261 §18): UDP, TCP and TLS listeners and connections.
///
/// Create it with [`TransportLayer::new`], which also returns the receiver of every
/// inbound message; [`bind`](Self::bind) listeners; send with
/// [`send_request`](Self::send_request), [`send_response`](Self::send_response) or
/// [`send`](Self::send). Dropping the layer stops all its tasks and closes its sockets.
#[derive(Debug)]
pub struct TransportLayer {
    shared: Arc<Shared>,
    listeners: Mutex<Vec<(TransportKind, SocketAddr)>>,
    _shutdown: watch::Sender<()>,
}

impl TransportLayer {
    /// A layer with no listeners yet, and the bounded receiver of its inbound messages.
    pub fn new(config: TransportConfig) -> (TransportLayer, mpsc::Receiver<Incoming>) {
        let (tx, rx) = mpsc::channel(config.channel_capacity);
        let (shutdown_tx, shutdown_rx) = watch::channel(());
        let shared = Arc::new(Shared {
            pool: Mutex::new(ConnectionPool::new(config.max_connections)),
            config,
            incoming: tx,
            udp: RwLock::new(Vec::new()),
            handshakes: AtomicUsize::new(0),
            shutdown: shutdown_rx,
        });
        let layer = TransportLayer {
            shared,
            listeners: Mutex::new(Vec::new()),
            _shutdown: shutdown_tx,
        };
        (layer, rx)
    }

    /// Binds a UDP socket or a TCP/TLS listener on `addr` (port 0 picks a free port) and
    /// starts receiving on it. Returns the bound address.
    pub async fn bind(
        &self,
        kind: TransportKind,
        addr: SocketAddr,
    ) -> Result<SocketAddr, TransportError> {
        let bind_err = |source| TransportError::Bind { kind, addr, source };
        let local = match kind {
            TransportKind::Udp => {
                let socket = Arc::new(UdpSocket::bind(addr).await.map_err(bind_err)?);
                if let Some(bytes) = self.shared.config.udp_buffer {
                    let sock = socket2::SockRef::from(&*socket);
                    if let Err(e) = sock
                        .set_recv_buffer_size(bytes)
                        .and_then(|()| sock.set_send_buffer_size(bytes))
                    {
                        tracing::warn!(bytes, error = %e, "UDP buffer size not set");
                    }
                }
                let local = socket.local_addr().map_err(bind_err)?;
                self.udp_sockets().push((local, socket.clone()));
                let span = tracing::debug_span!("sip_udp", %local);
                tokio::spawn(super::udp::run(socket, self.shared.clone(), local).instrument(span));
                local
            }
            TransportKind::Tcp | TransportKind::Tls => {
                let acceptor = match kind {
                    TransportKind::Tls => Some(
                        self.shared
                            .config
                            .tls
                            .as_ref()
                            .and_then(|t| t.acceptor())
                            .ok_or(TransportError::TlsNotConfigured {
                                detail: ": a TLS listener needs TlsConfig::with_identity",
                            })?,
                    ),
                    _ => None,
                };
                let listener = TcpListener::bind(addr).await.map_err(bind_err)?;
                let local = listener.local_addr().map_err(bind_err)?;
                let span = tracing::debug_span!("sip_listener", %kind, %local);
                tokio::spawn(
                    accept_loop(listener, kind, local, acceptor, self.shared.clone())
                        .instrument(span),
                );
                local
            }
        };
        tracing::info!(%kind, %local, "listening");
        self.listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((kind, local));
        Ok(local)
    }

    /// Every bound socket and listener, in bind order.
    pub fn listeners(&self) -> Vec<(TransportKind, SocketAddr)> {
        self.listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The first bound address of `kind` in the address family of `ipv6`; use it as the
    /// Via sent-by of outgoing requests.
    pub fn local_addr(&self, kind: TransportKind, ipv6: bool) -> Option<SocketAddr> {
        self.listeners()
            .into_iter()
            .find(|(k, a)| *k == kind && a.is_ipv6() == ipv6)
            .map(|(_, a)| a)
    }

    /// Open TCP and TLS connections, inbound and outbound.
    pub fn connection_count(&self) -> usize {
        self.shared.pool().len()
    }

    /// Sends a request to `target`, following RFC 3261 §18.1.1: a UDP request larger
    /// than the size threshold goes over TCP to the same address instead, with its top
    /// Via changed to TCP (back to UDP if the TCP connect fails). An open connection to
    /// the target is reused. `request` is left as sent.
    pub async fn send_request(
        &self,
        request: &mut Request,
        target: &Target,
    ) -> Result<Sent, TransportError> {
        let config = &self.shared.config;
        let bytes = request.to_bytes();
        if target.transport == TransportKind::Udp
            && config.tcp_for_large_requests
            && must_use_stream(bytes.len(), config.udp_size_threshold)
        {
            let mut over_tcp = request.clone();
            set_top_via_transport(&mut over_tcp, TransportKind::Tcp);
            let tcp = Target::tcp(target.addr);
            match self.send_bytes(over_tcp.to_bytes(), &tcp, None).await {
                Ok(sent) => {
                    tracing::debug!(size = bytes.len(), remote = %target.addr, "large request sent over TCP");
                    *request = over_tcp;
                    return Ok(sent);
                }
                Err(
                    error
                    @ (TransportError::Connect { .. } | TransportError::ConnectTimeout { .. }),
                ) => {
                    // §18.1.1: on a connection failure the element SHOULD retry with UDP.
                    tracing::debug!(%error, "TCP failed for a large request; using UDP");
                }
                Err(error) => return Err(error),
            }
        }
        self.send_bytes(bytes, target, None).await
    }

    /// Sends a response by RFC 3261 §18.2.2. `source` is the [`Source`] of the request:
    /// when it names a connection that is still open, the response goes back on it.
    /// Otherwise the top Via decides: reliable transports connect to `received` (or the
    /// sent-by host) at the sent-by port; UDP goes to `maddr`, else `received` and
    /// `rport`, else sent-by, from the socket the request arrived on.
    pub async fn send_response(
        &self,
        response: &Response,
        source: Option<&Source>,
    ) -> Result<Sent, TransportError> {
        let bytes = response.to_bytes();
        if let Some(id) = source.and_then(|s| s.connection) {
            let handle = self.shared.pool().get(id);
            if let Some(handle) = handle {
                if handle.tx.send(Outbound::Data(bytes.clone())).await.is_ok() {
                    return Ok(sent_on(&handle));
                }
            }
            tracing::debug!(%id, "request's connection is gone; routing by Via");
        }
        let via = response.top_via().ok_or(RouteError::NoVia)?;
        let route = response_route(via)?;
        let addr = self.resolve(&route).await?;
        let target = Target {
            transport: route.transport,
            addr,
            server_name: match &route.host {
                RouteHost::Domain(d) => Some(d.clone()),
                RouteHost::Ip(_) => None,
            },
        };
        let local = source
            .filter(|s| s.transport == TransportKind::Udp)
            .map(|s| s.local);
        self.send_bytes(bytes, &target, local).await
    }

    /// Sends `message` as it is to `target` (no §18 rewriting), reusing an open
    /// connection for TCP and TLS.
    pub async fn send(&self, message: &Message, target: &Target) -> Result<Sent, TransportError> {
        self.send_bytes(message.to_bytes(), target, None).await
    }

    /// Sends an already serialized message to `target` as it is, reusing an open
    /// connection for TCP and TLS: the call for a sans-IO layer's output (e.g. a
    /// transaction layer's `Transmit` payload).
    pub async fn send_payload(
        &self,
        payload: Bytes,
        target: &Target,
    ) -> Result<Sent, TransportError> {
        self.send_bytes(payload, target, None).await
    }

    /// Sends an RFC 5626 §3.5.1 CRLFCRLF keep-alive on the connection to `target`
    /// (opening it if needed) and waits up to `wait` for the CRLF pong.
    pub async fn keep_alive(&self, target: &Target, wait: Duration) -> Result<(), TransportError> {
        if target.transport == TransportKind::Udp {
            return Err(TransportError::KeepAliveOnUdp);
        }
        let handle = self.connection_to(target).await?;
        let (tx, rx) = oneshot::channel();
        let closed = || TransportError::ConnectionClosed { addr: target.addr };
        handle
            .tx
            .send(Outbound::Ping(tx))
            .await
            .map_err(|_| closed())?;
        match tokio::time::timeout(wait, rx).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(closed()),
            Err(_) => Err(TransportError::KeepAliveTimeout {
                addr: target.addr,
                after: wait,
            }),
        }
    }

    /// The target for a request to `uri` by [`request_route`](super::routing::request_route):
    /// `sips:` or `transport=tls` → TLS, `transport=tcp` → TCP, else UDP; default ports
    /// 5060/5061; names resolved with the system resolver. A TLS target verifies the
    /// certificate against the URI's host.
    pub async fn target_for_uri(&self, uri: &Uri) -> Result<Target, TransportError> {
        let route = request_route(uri)?;
        let addr = self.resolve(&route).await?;
        let server_name = match (route.transport, uri.host()) {
            (TransportKind::Tls, Some(Host::Domain(d))) => Some(d.to_owned()),
            (TransportKind::Tls, Some(Host::Ipv4(a))) => Some(a.to_string()),
            (TransportKind::Tls, Some(Host::Ipv6(a))) => Some(a.to_string()),
            _ => None,
        };
        Ok(Target {
            transport: route.transport,
            addr,
            server_name,
        })
    }

    /// The address for a route: the IP address, or the first address the system resolver
    /// returns for the name.
    pub async fn resolve(&self, route: &Route) -> Result<SocketAddr, TransportError> {
        match &route.host {
            RouteHost::Ip(ip) => Ok(SocketAddr::new(*ip, route.port)),
            RouteHost::Domain(name) => {
                let resolve_err = |source| TransportError::Resolve {
                    host: name.clone(),
                    source,
                };
                let mut addrs = tokio::net::lookup_host((name.as_str(), route.port))
                    .await
                    .map_err(resolve_err)?;
                addrs.next().ok_or_else(|| {
                    resolve_err(std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "no addresses",
                    ))
                })
            }
        }
    }

    async fn send_bytes(
        &self,
        bytes: Bytes,
        target: &Target,
        udp_local: Option<SocketAddr>,
    ) -> Result<Sent, TransportError> {
        if target.transport == TransportKind::Udp {
            return self.send_udp(&bytes, target.addr, udp_local).await;
        }
        // One retry: a pooled connection may close between lookup and send.
        for _ in 0..2 {
            let handle = self.connection_to(target).await?;
            if handle.tx.send(Outbound::Data(bytes.clone())).await.is_ok() {
                return Ok(sent_on(&handle));
            }
            self.shared.pool().remove(handle.id);
        }
        Err(TransportError::ConnectionClosed { addr: target.addr })
    }

    async fn send_udp(
        &self,
        bytes: &[u8],
        addr: SocketAddr,
        prefer_local: Option<SocketAddr>,
    ) -> Result<Sent, TransportError> {
        if bytes.len() > MAX_DATAGRAM {
            return Err(TransportError::DatagramTooLarge { size: bytes.len() });
        }
        let (local, socket, dest) = {
            let sockets = self.udp_sockets();
            let same_family =
                |(l, _): &&(SocketAddr, Arc<UdpSocket>)| l.is_ipv6() == addr.is_ipv6();
            let chosen = sockets
                .iter()
                .filter(same_family)
                .find(|(l, _)| Some(*l) == prefer_local)
                .or_else(|| sockets.iter().find(same_family));
            match (chosen, addr) {
                (Some((l, s)), _) => (*l, s.clone(), addr),
                // An IPv4 peer reached through a dual-stack socket bound to [::].
                (None, SocketAddr::V4(v4)) => sockets
                    .iter()
                    .find(|(l, _)| l.ip() == IpAddr::V6(Ipv6Addr::UNSPECIFIED))
                    .map(|(l, s)| {
                        let mapped = IpAddr::V6(v4.ip().to_ipv6_mapped());
                        (*l, s.clone(), SocketAddr::new(mapped, v4.port()))
                    })
                    .ok_or(TransportError::NoUdpSocket { addr })?,
                (None, SocketAddr::V6(_)) => return Err(TransportError::NoUdpSocket { addr }),
            }
        };
        socket
            .send_to(bytes, dest)
            .await
            .map_err(|source| TransportError::Send {
                kind: TransportKind::Udp,
                addr,
                source,
            })?;
        Ok(Sent {
            transport: TransportKind::Udp,
            remote: addr,
            local,
            connection: None,
        })
    }

    /// The open connection to `target`, or a new one (TCP connect plus TLS handshake,
    /// bounded by the connect timeout).
    async fn connection_to(&self, target: &Target) -> Result<ConnectionHandle, TransportError> {
        let kind = target.transport;
        let addr = target.addr;
        {
            let pool = self.shared.pool();
            if let Some(handle) = pool.find(kind, addr) {
                if !handle.tx.is_closed() {
                    return Ok(handle);
                }
            }
            if pool.is_full() {
                return Err(TransportError::ConnectionLimit {
                    limit: pool.max(),
                    addr,
                });
            }
        }
        let tls = match kind {
            TransportKind::Tls => Some(self.shared.config.tls.clone().ok_or(
                TransportError::TlsNotConfigured {
                    detail: ": sending over TLS needs TransportConfig::with_tls",
                },
            )?),
            _ => None,
        };
        let after = self.shared.config.connect_timeout;
        let connect = async {
            let tcp = TcpStream::connect(addr)
                .await
                .map_err(|source| TransportError::Connect { kind, addr, source })?;
            let _ = tcp.set_nodelay(true);
            let local = tcp.local_addr().map_err(|source| TransportError::Connect {
                kind,
                addr,
                source,
            })?;
            let started = match tls {
                None => start_connection(&self.shared, tcp, kind, addr, local),
                Some(tls) => {
                    let stream = tls
                        .connect(tcp, addr, target.server_name.as_deref())
                        .await?;
                    start_connection(&self.shared, stream, kind, addr, local)
                }
            };
            started.ok_or_else(|| TransportError::ConnectionLimit {
                limit: self.shared.pool().max(),
                addr,
            })
        };
        match tokio::time::timeout(after, connect).await {
            Ok(result) => {
                if let Ok(handle) = &result {
                    tracing::debug!(%kind, remote = %addr, id = %handle.id, "connected");
                }
                result
            }
            Err(_) => Err(TransportError::ConnectTimeout { kind, addr, after }),
        }
    }

    fn udp_sockets(&self) -> std::sync::RwLockWriteGuard<'_, Vec<(SocketAddr, Arc<UdpSocket>)>> {
        self.shared
            .udp
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

fn sent_on(handle: &ConnectionHandle) -> Sent {
    Sent {
        transport: handle.kind,
        remote: handle.remote,
        local: handle.local,
        connection: Some(handle.id),
    }
}

/// Registers a connection and spawns its task; `None` (and the stream dropped, which
/// closes it) when the pool is full.
fn start_connection<S>(
    shared: &Arc<Shared>,
    stream: S,
    kind: TransportKind,
    remote: SocketAddr,
    local: SocketAddr,
) -> Option<ConnectionHandle>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (tx, rx) = mpsc::channel(shared.config.write_queue);
    let handle = shared.pool().insert(kind, remote, local, tx)?;
    let source = Source {
        transport: kind,
        remote,
        local,
        connection: Some(handle.id),
    };
    let span = tracing::debug_span!("sip_connection", id = %handle.id, %kind, %remote, %local);
    tokio::spawn(
        super::stream::run(stream, shared.clone(), handle.id, source, rx).instrument(span),
    );
    Some(handle)
}

/// Accepts connections until the layer is dropped. Past the connection limit a new
/// connection is closed at once; TLS handshakes run in their own task, bounded by the
/// connect timeout.
async fn accept_loop(
    listener: TcpListener,
    kind: TransportKind,
    listen_addr: SocketAddr,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<Shared>,
) {
    let mut shutdown = shared.shutdown.clone();
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(error) => {
                    // E.g. out of file descriptors: back off briefly instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let in_use = shared.pool().len() + shared.handshakes.load(Ordering::Relaxed);
        if in_use >= shared.config.max_connections {
            tracing::warn!(%remote, "connection limit reached; refusing connection");
            continue;
        }
        let _ = tcp.set_nodelay(true);
        let local = tcp.local_addr().unwrap_or(listen_addr);
        match &acceptor {
            None => {
                if start_connection(&shared, tcp, kind, remote, local).is_none() {
                    tracing::warn!(%remote, "connection limit reached; refusing connection");
                }
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                let shared = shared.clone();
                let after = shared.config.connect_timeout;
                let mut shutdown = shared.shutdown.clone();
                shared.handshakes.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(
                    async move {
                        let handshake = tokio::select! {
                            r = tokio::time::timeout(after, acceptor.accept(tcp)) => Some(r),
                            _ = shutdown.changed() => None,
                        };
                        shared.handshakes.fetch_sub(1, Ordering::Relaxed);
                        let Some(handshake) = handshake else { return };
                        match handshake {
                            Ok(Ok(tls)) => {
                                if start_connection(&shared, tls, kind, remote, local).is_none() {
                                    tracing::warn!("connection limit reached; refusing");
                                }
                            }
                            Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
                            Err(_) => tracing::debug!(?after, "TLS handshake timed out"),
                        }
                    }
                    .instrument(tracing::debug_span!("sip_tls_accept", %remote)),
                );
            }
        }
    }
}
