//! The adaptive playout buffer ([`JitterBuffer`]).

use std::time::{Duration, Instant};

use tracing::debug;

use super::packet::{Extender, JitterPacket};
use crate::rtp::{SeqNo, Timestamp};

/// How a [`JitterBuffer`] turns measured delay variation into its target delay.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DelayEstimator {
    /// The given quantile (0.0–1.0) of a histogram of recent delays with
    /// exponential forgetting, as NetEq does: robust to heavy tails, such as
    /// a few packets delayed far more than the rest.
    Percentile(f64),
    /// `mean + k·σ` of recent delays (exponentially weighted); cheaper, but
    /// under-covers heavy tails.
    MeanDeviation(f64),
}

/// Samples after a (re)start during which the target stays at least the
/// initial delay.
const WARM_UP_SAMPLES: u32 = 16;

/// Settings of a [`JitterBuffer`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct JitterConfig {
    /// Media clock rate of the stream in Hz (8000 for G.711, 48000 for Opus,
    /// 90000 for video).
    pub clock_rate: u32,
    /// Smallest target delay.
    pub min_delay: Duration,
    /// Largest target delay.
    pub max_delay: Duration,
    /// Target delay before any jitter has been measured.
    pub initial_delay: Duration,
    /// Packets held at most (rounded up to a power of two); beyond it the
    /// oldest are dropped.
    pub capacity: usize,
    /// How the target delay follows the measured delay variation.
    pub estimator: DelayEstimator,
    /// Width of one histogram bucket of [`DelayEstimator::Percentile`]; the
    /// target is rounded up to a bucket edge.
    pub histogram_bucket: Duration,
    /// Packets over which the delay statistics average (the weight of a new
    /// sample is 1/`averaging_packets`): larger adapts more slowly.
    pub averaging_packets: u32,
    /// The delay reference (the fastest transit time) is the minimum over the
    /// last one to two windows of this length, so it follows clock drift
    /// between sender and receiver and lasting route changes.
    pub reference_window: Duration,
    /// A sequence jump larger than this (either way) resynchronizes.
    pub resync_seq_jump: u16,
    /// A packet whose timestamp is further than this from what its arrival
    /// time predicts (a media clock jump) resynchronizes.
    pub resync_time_jump: Duration,
}

impl JitterConfig {
    /// Defaults for a stream with `clock_rate`: 20–500 ms target delay
    /// starting at 60 ms, 512 packets, the 97th percentile of delays in 5 ms
    /// buckets forgotten over 128 packets, the delay reference over 2–4 s
    /// windows, resync on a jump of 1000 packets or 3 s.
    #[must_use]
    pub fn new(clock_rate: u32) -> Self {
        Self {
            clock_rate,
            min_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(500),
            initial_delay: Duration::from_millis(60),
            capacity: 512,
            estimator: DelayEstimator::Percentile(0.97),
            histogram_bucket: Duration::from_millis(5),
            averaging_packets: 128,
            reference_window: Duration::from_secs(2),
            resync_seq_jump: 1000,
            resync_time_jump: Duration::from_secs(3),
        }
    }

    /// Sets the target delay bounds.
    #[must_use]
    pub fn with_delay_bounds(mut self, min: Duration, max: Duration) -> Self {
        self.min_delay = min;
        self.max_delay = max.max(min);
        self
    }

    /// Sets the initial target delay.
    #[must_use]
    pub fn with_initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// Sets the capacity in packets.
    #[must_use]
    pub fn with_capacity(mut self, packets: usize) -> Self {
        self.capacity = packets;
        self
    }

    /// Sets the delay estimator.
    #[must_use]
    pub fn with_estimator(mut self, estimator: DelayEstimator) -> Self {
        self.estimator = estimator;
        self
    }

    /// Sets how many packets the delay statistics average over.
    #[must_use]
    pub fn with_averaging_packets(mut self, packets: u32) -> Self {
        self.averaging_packets = packets.max(1);
        self
    }
}

/// What [`JitterBuffer::pop`] hands out, in sequence order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Playout<P> {
    /// The next packet, due now.
    Packet(P),
    /// The packet with this sequence number did not arrive in time: run
    /// packet-loss concealment for it.
    Lost {
        /// The missing sequence number.
        seq: SeqNo,
        /// Its timestamp, interpolated between its neighbours.
        timestamp: Timestamp,
    },
}

/// What [`JitterBuffer::insert`] did with a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsertOutcome {
    /// Buffered for playout.
    Buffered,
    /// Dropped: its sequence number was already played or declared lost.
    Late,
    /// Dropped: the same sequence number is already buffered.
    Duplicate,
    /// A sequence or timestamp jump: the buffer flushed what it held and
    /// restarted from this packet, which is buffered.
    Resynced,
}

/// Counters of a [`JitterBuffer`] since it was created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct JitterCounters {
    /// Packets given to [`JitterBuffer::insert`].
    pub inserted: u64,
    /// Packets handed out by [`JitterBuffer::pop`].
    pub played: u64,
    /// Lost markers handed out.
    pub lost: u64,
    /// Packets dropped because they arrived after their turn.
    pub late: u64,
    /// Duplicate packets dropped.
    pub duplicates: u64,
    /// Buffered packets dropped to stay within capacity.
    pub overflow: u64,
    /// Resynchronizations after sequence or timestamp jumps.
    pub resyncs: u64,
    /// Buffered packets dropped by resynchronizations.
    pub flushed: u64,
}

#[derive(Debug)]
struct Slot<P> {
    ext_seq: i64,
    ext_ts: i64,
    packet: P,
}

/// An adaptive jitter buffer for one RTP stream, sans-IO.
///
/// [`insert`](Self::insert) packets with their arrival time;
/// [`pop`](Self::pop) at or after [`poll_timeout`](Self::poll_timeout)
/// returns them in sequence order once their playout time has come, or a
/// [`Playout::Lost`] marker for a sequence number that did not arrive in time.
///
/// **Timing.** A packet's playout time is the arrival time it would have had
/// on the fastest path seen recently (its timestamp plus the smallest transit
/// time measured over the last [`JitterConfig::reference_window`]s) plus the
/// target delay. Each arrival measures how much later
/// than that fastest path the packet came; the target delay is a quantile of
/// these delays (or `mean + k·σ`, see [`DelayEstimator`]) forgotten
/// exponentially over [`JitterConfig::averaging_packets`], clamped to the
/// configured bounds, and at least the initial delay for the first 16
/// packets. It grows when the network gets jittery and shrinks when it calms
/// down. The buffer schedules packets; stretching or compressing audio to
/// hide target changes is the decoder's job.
///
/// **Allocation.** Storage (a ring of `capacity` slots and the delay
/// histogram) is allocated up front; insert and pop never allocate.
#[derive(Debug)]
pub struct JitterBuffer<P> {
    cfg: JitterConfig,
    slots: Vec<Option<Slot<P>>>,
    mask: i64,
    len: usize,
    ext: Option<Extender>,
    /// Extended sequence number to play next.
    next: i64,
    /// Highest extended sequence number buffered or played.
    highest: i64,
    /// Whether anything was handed out since the last (re)start.
    playing: bool,
    /// Extended sequence number and timestamp of the last packet handed out.
    last_played: Option<(i64, i64)>,
    epoch: Option<Instant>,
    /// The last instant converted to clock ticks since the epoch, and the ticks:
    /// callers pass the same `now` to an insert and the pops after it, so one
    /// conversion serves them all.
    last_now: Option<(Instant, i64)>,
    /// Reference transit (`arrival - timestamp`, clock ticks): the smallest
    /// over the current and the previous reference window.
    min_transit: i64,
    window_min: i64,
    previous_min: i64,
    window_start: i64,
    mean: f64,
    var: f64,
    /// Delay histogram: bucket weights grow by 1/(1 - w) per sample instead
    /// of decaying the old ones, and are rescaled when they get large.
    hist: Vec<f64>,
    hist_weight: f64,
    hist_total: f64,
    /// The quantile's bucket and the histogram weight below it.
    q_index: usize,
    q_below: f64,
    bucket_ticks: i64,
    /// `1 / bucket_ticks`, so that finding a sample's bucket is a multiply
    /// (corrected to the exact quotient) instead of a division per packet.
    bucket_inverse: f64,
    samples: u32,
    initial_ticks: i64,
    target_ticks: i64,
    /// The configured durations in clock ticks, converted once (a conversion
    /// per packet was a good part of the per-packet cost).
    limits: TickLimits,
    counters: JitterCounters,
}

/// [`JitterConfig`] durations in clock ticks.
#[derive(Debug, Default, Clone, Copy)]
struct TickLimits {
    min_delay: i64,
    max_delay: i64,
    resync_time_jump: i64,
    reference_window: i64,
    /// The weight of a new delay sample, `1 / averaging_packets`.
    weight: f64,
    /// `1 / (1 - weight)`: how much each new histogram sample outweighs the last.
    growth: f64,
}

impl<P: JitterPacket> JitterBuffer<P> {
    /// An empty buffer.
    #[must_use]
    pub fn new(cfg: JitterConfig) -> Self {
        let capacity = cfg.capacity.clamp(2, 1 << 16).next_power_of_two();
        let mut slots = Vec::with_capacity(capacity);
        slots.resize_with(capacity, || None);
        let initial = cfg
            .initial_delay
            .clamp(cfg.min_delay, cfg.max_delay.max(cfg.min_delay));
        let mut jb = Self {
            slots,
            mask: capacity as i64 - 1,
            len: 0,
            ext: None,
            next: 0,
            highest: 0,
            playing: false,
            last_played: None,
            epoch: None,
            last_now: None,
            min_transit: 0,
            window_min: 0,
            previous_min: 0,
            window_start: 0,
            mean: 0.0,
            var: 0.0,
            hist: Vec::new(),
            hist_weight: 1.0,
            hist_total: 0.0,
            q_index: 0,
            q_below: 0.0,
            bucket_ticks: 1,
            bucket_inverse: 1.0,
            samples: 0,
            initial_ticks: 0,
            target_ticks: 0,
            limits: TickLimits::default(),
            counters: JitterCounters::default(),
            cfg,
        };
        let min_delay = jb.to_ticks(jb.cfg.min_delay);
        jb.limits = TickLimits {
            min_delay,
            max_delay: jb.to_ticks(jb.cfg.max_delay).max(min_delay),
            resync_time_jump: jb.to_ticks(jb.cfg.resync_time_jump),
            reference_window: jb.to_ticks(jb.cfg.reference_window),
            weight: 1.0 / f64::from(jb.cfg.averaging_packets.max(1)),
            growth: 0.0,
        };
        // With one packet averaged, each sample replaces the others outright:
        // an infinite growth makes the histogram rescale (to that sample alone)
        // every time.
        jb.limits.growth = if jb.limits.weight < 1.0 {
            1.0 / (1.0 - jb.limits.weight)
        } else {
            f64::INFINITY
        };
        jb.initial_ticks = jb.to_ticks(initial);
        jb.target_ticks = jb.initial_ticks;
        jb.bucket_ticks = jb.to_ticks(jb.cfg.histogram_bucket).max(1);
        jb.bucket_inverse = 1.0 / jb.bucket_ticks as f64;
        let buckets = jb.to_ticks(jb.cfg.max_delay) / jb.bucket_ticks + 2;
        jb.hist = vec![0.0; buckets.clamp(2, 4096) as usize];
        jb
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &JitterConfig {
        &self.cfg
    }

    /// Packets buffered.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no packet is buffered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The counters.
    #[must_use]
    pub fn counters(&self) -> JitterCounters {
        self.counters
    }

    /// The current target delay (playout delay over the fastest path).
    #[must_use]
    pub fn target_delay(&self) -> Duration {
        self.to_duration(self.target_ticks)
    }

    /// The measured delay variation: mean and standard deviation.
    #[must_use]
    pub fn delay_variation(&self) -> (Duration, Duration) {
        (
            self.to_duration(self.mean as i64),
            self.to_duration(self.var.sqrt() as i64),
        )
    }

    fn to_ticks(&self, d: Duration) -> i64 {
        let rate = u64::from(self.cfg.clock_rate);
        // 64-bit arithmetic (a multiply by a constant's inverse) while the
        // product fits: days of media at any RTP clock rate; 128-bit beyond.
        match u64::try_from(d.as_nanos()) {
            Ok(nanos) if nanos <= u64::MAX / rate.max(1) => (nanos * rate / 1_000_000_000) as i64,
            _ => (d.as_nanos() * u128::from(rate) / 1_000_000_000) as i64,
        }
    }

    /// `now` in clock ticks since `epoch` (rounded down), remembered for the next
    /// call with the same instant.
    fn ticks_at(&mut self, now: Instant, epoch: Instant) -> i64 {
        if let Some((at, ticks)) = self.last_now
            && at == now
        {
            return ticks;
        }
        let ticks = self.to_ticks(now.saturating_duration_since(epoch));
        self.last_now = Some((now, ticks));
        ticks
    }

    fn to_duration(&self, ticks: i64) -> Duration {
        let rate = u64::from(self.cfg.clock_rate);
        if rate == 0 || ticks <= 0 {
            return Duration::ZERO;
        }
        let ticks = ticks as u64;
        let nanos = if ticks <= u64::MAX / 1_000_000_000 {
            ticks * 1_000_000_000 / rate
        } else {
            (u128::from(ticks) * 1_000_000_000 / u128::from(rate)) as u64
        };
        Duration::from_nanos(nanos)
    }

    fn slot(&self, ext_seq: i64) -> Option<&Slot<P>> {
        self.slots[(ext_seq & self.mask) as usize]
            .as_ref()
            .filter(|s| s.ext_seq == ext_seq)
    }

    fn take(&mut self, ext_seq: i64) -> Option<Slot<P>> {
        let slot = &mut self.slots[(ext_seq & self.mask) as usize];
        if slot.as_ref().is_some_and(|s| s.ext_seq == ext_seq) {
            self.len -= 1;
            slot.take()
        } else {
            None
        }
    }

    fn capacity(&self) -> i64 {
        self.mask + 1
    }

    /// Buffers `packet`, which arrived at `arrival`.
    pub fn insert(&mut self, packet: P, arrival: Instant) -> InsertOutcome {
        self.counters.inserted += 1;
        let seq = packet.sequence();
        let ts = packet.timestamp();
        let (Some(ext), Some(epoch)) = (self.ext, self.epoch) else {
            return self.insert_first(packet, arrival);
        };
        let arrival_ticks = self.ticks_at(arrival, epoch);
        let ext_seq = ext.seq(seq);
        let ext_ts = ext.ts(ts);
        let transit = arrival_ticks - ext_ts;
        let seq_jump = (ext_seq - self.highest).abs() > i64::from(self.cfg.resync_seq_jump);
        let time_jump = (transit - self.min_transit).abs() > self.limits.resync_time_jump;
        if seq_jump || time_jump {
            return self.insert_resync(packet, arrival_ticks, seq_jump, time_jump);
        }
        self.measure(transit, arrival_ticks);
        self.store(packet, ext_seq, ext_ts, InsertOutcome::Buffered)
    }

    /// [`insert`](Self::insert) of the first packet: it sets the epoch and
    /// starts the sequence.
    #[cold]
    #[inline(never)]
    fn insert_first(&mut self, packet: P, arrival: Instant) -> InsertOutcome {
        let epoch = *self.epoch.get_or_insert(arrival);
        let arrival_ticks = self.ticks_at(arrival, epoch);
        let ext = self.restart(packet.sequence(), packet.timestamp(), arrival_ticks);
        let (ext_seq, ext_ts) = (ext.seq(packet.sequence()), ext.ts(packet.timestamp()));
        // A first sample of zero delay, as for every packet that extends the
        // sequence.
        self.measure(arrival_ticks - ext_ts, arrival_ticks);
        self.store(packet, ext_seq, ext_ts, InsertOutcome::Buffered)
    }

    /// [`insert`](Self::insert) of a packet after a sequence or timestamp jump:
    /// flushes what is buffered and restarts from it.
    #[cold]
    #[inline(never)]
    fn insert_resync(
        &mut self,
        packet: P,
        arrival_ticks: i64,
        seq_jump: bool,
        time_jump: bool,
    ) -> InsertOutcome {
        let (seq, ts) = (packet.sequence(), packet.timestamp());
        debug!(
            ?seq,
            ?ts,
            seq_jump,
            time_jump,
            "jitter buffer resynchronizes"
        );
        self.counters.resyncs += 1;
        self.counters.flushed += self.len as u64;
        self.slots.iter_mut().for_each(|s| *s = None);
        self.len = 0;
        let ext = self.restart(seq, ts, arrival_ticks);
        self.store(packet, ext.seq(seq), ext.ts(ts), InsertOutcome::Resynced)
    }

    /// Puts a packet with extended sequence number `ext_seq` and timestamp
    /// `ext_ts` in its slot, unless it is late or a duplicate; `outcome` is
    /// what to report when it is stored.
    fn store(
        &mut self,
        packet: P,
        ext_seq: i64,
        ext_ts: i64,
        outcome: InsertOutcome,
    ) -> InsertOutcome {
        if ext_seq < self.next {
            // Before the head: late once playing, else a reordered early packet.
            if self.playing || self.highest - ext_seq >= self.capacity() {
                self.counters.late += 1;
                return InsertOutcome::Late;
            }
            self.next = ext_seq;
        }
        if self.slot(ext_seq).is_some() {
            self.counters.duplicates += 1;
            return InsertOutcome::Duplicate;
        }
        // Keep the window [next, ext_seq] within capacity: drop the oldest.
        let oldest_allowed = ext_seq - self.capacity() + 1;
        while self.next < oldest_allowed {
            if self.take(self.next).is_some() {
                self.counters.overflow += 1;
            }
            self.next += 1;
        }
        if let Some(e) = self.ext.as_mut() {
            e.record(packet.sequence(), packet.timestamp());
        }
        self.highest = self.highest.max(ext_seq);
        self.slots[(ext_seq & self.mask) as usize] = Some(Slot {
            ext_seq,
            ext_ts,
            packet,
        });
        self.len += 1;
        outcome
    }

    /// Starts (again) from a first packet.
    fn restart(&mut self, seq: SeqNo, ts: Timestamp, arrival_ticks: i64) -> Extender {
        let ext = Extender::new(seq, ts);
        self.ext = Some(ext);
        self.next = ext.seq(seq);
        self.highest = self.next;
        self.playing = false;
        self.last_played = None;
        self.min_transit = arrival_ticks - ext.ts(ts);
        self.window_min = self.min_transit;
        self.previous_min = self.min_transit;
        self.window_start = arrival_ticks;
        self.samples = 0;
        ext
    }

    /// Updates the delay statistics with one packet's transit time.
    fn measure(&mut self, transit: i64, arrival_ticks: i64) {
        // The reference is the fastest transit of the last one to two
        // windows, so it follows clock drift and route changes instead of
        // holding on to a minimum from long ago.
        if arrival_ticks - self.window_start >= self.limits.reference_window {
            self.previous_min = self.window_min;
            self.window_min = transit;
            self.window_start = arrival_ticks;
        } else {
            self.window_min = self.window_min.min(transit);
        }
        self.min_transit = self.window_min.min(self.previous_min);
        let sample = transit - self.min_transit;
        let w = self.limits.weight;
        let d = sample as f64 - self.mean;
        self.mean += w * d;
        self.var = (1.0 - w) * (self.var + w * d * d);
        self.samples = self.samples.saturating_add(1);

        let estimate = match self.cfg.estimator {
            DelayEstimator::MeanDeviation(k) => (self.mean + k * self.var.sqrt()) as i64,
            DelayEstimator::Percentile(q) => self.histogram_quantile(sample, q),
        };
        let (lo, hi) = (self.limits.min_delay, self.limits.max_delay);
        let floor = if self.samples < WARM_UP_SAMPLES {
            self.initial_ticks
        } else {
            0
        };
        self.target_ticks = estimate.max(floor).clamp(lo, hi);
    }

    /// `sample / bucket_ticks` (rounded toward zero, as integer division), by a
    /// multiply and at most one correction step each way.
    fn bucket_of(&self, sample: i64) -> i64 {
        // The float quotient is within one of the exact one for any delay
        // sample (far below 2^52 ticks); the truncating cast saturates.
        #[allow(clippy::cast_possible_truncation)]
        let mut b = (sample as f64 * self.bucket_inverse) as i64;
        let t = self.bucket_ticks;
        if sample >= 0 {
            if b.saturating_mul(t) > sample {
                b -= 1;
            } else if (b + 1).saturating_mul(t) <= sample {
                b += 1;
            }
        }
        b
    }

    /// Adds `sample` to the forgetting histogram and returns its `q` quantile
    /// (the upper edge of the first bucket where the cumulative weight
    /// reaches `q` of the total).
    ///
    /// The quantile bucket and the weight below it are kept between calls
    /// and moved a bucket at a time, so a sample costs O(1) amortized rather
    /// than a scan of the histogram.
    fn histogram_quantile(&mut self, sample: i64, q: f64) -> i64 {
        let last = self.hist.len() - 1;
        let bucket = usize::try_from(self.bucket_of(sample)).map_or(last, |b| b.min(last));
        self.hist_weight *= self.limits.growth;
        if self.hist_weight > 1e100 || !self.hist_weight.is_finite() {
            let scale = 1.0 / self.hist_weight;
            self.hist.iter_mut().for_each(|h| *h *= scale);
            self.hist_total *= scale;
            self.hist_weight = 1.0;
            // Recompute exactly, dropping accumulated rounding.
            self.q_below = self.hist[..self.q_index].iter().sum();
        }
        self.hist[bucket] += self.hist_weight;
        self.hist_total += self.hist_weight;
        if bucket < self.q_index {
            self.q_below += self.hist_weight;
        }
        let goal = q.clamp(0.0, 1.0) * self.hist_total;
        // Invariant: weight below q_index < goal <= weight through q_index.
        while self.q_index < last && self.q_below + self.hist[self.q_index] < goal {
            self.q_below += self.hist[self.q_index];
            self.q_index += 1;
        }
        while self.q_index > 0 && self.q_below >= goal {
            self.q_index -= 1;
            self.q_below -= self.hist[self.q_index];
        }
        (self.q_index as i64 + 1) * self.bucket_ticks
    }

    /// When a packet stamped `ext_ts` plays, in clock ticks since the epoch.
    fn due_ticks(&self, ext_ts: i64) -> i64 {
        ext_ts + self.min_transit + self.target_ticks
    }

    /// The instant of `ticks` since the epoch, rounded up to the nanosecond:
    /// exactly the first instant at which [`pop`](Self::pop), which compares
    /// in ticks rounded down, finds them due.
    fn instant_of(&self, ticks: i64) -> Option<Instant> {
        let epoch = self.epoch?;
        let rate = u64::from(self.cfg.clock_rate);
        if ticks <= 0 || rate == 0 {
            return Some(epoch);
        }
        let nanos = (u128::from(ticks as u64) * 1_000_000_000).div_ceil(u128::from(rate));
        let nanos = u64::try_from(nanos).unwrap_or(u64::MAX);
        Some(
            epoch
                .checked_add(Duration::from_nanos(nanos))
                .unwrap_or(epoch),
        )
    }

    /// The head of the queue: when it is due (clock ticks since the epoch),
    /// and for a gap the interpolated timestamp of the missing packet.
    fn head(&self) -> Option<(i64, Option<i64>)> {
        if self.len == 0 {
            return None;
        }
        if let Some(slot) = self.slot(self.next) {
            return Some((self.due_ticks(slot.ext_ts), None));
        }
        self.gap().map(|(due, est)| (due, Some(est)))
    }

    /// For a head sequence number that has not arrived: when its loss is due
    /// (clock ticks since the epoch) and its timestamp, interpolated between
    /// the last packet played and the next one buffered. `None` when nothing
    /// is buffered after it.
    fn gap(&self) -> Option<(i64, i64)> {
        let (found_seq, found_ts) = (self.next + 1..=self.highest)
            .find_map(|s| self.slot(s).map(|slot| (s, slot.ext_ts)))?;
        let est = match self.last_played {
            Some((ls, lts)) if found_seq > ls => {
                lts + (found_ts - lts) * (self.next - ls) / (found_seq - ls)
            }
            _ => found_ts,
        };
        Some((self.due_ticks(est), est))
    }

    /// When [`pop`](Self::pop) has something next: the playout time of the
    /// head packet or of the gap before the next buffered one. `None` when
    /// empty.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.head().and_then(|(due, _)| self.instant_of(due))
    }

    /// The packet that plays next in sequence order, if it has arrived (whatever
    /// its playout time). Right after a [`Playout::Lost`] this is the packet that
    /// followed the lost one, which may carry forward error correction for it
    /// (Opus in-band FEC, RFC 7587 §3.2).
    #[must_use]
    pub fn peek_next(&self) -> Option<&P> {
        self.slots[(self.next & self.mask) as usize]
            .as_ref()
            .filter(|s| s.ext_seq == self.next)
            .map(|s| &s.packet)
    }

    /// The next packet or loss marker in sequence order, if its playout time
    /// has come by `now`.
    #[inline]
    pub fn pop(&mut self, now: Instant) -> Option<Playout<P>> {
        if self.len == 0 {
            return None;
        }
        // The common case, the head packet present, in line; a gap (a loss
        // marker to time) out of line.
        let index = (self.next & self.mask) as usize;
        let due = match &self.slots[index] {
            Some(slot) if slot.ext_seq == self.next => self.due_ticks(slot.ext_ts),
            _ => return self.pop_gap(now),
        };
        // Compared in ticks: one multiply per call instead of building an
        // `Instant` for the deadline.
        if self.now_ticks(now)? < due {
            return None;
        }
        let slot = self.slots[index].take()?;
        self.len -= 1;
        self.next += 1;
        self.playing = true;
        self.last_played = Some((slot.ext_seq, slot.ext_ts));
        self.counters.played += 1;
        Some(Playout::Packet(slot.packet))
    }

    /// `now` in clock ticks since the epoch (`None` before the first insert).
    fn now_ticks(&mut self, now: Instant) -> Option<i64> {
        match self.last_now {
            Some((at, ticks)) if at == now => Some(ticks),
            _ => {
                let epoch = self.epoch?;
                Some(self.ticks_at(now, epoch))
            }
        }
    }

    /// [`pop`](Self::pop) when the head sequence number has not arrived: a
    /// loss marker once the packet after the gap is due.
    #[cold]
    #[inline(never)]
    fn pop_gap(&mut self, now: Instant) -> Option<Playout<P>> {
        let (due, ts) = self.gap()?;
        if self.now_ticks(now)? < due {
            return None;
        }
        let seq = self.next;
        self.next += 1;
        self.playing = true;
        self.last_played = Some((seq, ts));
        self.counters.lost += 1;
        Some(Playout::Lost {
            seq: SeqNo(seq as u16),
            timestamp: Timestamp(ts as u32),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct P(u16, u32);

    impl JitterPacket for P {
        fn sequence(&self) -> SeqNo {
            SeqNo(self.0)
        }
        fn timestamp(&self) -> Timestamp {
            Timestamp(self.1)
        }
        fn marker(&self) -> bool {
            false
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn bucket_of_equals_integer_division() {
        for rate in [8_000, 16_000, 48_000, 90_000] {
            let jb: JitterBuffer<P> = JitterBuffer::new(JitterConfig::new(rate));
            let t = jb.bucket_ticks;
            for sample in (0..5_000i64).chain((0..200).map(|k| k * t - 1).filter(|s| *s >= 0)) {
                assert_eq!(
                    jb.bucket_of(sample),
                    sample / t,
                    "rate {rate} sample {sample}"
                );
            }
            assert_eq!(jb.bucket_of(-5), -5 / t);
        }
    }

    #[test]
    fn the_deadline_is_exactly_when_pop_first_delivers() {
        // Clock rates whose tick is not a whole number of nanoseconds.
        for rate in [8000, 48_000, 90_000, 44_100] {
            let t0 = Instant::now();
            let mut jb = JitterBuffer::new(JitterConfig::new(rate).with_initial_delay(ms(37)));
            let step = rate / 50;
            for i in 0..40u16 {
                let arrival = t0 + Duration::from_nanos(20_000_000 * u64::from(i) + 1_234);
                jb.insert(P(i, step * u32::from(i)), arrival);
                while let Some(deadline) = jb.poll_timeout() {
                    if deadline > arrival {
                        break;
                    }
                    assert!(
                        jb.pop(deadline).is_some(),
                        "due at its deadline ({rate} Hz)"
                    );
                }
                if let Some(deadline) = jb.poll_timeout() {
                    let just_before = deadline - Duration::from_nanos(1);
                    assert!(jb.pop(just_before).is_none(), "not before ({rate} Hz)");
                    assert!(
                        jb.pop(deadline).is_some(),
                        "due at {deadline:?} ({rate} Hz)"
                    );
                }
            }
        }
    }

    #[test]
    fn peek_next_shows_the_packet_after_a_loss() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterConfig::new(1000).with_initial_delay(ms(40)));
        jb.insert(P(0, 0), t0);
        jb.insert(P(2, 40), t0 + ms(40));
        let late = t0 + ms(200);
        assert_eq!(jb.pop(late), Some(Playout::Packet(P(0, 0))));
        assert_eq!(jb.peek_next(), None, "1 never arrived");
        assert!(matches!(
            jb.pop(late),
            Some(Playout::Lost { seq: SeqNo(1), .. })
        ));
        assert_eq!(jb.peek_next(), Some(&P(2, 40)));
        assert_eq!(jb.pop(late), Some(Playout::Packet(P(2, 40))));
        assert_eq!(jb.peek_next(), None);
    }

    #[test]
    fn percentile_target_follows_delays() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterConfig::new(1000).with_averaging_packets(64));
        // Every fourth packet 100 ms late: 25 % of samples at 100 ms, the 97th
        // percentile is in the 100–105 ms bucket.
        for i in 0..400u16 {
            let late = if i % 4 == 3 { 100 } else { 0 };
            jb.insert(P(i, 20 * u32::from(i)), t0 + ms(20 * u64::from(i) + late));
            while jb.pop(t0 + ms(20 * u64::from(i) + late)).is_some() {}
        }
        assert_eq!(jb.target_delay(), ms(105));
    }

    #[test]
    fn incremental_quantile_matches_a_full_scan() {
        let mut jb: JitterBuffer<P> =
            JitterBuffer::new(JitterConfig::new(1000).with_averaging_packets(16));
        let mut x = 7u64;
        for _ in 0..5000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let sample = ((x >> 33) % 600) as i64;
            let got = jb.histogram_quantile(sample, 0.9);
            let goal = 0.9 * jb.hist_total;
            let mut sum = 0.0;
            let scan = jb.hist.iter().position(|&h| {
                sum += h;
                sum >= goal
            });
            let scan = scan.unwrap_or(jb.hist.len() - 1);
            // Rounding may put the incremental answer one bucket off at an edge.
            assert!(
                (got / 5 - 1).abs_diff(scan as i64) <= 1,
                "{got} vs bucket {scan}"
            );
        }
    }

    #[test]
    fn mean_deviation_target() {
        let t0 = Instant::now();
        let cfg = JitterConfig::new(1000)
            .with_estimator(DelayEstimator::MeanDeviation(2.0))
            .with_averaging_packets(1);
        let mut jb = JitterBuffer::new(cfg);
        // Averaging over one packet: the last sample is the mean, σ = 0.
        for (i, late) in [0u64, 0, 70].into_iter().enumerate() {
            jb.insert(P(i as u16, 20 * i as u32), t0 + ms(20 * i as u64 + late));
        }
        // Still warming up: at least the initial 60 ms.
        assert_eq!(jb.target_delay(), ms(70));
        assert_eq!(jb.delay_variation(), (ms(70), Duration::ZERO));
    }

    #[test]
    fn early_reordered_packet_before_start_moves_head() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterConfig::new(1000));
        jb.insert(P(5, 100), t0);
        assert_eq!(jb.insert(P(4, 80), t0 + ms(1)), InsertOutcome::Buffered);
        assert_eq!(jb.pop(t0 + ms(200)), Some(Playout::Packet(P(4, 80))));
        assert_eq!(jb.pop(t0 + ms(200)), Some(Playout::Packet(P(5, 100))));
        assert_eq!(jb.pop(t0 + ms(200)), None);
    }
}
