//! Benchmarks of ucc-rs: see `benches/` and `docs/performance.md`.
