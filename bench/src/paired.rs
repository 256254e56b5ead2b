//! Paired timing: alternating blocks of two workloads and the median of their ratios.
//!
//! On a shared 2-core machine one criterion group can run 1.5× slower than the next, so
//! two figures measured a minute apart say little about their ratio. Timing short blocks
//! of each in turn exposes both to the same conditions, and the median of the per-pair
//! ratios ignores the blocks a burst of other work landed on.

use std::time::Duration;

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

#[cfg(test)]
mod tests {
    use super::*;

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
