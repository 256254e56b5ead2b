//! Property tests: no input panics the parser, the stream decoder or `error_response`;
//! generated messages survive parse → serialize → parse.

use bytes::Bytes;
use proptest::prelude::*;
use transport_sip::{Message, ParseLimits, StreamDecoder, error_response};

const SEED: &[u8] = b"INVITE sip:bob@example.com;transport=tcp SIP/2.0\r\n\
Via: SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bK1;rport, SIP/2.0/UDP h;received=1.2.3.4\r\n\
From: \"A \\\"q\\\"\" <sip:a@example.com>;tag=x\r\nTo: b <sip:b@example.com>\r\n\
Call-ID: c@h\r\nCSeq: 1 INVITE\r\nContact: <sip:a@h>;expires=60, <sip:b@h>;q=0.5\r\n\
Authorization: Digest username=\"a\", nonce=\"n\"\r\nContent-Length: 3\r\n\r\nabc";

fn exercise(bytes: &[u8]) {
    let raw = Bytes::copy_from_slice(bytes);
    if let Err(e) = Message::parse(raw.clone()) {
        let _ = e.to_string();
        let _ = error_response(&e, &raw);
    }
    let mut d = StreamDecoder::new(ParseLimits::default());
    for chunk in bytes.chunks(7) {
        d.push(chunk);
        while d.next().is_some() {}
    }
}

fn token() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9][a-zA-Z0-9.!%*_+`'~-]{0,12}"
}
fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,10}(\\.[a-z]{2,5}){0,2}",
        (any::<[u8; 4]>()).prop_map(|a| format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3])),
        any::<u128>().prop_map(|a| format!("[{}]", std::net::Ipv6Addr::from(a))),
    ]
}
fn sip_uri() -> impl Strategy<Value = String> {
    (
        proptest::option::of("[a-zA-Z0-9_.!~*'()&=+$,;?/-]{1,10}"),
        host(),
        proptest::option::of(any::<u16>()),
        proptest::collection::vec(
            (
                "[a-z0-9-]{1,8}",
                proptest::option::of("[a-zA-Z0-9_.!~*'()-]{1,8}"),
            ),
            0..3,
        ),
    )
        .prop_map(|(user, host, port, params)| {
            let mut s = String::from("sip:");
            if let Some(u) = user {
                s += &u;
                s.push('@');
            }
            s += &host;
            if let Some(p) = port {
                s += &format!(":{p}");
            }
            for (n, v) in params {
                s += &format!(";{n}");
                if let Some(v) = v {
                    s += &format!("={v}");
                }
            }
            s
        })
}
fn name_addr() -> impl Strategy<Value = String> {
    (
        proptest::option::of("[a-zA-Z ]{0,8}"),
        sip_uri(),
        token(),
        proptest::collection::vec(token(), 0..2),
    )
        .prop_map(|(d, uri, tag, params)| {
            let mut s = match d {
                Some(d) => format!("\"{d}\" <{uri}>"),
                None => format!("<{uri}>"),
            };
            s += &format!(";tag={tag}");
            for p in params {
                s += &format!(" ;\r\n {p}");
            }
            s
        })
}

fn message() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![
            Just("INVITE"),
            Just("OPTIONS"),
            Just("BYE"),
            Just("FOO-BAR")
        ],
        sip_uri(),
        proptest::collection::vec((host(), token()), 1..4),
        name_addr(),
        name_addr(),
        "[a-zA-Z0-9.]{1,20}(@[a-z0-9.]{1,10})?",
        0u32..(1 << 31),
        proptest::collection::vec(("X-[A-Za-z]{1,8}", "[ -~]{0,30}"), 0..4),
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(method, uri, vias, from, to, call_id, seq, extra, body)| {
            let mut m = format!("{method} {uri} SIP/2.0\r\n");
            for (h, b) in vias {
                m += &format!("Via: SIP/2.0/UDP {h};branch=z9hG4bK{b}\r\n");
            }
            m += &format!(
                "From: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {seq} {method}\r\n"
            );
            for (n, v) in extra {
                m += &format!("{n}: {}\r\n", v.trim());
            }
            m += &format!("Content-Length: {}\r\n\r\n", body.len());
            let mut bytes = m.into_bytes();
            bytes.extend_from_slice(&body);
            bytes
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        exercise(&bytes);
    }

    #[test]
    fn mutated_messages_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut b = SEED.to_vec();
        for (i, byte) in edits {
            let at = i.index(b.len());
            b[at] = byte;
        }
        exercise(&b);
        exercise(&b[..cut.index(b.len())]);
    }

    #[test]
    fn generated_messages_round_trip(raw in message()) {
        let parsed = Message::parse(Bytes::from(raw.clone()));
        let parsed = match parsed {
            Ok(m) => m,
            Err(e) => return Err(TestCaseError::fail(format!("{e}: {}", String::from_utf8_lossy(&raw)))),
        };
        let again = Message::parse(parsed.to_bytes()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&again, &parsed);
        prop_assert_eq!(again.to_bytes(), parsed.to_bytes());
    }
}

#[test]
fn seed_parses() {
    assert!(Message::parse(Bytes::from_static(SEED)).is_ok());
}
