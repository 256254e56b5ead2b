//! Source errors.

use thiserror::Error;

use crate::frame::FrameError;

/// Why a source could not produce a frame.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SourceError {
    /// Reading the file failed.
    #[error("reading media: {0}")]
    Io(#[from] std::io::Error),
    /// The WAV file is malformed or not readable by `hound`.
    #[error("WAV: {0}")]
    Wav(#[from] hound::Error),
    /// The WAV file is valid but not 16-bit integer PCM.
    #[error("WAV format not supported: {0}")]
    WavFormat(String),
    /// The Y4M file is malformed or unsupported.
    #[error("Y4M: {0}")]
    Y4m(#[from] Y4mError),
    /// A parameter (tone frequency, picture size) is out of range.
    #[error("bad source parameter: {0}")]
    Parameter(String),
    /// A capture device stopped delivering or never started (its message names it).
    #[error("{0}")]
    Device(String),
    /// The frame built from the media has an impossible shape.
    #[error(transparent)]
    Frame(#[from] FrameError),
}

/// A malformed or unsupported YUV4MPEG2 stream.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Y4mError {
    /// The stream does not start with `YUV4MPEG2 `.
    #[error("missing YUV4MPEG2 signature")]
    BadMagic,
    /// A header line is longer than [`MAX_HEADER_LINE`](super::MAX_HEADER_LINE)
    /// or has no newline before the end of the stream.
    #[error("header line too long or unterminated")]
    HeaderLine,
    /// A required parameter (`W`, `H` or `F`) is missing.
    #[error("missing parameter {0}")]
    Missing(char),
    /// A parameter's value does not parse or is out of range.
    #[error("bad value for parameter {tag}: {value:?}")]
    BadValue {
        /// The parameter letter.
        tag: char,
        /// The value as found (lossy UTF-8).
        value: String,
    },
    /// The colour space is not 8-bit 4:2:0.
    #[error("colour space {0:?} not supported (only 8-bit 4:2:0)")]
    Colorspace(String),
    /// A frame does not start with `FRAME`.
    #[error("frame {0}: missing FRAME marker")]
    FrameMarker(u64),
    /// A frame is larger than the configured limit.
    #[error("frame of {size} bytes exceeds the limit of {limit}")]
    FrameTooLarge {
        /// Bytes per frame.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The stream ended inside a frame.
    #[error("frame {index} truncated: {got} of {expected} bytes")]
    Truncated {
        /// Zero-based frame index.
        index: u64,
        /// Bytes read.
        got: usize,
        /// Bytes expected.
        expected: usize,
    },
}
