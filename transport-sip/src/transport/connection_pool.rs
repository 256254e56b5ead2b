//! [`ConnectionPool`]: the open TCP/TLS connections, by id and by (transport, remote),
//! bounded in number.

use std::collections::HashMap;
use std::net::SocketAddr;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::{ConnectionId, TransportKind};

/// What a connection task is asked to write.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// A serialized message.
    Data(Bytes),
    /// An RFC 5626 §3.5.1 CRLFCRLF ping; the sender fires when the CRLF pong arrives.
    Ping(oneshot::Sender<()>),
}

/// How to reach one connection task.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionHandle {
    pub(crate) id: ConnectionId,
    pub(crate) kind: TransportKind,
    pub(crate) remote: SocketAddr,
    pub(crate) local: SocketAddr,
    pub(crate) tx: mpsc::Sender<Outbound>,
}

/// The open connections. Guarded by a `std::sync::Mutex` held only for map operations,
/// never across an `await`.
#[derive(Debug)]
pub(crate) struct ConnectionPool {
    by_id: HashMap<ConnectionId, ConnectionHandle>,
    by_remote: HashMap<(TransportKind, SocketAddr), ConnectionId>,
    next_id: u64,
    max: usize,
}

impl ConnectionPool {
    pub(crate) fn new(max: usize) -> ConnectionPool {
        ConnectionPool {
            by_id: HashMap::new(),
            by_remote: HashMap::new(),
            next_id: 1,
            max,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }

    pub(crate) fn is_full(&self) -> bool {
        self.by_id.len() >= self.max
    }

    pub(crate) fn max(&self) -> usize {
        self.max
    }

    pub(crate) fn get(&self, id: ConnectionId) -> Option<ConnectionHandle> {
        self.by_id.get(&id).cloned()
    }

    /// The open connection to `remote` over `kind`, if any (RFC 5923 reuse).
    pub(crate) fn find(&self, kind: TransportKind, remote: SocketAddr) -> Option<ConnectionHandle> {
        let id = self.by_remote.get(&(kind, remote))?;
        self.by_id.get(id).cloned()
    }

    /// Registers a connection; `None` when the pool is full.
    pub(crate) fn insert(
        &mut self,
        kind: TransportKind,
        remote: SocketAddr,
        local: SocketAddr,
        tx: mpsc::Sender<Outbound>,
    ) -> Option<ConnectionHandle> {
        if self.is_full() {
            return None;
        }
        let id = ConnectionId(self.next_id);
        self.next_id += 1;
        let handle = ConnectionHandle {
            id,
            kind,
            remote,
            local,
            tx,
        };
        self.by_id.insert(id, handle.clone());
        self.by_remote.insert((kind, remote), id);
        Some(handle)
    }

    pub(crate) fn remove(&mut self, id: ConnectionId) {
        if let Some(h) = self.by_id.remove(&id) {
            if self.by_remote.get(&(h.kind, h.remote)) == Some(&id) {
                self.by_remote.remove(&(h.kind, h.remote));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_keyed_by_remote() {
        let mut pool = ConnectionPool::new(2);
        let (tx, _rx) = mpsc::channel(1);
        let a: SocketAddr = "127.0.0.1:1".parse().expect("addr");
        let b: SocketAddr = "127.0.0.1:2".parse().expect("addr");
        let l: SocketAddr = "127.0.0.1:3".parse().expect("addr");
        let ha = pool
            .insert(TransportKind::Tcp, a, l, tx.clone())
            .expect("room");
        let hb = pool
            .insert(TransportKind::Tls, b, l, tx.clone())
            .expect("room");
        assert!(pool.insert(TransportKind::Tcp, b, l, tx.clone()).is_none());
        assert_eq!(pool.find(TransportKind::Tcp, a).map(|h| h.id), Some(ha.id));
        assert!(pool.find(TransportKind::Tcp, b).is_none());
        pool.remove(hb.id);
        assert_eq!(pool.len(), 1);
        assert!(pool.get(ha.id).is_some());
    }
}
