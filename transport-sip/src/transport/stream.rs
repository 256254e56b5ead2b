//! The task that owns one TCP or TLS connection: decode with
//! [`StreamDecoder`](crate::StreamDecoder), answer keep-alives, write queued messages,
//! close when idle.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Duration, Instant};

use super::connection_pool::Outbound;
use super::layer::Shared;
use super::routing::stamp_received;
use super::stateless::reject;
use super::{ConnectionId, Incoming, Source};
use crate::header::HeaderName;
use crate::{Frame, FramingError, Message, ParseError, StreamDecoder};

/// Pings awaiting their pong; older waiters are dropped past this.
const MAX_PONG_WAITERS: usize = 8;
/// Bound on the close (TLS close_notify) after the loop ends.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Runs the connection until the peer closes it, it fails, it idles out, or the layer is
/// dropped; then removes it from the pool. The caller instruments it with a span.
pub(crate) async fn run<S>(
    stream: S,
    shared: Arc<Shared>,
    id: ConnectionId,
    source: Source,
    mut outbound: mpsc::Receiver<Outbound>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut shutdown = shared.shutdown.clone();
    let mut decoder = StreamDecoder::new(shared.config.limits.clone());
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut buf = vec![0u8; 16 * 1024];
    let idle = shared.config.idle_timeout;
    let timer = tokio::time::sleep(idle);
    tokio::pin!(timer);
    let mut pongs: VecDeque<oneshot::Sender<()>> = VecDeque::new();
    tracing::debug!("connection open");
    loop {
        tokio::select! {
            read = rd.read(&mut buf) => {
                let n = match read {
                    Ok(0) => {
                        tracing::debug!("closed by peer");
                        break;
                    }
                    Ok(n) => n,
                    Err(error) => {
                        tracing::debug!(%error, "read failed");
                        break;
                    }
                };
                timer.as_mut().reset(Instant::now() + idle);
                decoder.push(&buf[..n]);
                if !drain(&mut decoder, &mut wr, &shared, &source, &mut pongs).await {
                    break;
                }
            }
            out = outbound.recv() => {
                let Some(out) = out else { break };
                timer.as_mut().reset(Instant::now() + idle);
                let result = match out {
                    Outbound::Data(bytes) => write(&mut wr, &bytes).await,
                    Outbound::Ping(waiter) => {
                        decoder.ping_sent();
                        if pongs.len() == MAX_PONG_WAITERS {
                            pongs.pop_front();
                        }
                        pongs.push_back(waiter);
                        write(&mut wr, b"\r\n\r\n").await
                    }
                };
                if let Err(error) = result {
                    tracing::debug!(%error, "write failed");
                    break;
                }
            }
            () = &mut timer => {
                tracing::debug!(?idle, "idle timeout");
                break;
            }
            _ = shutdown.changed() => break,
        }
    }
    shared.pool().remove(id);
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, wr.shutdown()).await;
    tracing::debug!("connection closed");
}

async fn write<W: AsyncWrite + Unpin>(wr: &mut W, bytes: &[u8]) -> std::io::Result<()> {
    wr.write_all(bytes).await?;
    wr.flush().await
}

/// Handles every complete item in the decoder. Returns `false` when the connection must
/// close (framing lost, or a write failed).
async fn drain<W: AsyncWrite + Unpin>(
    decoder: &mut StreamDecoder,
    wr: &mut W,
    shared: &Shared,
    source: &Source,
    pongs: &mut VecDeque<oneshot::Sender<()>>,
) -> bool {
    while let Some(item) = decoder.next() {
        let (error, raw) = match item {
            Ok(Frame::Message(message)) => {
                let message = match message {
                    Message::Request(mut request) => {
                        stamp_received(&mut request, source.remote);
                        Message::Request(request)
                    }
                    response => response,
                };
                let incoming = Incoming {
                    message,
                    source: *source,
                };
                // Waiting here is the backpressure: TCP flow control slows the peer.
                if shared.incoming.send(incoming).await.is_err() {
                    tracing::trace!("incoming channel closed; message dropped");
                }
                continue;
            }
            Ok(Frame::KeepAlivePing) => {
                tracing::trace!("keep-alive ping; sending pong");
                if write(wr, b"\r\n").await.is_err() {
                    return false;
                }
                continue;
            }
            Ok(Frame::KeepAlivePong) => {
                tracing::trace!("keep-alive pong");
                if let Some(waiter) = pongs.pop_front() {
                    let _ = waiter.send(());
                }
                continue;
            }
            Err(FramingError::Message { error, raw }) => (error, raw),
            Err(FramingError::MissingContentLength { raw }) => {
                (ParseError::MissingHeader(HeaderName::ContentLength), raw)
            }
            Err(FramingError::BodyTooLarge { size, limit, raw }) => {
                (ParseError::BodyTooLarge { size, limit }, raw)
            }
            Err(FramingError::Fatal(error)) => {
                tracing::warn!(%error, "stream framing lost; closing");
                return false;
            }
        };
        tracing::debug!(%error, "unparseable message on stream");
        if let Some(answer) = reject(&error, &raw) {
            if write(wr, &answer).await.is_err() {
                return false;
            }
        }
    }
    true
}
