//! A sink that drops frames.

use super::{AudioSink, SinkError, VideoSink};
use crate::frame::{AudioFrame, VideoFrame};

/// Drops every frame, counting frames and audio samples.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NullSink {
    /// Frames consumed.
    pub frames: u64,
    /// Audio samples per channel consumed.
    pub samples: u64,
}

impl AudioSink for NullSink {
    fn write_frame(&mut self, frame: &AudioFrame) -> Result<(), SinkError> {
        self.frames += 1;
        self.samples += frame.samples_per_channel() as u64;
        Ok(())
    }
}

impl VideoSink for NullSink {
    fn write_frame(&mut self, _frame: &VideoFrame) -> Result<(), SinkError> {
        self.frames += 1;
        Ok(())
    }
}
