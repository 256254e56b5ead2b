//! The session-core conformance suite over QUIC: every endpoint has its own transport
//! (own UDP socket on 127.0.0.1) and a certificate from one test CA; callers present
//! theirs, so connections are reused in both directions.

mod common;

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use session_core::testkit::Harness;
use session_core::{Endpoint, EndpointConfig, Platform, Uri};
use transport_quic::QuicTransport;

use common::Ca;

struct Quic {
    ca: Ca,
    transports: Mutex<HashMap<String, QuicTransport>>,
}

impl Quic {
    fn new() -> Self {
        Self {
            ca: Ca::new("ucc conformance CA"),
            transports: Mutex::new(HashMap::new()),
        }
    }

    fn transport(&self, user: &str) -> QuicTransport {
        let mut transports = self.transports.lock().expect("lock");
        transports
            .entry(user.to_owned())
            .or_insert_with(|| common::transport(&self.ca, user))
            .clone()
    }
}

#[async_trait]
impl Harness for Quic {
    async fn endpoint(&self, user: &str) -> Endpoint {
        let transport = self.transport(user);
        let uri = transport.uri(user).expect("uri");
        Platform::builder()
            .transport(transport)
            .build()
            .create_endpoint(EndpointConfig::new(uri))
            .expect("endpoint")
    }

    fn uri(&self, user: &str) -> Uri {
        self.transport(user).uri(user).expect("uri")
    }
}

session_core::conformance_suite!(quic, Quic::new());
