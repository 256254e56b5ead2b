//! Property tests: round trips of the RTP header and H.264 packetization,
//! H.264 depacketization under loss, reordering and duplication, and
//! arbitrary bytes into every parser and depacketizer.
#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use media_av::rtp::dtmf::{DtmfReceiver, EventPayload};
use media_av::rtp::extension::HeaderExtension;
use media_av::rtp::g711::{G711Depacketizer, G711Law};
use media_av::rtp::h264::{H264Depacketizer, H264Event, H264FrameEvent, H264Packetizer};
use media_av::rtp::opus::{OpusDepacketizer, packet_duration};
use media_av::rtp::{
    OutPacket, PayloadType, RtpHeader, RtpPacket, SeqNo, Sequencer, Ssrc, Timestamp,
};
use proptest::prelude::*;

/// Marker, payload type, sequence, timestamp, SSRC, CSRCs, extension, padding, payload.
type HeaderFields = (
    bool,
    u8,
    u16,
    u32,
    u32,
    Vec<u32>,
    Option<(u16, Vec<u8>)>,
    u8,
    Vec<u8>,
);

fn header_fields() -> impl Strategy<Value = HeaderFields> {
    (
        any::<bool>(),
        0u8..=127,
        any::<u16>(),
        any::<u32>(),
        any::<u32>(),
        prop::collection::vec(any::<u32>(), 0..=15),
        prop::option::of((
            any::<u16>(),
            (0usize..16).prop_flat_map(|w| prop::collection::vec(any::<u8>(), w * 4)),
        )),
        any::<u8>(),
        prop::collection::vec(any::<u8>(), 0..300),
    )
}

/// NAL units with a valid header (F = 0, type 1..=23) and no zero byte, so
/// that they survive an Annex-B round trip unchanged.
fn nal_units() -> impl Strategy<Value = Vec<Bytes>> {
    prop::collection::vec(
        (0u8..4, 1u8..=23, prop::collection::vec(1u8..=255, 0..4000)).prop_map(|(nri, t, body)| {
            let mut v = vec![(nri << 5) | t];
            v.extend(body);
            Bytes::from(v)
        }),
        1..12,
    )
}

fn annexb(nals: &[Bytes]) -> Bytes {
    let mut v = Vec::new();
    for n in nals {
        v.extend_from_slice(&[0, 0, 0, 1]);
        v.extend_from_slice(n);
    }
    Bytes::from(v)
}

fn depacketize(packets: &[OutPacket]) -> (Vec<Bytes>, u64) {
    let mut d = H264Depacketizer::new();
    let mut nals = Vec::new();
    for p in packets {
        let parsed = RtpPacket::parse(p.to_bytes()).unwrap();
        for ev in d.push_packet(parsed) {
            if let H264Event::Nal(n) = ev {
                nals.push(n.data);
            }
        }
    }
    (nals, d.stats().dropped)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn header_round_trip((marker, pt, seq, ts, ssrc, csrcs, ext, padding, payload) in header_fields()) {
        let csrcs: Vec<Ssrc> = csrcs.into_iter().map(Ssrc).collect();
        let header = RtpHeader {
            marker,
            csrcs: &csrcs,
            extension: ext.as_ref().map(|(profile, data)| HeaderExtension { profile: *profile, data }),
            padding,
            ..RtpHeader::new(PayloadType::new(pt).unwrap(), SeqNo(seq), Timestamp(ts), Ssrc(ssrc))
        };
        let mut buf = vec![0u8; 2000];
        let n = header.write_packet(&payload, &mut buf).unwrap();
        let p = RtpPacket::parse(Bytes::copy_from_slice(&buf[..n])).unwrap();
        prop_assert_eq!(p.marker(), marker);
        prop_assert_eq!(p.payload_type().get(), pt);
        prop_assert_eq!(p.sequence(), SeqNo(seq));
        prop_assert_eq!(p.timestamp(), Timestamp(ts));
        prop_assert_eq!(p.ssrc(), Ssrc(ssrc));
        prop_assert_eq!(p.csrcs().collect::<Vec<_>>(), csrcs.clone());
        prop_assert_eq!(p.extension(), header.extension);
        prop_assert_eq!(p.padding_len(), padding);
        prop_assert_eq!(p.payload(), &payload[..]);
        prop_assert_eq!(p.header_len(), header.wire_len());
    }

    #[test]
    fn h264_round_trip(nals in nal_units(), mtu in 15usize..1500, aggregate in any::<bool>(), first in any::<u16>()) {
        let packetizer = H264Packetizer::new(PayloadType::new(96).unwrap(), mtu).unwrap().with_aggregation(aggregate);
        let mut seq = Sequencer::new(Ssrc(1), SeqNo(first));
        let packets: Vec<_> = packetizer.packetize_nals(&mut seq, &nals, Timestamp(9)).collect();
        prop_assert!(packets.iter().all(|p| p.wire_len() <= mtu));
        prop_assert!(packets.iter().rev().skip(1).all(|p| !p.marker()));
        prop_assert!(packets.last().unwrap().marker());
        let (got, dropped) = depacketize(&packets);
        prop_assert_eq!(dropped, 0);
        prop_assert_eq!(&got, &nals);

        let au = annexb(&nals);
        let mut seq = Sequencer::new(Ssrc(1), SeqNo(first));
        let from_annexb: Vec<_> = packetizer.packetize_annexb(&mut seq, &au, Timestamp(9)).unwrap().collect();
        prop_assert_eq!(from_annexb, packets);
    }

    #[test]
    fn h264_loss_reordering_duplication(
        nals in nal_units(),
        mtu in 15usize..600,
        ops in prop::collection::vec((0u8..10, any::<prop::sample::Index>()), 0..40),
    ) {
        let packetizer = H264Packetizer::new(PayloadType::new(96).unwrap(), mtu).unwrap();
        let mut seq = Sequencer::new(Ssrc(1), SeqNo(65500));
        let mut packets: Vec<_> = packetizer.packetize_nals(&mut seq, &nals, Timestamp(9)).collect();
        for (op, idx) in ops {
            if packets.is_empty() {
                break;
            }
            let i = idx.index(packets.len());
            match op {
                0..=3 => { packets.remove(i); }
                4..=6 => { let j = (i + 1) % packets.len(); packets.swap(i, j); }
                _ => { let p = packets[i].clone(); packets.insert(i, p); }
            }
        }
        let (got, _) = depacketize(&packets);
        for nal in &got {
            prop_assert!(nals.contains(nal), "corrupt NAL of {} bytes", nal.len());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..400)) {
        let bytes = Bytes::from(data.clone());
        if let Ok(p) = RtpPacket::parse(bytes.clone()) {
            let _ = p.csrcs().count();
            if let Some(ext) = p.extension() {
                let _ = ext.elements().count();
            }
            prop_assert!(p.header_len() + p.payload().len() + usize::from(p.padding_len()) == data.len());
            let _ = DtmfReceiver::new().push(&p);
            let mut opus = OpusDepacketizer::new();
            let borrowed = opus
                .depacketize_ref(&p)
                .map(|f| (f.data.to_vec(), f.timestamp, f.duration, f.talkspurt_start));
            let owned = opus
                .depacketize(p.clone())
                .map(|f| (f.data.to_vec(), f.timestamp, f.duration, f.talkspurt_start));
            prop_assert_eq!(borrowed, owned);
            let _ = G711Depacketizer::new(G711Law::ALaw).depacketize(p.clone());
            for _ in H264Depacketizer::new().push_packet(p) {}
        }
        for profile in [0xBEDE, 0x1000, 0x1234] {
            let _ = HeaderExtension { profile, data: &data }.elements().count();
        }
        let _ = packet_duration(&data);
        let _ = EventPayload::parse(&data);
        let _ = RtpPacket::parse(&data[..]);
    }

    #[test]
    fn arbitrary_payload_streams_into_h264(
        packets in prop::collection::vec((any::<u16>(), 0u32..3, any::<bool>(), prop::collection::vec(any::<u8>(), 0..64)), 0..60),
        contiguous in any::<bool>(),
    ) {
        let mut d = H264Depacketizer::new().with_max_nal_size(1000);
        let mut dtmf = DtmfReceiver::new();
        let mut frame = Vec::new();
        for (i, (seq, ts, marker, payload)) in packets.into_iter().enumerate() {
            let seq = if contiguous { SeqNo(i as u16) } else { SeqNo(seq) };
            let mut raw = vec![0x80, 96 | (u8::from(marker) << 7)];
            raw.extend_from_slice(&seq.0.to_be_bytes());
            raw.extend_from_slice(&ts.to_be_bytes());
            raw.extend_from_slice(&[0, 0, 0, 1]);
            raw.extend_from_slice(&payload);
            frame.push(RtpPacket::parse(Bytes::from(raw)).unwrap());
            for ev in d.push(seq, Timestamp(ts), marker, Bytes::from(payload.clone())) {
                if let H264Event::Nal(n) = ev {
                    prop_assert!(!n.data.is_empty() && n.data.len() <= 1000);
                }
            }
            let mut raw = vec![0x80, 101, 0, 0, 0, 0, 0, ts as u8, 0, 0, 0, 1];
            raw.extend(payload);
            let _ = dtmf.push(&RtpPacket::parse(Bytes::from(raw)).unwrap());
        }
        // The same packets as one frame: lent NAL units obey the same bound.
        let mut framed = H264Depacketizer::new().with_max_nal_size(1000);
        for ev in framed.push_frame(&frame) {
            match ev {
                H264FrameEvent::Nal(n) => prop_assert!(!n.data.is_empty() && n.data.len() <= 1000),
                H264FrameEvent::Fragmented(n) => {
                    prop_assert!(n.len() <= 1000);
                    prop_assert_eq!(n.to_bytes().len(), n.len());
                }
                _ => {}
            }
        }
    }
}
