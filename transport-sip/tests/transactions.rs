//! The transaction layer over a simulated lossy network, and a property test.
//!
//! The network is deterministic: a seeded PRNG decides loss (20% each way) and latency,
//! and time is a virtual `Instant` advanced from event to event, never slept on.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use transport_sip::transaction::{
    ABSORBING_FACTOR, Config, Event, Peer, Timer, TransactionKey, TransactionLayer, response_for,
};
use transport_sip::{Message, Method, Request, Response, StatusCode};

const CLIENT: &str = "192.0.2.1:5060";
const SERVER: &str = "192.0.2.2:5060";
const T1: Duration = Duration::from_millis(500);
const T2: Duration = Duration::from_secs(4);

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

fn parse_request(raw: String) -> Request {
    match Message::parse(Bytes::from(raw)) {
        Ok(Message::Request(r)) => r,
        other => panic!("test request does not parse: {other:?}"),
    }
}

fn status(code: u16) -> StatusCode {
    StatusCode::new(code).expect("valid code")
}

/// A request from the client with a fresh branch. The Request-URI user tells the server
/// TU what to answer: `s<code>d<delay ms>`.
fn new_request(layer: &mut TransactionLayer, n: usize, p: &Planned) -> Request {
    let branch = layer.new_branch();
    let (method, code, delay) = (p.method, p.code, p.delay_ms);
    parse_request(format!(
        "{method} sip:s{code}d{delay}@{SERVER} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {CLIENT};branch={branch}\r\n\
         Max-Forwards: 70\r\n\
         To: <sip:bob@example.com>\r\n\
         From: <sip:alice@example.com>;tag=a{n}\r\n\
         Call-ID: call-{n}@{CLIENT}\r\n\
         CSeq: 1 {method}\r\n\
         Content-Length: 0\r\n\r\n"
    ))
}

/// The ACK for a 2xx (§13.2.2.4): a new transaction with its own branch.
fn ack_for_2xx(layer: &mut TransactionLayer, response: &Response) -> Option<Request> {
    let branch = layer.new_branch();
    let to = String::from_utf8_lossy(response.to()?.as_bytes()).into_owned();
    let from = String::from_utf8_lossy(response.from()?.as_bytes()).into_owned();
    let call_id = response.call_id()?.as_str().to_owned();
    let seq = response.cseq()?.seq;
    Some(parse_request(format!(
        "ACK sip:bob@{SERVER} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {CLIENT};branch={branch}\r\n\
         Max-Forwards: 70\r\n\
         To: {to}\r\n\
         From: {from}\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {seq} ACK\r\n\
         Content-Length: 0\r\n\r\n"
    )))
}

/// What the server TU was asked to do, from the Request-URI user `s<code>d<delay>`.
fn instructions(request: &Request) -> (u16, u64) {
    let user = request.uri().user().unwrap_or_default();
    let user = std::str::from_utf8(user).unwrap_or_default();
    let (code, delay) = user
        .strip_prefix('s')
        .and_then(|rest| rest.split_once('d'))
        .unwrap_or(("500", "0"));
    (
        code.parse().unwrap_or(500),
        delay.parse().unwrap_or_default(),
    )
}

/// Datagrams in flight, delivered in time order; each is lost with `loss` probability.
struct Network {
    rng: StdRng,
    loss: f64,
    seq: u64,
    in_flight: BinaryHeap<Reverse<(Instant, u64)>>,
    packets: HashMap<u64, (Side, Bytes)>,
    sent: u64,
    lost: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

impl Network {
    fn new(seed: u64, loss: f64) -> Network {
        Network {
            rng: StdRng::seed_from_u64(seed),
            loss,
            seq: 0,
            in_flight: BinaryHeap::new(),
            packets: HashMap::new(),
            sent: 0,
            lost: 0,
        }
    }

    fn send(&mut self, now: Instant, to: Side, payload: Bytes) {
        self.sent += 1;
        if self.rng.random_bool(self.loss) {
            self.lost += 1;
            return;
        }
        let latency = Duration::from_millis(self.rng.random_range(5..60));
        self.seq += 1;
        self.in_flight.push(Reverse((now + latency, self.seq)));
        self.packets.insert(self.seq, (to, payload));
    }

    fn next(&self) -> Option<Instant> {
        self.in_flight.peek().map(|Reverse((at, _))| *at)
    }

    fn pop_due(&mut self, now: Instant) -> Option<(Side, Bytes)> {
        let &Reverse((at, id)) = self.in_flight.peek()?;
        if at > now {
            return None;
        }
        self.in_flight.pop();
        self.packets.remove(&id)
    }
}

/// One planned transaction.
#[derive(Debug, Clone)]
struct Planned {
    method: &'static str,
    code: u16,
    delay_ms: u64,
    /// The client TU cancels the INVITE 100 ms after sending it.
    cancel: bool,
}

/// Something a TU does at a given time.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Action {
    /// The client TU starts planned transaction n.
    Start(usize),
    /// The client TU cancels an INVITE.
    Cancel(TransactionKey),
    /// The server TU answers (180, then the final response).
    Answer(TransactionKey),
    /// The server TU retransmits its 2xx (§13.3.1.4), with the next interval.
    Retransmit2xx(TransactionKey, Duration),
}

#[derive(Default)]
struct ClientTu {
    planned: HashMap<TransactionKey, Planned>,
    finals: HashMap<TransactionKey, u16>,
    cancels: HashMap<TransactionKey, TransactionKey>,
    cancel_finals: HashMap<TransactionKey, u16>,
    /// CANCELs dropped unsent: their INVITE got a final response before any 1xx.
    cancels_unsent: HashSet<TransactionKey>,
    provisional: u64,
    timeouts: u64,
    terminated: u64,
    acks_sent: u64,
}

#[derive(Default)]
struct ServerTu {
    requests: HashMap<TransactionKey, Request>,
    answered: HashSet<TransactionKey>,
    call_ids: HashSet<String>,
    duplicates: u64,
    ok_sent: HashSet<TransactionKey>,
    acked_2xx: HashSet<TransactionKey>,
    cancels_matched: u64,
    timeouts: u64,
}

/// A client layer and a server layer, their TUs, and the network between them.
struct Sim {
    now: Instant,
    client: TransactionLayer,
    server: TransactionLayer,
    net: Network,
    plan: Vec<Planned>,
    actions: BinaryHeap<Reverse<(Instant, u64, Action)>>,
    action_seq: u64,
    ctu: ClientTu,
    stu: ServerTu,
}

impl Sim {
    fn schedule(&mut self, at: Instant, action: Action) {
        self.action_seq += 1;
        self.actions.push(Reverse((at, self.action_seq, action)));
    }

    /// Runs until nothing is left to happen.
    fn run(&mut self) {
        for steps in 0.. {
            assert!(steps < 2_000_000, "simulation does not converge");
            self.step();
            let next = [
                self.net.next(),
                self.client.poll_timeout(),
                self.server.poll_timeout(),
                self.actions.peek().map(|Reverse((at, _, _))| *at),
            ]
            .into_iter()
            .flatten()
            .min();
            match next {
                Some(at) => self.now = self.now.max(at),
                None => break,
            }
        }
    }

    fn step(&mut self) {
        let now = self.now;
        while self
            .actions
            .peek()
            .is_some_and(|Reverse((at, _, _))| *at <= now)
        {
            if let Some(Reverse((_, _, action))) = self.actions.pop() {
                self.act(action);
            }
        }
        while let Some((side, payload)) = self.net.pop_due(now) {
            let msg = Message::parse(payload).expect("every sent message parses");
            match side {
                Side::Client => self
                    .client
                    .handle_message(msg, Peer::udp(addr(SERVER)), now),
                Side::Server => self
                    .server
                    .handle_message(msg, Peer::udp(addr(CLIENT)), now),
            }
        }
        self.client.handle_timeout(now);
        self.server.handle_timeout(now);
        self.pump();
    }

    fn act(&mut self, action: Action) {
        let now = self.now;
        match action {
            Action::Start(n) => {
                let planned = self.plan[n].clone();
                let req = new_request(&mut self.client, n, &planned);
                let key = self
                    .client
                    .start_client(req, Peer::udp(addr(SERVER)), now)
                    .expect("start");
                if planned.cancel {
                    self.schedule(now + Duration::from_millis(100), Action::Cancel(key));
                }
                self.ctu.planned.insert(key, planned);
            }
            Action::Cancel(invite) => {
                // Usually still in Calling: the CANCEL waits for the first 1xx (§9.1).
                if let Ok(cancel) = self.client.cancel(invite, now) {
                    self.ctu.cancels.insert(cancel, invite);
                }
            }
            Action::Answer(key) => {
                if self.stu.answered.contains(&key) {
                    return;
                }
                let Some(req) = self.stu.requests.get(&key).cloned() else {
                    return;
                };
                let ringing = response_for(&req, StatusCode::RINGING, Some("srv"));
                self.server.respond(key, ringing, now).expect("180");
                self.answer(key, &req, instructions(&req).0);
            }
            Action::Retransmit2xx(key, interval) => {
                if self.stu.acked_2xx.contains(&key) {
                    return;
                }
                let Some(req) = self.stu.requests.get(&key) else {
                    return;
                };
                let ok = response_for(req, StatusCode::OK, Some("srv"));
                // Fails once Timer L has ended the transaction: stop retransmitting.
                if self.server.respond(key, ok, now).is_ok() {
                    let next = (interval * 2).min(T2);
                    self.schedule(now + interval, Action::Retransmit2xx(key, next));
                }
            }
        }
    }

    /// The server TU's final response.
    fn answer(&mut self, key: TransactionKey, req: &Request, code: u16) {
        let now = self.now;
        self.server
            .respond(key, response_for(req, status(code), Some("srv")), now)
            .expect("final response");
        self.stu.answered.insert(key);
        if req.method() == &Method::Invite && code == 200 {
            self.stu.ok_sent.insert(key);
            self.schedule(now + T1, Action::Retransmit2xx(key, T1 * 2));
        }
    }

    /// Drains both layers until nothing is left to do at this instant.
    fn pump(&mut self) {
        let now = self.now;
        loop {
            let mut progressed = false;
            while let Some(t) = self.client.poll_transmit() {
                progressed = true;
                assert_eq!(t.destination.addr, addr(SERVER));
                self.net.send(now, Side::Server, t.payload);
            }
            while let Some(t) = self.server.poll_transmit() {
                progressed = true;
                assert_eq!(t.destination.addr, addr(CLIENT), "response destination");
                self.net.send(now, Side::Client, t.payload);
            }
            while let Some(e) = self.client.poll_event() {
                progressed = true;
                self.client_event(e);
            }
            while let Some(e) = self.server.poll_event() {
                progressed = true;
                self.server_event(e);
            }
            if !progressed {
                break;
            }
        }
    }

    fn client_event(&mut self, e: Event) {
        match e {
            Event::Response { key, response } => {
                let code = response.status().as_u16();
                if code < 200 {
                    self.ctu.provisional += 1;
                    return;
                }
                if self.ctu.cancels.contains_key(&key) {
                    self.ctu.cancel_finals.entry(key).or_insert(code);
                    return;
                }
                self.ctu.finals.entry(key).or_insert(code);
                let invite = response.cseq().is_some_and(|c| c.method == Method::Invite);
                if invite && code < 300 {
                    self.send_ack(&response);
                }
            }
            Event::Stray2xx { response, .. } => self.send_ack(&response),
            Event::Timeout { timer, .. } => {
                assert!(matches!(timer, Timer::B | Timer::F));
                self.ctu.timeouts += 1;
            }
            Event::Terminated { key } => {
                self.ctu.terminated += 1;
                if self.ctu.cancels.contains_key(&key) && !self.ctu.cancel_finals.contains_key(&key)
                {
                    self.ctu.cancels_unsent.insert(key);
                }
            }
            other => panic!("unexpected client event {other:?}"),
        }
    }

    fn send_ack(&mut self, response: &Response) {
        if let Some(ack) = ack_for_2xx(&mut self.client, response) {
            self.client
                .send_stateless(&Message::Request(ack), Peer::udp(addr(SERVER)));
            self.ctu.acks_sent += 1;
        }
    }

    fn server_event(&mut self, e: Event) {
        let now = self.now;
        match e {
            Event::IncomingRequest { key, request, .. } => {
                let call_id = request
                    .call_id()
                    .map(|c| c.as_str().to_owned())
                    .unwrap_or_default();
                if !self.stu.call_ids.insert(call_id) {
                    self.stu.duplicates += 1;
                }
                let (code, delay) = instructions(&request);
                self.stu.requests.insert(key, request.clone());
                if delay > 0 {
                    self.schedule(now + Duration::from_millis(delay), Action::Answer(key));
                } else {
                    self.answer(key, &request, code);
                }
            }
            Event::Cancel {
                key,
                invite,
                request,
                ..
            } => {
                // §9.2: 200 to the CANCEL; 487 to the INVITE if it is still unanswered.
                let code = if invite.is_some() { 200 } else { 481 };
                let resp = response_for(&request, status(code), Some("srv"));
                self.server
                    .respond(key, resp, now)
                    .expect("CANCEL answered");
                if let Some(invite) = invite {
                    self.stu.cancels_matched += 1;
                    if let Some(req) = self.stu.requests.get(&invite).cloned()
                        && !self.stu.answered.contains(&invite)
                    {
                        self.answer(invite, &req, 487);
                    }
                }
            }
            Event::Ack2xx {
                invite: Some(key), ..
            } => {
                self.stu.acked_2xx.insert(key);
            }
            Event::Ack2xx { invite: None, .. } => {}
            Event::Timeout { .. } => self.stu.timeouts += 1,
            Event::Terminated { key } => {
                self.stu.requests.remove(&key);
            }
            other => panic!("unexpected server event {other:?}"),
        }
    }
}

#[test]
fn thousand_transactions_over_20_percent_loss() {
    const TOTAL: usize = 1_000;
    let t0 = Instant::now();
    let mut rng = StdRng::seed_from_u64(0x5EED_2026);
    // A mix of INVITE (200, 486, 603; answered at once, or after 300 ms so that 100
    // Trying goes out; some cancelled) and non-INVITE (OPTIONS 200, MESSAGE 404,
    // REGISTER 200).
    let plan: Vec<Planned> = (0..TOTAL)
        .map(|_| {
            let (method, code) = match rng.random_range(0..6) {
                0 | 1 => ("INVITE", 200),
                2 if rng.random_bool(0.3) => ("INVITE", 603),
                2 => ("INVITE", 486),
                3 => ("OPTIONS", 200),
                4 => ("MESSAGE", 404),
                _ => ("REGISTER", 200),
            };
            let invite = method == "INVITE";
            let delay_ms = if invite && rng.random_bool(0.5) {
                300
            } else {
                0
            };
            let cancel = delay_ms > 0 && rng.random_bool(0.3);
            Planned {
                method,
                code,
                delay_ms,
                cancel,
            }
        })
        .collect();
    let mut sim = Sim {
        now: t0,
        client: TransactionLayer::with_seed(Config::default(), 1),
        server: TransactionLayer::with_seed(Config::default(), 2),
        net: Network::new(7, 0.2),
        plan: plan.clone(),
        actions: BinaryHeap::new(),
        action_seq: 0,
        ctu: ClientTu::default(),
        stu: ServerTu::default(),
    };
    // One new transaction every 20 ms.
    for n in 0..TOTAL {
        sim.schedule(t0 + Duration::from_millis(20 * n as u64), Action::Start(n));
    }
    sim.run();
    let (ctu, stu) = (&sim.ctu, &sim.stu);

    // Every transaction completed with the status its server was told to send; a
    // cancelled INVITE ends with 487 unless its answer won the race with the CANCEL.
    assert_eq!(
        ctu.finals.len(),
        TOTAL,
        "every client transaction got a final"
    );
    let mut expected: HashMap<(&str, u16), usize> = HashMap::new();
    let mut got: HashMap<(&str, u16), usize> = HashMap::new();
    let mut cancelled_487 = 0;
    for (key, planned) in &ctu.planned {
        let code = ctu.finals[key];
        if planned.cancel {
            assert!(code == 487 || code == planned.code, "{key}: {code}");
            cancelled_487 += usize::from(code == 487);
        } else {
            assert_eq!(code, planned.code, "{key}");
            *expected.entry((planned.method, planned.code)).or_default() += 1;
            *got.entry((planned.method, code)).or_default() += 1;
        }
    }
    assert_eq!(got, expected);
    let planned_cancels = plan.iter().filter(|p| p.cancel).count();
    assert!(planned_cancels > 50, "{planned_cancels} cancels planned");
    assert_eq!(
        ctu.cancels.len(),
        planned_cancels,
        "every CANCEL was started"
    );
    // A CANCEL is answered 200, or dropped unsent when its INVITE got a final response
    // before any provisional one (§9.1) -- and then that INVITE was not cancelled.
    assert_eq!(
        ctu.cancel_finals.len() + ctu.cancels_unsent.len(),
        planned_cancels
    );
    assert!(ctu.cancel_finals.values().all(|&c| c == 200));
    for cancel in &ctu.cancels_unsent {
        let invite = ctu.cancels[cancel];
        assert_eq!(ctu.finals[&invite], ctu.planned[&invite].code);
    }
    assert_eq!(
        stu.cancels_matched as usize,
        ctu.cancel_finals.len(),
        "§9.2 matching"
    );
    assert!(
        cancelled_487 > planned_cancels / 2,
        "{cancelled_487} of {planned_cancels}"
    );
    assert_eq!(ctu.timeouts, 0, "no client timeouts");
    assert_eq!(ctu.terminated as usize, TOTAL + planned_cancels);
    assert!(
        sim.client.is_empty() && sim.server.is_empty(),
        "no transaction left"
    );
    // Each request reached the server TU once: retransmissions were all absorbed.
    assert_eq!(stu.call_ids.len(), TOTAL);
    assert_eq!(stu.duplicates, 0);
    // Every 2xx was ACKed through the TU path and every non-2xx through the transaction.
    assert!(stu.ok_sent.len() > 200);
    assert_eq!(stu.acked_2xx, stu.ok_sent);
    assert_eq!(stu.timeouts, 0, "no Timer H: every non-2xx was ACKed");
    assert!(ctu.acks_sent as usize >= stu.ok_sent.len());
    assert!(ctu.provisional > 0, "180 and 100 Trying reached the client");
    // The network lost about a fifth of the datagrams: retransmissions did the work.
    let ratio = sim.net.lost as f64 / sim.net.sent as f64;
    assert!((0.17..0.23).contains(&ratio), "loss ratio {ratio}");
    assert!(
        sim.net.sent > 3 * TOTAL as u64,
        "{} datagrams",
        sim.net.sent
    );
}

/// One input to a layer in the property test.
#[derive(Debug, Clone)]
enum Op {
    /// The TU starts a client transaction.
    Start {
        invite: bool,
        branch: u8,
        reliable: bool,
    },
    /// A request arrives.
    Request {
        method: u8,
        branch: u8,
        cookie: bool,
        host: u8,
        call: u8,
        to_tag: Option<u8>,
    },
    /// A response arrives.
    Response {
        code: u16,
        branch: u8,
        method: u8,
        to_tag: Option<u8>,
    },
    /// The TU responds on the n-th key seen.
    Respond { key: u8, code: u16 },
    /// The TU cancels the n-th key seen.
    Cancel { key: u8 },
    /// The transport fails for the n-th key seen.
    TransportError { key: u8 },
    /// Time passes.
    Advance { ms: u32 },
}

const METHODS: [&str; 6] = ["INVITE", "ACK", "CANCEL", "OPTIONS", "BYE", "REGISTER"];
const CODES: [u16; 9] = [100, 180, 183, 200, 202, 302, 404, 486, 503];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<bool>(), 0u8..6, any::<bool>()).prop_map(|(invite, branch, reliable)| Op::Start {
            invite,
            branch,
            reliable
        }),
        (
            0u8..6,
            0u8..6,
            any::<bool>(),
            0u8..2,
            0u8..3,
            proptest::option::of(0u8..2)
        )
            .prop_map(|(method, branch, cookie, host, call, to_tag)| Op::Request {
                method,
                branch,
                cookie,
                host,
                call,
                to_tag,
            }),
        (
            proptest::sample::select(&CODES[..]),
            0u8..6,
            0u8..6,
            proptest::option::of(0u8..2)
        )
            .prop_map(|(code, branch, method, to_tag)| Op::Response {
                code,
                branch,
                method,
                to_tag
            }),
        (any::<u8>(), proptest::sample::select(&CODES[..]))
            .prop_map(|(key, code)| Op::Respond { key, code }),
        any::<u8>().prop_map(|key| Op::Cancel { key }),
        any::<u8>().prop_map(|key| Op::TransportError { key }),
        (0u32..40_000).prop_map(|ms| Op::Advance { ms }),
    ]
}

fn message(
    method: &str,
    branch: u8,
    cookie: bool,
    host: u8,
    call: u8,
    to_tag: Option<u8>,
) -> String {
    let prefix = if cookie { "z9hG4bK" } else { "" };
    let to_tag = to_tag.map(|t| format!(";tag=t{t}")).unwrap_or_default();
    format!(
        "{method} sip:bob@example.com SIP/2.0\r\n\
         Via: SIP/2.0/UDP h{host}.example.com:5060;branch={prefix}b{branch}\r\n\
         Max-Forwards: 70\r\n\
         To: <sip:bob@example.com>{to_tag}\r\n\
         From: <sip:alice@example.com>;tag=f\r\n\
         Call-ID: c{call}\r\n\
         CSeq: 1 {method}\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Arbitrary inputs never panic, every transmit parses, and the number of live
    /// transactions never exceeds the configured limits.
    #[test]
    fn arbitrary_inputs_never_panic_and_stay_bounded(ops in proptest::collection::vec(op(), 1..80)) {
        const LIMIT: usize = 6;
        let mut layer = TransactionLayer::with_seed(Config::default().with_max_transactions(LIMIT), 3);
        let mut now = Instant::now();
        let mut keys: Vec<TransactionKey> = Vec::new();
        let mut requests: Vec<Request> = Vec::new();
        let src = Peer::udp(addr(CLIENT));
        for op in ops {
            match op {
                Op::Start { invite, branch, reliable } => {
                    let method = if invite { "INVITE" } else { "OPTIONS" };
                    let req = parse_request(message(method, branch, true, 0, 0, None));
                    let dest = if reliable { Peer::tcp(addr(SERVER)) } else { Peer::udp(addr(SERVER)) };
                    if let Ok(k) = layer.start_client(req, dest, now) {
                        keys.push(k);
                    }
                }
                Op::Request { method, branch, cookie, host, call, to_tag } => {
                    let raw = message(METHODS[method as usize], branch, cookie, host, call, to_tag);
                    layer.handle_message(Message::Request(parse_request(raw)), src, now);
                }
                Op::Response { code, branch, method, to_tag } => {
                    let req = parse_request(message(METHODS[method as usize], branch, true, 0, 0, to_tag));
                    let status = StatusCode::new(code).expect("code");
                    let resp = response_for(&req, status, Some("x"));
                    layer.handle_message(Message::Response(resp), Peer::udp(addr(SERVER)), now);
                }
                Op::Respond { key, code } => {
                    if let (Some(k), Some(req)) = (keys.get(key as usize % keys.len().max(1)), requests.last()) {
                        let status = StatusCode::new(code).expect("code");
                        let _ = layer.respond(*k, response_for(req, status, Some("s")), now);
                    }
                }
                Op::Cancel { key } => {
                    if let Some(k) = keys.get(key as usize % keys.len().max(1)) {
                        if let Ok(c) = layer.cancel(*k, now) {
                            keys.push(c);
                        }
                    }
                }
                Op::TransportError { key } => {
                    if let Some(k) = keys.get(key as usize % keys.len().max(1)) {
                        layer.handle_transport_error(*k);
                    }
                }
                Op::Advance { ms } => {
                    now += Duration::from_millis(u64::from(ms));
                    layer.handle_timeout(now);
                }
            }
            while let Some(t) = layer.poll_transmit() {
                prop_assert!(Message::parse(t.payload).is_ok());
            }
            while let Some(e) = layer.poll_event() {
                match e {
                    Event::IncomingRequest { key, request, .. } | Event::Cancel { key, request, .. } => {
                        keys.push(key);
                        requests.push(request);
                    }
                    _ => {}
                }
            }
            // In progress within the limit; with those past their final response, within
            // the memory bound.
            prop_assert!(layer.len() - layer.absorbing() <= LIMIT, "{} in progress", layer.len() - layer.absorbing());
            prop_assert!(layer.len() <= LIMIT * (ABSORBING_FACTOR + 1), "{} live", layer.len());
            if let Some(deadline) = layer.poll_timeout() {
                // A timer in the past is due now; handling it must make progress.
                if deadline <= now {
                    layer.handle_timeout(now);
                    prop_assert!(layer.poll_timeout().is_none_or(|d| d > now));
                }
            }
        }
        // With time running out every timer, only server transactions the TU never
        // answered remain.
        for _ in 0..100 {
            let Some(deadline) = layer.poll_timeout() else { break };
            layer.handle_timeout(deadline);
        }
        prop_assert!(layer.poll_timeout().is_none());
        while layer.poll_event().is_some() {}
        prop_assert!(layer.len() <= LIMIT);
    }
}
