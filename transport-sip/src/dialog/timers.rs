//! Time-driven dialog rules: the UAS 2xx retransmission timer (RFC 3261 §13.3.1.4)
//! and the glare retry delay (§14.1).

use std::time::{Duration, Instant};

/// T1, the RTT estimate (§17.1.1.1): 500 ms.
pub const T1: Duration = Duration::from_millis(500);
/// T2, the longest retransmit interval for non-INVITE requests and INVITE responses: 4 s.
pub const T2: Duration = Duration::from_secs(4);

/// What the UAS core does when [`Retransmit2xx`] fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retransmit2xxAction {
    /// Send the 2xx again.
    Retransmit,
    /// No ACK within 64*T1: stop, and end the session with BYE (§13.3.1.4).
    GiveUp,
}

/// The UAS 2xx retransmission timer (§13.3.1.4): the 2xx is resent after T1, then at
/// intervals doubling up to T2, until the ACK arrives; 64*T1 after the first send the
/// UAS gives up.
#[derive(Debug, Clone)]
pub struct Retransmit2xx {
    next: Option<Instant>,
    interval: Duration,
    give_up_at: Instant,
    t2: Duration,
    retransmissions: u32,
}

impl Retransmit2xx {
    /// Starts when the 2xx is first sent at `now`, with the standard T1 and T2.
    pub fn new(now: Instant) -> Retransmit2xx {
        Retransmit2xx::with_timers(now, T1, T2)
    }

    /// Starts with other T1 and T2 values (§17.1.1.1 allows tuning them).
    pub fn with_timers(now: Instant, t1: Duration, t2: Duration) -> Retransmit2xx {
        Retransmit2xx {
            next: Some(now + t1),
            interval: t1,
            give_up_at: now + t1 * 64,
            t2,
            retransmissions: 0,
        }
    }

    /// The next deadline, or `None` once the ACK arrived or the timer gave up.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next.map(|n| n.min(self.give_up_at))
    }

    /// Retransmissions so far.
    pub fn retransmissions(&self) -> u32 {
        self.retransmissions
    }

    /// The ACK arrived: stop.
    pub fn handle_ack(&mut self) {
        self.next = None;
    }

    /// Called at or after [`poll_timeout`](Self::poll_timeout); `None` if nothing is due.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<Retransmit2xxAction> {
        let next = self.next?;
        if now >= self.give_up_at {
            self.next = None;
            tracing::debug!(retransmissions = self.retransmissions, "no ACK for 2xx");
            return Some(Retransmit2xxAction::GiveUp);
        }
        if now < next {
            return None;
        }
        self.interval = (self.interval * 2).min(self.t2);
        self.next = Some(next + self.interval);
        self.retransmissions += 1;
        Some(Retransmit2xxAction::Retransmit)
    }
}

/// How long to wait before retrying a re-INVITE answered with 491 (§14.1): 2.1 to 4 s
/// in 10 ms steps for the owner of the Call-ID (the UAC that created the dialog, see
/// [`Dialog::owns_call_id`](super::Dialog::owns_call_id)), 0 to 2 s for the other side.
pub fn glare_retry_delay(owns_call_id: bool, rng: &mut impl rand::RngCore) -> Duration {
    let (low, steps) = if owns_call_id { (210, 190) } else { (0, 200) };
    // Modulo bias over u32 for 191 or 201 values is below 1e-7; irrelevant here.
    let tens = low + rng.next_u32() % (steps + 1);
    Duration::from_millis(u64::from(tens) * 10)
}
