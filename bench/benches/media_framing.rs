//! RTP framing of `media-av` beside the webrtc-rs `rtp` crate on the same
//! input, with a plain memcpy of the same bytes as the physical limit:
//! header parse and serialize, H.264 packetization and depacketization of a
//! 100 KB access unit at MTU 1200, Opus packetize/depacketize; jitter-buffer
//! insert+pop beside webrtc-rs `webrtc-media`'s SampleBuilder (a reorder
//! buffer without playout timing) and compound RTCP parse beside the
//! webrtc-rs `rtcp` crate.
#![allow(clippy::unwrap_used, clippy::print_stderr)] // a benchmark: failures abort, paired ratios go to stderr

use std::hint::black_box;
use std::time::{Duration, Instant};

use bench::paired::paired_runs;
use bytes::Bytes;
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use media_av::jitter::{JitterBuffer, JitterConfig, Playout};
use media_av::rtcp::{Compound, NtpTime, ReportBlock, RtcpPacket, RtcpWriter, SenderInfo};
use media_av::rtp::extension::{
    ExtensionElement, HeaderExtension, ONE_BYTE_PROFILE, encode_one_byte,
};
use media_av::rtp::h264::{H264Depacketizer, H264Event, H264FrameEvent, H264Packetizer};
use media_av::rtp::opus::{OpusDepacketizer, OpusPacketizer};
use media_av::rtp::{
    OutPacket, PayloadType, RtpHeader, RtpPacket, SeqNo, Sequencer, Ssrc, Timestamp,
};
use rtp::codecs::h264::{H264Packet, H264Payloader};
use rtp::codecs::opus::{OpusPacket, OpusPayloader};
use rtp::packetizer::{Depacketizer, Packetizer, new_packetizer};
use webrtc_media::io::sample_builder::SampleBuilder;
use webrtc_util::marshal::{Marshal, Unmarshal};

const MTU: usize = 1200;
const AU_LEN: usize = 100_000;

/// Deterministic pseudo-random bytes (xorshift64*).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut s = seed | 1;
    (0..len)
        .map(|_| {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            (s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

/// Inserts emulation-prevention bytes so that no `00 00 0x` (x ≤ 3) occurs.
fn escape(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 100);
    let mut zeros = 0;
    for &b in raw {
        if zeros >= 2 && b <= 3 {
            out.push(3);
            zeros = 0;
        }
        out.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
    out
}

/// A 100 000-byte IDR access unit in Annex-B form: SPS, PPS, one slice.
fn access_unit() -> (Bytes, Vec<Bytes>) {
    let sps = vec![
        0x67, 0x42, 0xC0, 0x1F, 0xDA, 0x01, 0x40, 0x16, 0xEC, 0x04, 0x40, 0x00, 0x00, 0x03, 0x00,
        0x40,
    ];
    let pps = vec![0x68, 0xCE, 0x3C, 0x80];
    let mut au = Vec::with_capacity(AU_LEN);
    au.extend_from_slice(&[0, 0, 0, 1]);
    au.extend_from_slice(&sps);
    au.extend_from_slice(&[0, 0, 0, 1]);
    au.extend_from_slice(&pps);
    au.extend_from_slice(&[0, 0, 0, 1, 0x65]);
    let mut slice = escape(&noise(AU_LEN, 7));
    slice.truncate(AU_LEN - au.len());
    while slice.last() == Some(&0) {
        slice.pop();
        slice.push(0x80);
    }
    let idr_start = au.len() - 1;
    au.extend_from_slice(&slice);
    let au = Bytes::from(au);
    let nals = vec![Bytes::from(sps), Bytes::from(pps), au.slice(idr_start..)];
    (au, nals)
}

fn header_parse(c: &mut Criterion) {
    // A G.711 packet with a one-byte extension (two elements).
    let mut ext = [0u8; 8];
    let ext_len = encode_one_byte(
        &[
            ExtensionElement {
                id: 1,
                data: &[0x80],
            },
            ExtensionElement {
                id: 3,
                data: &[1, 2],
            },
        ],
        &mut ext,
    )
    .unwrap();
    let header = RtpHeader {
        marker: true,
        extension: Some(HeaderExtension {
            profile: ONE_BYTE_PROFILE,
            data: &ext[..ext_len],
        }),
        ..RtpHeader::new(
            PayloadType::PCMU,
            SeqNo(4711),
            Timestamp(160_000),
            Ssrc(0xCAFE_BABE),
        )
    };
    let mut buf = vec![0u8; 1500];
    let n = header.write_packet(&noise(160, 1), &mut buf).unwrap();
    let packet = Bytes::copy_from_slice(&buf[..n]);
    let _ = packet.clone(); // make the buffer shared, as a received datagram would be
    let mut copy = vec![0u8; n];

    let mut g = c.benchmark_group("rtp_header_parse");
    g.bench_function("ucc/RtpPacket::parse(&[u8])", |b| {
        b.iter(|| RtpPacket::parse(black_box(&packet[..])).unwrap().sequence())
    });
    g.bench_function("ucc/RtpPacket::parse(&[u8])+find_ext", |b| {
        b.iter(|| {
            let p = RtpPacket::parse(black_box(&packet[..])).unwrap();
            p.extension().and_then(|e| e.find(3)).map(<[u8]>::len)
        })
    });
    g.bench_function("webrtc-rs/Header::unmarshal(&[u8])", |b| {
        b.iter(|| rtp::header::Header::unmarshal(&mut black_box(&packet[..])).unwrap())
    });
    // Owned received datagrams: the refcount of handing each one in is
    // setup, outside the timing, for both.
    g.bench_function("ucc/RtpPacket::parse(Bytes)", |b| {
        b.iter_batched(
            || packet.clone(),
            |p| RtpPacket::parse(p).unwrap(),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("webrtc-rs/Packet::unmarshal(Bytes)", |b| {
        b.iter_batched(
            || packet.clone(),
            |mut p| {
                let parsed = rtp::packet::Packet::unmarshal(&mut p).unwrap();
                (p, parsed)
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function(BenchmarkId::new("memcpy", n), |b| {
        b.iter(|| copy.copy_from_slice(black_box(&packet[..])))
    });
    g.finish();
}

fn header_serialize(c: &mut Criterion) {
    let ext_data = [0x10, 0x80, 0x21, 0x01, 0x02, 0, 0, 0];
    let ours_fixed = RtpHeader {
        marker: true,
        ..RtpHeader::new(
            PayloadType::PCMU,
            SeqNo(4711),
            Timestamp(160_000),
            Ssrc(0xCAFE_BABE),
        )
    };
    let ours_ext = RtpHeader {
        extension: Some(HeaderExtension {
            profile: ONE_BYTE_PROFILE,
            data: &ext_data,
        }),
        ..ours_fixed
    };
    let theirs_fixed = rtp::header::Header {
        version: 2,
        marker: true,
        payload_type: 0,
        sequence_number: 4711,
        timestamp: 160_000,
        ssrc: 0xCAFE_BABE,
        ..Default::default()
    };
    let theirs_ext = rtp::header::Header {
        extension: true,
        extension_profile: ONE_BYTE_PROFILE,
        extensions: vec![
            rtp::header::Extension {
                id: 1,
                payload: Bytes::from_static(&[0x80]),
            },
            rtp::header::Extension {
                id: 2,
                payload: Bytes::from_static(&[1, 2]),
            },
        ],
        ..theirs_fixed.clone()
    };
    let mut buf = [0u8; 64];
    let mut check = [0u8; 64];
    for (ours, theirs) in [(&ours_fixed, &theirs_fixed), (&ours_ext, &theirs_ext)] {
        let n = ours.write(&mut buf).unwrap();
        let m = theirs.marshal_to(&mut check).unwrap();
        assert_eq!(buf[..n], check[..m], "both write the same bytes");
    }
    let src = buf;

    let mut g = c.benchmark_group("rtp_header_serialize");
    for (name, ours, theirs) in [
        ("fixed", &ours_fixed, &theirs_fixed),
        ("one_byte_ext", &ours_ext, &theirs_ext),
    ] {
        g.bench_function(BenchmarkId::new("ucc/RtpHeader::write", name), |b| {
            b.iter(|| black_box(ours).write(&mut buf).unwrap())
        });
        g.bench_function(
            BenchmarkId::new("webrtc-rs/Header::marshal_to", name),
            |b| b.iter(|| black_box(theirs).marshal_to(&mut buf).unwrap()),
        );
        let len = ours.wire_len();
        g.bench_function(BenchmarkId::new("memcpy", name), |b| {
            b.iter(|| buf[..len].copy_from_slice(black_box(&src[..len])))
        });
    }
    g.finish();

    // A sender's steady state: 1,000 headers, each with the next sequence number,
    // into consecutive slots (as a batch of packets is sent). One header is two
    // or three stores, below what criterion's per-iteration overhead costs.
    const HEADERS: usize = 1000;
    let mut slots = vec![0u8; HEADERS * 12];
    let mut g = c.benchmark_group("rtp_header_serialize_fixed_x1000");
    g.throughput(Throughput::Elements(HEADERS as u64));
    g.bench_function("ucc/RtpHeader::write", |b| {
        b.iter(|| {
            let mut h = *black_box(&ours_fixed);
            for slot in slots.chunks_exact_mut(12) {
                h.sequence = h.sequence.next();
                h.write(slot).unwrap();
            }
        })
    });
    g.bench_function("webrtc-rs/Header::marshal_to", |b| {
        let mut h = theirs_fixed.clone();
        b.iter(|| {
            for slot in slots.chunks_exact_mut(12) {
                h.sequence_number = h.sequence_number.wrapping_add(1);
                black_box(&mut h).marshal_to(slot).unwrap();
            }
        })
    });
    g.bench_function("memcpy", |b| {
        b.iter(|| {
            for slot in slots.chunks_exact_mut(12) {
                slot.copy_from_slice(black_box(&src[..12]));
            }
        })
    });
    g.finish();
}

fn h264_packetize(c: &mut Criterion) {
    let (au, nals) = access_unit();
    let pt = PayloadType::new(96).unwrap();
    let packetizer = H264Packetizer::new(pt, MTU).unwrap();
    let mut seq = Sequencer::new(Ssrc(1), SeqNo(0));
    let mut theirs = new_packetizer(
        MTU,
        96,
        1,
        Box::new(H264Payloader::default()),
        Box::new(rtp::sequence::new_fixed_sequencer(0)),
        90_000,
    );
    let mut out: Vec<OutPacket> = Vec::with_capacity(128);
    let mut datagram = [0u8; 1500];
    let mut copy = vec![0u8; au.len()];

    let mut g = c.benchmark_group("h264_packetize_100KB_mtu1200");
    g.throughput(Throughput::Bytes(au.len() as u64));
    g.bench_function("ucc/annexb", |b| {
        b.iter(|| {
            out.clear();
            out.extend(
                packetizer
                    .packetize_annexb(&mut seq, black_box(&au), Timestamp(0))
                    .unwrap(),
            );
            out.len()
        })
    });
    g.bench_function("ucc/nal_list", |b| {
        b.iter(|| {
            out.clear();
            out.extend(packetizer.packetize_nals(&mut seq, black_box(&nals), Timestamp(0)));
            out.len()
        })
    });
    g.bench_function("ucc/annexb+write_to_datagram", |b| {
        b.iter(|| {
            let mut sent = 0;
            for p in packetizer
                .packetize_annexb(&mut seq, black_box(&au), Timestamp(0))
                .unwrap()
            {
                sent += p.write_to(&mut datagram).unwrap();
                black_box(&datagram);
            }
            sent
        })
    });
    g.bench_function("webrtc-rs/annexb", |b| {
        b.iter(|| theirs.packetize(black_box(&au), 3000).unwrap().len())
    });
    g.bench_function("memcpy", |b| {
        b.iter(|| copy.copy_from_slice(black_box(&au[..])))
    });
    g.finish();
}

fn h264_depacketize(c: &mut Criterion) {
    let (au, _) = access_unit();
    let pt = PayloadType::new(96).unwrap();
    let packetizer = H264Packetizer::new(pt, MTU).unwrap();
    let mut seq = Sequencer::new(Ssrc(1), SeqNo(0));
    let ours: Vec<RtpPacket> = packetizer
        .packetize_annexb(&mut seq, &au, Timestamp(0))
        .unwrap()
        .map(|p| RtpPacket::parse(p.to_bytes()).unwrap())
        .collect();
    let mut theirs_packetizer = new_packetizer(
        MTU,
        96,
        1,
        Box::new(H264Payloader::default()),
        Box::new(rtp::sequence::new_fixed_sequencer(0)),
        90_000,
    );
    let theirs: Vec<Bytes> = theirs_packetizer
        .packetize(&au, 3000)
        .unwrap()
        .into_iter()
        .map(|p| {
            rtp::packet::Packet::unmarshal(&mut p.marshal().unwrap())
                .unwrap()
                .payload
        })
        .collect();
    let mut ours_depacketizer = H264Depacketizer::new();
    let mut theirs_depacketizer = H264Packet::default();
    let mut copy = vec![0u8; au.len()];
    let nal_bytes = |d: &mut H264Depacketizer, packets: &[RtpPacket]| {
        let mut total = 0;
        for p in packets {
            for ev in d.push_packet_ref(p) {
                if let H264Event::Nal(n) = ev {
                    total += n.data.len();
                }
            }
        }
        total
    };
    assert_eq!(
        nal_bytes(&mut ours_depacketizer, &ours),
        au.len() - 12,
        "three NAL units, start codes removed"
    );
    let mut lent = 0;
    for ev in ours_depacketizer.push_frame(&ours) {
        match ev {
            H264FrameEvent::Nal(n) => lent += n.data.len(),
            H264FrameEvent::Fragmented(n) => lent += n.to_bytes().len(),
            H264FrameEvent::Dropped(d) => panic!("{d:?}"),
            _ => {}
        }
    }
    assert_eq!(lent, au.len() - 12, "frame mode: the same bytes");

    // Both read the received packets by reference and hand them back, so
    // cloning the packet lists (setup) and dropping them happen outside the
    // timing for both; the NAL units they output are dropped inside it.
    let mut g = c.benchmark_group("h264_depacketize_100KB_mtu1200");
    g.throughput(Throughput::Bytes(au.len() as u64));
    g.bench_function("ucc", |b| {
        b.iter_batched(
            || ours.clone(),
            |p| {
                let total = nal_bytes(&mut ours_depacketizer, &p);
                (p, total)
            },
            BatchSize::SmallInput,
        )
    });
    // Frame mode: the packets of the access unit at once, FU-A NAL units lent
    // out of them (what the media engine's receive path uses).
    g.bench_function("ucc/frame", |b| {
        b.iter_batched(
            || ours.clone(),
            |packets| {
                let mut total = 0;
                for ev in ours_depacketizer.push_frame(&packets) {
                    match ev {
                        H264FrameEvent::Nal(n) => total += n.data.len(),
                        H264FrameEvent::Fragmented(n) => total += n.len(),
                        _ => {}
                    }
                }
                (packets, total)
            },
            BatchSize::SmallInput,
        )
    });
    // Frame mode plus the one copy a decoder needs: every NAL unit after a start
    // code into one reused Annex-B buffer (which is what webrtc-rs outputs).
    let mut annexb = Vec::with_capacity(au.len() + 64);
    g.bench_function("ucc/frame+annexb_copy", |b| {
        b.iter_batched(
            || ours.clone(),
            |packets| {
                annexb.clear();
                for ev in ours_depacketizer.push_frame(&packets) {
                    match ev {
                        H264FrameEvent::Nal(n) => {
                            annexb.extend_from_slice(&[0, 0, 0, 1]);
                            annexb.extend_from_slice(&n.data);
                        }
                        H264FrameEvent::Fragmented(n) => {
                            annexb.extend_from_slice(&[0, 0, 0, 1]);
                            n.append_to(&mut annexb);
                        }
                        _ => {}
                    }
                }
                (packets, annexb.len())
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("webrtc-rs", |b| {
        b.iter_batched(
            || theirs.clone(),
            |packets| {
                let mut total = 0;
                for p in &packets {
                    if let Ok(nal) = theirs_depacketizer.depacketize(p) {
                        total += nal.len();
                    }
                }
                (packets, total)
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("memcpy", |b| {
        b.iter(|| copy.copy_from_slice(black_box(&au[..])))
    });
    g.finish();
}

/// An empty vector with room for `n` values like `sample`, its memory already
/// touched (so that no side pays a fresh allocation's page faults on the clock).
fn vec_like<T: Clone>(sample: &T, n: usize) -> Vec<T> {
    let mut v = vec![sample.clone(); n];
    v.clear();
    v
}

fn opus(c: &mut Criterion) {
    let mut frame = noise(160, 3);
    frame[0] = 0xFC; // config 31 (CELT FB 20 ms), code 0
    let frame = Bytes::from(frame);
    let _ = frame.clone();
    let pt = PayloadType::new(111).unwrap();
    let mut seq = Sequencer::new(Ssrc(1), SeqNo(0));
    let mut ours = OpusPacketizer::new(pt, Timestamp(0));
    let mut theirs = new_packetizer(
        MTU,
        111,
        1,
        Box::new(OpusPayloader),
        Box::new(rtp::sequence::new_fixed_sequencer(0)),
        48_000,
    );
    let mut copy = vec![0u8; frame.len()];

    let mut g = c.benchmark_group("opus_packetize_20ms");
    g.bench_function("ucc", |b| {
        b.iter(|| {
            ours.packetize(&mut seq, black_box(&frame).clone(), false)
                .unwrap()
        })
    });
    g.bench_function("webrtc-rs", |b| {
        b.iter(|| theirs.packetize(black_box(&frame), 960).unwrap())
    });
    g.bench_function("memcpy", |b| {
        b.iter(|| copy.copy_from_slice(black_box(&frame[..])))
    });
    g.finish();

    // The engine's way: the encoder hands each Opus packet over (moved in, no
    // reference-count traffic), 1,000 per run; inputs made and outputs dropped
    // off the clock for both.
    const OPUS_PACKETS: usize = 1000;
    let frames: Vec<Bytes> = (0..OPUS_PACKETS).map(|_| frame.clone()).collect();
    let ours_out = ours.packetize(&mut seq, frame.clone(), false).unwrap();
    let theirs_out = theirs.packetize(&frame, 960).unwrap();
    let mut g = c.benchmark_group("opus_packetize_20ms_x1000");
    g.throughput(Throughput::Elements(OPUS_PACKETS as u64));
    g.bench_function("ucc", |b| {
        b.iter_batched(
            || (frames.clone(), vec_like(&ours_out, OPUS_PACKETS)),
            |(input, mut out)| {
                out.extend(
                    input
                        .into_iter()
                        .map(|f| ours.packetize(&mut seq, f, false).unwrap()),
                );
                out
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("webrtc-rs", |b| {
        b.iter_batched(
            || (frames.clone(), vec_like(&theirs_out, OPUS_PACKETS)),
            |(input, mut out)| {
                out.extend(input.iter().map(|f| theirs.packetize(f, 960).unwrap()));
                (input, out)
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();

    let packet = ours
        .packetize(&mut seq, frame.clone(), false)
        .unwrap()
        .to_bytes();
    // 1,000 packets a run: one packet's depacketization is a few nanoseconds for
    // both, below what criterion's per-iteration batching costs. Inputs are
    // cloned (setup) and outputs dropped off the clock for both.
    const OPUS_BATCH: usize = 1000;
    let parsed: Vec<RtpPacket> = (0..OPUS_BATCH)
        .map(|_| RtpPacket::parse(packet.clone()).unwrap())
        .collect();
    let their_payloads: Vec<Bytes> = (0..OPUS_BATCH)
        .map(|_| {
            rtp::packet::Packet::unmarshal(&mut packet.clone())
                .unwrap()
                .payload
        })
        .collect();
    let mut ours_d = OpusDepacketizer::new();
    let mut theirs_d = OpusPacket;
    let ours_warm = ours_d.depacketize(parsed[0].clone()).unwrap();
    let mut g = c.benchmark_group("opus_depacketize_20ms_x1000");
    g.throughput(Throughput::Elements(OPUS_BATCH as u64));
    let ours_ref_warm = ours_d.depacketize_ref(&parsed[0]).unwrap();
    g.bench_function("ucc", |b| {
        // The receive path's form: a view of the payload, decoded from the packet.
        b.iter_batched(
            || vec_like(&ours_ref_warm, OPUS_BATCH),
            |mut frames| {
                frames.extend(parsed.iter().map(|p| ours_d.depacketize_ref(p).unwrap()));
                frames
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("ucc owned", |b| {
        b.iter_batched(
            || (parsed.clone(), vec_like(&ours_warm, OPUS_BATCH)),
            |(packets, mut frames)| {
                frames.extend(packets.into_iter().map(|p| ours_d.depacketize(p).unwrap()));
                frames
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("webrtc-rs", |b| {
        b.iter_batched(
            || {
                (
                    their_payloads.clone(),
                    vec_like(&their_payloads[0], OPUS_BATCH),
                )
            },
            |(payloads, mut frames)| {
                frames.extend(payloads.iter().map(|p| theirs_d.depacketize(p).unwrap()));
                (payloads, frames)
            },
            BatchSize::LargeInput,
        )
    });
    let mut copies = vec![0u8; frame.len() * OPUS_BATCH];
    g.bench_function("memcpy", |b| {
        b.iter(|| {
            for chunk in copies.chunks_exact_mut(frame.len()) {
                chunk.copy_from_slice(black_box(&frame[..]));
            }
        })
    });
    g.finish();

    if bench::benching() {
        // Paired (see `bench::paired`), as the jitter-buffer group: the criterion groups
        // above run seconds apart and this VM's speed drifts between them.
        let result = paired_runs(
            20,
            (
                || vec_like(&ours_ref_warm, OPUS_BATCH),
                |mut frames: Vec<_>| {
                    frames.extend(parsed.iter().map(|p| ours_d.depacketize_ref(p).unwrap()));
                    frames
                },
            ),
            (
                || {
                    (
                        their_payloads.clone(),
                        vec_like(&their_payloads[0], OPUS_BATCH),
                    )
                },
                |(payloads, mut frames): (Vec<Bytes>, Vec<Bytes>)| {
                    frames.extend(payloads.iter().map(|p| theirs_d.depacketize(p).unwrap()));
                    (payloads, frames)
                },
            ),
        );
        eprintln!(
            "paired Opus depacketize, 1,000 packets (20 runs a block), peer webrtc-rs: {result}"
        );
    }
}

/// Packets per jitter-buffer run: 20 s of 20 ms audio.
const JB_PACKETS: usize = 1000;

/// One audio stream for the jitter-buffer group: 160-byte Opus-like payloads,
/// every tenth pair of packets swapped (reordered), arrivals 20 ms apart.
fn jitter_stream() -> Vec<(Duration, Bytes)> {
    let payload = Bytes::from(vec![0xFCu8; 160]);
    let mut order: Vec<usize> = (0..JB_PACKETS).collect();
    for pair in order.chunks_exact_mut(20) {
        pair.swap(8, 9);
    }
    order
        .into_iter()
        .enumerate()
        .map(|(slot, i)| {
            let mut b = vec![0x80, 111];
            b.extend_from_slice(&(65_000u16.wrapping_add(i as u16)).to_be_bytes());
            b.extend_from_slice(&(960 * i as u32).to_be_bytes());
            b.extend_from_slice(&[0, 0, 0, 1]);
            b.extend_from_slice(&payload);
            (Duration::from_millis(20 * slot as u64), Bytes::from(b))
        })
        .collect()
}

fn jitter_buffer(c: &mut Criterion) {
    let stream = jitter_stream();
    // Arrival instants are part of the input, as a receive loop has them from
    // its socket reads: the run does not bill the arithmetic that makes them.
    let t0 = Instant::now();
    let ours_in: Vec<(Instant, RtpPacket)> = stream
        .iter()
        .map(|(at, b)| (t0 + *at, RtpPacket::parse(b.clone()).unwrap()))
        .collect();
    let theirs_in: Vec<rtp::packet::Packet> = stream
        .iter()
        .map(|(_, b)| rtp::packet::Packet::unmarshal(&mut b.clone()).unwrap())
        .collect();

    let mut g = c.benchmark_group("jitter_buffer_insert_pop_1000_packets");
    g.throughput(Throughput::Elements(JB_PACKETS as u64));
    g.bench_function("ucc", |b| {
        b.iter_batched(
            || {
                (
                    JitterBuffer::new(JitterConfig::new(48_000)),
                    ours_in.clone(),
                )
            },
            |(jb, packets)| jitter_run(jb, packets),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("webrtc-rs SampleBuilder", |b| {
        b.iter_batched(
            || {
                (
                    SampleBuilder::new(10, OpusPacket, 48_000),
                    theirs_in.clone(),
                )
            },
            |(sb, packets)| sample_builder_run(sb, packets),
            BatchSize::LargeInput,
        )
    });
    g.finish();

    if bench::benching() {
        // Paired (see `bench::paired`): blocks of 20 runs each, every input cloned just
        // before its run and every result dropped after it, off the clock, as
        // criterion's batched setup does.
        let result = paired_runs(
            20,
            (
                || {
                    (
                        JitterBuffer::new(JitterConfig::new(48_000)),
                        ours_in.clone(),
                    )
                },
                |(jb, packets)| jitter_run(jb, packets),
            ),
            (
                || {
                    (
                        SampleBuilder::new(10, OpusPacket, 48_000),
                        theirs_in.clone(),
                    )
                },
                |(sb, packets)| sample_builder_run(sb, packets),
            ),
        );
        eprintln!(
            "paired jitter buffer, 1,000 packets (20 runs a block), peer webrtc-rs SampleBuilder: {result}"
        );
    }
}

/// One stream through our jitter buffer, each packet popped when due.
fn jitter_run(
    mut jb: JitterBuffer<RtpPacket>,
    packets: Vec<(Instant, RtpPacket)>,
) -> (JitterBuffer<RtpPacket>, usize) {
    let mut out = 0usize;
    for (now, p) in packets {
        jb.insert(p, now);
        while let Some(p) = jb.pop(now) {
            out += usize::from(matches!(p, Playout::Packet(_)));
        }
    }
    (jb, out)
}

/// One stream through webrtc-rs's sample builder, each sample popped when complete.
fn sample_builder_run(
    mut sb: SampleBuilder<OpusPacket>,
    packets: Vec<rtp::packet::Packet>,
) -> (SampleBuilder<OpusPacket>, usize) {
    let mut out = 0usize;
    for p in packets {
        sb.push(p);
        while let Some(s) = sb.pop() {
            out += s.data.len();
        }
    }
    (sb, out)
}

/// An RFC 3550 compound: SR with one report block, SDES with a CNAME.
fn rtcp_compound() -> Bytes {
    let mut buf = [0u8; 256];
    let mut w = RtcpWriter::new(&mut buf);
    let info = SenderInfo {
        ntp: NtpTime::new(3_900_000_000, 1 << 31),
        rtp_timestamp: Timestamp(960_000),
        packet_count: 1000,
        octet_count: 160_000,
    };
    let block = ReportBlock {
        ssrc: Ssrc(2),
        fraction_lost: 12,
        cumulative_lost: 40,
        highest_seq: 70_000,
        jitter: 90,
        last_sr: 0x1234_5678,
        delay_since_last_sr: 0x0001_0000,
    };
    w.sender_report(Ssrc(1), &info, &[block]).unwrap();
    w.sdes_cname(Ssrc(1), b"{a7c5b8e2-1f0d-4c3a-9b6e-2d4f8a1c0e53}")
        .unwrap();
    let n = w.finish();
    Bytes::copy_from_slice(&buf[..n])
}

fn rtcp_parse(c: &mut Criterion) {
    let compound = rtcp_compound();
    let mut g = c.benchmark_group("rtcp_compound_parse_sr_sdes");
    g.throughput(Throughput::Bytes(compound.len() as u64));
    g.bench_function("ucc", |b| {
        b.iter(|| {
            // Parse and read every field the peer's parse materializes.
            let mut sum = 0u64;
            for p in Compound::parse(black_box(&compound)).unwrap().packets() {
                match p {
                    RtcpPacket::SenderReport(sr) => {
                        sum += u64::from(sr.sender_info().packet_count);
                        for rb in sr.report_blocks() {
                            sum += u64::from(rb.highest_seq) + u64::from(rb.jitter);
                        }
                    }
                    RtcpPacket::Sdes(sdes) => {
                        for chunk in sdes.chunks() {
                            sum += chunk.items().map(|i| i.value.len() as u64).sum::<u64>();
                        }
                    }
                    _ => {}
                }
            }
            sum
        })
    });
    g.bench_function("webrtc-rs", |b| {
        b.iter(|| rtcp::packet::unmarshal(&mut black_box(&compound).clone()).unwrap())
    });
    g.finish();
}

criterion_group!(
    benches,
    header_parse,
    header_serialize,
    h264_packetize,
    h264_depacketize,
    opus,
    jitter_buffer,
    rtcp_parse
);
criterion_main!(benches);
