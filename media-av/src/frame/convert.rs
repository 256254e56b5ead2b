//! Conversion of the raw picture layouts cameras deliver into packed I420, the
//! layout of [`VideoFrame`](super::VideoFrame) and of the H.264 encoder.
//!
//! V4L2 devices deliver one buffer per picture in a format named by a FourCC:
//! planar 4:2:0 (`YU12` = I420, `YV12` with V before U, `NV12` with interleaved
//! chroma) or packed 4:2:2 (`YUYV`, `UYVY`). The conversions are plain copies for the
//! planar ones and a vertical chroma average of each pair of rows (rounded) for the
//! 4:2:2 ones. Every length is checked before a byte is read: a short or malformed
//! buffer is a [`FrameError`], never a panic.
//!
//! ```
//! use media_av::frame::VideoFrame;
//! use media_av::frame::convert::{PixelFormat, to_i420};
//!
//! # fn main() -> Result<(), media_av::frame::FrameError> {
//! // A 2x2 YUYV picture: two rows of Y0 U Y1 V.
//! let yuyv = [10, 100, 20, 200, 30, 110, 40, 210];
//! let mut i420 = vec![0; VideoFrame::packed_len(2, 2)];
//! to_i420(PixelFormat::Yuyv, 2, 2, 4, &yuyv, &mut i420)?;
//! assert_eq!(i420, [10, 20, 30, 40, 105, 205]);
//! # Ok(())
//! # }
//! ```

use super::FrameError;
use super::video::{check_dimensions, plane_size};

/// A raw picture layout, as V4L2 names it by FourCC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PixelFormat {
    /// Planar 4:2:0, Y then U then V (`YU12`).
    I420,
    /// Planar 4:2:0, Y then V then U (`YV12`).
    Yv12,
    /// Y plane, then one plane of interleaved U/V pairs (`NV12`).
    Nv12,
    /// Packed 4:2:2, `Y0 U Y1 V` per pixel pair (`YUYV`).
    Yuyv,
    /// Packed 4:2:2, `U Y0 V Y1` per pixel pair (`UYVY`).
    Uyvy,
}

impl PixelFormat {
    /// Every format, in the order a capture device's formats are preferred (the
    /// cheapest conversion first).
    pub const PREFERENCE: [PixelFormat; 5] = [
        PixelFormat::I420,
        PixelFormat::Yv12,
        PixelFormat::Nv12,
        PixelFormat::Yuyv,
        PixelFormat::Uyvy,
    ];

    /// The format of a V4L2 FourCC code, if it is one of these.
    #[must_use]
    pub fn from_fourcc(code: [u8; 4]) -> Option<Self> {
        Self::PREFERENCE.into_iter().find(|f| f.fourcc() == code)
    }

    /// The V4L2 FourCC code.
    #[must_use]
    pub const fn fourcc(self) -> [u8; 4] {
        let b = self.name().as_bytes();
        [b[0], b[1], b[2], b[3]]
    }

    /// The FourCC as text.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            PixelFormat::I420 => "YU12",
            PixelFormat::Yv12 => "YV12",
            PixelFormat::Nv12 => "NV12",
            PixelFormat::Yuyv => "YUYV",
            PixelFormat::Uyvy => "UYVY",
        }
    }

    /// Bytes of one row of the first plane (luma, or the packed pixels).
    #[must_use]
    pub fn min_stride(self, width: u32) -> usize {
        match self {
            PixelFormat::Yuyv | PixelFormat::Uyvy => width as usize * 2,
            _ => width as usize,
        }
    }

    /// Bytes a picture of this size needs with luma (or packed) rows `stride`
    /// bytes apart; chroma rows of the planar formats are `stride / 2` apart (NV12:
    /// `stride`), as in V4L2's single-plane layouts.
    #[must_use]
    pub fn buffer_len(self, height: u32, stride: usize) -> usize {
        let h = height as usize;
        let ch = h.div_ceil(2);
        match self {
            PixelFormat::Yuyv | PixelFormat::Uyvy => stride * h,
            PixelFormat::Nv12 => stride * h + stride * ch,
            PixelFormat::I420 | PixelFormat::Yv12 => stride * h + 2 * (stride / 2) * ch,
        }
    }
}

/// Converts one picture of `format` (first-plane rows `stride` bytes apart) in `src`
/// into packed I420 in `dst`, which must be exactly
/// [`VideoFrame::packed_len`](super::VideoFrame::packed_len) bytes.
///
/// # Errors
///
/// [`FrameError::Dimensions`] for a side of 0 or too large,
/// [`FrameError::Stride`] when `stride` is shorter than a row,
/// [`FrameError::PlaneSize`] when `src` is too short or `dst` the wrong size,
/// [`FrameError::OddWidth`] for a 4:2:2 picture of odd width.
pub fn to_i420(
    format: PixelFormat,
    width: u32,
    height: u32,
    stride: usize,
    src: &[u8],
    dst: &mut [u8],
) -> Result<(), FrameError> {
    check_dimensions(width, height)?;
    let (w, h) = plane_size(width, height, 0);
    let (cw, ch) = plane_size(width, height, 1);
    let row = format.min_stride(width);
    if stride < row {
        return Err(FrameError::Stride {
            plane: 0,
            stride,
            row,
        });
    }
    // Chroma rows: half the luma stride (I420, YV12) or the luma stride (NV12).
    let chroma_stride = match format {
        PixelFormat::I420 | PixelFormat::Yv12 => Some((stride / 2, cw)),
        PixelFormat::Nv12 => Some((stride, 2 * cw)),
        PixelFormat::Yuyv | PixelFormat::Uyvy => None,
    };
    if let Some((cstride, crow)) = chroma_stride
        && cstride < crow
    {
        return Err(FrameError::Stride {
            plane: 1,
            stride: cstride,
            row: crow,
        });
    }
    if matches!(format, PixelFormat::Yuyv | PixelFormat::Uyvy) && width % 2 == 1 {
        return Err(FrameError::OddWidth {
            format: format.name(),
            width,
        });
    }
    let needed = format.buffer_len(height, stride);
    if src.len() < needed {
        return Err(FrameError::PlaneSize {
            plane: 0,
            len: src.len(),
            needed,
        });
    }
    let packed = w * h + 2 * cw * ch;
    if dst.len() != packed {
        return Err(FrameError::PlaneSize {
            plane: 0,
            len: dst.len(),
            needed: packed,
        });
    }
    let (y_dst, chroma) = dst.split_at_mut(w * h);
    let (u_dst, v_dst) = chroma.split_at_mut(cw * ch);
    match format {
        PixelFormat::I420 | PixelFormat::Yv12 => {
            let cstride = stride / 2;
            let (y_src, rest) = src.split_at(stride * h);
            let (first, second) = rest.split_at(cstride * ch);
            let (u_src, v_src) = if format == PixelFormat::I420 {
                (first, second)
            } else {
                (second, first)
            };
            copy_plane(y_src, stride, y_dst, w);
            copy_plane(u_src, cstride, u_dst, cw);
            copy_plane(v_src, cstride, v_dst, cw);
        }
        PixelFormat::Nv12 => {
            let (y_src, uv_src) = src.split_at(stride * h);
            copy_plane(y_src, stride, y_dst, w);
            for ((uv, u), v) in uv_src
                .chunks(stride)
                .zip(u_dst.chunks_exact_mut(cw))
                .zip(v_dst.chunks_exact_mut(cw))
            {
                for ((pair, u), v) in uv.chunks_exact(2).zip(u.iter_mut()).zip(v.iter_mut()) {
                    *u = pair[0];
                    *v = pair[1];
                }
            }
        }
        PixelFormat::Yuyv | PixelFormat::Uyvy => {
            // Byte offsets of Y0, U, Y1, V within a 4-byte pixel pair.
            let [y0, u, y1, v] = if format == PixelFormat::Yuyv {
                [0, 1, 2, 3]
            } else {
                [1, 0, 3, 2]
            };
            for (src_row, y_row) in src.chunks(stride).zip(y_dst.chunks_exact_mut(w)) {
                for (pair, ys) in src_row[..row]
                    .chunks_exact(4)
                    .zip(y_row.chunks_exact_mut(2))
                {
                    ys[0] = pair[y0];
                    ys[1] = pair[y1];
                }
            }
            for (r, (u_row, v_row)) in u_dst
                .chunks_exact_mut(cw)
                .zip(v_dst.chunks_exact_mut(cw))
                .enumerate()
            {
                let top = &src[2 * r * stride..][..row];
                // The last chroma row of an odd height has one source row.
                let bottom_row = (2 * r + 1).min(h - 1);
                let bottom = &src[bottom_row * stride..][..row];
                for (((a, b), u_out), v_out) in top
                    .chunks_exact(4)
                    .zip(bottom.chunks_exact(4))
                    .zip(u_row.iter_mut())
                    .zip(v_row.iter_mut())
                {
                    *u_out = average(a[u], b[u]);
                    *v_out = average(a[v], b[v]);
                }
            }
        }
    }
    Ok(())
}

/// Rounded mean of two samples.
fn average(a: u8, b: u8) -> u8 {
    // Without overflow: the halves, plus one when either low bit is set.
    (a >> 1) + (b >> 1) + ((a | b) & 1)
}

/// Copies the rows (`row` bytes each, `stride` apart in `src`) into `dst` packed.
fn copy_plane(src: &[u8], stride: usize, dst: &mut [u8], row: usize) {
    for (s, d) in src.chunks(stride).zip(dst.chunks_exact_mut(row)) {
        d.copy_from_slice(&s[..row]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::VideoFrame;
    use proptest::prelude::*;

    /// A deterministic I420 picture and its planes.
    fn planes(w: usize, h: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let y = (0..w * h).map(|i| (i * 7 % 251) as u8).collect();
        let u = (0..cw * ch).map(|i| (i * 13 % 241) as u8).collect();
        let v = (0..cw * ch).map(|i| (i * 17 % 239) as u8).collect();
        (y, u, v)
    }

    /// Lays out the rows of `plane` (`row` bytes) `stride` apart, padding with 0xEE.
    fn strided(plane: &[u8], row: usize, stride: usize) -> Vec<u8> {
        plane
            .chunks(row)
            .flat_map(|r| {
                r.iter()
                    .copied()
                    .chain(std::iter::repeat_n(0xEE, stride - row))
            })
            .collect()
    }

    fn convert(format: PixelFormat, w: u32, h: u32, stride: usize, src: &[u8]) -> Vec<u8> {
        let mut out = vec![0; VideoFrame::packed_len(w, h)];
        to_i420(format, w, h, stride, src, &mut out).unwrap();
        out
    }

    #[test]
    fn planar_formats_copy_their_planes_in_i420_order() {
        for (w, h) in [(4, 4), (5, 3), (1, 1), (6, 7)] {
            let (y, u, v) = planes(w, h);
            let expected = [y.clone(), u.clone(), v.clone()].concat();
            let cw = w.div_ceil(2);
            // Strides with padding: luma 2 * (cw + 3), chroma half that.
            let stride = 2 * (cw + 3);
            let ys = strided(&y, w, stride);
            let us = strided(&u, cw, stride / 2);
            let vs = strided(&v, cw, stride / 2);
            let (w32, h32) = (w as u32, h as u32);
            let i420 = [ys.clone(), us.clone(), vs.clone()].concat();
            assert_eq!(
                convert(PixelFormat::I420, w32, h32, stride, &i420),
                expected
            );
            let yv12 = [ys.clone(), vs.clone(), us.clone()].concat();
            assert_eq!(
                convert(PixelFormat::Yv12, w32, h32, stride, &yv12),
                expected
            );
            let uv: Vec<u8> = u.iter().zip(&v).flat_map(|(&a, &b)| [a, b]).collect();
            let nv12 = [ys, strided(&uv, 2 * cw, stride)].concat();
            assert_eq!(
                convert(PixelFormat::Nv12, w32, h32, stride, &nv12),
                expected
            );
        }
    }

    #[test]
    fn packed_422_takes_luma_and_averages_chroma_rows() {
        // 4x3: rows of (Y0 U Y1 V)(Y2 U' Y3 V'), odd height keeps the last row alone.
        let rows: [[u8; 8]; 3] = [
            [1, 10, 2, 20, 3, 30, 4, 40],
            [5, 11, 6, 21, 7, 31, 8, 41],
            [9, 50, 10, 60, 11, 70, 12, 80],
        ];
        let yuyv: Vec<u8> = rows
            .iter()
            .flat_map(|r| r.iter().copied().chain([0, 0]))
            .collect();
        let out = convert(PixelFormat::Yuyv, 4, 3, 10, &yuyv);
        assert_eq!(&out[..12], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        // U: (10+11+1)/2 = 11, (30+31+1)/2 = 31; then the lone last row.
        assert_eq!(&out[12..16], &[11, 31, 50, 70]);
        assert_eq!(&out[16..20], &[21, 41, 60, 80]);
        let uyvy: Vec<u8> = rows
            .iter()
            .flat_map(|r| {
                r.chunks(4)
                    .flat_map(|p| [p[1], p[0], p[3], p[2]])
                    .chain([0, 0])
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(convert(PixelFormat::Uyvy, 4, 3, 10, &uyvy), out);
    }

    #[test]
    fn bad_shapes_are_errors() {
        let mut dst = vec![0; VideoFrame::packed_len(4, 4)];
        let src = vec![0; 64];
        assert!(matches!(
            to_i420(PixelFormat::Yuyv, 4, 4, 7, &src, &mut dst),
            Err(FrameError::Stride { .. })
        ));
        assert!(matches!(
            to_i420(PixelFormat::Yuyv, 4, 4, 8, &src[..31], &mut dst),
            Err(FrameError::PlaneSize {
                len: 31,
                needed: 32,
                ..
            })
        ));
        assert!(matches!(
            to_i420(PixelFormat::Yuyv, 4, 4, 8, &src, &mut dst[..5]),
            Err(FrameError::PlaneSize { .. })
        ));
        let mut odd = vec![0; VideoFrame::packed_len(3, 2)];
        assert!(matches!(
            to_i420(PixelFormat::Uyvy, 3, 2, 8, &src, &mut odd),
            Err(FrameError::OddWidth { width: 3, .. })
        ));
        assert!(matches!(
            to_i420(PixelFormat::I420, 0, 4, 8, &src, &mut dst),
            Err(FrameError::Dimensions { .. })
        ));
    }

    #[test]
    fn fourcc_round_trips() {
        for f in PixelFormat::PREFERENCE {
            assert_eq!(PixelFormat::from_fourcc(f.fourcc()), Some(f));
            assert_eq!(f.name().as_bytes(), f.fourcc());
        }
        assert_eq!(PixelFormat::from_fourcc(*b"MJPG"), None);
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(
            fi in 0usize..5, w in 0u32..40, h in 0u32..40, stride in 0usize..100,
            src in proptest::collection::vec(any::<u8>(), 0..4000),
        ) {
            let format = PixelFormat::PREFERENCE[fi];
            let len = if w == 0 || h == 0 { 0 } else { VideoFrame::packed_len(w, h) };
            let mut dst = vec![0; len];
            let _ = to_i420(format, w, h, stride, &src, &mut dst);
        }
    }
}
