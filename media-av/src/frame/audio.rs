//! Interleaved 16-bit PCM audio.

use std::sync::Arc;
use std::time::Duration;

use crate::rtp::Timestamp;

use super::FrameError;

/// Most channels an [`AudioFrame`] may carry.
pub const MAX_CHANNELS: u16 = 8;

/// A block of interleaved signed 16-bit PCM samples.
///
/// `timestamp` is an RTP-style media-clock value in units of the sample rate
/// (for 48 kHz Opus, 960 ticks per 20 ms frame). Cloning shares the samples.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AudioFrame {
    samples: Arc<[i16]>,
    sample_rate: u32,
    channels: u16,
    timestamp: Timestamp,
}

impl AudioFrame {
    /// A frame of `samples` interleaved over `channels` at `sample_rate` Hz.
    ///
    /// # Errors
    ///
    /// [`FrameError::Channels`] for 0 or more than [`MAX_CHANNELS`] channels,
    /// [`FrameError::SampleRate`] for a 0 Hz rate, and
    /// [`FrameError::Interleave`] when the sample count is not a multiple of
    /// the channel count.
    pub fn new(
        samples: impl Into<Arc<[i16]>>,
        sample_rate: u32,
        channels: u16,
        timestamp: Timestamp,
    ) -> Result<Self, FrameError> {
        let samples = samples.into();
        if channels == 0 || channels > MAX_CHANNELS {
            return Err(FrameError::Channels(channels));
        }
        if sample_rate == 0 {
            return Err(FrameError::SampleRate);
        }
        if samples.len() % usize::from(channels) != 0 {
            return Err(FrameError::Interleave {
                samples: samples.len(),
                channels,
            });
        }
        Ok(Self {
            samples,
            sample_rate,
            channels,
            timestamp,
        })
    }

    /// `samples_per_channel` samples of silence.
    ///
    /// # Errors
    ///
    /// As [`AudioFrame::new`].
    pub fn silence(
        samples_per_channel: usize,
        sample_rate: u32,
        channels: u16,
        timestamp: Timestamp,
    ) -> Result<Self, FrameError> {
        let total = samples_per_channel.saturating_mul(usize::from(channels));
        Self::new(vec![0i16; total], sample_rate, channels, timestamp)
    }

    /// The interleaved samples.
    #[must_use]
    pub fn samples(&self) -> &[i16] {
        &self.samples
    }

    /// The shared sample buffer (cloning it copies no samples).
    #[must_use]
    pub fn shared_samples(&self) -> &Arc<[i16]> {
        &self.samples
    }

    /// Sample rate in Hz.
    #[must_use]
    pub const fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Number of interleaved channels.
    #[must_use]
    pub const fn channels(&self) -> u16 {
        self.channels
    }

    /// Media-clock timestamp of the first sample.
    #[must_use]
    pub const fn timestamp(&self) -> Timestamp {
        self.timestamp
    }

    /// This frame with another timestamp (the samples are shared).
    #[must_use]
    pub fn with_timestamp(mut self, timestamp: Timestamp) -> Self {
        self.timestamp = timestamp;
        self
    }

    /// Samples in each channel (the frame's length in clock ticks).
    #[must_use]
    pub fn samples_per_channel(&self) -> usize {
        self.samples.len() / usize::from(self.channels)
    }

    /// How long the frame plays.
    #[must_use]
    pub fn duration(&self) -> Duration {
        let n = self.samples_per_channel() as u64;
        Duration::from_nanos(n.saturating_mul(1_000_000_000) / u64::from(self.sample_rate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_shape() {
        assert_eq!(
            AudioFrame::new(vec![0; 3], 8000, 2, Timestamp(0)),
            Err(FrameError::Interleave {
                samples: 3,
                channels: 2
            })
        );
        assert_eq!(
            AudioFrame::new(vec![0; 4], 8000, 0, Timestamp(0)),
            Err(FrameError::Channels(0))
        );
        assert_eq!(
            AudioFrame::new(vec![0; 4], 8000, 9, Timestamp(0)),
            Err(FrameError::Channels(9))
        );
        assert_eq!(
            AudioFrame::new(vec![0; 4], 0, 1, Timestamp(0)),
            Err(FrameError::SampleRate)
        );
    }

    #[test]
    fn clone_shares_samples() -> Result<(), FrameError> {
        let a = AudioFrame::new(vec![1, 2, 3, 4], 8000, 2, Timestamp(5))?;
        let b = a.clone().with_timestamp(Timestamp(6));
        assert!(Arc::ptr_eq(a.shared_samples(), b.shared_samples()));
        assert_eq!(b.samples_per_channel(), 2);
        assert_eq!(b.duration(), Duration::from_micros(250));
        Ok(())
    }
}
