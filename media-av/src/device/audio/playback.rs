//! A playback device as an audio sink.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cpal::SampleFormat;
use cpal::traits::DeviceTrait;

use super::{Direction, StreamGuard, on_stream_error, open_device, start, to_f32};
use crate::device::DeviceError;
use crate::frame::AudioFrame;
use crate::sink::{AudioSink, SinkError};

/// Plays 16-bit frames on a playback device.
///
/// ```no_run
/// use media_av::device::AudioPlayback;
///
/// let speaker = AudioPlayback::open(None, 48_000, 1)?;
/// # let _ = speaker;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct AudioPlayback {
    ring: rtrb::Producer<i16>,
    rate: u32,
    channels: u16,
    counters: Arc<Counters>,
    dropped: u64,
    _stream: StreamGuard,
}

#[derive(Debug, Default)]
struct Counters {
    played: AtomicU64,
    underrun: AtomicU64,
}

/// Counts of an [`AudioPlayback`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlaybackStats {
    /// Samples of written frames the device took.
    pub played: u64,
    /// Silent samples the device got because no frame was there in time.
    pub underrun: u64,
    /// Samples of written frames dropped because the ring was full.
    pub dropped: u64,
}

impl AudioPlayback {
    /// Opens the playback device `name` (the default one for `None`) at `rate` Hz with
    /// `channels` channels; it plays silence until frames are written.
    ///
    /// # Errors
    ///
    /// [`DeviceError::NotFound`] (with the devices there are) or
    /// [`DeviceError::Stream`] when the device refuses the format.
    pub fn open(name: Option<&str>, rate: u32, channels: u16) -> Result<Self, DeviceError> {
        let device = open_device(Direction::Playback, name)?;
        // Half a second of room between the engine and the device.
        let capacity = (rate as usize * usize::from(channels) / 2).max(1);
        let (producer, mut consumer) = rtrb::RingBuffer::<i16>::new(capacity);
        let counters = Arc::new(Counters::default());
        let seen = counters.clone();
        // Real-time callbacks: pop from the ring, silence for what is missing.
        let guard = start(
            Direction::Playback,
            device,
            rate,
            channels,
            move |device, config, format| match format {
                SampleFormat::F32 => device.build_output_stream(
                    config,
                    move |out: &mut [f32], _: &cpal::OutputCallbackInfo| {
                        let mut played = 0u64;
                        for o in out.iter_mut() {
                            *o = match consumer.pop() {
                                Ok(s) => {
                                    played += 1;
                                    to_f32(s)
                                }
                                Err(_) => 0.0,
                            };
                        }
                        seen.played.fetch_add(played, Ordering::Relaxed);
                        seen.underrun
                            .fetch_add(out.len() as u64 - played, Ordering::Relaxed);
                    },
                    on_stream_error,
                    None,
                ),
                _ => device.build_output_stream(
                    config,
                    move |out: &mut [i16], _: &cpal::OutputCallbackInfo| {
                        let (filled, rest) = consumer.pop_partial_slice(out);
                        let played = filled.len() as u64;
                        rest.fill(0);
                        seen.played.fetch_add(played, Ordering::Relaxed);
                        seen.underrun
                            .fetch_add(rest.len() as u64, Ordering::Relaxed);
                    },
                    on_stream_error,
                    None,
                ),
            },
        )?;
        Ok(Self {
            ring: producer,
            rate,
            channels,
            counters,
            dropped: 0,
            _stream: guard,
        })
    }

    /// What was played, padded and dropped so far.
    pub fn stats(&self) -> PlaybackStats {
        PlaybackStats {
            played: self.counters.played.load(Ordering::Relaxed),
            underrun: self.counters.underrun.load(Ordering::Relaxed),
            dropped: self.dropped,
        }
    }
}

impl AudioSink for AudioPlayback {
    fn write_frame(&mut self, frame: &AudioFrame) -> Result<(), SinkError> {
        if frame.sample_rate() != self.rate || frame.channels() != self.channels {
            return Err(SinkError::Mismatch(format!(
                "{} Hz x{} on a device opened at {} Hz x{}",
                frame.sample_rate(),
                frame.channels(),
                self.rate,
                self.channels
            )));
        }
        let (_, rest) = self.ring.push_partial_slice(frame.samples());
        self.dropped += rest.len() as u64;
        Ok(())
    }
}
