//! RTCP: byte fixtures built by hand from the RFC 3550 / RFC 4585 layouts and
//! checked field by field, writer round trips, compound validation errors,
//! and arbitrary bytes never panicking.
#![allow(unsafe_code, clippy::unwrap_used)]

use media_av::rtcp::{
    Compound, Demuxed, NackPair, NtpTime, ReportBlock, RtcpPacket, RtcpParseError, RtcpWriter,
    SdesItem, SdesItemKind, SenderInfo, demux,
};
use media_av::rtp::{SeqNo, Ssrc, Timestamp};
use proptest::prelude::*;

/// Counts allocations on the current thread (the only `unsafe` here:
/// `GlobalAlloc` is an unsafe trait).
mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    pub(crate) struct Counting;

    thread_local! {
        static ALLOCS: Cell<usize> = const { Cell::new(0) };
    }

    // SAFETY: forwards every call unchanged to the system allocator; only counts.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            ALLOCS.with(|c| c.set(c.get() + 1));
            // SAFETY: same contract as the caller's.
            unsafe { System.alloc(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: same contract as the caller's.
            unsafe { System.dealloc(ptr, layout) }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            ALLOCS.with(|c| c.set(c.get() + 1));
            // SAFETY: same contract as the caller's.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    pub(crate) fn allocations(f: impl FnOnce()) -> usize {
        let before = ALLOCS.with(Cell::get);
        f();
        ALLOCS.with(Cell::get) - before
    }
}

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

/// SR with one report block, then SDES (CNAME "ab"), then BYE with reason "bye".
fn sr_sdes_bye() -> Vec<u8> {
    let mut v = vec![
        // SR: V=2 P=0 RC=1, PT=200, length=12 words (52 bytes total).
        0x81, 200, 0, 12, //
        0x11, 0x22, 0x33, 0x44, // SSRC of sender
        0xE7, 0x00, 0x00, 0x01, 0x80, 0x00, 0x00, 0x00, // NTP 3875536897.5
        0x00, 0x00, 0x03, 0x20, // RTP timestamp 800
        0x00, 0x00, 0x00, 0x05, // packet count 5
        0x00, 0x00, 0x03, 0x20, // octet count 800
        // report block
        0xAA, 0xBB, 0xCC, 0xDD, // SSRC_1
        0x40, 0x00, 0x00, 0x07, // fraction 64/256, cumulative lost 7
        0x00, 0x01, 0x00, 0x10, // extended highest seq: cycle 1, seq 16
        0x00, 0x00, 0x00, 0x2A, // jitter 42
        0x00, 0x01, 0x80, 0x00, // LSR
        0x00, 0x00, 0x80, 0x00, // DLSR 0.5 s
    ];
    v.extend_from_slice(&[
        // SDES: SC=1, length 3 words (16 bytes).
        0x81, 202, 0, 3, //
        0x11, 0x22, 0x33, 0x44, // SSRC
        1, 2, b'a', b'b', // CNAME "ab"
        0, 0, 0, 0, // terminator + padding to 32 bits
        // BYE: SC=1, reason "bye", length 2 words.
        0x81, 203, 0, 2, //
        0x11, 0x22, 0x33, 0x44, //
        3, b'b', b'y', b'e',
    ]);
    v
}

#[test]
fn rfc_shaped_compound_fields() {
    let bytes = sr_sdes_bye();
    let c = Compound::parse(&bytes).unwrap();
    let packets: Vec<_> = c.packets().collect();
    assert_eq!(packets.len(), 3);
    let RtcpPacket::SenderReport(sr) = packets[0] else {
        panic!("{packets:?}")
    };
    assert_eq!(sr.ssrc(), Ssrc(0x1122_3344));
    let info = sr.sender_info();
    assert_eq!(info.ntp, NtpTime::new(0xE700_0001, 0x8000_0000));
    assert_eq!(info.rtp_timestamp, Timestamp(800));
    assert_eq!(info.packet_count, 5);
    assert_eq!(info.octet_count, 800);
    let blocks: Vec<_> = sr.report_blocks().collect();
    assert_eq!(
        blocks,
        [ReportBlock {
            ssrc: Ssrc(0xAABB_CCDD),
            fraction_lost: 64,
            cumulative_lost: 7,
            highest_seq: 0x0001_0010,
            jitter: 42,
            last_sr: 0x0001_8000,
            delay_since_last_sr: 0x8000,
        }]
    );
    assert!(sr.profile_extension().is_empty());
    let RtcpPacket::Sdes(sdes) = packets[1] else {
        panic!()
    };
    let chunks: Vec<_> = sdes.chunks().collect();
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].ssrc, Ssrc(0x1122_3344));
    assert_eq!(chunks[0].cname(), Some(&b"ab"[..]));
    let RtcpPacket::Bye(bye) = packets[2] else {
        panic!()
    };
    assert_eq!(bye.sources().collect::<Vec<_>>(), [Ssrc(0x1122_3344)]);
    assert_eq!(bye.reason(), Some(&b"bye"[..]));
}

#[test]
fn nack_and_pli_fixtures() {
    let bytes = [
        // RR, no blocks.
        0x80,
        201,
        0,
        1,
        0,
        0,
        0,
        1, //
        // RTPFB FMT=1 generic NACK, two FCI entries.
        0x81,
        205,
        0,
        4,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        2, //
        0x00,
        0x64,
        0b1000_0000,
        0b0000_0101, // PID 100, BLP bits 0, 2, 15
        0xFF,
        0xFF,
        0,
        0, // PID 65535
        // PSFB FMT=1 PLI.
        0x81,
        206,
        0,
        2,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        2, //
        // PSFB FMT=15 (REMB-like application feedback): kept raw.
        0x8F,
        206,
        0,
        3,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        0,
        b'R',
        b'E',
        b'M',
        b'B', //
        // XR (207): unknown type, kept raw.
        0x80,
        207,
        0,
        1,
        0,
        0,
        0,
        1,
    ];
    let c = Compound::parse(&bytes).unwrap();
    let p: Vec<_> = c.packets().collect();
    assert_eq!(p.len(), 5);
    let RtcpPacket::Nack(nack) = p[1] else {
        panic!()
    };
    assert_eq!(nack.sender_ssrc(), Ssrc(1));
    assert_eq!(nack.media_ssrc(), Ssrc(2));
    assert_eq!(
        nack.pairs().collect::<Vec<_>>(),
        [
            NackPair {
                pid: SeqNo(100),
                blp: 0x8005
            },
            NackPair {
                pid: SeqNo(65535),
                blp: 0
            }
        ]
    );
    let lost: Vec<u16> = nack.lost().map(|s| s.0).collect();
    assert_eq!(lost, [100, 101, 103, 116, 65535]);
    let RtcpPacket::Pli(pli) = p[2] else { panic!() };
    assert_eq!((pli.sender_ssrc, pli.media_ssrc), (Ssrc(1), Ssrc(2)));
    let RtcpPacket::Other(remb) = p[3] else {
        panic!()
    };
    assert_eq!(
        (remb.packet_type, remb.count, remb.body.len()),
        (206, 15, 12)
    );
    let RtcpPacket::Other(xr) = p[4] else {
        panic!()
    };
    assert_eq!(xr.packet_type, 207);
}

#[test]
fn padding_on_last_packet_is_stripped() {
    // RR then BYE (no reason) with P=1 and 4 bytes of padding.
    let bytes = [
        0x80, 201, 0, 1, 0, 0, 0, 1, //
        0xA1, 203, 0, 2, 0, 0, 0, 9, 0, 0, 0, 4,
    ];
    let c = Compound::parse(&bytes).unwrap();
    let RtcpPacket::Bye(bye) = c.packets().nth(1).unwrap() else {
        panic!()
    };
    assert_eq!(bye.sources().collect::<Vec<_>>(), [Ssrc(9)]);
    assert_eq!(bye.reason(), None);
}

#[test]
fn compound_validation_errors() {
    use RtcpParseError as E;
    let rr = [0x80u8, 201, 0, 1, 0, 0, 0, 1];
    assert_eq!(Compound::parse(&[]), Err(E::Empty));
    // Version 1.
    assert_eq!(
        Compound::parse(&[0x40, 201, 0, 1, 0, 0, 0, 1]),
        Err(E::BadVersion {
            offset: 0,
            version: 1
        })
    );
    // Second packet with version 3.
    let mut v = rr.to_vec();
    v.extend_from_slice(&[0xC0, 203, 0, 0]);
    assert_eq!(
        Compound::parse(&v),
        Err(E::BadVersion {
            offset: 8,
            version: 3
        })
    );
    // Padding on the first of two packets.
    let mut v = vec![0xA0, 201, 0, 1, 0, 0, 0, 1];
    v.extend_from_slice(&rr);
    assert_eq!(Compound::parse(&v), Err(E::PaddingNotLast { offset: 0 }));
    // Padding count larger than the body / zero.
    assert!(matches!(
        Compound::parse(&[0xA0, 201, 0, 1, 0, 0, 0, 9]),
        Err(E::BadPadding { count: 9, .. })
    ));
    assert!(matches!(
        Compound::parse(&[0xA0, 201, 0, 1, 0, 0, 0, 0]),
        Err(E::BadPadding { count: 0, .. })
    ));
    // Lengths not summing to the datagram: length runs past, or trailing bytes.
    assert_eq!(
        Compound::parse(&[0x80, 201, 0, 2, 0, 0, 0, 1]),
        Err(E::LengthBeyondData {
            offset: 0,
            declared: 12,
            available: 8
        })
    );
    let mut v = rr.to_vec();
    v.extend_from_slice(&[0x80, 203]);
    assert_eq!(
        Compound::parse(&v),
        Err(E::TruncatedHeader {
            offset: 8,
            available: 2
        })
    );
    // First packet not SR/RR, accepted only as reduced-size RTCP.
    let pli = [0x81u8, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2];
    assert_eq!(
        Compound::parse(&pli),
        Err(E::FirstNotReport { packet_type: 206 })
    );
    assert!(Compound::parse_reduced_size(&pli).is_ok());
    // RR with RC=1 but no block.
    assert!(matches!(
        Compound::parse(&[0x81, 201, 0, 1, 0, 0, 0, 1]),
        Err(E::BodyTooShort {
            packet_type: 201,
            needed: 28,
            ..
        })
    ));
    // SDES item running past the chunk.
    let mut v = rr.to_vec();
    v.extend_from_slice(&[0x81, 202, 0, 2, 0, 0, 0, 1, 1, 9, b'a', 0]);
    assert_eq!(Compound::parse(&v), Err(E::BadSdes { offset: 8 }));
    // BYE reason running past the packet.
    let mut v = rr.to_vec();
    v.extend_from_slice(&[0x81, 203, 0, 2, 0, 0, 0, 1, 9, b'x', 0, 0]);
    assert_eq!(Compound::parse(&v), Err(E::BadByeReason { offset: 8 }));
}

#[test]
fn writer_round_trip() {
    let info = SenderInfo {
        ntp: NtpTime(0x0123_4567_89AB_CDEF),
        rtp_timestamp: Timestamp(u32::MAX),
        packet_count: 7,
        octet_count: 9,
    };
    let blocks = [
        ReportBlock {
            ssrc: Ssrc(5),
            fraction_lost: 255,
            cumulative_lost: -1,
            highest_seq: 70_000,
            jitter: 3,
            last_sr: 4,
            delay_since_last_sr: 5,
        },
        ReportBlock::default(),
    ];
    let items = [
        SdesItem {
            kind: SdesItemKind::Cname,
            value: b"abc",
        },
        SdesItem {
            kind: SdesItemKind::Tool,
            value: b"ucc-rs",
        },
    ];
    let mut buf = [0u8; 512];
    let mut w = RtcpWriter::new(&mut buf);
    w.sender_report(Ssrc(1), &info, &blocks).unwrap();
    w.receiver_report(Ssrc(1), &blocks[..1]).unwrap();
    w.sdes(&[(Ssrc(1), &items), (Ssrc(2), &[])]).unwrap();
    w.bye(&[Ssrc(1), Ssrc(2)], Some(b"shutdown")).unwrap();
    w.nack(Ssrc(1), Ssrc(2), [65535, 0, 3, 40].map(SeqNo))
        .unwrap();
    w.pli(Ssrc(1), Ssrc(2)).unwrap();
    let n = w.finish();
    assert_eq!(n % 4, 0);
    let c = Compound::parse(&buf[..n]).unwrap();
    let p: Vec<_> = c.packets().collect();
    assert_eq!(p.len(), 6);
    let RtcpPacket::SenderReport(sr) = p[0] else {
        panic!()
    };
    assert_eq!(sr.sender_info(), info);
    assert_eq!(sr.report_blocks().collect::<Vec<_>>(), blocks);
    let RtcpPacket::ReceiverReport(rr) = p[1] else {
        panic!()
    };
    assert_eq!(rr.report_blocks().collect::<Vec<_>>(), blocks[..1]);
    let RtcpPacket::Sdes(sdes) = p[2] else {
        panic!()
    };
    let chunks: Vec<_> = sdes.chunks().collect();
    assert_eq!(chunks[0].items().collect::<Vec<_>>(), items);
    assert_eq!(chunks[1].ssrc, Ssrc(2));
    assert_eq!(chunks[1].items().count(), 0);
    let RtcpPacket::Bye(bye) = p[3] else { panic!() };
    assert_eq!(bye.sources().count(), 2);
    assert_eq!(bye.reason(), Some(&b"shutdown"[..]));
    let RtcpPacket::Nack(nack) = p[4] else {
        panic!()
    };
    assert_eq!(
        nack.lost().map(|s| s.0).collect::<Vec<_>>(),
        [65535, 0, 3, 40]
    );
    assert!(matches!(p[5], RtcpPacket::Pli(_)));
}

#[test]
fn rtcp_mux_demultiplexing() {
    let bytes = sr_sdes_bye();
    assert_eq!(demux(&bytes), Demuxed::Rtcp);
    assert_eq!(demux(&[0x80, 0xE0, 0, 1]), Demuxed::Rtp); // marker + PT 96
    assert_eq!(demux(&[0x16, 0xFE, 0xFD]), Demuxed::Other); // DTLS record
}

#[test]
fn parse_and_write_do_not_allocate() {
    let bytes = bytes::Bytes::from(sr_sdes_bye());
    let mut out = [0u8; 256];
    let n = counting::allocations(|| {
        let c = Compound::parse(&bytes).unwrap();
        let mut fields = 0;
        for p in c.packets() {
            match p {
                RtcpPacket::SenderReport(sr) => fields += sr.report_blocks().count(),
                RtcpPacket::Sdes(s) => {
                    fields += s.chunks().map(|c| c.items().count()).sum::<usize>()
                }
                RtcpPacket::Bye(b) => fields += b.sources().count(),
                _ => {}
            }
        }
        assert_eq!(fields, 3);
        let mut w = RtcpWriter::new(&mut out);
        w.receiver_report(Ssrc(1), &[ReportBlock::default()])
            .unwrap();
        w.sdes_cname(Ssrc(1), b"x").unwrap();
        w.nack(Ssrc(1), Ssrc(2), [1, 2, 40].map(SeqNo)).unwrap();
        assert_eq!(w.finish(), 32 + 12 + 20);
    });
    assert_eq!(n, 0);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        for c in [Compound::parse(&bytes), Compound::parse_reduced_size(&bytes)].into_iter().flatten() {
            for p in c.packets() {
                match p {
                    RtcpPacket::SenderReport(sr) => { let _ = sr.report_blocks().count(); }
                    RtcpPacket::ReceiverReport(rr) => { let _ = rr.report_blocks().count(); }
                    RtcpPacket::Sdes(s) => for ch in s.chunks() { let _ = ch.items().count(); },
                    RtcpPacket::Bye(b) => { let _ = b.sources().count(); }
                    RtcpPacket::Nack(n) => { let _ = n.lost().count(); }
                    _ => {}
                }
            }
        }
        let _ = demux(&bytes);
    }

    #[test]
    fn valid_headers_with_random_bodies_never_panic(
        types in prop::collection::vec((0u8..32, 192u8..=210, prop::collection::vec(any::<u8>(), 0..12)), 1..5)
    ) {
        let mut v = Vec::new();
        for (count, pt, words) in &types {
            let body: Vec<u8> = words.iter().flat_map(|&b| [b, 0, b, 1]).collect();
            v.extend_from_slice(&[0x80 | count, *pt]);
            v.extend_from_slice(&((body.len() / 4) as u16).to_be_bytes());
            v.extend_from_slice(&body);
        }
        if let Ok(c) = Compound::parse_reduced_size(&v) {
            prop_assert_eq!(c.packets().count(), types.len());
        }
    }
}
