//! [`Text`]: the byte string every parsed field is stored in.

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;

/// Values up to this many bytes are copied inline; longer ones share the input buffer.
const INLINE_CAP: usize = 54;

/// An immutable byte string taken from a message.
///
/// Short values (up to 54 bytes, which covers nearly every tag, branch, host and Call-ID)
/// are copied inline: copying them costs less than the two atomic reference-count
/// operations a shared [`Bytes`] slice pays on clone and drop. Longer values are
/// zero-copy [`Bytes`] slices of the received buffer.
///
/// SIP values are not guaranteed to be UTF-8 (quoted strings may hold any octet), so
/// `Text` dereferences to `[u8]`; [`Text::as_str`] gives a `&str` when the bytes are UTF-8.
#[derive(Clone)]
pub struct Text(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, buf: [u8; INLINE_CAP] },
    Shared(Bytes),
}

impl Text {
    /// The empty text.
    pub const EMPTY: Text = Text(Repr::Inline {
        len: 0,
        buf: [0; INLINE_CAP],
    });

    /// Takes `src[start..end]`: copied inline when short, otherwise a shared slice.
    ///
    /// # Panics
    /// If the range is out of bounds (callers pass ranges they found inside `src`).
    pub(crate) fn slice_of(src: &Bytes, start: usize, end: usize) -> Text {
        let len = end - start;
        if len <= INLINE_CAP {
            let mut buf = [0; INLINE_CAP];
            match src.get(start..start + INLINE_CAP) {
                // A fixed-size copy is a few vector moves where a variable one is a
                // `memcpy` call; the bytes past `len` are never read.
                Some(window) => buf.copy_from_slice(window),
                None => buf[..len].copy_from_slice(&src[start..end]),
            }
            // `len <= INLINE_CAP < 256`, so the cast is lossless.
            Text(Repr::Inline {
                len: len as u8,
                buf,
            })
        } else {
            Text(Repr::Shared(src.slice(start..end)))
        }
    }

    /// Copies `bytes` into a new text.
    pub fn copy_from(bytes: &[u8]) -> Text {
        if bytes.len() <= INLINE_CAP {
            let mut buf = [0; INLINE_CAP];
            buf[..bytes.len()].copy_from_slice(bytes);
            Text(Repr::Inline {
                len: bytes.len() as u8,
                buf,
            })
        } else {
            Text(Repr::Shared(Bytes::copy_from_slice(bytes)))
        }
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, buf } => &buf[..usize::from(*len)],
            Repr::Shared(b) => b,
        }
    }

    /// The text as `&str`, or `None` when it is not UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self.as_bytes()).ok()
    }

    /// The text as a string, with invalid UTF-8 replaced by U+FFFD.
    pub fn to_string_lossy(&self) -> String {
        String::from_utf8_lossy(self.as_bytes()).into_owned()
    }
}

impl Deref for Text {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for Text {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}
impl Eq for Text {}

impl std::hash::Hash for Text {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}
impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text::copy_from(s.as_bytes())
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text::copy_from(s.as_bytes())
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&String::from_utf8_lossy(self.as_bytes()), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.as_bytes()))
    }
}

/// Returns `bytes` as `&str`; used on spans the grammar restricts to ASCII.
pub(crate) fn ascii(bytes: &[u8]) -> &str {
    // Token, host and number spans only ever hold ASCII (the scanners accept nothing
    // else), so this never falls back; the fallback keeps a bug from becoming a panic.
    std::str::from_utf8(bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_inline_long_ones_shared() {
        let src = Bytes::from(vec![b'a'; 100]);
        let short = Text::slice_of(&src, 0, 10);
        let long = Text::slice_of(&src, 0, 100);
        assert!(matches!(short.0, Repr::Inline { .. }));
        assert!(matches!(long.0, Repr::Shared(_)));
        assert_eq!(short.len(), 10);
        assert_eq!(long.len(), 100);
        assert_eq!(Text::from("abc"), "abc");
    }
}
