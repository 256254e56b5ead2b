//! 16-bit PCM into WAV files.

use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::path::Path;

use super::{AudioSink, SinkError};
use crate::frame::AudioFrame;

/// Writes 16-bit PCM frames of one rate and channel count to a WAV file.
/// Call [`WavSink::finalize`] to complete the header; dropping the sink
/// tries to finalize too but loses any error.
pub struct WavSink<W: Write + Seek> {
    writer: hound::WavWriter<W>,
    sample_rate: u32,
    channels: u16,
}

impl<W: Write + Seek> std::fmt::Debug for WavSink<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavSink")
            .field("sample_rate", &self.sample_rate)
            .field("channels", &self.channels)
            .finish_non_exhaustive()
    }
}

impl WavSink<BufWriter<File>> {
    /// Creates (or truncates) the WAV file at `path`.
    ///
    /// # Errors
    ///
    /// [`SinkError::Wav`] when the file cannot be created.
    pub fn create(
        path: impl AsRef<Path>,
        sample_rate: u32,
        channels: u16,
    ) -> Result<Self, SinkError> {
        let writer = hound::WavWriter::create(path, spec(sample_rate, channels))?;
        Ok(Self {
            writer,
            sample_rate,
            channels,
        })
    }
}

fn spec(sample_rate: u32, channels: u16) -> hound::WavSpec {
    hound::WavSpec {
        channels,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    }
}

impl<W: Write + Seek> WavSink<W> {
    /// Writes WAV data to `writer`.
    ///
    /// # Errors
    ///
    /// [`SinkError::Wav`] when the header cannot be written.
    pub fn new(writer: W, sample_rate: u32, channels: u16) -> Result<Self, SinkError> {
        let writer = hound::WavWriter::new(writer, spec(sample_rate, channels))?;
        Ok(Self {
            writer,
            sample_rate,
            channels,
        })
    }

    /// Completes the header (data length) and flushes.
    ///
    /// # Errors
    ///
    /// [`SinkError::Wav`] when writing fails.
    pub fn finalize(self) -> Result<(), SinkError> {
        Ok(self.writer.finalize()?)
    }
}

impl<W: Write + Seek + Send> AudioSink for WavSink<W> {
    fn write_frame(&mut self, frame: &AudioFrame) -> Result<(), SinkError> {
        if frame.sample_rate() != self.sample_rate || frame.channels() != self.channels {
            return Err(SinkError::Mismatch(format!(
                "{} Hz x{} into a {} Hz x{} WAV file",
                frame.sample_rate(),
                frame.channels(),
                self.sample_rate,
                self.channels
            )));
        }
        let mut samples = self.writer.get_i16_writer(frame.samples().len() as u32);
        for &s in frame.samples() {
            samples.write_sample(s);
        }
        Ok(samples.flush()?)
    }
}
