//! One user agent: the transport `[transport]` names, a media engine, and one endpoint
//! for `[account]`. `ucc agent`, `call`, `message` and `register` all start here.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use media_av::engine::{AvEngine, Monitor};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use session_core::endpoint::{Credential, CredentialCache};
use session_core::{Endpoint, EndpointConfig, Platform, Uri};
use transport_quic::{Fingerprint, LocalCertificate, QuicConfig, QuicTransport};
use transport_sip::transport::TlsConfig;
use transport_sip::ua::{SipConfig, SipTransport};

use super::config::{NetTransport, Settings, TransportSettings};
use crate::exit::CliError;

/// How long the transport may take to close on the way out.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(1);

/// A started user agent (transport bound, endpoint created, not yet enabled).
pub(crate) struct Ua {
    /// Keeps the transport alive; shut down on the way out.
    platform: Platform,
    /// The endpoint of `[account]`.
    pub(crate) endpoint: Endpoint,
    /// The transport's name.
    pub(crate) transport: &'static str,
    /// The media engine's counters.
    pub(crate) monitor: Monitor,
    /// QUIC: the SHA-256 fingerprint of our certificate (what peers `pin`).
    pub(crate) fingerprint: Option<String>,
}

impl Ua {
    /// Binds the transport of `settings` and creates the endpoint, media from `engine`.
    pub(crate) async fn start(settings: &Settings, engine: Arc<AvEngine>) -> Result<Ua, CliError> {
        let monitor = engine.monitor();
        let t = &settings.transport;
        let account = &settings.account;
        let user = account.user.as_deref().unwrap_or("ucc");
        let mut fingerprint = None;
        let (platform, local_uri) = match t.kind {
            NetTransport::SipUdp | NetTransport::SipTcp | NetTransport::SipTls => {
                let mut config = match t.kind {
                    NetTransport::SipTcp => SipConfig::tcp(t.listen),
                    NetTransport::SipTls => SipConfig::tls(t.listen, tls(t)?),
                    _ => SipConfig::udp(t.listen),
                };
                if let Some(r) = &account.registrar {
                    config = config.with_registrar(sip_uri("registrar", r)?);
                }
                if let Some(p) = &account.outbound_proxy {
                    config = config.with_outbound_proxy(sip_uri("outbound proxy", p)?);
                }
                let sip = SipTransport::bind(config).await.map_err(|e| {
                    CliError::Setup(format!("SIP listener on {}: {}", t.listen, with_causes(&e)))
                })?;
                let uri = format!("sip:{user}@{}", sip.local_addr());
                let platform = Platform::builder()
                    .name("ucc")
                    .transport(sip)
                    .media_engine(engine)
                    .build();
                (platform, uri)
            }
            NetTransport::Quic => {
                let (chain, key) = identity(t)?.ok_or_else(|| {
                    CliError::Usage("quic needs a certificate: set cert and key".into())
                })?;
                if account.registrar.is_some() || account.outbound_proxy.is_some() {
                    tracing::warn!(
                        "registrar and outbound_proxy are SIP settings: ignored over quic"
                    );
                }
                let certificate = LocalCertificate::new(chain, key);
                fingerprint = Some(certificate.fingerprint().to_hex());
                let mut config = QuicConfig::new(certificate).bind(t.listen);
                if let Some(ca) = &t.ca {
                    for root in certificates(ca)? {
                        config = config.root(root);
                    }
                }
                if let Some(pin) = &t.pin {
                    let fp: Fingerprint = pin.parse().map_err(|_| {
                        CliError::Usage(format!(
                            "pin `{pin}`: not a SHA-256 fingerprint (64 hex digits)"
                        ))
                    })?;
                    config = config.pin(fp);
                }
                if t.ca.is_none() && t.pin.is_none() {
                    return Err(CliError::Usage(
                        "quic needs ca or pin to verify peers".into(),
                    ));
                }
                let quic = QuicTransport::new(config).map_err(|e| {
                    CliError::Setup(format!(
                        "QUIC endpoint on {}: {}",
                        t.listen,
                        with_causes(&e)
                    ))
                })?;
                let uri = quic
                    .uri(user)
                    .map_err(|e| CliError::Internal(format!("QUIC address: {e}")))?
                    .to_string();
                let platform = Platform::builder()
                    .name("ucc")
                    .transport(quic)
                    .media_engine(engine)
                    .build();
                (platform, uri)
            }
        };
        let uri = parse_uri("uri", account.uri.as_deref().unwrap_or(&local_uri))?;
        let mut config = EndpointConfig::new(uri);
        if let Some(password) = &account.password {
            let realm = account
                .realm
                .as_deref()
                .unwrap_or(CredentialCache::ANY_REALM);
            config = config.credential(realm, Credential::new(user, password.clone()));
        }
        let endpoint = platform
            .create_endpoint(config)
            .map_err(|e| CliError::from_library("create endpoint", e))?;
        Ok(Ua {
            platform,
            endpoint,
            transport: t.kind.name(),
            monitor,
            fingerprint,
        })
    }

    /// Enables the endpoint (registers when a registrar is set), bounded by `timeout`.
    pub(crate) async fn enable(&self, timeout: Duration) -> Result<(), CliError> {
        let op = self
            .endpoint
            .enable(None)
            .map_err(|e| CliError::from_library("register", e))?;
        bounded("register", timeout, op).await
    }

    /// Releases the transport on the way out (QUIC connections and SIP streams close),
    /// so that peers learn at once rather than by a timeout. Bounded by
    /// [`SHUTDOWN_TIMEOUT`]; a failure is only logged: what the command did is done.
    pub(crate) async fn shutdown(&self) {
        match self.platform.shutdown(None) {
            Ok(op) => match tokio::time::timeout(SHUTDOWN_TIMEOUT, op).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!(error = %e, "transport shutdown failed"),
                Err(_) => tracing::debug!("transport shutdown timed out"),
            },
            Err(e) => tracing::debug!(error = %e, "transport shutdown refused"),
        }
    }

    /// Disables the endpoint (unregisters), bounded by `timeout`.
    pub(crate) async fn disable(&self, timeout: Duration) -> Result<(), CliError> {
        let op = self
            .endpoint
            .disable(None)
            .map_err(|e| CliError::from_library("unregister", e))?;
        bounded("unregister", timeout, op).await
    }
}

/// Awaits a library operation for at most `timeout` (exit 4 when it runs out).
pub(crate) async fn bounded<T>(
    what: &'static str,
    timeout: Duration,
    fut: impl Future<Output = Result<T, session_core::Error>>,
) -> Result<T, CliError> {
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| CliError::Timeout(what))?
        .map_err(|e| CliError::from_library(what, e))
}

/// A URI from the command line or the file.
pub(crate) fn parse_uri(what: &str, s: &str) -> Result<Uri, CliError> {
    Uri::parse(s).map_err(|e| CliError::Usage(format!("{what} `{s}`: {e}")))
}

fn sip_uri(what: &str, s: &str) -> Result<transport_sip::Uri, CliError> {
    transport_sip::Uri::parse(s.as_bytes())
        .map_err(|e| CliError::Usage(format!("{what} `{s}`: {e}")))
}

/// SIP over TLS: roots from `ca` (required), our identity from `cert`/`key` (to listen).
fn tls(t: &TransportSettings) -> Result<TlsConfig, CliError> {
    let ca = t.ca.as_ref().ok_or_else(|| {
        CliError::Usage("sip-tls needs ca (the roots servers are verified against)".into())
    })?;
    let mut config = TlsConfig::with_roots(certificates(ca)?)
        .map_err(|e| CliError::Setup(format!("TLS roots: {e}")))?;
    if let Some((chain, key)) = identity(t)? {
        config = config
            .with_identity(chain, key)
            .map_err(|e| CliError::Setup(format!("TLS certificate: {e}")))?;
    }
    Ok(config)
}

type Identity = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

fn identity(t: &TransportSettings) -> Result<Option<Identity>, CliError> {
    match (&t.cert, &t.key) {
        (Some(cert), Some(key)) => {
            let chain = certificates(cert)?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| CliError::Setup(format!("key {}: {e}", key.display())))?;
            Ok(Some((chain, key)))
        }
        (None, None) => Ok(None),
        _ => Err(CliError::Usage("cert and key go together".into())),
    }
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, CliError> {
    let fail = |e: &dyn std::fmt::Display| CliError::Setup(format!("{}: {e}", path.display()));
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| fail(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(&e))?;
    if certs.is_empty() {
        return Err(fail(&"no certificate in the file"));
    }
    Ok(certs)
}

/// An error and its causes on one line (`binding …: Address already in use`).
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}
