//! Checks that the fast paths do not allocate, with a counting global
//! allocator (the only `unsafe` in the crate's tests: `GlobalAlloc` is an
//! unsafe trait).
#![allow(unsafe_code, clippy::unwrap_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::Bytes;
use media_av::rtp::h264::{H264Depacketizer, H264Packetizer};
use media_av::rtp::opus::{OpusDepacketizer, OpusPacketizer};
use media_av::rtp::{PayloadType, RtpHeader, RtpPacket, SeqNo, Sequencer, Ssrc, Timestamp};

struct Counting;

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

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCS.with(Cell::get);
    f();
    ALLOCS.with(Cell::get) - before
}

#[test]
fn fast_paths_do_not_allocate() {
    let pt = PayloadType::new(96).unwrap();
    let mut raw = vec![
        0x90, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xBE, 0xDE, 0, 1, 0x10, 0xAA, 0, 0,
    ];
    raw.extend_from_slice(&[7; 160]);
    let shared = Bytes::from(raw);
    let _ = shared.clone(); // promote to a shared buffer up front

    assert_eq!(
        allocations(|| {
            let p = RtpPacket::parse(shared.clone()).unwrap();
            assert_eq!(p.extension().unwrap().elements().count(), 1);
            assert_eq!(p.into_payload().len(), 160);
            let p = RtpPacket::parse(&shared[..]).unwrap();
            assert_eq!(p.payload().len(), 160);
        }),
        0,
        "parse"
    );

    let mut buf = [0u8; 64];
    assert_eq!(
        allocations(|| {
            let h = RtpHeader::new(pt, SeqNo(1), Timestamp(2), Ssrc(3));
            assert_eq!(h.write(&mut buf).unwrap(), 12);
        }),
        0,
        "header write"
    );

    // A 100 KB IDR slice after SPS and PPS sent separately (no STAP-A).
    let mut au = vec![0, 0, 0, 1, 0x65];
    au.resize(100_000, 0x5A);
    let au = Bytes::from(au);
    let _ = au.clone();
    let packetizer = H264Packetizer::new(pt, 1200).unwrap();
    let mut seq = Sequencer::new(Ssrc(1), SeqNo(0));
    let mut datagrams = Vec::new();
    assert_eq!(
        allocations(|| {
            let mut n = 0;
            for p in packetizer
                .packetize_annexb(&mut seq, &au, Timestamp(0))
                .unwrap()
            {
                n += p.wire_len();
            }
            assert!(n > 100_000);
        }),
        0,
        "H.264 packetization"
    );
    for p in packetizer
        .packetize_annexb(&mut seq, &au, Timestamp(3000))
        .unwrap()
    {
        datagrams.push(RtpPacket::parse(p.to_bytes()).unwrap());
    }

    let mut opus = OpusPacketizer::new(PayloadType::new(111).unwrap(), Timestamp(0));
    let frame = Bytes::from(vec![0xFC; 80]);
    let _ = frame.clone();
    assert_eq!(
        allocations(|| {
            let p = opus.packetize(&mut seq, frame.clone(), false).unwrap();
            assert_eq!(p.wire_len(), 92);
        }),
        0,
        "Opus packetization"
    );
    let received = RtpPacket::parse(
        opus.packetize(&mut seq, frame.clone(), false)
            .unwrap()
            .to_bytes(),
    )
    .unwrap();
    let _ = received.clone(); // a Vec-backed buffer allocates on its first clone
    let mut opus_in = OpusDepacketizer::new();
    assert_eq!(
        allocations(|| {
            let f = opus_in.depacketize_ref(&received).unwrap();
            assert_eq!((f.data.len(), f.duration), (80, 960));
            let f = opus_in.depacketize(received.clone()).unwrap();
            assert_eq!(f.data.len(), 80);
        }),
        0,
        "Opus depacketization"
    );

    // FU-A reassembly reuses its buffer once the caller drops the previous NAL unit.
    let mut depacketizer = H264Depacketizer::new();
    for p in &datagrams {
        let _ = depacketizer.push_packet(p.clone()).count();
    }
    let mut seq_no = datagrams.last().unwrap().sequence();
    let again: Vec<_> = datagrams
        .iter()
        .map(|p| {
            seq_no = seq_no.next();
            (seq_no, p.payload_bytes())
        })
        .collect();
    assert_eq!(
        allocations(|| {
            let mut nals = 0;
            for (s, payload) in &again {
                nals += depacketizer
                    .push(*s, Timestamp(6000), false, payload.clone())
                    .count();
            }
            assert_eq!(nals, 1);
        }),
        0,
        "H.264 depacketization"
    );
}
