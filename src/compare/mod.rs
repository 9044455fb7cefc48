//! (current, baseline, gates) → [`Comparison`]: each metric's change and status, each gate's
//! verdict with its reason in words, and the params diff. Pure: no I/O. May use `expr` (for
//! gates written as conditions) and `config` types.

mod gate;
mod params;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

pub use gate::{GateVerdict, evaluate_gates};
pub use params::{ParamChange, params_diff, text_diff};

use crate::config::model::{Better, Gate};

pub use crate::results::Flat;

/// Which way a metric gets better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Higher,
    Lower,
}

impl From<Option<Better>> for Direction {
    fn from(b: Option<Better>) -> Self {
        match b {
            Some(Better::Lower) => Self::Lower,
            _ => Self::Higher,
        }
    }
}

/// What happened to a metric against the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Improved,
    Regressed,
    Unchanged,
    /// Not numeric, and different.
    Changed,
    /// In this run, not in the baseline (or no baseline).
    New,
    /// In the baseline, not in this run.
    Removed,
}

/// One metric, this run against the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricDelta {
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Json>,
    /// current − baseline, for numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<f64>,
    /// (current − baseline) / |baseline|, for numbers with a non-zero baseline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relative: Option<f64>,
    pub direction: Direction,
    pub status: Status,
}

/// Everything the report shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub metrics: Vec<MetricDelta>,
    pub gates: Vec<GateVerdict>,
    /// Whether there was a baseline to compare with.
    pub has_baseline: bool,
}

impl Comparison {
    pub fn passed(&self) -> bool {
        self.gates.iter().all(|g| g.passed)
    }
}

/// A finished run against its baseline: every metric, and every gate verdict the stages gave.
pub fn of_run(config: &crate::config::Config, record: &crate::results::RunRecord) -> Comparison {
    let current = crate::results::merged(&record.metrics_files());
    let baseline = record
        .baseline
        .as_ref()
        .map(|b| crate::results::merged(&b.metrics));
    let gates: Vec<Gate> = config
        .stages
        .values()
        .flat_map(|s| s.gates.clone())
        .collect();
    Comparison {
        metrics: compare_metrics(&current, baseline.as_ref(), &directions(&gates)),
        gates: record.stages.iter().flat_map(|s| s.gates.clone()).collect(),
        has_baseline: record.baseline.is_some(),
    }
}

/// The direction of each metric a gate names (`better:`); others get better higher.
pub fn directions(gates: &[Gate]) -> IndexMap<String, Direction> {
    gates
        .iter()
        .filter_map(|g| g.metric.clone().map(|m| (m, Direction::from(g.better))))
        .collect()
}

/// Compares every metric of this run and the baseline, in the run's order then the removed.
pub fn compare_metrics(
    current: &Flat,
    baseline: Option<&Flat>,
    directions: &IndexMap<String, Direction>,
) -> Vec<MetricDelta> {
    let empty = Flat::new();
    let base = baseline.unwrap_or(&empty);
    let mut out: Vec<MetricDelta> = current
        .iter()
        .map(|(key, value)| delta(key, Some(value), base.get(key), direction(directions, key)))
        .collect();
    out.extend(
        base.iter()
            .filter(|(k, _)| !current.contains_key(*k))
            .map(|(key, value)| delta(key, None, Some(value), direction(directions, key))),
    );
    out
}

fn direction(directions: &IndexMap<String, Direction>, key: &str) -> Direction {
    directions.get(key).copied().unwrap_or(Direction::Higher)
}

/// A metric's value as a number, if it is one (booleans are not).
pub fn number(v: &Json) -> Option<f64> {
    v.as_f64()
}

fn delta(
    key: &str,
    current: Option<&Json>,
    baseline: Option<&Json>,
    direction: Direction,
) -> MetricDelta {
    let (change, relative, status) = match (current, baseline) {
        (Some(_), None) => (None, None, Status::New),
        (None, _) => (None, None, Status::Removed),
        (Some(c), Some(b)) => match (number(c), number(b)) {
            (Some(c), Some(b)) => {
                let change = c - b;
                let relative = (b != 0.0).then(|| change / b.abs());
                let status = if change == 0.0 {
                    Status::Unchanged
                } else if (change > 0.0) == (direction == Direction::Higher) {
                    Status::Improved
                } else {
                    Status::Regressed
                };
                (Some(change), relative, status)
            }
            _ if c == b => (None, None, Status::Unchanged),
            _ => (None, None, Status::Changed),
        },
    };
    MetricDelta {
        key: key.to_owned(),
        current: current.cloned(),
        baseline: baseline.cloned(),
        change,
        relative,
        direction,
        status,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// A JSON object as flattened metrics.
    pub(crate) fn flat(v: &Json) -> Flat {
        v.as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    #[test]
    fn statuses_follow_direction() {
        let current =
            flat(&json!({"acc": 0.9, "loss": 0.3, "latency": 12, "name": "b", "fresh": 1}));
        let base = flat(&json!({"acc": 0.95, "loss": 0.4, "latency": 12, "name": "a", "gone": 2}));
        let dirs: IndexMap<String, Direction> = [("loss".to_owned(), Direction::Lower)]
            .into_iter()
            .collect();
        let d = compare_metrics(&current, Some(&base), &dirs);
        let status: Vec<(&str, Status)> = d.iter().map(|m| (m.key.as_str(), m.status)).collect();
        assert_eq!(
            status,
            [
                ("acc", Status::Regressed),
                ("loss", Status::Improved),
                ("latency", Status::Unchanged),
                ("name", Status::Changed),
                ("fresh", Status::New),
                ("gone", Status::Removed)
            ]
        );
        assert!((d[0].change.unwrap() + 0.05).abs() < 1e-12);
        assert!((d[0].relative.unwrap() + 0.05 / 0.95).abs() < 1e-12);
    }

    #[test]
    fn without_a_baseline_everything_is_new() {
        let current = flat(&json!({"acc": 0.9}));
        let d = compare_metrics(&current, None, &IndexMap::new());
        assert_eq!(d[0].status, Status::New);
    }
}
