//! Video capture through V4L2 (feature `video-device`); see the parent module.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use v4l::buffer::Type;
use v4l::capability::Flags;
use v4l::io::traits::CaptureStream;
use v4l::prelude::{Device, MmapStream};
use v4l::video::Capture;
use v4l::video::capture::Parameters;

use super::DeviceError;
use crate::frame::VideoFrame;
use crate::frame::convert::{PixelFormat, to_i420};
use crate::rtp::Timestamp;
use crate::source::{SourceError, VideoSource};

/// The camera opened when none is named.
pub const DEFAULT_VIDEO_DEVICE: &str = "/dev/video0";

/// How long after opening a camera may take to deliver its first picture (black
/// pictures are sent meanwhile) before [`VideoSource::next_frame`] reports an error.
pub const FIRST_PICTURE_TIMEOUT: Duration = Duration::from_secs(3);

/// Converted pictures that may be alive at once (the last one handed out, the one in
/// the mailbox, the one being converted and the encoder's): the pool never grows past
/// it; a picture that finds no free buffer is dropped and counted.
const POOL_SIZE: usize = 5;

/// Limited-range black, sent until the camera's first picture.
const BLACK: [u8; 3] = [16, 128, 128];

/// Kernel buffers the capture stream cycles through.
const KERNEL_BUFFERS: u32 = 4;

/// How often the capture thread wakes from a blocked read to check for stop.
const READ_TIMEOUT: Duration = Duration::from_millis(200);

/// Paths of the V4L2 devices there are (`/dev/video*`), sorted.
pub fn video_devices() -> Vec<String> {
    let mut paths: Vec<String> = v4l::context::enum_devices()
        .iter()
        .map(|n| n.path().display().to_string())
        .collect();
    paths.sort();
    paths
}

/// What a [`VideoCapture`] has counted since it opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VideoCaptureCounters {
    /// Pictures the camera delivered and the capture thread converted.
    pub captured: u64,
    /// Pictures converted but replaced by a newer one before the source was asked.
    pub skipped: u64,
    /// Frames handed out again because no new picture had come.
    pub repeated: u64,
    /// Black pictures sent before the camera's first one.
    pub blank: u64,
    /// Pictures dropped because every pooled buffer was still in use.
    pub no_buffer: u64,
    /// Buffers from the device too short for the negotiated format.
    pub malformed: u64,
}

/// The counters, shared by the capture thread and the source.
#[derive(Debug, Default)]
struct Counters {
    captured: AtomicU64,
    skipped: AtomicU64,
    repeated: AtomicU64,
    blank: AtomicU64,
    no_buffer: AtomicU64,
    malformed: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> VideoCaptureCounters {
        VideoCaptureCounters {
            captured: self.captured.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
            repeated: self.repeated.load(Ordering::Relaxed),
            blank: self.blank.load(Ordering::Relaxed),
            no_buffer: self.no_buffer.load(Ordering::Relaxed),
            malformed: self.malformed.load(Ordering::Relaxed),
        }
    }
}

/// The one-slot hand-over from the capture thread to the source.
#[derive(Debug, Default)]
struct Mailbox {
    slot: Mutex<Slot>,
}

#[derive(Debug, Default)]
struct Slot {
    picture: Option<Bytes>,
    /// Why the capture thread stopped, once it has.
    ended: Option<String>,
}

impl Mailbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, Slot> {
        // The slot stays consistent whatever a panicking holder did.
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the waiting picture; true when one was waiting (now skipped).
    fn put(&self, picture: Bytes) -> bool {
        self.lock().picture.replace(picture).is_some()
    }

    fn end(&self, why: String) {
        self.lock().ended = Some(why);
    }

    /// The waiting picture, if any; or why capture ended.
    fn take(&self) -> Result<Option<Bytes>, String> {
        let mut slot = self.lock();
        match slot.picture.take() {
            Some(p) => Ok(Some(p)),
            None => slot.ended.clone().map_or(Ok(None), Err),
        }
    }
}

/// The capture thread's side: converts raw pictures into pooled I420 buffers and
/// posts them to the mailbox. Independent of V4L2, so it is tested with synthetic
/// pictures.
#[derive(Debug)]
struct PictureFeed {
    format: PixelFormat,
    width: u32,
    height: u32,
    stride: usize,
    /// Buffers handed out; one whose every frame has been dropped is reused.
    pool: Vec<Bytes>,
    mailbox: Arc<Mailbox>,
    counters: Arc<Counters>,
}

impl PictureFeed {
    /// Converts one raw picture and posts it.
    fn deliver(&mut self, raw: &[u8]) {
        let len = VideoFrame::packed_len(self.width, self.height);
        let mut buf = match self.pool.iter().position(Bytes::is_unique) {
            Some(i) => match self.pool.swap_remove(i).try_into_mut() {
                Ok(b) => b,
                // Shared again since the check: leave it to its holders.
                Err(_) => BytesMut::zeroed(len),
            },
            None if self.pool.len() < POOL_SIZE => BytesMut::zeroed(len),
            None => {
                self.counters.no_buffer.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        buf.resize(len, 0);
        if to_i420(
            self.format,
            self.width,
            self.height,
            self.stride,
            raw,
            &mut buf,
        )
        .is_err()
        {
            self.counters.malformed.fetch_add(1, Ordering::Relaxed);
            self.pool.push(buf.freeze());
            return;
        }
        let picture = buf.freeze();
        self.pool.push(picture.clone());
        self.counters.captured.fetch_add(1, Ordering::Relaxed);
        if self.mailbox.put(picture) {
            self.counters.skipped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A camera as a [`VideoSource`]: I420 frames at the size and rate the device agreed
/// to, stamped on the 90 kHz clock by frame count.
#[derive(Debug)]
pub struct VideoCapture {
    name: String,
    width: u32,
    height: u32,
    frame_rate: (u32, u32),
    format: PixelFormat,
    mailbox: Arc<Mailbox>,
    counters: Arc<Counters>,
    last: Option<Bytes>,
    frames: u64,
    opened: Instant,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl VideoCapture {
    /// Opens the camera at `path` ([`DEFAULT_VIDEO_DEVICE`] when `None`) asking for
    /// `width`×`height` at `fps`, and starts capturing. The device may adjust the size
    /// and rate: [`VideoCapture::size`] and [`VideoSource::frame_rate`] say what it
    /// agreed to.
    ///
    /// # Errors
    ///
    /// [`DeviceError::NotFound`] (with the devices there are) when there is no such
    /// device, [`DeviceError::Format`] when it offers no format this library converts,
    /// [`DeviceError::Stream`] when it is not a V4L2 capture device or refuses to
    /// stream.
    pub fn open(
        path: Option<&str>,
        width: u32,
        height: u32,
        fps: u32,
    ) -> Result<Self, DeviceError> {
        let name = path.unwrap_or(DEFAULT_VIDEO_DEVICE).to_owned();
        if !Path::new(&name).exists() {
            return Err(DeviceError::NotFound {
                direction: "video capture",
                name: path.unwrap_or("(default)").to_owned(),
                available: video_devices(),
            });
        }
        let failed = |what: &str, e: &dyn std::fmt::Display| DeviceError::Stream {
            name: name.clone(),
            reason: format!("{what}: {e}"),
        };
        let device = Device::with_path(&name).map_err(|e| failed("open", &e))?;
        let caps = device
            .query_caps()
            .map_err(|e| failed("not a V4L2 device (VIDIOC_QUERYCAP)", &e))?;
        if !caps
            .capabilities
            .contains(Flags::VIDEO_CAPTURE | Flags::STREAMING)
        {
            return Err(failed(
                "not a streaming video capture device",
                &caps.capabilities,
            ));
        }
        let offered = device
            .enum_formats()
            .map_err(|e| failed("listing formats", &e))?;
        let offered_codes: Vec<[u8; 4]> = offered.iter().map(|d| d.fourcc.repr).collect();
        let format_error = || DeviceError::Format {
            name: name.clone(),
            offered: offered_codes
                .iter()
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect(),
        };
        let wanted = PixelFormat::PREFERENCE
            .into_iter()
            .find(|f| offered_codes.contains(&f.fourcc()))
            .ok_or_else(format_error)?;
        let agreed = device
            .set_format(&v4l::Format::new(
                width,
                height,
                v4l::FourCC::new(&wanted.fourcc()),
            ))
            .map_err(|e| failed("setting the format", &e))?;
        let format = PixelFormat::from_fourcc(agreed.fourcc.repr).ok_or_else(format_error)?;
        let stride = (agreed.stride as usize).max(format.min_stride(agreed.width));
        // Not every driver lets the rate be set; what it reports is what counts.
        let _ = device.set_params(&Parameters::with_fps(fps.max(1)));
        let frame_rate = device
            .params()
            .ok()
            .map(|p| p.interval)
            .filter(|i| i.numerator > 0 && i.denominator > 0)
            .map_or((fps.max(1), 1), |i| (i.denominator, i.numerator));

        let mailbox = Arc::new(Mailbox::default());
        let counters = Arc::new(Counters::default());
        let feed = PictureFeed {
            format,
            width: agreed.width,
            height: agreed.height,
            stride,
            pool: Vec::with_capacity(POOL_SIZE),
            mailbox: mailbox.clone(),
            counters: counters.clone(),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let thread = spawn_capture(device, name.clone(), feed, stop.clone())?;
        tracing::debug!(
            device = %name,
            format = format.name(),
            width = agreed.width,
            height = agreed.height,
            ?frame_rate,
            "video capture started"
        );
        Ok(Self {
            name,
            width: agreed.width,
            height: agreed.height,
            frame_rate,
            format,
            mailbox,
            counters,
            last: None,
            frames: 0,
            opened: Instant::now(),
            stop,
            thread: Some(thread),
        })
    }

    /// The device's path.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The picture size the device agreed to (width, height).
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The format the device delivers (converted to I420 here).
    pub fn device_format(&self) -> PixelFormat {
        self.format
    }

    /// What has been counted so far.
    pub fn counters(&self) -> VideoCaptureCounters {
        self.counters.snapshot()
    }

    fn timestamp(&self) -> Timestamp {
        let (num, den) = self.frame_rate;
        let ticks = self.frames * 90_000 * u64::from(den) / u64::from(num.max(1));
        // The RTP clock wraps at 2^32.
        #[allow(clippy::cast_possible_truncation)]
        Timestamp(ticks as u32)
    }
}

/// Starts the capture thread; returns once the stream is up (or why it is not).
fn spawn_capture(
    device: Device,
    name: String,
    mut feed: PictureFeed,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>, DeviceError> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let thread_name = name.clone();
    let thread = std::thread::Builder::new()
        .name("ucc-video-capture".into())
        .spawn(move || {
            let mut stream =
                match MmapStream::with_buffers(&device, Type::VideoCapture, KERNEL_BUFFERS) {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
            stream.set_timeout(READ_TIMEOUT);
            let _ = ready_tx.send(Ok(()));
            let why = loop {
                if stop.load(Ordering::Relaxed) {
                    break "stopped".to_owned();
                }
                match stream.next() {
                    Ok((buf, meta)) => {
                        let used = (meta.bytesused as usize).min(buf.len());
                        feed.deliver(&buf[..used]);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                    Err(e) => break format!("video device {thread_name}: {e}"),
                }
            };
            tracing::debug!(device = %thread_name, %why, "video capture ended");
            feed.mailbox.end(why);
        })
        .map_err(|e| DeviceError::Stream {
            name: name.clone(),
            reason: e.to_string(),
        })?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(thread),
        Ok(Err(reason)) => {
            let _ = thread.join();
            Err(DeviceError::Stream { name, reason })
        }
        Err(_) => Err(DeviceError::Stream {
            name,
            reason: "the capture thread ended early".into(),
        }),
    }
}

impl VideoSource for VideoCapture {
    fn frame_rate(&self) -> (u32, u32) {
        self.frame_rate
    }

    /// The newest picture; the previous one again when none has come since
    /// (counted). Never waits for the camera: until its first picture, black pictures
    /// (counted), and an error when none has come [`FIRST_PICTURE_TIMEOUT`] after
    /// opening.
    fn next_frame(&mut self) -> Result<Option<VideoFrame>, SourceError> {
        let picture = match self.mailbox.take() {
            Ok(Some(p)) => p,
            Ok(None) => match &self.last {
                Some(last) => {
                    self.counters.repeated.fetch_add(1, Ordering::Relaxed);
                    last.clone()
                }
                None if self.opened.elapsed() < FIRST_PICTURE_TIMEOUT => {
                    self.counters.blank.fetch_add(1, Ordering::Relaxed);
                    let timestamp = self.timestamp();
                    self.frames += 1;
                    return Ok(Some(VideoFrame::filled(
                        self.width,
                        self.height,
                        BLACK,
                        timestamp,
                    )?));
                }
                None => {
                    return Err(SourceError::Device(format!(
                        "video device {}: no picture within {} s",
                        self.name,
                        FIRST_PICTURE_TIMEOUT.as_secs()
                    )));
                }
            },
            Err(why) => return Err(SourceError::Device(why)),
        };
        let frame =
            VideoFrame::from_packed(self.width, self.height, picture.clone(), self.timestamp())?;
        self.last = Some(picture);
        self.frames += 1;
        Ok(Some(frame))
    }
}

impl Drop for VideoCapture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            // Wakes within READ_TIMEOUT.
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A capture source fed by a test instead of a device thread.
    fn fed(width: u32, height: u32) -> (VideoCapture, PictureFeed) {
        let mailbox = Arc::new(Mailbox::default());
        let counters = Arc::new(Counters::default());
        let feed = PictureFeed {
            format: PixelFormat::Yuyv,
            width,
            height,
            stride: width as usize * 2,
            pool: Vec::new(),
            mailbox: mailbox.clone(),
            counters: counters.clone(),
        };
        let capture = VideoCapture {
            name: "test".into(),
            width,
            height,
            frame_rate: (30, 1),
            format: PixelFormat::Yuyv,
            mailbox,
            counters,
            last: None,
            frames: 0,
            opened: Instant::now(),
            stop: Arc::new(AtomicBool::new(false)),
            thread: None,
        };
        (capture, feed)
    }

    /// A flat YUYV picture of luma `y`.
    fn yuyv(width: u32, height: u32, y: u8) -> Vec<u8> {
        [y, 90, y, 200].repeat((width * height / 2) as usize)
    }

    #[test]
    fn pictures_are_converted_stamped_and_repeated_when_none_came() {
        let (mut cap, mut feed) = fed(4, 2);
        feed.deliver(&yuyv(4, 2, 50));
        let f = cap.next_frame().unwrap().unwrap();
        assert_eq!(f.plane(0), &[50; 8]);
        assert_eq!(f.plane(1), &[90, 90]);
        assert_eq!(f.plane(2), &[200, 200]);
        assert_eq!(f.timestamp(), Timestamp(0));
        // Nothing new: the same picture again, one frame later on the clock.
        let again = cap.next_frame().unwrap().unwrap();
        assert_eq!(again.plane(0), &[50; 8]);
        assert_eq!(again.timestamp(), Timestamp(3000));
        // Two arrive before the next call: the newest wins, the other is skipped.
        feed.deliver(&yuyv(4, 2, 60));
        feed.deliver(&yuyv(4, 2, 70));
        assert_eq!(cap.next_frame().unwrap().unwrap().plane(0), &[70; 8]);
        let c = cap.counters();
        assert_eq!((c.captured, c.repeated, c.skipped), (3, 1, 1));
    }

    #[test]
    fn buffers_are_reused_once_frames_are_dropped_and_the_pool_is_bounded() {
        let (mut cap, mut feed) = fed(4, 2);
        let mut seen = std::collections::HashSet::new();
        for i in 0..50u8 {
            feed.deliver(&yuyv(4, 2, i));
            let f = cap.next_frame().unwrap().unwrap();
            assert_eq!(f.plane(0)[0], i);
            seen.insert(f.plane(0).as_ptr() as usize);
        }
        // The last frame handed out and the one being filled: two buffers in turn.
        assert!(seen.len() <= 3, "{} buffers used", seen.len());
        // Frames kept by a slow consumer: the pool stops at POOL_SIZE and drops.
        let mut kept = Vec::new();
        for i in 0..10u8 {
            feed.deliver(&yuyv(4, 2, i));
            if let Some(f) = cap.next_frame().unwrap() {
                kept.push(f);
            }
        }
        assert!(feed.pool.len() <= POOL_SIZE);
        assert!(cap.counters().no_buffer > 0);
    }

    #[test]
    fn short_buffers_are_counted_not_posted() {
        let (cap, mut feed) = fed(4, 2);
        feed.deliver(&[1, 2, 3]);
        assert_eq!(cap.counters().malformed, 1);
        assert_eq!(cap.mailbox.take(), Ok(None));
    }

    #[test]
    fn black_until_the_first_picture_then_an_error_if_none_comes() {
        let (mut cap, mut feed) = fed(4, 2);
        let f = cap.next_frame().unwrap().unwrap();
        assert_eq!((f.plane(0), f.plane(1)), (&[16u8; 8][..], &[128u8; 2][..]));
        assert_eq!(cap.counters().blank, 1);
        feed.deliver(&yuyv(4, 2, 99));
        let f = cap.next_frame().unwrap().unwrap();
        assert_eq!(f.plane(0), &[99; 8]);
        assert_eq!(f.timestamp(), Timestamp(3000));
        // A camera silent since long ago.
        let (mut late, _feed) = fed(4, 2);
        late.opened = Instant::now() - FIRST_PICTURE_TIMEOUT;
        let e = late.next_frame().unwrap_err();
        assert_eq!(e.to_string(), "video device test: no picture within 3 s");
    }

    #[test]
    fn an_ended_capture_is_an_error_not_a_hang() {
        let (mut cap, _feed) = fed(4, 2);
        cap.mailbox.end("video device test: unplugged".into());
        let e = cap.next_frame().unwrap_err();
        assert_eq!(e.to_string(), "video device test: unplugged");
    }
}
