//! Opus (RFC 6716) through libopus, for RTP as RFC 7587 describes it:
//! 48 kHz, mono or stereo, 20 ms frames, a settable bitrate, in-band forward
//! error correction (FEC) and packet loss concealment (PLC).
//!
//! libopus comes from the `opus` crate's `audiopus_sys`: the system library
//! found by pkg-config (Debian: `libopus-dev`), else a static build of the
//! bundled source with CMake. When neither works the build stops with an
//! error from `audiopus_sys`'s build script (the `cmake` crate panics when
//! the `cmake` program is missing); it never links without libopus.
//!
//! # Example
//!
//! ```
//! use media_av::codec::opus::{OpusConfig, OpusDecoder, OpusEncoder, FRAME_SAMPLES};
//! use media_av::codec::{AudioDecoder, AudioEncoder};
//! use media_av::frame::AudioFrame;
//! use media_av::rtp::Timestamp;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut encoder = OpusEncoder::new(OpusConfig::default())?;
//! let mut decoder = OpusDecoder::new(1)?;
//! let silence = AudioFrame::silence(FRAME_SAMPLES, 48_000, 1, Timestamp(0))?;
//! let packet = encoder.encode(&silence)?;
//! let decoded = decoder.decode(&packet, Timestamp(0))?;
//! assert_eq!(decoded.samples_per_channel(), FRAME_SAMPLES);
//! // Packet 2 is lost: concealment fills 20 ms.
//! let concealed = decoder.conceal(None, Timestamp(960))?;
//! assert_eq!(concealed.samples_per_channel(), FRAME_SAMPLES);
//! # Ok(())
//! # }
//! ```

use bytes::Bytes;

use super::{AudioDecoder, AudioEncoder, CodecDescriptor, CodecError};
use crate::frame::AudioFrame;
use crate::rtp::opus::{MAX_OPUS_PACKET_SAMPLES, OPUS_CLOCK_RATE};
use crate::rtp::{PayloadType, Timestamp};

/// Samples per channel in one 20 ms frame at 48 kHz.
pub const FRAME_SAMPLES: usize = 960;
/// Largest packet the encoder writes (RFC 6716 §3.4: 1275 bytes per frame).
const MAX_PACKET: usize = 1275;
/// Default dynamic payload type for Opus.
const DEFAULT_PAYLOAD_TYPE: PayloadType = match PayloadType::new(111) {
    Some(pt) => pt,
    None => PayloadType::PCMU,
};

/// What the encoder optimizes for (libopus `OPUS_APPLICATION_*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OpusApplication {
    /// Speech intelligibility (`VOIP`).
    #[default]
    Voip,
    /// Faithful music and mixed content (`AUDIO`).
    Audio,
    /// Lowest delay, CELT only (`RESTRICTED_LOWDELAY`).
    LowDelay,
}

/// Opus encoder settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpusConfig {
    /// 1 (mono) or 2 (stereo).
    pub channels: u16,
    /// Target bitrate in bits per second, 6000..=510000.
    pub bitrate: u32,
    /// What to optimize for.
    pub application: OpusApplication,
    /// Whether to carry in-band FEC (RFC 7587 `useinbandfec=1`).
    pub inband_fec: bool,
    /// Expected packet loss in percent (0..=100); FEC strength follows it.
    pub expected_loss_percent: u8,
    /// The dynamic payload type to describe.
    pub payload_type: PayloadType,
}

impl Default for OpusConfig {
    /// Mono, 32 kbit/s, VoIP, FEC on for 10 % loss, payload type 111.
    fn default() -> Self {
        Self {
            channels: 1,
            bitrate: 32_000,
            application: OpusApplication::Voip,
            inband_fec: true,
            expected_loss_percent: 10,
            payload_type: DEFAULT_PAYLOAD_TYPE,
        }
    }
}

fn channels(n: u16) -> Result<opus::Channels, CodecError> {
    match n {
        1 => Ok(opus::Channels::Mono),
        2 => Ok(opus::Channels::Stereo),
        n => Err(CodecError::Input(format!(
            "Opus takes 1 or 2 channels, not {n}"
        ))),
    }
}

fn descriptor(channels: u16, payload_type: PayloadType, fec: bool) -> CodecDescriptor {
    // RFC 7587 §7: always opus/48000/2; `stereo` says what we prefer to receive.
    let stereo = u8::from(channels == 2);
    CodecDescriptor {
        name: "opus",
        clock_rate: OPUS_CLOCK_RATE,
        channels: 2,
        payload_type,
        fmtp: Some(format!(
            "minptime=10;useinbandfec={};stereo={stereo}",
            u8::from(fec)
        )),
    }
}

/// An Opus encoder taking 20 ms frames of 48 kHz PCM.
pub struct OpusEncoder {
    inner: opus::Encoder,
    channels: u16,
    descriptor: CodecDescriptor,
    buf: Vec<u8>,
}

impl std::fmt::Debug for OpusEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusEncoder")
            .field("channels", &self.channels)
            .finish_non_exhaustive()
    }
}

impl OpusEncoder {
    /// An encoder with `config`.
    ///
    /// # Errors
    ///
    /// [`CodecError::Input`] for an unsupported channel count, bitrate or
    /// loss percentage; [`CodecError::Opus`] when libopus refuses.
    pub fn new(config: OpusConfig) -> Result<Self, CodecError> {
        let app = match config.application {
            OpusApplication::Voip => opus::Application::Voip,
            OpusApplication::Audio => opus::Application::Audio,
            OpusApplication::LowDelay => opus::Application::LowDelay,
        };
        if config.expected_loss_percent > 100 {
            return Err(CodecError::Input(format!(
                "expected loss of {}%",
                config.expected_loss_percent
            )));
        }
        let inner = opus::Encoder::new(OPUS_CLOCK_RATE, channels(config.channels)?, app)
            .map_err(CodecError::Opus)?;
        let mut encoder = Self {
            inner,
            channels: config.channels,
            descriptor: descriptor(config.channels, config.payload_type, config.inband_fec),
            buf: vec![0; MAX_PACKET],
        };
        encoder.set_bitrate(config.bitrate)?;
        encoder
            .inner
            .set_inband_fec(config.inband_fec)
            .map_err(CodecError::Opus)?;
        encoder
            .inner
            .set_packet_loss_perc(i32::from(config.expected_loss_percent))
            .map_err(CodecError::Opus)?;
        Ok(encoder)
    }

    /// Changes the target bitrate (bits per second, 6000..=510000).
    ///
    /// # Errors
    ///
    /// [`CodecError::Input`] outside that range, [`CodecError::Opus`] when
    /// libopus refuses.
    pub fn set_bitrate(&mut self, bps: u32) -> Result<(), CodecError> {
        if !(6_000..=510_000).contains(&bps) {
            return Err(CodecError::Input(format!(
                "Opus bitrate {bps} outside 6000..=510000"
            )));
        }
        let bps = i32::try_from(bps).map_err(|e| CodecError::Input(e.to_string()))?;
        self.inner
            .set_bitrate(opus::Bitrate::Bits(bps))
            .map_err(CodecError::Opus)
    }

    /// The encoder's algorithmic delay in samples per channel: decoded audio
    /// lags the input by this much.
    ///
    /// # Errors
    ///
    /// [`CodecError::Opus`] when libopus fails.
    pub fn lookahead(&mut self) -> Result<usize, CodecError> {
        let samples = self.inner.get_lookahead().map_err(CodecError::Opus)?;
        Ok(usize::try_from(samples).unwrap_or(0))
    }

    /// Encodes one frame of interleaved samples into `out`, returning the
    /// packet length: the allocation-free form of
    /// [`AudioEncoder::encode`].
    ///
    /// # Errors
    ///
    /// [`CodecError::Input`] when `pcm` is not 960 samples per channel,
    /// [`CodecError::Opus`] when libopus fails.
    pub fn encode_into(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        let want = FRAME_SAMPLES * usize::from(self.channels);
        if pcm.len() != want {
            return Err(CodecError::Input(format!(
                "Opus frame of {} samples, {want} expected (20 ms)",
                pcm.len()
            )));
        }
        self.inner.encode(pcm, out).map_err(CodecError::Opus)
    }
}

impl AudioEncoder for OpusEncoder {
    fn descriptor(&self) -> &CodecDescriptor {
        &self.descriptor
    }

    fn frame_samples(&self) -> Option<usize> {
        Some(FRAME_SAMPLES)
    }

    fn set_bitrate(&mut self, bps: u32) -> Result<(), CodecError> {
        OpusEncoder::set_bitrate(self, bps)
    }

    fn encode(&mut self, frame: &AudioFrame) -> Result<Bytes, CodecError> {
        if frame.sample_rate() != OPUS_CLOCK_RATE || frame.channels() != self.channels {
            return Err(CodecError::Input(format!(
                "Opus encoder takes 48000 Hz with {} channels, got {} Hz with {}",
                self.channels,
                frame.sample_rate(),
                frame.channels()
            )));
        }
        let mut buf = std::mem::take(&mut self.buf);
        let result = self.encode_into(frame.samples(), &mut buf);
        let packet = result.map(|n| Bytes::copy_from_slice(&buf[..n]));
        self.buf = buf;
        packet
    }
}

/// An Opus decoder producing 48 kHz PCM, with PLC and FEC recovery.
pub struct OpusDecoder {
    inner: opus::Decoder,
    channels: u16,
    descriptor: CodecDescriptor,
    /// Samples per channel of the last decoded packet: what a lost one is
    /// assumed to hold.
    last_samples: usize,
}

impl std::fmt::Debug for OpusDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusDecoder")
            .field("channels", &self.channels)
            .field("last_samples", &self.last_samples)
            .finish_non_exhaustive()
    }
}

impl OpusDecoder {
    /// A decoder producing `channels` (1 or 2) channels at 48 kHz.
    ///
    /// # Errors
    ///
    /// [`CodecError::Input`] for another channel count, [`CodecError::Opus`]
    /// when libopus refuses.
    pub fn new(channels: u16) -> Result<Self, CodecError> {
        let inner = opus::Decoder::new(OPUS_CLOCK_RATE, self::channels(channels)?)
            .map_err(CodecError::Opus)?;
        Ok(Self {
            inner,
            channels,
            descriptor: descriptor(channels, DEFAULT_PAYLOAD_TYPE, true),
            last_samples: FRAME_SAMPLES,
        })
    }

    fn run(
        &mut self,
        input: &[u8],
        samples: usize,
        fec: bool,
        timestamp: Timestamp,
    ) -> Result<AudioFrame, CodecError> {
        let mut pcm = vec![0i16; samples * usize::from(self.channels)];
        let n = self
            .inner
            .decode(input, &mut pcm, fec)
            .map_err(|e| CodecError::Corrupt(format!("Opus packet: {e}")))?;
        pcm.truncate(n * usize::from(self.channels));
        Ok(AudioFrame::new(
            pcm,
            OPUS_CLOCK_RATE,
            self.channels,
            timestamp,
        )?)
    }
}

impl AudioDecoder for OpusDecoder {
    fn descriptor(&self) -> &CodecDescriptor {
        &self.descriptor
    }

    fn decode(&mut self, payload: &[u8], timestamp: Timestamp) -> Result<AudioFrame, CodecError> {
        if payload.is_empty() {
            return Err(CodecError::Corrupt("empty Opus payload".into()));
        }
        let frame = self.run(payload, MAX_OPUS_PACKET_SAMPLES as usize, false, timestamp)?;
        self.last_samples = frame.samples_per_channel();
        Ok(frame)
    }

    fn conceal(
        &mut self,
        next: Option<&[u8]>,
        timestamp: Timestamp,
    ) -> Result<AudioFrame, CodecError> {
        let samples = self.last_samples;
        match next {
            // FEC: the output length must be the lost packet's duration
            // (opus_decode with decode_fec=1).
            Some(next) if !next.is_empty() => self.run(next, samples, true, timestamp),
            _ => self.run(&[], samples, false, timestamp),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_config_and_frames() -> Result<(), Box<dyn std::error::Error>> {
        assert!(matches!(
            OpusEncoder::new(OpusConfig {
                channels: 3,
                ..OpusConfig::default()
            }),
            Err(CodecError::Input(_))
        ));
        assert!(matches!(
            OpusEncoder::new(OpusConfig {
                bitrate: 100,
                ..OpusConfig::default()
            }),
            Err(CodecError::Input(_))
        ));
        let mut enc = OpusEncoder::new(OpusConfig::default())?;
        let short = AudioFrame::silence(480, 48_000, 1, Timestamp(0))?;
        assert!(matches!(enc.encode(&short), Err(CodecError::Input(_))));
        let wrong_rate = AudioFrame::silence(960, 16_000, 1, Timestamp(0))?;
        assert!(matches!(enc.encode(&wrong_rate), Err(CodecError::Input(_))));
        let mut dec = OpusDecoder::new(2)?;
        assert!(matches!(
            dec.decode(&[], Timestamp(0)),
            Err(CodecError::Corrupt(_))
        ));
        Ok(())
    }

    #[test]
    fn descriptor_follows_rfc7587() -> Result<(), CodecError> {
        let enc = OpusEncoder::new(OpusConfig {
            channels: 2,
            ..OpusConfig::default()
        })?;
        let d = enc.descriptor();
        assert_eq!(d.rtpmap(), "111 opus/48000/2");
        assert_eq!(
            d.fmtp.as_deref(),
            Some("minptime=10;useinbandfec=1;stereo=1")
        );
        Ok(())
    }
}
