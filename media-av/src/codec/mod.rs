//! Codecs behind encoder and decoder traits: G.711 µ-law/A-law
//! ([`g711`], pure Rust, bit-exact with ITU-T G.711), Opus ([`opus`],
//! libopus) and H.264 ([`h264`], Cisco's openh264).
//!
//! Every codec says what it is with a [`CodecDescriptor`] (name, RTP clock
//! rate, channels, payload type and `a=fmtp` parameters) so the SDP layer can
//! offer it. Audio codecs take and give [`AudioFrame`]s; video codecs take
//! [`VideoFrame`]s and give [`EncodedVideo`]: the access unit in Annex-B form
//! plus each NAL unit as a zero-copy slice of it, ready for
//! [`H264Packetizer::packetize_annexb`](crate::rtp::h264::H264Packetizer::packetize_annexb)
//! or [`packetize_nals`](crate::rtp::h264::H264Packetizer::packetize_nals).
//!
//! Errors say who is at fault: [`CodecError::Input`] is a caller's frame that
//! does not fit the codec's configuration, [`CodecError::Corrupt`] a payload
//! from the peer that the decoder rejected, [`CodecError::Opus`] or [`CodecError::OpenH264`] a failure
//! inside libopus or openh264.
//!
//! # Example
//!
//! ```
//! use media_av::codec::g711::{G711Decoder, G711Encoder};
//! use media_av::codec::{AudioDecoder, AudioEncoder};
//! use media_av::frame::AudioFrame;
//! use media_av::rtp::Timestamp;
//! use media_av::rtp::g711::G711Law;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut encoder = G711Encoder::new(G711Law::MuLaw);
//! let mut decoder = G711Decoder::new(G711Law::MuLaw);
//! assert_eq!(encoder.descriptor().name, "PCMU");
//!
//! let pcm = AudioFrame::new(vec![0i16, 1000, -1000, 32767], 8000, 1, Timestamp(160))?;
//! let payload = encoder.encode(&pcm)?;
//! assert_eq!(&payload[..], &[0xFF, 0xCE, 0x4E, 0x80]);
//! let decoded = decoder.decode(&payload, Timestamp(160))?;
//! assert_eq!(decoded.samples(), &[0, 988, -988, 32124]);
//! # Ok(())
//! # }
//! ```

mod descriptor;
mod error;
pub mod g711;
pub mod h264;
pub mod opus;

use bytes::Bytes;

pub use descriptor::CodecDescriptor;
pub use error::CodecError;

use crate::frame::{AudioFrame, VideoFrame};
use crate::rtp::Timestamp;

/// Turns PCM frames into codec payloads (one RTP payload per call).
pub trait AudioEncoder: Send {
    /// What this encoder produces.
    fn descriptor(&self) -> &CodecDescriptor;

    /// Samples per channel each [`encode`](AudioEncoder::encode) call takes,
    /// or `None` when any length is accepted (G.711).
    fn frame_samples(&self) -> Option<usize>;

    /// Changes the target bitrate (bits per second), e.g. on congestion
    /// control feedback.
    ///
    /// # Errors
    ///
    /// [`CodecError::Input`] for a bitrate the codec cannot use (G.711 has
    /// only 64 kbit/s), [`CodecError::Opus`] when libopus refuses.
    fn set_bitrate(&mut self, bps: u32) -> Result<(), CodecError>;

    /// Encodes one frame.
    ///
    /// # Errors
    ///
    /// [`CodecError::Input`] when the frame's rate, channel count or length
    /// does not match the encoder; [`CodecError::Opus`] or [`CodecError::OpenH264`] when the codec
    /// library fails.
    fn encode(&mut self, frame: &AudioFrame) -> Result<Bytes, CodecError>;
}

/// Turns codec payloads back into PCM frames and conceals lost ones.
pub trait AudioDecoder: Send {
    /// What this decoder accepts.
    fn descriptor(&self) -> &CodecDescriptor;

    /// Decodes one received payload stamped `timestamp`.
    ///
    /// # Errors
    ///
    /// [`CodecError::Corrupt`] when the payload is malformed.
    fn decode(&mut self, payload: &[u8], timestamp: Timestamp) -> Result<AudioFrame, CodecError>;

    /// Produces a frame for a lost packet stamped `timestamp`, as long as the
    /// last decoded frame. When `next` (the packet after the lost one) is
    /// given and the codec carries forward error correction (Opus in-band
    /// FEC), the lost audio is rebuilt from it; otherwise the decoder's
    /// concealment (PLC) fills the gap.
    ///
    /// # Errors
    ///
    /// [`CodecError::Corrupt`] when `next` is malformed.
    fn conceal(
        &mut self,
        next: Option<&[u8]>,
        timestamp: Timestamp,
    ) -> Result<AudioFrame, CodecError>;
}

/// One encoded video access unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedVideo {
    /// The access unit in Annex-B form (each NAL unit behind a start code),
    /// for [`H264Packetizer::packetize_annexb`](crate::rtp::h264::H264Packetizer::packetize_annexb).
    pub access_unit: Bytes,
    /// Each NAL unit without its start code, sliced from `access_unit`, for
    /// [`H264Packetizer::packetize_nals`](crate::rtp::h264::H264Packetizer::packetize_nals).
    pub nals: Vec<Bytes>,
    /// Whether this is a keyframe (an IDR picture a decoder can start from).
    pub keyframe: bool,
    /// The media-clock timestamp of the source frame.
    pub timestamp: Timestamp,
}

impl EncodedVideo {
    /// Whether the encoder skipped the frame (rate control) and produced
    /// nothing to send.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.nals.is_empty()
    }
}

/// Turns pictures into encoded access units.
pub trait VideoEncoder: Send {
    /// What this encoder produces.
    fn descriptor(&self) -> &CodecDescriptor;

    /// Makes the next encoded picture a keyframe: what a received RTCP PLI
    /// or FIR asks for.
    fn request_keyframe(&mut self);

    /// Changes the target bitrate (bits per second), e.g. on congestion
    /// control feedback.
    ///
    /// # Errors
    ///
    /// [`CodecError::Input`] for a bitrate the codec cannot use,
    /// [`CodecError::Opus`] or [`CodecError::OpenH264`] when the library refuses the change.
    fn set_bitrate(&mut self, bps: u32) -> Result<(), CodecError>;

    /// Encodes one picture. The result is empty when rate control skipped it.
    ///
    /// # Errors
    ///
    /// [`CodecError::Input`] for a picture the encoder cannot take (odd or
    /// oversize dimensions), [`CodecError::Opus`] or [`CodecError::OpenH264`] when encoding fails.
    fn encode(&mut self, frame: &VideoFrame) -> Result<EncodedVideo, CodecError>;
}

/// Turns encoded access units back into pictures.
pub trait VideoDecoder: Send {
    /// What this decoder accepts.
    fn descriptor(&self) -> &CodecDescriptor;

    /// Decodes one access unit in Annex-B form. Returns `None` while the
    /// decoder has no picture to show yet (e.g. parameter sets only).
    ///
    /// # Errors
    ///
    /// [`CodecError::Corrupt`] when the bitstream is broken; ask the sender
    /// for a keyframe.
    fn decode(
        &mut self,
        access_unit: &[u8],
        timestamp: Timestamp,
    ) -> Result<Option<VideoFrame>, CodecError>;
}
