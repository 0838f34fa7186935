//! Percentiles, rates and age bands.
//!
//! Percentiles use the nearest-rank method: the p-th percentile of n sorted
//! values is the value at rank ⌈p·n/100⌉ (1-based). It always answers a value
//! that was observed (a real task's cycle time, not an interpolation). The
//! values are sorted here, not in the database: a window sort over a range's
//! 100,000 values spilled to a temporary table and cost seconds, while one
//! narrow indexed read of the values and a sort in memory cost milliseconds.

use serde::Serialize;

/// The percentiles the dashboard shows.
pub const PERCENTILES: [u32; 3] = [50, 85, 95];

/// The 1-based rank of the `p`-th percentile among `n` sorted values
/// (0 when there are none).
pub fn nearest_rank(p: u32, n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    (u64::from(p) * n).div_ceil(100).max(1)
}

/// p50, p85 and p95 of some durations, in the unit they were given in.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50: Option<f64>,
    pub p85: Option<f64>,
    pub p95: Option<f64>,
}

impl Percentiles {
    /// From values sorted ascending.
    pub fn of_sorted(sorted: &[f64]) -> Self {
        let n = sorted.len() as u64;
        let at = |p| {
            let r = nearest_rank(p, n);
            (r > 0).then(|| sorted[(r - 1) as usize])
        };
        Self {
            count: n,
            p50: at(50),
            p85: at(85),
            p95: at(95),
        }
    }

    /// From whole values in any order, each divided by `scale` (e.g. 3600
    /// for seconds as hours); sorts `values` in place. The same answer as
    /// `of_sorted` over the scaled, sorted values.
    pub fn of_values(values: &mut [i64], scale: f64) -> Self {
        values.sort_unstable();
        let n = values.len() as u64;
        let at = |p| {
            let r = nearest_rank(p, n);
            (r > 0).then(|| values[(r - 1) as usize] as f64 / scale)
        };
        Self {
            count: n,
            p50: at(50),
            p85: at(85),
            p95: at(95),
        }
    }
}

/// `part / whole`, or `None` for an empty whole (no data is not 0 %).
pub fn rate(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Age bands of open work, by upper bound in hours (exclusive); the last band
/// is open-ended.
pub const AGE_BANDS: [(&str, Option<i64>); 6] = [
    ("<1d", Some(24)),
    ("1-3d", Some(72)),
    ("3-7d", Some(168)),
    ("7-14d", Some(336)),
    ("14-30d", Some(720)),
    (">30d", None),
];

/// The index into [`AGE_BANDS`] of an age in whole hours.
pub fn age_band(hours: i64) -> usize {
    AGE_BANDS
        .iter()
        .position(|(_, max)| max.is_none_or(|m| hours < m))
        .unwrap_or(AGE_BANDS.len() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_of_three_values_is_the_middle_for_p50() {
        assert_eq!(nearest_rank(50, 3), 2);
        assert_eq!(nearest_rank(85, 3), 3);
        assert_eq!(nearest_rank(95, 3), 3);
        assert_eq!(nearest_rank(50, 1), 1);
        assert_eq!(nearest_rank(50, 0), 0);
        assert_eq!(nearest_rank(50, 10), 5);
        assert_eq!(nearest_rank(85, 20), 17);
        assert_eq!(nearest_rank(95, 20), 19);
        assert_eq!(nearest_rank(95, 21), 20);
    }

    #[test]
    fn cycle_times_of_one_two_and_ten_hours_have_a_median_of_two() {
        let p = Percentiles::of_sorted(&[1.0, 2.0, 10.0]);
        assert_eq!(p.count, 3);
        assert_eq!(p.p50, Some(2.0));
        assert_eq!(p.p85, Some(10.0));
        assert_eq!(p.p95, Some(10.0));
        assert_eq!(Percentiles::of_sorted(&[]).p50, None);
    }

    #[test]
    fn unsorted_values_give_the_same_percentiles_as_the_sorted_ones() {
        let mut values: Vec<i64> = (1..=20).rev().map(|v| v * 3600).collect();
        let hours: Vec<f64> = (1..=20).map(f64::from).collect();
        let p = Percentiles::of_values(&mut values, 3600.0);
        assert_eq!(p, Percentiles::of_sorted(&hours));
        assert_eq!(p.p50, Some(10.0));
        assert_eq!(p.p85, Some(17.0));
        assert_eq!(p.p95, Some(19.0));
        assert_eq!(Percentiles::of_values(&mut [], 1.0), Percentiles::default());
        // Equal values: the rank still names one of them.
        assert_eq!(Percentiles::of_values(&mut [5, 5, 1], 1.0).p50, Some(5.0));
    }

    #[test]
    fn rates_of_nothing_are_unknown() {
        assert_eq!(rate(3, 10), Some(0.3));
        assert_eq!(rate(0, 4), Some(0.0));
        assert_eq!(rate(0, 0), None);
    }

    #[test]
    fn ages_fall_into_their_bands() {
        assert_eq!(AGE_BANDS[age_band(0)].0, "<1d");
        assert_eq!(AGE_BANDS[age_band(23)].0, "<1d");
        assert_eq!(AGE_BANDS[age_band(24)].0, "1-3d");
        assert_eq!(AGE_BANDS[age_band(719)].0, "14-30d");
        assert_eq!(AGE_BANDS[age_band(10_000)].0, ">30d");
    }
}
