//! Real audio devices (feature `audio-device`) on ALSA's `null` plugin (it captures
//! silence and discards playback, as fast as it is asked to), so the capture and
//! playback paths run for real on a machine without a sound card; and a missing
//! device's error. ALSA's `default` device is made the null plugin for this test
//! process by `ALSA_CONFIG_PATH` (ALSA's own configuration, then one override file).

#![cfg(feature = "audio-device")]
#![allow(clippy::unwrap_used)]
// tests: a failed unwrap is a failed test
// `std::env::set_var` is unsafe (other threads may read the environment): it runs once,
// before any test touches ALSA, while the other tests wait on the `Once`.
#![allow(unsafe_code)]

use std::time::{Duration, Instant};

use media_av::device::{AudioCapture, AudioPlayback, DeviceError, input_devices, output_devices};
use media_av::frame::AudioFrame;
use media_av::rtp::Timestamp;
use media_av::sink::AudioSink;
use media_av::source::AudioSource;

/// The device cpal lists for ALSA's `default`, which this test makes the null plugin.
const NULL: &str = "default";

/// ALSA's own configuration file.
const ALSA_CONF: &str = "/usr/share/alsa/alsa.conf";

/// Points ALSA's `default` PCM at the null plugin, once per process.
fn null_default() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        assert!(
            std::path::Path::new(ALSA_CONF).exists(),
            "{ALSA_CONF} is missing: install libasound2 (scripts/test does)"
        );
        let dir = std::env::temp_dir().join(format!("ucc-alsa-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("null-default.conf");
        std::fs::write(&conf, "pcm.!default { type null }\n").unwrap();
        // SAFETY: see the crate attribute above; no ALSA call has run yet.
        unsafe {
            std::env::set_var(
                "ALSA_CONFIG_PATH",
                format!("{ALSA_CONF}:{}", conf.display()),
            )
        };
    });
}

/// Waits (at most 5 s) until `done`; `state` says what was seen on failure.
fn wait_until(done: impl Fn() -> bool, state: impl Fn() -> String) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(5), "{}", state());
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn require_null(devices: &[String]) {
    assert!(
        devices.iter().any(|d| d == NULL),
        "ALSA's default device (the null plugin here) is missing; devices: {devices:?}"
    );
}

#[test]
fn capture_delivers_20ms_frames_of_what_the_device_captured() {
    null_default();
    require_null(&input_devices());
    let mut capture = AudioCapture::open(Some(NULL), 48_000, 1).unwrap();
    assert_eq!((capture.sample_rate(), capture.channels()), (48_000, 1));
    // The device callback fills the ring.
    wait_until(
        || capture.stats().captured >= 48_000 / 5,
        || format!("{:?}", capture.stats()),
    );
    let mut timestamps = Vec::new();
    for _ in 0..5 {
        let frame = capture.next_frame().unwrap().unwrap();
        assert_eq!(frame.samples().len(), 960);
        assert!(
            frame.samples().iter().all(|&s| s == 0),
            "null captures silence"
        );
        timestamps.push(frame.timestamp().0);
    }
    assert_eq!(timestamps, [0, 960, 1920, 2880, 3840]);
    let stats = capture.stats();
    // 200 ms were waiting: five frames came from the device, none padded.
    assert_eq!(stats.underrun, 0, "{stats:?}");
}

#[test]
fn capture_keeps_its_backlog_bounded() {
    null_default();
    require_null(&input_devices());
    let mut capture = AudioCapture::open(Some(NULL), 8_000, 1).unwrap();
    // Nobody reads until more than the 200 ms backlog piled up.
    wait_until(
        || capture.stats().captured >= 8_000 * 6 / 10,
        || format!("{:?}", capture.stats()),
    );
    let frame = capture.next_frame().unwrap().unwrap();
    assert_eq!(frame.samples().len(), 160);
    let stats = capture.stats();
    // The ring (1 s) held more than 200 ms + one frame: the oldest went, leaving the
    // backlog; the frame itself came from the device, not from padding.
    assert!(stats.skipped > 0, "{stats:?}");
    assert!(stats.skipped <= 8_000 - 1_600, "{stats:?}");
    assert_eq!(stats.underrun, 0, "{stats:?}");
}

#[test]
fn playback_hands_written_frames_to_the_device() {
    null_default();
    require_null(&output_devices());
    let mut playback = AudioPlayback::open(Some(NULL), 48_000, 1).unwrap();
    for i in 0..10u32 {
        let frame = AudioFrame::new(vec![1000i16; 960], 48_000, 1, Timestamp(i * 960)).unwrap();
        playback.write_frame(&frame).unwrap();
    }
    wait_until(
        || playback.stats().played >= 9_600,
        || format!("{:?}", playback.stats()),
    );
    assert_eq!(playback.stats().played, 9_600);
    assert_eq!(playback.stats().dropped, 0);
    // A frame in another format is refused, not played.
    let wrong = AudioFrame::new(vec![0i16; 160], 8_000, 1, Timestamp(0)).unwrap();
    assert!(playback.write_frame(&wrong).is_err());
}

#[test]
fn a_missing_device_is_a_clear_error_naming_the_devices_there_are() {
    null_default();
    let err = AudioCapture::open(Some("no-such-microphone"), 48_000, 1).unwrap_err();
    assert!(matches!(err, DeviceError::NotFound { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with("no audio capture device no-such-microphone; available: "),
        "{text}"
    );
    assert!(text.contains(NULL), "{text}");
    let err = AudioPlayback::open(Some("no-such-speaker"), 48_000, 1).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("no audio playback device no-such-speaker"),
        "{err}"
    );
}
