//! RTP framing (RFC 3550) and payload formats, sans-IO and zero-copy.
//!
//! - [`header`]: parse received packets ([`RtpPacket`]) and write headers
//!   ([`RtpHeader`]); the typed fields [`Ssrc`], [`PayloadType`], [`Timestamp`].
//! - [`seq`]: [`SeqNo`] with wrap-around comparison and [`SeqExtender`].
//! - [`extension`]: RFC 8285 one- and two-byte header extensions.
//! - [`packet`]: outgoing packets ([`OutPacket`]) and the [`Sequencer`].
//! - [`h264`], [`opus`], [`g711`], [`dtmf`]: payload formats, each a
//!   packetizer and a depacketizer.

pub mod dtmf;
pub mod extension;
pub mod g711;
pub mod h264;
pub mod header;
pub mod opus;
pub mod packet;
pub mod seq;

pub use extension::{ExtensionElement, HeaderExtension};
pub use header::{
    PayloadType, RtpHeader, RtpPacket, RtpParseError, RtpWriteError, Ssrc, Timestamp,
};
pub use packet::{OutPacket, Sequencer};
pub use seq::{ExtendedSeqNo, SeqExtender, SeqNo};
