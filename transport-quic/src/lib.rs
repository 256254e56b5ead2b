//! QUIC transport for ucc-rs.
//!
//! This crate is a placeholder in the workspace: the QUIC signaling protocol, its
//! transport and media over QUIC datagrams are built by their own issue. It holds
//! no code yet, so that nothing here can be mistaken for a working transport.
