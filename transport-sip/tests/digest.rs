//! Digest authentication: RFC 7616 §3.9.1 and RFC 2617 §3.5 vectors, client state
//! (nc, stale, refused credentials, realms, proxies) and the verifier.

use rand::SeedableRng;
use rand::rngs::StdRng;
use transport_sip::auth::{
    Algorithm, AuthTarget, Challenge, ChallengeOutcome, CredentialStore, Credentials, DigestClient,
    DigestParams, DigestVerifier, Qop, VerifyError, compute_response,
};
use transport_sip::header::{Auth, Header};
use transport_sip::{Method, Request, Response, StatusCode, Uri};

const RFC7616_NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
const RFC7616_CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
const RFC7616_OPAQUE: &str = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";
const RFC7616_MD5: &str = "8ca523f5e9506fed4657c9700eebdbec";
const RFC7616_SHA256: &str = "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1";
const RFC2617_RESPONSE: &str = "6629fae49393a05397450978507c4ef1";

fn get() -> Method {
    Method::parse(b"GET").expect("token")
}

fn challenged(status: u16, headers: &[(&str, &str)]) -> Response {
    let mut r = Response::new(StatusCode::new(status).expect("code"));
    for (name, value) in headers {
        let auth = Auth::parse(value.as_bytes()).expect("valid challenge");
        r.headers_mut().push(match *name {
            "WWW-Authenticate" => Header::WwwAuthenticate(auth),
            _ => Header::ProxyAuthenticate(auth),
        });
    }
    r
}

fn rfc7616_challenge(algorithm: &str) -> String {
    format!(
        r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={algorithm}, nonce="{RFC7616_NONCE}", opaque="{RFC7616_OPAQUE}""#
    )
}

fn mufasa(realm: &str, password: &str) -> DigestClient {
    let mut store = CredentialStore::new();
    store.insert(realm, Credentials::new("Mufasa", password));
    DigestClient::new(store)
}

fn authorization(h: &Header) -> &Auth {
    match h {
        Header::Authorization(a) | Header::ProxyAuthorization(a) => a,
        other => panic!("not credentials: {other:?}"),
    }
}

fn param(a: &Auth, name: &str) -> String {
    String::from_utf8(a.param(name).expect(name).into_owned()).expect("utf8")
}

#[test]
fn rfc7616_md5_and_sha256_vectors_pure() {
    for (algorithm, expected) in [
        (Algorithm::Md5, RFC7616_MD5),
        (Algorithm::Sha256, RFC7616_SHA256),
    ] {
        let r = compute_response(&DigestParams {
            algorithm,
            username: "Mufasa",
            realm: "http-auth@example.org",
            password: "Circle of Life",
            method: b"GET",
            uri: b"/dir/index.html",
            nonce: RFC7616_NONCE,
            qop: Some(Qop::Auth),
            nc: 1,
            cnonce: RFC7616_CNONCE,
            body: b"",
        });
        assert_eq!(r, expected, "{algorithm:?}");
    }
}

#[test]
fn rfc7616_client_picks_sha256_and_matches_vector() {
    // §3.9.1: the server offers SHA-256 and MD5 for one realm; SHA-256 wins (§3.7).
    let resp = challenged(
        401,
        &[
            ("WWW-Authenticate", &rfc7616_challenge("SHA-256")),
            ("WWW-Authenticate", &rfc7616_challenge("MD5")),
        ],
    );
    let mut c = mufasa("http-auth@example.org", "Circle of Life");
    assert_eq!(c.handle_challenges(&resp), Ok(ChallengeOutcome::Retry));
    let h = c
        .authorization_with_cnonce(
            AuthTarget::Www,
            "http-auth@example.org",
            &get(),
            b"/dir/index.html",
            b"",
            RFC7616_CNONCE,
        )
        .expect("credentials");
    let a = authorization(&h);
    assert_eq!(a.scheme(), "Digest");
    assert_eq!(param(a, "response"), RFC7616_SHA256);
    assert_eq!(param(a, "algorithm"), "SHA-256");
    assert_eq!(param(a, "username"), "Mufasa");
    assert_eq!(param(a, "qop"), "auth");
    assert_eq!(param(a, "nc"), "00000001");
    assert_eq!(param(a, "cnonce"), RFC7616_CNONCE);
    assert_eq!(param(a, "opaque"), RFC7616_OPAQUE);
    assert_eq!(param(a, "uri"), "/dir/index.html");
}

#[test]
fn rfc7616_client_md5_vector() {
    let resp = challenged(401, &[("WWW-Authenticate", &rfc7616_challenge("MD5"))]);
    let mut c = mufasa("http-auth@example.org", "Circle of Life");
    assert_eq!(c.handle_challenges(&resp), Ok(ChallengeOutcome::Retry));
    let h = c
        .authorization_with_cnonce(
            AuthTarget::Www,
            "http-auth@example.org",
            &get(),
            b"/dir/index.html",
            b"",
            RFC7616_CNONCE,
        )
        .expect("credentials");
    assert_eq!(param(authorization(&h), "response"), RFC7616_MD5);
}

#[test]
fn rfc2617_vector_client_and_verifier() {
    let resp = challenged(
        401,
        &[(
            "WWW-Authenticate",
            r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#,
        )],
    );
    let mut c = mufasa("testrealm@host.com", "Circle Of Life");
    assert_eq!(c.handle_challenges(&resp), Ok(ChallengeOutcome::Retry));
    let h = c
        .authorization_with_cnonce(
            AuthTarget::Www,
            "testrealm@host.com",
            &get(),
            b"/dir/index.html",
            b"",
            "0a4f113b",
        )
        .expect("credentials");
    let a = authorization(&h);
    assert_eq!(param(a, "response"), RFC2617_RESPONSE);
    // No algorithm in the challenge: none echoed (RFC 2617 form).
    assert!(a.param("algorithm").is_none());

    // The RFC's own Authorization value verifies exactly.
    let rfc = Auth::parse(
        br#"Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41""#,
    )
    .expect("valid");
    let challenge = Challenge::parse(
        match &resp.headers().iter().next() {
            Some(Header::WwwAuthenticate(a)) => a,
            _ => panic!(),
        },
        AuthTarget::Www,
    )
    .expect("challenge");
    let mut v = DigestVerifier::new(challenge);
    let pw = |u: &str| (u == "Mufasa").then(|| "Circle Of Life".to_owned());
    assert_eq!(
        v.verify(&rfc, &get(), b"/dir/index.html", b"", pw)
            .map(|x| x.username),
        Ok("Mufasa".to_owned())
    );
    // The same nc again is a replay.
    assert_eq!(
        v.verify(&rfc, &get(), b"/dir/index.html", b"", pw),
        Err(VerifyError::Replay(1))
    );
    // A wrong password fails.
    let mut v2 = v.clone();
    v2.renew("dcd98b7102dd2f0e8b11d0f600bfb0c093", false);
    assert_eq!(
        v2.verify(&rfc, &get(), b"/dir/index.html", b"", |_| Some("x".into())),
        Err(VerifyError::BadResponse)
    );
    // Another Request-URI fails.
    assert_eq!(
        v2.verify(&rfc, &get(), b"/other", b"", pw),
        Err(VerifyError::UriMismatch)
    );
    // A valid digest over an old nonce is stale.
    v2.renew("fresh", true);
    assert_eq!(
        v2.verify(&rfc, &get(), b"/dir/index.html", b"", pw),
        Err(VerifyError::StaleNonce)
    );
}

fn register() -> Request {
    Request::new(
        Method::Register,
        Uri::parse(b"sip:biloxi.example.com").expect("uri"),
    )
}

fn sip_challenge(realm: &str, nonce: &str, extra: &str) -> String {
    format!(r#"Digest realm="{realm}", nonce="{nonce}", algorithm=MD5, qop="auth"{extra}"#)
}

#[test]
fn nc_counts_per_nonce_and_server_accepts_each() {
    let value = sip_challenge("biloxi.example.com", "n1", r#", opaque="op""#);
    let resp = challenged(401, &[("WWW-Authenticate", &value)]);
    let mut c = mufasa("biloxi.example.com", "pw");
    c.handle_challenges(&resp).expect("challenge");
    let challenge = Challenge::parse(&Auth::parse(value.as_bytes()).expect("v"), AuthTarget::Www)
        .expect("challenge");
    let mut server = DigestVerifier::new(challenge);
    let mut rng = StdRng::seed_from_u64(1);
    let mut cnonces = Vec::new();
    for n in 1..=3u32 {
        let mut req = register();
        c.authorize(&mut req, &mut rng).expect("authorized");
        let creds: Vec<&Header> = req.headers().iter().collect();
        assert_eq!(creds.len(), 1);
        let a = authorization(creds[0]);
        assert_eq!(param(a, "nc"), format!("{n:08x}"));
        assert_eq!(param(a, "opaque"), "op");
        cnonces.push(param(a, "cnonce"));
        let ok = server.verify(a, &Method::Register, b"sip:biloxi.example.com", b"", |_| {
            Some("pw".into())
        });
        assert!(ok.is_ok(), "{ok:?}");
    }
    cnonces.dedup();
    assert_eq!(cnonces.len(), 3, "a fresh cnonce per request");
}

#[test]
fn stale_retries_without_credentials_and_resets_nc() {
    let mut c = mufasa("biloxi.example.com", "pw");
    let mut rng = StdRng::seed_from_u64(2);
    c.handle_challenges(&challenged(
        401,
        &[(
            "WWW-Authenticate",
            &sip_challenge("biloxi.example.com", "n1", ""),
        )],
    ))
    .expect("challenge");
    let mut req = register();
    c.authorize(&mut req, &mut rng).expect("authorized");
    // Server: nonce expired, credentials fine.
    let outcome = c.handle_challenges(&challenged(
        401,
        &[(
            "WWW-Authenticate",
            &sip_challenge("biloxi.example.com", "n2", ", stale=TRUE"),
        )],
    ));
    assert_eq!(outcome, Ok(ChallengeOutcome::Retry));
    let mut req = register();
    c.authorize(&mut req, &mut rng).expect("authorized");
    let a = authorization(req.headers().iter().next().expect("header"));
    assert_eq!(param(a, "nonce"), "n2");
    assert_eq!(param(a, "nc"), "00000001");
}

#[test]
fn second_challenge_without_stale_is_rejected_not_looped() {
    let mut c = mufasa("biloxi.example.com", "wrong");
    let mut rng = StdRng::seed_from_u64(3);
    let resp = challenged(
        401,
        &[(
            "WWW-Authenticate",
            &sip_challenge("biloxi.example.com", "n1", ""),
        )],
    );
    assert_eq!(c.handle_challenges(&resp), Ok(ChallengeOutcome::Retry));
    c.authorize(&mut register(), &mut rng).expect("authorized");
    let resp = challenged(
        401,
        &[(
            "WWW-Authenticate",
            &sip_challenge("biloxi.example.com", "n2", ""),
        )],
    );
    assert_eq!(
        c.handle_challenges(&resp),
        Ok(ChallengeOutcome::Rejected {
            realms: vec!["biloxi.example.com".into()]
        })
    );
    // New credentials: the next attempt answers the latest nonce.
    c.store_mut()
        .insert("biloxi.example.com", Credentials::new("Mufasa", "right"));
    let mut req = register();
    c.authorize(&mut req, &mut rng).expect("authorized");
    let a = authorization(req.headers().iter().next().expect("header"));
    assert_eq!(param(a, "nonce"), "n2");
}

#[test]
fn unknown_realm_asks_for_credentials_and_proxy_gets_proxy_authorization() {
    let mut c = DigestClient::new(CredentialStore::new());
    let resp = challenged(
        407,
        &[
            (
                "Proxy-Authenticate",
                &sip_challenge("proxy.example.net", "p1", ""),
            ),
            ("Proxy-Authenticate", r#"Bearer realm="x""#),
        ],
    );
    assert_eq!(
        c.handle_challenges(&resp),
        Ok(ChallengeOutcome::NeedCredentials {
            realms: vec!["proxy.example.net".into()]
        })
    );
    let mut rng = StdRng::seed_from_u64(4);
    assert!(c.authorize(&mut register(), &mut rng).is_err());
    c.store_mut().set_default(Credentials::new("alice", "pw"));
    let mut req = register();
    c.authorize(&mut req, &mut rng).expect("authorized");
    let h = req.headers().iter().next().expect("header");
    assert!(matches!(h, Header::ProxyAuthorization(_)));
    assert_eq!(param(authorization(h), "username"), "alice");
    // A response with no Digest challenge is an error, not a retry.
    assert!(c.handle_challenges(&challenged(401, &[])).is_err());
}

#[test]
fn legacy_no_qop_and_sess_and_auth_int_verify() {
    let cases = [
        r#"Digest realm="r", nonce="n""#,
        r#"Digest realm="r", nonce="n", algorithm=MD5-sess, qop="auth""#,
        r#"Digest realm="r", nonce="n", algorithm=SHA-256-sess, qop="auth""#,
        r#"Digest realm="r", nonce="n", algorithm=SHA-256, qop="auth-int""#,
    ];
    for value in cases {
        let mut c = mufasa("r", "pw");
        c.handle_challenges(&challenged(401, &[("WWW-Authenticate", value)]))
            .expect("challenge");
        let mut req = register();
        req.set_body(bytes::Bytes::from_static(b"v=0\r\n"));
        c.authorize(&mut req, &mut StdRng::seed_from_u64(5))
            .expect("authorized");
        let a = authorization(
            req.headers()
                .iter()
                .find(|h| matches!(h, Header::Authorization(_)))
                .expect("header"),
        );
        let ch = Challenge::parse(&Auth::parse(value.as_bytes()).expect("v"), AuthTarget::Www)
            .expect("challenge");
        let legacy = ch.qop.is_empty();
        let mut v = DigestVerifier::new(ch);
        let r = v.verify(
            a,
            &Method::Register,
            b"sip:biloxi.example.com",
            b"v=0\r\n",
            |_| Some("pw".into()),
        );
        assert!(r.is_ok(), "{value}: {r:?}");
        assert_eq!(a.param("nc").is_none(), legacy, "{value}");
        if value.contains("auth-int") {
            // The body is protected.
            let r = v.verify(
                a,
                &Method::Register,
                b"sip:biloxi.example.com",
                b"x",
                |_| Some("pw".into()),
            );
            assert_eq!(r, Err(VerifyError::BadResponse));
        }
    }
}

#[test]
fn challenge_round_trips_through_its_header() {
    let ch = Challenge::parse(
        &Auth::parse(br#"Digest realm="a \"b\"", nonce="n", opaque="o", algorithm=SHA-256, qop="auth", stale=true"#)
            .expect("valid"),
        AuthTarget::Proxy,
    )
    .expect("challenge");
    assert_eq!(ch.realm, "a \"b\"");
    assert!(ch.stale);
    let h = ch.to_header().expect("header");
    assert!(matches!(h, Header::ProxyAuthenticate(_)));
    assert_eq!(Challenge::from_header(&h), Some(Ok(ch)));
    assert!(
        Challenge::parse(
            &Auth::parse(br#"Digest realm="r", nonce="n", algorithm=SHA-512-256"#).expect("v"),
            AuthTarget::Www
        )
        .is_err()
    );
    assert!(
        Challenge::parse(
            &Auth::parse(br#"Digest nonce="n""#).expect("v"),
            AuthTarget::Www
        )
        .is_err()
    );
}

#[test]
fn reused_nonce_rechallenged_without_stale_retries_once() {
    // A registrar that lets nonces expire without setting stale: the refresh that reused
    // the nonce (nc 2) is challenged; that is a retry, not refused credentials.
    let mut c = mufasa("biloxi.example.com", "pw");
    let mut rng = StdRng::seed_from_u64(6);
    let first = challenged(
        401,
        &[(
            "WWW-Authenticate",
            &sip_challenge("biloxi.example.com", "n1", ""),
        )],
    );
    c.handle_challenges(&first).expect("challenge");
    c.authorize(&mut register(), &mut rng).expect("nc 1");
    c.authorize(&mut register(), &mut rng)
        .expect("nc 2, reused nonce");
    let again = challenged(
        401,
        &[(
            "WWW-Authenticate",
            &sip_challenge("biloxi.example.com", "n2", ""),
        )],
    );
    assert_eq!(c.handle_challenges(&again), Ok(ChallengeOutcome::Retry));
    c.authorize(&mut register(), &mut rng).expect("nc 1 on n2");
    let third = challenged(
        401,
        &[(
            "WWW-Authenticate",
            &sip_challenge("biloxi.example.com", "n3", ""),
        )],
    );
    assert!(matches!(
        c.handle_challenges(&third),
        Ok(ChallengeOutcome::Rejected { .. })
    ));
}
