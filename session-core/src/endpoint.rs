//! Endpoints (`IUccEndpoint`) and their session manager (`IUccSessionManager`).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::mpsc;
use tracing::{Instrument, info_span, warn};

use crate::context::Context;
use crate::contract::media::MediaEngine;
use crate::contract::signaling::{
    INBOUND_CAPACITY, LegId, LocalIdentity, SignalingEndpoint, SignalingTransport,
};
use crate::dispatch::{self, EventHub, Publisher, Subscription};
use crate::error::Error;
use crate::events::{EndpointEvent, SessionManagerEvent};
use crate::incoming::IncomingSession;
use crate::lock;
use crate::operation::{Operation, OperationContext, OperationKind, OperationProgress};
use crate::participant::{Participant, ParticipantInner};
use crate::session::{Session, SessionType, ensure_conversation_id};
use crate::status::Status;
use crate::uri::Uri;

/// Incoming sessions queued for the application before new ones are refused (480).
pub const INCOMING_QUEUE: usize = 1024;

/// A user name and password for one realm (`IUccCredential`).
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// The user name.
    pub user: String,
    /// The password.
    pub password: String,
    /// The domain, when the authentication scheme needs one.
    pub domain: Option<String>,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("domain", &self.domain)
            .finish()
    }
}

impl Credential {
    /// A credential without a domain.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            user: user.into(),
            password: password.into(),
            domain: None,
        }
    }
}

/// Credentials per realm (`IUccCredentialCache`); realm `"*"` matches any realm.
#[derive(Clone, Debug, Default)]
pub struct CredentialCache {
    by_realm: HashMap<String, Credential>,
}

impl CredentialCache {
    /// The realm that matches any realm (`UCC_REALM_ALL`).
    pub const ANY_REALM: &'static str = "*";

    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the credential for `realm` (`"*"` for any).
    pub fn set(&mut self, realm: impl Into<String>, credential: Credential) {
        self.by_realm.insert(realm.into(), credential);
    }

    /// Removes the credential of `realm`.
    pub fn remove(&mut self, realm: &str) -> Option<Credential> {
        self.by_realm.remove(realm)
    }

    /// The credential for `realm`: its own, else the `"*"` one.
    pub fn get(&self, realm: &str) -> Option<&Credential> {
        self.by_realm
            .get(realm)
            .or_else(|| self.by_realm.get(Self::ANY_REALM))
    }
}

/// An endpoint's state (`UCC_ENDPOINT_STATE`, same numeric values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EndpointState {
    /// Created, never enabled (0).
    Idle,
    /// Registering (1).
    Enabling,
    /// Registered: reachable, may create and receive sessions (2).
    Enabled,
    /// Unregistering (3).
    Disabling,
    /// Unregistered (4).
    Disabled,
}

impl EndpointState {
    /// The UCC numeric value.
    pub fn ucc_value(self) -> u32 {
        match self {
            EndpointState::Idle => 0,
            EndpointState::Enabling => 1,
            EndpointState::Enabled => 2,
            EndpointState::Disabling => 3,
            EndpointState::Disabled => 4,
        }
    }
}

/// How to create an endpoint.
#[derive(Clone, Debug)]
pub struct EndpointConfig {
    /// The identity (address of record).
    pub uri: Uri,
    /// The transport by name; `None` picks the first transport serving the URI's scheme.
    pub transport: Option<String>,
    /// Credentials per realm.
    pub credentials: CredentialCache,
    /// Display name.
    pub display_name: Option<String>,
    /// The endpoint's context.
    pub context: Context,
}

impl EndpointConfig {
    /// A configuration for `uri` with defaults for the rest.
    pub fn new(uri: Uri) -> Self {
        Self {
            uri,
            transport: None,
            credentials: CredentialCache::new(),
            display_name: None,
            context: Context::new(),
        }
    }

    /// Selects the transport by name.
    pub fn transport(mut self, name: impl Into<String>) -> Self {
        self.transport = Some(name.into());
        self
    }

    /// Adds a credential for `realm`.
    pub fn credential(mut self, realm: impl Into<String>, credential: Credential) -> Self {
        self.credentials.set(realm, credential);
        self
    }

    /// Sets the display name.
    pub fn display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = Some(name.into());
        self
    }
}

struct EndpointData {
    state: EndpointState,
    publisher: Publisher<EndpointEvent>,
    signaling: Option<Arc<dyn SignalingEndpoint>>,
}

/// What an endpoint and its sessions share.
pub(crate) struct EndpointCore {
    pub(crate) uri: Uri,
    config: EndpointConfig,
    transport: Arc<dyn SignalingTransport>,
    pub(crate) media: Option<Arc<dyn MediaEngine>>,
    data: Mutex<EndpointData>,
    hub: EventHub<EndpointEvent>,
    legs: Mutex<HashMap<LegId, Weak<ParticipantInner>>>,
    sm_publisher: Mutex<Publisher<SessionManagerEvent>>,
    sm_hub: EventHub<SessionManagerEvent>,
    incoming_tx: mpsc::Sender<IncomingSession>,
    incoming_rx: Mutex<Option<mpsc::Receiver<IncomingSession>>>,
}

impl EndpointCore {
    pub(crate) fn signaling(&self) -> Result<Arc<dyn SignalingEndpoint>, Error> {
        lock(&self.data)
            .signaling
            .clone()
            .ok_or_else(|| Error::invalid_state("endpoint", EndpointState::Idle, "signal"))
    }

    pub(crate) fn state(&self) -> EndpointState {
        lock(&self.data).state
    }

    pub(crate) fn remember_leg(&self, participant: &Participant) {
        lock(&self.legs).insert(participant.leg(), Arc::downgrade(&participant.inner));
    }

    pub(crate) fn forget_leg(&self, leg: LegId) {
        lock(&self.legs).remove(&leg);
    }

    pub(crate) fn participant_of(&self, leg: LegId) -> Option<Participant> {
        let inner = lock(&self.legs).get(&leg)?.upgrade()?;
        Some(Participant { inner })
    }

    pub(crate) fn publish_sm(&self, event: SessionManagerEvent) {
        lock(&self.sm_publisher).publish(event);
    }

    /// Hands an incoming session to the application; gives it back when nobody takes them.
    pub(crate) fn deliver_incoming(
        &self,
        incoming: IncomingSession,
    ) -> Result<(), IncomingSession> {
        if lock(&self.incoming_rx).is_some() {
            // Nobody took the incoming stream: nobody would answer.
            return Err(incoming);
        }
        self.incoming_tx.try_send(incoming).map_err(|e| match e {
            mpsc::error::TrySendError::Full(i) | mpsc::error::TrySendError::Closed(i) => i,
        })
    }

    fn set_state(&self, data: &mut EndpointData, new: EndpointState) {
        let old = std::mem::replace(&mut data.state, new);
        if old != new {
            data.publisher
                .publish(EndpointEvent::StateChanged { old, new });
        }
    }

    /// For the platform's shutdown: the endpoint becomes disabled and gives up its
    /// transport attachment, which the caller releases.
    pub(crate) fn release(&self) -> Option<Arc<dyn SignalingEndpoint>> {
        let mut data = lock(&self.data);
        self.set_state(&mut data, EndpointState::Disabled);
        data.signaling.take()
    }
}

/// A local identity that registers and holds sessions. Cheap to clone.
#[derive(Clone)]
pub struct Endpoint {
    pub(crate) core: Arc<EndpointCore>,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("uri", &self.core.uri.to_string())
            .field("transport", &self.core.transport.name())
            .field("state", &self.state())
            .finish()
    }
}

impl Endpoint {
    pub(crate) fn new(
        config: EndpointConfig,
        transport: Arc<dyn SignalingTransport>,
        media: Option<Arc<dyn MediaEngine>>,
    ) -> Self {
        let (publisher, hub) = dispatch::channel(dispatch::DEFAULT_CAPACITY);
        let (sm_publisher, sm_hub) = dispatch::channel(dispatch::DEFAULT_CAPACITY);
        let (incoming_tx, incoming_rx) = mpsc::channel(INCOMING_QUEUE);
        Self {
            core: Arc::new(EndpointCore {
                uri: config.uri.clone(),
                config,
                transport,
                media,
                data: Mutex::new(EndpointData {
                    state: EndpointState::Idle,
                    publisher,
                    signaling: None,
                }),
                hub,
                legs: Mutex::new(HashMap::new()),
                sm_publisher: Mutex::new(sm_publisher),
                sm_hub,
                incoming_tx,
                incoming_rx: Mutex::new(Some(incoming_rx)),
            }),
        }
    }

    /// The identity.
    pub fn uri(&self) -> &Uri {
        &self.core.uri
    }

    /// The endpoint's context.
    pub fn context(&self) -> &Context {
        &self.core.config.context
    }

    /// The name of the transport it uses.
    pub fn transport_name(&self) -> &str {
        self.core.transport.name()
    }

    /// The current state.
    pub fn state(&self) -> EndpointState {
        self.core.state()
    }

    /// Subscribes to the endpoint's events.
    pub fn events(&self) -> Subscription<EndpointEvent> {
        self.core.hub.subscribe()
    }

    /// The session manager of this endpoint.
    pub fn session_manager(&self) -> SessionManager {
        SessionManager {
            core: self.core.clone(),
        }
    }

    /// Registers through the transport (`Enable`): Idle/Disabled → Enabling → Enabled,
    /// or back where it was with the failure's status.
    pub fn enable(&self, operation: Option<OperationContext>) -> Result<Operation<()>, Error> {
        let previous = {
            let mut data = lock(&self.core.data);
            match data.state {
                EndpointState::Idle | EndpointState::Disabled => {}
                state => return Err(Error::invalid_state("endpoint", state, "enable")),
            }
            let previous = data.state;
            self.core.set_state(&mut data, EndpointState::Enabling);
            previous
        };
        let operation = operation.map(Arc::new);
        let core = self.core.clone();
        let span = info_span!("enable", endpoint = %core.uri);
        Ok(Operation::spawn(OperationKind::Enable, move |_| {
            async move {
                let result = enable_inner(&core).await;
                let mut data = lock(&core.data);
                let (state, status) = match &result {
                    Ok(()) => (EndpointState::Enabled, Status::ok()),
                    Err(e) => (previous, e.status()),
                };
                core.set_state(&mut data, state);
                data.publisher
                    .publish(EndpointEvent::Enabled(OperationProgress {
                        kind: OperationKind::Enable,
                        context: operation,
                        status,
                        is_complete: true,
                    }));
                result
            }
            .instrument(span)
        }))
    }

    /// Unregisters (`Disable`): Enabled → Disabling → Disabled. Existing sessions
    /// stay as they are; new incoming invitations are refused (480).
    pub fn disable(&self, operation: Option<OperationContext>) -> Result<Operation<()>, Error> {
        let signaling = {
            let mut data = lock(&self.core.data);
            if data.state != EndpointState::Enabled {
                return Err(Error::invalid_state("endpoint", data.state, "disable"));
            }
            self.core.set_state(&mut data, EndpointState::Disabling);
            data.signaling.clone()
        };
        let operation = operation.map(Arc::new);
        let core = self.core.clone();
        Ok(Operation::spawn(
            OperationKind::Disable,
            move |_| async move {
                let result = match signaling {
                    Some(s) => s
                        .unregister()
                        .await
                        .map_err(|e| Error::failed("unregister", e)),
                    None => Ok(()),
                };
                let mut data = lock(&core.data);
                if let Err(e) = &result {
                    warn!(error = %e, "unregister failed; disabled anyway");
                }
                core.set_state(&mut data, EndpointState::Disabled);
                let status = result
                    .as_ref()
                    .map_or_else(Error::status, |()| Status::ok());
                data.publisher
                    .publish(EndpointEvent::Disabled(OperationProgress {
                        kind: OperationKind::Disable,
                        context: operation,
                        status,
                        is_complete: true,
                    }));
                result
            },
        ))
    }
}

async fn enable_inner(core: &Arc<EndpointCore>) -> Result<(), Error> {
    let existing = lock(&core.data).signaling.clone();
    let signaling = match existing {
        Some(s) => s,
        None => {
            let (tx, rx) = mpsc::channel(INBOUND_CAPACITY);
            let identity = LocalIdentity {
                uri: core.uri.clone(),
                credentials: core.config.credentials.clone(),
                display_name: core.config.display_name.clone(),
            };
            let s = core
                .transport
                .attach(identity, tx)
                .await
                .map_err(|e| Error::failed("attach to transport", e))?;
            lock(&core.data).signaling = Some(s.clone());
            let span = info_span!("endpoint", uri = %core.uri);
            tokio::spawn(crate::inbound::route(Arc::downgrade(core), rx).instrument(span));
            s
        }
    };
    signaling
        .register()
        .await
        .map_err(|e| Error::failed("register", e))
}

impl Drop for EndpointCore {
    fn drop(&mut self) {
        let signaling = self
            .data
            .get_mut()
            .map(|d| d.signaling.take())
            .unwrap_or(None);
        if let (Some(s), Ok(rt)) = (signaling, tokio::runtime::Handle::try_current()) {
            rt.spawn(async move { s.shutdown().await });
        }
    }
}

/// Creates sessions and receives incoming ones (`IUccSessionManager`).
#[derive(Clone)]
pub struct SessionManager {
    core: Arc<EndpointCore>,
}

impl fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionManager")
            .field("endpoint", &self.core.uri.to_string())
            .finish()
    }
}

impl SessionManager {
    /// Creates an outgoing session (`CreateSession`). A conversation id is added to the
    /// context when it has none; `OutgoingSession` is published.
    pub fn create_session(
        &self,
        session_type: SessionType,
        context: Context,
    ) -> Result<Session, Error> {
        let context = ensure_conversation_id(context)?;
        let session = Session::new(self.core.clone(), session_type, context);
        self.core.publish_sm(SessionManagerEvent::OutgoingSession {
            session: session.clone(),
        });
        Ok(session)
    }

    /// Subscribes to the session manager's notifications.
    pub fn events(&self) -> Subscription<SessionManagerEvent> {
        self.core.sm_hub.subscribe()
    }

    /// Takes the stream of incoming sessions, which must each be accepted or rejected.
    /// There is one such stream per endpoint; until it is taken, invitations are
    /// refused with 480.
    pub fn incoming(&self) -> Result<IncomingSessions, Error> {
        lock(&self.core.incoming_rx)
            .take()
            .map(|rx| IncomingSessions { rx })
            .ok_or(Error::AlreadyTaken("the incoming session stream"))
    }
}

/// The stream of incoming sessions of an endpoint.
#[derive(Debug)]
pub struct IncomingSessions {
    rx: mpsc::Receiver<IncomingSession>,
}

impl IncomingSessions {
    /// The next incoming session; `None` once the endpoint is gone.
    pub async fn next(&mut self) -> Option<IncomingSession> {
        self.rx.recv().await
    }

    /// The next incoming session if one is queued.
    pub fn try_next(&mut self) -> Option<IncomingSession> {
        self.rx.try_recv().ok()
    }
}
