//! The signaling codec: frames of one session's stream, as bytes and back.
//!
//! Pure: bytes in, frames out — no IO, no clock. See `docs/quic-signaling.md` for the
//! protocol. Every frame is `length · type · fields`, every field `tag · length ·
//! value`, all three as QUIC varints (RFC 9000 §16); unknown fields are skipped and
//! unknown frame types are reported as [`Frame::Unknown`] so a newer peer can add both
//! without breaking an older one.

mod decoder;
mod fields;
mod frame;
pub mod varint;

pub use decoder::FrameDecoder;
pub use frame::{ComposingFlag, Frame, FrameType};

/// Largest frame accepted or sent, length prefix excluded (64 KiB).
pub const MAX_FRAME_SIZE: usize = 64 * 1024;

/// Why bytes are not a valid frame. Each is a protocol violation by the peer: the
/// stream it came on is reset with [`crate::codec::CodecError::error_code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The bytes end inside a varint, field or frame.
    #[error("truncated frame")]
    Truncated,
    /// A frame announces more than the maximum size.
    #[error("frame of {len} bytes exceeds the maximum {max}")]
    FrameTooLarge {
        /// Announced length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// A field that the frame type requires is absent.
    #[error("frame {frame} lacks its {field} field")]
    MissingField {
        /// Frame type name.
        frame: &'static str,
        /// Field name.
        field: &'static str,
    },
    /// A field's value is malformed (bad UTF-8, a number out of range, a bad URI…).
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// Field name.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// More repeated items than allowed (media lines, codecs).
    #[error("too many {0}")]
    TooMany(&'static str),
}

impl CodecError {
    /// The application error code a stream is reset with for this error
    /// (`UCC_PROTOCOL_VIOLATION` = 0x1 for every codec error).
    pub fn error_code(&self) -> u64 {
        1
    }
}
