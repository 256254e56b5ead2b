//! Errors: [`ParseError`] for a message the peer got wrong, [`FramingError`] for a stream.
//!
//! Every variant is the *peer's* fault (malformed or oversized input); this crate has no
//! IO, so nothing here is local. Offsets are byte positions in the received buffer.

use crate::header::HeaderName;

/// Why a message could not be parsed. Each variant names what was wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The message is larger than [`ParseLimits::max_message_size`](crate::ParseLimits).
    #[error("message of {size} bytes exceeds the {limit}-byte limit")]
    MessageTooLarge {
        /// Bytes received (or announced).
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The body is larger than [`ParseLimits::max_body_size`](crate::ParseLimits).
    #[error("body of {size} bytes exceeds the {limit}-byte limit")]
    BodyTooLarge {
        /// Announced body size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// More header fields than [`ParseLimits::max_headers`](crate::ParseLimits).
    #[error("more than {limit} header fields")]
    TooManyHeaders {
        /// The limit.
        limit: usize,
    },
    /// A header field longer than [`ParseLimits::max_header_line`](crate::ParseLimits).
    #[error("header field at byte {offset} exceeds the {limit}-byte line limit")]
    HeaderLineTooLong {
        /// Where the field starts.
        offset: usize,
        /// The limit.
        limit: usize,
    },
    /// The input ends before the empty line that ends the header section.
    #[error("message ends before the end of its header section")]
    Truncated,
    /// The request line or status line does not follow RFC 3261 §7.1/§7.2.
    #[error("malformed start line at byte {offset}: {kind}")]
    StartLine {
        /// Where the problem is.
        offset: usize,
        /// What is wrong.
        kind: StartLineError,
    },
    /// The SIP-Version is well formed but not SIP/2.0 (answered with 505).
    #[error("unsupported SIP version at byte {offset}")]
    UnsupportedVersion {
        /// Where the version starts.
        offset: usize,
    },
    /// The Request-URI is malformed.
    #[error("invalid Request-URI at byte {offset}: {kind}")]
    RequestUri {
        /// Where the URI starts.
        offset: usize,
        /// What is wrong.
        kind: UriError,
    },
    /// The Request-URI carries `?headers`, which RFC 3261 §19.1.5 forbids there.
    #[error("Request-URI at byte {offset} carries headers")]
    RequestUriHasHeaders {
        /// Where the URI starts.
        offset: usize,
    },
    /// A header line without a colon.
    #[error("header line at byte {offset} has no colon")]
    MissingColon {
        /// Where the line starts.
        offset: usize,
    },
    /// A header name that is not a token.
    #[error("header name at byte {offset} is not a token")]
    InvalidHeaderName {
        /// Where the line starts.
        offset: usize,
    },
    /// A header value that does not follow its grammar.
    #[error("invalid {name} header at byte {offset}: {kind}")]
    InvalidHeader {
        /// Which header.
        name: HeaderName,
        /// Where the header line starts.
        offset: usize,
        /// What is wrong.
        kind: HeaderError,
    },
    /// A header every request and response carries (RFC 3261 §8.1.1) is absent.
    #[error("missing {0} header")]
    MissingHeader(HeaderName),
    /// A header that may appear once appears again (RFC 4475 §3.3.8, §3.3.9).
    #[error("{name} header repeated at byte {offset}")]
    DuplicateHeader {
        /// Which header.
        name: HeaderName,
        /// Where the repeat starts.
        offset: usize,
    },
    /// Content-Length announces more bytes than the datagram holds (RFC 3261 §18.3).
    #[error("Content-Length {declared} exceeds the {available} bytes after the header")]
    ContentLengthExceedsMessage {
        /// Content-Length value.
        declared: usize,
        /// Bytes present.
        available: usize,
    },
    /// The CSeq method differs from the request method (RFC 3261 §8.1.1.5).
    #[error("CSeq method does not match the request method")]
    CSeqMethodMismatch,
}

/// What is wrong with a start line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StartLineError {
    /// Elements are not separated by exactly one SP, or SP trails the line (RFC 4475 §3.1.2.9, §3.1.2.10).
    #[error("elements not separated by single spaces")]
    Whitespace,
    /// The method is not a token.
    #[error("method is not a token")]
    Method,
    /// The SIP-Version is not `SIP/<digits>.<digits>`.
    #[error("malformed SIP-Version")]
    Version,
    /// The status code is not three digits from 100 to 699 (RFC 4475 §3.1.2.19).
    #[error("status code is not 3 digits between 100 and 699")]
    StatusCode,
    /// The reason phrase holds control characters.
    #[error("reason phrase holds control characters")]
    ReasonPhrase,
    /// The line is empty or missing.
    #[error("empty start line")]
    Empty,
}

/// What is wrong with a URI (RFC 3261 §19.1, §25.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UriError {
    /// The scheme is missing or not `ALPHA *(ALPHA / DIGIT / "+" / "-" / ".")`.
    #[error("missing or malformed scheme")]
    Scheme,
    /// A character not allowed in the user or password part.
    #[error("invalid user part")]
    User,
    /// The host is empty or malformed.
    #[error("invalid host")]
    Host,
    /// The port is not a number up to 65535.
    #[error("invalid port")]
    Port,
    /// A malformed or empty `;param`.
    #[error("invalid parameter")]
    Param,
    /// More parameters than the limit.
    #[error("too many parameters")]
    TooManyParams,
    /// Malformed `?headers`.
    #[error("invalid headers part")]
    Headers,
    /// A `%` not followed by two hex digits in a SIP URI.
    #[error("invalid percent-escape")]
    Escape,
    /// Whitespace or a character no URI may hold.
    #[error("invalid character")]
    Character,
}

/// What is wrong with a header value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// The value is empty where a value is required.
    #[error("empty value")]
    Empty,
    /// A `;` or `,` with nothing between it and the next separator (RFC 4475 §3.1.2.1).
    #[error("empty parameter or list element")]
    EmptyElement,
    /// A quoted string without its closing quote (RFC 4475 §3.1.2.6).
    #[error("unterminated quoted string")]
    UnterminatedQuote,
    /// A `<` without its `>`.
    #[error("unterminated <")]
    UnterminatedAngle,
    /// Whitespace just inside `<` or `>` (RFC 4475 §3.1.2.14).
    #[error("whitespace inside <>")]
    WhitespaceInAngle,
    /// A URI with `,`, `?` or `;` that is not in `<>` (RFC 3261 §20.10, RFC 4475 §3.1.2.13).
    #[error("URI with ',', '?' or ';' must be enclosed in <>")]
    AddrSpecNeedsAngle,
    /// A display name that is neither a quoted string nor tokens (RFC 4475 §3.1.2.15).
    #[error("display name is neither quoted nor tokens")]
    DisplayName,
    /// The URI is malformed.
    #[error("invalid URI: {0}")]
    Uri(UriError),
    /// A number where digits were expected is missing or malformed (RFC 4475 §3.1.2.3).
    #[error("not a number")]
    NotANumber,
    /// A number larger than the field allows (RFC 4475 §3.1.2.4, §3.1.2.5).
    #[error("number out of range")]
    OutOfRange,
    /// A token was expected.
    #[error("expected a token")]
    ExpectedToken,
    /// An expected separator (`/`, `=`, `<`, ...) is missing.
    #[error("expected '{0}'")]
    Expected(char),
    /// Characters after the end of the value.
    #[error("unexpected characters after the value")]
    Trailing,
    /// More parameters than the limit.
    #[error("too many parameters")]
    TooManyParams,
    /// More comma-separated values than the limit.
    #[error("too many values")]
    TooManyValues,
    /// A malformed host or IP address.
    #[error("invalid host")]
    Host,
    /// A Date that is not an RFC 1123 date in GMT (RFC 3261 §20.17, RFC 4475 §3.1.2.12).
    #[error("not an RFC 1123 date in GMT")]
    Date,
}

/// An error from [`StreamDecoder`](crate::StreamDecoder).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FramingError {
    /// One message was framed but did not parse. The stream goes on: `raw` holds the
    /// message so the caller can answer it with [`error_response`](crate::error_response).
    #[error("invalid message on stream: {error}")]
    Message {
        /// Why it did not parse.
        error: ParseError,
        /// The framed bytes.
        raw: bytes::Bytes,
    },
    /// A message without Content-Length, which RFC 3261 §18.3 makes mandatory on streams.
    /// Its body is taken as empty and the stream goes on.
    #[error("message on stream has no Content-Length")]
    MissingContentLength {
        /// The framed header section.
        raw: bytes::Bytes,
    },
    /// A message announced a body over the limit; its bytes are skipped and the stream goes on.
    #[error("message body of {size} bytes exceeds the {limit}-byte limit; skipped")]
    BodyTooLarge {
        /// Announced size.
        size: usize,
        /// The limit.
        limit: usize,
        /// The framed header section, to answer with 413.
        raw: bytes::Bytes,
    },
    /// Framing is lost (header section over the limit, unreadable Content-Length): close
    /// the connection. The decoder yields nothing more.
    #[error("stream framing lost: {0}")]
    Fatal(ParseError),
}
