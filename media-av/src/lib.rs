//! Media for ucc-rs: capture, codecs, RTP/RTCP and the media engine.
//!
//! This crate is a placeholder in the workspace: its contents are built by the
//! media-av issue. It holds no code yet.
