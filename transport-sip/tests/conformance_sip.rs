//! The session-core conformance suite over SIP: every scenario the memory transport
//! passes, run between real SIP stacks on loopback.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use session_core::testkit::Harness;
use session_core::{Endpoint, EndpointConfig, Platform, Uri};
use transport_sip::transport::TlsConfig;
use transport_sip::ua::{SipConfig, SipTransport};

/// Each user gets its own SIP stack on an ephemeral loopback port.
struct Sip {
    make: fn() -> SipConfig,
    users: Mutex<HashMap<String, (Uri, Platform)>>,
}

impl Sip {
    fn new(make: fn() -> SipConfig) -> Sip {
        Sip {
            make,
            users: Mutex::new(HashMap::new()),
        }
    }
}

#[async_trait]
impl Harness for Sip {
    async fn endpoint(&self, user: &str) -> Endpoint {
        let sip = SipTransport::bind((self.make)()).await.expect("bind");
        let uri = Uri::parse(&format!("sip:{user}@{}", sip.local_addr())).expect("uri");
        let platform = Platform::builder().transport(sip).build();
        let endpoint = platform
            .create_endpoint(EndpointConfig::new(uri.clone()))
            .expect("endpoint");
        self.users
            .lock()
            .unwrap()
            .insert(user.to_owned(), (uri, platform));
        endpoint
    }

    fn uri(&self, user: &str) -> Uri {
        self.users.lock().unwrap()[user].0.clone()
    }
}

fn udp() -> SipConfig {
    SipConfig::udp("127.0.0.1:0".parse().unwrap())
}

fn tcp() -> SipConfig {
    SipConfig::tcp("127.0.0.1:0".parse().unwrap())
}

/// TLS with a test CA made once per process: every stack trusts it and presents a
/// certificate it signed for 127.0.0.1, so certificates are verified as in production.
fn tls() -> SipConfig {
    static PKI: std::sync::OnceLock<TlsConfig> = std::sync::OnceLock::new();
    let tls = PKI.get_or_init(|| {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "ucc-rs conformance CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .unwrap()
            .signed_by(&key, &ca, &ca_key)
            .unwrap();
        TlsConfig::with_roots([ca.der().clone()])
            .unwrap()
            .with_identity(
                vec![cert.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .unwrap()
    });
    SipConfig::tls("127.0.0.1:0".parse().unwrap(), tls.clone())
}

session_core::conformance_suite!(sip_udp, Sip::new(udp));
session_core::conformance_suite!(sip_tcp, Sip::new(tcp));
session_core::conformance_suite!(sip_tls, Sip::new(tls));
