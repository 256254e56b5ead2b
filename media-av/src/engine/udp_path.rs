//! A [`PacketPath`] over a UDP socket, for SIP deployments (and any stream
//! whose transport does not carry media itself).
//!
//! The socket is unconnected: packets go to the remote address set after
//! negotiation ([`UdpPath::set_remote`]) and are taken from any source
//! (SSRC checks happen above; RTP latching for NAT is not built).
//!
//! **Allocation.** Received datagrams are read into one 64 KiB receive
//! buffer and split off as [`Bytes`] that share it, so a new buffer is
//! allocated about once per 32 packets of 2 KiB window, not per packet.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::{Mutex, PoisonError, RwLock};
use std::task::{Context as TaskContext, Poll, ready};

use bytes::{Bytes, BytesMut};
use session_core::contract::media::{PacketPath, PacketPathError};
use tokio::io::ReadBuf;
use tokio::net::UdpSocket;

/// Bytes of receive buffer allocated at a time.
const RECV_POOL: usize = 64 * 1024;
/// Largest datagram read; longer ones are truncated by the socket (and then
/// fail to parse).
const RECV_WINDOW: usize = 2048;

/// A UDP socket as a media packet path.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use bytes::Bytes;
/// use media_av::engine::UdpPath;
/// use session_core::contract::media::{PacketPath, recv_packet};
///
/// let a = UdpPath::bind(([127, 0, 0, 1], 0).into(), 1200).await?;
/// let b = UdpPath::bind(([127, 0, 0, 1], 0).into(), 1200).await?;
/// a.set_remote(Some(b.local_addr()));
/// a.send(Bytes::from_static(b"rtp"))?;
/// assert_eq!(&recv_packet(&b).await?[..], b"rtp");
/// # Ok(())
/// # }
/// ```
pub struct UdpPath {
    /// Receives (registered with tokio).
    socket: UdpSocket,
    /// The same socket, non-blocking, for sending without waiting for tokio
    /// to learn that it is writable (a fresh tokio socket is not yet).
    sender: std::net::UdpSocket,
    local: SocketAddr,
    remote: RwLock<Option<SocketAddr>>,
    max_packet_size: usize,
    /// Only locked inside `poll_recv`, never across an await.
    recv_buf: Mutex<BytesMut>,
}

impl fmt::Debug for UdpPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpPath")
            .field("local", &self.local)
            .field("remote", &self.remote())
            .finish_non_exhaustive()
    }
}

impl UdpPath {
    /// Binds a socket on `addr` (port 0: the system chooses) that sends
    /// packets of at most `max_packet_size` bytes. Call it within a tokio
    /// runtime.
    ///
    /// # Errors
    ///
    /// The socket error when binding fails.
    pub async fn bind(addr: SocketAddr, max_packet_size: usize) -> io::Result<Self> {
        let std_socket = std::net::UdpSocket::bind(addr)?;
        std_socket.set_nonblocking(true)?;
        let sender = std_socket.try_clone()?;
        let socket = UdpSocket::from_std(std_socket)?;
        let local = socket.local_addr()?;
        Ok(Self {
            socket,
            sender,
            local,
            remote: RwLock::new(None),
            max_packet_size,
            recv_buf: Mutex::new(BytesMut::new()),
        })
    }

    /// The address the socket is bound to.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Sets where packets go (`None`: nowhere, they are dropped).
    pub fn set_remote(&self, remote: Option<SocketAddr>) {
        *self.remote.write().unwrap_or_else(PoisonError::into_inner) = remote;
    }

    /// Where packets go.
    #[must_use]
    pub fn remote(&self) -> Option<SocketAddr> {
        *self.remote.read().unwrap_or_else(PoisonError::into_inner)
    }
}

impl PacketPath for UdpPath {
    /// Sends to the remote address without waiting: a full socket buffer
    /// drops the packet (as the network would) and a path without a remote
    /// address drops everything.
    fn send(&self, packet: Bytes) -> Result<(), PacketPathError> {
        if packet.len() > self.max_packet_size {
            return Err(PacketPathError::TooLarge {
                len: packet.len(),
                max: self.max_packet_size,
            });
        }
        let Some(remote) = self.remote() else {
            return Ok(());
        };
        match self.sender.send_to(&packet, remote) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(PacketPathError::Io(e)),
        }
    }

    fn poll_recv(&self, cx: &mut TaskContext<'_>) -> Poll<Result<Bytes, PacketPathError>> {
        let mut buf = self.recv_buf.lock().unwrap_or_else(PoisonError::into_inner);
        if buf.len() < RECV_WINDOW {
            // Reclaims the old allocation when every packet split from it is
            // gone, else allocates a new one.
            buf.clear();
            buf.resize(RECV_POOL, 0);
        }
        let mut read = ReadBuf::new(&mut buf[..RECV_WINDOW]);
        ready!(self.socket.poll_recv_from(cx, &mut read))?;
        let n = read.filled().len();
        Poll::Ready(Ok(buf.split_to(n).freeze()))
    }

    fn max_packet_size(&self) -> usize {
        self.max_packet_size
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use session_core::contract::media::recv_packet;

    use super::*;

    async fn pair() -> (UdpPath, UdpPath) {
        let a = UdpPath::bind(([127, 0, 0, 1], 0).into(), 1200)
            .await
            .unwrap();
        let b = UdpPath::bind(([127, 0, 0, 1], 0).into(), 1200)
            .await
            .unwrap();
        a.set_remote(Some(b.local_addr()));
        b.set_remote(Some(a.local_addr()));
        (a, b)
    }

    #[tokio::test]
    async fn carries_many_datagrams_in_order_and_intact() {
        let (a, b) = pair().await;
        for i in 0..100u8 {
            a.send(Bytes::from(vec![i; 100 + usize::from(i)])).unwrap();
        }
        let mut kept = Vec::new();
        for i in 0..100u8 {
            let p = tokio::time::timeout(Duration::from_secs(5), recv_packet(&b))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(p.len(), 100 + usize::from(i));
            assert!(p.iter().all(|&x| x == i));
            kept.push(p);
        }
        // Packets still held are not overwritten by later reads.
        assert!(kept[0].iter().all(|&x| x == 0));
    }

    #[tokio::test]
    async fn refuses_oversize_and_drops_without_remote() {
        let (a, _b) = pair().await;
        assert!(matches!(
            a.send(Bytes::from(vec![0; 1201])),
            Err(PacketPathError::TooLarge {
                len: 1201,
                max: 1200
            })
        ));
        a.set_remote(None);
        assert!(a.send(Bytes::from_static(b"x")).is_ok());
    }
}
