//! Audio devices through `cpal` (feature `audio-device`); see the parent module.

mod capture;
mod playback;

pub use capture::AudioCapture;
pub use playback::AudioPlayback;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};

use super::DeviceError;

/// Most audio a capture source keeps waiting before it drops the oldest, in ms.
pub const MAX_BACKLOG_MS: u32 = 200;

/// Names of the capture devices of the default host.
pub fn input_devices() -> Vec<String> {
    cpal::default_host()
        .input_devices()
        .map(|ds| ds.filter_map(|d| d.name().ok()).collect())
        .unwrap_or_default()
}

/// Names of the playback devices of the default host.
pub fn output_devices() -> Vec<String> {
    cpal::default_host()
        .output_devices()
        .map(|ds| ds.filter_map(|d| d.name().ok()).collect())
        .unwrap_or_default()
}

/// Which way a device carries audio.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direction {
    Capture,
    Playback,
}

impl Direction {
    fn word(self) -> &'static str {
        match self {
            Direction::Capture => "audio capture",
            Direction::Playback => "audio playback",
        }
    }
}

/// The `direction` device called `name` (or the default one) of the default host.
fn open_device(direction: Direction, name: Option<&str>) -> Result<cpal::Device, DeviceError> {
    let host = cpal::default_host();
    let (default, devices): (_, Vec<cpal::Device>) = match direction {
        Direction::Capture => (
            host.default_input_device(),
            host.input_devices()
                .map(Iterator::collect)
                .unwrap_or_default(),
        ),
        Direction::Playback => (
            host.default_output_device(),
            host.output_devices()
                .map(Iterator::collect)
                .unwrap_or_default(),
        ),
    };
    let found = match name {
        None => default,
        Some(n) => devices
            .iter()
            .find(|d| d.name().is_ok_and(|dn| dn == n))
            .cloned(),
    };
    found.ok_or_else(|| DeviceError::NotFound {
        direction: direction.word(),
        name: name.unwrap_or("(default)").to_owned(),
        available: devices.iter().filter_map(|d| d.name().ok()).collect(),
    })
}

/// Logs an error a running device stream reports (cpal's thread; error path only).
fn on_stream_error(e: cpal::StreamError) {
    tracing::debug!(error = %e, "audio device stream error");
}

/// Builds (with `build`, given the device's native sample format) and starts a
/// `rate` Hz × `channels` stream on `device`, kept by its own thread until the
/// returned guard drops.
fn start(
    direction: Direction,
    device: cpal::Device,
    rate: u32,
    channels: u16,
    build: impl FnOnce(
        &cpal::Device,
        &cpal::StreamConfig,
        cpal::SampleFormat,
    ) -> Result<cpal::Stream, cpal::BuildStreamError>
    + Send
    + 'static,
) -> Result<StreamGuard, DeviceError> {
    let native = match direction {
        Direction::Capture => device.default_input_config(),
        Direction::Playback => device.default_output_config(),
    };
    let format = native
        .map(|c| c.sample_format())
        .unwrap_or(cpal::SampleFormat::I16);
    let config = cpal::StreamConfig {
        channels,
        sample_rate: cpal::SampleRate(rate),
        buffer_size: cpal::BufferSize::Default,
    };
    let name = device.name().unwrap_or_else(|_| "(unnamed)".into());
    stream_thread(move || {
        let failed = |e: &dyn std::fmt::Display| DeviceError::Stream {
            name: name.clone(),
            reason: e.to_string(),
        };
        let stream = build(&device, &config, format).map_err(|e| failed(&e))?;
        stream.play().map_err(|e| failed(&e))?;
        Ok(stream)
    })
}

/// Runs `build` (which makes and starts a cpal stream) on a thread of its own that
/// keeps the stream until the returned guard is dropped.
fn stream_thread(
    build: impl FnOnce() -> Result<cpal::Stream, DeviceError> + Send + 'static,
) -> Result<StreamGuard, DeviceError> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("ucc-audio-device".into())
        .spawn(move || match build() {
            Ok(stream) => {
                let _ = ready_tx.send(Ok(()));
                // Until the guard drops its sender.
                let _ = stop_rx.recv();
                drop(stream);
            }
            Err(e) => {
                let _ = ready_tx.send(Err(e));
            }
        })
        .map_err(|e| DeviceError::Stream {
            name: "(thread)".into(),
            reason: e.to_string(),
        })?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(StreamGuard {
            stop: Some(stop_tx),
            thread: Some(thread),
        }),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => Err(DeviceError::Stream {
            name: "(thread)".into(),
            reason: "the audio thread ended early".into(),
        }),
    }
}

/// Stops a device stream's thread when dropped.
#[derive(Debug)]
struct StreamGuard {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// cpal's f32 sample as i16.
fn to_i16(s: f32) -> i16 {
    // The cast saturates; the product of a sample in [-1, 1] fits.
    #[allow(clippy::cast_possible_truncation)]
    let v = (s.clamp(-1.0, 1.0) * 32767.0) as i16;
    v
}

/// i16 as cpal's f32 sample.
fn to_f32(s: i16) -> f32 {
    f32::from(s) / 32768.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_conversion_round_trips_and_saturates() {
        for s in [i16::MIN + 1, -1000, 0, 1000, i16::MAX] {
            assert!(
                (i32::from(to_i16(to_f32(s))) - i32::from(s)).abs() <= 1,
                "{s}"
            );
        }
        assert_eq!(to_i16(2.0), i16::MAX);
        assert_eq!(to_i16(-2.0), -i16::MAX);
    }
}
