//! The non-INVITE client transaction (RFC 3261 §17.1.2, Figure 6).

use std::time::{Duration, Instant};

use bytes::Bytes;
use tracing::{debug, trace};

use super::key::TransactionKey;
use super::output::{Event, Outbox};
use super::peer::Peer;
use super::state::State;
use super::timers::{Timer, TimerConfig, Timers};
use crate::message::Response;

/// A non-INVITE client transaction.
#[derive(Debug)]
pub(crate) struct NonInviteClient {
    key: TransactionKey,
    config: TimerConfig,
    peer: Peer,
    payload: Bytes,
    state: State,
    timers: Timers,
    /// The current Timer E interval.
    interval: Duration,
}

impl NonInviteClient {
    /// Enters Trying: sends the request, arms E (unreliable only) and F (§17.1.2.2).
    pub(crate) fn start(
        key: TransactionKey,
        config: TimerConfig,
        payload: Bytes,
        peer: Peer,
        now: Instant,
        out: &mut Outbox,
    ) -> NonInviteClient {
        let mut tx = NonInviteClient::pending(key, config, payload, peer);
        tx.begin(now, out);
        tx
    }

    /// A transaction that exists but has sent nothing yet: a CANCEL waiting for the
    /// INVITE's first provisional response (§9.1). [`begin`](Self::begin) starts it.
    pub(crate) fn pending(
        key: TransactionKey,
        config: TimerConfig,
        payload: Bytes,
        peer: Peer,
    ) -> NonInviteClient {
        NonInviteClient {
            key,
            config,
            peer,
            payload,
            state: State::Trying,
            timers: Timers::default(),
            interval: config.t1,
        }
    }

    /// Sends the request and arms E (unreliable only) and F (§17.1.2.2).
    pub(crate) fn begin(&mut self, now: Instant, out: &mut Outbox) {
        out.send(Some(self.key), self.peer, self.payload.clone());
        if !self.peer.is_reliable() {
            self.timers.set(Timer::E, now + self.config.t1);
        }
        self.timers
            .set(Timer::F, now + self.config.transaction_timeout());
    }

    pub(crate) fn state(&self) -> State {
        self.state
    }

    pub(crate) fn timers(&self) -> &Timers {
        &self.timers
    }

    /// Fires every timer due at `now`, earliest first, until the transaction terminates.
    pub(crate) fn fire_due(&mut self, now: Instant, out: &mut Outbox) {
        while self.state != State::Terminated {
            let Some((timer, deadline)) = self.timers.pop_due(now) else {
                break;
            };
            self.on_timer(timer, deadline, out);
        }
    }

    /// A response matched to this transaction.
    pub(crate) fn on_response(&mut self, response: Response, now: Instant, out: &mut Outbox) {
        if !matches!(self.state, State::Trying | State::Proceeding) {
            trace!(key = %self.key, "response retransmission absorbed");
            return;
        }
        if response.status().is_provisional() {
            self.state = State::Proceeding;
        } else {
            self.timers.clear();
            let k = self.config.timer_i_k(self.peer.is_reliable());
            if k.is_zero() {
                self.state = State::Terminated;
            } else {
                self.state = State::Completed;
                self.timers.set(Timer::K, now + k);
            }
        }
        out.event(Event::Response {
            key: self.key,
            response,
        });
    }

    /// A timer of this transaction fired; `deadline` is when it was due.
    pub(crate) fn on_timer(&mut self, timer: Timer, deadline: Instant, out: &mut Outbox) {
        match (self.state, timer) {
            (State::Trying | State::Proceeding, Timer::E) => {
                // §17.1.2.2: double up to T2 in Trying; T2 in Proceeding.
                out.send(Some(self.key), self.peer, self.payload.clone());
                self.interval = if self.state == State::Trying {
                    self.interval.saturating_mul(2).min(self.config.t2)
                } else {
                    self.config.t2
                };
                self.timers.set(Timer::E, deadline + self.interval);
            }
            (State::Trying | State::Proceeding, Timer::F) => {
                debug!(key = %self.key, "Timer F: request timed out");
                out.event(Event::Timeout {
                    key: self.key,
                    timer,
                });
                self.terminate();
            }
            (State::Completed, Timer::K) => self.terminate(),
            _ => {}
        }
    }

    /// The transport failed to send the request.
    pub(crate) fn on_transport_error(&mut self, out: &mut Outbox) {
        out.event(Event::TransportError { key: self.key });
        self.terminate();
    }

    fn terminate(&mut self) {
        self.state = State::Terminated;
        self.timers.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Method, Request, StatusCode};
    use crate::transaction::fixtures::*;
    use crate::transaction::response::response_for;

    struct Harness {
        tx: NonInviteClient,
        out: Outbox,
        t0: Instant,
        req: Request,
    }

    fn harness(peer: Peer) -> Harness {
        let t0 = start();
        let req = request(Method::Options, "z9hG4bKnic", "192.0.2.1:5060");
        let mut out = Outbox::default();
        let tx = NonInviteClient::start(
            TransactionKey(2),
            TimerConfig::default(),
            req.to_bytes(),
            peer,
            t0,
            &mut out,
        );
        Harness { tx, out, t0, req }
    }

    impl Harness {
        fn advance(&mut self, now: Instant) {
            while let Some((t, at)) = self.tx.timers.pop_due(now) {
                self.tx.on_timer(t, at, &mut self.out);
            }
        }
        fn respond(&mut self, code: u16, now: Instant) {
            let r = response_for(&self.req, StatusCode::new(code).expect("code"), Some("b"));
            self.tx.on_response(r, now, &mut self.out);
        }
        /// Milliseconds after t0 at which the request was (re)sent, stepping 50 ms.
        fn sends_until(&mut self, end_ms: u64) -> Vec<u64> {
            let mut at = Vec::new();
            for step in 1..=end_ms / 50 {
                self.advance(self.t0 + ms(step * 50));
                for _ in self.out.transmits.drain(..) {
                    at.push(step * 50);
                }
            }
            at
        }
    }

    #[test]
    fn timer_e_doubles_to_t2_then_timer_f() {
        let mut h = harness(udp_server());
        h.out.transmits.clear();
        let at = h.sends_until(40_000);
        // Intervals 0.5, 1, 2, 4, 4, ... s: sends at 0.5, 1.5, 3.5, 7.5, 11.5, ... 31.5 s.
        assert_eq!(
            at,
            [
                500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500
            ]
        );
        assert_eq!(h.tx.state(), State::Terminated);
        assert_eq!(
            h.out.events.pop_front(),
            Some(Event::Timeout {
                key: TransactionKey(2),
                timer: Timer::F
            })
        );
    }

    #[test]
    fn timer_f_fires_at_64_t1_on_tcp_without_retransmissions() {
        let mut h = harness(tcp_server());
        h.out.transmits.clear();
        let at = h.sends_until(31_950);
        assert!(at.is_empty());
        assert_eq!(h.tx.state(), State::Trying);
        h.advance(h.t0 + ms(32_000));
        assert_eq!(h.tx.state(), State::Terminated);
    }

    #[test]
    fn proceeding_retransmits_every_t2() {
        let mut h = harness(udp_server());
        h.out.transmits.clear();
        h.respond(100, h.t0 + ms(100));
        assert_eq!(h.tx.state(), State::Proceeding);
        // E was armed for 0.5 s; in Proceeding each firing re-arms it with T2.
        let at = h.sends_until(13_000);
        assert_eq!(at, [500, 4500, 8500, 12500]);
    }

    #[test]
    fn final_response_then_timer_k() {
        let mut h = harness(udp_server());
        h.respond(200, h.t0 + ms(100));
        assert_eq!(h.tx.state(), State::Completed);
        h.respond(200, h.t0 + ms(200));
        let responses = h
            .out
            .events
            .iter()
            .filter(|e| matches!(e, Event::Response { .. }))
            .count();
        assert_eq!(responses, 1, "retransmitted final absorbed");
        h.advance(h.t0 + ms(5_099));
        assert_eq!(h.tx.state(), State::Completed);
        h.advance(h.t0 + ms(5_100));
        assert_eq!(h.tx.state(), State::Terminated);
    }

    #[test]
    fn timer_k_is_zero_on_tcp() {
        let mut h = harness(tcp_server());
        h.respond(404, h.t0 + ms(100));
        assert_eq!(h.tx.state(), State::Terminated);
    }
}
