//! Field-level encoding: `tag · length · value` records, and typed readers.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::{CodecError, varint};

/// Writes fields into a buffer.
pub(crate) struct FieldWriter<'a> {
    buf: &'a mut BytesMut,
}

impl<'a> FieldWriter<'a> {
    pub(crate) fn new(buf: &'a mut BytesMut) -> Self {
        Self { buf }
    }

    pub(crate) fn bytes(&mut self, tag: u64, value: &[u8]) {
        varint::put(self.buf, tag);
        varint::put(self.buf, value.len() as u64);
        self.buf.put_slice(value);
    }

    pub(crate) fn text(&mut self, tag: u64, value: &str) {
        self.bytes(tag, value.as_bytes());
    }

    pub(crate) fn uint(&mut self, tag: u64, value: u64) {
        varint::put(self.buf, tag);
        varint::put(self.buf, varint::len(value) as u64);
        varint::put(self.buf, value);
    }

    /// A nested record, written by `inner` into its own scratch buffer.
    pub(crate) fn nested(&mut self, tag: u64, inner: impl FnOnce(&mut FieldWriter<'_>)) {
        let mut scratch = BytesMut::new();
        inner(&mut FieldWriter::new(&mut scratch));
        self.bytes(tag, &scratch);
    }
}

/// One decoded field: its tag and value (a slice of the frame, no copy).
pub(crate) struct Field {
    pub(crate) tag: u64,
    pub(crate) value: Bytes,
}

/// Splits a record into fields.
pub(crate) fn read_fields(mut body: Bytes) -> impl Iterator<Item = Result<Field, CodecError>> {
    std::iter::from_fn(move || {
        if body.is_empty() {
            return None;
        }
        let field = (|| {
            let tag = varint::get(&mut body)?;
            let len = varint::get(&mut body)?;
            let len = usize::try_from(len).map_err(|_| CodecError::Truncated)?;
            if body.remaining() < len {
                return Err(CodecError::Truncated);
            }
            Ok(Field {
                tag,
                value: body.split_to(len),
            })
        })();
        if field.is_err() {
            body.clear();
        }
        Some(field)
    })
}

impl Field {
    pub(crate) fn text(&self, name: &'static str) -> Result<String, CodecError> {
        std::str::from_utf8(&self.value)
            .map(str::to_owned)
            .map_err(|e| CodecError::InvalidField {
                field: name,
                reason: e.to_string(),
            })
    }

    pub(crate) fn uint(&self, name: &'static str) -> Result<u64, CodecError> {
        let mut v = &self.value[..];
        let n = varint::get(&mut v).map_err(|_| invalid(name, "not a varint"))?;
        if !v.is_empty() {
            return Err(invalid(name, "trailing bytes after the varint"));
        }
        Ok(n)
    }

    pub(crate) fn small<T: TryFrom<u64>>(&self, name: &'static str) -> Result<T, CodecError> {
        T::try_from(self.uint(name)?).map_err(|_| invalid(name, "out of range"))
    }

    pub(crate) fn flag(&self, name: &'static str) -> Result<bool, CodecError> {
        match self.uint(name)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(invalid(name, "not 0 or 1")),
        }
    }
}

pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> CodecError {
    CodecError::InvalidField {
        field,
        reason: reason.into(),
    }
}

pub(crate) fn required<T>(
    v: Option<T>,
    frame: &'static str,
    field: &'static str,
) -> Result<T, CodecError> {
    v.ok_or(CodecError::MissingField { frame, field })
}
