//! G.711 µ-law (PCMU) and A-law (PCMA), bit-exact with ITU-T
//! Recommendation G.711 (11/1988) as implemented by the ITU-T Software Tool
//! Library (G.191, `g711.c`): 16-bit linear input is reduced to 14 bits
//! (µ-law) or 13 bits (A-law), negative values by one's complement, and
//! decoded values are the centres of the quantization intervals scaled back
//! to 16 bits.
//!
//! Encoding and decoding go through tables built once (64 KiB per law and
//! quantizer for encoding, 512 bytes for decoding), so a 20 ms packet costs
//! 160 lookups.
//!
//! FFmpeg's `pcm_mulaw`/`pcm_alaw` encoders do not follow G.711's decision
//! levels: they pick the nearest reconstruction level on a 14-bit grid.
//! [`G711Quantizer::Nearest`] reproduces that rule for byte-exact interop
//! tests; the default, [`G711Quantizer::ItuT`], follows the standard.
//! `tests/g711_ffmpeg.rs` checks decoding and the `Nearest` encoder byte for
//! byte against FFmpeg, and that the ITU-T encoder differs from FFmpeg only
//! where the two rules do (964 inputs per law, by one code).
//!
//! # Example
//!
//! ```
//! use media_av::codec::g711::{alaw_compress, alaw_expand, ulaw_compress, ulaw_expand};
//!
//! assert_eq!(ulaw_compress(0), 0xFF);
//! assert_eq!(ulaw_expand(0x80), 32124);
//! assert_eq!(alaw_compress(0), 0xD5);
//! assert_eq!(alaw_expand(0xD5), 8);
//! ```

use std::sync::OnceLock;

use bytes::Bytes;

use super::{AudioDecoder, AudioEncoder, CodecDescriptor, CodecError};
use crate::frame::AudioFrame;
use crate::rtp::Timestamp;
use crate::rtp::g711::{G711_CLOCK_RATE, G711Law};

/// Compresses one 16-bit linear sample to µ-law (G.711 Table 2a).
#[must_use]
pub fn ulaw_compress(sample: i16) -> u8 {
    // One's complement of negative values, then 16 -> 14 bits, plus the
    // µ-law bias of 33 (in 14-bit units).
    let magnitude = if sample < 0 { !sample } else { sample };
    let absno = ((i32::from(magnitude) >> 2) + 33).min(0x1FFF);
    // Segment: position of the highest set bit above bit 5.
    let mut segno = 1;
    let mut i = absno >> 6;
    while i != 0 {
        segno += 1;
        i >>= 1;
    }
    let high = 0x08 - segno;
    let low = 0x0F - ((absno >> segno) & 0x0F);
    let code = (high << 4) | low;
    let code = if sample >= 0 { code | 0x80 } else { code };
    // `code` is 0..=0xFF by construction: high in 0..=7, low in 0..=15.
    (code & 0xFF) as u8
}

/// Expands one µ-law byte to 16-bit linear (G.711 Table 2a).
#[must_use]
pub fn ulaw_expand(code: u8) -> i16 {
    let inverted = !code;
    let exponent = i32::from((inverted >> 4) & 0x07);
    let mantissa = i32::from(inverted & 0x0F);
    let step = 4 << (exponent + 1);
    let magnitude = (0x80 << exponent) + step * mantissa + step / 2 - 4 * 33;
    // At most 32124, so it fits.
    let value = if code < 0x80 { -magnitude } else { magnitude };
    value as i16
}

/// Compresses one 16-bit linear sample to A-law (G.711 Table 1a), even bits
/// inverted as transmitted.
#[must_use]
pub fn alaw_compress(sample: i16) -> u8 {
    // One's complement of negative values, then 16 -> 12 bits of magnitude.
    let magnitude = if sample < 0 { !sample } else { sample };
    let mut ix = i32::from(magnitude) >> 4;
    if ix > 15 {
        let mut iexp = 1;
        while ix > 16 + 15 {
            ix >>= 1;
            iexp += 1;
        }
        ix -= 16;
        ix += iexp << 4;
    }
    if sample >= 0 {
        ix |= 0x80;
    }
    // ix is at most 0xFF: segment 7 (0x70) plus mantissa 15 plus the sign.
    ((ix ^ 0x55) & 0xFF) as u8
}

/// Expands one A-law byte to 16-bit linear (G.711 Table 1a).
#[must_use]
pub fn alaw_expand(code: u8) -> i16 {
    let ix = i32::from((code ^ 0x55) & 0x7F);
    let iexp = ix >> 4;
    let mut mant = ix & 0x0F;
    if iexp > 0 {
        mant += 16;
    }
    mant = (mant << 4) + 0x08;
    if iexp > 1 {
        mant <<= iexp - 1;
    }
    // At most 32256, so it fits.
    let value = if code > 127 { mant } else { -mant };
    value as i16
}

/// How a G.711 encoder maps 16-bit samples to codes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum G711Quantizer {
    /// The decision levels of ITU-T G.711 Tables 1a/2a, applied as the
    /// ITU-T G.191 reference code does (negative samples by one's
    /// complement). The default.
    #[default]
    ItuT,
    /// The nearest reconstruction level on the 14-bit grid
    /// (`sample >> 2`), ties to the larger magnitude: the rule of FFmpeg's
    /// `pcm_mulaw`/`pcm_alaw` encoders, matched byte for byte. It differs
    /// from [`ItuT`](G711Quantizer::ItuT) on 964 of the 65,536 inputs per
    /// law, always by one code: at segment ends (where G.711's decision
    /// level is not the midpoint of the two levels) and on exact ties.
    /// Decoding is the same for both.
    Nearest,
}

/// Compresses one sample with the nearest-level rule of
/// [`G711Quantizer::Nearest`], given the thresholds between levels.
fn nearest_compress(law: G711Law, thresholds: &[i32; 127], sample: i16) -> u8 {
    // Level index i (0 = smallest magnitude) maps to code i ^ mask for
    // positive samples and i ^ mask ^ 0x80 for negative ones.
    let mask: u8 = match law {
        G711Law::MuLaw => 0xFF,
        G711Law::ALaw => 0xD5,
    };
    let x14 = i32::from(sample) >> 2;
    let magnitude = x14.abs();
    let level = thresholds.partition_point(|&t| t <= magnitude);
    // level <= 127.
    let level = level as u8;
    if x14 < 0 {
        level ^ mask ^ 0x80
    } else {
        level ^ mask
    }
}

/// Thresholds (14-bit magnitudes) between consecutive reconstruction
/// levels: the rounded midpoint of each pair.
fn nearest_thresholds(law: G711Law) -> [i32; 127] {
    let (mask, expand): (u8, fn(u8) -> i16) = match law {
        G711Law::MuLaw => (0xFF, ulaw_expand),
        G711Law::ALaw => (0xD5, alaw_expand),
    };
    let mut thresholds = [0i32; 127];
    for (i, t) in thresholds.iter_mut().enumerate() {
        let low = i32::from(expand(i as u8 ^ mask)).abs();
        let high = i32::from(expand((i as u8 + 1) ^ mask)).abs();
        *t = (low + high + 4) >> 3;
    }
    thresholds
}

struct Tables {
    compress: Box<[u8; 65_536]>,
}

fn tables(law: G711Law, quantizer: G711Quantizer) -> &'static Tables {
    static CELLS: [OnceLock<Tables>; 4] = [const { OnceLock::new() }; 4];
    let index = match (law, quantizer) {
        (G711Law::MuLaw, G711Quantizer::ItuT) => 0,
        (G711Law::ALaw, G711Quantizer::ItuT) => 1,
        (G711Law::MuLaw, G711Quantizer::Nearest) => 2,
        (G711Law::ALaw, G711Quantizer::Nearest) => 3,
    };
    CELLS[index].get_or_init(|| {
        let thresholds = nearest_thresholds(law);
        let mut table = Box::new([0u8; 65_536]);
        for (i, slot) in table.iter_mut().enumerate() {
            // The index is the sample's bit pattern as u16.
            let sample = i as u16 as i16;
            *slot = match (law, quantizer) {
                (G711Law::MuLaw, G711Quantizer::ItuT) => ulaw_compress(sample),
                (G711Law::ALaw, G711Quantizer::ItuT) => alaw_compress(sample),
                (_, G711Quantizer::Nearest) => nearest_compress(law, &thresholds, sample),
            };
        }
        Tables { compress: table }
    })
}

fn expand_table(law: G711Law) -> &'static [i16; 256] {
    static ULAW: OnceLock<[i16; 256]> = OnceLock::new();
    static ALAW: OnceLock<[i16; 256]> = OnceLock::new();
    let (cell, expand): (_, fn(u8) -> i16) = match law {
        G711Law::MuLaw => (&ULAW, ulaw_expand),
        G711Law::ALaw => (&ALAW, alaw_expand),
    };
    cell.get_or_init(|| {
        let mut table = [0i16; 256];
        for (code, slot) in table.iter_mut().enumerate() {
            *slot = expand(code as u8);
        }
        table
    })
}

/// Compresses `samples` into G.711 bytes with `quantizer`, appending to
/// `out`.
pub fn compress_into(law: G711Law, quantizer: G711Quantizer, samples: &[i16], out: &mut Vec<u8>) {
    let t = tables(law, quantizer);
    out.extend(samples.iter().map(|&s| t.compress[usize::from(s as u16)]));
}

/// Expands G.711 bytes into 16-bit linear samples, appending to `out`.
pub fn expand_into(law: G711Law, codes: &[u8], out: &mut Vec<i16>) {
    let t = expand_table(law);
    out.extend(codes.iter().map(|&c| t[usize::from(c)]));
}

fn descriptor(law: G711Law) -> CodecDescriptor {
    CodecDescriptor {
        name: match law {
            G711Law::MuLaw => "PCMU",
            G711Law::ALaw => "PCMA",
        },
        clock_rate: G711_CLOCK_RATE,
        channels: 1,
        payload_type: law.payload_type(),
        fmtp: None,
    }
}

/// A G.711 encoder: 8 kHz mono frames of any length in, one byte per sample
/// out.
#[derive(Clone, Debug)]
pub struct G711Encoder {
    law: G711Law,
    quantizer: G711Quantizer,
    descriptor: CodecDescriptor,
}

impl G711Encoder {
    /// An encoder for `law` with the ITU-T quantizer.
    #[must_use]
    pub fn new(law: G711Law) -> Self {
        Self {
            law,
            quantizer: G711Quantizer::ItuT,
            descriptor: descriptor(law),
        }
    }

    /// The same encoder with another quantizer.
    #[must_use]
    pub fn with_quantizer(mut self, quantizer: G711Quantizer) -> Self {
        self.quantizer = quantizer;
        self
    }
}

impl AudioEncoder for G711Encoder {
    fn descriptor(&self) -> &CodecDescriptor {
        &self.descriptor
    }

    fn frame_samples(&self) -> Option<usize> {
        None
    }

    fn set_bitrate(&mut self, bps: u32) -> Result<(), CodecError> {
        if bps == 64_000 {
            Ok(())
        } else {
            Err(CodecError::Input(format!(
                "G.711 runs at 64000 bit/s, not {bps}"
            )))
        }
    }

    fn encode(&mut self, frame: &AudioFrame) -> Result<Bytes, CodecError> {
        if frame.sample_rate() != G711_CLOCK_RATE || frame.channels() != 1 {
            return Err(CodecError::Input(format!(
                "G.711 takes 8000 Hz mono, got {} Hz with {} channels",
                frame.sample_rate(),
                frame.channels()
            )));
        }
        let mut out = Vec::with_capacity(frame.samples().len());
        compress_into(self.law, self.quantizer, frame.samples(), &mut out);
        Ok(Bytes::from(out))
    }
}

/// A G.711 decoder. Lost packets are concealed with silence as long as the
/// last decoded packet (G.711 Appendix I PLC is not built).
#[derive(Clone, Debug)]
pub struct G711Decoder {
    law: G711Law,
    descriptor: CodecDescriptor,
    last_len: usize,
}

impl G711Decoder {
    /// A decoder for `law`.
    #[must_use]
    pub fn new(law: G711Law) -> Self {
        Self {
            law,
            descriptor: descriptor(law),
            last_len: crate::rtp::g711::SAMPLES_PER_20MS,
        }
    }
}

impl AudioDecoder for G711Decoder {
    fn descriptor(&self) -> &CodecDescriptor {
        &self.descriptor
    }

    fn decode(&mut self, payload: &[u8], timestamp: Timestamp) -> Result<AudioFrame, CodecError> {
        if payload.is_empty() {
            return Err(CodecError::Corrupt("empty G.711 payload".into()));
        }
        let mut pcm = Vec::with_capacity(payload.len());
        expand_into(self.law, payload, &mut pcm);
        self.last_len = payload.len();
        Ok(AudioFrame::new(pcm, G711_CLOCK_RATE, 1, timestamp)?)
    }

    fn conceal(
        &mut self,
        _next: Option<&[u8]>,
        timestamp: Timestamp,
    ) -> Result<AudioFrame, CodecError> {
        Ok(AudioFrame::silence(
            self.last_len,
            G711_CLOCK_RATE,
            1,
            timestamp,
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values from ITU-T G.711 Tables 1a/2a: decision and decoder output
    /// levels at segment ends.
    #[test]
    fn known_values() {
        assert_eq!(ulaw_compress(0), 0xFF);
        assert_eq!(ulaw_compress(-1), 0x7F);
        assert_eq!(ulaw_compress(i16::MAX), 0x80);
        assert_eq!(ulaw_compress(i16::MIN), 0x00);
        assert_eq!(ulaw_expand(0x00), -32124);
        assert_eq!(ulaw_expand(0xFF), 0);
        assert_eq!(alaw_compress(0), 0xD5);
        assert_eq!(alaw_compress(-1), 0x55);
        assert_eq!(alaw_compress(i16::MAX), 0xAA);
        assert_eq!(alaw_compress(i16::MIN), 0x2A);
        assert_eq!(alaw_expand(0xAA), 32256);
        assert_eq!(alaw_expand(0x2A), -32256);
    }

    /// Every code decodes to a value that encodes back to the same code.
    #[test]
    fn expand_then_compress_is_identity() {
        for code in 0..=255u8 {
            assert_eq!(alaw_compress(alaw_expand(code)), code, "A-law {code:#04x}");
            // µ-law has two zeros (0x7F and 0xFF); -0 re-encodes as +0.
            if code != 0x7F {
                assert_eq!(ulaw_compress(ulaw_expand(code)), code, "µ-law {code:#04x}");
            }
        }
    }

    #[test]
    fn encoder_checks_format() -> Result<(), Box<dyn std::error::Error>> {
        let mut enc = G711Encoder::new(G711Law::ALaw);
        let stereo = AudioFrame::new(vec![0i16; 4], 8000, 2, Timestamp(0))?;
        assert!(matches!(enc.encode(&stereo), Err(CodecError::Input(_))));
        let mut dec = G711Decoder::new(G711Law::ALaw);
        assert!(matches!(
            dec.decode(&[], Timestamp(0)),
            Err(CodecError::Corrupt(_))
        ));
        dec.decode(&[0xD5; 80], Timestamp(0))?;
        assert_eq!(dec.conceal(None, Timestamp(80))?.samples(), &[0i16; 80][..]);
        Ok(())
    }
}
