//! A capture device as an audio source.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cpal::SampleFormat;
use cpal::traits::DeviceTrait;

use super::{Direction, MAX_BACKLOG_MS, StreamGuard, on_stream_error, open_device, start, to_i16};
use crate::device::DeviceError;
use crate::frame::AudioFrame;
use crate::rtp::Timestamp;
use crate::source::{AudioSource, SourceError};

/// Audio from a capture device, in 20 ms frames of 16-bit samples.
///
/// ```no_run
/// use media_av::device::AudioCapture;
/// use media_av::source::AudioSource;
///
/// let mut mic = AudioCapture::open(None, 48_000, 1)?;
/// let frame = mic.next_frame()?.expect("a capture never ends");
/// assert_eq!(frame.samples().len(), 960);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct AudioCapture {
    ring: rtrb::Consumer<i16>,
    rate: u32,
    channels: u16,
    timestamp: u32,
    counters: Arc<Counters>,
    underrun: u64,
    skipped: u64,
    _stream: StreamGuard,
}

/// What the device callback counted.
#[derive(Debug, Default)]
struct Counters {
    captured: AtomicU64,
    overrun: AtomicU64,
}

/// Counts of an [`AudioCapture`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CaptureStats {
    /// Samples the device delivered.
    pub captured: u64,
    /// Samples dropped because the ring was full (nobody read in time).
    pub overrun: u64,
    /// Silent samples handed out because the device was behind.
    pub underrun: u64,
    /// Samples skipped to keep the backlog under [`MAX_BACKLOG_MS`].
    pub skipped: u64,
}

impl AudioCapture {
    /// Opens the capture device `name` (the default one for `None`) at `rate` Hz with
    /// `channels` channels and starts capturing.
    ///
    /// # Errors
    ///
    /// [`DeviceError::NotFound`] (with the devices there are) or
    /// [`DeviceError::Stream`] when the device refuses the format.
    pub fn open(name: Option<&str>, rate: u32, channels: u16) -> Result<Self, DeviceError> {
        let device = open_device(Direction::Capture, name)?;
        // One second of room: the ring never fills while the engine reads.
        let capacity = rate as usize * usize::from(channels);
        let (mut producer, consumer) = rtrb::RingBuffer::new(capacity.max(1));
        let counters = Arc::new(Counters::default());
        let seen = counters.clone();
        // Real-time callbacks: push into the ring, count; nothing else.
        let guard = start(
            Direction::Capture,
            device,
            rate,
            channels,
            move |device, config, format| match format {
                SampleFormat::F32 => device.build_input_stream(
                    config,
                    move |data: &[f32], _: &cpal::InputCallbackInfo| {
                        let mut dropped = 0;
                        for &s in data {
                            if producer.push(to_i16(s)).is_err() {
                                dropped += 1;
                            }
                        }
                        seen.captured
                            .fetch_add(data.len() as u64, Ordering::Relaxed);
                        seen.overrun.fetch_add(dropped, Ordering::Relaxed);
                    },
                    on_stream_error,
                    None,
                ),
                _ => device.build_input_stream(
                    config,
                    move |data: &[i16], _: &cpal::InputCallbackInfo| {
                        let (_, rest) = producer.push_partial_slice(data);
                        seen.captured
                            .fetch_add(data.len() as u64, Ordering::Relaxed);
                        seen.overrun.fetch_add(rest.len() as u64, Ordering::Relaxed);
                    },
                    on_stream_error,
                    None,
                ),
            },
        )?;
        Ok(Self {
            ring: consumer,
            rate,
            channels,
            timestamp: 0,
            counters,
            underrun: 0,
            skipped: 0,
            _stream: guard,
        })
    }

    /// What was captured, dropped and padded so far.
    pub fn stats(&self) -> CaptureStats {
        CaptureStats {
            captured: self.counters.captured.load(Ordering::Relaxed),
            overrun: self.counters.overrun.load(Ordering::Relaxed),
            underrun: self.underrun,
            skipped: self.skipped,
        }
    }
}

impl AudioSource for AudioCapture {
    fn sample_rate(&self) -> u32 {
        self.rate
    }

    fn channels(&self) -> u16 {
        self.channels
    }

    fn next_frame(&mut self) -> Result<Option<AudioFrame>, SourceError> {
        let channels = usize::from(self.channels);
        let per_channel = (self.rate / 50).max(1) as usize;
        let want = per_channel * channels;
        let backlog = (self.rate * MAX_BACKLOG_MS / 1000) as usize * channels;
        let waiting = self.ring.slots();
        if waiting > backlog + want {
            // Whole sample frames only, so channels stay in step.
            let excess = (waiting - backlog) / channels * channels;
            if let Ok(chunk) = self.ring.read_chunk(excess) {
                chunk.commit_all();
                self.skipped += excess as u64;
            }
        }
        let mut samples = vec![0i16; want];
        let (got, _) = self.ring.pop_partial_slice(&mut samples);
        let got = got.len();
        self.underrun += (want - got) as u64;
        let frame = AudioFrame::new(samples, self.rate, self.channels, Timestamp(self.timestamp))?;
        self.timestamp = self.timestamp.wrapping_add(per_channel as u32);
        Ok(Some(frame))
    }
}
