//! SDP: real-world-shaped offers (written for these tests in the style of baresip,
//! Linphone and Asterisk), limits, the mapping to session-core, and properties.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use proptest::prelude::*;
use session_core::description::{
    Codec, MediaAddress, MediaDescription, MediaDirection, MediaType, SessionDescription,
};
use transport_sip::sdp::{
    AddrType, Attribute, Direction, LineError, MappingError, Sdp, SdpError, SdpLimits, SdpSession,
    description_to_sdp, sdp_to_description,
};

const BARESIP_STYLE: &str = "v=0\r\n\
o=- 2890844526 2890844526 IN IP4 192.0.2.10\r\n\
s=-\r\n\
c=IN IP4 192.0.2.10\r\n\
t=0 0\r\n\
a=tool:baresip 3.x\r\n\
m=audio 10000 RTP/AVP 96 0 8 101\r\n\
b=AS:64\r\n\
a=rtpmap:96 opus/48000/2\r\n\
a=fmtp:96 stereo=1;sprop-stereo=1;useinbandfec=1\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=rtcp-mux\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n\
a=label:1\r\n\
m=video 10002 RTP/AVP 97\r\n\
a=rtpmap:97 H264/90000\r\n\
a=fmtp:97 packetization-mode=1;profile-level-id=42e01f\r\n\
a=rtcp-fb:97 nack pli\r\n\
a=rtcp-mux\r\n\
a=sendrecv\r\n";

// Linphone style: session-level direction, rtcp attribute with address, IPv6, LF only.
const LINPHONE_STYLE: &str = "v=0\n\
o=alice 1207 3017 IN IP6 2001:db8::5\n\
s=Talk\n\
c=IN IP6 2001:db8::5\n\
t=0 0\n\
a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics\n\
a=sendonly\n\
m=audio 7078 RTP/AVP 96 97 0 101\n\
a=rtpmap:96 opus/48000/2\n\
a=fmtp:96 useinbandfec=1\n\
a=rtpmap:97 speex/16000\n\
a=fmtp:97 vbr=on\n\
a=rtpmap:101 telephone-event/8000\n\
a=rtcp:7079 IN IP6 2001:db8::5\n\
m=video 0 RTP/AVP 96\n\
a=rtpmap:96 VP8/90000\n";

// Asterisk style: no rtpmap-less dynamic types, maxptime, an m=image line, media c=.
const ASTERISK_STYLE: &str = "v=0\r\n\
o=- 1669283957 1669283958 IN IP4 203.0.113.7\r\n\
s=Asterisk\r\n\
c=IN IP4 203.0.113.7\r\n\
t=0 0\r\n\
m=audio 17840 RTP/AVP 8 0 3 9 101\r\n\
c=IN IP4 203.0.113.8\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=ptime:20\r\n\
a=maxptime:150\r\n\
a=sendrecv\r\n\
m=image 0 udptl t38\r\n\
a=T38FaxVersion:0\r\n";

#[test]
fn baresip_style_offer() {
    let sdp = Sdp::parse(BARESIP_STYLE.as_bytes()).expect("valid");
    assert_eq!(sdp.origin.session_id, "2890844526");
    assert_eq!(sdp.origin.session_version, 2890844526);
    assert_eq!(
        sdp.connection.as_ref().and_then(|c| c.to_ip()),
        Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)))
    );
    assert_eq!(
        sdp.attributes,
        [Attribute::other("tool", Some("baresip 3.x"))]
    );
    let audio = &sdp.media[0];
    assert_eq!(audio.formats, ["96", "0", "8", "101"]);
    assert_eq!(audio.bandwidths[0].kind, "AS");
    assert_eq!(audio.bandwidths[0].value, 64);
    let opus = audio.rtpmap("96").expect("opus");
    assert_eq!(
        (opus.encoding.as_str(), opus.clock_rate, opus.channels),
        ("opus", 48000, Some(2))
    );
    assert_eq!(
        audio.fmtp("96"),
        Some("stereo=1;sprop-stereo=1;useinbandfec=1")
    );
    assert!(audio.rtcp_mux());
    assert_eq!(audio.ptime(), Some(20));
    assert_eq!(audio.direction(&sdp), Direction::SendRecv);
    assert_eq!(audio.other_attribute("label"), Some(Some("1")));
    let video = &sdp.media[1];
    assert_eq!(video.other_attribute("rtcp-fb"), Some(Some("97 nack pli")));
    // Serialization keeps every line, in order, byte for byte.
    assert_eq!(sdp.to_bytes(), BARESIP_STYLE.as_bytes());

    let desc = sdp_to_description(&sdp).expect("mapped");
    assert_eq!(desc.version, 2890844526);
    assert_eq!(desc.media.len(), 2);
    let a = &desc.media[0];
    assert_eq!(
        a.address,
        MediaAddress::Udp(SocketAddr::new(Ipv4Addr::new(192, 0, 2, 10).into(), 10000))
    );
    assert_eq!(a.direction, MediaDirection::BOTH);
    assert!(a.rtcp_mux);
    assert_eq!(
        a.codecs,
        [
            Codec::new(96, "opus", 48000, 2)
                .with_parameters("stereo=1;sprop-stereo=1;useinbandfec=1"),
            Codec::pcmu(),
            Codec::pcma(),
            Codec::new(101, "telephone-event", 8000, 1).with_parameters("0-15"),
        ]
    );
    assert_eq!(desc.media[1].codecs[0].name, "H264");
}

#[test]
fn linphone_style_offer_with_lf_ipv6_and_session_direction() {
    let sdp = Sdp::parse(LINPHONE_STYLE.as_bytes()).expect("valid");
    assert_eq!(sdp.origin.username, "alice");
    assert_eq!(sdp.origin.address.addr_type, AddrType::Ip6);
    assert_eq!(sdp.session_name, "Talk");
    let audio = &sdp.media[0];
    assert_eq!(
        audio.direction(&sdp),
        Direction::SendOnly,
        "session level applies"
    );
    assert_eq!(
        audio.attributes.last(),
        Some(&Attribute::Rtcp {
            port: 7079,
            address: sdp.connection.clone(),
        })
    );
    let desc = sdp_to_description(&sdp).expect("mapped");
    let v6: IpAddr = "2001:db8::5".parse::<Ipv6Addr>().expect("ip").into();
    assert_eq!(
        desc.media[0].address,
        MediaAddress::Udp(SocketAddr::new(v6, 7078))
    );
    assert_eq!(desc.media[0].direction, MediaDirection::SEND);
    assert!(!desc.media[0].rtcp_mux);
    assert_eq!(
        desc.media[0].codecs[1],
        Codec::new(97, "speex", 16000, 1).with_parameters("vbr=on")
    );
    assert!(!desc.media[1].enabled, "port 0 is a rejected stream");
    assert_eq!(desc.media[1].address, MediaAddress::None);
    // Written back with CRLF, then parsed: same value.
    assert_eq!(Sdp::parse(&sdp.to_bytes()), Ok(sdp));
}

#[test]
fn asterisk_style_offer_static_types_and_foreign_lines_keep_position() {
    let sdp = Sdp::parse(ASTERISK_STYLE.as_bytes()).expect("valid");
    let audio = &sdp.media[0];
    assert_eq!(audio.other_attribute("maxptime"), Some(Some("150")));
    assert_eq!(sdp.media[1].kind, "image");
    assert_eq!(sdp.media[1].proto, "udptl");

    let mut session = SdpSession::new(42, Ipv4Addr::new(198, 51, 100, 1).into());
    let desc = session.remote_description(&sdp).expect("mapped");
    assert_eq!(desc.media.len(), 1, "m=image has no place in the model");
    let a = &desc.media[0];
    // Media-level c= wins over the session's.
    assert_eq!(
        a.address,
        MediaAddress::Udp(SocketAddr::new(Ipv4Addr::new(203, 0, 113, 8).into(), 17840))
    );
    let names: Vec<&str> = a.codecs.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["PCMA", "PCMU", "GSM", "G722", "telephone-event"]);

    // Answer: the image line comes back rejected at index 1.
    let answer = session_core::description::answer(&desc, 0, |_, m| {
        Some(session_core::description::LocalMedia {
            media_type: m.media_type,
            direction: MediaDirection::BOTH,
            codecs: vec![Codec::pcma()],
            address: MediaAddress::Udp("198.51.100.1:4000".parse().expect("addr")),
        })
    })
    .expect("answer");
    let out = session.local_sdp(&answer).expect("sdp");
    assert_eq!(out.media.len(), 2);
    assert_eq!(out.media[0].formats, ["8"]);
    assert_eq!(out.media[0].port, 4000);
    assert_eq!(
        (out.media[1].kind.as_str(), out.media[1].port),
        ("image", 0)
    );
    assert_eq!(out.media[1].formats, ["t38"]);
    let text = String::from_utf8(out.to_bytes()).expect("utf8");
    assert!(text.starts_with("v=0\r\no=- 42 1 IN IP4 198.51.100.1\r\ns=-\r\nc=IN IP4 198.51.100.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=sendrecv\r\n"), "{text}");
    assert!(text.ends_with("m=image 0 udptl t38\r\n"), "{text}");
}

fn audio_desc(port: u16) -> SessionDescription {
    let mut m = MediaDescription::new(
        MediaType::Audio,
        MediaDirection::BOTH,
        vec![Codec::opus(), Codec::pcmu()],
    );
    m.address = MediaAddress::Udp(SocketAddr::new(Ipv4Addr::new(192, 0, 2, 1).into(), port));
    SessionDescription {
        version: 0,
        media: vec![m],
    }
}

#[test]
fn origin_version_increments_only_when_the_offer_changes() {
    let mut s = SdpSession::new(7, Ipv4Addr::new(192, 0, 2, 1).into());
    assert_eq!(s.version(), 0);
    let first = s.local_sdp(&audio_desc(5000)).expect("sdp");
    assert_eq!(first.origin.session_version, 1);
    let same = s.local_sdp(&audio_desc(5000)).expect("sdp");
    assert_eq!(
        same.origin.session_version, 1,
        "unchanged re-offer keeps o= version"
    );
    let mut hold = audio_desc(5000);
    hold.media[0].direction = MediaDirection::SEND;
    let reoffer = s.local_sdp(&hold).expect("sdp");
    assert_eq!(reoffer.origin.session_version, 2);
    assert_eq!(reoffer.media[0].direction(&reoffer), Direction::SendOnly);
    assert_eq!(reoffer.origin.session_id, "7");
}

#[test]
fn mapping_writes_ports_addresses_and_attributes() {
    let mut d = audio_desc(5000);
    let mut video = MediaDescription::new(
        MediaType::Video,
        MediaDirection::RECEIVE,
        vec![Codec::h264()],
    );
    video.address = MediaAddress::Udp("[2001:db8::9]:6000".parse().expect("addr"));
    video.rtcp_mux = false;
    d.media.push(video);
    d.media.push(d.media[0].disabled());
    let mut none = d.media[0].clone();
    none.address = MediaAddress::None;
    d.media.push(none);
    let origin = transport_sip::sdp::Origin {
        username: "-".into(),
        session_id: "1".into(),
        session_version: 3,
        address: transport_sip::sdp::Address::ip(Ipv4Addr::new(192, 0, 2, 1).into()),
    };
    let sdp = description_to_sdp(&d, origin).expect("sdp");
    let text = String::from_utf8(sdp.to_bytes()).expect("utf8");
    assert!(text.contains("m=audio 5000 RTP/AVP 111 0\r\nc=IN IP4 192.0.2.1\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\na=rtcp-mux\r\n"), "{text}");
    assert!(text.contains("m=video 6000 RTP/AVP 96\r\nc=IN IP6 2001:db8::9\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 profile-level-id=42e01f;packetization-mode=1\r\na=recvonly\r\n"), "{text}");
    assert!(
        text.contains("m=audio 0 RTP/AVP 111\r\nc=IN IP4 0.0.0.0\r\n"),
        "{text}"
    );
    assert!(
        text.contains("m=audio 9 RTP/AVP 111 0\r\nc=IN IP4 0.0.0.0\r\n"),
        "{text}"
    );
    let mut back = sdp_to_description(&Sdp::parse(&sdp.to_bytes()).expect("parse")).expect("map");
    back.version = d.version;
    assert_eq!(back, d);

    let mut bad = audio_desc(5000);
    bad.media[0].address = MediaAddress::Signaling { flow_id: 1 };
    assert_eq!(
        SdpSession::new(1, Ipv4Addr::LOCALHOST.into()).local_sdp(&bad),
        Err(MappingError::SignalingAddress { index: 0 })
    );
    assert_eq!(
        SdpSession::new(1, Ipv4Addr::LOCALHOST.into()).local_sdp(&audio_desc(0)),
        Err(MappingError::ZeroPort { index: 0 })
    );
}

#[test]
fn remote_without_connection_or_with_a_name_is_an_error() {
    let no_c = Sdp::parse(b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 5 RTP/AVP 0\r\n")
        .expect("valid");
    assert_eq!(
        sdp_to_description(&no_c),
        Err(MappingError::MissingConnection { index: 0 })
    );
    let named = Sdp::parse(b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 media.example.com\r\nt=0 0\r\nm=audio 5 RTP/AVP 0\r\n")
        .expect("valid");
    assert_eq!(
        sdp_to_description(&named),
        Err(MappingError::ConnectionNotIp { index: 0 })
    );
}

#[test]
fn limits_and_malformed_lines() {
    let limits = SdpLimits {
        max_size: 64,
        ..SdpLimits::default()
    };
    assert_eq!(
        Sdp::parse_with(BARESIP_STYLE.as_bytes(), &limits),
        Err(SdpError::TooLarge {
            size: BARESIP_STYLE.len(),
            limit: 64
        })
    );
    let limits = SdpLimits {
        max_lines: 5,
        ..SdpLimits::default()
    };
    assert_eq!(
        Sdp::parse_with(BARESIP_STYLE.as_bytes(), &limits),
        Err(SdpError::TooManyLines { limit: 5 })
    );
    let limits = SdpLimits {
        max_media: 1,
        ..SdpLimits::default()
    };
    assert_eq!(
        Sdp::parse_with(BARESIP_STYLE.as_bytes(), &limits),
        Err(SdpError::TooManyMedia { limit: 1 })
    );
    let bad = |s: &str| Sdp::parse(format!("v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\n{s}\r\n").as_bytes());
    let line4 = |kind| Err(SdpError::Line { line: 4, kind });
    assert_eq!(bad("a=rtpmap:200 x/8000"), line4(LineError::Rtpmap));
    assert_eq!(bad("a=rtpmap:0 PCMU"), line4(LineError::Rtpmap));
    assert_eq!(bad("a=ptime:+20"), line4(LineError::Ptime));
    assert_eq!(bad("a=rtcp:x"), line4(LineError::Rtcp));
    assert_eq!(bad("a=:x"), line4(LineError::AttributeName));
    assert_eq!(bad("c=IN IP4"), line4(LineError::Connection));
    assert_eq!(bad("b=AS"), line4(LineError::Bandwidth));
    assert_eq!(bad("t=0"), line4(LineError::Timing));
    assert_eq!(bad("m=audio 1 RTP/AVP"), line4(LineError::Media));
    assert_eq!(bad("m=audio 70000 RTP/AVP 0"), line4(LineError::Media));
    assert_eq!(bad("s=again"), line4(LineError::Duplicate('s')));
    assert_eq!(bad("r=1"), line4(LineError::Misplaced('r')));
    assert_eq!(bad("Z=1"), line4(LineError::Syntax));
    assert_eq!(bad("x"), line4(LineError::Syntax));
    assert_eq!(
        Sdp::parse(b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nm=audio 1 RTP/AVP 0\r\nt=0 0\r\n"),
        Err(SdpError::Line {
            line: 5,
            kind: LineError::Misplaced('t')
        })
    );
    assert_eq!(
        Sdp::parse(b"v=1\r\n"),
        Err(SdpError::Line {
            line: 1,
            kind: LineError::UnsupportedVersion
        })
    );
    assert_eq!(
        Sdp::parse(b"v=0\r\no=- 1 1 IN IP4 h\r\n"),
        Err(SdpError::Missing('s'))
    );
    assert_eq!(Sdp::parse(b""), Err(SdpError::Missing('v')));
    assert_eq!(
        Sdp::parse(b"v=0\r\ns=\xff\r\n"),
        Err(SdpError::NotUtf8 { line: 2 })
    );
}

#[test]
fn values_cannot_inject_lines() {
    let mut sdp = Sdp::parse(BARESIP_STYLE.as_bytes()).expect("valid");
    sdp.session_name = "x\r\nm=audio 1 RTP/AVP 0".into();
    let back = Sdp::parse(&sdp.to_bytes()).expect("still valid");
    assert_eq!(back.media.len(), 2);
    assert_eq!(back.session_name, "x  m=audio 1 RTP/AVP 0");
}

// ---- properties ----

fn token() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9][a-zA-Z0-9.+_-]{0,8}"
}
fn text() -> impl Strategy<Value = String> {
    "[ -~]{0,16}"
}
fn address() -> impl Strategy<Value = transport_sip::sdp::Address> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|a| transport_sip::sdp::Address::ip(Ipv4Addr::from(a).into())),
        any::<u128>().prop_map(|a| transport_sip::sdp::Address::ip(Ipv6Addr::from(a).into())),
        ("[a-z]{1,8}\\.example", token()).prop_map(|(h, t)| transport_sip::sdp::Address {
            net_type: "IN".into(),
            addr_type: AddrType::Other(t),
            address: h,
        }),
    ]
}
fn attribute() -> impl Strategy<Value = Attribute> {
    prop_oneof![
        (
            0u8..128,
            token(),
            any::<u32>(),
            proptest::option::of(any::<u8>())
        )
            .prop_map(|(payload_type, encoding, clock_rate, channels)| {
                Attribute::Rtpmap(transport_sip::sdp::Rtpmap {
                    payload_type,
                    encoding,
                    clock_rate,
                    channels,
                })
            }),
        (token(), "[!-~][ -~]{0,12}|")
            .prop_map(|(format, params)| Attribute::Fmtp { format, params }),
        prop_oneof![
            Just(Direction::SendRecv),
            Just(Direction::SendOnly),
            Just(Direction::RecvOnly),
            Just(Direction::Inactive)
        ]
        .prop_map(Attribute::Direction),
        Just(Attribute::RtcpMux),
        (any::<u16>(), proptest::option::of(address()))
            .prop_map(|(port, address)| Attribute::Rtcp { port, address }),
        any::<u32>().prop_map(Attribute::Ptime),
        ("x-[a-z]{1,6}", proptest::option::of(text()))
            .prop_map(|(n, v)| Attribute::other(&n, v.as_deref())),
    ]
}
fn bandwidth() -> impl Strategy<Value = transport_sip::sdp::Bandwidth> {
    (token(), any::<u64>()).prop_map(|(kind, value)| transport_sip::sdp::Bandwidth { kind, value })
}
fn media() -> impl Strategy<Value = transport_sip::sdp::Media> {
    (
        (
            token(),
            any::<u16>(),
            proptest::option::of(any::<u16>()),
            "[A-Z]{3}/[A-Z]{3,4}",
        ),
        proptest::collection::vec("[0-9]{1,3}|[a-z0-9]{1,5}", 1..5),
        proptest::option::of(text()),
        proptest::option::of(address()),
        proptest::collection::vec(bandwidth(), 0..2),
        proptest::collection::vec(attribute(), 0..6),
    )
        .prop_map(
            |(
                (kind, port, port_count, proto),
                formats,
                info,
                connection,
                bandwidths,
                attributes,
            )| {
                let mut m = transport_sip::sdp::Media::new(&kind, port, &proto, formats);
                m.port_count = port_count;
                m.info = info;
                m.connection = connection;
                m.bandwidths = bandwidths;
                m.attributes = attributes;
                m
            },
        )
}
fn sdp() -> impl Strategy<Value = Sdp> {
    (
        ("[a-z-]{1,6}", "[0-9]{1,24}", any::<u64>(), address()),
        (
            text(),
            proptest::option::of(text()),
            proptest::option::of(address()),
        ),
        proptest::collection::vec(
            (
                any::<u64>(),
                any::<u64>(),
                proptest::collection::vec(text(), 0..2),
            ),
            0..2,
        ),
        proptest::collection::vec(bandwidth(), 0..2),
        proptest::collection::vec(attribute(), 0..4),
        proptest::collection::vec(media(), 0..4),
    )
        .prop_map(
            |((user, id, version, addr), (name, info, conn), timing, bw, attrs, media)| {
                let mut s = Sdp::new(transport_sip::sdp::Origin {
                    username: user,
                    session_id: id,
                    session_version: version,
                    address: addr,
                });
                s.session_name = name;
                s.info = info;
                s.connection = conn;
                s.timing = timing
                    .into_iter()
                    .map(|(start, stop, repeats)| transport_sip::sdp::Timing {
                        start,
                        stop,
                        repeats,
                    })
                    .collect();
                s.bandwidths = bw;
                s.attributes = attrs;
                s.media = media;
                s
            },
        )
}

fn codec() -> impl Strategy<Value = Codec> {
    (
        0u8..128,
        "[a-zA-Z][a-zA-Z0-9-]{0,8}",
        1u32..200_000,
        any::<u8>(),
        proptest::option::of("[!-~][ -~]{0,10}"),
    )
        .prop_map(|(pt, name, rate, ch, params)| {
            let mut c = Codec::new(pt, &name, rate, ch);
            c.parameters = params;
            c
        })
}
fn media_description() -> impl Strategy<Value = MediaDescription> {
    (
        prop_oneof![Just(MediaType::Audio), Just(MediaType::Video)],
        any::<bool>(),
        0u8..4,
        prop_oneof![
            Just(MediaAddress::None),
            (any::<[u8; 4]>(), 1u16..)
                .prop_map(|(a, p)| MediaAddress::Udp(SocketAddr::new(Ipv4Addr::from(a).into(), p))),
            (any::<u128>(), 1u16..)
                .prop_map(|(a, p)| MediaAddress::Udp(SocketAddr::new(Ipv6Addr::from(a).into(), p))),
        ],
        any::<bool>(),
        proptest::collection::vec(codec(), 1..5),
    )
        .prop_map(
            |(media_type, enabled, dir, address, rtcp_mux, mut codecs)| {
                // Payload types are unique within a line (RFC 8866 §5.14).
                let mut seen = std::collections::HashSet::new();
                codecs.retain(|c| seen.insert(c.payload_type));
                let address = match (&address, enabled) {
                    (_, false) => MediaAddress::None,
                    (MediaAddress::Udp(a), true) if a.ip().is_unspecified() => MediaAddress::None,
                    _ => address,
                };
                MediaDescription {
                    media_type,
                    enabled,
                    direction: MediaDirection::from_bits(dir),
                    address,
                    rtcp_mux,
                    codecs,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(s) = Sdp::parse(&bytes) {
            let _ = sdp_to_description(&s);
            prop_assert_eq!(Sdp::parse(&s.to_bytes()), Ok(s));
        }
    }

    #[test]
    fn mutated_real_sdp_never_panics(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        which in 0usize..3,
    ) {
        let mut b = [BARESIP_STYLE, LINPHONE_STYLE, ASTERISK_STYLE][which].as_bytes().to_vec();
        for (i, v) in edits {
            let at = i.index(b.len());
            b[at] = v;
        }
        if let Ok(s) = Sdp::parse(&b) {
            let _ = sdp_to_description(&s);
            let _ = SdpSession::new(1, Ipv4Addr::LOCALHOST.into()).remote_description(&s);
            prop_assert_eq!(Sdp::parse(&s.to_bytes()), Ok(s));
        }
    }

    #[test]
    fn serialize_parse_round_trip(s in sdp()) {
        prop_assert_eq!(Sdp::parse(&s.to_bytes()), Ok(s));
    }

    #[test]
    fn mapping_round_trip(media in proptest::collection::vec(media_description(), 0..5)) {
        let d = SessionDescription { version: 0, media };
        let mut session = SdpSession::new(9, Ipv4Addr::new(192, 0, 2, 1).into());
        let sdp = session.local_sdp(&d).expect("mappable");
        let parsed = Sdp::parse(&sdp.to_bytes()).expect("valid SDP");
        let back = SdpSession::new(1, Ipv4Addr::LOCALHOST.into()).remote_description(&parsed).expect("maps back");
        prop_assert_eq!(back.version, session.version());
        prop_assert_eq!(back.media, d.media);
    }
}

#[test]
fn srtp_lines_are_rejected_and_avpf_is_echoed() {
    let offer = Sdp::parse(
        b"v=0\r\no=- 5 5 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
          m=audio 5000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:abc\r\n\
          m=video 5002 RTP/AVPF 96\r\na=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\n",
    )
    .expect("valid");
    let mut session = SdpSession::new(1, Ipv4Addr::new(192, 0, 2, 9).into());
    let desc = session.remote_description(&offer).expect("mapped");
    assert_eq!(desc.media.len(), 1);
    assert_eq!(desc.media[0].media_type, MediaType::Video);
    let answer = session_core::description::answer(&desc, 0, |_, m| {
        Some(session_core::description::LocalMedia {
            media_type: m.media_type,
            direction: MediaDirection::BOTH,
            codecs: vec![Codec::new(96, "VP8", 90000, 1)],
            address: MediaAddress::Udp("192.0.2.9:6000".parse().expect("addr")),
        })
    })
    .expect("answer");
    let out = session.local_sdp(&answer).expect("sdp");
    assert_eq!(
        (out.media[0].proto.as_str(), out.media[0].port),
        ("RTP/SAVP", 0)
    );
    assert_eq!(
        (out.media[1].proto.as_str(), out.media[1].port),
        ("RTP/AVPF", 6000)
    );
}

#[test]
fn trailing_blanks_on_structured_lines_and_cr_inside_lines() {
    let sdp = Sdp::parse(
        b"v=0\r\no=- 1 1 IN IP4 192.0.2.1 \r\ns= \r\nc=IN IP4 192.0.2.1\t\r\nt=0 0 \r\nm=audio 5000 RTP/AVP 0 \r\n",
    )
    .expect("lenient");
    assert_eq!(sdp.session_name, " ", "s= keeps its space (RFC 8866 §5.3)");
    assert_eq!(sdp.media[0].formats, ["0"]);
    assert_eq!(
        Sdp::parse(b"v=0\r\no=- 1 1 IN IP4 h\r\ns=a\rb\r\n"),
        Err(SdpError::Line {
            line: 3,
            kind: LineError::Syntax
        })
    );
}
