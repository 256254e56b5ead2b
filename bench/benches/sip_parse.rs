//! SIP parsing: transport-sip against rsip 0.4 and httparse, one group per message.
//!
//! - `ours/parse_typed`: `Message::parse` (full parse; Via, From, To, Call-ID, CSeq,
//!   Contact and Content-Length are typed by it), then those headers are read.
//! - `ours/serialize`: `to_bytes` of the parsed message.
//! - `rsip/parse`: `rsip::SipMessage::try_from(&[u8])`.
//! - `rsip/parse_typed`: the same, then typed Via, From, To, CSeq and the Call-ID value.
//! - `httparse/scan`: httparse over the same bytes with the start line rewritten to
//!   HTTP form (`INVITE sip:... HTTP/1.1`, `HTTP/1.1 200 OK`): a lower bound, since it
//!   only splits lines and names and types nothing.
//!
//! The input for ours is a shared `Bytes` (as a frozen receive buffer would be), so
//! slices pay the real reference-count cost.
#![allow(missing_docs)]

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use rsip::prelude::*;
use transport_sip::Message;

const SDP: &str = "v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 client.atlanta.example.com\r\n\
s=-\r\n\
c=IN IP4 192.0.2.101\r\n\
t=0 0\r\n\
m=audio 49172 RTP/AVP 0 8 97 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:97 opus/48000/2\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=sendrecv\r\n";

fn invite() -> Vec<u8> {
    format!(
        "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/TLS client.atlanta.example.com:5061;branch=z9hG4bK74bf9a8c2e;rport\r\n\
Max-Forwards: 70\r\n\
Route: <sip:ss1.atlanta.example.com;lr>\r\n\
From: \"Alice\" <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n\
To: \"Bob\" <sip:bob@biloxi.example.com>\r\n\
Call-ID: 3848276298220188511@atlanta.example.com\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:alice@client.atlanta.example.com:5061;transport=tls>\r\n\
Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, MESSAGE, SUBSCRIBE, INFO, UPDATE\r\n\
Supported: replaces, timer, 100rel\r\n\
User-Agent: ucc-rs/0.1 (bench)\r\n\
Content-Type: application/sdp\r\n\
Content-Length: {}\r\n\r\n{SDP}",
        SDP.len()
    )
    .into_bytes()
}

fn ok_200() -> Vec<u8> {
    format!(
        "SIP/2.0 200 OK\r\n\
Via: SIP/2.0/TLS client.atlanta.example.com:5061;branch=z9hG4bK74bf9a8c2e;rport=5061;received=192.0.2.101\r\n\
Record-Route: <sip:ss1.atlanta.example.com;lr>\r\n\
From: \"Alice\" <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n\
To: \"Bob\" <sip:bob@biloxi.example.com>;tag=8321234356\r\n\
Call-ID: 3848276298220188511@atlanta.example.com\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:bob@client.biloxi.example.com:5061;transport=tls>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: {}\r\n\r\n{SDP}",
        SDP.len()
    )
    .into_bytes()
}

/// Rewrites the SIP start line to HTTP/1.1 form so httparse accepts the message.
fn to_http(sip: &[u8]) -> Vec<u8> {
    let s = String::from_utf8_lossy(sip);
    let (line, rest) = s.split_once("\r\n").expect("start line");
    let line = if let Some(status) = line.strip_prefix("SIP/2.0") {
        format!("HTTP/1.1{status}")
    } else {
        line.replace(" SIP/2.0", " HTTP/1.1")
    };
    format!("{line}\r\n{rest}").into_bytes()
}

fn read_core(m: &Message) -> usize {
    let (via, from, to, call_id, cseq, contact, len) = match m {
        Message::Request(r) => (
            r.top_via(),
            r.from(),
            r.to(),
            r.call_id(),
            r.cseq(),
            r.contacts().next(),
            r.content_length(),
        ),
        Message::Response(r) => (
            r.top_via(),
            r.from(),
            r.to(),
            r.call_id(),
            r.cseq(),
            r.contacts().next(),
            r.content_length(),
        ),
    };
    via.and_then(|v| v.branch()).map_or(0, str::len)
        + from.and_then(|f| f.tag()).map_or(0, str::len)
        + to.map_or(0, |t| t.uri().as_bytes().len())
        + call_id.map_or(0, |c| c.as_str().len())
        + cseq.map_or(0, |c| c.seq as usize)
        + contact.map_or(0, |c| usize::from(c.address().is_some()))
        + len.map_or(0, |l| l.0 as usize)
}

fn group(c: &mut Criterion, name: &str, raw: Vec<u8>, is_request: bool) {
    let shared = Bytes::from(raw.clone());
    let _promote_to_shared = shared.clone();
    let parsed = Message::parse(shared.clone()).expect("bench message parses");
    assert!(read_core(&parsed) > 0);
    let http = to_http(&raw);
    let mut g = c.benchmark_group(format!("sip_parse/{name}"));
    g.throughput(criterion::Throughput::Bytes(raw.len() as u64));
    g.bench_function("ours/parse_typed", |b| {
        b.iter(|| {
            let m = Message::parse(black_box(shared.clone())).expect("parses");
            black_box(read_core(&m))
        })
    });
    g.bench_function("ours/serialize", |b| {
        b.iter(|| black_box(parsed.to_bytes()))
    });
    g.bench_function("rsip/parse", |b| {
        b.iter(|| black_box(rsip::SipMessage::try_from(black_box(&raw[..])).expect("rsip parses")))
    });
    g.bench_function("rsip/parse_typed", |b| {
        b.iter(|| {
            let m = rsip::SipMessage::try_from(black_box(&raw[..])).expect("rsip parses");
            let via = m.via_header().expect("via").typed().expect("typed via");
            let from = m.from_header().expect("from").typed().expect("typed from");
            let to = m.to_header().expect("to").typed().expect("typed to");
            let call_id = m.call_id_header().expect("call-id").value().len();
            let cseq = m.cseq_header().expect("cseq").typed().expect("typed cseq");
            black_box((via, from, to, call_id, cseq))
        })
    });
    g.bench_function("httparse/scan", |b| {
        b.iter(|| {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            if is_request {
                let mut req = httparse::Request::new(&mut headers);
                black_box(req.parse(black_box(&http)).expect("httparse parses"));
            } else {
                let mut resp = httparse::Response::new(&mut headers);
                black_box(resp.parse(black_box(&http)).expect("httparse parses"));
            }
        })
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    let inv = invite();
    // The message sizes are reported by criterion's throughput (bytes per iteration).
    group(c, "invite", inv, true);
    group(c, "200_ok", ok_200(), false);
}

criterion_group!(sip, benches);
criterion_main!(sip);
