//! Test certificates (rcgen) and transports on loopback.

#![allow(dead_code, unreachable_pub)] // each test file uses part of this module

pub mod relay;

use std::net::SocketAddr;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use transport_quic::{LocalCertificate, QuicConfig, QuicTransport};

/// A test certificate authority.
pub struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    pub fn new(name: &str) -> Self {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.self_signed(&key).expect("CA certificate");
        Self { cert, key }
    }

    pub fn root(&self) -> CertificateDer<'static> {
        self.cert.der().clone()
    }

    /// A leaf for `localhost`, 127.0.0.1 and ::1 signed by this CA.
    pub fn leaf(&self, name: &str) -> LocalCertificate {
        let key = KeyPair::generate().expect("leaf key");
        let mut params = CertificateParams::new(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ])
        .expect("leaf params");
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .expect("leaf certificate");
        LocalCertificate::new(vec![cert.der().clone()], pkcs8(&key))
    }
}

fn pkcs8(key: &KeyPair) -> PrivateKeyDer<'static> {
    PrivatePkcs8KeyDer::from(key.serialize_der()).into()
}

/// A self-signed certificate for localhost / 127.0.0.1 / ::1.
pub fn self_signed() -> LocalCertificate {
    let key = KeyPair::generate().expect("key");
    let cert = CertificateParams::new(vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ])
    .expect("params")
    .self_signed(&key)
    .expect("certificate");
    LocalCertificate::new(vec![cert.der().clone()], pkcs8(&key))
}

pub fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().expect("address")
}

/// A transport on 127.0.0.1 with a leaf of `ca`, trusting `ca`.
pub fn transport(ca: &Ca, name: &str) -> QuicTransport {
    QuicTransport::new(
        QuicConfig::new(ca.leaf(name))
            .bind(loopback())
            .root(ca.root()),
    )
    .expect("transport")
}
