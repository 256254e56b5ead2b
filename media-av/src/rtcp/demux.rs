//! Telling RTP from RTCP on one port (rtcp-mux, RFC 5761 §4) and from the
//! other protocols that share it (RFC 7983 §7).

/// What a datagram received on a multiplexed port holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Demuxed {
    /// An RTP packet.
    Rtp,
    /// An RTCP (compound) packet.
    Rtcp,
    /// Neither: STUN, DTLS, ZRTP, TURN channel data or garbage (RFC 7983).
    Other,
}

/// Classifies `datagram` by its first two bytes.
///
/// The first byte must be in 128..=191 (version 2, RFC 7983 §7). The second
/// byte then holds the RTP marker bit and payload type, or the RTCP packet
/// type; RFC 5761 §4 reserves RTP payload types 64–95 so that RTCP packet
/// types 192–223 (which cover SR 200 through PSFB 206 and XR 207) read as
/// those payload types with the marker set: `byte & 0x7F` in 64..=95 is RTCP.
///
/// ```
/// use media_av::rtcp::{Demuxed, demux};
/// assert_eq!(demux(&[0x80, 0xC8, 0, 6]), Demuxed::Rtcp); // SR
/// assert_eq!(demux(&[0x80, 0x60, 0, 1]), Demuxed::Rtp); // PT 96
/// assert_eq!(demux(&[0x00, 0x01, 0, 0]), Demuxed::Other); // STUN
/// ```
#[must_use]
pub fn demux(datagram: &[u8]) -> Demuxed {
    let [first, second, ..] = *datagram else {
        return Demuxed::Other;
    };
    if !(128..=191).contains(&first) {
        return Demuxed::Other;
    }
    if (64..=95).contains(&(second & 0x7F)) {
        Demuxed::Rtcp
    } else {
        Demuxed::Rtp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_rfc_5761_ranges() {
        for pt in 192..=223u8 {
            assert_eq!(demux(&[0x81, pt]), Demuxed::Rtcp, "{pt}");
        }
        assert_eq!(demux(&[0x80, 0x80 | 63]), Demuxed::Rtp);
        assert_eq!(demux(&[0x80, 96]), Demuxed::Rtp);
        assert_eq!(demux(&[0x80, 0]), Demuxed::Rtp);
        assert_eq!(demux(&[0x80]), Demuxed::Other);
        assert_eq!(demux(&[20, 0xFE]), Demuxed::Other); // DTLS
        assert_eq!(demux(&[0xC0, 0xC8]), Demuxed::Other); // version 3
    }
}
