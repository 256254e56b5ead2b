//! The media contract: engines, streams and packet paths.
//!
//! Session-core negotiates; a [`MediaEngine`] moves media. For each negotiated media
//! line of a participant, session-core opens one [`MediaStream`] (which binds its
//! receive address before the offer or answer is sent), applies the negotiated
//! parameters to it after each offer/answer exchange, and closes it when the line is
//! removed or the session ends. A platform without an engine is signaling-only: its
//! descriptions carry codecs but no address, and nothing is sent.

use std::fmt;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use async_trait::async_trait;
use bytes::Bytes;

use crate::description::{Codec, MediaAddress, MediaDirection, MediaType};
use crate::error::MediaError;

/// What session-core asks of a media engine.
#[async_trait]
pub trait MediaEngine: Send + Sync + fmt::Debug {
    /// The codecs it can send and receive for `media_type`, in preference order.
    fn codecs(&self, media_type: MediaType) -> Vec<Codec>;

    /// Opens a stream: binds what receives it and reports the local address to offer.
    async fn open(&self, request: StreamRequest) -> Result<Box<dyn MediaStream>, MediaError>;
}

/// What a stream is opened for.
#[derive(Clone, Debug)]
pub struct StreamRequest {
    /// Audio or video.
    pub media_type: MediaType,
    /// A path over the signaling transport, when it carries media (QUIC datagrams).
    pub packet_path: Option<Arc<dyn PacketPath>>,
}

/// Parameters of a stream after an offer/answer exchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NegotiatedStream {
    /// What this side does (send, receive, both, neither = hold).
    pub direction: MediaDirection,
    /// The codec to send with (the first common one).
    pub codec: Codec,
    /// Every codec both sides accept (payload types to expect).
    pub codecs: Vec<Codec>,
    /// Where the peer receives.
    pub remote: MediaAddress,
    /// RTP and RTCP share the port.
    pub rtcp_mux: bool,
}

/// One media stream of a session.
#[async_trait]
pub trait MediaStream: Send + Sync + fmt::Debug {
    /// Where this stream receives (for the offer or answer).
    fn local_address(&self) -> MediaAddress;

    /// Starts the stream, or changes it to new negotiated parameters.
    async fn apply(&self, negotiated: NegotiatedStream) -> Result<(), MediaError>;

    /// Mutes or unmutes the sending side without renegotiation.
    fn set_muted(&self, muted: bool);

    /// Counters so far.
    fn stats(&self) -> StreamStats;

    /// Stops and releases the stream.
    async fn close(&self);
}

/// Counters of one stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Packets sent.
    pub packets_sent: u64,
    /// Packets received.
    pub packets_received: u64,
    /// Packets lost (RFC 3550 A.3 cumulative loss).
    pub packets_lost: u64,
    /// Interarrival jitter in timestamp units (RFC 3550 A.8).
    pub jitter: u32,
}

/// Why a packet path refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PacketPathError {
    /// The packet is larger than the path carries.
    #[error("packet of {len} bytes exceeds the path's {max}")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The path's maximum.
        max: usize,
    },
    /// The path is closed.
    #[error("packet path closed")]
    Closed,
    /// The socket failed.
    #[error("packet path I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// A datagram path for media packets: a UDP socket, or a signaling connection's datagrams.
///
/// Sending never waits: a path that cannot take a packet now drops it, as a network would.
pub trait PacketPath: Send + Sync + fmt::Debug {
    /// Sends one packet.
    fn send(&self, packet: Bytes) -> Result<(), PacketPathError>;

    /// Polls for the next received packet.
    fn poll_recv(&self, cx: &mut TaskContext<'_>) -> Poll<Result<Bytes, PacketPathError>>;

    /// Largest packet it carries.
    fn max_packet_size(&self) -> usize;
}

/// Receives the next packet from a path.
pub async fn recv_packet(path: &dyn PacketPath) -> Result<Bytes, PacketPathError> {
    std::future::poll_fn(|cx| path.poll_recv(cx)).await
}
