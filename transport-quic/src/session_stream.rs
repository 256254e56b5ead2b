//! One bidirectional stream per session: contract commands in, frames out; frames in,
//! [`Inbound`] events and answers out.
//!
//! Each leg runs as one task that owns both halves of its stream, a [`FrameDecoder`]
//! (which never holds more than one frame) and the leg's state: calling (caller awaits
//! ACCEPT or REJECT), ringing (callee awaits session-core's answer), established. The
//! task ends with the session, and every way it can end — TERMINATE, REJECT, CANCEL, a
//! reset, a malformed frame, the connection's loss — tells session-core once, with the
//! reason.

use std::collections::BTreeMap;
use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use quinn::{ReadError, RecvStream, SendStream, WriteError};
use session_core::contract::signaling::{
    Answer, ComposingState, Inbound, Invite, LegId, Message, Progress, Reply, ReplyReceiver,
};
use session_core::description::SessionDescription;
use session_core::error::{SignalingError, SignalingErrorKind};
use session_core::{Status, StatusCode};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::{Instrument, debug, info_span, trace};

use crate::codec::{CodecError, ComposingFlag, Frame, FrameDecoder};
use crate::connection::{self, Early, PeerConnection, SessionGuard, lost_status};
use crate::datagram;
use crate::error::ErrorCode;
use crate::lock;
use crate::transport::{EndpointShared, Shared};

/// Commands queued per leg before a caller waits.
const COMMAND_QUEUE: usize = 256;
/// How long a local hang-up waits for the peer to acknowledge its `Terminate` frame.
const TERMINATE_ACK_WAIT: Duration = Duration::from_secs(1);
/// Answers of inbound requests queued before their waiters wait.
const RESULT_QUEUE: usize = 256;
/// Unanswered inbound requests a leg's task awaits itself; beyond this many, each waits
/// in a task of its own (so a task wake-up never polls more than this many replies).
const INLINE_REPLIES: usize = 16;
/// Most bytes taken from a stream at a time: the decoder then holds at most one frame
/// plus this much, and no per-stream read buffer is needed.
const READ_CHUNK: usize = 16 * 1024;

/// What session-core asks of one leg.
pub(crate) enum Command {
    Progress(Progress),
    Update(
        SessionDescription,
        oneshot::Sender<Result<SessionDescription, SignalingError>>,
    ),
    Message(Message, oneshot::Sender<Result<(), SignalingError>>),
    Composing(ComposingState),
    Terminate(Status, oneshot::Sender<()>),
    Cancel,
}

/// A leg as the endpoint sees it.
#[derive(Clone)]
pub(crate) struct LegEntry {
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) connection: Arc<PeerConnection>,
    pub(crate) stream_id: u64,
}

/// A leg being opened (connection and stream not there yet) or open.
pub(crate) enum LegSlot {
    /// The outgoing invitation is connecting; the trigger cancels it.
    Connecting(Option<oneshot::Sender<()>>),
    Open(LegEntry),
}

enum State {
    /// Caller: awaiting ACCEPT or REJECT.
    Calling {
        answer: Option<oneshot::Sender<Result<Answer, SignalingError>>>,
        cancelled: bool,
        deadline: Option<Instant>,
    },
    /// Callee: awaiting session-core's answer.
    Ringing {
        reply: ReplyReceiver<Answer>,
    },
    Established,
    Done,
}

enum Pending {
    Update(oneshot::Sender<Result<SessionDescription, SignalingError>>),
    Message(oneshot::Sender<Result<(), SignalingError>>),
}

/// The answer session-core owes for an inbound request, and the frame it becomes.
enum Awaited {
    Update(u64, ReplyReceiver<SessionDescription>),
    Message(u64, ReplyReceiver<()>),
}

impl Awaited {
    fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<Frame> {
        match self {
            Awaited::Update(id, rx) => Pin::new(rx).poll(cx).map(|r| match r {
                Ok(answer) => Frame::UpdateAccept { id: *id, answer },
                Err(s) => result_frame(*id, &s),
            }),
            Awaited::Message(id, rx) => Pin::new(rx).poll(cx).map(|r| match r {
                Ok(()) => Frame::Result {
                    id: *id,
                    code: StatusCode::OK,
                    text: String::new(),
                },
                Err(s) => result_frame(*id, &s),
            }),
        }
    }
}

fn result_frame(id: u64, s: &Status) -> Frame {
    Frame::Result {
        id,
        code: s.code,
        text: s.text.to_string(),
    }
}

/// The first answer of `awaited` to be ready, as its frame (in the leg's own task: no
/// task and no channel per request).
async fn next_answer(awaited: &mut Vec<Awaited>) -> Frame {
    std::future::poll_fn(|cx| {
        for i in 0..awaited.len() {
            if let Poll::Ready(frame) = awaited[i].poll_frame(cx) {
                awaited.remove(i);
                return Poll::Ready(frame);
            }
        }
        Poll::Pending
    })
    .await
}

impl Pending {
    fn fail(self, status: Status) {
        let e = || SignalingError::new(SignalingErrorKind::Network, status.clone());
        match self {
            Pending::Update(tx) => {
                let _ = tx.send(Err(e()));
            }
            Pending::Message(tx) => {
                let _ = tx.send(Err(e()));
            }
        }
    }
}

#[allow(clippy::large_enum_variant)] // one per loop turn, moved once into its handler
enum Event {
    Read(Result<Option<Bytes>, ReadError>),
    Command(Option<Command>),
    Result(Frame),
    Answered(Result<Answer, Status>),
    AnswerDropped,
    CancelExpired,
}

enum WriteFailure {
    /// The frame cannot be encoded (too large): only this request fails.
    Encode(CodecError),
    /// The stream is gone; the leg ended (already reported).
    Ended,
}

fn status(code: StatusCode, text: String) -> Status {
    if text.is_empty() {
        Status::new(code)
    } else {
        Status::with_text(code, text)
    }
}

fn unavailable(text: impl Into<String>) -> SignalingError {
    SignalingError::new(
        SignalingErrorKind::Network,
        Status::with_text(StatusCode::TEMPORARILY_UNAVAILABLE, text.into()),
    )
}

fn encode(frame: &Frame) -> Result<BytesMut, CodecError> {
    let mut buf = BytesMut::new();
    frame.encode(&mut buf)?;
    Ok(buf)
}

fn write_status(e: &WriteError) -> Status {
    match e {
        WriteError::ConnectionLost(e) => lost_status(e),
        WriteError::Stopped(code) => reset_status("stopped", u64::from(*code)),
        other => Status::with_text(StatusCode::SERVICE_UNAVAILABLE, other.to_string()),
    }
}

fn reset_status(how: &str, code: u64) -> Status {
    match ErrorCode::from_code(code) {
        Some(ErrorCode::ProtocolViolation) => Status::with_text(
            StatusCode::BAD_REQUEST,
            format!("the peer {how} the session stream: UCC_PROTOCOL_VIOLATION (0x1)"),
        ),
        Some(c) => Status::with_text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "the peer {how} the session stream: {} ({code:#x})",
                c.name()
            ),
        ),
        None => Status::with_text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the peer {how} the session stream with code {code:#x}"),
        ),
    }
}

fn read_status(e: &ReadError) -> Status {
    match e {
        ReadError::Reset(code) => reset_status("reset", u64::from(*code)),
        ReadError::ConnectionLost(e) => lost_status(e),
        other => Status::with_text(StatusCode::SERVICE_UNAVAILABLE, other.to_string()),
    }
}

/// Opens `leg`: connection, stream, INVITE; then runs it and resolves with the answer.
pub(crate) async fn call(
    endpoint: Arc<EndpointShared>,
    leg: LegId,
    invite: Invite,
) -> Result<Answer, SignalingError> {
    let (trigger, mut cancelled) = oneshot::channel();
    lock(&endpoint.legs).insert(leg, LegSlot::Connecting(Some(trigger)));
    // Forgets the leg if this future is dropped or fails before the stream opens.
    let guard = ConnectingGuard {
        endpoint: &endpoint,
        leg,
    };
    let opened = tokio::select! {
        r = open(&endpoint, &invite) => r,
        Ok(()) = &mut cancelled => Err(SignalingError::cancelled()),
    };
    let (pc, send, recv) = opened?;
    std::mem::forget(guard);
    let stream_id = u64::from(send.id());
    let (commands, command_rx) = mpsc::channel(COMMAND_QUEUE);
    let (answer, answer_rx) = oneshot::channel();
    let entry = LegEntry {
        commands: commands.clone(),
        connection: pc.clone(),
        stream_id,
    };
    lock(&endpoint.legs).insert(leg, LegSlot::Open(entry));
    datagram::bind_leg(&endpoint, leg, &pc, stream_id);
    let shut_down = endpoint.is_closed();
    let span = info_span!("session", %leg, stream = stream_id, peer = %pc.conn.remote_address(), role = "caller");
    let task = Leg::new(
        endpoint,
        leg,
        pc,
        send,
        recv,
        FrameDecoder::new(),
        command_rx,
        State::Calling {
            answer: Some(answer),
            cancelled: false,
            deadline: None,
        },
    );
    tokio::spawn(task.run().instrument(span));
    if shut_down {
        // The endpoint shut down while this leg was connecting.
        endpoint_gone(&commands).await;
    } else if cancelled.try_recv().is_ok() {
        let _ = commands.send(Command::Cancel).await;
    }
    drop(commands);
    answer_rx
        .await
        .unwrap_or_else(|_| Err(unavailable("the session ended before an answer")))
}

async fn endpoint_gone(commands: &mpsc::Sender<Command>) {
    let (done, _) = oneshot::channel();
    let status = Status::with_text(StatusCode::SERVICE_UNAVAILABLE, "peer shut down");
    let _ = commands.send(Command::Terminate(status, done)).await;
}

struct ConnectingGuard<'a> {
    endpoint: &'a EndpointShared,
    leg: LegId,
}

impl Drop for ConnectingGuard<'_> {
    fn drop(&mut self) {
        let mut legs = lock(&self.endpoint.legs);
        if matches!(legs.get(&self.leg), Some(LegSlot::Connecting(_))) {
            legs.remove(&self.leg);
        }
    }
}

async fn open(
    endpoint: &Arc<EndpointShared>,
    invite: &Invite,
) -> Result<(Arc<PeerConnection>, SendStream, RecvStream), SignalingError> {
    let frame = Frame::Invite {
        from: invite.from.clone(),
        to: invite.to.clone(),
        session_type: invite.session_type,
        conversation_id: invite.conversation_id.clone(),
        offer: invite.offer.clone(),
        device: invite.device.clone(),
    };
    let wire = encode(&frame).map_err(|e| {
        SignalingError::new(
            SignalingErrorKind::Unsupported,
            Status::with_text(StatusCode::BAD_REQUEST, e.to_string()),
        )
    })?;
    let mut pc = connection::connect(&endpoint.transport, &invite.to).await?;
    let mut early = pc.is_early();
    let (send, recv) = match send_invite(&pc, &wire).await {
        Ok(opened) => opened,
        Err(_) if pc.lingered_out() => {
            // This side closed the connection for having no sessions just as this one
            // started: nothing was sent on it, so a new connection carries the INVITE.
            pc = connection::connect(&endpoint.transport, &invite.to).await?;
            early = pc.is_early();
            send_invite(&pc, &wire).await?
        }
        Err(e) => return Err(e),
    };
    if !early {
        return Ok((pc, send, recv));
    }
    // The INVITE went out as 0-RTT data. The peer's answer cannot come before its
    // handshake flight, so waiting for the handshake here costs nothing.
    match pc.settled(endpoint.transport.config.timeouts.connect).await {
        Early::Settled => Ok((pc, send, recv)),
        Early::Rejected => {
            debug!("0-RTT rejected: invitation sent again");
            let (send, recv) = send_invite(&pc, &wire).await?;
            Ok((pc, send, recv))
        }
        Early::Pending | Early::Failed => {
            let why = pc.conn.close_reason().map_or_else(
                || Status::with_text(StatusCode::TEMPORARILY_UNAVAILABLE, "handshake failed"),
                |e| lost_status(&e),
            );
            Err(not_reached(&why))
        }
    }
}

/// Opens a session stream on `pc` and writes the encoded INVITE on it.
async fn send_invite(
    pc: &PeerConnection,
    wire: &[u8],
) -> Result<(SendStream, RecvStream), SignalingError> {
    let (mut send, recv) = pc
        .conn
        .open_bi()
        .await
        .map_err(|e| not_reached(&lost_status(&e)).with_source(e))?;
    send.write_all(wire)
        .await
        .map_err(|e| not_reached(&write_status(&e)).with_source(e))?;
    Ok((send, recv))
}

/// The invitation got no answer (never reached the peer, or the stream or connection
/// failed before the answer): 480, with why. In TLS 1.3 a server that
/// refuses the caller's certificate does so after the caller's handshake completed,
/// so that refusal surfaces here.
fn not_reached(why: &Status) -> SignalingError {
    let text = if why.text.contains("certificate") {
        format!(
            "the peer did not accept this endpoint's certificate: {}",
            why.text
        )
    } else {
        format!("no answer to the invitation: {}", why.text)
    };
    unavailable(text)
}

#[allow(clippy::large_enum_variant)] // once per stream
enum FirstFrame {
    Frame(Frame),
    Invalid(CodecError),
    Ended,
}

async fn first_frame(recv: &mut RecvStream, decoder: &mut FrameDecoder) -> FirstFrame {
    loop {
        match decoder.next_frame() {
            Some(Ok(frame)) => return FirstFrame::Frame(frame),
            Some(Err(e)) => return FirstFrame::Invalid(e),
            None => {}
        }
        match recv.read_chunk(READ_CHUNK, true).await {
            Ok(Some(chunk)) => decoder.push(&chunk.bytes),
            Ok(None) | Err(_) => return FirstFrame::Ended,
        }
    }
}

/// Serves a stream a peer opened: its INVITE, then the session.
pub(crate) async fn answer(
    transport: Arc<Shared>,
    pc: Arc<PeerConnection>,
    mut send: SendStream,
    mut recv: RecvStream,
) {
    let stream_id = u64::from(send.id());
    let span = info_span!("session", stream = stream_id, role = "callee");
    let mut decoder = FrameDecoder::new();
    let timeout = transport.config.timeouts.first_frame;
    let first = tokio::time::timeout(timeout, first_frame(&mut recv, &mut decoder)).await;
    let (from, to, session_type, conversation_id, offer, device) = match first {
        Ok(FirstFrame::Frame(Frame::Invite {
            from,
            to,
            session_type,
            conversation_id,
            offer,
            device,
        })) => (from, to, session_type, conversation_id, offer, device),
        Ok(FirstFrame::Frame(other)) => {
            debug!(parent: &span, frame = other.frame_type(), "first frame is not INVITE");
            violate(&mut send, &mut recv);
            return;
        }
        Ok(FirstFrame::Invalid(e)) => {
            debug!(parent: &span, error = %e, "malformed first frame");
            violate(&mut send, &mut recv);
            return;
        }
        Ok(FirstFrame::Ended) => return,
        Err(_) => {
            debug!(parent: &span, "no INVITE in time");
            let _ = send.reset(ErrorCode::SessionTimeout.varint());
            let _ = recv.stop(ErrorCode::SessionTimeout.varint());
            return;
        }
    };
    let Some(endpoint) = transport.registered(&to) else {
        debug!(parent: &span, %to, "invitation for an unregistered address");
        reject(send, StatusCode::TEMPORARILY_UNAVAILABLE, "not registered").await;
        return;
    };
    drop(transport);
    let leg = LegId::next();
    let span = info_span!(parent: &span, "leg", %leg, peer = %pc.conn.remote_address());
    let (commands, command_rx) = mpsc::channel(COMMAND_QUEUE);
    lock(&endpoint.legs).insert(
        leg,
        LegSlot::Open(LegEntry {
            commands,
            connection: pc.clone(),
            stream_id,
        }),
    );
    let device = verified_device(&pc).or(device);
    let (reply, reply_rx) = Reply::channel();
    let inbound = Inbound::Invite {
        leg,
        invite: Invite {
            from,
            to,
            session_type,
            conversation_id,
            offer,
            device,
        },
        reply,
    };
    let task = Leg::new(
        endpoint.clone(),
        leg,
        pc,
        send,
        recv,
        decoder,
        command_rx,
        State::Ringing { reply: reply_rx },
    );
    // A failed delivery drops the reply: the task then rejects with 480.
    let _ = endpoint.inbound.send(inbound).await;
    task.run().instrument(span).await;
}

/// The device id of a peer that proved its identity with a certificate:
/// `sha256:<fingerprint hex>`. It takes precedence over the id the peer declares.
fn verified_device(pc: &PeerConnection) -> Option<String> {
    pc.peer.map(|f| format!("sha256:{}", f.to_hex()))
}

/// Refuses a stream's invitation before it becomes a leg.
async fn reject(mut send: SendStream, code: StatusCode, text: &str) {
    let frame = Frame::Reject {
        code,
        text: text.to_owned(),
    };
    if let Ok(wire) = encode(&frame) {
        let _ = send.write_all(&wire).await;
    }
    let _ = send.finish();
}

fn violate(send: &mut SendStream, recv: &mut RecvStream) {
    let _ = send.reset(ErrorCode::ProtocolViolation.varint());
    let _ = recv.stop(ErrorCode::ProtocolViolation.varint());
}

async fn state_event(state: &mut State) -> Event {
    match state {
        State::Calling {
            answer: Some(answer),
            deadline,
            ..
        } => match deadline {
            Some(d) => {
                tokio::select! {
                    () = answer.closed() => Event::AnswerDropped,
                    () = tokio::time::sleep_until(*d) => Event::CancelExpired,
                }
            }
            None => {
                answer.closed().await;
                Event::AnswerDropped
            }
        },
        State::Calling {
            answer: None,
            deadline: Some(d),
            ..
        } => {
            tokio::time::sleep_until(*d).await;
            Event::CancelExpired
        }
        State::Ringing { reply } => Event::Answered(reply.await),
        _ => std::future::pending().await,
    }
}

/// The task of one leg.
struct Leg {
    endpoint: Arc<EndpointShared>,
    leg: LegId,
    pc: Arc<PeerConnection>,
    send: SendStream,
    recv: RecvStream,
    decoder: FrameDecoder,
    commands: mpsc::Receiver<Command>,
    results_tx: mpsc::Sender<Frame>,
    results: mpsc::Receiver<Frame>,
    awaited: Vec<Awaited>,
    next_id: u64,
    pending: BTreeMap<u64, Pending>,
    state: State,
    /// Keeps the connection from lingering out while the session lives.
    _counted: SessionGuard,
}

impl Leg {
    #[allow(clippy::too_many_arguments)] // the parts of one leg, assembled once
    fn new(
        endpoint: Arc<EndpointShared>,
        leg: LegId,
        pc: Arc<PeerConnection>,
        send: SendStream,
        recv: RecvStream,
        decoder: FrameDecoder,
        commands: mpsc::Receiver<Command>,
        state: State,
    ) -> Self {
        let (results_tx, results) = mpsc::channel(RESULT_QUEUE);
        let _counted = pc.session_started();
        Self {
            endpoint,
            leg,
            pc,
            send,
            recv,
            decoder,
            commands,
            results_tx,
            results,
            awaited: Vec::new(),
            next_id: 1,
            pending: BTreeMap::new(),
            state,
            _counted,
        }
    }

    async fn run(mut self) {
        let mut flow = self.drain().await;
        while flow.is_continue() {
            let event = tokio::select! {
                r = self.recv.read_chunk(READ_CHUNK, true) => Event::Read(r.map(|c| c.map(|c| c.bytes))),
                c = self.commands.recv() => Event::Command(c),
                Some(f) = self.results.recv() => Event::Result(f),
                f = next_answer(&mut self.awaited), if !self.awaited.is_empty() => Event::Result(f),
                e = state_event(&mut self.state) => e,
            };
            flow = match event {
                Event::Read(Ok(Some(bytes))) => {
                    self.decoder.push(&bytes);
                    self.drain().await
                }
                Event::Read(Ok(None)) => {
                    self.fail(Status::with_text(
                        StatusCode::OK,
                        "the peer finished the session stream",
                    ))
                    .await;
                    let _ = self.send.finish();
                    ControlFlow::Break(())
                }
                Event::Read(Err(e)) => {
                    debug!(error = %e, "session stream ended");
                    self.fail(read_status(&e)).await;
                    ControlFlow::Break(())
                }
                Event::Command(Some(c)) => self.on_command(c).await,
                Event::Command(None) => {
                    // The endpoint forgot the leg without a TERMINATE (it was dropped).
                    let _ = self.send.reset(ErrorCode::NoError.varint());
                    ControlFlow::Break(())
                }
                Event::Result(frame) => self.write_or_end(&frame).await,
                Event::Answered(answer) => self.on_answer(answer).await,
                Event::AnswerDropped => {
                    if let State::Calling { answer, .. } = &mut self.state {
                        *answer = None;
                    }
                    self.cancel().await
                }
                Event::CancelExpired => {
                    debug!("no answer to CANCEL in time");
                    self.fail(Status::new(StatusCode::REQUEST_TERMINATED)).await;
                    let _ = self.send.reset(ErrorCode::SessionTimeout.varint());
                    ControlFlow::Break(())
                }
            };
        }
        self.endpoint.forget(self.leg);
        trace!("session task ended");
    }

    /// Handles every whole frame buffered.
    async fn drain(&mut self) -> ControlFlow<()> {
        while let Some(next) = self.decoder.next_frame() {
            match next {
                Ok(frame) => self.on_frame(frame).await?,
                Err(e) => {
                    self.violation(&e.to_string()).await;
                    return ControlFlow::Break(());
                }
            }
        }
        ControlFlow::Continue(())
    }

    /// The peer broke the protocol: reset the stream with 0x1 and end the leg with 400.
    async fn violation(&mut self, what: &str) {
        debug!(what, "protocol violation by the peer");
        violate(&mut self.send, &mut self.recv);
        self.fail(Status::with_text(
            StatusCode::BAD_REQUEST,
            format!("the peer violated the ucc/1 protocol: {what}"),
        ))
        .await;
    }

    /// Tells session-core the leg ended with `status`, once.
    async fn fail(&mut self, status: Status) {
        for p in std::mem::take(&mut self.pending).into_values() {
            p.fail(status.clone());
        }
        match std::mem::replace(&mut self.state, State::Done) {
            State::Calling {
                answer: Some(tx),
                cancelled,
                ..
            } => {
                let e = if cancelled {
                    SignalingError::cancelled()
                } else {
                    not_reached(&status)
                };
                let _ = tx.send(Err(e));
            }
            State::Ringing { .. } | State::Established => {
                let leg = self.leg;
                self.deliver(Inbound::Terminated { leg, status }).await;
            }
            State::Calling { answer: None, .. } | State::Done => {}
        }
    }

    async fn deliver(&self, inbound: Inbound) -> bool {
        self.endpoint.inbound.send(inbound).await.is_ok()
    }

    async fn write(&mut self, frame: &Frame) -> Result<(), WriteFailure> {
        let wire = encode(frame).map_err(WriteFailure::Encode)?;
        if let Err(e) = self.send.write_chunk(wire.freeze()).await {
            debug!(error = %e, "session stream write failed");
            self.fail(write_status(&e)).await;
            return Err(WriteFailure::Ended);
        }
        Ok(())
    }

    async fn write_or_end(&mut self, frame: &Frame) -> ControlFlow<()> {
        match self.write(frame).await {
            Ok(()) => ControlFlow::Continue(()),
            Err(WriteFailure::Encode(e)) => {
                debug!(error = %e, "frame not sent");
                ControlFlow::Continue(())
            }
            Err(WriteFailure::Ended) => ControlFlow::Break(()),
        }
    }

    async fn cancel(&mut self) -> ControlFlow<()> {
        let timeout = self.endpoint.transport.config.timeouts.cancel;
        if let State::Calling {
            cancelled,
            deadline,
            ..
        } = &mut self.state
        {
            if !*cancelled {
                *cancelled = true;
                *deadline = Some(Instant::now() + timeout);
                return self.write_or_end(&Frame::Cancel).await;
            }
        }
        ControlFlow::Continue(())
    }

    async fn on_command(&mut self, command: Command) -> ControlFlow<()> {
        match command {
            Command::Progress(p) => {
                if matches!(self.state, State::Ringing { .. }) {
                    return self
                        .write_or_end(&Frame::Progress {
                            code: p.status().code,
                        })
                        .await;
                }
                ControlFlow::Continue(())
            }
            Command::Update(offer, tx) => {
                let id = self.next_request();
                match self.write(&Frame::Update { id, offer }).await {
                    Ok(()) => {
                        self.pending.insert(id, Pending::Update(tx));
                        ControlFlow::Continue(())
                    }
                    Err(f) => self.refuse_request(f, |e| {
                        let _ = tx.send(Err(e));
                    }),
                }
            }
            Command::Message(m, tx) => {
                let id = self.next_request();
                let frame = Frame::Message {
                    id,
                    content_type: m.content_type,
                    body: m.body,
                };
                match self.write(&frame).await {
                    Ok(()) => {
                        self.pending.insert(id, Pending::Message(tx));
                        ControlFlow::Continue(())
                    }
                    Err(f) => self.refuse_request(f, |e| {
                        let _ = tx.send(Err(e));
                    }),
                }
            }
            Command::Composing(state) => {
                let state = match state {
                    ComposingState::Active => ComposingFlag::Active,
                    ComposingState::Idle => ComposingFlag::Idle,
                };
                self.write_or_end(&Frame::Composing { state }).await
            }
            Command::Terminate(status, done) => {
                let frame = Frame::Terminate {
                    code: status.code,
                    text: status.text.to_string(),
                };
                if self.write(&frame).await.is_ok() && self.send.finish().is_ok() {
                    // Done when the peer has the frame (as a SIP BYE is done on its 200),
                    // so a process that exits right after hanging up does not leave the
                    // peer to find out by idle timeout.
                    let _ = tokio::time::timeout(TERMINATE_ACK_WAIT, self.send.stopped()).await;
                }
                let gone = Status::with_text(StatusCode::CALL_DOES_NOT_EXIST, "session terminated");
                for p in std::mem::take(&mut self.pending).into_values() {
                    p.fail(gone.clone());
                }
                if let State::Calling {
                    answer: Some(tx), ..
                } = std::mem::replace(&mut self.state, State::Done)
                {
                    let _ = tx.send(Err(SignalingError::new(SignalingErrorKind::Closed, status)));
                }
                let _ = done.send(());
                ControlFlow::Break(())
            }
            Command::Cancel => self.cancel().await,
        }
    }

    /// Awaits session-core's answer to an inbound request; its frame is written when it
    /// comes ([`Event::Result`]).
    fn await_answer(&mut self, mut awaited: Awaited) {
        if self.awaited.len() < INLINE_REPLIES {
            self.awaited.push(awaited);
            return;
        }
        let results = self.results_tx.clone();
        tokio::spawn(async move {
            let frame = std::future::poll_fn(|cx| awaited.poll_frame(cx)).await;
            let _ = results.send(frame).await;
        });
    }

    fn next_request(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn refuse_request(
        &mut self,
        failure: WriteFailure,
        answer: impl FnOnce(SignalingError),
    ) -> ControlFlow<()> {
        match failure {
            WriteFailure::Encode(e) => {
                answer(SignalingError::new(
                    SignalingErrorKind::Unsupported,
                    Status::with_text(StatusCode::BAD_REQUEST, e.to_string()),
                ));
                ControlFlow::Continue(())
            }
            WriteFailure::Ended => {
                answer(unavailable("the session stream ended"));
                ControlFlow::Break(())
            }
        }
    }

    async fn on_answer(&mut self, answer: Result<Answer, Status>) -> ControlFlow<()> {
        match answer {
            Ok(answer) => {
                self.state = State::Established;
                let frame = Frame::Accept {
                    answer: answer.description,
                    device: Some(self.endpoint.device.clone()),
                };
                self.write_or_end(&frame).await
            }
            Err(status) => {
                self.state = State::Done;
                let code = if status.code.is_failure() {
                    status.code
                } else {
                    StatusCode::TEMPORARILY_UNAVAILABLE
                };
                let frame = Frame::Reject {
                    code,
                    text: status.text.to_string(),
                };
                if self.write(&frame).await.is_ok() {
                    let _ = self.send.finish();
                }
                ControlFlow::Break(())
            }
        }
    }

    async fn on_frame(&mut self, frame: Frame) -> ControlFlow<()> {
        let leg = self.leg;
        match frame {
            Frame::Invite { .. } => {
                self.violation("INVITE on an open session stream").await;
                ControlFlow::Break(())
            }
            Frame::Progress { code } => {
                if let State::Calling {
                    answer: Some(_),
                    cancelled: false,
                    ..
                } = self.state
                {
                    let progress = match code.as_u16() {
                        100 => Progress::Trying,
                        180 => Progress::Ringing,
                        _ => Progress::SessionProgress,
                    };
                    self.deliver(Inbound::Progress { leg, progress }).await;
                }
                ControlFlow::Continue(())
            }
            Frame::Accept { answer, device } => self.on_accept(answer, device).await,
            Frame::Reject { code, text } => match std::mem::replace(&mut self.state, State::Done) {
                State::Calling {
                    answer, cancelled, ..
                } => {
                    if let Some(tx) = answer {
                        let e = if cancelled {
                            SignalingError::cancelled()
                        } else {
                            SignalingError::rejected(status(code, text))
                        };
                        let _ = tx.send(Err(e));
                    }
                    let _ = self.send.finish();
                    ControlFlow::Break(())
                }
                other => {
                    self.state = other;
                    debug!("REJECT outside an invitation ignored");
                    ControlFlow::Continue(())
                }
            },
            Frame::Cancel => {
                if !matches!(self.state, State::Ringing { .. }) {
                    return ControlFlow::Continue(());
                }
                self.state = State::Done;
                let frame = Frame::Reject {
                    code: StatusCode::REQUEST_TERMINATED,
                    text: "cancelled".into(),
                };
                if self.write(&frame).await.is_ok() {
                    let _ = self.send.finish();
                }
                self.deliver(Inbound::Cancelled { leg }).await;
                ControlFlow::Break(())
            }
            Frame::Update { id, offer } => {
                let (reply, rx) = Reply::channel();
                self.await_answer(Awaited::Update(id, rx));
                self.inbound_or_end(Inbound::Update { leg, offer, reply })
                    .await
            }
            Frame::UpdateAccept { id, answer } => {
                match self.pending.remove(&id) {
                    Some(Pending::Update(tx)) => {
                        let _ = tx.send(Ok(answer));
                    }
                    Some(other) => {
                        self.pending.insert(id, other);
                    }
                    None => debug!(id, "UPDATE-ACCEPT for no pending UPDATE"),
                }
                ControlFlow::Continue(())
            }
            Frame::Message {
                id,
                content_type,
                body,
            } => {
                let (reply, rx) = Reply::channel();
                self.await_answer(Awaited::Message(id, rx));
                let message = Message { content_type, body };
                self.inbound_or_end(Inbound::Message {
                    leg,
                    message,
                    reply,
                })
                .await
            }
            Frame::Result { id, code, text } => {
                match self.pending.remove(&id) {
                    Some(Pending::Message(tx)) => {
                        let r = if code.is_success() {
                            Ok(())
                        } else {
                            Err(SignalingError::rejected(status(code, text)))
                        };
                        let _ = tx.send(r);
                    }
                    Some(Pending::Update(tx)) => {
                        let _ = tx.send(Err(SignalingError::rejected(status(code, text))));
                    }
                    None => debug!(id, "RESULT for no pending request"),
                }
                ControlFlow::Continue(())
            }
            Frame::Composing { state } => {
                let state = match state {
                    ComposingFlag::Active => ComposingState::Active,
                    ComposingFlag::Idle => ComposingState::Idle,
                };
                self.inbound_or_end(Inbound::Composing { leg, state }).await
            }
            Frame::Terminate { code, text } => {
                let st = status(code, text);
                match std::mem::replace(&mut self.state, State::Done) {
                    // A TERMINATE instead of an answer: the invitation failed.
                    State::Calling {
                        answer: Some(tx), ..
                    } => {
                        let _ = tx.send(Err(SignalingError::rejected(st)));
                    }
                    State::Calling { answer: None, .. } | State::Done => {}
                    other => {
                        self.state = other;
                        self.fail(st).await;
                    }
                }
                let _ = self.send.finish();
                ControlFlow::Break(())
            }
            Frame::Unknown { frame_type } => {
                trace!(frame_type, "unknown frame ignored");
                ControlFlow::Continue(())
            }
        }
    }

    async fn on_accept(
        &mut self,
        description: Option<SessionDescription>,
        device: Option<String>,
    ) -> ControlFlow<()> {
        match std::mem::replace(&mut self.state, State::Established) {
            State::Calling {
                answer: Some(tx),
                cancelled: false,
                ..
            } => {
                let device = verified_device(&self.pc).or(device);
                if tx
                    .send(Ok(Answer {
                        description,
                        device,
                    }))
                    .is_ok()
                {
                    return ControlFlow::Continue(());
                }
                self.hang_up_crossed(None).await
            }
            State::Calling { answer, .. } => self.hang_up_crossed(answer).await,
            other => {
                self.state = other;
                debug!("ACCEPT outside an invitation ignored");
                ControlFlow::Continue(())
            }
        }
    }

    /// An answer crossed a cancel: hang the answered session up (RFC 3261 §9.1).
    async fn hang_up_crossed(
        &mut self,
        answer: Option<oneshot::Sender<Result<Answer, SignalingError>>>,
    ) -> ControlFlow<()> {
        self.state = State::Done;
        if let Some(tx) = answer {
            let _ = tx.send(Err(SignalingError::cancelled()));
        }
        let frame = Frame::Terminate {
            code: StatusCode::REQUEST_TERMINATED,
            text: "cancelled".into(),
        };
        if self.write(&frame).await.is_ok() {
            let _ = self.send.finish();
        }
        ControlFlow::Break(())
    }

    async fn inbound_or_end(&mut self, inbound: Inbound) -> ControlFlow<()> {
        if self.deliver(inbound).await {
            return ControlFlow::Continue(());
        }
        debug!("endpoint no longer listening: session abandoned");
        let _ = self.send.reset(ErrorCode::NoError.varint());
        ControlFlow::Break(())
    }
}
