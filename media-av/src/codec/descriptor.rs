//! What a codec is, in SDP terms.

use crate::rtp::PayloadType;

/// A codec as SDP describes it (RFC 8866 `a=rtpmap` and `a=fmtp`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodecDescriptor {
    /// The encoding name of `a=rtpmap`, e.g. `PCMU`, `opus`, `H264`.
    pub name: &'static str,
    /// The RTP clock rate in Hz.
    pub clock_rate: u32,
    /// Audio channels (1 for video).
    pub channels: u16,
    /// The payload type: static for G.711, a dynamic default otherwise
    /// (the SDP negotiation may pick another).
    pub payload_type: PayloadType,
    /// The `a=fmtp` parameters, if any.
    pub fmtp: Option<String>,
}

impl CodecDescriptor {
    /// The `a=rtpmap` value, e.g. `opus/48000/2` or `PCMU/8000`.
    #[must_use]
    pub fn rtpmap(&self) -> String {
        if self.channels > 1 {
            format!(
                "{} {}/{}/{}",
                self.payload_type.get(),
                self.name,
                self.clock_rate,
                self.channels
            )
        } else {
            format!(
                "{} {}/{}",
                self.payload_type.get(),
                self.name,
                self.clock_rate
            )
        }
    }
}
