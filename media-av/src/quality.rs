//! Quality metrics for tests and monitoring: audio signal-to-noise ratio
//! against a reference, alignment of a delayed signal, the dominant
//! frequency of a tone, and video PSNR between two I420 pictures.
//!
//! # Example
//!
//! ```
//! use media_av::frame::VideoFrame;
//! use media_av::quality::{psnr, snr_db};
//! use media_av::rtp::Timestamp;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let reference = [1000i16, -1000, 1000, -1000];
//! assert!(snr_db(&reference, &[1010, -990, 1000, -1000]) > 30.0);
//!
//! let a = VideoFrame::filled(16, 16, [100, 128, 128], Timestamp(0))?;
//! let b = VideoFrame::filled(16, 16, [101, 128, 128], Timestamp(0))?;
//! // Y off by 1 everywhere: MSE = 1 * 256 / 384.
//! assert!((psnr(&a, &b)? - 49.89).abs() < 0.01);
//! # Ok(())
//! # }
//! ```

use std::f64::consts::TAU;
use std::ops::RangeInclusive;

use thiserror::Error;

use crate::frame::VideoFrame;
use crate::source::ToneGenerator;

/// Two pictures of different sizes cannot be compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[error("cannot compare a {a:?} picture with a {b:?} one")]
pub struct SizeMismatch {
    /// Width and height of the first picture.
    pub a: (u32, u32),
    /// Width and height of the second picture.
    pub b: (u32, u32),
}

/// Signal-to-noise ratio in dB of `test` against `reference`, over their
/// common length: `10 log10(Σ ref² / Σ (ref − test)²)`. Identical signals give
/// `f64::INFINITY`; a silent reference gives `f64::NEG_INFINITY`.
#[must_use]
pub fn snr_db(reference: &[i16], test: &[i16]) -> f64 {
    let (mut signal, mut noise) = (0.0f64, 0.0f64);
    for (&r, &t) in reference.iter().zip(test) {
        let (r, t) = (f64::from(r), f64::from(t));
        signal += r * r;
        noise += (r - t) * (r - t);
    }
    if noise == 0.0 {
        return f64::INFINITY;
    }
    10.0 * (signal / noise).log10()
}

/// The delay of `test` behind `reference`, in samples, within `lags`: the
/// lag that maximizes the normalized cross-correlation over `window`
/// samples of the reference (codec delay alignment). For a periodic signal
/// such as a tone, keep `lags` within one period of the expected delay.
#[must_use]
pub fn align(reference: &[i16], test: &[i16], lags: RangeInclusive<usize>, window: usize) -> usize {
    let window = window.min(reference.len());
    let reference = &reference[..window];
    let mut best = (*lags.start(), f64::NEG_INFINITY);
    for lag in lags {
        let Some(shifted) = test.get(lag..lag + window) else {
            break;
        };
        let (mut dot, mut energy) = (0.0f64, 0.0f64);
        for (&r, &t) in reference.iter().zip(shifted) {
            dot += f64::from(r) * f64::from(t);
            energy += f64::from(t) * f64::from(t);
        }
        let score = if energy > 0.0 {
            dot / energy.sqrt()
        } else {
            f64::NEG_INFINITY
        };
        if score > best.1 {
            best = (lag, score);
        }
    }
    best.0
}

/// Power of `samples` at `frequency` Hz (Goertzel algorithm).
#[must_use]
pub fn goertzel_power(samples: &[i16], sample_rate: u32, frequency: f64) -> f64 {
    let coeff = 2.0 * (TAU * frequency / f64::from(sample_rate)).cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - coeff * s1 * s2).max(0.0)
}

/// The frequency in Hz with the most power in mono `samples`, to within
/// about 0.25 Hz, or `None` for silence or fewer than 64 samples.
///
/// A coarse Goertzel scan over the first 4096 samples finds the strongest
/// bin; a fine scan of the whole signal in 0.25 Hz steps around it refines
/// the estimate.
#[must_use]
pub fn dominant_frequency(samples: &[i16], sample_rate: u32) -> Option<f64> {
    if samples.len() < 64 || samples.iter().all(|&s| s == 0) {
        return None;
    }
    let rate = f64::from(sample_rate);
    let coarse = &samples[..samples.len().min(4096)];
    let bin = rate / coarse.len() as f64;
    let bins = coarse.len() / 2;
    let mut best = (0.0, f64::NEG_INFINITY);
    for k in 1..bins {
        let f = k as f64 * bin;
        let p = goertzel_power(coarse, sample_rate, f);
        if p > best.1 {
            best = (f, p);
        }
    }
    let (center, mut fine) = (best.0, (best.0, f64::NEG_INFINITY));
    let steps = (bin / 0.25).ceil() as i64;
    for step in -steps..=steps {
        let f = center + step as f64 * 0.25;
        if f <= 0.0 || f >= rate / 2.0 {
            continue;
        }
        let p = goertzel_power(samples, sample_rate, f);
        if p > fine.1 {
            fine = (f, p);
        }
    }
    Some(fine.0)
}

/// Mean squared error between the visible samples of all three planes.
fn mse(
    a: &VideoFrame,
    b: &VideoFrame,
    planes: std::ops::Range<usize>,
) -> Result<f64, SizeMismatch> {
    if (a.width(), a.height()) != (b.width(), b.height()) {
        return Err(SizeMismatch {
            a: (a.width(), a.height()),
            b: (b.width(), b.height()),
        });
    }
    let (mut sum, mut count) = (0u64, 0u64);
    for p in planes {
        for (ra, rb) in a.rows(p).zip(b.rows(p)) {
            for (&x, &y) in ra.iter().zip(rb) {
                let d = u64::from(x.abs_diff(y));
                sum += d * d;
            }
            count += ra.len() as u64;
        }
    }
    Ok(sum as f64 / count.max(1) as f64)
}

fn to_psnr(mse: f64) -> f64 {
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0 * 255.0 / mse).log10()
    }
}

/// PSNR in dB of two I420 pictures over all samples of Y, U and V
/// (`f64::INFINITY` when identical).
///
/// # Errors
///
/// [`SizeMismatch`] when the sizes differ.
pub fn psnr(a: &VideoFrame, b: &VideoFrame) -> Result<f64, SizeMismatch> {
    mse(a, b, 0..3).map(to_psnr)
}

/// PSNR in dB of the luma planes only.
///
/// # Errors
///
/// [`SizeMismatch`] when the sizes differ.
pub fn psnr_y(a: &VideoFrame, b: &VideoFrame) -> Result<f64, SizeMismatch> {
    mse(a, b, 0..1).map(to_psnr)
}

/// SNR of each 100 ms block of `received` against the tone `tone` produces, each block
/// aligned to the tone's phase first (lags over one period), so delay and a varying
/// jitter-buffer depth do not count as noise. `received` is mono at `tone`'s rate.
pub fn tone_block_snrs(received: &[i16], tone: &ToneGenerator) -> Vec<f64> {
    let rate = tone.sample_rate() as usize;
    let block = rate / 10;
    let period = ((rate as f64 / tone.frequency()).ceil() as usize).clamp(1, block / 2);
    if block == 0 {
        return Vec::new();
    }
    let reference = tone.samples(0, block);
    let window = block - period;
    received
        .chunks_exact(block)
        .map(|b| {
            let lag = align(&reference, b, 0..=period, window);
            snr_db(&reference[..window], &b[lag..lag + window])
        })
        .collect()
}

/// The median of `values` (`NaN` when empty).
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::Timestamp;

    #[test]
    fn snr_of_known_noise() {
        let r = [100i16; 100];
        let t = [110i16; 100];
        assert!((snr_db(&r, &t) - 20.0).abs() < 1e-9);
        assert_eq!(snr_db(&r, &r), f64::INFINITY);
    }

    #[test]
    fn finds_delay_and_frequency() {
        let tone: Vec<i16> = (0..4800)
            .map(|n| (8000.0 * (TAU * 1234.5 * n as f64 / 48_000.0).sin()) as i16)
            .collect();
        let mut delayed = vec![0i16; 37];
        delayed.extend_from_slice(&tone);
        assert_eq!(align(&tone, &delayed, 20..=50, 960), 37);
        let f = dominant_frequency(&tone, 48_000).unwrap_or_default();
        assert!((f - 1234.5).abs() <= 0.5, "{f}");
        assert_eq!(dominant_frequency(&[0; 100], 8000), None);
    }

    #[test]
    fn psnr_needs_same_size() -> Result<(), Box<dyn std::error::Error>> {
        let a = VideoFrame::filled(4, 4, [0; 3], Timestamp(0))?;
        let b = VideoFrame::filled(4, 2, [0; 3], Timestamp(0))?;
        assert!(psnr(&a, &b).is_err());
        assert_eq!(psnr(&a, &a)?, f64::INFINITY);
        Ok(())
    }
}
