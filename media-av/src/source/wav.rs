//! 16-bit PCM from WAV files.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use super::{AudioSource, SourceError};
use crate::frame::AudioFrame;
use crate::rtp::Timestamp;

/// Reads a WAV file (16-bit integer PCM, any rate, 1..=8 channels) in
/// frames of a fixed length; the last frame may be shorter.
pub struct WavSource<R: Read> {
    reader: hound::WavReader<R>,
    sample_rate: u32,
    channels: u16,
    frame_samples: usize,
    next: u64,
}

impl<R: Read> std::fmt::Debug for WavSource<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavSource")
            .field("sample_rate", &self.sample_rate)
            .field("channels", &self.channels)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl WavSource<BufReader<File>> {
    /// Opens the WAV file at `path`, producing 20 ms frames.
    ///
    /// # Errors
    ///
    /// As [`WavSource::new`], plus I/O errors opening the file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SourceError> {
        let file = File::open(path)?;
        Self::new(BufReader::new(file))
    }
}

impl<R: Read> WavSource<R> {
    /// Reads WAV data from `reader`, producing 20 ms frames.
    ///
    /// # Errors
    ///
    /// [`SourceError::Wav`] for a malformed header,
    /// [`SourceError::WavFormat`] for anything but 16-bit integer PCM with
    /// 1..=8 channels.
    pub fn new(reader: R) -> Result<Self, SourceError> {
        let reader = hound::WavReader::new(reader)?;
        let spec = reader.spec();
        if spec.sample_format != hound::SampleFormat::Int || spec.bits_per_sample != 16 {
            return Err(SourceError::WavFormat(format!(
                "{:?} with {} bits per sample",
                spec.sample_format, spec.bits_per_sample
            )));
        }
        if spec.channels == 0 || spec.channels > crate::frame::MAX_CHANNELS || spec.sample_rate == 0
        {
            return Err(SourceError::WavFormat(format!(
                "{} channels at {} Hz",
                spec.channels, spec.sample_rate
            )));
        }
        Ok(Self {
            reader,
            sample_rate: spec.sample_rate,
            channels: spec.channels,
            frame_samples: (spec.sample_rate as usize / 50).max(1),
            next: 0,
        })
    }

    /// The same source with `samples` samples per channel in each frame.
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

    /// Samples per channel left in the file, as its header says.
    #[must_use]
    pub fn remaining(&self) -> u64 {
        u64::from(self.reader.len() / u32::from(self.channels)).saturating_sub(self.next)
    }
}

impl<R: Read + Send> AudioSource for WavSource<R> {
    fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    fn channels(&self) -> u16 {
        self.channels
    }

    fn next_frame(&mut self) -> Result<Option<AudioFrame>, SourceError> {
        let want = self.frame_samples * usize::from(self.channels);
        let mut samples = Vec::with_capacity(want);
        for sample in self.reader.samples::<i16>().take(want) {
            samples.push(sample?);
        }
        // A trailing partial sample group (truncated file) is dropped.
        samples.truncate(samples.len() - samples.len() % usize::from(self.channels));
        if samples.is_empty() {
            return Ok(None);
        }
        let ts = Timestamp(self.next as u32);
        self.next += (samples.len() / usize::from(self.channels)) as u64;
        Ok(Some(AudioFrame::new(
            samples,
            self.sample_rate,
            self.channels,
            ts,
        )?))
    }
}
