//! The INVITE client transaction (RFC 3261 §17.1.1, Figure 5, as amended by RFC 6026
//! §8.4: a 2xx moves it to Accepted, where later 2xx responses still reach the TU until
//! Timer M fires).

use std::time::{Duration, Instant};

use bytes::Bytes;
use tracing::{debug, trace};

use super::key::TransactionKey;
use super::output::{Event, Outbox};
use super::peer::Peer;
use super::response::ack_for;
use super::state::State;
use super::timers::{Timer, TimerConfig, Timers};
use crate::message::{Request, Response};

/// An INVITE client transaction.
#[derive(Debug)]
pub(crate) struct InviteClient {
    key: TransactionKey,
    config: TimerConfig,
    peer: Peer,
    /// The INVITE, kept to build the ACK (§17.1.1.3) and CANCEL (§9.1).
    request: Request,
    payload: Bytes,
    state: State,
    timers: Timers,
    /// The current Timer A interval.
    interval: Duration,
    /// The ACK sent for the non-2xx final response, resent for its retransmissions.
    ack: Option<Bytes>,
}

impl InviteClient {
    /// Enters Calling: sends the INVITE, arms A (unreliable only) and B (§17.1.1.2).
    pub(crate) fn start(
        key: TransactionKey,
        config: TimerConfig,
        request: Request,
        peer: Peer,
        now: Instant,
        out: &mut Outbox,
    ) -> InviteClient {
        let payload = request.to_bytes();
        out.send(Some(key), peer, payload.clone());
        let mut timers = Timers::default();
        if !peer.is_reliable() {
            timers.set(Timer::A, now + config.t1);
        }
        timers.set(Timer::B, now + config.transaction_timeout());
        InviteClient {
            key,
            config,
            peer,
            request,
            payload,
            state: State::Calling,
            timers,
            interval: config.t1,
            ack: None,
        }
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

    pub(crate) fn request(&self) -> &Request {
        &self.request
    }

    pub(crate) fn peer(&self) -> Peer {
        self.peer
    }

    /// A response matched to this transaction.
    pub(crate) fn on_response(&mut self, response: Response, now: Instant, out: &mut Outbox) {
        let code = response.status().as_u16();
        match (self.state, code) {
            (State::Calling | State::Proceeding, 100..=199) => {
                // §17.1.1.2: no more retransmissions once a provisional arrived; Timer B
                // only applies in Calling.
                self.state = State::Proceeding;
                self.timers.cancel(Timer::A);
                self.timers.cancel(Timer::B);
                self.to_tu(response, out);
            }
            (State::Calling | State::Proceeding, 200..=299) => {
                // RFC 6026 §8.4: Accepted, Timer M; the TU sends the ACK.
                self.state = State::Accepted;
                self.timers.clear();
                self.timers
                    .set(Timer::M, now + self.config.transaction_timeout());
                self.to_tu(response, out);
            }
            (State::Calling | State::Proceeding, _) => {
                let ack = ack_for(&self.request, &response).to_bytes();
                out.send(Some(self.key), self.peer, ack.clone());
                self.ack = Some(ack);
                self.timers.clear();
                self.to_tu(response, out);
                let d = self.config.timer_d(self.peer.is_reliable());
                if d.is_zero() {
                    self.state = State::Terminated;
                } else {
                    self.state = State::Completed;
                    self.timers.set(Timer::D, now + d);
                }
            }
            (State::Accepted, 200..=299) => self.to_tu(response, out),
            (State::Completed, 300..) => {
                trace!(key = %self.key, "final response retransmitted: ACK again");
                if let Some(ack) = &self.ack {
                    out.send(Some(self.key), self.peer, ack.clone());
                }
            }
            _ => trace!(key = %self.key, code, state = ?self.state, "response absorbed"),
        }
    }

    fn to_tu(&self, response: Response, out: &mut Outbox) {
        out.event(Event::Response {
            key: self.key,
            response,
        });
    }

    /// A timer of this transaction fired; `deadline` is when it was due.
    pub(crate) fn on_timer(&mut self, timer: Timer, deadline: Instant, out: &mut Outbox) {
        match (self.state, timer) {
            (State::Calling, Timer::A) => {
                // §17.1.1.2: retransmit and double the interval (no T2 cap for INVITE).
                out.send(Some(self.key), self.peer, self.payload.clone());
                self.interval = self.interval.saturating_mul(2);
                self.timers.set(Timer::A, deadline + self.interval);
            }
            (State::Calling, Timer::B) => {
                debug!(key = %self.key, "Timer B: INVITE timed out");
                out.event(Event::Timeout {
                    key: self.key,
                    timer,
                });
                self.terminate();
            }
            (State::Completed, Timer::D) | (State::Accepted, Timer::M) => self.terminate(),
            _ => {}
        }
    }

    /// The transport failed to send a message of this transaction.
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
    use crate::message::{Method, StatusCode};
    use crate::transaction::fixtures::*;
    use crate::transaction::response::response_for;

    struct Harness {
        tx: InviteClient,
        out: Outbox,
        t0: Instant,
        invite: Request,
    }

    fn harness(peer: Peer) -> Harness {
        let t0 = start();
        let invite = request(Method::Invite, "z9hG4bKic", "192.0.2.1:5060");
        let mut out = Outbox::default();
        let tx = InviteClient::start(
            TransactionKey(1),
            TimerConfig::default(),
            invite.clone(),
            peer,
            t0,
            &mut out,
        );
        Harness {
            tx,
            out,
            t0,
            invite,
        }
    }

    impl Harness {
        /// Fires every timer due at `now`.
        fn advance(&mut self, now: Instant) {
            while let Some((t, at)) = self.tx.timers.pop_due(now) {
                self.tx.on_timer(t, at, &mut self.out);
            }
        }
        fn respond(&mut self, code: u16, now: Instant) {
            let r = response_for(
                &self.invite,
                StatusCode::new(code).expect("code"),
                Some("b"),
            );
            self.tx.on_response(r, now, &mut self.out);
        }
        fn sent(&mut self) -> usize {
            self.out.transmits.drain(..).count()
        }
    }

    #[test]
    fn timer_a_doubles_until_timer_b() {
        let mut h = harness(udp_server());
        assert_eq!(h.sent(), 1);
        // A fires at T1, 3T1, 7T1, 15T1, 31T1, 63T1: intervals 1, 2, 4, 8, 16, 32 T1.
        let mut fired_at = Vec::new();
        for step in 0..=64_000u64 / 50 {
            let now = h.t0 + ms(step * 50);
            h.advance(now);
            if h.sent() > 0 {
                fired_at.push(step * 50);
            }
        }
        assert_eq!(fired_at, [500, 1500, 3500, 7500, 15500, 31500]);
        assert_eq!(h.tx.state(), State::Terminated);
        let timeouts: Vec<_> = h.out.events.iter().collect();
        assert_eq!(
            timeouts,
            [&Event::Timeout {
                key: TransactionKey(1),
                timer: Timer::B
            }]
        );
    }

    #[test]
    fn timer_b_fires_at_64_t1_exactly() {
        let mut h = harness(udp_server());
        h.advance(h.t0 + ms(31_999));
        assert_eq!(h.tx.state(), State::Calling);
        h.advance(h.t0 + ms(32_000));
        assert_eq!(h.tx.state(), State::Terminated);
    }

    #[test]
    fn reliable_transport_never_retransmits() {
        let mut h = harness(tcp_server());
        assert_eq!(h.sent(), 1);
        assert_eq!(h.tx.timers().get(Timer::A), None);
        h.advance(h.t0 + ms(31_999));
        assert_eq!(h.sent(), 0);
        h.advance(h.t0 + ms(32_000));
        assert_eq!(h.tx.state(), State::Terminated);
    }

    #[test]
    fn provisional_stops_retransmission_and_timer_b() {
        let mut h = harness(udp_server());
        h.sent();
        h.respond(180, h.t0 + ms(100));
        assert_eq!(h.tx.state(), State::Proceeding);
        assert!(matches!(
            h.out.events.pop_front(),
            Some(Event::Response { .. })
        ));
        h.advance(h.t0 + ms(120_000));
        assert_eq!(h.sent(), 0);
        assert_eq!(h.tx.state(), State::Proceeding);
    }

    #[test]
    fn non_2xx_is_acked_and_timer_d_is_32s_on_udp() {
        let mut h = harness(udp_server());
        h.sent();
        h.respond(486, h.t0 + ms(100));
        assert_eq!(h.tx.state(), State::Completed);
        let ack = sent_request(&h.out.transmits.pop_front().expect("ACK sent"));
        assert_eq!(ack.method(), &Method::Ack);
        assert_eq!(ack.to().and_then(|t| t.tag()), Some("b"));
        assert_eq!(h.out.events.len(), 1);
        // A retransmitted 486 is ACKed again and not passed up.
        h.respond(486, h.t0 + ms(600));
        assert_eq!(h.sent(), 1);
        assert_eq!(h.out.events.len(), 1);
        h.advance(h.t0 + ms(32_099));
        assert_eq!(h.tx.state(), State::Completed);
        h.advance(h.t0 + ms(32_100));
        assert_eq!(h.tx.state(), State::Terminated);
    }

    #[test]
    fn non_2xx_on_tcp_terminates_at_once() {
        let mut h = harness(tcp_server());
        h.sent();
        h.respond(603, h.t0 + ms(100));
        assert_eq!(h.sent(), 1, "ACK still sent");
        assert_eq!(h.tx.state(), State::Terminated);
    }

    #[test]
    fn accepted_passes_every_2xx_until_timer_m() {
        let mut h = harness(udp_server());
        h.sent();
        h.respond(200, h.t0 + ms(100));
        assert_eq!(h.tx.state(), State::Accepted);
        assert_eq!(h.sent(), 0, "the TU sends the ACK for a 2xx");
        h.respond(200, h.t0 + ms(600));
        h.respond(486, h.t0 + ms(700));
        let codes: Vec<u16> = h
            .out
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Response { response, .. } => Some(response.status().as_u16()),
                _ => None,
            })
            .collect();
        assert_eq!(codes, [200, 200]);
        h.advance(h.t0 + ms(32_099));
        assert_eq!(h.tx.state(), State::Accepted);
        h.advance(h.t0 + ms(32_100));
        assert_eq!(h.tx.state(), State::Terminated);
    }

    #[test]
    fn transport_error_terminates() {
        let mut h = harness(udp_server());
        h.tx.on_transport_error(&mut h.out);
        assert_eq!(h.tx.state(), State::Terminated);
        assert_eq!(
            h.out.events.pop_front(),
            Some(Event::TransportError {
                key: TransactionKey(1)
            })
        );
    }
}
