//! Errors of session-core, one enum per boundary.
//!
//! [`Error`](enum@Error) is what the application-facing API returns. It says who is at fault:
//! the caller ([`Error::InvalidState`], [`Error::WrongSessionType`], …), the peer or
//! the network ([`Error::Failed`] with the status the far end or the transport
//! reported), or the local stack ([`Error::Media`]). [`SignalingError`] is what a
//! transport returns through the contract; [`ContextError`] and [`UriError`] come
//! from the value types.

use std::fmt;

use thiserror::Error;

use crate::context::{PropertyKey, PropertyKind};
use crate::status::{Status, StatusCode};

/// An error of the context property bag.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ContextError {
    /// The property is not set.
    #[error("property {key} is not set")]
    NotSet {
        /// The key asked for.
        key: PropertyKey,
    },
    /// The property holds another type than the one asked for.
    #[error("property {key} holds {found}, not {expected}")]
    TypeMismatch {
        /// The key asked for.
        key: PropertyKey,
        /// The type asked for.
        expected: PropertyKind,
        /// The type it holds.
        found: PropertyKind,
    },
    /// The context already holds its maximum number of properties.
    #[error("context is full ({max} properties)")]
    Full {
        /// The limit.
        max: usize,
    },
}

/// Why a URI did not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum UriError {
    /// No `scheme:` prefix.
    #[error("URI has no scheme")]
    MissingScheme,
    /// A scheme other than sip, sips, tel, quic.
    #[error("unknown URI scheme {0:?}")]
    UnknownScheme(String),
    /// Longer than the limit.
    #[error("URI is {len} bytes, more than {max}")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Space or control character.
    #[error("URI contains a space or control character")]
    InvalidCharacter,
    /// `user@` with an empty user.
    #[error("URI has an empty user part")]
    EmptyUser,
    /// No host.
    #[error("URI has no host")]
    EmptyHost,
    /// A malformed host or IPv6 reference.
    #[error("invalid host {0:?}")]
    InvalidHost(String),
    /// A port that is not a number in 0..=65535.
    #[error("invalid port {0:?}")]
    InvalidPort(String),
    /// An empty `;` parameter or `?` header.
    #[error("empty URI parameter or header")]
    EmptyParameter,
    /// More parameters than the limit.
    #[error("more than {max} URI parameters")]
    TooManyParameters {
        /// The limit.
        max: usize,
    },
    /// A `tel:` number with characters outside RFC 3966's.
    #[error("invalid telephone number {0:?}")]
    InvalidTelNumber(String),
}

/// What kind of failure a transport reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignalingErrorKind {
    /// The peer (or a server on the way) answered with a failure status.
    Rejected,
    /// No answer in time.
    Timeout,
    /// The request was cancelled before a final answer.
    Cancelled,
    /// The leg is unknown to the transport (never opened, or already ended).
    UnknownLeg,
    /// The peer broke the protocol.
    PeerMisbehaved,
    /// The network or the local socket failed.
    Network,
    /// The transport does not support the request.
    Unsupported,
    /// The transport is shut down.
    Closed,
}

impl fmt::Display for SignalingErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignalingErrorKind::Rejected => "rejected",
            SignalingErrorKind::Timeout => "timed out",
            SignalingErrorKind::Cancelled => "cancelled",
            SignalingErrorKind::UnknownLeg => "unknown leg",
            SignalingErrorKind::PeerMisbehaved => "peer misbehaved",
            SignalingErrorKind::Network => "network failure",
            SignalingErrorKind::Unsupported => "unsupported",
            SignalingErrorKind::Closed => "transport closed",
        })
    }
}

/// A failure reported by a signaling transport, with the status it maps to.
#[derive(Debug, Error)]
#[error("{kind}: {status}")]
pub struct SignalingError {
    /// The kind of failure.
    pub kind: SignalingErrorKind,
    /// The status code and text that describe it.
    pub status: Status,
    /// The underlying cause, when there is one (an `io::Error`, a TLS error, …).
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl SignalingError {
    /// A failure of `kind` with `status`.
    pub fn new(kind: SignalingErrorKind, status: Status) -> Self {
        Self {
            kind,
            status,
            source: None,
        }
    }

    /// The peer answered `status`.
    pub fn rejected(status: Status) -> Self {
        Self::new(SignalingErrorKind::Rejected, status)
    }

    /// The request was cancelled (487).
    pub fn cancelled() -> Self {
        Self::new(
            SignalingErrorKind::Cancelled,
            Status::new(StatusCode::REQUEST_TERMINATED),
        )
    }

    /// The leg is unknown (481).
    pub fn unknown_leg() -> Self {
        Self::new(
            SignalingErrorKind::UnknownLeg,
            Status::new(StatusCode::CALL_DOES_NOT_EXIST),
        )
    }

    /// No answer in time (408).
    pub fn timeout() -> Self {
        Self::new(
            SignalingErrorKind::Timeout,
            Status::new(StatusCode::REQUEST_TIMEOUT),
        )
    }

    /// The transport is closed (503).
    pub fn closed() -> Self {
        Self::new(
            SignalingErrorKind::Closed,
            Status::with_text(StatusCode::SERVICE_UNAVAILABLE, "transport closed"),
        )
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }
}

/// A failure of the media engine.
#[derive(Debug, Error)]
#[error("{message}")]
pub struct MediaError {
    /// What failed.
    pub message: String,
    /// The underlying cause.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl MediaError {
    /// A media failure described by `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }
}

/// The error of session-core's application-facing API.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The object is in a state where the call makes no sense (send on a terminated
    /// session, accept twice, enable an enabled endpoint…). The caller's fault.
    #[error("{object} is {state}: cannot {action}")]
    InvalidState {
        /// The object ("session", "participant", …).
        object: &'static str,
        /// Its state.
        state: String,
        /// What was asked.
        action: &'static str,
    },
    /// A facet of another session type was asked for (IM calls on an A/V session…).
    #[error("{action} needs a {expected} session, this one is {actual}")]
    WrongSessionType {
        /// What was asked.
        action: &'static str,
        /// The type it needs.
        expected: &'static str,
        /// The session's type.
        actual: &'static str,
    },
    /// The participant, channel or request belongs to another session or endpoint.
    #[error("{0} belongs to another session")]
    Foreign(&'static str),
    /// A single-consumer stream (incoming sessions, media requests) was already taken.
    #[error("{0} was already taken")]
    AlreadyTaken(&'static str),
    /// A context error.
    #[error(transparent)]
    Context(#[from] ContextError),
    /// A URI error.
    #[error(transparent)]
    Uri(#[from] UriError),
    /// No transport with this name is part of the platform.
    #[error("no transport named {0:?} in this platform")]
    NoTransport(String),
    /// No transport of the platform serves this URI scheme.
    #[error("no transport in this platform serves {0}: URIs")]
    NoTransportForScheme(&'static str),
    /// The network operation failed: the peer or the transport reported `status`.
    #[error("{action} failed: {status}")]
    Failed {
        /// What was attempted.
        action: &'static str,
        /// The status reported.
        status: Status,
        /// The transport's error, when it came from one.
        #[source]
        source: Option<SignalingError>,
    },
    /// The operation was cancelled before it completed.
    #[error("{0} was cancelled")]
    Cancelled(&'static str),
    /// The media engine failed.
    #[error("media: {0}")]
    Media(#[from] MediaError),
    /// The platform or endpoint is shut down.
    #[error("the {0} is shut down")]
    Closed(&'static str),
}

impl Error {
    /// The status that describes this error (to report it to a peer or in an event).
    pub fn status(&self) -> Status {
        match self {
            Error::Failed { status, .. } => status.clone(),
            Error::Cancelled(_) => Status::new(StatusCode::REQUEST_TERMINATED),
            Error::NoTransport(_) | Error::NoTransportForScheme(_) => {
                Status::with_text(StatusCode::SERVICE_UNAVAILABLE, self.to_string())
            }
            Error::Closed(_) => {
                Status::with_text(StatusCode::SERVICE_UNAVAILABLE, self.to_string())
            }
            _ => Status::with_text(StatusCode::SERVER_INTERNAL_ERROR, self.to_string()),
        }
    }

    pub(crate) fn failed(action: &'static str, err: SignalingError) -> Self {
        if err.kind == SignalingErrorKind::Cancelled {
            return Error::Cancelled(action);
        }
        Error::Failed {
            action,
            status: err.status.clone(),
            source: Some(err),
        }
    }

    pub(crate) fn invalid_state(
        object: &'static str,
        state: impl fmt::Debug,
        action: &'static str,
    ) -> Self {
        Error::InvalidState {
            object,
            state: format!("{state:?}"),
            action,
        }
    }
}
