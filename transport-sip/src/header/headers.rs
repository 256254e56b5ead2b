//! [`Headers`]: the ordered header fields of a message, typed eagerly or on first use.
//!
//! A parser that types every header pays for values nobody reads: a proxy or user agent
//! acts on Via, From, To, Call-ID, CSeq, Contact and Content-Length of every message, and
//! on Route, Allow, Supported or User-Agent rarely. So [`Message::parse`](crate::Message)
//! types those core headers while it parses (their errors reject the message, RFC 3261
//! §8.1.1, RFC 4475), and keeps every other field as a name and a span of the received
//! buffer, typed the first time something reads it. A lazily typed value that turns out
//! malformed reads as [`Header::Other`] with its raw text: a user agent ignores what it
//! cannot understand in a header it does not need (RFC 3261 §8.2), and the value still
//! re-serializes byte for byte.

use std::fmt;
use std::sync::OnceLock;

use bytes::{BufMut, Bytes, BytesMut};

use super::{Header, HeaderName, parse_value, spare};
use crate::ParseLimits;
use crate::parse::Span;
use crate::text::Text;

/// Fields a parsed message has room for before its lists grow (a typical request has
/// 10–14 header fields).
pub(crate) const PARSE_CAPACITY: usize = 16;

/// Where a parser puts the values of one header field.
pub(crate) trait HeaderSink {
    /// Adds one typed value.
    fn push_header(&mut self, h: Header);
}

impl HeaderSink for Vec<Header> {
    fn push_header(&mut self, h: Header) {
        self.push(h);
    }
}

/// The value(s) of a field line: typed when it was added, or typed on first use.
#[derive(Debug, Clone)]
enum Slot {
    /// Typed by the parser or added typed: an index into [`Headers::values`] (values are
    /// large, so entries stay small and the list of values is one allocation).
    Typed(u32),
    /// A raw span of the received buffer, typed once by whichever reader comes first
    /// (one value, or one per element of a comma-separated list).
    Lazy(OnceLock<Box<[Header]>>),
}

/// One field line: its name, its raw value in the received buffer (for a lazy slot)
/// and where its value(s) are.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    name: HeaderName,
    raw: Span,
    slot: Slot,
}

/// Bounds kept for typing lazily (the parse that made the list was bounded by them).
#[derive(Debug, Clone, Copy)]
struct Bounds {
    max_params: u32,
    max_values: u32,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds::from(&ParseLimits::default())
    }
}

impl From<&ParseLimits> for Bounds {
    fn from(l: &ParseLimits) -> Self {
        Bounds {
            max_params: u32::try_from(l.max_params).unwrap_or(u32::MAX),
            max_values: u32::try_from(l.max_values_per_header).unwrap_or(u32::MAX),
        }
    }
}

/// The header fields of a message, in order.
///
/// Iteration yields one [`Header`] per value (a comma-separated Via, Contact, Route or
/// Record-Route field yields one per element, RFC 3261 §7.3.1) and types, on first use,
/// the fields the parser left untyped (see the module documentation). Reading one name
/// with [`Headers::named`] types only the fields of that name.
#[derive(Clone, Default)]
pub struct Headers {
    /// The received buffer the raw spans point into (empty for a built message).
    src: Bytes,
    entries: Vec<Entry>,
    /// Typed values, referenced by [`Slot::Typed`]; only appended to (a value replaced
    /// or removed stays until the list is dropped).
    values: Vec<Header>,
    bounds: Bounds,
}

impl Headers {
    /// An empty list.
    pub fn new() -> Headers {
        Headers::default()
    }

    /// Makes room for `additional` more fields, so that building a message pushes
    /// without growing the list step by step.
    pub fn reserve(&mut self, additional: usize) {
        self.entries.reserve(additional);
        self.values.reserve(additional);
    }

    /// A list for a message parsed from `src`, with room for `capacity` fields (storage
    /// a dropped list left on this thread when there is some, see [`spare`]).
    pub(crate) fn for_parse(src: Bytes, limits: &ParseLimits, capacity: usize) -> Headers {
        let (entries, values) = spare::take(capacity);
        Headers {
            src,
            entries,
            values,
            bounds: Bounds::from(limits),
        }
    }

    /// Adds a field whose value `src[start..end]` is typed on first use.
    pub(crate) fn push_raw(&mut self, name: HeaderName, start: usize, end: usize) {
        self.entries.push(Entry {
            name,
            raw: Span::new(start, end),
            slot: Slot::Lazy(OnceLock::new()),
        });
    }

    /// The last value, if its field was typed while parsing.
    pub(crate) fn last_typed(&self) -> Option<&Header> {
        match self.entries.last()?.slot {
            Slot::Typed(i) => self.values.get(i as usize),
            Slot::Lazy(_) => None,
        }
    }

    /// Stores `h` and returns the entry that refers to it.
    fn typed_entry(&mut self, h: Header) -> Entry {
        // Bounded by `max_headers` when parsing; a built message never nears u32::MAX.
        let index = u32::try_from(self.values.len()).unwrap_or(u32::MAX);
        let name = h.name();
        self.values.push(h);
        Entry {
            name,
            raw: Span::default(),
            slot: Slot::Typed(index),
        }
    }

    /// The values of entry `e`, typing it first if needed.
    fn values_of<'a>(&'a self, e: &'a Entry) -> &'a [Header] {
        let cell = match &e.slot {
            Slot::Typed(i) => {
                return self
                    .values
                    .get(*i as usize)
                    .map_or(&[][..], std::slice::from_ref);
            }
            Slot::Lazy(cell) => cell,
        };
        cell.get_or_init(|| {
            let (start, end) = (e.raw.start as usize, e.raw.end as usize);
            let limits = ParseLimits {
                max_params: self.bounds.max_params as usize,
                max_values_per_header: self.bounds.max_values as usize,
                ..ParseLimits::default()
            };
            let mut out = Vec::new();
            match parse_value(&e.name, &self.src, start, end, &limits, &mut out) {
                Ok(()) => out.into_boxed_slice(),
                // Malformed in a header the parser did not need: kept raw (module docs).
                Err(_) => Box::new([Header::Other(
                    e.name.clone(),
                    Text::slice_of(&self.src, start, end),
                )]),
            }
        })
    }

    /// All header values, in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            headers: self,
            entries: self.entries.iter(),
            current: [].iter(),
        }
    }

    /// The values of the fields named `name`, in order; only those fields are typed.
    pub fn named<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a Header> + 'a {
        self.entries
            .iter()
            .filter(move |e| &e.name == name)
            .flat_map(move |e| self.values_of(e))
    }

    /// The first value `f` maps to something, among the values of the fields named
    /// `name`: [`named`](Self::named)`(name).find_map(f)` as one loop, for the
    /// accessors every message is read through.
    pub(crate) fn find_named<'a, T>(
        &'a self,
        name: &HeaderName,
        mut f: impl FnMut(&'a Header) -> Option<T>,
    ) -> Option<T> {
        for e in &self.entries {
            if e.name == *name
                && let Some(t) = self.values_of(e).iter().find_map(&mut f)
            {
                return Some(t);
            }
        }
        None
    }

    /// Number of header values.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends a header.
    pub fn push(&mut self, h: Header) {
        let e = self.typed_entry(h);
        self.entries.push(e);
    }

    /// Inserts a header before field line `index` (0 puts a Via on top).
    pub fn insert(&mut self, index: usize, h: Header) {
        let i = index.min(self.entries.len());
        let e = self.typed_entry(h);
        self.entries.insert(i, e);
    }

    /// Replaces the first field line named like `h` with `h`, keeping its place; appends
    /// `h` when there is none. Other fields are left untyped.
    pub fn set_first(&mut self, h: Header) {
        let name = h.name();
        let e = self.typed_entry(h);
        match self.entries.iter_mut().find(|old| old.name == name) {
            Some(old) => *old = e,
            None => self.entries.push(e),
        }
    }

    /// Removes every header named `name`.
    pub fn remove_all(&mut self, name: &HeaderName) {
        self.entries.retain(|e| &e.name != name);
    }

    /// Raw values of the headers named `name` (any header, typed or not), serialized.
    pub fn values(&self, name: &HeaderName) -> impl Iterator<Item = Bytes> {
        self.named(name)
            .map(|h| {
                let mut b = BytesMut::new();
                h.write_value(&mut b);
                b.freeze()
            })
            .collect::<Vec<_>>()
            .into_iter()
    }

    /// Appends every header as `Name: value CRLF`; untyped fields are copied as received.
    pub fn write_to(&self, out: &mut BytesMut) {
        for e in &self.entries {
            let typed = match &e.slot {
                Slot::Typed(i) => self.values.get(*i as usize).map(std::slice::from_ref),
                Slot::Lazy(cell) => cell.get().map(|b| &b[..]),
            };
            match typed {
                Some(values) => {
                    for h in values {
                        h.write_to(out);
                    }
                }
                None => {
                    out.put_slice(e.name.as_str().as_bytes());
                    out.put_slice(b": ");
                    out.put_slice(e.raw.get(&self.src));
                    out.put_slice(b"\r\n");
                }
            }
        }
    }
}

impl Drop for Headers {
    /// Leaves the list's storage to the next parse on this thread (see the `spare` module).
    fn drop(&mut self) {
        spare::give(
            std::mem::take(&mut self.entries),
            std::mem::take(&mut self.values),
            PARSE_CAPACITY,
        );
    }
}

impl HeaderSink for Headers {
    fn push_header(&mut self, h: Header) {
        self.push(h);
    }
}

impl PartialEq for Headers {
    /// Equal when the typed values are, in order.
    fn eq(&self, other: &Headers) -> bool {
        self.iter().eq(other.iter())
    }
}
impl Eq for Headers {}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The iterator of [`Headers::iter`].
#[derive(Clone)]
pub struct Iter<'a> {
    headers: &'a Headers,
    entries: std::slice::Iter<'a, Entry>,
    current: std::slice::Iter<'a, Header>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a Header;

    fn next(&mut self) -> Option<&'a Header> {
        loop {
            if let Some(h) = self.current.next() {
                return Some(h);
            }
            let e = self.entries.next()?;
            self.current = self.headers.values_of(e).iter();
        }
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Header;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::TokenList;

    fn parsed(raw: &'static [u8]) -> Headers {
        let src = Bytes::from_static(raw);
        let mut h = Headers::for_parse(src.clone(), &ParseLimits::default(), 4);
        // "Allow: <value>\r\nRoute: <value>\r\n"-shaped input: names and spans by hand.
        let text = std::str::from_utf8(raw).expect("ascii");
        let mut pos = 0;
        for line in text.split("\r\n").filter(|l| !l.is_empty()) {
            let colon = line.find(':').expect("colon");
            let name = HeaderName::parse(&line.as_bytes()[..colon]).expect("name");
            h.push_raw(name, pos + colon + 2, pos + line.len());
            pos += line.len() + 2;
        }
        h
    }

    #[test]
    fn untyped_fields_are_typed_on_first_use_and_reserialize_verbatim() {
        let h = parsed(b"Allow: INVITE, BYE\r\nRoute: <sip:a;lr>, <sip:b;lr>\r\n");
        let mut out = BytesMut::new();
        h.write_to(&mut out);
        assert_eq!(
            &out[..],
            b"Allow: INVITE, BYE\r\nRoute: <sip:a;lr>, <sip:b;lr>\r\n"
        );
        let routes: Vec<_> = h.named(&HeaderName::Route).collect();
        assert_eq!(routes.len(), 2, "a list types into one value per element");
        assert!(
            matches!(h.iter().next(), Some(Header::Allow(l)) if l == &TokenList::parse(b"INVITE, BYE").expect("valid"))
        );
        assert_eq!(h.len(), 3);
    }

    #[test]
    fn a_malformed_untyped_field_reads_as_other_with_its_text() {
        let h = parsed(b"Allow: INVITE BYE\r\n");
        match h.iter().next() {
            Some(Header::Other(name, text)) => {
                assert_eq!(name, &HeaderName::Allow);
                assert_eq!(&text[..], b"INVITE BYE");
            }
            other => panic!("expected the raw value, got {other:?}"),
        }
    }

    #[test]
    fn other_names_are_found_in_any_case() {
        let h = parsed(b"X-Foo: 1\r\nAllow: INVITE\r\n");
        let name = HeaderName::parse(b"x-FOO").expect("token");
        assert_eq!(h.named(&name).count(), 1);
        assert!(h.find_named(&name, |v| Some(v.name())).is_some());
        assert!(
            h.find_named(&HeaderName::Route, |v| Some(v.name()))
                .is_none()
        );
    }

    #[test]
    fn set_first_replaces_in_place() {
        let mut h = parsed(b"Allow: INVITE\r\nRoute: <sip:a;lr>\r\n");
        h.set_first(Header::Allow(TokenList::parse(b"BYE").expect("valid")));
        let mut out = BytesMut::new();
        h.write_to(&mut out);
        assert_eq!(&out[..], b"Allow: BYE\r\nRoute: <sip:a;lr>\r\n");
    }
}
