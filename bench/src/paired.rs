//! Paired timing: alternating blocks of two workloads and the median of their ratios.
//!
//! On a shared 2-core machine one criterion group can run 1.5× slower than the next, so
//! two figures measured a minute apart say little about their ratio. Timing short blocks
//! of each in turn exposes both to the same conditions, and the median of the per-pair
//! ratios ignores the blocks a burst of other work landed on.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Runs `run` on `runs` inputs made by `setup` and returns the time spent in `run` alone:
/// each input is made just before its run and each output dropped after it, off the
/// clock, as criterion's batched setup does.
pub fn timed_runs<I, O>(
    runs: usize,
    mut setup: impl FnMut() -> I,
    mut run: impl FnMut(I) -> O,
) -> Duration {
    (0..runs)
        .map(|_| {
            let input = setup();
            let start = Instant::now();
            let output = black_box(run(input));
            let took = start.elapsed();
            drop(output);
            took
        })
        .sum()
}

/// Times `pairs` alternating blocks of `ours` and `peer` (each returns how long its
/// block took): the median of ours / peer, and the median block time of each.
///
/// # Panics
/// If `pairs` is 0.
pub fn paired(
    pairs: usize,
    mut ours: impl FnMut() -> Duration,
    mut peer: impl FnMut() -> Duration,
) -> (f64, Duration, Duration) {
    assert!(pairs > 0, "at least one pair");
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (mut ratios, mut a, mut b) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..pairs {
        let (x, y) = (ours(), peer());
        ratios.push(x.as_secs_f64() / y.as_secs_f64());
        a.push(x.as_secs_f64());
        b.push(y.as_secs_f64());
    }
    let (ma, mb) = (median(&mut a), median(&mut b));
    (
        median(&mut ratios),
        Duration::from_secs_f64(ma),
        Duration::from_secs_f64(mb),
    )
}

/// What [`paired_runs`] measured; displays as `ucc …, peer … per run, peer / ours …`.
#[derive(Clone, Copy, Debug)]
pub struct PairedRuns {
    /// Median time of one of our runs.
    pub ours: Duration,
    /// Median time of one of the peer's runs.
    pub peer: Duration,
    /// Median of the per-pair ratios, peer / ours (above 1: ours is faster).
    pub speedup: f64,
}

impl std::fmt::Display for PairedRuns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ucc {:.2?}, peer {:.2?} per run, peer / ours {:.2}",
            self.ours, self.peer, self.speedup
        )
    }
}

/// [`paired`] over 15 pairs of blocks of [`timed_runs`], `runs` runs per block.
pub fn paired_runs<I, O, J, Q>(
    runs: usize,
    (mut ours_setup, mut ours_run): (impl FnMut() -> I, impl FnMut(I) -> O),
    (mut peer_setup, mut peer_run): (impl FnMut() -> J, impl FnMut(J) -> Q),
) -> PairedRuns {
    let (ratio, ours, peer) = paired(
        15,
        || timed_runs(runs, &mut ours_setup, &mut ours_run),
        || timed_runs(runs, &mut peer_setup, &mut peer_run),
    );
    let per_run = |d: Duration| d / u32::try_from(runs.max(1)).unwrap_or(u32::MAX);
    PairedRuns {
        ours: per_run(ours),
        peer: per_run(peer),
        speedup: 1.0 / ratio,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timed_runs_bills_the_run_not_the_setup() {
        let mut made = 0;
        let took = timed_runs(
            3,
            || {
                made += 1;
                std::thread::sleep(Duration::from_millis(30));
                made
            },
            |n| n * 2,
        );
        assert_eq!(made, 3);
        assert!(
            took < Duration::from_millis(30),
            "setup is off the clock: {took:?}"
        );
    }

    #[test]
    fn the_median_ratio_ignores_a_disturbed_pair() {
        let mut round = 0;
        let (ratio, ours, peer) = paired(
            5,
            || {
                round += 1;
                // One block hit by a burst of other work.
                Duration::from_millis(if round == 3 { 500 } else { 10 })
            },
            || Duration::from_millis(20),
        );
        assert_eq!(ratio, 0.5);
        assert_eq!(ours, Duration::from_millis(10));
        assert_eq!(peer, Duration::from_millis(20));
    }
}
