//! The frames of a session stream and their fields.

use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use session_core::description::{
    Codec, MAX_CODECS, MAX_MEDIA_LINES, MediaAddress, MediaDescription, MediaDirection, MediaType,
    SessionDescription,
};
use session_core::{SessionType, StatusCode, Uri};

use super::fields::{FieldWriter, invalid, read_fields, required};
use super::{CodecError, MAX_FRAME_SIZE, varint};

/// Frame type numbers (the second varint of every frame).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum FrameType {
    /// [`Frame::Invite`].
    Invite = 1,
    /// [`Frame::Progress`].
    Progress = 2,
    /// [`Frame::Accept`].
    Accept = 3,
    /// [`Frame::Reject`].
    Reject = 4,
    /// [`Frame::Cancel`].
    Cancel = 5,
    /// [`Frame::Update`].
    Update = 6,
    /// [`Frame::UpdateAccept`].
    UpdateAccept = 7,
    /// [`Frame::Message`].
    Message = 8,
    /// [`Frame::Result`].
    Result = 9,
    /// [`Frame::Composing`].
    Composing = 10,
    /// [`Frame::Terminate`].
    Terminate = 11,
}

/// A composing indication's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComposingFlag {
    /// Stopped typing.
    Idle,
    /// Typing.
    Active,
}

/// One frame of a session stream. The vocabulary is session-core's, one to one.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // decoded one at a time and handed on by value
pub enum Frame {
    /// Opens the session (first frame of a stream, caller → callee).
    Invite {
        /// Caller.
        from: Uri,
        /// Callee.
        to: Uri,
        /// Session type.
        session_type: SessionType,
        /// The context's conversation id.
        conversation_id: Option<String>,
        /// Media offer.
        offer: Option<SessionDescription>,
        /// Caller's device id.
        device: Option<String>,
    },
    /// Provisional progress (callee → caller): 100, 180 or 183.
    Progress {
        /// The status code.
        code: StatusCode,
    },
    /// The invitation is accepted (callee → caller).
    Accept {
        /// Media answer.
        answer: Option<SessionDescription>,
        /// Callee's device id.
        device: Option<String>,
    },
    /// The invitation is refused (callee → caller); the callee then ends the stream.
    Reject {
        /// Status code (4xx–6xx).
        code: StatusCode,
        /// Reason text.
        text: String,
    },
    /// The caller withdraws its invitation before an answer.
    Cancel,
    /// A new offer on the established session (either side).
    Update {
        /// Request id, echoed by the answer.
        id: u64,
        /// The offer.
        offer: SessionDescription,
    },
    /// The answer to an [`Frame::Update`].
    UpdateAccept {
        /// The update's id.
        id: u64,
        /// The answer.
        answer: SessionDescription,
    },
    /// An instant message (either side).
    Message {
        /// Request id, echoed by the result.
        id: u64,
        /// MIME type.
        content_type: String,
        /// Body, byte-exact.
        body: Bytes,
    },
    /// The final status of a message or a refused update.
    Result {
        /// The request's id.
        id: u64,
        /// Status code.
        code: StatusCode,
        /// Reason text.
        text: String,
    },
    /// A composing indication.
    Composing {
        /// The state.
        state: ComposingFlag,
    },
    /// The session ends; the sender then finishes its side of the stream.
    Terminate {
        /// 200 for a normal hang-up, else the reason's code.
        code: StatusCode,
        /// Reason text.
        text: String,
    },
    /// A frame type this version does not know; the receiver ignores it.
    Unknown {
        /// Its type number.
        frame_type: u64,
    },
}

fn status(field: &super::fields::Field, name: &'static str) -> Result<StatusCode, CodecError> {
    StatusCode::new(field.small(name)?).ok_or_else(|| invalid(name, "not a status code"))
}

fn put_description(w: &mut FieldWriter<'_>, tag: u64, d: &SessionDescription) {
    w.nested(tag, |w| {
        w.uint(1, d.version);
        for m in &d.media {
            w.nested(2, |w| {
                w.uint(1, u64::from(m.media_type.ucc_value()));
                w.uint(2, u64::from(m.enabled));
                w.uint(3, u64::from(m.direction.bits()));
                match &m.address {
                    MediaAddress::Udp(a) => w.text(4, &a.to_string()),
                    MediaAddress::Signaling { flow_id } => w.uint(5, *flow_id),
                    MediaAddress::None => {}
                }
                w.uint(6, u64::from(m.rtcp_mux));
                for c in &m.codecs {
                    w.nested(7, |w| {
                        w.uint(1, u64::from(c.payload_type));
                        w.text(2, &c.name);
                        w.uint(3, u64::from(c.clock_rate));
                        w.uint(4, u64::from(c.channels));
                        if let Some(p) = &c.parameters {
                            w.text(5, p);
                        }
                    });
                }
            });
        }
    });
}

fn get_codec(value: Bytes) -> Result<Codec, CodecError> {
    let (mut pt, mut name, mut rate, mut channels, mut params) = (None, None, None, 1u8, None);
    for f in read_fields(value) {
        let f = f?;
        match f.tag {
            1 => pt = Some(f.small::<u8>("payload type")?),
            2 => name = Some(f.text("codec name")?),
            3 => rate = Some(f.small::<u32>("clock rate")?),
            4 => channels = f.small("channels")?,
            5 => params = Some(f.text("format parameters")?),
            _ => {}
        }
    }
    let payload_type = required(pt, "codec", "payload type")?;
    if payload_type > 127 {
        return Err(invalid("payload type", "above 127"));
    }
    Ok(Codec {
        payload_type,
        name: required(name, "codec", "name")?,
        clock_rate: required(rate, "codec", "clock rate")?,
        channels,
        parameters: params,
    })
}

fn get_line(value: Bytes) -> Result<MediaDescription, CodecError> {
    let (mut kind, mut enabled, mut direction, mut address, mut mux, mut codecs) = (
        None,
        true,
        MediaDirection::BOTH,
        MediaAddress::None,
        true,
        Vec::new(),
    );
    for f in read_fields(value) {
        let f = f?;
        match f.tag {
            1 => {
                kind = Some(match f.uint("media type")? {
                    1 => MediaType::Audio,
                    2 => MediaType::Video,
                    _ => return Err(invalid("media type", "neither audio nor video")),
                })
            }
            2 => enabled = f.flag("enabled")?,
            3 => direction = MediaDirection::from_bits(f.small("direction")?),
            4 => {
                let text = f.text("address")?;
                let addr: SocketAddr = text.parse().map_err(|_| invalid("address", text))?;
                address = MediaAddress::Udp(addr);
            }
            5 => {
                address = MediaAddress::Signaling {
                    flow_id: f.uint("flow id")?,
                }
            }
            6 => mux = f.flag("rtcp-mux")?,
            7 => {
                if codecs.len() >= MAX_CODECS {
                    return Err(CodecError::TooMany("codecs"));
                }
                codecs.push(get_codec(f.value)?);
            }
            _ => {}
        }
    }
    Ok(MediaDescription {
        media_type: required(kind, "media line", "media type")?,
        enabled,
        direction,
        address,
        rtcp_mux: mux,
        codecs,
    })
}

fn get_description(value: Bytes) -> Result<SessionDescription, CodecError> {
    let mut d = SessionDescription::default();
    for f in read_fields(value) {
        let f = f?;
        match f.tag {
            1 => d.version = f.uint("version")?,
            2 => {
                if d.media.len() >= MAX_MEDIA_LINES {
                    return Err(CodecError::TooMany("media lines"));
                }
                d.media.push(get_line(f.value)?);
            }
            _ => {}
        }
    }
    Ok(d)
}

fn uri(f: &super::fields::Field, name: &'static str) -> Result<Uri, CodecError> {
    let text = f.text(name)?;
    Uri::parse(&text).map_err(|e| invalid(name, e.to_string()))
}

impl Frame {
    /// The frame's type number.
    pub fn frame_type(&self) -> u64 {
        (match self {
            Frame::Invite { .. } => FrameType::Invite,
            Frame::Progress { .. } => FrameType::Progress,
            Frame::Accept { .. } => FrameType::Accept,
            Frame::Reject { .. } => FrameType::Reject,
            Frame::Cancel => FrameType::Cancel,
            Frame::Update { .. } => FrameType::Update,
            Frame::UpdateAccept { .. } => FrameType::UpdateAccept,
            Frame::Message { .. } => FrameType::Message,
            Frame::Result { .. } => FrameType::Result,
            Frame::Composing { .. } => FrameType::Composing,
            Frame::Terminate { .. } => FrameType::Terminate,
            Frame::Unknown { frame_type } => return *frame_type,
        }) as u64
    }

    /// Appends the frame, length-prefixed, to `out`. Fails only when the encoded
    /// frame would exceed [`MAX_FRAME_SIZE`] (a message body too large, say).
    pub fn encode(&self, out: &mut BytesMut) -> Result<(), CodecError> {
        let mut body = BytesMut::with_capacity(self.capacity_hint());
        varint::put(&mut body, self.frame_type());
        let mut w = FieldWriter::new(&mut body);
        match self {
            Frame::Invite {
                from,
                to,
                session_type,
                conversation_id,
                offer,
                device,
            } => {
                w.text(1, &from.to_string());
                w.text(2, &to.to_string());
                w.uint(3, u64::from(session_type.ucc_value()));
                if let Some(c) = conversation_id {
                    w.text(4, c);
                }
                if let Some(o) = offer {
                    put_description(&mut w, 5, o);
                }
                if let Some(d) = device {
                    w.text(6, d);
                }
            }
            Frame::Progress { code } => w.uint(1, u64::from(code.as_u16())),
            Frame::Accept { answer, device } => {
                if let Some(a) = answer {
                    put_description(&mut w, 1, a);
                }
                if let Some(d) = device {
                    w.text(2, d);
                }
            }
            Frame::Reject { code, text } | Frame::Terminate { code, text } => {
                w.uint(1, u64::from(code.as_u16()));
                w.text(2, text);
            }
            Frame::Cancel | Frame::Unknown { .. } => {}
            Frame::Update { id, offer } => {
                w.uint(1, *id);
                put_description(&mut w, 2, offer);
            }
            Frame::UpdateAccept { id, answer } => {
                w.uint(1, *id);
                put_description(&mut w, 2, answer);
            }
            Frame::Message {
                id,
                content_type,
                body: b,
            } => {
                w.uint(1, *id);
                w.text(2, content_type);
                w.bytes(3, b);
            }
            Frame::Result { id, code, text } => {
                w.uint(1, *id);
                w.uint(2, u64::from(code.as_u16()));
                w.text(3, text);
            }
            Frame::Composing { state } => w.uint(1, u64::from(*state == ComposingFlag::Active)),
        }
        if body.len() > MAX_FRAME_SIZE {
            return Err(CodecError::FrameTooLarge {
                len: body.len() as u64,
                max: MAX_FRAME_SIZE,
            });
        }
        out.reserve(varint::len(body.len() as u64) + body.len());
        varint::put(out, body.len() as u64);
        out.extend_from_slice(&body);
        Ok(())
    }

    /// Room for the encoded body: exact enough that the frequent frames (messages,
    /// results) are encoded without growing the buffer.
    fn capacity_hint(&self) -> usize {
        match self {
            Frame::Message {
                content_type, body, ..
            } => 32 + content_type.len() + body.len(),
            Frame::Result { text, .. }
            | Frame::Reject { text, .. }
            | Frame::Terminate { text, .. } => 16 + text.len(),
            Frame::Progress { .. } | Frame::Cancel | Frame::Composing { .. } => 16,
            _ => 256,
        }
    }

    /// Decodes one frame body (type and fields, without the length prefix).
    pub fn decode(mut body: Bytes) -> Result<Frame, CodecError> {
        let frame_type = varint::get(&mut body)?;
        let fields = read_fields(body);
        let frame = match frame_type {
            1 => {
                let (mut from, mut to, mut kind, mut conv, mut offer, mut device) =
                    (None, None, None, None, None, None);
                for f in fields {
                    let f = f?;
                    match f.tag {
                        1 => from = Some(uri(&f, "from")?),
                        2 => to = Some(uri(&f, "to")?),
                        3 => {
                            kind = Some(
                                SessionType::from_ucc_value(f.small("session type")?)
                                    .ok_or_else(|| invalid("session type", "unknown"))?,
                            )
                        }
                        4 => conv = Some(f.text("conversation id")?),
                        5 => offer = Some(get_description(f.value)?),
                        6 => device = Some(f.text("device")?),
                        _ => {}
                    }
                }
                Frame::Invite {
                    from: required(from, "INVITE", "from")?,
                    to: required(to, "INVITE", "to")?,
                    session_type: required(kind, "INVITE", "session type")?,
                    conversation_id: conv,
                    offer,
                    device,
                }
            }
            2 => {
                let mut code = None;
                for f in fields {
                    let f = f?;
                    if f.tag == 1 {
                        code = Some(status(&f, "code")?);
                    }
                }
                let code = required(code, "PROGRESS", "code")?;
                if !code.is_provisional() {
                    return Err(invalid("code", "progress must be 1xx"));
                }
                Frame::Progress { code }
            }
            3 => {
                let (mut answer, mut device) = (None, None);
                for f in fields {
                    let f = f?;
                    match f.tag {
                        1 => answer = Some(get_description(f.value)?),
                        2 => device = Some(f.text("device")?),
                        _ => {}
                    }
                }
                Frame::Accept { answer, device }
            }
            4 | 11 => {
                let (mut code, mut text) = (None, String::new());
                for f in fields {
                    let f = f?;
                    match f.tag {
                        1 => code = Some(status(&f, "code")?),
                        2 => text = f.text("text")?,
                        _ => {}
                    }
                }
                if frame_type == 4 {
                    let code = required(code, "REJECT", "code")?;
                    if !code.is_failure() {
                        return Err(invalid("code", "a rejection must be 3xx–6xx"));
                    }
                    Frame::Reject { code, text }
                } else {
                    Frame::Terminate {
                        code: required(code, "TERMINATE", "code")?,
                        text,
                    }
                }
            }
            5 => {
                for f in fields {
                    f?;
                }
                Frame::Cancel
            }
            6 | 7 => {
                let (mut id, mut d) = (None, None);
                for f in fields {
                    let f = f?;
                    match f.tag {
                        1 => id = Some(f.uint("id")?),
                        2 => d = Some(get_description(f.value)?),
                        _ => {}
                    }
                }
                let name = if frame_type == 6 {
                    "UPDATE"
                } else {
                    "UPDATE-ACCEPT"
                };
                let id = required(id, name, "id")?;
                let d = required(d, name, "description")?;
                if frame_type == 6 {
                    Frame::Update { id, offer: d }
                } else {
                    Frame::UpdateAccept { id, answer: d }
                }
            }
            8 => {
                let (mut id, mut ct, mut b) = (None, None, None);
                for f in fields {
                    let f = f?;
                    match f.tag {
                        1 => id = Some(f.uint("id")?),
                        2 => ct = Some(f.text("content type")?),
                        3 => b = Some(f.value),
                        _ => {}
                    }
                }
                Frame::Message {
                    id: required(id, "MESSAGE", "id")?,
                    content_type: required(ct, "MESSAGE", "content type")?,
                    body: required(b, "MESSAGE", "body")?,
                }
            }
            9 => {
                let (mut id, mut code, mut text) = (None, None, String::new());
                for f in fields {
                    let f = f?;
                    match f.tag {
                        1 => id = Some(f.uint("id")?),
                        2 => code = Some(status(&f, "code")?),
                        3 => text = f.text("text")?,
                        _ => {}
                    }
                }
                Frame::Result {
                    id: required(id, "RESULT", "id")?,
                    code: required(code, "RESULT", "code")?,
                    text,
                }
            }
            10 => {
                let mut state = None;
                for f in fields {
                    let f = f?;
                    if f.tag == 1 {
                        state = Some(if f.flag("state")? {
                            ComposingFlag::Active
                        } else {
                            ComposingFlag::Idle
                        });
                    }
                }
                Frame::Composing {
                    state: required(state, "COMPOSING", "state")?,
                }
            }
            other => Frame::Unknown { frame_type: other },
        };
        Ok(frame)
    }
}
