//! Raw media frames: [`AudioFrame`] (interleaved 16-bit PCM) and
//! [`VideoFrame`] (8-bit I420), each stamped with an RTP-style media-clock
//! [`Timestamp`](crate::rtp::Timestamp).
//!
//! Both are cheap to clone: the samples and planes are reference-counted
//! ([`std::sync::Arc`] and [`bytes::Bytes`]), so a frame can go to an encoder,
//! a sink and a quality meter without copying. Constructors validate the
//! shape (channel count, plane sizes and strides) and return a typed
//! [`FrameError`] rather than panicking.
//!
//! # Example
//!
//! ```
//! use media_av::frame::{AudioFrame, VideoFrame};
//! use media_av::rtp::Timestamp;
//!
//! # fn main() -> Result<(), media_av::frame::FrameError> {
//! // 10 ms of stereo silence at 48 kHz.
//! let audio = AudioFrame::new(vec![0i16; 960], 48_000, 2, Timestamp(0))?;
//! assert_eq!(audio.samples_per_channel(), 480);
//! assert_eq!(audio.duration().as_millis(), 10);
//!
//! // A mid-grey 64x48 picture.
//! let video = VideoFrame::filled(64, 48, [128, 128, 128], Timestamp(3000))?;
//! assert_eq!(video.plane(1).len(), 32 * 24);
//! # Ok(())
//! # }
//! ```

mod audio;
pub mod convert;
mod error;
mod video;

pub use audio::{AudioFrame, MAX_CHANNELS};
pub use error::FrameError;
pub use video::{MAX_DIMENSION, Plane, VideoFrame};
