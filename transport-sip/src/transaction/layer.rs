//! [`TransactionLayer`]: the manager the transaction user talks to. It matches messages
//! to transactions (§17.1.3, §17.2.3, §9.2), owns their timers and queues their output.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tracing::{debug, debug_span, trace, warn};

use super::error::TransactionError;
use super::invite_client::InviteClient;
use super::invite_server::InviteServer;
use super::key::{
    CSeqKey, ClientKey, LegacyKey, MAGIC_COOKIE, ServerKey, TransactionKey, branch_from,
};
use super::non_invite_client::NonInviteClient;
use super::non_invite_server::NonInviteServer;
use super::output::{Event, Outbox, Transmit};
use super::peer::{Peer, response_destination};
use super::response::{cancel_for, response_for};
use super::state::{Kind, State};
use super::timers::{TimerConfig, Timers};
use crate::header::{Header, RetryAfter};
use crate::message::{Message, Method, Request, Response, StatusCode};

const SERVICE_UNAVAILABLE: StatusCode = match StatusCode::new(503) {
    Some(c) => c,
    None => StatusCode::OK,
};

/// How many transactions past their final response the layer keeps, as a multiple of
/// [`Config::max_transactions`]: the bound on memory, with the live ones.
pub const ABSORBING_FACTOR: usize = 4;

/// Configuration of a [`TransactionLayer`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// T1, T2 and T4.
    pub timers: TimerConfig,
    /// The most live transactions, client and server together, that still wait for a
    /// final response (a request arriving over the limit is answered 503 statelessly;
    /// starting a client transaction fails with [`TransactionError::Overloaded`]).
    ///
    /// A transaction past its final response (Completed, Confirmed or Accepted) only
    /// absorbs retransmissions until Timer D, J, K or L ends it, up to 32 s later; the
    /// layer keeps up to [`ABSORBING_FACTOR`] × this many of those besides, so the
    /// sustained rate is bounded by how many calls fit in that window, not by the
    /// transactions still in progress.
    pub max_transactions: usize,
    /// How long an INVITE server transaction waits for the TU before sending 100 Trying
    /// (200 ms, §17.2.1).
    pub trying_delay: Duration,
    /// The Retry-After seconds of the 503 sent over the limit.
    pub retry_after: u32,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            timers: TimerConfig::default(),
            max_transactions: 16_384,
            trying_delay: Duration::from_millis(200),
            retry_after: 5,
        }
    }
}

impl Config {
    /// With these base timers.
    pub fn with_timers(mut self, timers: TimerConfig) -> Config {
        self.timers = timers;
        self
    }

    /// With this limit on live transactions.
    pub fn with_max_transactions(mut self, max: usize) -> Config {
        self.max_transactions = max;
        self
    }
}

/// One of the four state machines.
#[derive(Debug)]
enum Machine {
    /// Boxed: it keeps the whole INVITE for the ACK and CANCEL it builds.
    InviteClient(Box<InviteClient>),
    NonInviteClient(NonInviteClient),
    InviteServer(InviteServer),
    NonInviteServer(NonInviteServer),
}

impl Machine {
    fn state(&self) -> State {
        match self {
            Machine::InviteClient(t) => t.state(),
            Machine::NonInviteClient(t) => t.state(),
            Machine::InviteServer(t) => t.state(),
            Machine::NonInviteServer(t) => t.state(),
        }
    }

    fn kind(&self) -> Kind {
        match self {
            Machine::InviteClient(_) => Kind::InviteClient,
            Machine::NonInviteClient(_) => Kind::NonInviteClient,
            Machine::InviteServer(_) => Kind::InviteServer,
            Machine::NonInviteServer(_) => Kind::NonInviteServer,
        }
    }

    fn timers(&self) -> &Timers {
        match self {
            Machine::InviteClient(t) => t.timers(),
            Machine::NonInviteClient(t) => t.timers(),
            Machine::InviteServer(t) => t.timers(),
            Machine::NonInviteServer(t) => t.timers(),
        }
    }

    fn fire_due(&mut self, now: Instant, out: &mut Outbox) {
        match self {
            Machine::InviteClient(t) => t.fire_due(now, out),
            Machine::NonInviteClient(t) => t.fire_due(now, out),
            Machine::InviteServer(t) => t.fire_due(now, out),
            Machine::NonInviteServer(t) => t.fire_due(now),
        }
    }

    fn on_transport_error(&mut self, out: &mut Outbox) {
        match self {
            Machine::InviteClient(t) => t.on_transport_error(out),
            Machine::NonInviteClient(t) => t.on_transport_error(out),
            Machine::InviteServer(t) => t.on_transport_error(out),
            Machine::NonInviteServer(t) => t.on_transport_error(out),
        }
    }
}

/// A live transaction and the index entries that lead to it.
#[derive(Debug)]
struct Entry {
    machine: Machine,
    /// The deadline queued for it in the layer's heap.
    scheduled: Option<Instant>,
    client_key: Option<ClientKey>,
    server_key: Option<ServerKey>,
    cseq_key: Option<CSeqKey>,
    /// RFC 2543 requests: what retransmissions, ACK and CANCEL are matched on.
    legacy: Option<LegacyKey>,
    /// Server transactions: the From tag, to route an ACK for 2xx.
    from_tag: Option<String>,
    /// INVITE client transactions: a CANCEL waiting for the first provisional response.
    pending_cancel: Option<TransactionKey>,
    /// Past its final response, absorbing retransmissions (counted in `absorbing`).
    absorbing: bool,
}

/// Whether a transaction in `state` has had its final response and only absorbs
/// retransmissions until a timer ends it.
fn is_absorbing(state: State) -> bool {
    matches!(state, State::Completed | State::Confirmed | State::Accepted)
}

/// The SIP transaction layer (RFC 3261 §17, RFC 6026), sans-IO.
///
/// Input goes in through the `handle_*` methods, TU commands through
/// [`start_client`](Self::start_client), [`respond`](Self::respond),
/// [`cancel`](Self::cancel) and [`send_stateless`](Self::send_stateless); output comes
/// out of [`poll_transmit`](Self::poll_transmit), [`poll_event`](Self::poll_event) and
/// [`poll_timeout`](Self::poll_timeout). Drain all three after every input. Time is
/// only what the caller passes in.
#[derive(Debug)]
pub struct TransactionLayer {
    config: Config,
    next_id: u64,
    /// Boxed: a transaction keeps messages for retransmission, and tens of thousands
    /// live at once under load, so growing the map must move pointers, not entries (a
    /// resize moving them inline stalled every request for tens of milliseconds).
    entries: HashMap<TransactionKey, Box<Entry>>,
    clients: HashMap<ClientKey, TransactionKey>,
    servers: HashMap<ServerKey, TransactionKey>,
    /// INVITE server transactions and RFC 2543 server transactions by Call-ID and CSeq.
    by_cseq: HashMap<CSeqKey, Vec<TransactionKey>>,
    /// Transaction deadlines, earliest first; entries no longer matching
    /// `Entry::scheduled` are stale and skipped.
    deadlines: BinaryHeap<Reverse<(Instant, TransactionKey)>>,
    /// Entries past their final response (see [`Config::max_transactions`]).
    absorbing: usize,
    out: Outbox,
    rng: StdRng,
}

impl TransactionLayer {
    /// A layer with `config`, seeded from the thread RNG for branches and tags.
    pub fn new(config: Config) -> TransactionLayer {
        TransactionLayer::with_rng(config, StdRng::from_rng(&mut rand::rng()))
    }

    /// A layer whose generated branches and tags derive from `seed` (for reproducible tests).
    pub fn with_seed(config: Config, seed: u64) -> TransactionLayer {
        TransactionLayer::with_rng(config, StdRng::seed_from_u64(seed))
    }

    fn with_rng(config: Config, rng: StdRng) -> TransactionLayer {
        TransactionLayer {
            config,
            next_id: 0,
            entries: HashMap::new(),
            clients: HashMap::new(),
            servers: HashMap::new(),
            by_cseq: HashMap::new(),
            deadlines: BinaryHeap::new(),
            absorbing: 0,
            out: Outbox::default(),
            rng,
        }
    }

    // ---- getters ----

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The number of live transactions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no transaction is live.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The state of a live transaction.
    pub fn state(&self, key: TransactionKey) -> Option<State> {
        self.entries.get(&key).map(|e| e.machine.state())
    }

    /// Which state machine a live transaction runs.
    pub fn kind(&self, key: TransactionKey) -> Option<Kind> {
        self.entries.get(&key).map(|e| e.machine.kind())
    }

    /// A new Via branch (`z9hG4bK` + 64 random bits) from the layer's RNG.
    pub fn new_branch(&mut self) -> String {
        branch_from(&mut self.rng)
    }

    /// A new random tag (64 bits in hex) from the layer's RNG, for From and To.
    pub fn new_tag(&mut self) -> String {
        format!("{:016x}", self.rng.random::<u64>())
    }

    // ---- input ----

    /// A message received from `source`.
    pub fn handle_message(&mut self, message: Message, source: Peer, now: Instant) {
        match message {
            Message::Request(r) => self.handle_request(r, source, now),
            Message::Response(r) => self.handle_response(r, source, now),
        }
    }

    /// A response received from `source`: matched to a client transaction by top Via
    /// branch and CSeq method (§17.1.3). A 2xx to INVITE matching none becomes
    /// [`Event::Stray2xx`]; other unmatched responses are dropped.
    pub fn handle_response(&mut self, response: Response, source: Peer, now: Instant) {
        let key = ClientKey::of_response(&response).and_then(|k| self.clients.get(&k).copied());
        let Some(key) = key else {
            let is_invite = response.cseq().is_some_and(|c| c.method == Method::Invite);
            let code = response.status().as_u16();
            if is_invite && (200..300).contains(&code) {
                self.out.event(Event::Stray2xx { response, source });
            } else {
                trace!(code, "response matches no transaction: dropped");
            }
            return;
        };
        let _span = debug_span!("sip_txn", %key).entered();
        let mut release = None;
        if let Some(entry) = self.entries.get_mut(&key) {
            match &mut entry.machine {
                Machine::InviteClient(t) => {
                    t.on_response(response, now, &mut self.out);
                    if t.state() != State::Calling {
                        let proceeding = t.state() == State::Proceeding;
                        release = entry.pending_cancel.take().map(|c| (c, proceeding));
                    }
                }
                Machine::NonInviteClient(t) => t.on_response(response, now, &mut self.out),
                _ => {}
            }
        }
        self.after(key);
        // §9.1: a CANCEL waiting for a provisional response is sent now, or dropped
        // unsent if a final response came first.
        match release {
            Some((cancel, true)) => {
                if let Some(Entry {
                    machine: Machine::NonInviteClient(t),
                    ..
                }) = self.entries.get_mut(&cancel).map(|e| &mut **e)
                {
                    debug!(%cancel, "provisional response arrived: sending the CANCEL");
                    t.begin(now, &mut self.out);
                }
                self.after(cancel);
            }
            Some((cancel, false)) => self.remove(cancel),
            None => {}
        }
    }

    /// A request received from `source`: a retransmission is absorbed by its server
    /// transaction (§17.2.3, RFC 2543 fallback included), an ACK goes to its INVITE
    /// transaction or to the TU, and a new request creates a server transaction, or is
    /// answered 503 when the layer is full.
    pub fn handle_request(&mut self, request: Request, source: Peer, now: Instant) {
        let Some(cseq_key) = CSeqKey::of_request(&request) else {
            debug!("request without Call-ID or CSeq: dropped");
            return;
        };
        let server_key = ServerKey::of_request(&request);
        let legacy = match server_key {
            Some(_) => None,
            None => match LegacyKey::of_request(&request) {
                Some(l) => Some(l),
                None => {
                    debug!("request without Via, From or To: dropped");
                    return;
                }
            },
        };
        if request.method() == &Method::Ack {
            self.handle_ack(request, source, now, server_key, legacy, cseq_key);
            return;
        }
        let existing = match (&server_key, &legacy) {
            (Some(k), _) => self.servers.get(k).copied(),
            (None, Some(l)) => self.find_legacy(&cseq_key, |e| {
                e.legacy.as_ref().is_some_and(|own| own.matches_request(l))
            }),
            (None, None) => None,
        };
        if let Some(key) = existing {
            let _span = debug_span!("sip_txn", %key).entered();
            if let Some(entry) = self.entries.get_mut(&key) {
                match &mut entry.machine {
                    Machine::InviteServer(t) => t.on_retransmission(&mut self.out),
                    Machine::NonInviteServer(t) => t.on_retransmission(&mut self.out),
                    _ => {}
                }
            }
            self.after(key);
            return;
        }
        if self.is_full() {
            self.reject_overloaded(&request, source);
            return;
        }
        let invite = if request.method() == &Method::Cancel {
            match (&server_key, &legacy) {
                (Some(k), _) => self.servers.get(&k.with_method(Method::Invite)).copied(),
                (None, Some(l)) => self.find_legacy(&cseq_key, |e| {
                    e.legacy.as_ref().is_some_and(|own| own.matches_cancel(l))
                }),
                (None, None) => None,
            }
        } else {
            None
        };
        let key = self.allocate();
        let _span = debug_span!("sip_txn", %key).entered();
        let destination = response_destination(request.top_via(), source);
        let is_invite = request.method() == &Method::Invite;
        let machine = if is_invite {
            let trying = response_for(&request, StatusCode::TRYING, None).to_bytes();
            Machine::InviteServer(InviteServer::start(
                key,
                self.config.timers,
                trying,
                self.config.trying_delay,
                destination,
                now,
            ))
        } else {
            Machine::NonInviteServer(NonInviteServer::start(key, self.config.timers, destination))
        };
        let indexed = is_invite || legacy.is_some();
        if let Some(k) = &server_key {
            self.servers.insert(k.clone(), key);
        }
        if indexed {
            self.by_cseq.entry(cseq_key.clone()).or_default().push(key);
        }
        self.entries.insert(
            key,
            Box::new(Entry {
                machine,
                scheduled: None,
                client_key: None,
                server_key,
                cseq_key: indexed.then_some(cseq_key),
                legacy,
                from_tag: request.from().and_then(|f| f.tag()).map(str::to_owned),
                pending_cancel: None,
                absorbing: false,
            }),
        );
        debug!(method = %request.method(), "server transaction created");
        self.out.event(if request.method() == &Method::Cancel {
            Event::Cancel {
                key,
                invite,
                request,
                source,
            }
        } else {
            Event::IncomingRequest {
                key,
                request,
                source,
            }
        });
        self.after(key);
    }

    fn handle_ack(
        &mut self,
        ack: Request,
        source: Peer,
        now: Instant,
        server_key: Option<ServerKey>,
        legacy: Option<LegacyKey>,
        cseq_key: CSeqKey,
    ) {
        // The ACK for a non-2xx shares the INVITE's branch (§17.1.1.3); an RFC 2543 ACK
        // matches by the rules of §17.2.3.
        let matched = match (&server_key, &legacy) {
            (Some(k), _) => self.servers.get(k).copied(),
            (None, Some(l)) => self.find_legacy(&cseq_key, |e| match (&e.legacy, &e.machine) {
                (Some(own), Machine::InviteServer(t)) => own.matches_ack(l, t.to_tag()),
                _ => false,
            }),
            (None, None) => None,
        };
        if let Some(key) = matched {
            let _span = debug_span!("sip_txn", %key).entered();
            let mut for_tu = None;
            if let Some(Entry {
                machine: Machine::InviteServer(t),
                ..
            }) = self.entries.get_mut(&key).map(|e| &mut **e)
            {
                for_tu = t.on_ack(ack, now);
            }
            if let Some(request) = for_tu {
                self.out.event(Event::Ack2xx {
                    invite: Some(key),
                    request,
                    source,
                });
            }
            self.after(key);
            return;
        }
        // The ACK for a 2xx is a transaction of its own with a new branch (§17.1.1.3):
        // find the Accepted INVITE it acknowledges by Call-ID, CSeq number and tags.
        let from_tag = ack.from().and_then(|f| f.tag());
        let to_tag = ack.to().and_then(|t| t.tag());
        let invite = self.find_in(&cseq_key, |e| match &e.machine {
            Machine::InviteServer(t) => {
                t.state() == State::Accepted
                    && e.from_tag.as_deref() == from_tag
                    && t.to_tag() == to_tag
            }
            _ => false,
        });
        trace!(?invite, "ACK outside a transaction passed to the TU");
        self.out.event(Event::Ack2xx {
            invite,
            request: ack,
            source,
        });
    }

    /// The first RFC 2543 server transaction under `cseq_key` for which `pred` holds.
    fn find_legacy(
        &self,
        cseq_key: &CSeqKey,
        pred: impl Fn(&Entry) -> bool,
    ) -> Option<TransactionKey> {
        self.find_in(cseq_key, |e| e.legacy.is_some() && pred(e))
    }

    fn find_in(&self, cseq_key: &CSeqKey, pred: impl Fn(&Entry) -> bool) -> Option<TransactionKey> {
        self.by_cseq
            .get(cseq_key)?
            .iter()
            .copied()
            .find(|k| self.entries.get(k).is_some_and(|e| pred(e)))
    }

    /// Answers a request the layer has no room for with a stateless 503 (§21.5.4).
    fn reject_overloaded(&mut self, request: &Request, source: Peer) {
        warn!(
            limit = self.config.max_transactions,
            "transaction limit reached: answering 503"
        );
        let tag = self.new_tag();
        let mut resp = response_for(request, SERVICE_UNAVAILABLE, Some(&tag));
        if let Ok(r) = RetryAfter::parse(self.config.retry_after.to_string().as_bytes()) {
            resp.headers_mut().push(Header::RetryAfter(r));
        }
        let destination = response_destination(request.top_via(), source);
        self.out.send(None, destination, resp.to_bytes());
    }

    /// Fires every transaction timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&Reverse((at, key))) = self.deadlines.peek() {
            if at > now {
                break;
            }
            self.deadlines.pop();
            let Some(entry) = self.entries.get_mut(&key) else {
                continue;
            };
            if entry.scheduled != Some(at) {
                continue;
            }
            entry.scheduled = None;
            let _span = debug_span!("sip_txn", %key).entered();
            entry.machine.fire_due(now, &mut self.out);
            self.after(key);
        }
    }

    /// The transport could not send a message of transaction `key` (a [`Transmit`] with
    /// that key). The TU gets [`Event::TransportError`] (§17.1.1.2, §17.1.2.2, §17.2.1,
    /// §17.2.2). Unknown keys are ignored: the transaction may have ended meanwhile.
    pub fn handle_transport_error(&mut self, key: TransactionKey) {
        let _span = debug_span!("sip_txn", %key).entered();
        if let Some(entry) = self.entries.get_mut(&key) {
            debug!("transport error");
            entry.machine.on_transport_error(&mut self.out);
            self.after(key);
        }
    }

    // ---- TU commands ----

    /// Starts a client transaction for `request` towards `destination` and sends it.
    /// The request must carry a top Via whose branch has the magic cookie (see
    /// [`new_branch`](Self::new_branch)), and a CSeq with its method, Call-ID, From and To.
    pub fn start_client(
        &mut self,
        request: Request,
        destination: Peer,
        now: Instant,
    ) -> Result<TransactionKey, TransactionError> {
        if request.method() == &Method::Ack {
            return Err(TransactionError::AckIsNotATransaction);
        }
        let branch = request
            .top_via()
            .and_then(|v| v.branch())
            .ok_or(TransactionError::MissingBranch)?;
        if !branch.starts_with(MAGIC_COOKIE) {
            return Err(TransactionError::InvalidBranch);
        }
        let cseq = request
            .cseq()
            .ok_or(TransactionError::InvalidRequest("no CSeq"))?;
        if &cseq.method != request.method() {
            return Err(TransactionError::InvalidRequest(
                "CSeq method differs from the request method",
            ));
        }
        if request.call_id().is_none() || request.from().is_none() || request.to().is_none() {
            return Err(TransactionError::InvalidRequest(
                "Call-ID, From and To are required",
            ));
        }
        self.create_client(request, destination, now, true)
    }

    /// Creates a client transaction for a validated request; `send` false creates it
    /// pending (a non-INVITE that sends nothing until started).
    fn create_client(
        &mut self,
        request: Request,
        destination: Peer,
        now: Instant,
        send: bool,
    ) -> Result<TransactionKey, TransactionError> {
        if self.is_full() {
            return Err(TransactionError::Overloaded(self.config.max_transactions));
        }
        let client_key = ClientKey::of_request(&request).ok_or(TransactionError::MissingBranch)?;
        if self.clients.contains_key(&client_key) {
            return Err(TransactionError::Duplicate);
        }
        let key = self.allocate();
        let _span = debug_span!("sip_txn", %key).entered();
        debug!(method = %request.method(), dest = %destination.addr, "client transaction started");
        let timers = self.config.timers;
        let machine = if request.method() == &Method::Invite {
            Machine::InviteClient(Box::new(InviteClient::start(
                key,
                timers,
                request,
                destination,
                now,
                &mut self.out,
            )))
        } else if send {
            Machine::NonInviteClient(NonInviteClient::start(
                key,
                timers,
                request.to_bytes(),
                destination,
                now,
                &mut self.out,
            ))
        } else {
            Machine::NonInviteClient(NonInviteClient::pending(
                key,
                timers,
                request.to_bytes(),
                destination,
            ))
        };
        self.clients.insert(client_key.clone(), key);
        self.entries.insert(
            key,
            Box::new(Entry {
                machine,
                scheduled: None,
                client_key: Some(client_key),
                server_key: None,
                cseq_key: None,
                legacy: None,
                from_tag: None,
                pending_cancel: None,
                absorbing: false,
            }),
        );
        self.after(key);
        Ok(key)
    }

    /// Sends `response` on server transaction `key`: provisional responses, one final
    /// response, and (INVITE, RFC 6026 Accepted state) the TU's 2xx retransmissions.
    pub fn respond(
        &mut self,
        key: TransactionKey,
        response: Response,
        now: Instant,
    ) -> Result<(), TransactionError> {
        let _span = debug_span!("sip_txn", %key).entered();
        let entry = self
            .entries
            .get_mut(&key)
            .ok_or(TransactionError::UnknownTransaction(key))?;
        let result = match &mut entry.machine {
            Machine::InviteServer(t) => t.respond(&response, now, &mut self.out),
            Machine::NonInviteServer(t) => t.respond(&response, now, &mut self.out),
            _ => Err(TransactionError::NotServer(key)),
        };
        self.after(key);
        result
    }

    /// Cancels INVITE client transaction `invite` (§9.1): builds the CANCEL from the
    /// INVITE and starts its own non-INVITE client transaction to the same destination,
    /// returning its key. Before any provisional response (Calling) the CANCEL waits:
    /// it is sent when the first provisional response arrives, and terminates unsent
    /// if a final response comes first. After a final response there is nothing to
    /// cancel ([`TransactionError::CannotCancel`]).
    pub fn cancel(
        &mut self,
        invite: TransactionKey,
        now: Instant,
    ) -> Result<TransactionKey, TransactionError> {
        let entry = self
            .entries
            .get(&invite)
            .ok_or(TransactionError::UnknownTransaction(invite))?;
        let Machine::InviteClient(t) = &entry.machine else {
            return Err(TransactionError::NotInviteClient(invite));
        };
        let state = t.state();
        if let Some(pending) = entry.pending_cancel {
            return Ok(pending);
        }
        if !matches!(state, State::Calling | State::Proceeding) {
            return Err(TransactionError::CannotCancel { key: invite, state });
        }
        let cancel = cancel_for(t.request());
        let destination = t.peer();
        let send = state == State::Proceeding;
        let key = self.create_client(cancel, destination, now, send)?;
        if !send {
            debug!(%invite, cancel = %key, "CANCEL waits for a provisional response");
            if let Some(entry) = self.entries.get_mut(&invite) {
                entry.pending_cancel = Some(key);
            }
        }
        Ok(key)
    }

    /// Queues `message` for `destination` outside any transaction: the ACK for a 2xx
    /// (§13.2.2.4), or a response sent statelessly.
    pub fn send_stateless(&mut self, message: &Message, destination: Peer) {
        self.out.send(None, destination, message.to_bytes());
    }

    // ---- output ----

    /// The next message to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.transmits.pop_front()
    }

    /// The next event for the TU.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.out.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called; `None` when no
    /// timer is armed.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        while let Some(&Reverse((at, key))) = self.deadlines.peek() {
            if self
                .entries
                .get(&key)
                .is_some_and(|e| e.scheduled == Some(at))
            {
                return Some(at);
            }
            self.deadlines.pop();
        }
        None
    }

    // ---- bookkeeping ----

    fn allocate(&mut self) -> TransactionKey {
        self.next_id += 1;
        TransactionKey(self.next_id)
    }

    /// After any input to `key`: destroys it if terminated, else queues its next deadline.
    /// Whether a new transaction must be refused: too many in progress, or too many
    /// kept in all (see [`Config::max_transactions`]).
    fn is_full(&self) -> bool {
        let in_progress = self.entries.len() - self.absorbing;
        in_progress >= self.config.max_transactions
            || self.entries.len()
                >= self
                    .config
                    .max_transactions
                    .saturating_mul(ABSORBING_FACTOR + 1)
    }

    /// The number of live transactions past their final response, absorbing
    /// retransmissions.
    pub fn absorbing(&self) -> usize {
        self.absorbing
    }

    fn after(&mut self, key: TransactionKey) {
        let Some(entry) = self.entries.get_mut(&key) else {
            return;
        };
        let state = entry.machine.state();
        if state == State::Terminated {
            self.remove(key);
            return;
        }
        if is_absorbing(state) != entry.absorbing {
            entry.absorbing = !entry.absorbing;
            if entry.absorbing {
                self.absorbing += 1;
            } else {
                self.absorbing -= 1;
            }
        }
        let next = entry.machine.timers().next();
        if next != entry.scheduled {
            entry.scheduled = next;
            if let Some(at) = next {
                self.deadlines.push(Reverse((at, key)));
            }
        }
        // Stale heap entries are dropped lazily; rebuild if they pile up, so the heap
        // stays proportional to the live transactions.
        if self.deadlines.len() > 2 * self.entries.len() + 64 {
            self.deadlines = self
                .entries
                .iter()
                .filter_map(|(k, e)| e.scheduled.map(|at| Reverse((at, *k))))
                .collect();
        }
    }

    fn remove(&mut self, key: TransactionKey) {
        let Some(entry) = self.entries.remove(&key) else {
            return;
        };
        if entry.absorbing {
            self.absorbing -= 1;
        }
        if let Some(k) = entry.client_key {
            self.clients.remove(&k);
        }
        if let Some(k) = entry.server_key {
            self.servers.remove(&k);
        }
        if let Some(k) = entry.cseq_key
            && let Some(list) = self.by_cseq.get_mut(&k)
        {
            list.retain(|x| *x != key);
            if list.is_empty() {
                self.by_cseq.remove(&k);
            }
        }
        debug!(%key, "transaction terminated");
        self.out.event(Event::Terminated { key });
        if let Some(cancel) = entry.pending_cancel {
            self.remove(cancel);
        }
    }

    /// The number of queued deadlines, stale ones included.
    #[cfg(test)]
    pub(crate) fn queued_deadlines(&self) -> usize {
        self.deadlines.len()
    }
}

/// Pending output, for tests that look at it without draining.
#[cfg(test)]
impl TransactionLayer {
    pub(crate) fn drain_transmits(&mut self) -> Vec<Transmit> {
        self.out.transmits.drain(..).collect()
    }

    pub(crate) fn drain_events(&mut self) -> Vec<Event> {
        self.out.events.drain(..).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::fixtures::*;
    use crate::transaction::timers::Timer;

    fn server() -> TransactionLayer {
        TransactionLayer::with_seed(Config::default(), 1)
    }

    fn client_peer() -> Peer {
        Peer::udp(client_addr())
    }

    fn code(n: u16) -> StatusCode {
        StatusCode::new(n).expect("code")
    }

    fn incoming_key(l: &mut TransactionLayer) -> TransactionKey {
        let events = l.drain_events();
        let keys: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::IncomingRequest { key, .. } => Some(*key),
                _ => None,
            })
            .collect();
        assert_eq!(keys.len(), 1, "one IncomingRequest in {events:?}");
        keys[0]
    }

    fn sent_codes(l: &mut TransactionLayer) -> Vec<u16> {
        l.drain_transmits()
            .iter()
            .map(|t| sent_response(t).status().as_u16())
            .collect()
    }

    #[test]
    fn retransmission_absorbed_and_lost_final_recovered() {
        let mut l = server();
        let t0 = start();
        let req = request(Method::Options, "z9hG4bKr1", "192.0.2.1:5060");
        l.handle_request(req.clone(), client_peer(), t0);
        let key = incoming_key(&mut l);
        l.handle_request(req.clone(), client_peer(), t0 + ms(500));
        assert!(l.drain_events().is_empty(), "retransmission not passed up");
        assert!(l.drain_transmits().is_empty(), "Trying sends nothing");
        l.respond(
            key,
            response_for(&req, StatusCode::OK, Some("s")),
            t0 + ms(600),
        )
        .expect("respond");
        let first = l.drain_transmits();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].destination.addr, client_addr());
        assert_eq!(first[0].key, Some(key));
        // The 200 was lost: the next retransmission of the request recovers it.
        l.handle_request(req, client_peer(), t0 + ms(1500));
        assert_eq!(sent_codes(&mut l), [200]);
        assert_eq!(l.state(key), Some(State::Completed));
        assert_eq!(l.poll_timeout(), Some(t0 + ms(600) + ms(32_000)), "Timer J");
        l.handle_timeout(t0 + ms(32_600));
        assert_eq!(l.drain_events(), [Event::Terminated { key }]);
        assert!(l.is_empty());
        assert_eq!(l.poll_timeout(), None);
    }

    #[test]
    fn ack_for_non_2xx_is_absorbed_and_ack_for_2xx_goes_to_tu() {
        let mut l = server();
        let t0 = start();
        let invite = request(Method::Invite, "z9hG4bKa1", "192.0.2.1:5060");
        l.handle_request(invite.clone(), client_peer(), t0);
        let key = incoming_key(&mut l);
        l.respond(key, response_for(&invite, code(486), Some("s")), t0)
            .expect("final");
        let ack = with_header(
            request(Method::Ack, "z9hG4bKa1", "192.0.2.1:5060"),
            "To",
            "<sip:bob@example.com>;tag=s",
        );
        l.handle_request(ack.clone(), client_peer(), t0 + ms(10));
        assert_eq!(l.state(key), Some(State::Confirmed));
        assert!(l.drain_events().is_empty(), "ACK absorbed");
        l.handle_request(ack, client_peer(), t0 + ms(20));
        assert!(l.drain_events().is_empty(), "ACK retransmission absorbed");

        // A 2xx: the ACK has a new branch and is matched by dialog to the transaction.
        let invite = request(Method::Invite, "z9hG4bKa2", "192.0.2.1:5060");
        let invite = with_header(invite, "Call-ID", "call-2@example.com");
        l.handle_request(invite.clone(), client_peer(), t0);
        let key = incoming_key(&mut l);
        l.respond(key, response_for(&invite, StatusCode::OK, Some("s2")), t0)
            .expect("2xx");
        assert_eq!(l.state(key), Some(State::Accepted));
        let ack = request(Method::Ack, "z9hG4bKnew", "192.0.2.1:5060");
        let ack = with_header(ack, "Call-ID", "call-2@example.com");
        let ack = with_header(ack, "To", "<sip:bob@example.com>;tag=s2");
        l.handle_request(ack.clone(), client_peer(), t0 + ms(50));
        let events = l.drain_events();
        assert!(
            matches!(&events[..], [Event::Ack2xx { invite: Some(k), .. }] if *k == key),
            "{events:?}"
        );
        // After Timer L the ACK is still passed up, with no transaction.
        l.handle_timeout(t0 + ms(31_999));
        assert_eq!(l.state(key), Some(State::Accepted));
        l.drain_events();
        l.handle_timeout(t0 + ms(32_000));
        assert_eq!(l.drain_events(), [Event::Terminated { key }]);
        l.handle_request(ack, client_peer(), t0 + ms(33_000));
        let events = l.drain_events();
        assert!(matches!(&events[..], [Event::Ack2xx { invite: None, .. }]));
    }

    #[test]
    fn cancel_matches_its_invite() {
        let mut l = server();
        let t0 = start();
        let invite = request(Method::Invite, "z9hG4bKc1", "192.0.2.1:5060");
        l.handle_request(invite, client_peer(), t0);
        let invite_key = incoming_key(&mut l);
        let cancel = request(Method::Cancel, "z9hG4bKc1", "192.0.2.1:5060");
        l.handle_request(cancel.clone(), client_peer(), t0 + ms(10));
        let events = l.drain_events();
        let cancel_key = match &events[..] {
            [Event::Cancel { key, invite, .. }] => {
                assert_eq!(*invite, Some(invite_key));
                assert_ne!(*key, invite_key);
                *key
            }
            other => panic!("expected Cancel, got {other:?}"),
        };
        assert_eq!(l.kind(cancel_key), Some(Kind::NonInviteServer));
        l.handle_request(cancel, client_peer(), t0 + ms(20));
        assert!(
            l.drain_events().is_empty(),
            "CANCEL retransmission absorbed"
        );
        // Another sent-by or branch matches nothing.
        for (branch, sent_by) in [
            ("z9hG4bKc1", "192.0.2.9:5060"),
            ("z9hG4bKzz", "192.0.2.1:5060"),
        ] {
            l.handle_request(request(Method::Cancel, branch, sent_by), client_peer(), t0);
            let events = l.drain_events();
            assert!(
                matches!(&events[..], [Event::Cancel { invite: None, .. }]),
                "{events:?}"
            );
        }
    }

    #[test]
    fn rfc_2543_fallback_matching() {
        let mut l = server();
        let t0 = start();
        let invite = request(Method::Invite, "1234", "old.example.com");
        l.handle_request(invite.clone(), client_peer(), t0);
        let key = incoming_key(&mut l);
        l.handle_request(invite.clone(), client_peer(), t0 + ms(500));
        assert!(l.drain_events().is_empty(), "2543 retransmission absorbed");
        // A different top Via is a different transaction.
        l.handle_request(
            request(Method::Invite, "5678", "old.example.com"),
            client_peer(),
            t0,
        );
        let other = incoming_key(&mut l);
        assert_ne!(other, key);
        // CANCEL (§9.2): same Request-URI, Call-ID, tags, CSeq number and top Via.
        l.handle_request(
            request(Method::Cancel, "1234", "old.example.com"),
            client_peer(),
            t0,
        );
        let events = l.drain_events();
        assert!(
            matches!(&events[..], [Event::Cancel { invite: Some(k), .. }] if *k == key),
            "{events:?}"
        );
        l.respond(key, response_for(&invite, code(487), Some("t7")), t0)
            .expect("final");
        // ACK: To tag must equal the response's.
        let ack = request(Method::Ack, "1234", "old.example.com");
        l.handle_request(
            with_header(ack.clone(), "To", "<sip:bob@example.com>;tag=wrong"),
            client_peer(),
            t0,
        );
        assert_eq!(l.state(key), Some(State::Completed));
        l.handle_request(
            with_header(ack, "To", "<sip:bob@example.com>;tag=t7"),
            client_peer(),
            t0,
        );
        assert_eq!(l.state(key), Some(State::Confirmed));
    }

    #[test]
    fn over_the_limit_requests_get_503_and_are_not_stored() {
        let mut l = TransactionLayer::with_seed(Config::default().with_max_transactions(2), 1);
        let t0 = start();
        for b in ["z9hG4bK1", "z9hG4bK2"] {
            l.handle_request(
                request(Method::Options, b, "192.0.2.1:5060"),
                client_peer(),
                t0,
            );
        }
        assert_eq!(l.len(), 2);
        l.drain_events();
        l.handle_request(
            request(Method::Invite, "z9hG4bK3", "192.0.2.1:5060"),
            client_peer(),
            t0,
        );
        assert_eq!(l.len(), 2);
        assert!(l.drain_events().is_empty());
        let sent = l.drain_transmits();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].key, None);
        let r = sent_response(&sent[0]);
        assert_eq!(r.status().as_u16(), 503);
        assert!(r.to().and_then(|t| t.tag()).is_some(), "To tag added");
        assert!(
            r.headers()
                .iter()
                .any(|h| matches!(h, Header::RetryAfter(ra) if ra.seconds() == 5))
        );
        let req = request(Method::Options, "z9hG4bK4", "192.0.2.1:5060");
        assert_eq!(
            l.start_client(req, udp_server(), t0),
            Err(TransactionError::Overloaded(2))
        );
    }

    #[test]
    fn answered_transactions_do_not_count_against_the_limit_but_are_bounded() {
        let mut l = TransactionLayer::with_seed(Config::default().with_max_transactions(1), 1);
        let t0 = start();
        let mut answered = 0;
        // Each request is answered at once, so it only absorbs retransmissions (Timer J,
        // 32 s over UDP) and the next one is admitted, up to the total bound.
        for i in 0..(ABSORBING_FACTOR + 3) {
            let req = request(Method::Options, &format!("z9hG4bKa{i}"), "192.0.2.1:5060");
            l.handle_request(req.clone(), client_peer(), t0);
            let events = l.drain_events();
            let sent = l.drain_transmits();
            match events.as_slice() {
                [Event::IncomingRequest { key, .. }] => {
                    l.respond(*key, response_for(&req, code(200), Some("t")), t0)
                        .expect("final");
                    answered += 1;
                }
                [] => {
                    assert_eq!(sent.len(), 1, "refused with one stateless response");
                    assert_eq!(sent_response(&sent[0]).status().as_u16(), 503);
                }
                other => panic!("unexpected {other:?}"),
            }
            l.drain_transmits();
        }
        // One in progress at a time, and 1 + ABSORBING_FACTOR kept in all.
        assert_eq!(answered, ABSORBING_FACTOR + 1);
        assert_eq!(l.len(), ABSORBING_FACTOR + 1);
        assert_eq!(l.absorbing(), ABSORBING_FACTOR + 1);
        // An unanswered request fills the one in-progress place... (after Timer J frees room)
        let later = t0 + Duration::from_secs(33);
        l.handle_timeout(later);
        assert_eq!(l.len(), 0);
        assert_eq!(l.absorbing(), 0);
        l.drain_events();
        l.handle_request(
            request(Method::Options, "z9hG4bKb1", "192.0.2.1:5060"),
            client_peer(),
            later,
        );
        assert_eq!(l.len(), 1);
        assert_eq!(l.absorbing(), 0);
        // ... and the next request over it is refused.
        l.drain_events();
        l.drain_transmits();
        l.handle_request(
            request(Method::Options, "z9hG4bKb2", "192.0.2.1:5060"),
            client_peer(),
            later,
        );
        assert_eq!(l.len(), 1);
        let sent = l.drain_transmits();
        assert_eq!(sent_response(&sent[0]).status().as_u16(), 503);
    }

    #[test]
    fn client_responses_match_branch_and_cseq_method() {
        let mut l = server();
        let t0 = start();
        let invite = request(Method::Invite, "z9hG4bKm1", "192.0.2.1:5060");
        let key = l
            .start_client(invite.clone(), udp_server(), t0)
            .expect("start");
        assert_eq!(l.poll_timeout(), Some(t0 + ms(500)), "Timer A");
        l.drain_transmits();
        // CANCEL before a provisional waits for one (§9.1).
        let cancel_key = l.cancel(key, t0).expect("cancel");
        assert_eq!(
            l.cancel(key, t0),
            Ok(cancel_key),
            "asking twice is the same CANCEL"
        );
        assert!(l.drain_transmits().is_empty(), "nothing sent before a 1xx");
        assert_eq!(
            l.poll_timeout(),
            Some(t0 + ms(500)),
            "only the INVITE's Timer A"
        );
        l.handle_response(
            response_for(&invite, code(180), Some("b")),
            udp_server(),
            t0 + ms(1),
        );
        assert_eq!(l.state(key), Some(State::Proceeding));
        let sent = l.drain_transmits();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].key, Some(cancel_key));
        let cancel = sent_request(&sent[0]);
        assert_eq!(cancel.method(), &Method::Cancel);
        assert_eq!(cancel.top_via(), invite.top_via());
        // A 200 to the CANCEL (same branch, CSeq CANCEL) goes to the CANCEL transaction.
        l.handle_response(
            response_for(&cancel, StatusCode::OK, Some("b")),
            udp_server(),
            t0,
        );
        assert_eq!(l.state(cancel_key), Some(State::Completed));
        assert_eq!(l.state(key), Some(State::Proceeding));
        // The 487 goes to the INVITE, which ACKs it.
        l.handle_response(
            response_for(&invite, code(487), Some("b")),
            udp_server(),
            t0,
        );
        assert_eq!(l.state(key), Some(State::Completed));
        let sent = l.drain_transmits();
        assert_eq!(sent_request(&sent[0]).method(), &Method::Ack);
        let responses: Vec<(TransactionKey, u16)> = l
            .drain_events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Response { key, response } => Some((key, response.status().as_u16())),
                _ => None,
            })
            .collect();
        assert_eq!(responses, [(key, 180), (cancel_key, 200), (key, 487)]);
    }

    #[test]
    fn pending_cancel_is_dropped_when_a_final_response_comes_first() {
        let mut l = server();
        let t0 = start();
        let invite = request(Method::Invite, "z9hG4bKpc", "192.0.2.1:5060");
        let key = l
            .start_client(invite.clone(), udp_server(), t0)
            .expect("start");
        let cancel_key = l.cancel(key, t0).expect("cancel");
        assert_eq!(l.len(), 2);
        l.drain_transmits();
        l.drain_events();
        l.handle_response(
            response_for(&invite, code(486), Some("b")),
            udp_server(),
            t0,
        );
        let sent = l.drain_transmits();
        assert_eq!(sent.len(), 1);
        assert_eq!(
            sent_request(&sent[0]).method(),
            &Method::Ack,
            "no CANCEL sent"
        );
        assert_eq!(l.state(cancel_key), None);
        assert!(
            l.drain_events()
                .contains(&Event::Terminated { key: cancel_key })
        );
        assert_eq!(
            l.cancel(key, t0),
            Err(TransactionError::CannotCancel {
                key,
                state: State::Completed
            })
        );
        // A pending CANCEL also ends with its INVITE (Timer B on TCP).
        let invite = request(Method::Invite, "z9hG4bKpd", "192.0.2.1:5060");
        let key = l.start_client(invite, tcp_server(), t0).expect("start");
        let cancel_key = l.cancel(key, t0).expect("cancel");
        l.handle_timeout(t0 + ms(32_000));
        assert_eq!(l.state(cancel_key), None);
        assert!(
            l.drain_events()
                .contains(&Event::Terminated { key: cancel_key })
        );
        assert!(
            l.drain_transmits()
                .iter()
                .all(|t| t.key != Some(cancel_key))
        );
    }

    #[test]
    fn stray_responses() {
        let mut l = server();
        let t0 = start();
        let invite = request(Method::Invite, "z9hG4bKgone", "192.0.2.1:5060");
        l.handle_response(
            response_for(&invite, StatusCode::OK, Some("x")),
            udp_server(),
            t0,
        );
        l.handle_response(
            response_for(&invite, code(404), Some("x")),
            udp_server(),
            t0,
        );
        let bye = request(Method::Bye, "z9hG4bKgone", "192.0.2.1:5060");
        l.handle_response(
            response_for(&bye, StatusCode::OK, Some("x")),
            udp_server(),
            t0,
        );
        let events = l.drain_events();
        assert!(
            matches!(&events[..], [Event::Stray2xx { .. }]),
            "{events:?}"
        );
    }

    #[test]
    fn misuse_is_an_error() {
        let mut l = server();
        let t0 = start();
        let bogus = TransactionKey(999);
        let req = request(Method::Options, "z9hG4bKe1", "192.0.2.1:5060");
        assert_eq!(
            l.respond(bogus, response_for(&req, StatusCode::OK, None), t0),
            Err(TransactionError::UnknownTransaction(bogus))
        );
        let key = l
            .start_client(req.clone(), udp_server(), t0)
            .expect("start");
        assert_eq!(
            l.start_client(req.clone(), udp_server(), t0),
            Err(TransactionError::Duplicate)
        );
        assert_eq!(
            l.respond(key, response_for(&req, StatusCode::OK, None), t0),
            Err(TransactionError::NotServer(key))
        );
        assert_eq!(
            l.cancel(key, t0),
            Err(TransactionError::NotInviteClient(key))
        );
        let ack = request(Method::Ack, "z9hG4bKe2", "192.0.2.1:5060");
        assert_eq!(
            l.start_client(ack, udp_server(), t0),
            Err(TransactionError::AckIsNotATransaction)
        );
        let old = request(Method::Options, "nocookie", "192.0.2.1:5060");
        assert_eq!(
            l.start_client(old, udp_server(), t0),
            Err(TransactionError::InvalidBranch)
        );
    }

    #[test]
    fn trying_timeout_and_transport_error_through_the_layer() {
        let mut l = server();
        let t0 = start();
        let invite = request(Method::Invite, "z9hG4bKt1", "192.0.2.1:5060");
        l.handle_request(invite, client_peer(), t0);
        let key = incoming_key(&mut l);
        assert_eq!(l.poll_timeout(), Some(t0 + ms(200)));
        l.handle_timeout(t0 + ms(200));
        assert_eq!(sent_codes(&mut l), [100]);
        assert_eq!(
            l.poll_timeout(),
            None,
            "nothing armed in Proceeding after 100"
        );
        l.handle_transport_error(key);
        assert_eq!(
            l.drain_events(),
            [Event::TransportError { key }, Event::Terminated { key }]
        );
        assert!(l.is_empty());

        // Timer B through the layer: Timeout, then Terminated.
        let key = l
            .start_client(
                request(Method::Invite, "z9hG4bKt2", "192.0.2.1:5060"),
                tcp_server(),
                t0,
            )
            .expect("start");
        assert_eq!(l.poll_timeout(), Some(t0 + ms(32_000)));
        l.handle_timeout(t0 + ms(32_000));
        assert_eq!(
            l.drain_events(),
            [
                Event::Timeout {
                    key,
                    timer: Timer::B
                },
                Event::Terminated { key }
            ]
        );
    }

    #[test]
    fn deadline_heap_stays_proportional() {
        let mut l = server();
        let t0 = start();
        for i in 0..2_000u64 {
            let req = request(Method::Options, &format!("z9hG4bKh{i}"), "192.0.2.1:5060");
            let now = t0 + ms(i);
            let key = l
                .start_client(req.clone(), tcp_server(), now)
                .expect("start");
            l.handle_response(
                response_for(&req, StatusCode::OK, Some("x")),
                tcp_server(),
                now,
            );
            assert_eq!(l.state(key), None, "Timer K is zero on TCP");
        }
        assert!(l.is_empty());
        assert!(l.queued_deadlines() <= 64, "{}", l.queued_deadlines());
    }
}
