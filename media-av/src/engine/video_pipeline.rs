//! The video pipelines of a stream, sans-IO: [`VideoSender`] (source →
//! H.264 encoder → RTP packetizer, keyframes on request) and
//! [`VideoReceiver`] (RTP → frame assembler → depacketizer → decoder →
//! sink, asking for a keyframe when a frame is lost or broken).
//!
//! **Allocation.** Per picture the source's frame, the encoded access unit,
//! its NAL list, the reassembled access unit handed to openh264 and the
//! decoded picture are allocations (codec and source APIs); per packet,
//! only FU-A reassembly beyond the reused buffer and STAP-A aggregation.
//! The frame assembler holds each frame's packets in a `Vec`.

use std::time::Instant;

use tracing::debug;

use super::StreamId;
use super::config::{Factories, PipelineInfo, VideoSettings};
use super::counters::{Counters, inc};
use super::error::EngineError;
use super::negotiated::{ActiveParams, SendParams};
use crate::codec::VideoDecoder;
use crate::codec::VideoEncoder;
use crate::codec::h264::{H264Config, H264Decoder, H264Encoder};
use crate::jitter::{AssemblerConfig, Frame, FrameAssembler, FrameEvent};
use crate::rtp::h264::{H264Depacketizer, H264FrameEvent, H264Packetizer};
use crate::rtp::{OutPacket, RtpPacket, SeqNo, Sequencer, Timestamp};
use crate::sink::VideoSink;
use crate::source::{TestPattern, VideoSource};

/// NAL unit types that start a decodable picture sequence (IDR, SPS).
fn is_keyframe_nal(header: u8) -> bool {
    matches!(header & 0x1F, 5 | 7)
}

/// Source → H.264 encoder → packetizer.
pub(crate) struct VideoSender {
    encoder: H264Encoder,
    packetizer: H264Packetizer,
    source: Box<dyn VideoSource>,
}

impl std::fmt::Debug for VideoSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoSender")
            .field("encoder", &self.encoder)
            .finish_non_exhaustive()
    }
}

impl VideoSender {
    /// A sender for `send` with packets of at most `max_packet_size` bytes.
    pub(crate) fn new(
        stream: StreamId,
        send: &SendParams,
        settings: &VideoSettings,
        factories: &Factories,
        max_packet_size: usize,
    ) -> Result<Self, EngineError> {
        let info = PipelineInfo {
            stream,
            media_type: session_core::MediaType::Video,
            codec: send.codec.clone(),
            sample_rate: send.kind.clock_rate(),
            channels: 1,
        };
        let source: Box<dyn VideoSource> = match &factories.video_source {
            Some(make) => make(&info)?,
            None => Box::new(TestPattern::new(
                settings.width,
                settings.height,
                settings.fps.max(1),
            )?),
        };
        let encoder = H264Encoder::new(H264Config {
            bitrate: settings.bitrate,
            frame_rate: settings.fps.clamp(1, 240) as f32,
            // Keyframes come on request (PLI) and after resuming.
            keyframe_interval: 0,
            threads: 1,
            // openh264 holds the target bitrate only with skipping on; a
            // skipped picture sends nothing.
            frame_skip: true,
            payload_type: send.payload_type,
        })?;
        Ok(Self {
            encoder,
            packetizer: H264Packetizer::new(send.payload_type, max_packet_size)?,
            source,
        })
    }

    /// Encodes the next picture stamped `timestamp` (a keyframe when
    /// `keyframe`) and hands its packets to `out`; when `muted` the picture
    /// is taken from the source and dropped. Returns `false` when the source
    /// ended.
    pub(crate) fn produce(
        &mut self,
        seq: &mut Sequencer,
        timestamp: Timestamp,
        muted: bool,
        keyframe: bool,
        counters: &Counters,
        out: impl FnMut(OutPacket),
    ) -> Result<bool, EngineError> {
        let Some(picture) = self.source.next_frame()? else {
            return Ok(false);
        };
        if muted {
            return Ok(true);
        }
        if keyframe {
            self.encoder.request_keyframe();
        }
        let encoded = self.encoder.encode(&picture.with_timestamp(timestamp))?;
        if encoded.is_empty() {
            return Ok(true);
        }
        inc(&counters.frames_sent);
        if encoded.keyframe {
            inc(&counters.keyframes_sent);
        }
        self.packetizer
            .packetize_nals(seq, &encoded.nals, timestamp)
            .for_each(out);
        Ok(true)
    }
}

/// Frame assembler → depacketizer → decoder → sink.
pub(crate) struct VideoReceiver {
    stream: StreamId,
    assembler: FrameAssembler<RtpPacket>,
    depacketizer: H264Depacketizer,
    decoder: Option<H264Decoder>,
    /// The Annex-B access unit handed to the decoder, reused across pictures.
    access_unit: Vec<u8>,
    /// NACK lists drained from the assembler (no retransmission is built, so
    /// they are not sent; draining keeps its NACK timers from firing again).
    sink: Option<Box<dyn VideoSink>>,
    sink_failed: bool,
    /// A frame was lost: pictures are dropped until a keyframe arrives.
    awaiting_keyframe: bool,
}

impl std::fmt::Debug for VideoReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoReceiver")
            .field("stream", &self.stream)
            .field("awaiting_keyframe", &self.awaiting_keyframe)
            .finish_non_exhaustive()
    }
}

impl VideoReceiver {
    /// A receiver for one remote source.
    pub(crate) fn new(stream: StreamId, settings: &VideoSettings) -> Self {
        Self {
            stream,
            assembler: FrameAssembler::new(
                AssemblerConfig::default().with_max_frame_wait(settings.max_frame_wait),
            ),
            depacketizer: H264Depacketizer::new(),
            decoder: None,
            access_unit: Vec::new(),
            sink: None,
            sink_failed: false,
            awaiting_keyframe: false,
        }
    }

    /// Takes a packet that arrived at `arrival`.
    pub(crate) fn insert(&mut self, packet: RtpPacket, arrival: Instant) {
        self.assembler.insert(packet, arrival);
    }

    /// Appends the sequence numbers to NACK at `now` (RFC 4585 §6.2.1) to
    /// `out`. Call it before every [`VideoReceiver::play`]: the NACK times are
    /// part of [`VideoReceiver::poll_timeout`].
    pub(crate) fn poll_nacks(&mut self, now: Instant, out: &mut Vec<SeqNo>) {
        self.assembler.poll_nacks(now, out);
    }

    /// When [`VideoReceiver::play`] has work next.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.assembler.poll_timeout()
    }

    /// Decodes every frame complete at `now` into the sink. Returns whether
    /// the sender should be asked for a keyframe (PLI).
    pub(crate) fn play(
        &mut self,
        now: Instant,
        params: &ActiveParams,
        factories: &Factories,
        counters: &Counters,
    ) -> bool {
        let mut want_keyframe = false;
        while let Some(event) = self.assembler.poll(now) {
            match event {
                FrameEvent::Frame(frame) => {
                    if !self.decode(frame, params, factories, counters) {
                        want_keyframe = true;
                    }
                }
                FrameEvent::Incomplete { timestamp, dropped } => {
                    debug!(?timestamp, dropped, "video frame given up");
                    inc(&counters.decode_errors);
                    self.awaiting_keyframe = true;
                }
                FrameEvent::RequestKeyFrame => want_keyframe = true,
            }
        }
        want_keyframe
    }

    /// Decodes one frame; `false` when it was broken or undecodable.
    fn decode(
        &mut self,
        frame: Frame<RtpPacket>,
        params: &ActiveParams,
        factories: &Factories,
        counters: &Counters,
    ) -> bool {
        let Some(first) = frame.packets.first() else {
            return true;
        };
        let Some((_, codec)) = params.receive_codec(first.payload_type()) else {
            return true;
        };
        let codec = codec.clone();
        // Each NAL unit's bytes are copied once, from the packets straight into
        // the access unit (FU-A fragments are lent by the depacketizer, not
        // reassembled first).
        let au = &mut self.access_unit;
        au.clear();
        let (mut broken, mut keyframe) = (false, false);
        for event in self.depacketizer.push_frame(&frame.packets) {
            let header = match event {
                H264FrameEvent::Nal(nal) => {
                    au.extend_from_slice(&[0, 0, 0, 1]);
                    au.extend_from_slice(&nal.data);
                    nal.data.first().copied()
                }
                H264FrameEvent::Fragmented(nal) => {
                    au.extend_from_slice(&[0, 0, 0, 1]);
                    nal.append_to(au);
                    Some(nal.header())
                }
                H264FrameEvent::Dropped(_) => {
                    broken = true;
                    None
                }
            };
            keyframe |= header.is_some_and(is_keyframe_nal);
        }
        if broken || (frame.after_loss && !keyframe) {
            inc(&counters.decode_errors);
            self.awaiting_keyframe = true;
            return false;
        }
        if self.awaiting_keyframe && !keyframe {
            return false;
        }
        self.awaiting_keyframe = false;
        if self.decoder.is_none() {
            match H264Decoder::new() {
                Ok(d) => self.decoder = Some(d),
                Err(e) => {
                    debug!(error = %e, "cannot create H.264 decoder");
                    inc(&counters.decode_errors);
                    return true;
                }
            }
        }
        let Some(decoder) = &mut self.decoder else {
            return true;
        };
        let picture = match decoder.decode(&self.access_unit, frame.timestamp) {
            Ok(Some(p)) => p,
            Ok(None) => return true,
            Err(e) => {
                debug!(error = %e, "undecodable H.264 access unit");
                inc(&counters.decode_errors);
                self.awaiting_keyframe = true;
                return false;
            }
        };
        inc(&counters.frames_decoded);
        if self.sink.is_none() {
            if let Some(make) = &factories.video_sink {
                let info = PipelineInfo {
                    stream: self.stream,
                    media_type: session_core::MediaType::Video,
                    codec,
                    sample_rate: 90_000,
                    channels: 1,
                };
                self.sink = Some(make(&info));
            }
        }
        if let Some(sink) = &mut self.sink {
            if let Err(e) = sink.write_frame(&picture) {
                if !std::mem::replace(&mut self.sink_failed, true) {
                    debug!(error = %e, "video sink refused a picture");
                }
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use session_core::contract::media::NegotiatedStream;
    use session_core::description::{Codec, MediaAddress, MediaDirection};

    use super::*;
    use crate::frame::VideoFrame;
    use crate::quality::psnr;
    use crate::rtp::{SeqNo, Ssrc};

    struct Collect(Arc<Mutex<Vec<VideoFrame>>>);
    impl VideoSink for Collect {
        fn write_frame(&mut self, f: &VideoFrame) -> Result<(), crate::sink::SinkError> {
            self.0.lock().unwrap().push(f.clone());
            Ok(())
        }
    }

    #[test]
    fn pictures_survive_and_a_lost_frame_waits_for_a_keyframe() {
        let p = ActiveParams::new(&NegotiatedStream {
            direction: MediaDirection::BOTH,
            codec: Codec::h264(),
            codecs: vec![Codec::h264()],
            remote: MediaAddress::Udp(([127, 0, 0, 1], 9).into()),
            rtcp_mux: true,
        })
        .unwrap();
        let settings = VideoSettings {
            width: 64,
            height: 48,
            ..VideoSettings::default()
        };
        let got = Arc::new(Mutex::new(Vec::new()));
        let g2 = got.clone();
        let factories = Factories {
            video_sink: Some(Arc::new(move |_: &PipelineInfo| {
                Box::new(Collect(g2.clone())) as Box<dyn VideoSink>
            })),
            ..Factories::default()
        };
        let counters = Counters::default();
        let send = p.send.clone().unwrap();
        let mut sender = VideoSender::new(StreamId(1), &send, &settings, &factories, 1200).unwrap();
        let mut receiver = VideoReceiver::new(StreamId(1), &settings);
        let mut seq = Sequencer::new(Ssrc(3), SeqNo(100));
        let t0 = Instant::now();
        let mut want = Vec::new();
        for i in 0..10u32 {
            let now = t0 + Duration::from_millis(66 * u64::from(i));
            let mut packets = Vec::new();
            let keyframe = i == 6;
            sender
                .produce(
                    &mut seq,
                    Timestamp(6000 * i),
                    false,
                    keyframe,
                    &counters,
                    |o| packets.push(o),
                )
                .unwrap();
            for (k, o) in packets.into_iter().enumerate() {
                // Frame 4 loses its first packet.
                if i == 4 && k == 0 {
                    continue;
                }
                receiver.insert(RtpPacket::parse(o.to_bytes()).unwrap(), now);
            }
            want.push(receiver.play(now, &p, &factories, &counters));
        }
        receiver.play(t0 + Duration::from_secs(2), &p, &factories, &counters);
        let got = got.lock().unwrap();
        // Frames 0-3, then nothing until the keyframe 6, then 6-9.
        assert_eq!(got.len(), 8, "{want:?}");
        assert!(want.iter().any(|&w| w), "a keyframe was asked for");
        let pattern = TestPattern::new(64, 48, 15).unwrap();
        let q = psnr(&got[0], &pattern.frame(0).unwrap()).unwrap();
        assert!(q > 30.0, "{q}");
    }
}
