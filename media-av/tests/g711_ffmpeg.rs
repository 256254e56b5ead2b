//! G.711 against FFmpeg's `pcm_mulaw` / `pcm_alaw`, both directions, over
//! every 16-bit input value plus a full-scale tone and every code.
//!
//! - Decoding is byte-identical.
//! - The [`G711Quantizer::Nearest`] encoder is byte-identical.
//! - The ITU-T encoder (the default) differs from FFmpeg exactly where
//!   FFmpeg's nearest-level rule departs from G.711's decision levels: 964
//!   inputs per law, each by one quantization level.
//!
//! FFmpeg is a required test peer (scripts/test installs it): when `ffmpeg`
//! is missing these tests fail and say so.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use media_av::codec::g711::{G711Quantizer, compress_into, expand_into};
use media_av::rtp::g711::G711Law;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A scratch directory unique to this test process and call.
fn scratch(name: &str) -> std::io::Result<PathBuf> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("ucc-g711-{}-{name}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Runs ffmpeg quietly; panics with a clear message when it is missing.
fn ffmpeg(args: &[&str]) -> TestResult {
    let output = match Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .output()
    {
        Ok(o) => o,
        Err(e) => panic!(
            "ffmpeg is required for the G.711 reference test but could not be run ({e}); \
             install it (Debian: apt-get install ffmpeg, or run scripts/test)"
        ),
    };
    if !output.status.success() {
        return Err(format!(
            "ffmpeg {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(())
}

/// Every 16-bit value once, then a 1 kHz full-scale tone.
fn full_range_input() -> Vec<i16> {
    let mut pcm: Vec<i16> = (i16::MIN..=i16::MAX).collect();
    pcm.extend((0..8000).map(|n| {
        (32767.0 * (std::f64::consts::TAU * 1000.0 * f64::from(n) / 8000.0).sin()) as i16
    }));
    pcm
}

fn to_le_bytes(pcm: &[i16]) -> Vec<u8> {
    pcm.iter().flat_map(|s| s.to_le_bytes()).collect()
}

fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter().zip(b).position(|(x, y)| x != y)
}

/// FFmpeg's encoding of [`full_range_input`] as `format`.
fn ffmpeg_encode(format: &str, input: &[i16]) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let dir = scratch(format)?;
    let raw = dir.join("in.raw");
    std::fs::write(&raw, to_le_bytes(input))?;
    let out = dir.join(format!("out.{format}"));
    ffmpeg(&[
        "-f",
        "s16le",
        "-ar",
        "8000",
        "-ac",
        "1",
        "-i",
        path(&raw)?,
        "-f",
        format,
        path(&out)?,
    ])?;
    let reference = std::fs::read(&out)?;
    std::fs::remove_dir_all(&dir)?;
    assert_eq!(
        reference.len(),
        input.len(),
        "{format}: FFmpeg output length"
    );
    Ok(reference)
}

fn nearest_encode_matches_ffmpeg(law: G711Law, format: &str) -> TestResult {
    let input = full_range_input();
    let reference = ffmpeg_encode(format, &input)?;
    let mut ours = Vec::new();
    compress_into(law, G711Quantizer::Nearest, &input, &mut ours);
    if let Some(i) = first_difference(&ours, &reference) {
        panic!(
            "{format}: sample {i} ({}) encodes to {:#04x}, FFmpeg gives {:#04x}",
            input[i], ours[i], reference[i]
        );
    }
    Ok(())
}

/// The level index of a code: its position in order of decoded value.
fn level(law: G711Law, code: u8) -> i32 {
    let mut pcm = Vec::new();
    expand_into(law, &[code], &mut pcm);
    let mut all = Vec::new();
    expand_into(law, &(0..=255u8).collect::<Vec<_>>(), &mut all);
    all.sort_unstable();
    all.dedup();
    all.iter()
        .position(|&v| v == pcm[0])
        .map_or(-1, |p| p as i32)
}

fn itut_encode_differs_from_ffmpeg_only_by_rule(law: G711Law, format: &str) -> TestResult {
    let input = full_range_input();
    let reference = ffmpeg_encode(format, &input)?;
    let mut ours = Vec::new();
    compress_into(law, G711Quantizer::ItuT, &input, &mut ours);
    let differing: Vec<usize> = (0..65_536).filter(|&i| ours[i] != reference[i]).collect();
    assert_eq!(
        differing.len(),
        964,
        "{format}: inputs where G.711 and FFmpeg disagree"
    );
    for &i in &differing {
        let step = level(law, ours[i]) - level(law, reference[i]);
        assert_eq!(
            step.abs(),
            1,
            "{format}: sample {} is {:#04x} vs FFmpeg {:#04x}",
            input[i],
            ours[i],
            reference[i]
        );
    }
    // The tone (beyond the first 65,536 samples) avoids none of this, but
    // must agree wherever the rules agree: check it sample by sample.
    let mut nearest = Vec::new();
    compress_into(law, G711Quantizer::Nearest, &input, &mut nearest);
    for i in 65_536..input.len() {
        if ours[i] == nearest[i] {
            assert_eq!(ours[i], reference[i], "{format}: tone sample {i}");
        }
    }
    Ok(())
}

fn decode_matches_ffmpeg(law: G711Law, format: &str) -> TestResult {
    let dir = scratch(&format!("{format}-dec"))?;
    // Every code, twice, in a scrambled order.
    let codes: Vec<u8> = (0..512u32)
        .map(|i| (i.wrapping_mul(97) % 256) as u8)
        .collect();
    let encoded = dir.join(format!("in.{format}"));
    std::fs::write(&encoded, &codes)?;
    let out = dir.join("out.raw");
    ffmpeg(&[
        "-f",
        format,
        "-ar",
        "8000",
        "-ac",
        "1",
        "-i",
        path(&encoded)?,
        "-f",
        "s16le",
        path(&out)?,
    ])?;
    let reference = std::fs::read(&out)?;

    let mut pcm = Vec::new();
    expand_into(law, &codes, &mut pcm);
    std::fs::remove_dir_all(&dir)?;
    let ours = to_le_bytes(&pcm);
    assert_eq!(ours.len(), reference.len(), "{format}: length");
    if let Some(i) = first_difference(&ours, &reference) {
        let code = codes[i / 2];
        panic!(
            "{format}: code {code:#04x} decodes to {}, FFmpeg differs",
            pcm[i / 2]
        );
    }
    Ok(())
}

fn path(p: &Path) -> Result<&str, Box<dyn std::error::Error>> {
    p.to_str().ok_or_else(|| "non-UTF-8 temp path".into())
}

#[test]
fn mulaw_nearest_encode_is_bit_exact_with_ffmpeg() -> TestResult {
    nearest_encode_matches_ffmpeg(G711Law::MuLaw, "mulaw")
}

#[test]
fn alaw_nearest_encode_is_bit_exact_with_ffmpeg() -> TestResult {
    nearest_encode_matches_ffmpeg(G711Law::ALaw, "alaw")
}

#[test]
fn mulaw_itut_encode_differs_from_ffmpeg_only_where_the_rules_do() -> TestResult {
    itut_encode_differs_from_ffmpeg_only_by_rule(G711Law::MuLaw, "mulaw")
}

#[test]
fn alaw_itut_encode_differs_from_ffmpeg_only_where_the_rules_do() -> TestResult {
    itut_encode_differs_from_ffmpeg_only_by_rule(G711Law::ALaw, "alaw")
}

#[test]
fn mulaw_decode_is_bit_exact_with_ffmpeg() -> TestResult {
    decode_matches_ffmpeg(G711Law::MuLaw, "mulaw")
}

#[test]
fn alaw_decode_is_bit_exact_with_ffmpeg() -> TestResult {
    decode_matches_ffmpeg(G711Law::ALaw, "alaw")
}
