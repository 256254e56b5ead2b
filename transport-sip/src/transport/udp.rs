//! The task that owns one UDP socket: receive, parse, stamp, deliver.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use tokio::net::UdpSocket;
use tokio::sync::mpsc::error::TrySendError;

use super::layer::Shared;
use super::routing::stamp_received;
use super::stateless::{is_blank, reject};
use super::{Incoming, Source, TransportKind};
use crate::Message;

/// Largest UDP payload over IPv4 and IPv6 without jumbograms.
pub(crate) const MAX_DATAGRAM: usize = 65_507;

/// Receives until the layer is dropped. The caller instruments it with a span.
pub(crate) async fn run(socket: Arc<UdpSocket>, shared: Arc<Shared>, local: SocketAddr) {
    let mut shutdown = shared.shutdown.clone();
    let mut buf = vec![0u8; MAX_DATAGRAM + 1];
    loop {
        let (n, remote) = tokio::select! {
            received = socket.recv_from(&mut buf) => match received {
                Ok(r) => r,
                Err(error) => {
                    // ICMP errors surface here on some platforms; the socket stays usable.
                    tracing::debug!(%error, "recv_from failed");
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let datagram = &buf[..n];
        if is_blank(datagram) {
            tracing::trace!(%remote, "blank datagram (keep-alive) ignored");
            continue;
        }
        let bytes = Bytes::copy_from_slice(datagram);
        let message = match Message::parse_with(bytes.clone(), &shared.config.limits) {
            Ok(Message::Request(mut request)) => {
                stamp_received(&mut request, remote);
                Message::Request(request)
            }
            Ok(response) => response,
            Err(error) => {
                tracing::debug!(%remote, %error, "unparseable datagram");
                if let Some(answer) = reject(&error, &bytes) {
                    // §18.2.2 would route by Via; the sender's address is where a
                    // peer that cannot write a valid message is best answered.
                    if let Err(error) = socket.send_to(&answer, remote).await {
                        tracing::debug!(%remote, %error, "could not send error response");
                    }
                }
                continue;
            }
        };
        let incoming = Incoming {
            message,
            source: Source {
                transport: TransportKind::Udp,
                remote,
                local,
                connection: None,
            },
        };
        match shared.incoming.try_send(incoming) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                tracing::warn!(%remote, "incoming channel full; datagram dropped");
            }
            Err(TrySendError::Closed(_)) => {
                tracing::trace!(%remote, "incoming channel closed; datagram dropped");
            }
        }
    }
}
