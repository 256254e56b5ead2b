//! The adaptive jitter buffer and video frame assembly, sans-IO.
//!
//! - [`JitterBuffer`]: one RTP stream in, packets out in sequence order at
//!   their playout time, with [`Playout::Lost`] markers for what did not
//!   arrive in time (so the decoder runs packet-loss concealment). It
//!   reorders, drops late packets and duplicates (counted), keeps at most a
//!   fixed number of packets (dropping the oldest, counted), handles sequence
//!   and timestamp wrap-around, resynchronizes on sequence or media-clock
//!   jumps, and adapts its target delay to the measured delay variation
//!   (`mean + k·σ`, between configured bounds).
//! - [`FrameAssembler`]: for video, groups packets of one timestamp up to the
//!   marker bit into [`Frame`]s, lists missing sequence numbers for NACKs,
//!   gives up a frame that cannot be completed in time and asks for a key
//!   frame (PLI).
//!
//! Both take the arrival time of every packet and the current time as
//! arguments; `poll_timeout()` says when to call them again.
//!
//! # Example
//!
//! ```
//! use std::time::{Duration, Instant};
//! use bytes::Bytes;
//! use media_av::jitter::{JitterBuffer, JitterConfig, Playout};
//! use media_av::rtp::{PayloadType, RtpPacket, SeqNo, Sequencer, Ssrc, Timestamp};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pt = PayloadType::new(0).ok_or("pt")?;
//! let mut seq = Sequencer::new(Ssrc(1), SeqNo(65534));
//! let packets: Vec<RtpPacket> = (0..4u32)
//!     .map(|i| {
//!         let out = seq.stamp(pt, false, Timestamp(160 * i), Bytes::from_static(&[0; 160]));
//!         RtpPacket::parse(out.to_bytes())
//!     })
//!     .collect::<Result<_, _>>()?;
//!
//! let t0 = Instant::now();
//! let mut jb = JitterBuffer::new(JitterConfig::new(8000));
//! // Packet 1 (seq 65535) is lost; 3 arrives before 2.
//! jb.insert(packets[0].clone(), t0);
//! jb.insert(packets[3].clone(), t0 + Duration::from_millis(60));
//! jb.insert(packets[2].clone(), t0 + Duration::from_millis(62));
//!
//! let mut out = Vec::new();
//! let mut now = t0;
//! while let Some(deadline) = jb.poll_timeout() {
//!     now = now.max(deadline);
//!     while let Some(p) = jb.pop(now) {
//!         out.push(match p {
//!             Playout::Packet(p) => Ok(p.sequence().0),
//!             Playout::Lost { seq, .. } => Err(seq.0),
//!         });
//!     }
//! }
//! assert_eq!(out, [Ok(65534), Err(65535), Ok(0), Ok(1)]);
//! assert_eq!(jb.counters().lost, 1);
//! # Ok(())
//! # }
//! ```

mod assembler;
mod buffer;
mod packet;

pub use assembler::{AssemblerConfig, AssemblerCounters, Frame, FrameAssembler, FrameEvent};
pub use buffer::{
    DelayEstimator, InsertOutcome, JitterBuffer, JitterConfig, JitterCounters, Playout,
};
pub use packet::JitterPacket;
