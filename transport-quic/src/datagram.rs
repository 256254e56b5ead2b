//! Media over the connection: RTP and RTCP in QUIC datagrams (RFC 9221), each prefixed
//! with a flow identifier varint as in draft-ietf-avtcore-rtp-over-quic, exposed as
//! session-core [`PacketPath`]s.
//!
//! Flow ids are per connection, and one connection carries many sessions: the flow of
//! media line `i` of the session on stream `s` is `s × 16 + i` (a session has at most
//! 16 media lines). Both ends know the stream id, so both compute the same flow id, and
//! each direction uses it.
//!
//! A path asked for before its leg has a connection (the caller builds its offer before
//! inviting) is bound when the stream opens; until then it drops what it is given, as a
//! network would. When the peer does not accept datagrams (`max_datagram_size` is
//! `None`), `packet_path` returns `None` for a leg already open — media then uses its
//! own UDP sockets, and the description carries UDP addresses — and a path bound to such
//! a connection fails every send and receive with an `Unsupported` I/O error saying so.

use std::fmt;
use std::io;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context as TaskContext, Poll};

use bytes::{Bytes, BytesMut};
use quinn::SendDatagramError;
use session_core::contract::media::{PacketPath, PacketPathError};
use session_core::contract::signaling::LegId;
use session_core::description::MAX_MEDIA_LINES;
use tokio::sync::mpsc;

use crate::codec::varint;
use crate::connection::PeerConnection;
use crate::lock;
use crate::session_stream::LegSlot;
use crate::transport::EndpointShared;

/// Media lines per session, hence the multiplier of flow ids.
pub const LINES_PER_SESSION: u64 = MAX_MEDIA_LINES as u64;
/// Largest packet a path not yet bound to a connection claims to carry (a minimum QUIC
/// datagram budget, minus the flow id).
pub const UNBOUND_PACKET_SIZE: usize = 1200 - 8;
/// Datagrams are written (flow id, then packet) into chunks of this size, each shared by
/// the datagrams cut from it: one allocation per chunk rather than one per packet.
const SEND_CHUNK: usize = 32 * 1024;

/// The connection-wide flow id of media line `line` of the session on stream `stream_id`.
pub fn flow_id(stream_id: u64, line: u64) -> Option<u64> {
    if line >= LINES_PER_SESSION {
        return None;
    }
    stream_id
        .checked_mul(LINES_PER_SESSION)?
        .checked_add(line)
        .filter(|f| *f <= varint::MAX)
}

fn unsupported() -> PacketPathError {
    PacketPathError::Io(io::Error::new(
        io::ErrorKind::Unsupported,
        "the peer does not accept QUIC datagrams (RFC 9221): media must use UDP",
    ))
}

enum Binding {
    /// No connection yet; the queue's sender waits to be registered.
    Unbound(Option<mpsc::Sender<Bytes>>),
    Bound {
        pc: Arc<PeerConnection>,
        wire: u64,
        /// Unused room of the current send chunk.
        chunk: BytesMut,
    },
    Unsupported,
}

/// Media line `line` of one leg, over its connection's datagrams.
pub(crate) struct QuicPacketPath {
    leg: LegId,
    line: u64,
    endpoint: Weak<EndpointShared>,
    binding: Mutex<Binding>,
    rx: Mutex<mpsc::Receiver<Bytes>>,
}

impl fmt::Debug for QuicPacketPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let wire = match &*lock(&self.binding) {
            Binding::Bound { wire, .. } => Some(*wire),
            _ => None,
        };
        f.debug_struct("QuicPacketPath")
            .field("leg", &self.leg)
            .field("line", &self.line)
            .field("flow", &wire)
            .finish()
    }
}

impl QuicPacketPath {
    fn bind(&self, pc: &Arc<PeerConnection>, stream_id: u64) {
        let mut binding = lock(&self.binding);
        let Binding::Unbound(tx) = &mut *binding else {
            return;
        };
        if pc.conn.max_datagram_size().is_none() {
            *binding = Binding::Unsupported;
            return;
        }
        let (Some(tx), Some(wire)) = (tx.take(), flow_id(stream_id, self.line)) else {
            return;
        };
        pc.register_flow(wire, tx);
        *binding = Binding::Bound {
            pc: pc.clone(),
            wire,
            chunk: BytesMut::new(),
        };
    }
}

impl PacketPath for QuicPacketPath {
    fn send(&self, packet: Bytes) -> Result<(), PacketPathError> {
        let mut binding = lock(&self.binding);
        let (pc, wire, chunk) = match &mut *binding {
            Binding::Unbound(_) => return Ok(()),
            Binding::Unsupported => return Err(unsupported()),
            Binding::Bound { pc, wire, chunk } => (&*pc, *wire, chunk),
        };
        let max = pc
            .conn
            .max_datagram_size()
            .map_or(0, |m| m.saturating_sub(varint::len(wire)));
        if packet.len() > max {
            return Err(PacketPathError::TooLarge {
                len: packet.len(),
                max,
            });
        }
        let len = varint::len(wire) + packet.len();
        if chunk.capacity() < len {
            *chunk = BytesMut::with_capacity(SEND_CHUNK.max(len));
        }
        varint::put(chunk, wire);
        chunk.extend_from_slice(&packet);
        let datagram = chunk.split().freeze();
        match pc.conn.send_datagram(datagram) {
            Ok(()) => Ok(()),
            Err(SendDatagramError::TooLarge) => Err(PacketPathError::TooLarge {
                len: packet.len(),
                max,
            }),
            Err(SendDatagramError::UnsupportedByPeer | SendDatagramError::Disabled) => {
                Err(unsupported())
            }
            Err(SendDatagramError::ConnectionLost(_)) => Err(PacketPathError::Closed),
        }
    }

    fn poll_recv(&self, cx: &mut TaskContext<'_>) -> Poll<Result<Bytes, PacketPathError>> {
        if matches!(&*lock(&self.binding), Binding::Unsupported) {
            return Poll::Ready(Err(unsupported()));
        }
        lock(&self.rx)
            .poll_recv(cx)
            .map(|p| p.ok_or(PacketPathError::Closed))
    }

    fn max_packet_size(&self) -> usize {
        match &*lock(&self.binding) {
            Binding::Unbound(_) => UNBOUND_PACKET_SIZE,
            Binding::Unsupported => 0,
            Binding::Bound { pc, wire, .. } => pc
                .conn
                .max_datagram_size()
                .map_or(0, |m| m.saturating_sub(varint::len(*wire))),
        }
    }
}

impl Drop for QuicPacketPath {
    fn drop(&mut self) {
        if let Binding::Bound { pc, wire, .. } = &*lock(&self.binding) {
            pc.remove_flow(*wire);
        }
        if let Some(endpoint) = self.endpoint.upgrade() {
            let mut paths = lock(&endpoint.paths);
            if paths
                .get(&(self.leg, self.line))
                .is_some_and(|w| std::ptr::eq(w.as_ptr(), self))
            {
                paths.remove(&(self.leg, self.line));
            }
        }
    }
}

/// The packet path of media line `line` of `leg` (see the module docs for `None`).
pub(crate) fn open(
    endpoint: &Arc<EndpointShared>,
    leg: LegId,
    line: u64,
) -> Option<Arc<dyn PacketPath>> {
    if line >= LINES_PER_SESSION {
        return None;
    }
    let open = match lock(&endpoint.legs).get(&leg) {
        Some(LegSlot::Open(e)) => Some((e.connection.clone(), e.stream_id)),
        _ => None,
    };
    if open
        .as_ref()
        .is_some_and(|(pc, _)| pc.conn.max_datagram_size().is_none())
    {
        return None;
    }
    let (tx, rx) = mpsc::channel(endpoint.transport.config.limits.flow_queue);
    let path = Arc::new(QuicPacketPath {
        leg,
        line,
        endpoint: Arc::downgrade(endpoint),
        binding: Mutex::new(Binding::Unbound(Some(tx))),
        rx: Mutex::new(rx),
    });
    if let Some((pc, stream_id)) = open {
        path.bind(&pc, stream_id);
    }
    lock(&endpoint.paths).insert((leg, line), Arc::downgrade(&path));
    Some(path)
}

/// Binds the paths asked for before `leg`'s stream opened.
pub(crate) fn bind_leg(
    endpoint: &EndpointShared,
    leg: LegId,
    pc: &Arc<PeerConnection>,
    stream_id: u64,
) {
    let waiting: Vec<Arc<QuicPacketPath>> = lock(&endpoint.paths)
        .iter()
        .filter(|((l, _), _)| *l == leg)
        .filter_map(|(_, w)| w.upgrade())
        .collect();
    for path in waiting {
        path.bind(pc, stream_id);
    }
}
