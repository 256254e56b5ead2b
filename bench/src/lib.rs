//! Benchmarks of ucc-rs: see `benches/` and `docs/performance.md`.
//!
//! The library part holds what the benchmarks share: [`relay`], loopback relays that
//! add a fixed delay each way (for `call_setup`), and [`paired`] timing of two
//! workloads in alternating blocks (for ratios that survive a noisy machine).
//!
//! Dependencies: `tokio` runs the relays; the benchmarks themselves use criterion and
//! the peer crates they are measured beside (listed in `Cargo.toml`).

pub mod paired;
pub mod relay;

/// Whether the benchmark runs under `cargo bench` (its `--bench` argument), not under
/// `cargo test --benches`, which runs each benchmark function once: the extra, slow
/// measurements (paired comparisons, medians printed to stderr) run only then.
pub fn benching() -> bool {
    std::env::args().any(|a| a == "--bench")
}
