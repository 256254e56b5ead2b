//! Codec wrappers of `media-av` beside the raw library calls they wrap, in
//! the same group and on the same input: Opus 20 ms mono frames through
//! [`OpusEncoder`] vs `opus::Encoder::encode`, and H.264 720p frames through
//! [`H264Encoder`] vs `openh264::encoder::Encoder::encode` (one thread,
//! same settings). The difference is the wrapper's overhead: format checks,
//! the copy into `Bytes` and the NAL unit split.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use media_av::codec::h264::{H264Config, H264Encoder};
use media_av::codec::opus::{OpusConfig, OpusEncoder};
use media_av::codec::{AudioEncoder, VideoEncoder};
use media_av::frame::{AudioFrame, VideoFrame};
use media_av::rtp::Timestamp;
use media_av::source::{AudioSource, TestPattern, ToneGenerator};
use openh264::OpenH264API;
use openh264::encoder::{
    BitRate, Encoder, EncoderConfig, FrameRate, IntraFramePeriod, Profile, RateControlMode,
    UsageType,
};
use openh264::formats::YUVSlices;

/// 50 frames (1 s) of a 1 kHz tone, 48 kHz mono.
fn tone_frames() -> Vec<AudioFrame> {
    let mut tone = ToneGenerator::new(1000.0, 10_000, 48_000, 1).expect("tone parameters");
    (0..50)
        .map(|_| tone.next_frame().expect("tone").expect("endless"))
        .collect()
}

fn opus_encode(c: &mut Criterion) {
    let frames = tone_frames();
    let mut group = c.benchmark_group("opus_encode_20ms_mono_32k");
    group.throughput(Throughput::Elements(1));

    let config = OpusConfig::default();
    let mut ours = OpusEncoder::new(config).expect("encoder");
    let mut i = 0;
    group.bench_function("media_av", |b| {
        b.iter(|| {
            i = (i + 1) % frames.len();
            black_box(ours.encode(black_box(&frames[i])).expect("encode"))
        });
    });

    let mut raw =
        opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip).expect("encoder");
    raw.set_bitrate(opus::Bitrate::Bits(32_000))
        .expect("bitrate");
    raw.set_inband_fec(true).expect("fec");
    raw.set_packet_loss_perc(10).expect("loss");
    let mut out = vec![0u8; 1275];
    let mut i = 0;
    group.bench_function("opus_crate", |b| {
        b.iter(|| {
            i = (i + 1) % frames.len();
            black_box(
                raw.encode(black_box(frames[i].samples()), &mut out)
                    .expect("encode"),
            )
        });
    });
    group.finish();
}

/// Eight consecutive 1280x720 test-pattern frames, encoded in a loop.
fn video_frames() -> Vec<VideoFrame> {
    let pattern = TestPattern::new(1280, 720, 30).expect("pattern");
    (0..8).map(|n| pattern.frame(n).expect("frame")).collect()
}

fn h264_encode(c: &mut Criterion) {
    let frames = video_frames();
    let mut group = c.benchmark_group("h264_encode_720p_2mbps");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);

    // Frame skipping off in both, so every iteration encodes a picture;
    // timestamps advance by one frame per iteration in both.
    let config = H264Config {
        bitrate: 2_000_000,
        frame_skip: false,
        ..H264Config::default()
    };
    let mut ours = H264Encoder::new(config).expect("encoder");
    let mut k = 0u32;
    group.bench_function("media_av", |b| {
        b.iter(|| {
            k += 1;
            let frame = frames[k as usize % frames.len()]
                .clone()
                .with_timestamp(Timestamp(k * 3000));
            black_box(ours.encode(black_box(&frame)).expect("encode"))
        });
    });

    // The same settings as H264Encoder applies.
    let raw_config = EncoderConfig::new()
        .profile(Profile::Baseline)
        .usage_type(UsageType::CameraVideoRealTime)
        .rate_control_mode(RateControlMode::Bitrate)
        .bitrate(BitRate::from_bps(2_000_000))
        .max_frame_rate(FrameRate::from_hz(30.0))
        .intra_frame_period(IntraFramePeriod::from_num_frames(0))
        .skip_frames(false)
        .num_threads(1);
    let mut raw =
        Encoder::with_api_config(OpenH264API::from_source(), raw_config).expect("encoder");
    let slices: Vec<YUVSlices<'_>> = frames
        .iter()
        .map(|f| {
            YUVSlices::new(
                (f.plane(0), f.plane(1), f.plane(2)),
                (1280, 720),
                (f.strides()[0], f.strides()[1], f.strides()[2]),
            )
        })
        .collect();
    let mut out = Vec::new();
    let mut k = 0u64;
    group.bench_function("openh264_crate", |b| {
        b.iter(|| {
            k += 1;
            let source = &slices[k as usize % slices.len()];
            let ts = openh264::Timestamp::from_millis(k * 100 / 3);
            let stream = raw.encode_at(black_box(source), ts).expect("encode");
            out.clear();
            stream.write_vec(&mut out);
            black_box(out.len())
        });
    });
    group.finish();
}

criterion_group!(benches, opus_encode, h264_encode);
criterion_main!(benches);
