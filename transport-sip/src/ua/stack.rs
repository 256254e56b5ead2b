//! The stack task: one per [`SipTransport`](super::SipTransport). It owns the
//! transaction layer and the legs of every attached endpoint, and is the only place
//! their state changes; everything else talks to it through [`Command`]s.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use session_core::contract::signaling::{
    Answer, ComposingState, Inbound, Invite, LegId, LocalIdentity, Message as ImMessage, Progress,
};
use session_core::description::SessionDescription;
use session_core::error::SignalingError;
use session_core::status::{Reason, Status};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

use super::config::SipConfig;
use super::leg::{Done, EndpointId, Leg};
use crate::transaction::{Event, Peer, TransactionKey, TransactionLayer};
use crate::transport::{Incoming, Target, TransportKind, TransportLayer};

/// What the stack task is asked to do.
#[derive(Debug)]
pub(crate) enum Command {
    Attach {
        identity: LocalIdentity,
        inbound: mpsc::Sender<Inbound>,
        done: oneshot::Sender<EndpointId>,
    },
    Detach {
        ep: EndpointId,
        done: oneshot::Sender<()>,
    },
    Register {
        ep: EndpointId,
        done: Done<()>,
    },
    Unregister {
        ep: EndpointId,
        done: Done<()>,
    },
    Invite {
        ep: EndpointId,
        leg: LegId,
        invite: Invite,
        done: Done<Answer>,
    },
    Cancel {
        leg: LegId,
        done: Done<()>,
    },
    Progress {
        leg: LegId,
        progress: Progress,
        done: Done<()>,
    },
    Update {
        leg: LegId,
        offer: SessionDescription,
        done: Done<SessionDescription>,
    },
    Message {
        leg: LegId,
        message: ImMessage,
        done: Done<()>,
    },
    Composing {
        leg: LegId,
        state: ComposingState,
        done: Done<()>,
    },
    Terminate {
        leg: LegId,
        reason: Reason,
        done: Done<()>,
    },
    /// Session-core answered an incoming INVITE (or the MESSAGE opening a pager leg).
    InviteAnswered {
        leg: LegId,
        result: Result<Answer, Status>,
    },
    /// Session-core answered an incoming re-INVITE.
    UpdateAnswered {
        leg: LegId,
        key: TransactionKey,
        result: Result<SessionDescription, Status>,
    },
    /// Session-core answered an incoming MESSAGE.
    MessageAnswered {
        key: TransactionKey,
        result: Result<(), Status>,
    },
    /// The §14.1 glare delay passed: send the re-INVITE again.
    RetryUpdate {
        leg: LegId,
        offer: SessionDescription,
        done: Done<SessionDescription>,
    },
}

/// An attached endpoint.
#[derive(Debug)]
pub(crate) struct Attached {
    pub(crate) identity: LocalIdentity,
    pub(crate) inbound: mpsc::Sender<Inbound>,
    /// RFC 5626 instance id, reported to peers as the device id.
    pub(crate) instance: String,
    /// The binding at the registrar, once `register` was called.
    pub(crate) registration: Option<super::registration::Registration>,
    /// Digest challenges received and the credentials answering them.
    pub(crate) digest: crate::auth::DigestClient,
}

/// What a client transaction was started for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    Register(EndpointId),
    Invite(LegId),
    ReInvite(LegId),
    Message(LegId),
    Bye(LegId),
    Cancel,
    Ack,
}

/// The stack's state; see the module docs.
pub(crate) struct Stack {
    pub(crate) config: SipConfig,
    pub(crate) transport: Arc<TransportLayer>,
    pub(crate) local: SocketAddr,
    pub(crate) txn: TransactionLayer,
    pub(crate) commands: mpsc::UnboundedSender<Command>,
    pub(crate) endpoints: HashMap<EndpointId, Attached>,
    pub(crate) next_endpoint: EndpointId,
    pub(crate) legs: HashMap<LegId, Leg>,
    /// (Call-ID, local tag) → leg, for requests inside a dialog or a pager exchange.
    pub(crate) by_dialog: HashMap<(String, String), LegId>,
    /// Call-ID → pager leg, for pager MESSAGEs without a To tag.
    pub(crate) pagers: HashMap<String, LegId>,
    pub(crate) purposes: HashMap<TransactionKey, Purpose>,
    /// Pager-mode MESSAGEs in flight, kept to answer a digest challenge.
    pub(crate) sent: HashMap<TransactionKey, crate::Request>,
    /// Incoming MESSAGE transactions waiting for session-core's answer.
    pub(crate) awaiting_answer: HashMap<TransactionKey, (LegId, crate::Request)>,
    /// 2xx retransmission deadlines (lazy: stale entries are skipped).
    pub(crate) retransmit_heap: BinaryHeap<Reverse<(Instant, LegId)>>,
    pub(crate) rng: rand::rngs::StdRng,
    /// Session-core's pending answers to inbound requests, polled by the loop (no task
    /// per request).
    pub(crate) waiters: FuturesUnordered<Pin<Box<dyn Future<Output = Command> + Send + Sync>>>,
}

impl Stack {
    /// The task's loop: network input, commands and timers, until every handle is gone.
    pub(crate) async fn run(
        mut self,
        mut incoming: mpsc::Receiver<Incoming>,
        mut commands: mpsc::UnboundedReceiver<Command>,
    ) {
        loop {
            let deadline = self.next_deadline();
            tokio::select! {
                biased;
                command = commands.recv() => match command {
                    Some(c) => self.on_command(c, Instant::now()).await,
                    None => break,
                },
                Some(answered) = self.waiters.next(), if !self.waiters.is_empty() => {
                    self.on_command(answered, Instant::now()).await;
                }
                received = incoming.recv() => match received {
                    Some(i) => self.on_incoming(i, Instant::now()).await,
                    None => break,
                },
                () = sleep_until(deadline) => self.on_timeout(Instant::now()).await,
            }
            self.flush(Instant::now()).await;
        }
        debug!("SIP stack stopped");
    }

    fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(Reverse((at, leg))) = self.retransmit_heap.peek().copied() {
            let live = self
                .legs
                .get(&leg)
                .and_then(|l| l.pending_2xx.as_ref())
                .and_then(|p| p.timer.poll_timeout())
                == Some(at);
            if live {
                break;
            }
            self.retransmit_heap.pop();
        }
        let retransmit = self.retransmit_heap.peek().map(|Reverse((at, _))| *at);
        [self.txn.poll_timeout(), retransmit, self.next_refresh()]
            .into_iter()
            .flatten()
            .min()
    }

    async fn on_timeout(&mut self, now: Instant) {
        self.txn.handle_timeout(now);
        self.refresh_registrations(now).await;
        while let Some(Reverse((at, leg))) = self.retransmit_heap.peek().copied() {
            if at > now {
                break;
            }
            self.retransmit_heap.pop();
            self.retransmit_2xx(leg, now).await;
        }
    }

    /// Sends what the transaction layer produced and handles its events, until quiet.
    pub(crate) async fn flush(&mut self, now: Instant) {
        loop {
            let mut busy = false;
            while let Some(t) = self.txn.poll_transmit() {
                busy = true;
                let target = self.target_for(t.destination);
                if let Err(e) = self.transport.send_payload(t.payload, &target).await {
                    debug!(error = %e, remote = %t.destination.addr, "send failed");
                    if let Some(key) = t.key {
                        self.txn.handle_transport_error(key);
                    }
                }
            }
            while let Some(event) = self.txn.poll_event() {
                busy = true;
                self.on_event(event, now).await;
            }
            if !busy {
                break;
            }
        }
    }

    /// The transport target for a transaction-layer peer.
    pub(crate) fn target_for(&self, peer: Peer) -> Target {
        match TransportKind::from_via(peer.transport).unwrap_or(self.config.transport) {
            TransportKind::Udp => Target::udp(peer.addr),
            TransportKind::Tcp => Target::tcp(peer.addr),
            TransportKind::Tls => Target::tls(peer.addr, peer.addr.ip().to_string()),
        }
    }

    async fn on_incoming(&mut self, incoming: Incoming, now: Instant) {
        let transport = match incoming.source.transport {
            TransportKind::Udp => crate::header::Transport::Udp,
            TransportKind::Tcp => crate::header::Transport::Tcp,
            TransportKind::Tls => crate::header::Transport::Tls,
        };
        let peer = Peer::new(incoming.source.remote, transport);
        self.txn.handle_message(incoming.message, peer, now);
    }

    async fn on_event(&mut self, event: Event, now: Instant) {
        match event {
            Event::IncomingRequest {
                key,
                request,
                source,
            } => self.on_request(key, request, source, now).await,
            Event::Cancel {
                key,
                invite,
                request,
                ..
            } => self.on_cancel(key, invite, &request, now),
            Event::Ack2xx { request, .. } => self.on_ack(&request),
            Event::Response { key, response } => self.on_response(key, response, now).await,
            Event::Stray2xx { response, .. } => self.on_stray_2xx(&response).await,
            Event::Timeout { key, .. } => {
                self.on_failure(key, SignalingError::timeout(), now).await
            }
            Event::TransportError { key } => {
                let error = SignalingError::rejected(Status::with_text(
                    session_core::StatusCode::SERVICE_UNAVAILABLE,
                    "transport error",
                ));
                self.on_failure(key, error, now).await;
            }
            Event::Terminated { key } => {
                self.purposes.remove(&key);
                self.sent.remove(&key);
            }
        }
    }

    async fn on_command(&mut self, command: Command, now: Instant) {
        match command {
            Command::Attach {
                identity,
                inbound,
                done,
            } => {
                let ep = self.next_endpoint;
                self.next_endpoint += 1;
                let instance = uuid::Uuid::new_v4().to_string();
                self.endpoints.insert(
                    ep,
                    Attached {
                        identity,
                        inbound,
                        instance,
                        registration: None,
                        digest: crate::auth::DigestClient::default(),
                    },
                );
                let _ = done.send(ep);
            }
            Command::Register { ep, done } => self.register(ep, done, now).await,
            Command::Unregister { ep, done } => self.unregister(ep, done, now).await,
            Command::Detach { ep, done } => {
                self.detach(ep, now).await;
                let _ = done.send(());
            }
            Command::Invite {
                ep,
                leg,
                invite,
                done,
            } => self.send_invite(ep, leg, invite, done, now).await,
            Command::Cancel { leg, done } => {
                let r = self.cancel(leg, now);
                let _ = done.send(r);
            }
            Command::Progress {
                leg,
                progress,
                done,
            } => {
                let r = self.send_progress(leg, &progress, now);
                let _ = done.send(r);
            }
            Command::Update { leg, offer, done } | Command::RetryUpdate { leg, offer, done } => {
                self.send_update(leg, offer, done, now).await;
            }
            Command::Message { leg, message, done } => {
                self.queue_message(leg, message.content_type, message.body, done, now)
                    .await;
            }
            Command::Composing { leg, state, done } => {
                let doc = match state {
                    ComposingState::Active => {
                        super::iscomposing::IsComposing::active(COMPOSING_REFRESH)
                    }
                    ComposingState::Idle => super::iscomposing::IsComposing::idle(),
                };
                self.queue_message(
                    leg,
                    super::iscomposing::CONTENT_TYPE.to_owned(),
                    doc.to_xml().into(),
                    done,
                    now,
                )
                .await;
            }
            Command::Terminate { leg, reason, done } => {
                self.terminate(leg, reason, done, now).await;
            }
            Command::InviteAnswered { leg, result } => {
                self.answer_invite(leg, result, now).await;
            }
            Command::UpdateAnswered { leg, key, result } => {
                self.answer_update(leg, key, result, now).await;
            }
            Command::MessageAnswered { key, result } => self.answer_message(key, result, now),
        }
    }

    /// Hands `inbound` to the endpoint's session-core router.
    pub(crate) fn deliver(&self, ep: EndpointId, inbound: Inbound) {
        let Some(attached) = self.endpoints.get(&ep) else {
            return;
        };
        match attached.inbound.try_send(inbound) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(inbound)) => {
                // Session-core is behind: wait for room without stalling the stack.
                warn!("inbound queue full; delivering asynchronously");
                let tx = attached.inbound.clone();
                tokio::spawn(async move {
                    let _ = tx.send(inbound).await;
                });
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    async fn detach(&mut self, ep: EndpointId, now: Instant) {
        let legs: Vec<LegId> = self
            .legs
            .values()
            .filter(|l| l.ep == ep)
            .map(|l| l.id)
            .collect();
        for leg in legs {
            let (done, _rx) = oneshot::channel();
            self.terminate(leg, Reason::NotSpecified, done, now).await;
            self.forget(leg);
        }
        self.endpoints.remove(&ep);
    }

    /// Removes every trace of a leg.
    pub(crate) fn forget(&mut self, leg: LegId) {
        if let Some(l) = self.legs.remove(&leg) {
            self.by_dialog
                .remove(&(l.call_id.clone(), l.local_tag.clone()));
            if self.pagers.get(&l.call_id) == Some(&leg) {
                self.pagers.remove(&l.call_id);
            }
        }
    }
}

/// How often an active composing state is refreshed (RFC 3994 `refresh`).
pub(crate) const COMPOSING_REFRESH: std::time::Duration = std::time::Duration::from_secs(60);

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}
