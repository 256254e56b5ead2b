//! Media for ucc-rs: frames, sources and sinks, codecs, RTP/RTCP framing,
//! receive statistics and the adaptive jitter buffer.
//!
//! # What is here
//!
//! - [`frame`]: audio frames (interleaved PCM) and I420 video frames.
//! - [`source`], [`sink`]: a synthetic tone and moving test pattern (the defaults,
//!   deterministic per sample/frame so a receiver can regenerate and compare), WAV and
//!   Y4M files; null, WAV and Y4M sinks.
//! - [`codec`]: encoder/decoder traits; G.711 µ-law/A-law (ITU-T G.711, bit-exact with
//!   the G.191 reference; FFmpeg's encoder rounds 964 of 65,536 inputs one level
//!   differently, selectable with `G711Quantizer::Nearest`), Opus through libopus
//!   (FEC and PLC), H.264 constrained baseline through openh264 (forced keyframes).
//! - [`quality`]: SNR, alignment, dominant frequency (Goertzel) and PSNR, for tests
//!   and the demo's summary.
//! - [`rtcp`]: compound RTCP (SR, RR, SDES, BYE, generic NACK, PLI) validated once and
//!   read through views; a writer that never allocates; rtcp-mux demultiplexing.
//! - [`stats`]: RFC 3550 A.1/A.3/A.8 receive statistics (probation, extended sequence,
//!   loss, interarrival jitter), sender statistics and round-trip time from SR/RR.
//! - [`jitter`]: an adaptive jitter buffer (reorders, drops late packets and duplicates,
//!   a target delay following a quantile of measured delay, lost markers for
//!   concealment) and a video frame assembler (NACK lists, PLI on an incomplete frame).
//!
//! The RTP framing layer ([`rtp`]):
//!
//! - RTP header parse and write (RFC 3550 §5.1) with CSRCs, padding and
//!   header extensions: RFC 8285 one-byte and two-byte elements, other
//!   profiles kept raw ([`rtp::header`], [`rtp::extension`]).
//! - Typed fields: [`rtp::Ssrc`], [`rtp::SeqNo`] (wrap-around comparison, RFC
//!   3550 A.1 extension to 64 bits), [`rtp::PayloadType`] (0..=127),
//!   [`rtp::Timestamp`].
//! - Payload formats, each a packetizer and a depacketizer with the marker
//!   and timestamp rules of its RFC: H.264 (RFC 6184, packetization-mode 1:
//!   single NAL unit, STAP-A, FU-A), Opus (RFC 7587), G.711 PCMU/PCMA
//!   (RFC 3551) and telephone events / DTMF (RFC 4733).
//!
//! - Devices behind cargo features (the `device` module): audio capture and playback
//!   through `cpal` (`audio-device`), video capture through V4L2 (`video-device`);
//!   [`frame::convert`] turns camera picture layouts into I420.
//! - The media engine ([`engine`]) that runs these pieces for session-core.
//!
//! # Design
//!
//! **Sans-IO.** Nothing here touches a socket or a clock. Parsers take
//! buffers; packetizers return packets; timestamps are media-clock values
//! the caller supplies or the packetizer advances by the media it was given.
//! [`rtp::dtmf::DtmfTone`] says when each packet is due instead of sleeping.
//!
//! **Zero-copy.** [`rtp::RtpPacket`] is a view: parsing validates lengths and
//! stores offsets, and the payload is a slice of the received [`bytes::Bytes`].
//! Outgoing packets ([`rtp::OutPacket`]) are an inline 12–16 byte head (RTP
//! header plus payload header, such as FU-A's two bytes) and a body that is a
//! slice of the caller's media buffer, so H.264 packetization copies no media
//! bytes; send with vectored IO or copy once with [`rtp::OutPacket::write_to`].
//! The H.264 depacketizer hands NAL units that arrived whole out as slices. Fed
//! packet by packet it copies FU-A fragments into one reassembly buffer it
//! reuses; fed a whole frame ([`rtp::h264::H264Depacketizer::push_frame`], as
//! the engine does) it lends FU-A NAL units out of their packets, and the one
//! copy is the decoder's, into its access unit. The Opus depacketizer likewise
//! lends the payload ([`rtp::opus::OpusDepacketizer::depacketize_ref`]).
//!
//! **No allocation per packet** on the fast paths: header parse and write,
//! H.264/Opus/G.711 packetization and single-NAL/STAP-A depacketization.
//! STAP-A aggregation copies its small NAL units into one new buffer per
//! aggregate, DTMF packets allocate their four-byte payload, and FU-A
//! reassembly allocates only when a NAL unit outgrows the reused buffer (or
//! the previous NAL unit is still held by the caller).
//!
//! # Errors vs panics
//!
//! No input makes this crate panic; every parser and depacketizer is
//! property-tested with arbitrary bytes. Errors say who is at fault: peer
//! input errors ([`rtp::RtpParseError`], the H.264 [`rtp::h264::DropReason`]s)
//! versus caller mistakes ([`rtp::RtpWriteError`],
//! [`rtp::h264::H264PacketizeError`]). A broken H.264 NAL unit (lost or
//! missing FU-A fragment, truncated FU-A, malformed STAP-A) is dropped and
//! reported as an event and a counter, never handed out partly.
//!
//! # Known limits
//!
//! | Limit | Value |
//! |---|---|
//! | Reassembled H.264 NAL unit | [`rtp::h264::DEFAULT_MAX_NAL_SIZE`] (4 MiB), configurable |
//! | H.264 modes | packetization-mode 1 only; STAP-B, MTAP and FU-B are dropped as unsupported |
//! | H.264 depacketizer input | in sequence order (reordering is the jitter buffer's job) |
//! | Packets from [`rtp::Sequencer`] | no CSRCs or header extensions (write those with [`rtp::RtpHeader`]) |
//! | Telephone-event duration | at most 65535 ticks; long-event segmentation (RFC 4733 §2.5.2.3) not built |
//! | G.711 packet | 1..=960 samples |
//! | Opus checks | TOC, code-1/2/3 framing header and the 120 ms bound; frame contents are the decoder's |
//! | G.711 concealment | silence (G.711 Appendix I not built) |
//! | H.264 fmtp | always says level 3.1 (openh264 picks the level itself) |
//! | H.264 bitrate change | restarts the encoder, so the next frame is a keyframe |
//! | Y4M | 8-bit 4:2:0 only; frames up to 64 MiB |
//! | Jitter buffer | schedules playout; no audio time-stretching |
//! | RTCP feedback | NACK and PLI decoded; other feedback kept raw |
//!
//! # Dependencies
//!
//! - `bytes`: shared, sliceable buffers for zero-copy payloads.
//! - `memchr`: SIMD search for Annex-B start codes, so scanning an access
//!   unit runs near memory speed.
//! - `thiserror`: the error enums.
//! - `opus`: Opus encoding and decoding, with FEC and loss concealment, through
//!   libopus. It links the system libopus pkg-config finds (Debian `libopus-dev`), or
//!   builds the bundled one with CMake; if neither works the build stops with an error.
//! - `openh264`: H.264 constrained baseline through Cisco's openh264, built from its
//!   bundled source. It uses `nasm` for its x86 assembly when found and otherwise builds
//!   C only, about 3× slower — `tests/codecs.rs` fails when `nasm` is missing.
//! - `hound`: WAV files.
//! - `cpal` and `rtrb` (feature `audio-device`): audio capture and playback devices
//!   (ALSA on Linux, so `libasound2-dev` at build time), and the lock-free ring between
//!   their real-time callbacks and the engine (see the `device` module).
//! - `v4l` (feature `video-device`): V4L2 camera capture with memory-mapped buffers;
//!   it generates its kernel bindings with bindgen, so `libclang-dev` at build time.
//! - `tracing`: diagnostics (e.g. an H.264 encoder restarted for a new bitrate).
//! - `session-core`, `tokio`, `async-trait`: the media contract the engine implements.
//!
//! # Example
//!
//! ```
//! use bytes::Bytes;
//! use media_av::rtp::h264::{H264Depacketizer, H264Event, H264Packetizer};
//! use media_av::rtp::{PayloadType, RtpPacket, SeqNo, Sequencer, Ssrc, Timestamp};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // An access unit in Annex-B form: SPS, PPS and a 5000-byte IDR slice.
//! let mut au = vec![0, 0, 0, 1, 0x67, 0x42, 0, 0, 0, 1, 0x68, 0xCE, 0, 0, 0, 1, 0x65];
//! au.resize(au.len() + 4999, 0x88);
//! let au = Bytes::from(au);
//!
//! let pt = PayloadType::new(96).ok_or("payload type")?;
//! let mut seq = Sequencer::new(Ssrc(0x1234), SeqNo(7));
//! let packetizer = H264Packetizer::new(pt, 1200)?;
//! let mut depacketizer = H264Depacketizer::new();
//! let mut datagram = [0u8; 1500];
//! let mut nal_sizes = Vec::new();
//! for packet in packetizer.packetize_annexb(&mut seq, &au, Timestamp(90_000))? {
//!     // Over the network: one contiguous datagram per packet.
//!     let n = packet.write_to(&mut datagram)?;
//!     let received = RtpPacket::parse(Bytes::copy_from_slice(&datagram[..n]))?;
//!     for event in depacketizer.push_packet(received) {
//!         if let H264Event::Nal(nal) = event {
//!             nal_sizes.push(nal.data.len());
//!         }
//!     }
//! }
//! assert_eq!(nal_sizes, [2, 2, 5000]);
//! # Ok(())
//! # }
//! ```

pub mod codec;
#[cfg(any(feature = "audio-device", feature = "video-device"))]
pub mod device;
pub mod engine;
pub mod frame;
pub mod jitter;
pub mod quality;
pub mod rtcp;
pub mod rtp;
pub mod sink;
pub mod source;
pub mod stats;

pub use engine::{AvEngine, EngineConfig};
