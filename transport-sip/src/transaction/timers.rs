//! Timer values (RFC 3261 §17.1.1.1 and Table 4, RFC 6026 §8) and the small per-transaction
//! table of deadlines.

use std::time::{Duration, Instant};

/// The base timer values. Every transaction timer derives from these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// T1, the round-trip time estimate (default 500 ms).
    pub t1: Duration,
    /// T2, the longest retransmission interval for non-INVITE requests and INVITE
    /// responses (default 4 s).
    pub t2: Duration,
    /// T4, the longest time a message stays in the network (default 5 s).
    pub t4: Duration,
}

impl Default for TimerConfig {
    fn default() -> TimerConfig {
        TimerConfig {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

impl TimerConfig {
    /// 64*T1: Timers B, F, H, L, M, and J on unreliable transports.
    pub fn transaction_timeout(&self) -> Duration {
        self.t1.saturating_mul(64)
    }

    /// Timer D: at least 32 s on unreliable transports, zero on reliable ones (§17.1.1.2).
    pub fn timer_d(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            Duration::from_secs(32).max(self.transaction_timeout())
        }
    }

    /// Timers I and K: T4 on unreliable transports, zero on reliable ones (§17.2.1, §17.1.2.2).
    pub fn timer_i_k(&self, reliable: bool) -> Duration {
        if reliable { Duration::ZERO } else { self.t4 }
    }

    /// Timer J: 64*T1 on unreliable transports, zero on reliable ones (§17.2.2).
    pub fn timer_j(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            self.transaction_timeout()
        }
    }
}

/// The transaction timers of RFC 3261 Table 4 and RFC 6026, plus the 200 ms timer after
/// which an INVITE server transaction sends 100 Trying (§17.2.1). Timer C belongs to
/// proxies and is not part of this layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Timer {
    /// INVITE request retransmission, unreliable transports only (§17.1.1.2).
    A,
    /// INVITE client transaction timeout, 64*T1 (§17.1.1.2).
    B,
    /// Wait for response retransmissions after a non-2xx to INVITE (§17.1.1.2).
    D,
    /// Non-INVITE request retransmission, unreliable transports only (§17.1.2.2).
    E,
    /// Non-INVITE client transaction timeout, 64*T1 (§17.1.2.2).
    F,
    /// INVITE final response retransmission, unreliable transports only (§17.2.1).
    G,
    /// Wait for ACK, 64*T1 (§17.2.1).
    H,
    /// Wait for ACK retransmissions (§17.2.1).
    I,
    /// Wait for non-INVITE request retransmissions (§17.2.2).
    J,
    /// Wait for non-INVITE response retransmissions (§17.1.2.2).
    K,
    /// INVITE server transaction in Accepted: wait for INVITE retransmissions (RFC 6026 §8.7).
    L,
    /// INVITE client transaction in Accepted: wait for 2xx retransmissions (RFC 6026 §8.4).
    M,
    /// Send 100 Trying if the TU has not answered an INVITE (§17.2.1).
    Trying,
}

const TIMER_COUNT: usize = 13;

impl Timer {
    const ALL: [Timer; TIMER_COUNT] = [
        Timer::A,
        Timer::B,
        Timer::D,
        Timer::E,
        Timer::F,
        Timer::G,
        Timer::H,
        Timer::I,
        Timer::J,
        Timer::K,
        Timer::L,
        Timer::M,
        Timer::Trying,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// One transaction's timers: a fixed table of deadlines indexed by [`Timer`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Timers {
    at: [Option<Instant>; TIMER_COUNT],
}

impl Timers {
    /// Arms `timer` to fire at `at`, replacing any earlier deadline.
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.at[timer.index()] = Some(at);
    }

    /// Disarms `timer`.
    pub(crate) fn cancel(&mut self, timer: Timer) {
        self.at[timer.index()] = None;
    }

    /// Disarms every timer.
    pub(crate) fn clear(&mut self) {
        self.at = [None; TIMER_COUNT];
    }

    /// The deadline of `timer`, if armed.
    #[cfg(test)]
    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.at[timer.index()]
    }

    /// The earliest armed deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.at.iter().flatten().min().copied()
    }

    /// Disarms and returns the earliest timer due at `now`, with its deadline.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(Timer, Instant)> {
        let (timer, at) = Timer::ALL
            .iter()
            .filter_map(|&t| self.at[t.index()].map(|at| (t, at)))
            .filter(|&(_, at)| at <= now)
            .min_by_key(|&(_, at)| at)?;
        self.cancel(timer);
        Some((timer, at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_derived_values() {
        let c = TimerConfig::default();
        assert_eq!(c.t1, Duration::from_millis(500));
        assert_eq!(c.t2, Duration::from_secs(4));
        assert_eq!(c.t4, Duration::from_secs(5));
        assert_eq!(c.transaction_timeout(), Duration::from_secs(32));
        assert_eq!(c.timer_d(false), Duration::from_secs(32));
        assert_eq!(c.timer_d(true), Duration::ZERO);
        assert_eq!(c.timer_i_k(false), Duration::from_secs(5));
        assert_eq!(c.timer_i_k(true), Duration::ZERO);
        assert_eq!(c.timer_j(false), Duration::from_secs(32));
        assert_eq!(c.timer_j(true), Duration::ZERO);
    }

    #[test]
    fn table_pops_earliest_due_first() {
        let t0 = Instant::now();
        let mut t = Timers::default();
        t.set(Timer::B, t0 + Duration::from_secs(32));
        t.set(Timer::A, t0 + Duration::from_millis(500));
        assert_eq!(t.next(), Some(t0 + Duration::from_millis(500)));
        assert_eq!(t.pop_due(t0), None);
        let later = t0 + Duration::from_secs(40);
        assert_eq!(
            t.pop_due(later),
            Some((Timer::A, t0 + Duration::from_millis(500)))
        );
        assert_eq!(
            t.pop_due(later),
            Some((Timer::B, t0 + Duration::from_secs(32)))
        );
        assert_eq!(t.pop_due(later), None);
        assert_eq!(t.next(), None);
    }
}
