//! Composing indication documents (RFC 3994, `application/im-iscomposing+xml`).
//!
//! The sender says `active` while the user types, with a `refresh` interval it promises
//! to re-send within, and `idle` when typing stops; the receiver falls back to idle
//! when an `active` state is not refreshed in time (RFC 3994 §3.3: 120 s when no
//! refresh was given).
//!
//! ```
//! use std::time::Duration;
//! use transport_sip::ua::iscomposing::{IsComposing, State};
//!
//! let doc = IsComposing::active(Duration::from_secs(60)).to_xml();
//! let back = IsComposing::parse(doc.as_bytes())?;
//! assert_eq!(back.state, State::Active);
//! assert_eq!(back.refresh, Some(Duration::from_secs(60)));
//! # Ok::<(), transport_sip::ua::iscomposing::IsComposingError>(())
//! ```

use std::time::Duration;

use quick_xml::Reader;
use quick_xml::events::Event;

/// The MIME type of the documents.
pub const CONTENT_TYPE: &str = "application/im-iscomposing+xml";

/// Largest document accepted.
pub const MAX_DOCUMENT: usize = 4096;

/// Deepest element nesting accepted.
const MAX_DEPTH: usize = 8;

/// The idle timeout a receiver applies when an `active` state has no refresh (§3.3).
pub const DEFAULT_ACTIVE_TIMEOUT: Duration = Duration::from_secs(120);

/// The composing state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// The user is composing.
    Active,
    /// The user is not composing.
    Idle,
}

/// One isComposing document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IsComposing {
    /// The state.
    pub state: State,
    /// For `active`: the sender re-sends within this interval.
    pub refresh: Option<Duration>,
    /// The type of message being composed (`text/plain` when absent).
    pub content_type: Option<String>,
}

/// Why a document was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IsComposingError {
    /// Over [`MAX_DOCUMENT`] bytes.
    #[error("isComposing document of {0} bytes is over the limit")]
    TooLarge(usize),
    /// Not well-formed XML.
    #[error("isComposing document is not well-formed XML: {0}")]
    Xml(String),
    /// The root is not `isComposing`.
    #[error("root element is not isComposing")]
    Root,
    /// No `state`, or one that is neither `active` nor `idle`.
    #[error("missing or unknown state")]
    State,
    /// A `refresh` that is not a positive number of seconds.
    #[error("invalid refresh interval")]
    Refresh,
    /// Elements nested deeper than the parser accepts.
    #[error("elements nested too deeply")]
    TooDeep,
}

impl IsComposing {
    /// `active`, promising a refresh within `refresh`.
    pub fn active(refresh: Duration) -> IsComposing {
        IsComposing {
            state: State::Active,
            refresh: Some(refresh),
            content_type: None,
        }
    }

    /// `idle`.
    pub fn idle() -> IsComposing {
        IsComposing {
            state: State::Idle,
            refresh: None,
            content_type: None,
        }
    }

    /// How long the receiver keeps an `active` state without a new document.
    pub fn active_timeout(&self) -> Duration {
        self.refresh.unwrap_or(DEFAULT_ACTIVE_TIMEOUT)
    }

    /// The document.
    pub fn to_xml(&self) -> String {
        let mut out = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <isComposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\">\n",
        );
        out.push_str(match self.state {
            State::Active => "  <state>active</state>\n",
            State::Idle => "  <state>idle</state>\n",
        });
        if let Some(ct) = &self.content_type {
            out.push_str("  <contenttype>");
            out.push_str(&escape(ct));
            out.push_str("</contenttype>\n");
        }
        if let (State::Active, Some(r)) = (self.state, self.refresh) {
            out.push_str(&format!("  <refresh>{}</refresh>\n", r.as_secs().max(1)));
        }
        out.push_str("</isComposing>\n");
        out
    }

    /// Parses a document; unknown elements (and `lastactive`) are ignored.
    pub fn parse(doc: &[u8]) -> Result<IsComposing, IsComposingError> {
        if doc.len() > MAX_DOCUMENT {
            return Err(IsComposingError::TooLarge(doc.len()));
        }
        let mut reader = Reader::from_reader(doc);
        reader.config_mut().trim_text(true);
        let mut path: Vec<Vec<u8>> = Vec::new();
        let mut state = None;
        let mut refresh = None;
        let mut content_type = None;
        let mut buf = Vec::new();
        loop {
            let event = reader
                .read_event_into(&mut buf)
                .map_err(|e| IsComposingError::Xml(e.to_string()))?;
            match event {
                Event::Start(e) => {
                    let name = e.local_name().as_ref().to_vec();
                    if path.is_empty() && name != b"isComposing" {
                        return Err(IsComposingError::Root);
                    }
                    if path.len() >= MAX_DEPTH {
                        return Err(IsComposingError::TooDeep);
                    }
                    path.push(name);
                }
                Event::Empty(e) if path.is_empty() && e.local_name().as_ref() != b"isComposing" => {
                    return Err(IsComposingError::Root);
                }
                Event::End(_) => {
                    path.pop();
                }
                Event::Text(t) if path.len() == 2 => {
                    let text = t
                        .decode()
                        .map_err(|e| IsComposingError::Xml(e.to_string()))?;
                    let text = text.trim();
                    match path[1].as_slice() {
                        b"state" => {
                            state = Some(match text {
                                "active" => State::Active,
                                "idle" => State::Idle,
                                _ => return Err(IsComposingError::State),
                            })
                        }
                        b"refresh" => {
                            let secs: u64 = text.parse().map_err(|_| IsComposingError::Refresh)?;
                            if secs == 0 || secs > 86_400 {
                                return Err(IsComposingError::Refresh);
                            }
                            refresh = Some(Duration::from_secs(secs));
                        }
                        b"contenttype" => content_type = Some(text.to_owned()),
                        _ => {}
                    }
                }
                Event::Eof => break,
                _ => {}
            }
            buf.clear();
        }
        let state = state.ok_or(IsComposingError::State)?;
        Ok(IsComposing {
            state,
            refresh: if state == State::Active {
                refresh
            } else {
                None
            },
            content_type,
        })
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3994_example_parses() {
        // The shape of RFC 3994 §4's example, with the schema attributes.
        let doc = br#"<?xml version="1.0" encoding="UTF-8"?>
<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="urn:ietf:params:xml:ns:im-composing iscomposing.xsd">
  <state>active</state>
  <contenttype>text/plain</contenttype>
  <refresh>90</refresh>
</isComposing>"#;
        let c = IsComposing::parse(doc).expect("parses");
        assert_eq!(c.state, State::Active);
        assert_eq!(c.refresh, Some(Duration::from_secs(90)));
        assert_eq!(c.content_type.as_deref(), Some("text/plain"));
        assert_eq!(c.active_timeout(), Duration::from_secs(90));
    }

    #[test]
    fn idle_ignores_refresh_and_defaults_timeout() {
        let c = IsComposing::parse(
            b"<isComposing xmlns='urn:ietf:params:xml:ns:im-iscomposing'><state>idle</state>\
              <lastactive>2026-11-26T10:00:00Z</lastactive><refresh>30</refresh></isComposing>",
        )
        .expect("parses");
        assert_eq!(c, IsComposing::idle());
        let active = IsComposing::parse(b"<isComposing><state>active</state></isComposing>")
            .expect("parses");
        assert_eq!(active.active_timeout(), DEFAULT_ACTIVE_TIMEOUT);
    }

    #[test]
    fn round_trip() {
        for c in [
            IsComposing::active(Duration::from_secs(60)),
            IsComposing::idle(),
            IsComposing {
                state: State::Active,
                refresh: Some(Duration::from_secs(5)),
                content_type: Some("text/html".into()),
            },
        ] {
            assert_eq!(IsComposing::parse(c.to_xml().as_bytes()), Ok(c));
        }
    }

    #[test]
    fn bad_documents_are_typed_errors() {
        assert_eq!(
            IsComposing::parse(b"<other><state>active</state></other>"),
            Err(IsComposingError::Root)
        );
        assert_eq!(
            IsComposing::parse(b"<isComposing><state>typing</state></isComposing>"),
            Err(IsComposingError::State)
        );
        assert_eq!(
            IsComposing::parse(b"<isComposing></isComposing>"),
            Err(IsComposingError::State)
        );
        assert_eq!(
            IsComposing::parse(
                b"<isComposing><state>active</state><refresh>-1</refresh></isComposing>"
            ),
            Err(IsComposingError::Refresh)
        );
        assert!(matches!(
            IsComposing::parse(b"<isComposing><state>active</isComposing>"),
            Err(IsComposingError::Xml(_))
        ));
        let deep = format!("<isComposing>{}</isComposing>", "<a>".repeat(20));
        assert_eq!(
            IsComposing::parse(deep.as_bytes()),
            Err(IsComposingError::TooDeep)
        );
        let big = vec![b' '; MAX_DOCUMENT + 1];
        assert_eq!(
            IsComposing::parse(&big),
            Err(IsComposingError::TooLarge(MAX_DOCUMENT + 1))
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(doc in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let _ = IsComposing::parse(&doc);
        }
    }
}
