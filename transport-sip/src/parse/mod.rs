//! The byte-level parser: character classes and a cursor ([`chars`], [`cursor`]), generic
//! parameters ([`params`]), short byte searches ([`scan`]), and message assembly ([`message`]).

pub(crate) mod chars;
pub(crate) mod cursor;
pub(crate) mod message;
pub(crate) mod params;
pub(crate) mod scan;

/// A byte range inside a [`Text`](crate::Text) value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) end: u32,
}

impl Span {
    pub(crate) fn new(start: usize, end: usize) -> Span {
        // Values are bounded by `max_header_line`, far below u32::MAX.
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    pub(crate) fn get<'a>(&self, bytes: &'a [u8]) -> &'a [u8] {
        bytes
            .get(self.start as usize..self.end as usize)
            .unwrap_or_default()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.start == self.end
    }
}
