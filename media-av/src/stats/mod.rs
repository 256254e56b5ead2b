//! Receive and send statistics (RFC 3550 A.1, A.3, A.8, §6.4): packet loss,
//! extended sequence numbers, interarrival jitter, round-trip time.
//!
//! - [`ReceiveStats`]: one per remote source. It validates the source with
//!   A.1's probation, extends sequence numbers over wraps, detects restarts
//!   (a jump of more than [`MAX_DROPOUT`] confirmed by the next packet),
//!   counts expected and lost packets, keeps the interarrival jitter with
//!   A.8's 1/16 gain in timestamp units, and builds the [`ReportBlock`] of an
//!   RR or SR — including the fraction lost since the previous block and
//!   LSR/DLSR from the source's last SR.
//! - [`SenderStats`]: packets and octets for our SRs, and the SRs we sent so a
//!   report block's LSR/DLSR gives the round-trip time on the monotonic clock.
//! - [`round_trip_time`]: RTT from a block and an NTP arrival time.
//! - [`NtpClock`]: maps [`std::time::Instant`] to NTP from one reading.
//!
//! Sans-IO: every time is an argument.
//!
//! [`ReportBlock`]: crate::rtcp::ReportBlock
//!
//! # Example
//!
//! ```
//! use std::time::{Duration, Instant};
//! use media_av::rtcp::NtpTime;
//! use media_av::rtp::{SeqNo, Ssrc, Timestamp};
//! use media_av::stats::{ReceiveStats, SenderStats};
//!
//! let t0 = Instant::now();
//! // Sender side: an SR goes out at t0.
//! let mut sender = SenderStats::new();
//! sender.on_packet_sent(160);
//! let sr_ntp = NtpTime::new(3_900_000_000, 0);
//! sender.on_sender_report_sent(sr_ntp, t0);
//!
//! // Receiver side: the SR arrives 40 ms later; an RR leaves 10 ms after that.
//! let mut receiver = ReceiveStats::new(Ssrc(1), 8000).with_probation(0);
//! receiver.on_packet(SeqNo(1), Timestamp(0), t0);
//! receiver.on_sender_report(sr_ntp, t0 + Duration::from_millis(40));
//! let block = receiver.report_block(t0 + Duration::from_millis(50));
//!
//! // The RR arrives back 40 ms later: RTT = 90 ms - 10 ms of DLSR.
//! let rtt = sender.round_trip_time(&block, t0 + Duration::from_millis(90)).unwrap();
//! assert!(rtt.abs_diff(Duration::from_millis(80)) < Duration::from_micros(20));
//! ```

mod receive;
mod send;

pub use receive::{MAX_DROPOUT, MAX_MISORDER, MIN_SEQUENTIAL, ReceiveStats, SeqVerdict};
pub use send::{NtpClock, SR_HISTORY, SenderStats, round_trip_time};
