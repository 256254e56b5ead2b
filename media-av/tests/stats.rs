//! Receive statistics against values computed by hand from the RFC 3550
//! formulas: interarrival jitter (A.8), fraction and cumulative loss (A.3),
//! and round-trip time from LSR/DLSR (§6.4.1).
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use media_av::rtcp::{NtpTime, ReportBlock};
use media_av::rtp::{SeqNo, Ssrc, Timestamp};
use media_av::stats::{ReceiveStats, SenderStats, SeqVerdict, round_trip_time};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn jitter_for_a_known_arrival_pattern() {
    // 8 kHz audio, 20 ms (160 ticks) per packet, probation of 2 packets.
    // seq 0 at 0 ms: probation (not counted).
    // seq 1 at 20 ms: transit = 160 - 160 = 0 (first counted: no D yet).
    // seq 2 at 50 ms (10 ms late): transit = 400 - 320 = 80, D = 80:
    //   J16 = 0 + 80 - ((0 + 8) >> 4) = 80 → J = 80 >> 4 = 5 (float: 80/16 = 5).
    // seq 3 at 60 ms: transit = 0, D = 80: J16 = 80 + 80 - 5 = 155 → J = 9
    //   (float: 5 + (80 - 5)/16 = 9.6875).
    // seq 4 at 80 ms: D = 0: J16 = 155 - ((155 + 8) >> 4) = 145 → J = 9.
    let t0 = Instant::now();
    let mut s = ReceiveStats::new(Ssrc(1), 8000);
    let arrivals = [0, 20, 50, 60, 80];
    let expected_jitter = [0, 0, 5, 9, 9];
    for (i, (&at, &j)) in arrivals.iter().zip(&expected_jitter).enumerate() {
        let v = s.on_packet(SeqNo(i as u16), Timestamp(160 * i as u32), t0 + ms(at));
        assert_eq!(
            v,
            if i == 0 {
                SeqVerdict::Probation
            } else {
                SeqVerdict::Valid
            }
        );
        assert_eq!(s.jitter(), j, "after seq {i}");
    }
    // 145 / 16 ticks at 8 kHz = 1.1328125 ms.
    assert_eq!(s.jitter_duration(), Duration::from_nanos(1_132_812));
    assert_eq!(s.report_block(t0 + ms(100)).jitter, 9);
}

#[test]
fn fraction_lost_is_25_percent_for_two_of_eight() {
    let t0 = Instant::now();
    let mut s = ReceiveStats::new(Ssrc(0xABCD), 90_000);
    s.on_packet(SeqNo(0), Timestamp(0), t0);
    s.on_packet(SeqNo(1), Timestamp(0), t0);
    let first = s.report_block(t0);
    assert_eq!((first.fraction_lost, first.cumulative_lost), (0, 0));
    // Interval: 2..=9 expected (8), 4 and 7 lost → received 6.
    // fraction = (2 << 8) / 8 = 64 (25 %).
    for seq in [2u16, 3, 5, 6, 8, 9] {
        assert_eq!(s.on_packet(SeqNo(seq), Timestamp(0), t0), SeqVerdict::Valid);
    }
    let b = s.report_block(t0);
    assert_eq!(b.ssrc, Ssrc(0xABCD));
    assert_eq!(b.fraction_lost, 64);
    assert_eq!(b.cumulative_lost, 2);
    assert_eq!(b.highest_seq, 9);
    assert_eq!(s.expected(), 9);
    assert_eq!(s.received(), 7);
    // Nothing new: the next interval reports no loss, cumulative stays.
    let b = s.report_block(t0);
    assert_eq!((b.fraction_lost, b.cumulative_lost), (0, 2));
    // Duplicates make the interval's loss negative: fraction 0.
    s.on_packet(SeqNo(9), Timestamp(0), t0);
    let b = s.report_block(t0);
    assert_eq!((b.fraction_lost, b.cumulative_lost), (0, 1));
}

#[test]
fn sequence_wrap_extends_highest() {
    let t0 = Instant::now();
    let mut s = ReceiveStats::new(Ssrc(1), 8000);
    for seq in [65533u16, 65534, 65535, 1, 2] {
        s.on_packet(SeqNo(seq), Timestamp(0), t0);
    }
    let b = s.report_block(t0);
    // Base 65534 (after probation), highest 1 << 16 | 2; seq 0 lost.
    assert_eq!(b.highest_seq, (1 << 16) | 2);
    assert_eq!(b.cumulative_lost, 1);
    assert_eq!(b.fraction_lost, 51); // (1 << 8) / 5
}

#[test]
fn lsr_dlsr_and_round_trip_time() {
    let t0 = Instant::now();
    let mut s = ReceiveStats::new(Ssrc(1), 8000);
    let sr_ntp = NtpTime(0x0000_B705_2000_0000); // 46853.125 s
    s.on_sender_report(sr_ntp, t0);
    let b = s.report_block(t0 + ms(5250));
    assert_eq!(b.last_sr, 0xB705_2000);
    assert_eq!(b.delay_since_last_sr, 0x0005_4000); // 5.25 s
    // RFC 3550 §6.4.1: A = 46864.500 → RTT = 6.125 s.
    let rtt = round_trip_time(&b, NtpTime(0x0000_B710_8000_0000));
    assert_eq!(rtt, Some(ms(6125)));
    // A block without an SR gives no RTT; an impossible (negative) one neither.
    assert_eq!(
        round_trip_time(&ReportBlock::default(), NtpTime(1 << 40)),
        None
    );
    assert_eq!(round_trip_time(&b, NtpTime(0x0000_B705_2000_0000)), None);
    // On the sender's monotonic clock: sent at t0, back at t0 + 5.4 s.
    let mut tx = SenderStats::new();
    tx.on_sender_report_sent(sr_ntp, t0);
    assert_eq!(tx.round_trip_time(&b, t0 + ms(5400)), Some(ms(150)));
}

mod arbitrary {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_packets_never_panic(
            input in prop::collection::vec((any::<u16>(), any::<u32>(), 0u64..100_000), 0..200),
            clock in prop::sample::select(vec![0u32, 1, 8000, 90_000, u32::MAX]),
        ) {
            let t0 = Instant::now();
            let mut s = ReceiveStats::new(Ssrc(1), clock);
            let mut now = t0;
            for (seq, ts, step) in input {
                now += Duration::from_micros(step);
                s.on_packet(SeqNo(seq), Timestamp(ts), now);
                if seq % 16 == 0 {
                    s.on_sender_report(NtpTime(u64::from(ts) << 20), now);
                    let b = s.report_block(now);
                    let _ = round_trip_time(&b, NtpTime(u64::from(seq) << 32));
                }
            }
            let _ = (s.jitter_duration(), s.cumulative_lost());
        }
    }
}
