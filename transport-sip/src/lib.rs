//! SIP for ucc-rs (RFC 3261).
