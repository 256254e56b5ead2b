//! A sine-tone generator.

use std::f64::consts::TAU;

use super::{AudioSource, SourceError};
use crate::frame::{AudioFrame, MAX_CHANNELS};
use crate::rtp::Timestamp;

/// An endless sine tone, the same in every channel: the default audio
/// source, and a signal whose frequency and SNR tests can measure.
///
/// Sample `n` is `round(amplitude * sin(2π f n / rate))`, a pure function of
/// `n`, and the frame starting at sample `n` is stamped `Timestamp(n)`
/// (wrapping), so the media clock runs at the sample rate.
#[derive(Clone, Debug)]
pub struct ToneGenerator {
    frequency: f64,
    amplitude: i16,
    sample_rate: u32,
    channels: u16,
    frame_samples: usize,
    next: u64,
}

impl ToneGenerator {
    /// A tone of `frequency` Hz and peak `amplitude` at `sample_rate` Hz in
    /// `channels` channels, producing 20 ms frames.
    ///
    /// # Errors
    ///
    /// [`SourceError::Parameter`] when the frequency is not below half the
    /// sample rate, the sample rate is under 100 Hz, the amplitude is
    /// negative or the channel count is outside 1..=8.
    pub fn new(
        frequency: f64,
        amplitude: i16,
        sample_rate: u32,
        channels: u16,
    ) -> Result<Self, SourceError> {
        if sample_rate < 100 {
            return Err(SourceError::Parameter(format!(
                "sample rate {sample_rate} Hz"
            )));
        }
        if !(frequency >= 0.0 && frequency < f64::from(sample_rate) / 2.0) {
            return Err(SourceError::Parameter(format!(
                "tone of {frequency} Hz at {sample_rate} Hz"
            )));
        }
        if amplitude < 0 || channels == 0 || channels > MAX_CHANNELS {
            return Err(SourceError::Parameter(format!(
                "amplitude {amplitude}, {channels} channels"
            )));
        }
        Ok(Self {
            frequency,
            amplitude,
            sample_rate,
            channels,
            frame_samples: sample_rate as usize / 50,
            next: 0,
        })
    }

    /// The tone's frequency in Hz.
    pub fn frequency(&self) -> f64 {
        self.frequency
    }

    /// The sample rate in Hz.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// The same tone with `samples` samples per channel in each frame.
    ///
    /// # Errors
    ///
    /// [`SourceError::Parameter`] for 0.
    pub fn with_frame_samples(mut self, samples: usize) -> Result<Self, SourceError> {
        if samples == 0 {
            return Err(SourceError::Parameter("frames of 0 samples".into()));
        }
        self.frame_samples = samples;
        Ok(self)
    }

    /// Sample `n` of the tone (per channel).
    #[must_use]
    pub fn sample(&self, n: u64) -> i16 {
        // Reduce the phase modulo the period in exact arithmetic first so
        // long runs keep full precision.
        let rate = u64::from(self.sample_rate);
        let phase = (n % rate) as f64 * self.frequency / f64::from(self.sample_rate)
            + ((n / rate) as f64 * self.frequency).fract();
        let v = f64::from(self.amplitude) * (TAU * phase).sin();
        v.round() as i16
    }

    /// `count` samples per channel starting at sample `start`, interleaved.
    #[must_use]
    pub fn samples(&self, start: u64, count: usize) -> Vec<i16> {
        let ch = usize::from(self.channels);
        let mut out = Vec::with_capacity(count * ch);
        for n in start..start + count as u64 {
            let s = self.sample(n);
            out.extend(std::iter::repeat_n(s, ch));
        }
        out
    }
}

impl AudioSource for ToneGenerator {
    fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    fn channels(&self) -> u16 {
        self.channels
    }

    fn next_frame(&mut self) -> Result<Option<AudioFrame>, SourceError> {
        let samples = self.samples(self.next, self.frame_samples);
        // The timestamp is the sample index modulo 2^32 (RTP wrap-around).
        let ts = Timestamp(self.next as u32);
        self.next += self.frame_samples as u64;
        Ok(Some(AudioFrame::new(
            samples,
            self.sample_rate,
            self.channels,
            ts,
        )?))
    }
}
