//! A throw-away certificate authority for the demo: one CA and one leaf certificate
//! for 127.0.0.1, made at start-up, so TLS and QUIC verify certificates exactly as a
//! deployment would, without any file on disk.

use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::exit::CliError;

/// The CA certificate and a leaf (chain and key) it signed for 127.0.0.1.
pub(crate) struct DemoPki {
    pub(crate) ca: CertificateDer<'static>,
    pub(crate) chain: Vec<CertificateDer<'static>>,
    pub(crate) key: PrivateKeyDer<'static>,
}

impl DemoPki {
    pub(crate) fn new() -> Result<DemoPki, CliError> {
        let fail = |e: rcgen::Error| CliError::Internal(format!("demo certificates: {e}"));
        let ca_key = rcgen::KeyPair::generate().map_err(fail)?;
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(fail)?;
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "ucc demo CA");
        let ca = ca_params.self_signed(&ca_key).map_err(fail)?;
        let key = rcgen::KeyPair::generate().map_err(fail)?;
        let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .map_err(fail)?
            .signed_by(&key, &ca, &ca_key)
            .map_err(fail)?;
        Ok(DemoPki {
            ca: ca.der().clone(),
            chain: vec![leaf.der().clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        })
    }
}
