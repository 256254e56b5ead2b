//! The user agent's media engine: media-av's default 1 kHz tone (or `--play FILE.wav`)
//! as the audio source, and with `--record DIR` a recorder per received audio stream
//! that writes `call-<n>.wav` when the stream ends. With `--echo` the source is what
//! was received (about 20 ms later): callers hear themselves. The echo buffer is one
//! for the agent, so concurrent calls hear a mix.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use media_av::engine::{AvEngine, EngineConfig, PipelineInfo};
use media_av::frame::AudioFrame;
use media_av::sink::{AudioSink, SinkError, WavSink};
use media_av::source::{AudioSource, SourceError, WavSource};
use session_core::MediaType;

use crate::exit::CliError;

/// What an engine sends and what it does with what it receives.
#[derive(Debug, Default)]
pub(crate) struct MediaOptions<'a> {
    /// Send this WAV file instead of the tone.
    pub(crate) play: Option<&'a Path>,
    /// Record received audio into this folder.
    pub(crate) record: Option<&'a Path>,
    /// Send received audio back (takes precedence over `play`).
    pub(crate) echo: bool,
    /// Print a `recorded <path> (<seconds> s)` line for each file written.
    pub(crate) announce: bool,
    /// Send what this capture device records (`default`: the default device); after
    /// `echo`, before `play`. Only with the `audio-device` feature.
    pub(crate) capture_device: Option<&'a str>,
    /// Play received audio on this device (`default`: the default device).
    pub(crate) playback_device: Option<&'a str>,
    /// Send what this camera captures (`default`: the default camera).
    #[cfg(feature = "video-device")]
    pub(crate) video_device: Option<&'a str>,
}

/// The picture size and rate asked of a camera.
#[cfg(feature = "video-device")]
const CAMERA_MODE: (u32, u32, u32) = (640, 480, 30);

/// Checks now that the camera opens, and returns its source factory.
#[cfg(feature = "video-device")]
fn camera(
    options: &MediaOptions<'_>,
) -> Result<Option<media_av::engine::VideoSourceFactory>, CliError> {
    use media_av::device::VideoCapture;
    use media_av::source::VideoSource;
    let Some(name) = options.video_device else {
        return Ok(None);
    };
    let path = (name != "default").then(|| name.to_owned());
    let (w, h, fps) = CAMERA_MODE;
    VideoCapture::open(path.as_deref(), w, h, fps)
        .map_err(|e| CliError::Setup(format!("--video-device: {e}")))?;
    Ok(Some(Arc::new(move |_: &PipelineInfo| {
        let capture = VideoCapture::open(path.as_deref(), w, h, fps)
            .map_err(|e| SourceError::Device(e.to_string()))?;
        Ok(Box::new(capture) as Box<dyn VideoSource>)
    })))
}

/// A device name as media-av takes it: `default` means the system's default.
#[cfg(feature = "audio-device")]
fn device_name(name: &str) -> Option<&str> {
    (name != "default").then_some(name)
}

/// Checks now that the devices asked for open, so a wrong name is a setup error at
/// start rather than silence later.
#[cfg(feature = "audio-device")]
fn check_devices(options: &MediaOptions<'_>) -> Result<(), CliError> {
    use media_av::device::{AudioCapture, AudioPlayback};
    if let Some(name) = options.capture_device {
        AudioCapture::open(device_name(name), 48_000, 1)
            .map_err(|e| CliError::Setup(format!("--capture-device: {e}")))?;
    }
    if let Some(name) = options.playback_device {
        AudioPlayback::open(device_name(name), 48_000, 1)
            .map_err(|e| CliError::Setup(format!("--playback-device: {e}")))?;
    }
    Ok(())
}

#[cfg(not(feature = "audio-device"))]
fn check_devices(options: &MediaOptions<'_>) -> Result<(), CliError> {
    match options.capture_device.or(options.playback_device) {
        Some(_) => Err(CliError::Usage(
            "audio devices need ucc built with the audio-device feature".into(),
        )),
        None => Ok(()),
    }
}

/// At most this much audio waits in the echo buffer (older samples are dropped).
const ECHO_MAX_SECONDS: usize = 1;

/// An engine for `options`.
pub(crate) fn engine(options: &MediaOptions<'_>) -> Result<Arc<AvEngine>, CliError> {
    check_devices(options)?;
    let mut config = EngineConfig::new();
    #[cfg(feature = "video-device")]
    if let Some(factory) = camera(options)? {
        config = config.video_source(factory);
    }
    let echo = options.echo.then(Echo::default);
    if let Some(echo) = &echo {
        let echo = echo.clone();
        config = config.audio_source(Arc::new(move |info: &PipelineInfo| {
            Ok(Box::new(EchoSource {
                echo: echo.clone(),
                rate: info.sample_rate,
                channels: info.channels,
                timestamp: 0,
            }) as Box<dyn AudioSource>)
        }));
    } else if let Some(name) = capture(options) {
        config = config.audio_source(name);
    } else if let Some(path) = options.play {
        // Checked now, so a wrong file is an error at start rather than silence later.
        WavSource::open(path)
            .map_err(|e| CliError::Usage(format!("--play {}: {e}", path.display())))?;
        let path = path.to_path_buf();
        config = config.audio_source(Arc::new(move |info: &PipelineInfo| {
            let source = WavSource::open(&path)?;
            if source.sample_rate() != info.sample_rate || source.channels() != info.channels {
                return Err(SourceError::WavFormat(format!(
                    "{} Hz x{} while {} needs {} Hz x{}",
                    source.sample_rate(),
                    source.channels(),
                    info.codec.name,
                    info.sample_rate,
                    info.channels
                )));
            }
            Ok(Box::new(source) as Box<dyn AudioSource>)
        }));
    }
    let record = match options.record {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| CliError::Setup(format!("--record {}: {e}", dir.display())))?;
            Some((
                dir.to_path_buf(),
                Arc::new(AtomicU32::new(0)),
                options.announce,
            ))
        }
        None => None,
    };
    let playback = options.playback_device.map(str::to_owned);
    if record.is_some() || echo.is_some() || playback.is_some() {
        config = config.audio_sink(Arc::new(move |info: &PipelineInfo| {
            debug_assert_eq!(info.media_type, MediaType::Audio);
            Box::new(Tap {
                playback: playback
                    .as_deref()
                    .and_then(|name| open_playback(name, info)),
                recorder: record.as_ref().map(|(dir, counter, announce)| Recorder {
                    dir: dir.clone(),
                    counter: counter.clone(),
                    announce: *announce,
                    rate: info.sample_rate,
                    channels: info.channels,
                    samples: Vec::new(),
                }),
                echo: echo.clone(),
            }) as Box<dyn AudioSink>
        }));
    }
    Ok(Arc::new(AvEngine::new(config)))
}

/// Received audio on its way back: the rate and channels it came with, and samples.
#[derive(Clone, Default)]
struct Echo(Arc<Mutex<(u32, u16, VecDeque<i16>)>>);

/// The receive side of a stream: recorded, echoed, or both.
struct Tap {
    recorder: Option<Recorder>,
    echo: Option<Echo>,
    playback: Option<Box<dyn AudioSink>>,
}

/// The capture source factory for `--capture-device`.
#[cfg(feature = "audio-device")]
fn capture(options: &MediaOptions<'_>) -> Option<media_av::engine::AudioSourceFactory> {
    let name = options.capture_device?.to_owned();
    Some(Arc::new(move |info: &PipelineInfo| {
        let capture = media_av::device::AudioCapture::open(
            device_name(&name),
            info.sample_rate,
            info.channels,
        )
        .map_err(|e| SourceError::Io(std::io::Error::other(e.to_string())))?;
        Ok(Box::new(capture) as Box<dyn AudioSource>)
    }))
}

#[cfg(not(feature = "audio-device"))]
fn capture(_: &MediaOptions<'_>) -> Option<media_av::engine::AudioSourceFactory> {
    None
}

/// The playback device for one received stream; a device that fails to open is
/// reported once and the stream is not played.
#[cfg(feature = "audio-device")]
fn open_playback(name: &str, info: &PipelineInfo) -> Option<Box<dyn AudioSink>> {
    match media_av::device::AudioPlayback::open(device_name(name), info.sample_rate, info.channels)
    {
        Ok(p) => Some(Box::new(p)),
        Err(e) => {
            eprintln!("ucc: --playback-device: {e}");
            None
        }
    }
}

#[cfg(not(feature = "audio-device"))]
fn open_playback(_: &str, _: &PipelineInfo) -> Option<Box<dyn AudioSink>> {
    None
}

impl AudioSink for Tap {
    fn write_frame(&mut self, frame: &AudioFrame) -> Result<(), SinkError> {
        if let Some(echo) = &self.echo {
            let mut g = echo.0.lock().unwrap_or_else(PoisonError::into_inner);
            g.0 = frame.sample_rate();
            g.1 = frame.channels();
            g.2.extend(frame.samples().iter().copied());
            let max =
                ECHO_MAX_SECONDS * frame.sample_rate() as usize * usize::from(frame.channels());
            let excess = g.2.len().saturating_sub(max);
            g.2.drain(..excess);
        }
        if let Some(p) = &mut self.playback {
            p.write_frame(frame)?;
        }
        match &mut self.recorder {
            Some(r) => r.write_frame(frame),
            None => Ok(()),
        }
    }
}

/// Plays the echo buffer back in 20 ms frames, silence when it runs dry or when the
/// received audio has another rate than this stream sends.
struct EchoSource {
    echo: Echo,
    rate: u32,
    channels: u16,
    timestamp: u32,
}

impl AudioSource for EchoSource {
    fn sample_rate(&self) -> u32 {
        self.rate
    }

    fn channels(&self) -> u16 {
        self.channels
    }

    fn next_frame(&mut self) -> Result<Option<AudioFrame>, SourceError> {
        let per_channel = (self.rate / 50).max(1) as usize;
        let want = per_channel * usize::from(self.channels);
        let mut samples = Vec::with_capacity(want);
        {
            let mut g = self.echo.0.lock().unwrap_or_else(PoisonError::into_inner);
            if g.0 == self.rate && g.1 == self.channels {
                let n = want.min(g.2.len());
                samples.extend(g.2.drain(..n));
            }
        }
        samples.resize(want, 0);
        let frame = AudioFrame::new(
            samples,
            self.rate,
            self.channels,
            media_av::rtp::Timestamp(self.timestamp),
        )?;
        self.timestamp = self.timestamp.wrapping_add(per_channel as u32);
        Ok(Some(frame))
    }
}

/// The recordings `record` holds (`call-<n>.wav`), oldest first.
pub(crate) fn recordings(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let n = name
                .strip_prefix("call-")?
                .strip_suffix(".wav")?
                .parse()
                .ok()?;
            Some((n, e.path()))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, p)| p).collect()
}

/// Keeps one stream's decoded audio and writes it out when the stream ends; the file
/// appears complete (written aside, then renamed), so a reader never sees half of it.
struct Recorder {
    dir: PathBuf,
    counter: Arc<AtomicU32>,
    announce: bool,
    rate: u32,
    channels: u16,
    samples: Vec<i16>,
}

impl AudioSink for Recorder {
    fn write_frame(&mut self, frame: &AudioFrame) -> Result<(), SinkError> {
        self.rate = frame.sample_rate();
        self.channels = frame.channels();
        self.samples.extend_from_slice(frame.samples());
        Ok(())
    }
}

impl Recorder {
    fn write(&mut self) -> Result<PathBuf, String> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
        let path = self.dir.join(format!("call-{n}.wav"));
        let part = self.dir.join(format!(".call-{n}.wav.part"));
        let samples = std::mem::take(&mut self.samples);
        let frame = AudioFrame::new(
            samples,
            self.rate,
            self.channels,
            media_av::rtp::Timestamp(0),
        )
        .map_err(|e| e.to_string())?;
        let mut wav =
            WavSink::create(&part, self.rate, self.channels).map_err(|e| e.to_string())?;
        wav.write_frame(&frame).map_err(|e| e.to_string())?;
        wav.finalize().map_err(|e| e.to_string())?;
        std::fs::rename(&part, &path).map_err(|e| e.to_string())?;
        Ok(path)
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if self.samples.is_empty() {
            return;
        }
        let seconds = self.samples.len() as f64
            / f64::from(self.rate.max(1) * u32::from(self.channels.max(1)));
        match self.write() {
            Ok(path) if self.announce => println!("recorded {} ({seconds:.1} s)", path.display()),
            Ok(_) => {}
            Err(e) => eprintln!("ucc: --record: {e}"),
        }
    }
}
