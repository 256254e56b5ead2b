//! The transport layer over real loopback sockets (127.0.0.1 and ::1): UDP, TCP and TLS
//! round trips, connection reuse, §18.2.1/§18.2.2 routing, bad input, TLS verification,
//! the §18.1.1 switch to TCP, RFC 5626 keep-alives, idle timeout and the connection limit.

#[path = "sipp/responder.rs"]
mod responder;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot};
use transport_sip::header::{Rport, Transport};
use transport_sip::transport::{
    Incoming, Target, TlsConfig, TransportConfig, TransportError, TransportKind, TransportLayer,
};
use transport_sip::{Message, Method, Response, StatusCode, Uri};

use responder::{request, response_to, spawn_responder};

/// Bound on every network wait.
const WAIT: Duration = Duration::from_secs(5);

fn loopback(v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::LOCALHOST)
    } else {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    }
}

fn any_port(v6: bool) -> SocketAddr {
    SocketAddr::new(loopback(v6), 0)
}

/// A CA and a server certificate it signed for `names`.
struct Pki {
    ca: CertificateDer<'static>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

fn pki(names: &[&str]) -> Pki {
    let ca_key = rcgen::KeyPair::generate().expect("CA key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "ucc-rs test CA");
    let ca = ca_params.self_signed(&ca_key).expect("CA cert");
    let key = rcgen::KeyPair::generate().expect("server key");
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let params = rcgen::CertificateParams::new(names).expect("server params");
    let cert = params.signed_by(&key, &ca, &ca_key).expect("server cert");
    Pki {
        ca: ca.der().clone(),
        chain: vec![cert.der().clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    }
}

fn server_tls(p: &Pki) -> TlsConfig {
    TlsConfig::with_roots([p.ca.clone()])
        .expect("roots")
        .with_identity(p.chain.clone(), p.key.clone_key())
        .expect("identity")
}

fn client_tls(ca: &CertificateDer<'static>) -> TlsConfig {
    TlsConfig::with_roots([ca.clone()]).expect("roots")
}

async fn next(rx: &mut mpsc::Receiver<Incoming>) -> Incoming {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("message within the timeout")
        .expect("channel open")
}

fn expect_response(incoming: Incoming) -> Response {
    match incoming.message {
        Message::Response(r) => r,
        Message::Request(r) => panic!("expected a response, got {:?}", r.method()),
    }
}

/// OPTIONS from a client layer to a responder layer and the 200 back, over `kind`.
async fn round_trip(kind: TransportKind, v6: bool) {
    let p = pki(&["127.0.0.1", "::1", "localhost"]);
    let (server_cfg, client_cfg) = match kind {
        TransportKind::Tls => (
            TransportConfig::default().with_tls(server_tls(&p)),
            // The client also listens for TLS, so it has an identity too.
            TransportConfig::default().with_tls(server_tls(&p)),
        ),
        _ => (TransportConfig::default(), TransportConfig::default()),
    };
    let (server, server_rx) = TransportLayer::new(server_cfg);
    let server = Arc::new(server);
    let server_addr = server.bind(kind, any_port(v6)).await.expect("server bind");
    let (client, mut client_rx) = TransportLayer::new(client_cfg);
    let client_addr = client.bind(kind, any_port(v6)).await.expect("client bind");
    let (stop, stopped) = oneshot::channel();
    let responder = spawn_responder(server.clone(), server_rx, stopped);

    // The target comes from the URI: sips: → TLS, transport=tcp → TCP (§18.1.1).
    let uri = match kind {
        TransportKind::Udp => format!("sip:s@{server_addr}"),
        TransportKind::Tcp => format!("sip:s@{server_addr};transport=tcp"),
        TransportKind::Tls => format!("sips:s@{server_addr}"),
    };
    let target = client
        .target_for_uri(&Uri::parse(uri.as_bytes()).expect("uri"))
        .await
        .expect("target");
    assert_eq!(target.transport, kind);
    assert_eq!(target.addr, server_addr);
    let mut req = request(
        "OPTIONS",
        &uri,
        kind,
        client_addr,
        "z9hG4bKrt1",
        "rt-1",
        1,
        "",
    );
    let sent = client
        .send_request(&mut req, &target)
        .await
        .expect("request sent");
    assert_eq!(sent.transport, kind);
    assert_eq!(sent.remote, server_addr);
    assert_eq!(sent.connection.is_some(), kind.is_reliable());

    let resp = expect_response(next(&mut client_rx).await);
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.call_id().map(|c| c.as_str()), Some("rt-1"));
    assert_eq!(resp.to().and_then(|t| t.tag()), Some("responder"));
    let via = resp.top_via().expect("Via");
    assert_eq!(via.branch(), Some("z9hG4bKrt1"));
    // The responder saw the packet's real source and stamped rport (RFC 3581).
    assert_eq!(via.rport(), Rport::Port(sent.local.port()));

    stop.send(()).expect("responder running");
    let seen = responder.await.expect("responder");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, Method::Options);
    assert_eq!(seen[0].source.transport, kind);
    assert_eq!(seen[0].source.remote, sent.local);
    assert_eq!(seen[0].source.local, server_addr);
}

#[tokio::test]
async fn udp_ipv4_request_response() {
    round_trip(TransportKind::Udp, false).await;
}

#[tokio::test]
async fn udp_ipv6_request_response() {
    round_trip(TransportKind::Udp, true).await;
}

#[tokio::test]
async fn tcp_ipv4_request_response() {
    round_trip(TransportKind::Tcp, false).await;
}

#[tokio::test]
async fn tcp_ipv6_request_response() {
    round_trip(TransportKind::Tcp, true).await;
}

#[tokio::test]
async fn tls_ipv4_request_response() {
    round_trip(TransportKind::Tls, false).await;
}

#[tokio::test]
async fn tls_ipv6_request_response() {
    round_trip(TransportKind::Tls, true).await;
}

#[tokio::test]
async fn tcp_reuses_one_connection_for_many_requests() {
    let (server, server_rx) = TransportLayer::new(TransportConfig::default());
    let server = Arc::new(server);
    let server_addr = server
        .bind(TransportKind::Tcp, any_port(false))
        .await
        .expect("bind");
    let (client, mut client_rx) = TransportLayer::new(TransportConfig::default());
    let client_addr = client
        .bind(TransportKind::Tcp, any_port(false))
        .await
        .expect("bind");
    let (stop, stopped) = oneshot::channel();
    let responder = spawn_responder(server.clone(), server_rx, stopped);

    let mut connections = Vec::new();
    for i in 0..10u32 {
        let method = if i % 2 == 0 { "OPTIONS" } else { "MESSAGE" };
        let mut req = request(
            method,
            &format!("sip:s@{server_addr}"),
            TransportKind::Tcp,
            client_addr,
            &format!("z9hG4bKreuse{i}"),
            &format!("reuse-{i}"),
            i + 1,
            "hi",
        );
        let sent = client
            .send_request(&mut req, &Target::tcp(server_addr))
            .await
            .expect("sent");
        connections.push(sent.connection.expect("connection"));
        let resp = expect_response(next(&mut client_rx).await);
        assert_eq!(resp.cseq().map(|c| c.seq), Some(i + 1));
        assert!(
            resp.headers().iter().count() > 0 && client_rx.try_recv().is_err(),
            "one response per request"
        );
    }
    connections.dedup();
    assert_eq!(
        connections.len(),
        1,
        "every request used the same connection"
    );
    assert_eq!(client.connection_count(), 1);
    assert_eq!(server.connection_count(), 1);

    stop.send(()).expect("responder running");
    let seen = responder.await.expect("responder");
    assert_eq!(seen.len(), 10);
    let first = seen[0].source;
    assert!(first.connection.is_some());
    assert!(
        seen.iter().all(|s| s.source == first),
        "all requests arrived on one connection from one source port"
    );
}

#[tokio::test]
async fn udp_response_routed_by_received_and_rport() {
    let (server, mut server_rx) = TransportLayer::new(TransportConfig::default());
    let server_addr = server
        .bind(TransportKind::Udp, any_port(false))
        .await
        .expect("bind");
    let raw = UdpSocket::bind(any_port(false)).await.expect("raw socket");
    let raw_addr = raw.local_addr().expect("addr");

    // sent-by is a TEST-NET address nobody listens on: only received + rport reach us.
    let bogus: SocketAddr = "192.0.2.1:9".parse().expect("addr");
    let req = request(
        "OPTIONS",
        &format!("sip:s@{server_addr}"),
        TransportKind::Udp,
        bogus,
        "z9hG4bKnat",
        "nat-1",
        1,
        "",
    );
    raw.send_to(&req.to_bytes(), server_addr)
        .await
        .expect("send");

    let incoming = next(&mut server_rx).await;
    let Message::Request(req) = incoming.message else {
        panic!("expected a request")
    };
    let via = req.top_via().expect("Via");
    assert_eq!(via.received(), Some("127.0.0.1"), "§18.2.1 received");
    assert_eq!(via.rport(), Rport::Port(raw_addr.port()), "RFC 3581 rport");
    assert_eq!(via.branch(), Some("z9hG4bKnat"));

    // No Source given: the route comes from the Via alone (§18.2.2).
    let resp = response_to(&req, StatusCode::OK, "t");
    let sent = server.send_response(&resp, None).await.expect("sent");
    assert_eq!(sent.remote, raw_addr);
    let mut buf = vec![0u8; 4096];
    let (n, from) = tokio::time::timeout(WAIT, raw.recv_from(&mut buf))
        .await
        .expect("response within the timeout")
        .expect("recv");
    assert_eq!(from, server_addr);
    assert!(buf[..n].starts_with(b"SIP/2.0 200 OK\r\n"));
}

#[tokio::test]
async fn tcp_response_reconnects_to_sent_by_when_connection_closed() {
    let (server, mut server_rx) = TransportLayer::new(TransportConfig::default());
    let server_addr = server
        .bind(TransportKind::Tcp, any_port(false))
        .await
        .expect("bind");
    // The client's listener: where §18.2.2 sends the response once the connection is gone.
    let listener = TcpListener::bind(any_port(false)).await.expect("bind");
    let listen_addr = listener.local_addr().expect("addr");

    let mut raw = TcpStream::connect(server_addr).await.expect("connect");
    let req = request(
        "OPTIONS",
        &format!("sip:s@{server_addr};transport=tcp"),
        TransportKind::Tcp,
        listen_addr,
        "z9hG4bKre",
        "re-1",
        1,
        "",
    );
    raw.write_all(&req.to_bytes()).await.expect("write");
    let incoming = next(&mut server_rx).await;
    let Message::Request(req) = incoming.message else {
        panic!("expected a request")
    };
    raw.shutdown().await.expect("shutdown");
    drop(raw);
    // No event reports a closed connection, so poll the count (bounded).
    for _ in 0..500 {
        if server.connection_count() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(server.connection_count(), 0, "server saw the close");

    let resp = response_to(&req, StatusCode::OK, "t");
    let sent = server
        .send_response(&resp, Some(&incoming.source))
        .await
        .expect("sent on a new connection");
    assert_eq!(sent.remote, listen_addr);
    assert_ne!(sent.connection, incoming.source.connection);
    let (mut s, _) = tokio::time::timeout(WAIT, listener.accept())
        .await
        .expect("connection within the timeout")
        .expect("accept");
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(WAIT, s.read(&mut buf))
        .await
        .expect("response within the timeout")
        .expect("read");
    assert!(buf[..n].starts_with(b"SIP/2.0 200 OK\r\n"));
}

#[tokio::test]
async fn garbage_datagram_gets_400_and_socket_keeps_working() {
    let (server, mut server_rx) = TransportLayer::new(TransportConfig::default());
    let server_addr = server
        .bind(TransportKind::Udp, any_port(false))
        .await
        .expect("bind");
    let raw = UdpSocket::bind(any_port(false)).await.expect("raw socket");
    let raw_addr = raw.local_addr().expect("addr");
    let mut buf = vec![0u8; 4096];

    let bad = format!(
        "OPTIONS sip:s@{server_addr} SIP/2.0\r\nVia: SIP/2.0/UDP {raw_addr};branch=z9hG4bKbad\r\n\
         From: <sip:c@h>;tag=1\r\nTo: <sip:s@h>\r\nCall-ID: bad-1\r\nCSeq: banana OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    );
    raw.send_to(bad.as_bytes(), server_addr)
        .await
        .expect("send");
    let (n, _) = tokio::time::timeout(WAIT, raw.recv_from(&mut buf))
        .await
        .expect("400 within the timeout")
        .expect("recv");
    // The 400 copies the bad CSeq as received, so it is checked as text.
    let answer = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(
        answer.starts_with("SIP/2.0 400 Bad Request - Invalid CSeq Header\r\n"),
        "{answer}"
    );
    assert!(
        answer.contains("\r\nTo: <sip:s@h>;tag="),
        "§8.2.6.2 To tag: {answer}"
    );
    assert!(answer.contains("\r\nCall-ID: bad-1\r\n"), "{answer}");
    assert!(
        answer.contains(&format!(
            "\r\nVia: SIP/2.0/UDP {raw_addr};branch=z9hG4bKbad"
        )),
        "{answer}"
    );

    // Binary junk is dropped without an answer.
    raw.send_to(b"\x00\xff\xfe garbage \r\n\r\n\x01", server_addr)
        .await
        .expect("send");
    // Then a valid request is still delivered.
    let good = request(
        "MESSAGE",
        &format!("sip:s@{server_addr}"),
        TransportKind::Udp,
        raw_addr,
        "z9hG4bKgood",
        "good-1",
        1,
        "still here",
    );
    raw.send_to(&good.to_bytes(), server_addr)
        .await
        .expect("send");
    let incoming = next(&mut server_rx).await;
    let Message::Request(req) = incoming.message else {
        panic!("expected a request")
    };
    assert_eq!(req.call_id().map(|c| c.as_str()), Some("good-1"));
    assert_eq!(req.body().as_ref(), b"still here");
}

#[tokio::test]
async fn garbage_on_tcp_gets_400_and_connection_keeps_working() {
    let (server, mut server_rx) = TransportLayer::new(TransportConfig::default());
    let server_addr = server
        .bind(TransportKind::Tcp, any_port(false))
        .await
        .expect("bind");
    let mut raw = TcpStream::connect(server_addr).await.expect("connect");
    let raw_addr = raw.local_addr().expect("addr");

    let bad = format!(
        "OPTIONS sip:s@{server_addr} SIP/2.0\r\nVia: SIP/2.0/TCP {raw_addr};branch=z9hG4bKbad\r\n\
         From: <sip:c@h>;tag=1\r\nTo: <sip:s@h>\r\nCall-ID: bad-2\r\nCSeq: 1 INVITE\r\n\
         Content-Length: 0\r\n\r\n"
    );
    raw.write_all(bad.as_bytes()).await.expect("write");
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(WAIT, raw.read(&mut buf))
        .await
        .expect("400 within the timeout")
        .expect("read");
    assert!(
        buf[..n].starts_with(b"SIP/2.0 400 "),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );

    let good = request(
        "OPTIONS",
        &format!("sip:s@{server_addr}"),
        TransportKind::Tcp,
        raw_addr,
        "z9hG4bKgood",
        "good-2",
        1,
        "",
    );
    raw.write_all(&good.to_bytes()).await.expect("write");
    let incoming = next(&mut server_rx).await;
    assert_eq!(incoming.source.remote, raw_addr);
    assert!(matches!(incoming.message, Message::Request(_)));
}

#[tokio::test]
async fn tls_rejects_untrusted_and_misnamed_certificates() {
    let server_pki = pki(&["127.0.0.1"]);
    let other_pki = pki(&["127.0.0.1"]);
    let (server, mut server_rx) =
        TransportLayer::new(TransportConfig::default().with_tls(server_tls(&server_pki)));
    let server_addr = server
        .bind(TransportKind::Tls, any_port(false))
        .await
        .expect("bind");

    // Signed by a CA the client does not trust.
    let (client, _client_rx) =
        TransportLayer::new(TransportConfig::default().with_tls(client_tls(&other_pki.ca)));
    let mut req = request(
        "OPTIONS",
        &format!("sips:s@{server_addr}"),
        TransportKind::Tls,
        "127.0.0.1:5061".parse().expect("addr"),
        "z9hG4bKtls",
        "tls-1",
        1,
        "",
    );
    let err = client
        .send_request(&mut req, &Target::tls(server_addr, "127.0.0.1"))
        .await
        .expect_err("untrusted certificate");
    assert!(matches!(err, TransportError::Tls { .. }), "{err:?}");

    // Trusted CA, but the certificate is not valid for the name asked for.
    let (client, _client_rx) =
        TransportLayer::new(TransportConfig::default().with_tls(client_tls(&server_pki.ca)));
    let err = client
        .send_request(&mut req, &Target::tls(server_addr, "sip.example.com"))
        .await
        .expect_err("wrong name");
    assert!(matches!(err, TransportError::Tls { .. }), "{err:?}");
    assert_eq!(client.connection_count(), 0);

    // And TLS without any configuration is an error, not a plaintext fallback.
    let (plain, _rx) = TransportLayer::new(TransportConfig::default());
    let err = plain
        .send_request(&mut req, &Target::tls(server_addr, "127.0.0.1"))
        .await
        .expect_err("no TLS config");
    assert!(
        matches!(err, TransportError::TlsNotConfigured { .. }),
        "{err:?}"
    );

    assert!(server_rx.try_recv().is_err(), "nothing was delivered");
}

#[tokio::test]
async fn large_request_switches_from_udp_to_tcp() {
    let (server, server_rx) = TransportLayer::new(TransportConfig::default());
    let server = Arc::new(server);
    // UDP and TCP on the same port, as RFC 3261 §18.1.1 expects of a server.
    let mut server_addr = None;
    for _ in 0..10 {
        let udp = server
            .bind(TransportKind::Udp, any_port(false))
            .await
            .expect("bind");
        if server.bind(TransportKind::Tcp, udp).await.is_ok() {
            server_addr = Some(udp);
            break;
        }
    }
    let server_addr = server_addr.expect("a port free for UDP and TCP");
    let (client, mut client_rx) = TransportLayer::new(TransportConfig::default());
    let client_addr = client
        .bind(TransportKind::Udp, any_port(false))
        .await
        .expect("bind");
    let (stop, stopped) = oneshot::channel();
    let responder = spawn_responder(server.clone(), server_rx, stopped);

    let uri = format!("sip:s@{server_addr}");
    let mut small = request(
        "MESSAGE",
        &uri,
        TransportKind::Udp,
        client_addr,
        "z9hG4bKs",
        "s",
        1,
        "x",
    );
    let sent = client
        .send_request(&mut small, &Target::udp(server_addr))
        .await
        .expect("sent");
    assert_eq!(sent.transport, TransportKind::Udp);
    expect_response(next(&mut client_rx).await);

    let body = "x".repeat(2000);
    let mut large = request(
        "MESSAGE",
        &uri,
        TransportKind::Udp,
        client_addr,
        "z9hG4bKl",
        "l",
        2,
        &body,
    );
    let sent = client
        .send_request(&mut large, &Target::udp(server_addr))
        .await
        .expect("sent");
    assert_eq!(sent.transport, TransportKind::Tcp, "over 1300 bytes: TCP");
    assert_eq!(large.top_via().map(|v| v.transport()), Some(Transport::Tcp));
    let resp = expect_response(next(&mut client_rx).await);
    assert_eq!(resp.call_id().map(|c| c.as_str()), Some("l"));
    assert_eq!(client.connection_count(), 1);

    stop.send(()).expect("responder running");
    let seen = responder.await.expect("responder");
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].source.transport, TransportKind::Udp);
    assert_eq!(seen[1].source.transport, TransportKind::Tcp);
    assert!(seen[1].top_via.starts_with(b"SIP/2.0/TCP "), "Via updated");

    // A destination without TCP: the refused connect falls back to UDP (§18.1.1).
    let (udp_only, mut udp_only_rx) = TransportLayer::new(TransportConfig::default());
    let udp_only_addr = udp_only
        .bind(TransportKind::Udp, any_port(false))
        .await
        .expect("bind");
    if TcpListener::bind(udp_only_addr).await.is_ok() {
        // Nothing listens on TCP at that port once the probe listener is dropped.
        let mut large = request(
            "MESSAGE",
            &format!("sip:s@{udp_only_addr}"),
            TransportKind::Udp,
            client_addr,
            "z9hG4bKfb",
            "fb",
            3,
            &body,
        );
        let sent = client
            .send_request(&mut large, &Target::udp(udp_only_addr))
            .await
            .expect("sent");
        assert_eq!(sent.transport, TransportKind::Udp, "fell back to UDP");
        assert_eq!(large.top_via().map(|v| v.transport()), Some(Transport::Udp));
        let incoming = next(&mut udp_only_rx).await;
        assert_eq!(incoming.source.transport, TransportKind::Udp);
    }
}

#[tokio::test]
async fn keep_alive_ping_pong_both_ways() {
    let (server, server_rx) = TransportLayer::new(TransportConfig::default());
    let server = Arc::new(server);
    let server_addr = server
        .bind(TransportKind::Tcp, any_port(false))
        .await
        .expect("bind");
    let (stop, stopped) = oneshot::channel();
    let responder = spawn_responder(server.clone(), server_rx, stopped);

    // Peer pings us: CRLFCRLF is answered with CRLF (RFC 5626 §3.5.1) ...
    let mut raw = TcpStream::connect(server_addr).await.expect("connect");
    let raw_addr = raw.local_addr().expect("addr");
    raw.write_all(b"\r\n\r\n").await.expect("ping");
    let mut pong = [0u8; 2];
    tokio::time::timeout(WAIT, raw.read_exact(&mut pong))
        .await
        .expect("pong within the timeout")
        .expect("read");
    assert_eq!(&pong, b"\r\n");
    // ... and the connection still carries SIP.
    let req = request(
        "OPTIONS",
        &format!("sip:s@{server_addr}"),
        TransportKind::Tcp,
        raw_addr,
        "z9hG4bKka",
        "ka-1",
        1,
        "",
    );
    raw.write_all(&req.to_bytes()).await.expect("write");
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(WAIT, raw.read(&mut buf))
        .await
        .expect("200 within the timeout")
        .expect("read");
    assert!(buf[..n].starts_with(b"SIP/2.0 200 OK\r\n"));

    // We ping a peer and wait for its pong.
    let peer = TcpListener::bind(any_port(false)).await.expect("bind");
    let peer_addr = peer.local_addr().expect("addr");
    let (client, _client_rx) = TransportLayer::new(TransportConfig::default());
    let peer_task = tokio::spawn(async move {
        let (mut s, _) = peer.accept().await.expect("accept");
        let mut ping = [0u8; 4];
        s.read_exact(&mut ping).await.expect("ping");
        assert_eq!(&ping, b"\r\n\r\n");
        s.write_all(b"\r\n").await.expect("pong");
        // Hold the connection until the client is done.
        let mut rest = [0u8; 1];
        let _ = s.read(&mut rest).await;
    });
    client
        .keep_alive(&Target::tcp(peer_addr), WAIT)
        .await
        .expect("pong received");
    assert!(matches!(
        client.keep_alive(&Target::udp(peer_addr), WAIT).await,
        Err(TransportError::KeepAliveOnUdp)
    ));
    drop(client);
    tokio::time::timeout(WAIT, peer_task)
        .await
        .expect("peer done")
        .expect("peer ok");

    stop.send(()).expect("responder running");
    responder.await.expect("responder");
}

#[tokio::test]
async fn idle_connection_is_closed() {
    let config = TransportConfig::default().with_idle_timeout(Duration::from_millis(200));
    let (server, _rx) = TransportLayer::new(config);
    let server_addr = server
        .bind(TransportKind::Tcp, any_port(true))
        .await
        .expect("bind");
    let mut raw = TcpStream::connect(server_addr).await.expect("connect");
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(WAIT, raw.read(&mut buf))
        .await
        .expect("closed within the timeout")
        .expect("read");
    assert_eq!(n, 0, "EOF after the idle timeout");
    assert_eq!(server.connection_count(), 0);
}

#[tokio::test]
async fn connection_limit_refuses_extra_connections() {
    let config = TransportConfig::default().with_max_connections(1);
    let (server, _rx) = TransportLayer::new(config);
    let server_addr = server
        .bind(TransportKind::Tcp, any_port(false))
        .await
        .expect("bind");

    async fn ping(s: &mut TcpStream) -> bool {
        if s.write_all(b"\r\n\r\n").await.is_err() {
            return false;
        }
        let mut pong = [0u8; 2];
        matches!(
            tokio::time::timeout(WAIT, s.read_exact(&mut pong)).await,
            Ok(Ok(_)) if &pong == b"\r\n"
        )
    }

    let mut first = TcpStream::connect(server_addr).await.expect("connect");
    assert!(ping(&mut first).await, "first connection served");
    assert_eq!(server.connection_count(), 1);

    let mut second = TcpStream::connect(server_addr).await.expect("connect");
    let mut buf = [0u8; 2];
    let read = tokio::time::timeout(WAIT, second.read(&mut buf))
        .await
        .expect("closed within the timeout");
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "second connection closed: {read:?}"
    );
    assert!(ping(&mut first).await, "first connection still served");
    assert_eq!(server.connection_count(), 1);

    // Outgoing connections count too.
    let elsewhere = TcpListener::bind(any_port(false)).await.expect("bind");
    let err = server
        .send(
            &Message::Request(request(
                "OPTIONS",
                "sip:x@127.0.0.1",
                TransportKind::Tcp,
                server_addr,
                "z9hG4bKlim",
                "lim",
                1,
                "",
            )),
            &Target::tcp(elsewhere.local_addr().expect("addr")),
        )
        .await
        .expect_err("limit reached");
    assert!(
        matches!(err, TransportError::ConnectionLimit { limit: 1, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn random_input_never_stops_the_listeners() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(5060);
    let (server, mut server_rx) = TransportLayer::new(TransportConfig::default());
    let udp_addr = server
        .bind(TransportKind::Udp, any_port(false))
        .await
        .expect("bind");
    let tcp_addr = server
        .bind(TransportKind::Tcp, any_port(false))
        .await
        .expect("bind");
    let raw = UdpSocket::bind(any_port(false)).await.expect("raw socket");
    let raw_addr = raw.local_addr().expect("addr");
    let prefix = format!("OPTIONS sip:s@{udp_addr} SIP/2.0\r\nVia: SIP/2.0/UDP {raw_addr}\r\n");

    for i in 0..200 {
        let len = rng.random_range(0..1500);
        let mut junk: Vec<u8> = (0..len).map(|_| rng.random::<u8>()).collect();
        if i % 2 == 0 {
            // Half start like a request, to reach deeper into the parser.
            junk.splice(0..0, prefix.bytes());
        }
        raw.send_to(&junk, udp_addr).await.expect("send");
        let mut tcp = TcpStream::connect(tcp_addr).await.expect("connect");
        // The server may close on lost framing; a failed write is fine.
        let _ = tcp.write_all(&junk).await;
    }

    // Both listeners still deliver valid requests.
    for (kind, addr) in [
        (TransportKind::Udp, udp_addr),
        (TransportKind::Tcp, tcp_addr),
    ] {
        let req = request(
            "OPTIONS",
            &format!("sip:s@{addr}"),
            kind,
            raw_addr,
            "z9hG4bKafter",
            &format!("after-{kind}"),
            1,
            "",
        );
        // The TCP stream stays open until its request is delivered.
        let _stream = match kind {
            TransportKind::Udp => {
                raw.send_to(&req.to_bytes(), addr).await.expect("send");
                None
            }
            _ => {
                let mut tcp = TcpStream::connect(addr).await.expect("connect");
                tcp.write_all(&req.to_bytes()).await.expect("write");
                Some(tcp)
            }
        };
        let want = format!("after-{kind}");
        // Junk that happened to parse may be queued first; skip it (bounded by `next`).
        loop {
            let incoming = next(&mut server_rx).await;
            if let Message::Request(r) = incoming.message {
                if r.call_id().map(|c| c.as_str()) == Some(want.as_str()) {
                    assert_eq!(incoming.source.transport, kind);
                    break;
                }
            }
        }
    }
}
