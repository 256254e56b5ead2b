//! Byte search for the short spans of a SIP message.
//!
//! Header lines, URIs and parameters are tens of bytes long. `memchr`'s vector search
//! pays a dispatch and setup cost of about a hundred instructions per call, more than
//! the scan itself at these lengths, and the parser makes dozens of such calls per
//! message. [`find`] tests eight bytes per step in a general-purpose register
//! (SIMD within a register) and has no setup, so it wins below a few hundred bytes;
//! the parser uses it for every search that stops within a line.

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// The index of the first `needle` in `hay`.
#[inline]
pub(crate) fn find(needle: u8, hay: &[u8]) -> Option<usize> {
    let pattern = LO * u64::from(needle);
    let mut chunks = hay.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ pattern;
        // A zero byte of `x` is a match. The lowest flagged byte is always a true match
        // (borrows only propagate upwards), and little-endian order makes it the first.
        let found = x.wrapping_sub(LO) & !x & HI;
        if found != 0 {
            return Some(base + (found.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| c == needle)
        .map(|p| base + p)
}

#[cfg(test)]
mod tests {
    use super::find;

    #[test]
    fn finds_the_first_match_at_every_offset_and_length() {
        for len in 0..40 {
            for at in 0..len {
                let mut hay = vec![b'a'; len];
                hay[at] = b':';
                // A second match later, and bytes that differ from ':' by one bit.
                if at + 3 < len {
                    hay[at + 3] = b':';
                }
                if at > 0 {
                    hay[at - 1] = b':' ^ 0x80;
                }
                assert_eq!(find(b':', &hay), Some(at), "len {len} at {at}");
            }
            assert_eq!(find(b':', &vec![b';'; len]), None);
        }
    }

    #[test]
    fn agrees_with_memchr_on_arbitrary_bytes() {
        let mut x: u32 = 0x1234_5678;
        for _ in 0..2_000 {
            let len = (x % 97) as usize;
            let hay: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    (x % 7) as u8 + b'0'
                })
                .collect();
            for needle in b'0'..b'8' {
                assert_eq!(find(needle, &hay), memchr::memchr(needle, &hay));
            }
        }
    }
}
