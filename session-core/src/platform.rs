//! The platform (`IUccPlatform`): the set of transports and the media engine a
//! deployment composes, and the factory of endpoints.

use std::fmt;
use std::sync::Arc;

use crate::contract::media::MediaEngine;
use crate::contract::signaling::SignalingTransport;
use crate::endpoint::{Endpoint, EndpointConfig};
use crate::error::Error;

/// Builds a [`Platform`] from any set of transports and an optional media engine.
#[derive(Default)]
pub struct PlatformBuilder {
    name: String,
    transports: Vec<Arc<dyn SignalingTransport>>,
    media: Option<Arc<dyn MediaEngine>>,
}

impl fmt::Debug for PlatformBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlatformBuilder")
            .field("name", &self.name)
            .field(
                "transports",
                &self
                    .transports
                    .iter()
                    .map(|t| t.name().to_owned())
                    .collect::<Vec<_>>(),
            )
            .field("media", &self.media.is_some())
            .finish()
    }
}

impl PlatformBuilder {
    /// The application's name (`Initialize(appName)`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Adds a transport. The first one serving a scheme is the default for it.
    pub fn transport(self, transport: impl SignalingTransport + 'static) -> Self {
        self.shared_transport(Arc::new(transport))
    }

    /// Adds a transport already shared elsewhere.
    pub fn shared_transport(mut self, transport: Arc<dyn SignalingTransport>) -> Self {
        self.transports.push(transport);
        self
    }

    /// Sets the media engine; without one the platform is signaling-only.
    pub fn media_engine(mut self, engine: Arc<dyn MediaEngine>) -> Self {
        self.media = Some(engine);
        self
    }

    /// Builds the platform.
    pub fn build(self) -> Platform {
        Platform {
            inner: Arc::new(self),
        }
    }
}

/// The root object: transports, media engine, endpoints.
///
/// ```
/// use session_core::{Platform, EndpointConfig, Uri, memory::MemoryNetwork};
///
/// let network = MemoryNetwork::new();
/// let platform = Platform::builder().transport(network.transport()).build();
/// let alice = platform.create_endpoint(EndpointConfig::new(Uri::parse("sip:alice@example.com")?))?;
/// assert_eq!(alice.transport_name(), "memory");
/// # Ok::<(), session_core::Error>(())
/// ```
#[derive(Clone)]
pub struct Platform {
    inner: Arc<PlatformBuilder>,
}

impl fmt::Debug for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl Platform {
    /// A builder.
    pub fn builder() -> PlatformBuilder {
        PlatformBuilder::default()
    }

    /// The application's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The names of its transports.
    pub fn transport_names(&self) -> Vec<&str> {
        self.inner.transports.iter().map(|t| t.name()).collect()
    }

    /// Creates an endpoint (`CreateEndpoint`) on the transport its configuration names,
    /// or else on the first transport serving its URI's scheme.
    pub fn create_endpoint(&self, config: EndpointConfig) -> Result<Endpoint, Error> {
        let transport = match &config.transport {
            Some(name) => self
                .inner
                .transports
                .iter()
                .find(|t| t.name() == name)
                .ok_or_else(|| Error::NoTransport(name.clone()))?,
            None => {
                let scheme = config.uri.scheme();
                self.inner
                    .transports
                    .iter()
                    .find(|t| t.schemes().contains(&scheme))
                    .ok_or(Error::NoTransportForScheme(scheme.as_str()))?
            }
        };
        Ok(Endpoint::new(
            config,
            transport.clone(),
            self.inner.media.clone(),
        ))
    }
}
