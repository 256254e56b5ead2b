//! [`Dialog`]: one dialog's state (RFC 3261 §12.1, §12.2) and the requests it builds.

use std::fmt;

use crate::HeaderError;
use crate::header::{CSeq, CallId, Header, MaxForwards, NameAddr};
use crate::message::{Method, Request, Response};
use crate::uri::Uri;

/// Why a dialog could not be created, updated or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DialogError {
    /// A message lacks a header the dialog needs.
    #[error("{message} has no {header} header")]
    MissingHeader {
        /// `"request"` or `"response"`.
        message: &'static str,
        /// The header name.
        header: &'static str,
    },
    /// The From tag (the UAC's tag) is missing.
    #[error("From has no tag")]
    NoFromTag,
    /// A provisional response without a To tag cannot create an early dialog (§12.1.2).
    #[error("provisional response has no To tag")]
    NoToTag,
    /// The response status does not create or update a dialog (100, or 3xx-6xx).
    #[error("status {0} does not create a dialog")]
    Status(u16),
    /// A request that creates a dialog must carry a Contact (§12.1.1).
    #[error("request has no Contact")]
    NoContact,
    /// The message belongs to another dialog (Call-ID or tags differ).
    #[error("message does not match dialog {0}")]
    Mismatch(DialogId),
    /// The request's CSeq is lower than the remote sequence number: the TU answers 500
    /// (§12.2.2).
    #[error("CSeq {received} is lower than the dialog's remote CSeq {current}")]
    CSeqOutOfOrder {
        /// The request's CSeq.
        received: u32,
        /// The highest CSeq seen.
        current: u32,
    },
    /// The local CSeq would exceed 2^31 - 1 (§8.1.1.5).
    #[error("local CSeq exhausted")]
    CSeqExhausted,
    /// No INVITE was sent in this dialog, so there is nothing to acknowledge.
    #[error("no INVITE to acknowledge")]
    NoInvite,
    /// The dialog has ended.
    #[error("dialog {0} is terminated")]
    Terminated(DialogId),
    /// A header built from dialog state did not parse (an unrepresentable URI).
    #[error("cannot build header")]
    Header(#[source] HeaderError),
}

/// A dialog's identity (§12): Call-ID, local tag, remote tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId {
    /// Call-ID.
    pub call_id: String,
    /// This side's tag.
    pub local_tag: String,
    /// The peer's tag; empty for an RFC 2543 peer that sent none (§12.1.2).
    pub remote_tag: String,
}

impl fmt::Display for DialogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{};l={};r={}",
            self.call_id, self.local_tag, self.remote_tag
        )
    }
}

impl DialogId {
    /// The id of the dialog an incoming in-dialog request belongs to (local tag from To,
    /// remote from From). `None` if a header or the To tag is missing.
    pub fn of_request(request: &Request) -> Option<DialogId> {
        Some(DialogId {
            call_id: request.call_id()?.as_str().to_owned(),
            local_tag: request.to()?.tag()?.to_owned(),
            remote_tag: request.from()?.tag().unwrap_or_default().to_owned(),
        })
    }

    /// The id of the dialog a response to our request belongs to (local tag from From,
    /// remote from To). `None` if a header or the From tag is missing.
    pub fn of_response(response: &Response) -> Option<DialogId> {
        Some(DialogId {
            call_id: response.call_id()?.as_str().to_owned(),
            local_tag: response.from()?.tag()?.to_owned(),
            remote_tag: response.to()?.tag().unwrap_or_default().to_owned(),
        })
    }
}

/// Dialog state (§12, §13.2.2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DialogState {
    /// Created by a provisional response.
    Early,
    /// Created or confirmed by a 2xx.
    Confirmed,
    /// Ended (BYE, or a non-2xx final response to the INVITE of an early dialog).
    Terminated,
}

/// Which side created the dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Sent the dialog-creating request, and so owns the Call-ID (§14.1).
    Uac,
    /// Received it.
    Uas,
}

/// One dialog (§12.1): identity, sequence numbers, URIs, remote target and route set.
#[derive(Debug, Clone)]
pub struct Dialog {
    id: DialogId,
    state: DialogState,
    role: Role,
    local_seq: Option<u32>,
    remote_seq: Option<u32>,
    /// The From (UAC) or To (UAS) value, with the local tag.
    local: NameAddr,
    /// The To (UAC) or From (UAS) value, with the remote tag.
    remote: NameAddr,
    remote_target: Uri,
    route_set: Vec<NameAddr>,
    /// CSeq number of the last INVITE this side sent (for the ACK of its 2xx).
    invite_seq: Option<u32>,
}

const MISSING_REQ: fn(&'static str) -> DialogError = |header| DialogError::MissingHeader {
    message: "request",
    header,
};
const MISSING_RESP: fn(&'static str) -> DialogError = |header| DialogError::MissingHeader {
    message: "response",
    header,
};

fn first_contact<'a>(
    mut contacts: impl Iterator<Item = &'a crate::header::Contact>,
) -> Option<Uri> {
    contacts.find_map(|c| c.address()).map(|a| a.uri().clone())
}

fn record_routes(headers: &crate::header::Headers) -> Vec<NameAddr> {
    headers
        .iter()
        .filter_map(|h| match h {
            Header::RecordRoute(a) => Some(a.clone()),
            _ => None,
        })
        .collect()
}

/// A copy of `a` with its `tag` parameter set to `tag` (built by parsing text).
fn with_tag(a: &NameAddr, tag: &str) -> Result<NameAddr, DialogError> {
    if a.tag() == Some(tag) {
        return Ok(a.clone());
    }
    let raw = String::from_utf8_lossy(a.as_bytes());
    let uri = String::from_utf8_lossy(a.uri().as_bytes());
    // Rebuild in name-addr form: `<uri>;tag=...`, keeping the display name.
    let mut s = match a.display_name_raw() {
        Some(d) => format!("{} <{uri}>", String::from_utf8_lossy(d)),
        None => format!("<{uri}>"),
    };
    for (n, v) in a.params() {
        if n.eq_ignore_ascii_case(b"tag") {
            continue;
        }
        s.push(';');
        s.push_str(&String::from_utf8_lossy(n));
        if let Some(v) = v {
            s.push('=');
            s.push_str(&String::from_utf8_lossy(v));
        }
    }
    s.push_str(";tag=");
    s.push_str(tag);
    tracing::trace!(from = %raw, to = %s, "tag added");
    NameAddr::parse(s.as_bytes()).map_err(DialogError::Header)
}

impl Dialog {
    /// The UAC side (§12.1.2): from the dialog-creating `request` this side sent and a
    /// 101-199 response with a To tag (an early dialog) or a 2xx (confirmed).
    ///
    /// Route set: the response's Record-Route in reverse order. Remote target: the
    /// response's Contact (a provisional response without one keeps the Request-URI
    /// until a later response brings one).
    pub fn uac(request: &Request, response: &Response) -> Result<Dialog, DialogError> {
        let code = response.status().as_u16();
        let state = match code {
            101..=199 => DialogState::Early,
            200..=299 => DialogState::Confirmed,
            other => return Err(DialogError::Status(other)),
        };
        let from = request.from().ok_or(MISSING_REQ("From"))?;
        let local_tag = from.tag().ok_or(DialogError::NoFromTag)?.to_owned();
        let to = response.to().ok_or(MISSING_RESP("To"))?;
        let remote_tag = match (to.tag(), state) {
            (Some(t), _) => t.to_owned(),
            (None, DialogState::Early) => return Err(DialogError::NoToTag),
            // An RFC 2543 UAS may omit the tag; the remote tag is then null (§12.1.2).
            (None, _) => String::new(),
        };
        let call_id = request.call_id().ok_or(MISSING_REQ("Call-ID"))?;
        let cseq = request.cseq().ok_or(MISSING_REQ("CSeq"))?;
        let remote_target = match first_contact(response.contacts()) {
            Some(u) => u,
            None => {
                tracing::debug!(
                    code,
                    "response without Contact: remote target is the Request-URI"
                );
                request.uri().clone()
            }
        };
        let mut route_set = record_routes(response.headers());
        route_set.reverse();
        let id = DialogId {
            call_id: call_id.as_str().to_owned(),
            local_tag,
            remote_tag,
        };
        tracing::debug!(dialog = %id, ?state, "UAC dialog created");
        Ok(Dialog {
            id,
            state,
            role: Role::Uac,
            local_seq: Some(cseq.seq),
            remote_seq: None,
            local: from.clone(),
            remote: to.clone(),
            remote_target,
            route_set,
            invite_seq: (cseq.method == Method::Invite).then_some(cseq.seq),
        })
    }

    /// The UAS side (§12.1.1): from the dialog-creating `request` received and the
    /// 101-199 or 2xx `response` this side sends, whose To carries the local tag.
    ///
    /// Route set: the request's Record-Route in order. Remote target: its Contact.
    pub fn uas(request: &Request, response: &Response) -> Result<Dialog, DialogError> {
        let code = response.status().as_u16();
        let state = match code {
            101..=199 => DialogState::Early,
            200..=299 => DialogState::Confirmed,
            other => return Err(DialogError::Status(other)),
        };
        let to = response.to().ok_or(MISSING_RESP("To"))?;
        let local_tag = to.tag().ok_or(DialogError::NoToTag)?.to_owned();
        let from = request.from().ok_or(MISSING_REQ("From"))?;
        let call_id = request.call_id().ok_or(MISSING_REQ("Call-ID"))?;
        let cseq = request.cseq().ok_or(MISSING_REQ("CSeq"))?;
        let remote_target = first_contact(request.contacts()).ok_or(DialogError::NoContact)?;
        let id = DialogId {
            call_id: call_id.as_str().to_owned(),
            local_tag,
            remote_tag: from.tag().unwrap_or_default().to_owned(),
        };
        tracing::debug!(dialog = %id, ?state, "UAS dialog created");
        Ok(Dialog {
            id,
            state,
            role: Role::Uas,
            local_seq: None,
            remote_seq: Some(cseq.seq),
            local: to.clone(),
            remote: from.clone(),
            remote_target,
            route_set: record_routes(request.headers()),
            invite_seq: None,
        })
    }

    /// The dialog id.
    pub fn id(&self) -> &DialogId {
        &self.id
    }

    /// The state.
    pub fn state(&self) -> DialogState {
        self.state
    }

    /// Which side created the dialog.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Whether this side generated the Call-ID (it sent the dialog-creating request),
    /// which sets its glare retry delay (§14.1).
    pub fn owns_call_id(&self) -> bool {
        self.role == Role::Uac
    }

    /// The local CSeq number last used (`None` before a UAS sends its first request).
    pub fn local_seq(&self) -> Option<u32> {
        self.local_seq
    }

    /// The highest CSeq number received (`None` before a UAC receives a request).
    pub fn remote_seq(&self) -> Option<u32> {
        self.remote_seq
    }

    /// The remote target: where in-dialog requests go (§12.1).
    pub fn remote_target(&self) -> &Uri {
        &self.remote_target
    }

    /// The route set, in the order Route headers are sent.
    pub fn route_set(&self) -> &[NameAddr] {
        &self.route_set
    }

    /// The local address (From of our requests), with the local tag.
    pub fn local(&self) -> &NameAddr {
        &self.local
    }

    /// The remote address (To of our requests), with the remote tag.
    pub fn remote(&self) -> &NameAddr {
        &self.remote
    }

    /// Ends the dialog (after a BYE is sent or answered).
    pub fn terminate(&mut self) {
        tracing::debug!(dialog = %self.id, "dialog terminated");
        self.state = DialogState::Terminated;
    }

    /// Takes a request received in this dialog (§12.2.2): checks the CSeq order and
    /// refreshes the remote target on a target-refresh request (INVITE, UPDATE).
    ///
    /// A lower CSeq is [`DialogError::CSeqOutOfOrder`], which the TU answers with 500.
    /// ACK and CANCEL reuse their INVITE's number and are not checked. A BYE ends the
    /// dialog.
    pub fn handle_request(&mut self, request: &Request) -> Result<(), DialogError> {
        if DialogId::of_request(request).as_ref() != Some(&self.id) {
            return Err(DialogError::Mismatch(self.id.clone()));
        }
        let cseq = request.cseq().ok_or(MISSING_REQ("CSeq"))?;
        if matches!(cseq.method, Method::Ack | Method::Cancel) {
            return Ok(());
        }
        if let Some(current) = self.remote_seq
            && cseq.seq < current
        {
            tracing::debug!(dialog = %self.id, received = cseq.seq, current, "CSeq out of order");
            return Err(DialogError::CSeqOutOfOrder {
                received: cseq.seq,
                current,
            });
        }
        self.remote_seq = Some(cseq.seq);
        if matches!(cseq.method, Method::Invite | Method::Update)
            && let Some(target) = first_contact(request.contacts())
        {
            tracing::debug!(dialog = %self.id, target = %target, "remote target refreshed");
            self.remote_target = target;
        }
        if cseq.method == Method::Bye {
            self.terminate();
        }
        Ok(())
    }

    /// Takes a response to a request this side sent in the dialog (§12.2.1.2,
    /// §13.2.2.4): a 2xx to INVITE confirms an early dialog and recomputes its route
    /// set; a 2xx to a target refresh (INVITE, UPDATE) with a Contact refreshes the
    /// remote target; a non-2xx final response to the INVITE of an early dialog ends it.
    pub fn handle_response(&mut self, response: &Response) -> Result<(), DialogError> {
        let id = DialogId::of_response(response);
        let matches = id.as_ref().is_some_and(|r| {
            r.call_id == self.id.call_id
                && r.local_tag == self.id.local_tag
                && (r.remote_tag == self.id.remote_tag || self.id.remote_tag.is_empty())
        });
        if !matches {
            return Err(DialogError::Mismatch(self.id.clone()));
        }
        let cseq = response.cseq().ok_or(MISSING_RESP("CSeq"))?;
        let code = response.status().as_u16();
        let refresh = matches!(cseq.method, Method::Invite | Method::Update);
        match code {
            200..=299 => {
                if cseq.method == Method::Invite && self.state == DialogState::Early {
                    let mut routes = record_routes(response.headers());
                    routes.reverse();
                    self.route_set = routes;
                    self.state = DialogState::Confirmed;
                    tracing::debug!(dialog = %self.id, "early dialog confirmed");
                }
                if refresh && let Some(target) = first_contact(response.contacts()) {
                    self.remote_target = target;
                }
            }
            101..=199 if self.state == DialogState::Early && cseq.method == Method::Invite => {
                if let Some(target) = first_contact(response.contacts()) {
                    self.remote_target = target;
                }
            }
            300..=699 if self.state == DialogState::Early && cseq.method == Method::Invite => {
                self.terminate();
            }
            // §12.2.1.2: 481 and 408 to an in-dialog request end the dialog.
            408 | 481 => self.terminate(),
            _ => {}
        }
        Ok(())
    }

    /// Takes a response this side (the UAS) sent to the dialog-creating INVITE: a 2xx
    /// confirms an early dialog, a non-2xx final response ends it (§12.1.1, §13.3.1).
    pub fn handle_sent_response(&mut self, response: &Response) -> Result<(), DialogError> {
        let cseq = response.cseq().ok_or(MISSING_RESP("CSeq"))?;
        if self.state != DialogState::Early || cseq.method != Method::Invite {
            return Ok(());
        }
        match response.status().as_u16() {
            200..=299 => {
                tracing::debug!(dialog = %self.id, "early dialog confirmed");
                self.state = DialogState::Confirmed;
            }
            300..=699 => self.terminate(),
            _ => {}
        }
        Ok(())
    }

    /// Builds a request in the dialog (§12.2.1.1) with the next local CSeq: Request-URI
    /// and Route from the remote target and route set (loose or strict routing),
    /// From/To with the tags, Call-ID, CSeq and Max-Forwards. Use [`ack`](Self::ack) for
    /// the ACK of a 2xx; CANCEL belongs to the transaction layer.
    pub fn request(&mut self, method: Method) -> Result<Request, DialogError> {
        if self.state == DialogState::Terminated {
            return Err(DialogError::Terminated(self.id.clone()));
        }
        let seq = match self.local_seq {
            // §8.1.1.5: any value below 2^31; 1 keeps traces readable.
            None => 1,
            Some(s) if s >= (1 << 31) - 1 => return Err(DialogError::CSeqExhausted),
            Some(s) => s + 1,
        };
        self.local_seq = Some(seq);
        if method == Method::Invite {
            self.invite_seq = Some(seq);
        }
        self.build(method, seq)
    }

    /// The ACK for a 2xx to this side's latest INVITE (§13.2.2.4): the INVITE's CSeq
    /// number with method ACK, routed like any in-dialog request. The sender adds a Via
    /// with a new branch, and the INVITE's credentials if it had any.
    pub fn ack(&self) -> Result<Request, DialogError> {
        let seq = self.invite_seq.ok_or(DialogError::NoInvite)?;
        self.build(Method::Ack, seq)
    }

    fn build(&self, method: Method, seq: u32) -> Result<Request, DialogError> {
        let loose = self.route_set.first().is_none_or(|r| r.uri().lr());
        let (uri, routes): (Uri, Vec<NameAddr>) = if loose {
            (self.remote_target.clone(), self.route_set.clone())
        } else {
            // Strict routing: the first route is the Request-URI; the remote target goes
            // last in the Route list (§12.2.1.1).
            let mut rest: Vec<NameAddr> = self.route_set.iter().skip(1).cloned().collect();
            let target = format!("<{}>", self.remote_target);
            rest.push(NameAddr::parse(target.as_bytes()).map_err(DialogError::Header)?);
            let first = self.route_set.first().map(|r| r.uri().clone());
            (first.unwrap_or_else(|| self.remote_target.clone()), rest)
        };
        let mut req = Request::new(method.clone(), uri);
        let h = req.headers_mut();
        for r in routes {
            h.push(Header::Route(r));
        }
        h.push(Header::MaxForwards(MaxForwards(70)));
        h.push(Header::From(with_tag(&self.local, &self.id.local_tag)?));
        let to = if self.id.remote_tag.is_empty() {
            self.remote.clone()
        } else {
            with_tag(&self.remote, &self.id.remote_tag)?
        };
        h.push(Header::To(to));
        h.push(Header::CallId(
            CallId::parse(self.id.call_id.as_bytes()).map_err(DialogError::Header)?,
        ));
        h.push(Header::CSeq(CSeq { seq, method }));
        Ok(req)
    }
}
