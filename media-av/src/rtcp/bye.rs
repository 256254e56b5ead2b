//! Goodbye packets (BYE, RFC 3550 §6.6).

use crate::rtp::Ssrc;

/// A received BYE packet (type 203): the sources leaving and an optional reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bye<'a> {
    pub(crate) sources: &'a [u8],
    pub(crate) reason: Option<&'a [u8]>,
}

impl<'a> Bye<'a> {
    /// The SSRC/CSRCs that leave.
    pub fn sources(&self) -> impl ExactSizeIterator<Item = Ssrc> + 'a {
        self.sources
            .chunks_exact(4)
            .map(|c| Ssrc(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
    }

    /// The reason for leaving (UTF-8 by the RFC, not checked), if given.
    #[must_use]
    pub fn reason(&self) -> Option<&'a [u8]> {
        self.reason
    }
}

/// Parses a BYE body with `count` sources; `None` when a length runs past it.
pub(crate) fn parse(body: &[u8], count: u8) -> Option<Bye<'_>> {
    let n = 4 * usize::from(count);
    let sources = body.get(..n)?;
    let rest = &body[n..];
    let reason = match rest.split_first() {
        // Zero padding after the sources, or an empty reason, means no reason.
        None | Some((0, _)) => None,
        Some((&len, text)) => Some(text.get(..usize::from(len))?),
    };
    Some(Bye { sources, reason })
}
