//! Dialogs (RFC 3261 §12-§14): creation, routing, CSeq rules, target refresh, ACK,
//! the 2xx retransmission timer, glare delay and forked 2xx.

use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::SeedableRng;
use rand::rngs::StdRng;
use transport_sip::dialog::{
    Dialog, DialogError, DialogState, InviteDialogs, InviteEvent, Retransmit2xx,
    Retransmit2xxAction, Role, T1, glare_retry_delay,
};
use transport_sip::{HeaderName, Message, Method, Request, Response};

const CALL_ID: &str = "a84b4c76e66710@pc33.atlanta.example.com";

fn request(s: &str) -> Request {
    match Message::parse(Bytes::from(s.replace('\n', "\r\n") + "\r\n")) {
        Ok(Message::Request(r)) => r,
        other => panic!("not a request: {other:?}"),
    }
}

fn response(s: &str) -> Response {
    match Message::parse(Bytes::from(s.replace('\n', "\r\n") + "\r\n")) {
        Ok(Message::Response(r)) => r,
        other => panic!("not a response: {other:?}"),
    }
}

fn invite(cseq: u32) -> Request {
    request(&format!(
        "INVITE sip:bob@biloxi.example.com SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8
Max-Forwards: 70
To: Bob <sip:bob@biloxi.example.com>
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: {CALL_ID}
CSeq: {cseq} INVITE
Contact: <sip:alice@pc33.atlanta.example.com>
Content-Length: 0
"
    ))
}

/// A response to the INVITE with To tag `tag`, Contact `contact` and Record-Route lines.
fn answer(status: &str, tag: Option<&str>, contact: Option<&str>, rr: &[&str]) -> Response {
    let mut s = format!(
        "SIP/2.0 {status}
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8
"
    );
    for r in rr {
        s += &format!("Record-Route: {r}\n");
    }
    s += "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\n";
    match tag {
        Some(t) => s += &format!("To: Bob <sip:bob@biloxi.example.com>;tag={t}\n"),
        None => s += "To: Bob <sip:bob@biloxi.example.com>\n",
    }
    s += &format!("Call-ID: {CALL_ID}\nCSeq: 314159 INVITE\n");
    if let Some(c) = contact {
        s += &format!("Contact: {c}\n");
    }
    s += "Content-Length: 0\n";
    response(&s)
}

fn routes(r: &Request) -> Vec<String> {
    r.headers()
        .values(&HeaderName::Route)
        .map(|v| String::from_utf8(v.to_vec()).expect("utf8"))
        .collect()
}

fn value(r: &Request, name: HeaderName) -> String {
    let v = r.headers().values(&name).next().expect("header");
    String::from_utf8(v.to_vec()).expect("utf8")
}

#[test]
fn uac_early_then_confirmed_recomputes_routes_and_targets() {
    let inv = invite(314159);
    let ringing = answer(
        "180 Ringing",
        Some("a6c85cf"),
        Some("<sip:bob@192.0.2.4>"),
        &["<sip:early.example.com;lr>"],
    );
    let mut d = Dialog::uac(&inv, &ringing).expect("early dialog");
    assert_eq!(d.state(), DialogState::Early);
    assert_eq!(d.role(), Role::Uac);
    assert!(d.owns_call_id());
    assert_eq!(d.id().call_id, CALL_ID);
    assert_eq!(d.id().local_tag, "1928301774");
    assert_eq!(d.id().remote_tag, "a6c85cf");
    assert_eq!(d.local_seq(), Some(314159));
    assert_eq!(d.remote_seq(), None);

    let ok = answer(
        "200 OK",
        Some("a6c85cf"),
        Some("<sip:bob@192.0.2.5>"),
        &[
            "<sip:p3.example.com;lr>",
            "<sip:p2.example.com;lr>, <sip:p1.example.com;lr>",
        ],
    );
    d.handle_response(&ok).expect("same dialog");
    assert_eq!(d.state(), DialogState::Confirmed);
    assert_eq!(d.remote_target().as_bytes(), b"sip:bob@192.0.2.5");
    // Reversed for the UAC: p1 (nearest the UAC) first.
    let set: Vec<&[u8]> = d.route_set().iter().map(|r| r.as_bytes()).collect();
    assert_eq!(
        set,
        [
            &b"<sip:p1.example.com;lr>"[..],
            b"<sip:p2.example.com;lr>",
            b"<sip:p3.example.com;lr>"
        ]
    );

    // ACK for the 2xx: same CSeq number, method ACK (§13.2.2.4), loose-routed.
    let ack = d.ack().expect("ack");
    assert_eq!(ack.method(), &Method::Ack);
    assert_eq!(ack.uri().as_bytes(), b"sip:bob@192.0.2.5");
    let cseq = ack.cseq().expect("cseq");
    assert_eq!((cseq.seq, &cseq.method), (314159, &Method::Ack));
    assert_eq!(routes(&ack).len(), 3);
    assert_eq!(d.local_seq(), Some(314159), "ACK does not consume a CSeq");

    // BYE: next CSeq, From/To with both tags, Call-ID, Max-Forwards.
    let bye = d.request(Method::Bye).expect("bye");
    assert_eq!(bye.cseq().map(|c| c.seq), Some(314160));
    assert_eq!(bye.from().and_then(|f| f.tag()), Some("1928301774"));
    assert_eq!(bye.to().and_then(|t| t.tag()), Some("a6c85cf"));
    assert_eq!(
        value(&bye, HeaderName::To),
        "Bob <sip:bob@biloxi.example.com>;tag=a6c85cf"
    );
    assert_eq!(bye.call_id().map(|c| c.as_str()), Some(CALL_ID));
    assert_eq!(bye.max_forwards().map(|m| m.0), Some(70));
    assert_eq!(
        routes(&bye),
        [
            "<sip:p1.example.com;lr>",
            "<sip:p2.example.com;lr>",
            "<sip:p3.example.com;lr>"
        ]
    );
    // The request serializes and parses back as a valid message (Via aside).
    let wire = String::from_utf8(bye.to_bytes().to_vec()).expect("utf8");
    assert!(
        wire.starts_with("BYE sip:bob@192.0.2.5 SIP/2.0\r\nRoute: <sip:p1.example.com;lr>\r\n"),
        "{wire}"
    );
}

#[test]
fn uac_creation_rules() {
    let inv = invite(1);
    assert_eq!(
        Dialog::uac(&inv, &answer("180 Ringing", None, None, &[])).err(),
        Some(DialogError::NoToTag)
    );
    assert_eq!(
        Dialog::uac(&inv, &answer("100 Trying", Some("x"), None, &[])).err(),
        Some(DialogError::Status(100))
    );
    assert_eq!(
        Dialog::uac(&inv, &answer("486 Busy Here", Some("x"), None, &[])).err(),
        Some(DialogError::Status(486))
    );
    // An RFC 2543 UAS answering 200 without a tag: null remote tag, To sent without one.
    let mut d = Dialog::uac(
        &inv,
        &answer("200 OK", None, Some("<sip:bob@192.0.2.4>"), &[]),
    )
    .expect("dialog");
    assert_eq!(d.id().remote_tag, "");
    let bye = d.request(Method::Bye).expect("bye");
    assert_eq!(bye.to().and_then(|t| t.tag()), None);
    assert!(routes(&bye).is_empty());
    assert_eq!(bye.uri().as_bytes(), b"sip:bob@192.0.2.4");
}

fn uas_pair() -> (Request, Response) {
    let req = request(&format!(
        "INVITE sip:bob@192.0.2.4 SIP/2.0
Via: SIP/2.0/UDP p2.example.com;branch=z9hG4bK2
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK1
Record-Route: <sip:p2.example.com;lr>
Record-Route: <sip:p1.example.com;lr>
Max-Forwards: 68
To: Bob <sip:bob@biloxi.example.com>
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: {CALL_ID}
CSeq: 10 INVITE
Contact: <sip:alice@pc33.atlanta.example.com>
Content-Length: 0
"
    ));
    let resp = response(&format!(
        "SIP/2.0 200 OK
Via: SIP/2.0/UDP p2.example.com;branch=z9hG4bK2
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK1
Record-Route: <sip:p2.example.com;lr>
Record-Route: <sip:p1.example.com;lr>
To: Bob <sip:bob@biloxi.example.com>;tag=314159
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: {CALL_ID}
CSeq: 10 INVITE
Contact: <sip:bob@192.0.2.4>
Content-Length: 0
"
    ));
    (req, resp)
}

fn in_dialog(method: &str, cseq: u32, contact: Option<&str>) -> Request {
    let mut s = format!(
        "{method} sip:bob@192.0.2.4 SIP/2.0
Via: SIP/2.0/UDP p2.example.com;branch=z9hG4bK{cseq}{method}
Max-Forwards: 70
To: Bob <sip:bob@biloxi.example.com>;tag=314159
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: {CALL_ID}
CSeq: {cseq} {method}
"
    );
    if let Some(c) = contact {
        s += &format!("Contact: {c}\n");
    }
    s += "Content-Length: 0\n";
    request(&s)
}

#[test]
fn uas_dialog_routes_in_order_and_swaps_from_to() {
    let (req, resp) = uas_pair();
    let mut d = Dialog::uas(&req, &resp).expect("dialog");
    assert_eq!(d.state(), DialogState::Confirmed);
    assert!(!d.owns_call_id());
    assert_eq!(d.id().local_tag, "314159");
    assert_eq!(d.id().remote_tag, "1928301774");
    assert_eq!(d.remote_seq(), Some(10));
    assert_eq!(d.local_seq(), None);
    assert_eq!(
        d.remote_target().as_bytes(),
        b"sip:alice@pc33.atlanta.example.com"
    );
    let bye = d.request(Method::Bye).expect("bye");
    // UAS keeps Record-Route order: p2 (nearest the UAS) first.
    assert_eq!(
        routes(&bye),
        ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]
    );
    assert_eq!(bye.uri().as_bytes(), b"sip:alice@pc33.atlanta.example.com");
    assert_eq!(
        value(&bye, HeaderName::From),
        "Bob <sip:bob@biloxi.example.com>;tag=314159"
    );
    assert_eq!(
        value(&bye, HeaderName::To),
        "Alice <sip:alice@atlanta.example.com>;tag=1928301774"
    );
    assert_eq!(
        bye.cseq().map(|c| c.seq),
        Some(1),
        "first local CSeq of a UAS"
    );
    assert_eq!(
        d.request(Method::Info).expect("info").cseq().map(|c| c.seq),
        Some(2)
    );
    assert_eq!(d.ack().err(), Some(DialogError::NoInvite));

    let mut no_contact = req.clone();
    no_contact.headers_mut().remove_all(&HeaderName::Contact);
    assert_eq!(
        Dialog::uas(&no_contact, &resp).err(),
        Some(DialogError::NoContact)
    );
}

#[test]
fn remote_cseq_order_and_target_refresh() {
    let (req, resp) = uas_pair();
    let mut d = Dialog::uas(&req, &resp).expect("dialog");
    // ACK carries the INVITE's number and is not checked.
    d.handle_request(&in_dialog("ACK", 10, None)).expect("ack");
    d.handle_request(&in_dialog("INFO", 11, None))
        .expect("in order");
    assert_eq!(d.remote_seq(), Some(11));
    // Lower → the TU answers 500 (§12.2.2).
    assert_eq!(
        d.handle_request(&in_dialog("INFO", 9, None)),
        Err(DialogError::CSeqOutOfOrder {
            received: 9,
            current: 11
        })
    );
    // Gaps are fine (§12.2.2: numbers need not be consecutive).
    d.handle_request(&in_dialog("UPDATE", 20, Some("<sip:alice@198.51.100.9>")))
        .expect("refresh");
    assert_eq!(d.remote_target().as_bytes(), b"sip:alice@198.51.100.9");
    // A non-refresh request with a Contact does not move the target.
    d.handle_request(&in_dialog("INFO", 21, Some("<sip:alice@203.0.113.1>")))
        .expect("info");
    assert_eq!(d.remote_target().as_bytes(), b"sip:alice@198.51.100.9");
    d.handle_request(&in_dialog("INVITE", 22, Some("<sip:alice@203.0.113.2>")))
        .expect("re-invite");
    assert_eq!(d.remote_target().as_bytes(), b"sip:alice@203.0.113.2");
    // Another dialog's request is refused.
    let mut other = in_dialog("INFO", 30, None);
    other.headers_mut().remove_all(&HeaderName::CallId);
    assert!(matches!(
        d.handle_request(&other),
        Err(DialogError::MissingHeader { .. }) | Err(DialogError::Mismatch(_))
    ));
    // BYE ends it; nothing more can be sent.
    d.handle_request(&in_dialog("BYE", 23, None)).expect("bye");
    assert_eq!(d.state(), DialogState::Terminated);
    assert!(matches!(
        d.request(Method::Info),
        Err(DialogError::Terminated(_))
    ));
}

#[test]
fn uac_reinvite_2xx_refreshes_target_and_ack_uses_its_cseq() {
    let inv = invite(1);
    let mut d = Dialog::uac(
        &inv,
        &answer("200 OK", Some("b1"), Some("<sip:bob@192.0.2.4>"), &[]),
    )
    .expect("dialog");
    let reinvite = d.request(Method::Invite).expect("re-invite");
    assert_eq!(reinvite.cseq().map(|c| c.seq), Some(2));
    let ok = response(&format!(
        "SIP/2.0 200 OK
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKx
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
To: Bob <sip:bob@biloxi.example.com>;tag=b1
Call-ID: {CALL_ID}
CSeq: 2 INVITE
Contact: <sip:bob@192.0.2.99>
Content-Length: 0
"
    ));
    d.handle_response(&ok).expect("refresh");
    assert_eq!(d.remote_target().as_bytes(), b"sip:bob@192.0.2.99");
    let ack = d.ack().expect("ack");
    assert_eq!(ack.cseq().map(|c| c.seq), Some(2));
    assert_eq!(ack.uri().as_bytes(), b"sip:bob@192.0.2.99");
    // 481 to an in-dialog request ends the dialog (§12.2.1.2).
    let gone = response(&format!(
        "SIP/2.0 481 Call/Transaction Does Not Exist
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKy
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
To: Bob <sip:bob@biloxi.example.com>;tag=b1
Call-ID: {CALL_ID}
CSeq: 3 INFO
Content-Length: 0
"
    ));
    d.handle_response(&gone).expect("same dialog");
    assert_eq!(d.state(), DialogState::Terminated);
}

#[test]
fn strict_route_puts_first_route_in_request_uri_and_target_last() {
    let inv = invite(1);
    let ok = answer(
        "200 OK",
        Some("s1"),
        Some("<sip:bob@192.0.2.4>"),
        &["<sip:loose.example.com;lr>", "<sip:strict.example.com>"],
    );
    let mut d = Dialog::uac(&inv, &ok).expect("dialog");
    let bye = d.request(Method::Bye).expect("bye");
    assert_eq!(bye.uri().as_bytes(), b"sip:strict.example.com");
    assert_eq!(
        routes(&bye),
        ["<sip:loose.example.com;lr>", "<sip:bob@192.0.2.4>"]
    );
}

#[test]
fn uas_2xx_retransmission_doubles_to_t2_and_gives_up_at_64_t1() {
    let start = Instant::now();
    let mut t = Retransmit2xx::new(start);
    let mut sends = Vec::new();
    let mut gave_up = None;
    while let Some(deadline) = t.poll_timeout() {
        assert_eq!(
            t.handle_timeout(deadline - Duration::from_millis(1)),
            None,
            "not early"
        );
        match t.handle_timeout(deadline) {
            Some(Retransmit2xxAction::Retransmit) => sends.push(deadline - start),
            Some(Retransmit2xxAction::GiveUp) => gave_up = Some(deadline - start),
            None => panic!("deadline without action"),
        }
    }
    let ms: Vec<u128> = sends.iter().map(Duration::as_millis).collect();
    // Intervals 0.5, 1, 2, 4, 4, ... seconds (T1 doubling, capped at T2).
    assert_eq!(
        ms,
        [
            500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500
        ]
    );
    assert_eq!(gave_up, Some(T1 * 64));
    assert_eq!(t.retransmissions(), 10);

    let mut t = Retransmit2xx::new(start);
    assert_eq!(
        t.handle_timeout(start + T1),
        Some(Retransmit2xxAction::Retransmit)
    );
    t.handle_ack();
    assert_eq!(t.poll_timeout(), None);
    assert_eq!(t.handle_timeout(start + T1 * 64), None);
}

#[test]
fn glare_delays_follow_section_14_1() {
    let mut rng = StdRng::seed_from_u64(14);
    let (mut owner_min, mut owner_max) = (Duration::MAX, Duration::ZERO);
    for _ in 0..2000 {
        let o = glare_retry_delay(true, &mut rng);
        assert!(
            o >= Duration::from_millis(2100) && o <= Duration::from_secs(4),
            "{o:?}"
        );
        assert_eq!(o.as_millis() % 10, 0, "10 ms units");
        owner_min = owner_min.min(o);
        owner_max = owner_max.max(o);
        let n = glare_retry_delay(false, &mut rng);
        assert!(n <= Duration::from_secs(2), "{n:?}");
        assert_eq!(n.as_millis() % 10, 0);
    }
    assert!(owner_min < Duration::from_millis(2200) && owner_max > Duration::from_millis(3900));
}

#[test]
fn forked_invite_first_2xx_confirms_and_a_second_2xx_is_acked_and_byed() {
    let mut set = InviteDialogs::new(invite(314159));
    assert_eq!(
        set.handle_response(&answer("100 Trying", None, None, &[])),
        Ok(InviteEvent::Ignored)
    );
    let a = match set.handle_response(&answer(
        "180 Ringing",
        Some("a"),
        Some("<sip:bob@a.example.com>"),
        &[],
    )) {
        Ok(InviteEvent::EarlyCreated(id)) => id,
        other => panic!("{other:?}"),
    };
    let b = match set.handle_response(&answer(
        "183 Session Progress",
        Some("b"),
        Some("<sip:bob@b.example.com>"),
        &[],
    )) {
        Ok(InviteEvent::EarlyCreated(id)) => id,
        other => panic!("{other:?}"),
    };
    assert_ne!(a, b);
    assert_eq!(
        set.handle_response(&answer("180 Ringing", Some("a"), None, &[])),
        Ok(InviteEvent::EarlyUpdated(a.clone()))
    );
    // Fork b answers first: it is the call.
    let ok_b = answer("200 OK", Some("b"), Some("<sip:bob@b.example.com>"), &[]);
    assert_eq!(
        set.handle_response(&ok_b),
        Ok(InviteEvent::Confirmed(b.clone()))
    );
    assert_eq!(set.confirmed(), Some(&b));
    assert_eq!(
        set.handle_response(&ok_b),
        Ok(InviteEvent::Retransmitted2xx(b.clone()))
    );
    // Fork a answers too: ACK then BYE it.
    let ok_a = answer("200 OK", Some("a"), Some("<sip:bob@a2.example.com>"), &[]);
    assert_eq!(
        set.handle_response(&ok_a),
        Ok(InviteEvent::ExtraConfirmed(a.clone()))
    );
    // A fork never seen before answering after the call is confirmed: same treatment.
    let ok_c = answer("200 OK", Some("c"), Some("<sip:bob@c.example.com>"), &[]);
    let c = match set.handle_response(&ok_c) {
        Ok(InviteEvent::ExtraConfirmed(id)) => id,
        other => panic!("{other:?}"),
    };
    assert_eq!(c.remote_tag, "c");
    let extra = set.dialog_mut(&a).expect("dialog a");
    assert_eq!(extra.state(), DialogState::Confirmed);
    let ack = extra.ack().expect("ack");
    assert_eq!(ack.uri().as_bytes(), b"sip:bob@a2.example.com");
    assert_eq!(ack.cseq().map(|c| c.seq), Some(314159));
    let bye = extra.request(Method::Bye).expect("bye");
    assert_eq!(bye.to().and_then(|t| t.tag()), Some("a"));
    assert_eq!(set.dialogs().len(), 3);
    assert!(set.take(&c).is_some());
    assert_eq!(set.dialogs().len(), 2);
}

#[test]
fn forked_invite_failure_ends_early_dialogs() {
    let mut set = InviteDialogs::new(invite(1));
    let a = match set.handle_response(&answer("180 Ringing", Some("a"), None, &[])) {
        Ok(InviteEvent::EarlyCreated(id)) => id,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        set.handle_response(&answer("486 Busy Here", Some("a"), None, &[])),
        Ok(InviteEvent::Failed { status: 486 })
    );
    assert_eq!(
        set.dialog(&a).map(|d| d.state()),
        Some(DialogState::Terminated)
    );
    // An early dialog without Contact targets the Request-URI until one arrives.
    assert_eq!(
        set.dialog(&a)
            .map(|d| d.remote_target().as_bytes().to_vec()),
        Some(b"sip:bob@biloxi.example.com".to_vec())
    );
}

#[test]
fn uas_early_dialog_confirmed_or_ended_by_the_final_response_it_sends() {
    let (req, ok) = uas_pair();
    let ringing = response(&format!(
        "SIP/2.0 180 Ringing
Via: SIP/2.0/UDP p2.example.com;branch=z9hG4bK2
To: Bob <sip:bob@biloxi.example.com>;tag=314159
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: {CALL_ID}
CSeq: 10 INVITE
Contact: <sip:bob@192.0.2.4>
Content-Length: 0
"
    ));
    let mut d = Dialog::uas(&req, &ringing).expect("early");
    assert_eq!(d.state(), DialogState::Early);
    d.handle_sent_response(&ok).expect("2xx");
    assert_eq!(d.state(), DialogState::Confirmed);

    let mut d = Dialog::uas(&req, &ringing).expect("early");
    let busy = response(&format!(
        "SIP/2.0 486 Busy Here
Via: SIP/2.0/UDP p2.example.com;branch=z9hG4bK2
To: Bob <sip:bob@biloxi.example.com>;tag=314159
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: {CALL_ID}
CSeq: 10 INVITE
Content-Length: 0
"
    ));
    d.handle_sent_response(&busy).expect("final");
    assert_eq!(d.state(), DialogState::Terminated);
}
