//! Latency histograms: fixed bins the database counts (so no row leaves it for a
//! percentile) and the quantiles read back from them, linear inside a bin.

/// Upper bounds (ms) of the bins; the last bin is everything above.
pub const BINS_MS: [i64; 19] = [
    1, 2, 5, 10, 20, 50, 100, 200, 300, 500, 750, 1_000, 2_000, 3_000, 5_000, 10_000, 20_000,
    60_000, 300_000,
];

/// How many bins there are (the bounds and the open last one).
pub const BINS: usize = BINS_MS.len() + 1;

/// Names the bins: the hourly rollup records it, and a start with other bins rebuilds it.
pub fn version() -> String {
    let bounds: Vec<String> = BINS_MS.iter().map(i64::to_string).collect();
    format!("bins:{}", bounds.join(","))
}

/// The bin of a value.
pub fn bin_of(ms: i64) -> usize {
    BINS_MS
        .iter()
        .position(|bound| ms < *bound)
        .unwrap_or(BINS_MS.len())
}

/// `CASE` over a column giving its bin index (a fixed text, never the caller's).
pub fn bin_expr(column: &str) -> String {
    let mut sql = String::from("CASE");
    for (i, bound) in BINS_MS.iter().enumerate() {
        sql.push_str(&format!(" WHEN {column} < {bound} THEN {i}"));
    }
    sql.push_str(&format!(" ELSE {} END", BINS_MS.len()));
    sql
}

/// The `q` quantile of a histogram (`counts[i]` values in bin `i`), linear inside a bin.
pub fn quantile(counts: &[i64], q: f64) -> Option<f64> {
    let total: i64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = q * total as f64;
    let mut seen = 0i64;
    for (i, &n) in counts.iter().enumerate() {
        if n > 0 && (seen + n) as f64 >= rank {
            let low = if i == 0 { 0 } else { BINS_MS[i - 1] } as f64;
            let high = BINS_MS
                .get(i)
                .copied()
                .unwrap_or(BINS_MS[BINS_MS.len() - 1] * 2) as f64;
            let within = ((rank - seen as f64) / n as f64).clamp(0.0, 1.0);
            return Some(low + (high - low) * within);
        }
        seen += n;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_inside_their_bin() {
        // 10 values in [100, 200): the median is half-way through the bin.
        let mut counts = vec![0; BINS];
        counts[7] = 10;
        assert_eq!(quantile(&counts, 0.5), Some(150.0));
        assert_eq!(quantile(&counts, 0.95), Some(195.0));
        assert_eq!(quantile(&[0; BINS], 0.5), None);
        // 90 fast, 10 slow: p50 among the fast, p95 among the slow.
        counts[7] = 0;
        counts[2] = 90; // [2, 5)
        counts[12] = 10; // [1000, 2000)
        assert!(quantile(&counts, 0.5).unwrap() < 5.0);
        assert!(quantile(&counts, 0.95).unwrap() >= 1000.0);
    }

    #[test]
    fn the_bin_expression_covers_every_bound() {
        let sql = bin_expr("latency_ms");
        assert!(sql.starts_with("CASE WHEN latency_ms < 1 THEN 0"));
        assert!(sql.ends_with(&format!("ELSE {} END", BINS_MS.len())));
    }

    #[test]
    fn a_value_falls_in_the_bin_the_database_gives_it() {
        assert_eq!(bin_of(0), 0);
        assert_eq!(bin_of(1), 1);
        assert_eq!(bin_of(150), 7);
        assert_eq!(bin_of(299_999), BINS_MS.len() - 1);
        assert_eq!(bin_of(300_000), BINS_MS.len());
        assert_eq!(bin_of(i64::MAX), BINS_MS.len());
    }
}
