//! The audio pipelines of a stream, sans-IO: [`AudioSender`] (source →
//! 20 ms frames → encoder → RTP packetizer) and [`AudioReceiver`] (RTP →
//! jitter buffer → depacketizer → decoder, with concealment of lost packets →
//! sink). The stream's tasks drive them with the clock and the path.
//!
//! **Allocation.** Per 20 ms frame the source's frame, the encoded payload
//! and the decoded frame are each one allocation (the codec and source
//! traits return owned buffers); packetizing, the jitter buffer and
//! depacketizing allocate nothing.

use std::time::Instant;

use tracing::debug;

use super::StreamId;
use super::config::{AudioSettings, Factories, PipelineInfo};
use super::counters::{Counters, add, inc};
use super::error::EngineError;
use super::negotiated::{ActiveParams, CodecKind, SendParams};
use crate::codec::g711::{G711Decoder, G711Encoder};
use crate::codec::opus::{OpusConfig, OpusDecoder, OpusEncoder};
use crate::codec::{AudioDecoder, AudioEncoder};
use crate::frame::AudioFrame;
use crate::jitter::{JitterBuffer, JitterConfig, Playout};
use crate::rtp::g711::{G711Depacketizer, G711Law, G711Packetizer};
use crate::rtp::opus::{OpusDepacketizer, OpusPacketizer};
use crate::rtp::{OutPacket, PayloadType, RtpPacket, Sequencer, Timestamp};
use crate::sink::AudioSink;
use crate::source::{AudioSource, SourceError, ToneGenerator};

/// PCM channels the engine encodes and decodes (Opus is sent mono).
const CHANNELS: u16 = 1;
/// Source frames pulled for one 20 ms frame at most (a source of empty or
/// 1-sample frames must not stall the sender).
const MAX_PULLS_PER_FRAME: usize = 1000;

fn law(kind: CodecKind) -> G711Law {
    if kind == CodecKind::Pcma {
        G711Law::ALaw
    } else {
        G711Law::MuLaw
    }
}

#[derive(Debug)]
enum Packetizer {
    G711(G711Packetizer),
    Opus {
        packetizer: OpusPacketizer,
        talkspurt: bool,
    },
}

/// Source → encoder → packetizer for one negotiated send codec.
pub(crate) struct AudioSender {
    kind: CodecKind,
    encoder: Box<dyn AudioEncoder>,
    packetizer: Packetizer,
    source: Box<dyn AudioSource>,
    /// Samples pulled from the source but not yet encoded (reframing to
    /// 20 ms when the source's frames have another length).
    pending: Vec<i16>,
    frame_samples: usize,
}

impl std::fmt::Debug for AudioSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioSender")
            .field("kind", &self.kind)
            .field("packetizer", &self.packetizer)
            .finish_non_exhaustive()
    }
}

impl AudioSender {
    /// A sender for `send`, whose first packet is stamped `first`.
    pub(crate) fn new(
        stream: StreamId,
        send: &SendParams,
        settings: &AudioSettings,
        factories: &Factories,
        first: Timestamp,
    ) -> Result<Self, EngineError> {
        let kind = send.kind;
        let rate = kind.clock_rate();
        let info = PipelineInfo {
            stream,
            media_type: session_core::MediaType::Audio,
            codec: send.codec.clone(),
            sample_rate: rate,
            channels: CHANNELS,
        };
        let source: Box<dyn AudioSource> = match &factories.audio_source {
            Some(make) => make(&info)?,
            None => Box::new(ToneGenerator::new(
                settings.tone_frequency,
                settings.tone_amplitude,
                rate,
                CHANNELS,
            )?),
        };
        if source.sample_rate() != rate || source.channels() != CHANNELS {
            return Err(SourceError::Parameter(format!(
                "{} needs {rate} Hz mono, the source gives {} Hz with {} channels",
                send.codec.name,
                source.sample_rate(),
                source.channels()
            ))
            .into());
        }
        let (encoder, packetizer): (Box<dyn AudioEncoder>, _) = match kind {
            CodecKind::Opus => (
                Box::new(OpusEncoder::new(OpusConfig {
                    channels: CHANNELS,
                    bitrate: settings.opus_bitrate,
                    payload_type: send.payload_type,
                    ..OpusConfig::default()
                })?),
                Packetizer::Opus {
                    packetizer: OpusPacketizer::new(send.payload_type, first),
                    talkspurt: true,
                },
            ),
            _ => (
                Box::new(G711Encoder::new(law(kind))),
                Packetizer::G711(
                    G711Packetizer::new(law(kind), first).with_payload_type(send.payload_type),
                ),
            ),
        };
        Ok(Self {
            kind,
            encoder,
            packetizer,
            source,
            pending: Vec::new(),
            frame_samples: kind.frame_samples(),
        })
    }

    /// The negotiated codec and payload type this sender was built for.
    pub(crate) fn kind(&self) -> CodecKind {
        self.kind
    }

    /// The RTP timestamp the next packet gets.
    pub(crate) fn next_timestamp(&self) -> Timestamp {
        match &self.packetizer {
            Packetizer::G711(p) => p.next_timestamp(),
            Packetizer::Opus { packetizer, .. } => packetizer.next_timestamp(),
        }
    }

    /// Skips `ticks` of media clock (the stream was on hold) and marks the
    /// next packet as the start of a talkspurt.
    pub(crate) fn skip(&mut self, ticks: u32) {
        match &mut self.packetizer {
            Packetizer::G711(p) => p.start_talkspurt(ticks),
            Packetizer::Opus {
                packetizer,
                talkspurt,
            } => {
                packetizer.skip(ticks);
                *talkspurt = true;
            }
        }
    }

    /// The next 20 ms of the source.
    fn next_pcm(&mut self) -> Result<Option<AudioFrame>, EngineError> {
        let want = self.frame_samples * usize::from(CHANNELS);
        let mut pulls = 0;
        while self.pending.len() < want {
            let Some(frame) = self.source.next_frame()? else {
                return Ok(None);
            };
            pulls += 1;
            if pulls > MAX_PULLS_PER_FRAME {
                return Err(SourceError::Parameter(format!(
                    "the audio source gave under {want} samples in {MAX_PULLS_PER_FRAME} frames"
                ))
                .into());
            }
            if self.pending.is_empty() && frame.samples().len() == want {
                return Ok(Some(frame));
            }
            self.pending.extend_from_slice(frame.samples());
        }
        let rest = self.pending.split_off(want);
        let samples = std::mem::replace(&mut self.pending, rest);
        Ok(Some(
            AudioFrame::new(samples, self.kind.clock_rate(), CHANNELS, Timestamp(0))
                .map_err(SourceError::from)?,
        ))
    }

    /// Produces the next 20 ms: hands its packets to `out`, or, when
    /// `muted`, sends nothing and lets the media clock run on (the next
    /// packet starts a talkspurt with the marker bit). Returns `false` when
    /// the source ended.
    pub(crate) fn produce(
        &mut self,
        seq: &mut Sequencer,
        muted: bool,
        counters: &Counters,
        mut out: impl FnMut(OutPacket),
    ) -> Result<bool, EngineError> {
        let Some(pcm) = self.next_pcm()? else {
            return Ok(false);
        };
        if muted {
            self.skip(pcm.samples_per_channel() as u32);
            return Ok(true);
        }
        let payload = self.encoder.encode(&pcm)?;
        inc(&counters.frames_sent);
        match &mut self.packetizer {
            Packetizer::G711(p) => p.packetize(seq, &payload).for_each(out),
            Packetizer::Opus {
                packetizer,
                talkspurt,
            } => match packetizer.packetize(seq, payload, std::mem::take(talkspurt)) {
                Ok(p) => out(p),
                Err(e) => {
                    // Our own encoder's output: a bug, not the peer's fault.
                    debug!(error = %e, "Opus encoder produced an unframeable packet");
                    inc(&counters.send_errors);
                }
            },
        }
        Ok(true)
    }
}

/// The receive side's current decoder.
struct Decoder {
    payload_type: PayloadType,
    kind: CodecKind,
    decoder: Box<dyn AudioDecoder>,
}

/// Jitter buffer → depacketizer → decoder (with PLC) → sink.
pub(crate) struct AudioReceiver {
    stream: StreamId,
    settings: AudioSettings,
    jitter: JitterBuffer<RtpPacket>,
    clock_rate: u32,
    decoder: Option<Decoder>,
    opus: OpusDepacketizer,
    sink: Option<(u32, Box<dyn AudioSink>)>,
    sink_failed: bool,
}

impl std::fmt::Debug for AudioReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioReceiver")
            .field("stream", &self.stream)
            .field("clock_rate", &self.clock_rate)
            .field("buffered", &self.jitter.len())
            .finish_non_exhaustive()
    }
}

fn jitter_buffer(settings: &AudioSettings, clock_rate: u32) -> JitterBuffer<RtpPacket> {
    let (min, max) = settings.jitter_delay_bounds;
    JitterBuffer::new(
        JitterConfig::new(clock_rate)
            .with_delay_bounds(min, max)
            .with_initial_delay(settings.jitter_initial_delay),
    )
}

impl AudioReceiver {
    /// A receiver for one remote source.
    pub(crate) fn new(stream: StreamId, settings: &AudioSettings) -> Self {
        Self {
            stream,
            settings: settings.clone(),
            jitter: jitter_buffer(settings, 8000),
            clock_rate: 8000,
            decoder: None,
            opus: OpusDepacketizer::new(),
            sink: None,
            sink_failed: false,
        }
    }

    /// Buffers a packet of a negotiated payload type whose codec is `kind`.
    pub(crate) fn insert(&mut self, packet: RtpPacket, kind: CodecKind, arrival: Instant) {
        if kind.clock_rate() != self.clock_rate {
            // Another clock: a new timeline.
            self.clock_rate = kind.clock_rate();
            self.jitter = jitter_buffer(&self.settings, self.clock_rate);
        }
        self.jitter.insert(packet, arrival);
    }

    /// When [`AudioReceiver::play`] has work next.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.jitter.poll_timeout()
    }

    /// Plays out everything due at `now` into the sink.
    pub(crate) fn play(
        &mut self,
        now: Instant,
        params: &ActiveParams,
        factories: &Factories,
        counters: &Counters,
    ) {
        while let Some(p) = self.jitter.pop(now) {
            let decoded = match p {
                Playout::Packet(packet) => self.decode(packet, params, counters),
                Playout::Lost { timestamp, .. } => {
                    let Some(d) = &mut self.decoder else { continue };
                    inc(&counters.concealed);
                    // The packet after the lost one, when it is already here and of the
                    // same codec, may carry the lost audio as in-band FEC (Opus); the
                    // decoder falls back to its PLC (Opus) or silence (G.711) otherwise.
                    let next = self
                        .jitter
                        .peek_next()
                        .filter(|p| p.payload_type() == d.payload_type)
                        .map(|p| p.payload());
                    let fec = next.is_some() && d.kind == CodecKind::Opus;
                    let frame = d.decoder.conceal(next, timestamp).ok();
                    if fec && frame.is_some() {
                        inc(&counters.fec_decoded);
                    }
                    frame
                }
            };
            if let Some(frame) = decoded {
                self.deliver(&frame, params, factories, counters);
            }
        }
    }

    fn decode(
        &mut self,
        packet: RtpPacket,
        params: &ActiveParams,
        counters: &Counters,
    ) -> Option<AudioFrame> {
        let pt = packet.payload_type();
        let (kind, _) = params.receive_codec(pt)?;
        if self.decoder.as_ref().is_none_or(|d| d.payload_type != pt) {
            let decoder: Box<dyn AudioDecoder> = match kind {
                CodecKind::Opus => match OpusDecoder::new(CHANNELS) {
                    Ok(d) => Box::new(d),
                    Err(e) => {
                        debug!(error = %e, "cannot create Opus decoder");
                        inc(&counters.decode_errors);
                        return None;
                    }
                },
                CodecKind::Pcmu | CodecKind::Pcma => Box::new(G711Decoder::new(law(kind))),
                CodecKind::H264 => return None,
            };
            self.decoder = Some(Decoder {
                payload_type: pt,
                kind,
                decoder,
            });
        }
        let d = self.decoder.as_mut()?;
        let timestamp = packet.timestamp();
        let decoded = match d.kind {
            CodecKind::Opus => match self.opus.depacketize_ref(&packet) {
                // Decoded straight from the jitter buffer's packet: no copy, no
                // reference-count traffic.
                Ok(f) => d.decoder.decode(f.data, timestamp),
                Err(_) => {
                    inc(&counters.decode_errors);
                    return None;
                }
            },
            _ => match G711Depacketizer::new(law(d.kind)).depacketize(packet) {
                Ok(f) => d.decoder.decode(&f.samples, timestamp),
                Err(_) => {
                    inc(&counters.decode_errors);
                    return None;
                }
            },
        };
        match decoded {
            Ok(frame) => Some(frame),
            Err(e) => {
                debug!(error = %e, "undecodable audio payload");
                inc(&counters.decode_errors);
                None
            }
        }
    }

    fn deliver(
        &mut self,
        frame: &AudioFrame,
        params: &ActiveParams,
        factories: &Factories,
        counters: &Counters,
    ) {
        add(&counters.frames_decoded, 1);
        let rate = frame.sample_rate();
        if self.sink.as_ref().is_none_or(|(r, _)| *r != rate) {
            let Some(make) = &factories.audio_sink else {
                return;
            };
            let codec = self
                .decoder
                .as_ref()
                .and_then(|d| params.receive_codec(d.payload_type))
                .map(|(_, c)| c.clone());
            let Some(codec) = codec else { return };
            let info = PipelineInfo {
                stream: self.stream,
                media_type: session_core::MediaType::Audio,
                codec,
                sample_rate: rate,
                channels: frame.channels(),
            };
            self.sink = Some((rate, make(&info)));
            self.sink_failed = false;
        }
        if let Some((_, sink)) = &mut self.sink {
            if let Err(e) = sink.write_frame(frame) {
                if !std::mem::replace(&mut self.sink_failed, true) {
                    debug!(error = %e, "audio sink refused a frame");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use session_core::contract::media::NegotiatedStream;
    use session_core::description::{Codec, MediaAddress, MediaDirection};

    use super::*;
    use crate::quality::dominant_frequency;
    use crate::rtp::{SeqNo, Ssrc};

    fn params(codec: Codec) -> ActiveParams {
        ActiveParams::new(&NegotiatedStream {
            direction: MediaDirection::BOTH,
            codec: codec.clone(),
            codecs: vec![codec],
            remote: MediaAddress::Udp(([127, 0, 0, 1], 9).into()),
            rtcp_mux: true,
        })
        .unwrap()
    }

    /// One second of tone through sender and receiver with every 10th packet
    /// lost: the receiver conceals them and plays out 50 frames. Returns the
    /// samples played, the frames concealed and, of those, the ones rebuilt
    /// from FEC.
    fn round_trip(codec: Codec) -> (Vec<i16>, u64, u64) {
        let p = params(codec);
        let settings = AudioSettings::default();
        let counters = Counters::default();
        let send = p.send.clone().unwrap();
        let mut sender = AudioSender::new(
            StreamId(1),
            &send,
            &settings,
            &Factories::default(),
            Timestamp(u32::MAX - 500),
        )
        .unwrap();
        let mut seq = Sequencer::new(Ssrc(5), SeqNo(65530));
        let collected = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let c2 = collected.clone();
        let factories = Factories {
            audio_sink: Some(std::sync::Arc::new(move |_: &PipelineInfo| {
                Box::new(Collect(c2.clone())) as Box<dyn AudioSink>
            })),
            ..Factories::default()
        };
        let mut receiver = AudioReceiver::new(StreamId(1), &settings);
        let t0 = Instant::now();
        let mut n = 0u64;
        for i in 0..50u64 {
            let now = t0 + Duration::from_millis(20 * i);
            let mut packets = Vec::new();
            assert!(
                sender
                    .produce(&mut seq, false, &counters, |o| packets.push(o))
                    .unwrap()
            );
            for o in packets {
                n += 1;
                if n % 10 == 5 {
                    continue;
                }
                let packet = RtpPacket::parse(o.to_bytes()).unwrap();
                receiver.insert(packet, send.kind, now);
            }
            receiver.play(now, &p, &factories, &counters);
        }
        receiver.play(t0 + Duration::from_secs(2), &p, &factories, &counters);
        let samples = collected.lock().unwrap().clone();
        let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
        (
            samples,
            load(&counters.concealed),
            load(&counters.fec_decoded),
        )
    }

    struct Collect(std::sync::Arc<std::sync::Mutex<Vec<i16>>>);
    impl AudioSink for Collect {
        fn write_frame(&mut self, f: &AudioFrame) -> Result<(), crate::sink::SinkError> {
            self.0.lock().unwrap().extend_from_slice(f.samples());
            Ok(())
        }
    }

    #[test]
    fn pcmu_tone_survives_loss_with_concealment() {
        let (samples, concealed, fec) = round_trip(Codec::pcmu());
        assert_eq!(samples.len(), 50 * 160);
        assert_eq!(concealed, 5);
        assert_eq!(fec, 0, "G.711 has no FEC");
        let f = dominant_frequency(&samples, 8000).unwrap();
        assert!((f - 1000.0).abs() < 5.0, "{f}");
    }

    #[test]
    fn opus_tone_survives_loss_with_fec() {
        let (samples, concealed, fec) = round_trip(Codec::opus());
        assert_eq!(samples.len(), 50 * 960);
        assert_eq!(concealed, 5);
        // The packet after each lost one was buffered when the loss was played
        // out, and it carries the lost audio (the sender encodes with in-band FEC).
        assert_eq!(fec, 5);
        let f = dominant_frequency(&samples, 48_000).unwrap();
        assert!((f - 1000.0).abs() < 5.0, "{f}");
    }
}
