//! I420 pictures into YUV4MPEG2 streams.

use std::io::Write;

use super::{SinkError, VideoSink};
use crate::frame::VideoFrame;
use crate::source::{Y4mColorspace, Y4mHeader};

/// Writes I420 pictures as a Y4M stream (`C420jpeg`, progressive). The
/// header is written with the first frame, whose size every later frame
/// must have.
#[derive(Debug)]
pub struct Y4mSink<W> {
    writer: W,
    frame_rate: (u32, u32),
    size: Option<(u32, u32)>,
}

impl<W: Write> Y4mSink<W> {
    /// A sink writing to `writer` at `frame_rate` (numerator, denominator).
    #[must_use]
    pub const fn new(writer: W, frame_rate: (u32, u32)) -> Self {
        Self {
            writer,
            frame_rate,
            size: None,
        }
    }

    /// The writer back (after flushing is the caller's choice).
    #[must_use]
    pub fn into_inner(self) -> W {
        self.writer
    }
}

impl<W: Write + Send> VideoSink for Y4mSink<W> {
    fn write_frame(&mut self, frame: &VideoFrame) -> Result<(), SinkError> {
        let size = (frame.width(), frame.height());
        match self.size {
            None => {
                let header = Y4mHeader {
                    width: size.0,
                    height: size.1,
                    frame_rate: self.frame_rate,
                    interlace: 'p',
                    pixel_aspect: (1, 1),
                    colorspace: Y4mColorspace::C420Jpeg,
                };
                self.writer.write_all(header.to_line().as_bytes())?;
                self.size = Some(size);
            }
            Some(s) if s != size => {
                return Err(SinkError::Mismatch(format!(
                    "{}x{} picture into a {}x{} Y4M stream",
                    size.0, size.1, s.0, s.1
                )));
            }
            Some(_) => {}
        }
        self.writer.write_all(b"FRAME\n")?;
        for plane in 0..3 {
            for row in frame.rows(plane) {
                self.writer.write_all(row)?;
            }
        }
        Ok(())
    }
}
