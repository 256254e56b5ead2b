//! Loopback relays that add a fixed one-way delay, so a benchmark on one machine sees
//! the round trips of a real network (the kernel here has no `netem`).
//!
//! - [`UdpRelay`]: datagrams from each client to one target and back, each held for
//!   the delay. Every client gets its own socket towards the target (as behind a NAT),
//!   so the target answers the relay and the relay answers the right client.
//! - [`TcpRelay`]: a TCP connection per client to the target, bytes held for the delay
//!   each way. The relay terminates TCP, so it also charges the handshake the client
//!   no longer waits for: bytes from the client reach the target no earlier than three
//!   one-way delays after the client connected (SYN, SYN-ACK, then the first data), as
//!   on a network with that delay.
//!
//! Both hold at most [`QUEUE`] chunks per direction and drop beyond that (as a full
//! router queue does); a relay stops when it is dropped.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Chunks (datagrams or reads) held per direction at most.
pub const QUEUE: usize = 4096;
/// Clients a [`UdpRelay`] serves at most; datagrams from more are dropped.
pub const MAX_CLIENTS: usize = 64;
/// Largest datagram relayed.
const MAX_DATAGRAM: usize = 65_535;

/// Aborts its tasks when dropped.
#[derive(Debug, Default)]
struct Tasks(Vec<JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// A UDP relay in front of one target, delaying each datagram both ways.
#[derive(Debug)]
pub struct UdpRelay {
    front: SocketAddr,
    _tasks: Tasks,
}

impl UdpRelay {
    /// A relay on an ephemeral port of `target`'s loopback address, forwarding to
    /// `target` after `delay` (and back after `delay`). Needs a tokio runtime; binds
    /// synchronously, so it can be made inside a synchronous callback.
    pub fn start(target: SocketAddr, delay: Duration) -> io::Result<UdpRelay> {
        let std = std::net::UdpSocket::bind(SocketAddr::new(target.ip(), 0))?;
        std.set_nonblocking(true)?;
        let front = Arc::new(UdpSocket::from_std(std)?);
        let addr = front.local_addr()?;
        let task = tokio::spawn(serve_udp(front, target, delay));
        Ok(UdpRelay {
            front: addr,
            _tasks: Tasks(vec![task]),
        })
    }

    /// Where clients send to reach the target.
    pub fn front(&self) -> SocketAddr {
        self.front
    }
}

/// Waits until the next chunk of `rx` is due and returns it (`None`: the line ended).
async fn next_due<T>(rx: &mut mpsc::Receiver<(Instant, T)>) -> Option<T> {
    let (due, item) = rx.recv().await?;
    tokio::time::sleep_until(due).await;
    Some(item)
}

async fn serve_udp(front: Arc<UdpSocket>, target: SocketAddr, delay: Duration) {
    let mut clients: HashMap<SocketAddr, mpsc::Sender<(Instant, Vec<u8>)>> = HashMap::new();
    let mut tasks = Tasks::default();
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let Ok((n, from)) = front.recv_from(&mut buf).await else {
            return;
        };
        let due = Instant::now() + delay;
        if !clients.contains_key(&from) {
            if clients.len() >= MAX_CLIENTS {
                continue;
            }
            let Ok(up) = client_path(&front, from, target, delay, &mut tasks).await else {
                continue;
            };
            clients.insert(from, up);
        }
        if let Some(up) = clients.get(&from) {
            // Full queue: the datagram is lost, as at a congested router.
            let _ = up.try_send((due, buf[..n].to_vec()));
        }
    }
}

/// The socket towards `target` for one client, with its two delay lines.
async fn client_path(
    front: &Arc<UdpSocket>,
    client: SocketAddr,
    target: SocketAddr,
    delay: Duration,
    tasks: &mut Tasks,
) -> io::Result<mpsc::Sender<(Instant, Vec<u8>)>> {
    let back = Arc::new(UdpSocket::bind(SocketAddr::new(target.ip(), 0)).await?);
    back.connect(target).await?;
    let (up_tx, up_rx) = mpsc::channel::<(Instant, Vec<u8>)>(QUEUE);
    let (down_tx, down_rx) = mpsc::channel::<(Instant, Vec<u8>)>(QUEUE);
    let sender = back.clone();
    let mut up_rx = up_rx;
    tasks.0.push(tokio::spawn(async move {
        while let Some(d) = next_due(&mut up_rx).await {
            if sender.send(&d).await.is_err() {
                return;
            }
        }
    }));
    let front = front.clone();
    let mut down_rx = down_rx;
    tasks.0.push(tokio::spawn(async move {
        while let Some(d) = next_due(&mut down_rx).await {
            if front.send_to(&d, client).await.is_err() {
                return;
            }
        }
    }));
    tasks.0.push(tokio::spawn(async move {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        // A connected UDP socket reports an earlier ICMP "port unreachable" as an
        // error on the next receive: skip those, as the network would.
        loop {
            match back.recv(&mut buf).await {
                Ok(n) => {
                    let _ = down_tx.try_send((Instant::now() + delay, buf[..n].to_vec()));
                }
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {}
                Err(_) => return,
            }
        }
    }));
    Ok(up_tx)
}

/// A TCP relay in front of one target, delaying bytes both ways (and charging the
/// handshake round trip, see the module documentation).
#[derive(Debug)]
pub struct TcpRelay {
    front: SocketAddr,
    _tasks: Tasks,
}

impl TcpRelay {
    /// A relay on an ephemeral port of `target`'s loopback address.
    pub async fn start(target: SocketAddr, delay: Duration) -> io::Result<TcpRelay> {
        let listener = TcpListener::bind(SocketAddr::new(target.ip(), 0)).await?;
        let front = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let mut tasks = Tasks::default();
            while let Ok((client, _)) = listener.accept().await {
                let connected = Instant::now();
                tasks
                    .0
                    .push(tokio::spawn(serve_tcp(client, target, delay, connected)));
            }
        });
        Ok(TcpRelay {
            front,
            _tasks: Tasks(vec![task]),
        })
    }

    /// Where clients connect to reach the target.
    pub fn front(&self) -> SocketAddr {
        self.front
    }
}

async fn serve_tcp(client: TcpStream, target: SocketAddr, delay: Duration, connected: Instant) {
    // The SYN reaches the target one delay after the client sent it.
    tokio::time::sleep_until(connected + delay).await;
    let Ok(server) = TcpStream::connect(target).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    // The client's first byte could have left only when the SYN-ACK came back.
    let earliest = connected + 2 * delay;
    let _tasks = Tasks(vec![
        tokio::spawn(pump(client_read, server_write, delay, Some(earliest))),
        tokio::spawn(pump(server_read, client_write, delay, None)),
    ]);
    std::future::pending::<()>().await;
}

/// Copies `from` to `to`, each read `delay` later (and not sent before `earliest`
/// plus `delay`); ends both when either side ends.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Duration,
    earliest: Option<Instant>,
) {
    let (tx, mut rx) = mpsc::channel::<(Instant, Vec<u8>)>(QUEUE);
    let writer = tokio::spawn(async move {
        while let Some(d) = next_due(&mut rx).await {
            if to.write_all(&d).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let sent = earliest.map_or_else(Instant::now, |e| e.max(Instant::now()));
                if tx.send((sent + delay, buf[..n].to_vec())).await.is_err() {
                    break;
                }
            }
        }
    }
    drop(tx);
    let _ = writer.await;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

    use super::*;

    const D: Duration = Duration::from_millis(100);
    /// Scheduling slack allowed beyond the delays (less than one delay, so an extra
    /// delay is caught).
    const SLACK: Duration = Duration::from_millis(80);

    /// An echo server on loopback for UDP.
    async fn udp_echo() -> SocketAddr {
        let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = s.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            while let Ok((n, from)) = s.recv_from(&mut buf).await {
                let _ = s.send_to(&buf[..n], from).await;
            }
        });
        addr
    }

    #[tokio::test]
    async fn udp_round_trips_take_two_delays_and_keep_order_and_clients_apart() {
        let relay = UdpRelay::start(udp_echo().await, D).unwrap();
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let started = std::time::Instant::now();
        for i in 0..10u8 {
            a.send_to(&[i], relay.front()).await.unwrap();
        }
        b.send_to(b"b", relay.front()).await.unwrap();
        let mut buf = [0u8; 16];
        for i in 0..10u8 {
            let (n, from) = a.recv_from(&mut buf).await.unwrap();
            assert_eq!((&buf[..n], from), (&[i][..], relay.front()));
        }
        let rtt = started.elapsed();
        assert!(rtt >= 2 * D, "{rtt:?}");
        assert!(rtt < 2 * D + SLACK, "{rtt:?}");
        let (n, _) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"b");
    }

    #[tokio::test]
    async fn tcp_charges_the_handshake_and_delays_data_both_ways() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 1024];
            loop {
                let n = s.read(&mut buf).await.unwrap();
                if n == 0 {
                    return;
                }
                s.write_all(&buf[..n]).await.unwrap();
            }
        });
        let relay = TcpRelay::start(target, D).await.unwrap();
        let started = std::time::Instant::now();
        let mut c = TcpStream::connect(relay.front()).await.unwrap();
        c.write_all(b"hello").await.unwrap();
        let mut got = [0u8; 5];
        c.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"hello");
        // Handshake (two delays) + data there and back (two delays).
        let first = started.elapsed();
        assert!(first >= 4 * D, "{first:?}");
        assert!(first < 4 * D + SLACK, "{first:?}");
        let again = std::time::Instant::now();
        c.write_all(b"world").await.unwrap();
        c.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"world");
        let rtt = again.elapsed();
        assert!(rtt >= 2 * D, "{rtt:?}");
        assert!(rtt < 2 * D + SLACK, "{rtt:?}");
    }
}
