//! Video frame assembly ([`FrameAssembler`]): packets of one timestamp up to
//! the marker bit, NACK lists for the gaps (RFC 4585 §6.2.1), and a PLI
//! request (RFC 4585 §6.3.1) when a frame cannot be completed in time.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use tracing::debug;

use super::packet::{Extender, JitterPacket};
use crate::rtp::{SeqNo, Timestamp};

/// Settings of a [`FrameAssembler`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AssemblerConfig {
    /// How long the oldest frame may wait for missing packets before it is
    /// given up (reported [`FrameEvent::Incomplete`]).
    pub max_frame_wait: Duration,
    /// Time between NACKs for the same sequence number (about one RTT).
    pub nack_interval: Duration,
    /// NACKs sent per missing sequence number at most.
    pub max_nacks: u8,
    /// Least time between two key-frame requests.
    pub pli_interval: Duration,
    /// Packets held at most; beyond it the oldest frame is given up.
    pub capacity: usize,
}

impl Default for AssemblerConfig {
    /// 150 ms frame wait, NACK every 30 ms up to 3 times, PLI at most every
    /// 500 ms, 1024 packets.
    fn default() -> Self {
        Self {
            max_frame_wait: Duration::from_millis(150),
            nack_interval: Duration::from_millis(30),
            max_nacks: 3,
            pli_interval: Duration::from_millis(500),
            capacity: 1024,
        }
    }
}

impl AssemblerConfig {
    /// Sets the frame wait.
    #[must_use]
    pub fn with_max_frame_wait(mut self, wait: Duration) -> Self {
        self.max_frame_wait = wait;
        self
    }

    /// Sets the NACK retry interval and count.
    #[must_use]
    pub fn with_nack(mut self, interval: Duration, max_nacks: u8) -> Self {
        self.nack_interval = interval;
        self.max_nacks = max_nacks;
        self
    }
}

/// A complete video frame: the packets of one timestamp, in sequence order,
/// the last one carrying the marker bit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame<P> {
    /// The frame's RTP timestamp.
    pub timestamp: Timestamp,
    /// Its packets in sequence order.
    pub packets: Vec<P>,
    /// Whether a frame before it was given up: the decoder may lack its
    /// reference until the next key frame.
    pub after_loss: bool,
}

/// What [`FrameAssembler::poll`] hands out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameEvent<P> {
    /// A complete frame.
    Frame(Frame<P>),
    /// The oldest frame could not be completed in time and was dropped.
    Incomplete {
        /// Its timestamp (of its first packet that arrived).
        timestamp: Timestamp,
        /// Packets of it that had arrived and were dropped.
        dropped: usize,
    },
    /// Send a PLI: frames were lost and the decoder needs a key frame.
    RequestKeyFrame,
}

/// Counters of a [`FrameAssembler`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AssemblerCounters {
    /// Complete frames handed out.
    pub frames: u64,
    /// Frames given up.
    pub incomplete: u64,
    /// Packets dropped because their frame was already handed out or given up.
    pub late: u64,
    /// Duplicate packets dropped.
    pub duplicates: u64,
    /// Sequence numbers NACKed (each retry counts).
    pub nacked: u64,
    /// Key-frame requests.
    pub key_frame_requests: u64,
}

#[derive(Debug)]
struct Entry<P> {
    ts: i64,
    marker: bool,
    packet: P,
}

#[derive(Clone, Copy, Debug)]
struct Missing {
    next_nack: Instant,
    sent: u8,
}

/// Groups video packets into frames, sans-IO.
///
/// [`insert`](Self::insert) packets in any order; [`poll`](Self::poll) hands
/// out complete frames in order, gives up the oldest frame when it has waited
/// [`AssemblerConfig::max_frame_wait`] and asks for a key frame (rate-limited);
/// [`poll_nacks`](Self::poll_nacks) lists sequence numbers to NACK, each again
/// after [`AssemblerConfig::nack_interval`] up to
/// [`AssemblerConfig::max_nacks`] times; [`poll_timeout`](Self::poll_timeout)
/// is the next deadline. A frame ends at the marker bit (or, for senders that
/// omit it, where the next packet's timestamp differs).
#[derive(Debug)]
pub struct FrameAssembler<P> {
    cfg: AssemblerConfig,
    ext: Option<Extender>,
    packets: BTreeMap<i64, Entry<P>>,
    missing: BTreeMap<i64, Missing>,
    /// First sequence number of the next frame to hand out.
    next: i64,
    highest: i64,
    head_since: Option<Instant>,
    after_loss: bool,
    pli_pending: bool,
    last_pli: Option<Instant>,
    given_up: VecDeque<(Timestamp, usize)>,
    counters: AssemblerCounters,
}

impl<P: JitterPacket> FrameAssembler<P> {
    /// An empty assembler.
    #[must_use]
    pub fn new(cfg: AssemblerConfig) -> Self {
        Self {
            cfg,
            ext: None,
            packets: BTreeMap::new(),
            missing: BTreeMap::new(),
            next: 0,
            highest: 0,
            head_since: None,
            after_loss: false,
            pli_pending: false,
            last_pli: None,
            given_up: VecDeque::new(),
            counters: AssemblerCounters::default(),
        }
    }

    /// The counters.
    #[must_use]
    pub fn counters(&self) -> AssemblerCounters {
        self.counters
    }

    /// Packets held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.packets.len()
    }

    /// Whether no packet is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }

    /// Sequence numbers currently missing, oldest first.
    pub fn missing(&self) -> impl Iterator<Item = SeqNo> + '_ {
        self.missing.keys().map(|&s| SeqNo(s as u16))
    }

    /// Takes a packet that arrived at `arrival`.
    pub fn insert(&mut self, packet: P, arrival: Instant) {
        let seq = packet.sequence();
        let ts = packet.timestamp();
        let ext = *self.ext.get_or_insert_with(|| Extender::new(seq, ts));
        let ext_seq = ext.seq(seq);
        if self.packets.is_empty() && self.missing.is_empty() && self.head_since.is_none() {
            if self.counters.frames == 0 && self.counters.incomplete == 0 {
                // The very first packet: start here.
                self.next = ext_seq;
                self.highest = ext_seq;
            } else if ext_seq - self.highest > self.cfg.capacity as i64 {
                // A jump after a quiet period: restart at it.
                self.next = ext_seq;
                self.highest = ext_seq - 1;
            }
        }
        if ext_seq < self.next {
            if self.counters.frames == 0
                && self.counters.incomplete == 0
                && self.next - ext_seq < 64
            {
                // Reordered before the first packet seen: extend the start.
                for s in ext_seq + 1..self.next {
                    self.missing.insert(
                        s,
                        Missing {
                            next_nack: arrival,
                            sent: 0,
                        },
                    );
                }
                self.next = ext_seq;
            } else {
                self.counters.late += 1;
                return;
            }
        }
        if self.packets.contains_key(&ext_seq) {
            self.counters.duplicates += 1;
            return;
        }
        if let Some(e) = self.ext.as_mut() {
            e.record(seq, ts);
        }
        self.missing.remove(&ext_seq);
        if ext_seq > self.highest {
            let gap_start = (self.highest + 1).max(ext_seq - self.cfg.capacity as i64);
            for s in gap_start..ext_seq {
                self.missing.insert(
                    s,
                    Missing {
                        next_nack: arrival,
                        sent: 0,
                    },
                );
            }
            self.highest = ext_seq;
            // Bound the NACK list too: forget the oldest gaps.
            while self.missing.len() > self.cfg.capacity {
                self.missing.pop_first();
            }
        }
        let ts = ext.ts(ts);
        self.packets.insert(
            ext_seq,
            Entry {
                ts,
                marker: packet.marker(),
                packet,
            },
        );
        if self.head_since.is_none() {
            self.head_since = Some(arrival);
        }
        while self.packets.len() > self.cfg.capacity {
            self.give_up(arrival);
        }
    }

    /// The last sequence number of the head frame if it is complete.
    fn complete_head(&self) -> Option<i64> {
        let first = self.packets.get(&self.next)?;
        let mut s = self.next;
        loop {
            let e = self.packets.get(&s)?;
            if e.ts != first.ts {
                return Some(s - 1);
            }
            if e.marker {
                return Some(s);
            }
            s += 1;
        }
    }

    /// Drops the head frame and moves to the next frame boundary found.
    fn give_up(&mut self, now: Instant) {
        let Some((&first_seq, first)) = self.packets.range(self.next..).next() else {
            return;
        };
        let head_ts = first.ts;
        // The frame ends at the first marker of its timestamp, or before the
        // first packet with a later timestamp.
        let mut end = self.highest;
        for (&s, e) in self.packets.range(first_seq..) {
            if e.ts != head_ts {
                end = s - 1;
                break;
            }
            if e.marker {
                end = s;
                break;
            }
        }
        let dropped = self.packets.range(..=end).count();
        self.packets = self.packets.split_off(&(end + 1));
        self.missing = self.missing.split_off(&(end + 1));
        self.next = end + 1;
        self.head_since = (!self.packets.is_empty()).then_some(now);
        self.after_loss = true;
        self.pli_pending = true;
        self.counters.incomplete += 1;
        debug!(ts = head_ts as u32, dropped, "video frame given up");
        self.given_up
            .push_back((Timestamp(head_ts as u32), dropped));
    }

    /// When the head frame is given up if still incomplete.
    fn head_deadline(&self) -> Option<Instant> {
        if self.complete_head().is_some() {
            return None;
        }
        let since = self.head_since?;
        Some(since.checked_add(self.cfg.max_frame_wait).unwrap_or(since))
    }

    /// The next event at `now`: a complete frame, a frame given up, or a
    /// key-frame request. Call until `None`.
    pub fn poll(&mut self, now: Instant) -> Option<FrameEvent<P>> {
        if let Some((timestamp, dropped)) = self.given_up.pop_front() {
            return Some(FrameEvent::Incomplete { timestamp, dropped });
        }
        if self.pli_pending
            && self
                .last_pli
                .is_none_or(|at| now.saturating_duration_since(at) >= self.cfg.pli_interval)
        {
            self.pli_pending = false;
            self.last_pli = Some(now);
            self.counters.key_frame_requests += 1;
            return Some(FrameEvent::RequestKeyFrame);
        }
        if let Some(end) = self.complete_head() {
            let rest = self.packets.split_off(&(end + 1));
            let frame = std::mem::replace(&mut self.packets, rest);
            let timestamp = frame
                .values()
                .next()
                .map_or(Timestamp(0), |e| Timestamp(e.ts as u32));
            self.next = end + 1;
            self.head_since = (!self.packets.is_empty()).then_some(now);
            self.counters.frames += 1;
            let after_loss = std::mem::take(&mut self.after_loss);
            return Some(FrameEvent::Frame(Frame {
                timestamp,
                packets: frame.into_values().map(|e| e.packet).collect(),
                after_loss,
            }));
        }
        if self.head_deadline().is_some_and(|at| now >= at) {
            self.give_up(now);
            return self.poll(now);
        }
        None
    }

    /// Sequence numbers to NACK at `now` (RFC 4585 §6.2.1; pack them with
    /// [`nack_pairs`](crate::rtcp::nack_pairs) or
    /// [`RtcpWriter::nack`](crate::rtcp::RtcpWriter::nack)), appended to `out`.
    pub fn poll_nacks(&mut self, now: Instant, out: &mut Vec<SeqNo>) {
        for (&s, m) in &mut self.missing {
            if m.sent < self.cfg.max_nacks && now >= m.next_nack {
                m.sent += 1;
                m.next_nack = now.checked_add(self.cfg.nack_interval).unwrap_or(now);
                self.counters.nacked += 1;
                out.push(SeqNo(s as u16));
            }
        }
    }

    /// The next time [`poll`](Self::poll) or
    /// [`poll_nacks`](Self::poll_nacks) has work, if any.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let nack = self
            .missing
            .values()
            .filter(|m| m.sent < self.cfg.max_nacks)
            .map(|m| m.next_nack)
            .min();
        let pli = self
            .pli_pending
            .then(|| {
                self.last_pli
                    .and_then(|at| at.checked_add(self.cfg.pli_interval))
            })
            .flatten();
        [nack, pli, self.head_deadline()]
            .into_iter()
            .flatten()
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct P(u16, u32, bool);

    impl JitterPacket for P {
        fn sequence(&self) -> SeqNo {
            SeqNo(self.0)
        }
        fn timestamp(&self) -> Timestamp {
            Timestamp(self.1)
        }
        fn marker(&self) -> bool {
            self.2
        }
    }

    #[test]
    fn frame_without_marker_ends_at_timestamp_change() {
        let t0 = Instant::now();
        let mut fa = FrameAssembler::new(AssemblerConfig::default());
        fa.insert(P(1, 0, false), t0);
        fa.insert(P(2, 0, false), t0);
        assert_eq!(fa.poll(t0), None);
        fa.insert(P(3, 90, false), t0);
        let Some(FrameEvent::Frame(f)) = fa.poll(t0) else {
            panic!()
        };
        assert_eq!(f.packets, [P(1, 0, false), P(2, 0, false)]);
        assert_eq!(fa.poll(t0), None);
    }

    #[test]
    fn missing_list_is_bounded_by_capacity() {
        let t0 = Instant::now();
        let cfg = AssemblerConfig {
            capacity: 8,
            ..AssemblerConfig::default()
        };
        let mut fa = FrameAssembler::new(cfg);
        fa.insert(P(0, 0, false), t0);
        fa.insert(P(1000, 0, false), t0);
        assert_eq!(fa.missing().count(), 8);
        assert_eq!(fa.missing().next(), Some(SeqNo(992)));
    }
}
