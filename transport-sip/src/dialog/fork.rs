//! [`InviteDialogs`]: the dialogs one INVITE creates when it forks (RFC 3261 §12.1.2,
//! §13.2.2.4).

use super::state::{Dialog, DialogError, DialogId, DialogState};
use crate::message::{Request, Response};

/// What a response to the INVITE did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InviteEvent {
    /// A provisional response with a new To tag created an early dialog.
    EarlyCreated(DialogId),
    /// A provisional response for an existing early dialog.
    EarlyUpdated(DialogId),
    /// The first 2xx: this dialog is the call. Send its ACK.
    Confirmed(DialogId),
    /// A retransmission of the 2xx of a confirmed dialog: send its ACK again.
    Retransmitted2xx(DialogId),
    /// A 2xx from another fork after the call was confirmed: a dialog the TU
    /// acknowledges and then ends with BYE (§13.2.2.4).
    ExtraConfirmed(DialogId),
    /// A non-2xx final response: the early dialogs ended.
    Failed {
        /// The status code.
        status: u16,
    },
    /// Nothing changed (100 Trying, or a provisional response without a To tag).
    Ignored,
}

/// The dialogs of one outgoing INVITE, keyed by the To tag of the responses.
#[derive(Debug, Clone)]
pub struct InviteDialogs {
    invite: Request,
    dialogs: Vec<Dialog>,
    confirmed: Option<DialogId>,
}

impl InviteDialogs {
    /// Tracks the responses to `invite`, which this side sent.
    pub fn new(invite: Request) -> InviteDialogs {
        InviteDialogs {
            invite,
            dialogs: Vec::new(),
            confirmed: None,
        }
    }

    /// The INVITE.
    pub fn invite(&self) -> &Request {
        &self.invite
    }

    /// The dialog that the first 2xx confirmed: the call.
    pub fn confirmed(&self) -> Option<&DialogId> {
        self.confirmed.as_ref()
    }

    /// All dialogs, in creation order.
    pub fn dialogs(&self) -> &[Dialog] {
        &self.dialogs
    }

    /// A dialog by id.
    pub fn dialog(&self, id: &DialogId) -> Option<&Dialog> {
        self.dialogs.iter().find(|d| d.id() == id)
    }

    /// A dialog by id, to build requests (the ACK and BYE of an extra fork).
    pub fn dialog_mut(&mut self, id: &DialogId) -> Option<&mut Dialog> {
        self.dialogs.iter_mut().find(|d| d.id() == id)
    }

    /// Removes a dialog and hands it over.
    pub fn take(&mut self, id: &DialogId) -> Option<Dialog> {
        let i = self.dialogs.iter().position(|d| d.id() == id)?;
        Some(self.dialogs.remove(i))
    }

    /// Ends the early dialogs that never got a 2xx (call when the INVITE transaction
    /// ends, §13.2.2.4).
    pub fn terminate_early(&mut self) {
        for d in &mut self.dialogs {
            if d.state() == DialogState::Early {
                d.terminate();
            }
        }
    }

    /// Takes a response to the INVITE.
    pub fn handle_response(&mut self, response: &Response) -> Result<InviteEvent, DialogError> {
        let status = response.status().as_u16();
        if status >= 300 {
            self.terminate_early();
            return Ok(InviteEvent::Failed { status });
        }
        if status == 100 || (status < 200 && response.to().and_then(|t| t.tag()).is_none()) {
            return Ok(InviteEvent::Ignored);
        }
        let id = DialogId::of_response(response).ok_or(DialogError::MissingHeader {
            message: "response",
            header: "From tag, To or Call-ID",
        })?;
        let is_2xx = status >= 200;
        if let Some(d) = self.dialogs.iter_mut().find(|d| d.id() == &id) {
            let was_confirmed = d.state() == DialogState::Confirmed;
            d.handle_response(response)?;
            return Ok(match (is_2xx, was_confirmed, &self.confirmed) {
                (false, _, _) => InviteEvent::EarlyUpdated(id),
                (true, true, _) => InviteEvent::Retransmitted2xx(id),
                (true, false, None) => {
                    self.confirmed = Some(id.clone());
                    InviteEvent::Confirmed(id)
                }
                (true, false, Some(_)) => {
                    tracing::debug!(dialog = %id, "2xx from a second fork");
                    InviteEvent::ExtraConfirmed(id)
                }
            });
        }
        let dialog = Dialog::uac(&self.invite, response)?;
        let id = dialog.id().clone();
        self.dialogs.push(dialog);
        Ok(match (is_2xx, &self.confirmed) {
            (false, _) => InviteEvent::EarlyCreated(id),
            (true, None) => {
                self.confirmed = Some(id.clone());
                InviteEvent::Confirmed(id)
            }
            (true, Some(_)) => {
                tracing::debug!(dialog = %id, "2xx from a second fork");
                InviteEvent::ExtraConfirmed(id)
            }
        })
    }
}
