//! Media sinks: where decoded frames go.
//!
//! - [`WavSink`]: 16-bit PCM into a WAV file (via `hound`).
//! - [`Y4mSink`]: I420 pictures into a YUV4MPEG2 stream.
//! - [`NullSink`]: counts frames and drops them (benchmarks, tests).
//!
//! # Example
//!
//! ```
//! use media_av::sink::{VideoSink, Y4mSink};
//! use media_av::source::{TestPattern, Y4mSource};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pattern = TestPattern::new(32, 16, 25)?;
//! let mut sink = Y4mSink::new(Vec::new(), (25, 1));
//! sink.write_frame(&pattern.frame(0)?)?;
//! let bytes = sink.into_inner();
//! assert!(bytes.starts_with(b"YUV4MPEG2 W32 H16 F25:1"));
//!
//! let mut source = Y4mSource::new(&bytes[..])?;
//! let back = source.read_frame()?.ok_or("no frame")?;
//! assert_eq!(back.to_packed(), pattern.frame(0)?.to_packed());
//! # Ok(())
//! # }
//! ```

mod error;
mod null;
mod wav;
mod y4m;

pub use error::SinkError;
pub use null::NullSink;
pub use wav::WavSink;
pub use y4m::Y4mSink;

use crate::frame::{AudioFrame, VideoFrame};

/// Something that consumes audio frames.
pub trait AudioSink: Send {
    /// Consumes one frame.
    ///
    /// # Errors
    ///
    /// [`SinkError`] when the frame's format does not match the sink or
    /// writing fails.
    fn write_frame(&mut self, frame: &AudioFrame) -> Result<(), SinkError>;
}

/// Something that consumes video frames.
pub trait VideoSink: Send {
    /// Consumes one frame.
    ///
    /// # Errors
    ///
    /// [`SinkError`] when the frame's format does not match the sink or
    /// writing fails.
    fn write_frame(&mut self, frame: &VideoFrame) -> Result<(), SinkError>;
}
