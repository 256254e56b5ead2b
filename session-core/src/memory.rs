//! The in-memory transport: endpoints of one process connected by a [`MemoryNetwork`].
//!
//! It implements the whole signaling contract — registration in a directory keyed by
//! `user@host`, invitations with progress, answers and cancellation (including a
//! cancel that crosses an answer, which it resolves as SIP does: the answered leg is
//! hung up), in-session offers, messages with delivery results, composing
//! indications and hang-ups — with channels instead of sockets, and it carries media
//! itself: each media line of a leg has a [`PacketPath`] of datagrams to the same
//! line of the peer's leg. It is the reference
//! transport of the conformance suite and the fastest way to test an application.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, Weak};

use std::task::{Context as TaskContext, Poll};

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use crate::contract::media::{PacketPath, PacketPathError};
use crate::contract::signaling::{
    Answer, ComposingState, Inbound, Invite, LegId, LocalIdentity, Message, Progress, Reply,
    SignalingEndpoint, SignalingTransport,
};
use crate::description::SessionDescription;
use crate::error::{SignalingError, SignalingErrorKind};
use crate::lock;
use crate::status::{Reason, Status, StatusCode};
use crate::uri::{Scheme, Uri};

const SCHEMES: &[Scheme] = &[Scheme::Sip, Scheme::Sips, Scheme::Tel, Scheme::Quic];

struct Station {
    key: String,
    /// This attachment's device id.
    device: String,
    inbound: mpsc::Sender<Inbound>,
}

#[derive(Default)]
struct Net {
    directory: Mutex<HashMap<String, Weak<Station>>>,
    /// Each leg's far end: the peer station and the peer's leg id.
    links: Mutex<HashMap<LegId, (Weak<Station>, LegId)>>,
    /// Receive queues of media flows, by (leg, flow id).
    inboxes: Mutex<HashMap<(LegId, u64), mpsc::Sender<Bytes>>>,
}

/// Largest datagram a memory packet path carries (a typical QUIC datagram budget).
pub const PATH_MTU: usize = 1200;
/// Datagrams queued per flow before new ones are dropped, as a congested network would.
pub const PATH_QUEUE: usize = 1024;

/// Media flow `flow` of one leg over the memory network: datagrams go to the same flow
/// of the peer's leg. Until the peer opened its side (or while its queue is full),
/// datagrams are dropped, as on a network.
struct MemoryPath {
    net: Weak<Net>,
    leg: LegId,
    flow: u64,
    rx: Mutex<mpsc::Receiver<Bytes>>,
}

impl fmt::Debug for MemoryPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryPath")
            .field("leg", &self.leg)
            .field("flow", &self.flow)
            .finish()
    }
}

impl PacketPath for MemoryPath {
    fn send(&self, packet: Bytes) -> Result<(), PacketPathError> {
        if packet.len() > PATH_MTU {
            return Err(PacketPathError::TooLarge {
                len: packet.len(),
                max: PATH_MTU,
            });
        }
        let net = self.net.upgrade().ok_or(PacketPathError::Closed)?;
        let peer_leg = lock(&net.links).get(&self.leg).map(|(_, l)| *l);
        let inbox = peer_leg.and_then(|l| lock(&net.inboxes).get(&(l, self.flow)).cloned());
        if let Some(inbox) = inbox {
            // A full or closed queue drops the datagram, as a network would.
            let _ = inbox.try_send(packet);
        }
        Ok(())
    }

    fn poll_recv(&self, cx: &mut TaskContext<'_>) -> Poll<Result<Bytes, PacketPathError>> {
        lock(&self.rx)
            .poll_recv(cx)
            .map(|p| p.ok_or(PacketPathError::Closed))
    }

    fn max_packet_size(&self) -> usize {
        PATH_MTU
    }
}

impl Drop for MemoryPath {
    fn drop(&mut self) {
        if let Some(net) = self.net.upgrade() {
            lock(&net.inboxes).remove(&(self.leg, self.flow));
        }
    }
}

/// A network of in-memory endpoints. Clone it to share it.
#[derive(Clone, Default)]
pub struct MemoryNetwork {
    net: Arc<Net>,
}

impl fmt::Debug for MemoryNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryNetwork")
            .field("registered", &lock(&self.net.directory).len())
            .field("legs", &lock(&self.net.links).len())
            .finish()
    }
}

impl MemoryNetwork {
    /// An empty network.
    pub fn new() -> Self {
        Self::default()
    }

    /// A transport on this network, named `"memory"`, serving every scheme.
    pub fn transport(&self) -> MemoryTransport {
        MemoryTransport {
            net: self.net.clone(),
        }
    }

    /// Number of legs currently linked (two per established or pending session leg).
    pub fn linked_legs(&self) -> usize {
        lock(&self.net.links).len()
    }
}

/// The transport of a [`MemoryNetwork`].
#[derive(Clone)]
pub struct MemoryTransport {
    net: Arc<Net>,
}

impl fmt::Debug for MemoryTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MemoryTransport")
    }
}

#[async_trait]
impl SignalingTransport for MemoryTransport {
    fn name(&self) -> &str {
        "memory"
    }

    fn schemes(&self) -> &[Scheme] {
        SCHEMES
    }

    async fn attach(
        &self,
        identity: LocalIdentity,
        inbound: mpsc::Sender<Inbound>,
    ) -> Result<Arc<dyn SignalingEndpoint>, SignalingError> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let station = Arc::new(Station {
            key: identity.uri.user_at_host(),
            device: format!("memory-{n}"),
            inbound,
        });
        Ok(Arc::new(MemoryEndpoint {
            net: self.net.clone(),
            station,
            pending: Mutex::new(HashMap::new()),
        }))
    }
}

struct MemoryEndpoint {
    net: Arc<Net>,
    station: Arc<Station>,
    /// Cancel triggers of invitations awaiting their answer.
    pending: Mutex<HashMap<LegId, oneshot::Sender<()>>>,
}

impl fmt::Debug for MemoryEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryEndpoint")
            .field("key", &self.station.key)
            .finish()
    }
}

fn unavailable(text: &str) -> SignalingError {
    SignalingError::rejected(Status::with_text(StatusCode::TEMPORARILY_UNAVAILABLE, text))
}

impl MemoryEndpoint {
    fn peer(&self, leg: LegId) -> Result<(Arc<Station>, LegId), SignalingError> {
        let links = lock(&self.net.links);
        let (station, peer_leg) = links.get(&leg).ok_or_else(SignalingError::unknown_leg)?;
        let station = station.upgrade().ok_or_else(|| unavailable("peer gone"))?;
        Ok((station, *peer_leg))
    }

    fn unlink(&self, leg: LegId) -> Option<(Weak<Station>, LegId)> {
        let mut links = lock(&self.net.links);
        let far = links.remove(&leg)?;
        links.remove(&far.1);
        Some(far)
    }

    async fn deliver(station: &Station, inbound: Inbound) -> Result<(), SignalingError> {
        station
            .inbound
            .send(inbound)
            .await
            .map_err(|_| unavailable("peer not listening"))
    }

    async fn request<T: Send + 'static>(
        &self,
        leg: LegId,
        make: impl FnOnce(LegId, Reply<T>) -> Inbound,
    ) -> Result<T, SignalingError> {
        let (station, peer_leg) = self.peer(leg)?;
        let (reply, rx) = Reply::channel();
        Self::deliver(&station, make(peer_leg, reply)).await?;
        rx.await.map_err(SignalingError::rejected)
    }
}

#[async_trait]
impl SignalingEndpoint for MemoryEndpoint {
    async fn register(&self) -> Result<(), SignalingError> {
        let mut dir = lock(&self.net.directory);
        if let Some(existing) = dir.get(&self.station.key).and_then(Weak::upgrade) {
            if !Arc::ptr_eq(&existing, &self.station) {
                return Err(SignalingError::rejected(Status::with_text(
                    StatusCode::FORBIDDEN,
                    "address already registered by another endpoint",
                )));
            }
        }
        dir.insert(self.station.key.clone(), Arc::downgrade(&self.station));
        Ok(())
    }

    async fn unregister(&self) -> Result<(), SignalingError> {
        let mut dir = lock(&self.net.directory);
        if dir
            .get(&self.station.key)
            .is_some_and(|w| w.as_ptr() == Arc::as_ptr(&self.station))
        {
            dir.remove(&self.station.key);
        }
        Ok(())
    }

    async fn invite(&self, leg: LegId, mut invite: Invite) -> Result<Answer, SignalingError> {
        invite.device = Some(self.station.device.clone());
        let target = lock(&self.net.directory)
            .get(&invite.to.user_at_host())
            .and_then(Weak::upgrade);
        let Some(target) = target else {
            return Err(unavailable("not registered"));
        };
        let peer_leg = LegId::next();
        {
            let mut links = lock(&self.net.links);
            links.insert(leg, (Arc::downgrade(&target), peer_leg));
            links.insert(peer_leg, (Arc::downgrade(&self.station), leg));
        }
        let (cancel_tx, cancel_rx) = oneshot::channel();
        lock(&self.pending).insert(leg, cancel_tx);
        let (reply, mut rx) = Reply::<Answer>::channel();
        let sent = Self::deliver(
            &target,
            Inbound::Invite {
                leg: peer_leg,
                invite,
                reply,
            },
        )
        .await;
        if let Err(e) = sent {
            lock(&self.pending).remove(&leg);
            self.unlink(leg);
            return Err(e);
        }
        let outcome = tokio::select! {
            answer = &mut rx => Some(answer),
            _ = cancel_rx => None,
        };
        lock(&self.pending).remove(&leg);
        match outcome {
            Some(Ok(mut answer)) => {
                answer.device = Some(target.device.clone());
                Ok(answer)
            }
            Some(Err(status)) => {
                self.unlink(leg);
                Err(SignalingError::rejected(status))
            }
            None => {
                let _ = Self::deliver(&target, Inbound::Cancelled { leg: peer_leg }).await;
                drop(rx);
                // An answer that crossed the cancel: hang the answered leg up (RFC 3261 §9.1).
                self.unlink(leg);
                let _ = Self::deliver(
                    &target,
                    Inbound::Terminated {
                        leg: peer_leg,
                        status: Status::new(StatusCode::REQUEST_TERMINATED),
                    },
                )
                .await;
                Err(SignalingError::cancelled())
            }
        }
    }

    async fn cancel(&self, leg: LegId) -> Result<(), SignalingError> {
        if let Some(tx) = lock(&self.pending).remove(&leg) {
            let _ = tx.send(());
        }
        Ok(())
    }

    async fn progress(&self, leg: LegId, progress: Progress) -> Result<(), SignalingError> {
        let (station, peer_leg) = self.peer(leg)?;
        Self::deliver(
            &station,
            Inbound::Progress {
                leg: peer_leg,
                progress,
            },
        )
        .await
    }

    async fn update(
        &self,
        leg: LegId,
        offer: SessionDescription,
    ) -> Result<SessionDescription, SignalingError> {
        self.request(leg, |leg, reply| Inbound::Update { leg, offer, reply })
            .await
    }

    async fn message(&self, leg: LegId, message: Message) -> Result<(), SignalingError> {
        self.request(leg, |leg, reply| Inbound::Message {
            leg,
            message,
            reply,
        })
        .await
    }

    async fn composing(&self, leg: LegId, state: ComposingState) -> Result<(), SignalingError> {
        let (station, peer_leg) = self.peer(leg)?;
        Self::deliver(
            &station,
            Inbound::Composing {
                leg: peer_leg,
                state,
            },
        )
        .await
    }

    async fn terminate(&self, leg: LegId, reason: Reason) -> Result<(), SignalingError> {
        let (station, peer_leg) = self.unlink(leg).ok_or_else(SignalingError::unknown_leg)?;
        let station = station.upgrade().ok_or_else(|| unavailable("peer gone"))?;
        let status = match reason {
            Reason::NotSpecified => Status::ok(),
            other => other.status(),
        };
        Self::deliver(
            &station,
            Inbound::Terminated {
                leg: peer_leg,
                status,
            },
        )
        .await
    }

    fn packet_path(&self, leg: LegId, flow_id: u64) -> Option<Arc<dyn PacketPath>> {
        let (tx, rx) = mpsc::channel(PATH_QUEUE);
        lock(&self.net.inboxes).insert((leg, flow_id), tx);
        Some(Arc::new(MemoryPath {
            net: Arc::downgrade(&self.net),
            leg,
            flow: flow_id,
            rx: Mutex::new(rx),
        }))
    }

    async fn shutdown(&self) {
        let _ = self.unregister().await;
        let mine: Vec<(LegId, Weak<Station>, LegId)> = {
            let links = lock(&self.net.links);
            links
                .iter()
                .filter(|(_, (peer, _))| peer.as_ptr() != Arc::as_ptr(&self.station))
                .filter(|(leg, _)| {
                    // Our legs are those whose far end points back at us.
                    links
                        .get(leg)
                        .and_then(|(_, pl)| links.get(pl))
                        .is_some_and(|(s, _)| s.as_ptr() == Arc::as_ptr(&self.station))
                })
                .map(|(leg, (peer, pl))| (*leg, peer.clone(), *pl))
                .collect()
        };
        for (leg, peer, peer_leg) in mine {
            self.unlink(leg);
            if let Some(peer) = peer.upgrade() {
                let status = Status::with_text(StatusCode::SERVICE_UNAVAILABLE, "peer shut down");
                let _ = Self::deliver(
                    &peer,
                    Inbound::Terminated {
                        leg: peer_leg,
                        status,
                    },
                )
                .await;
            }
        }
    }
}

impl SignalingError {
    /// Whether the error is a cancellation.
    pub fn is_cancelled(&self) -> bool {
        self.kind == SignalingErrorKind::Cancelled
    }
}

/// The address a [`MemoryNetwork`] keys an endpoint by.
pub fn directory_key(uri: &Uri) -> String {
    uri.user_at_host()
}
