//! Transports (RFC 3261 §18): UDP, TCP and TLS behind one trait.
