//! Stream framing: bytes as they arrive in, whole frames out.

use bytes::{Buf, BytesMut};

use super::{CodecError, Frame, MAX_FRAME_SIZE, varint};

/// Splits a stream's bytes into frames. Holds at most one frame's worth of bytes (plus
/// its length prefix): a peer announcing a larger frame is an error at once, before
/// anything is buffered.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: BytesMut,
    failed: bool,
}

impl FrameDecoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds received bytes.
    pub fn push(&mut self, data: &[u8]) {
        if !self.failed {
            self.buf.extend_from_slice(data);
        }
    }

    /// Bytes held, not yet a whole frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next whole frame, `None` when more bytes are needed. After an error the
    /// stream is unusable (framing is lost) and the decoder returns `None` forever.
    pub fn next_frame(&mut self) -> Option<Result<Frame, CodecError>> {
        if self.failed {
            return None;
        }
        let mut peek = &self.buf[..];
        let len = match varint::get(&mut peek) {
            Ok(len) => len,
            Err(_) if self.buf.len() < 8 => return None,
            Err(e) => return Some(self.fail(e)),
        };
        if len > MAX_FRAME_SIZE as u64 {
            return Some(self.fail(CodecError::FrameTooLarge {
                len,
                max: MAX_FRAME_SIZE,
            }));
        }
        let prefix = varint::len(len);
        let len = len as usize;
        if self.buf.len() < prefix + len {
            return None;
        }
        self.buf.advance(prefix);
        let body = self.buf.split_to(len).freeze();
        match Frame::decode(body) {
            Ok(frame) => Some(Ok(frame)),
            Err(e) => Some(self.fail(e)),
        }
    }

    fn fail(&mut self, e: CodecError) -> Result<Frame, CodecError> {
        self.failed = true;
        self.buf = BytesMut::new();
        Err(e)
    }
}
