//! H.264 over RTP (RFC 6184), packetization-mode 1 (non-interleaved):
//! single NAL unit packets, STAP-A aggregation and FU-A fragmentation.
//!
//! The packetizer is zero-copy: every [`OutPacket`] body is a slice of the
//! caller's access unit (only STAP-A aggregates, built from NAL units small
//! enough to share one packet, are copied). The depacketizer hands out NAL
//! units that arrived whole as slices of the packet buffer. Fed packet by
//! packet, it copies FU-A fragments into one reusable reassembly buffer; fed a
//! whole frame ([`H264Depacketizer::push_frame`]), it lends FU-A NAL units out
//! of their packets ([`FragmentedNal`]) and copies nothing.

mod frame;

pub use frame::{FragmentedNal, FrameEvents, H264FrameEvent};

use bytes::{BufMut, Bytes, BytesMut};
use memchr::memmem;
use thiserror::Error;

use super::header::{FIXED_HEADER_LEN, PayloadType, RtpPacket, Timestamp};
use super::packet::{OutPacket, Sequencer};
use super::seq::SeqNo;

/// The H.264 RTP clock rate (RFC 6184 §8.2.1).
pub const H264_CLOCK_RATE: u32 = 90_000;
/// Default bound on a reassembled NAL unit; see [`H264Depacketizer::with_max_nal_size`].
pub const DEFAULT_MAX_NAL_SIZE: usize = 4 << 20;

const NAL_TYPE_MASK: u8 = 0x1F;
const STAP_A: u8 = 24;
const STAP_B: u8 = 25;
const MTAP16: u8 = 26;
const MTAP24: u8 = 27;
const FU_A: u8 = 28;
const FU_B: u8 = 29;
const FU_HEADER_LEN: usize = 2;
/// Smallest MTU accepted: RTP header, FU indicator and header, one media byte.
const MIN_MTU: usize = FIXED_HEADER_LEN + FU_HEADER_LEN + 1;

/// A caller configured the packetizer wrongly or gave an input that is not
/// H.264 Annex-B.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum H264PacketizeError {
    /// The MTU leaves no room for an FU-A fragment.
    #[error("MTU of {0} bytes is below the minimum of 15 for H.264 over RTP")]
    MtuTooSmall(usize),
    /// A non-empty Annex-B access unit holds no start code.
    #[error("H.264 access unit of {0} bytes holds no Annex-B start code")]
    NoStartCode(usize),
}

/// Splits H.264 access units into RTP packets (RFC 6184 §5.6–§5.8,
/// packetization-mode 1).
///
/// All packets of an access unit carry its timestamp and only the last one
/// has the marker bit (RFC 6184 §5.1). A NAL unit that fits the MTU goes in
/// a single NAL unit packet, or with its small neighbours in a STAP-A; a
/// larger one is cut into FU-A fragments.
#[derive(Clone, Copy, Debug)]
pub struct H264Packetizer {
    payload_type: PayloadType,
    max_payload: usize,
    aggregate: bool,
}

impl H264Packetizer {
    /// A packetizer for `payload_type` whose packets are at most `mtu`
    /// bytes including the 12-byte RTP header (excluding IP and UDP headers).
    pub fn new(payload_type: PayloadType, mtu: usize) -> Result<Self, H264PacketizeError> {
        if mtu < MIN_MTU {
            return Err(H264PacketizeError::MtuTooSmall(mtu));
        }
        Ok(Self {
            payload_type,
            max_payload: mtu - FIXED_HEADER_LEN,
            aggregate: true,
        })
    }

    /// Turns STAP-A aggregation on (the default) or off.
    #[must_use]
    pub fn with_aggregation(mut self, aggregate: bool) -> Self {
        self.aggregate = aggregate;
        self
    }

    /// Packetizes one Annex-B access unit (NAL units behind `00 00 01` or
    /// `00 00 00 01` start codes). Bytes before the first start code and
    /// trailing zero bytes of each NAL unit are dropped. Start codes are found
    /// lazily as the returned iterator is drained.
    pub fn packetize_annexb<'s>(
        &self,
        seq: &'s mut Sequencer,
        access_unit: &Bytes,
        timestamp: Timestamp,
    ) -> Result<H264Packets<'s, 'static>, H264PacketizeError> {
        let source = match AnnexB::new(access_unit.clone()) {
            Some(a) => NalSource::AnnexB(a),
            None if access_unit.iter().all(|&b| b == 0) => NalSource::List([].iter()),
            None => return Err(H264PacketizeError::NoStartCode(access_unit.len())),
        };
        Ok(H264Packets::new(*self, seq, source, timestamp))
    }

    /// Packetizes one access unit given as NAL units (no start codes). Empty
    /// NAL units are skipped.
    pub fn packetize_nals<'s, 'n>(
        &self,
        seq: &'s mut Sequencer,
        nals: &'n [Bytes],
        timestamp: Timestamp,
    ) -> H264Packets<'s, 'n> {
        H264Packets::new(*self, seq, NalSource::List(nals.iter()), timestamp)
    }
}

/// Start-code scanner over an Annex-B buffer.
#[derive(Debug)]
struct AnnexB {
    au: Bytes,
    /// Start of the next NAL unit (just after a start code), or `au.len()`.
    pos: usize,
}

impl AnnexB {
    fn new(au: Bytes) -> Option<Self> {
        let first = memmem::find(&au, &[0, 0, 1])?;
        Some(Self { pos: first + 3, au })
    }

    fn next_nal(&mut self) -> Option<Bytes> {
        while self.pos < self.au.len() {
            let start = self.pos;
            let rest = &self.au[start..];
            let (mut end, next) = match memmem::find(rest, &[0, 0, 1]) {
                Some(i) => (start + i, start + i + 3),
                None => (self.au.len(), self.au.len()),
            };
            // The zero_byte of a 4-byte start code and trailing_zero_8bits.
            while end > start && self.au[end - 1] == 0 {
                end -= 1;
            }
            self.pos = next;
            if end > start {
                return Some(self.au.slice(start..end));
            }
        }
        None
    }
}

#[derive(Debug)]
enum NalSource<'n> {
    AnnexB(AnnexB),
    List(std::slice::Iter<'n, Bytes>),
}

impl NalSource<'_> {
    fn next_nal(&mut self) -> Option<Bytes> {
        match self {
            NalSource::AnnexB(a) => a.next_nal(),
            NalSource::List(it) => it.find(|n| !n.is_empty()).cloned(),
        }
    }
}

/// The packets of one access unit, produced lazily; see [`H264Packetizer`].
///
/// Dropping it early leaves the rest of the access unit unsent (the
/// sequencer has numbered only the packets yielded).
#[derive(Debug)]
pub struct H264Packets<'s, 'n> {
    cfg: H264Packetizer,
    seq: &'s mut Sequencer,
    source: NalSource<'n>,
    timestamp: Timestamp,
    /// The NAL unit after the current one (lookahead, for the marker and STAP-A).
    peeked: Option<Bytes>,
    /// A NAL unit being fragmented and the offset of its next fragment.
    fragmenting: Option<(Bytes, usize)>,
}

impl<'s, 'n> H264Packets<'s, 'n> {
    fn new(
        cfg: H264Packetizer,
        seq: &'s mut Sequencer,
        mut source: NalSource<'n>,
        timestamp: Timestamp,
    ) -> Self {
        let peeked = source.next_nal();
        Self {
            cfg,
            seq,
            source,
            timestamp,
            peeked,
            fragmenting: None,
        }
    }

    fn next_fragment(&mut self, nal: Bytes, offset: usize) -> OutPacket {
        let max = self.cfg.max_payload - FU_HEADER_LEN;
        let end = (offset + max).min(nal.len());
        let first = offset == 1;
        let last = end == nal.len();
        let indicator = (nal[0] & 0xE0) | FU_A;
        let fu_header = (u8::from(first) << 7) | (u8::from(last) << 6) | (nal[0] & NAL_TYPE_MASK);
        let body = nal.slice(offset..end);
        let marker = last && self.peeked.is_none();
        if !last {
            self.fragmenting = Some((nal, end));
        }
        self.seq.stamp_with_header(
            self.cfg.payload_type,
            marker,
            self.timestamp,
            &[indicator, fu_header],
            body,
        )
    }

    fn stap_a(&mut self, first: Bytes) -> OutPacket {
        let max = stap_max(self.cfg.max_payload);
        let mut f_nri = first[0] & 0xE0;
        let mut buf = BytesMut::with_capacity(max);
        buf.put_u8(0);
        let mut nal = first;
        loop {
            f_nri = (f_nri & 0x80 | nal[0] & 0x80) | (f_nri & 0x60).max(nal[0] & 0x60);
            buf.put_u16(nal.len() as u16);
            buf.put_slice(&nal);
            match self.peeked.take_if(|n| buf.len() + 2 + n.len() <= max) {
                Some(n) => {
                    nal = n;
                    self.peeked = self.source.next_nal();
                }
                None => break,
            }
        }
        buf[0] = f_nri | STAP_A;
        let marker = self.peeked.is_none();
        self.seq
            .stamp(self.cfg.payload_type, marker, self.timestamp, buf.freeze())
    }
}

impl Iterator for H264Packets<'_, '_> {
    type Item = OutPacket;

    fn next(&mut self) -> Option<OutPacket> {
        if let Some((nal, offset)) = self.fragmenting.take() {
            return Some(self.next_fragment(nal, offset));
        }
        let nal = self.peeked.take()?;
        self.peeked = self.source.next_nal();
        let max = self.cfg.max_payload;
        if nal.len() > max {
            return Some(self.next_fragment(nal, 1));
        }
        // STAP-A: one-byte header, then a 16-bit size before each NAL unit.
        let fits_pair = |next: &Bytes| 1 + 2 + nal.len() + 2 + next.len() <= stap_max(max);
        if self.cfg.aggregate && self.peeked.as_ref().is_some_and(fits_pair) {
            return Some(self.stap_a(nal));
        }
        let marker = self.peeked.is_none();
        Some(
            self.seq
                .stamp(self.cfg.payload_type, marker, self.timestamp, nal),
        )
    }
}

/// A STAP-A payload is at most the packet payload and at most 65535 bytes,
/// so that every 16-bit NAL unit size field fits.
fn stap_max(max_payload: usize) -> usize {
    max_payload.min(usize::from(u16::MAX))
}

/// One reassembled H.264 NAL unit (without start code).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NalUnit {
    /// The NAL unit, header byte included.
    pub data: Bytes,
    /// The RTP timestamp of its access unit.
    pub timestamp: Timestamp,
    /// Whether it came from the packet with the marker bit: the last NAL
    /// unit of its access unit (RFC 6184 §5.1).
    pub end_of_access_unit: bool,
}

/// Why a NAL unit was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DropReason {
    /// A fragment of an FU-A was lost (sequence gap, timestamp or type change).
    FragmentLost,
    /// An FU-A began before the previous one ended, or another packet came
    /// in between: the previous one lost its end.
    Truncated,
    /// FU-A fragments arrived whose start fragment was lost.
    MissingStart,
    /// The reassembled NAL unit would exceed the configured maximum.
    TooLarge,
    /// The packet is malformed: empty, bad STAP-A sizes, FU-A with both
    /// start and end bits, or a reserved NAL unit type (0, 30, 31).
    Malformed,
    /// The packet uses an interleaved-mode type (STAP-B, MTAP, FU-B), not
    /// allowed in packetization-mode 1.
    Unsupported(u8),
}

/// A NAL unit the depacketizer dropped rather than hand out broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DroppedNal {
    /// Why.
    pub reason: DropReason,
    /// The timestamp of the packet that carried (part of) it.
    pub timestamp: Timestamp,
}

/// Output of [`H264Depacketizer::push`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum H264Event {
    /// A complete NAL unit.
    Nal(NalUnit),
    /// A broken NAL unit was dropped; the receiver may ask for a keyframe.
    Dropped(DroppedNal),
}

/// Counters of an [`H264Depacketizer`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct H264DepacketizerStats {
    /// NAL units handed out.
    pub nal_units: u64,
    /// NAL units or packets dropped (one per [`H264Event::Dropped`]).
    pub dropped: u64,
    /// Sequence-number gaps seen (loss or reordering upstream).
    pub sequence_gaps: u64,
}

/// Reassembles NAL units from RTP payloads in sequence order (RFC 6184,
/// packetization-mode 1): single NAL unit packets, STAP-A and FU-A.
///
/// It expects packets in order (reordering is the jitter buffer's job) and
/// treats any sequence gap inside an FU-A as loss: the NAL unit is dropped and
/// reported, never handed out partly. Memory is bounded by the maximum NAL
/// size ([`DEFAULT_MAX_NAL_SIZE`] unless set).
#[derive(Debug)]
pub struct H264Depacketizer {
    max_nal_size: usize,
    /// Reassembly buffer, reused across FU-A NAL units.
    buf: BytesMut,
    fu: FuState,
    fu_timestamp: Timestamp,
    /// The NAL unit type of the FU-A being assembled.
    fu_type: u8,
    /// Its NAL unit header byte.
    fu_header: u8,
    /// Its length so far.
    fu_len: usize,
    /// Whether FU-A fragments are copied into `buf` (packet by packet), or left
    /// in the packets and lent out ([`H264Depacketizer::push_frame`]).
    copying: bool,
    /// An FU-A lent out of earlier packets that a copying call broke off.
    switch_drop: Option<DroppedNal>,
    last_seq: Option<SeqNo>,
    /// What the last packet produced, until read.
    out: Pending,
    /// Capacity to reserve when an FU-A starts: the largest recent NAL unit.
    size_hint: usize,
    stats: H264DepacketizerStats,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FuState {
    Idle,
    Assembling,
    /// An FU-A broke; its remaining fragments are ignored silently.
    Discarding,
}

impl Default for H264Depacketizer {
    fn default() -> Self {
        Self::new()
    }
}

impl H264Depacketizer {
    /// A depacketizer with [`DEFAULT_MAX_NAL_SIZE`].
    #[must_use]
    pub fn new() -> Self {
        Self {
            max_nal_size: DEFAULT_MAX_NAL_SIZE,
            buf: BytesMut::new(),
            fu: FuState::Idle,
            fu_timestamp: Timestamp(0),
            fu_type: 0,
            fu_header: 0,
            fu_len: 0,
            copying: true,
            switch_drop: None,
            last_seq: None,
            out: Pending::default(),
            size_hint: 0,
            stats: H264DepacketizerStats::default(),
        }
    }

    /// Sets the largest NAL unit FU-A reassembly may build; larger ones are
    /// dropped with [`DropReason::TooLarge`].
    #[must_use]
    pub fn with_max_nal_size(mut self, max: usize) -> Self {
        self.max_nal_size = max;
        self
    }

    /// The counters so far.
    #[must_use]
    pub fn stats(&self) -> H264DepacketizerStats {
        self.stats
    }

    /// Feeds one parsed RTP packet; see [`H264Depacketizer::push`].
    #[inline]
    pub fn push_packet(&mut self, packet: RtpPacket<Bytes>) -> H264Output<'_> {
        self.push_packet_ref(&packet)
    }

    /// Feeds one parsed RTP packet by reference: FU-A fragments are copied out
    /// of it without touching its buffer's reference count; a single NAL unit or
    /// a STAP-A shares the buffer (one count). This is the cheaper way when the
    /// caller keeps or drops the packets itself (a jitter buffer).
    #[inline]
    pub fn push_packet_ref(&mut self, packet: &RtpPacket<Bytes>) -> H264Output<'_> {
        let (seq, ts, marker) = (packet.sequence(), packet.timestamp(), packet.marker());
        let payload = packet.payload();
        if !self.copying {
            self.start_copying();
        }
        if self.continues_fu(seq, ts, payload) {
            // The common case of a large picture, kept small enough to inline:
            // a middle fragment of the FU-A being assembled.
            self.last_seq = Some(seq);
            self.fu_len += payload.len() - FU_HEADER_LEN;
            self.buf.extend_from_slice(&payload[FU_HEADER_LEN..]);
            return H264Output {
                pending: &mut self.out,
                live: false,
            };
        }
        self.push_with(seq, ts, marker, payload, || packet.payload_bytes())
    }

    /// Back from frame mode: an FU-A whose fragments were left in the packets
    /// of an earlier frame cannot be continued by copying; it is dropped.
    #[cold]
    fn start_copying(&mut self) {
        self.copying = true;
        if self.fu == FuState::Assembling {
            self.fu = FuState::Idle;
            self.stats.dropped += 1;
            self.switch_drop = Some(DroppedNal {
                reason: DropReason::Truncated,
                timestamp: self.fu_timestamp,
            });
        }
    }

    /// Whether `payload` is the next middle (neither first nor last) FU-A
    /// fragment of the NAL unit being assembled, in sequence, of the same
    /// picture and type, and within the size limit: what the general path
    /// would append and nothing more.
    #[inline]
    fn continues_fu(&self, seq: SeqNo, timestamp: Timestamp, payload: &[u8]) -> bool {
        let [indicator, fu_header, ..] = *payload else {
            return false;
        };
        self.fu == FuState::Assembling
            && indicator & NAL_TYPE_MASK == FU_A
            && fu_header & 0xC0 == 0
            && self.last_seq.is_some_and(|last| seq == last.next())
            && timestamp == self.fu_timestamp
            && self.fu_type == fu_header & NAL_TYPE_MASK
            && self.fu_len + payload.len() - FU_HEADER_LEN <= self.max_nal_size
    }

    /// Feeds the payload of one RTP packet with its header fields. The
    /// returned iterator yields the complete NAL units and drop reports this
    /// packet produced; the state is already updated, so dropping it
    /// unconsumed only discards those outputs.
    pub fn push(
        &mut self,
        seq: SeqNo,
        timestamp: Timestamp,
        marker: bool,
        payload: Bytes,
    ) -> H264Output<'_> {
        if !self.copying {
            self.start_copying();
        }
        self.push_with(seq, timestamp, marker, &payload, || payload.clone())
    }

    /// [`H264Depacketizer::push`] on the payload's bytes, with `shared` giving
    /// them as [`Bytes`] only when a NAL unit is handed out whole.
    fn push_with(
        &mut self,
        seq: SeqNo,
        timestamp: Timestamp,
        marker: bool,
        payload: &[u8],
        shared: impl FnOnce() -> Bytes,
    ) -> H264Output<'_> {
        let mut out = Pending::default();
        if let Some(d) = self.switch_drop.take() {
            out.dropped[0] = Some(d);
        }
        self.fill(&mut out, seq, timestamp, marker, payload, shared);
        self.out = out;
        H264Output {
            pending: &mut self.out,
            live: true,
        }
    }

    /// The general path of [`H264Depacketizer::push_with`].
    fn fill(
        &mut self,
        out: &mut Pending,
        seq: SeqNo,
        timestamp: Timestamp,
        marker: bool,
        payload: &[u8],
        shared: impl FnOnce() -> Bytes,
    ) {
        let gap = self.last_seq.is_some_and(|last| seq != last.next());
        self.last_seq = Some(seq);
        if gap {
            self.stats.sequence_gaps += 1;
        }
        let Some(&indicator) = payload.first() else {
            self.abort_fu(out, gap);
            self.drop(out, DropReason::Malformed, timestamp);
            return;
        };
        match indicator & NAL_TYPE_MASK {
            FU_A => self.push_fu_a(out, gap, timestamp, marker, payload),
            STAP_A => {
                self.abort_fu(out, gap);
                match Stap::new(shared(), timestamp, marker) {
                    Some(stap) => {
                        self.stats.nal_units += stap.count;
                        out.stap = Some(stap);
                    }
                    None => self.drop(out, DropReason::Malformed, timestamp),
                }
            }
            1..=23 => {
                self.abort_fu(out, gap);
                self.stats.nal_units += 1;
                out.nal = Some(NalUnit {
                    data: shared(),
                    timestamp,
                    end_of_access_unit: marker,
                });
            }
            t @ (STAP_B | MTAP16 | MTAP24 | FU_B) => {
                self.abort_fu(out, gap);
                self.drop(out, DropReason::Unsupported(t), timestamp);
            }
            _ => {
                self.abort_fu(out, gap);
                self.drop(out, DropReason::Malformed, timestamp);
            }
        }
    }

    fn drop(&mut self, out: &mut Pending, reason: DropReason, timestamp: Timestamp) {
        self.stats.dropped += 1;
        let slot = if out.dropped[0].is_none() { 0 } else { 1 };
        out.dropped[slot] = Some(DroppedNal { reason, timestamp });
    }

    /// A non-continuation packet arrived: an FU-A in progress lost its end.
    fn abort_fu(&mut self, out: &mut Pending, gap: bool) {
        if self.fu == FuState::Assembling {
            let reason = if gap {
                DropReason::FragmentLost
            } else {
                DropReason::Truncated
            };
            self.drop(out, reason, self.fu_timestamp);
        }
        self.fu = FuState::Idle;
    }

    fn push_fu_a(
        &mut self,
        out: &mut Pending,
        gap: bool,
        timestamp: Timestamp,
        marker: bool,
        payload: &[u8],
    ) {
        let Some(&fu_header) = payload.get(1) else {
            self.abort_fu(out, gap);
            self.drop(out, DropReason::Malformed, timestamp);
            return;
        };
        let start = fu_header & 0x80 != 0;
        let end = fu_header & 0x40 != 0;
        let nal_type = fu_header & NAL_TYPE_MASK;
        if start && end {
            self.abort_fu(out, gap);
            self.drop(out, DropReason::Malformed, timestamp);
            return;
        }
        let body = &payload[FU_HEADER_LEN..];
        if start {
            self.abort_fu(out, gap);
            if 1 + body.len() > self.max_nal_size {
                self.fu = FuState::Discarding;
                self.drop(out, DropReason::TooLarge, timestamp);
                return;
            }
            self.fu_header = (payload[0] & 0xE0) | nal_type;
            self.fu_type = nal_type;
            self.fu_len = 1 + body.len();
            if self.copying {
                self.buf.clear();
                self.buf.reserve(self.size_hint.max(1 + body.len()));
                self.buf.put_u8(self.fu_header);
                self.buf.put_slice(body);
            }
            self.fu = FuState::Assembling;
            self.fu_timestamp = timestamp;
            return;
        }
        match self.fu {
            FuState::Discarding => {}
            FuState::Idle => {
                self.fu = FuState::Discarding;
                self.drop(out, DropReason::MissingStart, timestamp);
            }
            FuState::Assembling => {
                if gap || timestamp != self.fu_timestamp || self.fu_type != nal_type {
                    self.fu = FuState::Discarding;
                    self.drop(out, DropReason::FragmentLost, self.fu_timestamp);
                    return;
                }
                if self.fu_len + body.len() > self.max_nal_size {
                    self.fu = FuState::Discarding;
                    self.drop(out, DropReason::TooLarge, timestamp);
                    return;
                }
                self.fu_len += body.len();
                if self.copying {
                    self.buf.put_slice(body);
                }
                if end {
                    self.fu = FuState::Idle;
                    self.stats.nal_units += 1;
                    if self.copying {
                        let data = self.buf.split().freeze();
                        self.size_hint = data.len().min(self.max_nal_size);
                        out.nal = Some(NalUnit {
                            data,
                            timestamp,
                            end_of_access_unit: marker,
                        });
                    } else {
                        out.lent = Some(LentNal {
                            header: self.fu_header,
                            len: self.fu_len,
                            timestamp,
                            end_of_access_unit: marker,
                        });
                    }
                }
            }
        }
    }
}

/// The NAL units of one validated STAP-A payload, handed out lazily.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Stap {
    payload: Bytes,
    pos: usize,
    count: u64,
    timestamp: Timestamp,
    marker: bool,
}

impl Stap {
    /// Validates every size field first so that a malformed STAP-A yields nothing.
    fn new(payload: Bytes, timestamp: Timestamp, marker: bool) -> Option<Self> {
        let mut pos = 1;
        let mut count = 0;
        while pos < payload.len() {
            let size = payload.get(pos..pos + 2)?;
            let size = usize::from(u16::from_be_bytes([size[0], size[1]]));
            if size == 0 || pos + 2 + size > payload.len() {
                return None;
            }
            pos += 2 + size;
            count += 1;
        }
        (count > 0).then_some(Self {
            payload,
            pos: 1,
            count,
            timestamp,
            marker,
        })
    }

    fn next_nal(&mut self) -> Option<NalUnit> {
        let size = self.payload.get(self.pos..self.pos + 2)?;
        let size = usize::from(u16::from_be_bytes([size[0], size[1]]));
        let start = self.pos + 2;
        let end = start + size;
        if end > self.payload.len() {
            return None;
        }
        self.pos = end;
        Some(NalUnit {
            data: self.payload.slice(start..end),
            timestamp: self.timestamp,
            end_of_access_unit: self.marker && end == self.payload.len(),
        })
    }
}

/// What one packet produced, kept in the depacketizer until read (so that
/// nothing large moves per packet): drop reports first, then NAL units.
#[derive(Debug, Default)]
struct Pending {
    dropped: [Option<DroppedNal>; 2],
    nal: Option<NalUnit>,
    stap: Option<Stap>,
    /// An FU-A NAL unit left in its packets (frame mode).
    lent: Option<LentNal>,
}

/// What an FU-A NAL unit left in its packets is, besides its fragments.
#[derive(Clone, Copy, Debug)]
struct LentNal {
    header: u8,
    len: usize,
    timestamp: Timestamp,
    end_of_access_unit: bool,
}

/// What one packet produced: drop reports first, then NAL units in order.
/// Iterate it to get the [`H264Event`]s; it borrows the depacketizer, and
/// what is left unread is discarded by the next packet.
#[derive(Debug)]
pub struct H264Output<'a> {
    pending: &'a mut Pending,
    /// False when the packet produced nothing (whatever `pending` still holds
    /// belongs to an earlier packet).
    live: bool,
}

impl Iterator for H264Output<'_> {
    type Item = H264Event;

    #[inline]
    fn next(&mut self) -> Option<H264Event> {
        if !self.live {
            return None;
        }
        self.pending.next_event()
    }
}

impl Pending {
    #[inline]
    fn next_event(&mut self) -> Option<H264Event> {
        for slot in &mut self.dropped {
            if let Some(d) = slot.take() {
                return Some(H264Event::Dropped(d));
            }
        }
        if let Some(n) = self.nal.take() {
            return Some(H264Event::Nal(n));
        }
        self.stap.as_mut()?.next_nal().map(H264Event::Nal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::header::Ssrc;

    fn pt() -> PayloadType {
        PayloadType::new(96).unwrap()
    }

    fn nal(t: u8, len: usize, fill: u8) -> Bytes {
        let mut v = vec![0x60 | t];
        v.resize(len, fill);
        Bytes::from(v)
    }

    fn annexb(nals: &[Bytes]) -> Bytes {
        let mut v = Vec::new();
        for (i, n) in nals.iter().enumerate() {
            v.extend_from_slice(if i % 2 == 0 {
                &[0, 0, 0, 1][..]
            } else {
                &[0, 0, 1][..]
            });
            v.extend_from_slice(n);
        }
        Bytes::from(v)
    }

    fn depacketize(packets: &[OutPacket]) -> (Vec<H264Event>, H264Depacketizer) {
        let mut d = H264Depacketizer::new();
        let mut events = Vec::new();
        for p in packets {
            let parsed = RtpPacket::parse(p.to_bytes()).unwrap();
            events.extend(d.push_packet(parsed));
        }
        (events, d)
    }

    fn nal_data(events: &[H264Event]) -> Vec<Bytes> {
        events
            .iter()
            .filter_map(|e| match e {
                H264Event::Nal(n) => Some(n.data.clone()),
                H264Event::Dropped(_) => None,
            })
            .collect()
    }

    #[test]
    fn rejects_tiny_mtu() {
        assert_eq!(
            H264Packetizer::new(pt(), 14).err(),
            Some(H264PacketizeError::MtuTooSmall(14))
        );
        assert!(H264Packetizer::new(pt(), 15).is_ok());
    }

    #[test]
    fn sps_pps_aggregate_idr_fragments() {
        let sps = nal(7, 12, 0x11);
        let pps = nal(8, 4, 0x22);
        let idr = nal(5, 3000, 0x33);
        let au = annexb(&[sps.clone(), pps.clone(), idr.clone()]);
        let mut seq = Sequencer::new(Ssrc(1), SeqNo(65534));
        let p = H264Packetizer::new(pt(), 1200).unwrap();
        let packets: Vec<_> = p
            .packetize_annexb(&mut seq, &au, Timestamp(3000))
            .unwrap()
            .collect();
        // STAP-A(SPS, PPS) + ceil(2999 / 1186) = 3 FU-A fragments.
        assert_eq!(packets.len(), 4);
        assert_eq!(packets[0].body()[0] & 0x1F, STAP_A);
        assert_eq!(
            packets[0].body()[0] & 0x60,
            0x60,
            "NRI is the maximum of the aggregated units"
        );
        assert_eq!(packets[1].payload_header(), [0x60 | FU_A, 0x80 | 5]);
        assert_eq!(packets[2].payload_header(), [0x60 | FU_A, 5]);
        assert_eq!(packets[3].payload_header(), [0x60 | FU_A, 0x40 | 5]);
        assert!(
            packets
                .iter()
                .all(|p| p.wire_len() <= 1200 && p.timestamp() == Timestamp(3000))
        );
        assert_eq!(
            packets.iter().map(|p| p.marker()).collect::<Vec<_>>(),
            [false, false, false, true]
        );
        assert_eq!(seq.next_sequence(), SeqNo(2));
        // FU-A bodies are slices of the access unit: no copy.
        assert!(au.as_ptr_range().contains(&packets[1].body().as_ptr()));

        let (events, d) = depacketize(&packets);
        assert_eq!(nal_data(&events), [sps, pps, idr]);
        let last = events.last().unwrap();
        assert!(matches!(last, H264Event::Nal(n) if n.end_of_access_unit));
        assert_eq!(
            d.stats(),
            H264DepacketizerStats {
                nal_units: 3,
                dropped: 0,
                sequence_gaps: 0
            }
        );
    }

    #[test]
    fn single_nal_packets_without_aggregation() {
        let nals = [nal(1, 100, 1), nal(1, 200, 2)];
        let mut seq = Sequencer::new(Ssrc(1), SeqNo(0));
        let p = H264Packetizer::new(pt(), 1200)
            .unwrap()
            .with_aggregation(false);
        let packets: Vec<_> = p.packetize_nals(&mut seq, &nals, Timestamp(0)).collect();
        assert_eq!(packets.len(), 2);
        assert_eq!(packets[0].body(), &nals[0]);
        assert!(!packets[0].marker() && packets[1].marker());
        let (events, _) = depacketize(&packets);
        assert_eq!(nal_data(&events), nals);
    }

    #[test]
    fn annexb_edge_cases() {
        let mut seq = Sequencer::new(Ssrc(1), SeqNo(0));
        let p = H264Packetizer::new(pt(), 1200).unwrap();
        assert_eq!(
            p.packetize_annexb(&mut seq, &Bytes::new(), Timestamp(0))
                .unwrap()
                .count(),
            0
        );
        assert_eq!(
            p.packetize_annexb(&mut seq, &Bytes::from_static(&[0, 0, 0]), Timestamp(0))
                .unwrap()
                .count(),
            0
        );
        assert_eq!(
            p.packetize_annexb(&mut seq, &Bytes::from_static(&[0x65, 1, 2]), Timestamp(0))
                .err(),
            Some(H264PacketizeError::NoStartCode(3))
        );
        // Empty NAL units between start codes and trailing zeros vanish.
        let au = Bytes::from_static(&[9, 0, 0, 1, 0, 0, 1, 0x65, 7, 0, 0, 0, 0, 1, 0x41, 8, 0, 0]);
        let packets: Vec<_> = p
            .packetize_annexb(&mut seq, &au, Timestamp(0))
            .unwrap()
            .collect();
        assert_eq!(packets.len(), 1);
        assert_eq!(
            &packets[0].body()[..],
            [STAP_A | 0x60, 0, 2, 0x65, 7, 0, 2, 0x41, 8]
        );
    }

    #[test]
    fn lost_middle_fragment_drops_the_nal() {
        let nals = [nal(5, 5000, 7), nal(1, 50, 8)];
        let mut seq = Sequencer::new(Ssrc(1), SeqNo(10));
        let p = H264Packetizer::new(pt(), 1000)
            .unwrap()
            .with_aggregation(false);
        let mut packets: Vec<_> = p.packetize_nals(&mut seq, &nals, Timestamp(0)).collect();
        packets.remove(2);
        let (events, d) = depacketize(&packets);
        assert_eq!(nal_data(&events), [nals[1].clone()]);
        assert!(matches!(
            events[0],
            H264Event::Dropped(DroppedNal {
                reason: DropReason::FragmentLost,
                ..
            })
        ));
        assert_eq!(d.stats().dropped, 1);
        assert_eq!(d.stats().sequence_gaps, 1);
    }

    #[test]
    fn truncated_and_headless_fu_a() {
        let mut d = H264Depacketizer::new();
        let ts = Timestamp(1);
        let start = Bytes::from_static(&[0x7C, 0x85, 1, 2]);
        let middle = Bytes::from_static(&[0x7C, 0x05, 3]);
        let single = Bytes::from_static(&[0x61, 9]);
        assert_eq!(d.push(SeqNo(1), ts, false, start.clone()).count(), 0);
        let ev: Vec<_> = d.push(SeqNo(2), ts, true, single.clone()).collect();
        assert_eq!(ev.len(), 2);
        assert!(matches!(
            ev[0],
            H264Event::Dropped(DroppedNal {
                reason: DropReason::Truncated,
                ..
            })
        ));
        let ev: Vec<_> = d.push(SeqNo(3), ts, false, middle.clone()).collect();
        assert!(matches!(
            ev[..],
            [H264Event::Dropped(DroppedNal {
                reason: DropReason::MissingStart,
                ..
            })]
        ));
        // Further fragments of the same broken NAL are ignored without another report.
        assert_eq!(d.push(SeqNo(4), ts, false, middle).count(), 0);
        assert_eq!(d.stats().dropped, 2);
    }

    #[test]
    fn malformed_and_unsupported_packets() {
        let mut d = H264Depacketizer::new();
        let ts = Timestamp(0);
        let cases: [(&[u8], DropReason); 6] = [
            (&[], DropReason::Malformed),
            (&[0x7C], DropReason::Malformed),
            (&[0x7C, 0xC5, 1], DropReason::Malformed),
            (&[0x78, 0, 5, 0x65, 1], DropReason::Malformed),
            (&[0x79, 0, 0], DropReason::Unsupported(STAP_B)),
            (&[0x1E], DropReason::Malformed),
        ];
        for (i, (payload, reason)) in cases.into_iter().enumerate() {
            let ev: Vec<_> = d
                .push(SeqNo(i as u16), ts, false, Bytes::copy_from_slice(payload))
                .collect();
            assert_eq!(
                ev,
                [H264Event::Dropped(DroppedNal {
                    reason,
                    timestamp: ts
                })],
                "case {i}"
            );
        }
    }

    #[test]
    fn too_large_nal_is_dropped() {
        let nals = [nal(5, 5000, 7)];
        let mut seq = Sequencer::new(Ssrc(1), SeqNo(0));
        let p = H264Packetizer::new(pt(), 1000).unwrap();
        let packets: Vec<_> = p.packetize_nals(&mut seq, &nals, Timestamp(0)).collect();
        let mut d = H264Depacketizer::new().with_max_nal_size(3000);
        let mut events = Vec::new();
        for pk in &packets {
            events.extend(d.push_packet(RtpPacket::parse(pk.to_bytes()).unwrap()));
        }
        assert!(matches!(
            events[..],
            [H264Event::Dropped(DroppedNal {
                reason: DropReason::TooLarge,
                ..
            })]
        ));
    }

    #[test]
    fn rfc6184_stap_a_example() {
        // RFC 6184 §5.7.1, Figure 7: STAP-A with two NAL units.
        let payload = Bytes::from_static(&[0x78, 0, 3, 0x67, 1, 2, 0, 2, 0x68, 3]);
        let mut d = H264Depacketizer::new();
        let ev: Vec<_> = d.push(SeqNo(0), Timestamp(5), true, payload).collect();
        assert_eq!(
            nal_data(&ev),
            [
                Bytes::from_static(&[0x67, 1, 2]),
                Bytes::from_static(&[0x68, 3])
            ]
        );
        assert!(matches!(&ev[1], H264Event::Nal(n) if n.end_of_access_unit));
        assert!(matches!(&ev[0], H264Event::Nal(n) if !n.end_of_access_unit));
    }

    #[test]
    fn unread_output_is_discarded_not_replayed() {
        let nals = [nal(1, 40, 1), nal(5, 3000, 2)];
        let mut seq = Sequencer::new(Ssrc(1), SeqNo(0));
        let p = H264Packetizer::new(pt(), 1000)
            .unwrap()
            .with_aggregation(false);
        let packets: Vec<RtpPacket> = p
            .packetize_nals(&mut seq, &nals, Timestamp(0))
            .map(|o| RtpPacket::parse(o.to_bytes()).unwrap())
            .collect();
        assert_eq!(packets.len(), 5, "one single NAL packet, four fragments");
        let mut d = H264Depacketizer::new();
        // The single NAL unit's output is never read.
        let _ = d.push_packet_ref(&packets[0]);
        let events: Vec<Vec<H264Event>> = packets[1..]
            .iter()
            .map(|p| d.push_packet_ref(p).collect())
            .collect();
        assert!(events[..3].iter().all(Vec::is_empty), "{events:?}");
        assert_eq!(nal_data(&events[3]), [nals[1].clone()]);
        assert_eq!(d.stats().nal_units, 2);
    }

    proptest::proptest! {
        /// The by-reference path (with its inlined middle-fragment case) and the
        /// general `push` give the same events and counters on any mangling of a
        /// fragmented stream: lost, repeated, reordered and retimed packets, and a
        /// size limit that cuts some NAL units.
        #[test]
        fn by_reference_path_matches_push(
            ops in proptest::collection::vec((0u8..6, 0usize..64), 0..40),
            max_nal in 500usize..9000,
        ) {
            let nals = [nal(5, 6000, 7), nal(1, 2500, 8), nal(1, 40, 9)];
            let mut seq = Sequencer::new(Ssrc(1), SeqNo(65_530));
            let p = H264Packetizer::new(pt(), 700).unwrap();
            let mut packets: Vec<RtpPacket> = p
                .packetize_nals(&mut seq, &nals, Timestamp(90))
                .map(|o| RtpPacket::parse(o.to_bytes()).unwrap())
                .collect();
            for (op, i) in ops {
                if packets.is_empty() {
                    break;
                }
                let i = i % packets.len();
                match op {
                    0 => {
                        packets.remove(i);
                    }
                    1 => {
                        let again = packets[i].clone();
                        packets.push(again);
                    }
                    2 => {
                        let j = (i + 1) % packets.len();
                        packets.swap(i, j);
                    }
                    3 => {
                        // The same packet with another timestamp.
                        let mut raw = packets[i].as_bytes().to_vec();
                        raw[4] ^= 0x01;
                        packets[i] = RtpPacket::parse(Bytes::from(raw)).unwrap();
                    }
                    4 => {
                        // Its FU header's start bit flipped.
                        let mut raw = packets[i].as_bytes().to_vec();
                        if raw.len() > 13 {
                            raw[13] ^= 0x80;
                        }
                        packets[i] = RtpPacket::parse(Bytes::from(raw)).unwrap();
                    }
                    _ => packets.truncate(i + 1),
                }
            }
            let mut by_ref = H264Depacketizer::new().with_max_nal_size(max_nal);
            let mut general = H264Depacketizer::new().with_max_nal_size(max_nal);
            let mut all = Vec::new();
            for packet in &packets {
                let a: Vec<_> = by_ref.push_packet_ref(packet).collect();
                all.extend(a.iter().cloned());
                let b: Vec<_> = general
                    .push(
                        packet.sequence(),
                        packet.timestamp(),
                        packet.marker(),
                        packet.payload_bytes(),
                    )
                    .collect();
                proptest::prop_assert_eq!(a, b);
            }
            proptest::prop_assert_eq!(by_ref.stats(), general.stats());

            // Frame mode over the same packets: the same NAL units and drops.
            let mut framed = H264Depacketizer::new().with_max_nal_size(max_nal);
            let lent: Vec<H264Event> = framed
                .push_frame(&packets)
                .map(|e| match e {
                    H264FrameEvent::Nal(n) => H264Event::Nal(n),
                    H264FrameEvent::Fragmented(f) => {
                        assert_eq!(f.len(), f.to_bytes().len());
                        H264Event::Nal(NalUnit {
                            data: f.to_bytes(),
                            timestamp: f.timestamp(),
                            end_of_access_unit: f.end_of_access_unit(),
                        })
                    }
                    H264FrameEvent::Dropped(d) => H264Event::Dropped(d),
                })
                .collect();
            proptest::prop_assert_eq!(lent, all);
            proptest::prop_assert_eq!(framed.stats(), by_ref.stats());
        }
    }
}
