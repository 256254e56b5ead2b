//! [`TlsConfig`]: rustls client and server settings (ring provider) for `sips:` and
//! `transport=tls`, and the handshake helpers the layer uses.

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio::net::TcpStream;

use super::TransportError;

/// TLS settings: the roots that server certificates are verified against, and the
/// certificate a TLS listener presents.
///
/// Certificates are always verified; there is no switch to turn that off. Build with
/// [`TlsConfig::with_roots`] and [`TlsConfig::with_identity`], or hand in rustls
/// configurations with [`TlsConfig::new`].
#[derive(Debug, Clone)]
pub struct TlsConfig {
    client: Arc<ClientConfig>,
    server: Option<Arc<ServerConfig>>,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl TlsConfig {
    /// From ready rustls configurations; `server` is needed only for TLS listeners.
    pub fn new(client: Arc<ClientConfig>, server: Option<Arc<ServerConfig>>) -> TlsConfig {
        TlsConfig { client, server }
    }

    /// A client configuration that trusts exactly `roots` (DER certificates), with the
    /// ring crypto provider and rustls's safe protocol versions.
    pub fn with_roots(
        roots: impl IntoIterator<Item = CertificateDer<'static>>,
    ) -> Result<TlsConfig, TransportError> {
        let mut store = RootCertStore::empty();
        for root in roots {
            store.add(root).map_err(TransportError::TlsConfig)?;
        }
        let client = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(TransportError::TlsConfig)?
            .with_root_certificates(store)
            .with_no_client_auth();
        Ok(TlsConfig {
            client: Arc::new(client),
            server: None,
        })
    }

    /// Adds the certificate chain (leaf first) and private key that TLS listeners present.
    pub fn with_identity(
        mut self,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<TlsConfig, TransportError> {
        let server = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(TransportError::TlsConfig)?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(TransportError::TlsConfig)?;
        self.server = Some(Arc::new(server));
        Ok(self)
    }

    pub(crate) fn acceptor(&self) -> Option<tokio_rustls::TlsAcceptor> {
        self.server.clone().map(tokio_rustls::TlsAcceptor::from)
    }

    /// Runs the client handshake, verifying the certificate against the roots and
    /// `server_name` (or the IP address of `addr` when `None`).
    pub(crate) async fn connect(
        &self,
        tcp: TcpStream,
        addr: SocketAddr,
        server_name: Option<&str>,
    ) -> Result<tokio_rustls::client::TlsStream<TcpStream>, TransportError> {
        let name = match server_name {
            Some(n) => ServerName::try_from(n.to_owned())
                .map_err(|_| TransportError::ServerName { name: n.to_owned() })?,
            None => ServerName::IpAddress(addr.ip().into()),
        };
        tokio_rustls::TlsConnector::from(self.client.clone())
            .connect(name, tcp)
            .await
            .map_err(|source| TransportError::Tls { addr, source })
    }
}
