//! Drift of a file's columns against the baseline's profile of it, from the two profiles alone:
//! PSI and Jensen–Shannon distance over the baseline's decile bins (numbers) or its categories,
//! and the Kolmogorov–Smirnov D statistic from the two quantile grids.

use indexmap::IndexMap;

use crate::config::model::{DataCheck, Drift, DriftMethod};
use crate::results::data::{ColumnDrift, ColumnProfile, Profile};

/// Empty bins count as this fraction, so PSI stays finite (Evidently's choice).
const EPSILON: f64 = 1e-4;
/// A column whose values are this distinct (distinct / count) is an identifier: drift is noise.
const ID_RATIO: f64 = 0.9;

/// Every column's drift, most drifted first (by score over max).
pub fn file(check: &DataCheck, base: &Profile, current: &Profile) -> Vec<ColumnDrift> {
    let mut out: Vec<ColumnDrift> = current
        .columns
        .iter()
        .map(|(name, cur)| {
            let column = check.columns.get(name).and_then(|r| r.drift);
            let setting = column.or(check.drift);
            let enforced = setting.is_some();
            match base.columns.get(name) {
                Some(b) => one(name, b, cur, setting, enforced, column.is_some()),
                None => skipped(name, enforced, "not in the baseline's profile"),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        let rank = |d: &ColumnDrift| {
            if d.verdict == "skipped" || d.max <= 0.0 {
                -1.0
            } else {
                d.score / d.max
            }
        };
        rank(b).total_cmp(&rank(a))
    });
    out
}

fn skipped(name: &str, enforced: bool, note: &str) -> ColumnDrift {
    ColumnDrift {
        column: name.to_owned(),
        method: String::new(),
        score: 0.0,
        max: 0.0,
        verdict: "skipped".to_owned(),
        enforced,
        scores: IndexMap::new(),
        note: Some(note.to_owned()),
    }
}

fn is_numeric(p: &ColumnProfile) -> bool {
    matches!(p.kind.as_str(), "int" | "float" | "date" | "datetime") && p.quantiles.len() > 1
}

/// One column's drift.
#[allow(clippy::cast_precision_loss)]
pub fn one(
    name: &str,
    base: &ColumnProfile,
    cur: &ColumnProfile,
    setting: Option<Drift>,
    enforced: bool,
    declared: bool,
) -> ColumnDrift {
    if base.kind != cur.kind {
        return skipped(
            name,
            enforced,
            &format!("its type changed from `{}` to `{}`", base.kind, cur.kind),
        );
    }
    if base.count == 0 || cur.count == 0 {
        return skipped(name, enforced, "no values on one side");
    }
    if !declared
        && matches!(base.kind.as_str(), "string" | "int")
        && base.count > 100
        && base.distinct as f64 / base.count as f64 > ID_RATIO
    {
        return skipped(
            name,
            enforced,
            "nearly every value is distinct (an identifier)",
        );
    }
    let numeric = is_numeric(base) && is_numeric(cur);
    let bins = if base.top_exact && !cur.top.is_empty() {
        Some(categories(base, cur))
    } else if numeric {
        Some(numeric_bins(&base.quantiles, &cur.quantiles))
    } else {
        None
    };
    let Some((p, q)) = bins else {
        return skipped(
            name,
            enforced,
            "too many distinct values to compare categories",
        );
    };
    let mut scores = IndexMap::new();
    scores.insert("psi".to_owned(), psi(&p, &q));
    scores.insert("js".to_owned(), js_distance(&p, &q));
    if numeric {
        scores.insert("ks".to_owned(), ks(&base.quantiles, &cur.quantiles));
    }
    let default = if matches!(base.kind.as_str(), "string" | "bool") {
        DriftMethod::Js
    } else {
        DriftMethod::Psi
    };
    let method = setting.and_then(|s| s.method).unwrap_or(default);
    let key = match method {
        DriftMethod::Psi => "psi",
        DriftMethod::Ks => "ks",
        DriftMethod::Js => "js",
    };
    let Some(score) = scores.get(key).copied() else {
        return skipped(name, enforced, "`ks` needs a numeric column");
    };
    let max = setting
        .and_then(|s| s.max)
        .unwrap_or_else(|| method.default_max());
    let verdict = if score > max {
        "drift"
    } else if score > max / 2.0 {
        "warn"
    } else {
        "ok"
    };
    ColumnDrift {
        column: name.to_owned(),
        method: key.to_owned(),
        score,
        max,
        verdict: verdict.to_owned(),
        enforced,
        scores,
        note: None,
    }
}

/// Fractions per baseline category (and one bucket for every other value) on both sides.
#[allow(clippy::cast_precision_loss)]
fn categories(base: &ColumnProfile, cur: &ColumnProfile) -> (Vec<f64>, Vec<f64>) {
    let mut p = Vec::with_capacity(base.top.len() + 1);
    let mut q = Vec::with_capacity(base.top.len() + 1);
    let cur_counts: IndexMap<&str, u64> = cur
        .top
        .iter()
        .map(|t| (t.value.as_str(), t.count))
        .collect();
    for t in &base.top {
        p.push(t.count as f64 / base.count as f64);
        q.push(cur_counts.get(t.value.as_str()).copied().unwrap_or(0) as f64 / cur.count as f64);
    }
    let rest = |v: &[f64]| (1.0 - v.iter().sum::<f64>()).max(0.0);
    let (po, qo) = (rest(&p), rest(&q));
    p.push(po);
    q.push(qo);
    (p, q)
}

/// The cumulative distribution a quantile grid describes, at `x` (linear between points).
#[allow(clippy::cast_precision_loss)]
fn cdf(grid: &[f64], x: f64) -> f64 {
    let n = grid.len() - 1;
    if x < grid[0] {
        return 0.0;
    }
    if x >= grid[n] {
        return 1.0;
    }
    let i = grid.partition_point(|g| *g <= x) - 1;
    let (lo, hi) = (grid[i], grid[i + 1]);
    let within = if hi > lo { (x - lo) / (hi - lo) } else { 1.0 };
    (i as f64 + within) / n as f64
}

/// Fractions in the baseline's decile bins on both sides.
fn numeric_bins(base: &[f64], cur: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let n = base.len() - 1;
    let mut edges: Vec<f64> = (1..10).map(|d| base[d * n / 10]).collect();
    edges.dedup();
    let fractions = |grid: &[f64]| {
        let mut out = Vec::with_capacity(edges.len() + 1);
        let mut prev = 0.0;
        for e in &edges {
            let c = cdf(grid, *e);
            out.push((c - prev).max(0.0));
            prev = c;
        }
        out.push((1.0 - prev).max(0.0));
        out
    };
    (fractions(base), fractions(cur))
}

/// Population stability index: Σ (q − p) · ln(q / p).
pub fn psi(p: &[f64], q: &[f64]) -> f64 {
    p.iter()
        .zip(q)
        .map(|(p, q)| {
            let (p, q) = (p.max(EPSILON), q.max(EPSILON));
            (q - p) * (q / p).ln()
        })
        .sum()
}

/// Jensen–Shannon distance, base 2: 0 for equal distributions, 1 for disjoint ones.
pub fn js_distance(p: &[f64], q: &[f64]) -> f64 {
    let sp: f64 = p.iter().sum();
    let sq: f64 = q.iter().sum();
    if sp <= 0.0 || sq <= 0.0 {
        return 0.0;
    }
    let mut d = 0.0;
    for (p, q) in p.iter().zip(q) {
        let (p, q) = (p / sp, q / sq);
        let m = f64::midpoint(p, q);
        if p > 0.0 {
            d += 0.5 * p * (p / m).log2();
        }
        if q > 0.0 {
            d += 0.5 * q * (q / m).log2();
        }
    }
    d.max(0.0).sqrt()
}

/// Kolmogorov–Smirnov D: the largest gap between the two distributions, read at every point of
/// both quantile grids.
pub fn ks(base: &[f64], cur: &[f64]) -> f64 {
    base.iter()
        .chain(cur)
        .map(|x| (cdf(base, *x) - cdf(cur, *x)).abs())
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(f: impl Fn(f64) -> f64) -> Vec<f64> {
        (0..=100).map(|p| f(f64::from(p) / 100.0)).collect()
    }

    #[test]
    fn equal_distributions_do_not_drift_and_shifted_ones_do() {
        let base = grid(|p| p * 100.0);
        let same = grid(|p| p * 100.0);
        let shifted = grid(|p| 30.0 + p * 100.0);
        let (p, q) = numeric_bins(&base, &same);
        assert!(psi(&p, &q).abs() < 1e-9);
        assert!(js_distance(&p, &q) < 1e-6);
        assert!(ks(&base, &same) < 1e-9);
        let (p, q) = numeric_bins(&base, &shifted);
        assert!(psi(&p, &q) > 0.2, "psi {}", psi(&p, &q));
        assert!((ks(&base, &shifted) - 0.3).abs() < 0.02);
        assert!(js_distance(&p, &q) > 0.1);
    }

    #[test]
    fn psi_and_js_match_hand_computed_values() {
        let p = [0.5, 0.5];
        let q = [0.25, 0.75];
        let expected_psi = (0.25 - 0.5) * (0.5f64).ln() + (0.75 - 0.5) * (1.5f64).ln();
        assert!((psi(&p, &q) - expected_psi).abs() < 1e-12);
        assert!((js_distance(&[1.0, 0.0], &[0.0, 1.0]) - 1.0).abs() < 1e-12);
    }
}
