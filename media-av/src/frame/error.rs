//! Why a frame could not be built.

use thiserror::Error;

/// A frame's shape is inconsistent: the caller (or a file source) supplied
/// samples or planes that do not fit the declared format.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The channel count is 0 or above [`MAX_CHANNELS`](super::MAX_CHANNELS).
    #[error("{0} audio channels; 1..={max} supported", max = super::MAX_CHANNELS)]
    Channels(u16),
    /// The sample rate is 0.
    #[error("sample rate of 0 Hz")]
    SampleRate,
    /// The number of interleaved samples is not a multiple of the channel count.
    #[error("{samples} interleaved samples do not split into {channels} channels")]
    Interleave {
        /// Samples given.
        samples: usize,
        /// Channels declared.
        channels: u16,
    },
    /// Width or height is 0 or above [`MAX_DIMENSION`](super::MAX_DIMENSION).
    #[error("picture of {width}x{height} is outside 1..={max} per side", max = super::MAX_DIMENSION)]
    Dimensions {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// A plane's stride is shorter than its row.
    #[error("plane {plane}: stride {stride} is shorter than the row of {row} bytes")]
    Stride {
        /// 0 = Y, 1 = U, 2 = V.
        plane: usize,
        /// The stride given.
        stride: usize,
        /// Bytes in one row of the plane.
        row: usize,
    },
    /// A plane holds fewer bytes than its rows and stride need.
    #[error("plane {plane}: {len} bytes, {needed} needed")]
    PlaneSize {
        /// 0 = Y, 1 = U, 2 = V.
        plane: usize,
        /// Bytes given.
        len: usize,
        /// Bytes needed.
        needed: usize,
    },
    /// A packed 4:2:2 picture (YUYV, UYVY) of odd width: its pixels come in pairs.
    #[error("{format} picture of odd width {width}")]
    OddWidth {
        /// The pixel format's FourCC.
        format: &'static str,
        /// Width in pixels.
        width: u32,
    },
}
