//! Sources and sinks: file round trips, the tone generator's frequency, the
//! test pattern's determinism, and typed errors (never panics) for
//! malformed WAV and Y4M input.

use std::io::Cursor;

use media_av::frame::{AudioFrame, VideoFrame};
use media_av::quality::{dominant_frequency, psnr};
use media_av::rtp::Timestamp;
use media_av::sink::{AudioSink, NullSink, VideoSink, WavSink, Y4mSink};
use media_av::source::{
    AudioSource, SourceError, TestPattern, ToneGenerator, VideoSource, WavSource, Y4mColorspace,
    Y4mError, Y4mSource,
};
use proptest::prelude::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[test]
fn tone_generator_frequency_is_measured() -> TestResult {
    for (freq, rate, channels) in [(440.0, 8000, 1), (1000.0, 48_000, 2), (3141.5, 16_000, 1)] {
        let mut tone = ToneGenerator::new(freq, 12_000, rate, channels)?;
        let mut first_channel: Vec<i16> = Vec::new();
        let mut next_ts = 0u32;
        for _ in 0..25 {
            let frame = tone.next_frame()?.ok_or("tone ended")?;
            assert_eq!(
                frame.timestamp(),
                Timestamp(next_ts),
                "timestamps advance by samples"
            );
            assert_eq!(frame.samples_per_channel(), rate as usize / 50);
            next_ts += frame.samples_per_channel() as u32;
            first_channel.extend(frame.samples().iter().step_by(usize::from(channels)));
        }
        let peak = first_channel
            .iter()
            .map(|s| s.unsigned_abs())
            .max()
            .unwrap_or(0);
        assert!((11_990..=12_000).contains(&peak), "peak {peak}");
        let measured = dominant_frequency(&first_channel, rate).ok_or("silence")?;
        assert!(
            (measured - freq).abs() <= 0.5,
            "{freq} Hz tone measured at {measured} Hz"
        );
    }
    assert!(
        ToneGenerator::new(5000.0, 1000, 8000, 1).is_err(),
        "above Nyquist"
    );
    Ok(())
}

#[test]
fn test_pattern_is_deterministic_and_moves() -> TestResult {
    let pattern = TestPattern::new(160, 90, 30)?;
    let again = TestPattern::new(160, 90, 30)?;
    for n in [0, 1, 29, 1000] {
        assert_eq!(
            pattern.frame(n)?,
            again.frame(n)?,
            "frame {n} regenerates exactly"
        );
    }
    assert!(
        psnr(&pattern.frame(0)?, &pattern.frame(1)?)? < 30.0,
        "consecutive frames differ"
    );
    assert_eq!(pattern.frame(30)?.timestamp(), Timestamp(90_000));
    let mut source = pattern.clone();
    assert_eq!(source.frame_rate(), (30, 1));
    assert_eq!(source.next_frame()?.ok_or("ended")?, pattern.frame(0)?);
    assert_eq!(source.next_frame()?.ok_or("ended")?, pattern.frame(1)?);
    Ok(())
}

#[test]
fn y4m_write_read_round_trip() -> TestResult {
    let pattern = TestPattern::new(66, 38, 25)?;
    let mut sink = Y4mSink::new(Vec::new(), (25, 1));
    let sent: Vec<VideoFrame> = (0..5).map(|n| pattern.frame(n)).collect::<Result<_, _>>()?;
    for frame in &sent {
        sink.write_frame(frame)?;
    }
    let other = VideoFrame::filled(64, 38, [0, 128, 128], Timestamp(0))?;
    assert!(sink.write_frame(&other).is_err(), "size change refused");
    let bytes = sink.into_inner();

    let mut source = Y4mSource::new(&bytes[..])?;
    let header = source.header().clone();
    assert_eq!(
        (header.width, header.height, header.frame_rate),
        (66, 38, (25, 1))
    );
    assert_eq!(header.colorspace, Y4mColorspace::C420Jpeg);
    let mut received = Vec::new();
    while let Some(frame) = source.next_frame()? {
        received.push(frame);
    }
    assert_eq!(received.len(), sent.len());
    for (n, (a, b)) in sent.iter().zip(&received).enumerate() {
        assert_eq!(a.to_packed(), b.to_packed(), "frame {n}");
        assert_eq!(
            b.timestamp(),
            Timestamp(n as u32 * 3600),
            "frame {n} at 25 fps"
        );
    }
    Ok(())
}

#[test]
fn y4m_reads_a_file_written_by_ffmpeg_layout() -> TestResult {
    // The header FFmpeg writes for yuv420p (C420jpeg, XYSCSS extension).
    let mut stream = b"YUV4MPEG2 W4 H2 F30000:1001 Ip A1:1 C420jpeg XYSCSS=420JPEG\n".to_vec();
    stream.extend_from_slice(b"FRAME\n");
    stream.extend_from_slice(&[10, 20, 30, 40, 50, 60, 70, 80, 1, 2, 3, 4]);
    let mut source = Y4mSource::new(&stream[..])?;
    let frame = source.read_frame()?.ok_or("no frame")?;
    assert_eq!(frame.plane(0), &[10, 20, 30, 40, 50, 60, 70, 80]);
    assert_eq!(frame.plane(1), &[1, 2]);
    assert_eq!(frame.plane(2), &[3, 4]);
    assert!(source.read_frame()?.is_none());
    Ok(())
}

fn y4m_error(bytes: &[u8]) -> Option<Y4mError> {
    let result = Y4mSource::new(bytes).and_then(|mut s| s.read_frame().map(|_| ()));
    match result {
        Err(SourceError::Y4m(e)) => Some(e),
        _ => None,
    }
}

#[test]
fn malformed_y4m_gives_typed_errors() {
    assert_eq!(y4m_error(b"RIFF1234WAVE"), Some(Y4mError::HeaderLine));
    assert_eq!(
        y4m_error(b"YUV4MPEG3 W2 H2 F1:1\n"),
        Some(Y4mError::BadMagic)
    );
    assert_eq!(
        y4m_error(b"YUV4MPEG2 W2 F1:1\n"),
        Some(Y4mError::Missing('H'))
    );
    assert_eq!(
        y4m_error(b"YUV4MPEG2 W2 H2 F1:1 C422\n"),
        Some(Y4mError::Colorspace("422".into()))
    );
    assert!(matches!(
        y4m_error(b"YUV4MPEG2 W-2 H2 F1:1\n"),
        Some(Y4mError::BadValue { tag: 'W', .. })
    ));
    assert!(matches!(
        y4m_error(b"YUV4MPEG2 W2 H2 F1:1 Iz\n"),
        Some(Y4mError::BadValue { tag: 'I', .. })
    ));
    assert_eq!(
        y4m_error(b"YUV4MPEG2 W2 H2 F1:1\nFRAMEX\n"),
        Some(Y4mError::FrameMarker(0))
    );
    assert_eq!(
        y4m_error(b"YUV4MPEG2 W2 H2 F1:1\nFRAME\n\x01\x02"),
        Some(Y4mError::Truncated {
            index: 0,
            got: 2,
            expected: 6
        })
    );
    assert_eq!(
        y4m_error(b"YUV4MPEG2 W16384 H16384 F1:1\nFRAME\n"),
        Some(Y4mError::FrameTooLarge {
            size: 16384 * 16384 * 3 / 2,
            limit: 64 << 20
        })
    );
    let mut long = b"YUV4MPEG2 W2 H2 F1:1 X".to_vec();
    long.resize(10_000, b'a');
    assert_eq!(y4m_error(&long), Some(Y4mError::HeaderLine));
}

#[test]
fn wav_round_trip() -> TestResult {
    let mut tone = ToneGenerator::new(700.0, 20_000, 16_000, 2)?;
    let mut buffer = Cursor::new(Vec::new());
    let mut sent = Vec::new();
    {
        let mut sink = WavSink::new(&mut buffer, 16_000, 2)?;
        for _ in 0..10 {
            let frame = tone.next_frame()?.ok_or("tone ended")?;
            sink.write_frame(&frame)?;
            sent.extend_from_slice(frame.samples());
        }
        let mono = AudioFrame::silence(10, 16_000, 1, Timestamp(0))?;
        assert!(sink.write_frame(&mono).is_err(), "channel mismatch refused");
        sink.finalize()?;
    }
    let bytes = buffer.into_inner();

    let mut source = WavSource::new(Cursor::new(bytes))?.with_frame_samples(300)?;
    assert_eq!((source.sample_rate(), source.channels()), (16_000, 2));
    assert_eq!(source.remaining(), 3200);
    let mut received = Vec::new();
    let mut lengths = Vec::new();
    while let Some(frame) = source.next_frame()? {
        assert_eq!(frame.timestamp(), Timestamp((received.len() / 2) as u32));
        lengths.push(frame.samples_per_channel());
        received.extend_from_slice(frame.samples());
    }
    assert_eq!(received, sent);
    assert_eq!(lengths.last(), Some(&(3200 % 300)), "short last frame");
    Ok(())
}

#[test]
fn wav_file_round_trip() -> TestResult {
    let path = std::env::temp_dir().join(format!("ucc-wav-{}.wav", std::process::id()));
    let mut tone = ToneGenerator::new(700.0, 20_000, 8000, 1)?;
    let mut sink = WavSink::create(&path, 8000, 1)?;
    let mut sent = Vec::new();
    for _ in 0..5 {
        let frame = tone.next_frame()?.ok_or("tone ended")?;
        sink.write_frame(&frame)?;
        sent.extend_from_slice(frame.samples());
    }
    sink.finalize()?;
    let mut source = WavSource::open(&path)?;
    let mut received = Vec::new();
    while let Some(frame) = source.next_frame()? {
        received.extend_from_slice(frame.samples());
    }
    std::fs::remove_file(&path)?;
    assert_eq!(received, sent);
    Ok(())
}

#[test]
fn malformed_wav_gives_typed_errors() -> TestResult {
    assert!(matches!(
        WavSource::new(&b"RIFF\x00\x00"[..]),
        Err(SourceError::Wav(_))
    ));
    assert!(matches!(
        WavSource::new(&b"YUV4MPEG2 W2 H2 F1:1\n"[..]),
        Err(SourceError::Wav(_))
    ));
    // A valid 8-bit WAV file: readable, but not 16-bit PCM.
    let mut bytes = Cursor::new(Vec::new());
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 8,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::new(&mut bytes, spec)?;
    writer.write_sample(5i8)?;
    writer.finalize()?;
    assert!(matches!(
        WavSource::new(Cursor::new(bytes.into_inner())),
        Err(SourceError::WavFormat(_))
    ));
    Ok(())
}

#[test]
fn null_sink_counts() -> TestResult {
    let mut sink = NullSink::default();
    AudioSink::write_frame(&mut sink, &AudioFrame::silence(160, 8000, 1, Timestamp(0))?)?;
    VideoSink::write_frame(&mut sink, &VideoFrame::filled(2, 2, [0; 3], Timestamp(0))?)?;
    assert_eq!(
        sink,
        NullSink {
            frames: 2,
            samples: 160
        }
    );
    Ok(())
}

proptest! {
    /// Arbitrary bytes never panic the Y4M parser: a header, then frames.
    #[test]
    fn y4m_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(mut source) = Y4mSource::new(&bytes[..]) {
            for _ in 0..4 {
                if !matches!(source.read_frame(), Ok(Some(_))) {
                    break;
                }
            }
        }
    }

    /// Arbitrary bytes after a valid header prefix reach the parameter and
    /// frame parsers; still no panic.
    #[test]
    fn y4m_parameters_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut bytes = b"YUV4MPEG2 W".to_vec();
        bytes.extend_from_slice(&tail);
        if let Ok(mut source) = Y4mSource::new(&bytes[..]) {
            for _ in 0..4 {
                if !matches!(source.read_frame(), Ok(Some(_))) {
                    break;
                }
            }
        }
    }

    /// Arbitrary bytes never panic the WAV reader.
    #[test]
    fn wav_reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(mut source) = WavSource::new(&bytes[..]) {
            for _ in 0..4 {
                if !matches!(source.next_frame(), Ok(Some(_))) {
                    break;
                }
            }
        }
    }
}

/// Runs ffmpeg quietly; panics with a clear message when it is missing.
fn ffmpeg(args: &[&str]) -> TestResult {
    let output = match std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .output()
    {
        Ok(o) => o,
        Err(e) => panic!(
            "ffmpeg is required for the Y4M interop test but could not be run ({e}); \
             install it (Debian: apt-get install ffmpeg, or run scripts/test)"
        ),
    };
    if !output.status.success() {
        return Err(format!(
            "ffmpeg {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(())
}

#[test]
fn y4m_interoperates_with_ffmpeg() -> TestResult {
    let dir = std::env::temp_dir().join(format!("ucc-y4m-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let theirs = dir.join("ffmpeg.y4m");
    let theirs_raw = dir.join("ffmpeg.yuv");
    let path = |p: &std::path::Path| p.to_str().map(str::to_owned).ok_or("non-UTF-8 path");
    // FFmpeg writes a Y4M file and the same frames as raw I420.
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=96x54:rate=25",
        "-frames:v",
        "3",
        "-pix_fmt",
        "yuv420p",
        &path(&theirs)?,
    ])?;
    ffmpeg(&[
        "-i",
        &path(&theirs)?,
        "-f",
        "rawvideo",
        "-pix_fmt",
        "yuv420p",
        &path(&theirs_raw)?,
    ])?;
    let mut source = Y4mSource::open(&theirs)?;
    assert_eq!(source.header().frame_rate, (25, 1));
    let mut ours = Vec::new();
    while let Some(frame) = source.next_frame()? {
        ours.extend_from_slice(&frame.to_packed());
    }
    assert_eq!(
        ours,
        std::fs::read(&theirs_raw)?,
        "frames read from FFmpeg's Y4M"
    );

    // FFmpeg reads the Y4M we write.
    let pattern = TestPattern::new(96, 54, 25)?;
    let mine = dir.join("ours.y4m");
    let mine_raw = dir.join("ours.yuv");
    let mut sink = Y4mSink::new(
        std::io::BufWriter::new(std::fs::File::create(&mine)?),
        (25, 1),
    );
    let mut expected = Vec::new();
    for n in 0..3 {
        let frame = pattern.frame(n)?;
        sink.write_frame(&frame)?;
        expected.extend_from_slice(&frame.to_packed());
    }
    std::io::Write::flush(&mut sink.into_inner())?;
    ffmpeg(&[
        "-i",
        &path(&mine)?,
        "-f",
        "rawvideo",
        "-pix_fmt",
        "yuv420p",
        &path(&mine_raw)?,
    ])?;
    let decoded = std::fs::read(&mine_raw)?;
    std::fs::remove_dir_all(&dir)?;
    assert_eq!(decoded, expected, "FFmpeg reads our Y4M");
    Ok(())
}
