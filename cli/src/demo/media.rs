//! Media of the demo: both sides run a media-av `AvEngine` (synthetic tone and moving
//! test pattern as sources); bob's engine hands what it decodes to taps, which the
//! summary measures against what alice's sources produced.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use media_av::engine::{
    AvEngine, EngineConfig, Monitor, PipelineInfo, RtcpSettings, StreamSnapshot,
};
use media_av::frame::{AudioFrame, VideoFrame};
use media_av::quality::{dominant_frequency, median, psnr, tone_block_snrs};
use media_av::sink::{AudioSink, SinkError, VideoSink, WavSink, Y4mSink};
use media_av::source::{TestPattern, ToneGenerator};
use session_core::MediaType;

use crate::exit::CliError;
use crate::summary::MediaSummary;

/// Frequency and peak of the engine's default tone (media-av's audio source default).
const TONE_HZ: f64 = 1000.0;
const TONE_AMPLITUDE: i16 = 8000;

/// What bob decoded: audio samples (with their rate) and pictures.
#[derive(Clone, Default)]
pub(crate) struct Taps {
    audio: Arc<Mutex<(u32, Vec<i16>)>>,
    video: Arc<Mutex<Vec<VideoFrame>>>,
}

struct AudioTap(Arc<Mutex<(u32, Vec<i16>)>>);
struct VideoTap(Arc<Mutex<Vec<VideoFrame>>>);

impl AudioSink for AudioTap {
    fn write_frame(&mut self, frame: &AudioFrame) -> Result<(), SinkError> {
        let mut g = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        g.0 = frame.sample_rate();
        g.1.extend_from_slice(frame.samples());
        Ok(())
    }
}

impl VideoSink for VideoTap {
    fn write_frame(&mut self, frame: &VideoFrame) -> Result<(), SinkError> {
        self.video_push(frame.clone());
        Ok(())
    }
}

impl VideoTap {
    fn video_push(&self, frame: VideoFrame) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(frame);
    }
}

/// An engine for one side; `taps` makes it record what it decodes.
pub(crate) fn engine(taps: Option<&Taps>) -> (Arc<AvEngine>, Monitor) {
    let mut config = EngineConfig::new().rtcp_settings(RtcpSettings {
        interval: Duration::from_millis(500),
        ..RtcpSettings::default()
    });
    if let Some(t) = taps {
        let (audio, video) = (t.audio.clone(), t.video.clone());
        config = config
            .audio_sink(Arc::new(move |_: &PipelineInfo| {
                Box::new(AudioTap(audio.clone())) as Box<dyn AudioSink>
            }))
            .video_sink(Arc::new(move |_: &PipelineInfo| {
                Box::new(VideoTap(video.clone())) as Box<dyn VideoSink>
            }));
    }
    let engine = Arc::new(AvEngine::new(config));
    let monitor = engine.monitor();
    (engine, monitor)
}

/// Streams of both sides kept before they close (video removed mid-call leaves the
/// monitors when its streams close).
#[derive(Default)]
pub(crate) struct Snapshots {
    alice: Vec<StreamSnapshot>,
    bob: Vec<StreamSnapshot>,
}

impl Snapshots {
    /// Remembers the current streams of both sides.
    pub(crate) fn keep(&mut self, alice: &Monitor, bob: &Monitor) {
        self.alice.extend(alice.streams());
        self.bob.extend(bob.streams());
    }
}

/// The latest snapshot of every stream seen: now, else the kept one.
fn latest(now: Vec<StreamSnapshot>, kept: &[StreamSnapshot]) -> Vec<StreamSnapshot> {
    let mut all = now;
    for k in kept.iter().rev() {
        if !all.iter().any(|s| s.id == k.id) {
            all.push(k.clone());
        }
    }
    all
}

/// The media figures of the call: counters from both monitors, quality from bob's taps.
pub(crate) fn summarize(
    alice: &Monitor,
    bob: &Monitor,
    kept: &Snapshots,
    taps: &Taps,
    seconds: f64,
) -> MediaSummary {
    let mut m = MediaSummary::default();
    for s in latest(alice.streams(), &kept.alice) {
        m.packets_sent += s.counters.stats.packets_sent;
        m.octets_sent += s.counters.octets_sent;
        if s.media_type == MediaType::Audio {
            m.round_trip_ms = s.counters.round_trip_time.map(|d| d.as_secs_f64() * 1000.0);
        }
    }
    for s in latest(bob.streams(), &kept.bob) {
        m.packets_received += s.counters.stats.packets_received;
        m.packets_lost += s.counters.stats.packets_lost;
        let codec = s.negotiated.as_ref().map(|n| n.codec.clone());
        match s.media_type {
            MediaType::Audio => {
                if let Some(c) = codec {
                    m.jitter_ms = f64::from(s.counters.stats.jitter) * 1000.0
                        / f64::from(c.clock_rate.max(1));
                    m.audio_codec = c.name.to_string();
                }
                m.concealed_frames += s.counters.concealed;
            }
            MediaType::Video => {
                if let Some(c) = codec {
                    m.video_codec = c.name.to_string();
                }
                m.video_frames += s.counters.frames_decoded;
                m.keyframe_requests += s.counters.plis_sent;
            }
        }
    }
    let expected = m.packets_received + m.packets_lost;
    m.loss = if expected == 0 {
        0.0
    } else {
        m.packets_lost as f64 / expected as f64
    };
    m.bitrate_kbps = if seconds > 0.0 {
        m.octets_sent as f64 * 8.0 / seconds / 1000.0
    } else {
        0.0
    };
    let (rate, samples) = taps
        .audio
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    if rate > 0 && samples.len() > rate as usize {
        // The first 300 ms hold jitter-buffer start-up and codec warm-up.
        let steady = &samples[(rate as usize * 3 / 10).min(samples.len())..];
        m.audio_frequency_hz =
            dominant_frequency(&steady[..(rate as usize).min(steady.len())], rate);
        if let Ok(tone) = ToneGenerator::new(TONE_HZ, TONE_AMPLITUDE, rate, 1) {
            let snrs = tone_block_snrs(steady, &tone);
            m.audio_snr_db = (!snrs.is_empty()).then(|| median(&snrs));
        }
    }
    let pictures = taps
        .video
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let psnrs: Vec<f64> = pictures
        .iter()
        .filter_map(|p| {
            let pattern = TestPattern::new(p.width(), p.height(), 15).ok()?;
            let index = TestPattern::frame_index(p)?;
            psnr(p, &pattern.frame(index).ok()?).ok()
        })
        .collect();
    if !psnrs.is_empty() {
        m.video_psnr_db = Some(psnrs.iter().sum::<f64>() / psnrs.len() as f64);
        m.video_psnr_min_db = psnrs.iter().copied().reduce(f64::min);
    }
    m
}

/// Writes what bob received: `bob-audio.wav` and `bob-video.y4m` in `dir`.
pub(crate) fn record(taps: &Taps, dir: &Path) -> Result<(), CliError> {
    let fail =
        |what: &str, e: &dyn std::fmt::Display| CliError::Setup(format!("--record: {what}: {e}"));
    std::fs::create_dir_all(dir).map_err(|e| fail(&dir.display().to_string(), &e))?;
    let (rate, samples) = taps
        .audio
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    if rate > 0 {
        let path = dir.join("bob-audio.wav");
        let mut wav = WavSink::create(&path, rate, 1).map_err(|e| fail("bob-audio.wav", &e))?;
        let frame = AudioFrame::new(samples, rate, 1, media_av::rtp::Timestamp(0))
            .map_err(|e| fail("bob-audio.wav", &e))?;
        wav.write_frame(&frame)
            .map_err(|e| fail("bob-audio.wav", &e))?;
        wav.finalize().map_err(|e| fail("bob-audio.wav", &e))?;
    }
    let pictures = taps
        .video
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    if !pictures.is_empty() {
        let file = std::fs::File::create(dir.join("bob-video.y4m"))
            .map_err(|e| fail("bob-video.y4m", &e))?;
        let mut y4m = Y4mSink::new(std::io::BufWriter::new(file), (15, 1));
        for p in &pictures {
            y4m.write_frame(p).map_err(|e| fail("bob-video.y4m", &e))?;
        }
    }
    Ok(())
}
