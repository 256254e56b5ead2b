//! Engine errors, by who is at fault.

use std::net::SocketAddr;

use session_core::description::Codec;
use session_core::error::MediaError;
use thiserror::Error;

use crate::codec::CodecError;
use crate::rtp::h264::H264PacketizeError;
use crate::source::SourceError;

/// Why the engine could not open or apply a stream.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The UDP socket could not be bound (local configuration).
    #[error("binding UDP media socket on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The socket error.
        #[source]
        source: std::io::Error,
    },
    /// The negotiated send codec is not one the engine has (negotiation
    /// picked something the engine did not offer).
    #[error("codec {}/{} not supported by the media engine", .0.name, .0.clock_rate)]
    UnsupportedCodec(Codec),
    /// The negotiated remote address cannot be used with this stream's path
    /// (a signaling flow without a signaling path).
    #[error("remote media address {0} unusable on this stream's path")]
    UnusableRemote(String),
    /// The stream was closed.
    #[error("media stream closed")]
    Closed,
    /// An encoder or decoder could not be created.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// A source could not be created or does not fit the codec.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The H.264 packetizer refused its configuration (packet size too small).
    #[error(transparent)]
    Packetize(#[from] H264PacketizeError),
}

impl From<EngineError> for MediaError {
    fn from(e: EngineError) -> Self {
        MediaError {
            message: e.to_string(),
            source: Some(Box::new(e)),
        }
    }
}
