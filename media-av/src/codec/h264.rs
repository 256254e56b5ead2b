//! H.264 through Cisco's openh264 (built from source by `openh264-sys2`):
//! constrained baseline profile (`profile-level-id=42e01f`,
//! `packetization-mode=1`), a target bitrate and frame rate, keyframes on
//! request (what an RTCP PLI or FIR triggers) and decoding to I420
//! [`VideoFrame`]s.
//!
//! Encoded access units come out in Annex-B form with a list of NAL units
//! sliced from it (no copy), in the shape
//! [`H264Packetizer`](crate::rtp::h264::H264Packetizer) takes.
//!
//! openh264 compiles its x86 assembly with `nasm` when it finds it and
//! silently falls back to C (about 3× slower) when it does not; it has no
//! switch to require it. Install `nasm` before the first build (the
//! project's `scripts/test` does) and the `nasm_is_installed` test in
//! `tests/codecs.rs` fails when it is missing.
//!
//! # Example
//!
//! ```
//! use media_av::codec::h264::{H264Config, H264Decoder, H264Encoder};
//! use media_av::codec::{VideoDecoder, VideoEncoder};
//! use media_av::source::TestPattern;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pattern = TestPattern::new(64, 48, 30)?;
//! let mut encoder = H264Encoder::new(H264Config::default())?;
//! let mut decoder = H264Decoder::new()?;
//! let encoded = encoder.encode(&pattern.frame(0)?)?;
//! assert!(encoded.keyframe);
//! let picture = decoder.decode(&encoded.access_unit, encoded.timestamp)?.ok_or("no picture")?;
//! assert_eq!((picture.width(), picture.height()), (64, 48));
//! # Ok(())
//! # }
//! ```

use bytes::Bytes;
use openh264::OpenH264API;
use openh264::decoder::Decoder;
use openh264::encoder::{
    BitRate, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, Profile,
    RateControlMode, UsageType,
};
use openh264::formats::YUVSource;

use super::{CodecDescriptor, CodecError, EncodedVideo, VideoDecoder, VideoEncoder};
use crate::frame::VideoFrame;
use crate::rtp::h264::H264_CLOCK_RATE;
use crate::rtp::{PayloadType, Timestamp};

/// Default dynamic payload type for H.264.
const DEFAULT_PAYLOAD_TYPE: PayloadType = match PayloadType::new(102) {
    Some(pt) => pt,
    None => PayloadType::PCMU,
};

/// Largest side openh264 encodes (it refuses more than 3840x2160).
const MAX_ENCODE_SIDE: u32 = 3840;

/// H.264 encoder settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct H264Config {
    /// Target bitrate in bits per second.
    pub bitrate: u32,
    /// Frame rate the rate control plans for, in frames per second.
    pub frame_rate: f32,
    /// Frames between periodic keyframes; 0 for keyframes only on request.
    pub keyframe_interval: u32,
    /// Encoder threads: 1 keeps encoding on the caller's core.
    pub threads: u16,
    /// Whether rate control may skip frames to hold the bitrate (openh264
    /// only holds the target with skipping on); a skipped frame encodes to
    /// an empty [`EncodedVideo`].
    pub frame_skip: bool,
    /// The dynamic payload type to describe.
    pub payload_type: PayloadType,
}

impl Default for H264Config {
    /// 1 Mbit/s, 30 frames/s, keyframes on request only, one thread, frame
    /// skipping on, payload type 102.
    fn default() -> Self {
        Self {
            bitrate: 1_000_000,
            frame_rate: 30.0,
            keyframe_interval: 0,
            threads: 1,
            frame_skip: true,
            payload_type: DEFAULT_PAYLOAD_TYPE,
        }
    }
}

fn descriptor(payload_type: PayloadType) -> CodecDescriptor {
    CodecDescriptor {
        name: "H264",
        clock_rate: H264_CLOCK_RATE,
        channels: 1,
        payload_type,
        // RFC 6184 §8.1: constrained baseline, level 3.1, FU-A/STAP-A.
        fmtp: Some("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f".into()),
    }
}

/// A [`VideoFrame`] as openh264 reads it.
struct Source<'a>(&'a VideoFrame);

impl YUVSource for Source<'_> {
    fn dimensions(&self) -> (usize, usize) {
        (self.0.width() as usize, self.0.height() as usize)
    }

    fn strides(&self) -> (usize, usize, usize) {
        let [y, u, v] = self.0.strides();
        (y, u, v)
    }

    fn y(&self) -> &[u8] {
        self.0.plane(0)
    }

    fn u(&self) -> &[u8] {
        self.0.plane(1)
    }

    fn v(&self) -> &[u8] {
        self.0.plane(2)
    }
}

/// An H.264 encoder (openh264, constrained baseline).
pub struct H264Encoder {
    inner: Encoder,
    config: H264Config,
    descriptor: CodecDescriptor,
    keyframe_requested: bool,
    /// Set by [`VideoEncoder::set_bitrate`]: rebuild before the next frame.
    rebuild: bool,
    /// Size of the last access unit: the next one's first capacity guess.
    last_len: usize,
}

impl std::fmt::Debug for H264Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H264Encoder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn build_encoder(config: &H264Config) -> Result<Encoder, CodecError> {
    let encoder_config = EncoderConfig::new()
        .profile(Profile::Baseline)
        .usage_type(UsageType::CameraVideoRealTime)
        .rate_control_mode(RateControlMode::Bitrate)
        .bitrate(BitRate::from_bps(config.bitrate))
        .max_frame_rate(FrameRate::from_hz(config.frame_rate))
        .intra_frame_period(IntraFramePeriod::from_num_frames(config.keyframe_interval))
        .skip_frames(config.frame_skip)
        .num_threads(config.threads);
    Encoder::with_api_config(OpenH264API::from_source(), encoder_config)
        .map_err(CodecError::OpenH264)
}

impl H264Encoder {
    /// An encoder with `config`. The picture size is taken from the first
    /// frame (a size change re-initializes the encoder and sends a keyframe).
    ///
    /// # Errors
    ///
    /// [`CodecError::Input`] for a zero bitrate or a frame rate outside
    /// 1..=240, [`CodecError::OpenH264`] when openh264 refuses.
    pub fn new(config: H264Config) -> Result<Self, CodecError> {
        check_config(&config)?;
        Ok(Self {
            inner: build_encoder(&config)?,
            descriptor: descriptor(config.payload_type),
            config,
            keyframe_requested: false,
            rebuild: false,
            last_len: 0,
        })
    }

    /// The settings in force.
    #[must_use]
    pub const fn config(&self) -> &H264Config {
        &self.config
    }
}

fn check_config(config: &H264Config) -> Result<(), CodecError> {
    if config.bitrate == 0 || !(1.0..=240.0).contains(&config.frame_rate) {
        return Err(CodecError::Input(format!(
            "H.264 bitrate {} bit/s at {} frames/s",
            config.bitrate, config.frame_rate
        )));
    }
    Ok(())
}

/// Splits an Annex-B buffer at its start codes into NAL units (slices).
fn split_annexb(au: &Bytes) -> Vec<Bytes> {
    let mut starts = Vec::new();
    let mut i = 0;
    while let Some(off) = memchr::memmem::find(&au[i..], &[0, 0, 1]) {
        let code = i + off;
        // A four-byte start code owns the zero before it.
        let begin = if code > 0 && au[code - 1] == 0 {
            code - 1
        } else {
            code
        };
        starts.push((begin, code + 3));
        i = code + 3;
    }
    let mut nals = Vec::with_capacity(starts.len());
    for (k, &(_, body)) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map_or(au.len(), |&(next, _)| next);
        if body < end {
            nals.push(au.slice(body..end));
        }
    }
    nals
}

impl VideoEncoder for H264Encoder {
    fn descriptor(&self) -> &CodecDescriptor {
        &self.descriptor
    }

    fn request_keyframe(&mut self) {
        self.keyframe_requested = true;
    }

    fn set_bitrate(&mut self, bps: u32) -> Result<(), CodecError> {
        let config = H264Config {
            bitrate: bps,
            ..self.config
        };
        check_config(&config)?;
        // The safe openh264 API cannot change the bitrate of a running
        // encoder; a new one starts (with a keyframe) on the next frame.
        self.config = config;
        self.rebuild = true;
        Ok(())
    }

    fn encode(&mut self, frame: &VideoFrame) -> Result<EncodedVideo, CodecError> {
        let (w, h) = (frame.width(), frame.height());
        if w % 2 != 0 || h % 2 != 0 || w.max(h) > MAX_ENCODE_SIDE || w.min(h) > 2160 {
            return Err(CodecError::Input(format!(
                "H.264 encoder takes even sizes up to 3840x2160, got {w}x{h}"
            )));
        }
        if self.rebuild {
            self.inner = build_encoder(&self.config)?;
            self.rebuild = false;
            tracing::debug!(bitrate = self.config.bitrate, "H.264 encoder restarted");
        }
        if self.keyframe_requested {
            self.inner.force_intra_frame();
            self.keyframe_requested = false;
        }
        let ms = u64::from(frame.timestamp().0) * 1000 / u64::from(H264_CLOCK_RATE);
        let stream = self
            .inner
            .encode_at(&Source(frame), openh264::Timestamp::from_millis(ms))
            .map_err(CodecError::OpenH264)?;
        let keyframe = stream.frame_type() == FrameType::IDR;
        // One copy, straight into the buffer the NAL units will share.
        let mut out = Vec::with_capacity(self.last_len);
        if stream.frame_type() != FrameType::Skip {
            stream.write_vec(&mut out);
        }
        self.last_len = out.len();
        let access_unit = Bytes::from(out);
        let nals = split_annexb(&access_unit);
        Ok(EncodedVideo {
            access_unit,
            nals,
            keyframe,
            timestamp: frame.timestamp(),
        })
    }
}

/// An H.264 decoder (openh264) producing I420 [`VideoFrame`]s.
pub struct H264Decoder {
    inner: Decoder,
    descriptor: CodecDescriptor,
    /// The access unit `decode_nals` assembles, kept between pictures so that its
    /// memory is reused rather than allocated (and faulted in) per picture.
    access_unit: Vec<u8>,
}

impl std::fmt::Debug for H264Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H264Decoder").finish_non_exhaustive()
    }
}

impl H264Decoder {
    /// A decoder.
    ///
    /// # Errors
    ///
    /// [`CodecError::OpenH264`] when openh264 fails to start.
    pub fn new() -> Result<Self, CodecError> {
        Ok(Self {
            inner: Decoder::new().map_err(CodecError::OpenH264)?,
            descriptor: descriptor(DEFAULT_PAYLOAD_TYPE),
            access_unit: Vec::new(),
        })
    }

    /// Decodes an access unit given as NAL units without start codes (as the
    /// [`H264Depacketizer`](crate::rtp::h264::H264Depacketizer) hands them
    /// out).
    ///
    /// # Errors
    ///
    /// As [`VideoDecoder::decode`].
    pub fn decode_nals(
        &mut self,
        nals: &[Bytes],
        timestamp: Timestamp,
    ) -> Result<Option<VideoFrame>, CodecError> {
        let mut au = std::mem::take(&mut self.access_unit);
        au.clear();
        au.reserve(nals.iter().map(|n| n.len() + 4).sum());
        for nal in nals {
            au.extend_from_slice(&[0, 0, 0, 1]);
            au.extend_from_slice(nal);
        }
        let picture = self.decode(&au, timestamp);
        self.access_unit = au;
        picture
    }
}

impl VideoDecoder for H264Decoder {
    fn descriptor(&self) -> &CodecDescriptor {
        &self.descriptor
    }

    fn decode(
        &mut self,
        access_unit: &[u8],
        timestamp: Timestamp,
    ) -> Result<Option<VideoFrame>, CodecError> {
        let decoded = self
            .inner
            .decode(access_unit)
            .map_err(|e| CodecError::Corrupt(format!("H.264 access unit: {e}")))?;
        let Some(yuv) = decoded else { return Ok(None) };
        let (w, h) = yuv.dimensions();
        let (sy, su, sv) = yuv.strides();
        let (w, h) = (
            u32::try_from(w).map_err(|e| CodecError::Corrupt(e.to_string()))?,
            u32::try_from(h).map_err(|e| CodecError::Corrupt(e.to_string()))?,
        );
        let planes = [
            Bytes::copy_from_slice(yuv.y()),
            Bytes::copy_from_slice(yuv.u()),
            Bytes::copy_from_slice(yuv.v()),
        ];
        Ok(Some(VideoFrame::new(
            w,
            h,
            planes,
            [sy, su, sv],
            timestamp,
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_annexb() {
        let au = Bytes::from_static(&[
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5,
        ]);
        let nals = split_annexb(&au);
        assert_eq!(nals, [&[0x67, 1, 2][..], &[0x68, 3][..], &[0x65, 4, 5][..]]);
    }

    #[test]
    fn rejects_odd_sizes_and_bad_config() -> Result<(), Box<dyn std::error::Error>> {
        assert!(matches!(
            H264Encoder::new(H264Config {
                bitrate: 0,
                ..H264Config::default()
            }),
            Err(CodecError::Input(_))
        ));
        let mut enc = H264Encoder::new(H264Config::default())?;
        let odd = VideoFrame::filled(15, 16, [0, 128, 128], Timestamp(0))?;
        assert!(matches!(enc.encode(&odd), Err(CodecError::Input(_))));
        Ok(())
    }
}
