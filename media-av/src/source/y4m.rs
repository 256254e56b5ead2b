//! YUV4MPEG2 (Y4M) files: a one-line text header, then each picture behind
//! a `FRAME` line as raw planar samples.
//!
//! The stream header is `YUV4MPEG2` followed by space-separated parameters,
//! each a letter and a value: `W` width, `H` height, `F` frame rate `n:d`,
//! `I` interlacing (`p`, `t`, `b`, `m`, `?`), `A` pixel aspect `n:d`, `C`
//! colour space and `X` application extensions (ignored). Only 8-bit 4:2:0
//! colour spaces are read (`420jpeg`, the default, `420paldv`, `420mpeg2`,
//! `420`); their chroma siting differs but the plane layout is I420.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use bytes::Bytes;

use super::{SourceError, VideoSource, Y4mError};
use crate::frame::{MAX_DIMENSION, VideoFrame};
use crate::rtp::Timestamp;
use crate::rtp::h264::H264_CLOCK_RATE;

/// Longest header or `FRAME` line accepted, newline included.
pub const MAX_HEADER_LINE: usize = 4096;
/// Default limit on one frame's size: 64 MiB (a 4:2:0 picture of about
/// 6800x6800).
const DEFAULT_MAX_FRAME_BYTES: usize = 64 << 20;

const MAGIC: &[u8] = b"YUV4MPEG2";

/// The 8-bit 4:2:0 colour spaces (chroma sitings) a Y4M stream may declare.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Y4mColorspace {
    /// `C420jpeg`: chroma centred (JPEG/MPEG-1), also the default.
    #[default]
    C420Jpeg,
    /// `C420paldv`: PAL DV siting.
    C420PalDv,
    /// `C420mpeg2`: chroma left-sited (MPEG-2, H.264).
    C420Mpeg2,
    /// `C420`: the generic name.
    C420,
}

impl Y4mColorspace {
    /// The value written after `C`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::C420Jpeg => "420jpeg",
            Self::C420PalDv => "420paldv",
            Self::C420Mpeg2 => "420mpeg2",
            Self::C420 => "420",
        }
    }
}

/// A parsed Y4M stream header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Y4mHeader {
    /// Picture width in pixels.
    pub width: u32,
    /// Picture height in pixels.
    pub height: u32,
    /// Frame rate as numerator and denominator.
    pub frame_rate: (u32, u32),
    /// Interlacing letter (`p` progressive when absent).
    pub interlace: char,
    /// Pixel aspect ratio (`0:0` unknown when absent).
    pub pixel_aspect: (u32, u32),
    /// Colour space.
    pub colorspace: Y4mColorspace,
}

impl Y4mHeader {
    /// Parses a header line (`YUV4MPEG2 W.. H.. ...`, the newline optional).
    ///
    /// # Errors
    ///
    /// [`Y4mError::BadMagic`], [`Y4mError::Missing`] for no `W`, `H` or `F`,
    /// [`Y4mError::BadValue`] for a value that does not parse or is out of
    /// range, [`Y4mError::Colorspace`] for anything but 8-bit 4:2:0.
    pub fn parse(line: &[u8]) -> Result<Self, Y4mError> {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let rest = line.strip_prefix(MAGIC).ok_or(Y4mError::BadMagic)?;
        if !(rest.is_empty() || rest.starts_with(b" ")) {
            return Err(Y4mError::BadMagic);
        }
        let (mut width, mut height, mut frame_rate) = (None, None, None);
        let mut header = Self {
            width: 0,
            height: 0,
            frame_rate: (0, 0),
            interlace: 'p',
            pixel_aspect: (0, 0),
            colorspace: Y4mColorspace::default(),
        };
        for token in rest.split(|&b| b == b' ').filter(|t| !t.is_empty()) {
            let (&tag, value) = token.split_first().ok_or(Y4mError::BadMagic)?;
            let tag = char::from(tag);
            let bad = || Y4mError::BadValue {
                tag,
                value: String::from_utf8_lossy(value).into_owned(),
            };
            match tag {
                'W' => width = Some(parse_dimension(value).ok_or_else(bad)?),
                'H' => height = Some(parse_dimension(value).ok_or_else(bad)?),
                'F' => {
                    let (n, d) = parse_ratio(value).ok_or_else(bad)?;
                    if n == 0 || d == 0 {
                        return Err(bad());
                    }
                    frame_rate = Some((n, d));
                }
                'I' => {
                    header.interlace = match value {
                        [c @ (b'p' | b't' | b'b' | b'm' | b'?')] => char::from(*c),
                        _ => return Err(bad()),
                    };
                }
                'A' => header.pixel_aspect = parse_ratio(value).ok_or_else(bad)?,
                'C' => {
                    header.colorspace = match value {
                        b"420jpeg" => Y4mColorspace::C420Jpeg,
                        b"420paldv" => Y4mColorspace::C420PalDv,
                        b"420mpeg2" => Y4mColorspace::C420Mpeg2,
                        b"420" => Y4mColorspace::C420,
                        other => {
                            return Err(Y4mError::Colorspace(
                                String::from_utf8_lossy(other).into_owned(),
                            ));
                        }
                    };
                }
                // X: application extensions; other letters are reserved and
                // skipped, as the format asks of readers.
                _ => {}
            }
        }
        header.width = width.ok_or(Y4mError::Missing('W'))?;
        header.height = height.ok_or(Y4mError::Missing('H'))?;
        header.frame_rate = frame_rate.ok_or(Y4mError::Missing('F'))?;
        Ok(header)
    }

    /// The header line, newline included.
    #[must_use]
    pub fn to_line(&self) -> String {
        format!(
            "YUV4MPEG2 W{} H{} F{}:{} I{} A{}:{} C{}\n",
            self.width,
            self.height,
            self.frame_rate.0,
            self.frame_rate.1,
            self.interlace,
            self.pixel_aspect.0,
            self.pixel_aspect.1,
            self.colorspace.as_str()
        )
    }

    /// Bytes of one picture.
    #[must_use]
    pub fn frame_len(&self) -> usize {
        VideoFrame::packed_len(self.width, self.height)
    }
}

fn parse_u32(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

fn parse_dimension(value: &[u8]) -> Option<u32> {
    parse_u32(value).filter(|v| (1..=MAX_DIMENSION).contains(v))
}

fn parse_ratio(value: &[u8]) -> Option<(u32, u32)> {
    let colon = value.iter().position(|&b| b == b':')?;
    Some((parse_u32(&value[..colon])?, parse_u32(&value[colon + 1..])?))
}

/// Reads one line of at most [`MAX_HEADER_LINE`] bytes; `Ok(None)` at a
/// clean end of stream.
fn read_line<R: BufRead>(reader: &mut R) -> Result<Option<Vec<u8>>, SourceError> {
    let mut line = Vec::new();
    reader
        .take(MAX_HEADER_LINE as u64)
        .read_until(b'\n', &mut line)?;
    if line.is_empty() {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        return Err(Y4mError::HeaderLine.into());
    }
    Ok(Some(line))
}

/// Reads I420 pictures from a Y4M stream.
#[derive(Debug)]
pub struct Y4mSource<R> {
    reader: R,
    header: Y4mHeader,
    max_frame_bytes: usize,
    index: u64,
}

impl Y4mSource<BufReader<File>> {
    /// Opens the Y4M file at `path`.
    ///
    /// # Errors
    ///
    /// As [`Y4mSource::new`], plus I/O errors opening the file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SourceError> {
        Self::new(BufReader::new(File::open(path)?))
    }
}

impl<R: BufRead> Y4mSource<R> {
    /// Reads and checks the stream header from `reader`.
    ///
    /// # Errors
    ///
    /// [`SourceError::Y4m`] for a malformed or unsupported header (see
    /// [`Y4mHeader::parse`]), [`SourceError::Io`] when reading fails.
    pub fn new(mut reader: R) -> Result<Self, SourceError> {
        let line = read_line(&mut reader)?.ok_or(Y4mError::HeaderLine)?;
        let header = Y4mHeader::parse(&line)?;
        Ok(Self {
            reader,
            header,
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            index: 0,
        })
    }

    /// Sets the largest frame accepted (64 MiB by default).
    #[must_use]
    pub fn with_max_frame_bytes(mut self, limit: usize) -> Self {
        self.max_frame_bytes = limit;
        self
    }

    /// The stream header.
    #[must_use]
    pub const fn header(&self) -> &Y4mHeader {
        &self.header
    }

    /// The next picture, or `None` at the end of the stream; frame `n` is
    /// stamped `n * 90000 * d / n_rate` on the 90 kHz clock.
    ///
    /// # Errors
    ///
    /// [`Y4mError::FrameMarker`], [`Y4mError::FrameTooLarge`] and
    /// [`Y4mError::Truncated`] inside [`SourceError::Y4m`], or I/O errors.
    pub fn read_frame(&mut self) -> Result<Option<VideoFrame>, SourceError> {
        let Some(line) = read_line(&mut self.reader)? else {
            return Ok(None);
        };
        let marker = line.strip_suffix(b"\n").unwrap_or(&line);
        let params = marker
            .strip_prefix(b"FRAME")
            .ok_or(Y4mError::FrameMarker(self.index))?;
        if !(params.is_empty() || params.starts_with(b" ")) {
            return Err(Y4mError::FrameMarker(self.index).into());
        }
        let expected = self.header.frame_len();
        if expected > self.max_frame_bytes {
            return Err(Y4mError::FrameTooLarge {
                size: expected,
                limit: self.max_frame_bytes,
            }
            .into());
        }
        // Grows with the data read, so a lying header cannot make us
        // allocate more than the stream holds.
        let mut data = Vec::new();
        (&mut self.reader)
            .take(expected as u64)
            .read_to_end(&mut data)?;
        if data.len() != expected {
            return Err(Y4mError::Truncated {
                index: self.index,
                got: data.len(),
                expected,
            }
            .into());
        }
        let (num, den) = self.header.frame_rate;
        let ticks = self.index * u64::from(H264_CLOCK_RATE) * u64::from(den) / u64::from(num);
        self.index += 1;
        let frame = VideoFrame::from_packed(
            self.header.width,
            self.header.height,
            Bytes::from(data),
            Timestamp(ticks as u32),
        )?;
        Ok(Some(frame))
    }
}

impl<R: BufRead + Send> VideoSource for Y4mSource<R> {
    fn frame_rate(&self) -> (u32, u32) {
        self.header.frame_rate
    }

    fn next_frame(&mut self) -> Result<Option<VideoFrame>, SourceError> {
        self.read_frame()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_header() -> Result<(), Y4mError> {
        let h = Y4mHeader::parse(
            b"YUV4MPEG2 W640 H360 F30000:1001 It A1:1 C420mpeg2 XYSCSS=420MPEG2\n",
        )?;
        assert_eq!(
            (h.width, h.height, h.frame_rate),
            (640, 360, (30_000, 1001))
        );
        assert_eq!(
            (h.interlace, h.pixel_aspect, h.colorspace),
            ('t', (1, 1), Y4mColorspace::C420Mpeg2)
        );
        assert_eq!(Y4mHeader::parse(h.to_line().as_bytes())?, h);
        Ok(())
    }

    #[test]
    fn header_errors_are_typed() {
        assert_eq!(
            Y4mHeader::parse(b"YUV4MPEG W2 H2 F1:1"),
            Err(Y4mError::BadMagic)
        );
        assert_eq!(
            Y4mHeader::parse(b"YUV4MPEG2X W2 H2 F1:1"),
            Err(Y4mError::BadMagic)
        );
        assert_eq!(
            Y4mHeader::parse(b"YUV4MPEG2 H2 F1:1"),
            Err(Y4mError::Missing('W'))
        );
        assert_eq!(
            Y4mHeader::parse(b"YUV4MPEG2 W2 H2"),
            Err(Y4mError::Missing('F'))
        );
        assert!(matches!(
            Y4mHeader::parse(b"YUV4MPEG2 W0 H2 F1:1"),
            Err(Y4mError::BadValue { tag: 'W', .. })
        ));
        assert!(matches!(
            Y4mHeader::parse(b"YUV4MPEG2 W2 H99999999999 F1:1"),
            Err(Y4mError::BadValue { tag: 'H', .. })
        ));
        assert!(matches!(
            Y4mHeader::parse(b"YUV4MPEG2 W2 H2 F1:0"),
            Err(Y4mError::BadValue { tag: 'F', .. })
        ));
        assert_eq!(
            Y4mHeader::parse(b"YUV4MPEG2 W2 H2 F1:1 C444"),
            Err(Y4mError::Colorspace("444".into()))
        );
        assert_eq!(
            Y4mHeader::parse(b"YUV4MPEG2 W2 H2 F1:1 C420p10"),
            Err(Y4mError::Colorspace("420p10".into()))
        );
    }

    #[test]
    fn reads_frames_and_reports_truncation() -> Result<(), SourceError> {
        let mut stream = b"YUV4MPEG2 W2 H2 F25:1\nFRAME\n".to_vec();
        stream.extend_from_slice(&[1, 2, 3, 4, 5, 6]);
        stream.extend_from_slice(b"FRAME Ixyz\n");
        stream.extend_from_slice(&[7, 8, 9]);
        let mut src = Y4mSource::new(&stream[..])?;
        let first = src.read_frame()?.ok_or(Y4mError::HeaderLine)?;
        assert_eq!(&first.to_packed()[..], &[1, 2, 3, 4, 5, 6]);
        assert!(matches!(
            src.read_frame(),
            Err(SourceError::Y4m(Y4mError::Truncated {
                index: 1,
                got: 3,
                expected: 6
            }))
        ));
        Ok(())
    }
}
