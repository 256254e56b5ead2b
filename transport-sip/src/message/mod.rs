//! [`Request`], [`Response`] and [`Message`] (RFC 3261 §7), with typed access to the
//! headers a stack routes on, and serialization.

mod method;
mod status;

use bytes::{BufMut, Bytes, BytesMut};

pub use self::method::Method;
pub use self::status::{StatusCode, Version};

use crate::header::{
    CSeq, CallId, Contact, ContentLength, Header, HeaderName, Headers, MaxForwards, NameAddr, Via,
    write_u64,
};
use crate::text::Text;
use crate::uri::Uri;
use crate::{ParseError, ParseLimits};

macro_rules! typed_getters {
    () => {
        /// The header fields.
        pub fn headers(&self) -> &Headers {
            &self.headers
        }

        /// The header fields, to change. Use [`set_body`](Self::set_body) for the body so
        /// Content-Length follows.
        pub fn headers_mut(&mut self) -> &mut Headers {
            &mut self.headers
        }

        /// The body: a zero-copy slice of the received buffer.
        pub fn body(&self) -> &Bytes {
            &self.body
        }

        /// Replaces the body and sets Content-Length to its size.
        pub fn set_body(&mut self, body: Bytes) {
            self.headers.remove_all(&HeaderName::ContentLength);
            // Bodies are bounded by `ParseLimits` or built locally; saturate rather than wrap.
            let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
            self.headers.push(Header::ContentLength(ContentLength(len)));
            self.body = body;
        }

        /// The Via values, topmost first.
        pub fn vias(&self) -> impl Iterator<Item = &Via> {
            self.headers
                .named(&HeaderName::Via)
                .filter_map(|h| match h {
                    Header::Via(v) => Some(v),
                    _ => None,
                })
        }

        /// The topmost Via.
        pub fn top_via(&self) -> Option<&Via> {
            self.headers.find_named(&HeaderName::Via, |h| match h {
                Header::Via(v) => Some(v),
                _ => None,
            })
        }

        /// From.
        pub fn from(&self) -> Option<&NameAddr> {
            self.headers.find_named(&HeaderName::From, |h| match h {
                Header::From(a) => Some(a),
                _ => None,
            })
        }

        /// To.
        pub fn to(&self) -> Option<&NameAddr> {
            self.headers.find_named(&HeaderName::To, |h| match h {
                Header::To(a) => Some(a),
                _ => None,
            })
        }

        /// Call-ID.
        pub fn call_id(&self) -> Option<&CallId> {
            self.headers.find_named(&HeaderName::CallId, |h| match h {
                Header::CallId(c) => Some(c),
                _ => None,
            })
        }

        /// CSeq.
        pub fn cseq(&self) -> Option<&CSeq> {
            self.headers.find_named(&HeaderName::CSeq, |h| match h {
                Header::CSeq(c) => Some(c),
                _ => None,
            })
        }

        /// Contact values, in order.
        pub fn contacts(&self) -> impl Iterator<Item = &Contact> {
            self.headers
                .named(&HeaderName::Contact)
                .filter_map(|h| match h {
                    Header::Contact(c) => Some(c),
                    _ => None,
                })
        }

        /// Max-Forwards.
        pub fn max_forwards(&self) -> Option<MaxForwards> {
            self.headers
                .find_named(&HeaderName::MaxForwards, |h| match h {
                    Header::MaxForwards(m) => Some(*m),
                    _ => None,
                })
        }

        /// Content-Length.
        pub fn content_length(&self) -> Option<ContentLength> {
            self.headers
                .find_named(&HeaderName::ContentLength, |h| match h {
                    Header::ContentLength(l) => Some(*l),
                    _ => None,
                })
        }

        /// The serialized message.
        pub fn to_bytes(&self) -> Bytes {
            let mut out = BytesMut::with_capacity(512 + self.body.len());
            self.write_to(&mut out);
            out.freeze()
        }
    };
}

/// A SIP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    pub(crate) version: Version,
    pub(crate) headers: Headers,
    pub(crate) body: Bytes,
}

impl Request {
    /// A request with no headers and an empty body.
    pub fn new(method: Method, uri: Uri) -> Request {
        Request {
            method,
            uri,
            version: Version::Sip2,
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The Request-URI.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The version.
    pub fn version(&self) -> Version {
        self.version
    }

    typed_getters!();

    /// Appends the wire form: request line, headers, blank line, body.
    pub fn write_to(&self, out: &mut BytesMut) {
        out.put_slice(self.method.as_bytes());
        out.put_u8(b' ');
        out.put_slice(self.uri.as_bytes());
        out.put_u8(b' ');
        out.put_slice(self.version.as_str().as_bytes());
        out.put_slice(b"\r\n");
        self.headers.write_to(out);
        out.put_slice(b"\r\n");
        out.put_slice(&self.body);
    }
}

/// A SIP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub(crate) version: Version,
    pub(crate) status: StatusCode,
    pub(crate) reason: Text,
    pub(crate) headers: Headers,
    pub(crate) body: Bytes,
}

impl Response {
    /// A response with the canonical reason phrase, no headers and an empty body.
    pub fn new(status: StatusCode) -> Response {
        Response {
            version: Version::Sip2,
            status,
            reason: Text::from(status.canonical_reason()),
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The reason phrase as received (UTF-8 is allowed; it may be empty).
    pub fn reason(&self) -> &[u8] {
        &self.reason
    }

    /// Sets the reason phrase. CR and LF are replaced by spaces.
    pub fn set_reason(&mut self, reason: &str) {
        let clean: String = reason
            .chars()
            .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
            .collect();
        self.reason = Text::from(clean);
    }

    /// The version.
    pub fn version(&self) -> Version {
        self.version
    }

    typed_getters!();

    /// Appends the wire form: status line, headers, blank line, body.
    pub fn write_to(&self, out: &mut BytesMut) {
        out.put_slice(self.version.as_str().as_bytes());
        out.put_u8(b' ');
        write_u64(out, u64::from(self.status.as_u16()));
        out.put_u8(b' ');
        out.put_slice(&self.reason);
        out.put_slice(b"\r\n");
        self.headers.write_to(out);
        out.put_slice(b"\r\n");
        out.put_slice(&self.body);
    }
}

/// A request or a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

impl Message {
    /// Parses one datagram with default [`ParseLimits`] (RFC 3261 §18.3: Content-Length is
    /// optional, octets past it are discarded).
    pub fn parse(datagram: Bytes) -> Result<Message, ParseError> {
        crate::parse::message::parse_datagram(datagram, &ParseLimits::default())
    }

    /// Parses one datagram with the given limits.
    pub fn parse_with(datagram: Bytes, limits: &ParseLimits) -> Result<Message, ParseError> {
        crate::parse::message::parse_datagram(datagram, limits)
    }

    /// The header fields.
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => r.headers(),
            Message::Response(r) => r.headers(),
        }
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        match self {
            Message::Request(r) => r.body(),
            Message::Response(r) => r.body(),
        }
    }

    /// Appends the wire form.
    pub fn write_to(&self, out: &mut BytesMut) {
        match self {
            Message::Request(r) => r.write_to(out),
            Message::Response(r) => r.write_to(out),
        }
    }

    /// The serialized message.
    pub fn to_bytes(&self) -> Bytes {
        match self {
            Message::Request(r) => r.to_bytes(),
            Message::Response(r) => r.to_bytes(),
        }
    }
}
