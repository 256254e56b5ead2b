//! Source description packets (SDES, RFC 3550 §6.5): chunks of items such
//! as the CNAME, read lazily from the packet.

use crate::rtp::Ssrc;

/// The type of an SDES item (RFC 3550 §6.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SdesItemKind {
    /// Canonical end-point identifier (1).
    Cname,
    /// User name (2).
    Name,
    /// Electronic mail address (3).
    Email,
    /// Phone number (4).
    Phone,
    /// Geographic user location (5).
    Location,
    /// Application or tool name (6).
    Tool,
    /// Notice or status (7).
    Note,
    /// Private extension (8): prefix length, prefix and value, kept raw.
    Private,
    /// Any other non-zero item type.
    Other(u8),
}

impl SdesItemKind {
    /// The item type for its wire value (`0` ends an item list and is never an item).
    #[must_use]
    pub const fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Cname,
            2 => Self::Name,
            3 => Self::Email,
            4 => Self::Phone,
            5 => Self::Location,
            6 => Self::Tool,
            7 => Self::Note,
            8 => Self::Private,
            other => Self::Other(other),
        }
    }

    /// The wire value.
    #[must_use]
    pub const fn to_u8(self) -> u8 {
        match self {
            Self::Cname => 1,
            Self::Name => 2,
            Self::Email => 3,
            Self::Phone => 4,
            Self::Location => 5,
            Self::Tool => 6,
            Self::Note => 7,
            Self::Private => 8,
            Self::Other(v) => v,
        }
    }
}

/// One SDES item: its type and value bytes (UTF-8 by the RFC, not checked).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SdesItem<'a> {
    /// The item type.
    pub kind: SdesItemKind,
    /// The value, at most 255 bytes.
    pub value: &'a [u8],
}

/// A received SDES packet (type 202), a view over its chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sdes<'a> {
    pub(crate) count: u8,
    pub(crate) body: &'a [u8],
}

impl<'a> Sdes<'a> {
    /// The chunks, one per source.
    #[must_use]
    pub fn chunks(&self) -> SdesChunks<'a> {
        SdesChunks {
            rest: self.body,
            remaining: self.count,
        }
    }
}

/// One SDES chunk: a source and its items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SdesChunk<'a> {
    /// The source described.
    pub ssrc: Ssrc,
    items: &'a [u8],
}

impl<'a> SdesChunk<'a> {
    /// The items of this chunk in wire order.
    #[must_use]
    pub fn items(&self) -> SdesItems<'a> {
        SdesItems { rest: self.items }
    }

    /// The CNAME item's value, if the chunk has one.
    #[must_use]
    pub fn cname(&self) -> Option<&'a [u8]> {
        self.items()
            .find(|i| i.kind == SdesItemKind::Cname)
            .map(|i| i.value)
    }
}

/// Iterator over the chunks of an SDES packet.
#[derive(Clone, Debug)]
pub struct SdesChunks<'a> {
    rest: &'a [u8],
    remaining: u8,
}

impl<'a> Iterator for SdesChunks<'a> {
    type Item = SdesChunk<'a>;

    fn next(&mut self) -> Option<SdesChunk<'a>> {
        if self.remaining == 0 {
            return None;
        }
        let (chunk, rest) = split_chunk(self.rest)?;
        self.rest = rest;
        self.remaining -= 1;
        Some(chunk)
    }
}

/// Iterator over the items of one SDES chunk.
#[derive(Clone, Debug)]
pub struct SdesItems<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for SdesItems<'a> {
    type Item = SdesItem<'a>;

    fn next(&mut self) -> Option<SdesItem<'a>> {
        let (&kind, rest) = self.rest.split_first()?;
        if kind == 0 {
            return None;
        }
        let (&len, rest) = rest.split_first()?;
        let value = rest.get(..usize::from(len))?;
        self.rest = &rest[usize::from(len)..];
        Some(SdesItem {
            kind: SdesItemKind::from_u8(kind),
            value,
        })
    }
}

/// Splits one chunk off the front of `b`: the SSRC, items up to the null
/// terminator, then padding to the next 32-bit boundary (chunks start on
/// one). `None` when the chunk runs past `b`.
fn split_chunk(b: &[u8]) -> Option<(SdesChunk<'_>, &[u8])> {
    let (ssrc, items) = b.split_first_chunk::<4>()?;
    let mut pos = 0;
    loop {
        match *items.get(pos)? {
            0 => break,
            _ => pos += 2 + usize::from(*items.get(pos + 1)?),
        }
    }
    let item_bytes = items.get(..pos)?;
    // `pos` is the null octet; the chunk ends at the next multiple of four
    // counted from the chunk start (4 bytes of SSRC precede `items`).
    let end = (4 + pos + 1).next_multiple_of(4) - 4;
    let rest = items.get(end..)?;
    Some((
        SdesChunk {
            ssrc: Ssrc(u32::from_be_bytes(*ssrc)),
            items: item_bytes,
        },
        rest,
    ))
}

/// Checks that `body` holds `count` well-formed chunks.
pub(crate) fn validate(body: &[u8], count: u8) -> bool {
    let mut rest = body;
    for _ in 0..count {
        match split_chunk(rest) {
            Some((_, r)) => rest = r,
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_with_two_items_and_padding() {
        // SSRC, CNAME "ab", NOTE "x", null, pad to 16 bytes.
        let body = [0, 0, 0, 9, 1, 2, b'a', b'b', 7, 1, b'x', 0, 0, 0, 0, 0];
        assert!(validate(&body, 1));
        let sdes = Sdes {
            count: 1,
            body: &body,
        };
        let chunk = sdes.chunks().next().unwrap();
        assert_eq!(chunk.ssrc, Ssrc(9));
        assert_eq!(chunk.cname(), Some(&b"ab"[..]));
        let kinds: Vec<_> = chunk.items().map(|i| i.kind).collect();
        assert_eq!(kinds, [SdesItemKind::Cname, SdesItemKind::Note]);
        // 11 bytes of items + null = 12 → ends at 12, leaving 4 bytes.
        assert!(!validate(&body, 2));
    }

    #[test]
    fn item_running_past_chunk_is_rejected() {
        assert!(!validate(&[0, 0, 0, 1, 1, 9, b'a', 0], 1));
        assert!(!validate(&[0, 0, 0, 1, 1, 1, b'a'], 1));
    }
}
