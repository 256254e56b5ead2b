//! Status codes, statuses and the reasons that map onto them.
//!
//! The numeric space is SIP's (RFC 3261 §21) because the UCC object model uses SIP
//! codes as its reason values (`UCC_REJECT_OR_TERMINATE_REASON`); nothing here
//! depends on SIP itself, and every transport maps its own outcomes onto it.

use std::fmt;
use std::sync::Arc;

/// A status code: 1xx provisional, 2xx success, 3xx–6xx failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusCode(u16);

impl StatusCode {
    /// 100: the request is being handled.
    pub const TRYING: Self = Self(100);
    /// 180: the callee is being alerted.
    pub const RINGING: Self = Self(180);
    /// 183: early session progress.
    pub const SESSION_PROGRESS: Self = Self(183);
    /// 200: success.
    pub const OK: Self = Self(200);
    /// 400: the request was malformed.
    pub const BAD_REQUEST: Self = Self(400);
    /// 401: authentication needed.
    pub const UNAUTHORIZED: Self = Self(401);
    /// 403: refused.
    pub const FORBIDDEN: Self = Self(403);
    /// 404: no such user.
    pub const NOT_FOUND: Self = Self(404);
    /// 408: no final answer in time.
    pub const REQUEST_TIMEOUT: Self = Self(408);
    /// 415: the body's media type is not supported.
    pub const UNSUPPORTED_MEDIA_TYPE: Self = Self(415);
    /// 480: the callee is not available now.
    pub const TEMPORARILY_UNAVAILABLE: Self = Self(480);
    /// 481: no such dialog or session.
    pub const CALL_DOES_NOT_EXIST: Self = Self(481);
    /// 486: the callee is busy.
    pub const BUSY_HERE: Self = Self(486);
    /// 487: the request was cancelled.
    pub const REQUEST_TERMINATED: Self = Self(487);
    /// 488: the offered media is not acceptable.
    pub const NOT_ACCEPTABLE_HERE: Self = Self(488);
    /// 491: another offer/answer exchange is in progress (glare).
    pub const REQUEST_PENDING: Self = Self(491);
    /// 500: the far end failed.
    pub const SERVER_INTERNAL_ERROR: Self = Self(500);
    /// 503: the service is unavailable.
    pub const SERVICE_UNAVAILABLE: Self = Self(503);
    /// 603: the callee declined.
    pub const DECLINE: Self = Self(603);
    /// 605: the callee declined on every device (RFC 8688 "Undesired" family; UCC value).
    pub const DECLINE_EVERYWHERE: Self = Self(605);

    /// A status code from its number; `None` outside 100..=699.
    pub fn new(code: u16) -> Option<Self> {
        (100..=699).contains(&code).then_some(Self(code))
    }

    /// The number.
    pub fn as_u16(self) -> u16 {
        self.0
    }

    /// 1xx.
    pub fn is_provisional(self) -> bool {
        self.0 < 200
    }

    /// 2xx.
    pub fn is_success(self) -> bool {
        (200..300).contains(&self.0)
    }

    /// 3xx–6xx.
    pub fn is_failure(self) -> bool {
        self.0 >= 300
    }

    /// The conventional reason phrase (RFC 3261 §21), or "Unknown".
    pub fn canonical_text(self) -> &'static str {
        match self.0 {
            100 => "Trying",
            180 => "Ringing",
            181 => "Call Is Being Forwarded",
            182 => "Queued",
            183 => "Session Progress",
            200 => "OK",
            202 => "Accepted",
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            407 => "Proxy Authentication Required",
            408 => "Request Timeout",
            415 => "Unsupported Media Type",
            480 => "Temporarily Unavailable",
            481 => "Call/Transaction Does Not Exist",
            486 => "Busy Here",
            487 => "Request Terminated",
            488 => "Not Acceptable Here",
            491 => "Request Pending",
            500 => "Server Internal Error",
            501 => "Not Implemented",
            503 => "Service Unavailable",
            504 => "Server Time-out",
            600 => "Busy Everywhere",
            603 => "Decline",
            604 => "Does Not Exist Anywhere",
            605 => "Decline Everywhere",
            606 => "Not Acceptable",
            _ => "Unknown",
        }
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A status code with its text, as an operation or a peer reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// The code.
    pub code: StatusCode,
    /// Human-readable text (a SIP reason phrase, or a local explanation); shared, so
    /// copies of a status (in events) never allocate.
    pub text: Arc<str>,
}

impl Status {
    /// A status with the code's conventional text.
    pub fn new(code: StatusCode) -> Self {
        Self {
            code,
            text: Arc::from(code.canonical_text()),
        }
    }

    /// A status with its own text.
    pub fn with_text(code: StatusCode, text: impl Into<Arc<str>>) -> Self {
        Self {
            code,
            text: text.into(),
        }
    }

    /// 200 OK.
    pub fn ok() -> Self {
        Self::new(StatusCode::OK)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.text)
    }
}

/// Why a session is rejected or terminated (`UCC_REJECT_OR_TERMINATE_REASON`).
///
/// Each reason maps to the status code the peer sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// No particular reason (a normal hang-up; 480 when used to reject).
    NotSpecified,
    /// Answered on another device.
    AcceptedElsewhere,
    /// Forwarded elsewhere (303).
    Forwarded,
    /// No answer in time (408).
    Timeout,
    /// Not available now (480).
    Unavailable,
    /// Busy (486).
    Busy,
    /// The offered media is not acceptable (488).
    NotAcceptable,
    /// Declined by the user (603).
    Decline,
    /// Declined on every device (605).
    DeclineEverywhere,
}

impl Reason {
    /// The status code a peer sees for this reason when a session is rejected.
    pub fn status_code(self) -> StatusCode {
        match self {
            Reason::NotSpecified | Reason::Unavailable | Reason::AcceptedElsewhere => {
                StatusCode::TEMPORARILY_UNAVAILABLE
            }
            Reason::Forwarded => StatusCode(303),
            Reason::Timeout => StatusCode::REQUEST_TIMEOUT,
            Reason::Busy => StatusCode::BUSY_HERE,
            Reason::NotAcceptable => StatusCode::NOT_ACCEPTABLE_HERE,
            Reason::Decline => StatusCode::DECLINE,
            Reason::DeclineEverywhere => StatusCode::DECLINE_EVERYWHERE,
        }
    }

    /// The numeric value of `UCC_REJECT_OR_TERMINATE_REASON`.
    pub fn ucc_value(self) -> u32 {
        match self {
            Reason::NotSpecified => 0,
            Reason::AcceptedElsewhere => 1,
            other => u32::from(other.status_code().as_u16()),
        }
    }

    /// The reason whose status code is `code`, if one maps onto it exactly.
    pub fn from_status(code: StatusCode) -> Option<Self> {
        Some(match code.as_u16() {
            303 => Reason::Forwarded,
            408 => Reason::Timeout,
            480 => Reason::Unavailable,
            486 => Reason::Busy,
            488 => Reason::NotAcceptable,
            603 => Reason::Decline,
            605 => Reason::DeclineEverywhere,
            _ => return None,
        })
    }

    /// The status a peer sees for this reason.
    pub fn status(self) -> Status {
        Status::new(self.status_code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_map_to_the_documented_codes() {
        assert_eq!(Reason::Busy.status_code().as_u16(), 486);
        assert_eq!(Reason::Decline.status_code().as_u16(), 603);
        assert_eq!(Reason::Timeout.status_code().as_u16(), 408);
        assert_eq!(Reason::Unavailable.status_code().as_u16(), 480);
        assert_eq!(Reason::NotAcceptable.status_code().as_u16(), 488);
        for r in [
            Reason::Busy,
            Reason::Decline,
            Reason::Timeout,
            Reason::Unavailable,
            Reason::NotAcceptable,
        ] {
            assert_eq!(Reason::from_status(r.status_code()), Some(r));
            assert_eq!(r.ucc_value(), u32::from(r.status_code().as_u16()));
        }
        assert_eq!(Reason::AcceptedElsewhere.ucc_value(), 1);
    }

    #[test]
    fn status_code_classes_and_bounds() {
        assert!(StatusCode::RINGING.is_provisional());
        assert!(StatusCode::OK.is_success());
        assert!(StatusCode::BUSY_HERE.is_failure());
        assert_eq!(StatusCode::new(99), None);
        assert_eq!(StatusCode::new(700), None);
        assert_eq!(
            Status::new(StatusCode::BUSY_HERE).to_string(),
            "486 Busy Here"
        );
    }
}
