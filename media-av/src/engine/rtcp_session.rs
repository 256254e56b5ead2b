//! The RTCP side of one stream, sans-IO: when reports are due, what they
//! hold, and what received compound packets mean (round-trip time, keyframe
//! requests, the peer's sender reports).
//!
//! **Timing (simplified RFC 3550 §6.3).** One report per
//! [`RtcpSettings::interval`](super::RtcpSettings::interval), each interval
//! randomized to 0.5–1.5 times the mean, the first after half of one. The
//! bandwidth share computation, the member count and timer reconsideration
//! are not built: a stream has one sender and one receiver per side.
//!
//! **Content.** An SR when this side sent RTP since the previous report,
//! else an RR (§6.4), with one report block about the peer's source once it
//! is valid, then an SDES CNAME (§6.1: every compound carries one). A PLI
//! (RFC 4585 §6.3.1) goes out at once in its own compound (an empty RR, the
//! CNAME, the PLI); a BYE on close.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::rtcp::{
    Compound, NtpTime, ReportBlock, RtcpPacket, RtcpParseError, RtcpWriteError, RtcpWriter,
    SenderInfo,
};
use crate::rtp::{SeqNo, Ssrc, Timestamp};
use crate::stats::{NtpClock, ReceiveStats, SenderStats};

/// Seconds from 1900 (NTP era 0) to 1970.
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// What a received compound packet said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RtcpEvent {
    /// A report block about our source gave a round-trip time.
    RoundTrip(Duration),
    /// The peer asked for a keyframe of our source (PLI).
    KeyframeRequested,
    /// The peer's NACK asked for this packet of our source again.
    Retransmit(SeqNo),
    /// The peer's source left (BYE).
    Bye(Ssrc),
}

/// What this side sent, for the SR's sender info.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SentSoFar {
    pub(crate) packets: u64,
    pub(crate) octets: u64,
    /// The media clock now, extrapolated from the last packet sent.
    pub(crate) rtp_timestamp: Timestamp,
}

/// RTCP state of one stream.
#[derive(Debug)]
pub(crate) struct RtcpSession {
    local: Ssrc,
    cname: String,
    interval: Duration,
    next_report: Instant,
    ntp: NtpClock,
    sender: SenderStats,
    packets_at_last_report: u64,
    rng: u64,
}

fn ntp_now() -> NtpTime {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = (since.as_secs() + NTP_UNIX_OFFSET) as u32;
    let frac = ((u64::from(since.subsec_nanos()) << 32) / 1_000_000_000) as u32;
    NtpTime::new(secs, frac)
}

impl RtcpSession {
    /// A session for our source `local`, first report half an interval
    /// after `now`.
    pub(crate) fn new(local: Ssrc, cname: String, interval: Duration, now: Instant) -> Self {
        let interval = interval.max(Duration::from_millis(10));
        Self {
            local,
            cname,
            interval,
            next_report: now + interval / 2,
            ntp: NtpClock::new(now, ntp_now()),
            sender: SenderStats::new(),
            packets_at_last_report: 0,
            rng: u64::from(super::random_u32()) | 1,
        }
    }

    /// When the next report is due.
    pub(crate) fn poll_timeout(&self) -> Instant {
        self.next_report
    }

    fn randomized_interval(&mut self) -> Duration {
        // xorshift64: cheap, and randomization only needs to decorrelate.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let factor = 0.5 + (self.rng % 1000) as f64 / 1000.0;
        self.interval.mul_f64(factor)
    }

    /// Writes the report due at `now` into `buf` (SR if we sent since the
    /// last one, else RR; a block about `remote` when it is valid), or
    /// returns `None` when none is due.
    pub(crate) fn poll_report(
        &mut self,
        now: Instant,
        sent: SentSoFar,
        remote: Option<&mut ReceiveStats>,
        buf: &mut [u8],
    ) -> Option<Result<usize, RtcpWriteError>> {
        if now < self.next_report {
            return None;
        }
        self.next_report = now + self.randomized_interval();
        let block = remote
            .filter(|r| r.expected() > 0)
            .map(|r| r.report_block(now));
        let blocks = block.as_slice();
        let mut w = RtcpWriter::new(buf);
        let we_sent = sent.packets > self.packets_at_last_report;
        self.packets_at_last_report = sent.packets;
        let result = if we_sent {
            let ntp = self.ntp.ntp(now);
            let info = SenderInfo {
                ntp,
                rtp_timestamp: sent.rtp_timestamp,
                // RFC 3550 §6.4.1: the counts wrap at 2^32.
                packet_count: sent.packets as u32,
                octet_count: sent.octets as u32,
            };
            self.sender.on_sender_report_sent(ntp, now);
            w.sender_report(self.local, &info, blocks)
        } else {
            w.receiver_report(self.local, blocks)
        };
        Some(
            result
                .and_then(|()| w.sdes_cname(self.local, self.cname.as_bytes()))
                .map(|()| w.finish()),
        )
    }

    /// Writes a PLI for `media` (the peer's source) in its own compound.
    pub(crate) fn write_pli(&self, media: Ssrc, buf: &mut [u8]) -> Result<usize, RtcpWriteError> {
        let mut w = RtcpWriter::new(buf);
        w.receiver_report(self.local, &[])?;
        w.sdes_cname(self.local, self.cname.as_bytes())?;
        w.pli(self.local, media)?;
        Ok(w.finish())
    }

    /// Writes a generic NACK (RFC 4585 §6.2.1) for `lost` packets of `media`
    /// (the peer's source) in its own compound.
    pub(crate) fn write_nack(
        &self,
        media: Ssrc,
        lost: &[SeqNo],
        buf: &mut [u8],
    ) -> Result<usize, RtcpWriteError> {
        let mut w = RtcpWriter::new(buf);
        w.receiver_report(self.local, &[])?;
        w.sdes_cname(self.local, self.cname.as_bytes())?;
        w.nack(self.local, media, lost.iter().copied())?;
        Ok(w.finish())
    }

    /// Writes a BYE for our source.
    pub(crate) fn write_bye(&self, buf: &mut [u8]) -> Result<usize, RtcpWriteError> {
        let mut w = RtcpWriter::new(buf);
        w.receiver_report(self.local, &[])?;
        w.sdes_cname(self.local, self.cname.as_bytes())?;
        w.bye(&[self.local], None)?;
        Ok(w.finish())
    }

    /// Takes a received compound packet: records the peer's SRs in `remote`
    /// (when it is their source) and reports what concerns us.
    pub(crate) fn handle(
        &mut self,
        datagram: &[u8],
        now: Instant,
        mut remote: Option<&mut ReceiveStats>,
        mut on_event: impl FnMut(RtcpEvent),
    ) -> Result<(), RtcpParseError> {
        let compound = match Compound::parse(datagram) {
            Ok(c) => c,
            // RFC 5506 reduced-size feedback from other implementations.
            Err(_) => Compound::parse_reduced_size(datagram)?,
        };
        for packet in compound.packets() {
            match packet {
                RtcpPacket::SenderReport(sr) => {
                    if let Some(r) = remote.as_deref_mut().filter(|r| r.ssrc() == sr.ssrc()) {
                        r.on_sender_report(sr.sender_info().ntp, now);
                    }
                    self.blocks(sr.report_blocks(), now, &mut on_event);
                }
                RtcpPacket::ReceiverReport(rr) => {
                    self.blocks(rr.report_blocks(), now, &mut on_event);
                }
                RtcpPacket::Pli(pli) if pli.media_ssrc == self.local => {
                    on_event(RtcpEvent::KeyframeRequested);
                }
                RtcpPacket::Nack(nack) if nack.media_ssrc() == self.local => {
                    for seq in nack.lost() {
                        on_event(RtcpEvent::Retransmit(seq));
                    }
                }
                RtcpPacket::Bye(bye) => {
                    for s in bye.sources() {
                        on_event(RtcpEvent::Bye(s));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn blocks(
        &self,
        blocks: impl Iterator<Item = ReportBlock>,
        now: Instant,
        on_event: &mut impl FnMut(RtcpEvent),
    ) {
        for b in blocks.filter(|b| b.ssrc == self.local) {
            if let Some(rtt) = self.sender.round_trip_time(&b, now) {
                on_event(RtcpEvent::RoundTrip(rtt));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::SeqNo;

    #[test]
    fn sr_then_rr_gives_round_trip_time_and_pli_reaches_the_sender() {
        let t0 = Instant::now();
        let interval = Duration::from_millis(100);
        let mut alice = RtcpSession::new(Ssrc(1), "a".into(), interval, t0);
        let mut bob = RtcpSession::new(Ssrc(2), "b".into(), interval, t0);
        let mut bob_view = ReceiveStats::new(Ssrc(1), 8000).with_probation(0);
        for i in 0..10u16 {
            bob_view.on_packet(SeqNo(i), Timestamp(160 * u32::from(i)), t0);
        }
        let mut buf = [0u8; 1200];
        assert!(alice.poll_report(t0, sent(0), None, &mut buf).is_none());
        let t1 = t0 + Duration::from_millis(60);
        let n = alice
            .poll_report(t1, sent(10), None, &mut buf)
            .unwrap()
            .unwrap();
        // Bob gets the SR 10 ms later and reports 20 ms after that.
        let t2 = t1 + Duration::from_millis(10);
        bob.handle(&buf[..n], t2, Some(&mut bob_view), |_| {})
            .unwrap();
        let t3 = t2 + Duration::from_millis(20);
        let n = bob
            .poll_report(t3, sent(0), Some(&mut bob_view), &mut buf)
            .unwrap()
            .unwrap();
        let mut events = Vec::new();
        let t4 = t3 + Duration::from_millis(10);
        alice
            .handle(&buf[..n], t4, None, |e| events.push(e))
            .unwrap();
        let [RtcpEvent::RoundTrip(rtt)] = events[..] else {
            panic!("{events:?}")
        };
        assert!(
            rtt.abs_diff(Duration::from_millis(20)) < Duration::from_millis(1),
            "{rtt:?}"
        );

        let n = bob.write_pli(Ssrc(1), &mut buf).unwrap();
        events.clear();
        alice
            .handle(&buf[..n], t4, None, |e| events.push(e))
            .unwrap();
        assert_eq!(events, [RtcpEvent::KeyframeRequested]);
        let n = alice.write_bye(&mut buf).unwrap();
        events.clear();
        bob.handle(&buf[..n], t4, None, |e| events.push(e)).unwrap();
        assert_eq!(events, [RtcpEvent::Bye(Ssrc(1))]);
    }

    fn sent(packets: u64) -> SentSoFar {
        SentSoFar {
            packets,
            octets: packets * 160,
            rtp_timestamp: Timestamp(0),
        }
    }
}
