//! Jitter buffer and frame assembler over simulated time: ordering, late
//! packets, loss markers, a lossy reordering stream, target-delay adaptation,
//! wrap-around, resync, and video frames with NACK and PLI.
#![allow(unsafe_code, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use media_av::jitter::{
    AssemblerConfig, FrameAssembler, FrameEvent, InsertOutcome, JitterBuffer, JitterConfig, Playout,
};
use media_av::rtp::{RtpPacket, SeqNo, Timestamp};

/// Counts allocations on the current thread (the only `unsafe` here:
/// `GlobalAlloc` is an unsafe trait).
mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    pub(crate) struct Counting;

    thread_local! {
        static ALLOCS: Cell<usize> = const { Cell::new(0) };
    }

    // SAFETY: forwards every call unchanged to the system allocator; only counts.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            ALLOCS.with(|c| c.set(c.get() + 1));
            // SAFETY: same contract as the caller's.
            unsafe { System.alloc(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: same contract as the caller's.
            unsafe { System.dealloc(ptr, layout) }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            ALLOCS.with(|c| c.set(c.get() + 1));
            // SAFETY: same contract as the caller's.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    pub(crate) fn allocations(f: impl FnOnce()) -> usize {
        let before = ALLOCS.with(Cell::get);
        f();
        ALLOCS.with(Cell::get) - before
    }
}

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn packet(seq: u16, ts: u32, marker: bool) -> RtpPacket {
    let mut b = vec![0x80, (u8::from(marker) << 7) | 96];
    b.extend_from_slice(&seq.to_be_bytes());
    b.extend_from_slice(&ts.to_be_bytes());
    b.extend_from_slice(&[0, 0, 0, 1, 0xAB]);
    RtpPacket::parse(Bytes::from(b)).unwrap()
}

/// An 8 kHz audio packet `i` of a stream starting at `seq0`/`ts0`, 20 ms each.
fn audio(seq0: u16, ts0: u32, i: u32) -> RtpPacket {
    packet(
        seq0.wrapping_add(i as u16),
        ts0.wrapping_add(160 * i),
        false,
    )
}

/// `Ok(seq)` for a packet played, `Err(seq)` for a loss marker.
type Out = Result<u16, u16>;

fn drain(jb: &mut JitterBuffer<RtpPacket>, now: Instant, out: &mut Vec<Out>) {
    while let Some(p) = jb.pop(now) {
        out.push(match p {
            Playout::Packet(p) => Ok(p.sequence().0),
            Playout::Lost { seq, .. } => Err(seq.0),
        });
    }
}

/// Runs the buffer over `arrivals` (sorted by time), popping at every
/// deadline, until nothing is left.
fn run(jb: &mut JitterBuffer<RtpPacket>, arrivals: Vec<(Instant, RtpPacket)>) -> Vec<Out> {
    let mut out = Vec::new();
    let mut arrivals = arrivals.into_iter().peekable();
    let mut now = arrivals.peek().map(|a| a.0).unwrap();
    for _ in 0..1_000_000 {
        let next = [arrivals.peek().map(|a| a.0), jb.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let Some(next) = next else { return out };
        now = now.max(next);
        while let Some((_, p)) = arrivals.next_if(|a| a.0 <= now) {
            jb.insert(p, now);
        }
        drain(jb, now, &mut out);
    }
    panic!("simulation did not finish");
}

/// Deterministic xorshift64* in 0..n.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) % n
    }
}

#[test]
fn in_order_plays_at_target_delay() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(JitterConfig::new(8000));
    for i in 0..5 {
        assert_eq!(
            jb.insert(audio(100, 0, i), t0 + ms(20 * u64::from(i))),
            InsertOutcome::Buffered
        );
    }
    // First packet due at arrival + the initial 60 ms (kept while warming up).
    let first = jb.poll_timeout().unwrap();
    assert_eq!(first, t0 + ms(60));
    assert_eq!(jb.target_delay(), ms(60));
    assert_eq!(jb.pop(first - ms(1)), None);
    let mut out = Vec::new();
    drain(&mut jb, t0 + ms(200), &mut out);
    assert_eq!(out, [Ok(100), Ok(101), Ok(102), Ok(103), Ok(104)]);
    assert!(jb.is_empty());
    assert_eq!(jb.poll_timeout(), None);
}

#[test]
fn reordered_within_window_comes_out_in_order() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(JitterConfig::new(8000));
    let arrivals =
        [(1, 0), (0, 5), (3, 40), (2, 45), (4, 80)].map(|(i, at)| (t0 + ms(at), audio(7, 1000, i)));
    let out = run(&mut jb, arrivals.to_vec());
    assert_eq!(out, [Ok(7), Ok(8), Ok(9), Ok(10), Ok(11)]);
    assert_eq!(jb.counters().late, 0);
}

#[test]
fn loss_gives_lost_marker_and_late_packet_is_dropped() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(JitterConfig::new(8000));
    jb.insert(audio(10, 0, 0), t0);
    jb.insert(audio(10, 0, 2), t0 + ms(40));
    let mut now = jb.poll_timeout().unwrap();
    assert!(matches!(jb.pop(now), Some(Playout::Packet(_))));
    // The gap's deadline is the interpolated playout time of seq 11.
    let gap = jb.poll_timeout().unwrap();
    assert_eq!(gap - now, ms(20));
    now = gap;
    assert_eq!(
        jb.pop(now),
        Some(Playout::Lost {
            seq: SeqNo(11),
            timestamp: Timestamp(160)
        })
    );
    // Seq 11 turns up after its loss was declared: dropped as late.
    assert_eq!(jb.insert(audio(10, 0, 1), now), InsertOutcome::Late);
    let mut out = Vec::new();
    drain(&mut jb, now + ms(100), &mut out);
    assert_eq!(out, [Ok(12)]);
    let c = jb.counters();
    assert_eq!((c.played, c.lost, c.late), (2, 1, 1));
}

#[test]
fn duplicates_are_dropped_and_counted() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(JitterConfig::new(8000));
    jb.insert(audio(1, 0, 0), t0);
    assert_eq!(jb.insert(audio(1, 0, 0), t0), InsertOutcome::Duplicate);
    assert_eq!(jb.len(), 1);
    assert_eq!(jb.counters().duplicates, 1);
}

#[test]
fn lossy_reordering_stream_keeps_delivering() {
    // 60 s of 20 ms audio: 5 % lost, 10 % delayed by an extra 30–60 ms
    // (reordered past 1–3 neighbours), every packet 0–20 ms of jitter.
    let t0 = Instant::now();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let n = 3000u32;
    let mut arrivals = Vec::new();
    let mut dropped = 0;
    for i in 0..n {
        if i > 0 && i < n - 1 && rng.below(100) < 5 {
            dropped += 1;
            continue;
        }
        let mut delay = 30 + rng.below(20);
        if rng.below(100) < 10 {
            delay += 30 + rng.below(30);
        }
        arrivals.push((t0 + ms(20 * u64::from(i) + delay), audio(60_000, 0, i)));
    }
    arrivals.sort_by_key(|a| a.0);
    let mut jb = JitterBuffer::new(JitterConfig::new(8000));
    let out = run(&mut jb, arrivals);
    // Every sequence number comes out exactly once, in order, across the wrap.
    assert_eq!(out.len(), n as usize);
    for (i, o) in out.iter().enumerate() {
        let seq = 60_000u16.wrapping_add(i as u16);
        assert!(*o == Ok(seq) || *o == Err(seq), "{i}: {o:?}");
    }
    let c = jb.counters();
    assert_eq!(c.played + c.late, u64::from(n) - dropped);
    assert_eq!(c.lost, dropped + c.late);
    // The target delay covered most of the delayed packets.
    // The target delay covered most of the delayed packets: the 97th
    // percentile leaves about 3 % of them late.
    assert!(c.late * 100 < u64::from(n) * 4, "late {}", c.late);
    assert!(c.played * 100 >= u64::from(n) * 91, "played {}", c.played);
    assert!(jb.target_delay() > ms(20) && jb.target_delay() < ms(200));
}

#[test]
fn target_delay_grows_under_jitter_and_shrinks_after() {
    let t0 = Instant::now();
    let cfg = JitterConfig::new(8000).with_delay_bounds(ms(20), ms(400));
    let mut jb = JitterBuffer::new(cfg);
    let mut rng = Rng(42);
    let mut now = t0;
    let mut out = Vec::new();
    let mut arrivals = Vec::new();
    for i in 0..1500u32 {
        // 0–80 ms jitter for the first 10 s, then none.
        let extra = if i < 500 { rng.below(80) } else { 0 };
        arrivals.push((t0 + ms(20 * u64::from(i) + 10 + extra), i));
    }
    arrivals.sort_by_key(|a| a.0);
    let mut during = Duration::ZERO;
    for (at, i) in arrivals {
        now = now.max(at);
        drain(&mut jb, now, &mut out);
        jb.insert(audio(0, 0, i), now);
        if i == 499 {
            during = jb.target_delay();
        }
    }
    let (mean, sd) = jb.delay_variation();
    assert!(during > ms(70), "target under jitter {during:?}");
    assert!(
        jb.target_delay() < ms(25),
        "target after {:?}",
        jb.target_delay()
    );
    assert!(mean < ms(2) && sd < ms(3), "{mean:?} {sd:?}");
}

#[test]
fn wrap_around_at_65535() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(JitterConfig::new(8000));
    // Sequence and timestamp both wrap in the middle.
    let arrivals: Vec<_> = (0..10)
        .map(|i| (t0 + ms(20 * u64::from(i)), audio(65530, u32::MAX - 800, i)))
        .collect();
    let out = run(&mut jb, arrivals);
    let expected: Vec<Out> = (0..10u16).map(|i| Ok(65530u16.wrapping_add(i))).collect();
    assert_eq!(out, expected);
    assert_eq!(jb.counters().resyncs, 0);
}

#[test]
fn sequence_jump_resyncs() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(JitterConfig::new(8000));
    jb.insert(audio(100, 0, 0), t0);
    jb.insert(audio(100, 0, 1), t0 + ms(20));
    assert_eq!(
        jb.insert(audio(30_000, 160 * 2, 0), t0 + ms(40)),
        InsertOutcome::Resynced
    );
    // Timestamp jump of an hour with continuous sequence numbers.
    assert_eq!(
        jb.insert(packet(30_001, 160 * 3 + 8000 * 3600, false), t0 + ms(60)),
        InsertOutcome::Resynced
    );
    let c = jb.counters();
    assert_eq!((c.resyncs, c.flushed), (2, 3));
    let mut out = Vec::new();
    drain(&mut jb, t0 + ms(500), &mut out);
    assert_eq!(out, [Ok(30_001)]);
}

#[test]
fn capacity_drops_oldest() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(JitterConfig::new(8000).with_capacity(4));
    for i in 0..6 {
        jb.insert(audio(0, 0, i), t0);
    }
    assert_eq!(jb.len(), 4);
    assert_eq!(jb.counters().overflow, 2);
    let mut out = Vec::new();
    drain(&mut jb, t0 + ms(1000), &mut out);
    assert_eq!(out, [Ok(2), Ok(3), Ok(4), Ok(5)]);
}

fn video(seq: u16, frame: u32, marker: bool) -> RtpPacket {
    packet(seq, 3000 * frame, marker)
}

fn frames(fa: &mut FrameAssembler<RtpPacket>, now: Instant) -> Vec<FrameEvent<u16>> {
    std::iter::from_fn(|| fa.poll(now))
        .map(|e| match e {
            FrameEvent::Frame(f) => FrameEvent::Frame(media_av::jitter::Frame {
                timestamp: f.timestamp,
                packets: f.packets.iter().map(|p| p.sequence().0).collect(),
                after_loss: f.after_loss,
            }),
            FrameEvent::Incomplete { timestamp, dropped } => {
                FrameEvent::Incomplete { timestamp, dropped }
            }
            FrameEvent::RequestKeyFrame => FrameEvent::RequestKeyFrame,
        })
        .collect()
}

fn frame(ts: u32, seqs: &[u16], after_loss: bool) -> FrameEvent<u16> {
    FrameEvent::Frame(media_av::jitter::Frame {
        timestamp: Timestamp(ts),
        packets: seqs.to_vec(),
        after_loss,
    })
}

#[test]
fn frames_assemble_with_nack_and_retransmission() {
    let t0 = Instant::now();
    let cfg = AssemblerConfig::default().with_nack(ms(30), 2);
    let mut fa = FrameAssembler::new(cfg);
    // Frame 0: 65534, 65535, 0 (marker); frame 1: 1, 2 (marker); 65535 lost at first.
    fa.insert(video(65534, 0, false), t0);
    fa.insert(video(0, 0, true), t0 + ms(1));
    fa.insert(video(1, 1, false), t0 + ms(2));
    fa.insert(video(2, 1, true), t0 + ms(3));
    assert!(frames(&mut fa, t0 + ms(3)).is_empty());
    let mut nacks = Vec::new();
    fa.poll_nacks(t0 + ms(3), &mut nacks);
    assert_eq!(nacks, [SeqNo(65535)]);
    // Not again before the interval; again after it; then no more (max 2).
    nacks.clear();
    fa.poll_nacks(t0 + ms(20), &mut nacks);
    assert!(nacks.is_empty());
    // Detected at t0 + 1 ms, first NACK at t0 + 3 ms: retry at t0 + 33 ms.
    assert_eq!(fa.poll_timeout(), Some(t0 + ms(33)));
    fa.poll_nacks(t0 + ms(33), &mut nacks);
    fa.poll_nacks(t0 + ms(90), &mut nacks);
    assert_eq!(nacks, [SeqNo(65535)]);
    // The retransmission completes both frames.
    fa.insert(video(65535, 0, false), t0 + ms(95));
    assert_eq!(
        frames(&mut fa, t0 + ms(95)),
        [
            frame(0, &[65534, 65535, 0], false),
            frame(3000, &[1, 2], false)
        ]
    );
    assert!(fa.is_empty());
    assert_eq!(fa.counters().nacked, 2);
    // A packet of a frame already handed out is late.
    fa.insert(video(0, 0, true), t0 + ms(96));
    assert_eq!(fa.counters().late, 1);
}

#[test]
fn frame_not_completed_in_time_is_given_up_with_pli() {
    let t0 = Instant::now();
    let cfg = AssemblerConfig::default().with_max_frame_wait(ms(100));
    let mut fa = FrameAssembler::new(cfg);
    fa.insert(video(10, 0, false), t0);
    // 11 (end of frame 0) never arrives.
    fa.insert(video(12, 1, true), t0 + ms(33));
    fa.insert(video(13, 2, true), t0 + ms(66));
    assert!(frames(&mut fa, t0 + ms(99)).is_empty());
    // 11 was found missing when 12 arrived.
    assert_eq!(fa.poll_timeout(), Some(t0 + ms(33)));
    let mut nacks = Vec::new();
    fa.poll_nacks(t0 + ms(33), &mut nacks);
    assert_eq!(nacks, [SeqNo(11)]);
    assert_eq!(fa.poll_timeout(), Some(t0 + ms(63)));
    assert_eq!(
        frames(&mut fa, t0 + ms(100)),
        [
            FrameEvent::Incomplete {
                timestamp: Timestamp(0),
                dropped: 1
            },
            FrameEvent::RequestKeyFrame,
            frame(3000, &[12], true),
            frame(6000, &[13], false),
        ]
    );
    // Another loss soon after: the PLI waits for the rate limit.
    fa.insert(video(14, 3, false), t0 + ms(120));
    fa.insert(video(16, 4, true), t0 + ms(121));
    let events = frames(&mut fa, t0 + ms(300));
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(matches!(events[0], FrameEvent::Incomplete { .. }));
    assert_eq!(events[1], frame(12_000, &[16], true));
    assert_eq!(fa.poll_timeout(), Some(t0 + ms(600)));
    assert_eq!(frames(&mut fa, t0 + ms(600)), [FrameEvent::RequestKeyFrame]);
    assert_eq!(fa.counters().key_frame_requests, 2);
}

#[test]
fn insert_and_pop_do_not_allocate() {
    let t0 = Instant::now();
    let packets: Vec<_> = (0..200).map(|i| audio(65_500, 0, i)).collect();
    let mut jb = JitterBuffer::new(JitterConfig::new(8000));
    let mut played = 0;
    let n = counting::allocations(|| {
        for (i, p) in packets.into_iter().enumerate() {
            let now = t0 + ms(20 * i as u64);
            jb.insert(p, now);
            while let Some(out) = jb.pop(now) {
                played += usize::from(matches!(out, Playout::Packet(_)));
            }
        }
    });
    assert_eq!(n, 0);
    assert!(played > 190);
}

mod arbitrary {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_streams_never_panic(
            input in prop::collection::vec((any::<u16>(), any::<u32>(), any::<bool>(), 0u64..200), 0..120),
            small in any::<bool>(),
        ) {
            let t0 = Instant::now();
            let cfg = JitterConfig::new(8000).with_capacity(if small { 4 } else { 64 });
            let mut jb = JitterBuffer::new(cfg);
            let mut fa = FrameAssembler::new(AssemblerConfig::default());
            let mut now = t0;
            let mut nacks = Vec::new();
            for (seq, ts, marker, step) in input {
                // Mostly near the previous packet, sometimes anywhere.
                let seq = if step % 7 == 0 { seq } else { seq % 8 };
                now += ms(step);
                jb.insert(packet(seq, ts % 4 * 160, marker), now);
                fa.insert(packet(seq, ts % 3 * 3000, marker), now);
                prop_assert!(jb.len() <= jb.config().capacity);
                while jb.pop(now).is_some() {}
                while fa.poll(now).is_some() {}
                fa.poll_nacks(now, &mut nacks);
                let _ = (jb.poll_timeout(), fa.poll_timeout());
            }
            let c = jb.counters();
            prop_assert!(c.played + c.late + c.duplicates + c.overflow + c.flushed <= c.inserted);
        }
    }
}

#[test]
fn sender_clock_drift_does_not_inflate_the_target() {
    // The sender's clock runs 0.1 % slow: packets carry 160 ticks of media
    // but arrive 20.02 ms apart, 600 ms of drift over 10 minutes.
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(JitterConfig::new(8000));
    let mut out = Vec::new();
    for i in 0..30_000u32 {
        let now = t0 + Duration::from_micros(20_020 * u64::from(i));
        jb.insert(audio(0, 0, i), now);
        drain(&mut jb, now, &mut out);
    }
    assert!(jb.target_delay() <= ms(25), "{:?}", jb.target_delay());
    let c = jb.counters();
    assert_eq!((c.late, c.lost), (0, 0));
    assert!(c.played >= 29_990);
}
