//! 8-bit I420 (YUV 4:2:0 planar) video.

use bytes::Bytes;

use crate::rtp::Timestamp;

use super::FrameError;

/// Largest width or height a [`VideoFrame`] may have.
pub const MAX_DIMENSION: u32 = 16_384;

/// One of the three I420 planes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Plane {
    /// Luma, full resolution.
    Y = 0,
    /// Blue-difference chroma, half width and half height (rounded up).
    U = 1,
    /// Red-difference chroma, half width and half height (rounded up).
    V = 2,
}

/// A picture in I420: a full-size Y plane and quarter-size U and V planes,
/// each with its own stride (bytes from one row to the next).
///
/// Chroma planes are `ceil(width / 2)` by `ceil(height / 2)`. `timestamp` is
/// an RTP-style media-clock value (90 kHz for video). Cloning shares the
/// planes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VideoFrame {
    planes: [Bytes; 3],
    strides: [usize; 3],
    width: u32,
    height: u32,
    timestamp: Timestamp,
}

impl VideoFrame {
    /// A frame from three planes and their strides.
    ///
    /// # Errors
    ///
    /// [`FrameError::Dimensions`] when a side is 0 or above
    /// [`MAX_DIMENSION`], [`FrameError::Stride`] when a stride is shorter
    /// than its plane's row, [`FrameError::PlaneSize`] when a plane is too
    /// short for its rows.
    pub fn new(
        width: u32,
        height: u32,
        planes: [Bytes; 3],
        strides: [usize; 3],
        timestamp: Timestamp,
    ) -> Result<Self, FrameError> {
        check_dimensions(width, height)?;
        for (plane, (data, &stride)) in planes.iter().zip(&strides).enumerate() {
            let (row, rows) = plane_size(width, height, plane);
            if stride < row {
                return Err(FrameError::Stride { plane, stride, row });
            }
            // The last row need not be padded to the stride.
            let needed = stride * (rows - 1) + row;
            if data.len() < needed {
                return Err(FrameError::PlaneSize {
                    plane,
                    len: data.len(),
                    needed,
                });
            }
        }
        Ok(Self {
            planes,
            strides,
            width,
            height,
            timestamp,
        })
    }

    /// A frame from one packed I420 buffer (Y, then U, then V, no padding),
    /// as stored in Y4M and raw `.yuv` files. The planes are slices of
    /// `data`; nothing is copied.
    ///
    /// # Errors
    ///
    /// [`FrameError::Dimensions`], or [`FrameError::PlaneSize`] when `data`
    /// is not exactly [`VideoFrame::packed_len`] bytes.
    pub fn from_packed(
        width: u32,
        height: u32,
        data: Bytes,
        timestamp: Timestamp,
    ) -> Result<Self, FrameError> {
        check_dimensions(width, height)?;
        let needed = Self::packed_len(width, height);
        if data.len() != needed {
            return Err(FrameError::PlaneSize {
                plane: 0,
                len: data.len(),
                needed,
            });
        }
        let (yw, yh) = plane_size(width, height, 0);
        let (cw, ch) = plane_size(width, height, 1);
        let y_end = yw * yh;
        let u_end = y_end + cw * ch;
        let planes = [
            data.slice(..y_end),
            data.slice(y_end..u_end),
            data.slice(u_end..),
        ];
        Ok(Self {
            planes,
            strides: [yw, cw, cw],
            width,
            height,
            timestamp,
        })
    }

    /// A frame with every sample of each plane set to `yuv` (for example
    /// `[16, 128, 128]` for black in limited range).
    ///
    /// # Errors
    ///
    /// [`FrameError::Dimensions`].
    pub fn filled(
        width: u32,
        height: u32,
        yuv: [u8; 3],
        timestamp: Timestamp,
    ) -> Result<Self, FrameError> {
        check_dimensions(width, height)?;
        let (yw, yh) = plane_size(width, height, 0);
        let (cw, ch) = plane_size(width, height, 1);
        let mut data = vec![yuv[0]; yw * yh];
        data.resize(yw * yh + cw * ch, yuv[1]);
        data.resize(yw * yh + 2 * cw * ch, yuv[2]);
        Self::from_packed(width, height, Bytes::from(data), timestamp)
    }

    /// Bytes of a packed I420 picture of this size.
    #[must_use]
    pub fn packed_len(width: u32, height: u32) -> usize {
        let (yw, yh) = plane_size(width, height, 0);
        let (cw, ch) = plane_size(width, height, 1);
        yw * yh + 2 * cw * ch
    }

    /// Width in pixels.
    #[must_use]
    pub const fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    #[must_use]
    pub const fn height(&self) -> u32 {
        self.height
    }

    /// Media-clock timestamp.
    #[must_use]
    pub const fn timestamp(&self) -> Timestamp {
        self.timestamp
    }

    /// This frame with another timestamp (the planes are shared).
    #[must_use]
    pub fn with_timestamp(mut self, timestamp: Timestamp) -> Self {
        self.timestamp = timestamp;
        self
    }

    /// The bytes of plane `index` (0 = Y, 1 = U, 2 = V), stride padding
    /// included.
    ///
    /// # Panics
    ///
    /// When `index > 2`; use [`VideoFrame::plane_of`] for a typed index.
    #[must_use]
    pub fn plane(&self, index: usize) -> &[u8] {
        &self.planes[index]
    }

    /// The bytes of `plane`, stride padding included.
    #[must_use]
    pub fn plane_of(&self, plane: Plane) -> &Bytes {
        &self.planes[plane as usize]
    }

    /// The strides of Y, U and V.
    #[must_use]
    pub const fn strides(&self) -> [usize; 3] {
        self.strides
    }

    /// Width and height in samples of plane `index` (0 = Y, 1 = U, 2 = V).
    #[must_use]
    pub fn plane_dimensions(&self, index: usize) -> (usize, usize) {
        plane_size(self.width, self.height, index)
    }

    /// The visible rows of plane `index`, stride padding cut off.
    pub fn rows(&self, index: usize) -> impl Iterator<Item = &[u8]> + '_ {
        let (w, h) = plane_size(self.width, self.height, index);
        let stride = self.strides[index.min(2)];
        let data = &self.planes[index.min(2)];
        // `new` checked stride * (h - 1) + w <= data.len().
        (0..h).map(move |r| &data[r * stride..r * stride + w])
    }

    /// The picture copied into one packed I420 buffer (no stride padding).
    #[must_use]
    pub fn to_packed(&self) -> Bytes {
        let mut out = Vec::with_capacity(Self::packed_len(self.width, self.height));
        for p in 0..3 {
            for row in self.rows(p) {
                out.extend_from_slice(row);
            }
        }
        Bytes::from(out)
    }
}

pub(super) fn check_dimensions(width: u32, height: u32) -> Result<(), FrameError> {
    if width == 0 || height == 0 || width > MAX_DIMENSION || height > MAX_DIMENSION {
        return Err(FrameError::Dimensions { width, height });
    }
    Ok(())
}

/// (row length, row count) of a plane.
pub(super) fn plane_size(width: u32, height: u32, plane: usize) -> (usize, usize) {
    let (w, h) = (width as usize, height as usize);
    if plane == 0 {
        (w, h)
    } else {
        (w.div_ceil(2), h.div_ceil(2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_planes() {
        let ok = || {
            [
                Bytes::from(vec![0; 16]),
                Bytes::from(vec![0; 4]),
                Bytes::from(vec![0; 4]),
            ]
        };
        assert!(VideoFrame::new(4, 4, ok(), [4, 2, 2], Timestamp(0)).is_ok());
        assert_eq!(
            VideoFrame::new(4, 4, ok(), [3, 2, 2], Timestamp(0)),
            Err(FrameError::Stride {
                plane: 0,
                stride: 3,
                row: 4
            })
        );
        assert_eq!(
            VideoFrame::new(4, 4, ok(), [4, 3, 2], Timestamp(0)),
            Err(FrameError::PlaneSize {
                plane: 1,
                len: 4,
                needed: 5
            })
        );
        assert_eq!(
            VideoFrame::new(0, 4, ok(), [4, 2, 2], Timestamp(0)),
            Err(FrameError::Dimensions {
                width: 0,
                height: 4
            })
        );
    }

    #[test]
    fn odd_sizes_round_chroma_up() -> Result<(), FrameError> {
        assert_eq!(VideoFrame::packed_len(5, 3), 15 + 2 * 3 * 2);
        let f = VideoFrame::filled(5, 3, [1, 2, 3], Timestamp(0))?;
        assert_eq!(f.plane_dimensions(2), (3, 2));
        assert_eq!(f.to_packed().len(), 27);
        Ok(())
    }

    #[test]
    fn packed_round_trip_with_padding() -> Result<(), FrameError> {
        let y = Bytes::from((0..6 * 2).map(|i| i as u8).collect::<Vec<_>>());
        let u = Bytes::from(vec![7u8, 8, 0]);
        let v = Bytes::from(vec![9u8, 10]);
        let f = VideoFrame::new(4, 2, [y, u, v], [6, 3, 2], Timestamp(0))?;
        assert_eq!(&f.to_packed()[..], &[0, 1, 2, 3, 6, 7, 8, 9, 7, 8, 9, 10]);
        Ok(())
    }
}
