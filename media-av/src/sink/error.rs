//! Sink errors.

use thiserror::Error;

/// Why a sink could not take a frame.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SinkError {
    /// Writing failed.
    #[error("writing media: {0}")]
    Io(#[from] std::io::Error),
    /// `hound` failed to write the WAV file.
    #[error("WAV: {0}")]
    Wav(#[from] hound::Error),
    /// The frame's format differs from the sink's (rate, channels, size).
    #[error("frame does not match the sink: {0}")]
    Mismatch(String),
}
