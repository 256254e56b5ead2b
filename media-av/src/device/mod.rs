//! Real devices, each behind a cargo feature so that the default build needs no
//! system library:
//!
//! - feature `audio-device`: audio through `cpal` (ALSA on Linux).
//!   [`AudioCapture`] is an [`AudioSource`](crate::source::AudioSource) fed by a
//!   capture device, [`AudioPlayback`] an [`AudioSink`](crate::sink::AudioSink)
//!   feeding a playback device.
//! - feature `video-device`: video capture through V4L2 (the `v4l` crate).
//!   [`VideoCapture`] is a [`VideoSource`](crate::source::VideoSource) fed by a
//!   camera (`/dev/video*`), converting what it delivers (YUYV, UYVY, NV12, YV12,
//!   I420) to I420 with [`frame::convert`](crate::frame::convert).
//!
//! **Audio real-time thread.** cpal calls back on the audio thread. The callbacks only
//! move samples through a pre-allocated lock-free single-producer/single-consumer ring
//! (`rtrb`): no lock, no allocation, no blocking there. A capture overrun (the ring
//! full because nobody reads) drops the newest samples and counts them; a playback
//! underrun plays silence and counts it. The stream itself lives on a thread of its
//! own (a cpal stream may not move between threads), which ends when the source or
//! sink is dropped.
//!
//! **Audio pacing.** The engine asks a source for 20 ms frames on its own clock. A
//! capture source hands out what the device captured, padded with silence when the
//! device is behind (counted as underrun samples), and skips the oldest samples when
//! more than [`MAX_BACKLOG_MS`] wait, so latency stays bounded whatever the drift
//! between the two clocks.
//!
//! **Video capture thread.** V4L2 delivers pictures by blocking reads of the device's
//! memory-mapped buffers, so a capture thread of its own waits in the kernel and
//! converts each picture into a buffer from a small pool (reused once the encoder
//! has dropped the frame: no allocation per picture in steady state). It hands the
//! newest picture over through a one-slot mailbox; the engine's pacing never waits
//! for the camera: when no new picture has come since the last call the last one is
//! sent again (counted), and pictures the engine had no time for are counted as
//! skipped.
//!
//! Audio devices are named as cpal lists them ([`input_devices`], [`output_devices`]),
//! cameras by path ([`video_devices`]); `None` means the default. A missing device is a
//! [`DeviceError`] that names the devices there are.

#[cfg(feature = "audio-device")]
mod audio;
#[cfg(feature = "video-device")]
mod video_capture;

#[cfg(feature = "audio-device")]
pub use audio::{AudioCapture, AudioPlayback, MAX_BACKLOG_MS, input_devices, output_devices};
#[cfg(feature = "video-device")]
pub use video_capture::{
    DEFAULT_VIDEO_DEVICE, FIRST_PICTURE_TIMEOUT, VideoCapture, VideoCaptureCounters, video_devices,
};

/// Why a device could not be opened or stopped delivering.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// No device of that name (or no default device).
    #[error("no {direction} device {name}; available: {}", available_list(.available))]
    NotFound {
        /// "audio capture", "audio playback" or "video capture".
        direction: &'static str,
        /// The name asked for, or "(default)".
        name: String,
        /// The devices there are.
        available: Vec<String>,
    },
    /// The device exists but refused the stream.
    #[error("device {name}: {reason}")]
    Stream {
        /// The device's name.
        name: String,
        /// What the device layer reported.
        reason: String,
    },
    /// The camera offers no picture format this library converts.
    #[error(
        "video device {name} offers no supported format (YUYV, UYVY, NV12, YV12, I420); it offers: {}",
        available_list(.offered)
    )]
    Format {
        /// The device's path.
        name: String,
        /// The formats it offers, as FourCC codes.
        offered: Vec<String>,
    },
}

fn available_list(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}
