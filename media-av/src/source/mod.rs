//! Media sources: where frames come from before encoding.
//!
//! - [`ToneGenerator`]: a sine tone, the default audio source.
//! - [`TestPattern`]: a moving test picture, the default video source. Frame
//!   `n` is a pure function of `n`, so a receiver can regenerate the picture
//!   it should have got and measure the PSNR of what it decoded.
//! - [`WavSource`]: 16-bit PCM from a WAV file (via `hound`).
//! - [`Y4mSource`]: I420 pictures from a YUV4MPEG2 file, with a bounded,
//!   panic-free header parser ([`Y4mHeader`]).
//!
//! Sources are pull-based and clock-free: each `next_frame` call returns the
//! next frame with its media timestamp; pacing is the caller's job.
//!
//! # Example
//!
//! ```
//! use media_av::quality::dominant_frequency;
//! use media_av::source::{AudioSource, ToneGenerator};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut tone = ToneGenerator::new(440.0, 8000, 8000, 1)?;
//! let frame = tone.next_frame()?.ok_or("tone ended")?;
//! assert_eq!(frame.samples_per_channel(), 160); // 20 ms
//! let mut second = Vec::new();
//! for _ in 0..50 {
//!     second.extend_from_slice(tone.next_frame()?.ok_or("tone ended")?.samples());
//! }
//! let f = dominant_frequency(&second, 8000).ok_or("silence")?;
//! assert!((f - 440.0).abs() < 1.0);
//! # Ok(())
//! # }
//! ```

mod error;
mod test_pattern;
mod tone;
mod wav;
mod y4m;

pub use error::{SourceError, Y4mError};
pub use test_pattern::TestPattern;
pub use tone::ToneGenerator;
pub use wav::WavSource;
pub use y4m::{MAX_HEADER_LINE, Y4mColorspace, Y4mHeader, Y4mSource};

use crate::frame::{AudioFrame, VideoFrame};

/// Something that produces audio frames.
pub trait AudioSource: Send {
    /// Sample rate of the frames, in Hz.
    fn sample_rate(&self) -> u32;

    /// Channels of the frames.
    fn channels(&self) -> u16;

    /// The next frame, or `None` at the end of the media.
    ///
    /// # Errors
    ///
    /// [`SourceError`] when the underlying file is unreadable or malformed.
    fn next_frame(&mut self) -> Result<Option<AudioFrame>, SourceError>;
}

/// Something that produces video frames.
pub trait VideoSource: Send {
    /// The nominal frame rate as a fraction (numerator, denominator).
    fn frame_rate(&self) -> (u32, u32);

    /// The next frame, or `None` at the end of the media.
    ///
    /// # Errors
    ///
    /// [`SourceError`] when the underlying file is unreadable or malformed.
    fn next_frame(&mut self) -> Result<Option<VideoFrame>, SourceError>;
}
