//! The platform (`IUccPlatform`): the set of transports and the media engine a
//! deployment composes, the factory of endpoints, and `Shutdown`, which releases the
//! transports (connections closed, peers told) before the application exits.

use std::fmt;
use std::sync::{Arc, Mutex, Weak};

use crate::contract::media::MediaEngine;
use crate::contract::signaling::SignalingTransport;
use crate::dispatch::{self, EventHub, Publisher, Subscription};
use crate::endpoint::{Endpoint, EndpointConfig, EndpointCore};
use crate::error::Error;
use crate::events::PlatformEvent;
use crate::lock;
use crate::operation::{Operation, OperationContext, OperationKind, OperationProgress};
use crate::status::Status;

/// Where a platform is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlatformState {
    /// Transports usable; endpoints may be created.
    Running,
    /// `shutdown` called: no new endpoints; the transports are being released.
    ShuttingDown,
    /// Every transport released.
    ShutDown,
}

/// What the platform's handles share besides the configuration.
struct PlatformCore {
    data: Mutex<PlatformData>,
    hub: EventHub<PlatformEvent>,
}

struct PlatformData {
    state: PlatformState,
    publisher: Publisher<PlatformEvent>,
    /// The endpoints created, for `shutdown` (those dropped since are pruned).
    endpoints: Vec<Weak<EndpointCore>>,
}

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
        let (publisher, hub) = dispatch::channel(dispatch::DEFAULT_CAPACITY);
        Platform {
            inner: Arc::new(self),
            core: Arc::new(PlatformCore {
                data: Mutex::new(PlatformData {
                    state: PlatformState::Running,
                    publisher,
                    endpoints: Vec::new(),
                }),
                hub,
            }),
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
    core: Arc<PlatformCore>,
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

    /// Where the platform is in its life.
    pub fn state(&self) -> PlatformState {
        lock(&self.core.data).state
    }

    /// A subscription to the platform's events.
    pub fn events(&self) -> Subscription<PlatformEvent> {
        self.core.hub.subscribe()
    }

    /// Releases what every endpoint holds of its transport (`Shutdown`): listeners and
    /// connections close and the remaining legs end, so peers learn at once (QUIC: a
    /// connection close; the memory transport: the peer's sessions end) instead of by a
    /// timeout. Disable the endpoints first to unregister; those still enabled become
    /// disabled. Completes with [`PlatformEvent::Shutdown`]; then
    /// [`Platform::create_endpoint`] fails.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidState`] when shutdown was already called.
    pub fn shutdown(&self, operation: Option<OperationContext>) -> Result<Operation<()>, Error> {
        {
            let mut data = lock(&self.core.data);
            if data.state != PlatformState::Running {
                return Err(Error::invalid_state("platform", data.state, "shutdown"));
            }
            data.state = PlatformState::ShuttingDown;
        }
        let endpoints: Vec<Arc<EndpointCore>> = lock(&self.core.data)
            .endpoints
            .drain(..)
            .filter_map(|e| e.upgrade())
            .collect();
        let core = self.core.clone();
        let operation = operation.map(Arc::new);
        Ok(Operation::spawn(
            OperationKind::Shutdown,
            move |_| async move {
                for endpoint in endpoints {
                    if let Some(signaling) = endpoint.release() {
                        signaling.shutdown().await;
                    }
                }
                let mut data = lock(&core.data);
                data.state = PlatformState::ShutDown;
                data.publisher
                    .publish(PlatformEvent::Shutdown(OperationProgress {
                        kind: OperationKind::Shutdown,
                        context: operation,
                        status: Status::ok(),
                        is_complete: true,
                    }));
                Ok(())
            },
        ))
    }

    /// Creates an endpoint (`CreateEndpoint`) on the transport its configuration names,
    /// or else on the first transport serving its URI's scheme.
    ///
    /// # Errors
    ///
    /// [`Error::NoTransport`] or [`Error::NoTransportForScheme`] when no transport fits;
    /// [`Error::InvalidState`] once [`Platform::shutdown`] was called.
    pub fn create_endpoint(&self, config: EndpointConfig) -> Result<Endpoint, Error> {
        // Held to the end, so that a shutdown either sees this endpoint or came first.
        let mut data = lock(&self.core.data);
        if data.state != PlatformState::Running {
            return Err(Error::invalid_state(
                "platform",
                data.state,
                "create_endpoint",
            ));
        }
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
        let endpoint = Endpoint::new(config, transport.clone(), self.inner.media.clone());
        data.endpoints.retain(|e| e.strong_count() > 0);
        data.endpoints.push(Arc::downgrade(&endpoint.core));
        Ok(endpoint)
    }
}
