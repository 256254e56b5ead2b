//! Benchmarks of ucc-rs: see `benches/` and `docs/performance.md`.
//!
//! The library part holds what the benchmarks share: [`relay`], loopback relays that
//! add a fixed delay each way (for `call_setup`).
//!
//! Dependencies: `tokio` runs the relays; the benchmarks themselves use criterion and
//! the peer crates they are measured beside (listed in `Cargo.toml`).

pub mod relay;
