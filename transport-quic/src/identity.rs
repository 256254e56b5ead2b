//! Who the peers are: this endpoint's certificate, the trust it places in others (root
//! certificates, SHA-256 fingerprint pins), and the rustls configurations built from
//! them.
//!
//! One verifier ([`PeerVerifier`]) checks both directions: a server certificate when
//! this endpoint calls, a client certificate when it is called. A certificate whose
//! SHA-256 fingerprint is pinned is accepted as is (the self-signed deployment: name and
//! chain are not checked, the pin *is* the identity); any other certificate must chain
//! to a configured root (and, for a server, be valid for the name dialled). There is no
//! switch that skips verification.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use rustls::DistinguishedName;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};

use crate::error::QuicError;

/// The ALPN protocol id of this version of the protocol.
pub const ALPN: &[u8] = b"ucc/1";

/// The SHA-256 fingerprint of a DER certificate (the pin of a self-signed peer).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of `cert`.
    pub fn of(cert: &CertificateDer<'_>) -> Self {
        Self(Sha256::digest(cert.as_ref()).into())
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex without separators (64 characters).
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Display for Fingerprint {
    /// `AB:CD:…` — the form `openssl x509 -fingerprint -sha256` prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// A fingerprint that did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a SHA-256 fingerprint is 32 hex bytes, optionally colon-separated: {0:?}")]
pub struct FingerprintParseError(pub String);

impl FromStr for Fingerprint {
    type Err = FingerprintParseError;

    /// Parses 64 hex digits, with or without `:` between the bytes, any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits: Vec<u8> = s.bytes().filter(|b| *b != b':').collect();
        let bad = || FingerprintParseError(s.chars().take(100).collect());
        if digits.len() != 64 {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (i, pair) in digits.chunks_exact(2).enumerate() {
            let text = std::str::from_utf8(pair).map_err(|_| bad())?;
            out[i] = u8::from_str_radix(text, 16).map_err(|_| bad())?;
        }
        Ok(Self(out))
    }
}

/// This endpoint's certificate chain (end entity first) and private key.
pub struct LocalCertificate {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl fmt::Debug for LocalCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalCertificate")
            .field("fingerprint", &self.fingerprint())
            .field("chain", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl Clone for LocalCertificate {
    fn clone(&self) -> Self {
        Self {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl LocalCertificate {
    /// A certificate chain (end entity first, not empty) and its private key.
    pub fn new(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Self {
        Self { chain, key }
    }

    /// The end-entity certificate's fingerprint (what peers pin). An empty chain has
    /// the fingerprint of an empty certificate (and fails at handshake).
    pub fn fingerprint(&self) -> Fingerprint {
        self.chain.first().map_or_else(
            || Fingerprint::of(&CertificateDer::from(Vec::new())),
            Fingerprint::of,
        )
    }

    /// The chain.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    pub(crate) fn key(&self) -> PrivateKeyDer<'static> {
        self.key.clone_key()
    }
}

/// Whether callers must present a certificate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClientAuth {
    /// Callers are not asked for a certificate.
    Off,
    /// Callers are asked; one that presents a certificate must pass verification, one
    /// that presents none is accepted anonymously.
    #[default]
    Optional,
    /// Callers must present a certificate that passes verification.
    Required,
}

/// Which peer certificates are trusted.
#[derive(Clone, Debug, Default)]
pub struct Trust {
    /// Root certificates (CA) a peer's chain may end in.
    pub roots: Vec<CertificateDer<'static>>,
    /// SHA-256 fingerprints of end-entity certificates accepted as they are.
    pub pins: Vec<Fingerprint>,
}

/// Verifies peer certificates against pins, then roots; see the module docs.
#[derive(Debug)]
pub(crate) struct PeerVerifier {
    pins: Vec<Fingerprint>,
    server: Option<Arc<WebPkiServerVerifier>>,
    client: Option<Arc<dyn ClientCertVerifier>>,
    client_auth: ClientAuth,
    provider: Arc<CryptoProvider>,
}

fn untrusted() -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
}

impl PeerVerifier {
    pub(crate) fn new(
        trust: &Trust,
        client_auth: ClientAuth,
        provider: Arc<CryptoProvider>,
    ) -> Result<Self, QuicError> {
        if trust.roots.is_empty() && trust.pins.is_empty() {
            return Err(QuicError::NoTrust);
        }
        let (server, client) = if trust.roots.is_empty() {
            (None, None)
        } else {
            let mut store = RootCertStore::empty();
            for root in &trust.roots {
                store.add(root.clone()).map_err(|source| QuicError::Tls {
                    what: "root certificate",
                    source,
                })?;
            }
            let store = Arc::new(store);
            let server =
                WebPkiServerVerifier::builder_with_provider(store.clone(), provider.clone())
                    .build()
                    .map_err(|e| QuicError::Verifier {
                        what: "server",
                        reason: e.to_string(),
                    })?;
            let client = WebPkiClientVerifier::builder_with_provider(store, provider.clone())
                .allow_unauthenticated()
                .build()
                .map_err(|e| QuicError::Verifier {
                    what: "client",
                    reason: e.to_string(),
                })?;
            (Some(server), Some(client))
        };
        Ok(Self {
            pins: trust.pins.clone(),
            server,
            client,
            client_auth,
            provider,
        })
    }

    fn pinned(&self, cert: &CertificateDer<'_>) -> bool {
        !self.pins.is_empty() && self.pins.contains(&Fingerprint::of(cert))
    }
}

impl ServerCertVerifier for PeerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.pinned(end_entity) {
            return Ok(ServerCertVerified::assertion());
        }
        match &self.server {
            Some(v) => {
                v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            None => Err(untrusted()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

impl ClientCertVerifier for PeerVerifier {
    fn offer_client_auth(&self) -> bool {
        self.client_auth != ClientAuth::Off
    }

    fn client_auth_mandatory(&self) -> bool {
        self.client_auth == ClientAuth::Required
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if self.pinned(end_entity) {
            return Ok(ClientCertVerified::assertion());
        }
        match &self.client {
            Some(v) => v.verify_client_cert(end_entity, intermediates, now),
            None => Err(untrusted()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        ServerCertVerifier::verify_tls12_signature(self, message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        ServerCertVerifier::verify_tls13_signature(self, message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        ServerCertVerifier::supported_verify_schemes(self)
    }
}

/// Builds the rustls client and server configurations (TLS 1.3 only, ALPN `ucc/1`).
pub(crate) fn rustls_configs(
    certificate: &LocalCertificate,
    trust: &Trust,
    client_auth: ClientAuth,
    send_client_certificate: bool,
    zero_rtt: bool,
) -> Result<(rustls::ClientConfig, rustls::ServerConfig), QuicError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(PeerVerifier::new(trust, client_auth, provider.clone())?);
    let tls = |what, source| QuicError::Tls { what, source };
    let client = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| tls("client", e))?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone());
    let mut client = if send_client_certificate {
        client
            .with_client_auth_cert(certificate.chain().to_vec(), certificate.key())
            .map_err(|e| tls("client certificate", e))?
    } else {
        client.with_no_client_auth()
    };
    client.alpn_protocols = vec![ALPN.to_vec()];
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| tls("server", e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certificate.chain().to_vec(), certificate.key())
        .map_err(|e| tls("server certificate", e))?;
    server.alpn_protocols = vec![ALPN.to_vec()];
    if zero_rtt {
        // Resumption stays stateful (no ticketer: the ticket is a key into the server's
        // session cache, which `take`s it), so every ticket is single-use and a
        // replayed ClientHello gets its 0-RTT data rejected (RFC 8446 §8.1). rustls
        // accepts early data only with stateful resumption. QUIC allows no other
        // early-data limit than u32::MAX (RFC 9001 §4.6.1).
        client.enable_early_data = true;
        server.max_early_data_size = u32::MAX;
    }
    Ok((client, server))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_text_round_trips() {
        let fp = Fingerprint::of(&CertificateDer::from(vec![1, 2, 3]));
        let colon = fp.to_string();
        assert_eq!(colon.len(), 32 * 3 - 1);
        assert_eq!(colon.parse::<Fingerprint>(), Ok(fp));
        assert_eq!(fp.to_hex().parse::<Fingerprint>(), Ok(fp));
        assert!("zz".parse::<Fingerprint>().is_err());
        assert!(
            format!("{}g", &fp.to_hex()[1..])
                .parse::<Fingerprint>()
                .is_err()
        );
    }
}
