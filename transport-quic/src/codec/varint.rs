//! QUIC variable-length integers (RFC 9000 §16): 1, 2, 4 or 8 bytes, the two high bits
//! of the first byte giving the length.

use bytes::{Buf, BufMut};

use super::CodecError;

/// Largest value a varint holds (2^62 − 1).
pub const MAX: u64 = (1 << 62) - 1;

/// Bytes needed to encode `v`.
pub fn len(v: u64) -> usize {
    match v {
        0..=63 => 1,
        64..=16_383 => 2,
        16_384..=1_073_741_823 => 4,
        _ => 8,
    }
}

/// Writes `v` (values above [`MAX`] are a caller bug and are clamped to it).
pub fn put(buf: &mut impl BufMut, v: u64) {
    let v = v.min(MAX);
    match len(v) {
        1 => buf.put_u8(v as u8),
        2 => buf.put_u16(0x4000 | v as u16),
        4 => buf.put_u32(0x8000_0000 | v as u32),
        _ => buf.put_u64(0xc000_0000_0000_0000 | v),
    }
}

/// Reads one varint.
pub fn get(buf: &mut impl Buf) -> Result<u64, CodecError> {
    if !buf.has_remaining() {
        return Err(CodecError::Truncated);
    }
    let first = buf.chunk()[0];
    let n = 1usize << (first >> 6);
    if buf.remaining() < n {
        return Err(CodecError::Truncated);
    }
    Ok(match n {
        1 => u64::from(buf.get_u8()),
        2 => u64::from(buf.get_u16() & 0x3fff),
        4 => u64::from(buf.get_u32() & 0x3fff_ffff),
        _ => buf.get_u64() & 0x3fff_ffff_ffff_ffff,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc_9000_examples() {
        // RFC 9000 §A.1 sample encodings.
        for (bytes, value) in [
            (
                &[0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c][..],
                151_288_809_941_952_652u64,
            ),
            (&[0x9d, 0x7f, 0x3e, 0x7d][..], 494_878_333),
            (&[0x7b, 0xbd][..], 15_293),
            (&[0x25][..], 37),
            (&[0x40, 0x25][..], 37),
        ] {
            let mut b = bytes;
            assert_eq!(get(&mut b).unwrap(), value);
            assert!(b.is_empty());
        }
    }

    proptest! {
        #[test]
        fn round_trip(v in 0..=MAX) {
            let mut out = Vec::new();
            put(&mut out, v);
            prop_assert_eq!(out.len(), len(v));
            prop_assert_eq!(get(&mut &out[..]).unwrap(), v);
        }
    }
}
