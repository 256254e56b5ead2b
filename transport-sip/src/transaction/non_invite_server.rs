//! The non-INVITE server transaction (RFC 3261 §17.2.2, Figure 8).

use std::time::Instant;

use bytes::Bytes;
use tracing::trace;

use super::error::TransactionError;
use super::key::TransactionKey;
use super::output::{Event, Outbox};
use super::peer::Peer;
use super::state::State;
use super::timers::{Timer, TimerConfig, Timers};
use crate::message::Response;

/// A non-INVITE server transaction.
#[derive(Debug)]
pub(crate) struct NonInviteServer {
    key: TransactionKey,
    config: TimerConfig,
    /// Where responses go (§18.2.2).
    destination: Peer,
    state: State,
    timers: Timers,
    /// The most recent response sent, resent on request retransmissions.
    last_response: Option<Bytes>,
}

impl NonInviteServer {
    /// Enters Trying (§17.2.2).
    pub(crate) fn start(
        key: TransactionKey,
        config: TimerConfig,
        destination: Peer,
    ) -> NonInviteServer {
        NonInviteServer {
            key,
            config,
            destination,
            state: State::Trying,
            timers: Timers::default(),
            last_response: None,
        }
    }

    pub(crate) fn state(&self) -> State {
        self.state
    }

    pub(crate) fn timers(&self) -> &Timers {
        &self.timers
    }

    /// Fires every timer due at `now`, earliest first, until the transaction terminates.
    pub(crate) fn fire_due(&mut self, now: Instant) {
        while self.state != State::Terminated {
            let Some((timer, _)) = self.timers.pop_due(now) else {
                break;
            };
            self.on_timer(timer);
        }
    }

    /// A retransmission of the request arrived: discarded in Trying, answered with the
    /// last response in Proceeding and Completed.
    pub(crate) fn on_retransmission(&mut self, out: &mut Outbox) {
        match (&self.last_response, self.state) {
            (Some(last), State::Proceeding | State::Completed) => {
                trace!(key = %self.key, "request retransmitted: resending last response");
                out.send(Some(self.key), self.destination, last.clone());
            }
            _ => trace!(key = %self.key, "request retransmission absorbed"),
        }
    }

    /// The TU sends `response`.
    pub(crate) fn respond(
        &mut self,
        response: &Response,
        now: Instant,
        out: &mut Outbox,
    ) -> Result<(), TransactionError> {
        if !matches!(self.state, State::Trying | State::Proceeding) {
            return Err(TransactionError::InvalidState {
                key: self.key,
                status: response.status(),
                state: self.state,
            });
        }
        let payload = response.to_bytes();
        out.send(Some(self.key), self.destination, payload.clone());
        self.last_response = Some(payload);
        if response.status().is_provisional() {
            self.state = State::Proceeding;
        } else {
            let j = self.config.timer_j(self.destination.is_reliable());
            if j.is_zero() {
                self.state = State::Terminated;
            } else {
                self.state = State::Completed;
                self.timers.set(Timer::J, now + j);
            }
        }
        Ok(())
    }

    /// A timer of this transaction fired.
    pub(crate) fn on_timer(&mut self, timer: Timer) {
        if (self.state, timer) == (State::Completed, Timer::J) {
            self.terminate();
        }
    }

    /// The transport failed to send a response.
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

    fn harness(destination: Peer) -> (NonInviteServer, Outbox, Request, Instant) {
        let req = request(Method::Register, "z9hG4bKns", "192.0.2.1:5060");
        let tx = NonInviteServer::start(TransactionKey(4), TimerConfig::default(), destination);
        (tx, Outbox::default(), req, start())
    }

    fn resp(req: &Request, code: u16) -> Response {
        response_for(req, StatusCode::new(code).expect("code"), Some("s"))
    }

    fn advance(tx: &mut NonInviteServer, now: Instant) {
        while let Some((t, _)) = tx.timers.pop_due(now) {
            tx.on_timer(t);
        }
    }

    #[test]
    fn trying_absorbs_then_proceeding_and_completed_resend() {
        let (mut tx, mut out, req, t0) = harness(udp_server());
        tx.on_retransmission(&mut out);
        assert!(out.transmits.is_empty(), "Trying discards retransmissions");
        tx.respond(&resp(&req, 100), t0, &mut out).expect("1xx");
        assert_eq!(tx.state(), State::Proceeding);
        out.transmits.clear();
        tx.on_retransmission(&mut out);
        let t = out.transmits.pop_front().expect("resent");
        assert_eq!(sent_response(&t).status().as_u16(), 100);
        tx.respond(&resp(&req, 200), t0, &mut out).expect("final");
        out.transmits.clear(); // the 200 is lost
        tx.on_retransmission(&mut out);
        let t = out.transmits.pop_front().expect("resent");
        assert_eq!(sent_response(&t).status().as_u16(), 200);
        assert!(tx.respond(&resp(&req, 500), t0, &mut out).is_err());
    }

    #[test]
    fn timer_j_is_64_t1_on_udp() {
        let (mut tx, mut out, req, t0) = harness(udp_server());
        tx.respond(&resp(&req, 200), t0, &mut out).expect("final");
        advance(&mut tx, t0 + ms(31_999));
        assert_eq!(tx.state(), State::Completed);
        advance(&mut tx, t0 + ms(32_000));
        assert_eq!(tx.state(), State::Terminated);
    }

    #[test]
    fn timer_j_is_zero_on_tcp() {
        let (mut tx, mut out, req, t0) = harness(tcp_server());
        tx.respond(&resp(&req, 200), t0, &mut out).expect("final");
        assert_eq!(tx.state(), State::Terminated);
        assert_eq!(out.transmits.len(), 1);
    }

    #[test]
    fn transport_error_is_reported() {
        let (mut tx, mut out, _, _) = harness(udp_server());
        tx.on_transport_error(&mut out);
        assert_eq!(tx.state(), State::Terminated);
        assert_eq!(
            out.events.pop_front(),
            Some(Event::TransportError {
                key: TransactionKey(4)
            })
        );
    }
}
