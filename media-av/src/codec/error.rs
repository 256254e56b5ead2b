//! Codec errors, by who is at fault.

use thiserror::Error;

use crate::frame::FrameError;

/// Why encoding or decoding failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The caller's frame or setting does not fit the codec's configuration.
    #[error("input does not fit the codec: {0}")]
    Input(String),
    /// A payload from the peer is malformed.
    #[error("corrupt payload: {0}")]
    Corrupt(String),
    /// libopus failed.
    #[error("libopus: {0}")]
    Opus(#[source] opus::Error),
    /// openh264 failed.
    #[error("openh264: {0}")]
    OpenH264(#[source] openh264::Error),
    /// A decoded frame had an impossible shape (a codec library bug).
    #[error("decoded frame: {0}")]
    Frame(#[from] FrameError),
}
