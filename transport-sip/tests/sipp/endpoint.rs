//! Test support for `tests/sipp_interop.rs`: a small SIP endpoint that drives the sans-IO
//! [`TransactionLayer`] with a [`TransportLayer`] (the run loop the transaction module's
//! docs describe), plus a responder and a client built on it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use transport_sip::transaction::{Config, Event, Peer, TransactionLayer, response_for};
use transport_sip::transport::{Incoming, Source, Target, TransportKind, TransportLayer};
use transport_sip::{Method, Request, Response, StatusCode};

use crate::responder::Seen;

/// The transaction layer's view of where a message came from.
fn peer(source: &Source) -> Peer {
    Peer::new(source.remote, source.transport.into())
}

/// Where a transaction layer's output goes. TLS targets carry no server name: they are
/// answered on the connection the request came on.
fn target(peer: &Peer) -> Option<Target> {
    let transport = TransportKind::from_via(peer.transport)?;
    Some(Target {
        transport,
        addr: peer.addr,
        server_name: None,
    })
}

/// A [`TransactionLayer`] fed by a [`TransportLayer`].
pub(crate) struct Endpoint {
    transport: Arc<TransportLayer>,
    incoming: mpsc::Receiver<Incoming>,
    transactions: TransactionLayer,
}

impl Endpoint {
    pub(crate) fn new(transport: Arc<TransportLayer>, incoming: mpsc::Receiver<Incoming>) -> Self {
        Endpoint {
            transport,
            incoming,
            transactions: TransactionLayer::new(Config::default()),
        }
    }

    pub(crate) fn transactions(&mut self) -> &mut TransactionLayer {
        &mut self.transactions
    }

    /// Writes every queued transmit; a failed send is reported to its transaction.
    async fn flush(&mut self) {
        while let Some(transmit) = self.transactions.poll_transmit() {
            let sent = match target(&transmit.destination) {
                Some(target) => self
                    .transport
                    .send_payload(transmit.payload, &target)
                    .await
                    .is_ok(),
                None => false,
            };
            if let (false, Some(key)) = (sent, transmit.key) {
                self.transactions.handle_transport_error(key);
            }
        }
    }

    /// Feeds messages and timers into the transaction layer until it has an event, or
    /// `None` once `wait` has passed (or the transport is gone).
    pub(crate) async fn next_event(&mut self, wait: Duration) -> Option<Event> {
        let deadline = Instant::now() + wait;
        loop {
            self.flush().await;
            if let Some(event) = self.transactions.poll_event() {
                return Some(event);
            }
            let wake = self
                .transactions
                .poll_timeout()
                .map_or(deadline, |t| t.min(deadline));
            tokio::select! {
                msg = self.incoming.recv() => {
                    let msg = msg?;
                    self.transactions.handle_message(msg.message, peer(&msg.source), Instant::now());
                }
                () = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return None;
                    }
                    self.transactions.handle_timeout(now);
                }
            }
        }
    }

    /// Sends `request` in a client transaction to `destination` and waits up to `wait` for
    /// its final response; `None` on timeout, transport error or Timer B/F.
    pub(crate) async fn request(
        &mut self,
        request: Request,
        destination: Peer,
        wait: Duration,
    ) -> Option<Response> {
        let key = self
            .transactions
            .start_client(request, destination, Instant::now())
            .expect("client transaction started");
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_event(left).await? {
                Event::Response { key: k, response }
                    if k == key && !response.status().is_provisional() =>
                {
                    return Some(response);
                }
                Event::Timeout { key: k, .. } | Event::TransportError { key: k } if k == key => {
                    return None;
                }
                _ => {}
            }
        }
    }
}

/// Answers every request with 200 through server transactions until `stop` fires;
/// returns what it answered.
pub(crate) fn spawn_transaction_responder(
    mut endpoint: Endpoint,
    stop: oneshot::Receiver<()>,
) -> JoinHandle<Vec<Seen>> {
    tokio::spawn(async move {
        let mut seen = Vec::new();
        tokio::pin!(stop);
        loop {
            let event = tokio::select! {
                e = endpoint.next_event(Duration::from_secs(3600)) => match e {
                    Some(e) => e,
                    None => break,
                },
                _ = &mut stop => break,
            };
            let (key, request, source) = match event {
                Event::IncomingRequest {
                    key,
                    request,
                    source,
                } => (key, request, source),
                _ => continue,
            };
            let transport = TransportKind::from_via(source.transport).expect("our transports");
            // The transaction layer knows the peer, not the connection or local address.
            let source = Source {
                transport,
                remote: source.addr,
                local: endpoint
                    .transport
                    .local_addr(transport, source.addr.is_ipv6())
                    .unwrap_or(source.addr),
                connection: None,
            };
            seen.push(Seen {
                method: request.method().clone(),
                source,
                top_via: request
                    .top_via()
                    .map(|v| v.as_bytes().to_vec())
                    .unwrap_or_default(),
            });
            if request.method() == &Method::Ack {
                continue;
            }
            let tag = endpoint.transactions().new_tag();
            let response = response_for(&request, StatusCode::OK, Some(&tag));
            endpoint
                .transactions()
                .respond(key, response, Instant::now())
                .expect("response accepted");
        }
        seen
    })
}
