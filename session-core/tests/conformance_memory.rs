//! The conformance suite over the in-memory transport.

use async_trait::async_trait;
use session_core::memory::MemoryNetwork;
use session_core::testkit::Harness;
use session_core::{Endpoint, EndpointConfig, Platform, Uri};

/// Endpoints on one shared memory network.
struct Memory {
    platform: Platform,
}

impl Memory {
    fn new() -> Self {
        let network = MemoryNetwork::new();
        Self {
            platform: Platform::builder().transport(network.transport()).build(),
        }
    }
}

#[async_trait]
impl Harness for Memory {
    async fn endpoint(&self, user: &str) -> Endpoint {
        self.platform
            .create_endpoint(EndpointConfig::new(self.uri(user)))
            .expect("endpoint")
    }

    fn uri(&self, user: &str) -> Uri {
        Uri::parse(&format!("sip:{user}@memory.test")).expect("uri")
    }
}

session_core::conformance_suite!(memory, Memory::new());
