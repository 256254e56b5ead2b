//! The INVITE server transaction (RFC 3261 §17.2.1, Figure 7, as amended by RFC 6026
//! §8.5-§8.7: a 2xx moves it to Accepted, where the TU's 2xx retransmissions are sent,
//! INVITE retransmissions absorbed and ACKs passed to the TU until Timer L fires).

use std::time::{Duration, Instant};

use bytes::Bytes;
use tracing::{debug, trace};

use super::error::TransactionError;
use super::key::TransactionKey;
use super::output::{Event, Outbox};
use super::peer::Peer;
use super::state::State;
use super::timers::{Timer, TimerConfig, Timers};
use crate::message::{Request, Response};

/// An INVITE server transaction.
#[derive(Debug)]
pub(crate) struct InviteServer {
    key: TransactionKey,
    config: TimerConfig,
    /// Where responses go (§18.2.2).
    destination: Peer,
    state: State,
    timers: Timers,
    /// The 100 Trying sent if the TU is silent for the configured delay.
    trying: Option<Bytes>,
    /// The most recent response sent, resent on INVITE retransmissions.
    last_response: Option<Bytes>,
    /// The current Timer G interval.
    interval: Duration,
    /// The To tag of the final response, matched by the ACK.
    to_tag: Option<String>,
}

impl InviteServer {
    /// Enters Proceeding (§17.2.1) and arms the 100 Trying timer.
    pub(crate) fn start(
        key: TransactionKey,
        config: TimerConfig,
        trying: Bytes,
        trying_delay: Duration,
        destination: Peer,
        now: Instant,
    ) -> InviteServer {
        let mut timers = Timers::default();
        timers.set(Timer::Trying, now + trying_delay);
        InviteServer {
            key,
            config,
            destination,
            state: State::Proceeding,
            timers,
            trying: Some(trying),
            last_response: None,
            interval: config.t1,
            to_tag: None,
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

    /// The To tag of the final response sent, if any.
    pub(crate) fn to_tag(&self) -> Option<&str> {
        self.to_tag.as_deref()
    }

    /// A retransmission of the INVITE arrived.
    pub(crate) fn on_retransmission(&mut self, out: &mut Outbox) {
        match self.state {
            // §17.2.1: resend the most recent provisional (Proceeding) or the final
            // response (Completed). RFC 6026 §8.7: absorbed in Accepted.
            State::Proceeding | State::Completed => {
                if let Some(last) = &self.last_response {
                    trace!(key = %self.key, "INVITE retransmitted: resending last response");
                    out.send(Some(self.key), self.destination, last.clone());
                }
            }
            _ => trace!(key = %self.key, state = ?self.state, "INVITE retransmission absorbed"),
        }
    }

    /// An ACK matched this transaction. Returns it if the TU must see it: an ACK in
    /// Accepted acknowledges a 2xx (RFC 6026 §8.7).
    pub(crate) fn on_ack(&mut self, ack: Request, now: Instant) -> Option<Request> {
        match self.state {
            State::Completed => {
                self.timers.clear();
                let i = self.config.timer_i_k(self.destination.is_reliable());
                if i.is_zero() {
                    self.state = State::Terminated;
                } else {
                    self.state = State::Confirmed;
                    self.timers.set(Timer::I, now + i);
                }
                None
            }
            State::Accepted => Some(ack),
            _ => {
                trace!(key = %self.key, state = ?self.state, "ACK absorbed");
                None
            }
        }
    }

    /// The TU sends `response`.
    pub(crate) fn respond(
        &mut self,
        response: &Response,
        now: Instant,
        out: &mut Outbox,
    ) -> Result<(), TransactionError> {
        let status = response.status();
        let code = status.as_u16();
        match (self.state, code) {
            (State::Proceeding, 100..=199) => {
                self.timers.cancel(Timer::Trying);
                self.send(response.to_bytes(), out);
            }
            (State::Proceeding, 200..=299) => {
                self.timers.clear();
                self.to_tag = response.to().and_then(|t| t.tag()).map(str::to_owned);
                self.send(response.to_bytes(), out);
                self.state = State::Accepted;
                self.timers
                    .set(Timer::L, now + self.config.transaction_timeout());
            }
            (State::Proceeding, _) => {
                self.timers.clear();
                self.to_tag = response.to().and_then(|t| t.tag()).map(str::to_owned);
                self.send(response.to_bytes(), out);
                self.state = State::Completed;
                if !self.destination.is_reliable() {
                    self.timers.set(Timer::G, now + self.config.t1);
                }
                self.timers
                    .set(Timer::H, now + self.config.transaction_timeout());
            }
            // RFC 6026 §8.5: 2xx retransmissions from the TU (or further 2xx) are sent.
            (State::Accepted, 200..=299) => {
                out.send(Some(self.key), self.destination, response.to_bytes())
            }
            (state, _) => {
                return Err(TransactionError::InvalidState {
                    key: self.key,
                    status,
                    state,
                });
            }
        }
        self.trying = None;
        Ok(())
    }

    fn send(&mut self, payload: Bytes, out: &mut Outbox) {
        out.send(Some(self.key), self.destination, payload.clone());
        self.last_response = Some(payload);
    }

    /// A timer of this transaction fired; `deadline` is when it was due.
    pub(crate) fn on_timer(&mut self, timer: Timer, deadline: Instant, out: &mut Outbox) {
        match (self.state, timer) {
            (State::Proceeding, Timer::Trying) => {
                if let Some(trying) = self.trying.take() {
                    debug!(key = %self.key, "TU silent: sending 100 Trying");
                    self.send(trying, out);
                }
            }
            (State::Completed, Timer::G) => {
                if let Some(last) = &self.last_response {
                    out.send(Some(self.key), self.destination, last.clone());
                }
                self.interval = self.interval.saturating_mul(2).min(self.config.t2);
                self.timers.set(Timer::G, deadline + self.interval);
            }
            (State::Completed, Timer::H) => {
                debug!(key = %self.key, "Timer H: no ACK");
                out.event(Event::Timeout {
                    key: self.key,
                    timer,
                });
                self.terminate();
            }
            (State::Confirmed, Timer::I) | (State::Accepted, Timer::L) => self.terminate(),
            _ => {}
        }
    }

    /// The transport failed to send a response. In Accepted the TU owns 2xx delivery,
    /// so the transaction stays to absorb INVITE retransmissions (RFC 6026 §8.7).
    pub(crate) fn on_transport_error(&mut self, out: &mut Outbox) {
        out.event(Event::TransportError { key: self.key });
        if self.state != State::Accepted {
            self.terminate();
        }
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
        tx: InviteServer,
        out: Outbox,
        t0: Instant,
        invite: Request,
    }

    fn harness(destination: Peer) -> Harness {
        let t0 = start();
        let invite = request(Method::Invite, "z9hG4bKis", "192.0.2.1:5060");
        let trying = response_for(&invite, StatusCode::TRYING, None).to_bytes();
        let tx = InviteServer::start(
            TransactionKey(3),
            TimerConfig::default(),
            trying,
            ms(200),
            destination,
            t0,
        );
        Harness {
            tx,
            out: Outbox::default(),
            t0,
            invite,
        }
    }

    impl Harness {
        fn advance(&mut self, now: Instant) {
            while let Some((t, at)) = self.tx.timers.pop_due(now) {
                self.tx.on_timer(t, at, &mut self.out);
            }
        }
        fn respond(&mut self, code: u16, now: Instant) -> Result<(), TransactionError> {
            let r = response_for(
                &self.invite,
                StatusCode::new(code).expect("code"),
                Some("s"),
            );
            self.tx.respond(&r, now, &mut self.out)
        }
        fn sent_codes(&mut self) -> Vec<u16> {
            self.out
                .transmits
                .drain(..)
                .map(|t| sent_response(&t).status().as_u16())
                .collect()
        }
        fn ack(&self) -> Request {
            request(Method::Ack, "z9hG4bKis", "192.0.2.1:5060")
        }
    }

    #[test]
    fn trying_after_200ms_of_silence_only() {
        let mut h = harness(udp_server());
        h.advance(h.t0 + ms(199));
        assert!(h.sent_codes().is_empty());
        h.advance(h.t0 + ms(200));
        assert_eq!(h.sent_codes(), [100]);
        // The 100 is the most recent provisional: resent on retransmission.
        h.tx.on_retransmission(&mut h.out);
        assert_eq!(h.sent_codes(), [100]);

        let mut h = harness(udp_server());
        h.respond(180, h.t0 + ms(50)).expect("provisional");
        h.advance(h.t0 + ms(1_000));
        assert_eq!(h.sent_codes(), [180], "no 100 once the TU answered");
    }

    #[test]
    fn timer_g_doubles_to_t2_and_timer_h_times_out() {
        let mut h = harness(udp_server());
        h.respond(486, h.t0).expect("final");
        assert_eq!(h.tx.state(), State::Completed);
        h.out.transmits.clear();
        let mut at = Vec::new();
        for step in 1..=33_000u64 / 50 {
            h.advance(h.t0 + ms(step * 50));
            for _ in h.out.transmits.drain(..) {
                at.push(step * 50);
            }
        }
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
                key: TransactionKey(3),
                timer: Timer::H
            })
        );
    }

    #[test]
    fn timer_h_at_64_t1() {
        let mut h = harness(tcp_server());
        h.respond(404, h.t0).expect("final");
        h.advance(h.t0 + ms(31_999));
        assert_eq!(h.tx.state(), State::Completed);
        assert_eq!(h.sent_codes(), [404], "no Timer G on TCP");
        h.advance(h.t0 + ms(32_000));
        assert_eq!(h.tx.state(), State::Terminated);
    }

    #[test]
    fn lost_final_is_resent_on_invite_retransmission() {
        let mut h = harness(udp_server());
        h.respond(480, h.t0 + ms(10)).expect("final");
        h.out.transmits.clear(); // lost
        h.tx.on_retransmission(&mut h.out);
        assert_eq!(h.sent_codes(), [480]);
    }

    #[test]
    fn ack_confirms_then_timer_i() {
        let mut h = harness(udp_server());
        h.respond(486, h.t0).expect("final");
        assert_eq!(h.tx.on_ack(h.ack(), h.t0 + ms(100)), None);
        assert_eq!(h.tx.state(), State::Confirmed);
        // Confirmed: G no longer fires, ACK retransmissions are absorbed.
        h.out.transmits.clear();
        assert_eq!(h.tx.on_ack(h.ack(), h.t0 + ms(200)), None);
        h.advance(h.t0 + ms(5_099));
        assert!(h.sent_codes().is_empty());
        assert_eq!(h.tx.state(), State::Confirmed);
        h.advance(h.t0 + ms(5_100));
        assert_eq!(h.tx.state(), State::Terminated);
        assert!(h.out.events.is_empty(), "no event for an absorbed ACK");
    }

    #[test]
    fn timer_i_is_zero_on_tcp() {
        let mut h = harness(tcp_server());
        h.respond(486, h.t0).expect("final");
        h.tx.on_ack(h.ack(), h.t0 + ms(100));
        assert_eq!(h.tx.state(), State::Terminated);
    }

    #[test]
    fn accepted_sends_tu_retransmissions_absorbs_invites_and_timer_l() {
        let mut h = harness(udp_server());
        h.respond(200, h.t0).expect("2xx");
        assert_eq!(h.tx.state(), State::Accepted);
        assert_eq!(h.tx.to_tag(), Some("s"));
        assert_eq!(h.sent_codes(), [200]);
        h.tx.on_retransmission(&mut h.out);
        assert!(h.sent_codes().is_empty(), "INVITE absorbed in Accepted");
        h.respond(200, h.t0 + ms(500)).expect("TU retransmission");
        assert_eq!(h.sent_codes(), [200]);
        assert!(h.respond(486, h.t0 + ms(600)).is_err());
        let ack = h.tx.on_ack(h.ack(), h.t0 + ms(700));
        assert!(ack.is_some(), "ACK for 2xx goes to the TU");
        h.advance(h.t0 + ms(31_999));
        assert_eq!(h.tx.state(), State::Accepted);
        h.advance(h.t0 + ms(32_000));
        assert_eq!(h.tx.state(), State::Terminated);
    }

    #[test]
    fn second_final_is_refused() {
        let mut h = harness(udp_server());
        h.respond(486, h.t0).expect("final");
        assert_eq!(
            h.respond(200, h.t0),
            Err(TransactionError::InvalidState {
                key: TransactionKey(3),
                status: StatusCode::OK,
                state: State::Completed
            })
        );
    }
}
