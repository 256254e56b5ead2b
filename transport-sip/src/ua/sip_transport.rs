//! [`SipTransport`]: a bound SIP stack that session-core endpoints attach to.

use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use rand::SeedableRng;
use session_core::contract::signaling::{
    Inbound, LocalIdentity, SignalingEndpoint, SignalingTransport,
};
use session_core::error::SignalingError;
use session_core::uri::Scheme;
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::config::SipConfig;
use super::endpoint::SipEndpoint;
use super::stack::{Command, Stack};
use crate::transaction::{Config as TransactionConfig, TransactionLayer};
use crate::transport::{TransportConfig, TransportError, TransportLayer};

/// SIP as a session-core transport: one bound stack (sockets, transactions, dialogs)
/// that any number of endpoints attach to; a request reaches the endpoint whose user
/// part its Request-URI carries.
pub struct SipTransport {
    name: &'static str,
    schemes: &'static [Scheme],
    local: SocketAddr,
    commands: mpsc::UnboundedSender<Command>,
}

impl fmt::Debug for SipTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SipTransport")
            .field("name", &self.name)
            .field("local", &self.local)
            .finish()
    }
}

impl SipTransport {
    /// Binds the listener `config` names and starts the stack's task (on the current
    /// tokio runtime). The task ends when the transport and every endpoint attached to
    /// it are dropped.
    pub async fn bind(config: SipConfig) -> Result<SipTransport, TransportError> {
        let mut transport_config = TransportConfig::default();
        if let Some(bytes) = config.udp_buffer {
            transport_config = transport_config.with_udp_buffer(bytes);
        }
        if let Some(tls) = &config.tls {
            transport_config = transport_config.with_tls(tls.clone());
        }
        let (layer, incoming) = TransportLayer::new(transport_config);
        let local = layer.bind(config.transport, config.bind).await?;
        // RFC 3261 §18: a UA implements both UDP and TCP. A UDP stack also takes TCP on
        // the same port and the other way round (peers such as baresip answer over
        // UDP whatever our Contact says); the stack still sends over its own transport.
        let companion = match config.transport {
            crate::transport::TransportKind::Udp => Some(crate::transport::TransportKind::Tcp),
            crate::transport::TransportKind::Tcp => Some(crate::transport::TransportKind::Udp),
            crate::transport::TransportKind::Tls => None,
        };
        if let Some(kind) = companion {
            if let Err(e) = layer.bind(kind, local).await {
                tracing::warn!(%kind, %local, error = %e, "second transport not bound");
            }
        }
        let (commands, rx) = mpsc::unbounded_channel();
        let txn = TransactionLayer::new(TransactionConfig {
            timers: config.timers,
            max_transactions: config.max_transactions,
            ..TransactionConfig::default()
        });
        let name = config.name();
        let schemes: &'static [Scheme] = match config.transport {
            crate::transport::TransportKind::Tls => &[Scheme::Sips, Scheme::Sip],
            _ => &[Scheme::Sip],
        };
        let stack = Stack {
            config,
            transport: Arc::new(layer),
            local,
            txn,
            commands: commands.clone(),
            endpoints: HashMap::new(),
            next_endpoint: 1,
            legs: HashMap::new(),
            by_dialog: HashMap::new(),
            pagers: HashMap::new(),
            purposes: HashMap::new(),
            sent: HashMap::new(),
            awaiting_answer: HashMap::new(),
            retransmit_heap: BinaryHeap::new(),
            rng: rand::rngs::StdRng::from_os_rng(),
            waiters: futures_util::stream::FuturesUnordered::new(),
        };
        let span = tracing::info_span!("sip_stack", %local, transport = name);
        tokio::spawn(stack.run(incoming, rx).instrument(span));
        Ok(SipTransport {
            name,
            schemes,
            local,
            commands,
        })
    }

    /// The address the stack listens on (and puts in Via and Contact).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
}

#[async_trait]
impl SignalingTransport for SipTransport {
    fn name(&self) -> &str {
        self.name
    }

    fn schemes(&self) -> &[Scheme] {
        self.schemes
    }

    async fn attach(
        &self,
        identity: LocalIdentity,
        inbound: mpsc::Sender<Inbound>,
    ) -> Result<Arc<dyn SignalingEndpoint>, SignalingError> {
        let aor = identity.uri.to_string();
        let (done, rx) = oneshot::channel();
        self.commands
            .send(Command::Attach {
                identity,
                inbound,
                done,
            })
            .map_err(|_| SignalingError::closed())?;
        let ep = rx.await.map_err(|_| SignalingError::closed())?;
        Ok(Arc::new(SipEndpoint {
            ep,
            commands: self.commands.clone(),
            aor,
        }))
    }
}
