//! Video capture (feature `video-device`) without a camera: a missing device and a
//! file that is not a V4L2 device each give a clear error. (This machine has no
//! `/dev/video*`; the conversion and hand-over logic behind the device are unit-tested
//! in `frame::convert` and `device::video_capture` with synthetic pictures.)

#![cfg(feature = "video-device")]
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use media_av::device::{DeviceError, VideoCapture, video_devices};

#[test]
fn a_missing_camera_is_a_clear_error_naming_the_cameras_there_are() {
    let err = VideoCapture::open(Some("/dev/no-such-camera"), 640, 480, 30).unwrap_err();
    assert!(matches!(err, DeviceError::NotFound { .. }), "{err:?}");
    let text = err.to_string();
    let listed = video_devices();
    let expected = if listed.is_empty() {
        "none".to_owned()
    } else {
        listed.join(", ")
    };
    assert_eq!(
        text,
        format!("no video capture device /dev/no-such-camera; available: {expected}")
    );
}

#[test]
fn a_file_that_is_not_a_camera_is_refused_with_the_reason() {
    for path in ["/dev/null", "/etc/hostname"] {
        if !std::path::Path::new(path).exists() {
            continue;
        }
        let err = VideoCapture::open(Some(path), 640, 480, 30).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, DeviceError::Stream { .. }), "{err:?}");
        assert!(
            text.starts_with(&format!("device {path}: not a V4L2 device")),
            "{text}"
        );
    }
}
