//! RTP header extensions: the generic block of RFC 3550 §5.3.1 and the
//! one-byte and two-byte element forms of RFC 8285 §4.2 and §4.3.
//!
//! Parsing is a borrowed view: [`HeaderExtension::elements`] walks the raw
//! bytes without allocating.

use thiserror::Error;

/// The "defined by profile" value of the RFC 8285 one-byte form (§4.2).
pub const ONE_BYTE_PROFILE: u16 = 0xBEDE;
/// The "defined by profile" value of the RFC 8285 two-byte form (§4.3), with
/// the four `appbits` zero. Any value `0x1000..=0x100F` is two-byte.
pub const TWO_BYTE_PROFILE: u16 = 0x1000;

/// The header extension block of one RTP packet (RFC 3550 §5.3.1): the
/// 16-bit profile value and the extension data, whose length is a multiple of
/// four bytes on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderExtension<'a> {
    /// The 16 bits "defined by profile"; tells the element form.
    pub profile: u16,
    /// The extension data, without the four-byte block header.
    pub data: &'a [u8],
}

/// Which form an extension block uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtensionForm {
    /// RFC 8285 one-byte elements (profile `0xBEDE`).
    OneByte,
    /// RFC 8285 two-byte elements (profile `0x100X`), with the four appbits.
    TwoByte {
        /// The low four bits of the profile value (RFC 8285 §4.3).
        appbits: u8,
    },
    /// Any other profile: the data is kept raw (RFC 3550 §5.3.1).
    Other,
}

impl<'a> HeaderExtension<'a> {
    /// The element form given by the profile value.
    #[must_use]
    pub const fn form(&self) -> ExtensionForm {
        if self.profile == ONE_BYTE_PROFILE {
            ExtensionForm::OneByte
        } else if self.profile & 0xFFF0 == TWO_BYTE_PROFILE {
            ExtensionForm::TwoByte {
                appbits: (self.profile & 0x0F) as u8,
            }
        } else {
            ExtensionForm::Other
        }
    }

    /// The RFC 8285 elements of this block, lazily parsed. A block of another
    /// profile ([`ExtensionForm::Other`]) yields no elements; read
    /// [`HeaderExtension::data`] instead.
    #[must_use]
    pub fn elements(&self) -> ExtensionElements<'a> {
        ExtensionElements {
            data: self.data,
            form: self.form(),
            done: false,
        }
    }

    /// The data of the first element with local identifier `id`, if present
    /// and well formed up to that point.
    #[must_use]
    pub fn find(&self, id: u8) -> Option<&'a [u8]> {
        self.elements()
            .map_while(Result::ok)
            .find(|e| e.id == id)
            .map(|e| e.data)
    }
}

/// One RFC 8285 extension element: a local identifier and its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtensionElement<'a> {
    /// Local identifier: 1..=14 in the one-byte form, 1..=255 in the two-byte form.
    pub id: u8,
    /// Element data: 1..=16 bytes in the one-byte form, 0..=255 in the two-byte form.
    pub data: &'a [u8],
}

/// A malformed extension element sent by the peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ExtensionError {
    /// An element's length runs past the end of the extension block.
    #[error("peer sent an RTP header extension element (id {id}) longer than its block")]
    ElementOverrun {
        /// The element's local identifier.
        id: u8,
    },
    /// A one-byte element used id 0 with a non-zero length (RFC 8285 §4.2).
    #[error("peer sent an RTP one-byte header extension element with id 0 and non-zero length")]
    ReservedId,
}

/// Iterator over the elements of an RFC 8285 extension block.
///
/// Yields `Err` once and then stops on a malformed element. In the one-byte
/// form, id 15 ends the walk without error, as RFC 8285 §4.2 requires.
#[derive(Clone, Debug)]
pub struct ExtensionElements<'a> {
    data: &'a [u8],
    form: ExtensionForm,
    done: bool,
}

impl<'a> Iterator for ExtensionElements<'a> {
    type Item = Result<ExtensionElement<'a>, ExtensionError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            let (&first, rest) = self.data.split_first()?;
            if first == 0 {
                // Padding byte, in both forms.
                self.data = rest;
                continue;
            }
            let (id, len, body) = match self.form {
                ExtensionForm::OneByte => {
                    let id = first >> 4;
                    if id == 15 {
                        self.done = true;
                        return None;
                    }
                    if id == 0 {
                        self.done = true;
                        return Some(Err(ExtensionError::ReservedId));
                    }
                    (id, usize::from(first & 0x0F) + 1, rest)
                }
                ExtensionForm::TwoByte { .. } => {
                    let Some((&len, body)) = rest.split_first() else {
                        self.done = true;
                        return Some(Err(ExtensionError::ElementOverrun { id: first }));
                    };
                    (first, usize::from(len), body)
                }
                ExtensionForm::Other => {
                    self.done = true;
                    return None;
                }
            };
            let Some((data, after)) = body.split_at_checked(len) else {
                self.done = true;
                return Some(Err(ExtensionError::ElementOverrun { id }));
            };
            self.data = after;
            return Some(Ok(ExtensionElement { id, data }));
        }
    }
}

/// A caller asked to encode an element the chosen form cannot carry, or gave
/// too small a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ExtensionEncodeError {
    /// The id is outside the form's range (one-byte 1..=14, two-byte 1..=255).
    #[error("extension element id {0} is not allowed in this form")]
    BadId(u8),
    /// The data length is outside the form's range (one-byte 1..=16, two-byte 0..=255).
    #[error("extension element data of {0} bytes does not fit this form")]
    BadLength(usize),
    /// The output buffer is too small.
    #[error("extension buffer too small: need {needed} bytes")]
    BufferTooSmall {
        /// Bytes needed so far.
        needed: usize,
    },
}

/// Encodes `elements` in the RFC 8285 one-byte form into `out`, zero-padded
/// to a multiple of four bytes, and returns the length written. Use the
/// result as [`HeaderExtension::data`] with profile [`ONE_BYTE_PROFILE`].
pub fn encode_one_byte(
    elements: &[ExtensionElement<'_>],
    out: &mut [u8],
) -> Result<usize, ExtensionEncodeError> {
    let mut pos = 0;
    for e in elements {
        if !(1..=14).contains(&e.id) {
            return Err(ExtensionEncodeError::BadId(e.id));
        }
        if !(1..=16).contains(&e.data.len()) {
            return Err(ExtensionEncodeError::BadLength(e.data.len()));
        }
        let needed = pos + 1 + e.data.len();
        let dst = out
            .get_mut(pos..needed)
            .ok_or(ExtensionEncodeError::BufferTooSmall { needed })?;
        dst[0] = (e.id << 4) | (e.data.len() - 1) as u8;
        dst[1..].copy_from_slice(e.data);
        pos = needed;
    }
    pad_to_word(out, pos)
}

/// Encodes `elements` in the RFC 8285 two-byte form into `out`, zero-padded
/// to a multiple of four bytes, and returns the length written. Use the
/// result as [`HeaderExtension::data`] with profile [`TWO_BYTE_PROFILE`].
pub fn encode_two_byte(
    elements: &[ExtensionElement<'_>],
    out: &mut [u8],
) -> Result<usize, ExtensionEncodeError> {
    let mut pos = 0;
    for e in elements {
        if e.id == 0 {
            return Err(ExtensionEncodeError::BadId(e.id));
        }
        let Ok(len) = u8::try_from(e.data.len()) else {
            return Err(ExtensionEncodeError::BadLength(e.data.len()));
        };
        let needed = pos + 2 + e.data.len();
        let dst = out
            .get_mut(pos..needed)
            .ok_or(ExtensionEncodeError::BufferTooSmall { needed })?;
        dst[0] = e.id;
        dst[1] = len;
        dst[2..].copy_from_slice(e.data);
        pos = needed;
    }
    pad_to_word(out, pos)
}

fn pad_to_word(out: &mut [u8], pos: usize) -> Result<usize, ExtensionEncodeError> {
    let end = pos.next_multiple_of(4);
    let pad = out
        .get_mut(pos..end)
        .ok_or(ExtensionEncodeError::BufferTooSmall { needed: end })?;
    pad.fill(0);
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(ext: &HeaderExtension<'_>) -> Vec<Result<(u8, Vec<u8>), ExtensionError>> {
        ext.elements()
            .map(|r| r.map(|e| (e.id, e.data.to_vec())))
            .collect()
    }

    #[test]
    fn rfc8285_one_byte_example() {
        // RFC 8285 §4.2 figure: id 1 (1 byte), id 2 (2 bytes), padding, id 3 (4 bytes).
        let data = [
            0x10, 0xAA, 0x21, 0xBB, 0xBB, 0x00, 0x00, 0x33, 0xCC, 0xCC, 0xCC, 0xCC,
        ];
        let ext = HeaderExtension {
            profile: ONE_BYTE_PROFILE,
            data: &data,
        };
        assert_eq!(ext.form(), ExtensionForm::OneByte);
        assert_eq!(
            ids(&ext),
            vec![
                Ok((1, vec![0xAA])),
                Ok((2, vec![0xBB, 0xBB])),
                Ok((3, vec![0xCC; 4]))
            ]
        );
        assert_eq!(ext.find(2), Some(&[0xBB, 0xBB][..]));
        assert_eq!(ext.find(9), None);
    }

    #[test]
    fn rfc8285_two_byte_example() {
        // RFC 8285 §4.3 figure: id 1 len 0, id 2 len 1, id 3 len 4 after padding.
        let data = [
            0x01, 0x00, 0x02, 0x01, 0xBB, 0x00, 0x03, 0x04, 0xCC, 0xCC, 0xCC, 0xCC,
        ];
        let ext = HeaderExtension {
            profile: 0x1003,
            data: &data,
        };
        assert_eq!(ext.form(), ExtensionForm::TwoByte { appbits: 3 });
        assert_eq!(
            ids(&ext),
            vec![Ok((1, vec![])), Ok((2, vec![0xBB])), Ok((3, vec![0xCC; 4]))]
        );
    }

    #[test]
    fn id_15_stops_the_walk() {
        let data = [0x10, 0xAA, 0xF0, 0x20, 0xBB];
        let ext = HeaderExtension {
            profile: ONE_BYTE_PROFILE,
            data: &data,
        };
        assert_eq!(ids(&ext), vec![Ok((1, vec![0xAA]))]);
    }

    #[test]
    fn overrun_is_an_error_once() {
        let data = [0x13, 0xAA];
        let ext = HeaderExtension {
            profile: ONE_BYTE_PROFILE,
            data: &data,
        };
        assert_eq!(
            ids(&ext),
            vec![Err(ExtensionError::ElementOverrun { id: 1 })]
        );
        let data = [0x05];
        let ext = HeaderExtension {
            profile: TWO_BYTE_PROFILE,
            data: &data,
        };
        assert_eq!(
            ids(&ext),
            vec![Err(ExtensionError::ElementOverrun { id: 5 })]
        );
    }

    #[test]
    fn other_profile_is_raw() {
        let ext = HeaderExtension {
            profile: 0x1234,
            data: &[1, 2, 3, 4],
        };
        assert_eq!(ext.form(), ExtensionForm::Other);
        assert_eq!(ext.elements().count(), 0);
    }

    #[test]
    fn encode_round_trips() {
        let elems = [
            ExtensionElement {
                id: 1,
                data: &[0xAA],
            },
            ExtensionElement {
                id: 14,
                data: &[7; 16],
            },
        ];
        let mut buf = [0xFFu8; 32];
        let n = encode_one_byte(&elems, &mut buf).unwrap();
        assert_eq!(n, 20);
        let ext = HeaderExtension {
            profile: ONE_BYTE_PROFILE,
            data: &buf[..n],
        };
        let got: Vec<_> = ext.elements().map(Result::unwrap).collect();
        assert_eq!(got, elems);

        let elems2 = [
            ExtensionElement { id: 200, data: &[] },
            ExtensionElement {
                id: 3,
                data: &[1; 17],
            },
        ];
        let n = encode_two_byte(&elems2, &mut buf).unwrap();
        assert_eq!(n, 24);
        let ext = HeaderExtension {
            profile: TWO_BYTE_PROFILE,
            data: &buf[..n],
        };
        let got: Vec<_> = ext.elements().map(Result::unwrap).collect();
        assert_eq!(got, elems2);

        assert_eq!(
            encode_one_byte(&[ExtensionElement { id: 15, data: &[1] }], &mut buf),
            Err(ExtensionEncodeError::BadId(15))
        );
        assert_eq!(
            encode_one_byte(&[ExtensionElement { id: 1, data: &[] }], &mut buf),
            Err(ExtensionEncodeError::BadLength(0))
        );
        assert!(matches!(
            encode_two_byte(
                &[ExtensionElement {
                    id: 1,
                    data: &[0; 40]
                }],
                &mut buf
            ),
            Err(ExtensionEncodeError::BufferTooSmall { .. })
        ));
    }
}
