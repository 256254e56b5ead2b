//! RFC 4475 torture tests over the byte-exact fixtures in `tests/torture/`.
//!
//! §3.1.1 (valid), §3.2.1 and the §3.3/§3.4 messages that are syntactically valid must
//! parse and survive parse → serialize → parse. §3.1.2 (invalid) messages, and the §3.3
//! messages this parser rejects because its core headers are single-valued and mandatory
//! (§3.3.1, §3.3.8, §3.3.9), must fail with the asserted [`ParseError`] variant, and the
//! answer built by [`error_response`] is checked.

use bytes::Bytes;
use transport_sip::header::{Contact, Transport};
use transport_sip::{
    HeaderError, HeaderName, Host, Message, Method, ParseError, Scheme, StartLineError, UriError,
    error_response,
};

fn fixture(name: &str) -> Bytes {
    let path = format!("{}/tests/torture/{name}.sip", env!("CARGO_MANIFEST_DIR"));
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

fn parse(name: &str) -> Result<Message, ParseError> {
    Message::parse(fixture(name))
}

fn valid(name: &str) -> Message {
    let m = parse(name).unwrap_or_else(|e| panic!("{name} should parse: {e}"));
    let again = Message::parse(m.to_bytes()).unwrap_or_else(|e| panic!("{name} reparse: {e}"));
    assert_eq!(again, m, "{name} round trip");
    m
}

fn request(name: &str) -> transport_sip::Request {
    match valid(name) {
        Message::Request(r) => r,
        Message::Response(_) => panic!("{name} is a request"),
    }
}

#[test]
fn valid_messages_parse() {
    for name in [
        "wsinv",
        "intmeth",
        "esc01",
        "escnull",
        "esc02",
        "lwsdisp",
        "longreq",
        "dblreq",
        "semiuri",
        "transports",
        "mpart01",
        "unreason",
        "noreason",
        "badbranch",
        "unkscm",
        "novelsc",
        "unksm2",
        "bext01",
        "invut",
        "regaut01",
        "bcast",
        "zeromf",
        "cparam01",
        "cparam02",
        "regescrt",
        "sdp01",
        "inv2543",
    ] {
        valid(name);
    }
}

#[test]
fn wsinv_3_1_1_1() {
    let r = request("wsinv");
    assert_eq!(r.method(), &Method::Invite);
    assert_eq!(r.to().and_then(|t| t.tag()), Some("1918181833n"));
    let from = r.from().expect("from");
    assert_eq!(from.tag(), Some("98asjd8"));
    assert_eq!(
        from.display_name().as_deref(),
        Some(&br#"J Rosenberg \""#[..])
    );
    assert_eq!(r.max_forwards().map(|m| m.0), Some(68));
    let cseq = r.cseq().expect("cseq");
    assert_eq!((cseq.seq, &cseq.method), (9, &Method::Invite));
    let vias: Vec<_> = r.vias().collect();
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[1].transport(), Transport::Tcp);
    assert_eq!(vias[1].branch(), Some("z9hG4bK9ikj8"));
    assert_eq!(vias[2].branch(), Some("z9hG4bK30239"));
    let contact = r
        .contacts()
        .next()
        .and_then(Contact::address)
        .expect("contact");
    assert_eq!(contact.q(), Some("0.33"));
    assert_eq!(
        contact.params().get("newparam"),
        Some(Some(&b"newvalue"[..]))
    );
    assert_eq!(r.body().len(), 150);
    // Unknown headers survive verbatim, fold included.
    let wire = r.to_bytes();
    assert!(
        wire.windows(54)
            .any(|w| w == b"NewFangledHeader: newfangled value\r\n continued newfang")
    );
    assert!(
        wire.windows(39)
            .any(|w| w == b"UnknownHeaderWithUnusualValue: ;;,,;;,;")
    );
}

#[test]
fn intmeth_3_1_1_2() {
    let r = request("intmeth");
    assert_eq!(
        r.method().as_bytes(),
        b"!interesting-Method0123456789_*+`.%indeed'~"
    );
    assert_eq!(
        r.uri().password(),
        Some(&b"&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"[..])
    );
    let to = r.to().expect("to");
    assert_eq!(
        to.display_name().as_deref(),
        Some(&b"BEL:\x07 NUL:\x00 DEL:\x7f"[..])
    );
    assert_eq!(r.from().and_then(|f| f.tag()), Some("_token~1'+`*%!-."));
}

#[test]
fn escapes_3_1_1_3_to_5() {
    let r = request("esc01");
    let u = r.uri();
    assert_eq!(u.user(), Some(&b"sips%3Auser%40example.com"[..]));
    let to = r.to().expect("to").uri().clone();
    assert!(to.equivalent(&"sip:user@example.com".parse().expect("uri")));
    let r = request("escnull");
    assert_eq!(r.contacts().count(), 2);
    let r = request("esc02");
    assert_eq!(r.method().as_bytes(), b"RE%47IST%45R");
    assert_eq!(r.contacts().count(), 2, "C%6Fntact is an unknown header");
}

#[test]
fn longreq_dblreq_semiuri_transports() {
    let r = request("longreq");
    assert_eq!(r.vias().count(), 34);
    assert!(r.to().expect("to").uri().params().count() == 3);
    let r = request("dblreq");
    assert_eq!(r.method(), &Method::Register);
    assert!(r.body().is_empty());
    let r = request("semiuri");
    assert_eq!(r.uri().user(), Some(&b"user;par=u%40example.net"[..]));
    assert_eq!(r.uri().params().count(), 0);
    let r = request("transports");
    let t: Vec<_> = r.vias().map(|v| v.transport_str().to_string()).collect();
    assert_eq!(t, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
}

#[test]
fn responses_3_1_1_12_and_13() {
    let Message::Response(r) = valid("unreason") else {
        panic!("response")
    };
    assert_eq!(r.status().as_u16(), 200);
    assert!(std::str::from_utf8(r.reason()).is_ok_and(|s| s.ends_with("простое")));
    let Message::Response(r) = valid("noreason") else {
        panic!("response")
    };
    assert_eq!(r.reason(), b"");
    let Message::Response(r) = valid("bcast") else {
        panic!("response")
    };
    assert_eq!(
        r.vias().nth(1).map(|v| v.host()),
        Some(Host::Ipv4("255.255.255.255".parse().expect("ip")))
    );
}

#[test]
fn application_layer_3_3_messages_parse() {
    assert_eq!(request("unkscm").uri().scheme(), Scheme::Other);
    assert_eq!(request("novelsc").uri().scheme(), Scheme::Other);
    let r = request("unksm2");
    assert_eq!(r.to().expect("to").uri().scheme(), Scheme::Other);
    let r = request("regaut01");
    assert!(r.headers().iter().any(|h| matches!(h,
        transport_sip::Header::Authorization(a) if a.scheme() == "NoOneKnowsThisScheme")));
    assert_eq!(request("zeromf").max_forwards().map(|m| m.0), Some(0));
    let r = request("cparam01");
    let c = r
        .contacts()
        .next()
        .and_then(Contact::address)
        .expect("contact");
    assert_eq!(c.params().get("unknownparam"), Some(None));
    assert_eq!(c.uri().params().count(), 0);
    let r = request("cparam02");
    let c = r
        .contacts()
        .next()
        .and_then(Contact::address)
        .expect("contact");
    assert_eq!(c.uri().params().get("unknownparam"), Some(None));
    let r = request("regescrt");
    let c = r
        .contacts()
        .next()
        .and_then(Contact::address)
        .expect("contact");
    assert!(c.uri().headers().is_some());
    assert!(
        request("badbranch")
            .top_via()
            .is_some_and(|v| v.is_rfc3261_branch())
    );
    assert!(request("inv2543").max_forwards().is_none());
}

/// Asserts the error of an invalid request and the response a stack would send.
fn invalid(name: &str, check: impl Fn(&ParseError) -> bool, status: Option<u16>) {
    let raw = fixture(name);
    let err = match Message::parse(raw.clone()) {
        Ok(_) => panic!("{name} must be rejected"),
        Err(e) => e,
    };
    assert!(check(&err), "{name}: unexpected {err:?}");
    let resp = error_response(&err, &raw);
    assert_eq!(
        resp.as_ref().map(|r| r.status().as_u16()),
        status,
        "{name}: {err}"
    );
    if let Some(resp) = resp {
        // §8.2.6.1: Via, From, To, Call-ID, CSeq copied; the response itself parses.
        let reparsed = Message::parse(resp.to_bytes());
        // A request whose Via, From, To or CSeq is the broken header gets it back verbatim.
        let copied_broken = matches!(&err, ParseError::InvalidHeader { name, .. }
            if matches!(name, HeaderName::Via | HeaderName::From | HeaderName::To | HeaderName::CSeq));
        if !copied_broken {
            assert!(reparsed.is_ok(), "{name}: {reparsed:?}");
        }
        assert!(
            resp.top_via().is_some() || resp.headers().iter().any(|h| h.name() == HeaderName::Via)
        );
        assert!(!resp.reason().is_empty());
    }
}

fn header_err(name: HeaderName, kind: HeaderError) -> impl Fn(&ParseError) -> bool {
    move |e| matches!(e, ParseError::InvalidHeader { name: n, kind: k, .. } if *n == name && *k == kind)
}

#[test]
fn invalid_messages_are_rejected_with_specific_errors() {
    use HeaderName as H;
    invalid(
        "badinv01",
        header_err(H::Via, HeaderError::EmptyElement),
        Some(400),
    );
    invalid(
        "clerr",
        |e| {
            matches!(
                e,
                ParseError::ContentLengthExceedsMessage { declared: 9999, .. }
            )
        },
        Some(400),
    );
    invalid(
        "ncl",
        header_err(H::ContentLength, HeaderError::NotANumber),
        Some(400),
    );
    invalid(
        "scalar02",
        header_err(H::CSeq, HeaderError::OutOfRange),
        Some(400),
    );
    invalid(
        "scalarlg",
        header_err(H::CSeq, HeaderError::OutOfRange),
        None,
    );
    invalid(
        "quotbal",
        header_err(H::To, HeaderError::UnterminatedQuote),
        Some(400),
    );
    invalid(
        "ltgtruri",
        |e| {
            matches!(
                e,
                ParseError::RequestUri {
                    kind: UriError::Scheme,
                    ..
                }
            )
        },
        Some(400),
    );
    for name in ["lwsruri", "lwsstart", "trws"] {
        invalid(
            name,
            |e| {
                matches!(
                    e,
                    ParseError::StartLine {
                        kind: StartLineError::Whitespace,
                        ..
                    }
                )
            },
            Some(400),
        );
    }
    invalid(
        "escruri",
        |e| matches!(e, ParseError::RequestUriHasHeaders { .. }),
        Some(400),
    );
    invalid("baddate", header_err(H::Date, HeaderError::Date), Some(400));
    invalid(
        "regbadct",
        header_err(H::Contact, HeaderError::AddrSpecNeedsAngle),
        Some(400),
    );
    invalid(
        "badaspec",
        header_err(H::To, HeaderError::WhitespaceInAngle),
        Some(400),
    );
    invalid(
        "baddn",
        header_err(H::From, HeaderError::DisplayName),
        Some(400),
    );
    invalid(
        "badvers",
        |e| matches!(e, ParseError::UnsupportedVersion { .. }),
        Some(505),
    );
    invalid(
        "mismatch01",
        |e| *e == ParseError::CSeqMethodMismatch,
        Some(400),
    );
    invalid(
        "mismatch02",
        |e| *e == ParseError::CSeqMethodMismatch,
        Some(400),
    );
    invalid(
        "bigcode",
        |e| {
            matches!(
                e,
                ParseError::StartLine {
                    kind: StartLineError::StatusCode,
                    ..
                }
            )
        },
        None,
    );
    // §3.3 messages rejected at this layer.
    invalid(
        "insuf",
        |e| matches!(e, ParseError::MissingHeader(H::From)),
        None,
    );
    invalid(
        "multi01",
        |e| matches!(e, ParseError::DuplicateHeader { name: H::CSeq, .. }),
        Some(400),
    );
    invalid(
        "mcl01",
        |e| {
            matches!(
                e,
                ParseError::DuplicateHeader {
                    name: H::ContentLength,
                    ..
                }
            )
        },
        Some(400),
    );
}

#[test]
fn error_response_names_the_problem_and_copies_headers() {
    let raw = fixture("baddn");
    let err = Message::parse(raw.clone()).expect_err("invalid");
    let resp = error_response(&err, &raw).expect("answerable");
    assert_eq!(resp.reason(), b"Bad Request - Invalid From Header");
    assert_eq!(
        resp.top_via().and_then(|v| v.branch()),
        Some("z9hG4bKkdjuw")
    );
    assert_eq!(
        resp.call_id().map(|c| c.as_str()),
        Some("baddn.31415@c.example.com")
    );
    assert_eq!(resp.content_length().map(|l| l.0), Some(0));
}

#[test]
fn stream_decoder_frames_every_valid_fixture() {
    use transport_sip::{Frame, ParseLimits, StreamDecoder};
    let mut d = StreamDecoder::new(ParseLimits::default());
    let names = ["wsinv", "esc01", "longreq", "mpart01", "unreason", "bcast"];
    for name in names {
        d.push(&fixture(name));
    }
    let mut n = 0;
    while let Some(item) = d.next() {
        assert!(matches!(item, Ok(Frame::Message(_))), "{item:?}");
        n += 1;
    }
    assert_eq!(n, names.len());
}
