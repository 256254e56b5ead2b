//! A moving synthetic test picture.

use bytes::Bytes;

use super::{SourceError, VideoSource};
use crate::frame::{FrameError, VideoFrame};
use crate::rtp::Timestamp;
use crate::rtp::h264::H264_CLOCK_RATE;

/// An endless moving test picture: the default video source.
///
/// Frame `n` is a pure function of `n` (and the size), so a receiver can
/// regenerate the exact picture that was sent and compare with
/// [`psnr`](crate::quality::psnr). It holds a luma ramp scrolling left by
/// 2 pixels per frame, a white box moving right by 4 pixels per frame,
/// vertical and horizontal chroma ramps, and the frame index as a 16-bit
/// binary bar code along the top (8x8 blocks, white = 1). Frame `n` is
/// stamped `n * 90000 / fps` on the 90 kHz video clock.
#[derive(Clone, Debug)]
pub struct TestPattern {
    width: u32,
    height: u32,
    fps: u32,
    next: u64,
}

impl TestPattern {
    /// A `width` x `height` pattern at `fps` frames per second.
    ///
    /// # Errors
    ///
    /// [`SourceError::Parameter`] for a zero frame rate,
    /// [`SourceError::Frame`] for a size [`VideoFrame`] refuses.
    pub fn new(width: u32, height: u32, fps: u32) -> Result<Self, SourceError> {
        if fps == 0 {
            return Err(SourceError::Parameter("0 frames per second".into()));
        }
        // Validates the size once.
        VideoFrame::filled(width, height, [0; 3], Timestamp(0))?;
        Ok(Self {
            width,
            height,
            fps,
            next: 0,
        })
    }

    /// The timestamp of frame `n` on the 90 kHz clock (wrapping).
    #[must_use]
    pub fn timestamp(&self, n: u64) -> Timestamp {
        Timestamp((n * u64::from(H264_CLOCK_RATE) / u64::from(self.fps)) as u32)
    }

    /// The frame number a (decoded) picture of this pattern shows in its bar code, read
    /// from the middle of each 8×8 block (so codec noise does not flip bits); `None`
    /// when the picture is too small to carry it. Frame numbers wrap at 2^16.
    pub fn frame_index(picture: &VideoFrame) -> Option<u64> {
        let row = picture.rows(0).nth(4)?;
        if row.len() < 16 * 8 {
            return None;
        }
        Some((0..16).fold(0, |n, bit| (n << 1) | u64::from(row[bit * 8 + 4] > 128)))
    }

    /// Frame `n`.
    ///
    /// # Errors
    ///
    /// None in practice: the size was checked by [`TestPattern::new`].
    pub fn frame(&self, n: u64) -> Result<VideoFrame, FrameError> {
        let (w, h) = (self.width as usize, self.height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let mut data = vec![0u8; w * h + 2 * cw * ch];
        let (y, uv) = data.split_at_mut(w * h);
        let (u, v) = uv.split_at_mut(cw * ch);

        let shift = (n * 2 % w as u64) as usize;
        let box_side = (h / 4).max(2);
        let travel = w.saturating_sub(box_side).max(1);
        let box_x = (n * 4 % travel as u64) as usize;
        let box_y = h / 3;
        for row in 0..h {
            let line = &mut y[row * w..(row + 1) * w];
            for (col, px) in line.iter_mut().enumerate() {
                let ramp = ((col + shift) % w) * 200 / w;
                *px = 24 + ramp as u8;
            }
            if (box_y..box_y + box_side).contains(&row) {
                for px in line.iter_mut().skip(box_x).take(box_side) {
                    *px = 235;
                }
            }
        }
        // Frame counter bar code: bit 15 first, 8x8 blocks on the top rows.
        for bit in 0..16usize {
            let on = (n >> (15 - bit)) & 1 == 1;
            let x0 = bit * 8;
            if x0 + 8 > w {
                break;
            }
            for row in 0..8.min(h) {
                y[row * w + x0..row * w + x0 + 8].fill(if on { 235 } else { 16 });
            }
        }
        for row in 0..ch {
            for col in 0..cw {
                u[row * cw + col] = 64 + (row * 128 / ch) as u8;
                v[row * cw + col] = 64 + (col * 128 / cw) as u8;
            }
        }
        VideoFrame::from_packed(
            self.width,
            self.height,
            Bytes::from(data),
            self.timestamp(n),
        )
    }
}

impl VideoSource for TestPattern {
    fn frame_rate(&self) -> (u32, u32) {
        (self.fps, 1)
    }

    fn next_frame(&mut self) -> Result<Option<VideoFrame>, SourceError> {
        let frame = self.frame(self.next)?;
        self.next += 1;
        Ok(Some(frame))
    }
}
