//! Gate verdicts: bounds, allowed regression against the baseline, and conditions over
//! `metrics` and `baseline`, each with its reason in words.

use indexmap::IndexMap;
use serde_json::Value as Json;

use super::{Direction, Flat, number};
use crate::config::model::{Gate, Regression};
use crate::expr::{Condition, Scope, Value};
use crate::plan::gate_description;

pub use crate::results::GateVerdict;

/// Numbers as reasons show them: no float noise, no trailing zeros.
pub fn num(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        return format!("{v:.0}");
    }
    let text = format!("{v:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "0" || text == "-0" {
        format!("{v:e}")
    } else {
        text.to_owned()
    }
}

/// Evaluates every gate. `baseline_name` names the baseline in reasons (`main`).
pub fn evaluate_gates(
    gates: &[Gate],
    current: &Flat,
    baseline: Option<&Flat>,
    baseline_name: &str,
) -> Vec<GateVerdict> {
    gates
        .iter()
        .map(|g| evaluate(g, current, baseline, baseline_name))
        .collect()
}

fn verdict(gate: &Gate, passed: bool, reason: String) -> GateVerdict {
    GateVerdict {
        name: gate_description(gate),
        metric: gate.metric.clone(),
        passed,
        reason,
    }
}

fn evaluate(
    gate: &Gate,
    current: &Flat,
    baseline: Option<&Flat>,
    baseline_name: &str,
) -> GateVerdict {
    if let Some(condition) = &gate.condition {
        let condition_verdict = condition_gate(gate, condition.as_str(), current, baseline);
        if !condition_verdict.passed || gate.metric.is_none() {
            return condition_verdict;
        }
    }
    let Some(metric) = &gate.metric else {
        return verdict(
            gate,
            false,
            "the gate names no metric and no condition".to_owned(),
        );
    };
    let Some(value) = current.get(metric) else {
        return verdict(
            gate,
            false,
            format!("this run produced no metric `{metric}`"),
        );
    };
    let Some(cur) = number(value) else {
        return verdict(gate, false, format!("`{metric}` is {value}, not a number"));
    };
    let mut checks = Vec::new();
    if let Some(min) = gate.min {
        if cur < min {
            return verdict(
                gate,
                false,
                format!("{metric} {} is below the floor {}", num(cur), num(min)),
            );
        }
        checks.push(format!("at least {}", num(min)));
    }
    if let Some(max) = gate.max {
        if cur > max {
            return verdict(
                gate,
                false,
                format!("{metric} {} is above the ceiling {}", num(cur), num(max)),
            );
        }
        checks.push(format!("at most {}", num(max)));
    }
    if let Some(regression) = gate.regression {
        match regression_check(
            metric,
            cur,
            regression,
            Direction::from(gate.better),
            baseline,
            baseline_name,
        ) {
            Err(reason) => return verdict(gate, false, reason),
            Ok(note) => checks.push(note),
        }
    }
    verdict(
        gate,
        true,
        format!("{metric} {}: {}", num(cur), checks.join("; ")),
    )
}

fn regression_check(
    metric: &str,
    cur: f64,
    allowed: Regression,
    direction: Direction,
    baseline: Option<&Flat>,
    baseline_name: &str,
) -> Result<String, String> {
    let Some(baseline) = baseline else {
        return Ok("no baseline to compare with, so regression is not checked".to_owned());
    };
    let Some(base) = baseline.get(metric) else {
        return Ok(format!("new: {baseline_name} has no `{metric}`"));
    };
    let Some(base) = number(base) else {
        return Err(format!(
            "{baseline_name}'s `{metric}` is {base}, not a number"
        ));
    };
    let worse_by = match direction {
        Direction::Higher => base - cur,
        Direction::Lower => cur - base,
    };
    let (limit, limit_text) = match allowed {
        Regression::Absolute(a) => (a, num(a)),
        Regression::Percent(p) => (
            base.abs() * p / 100.0,
            format!("{}% of {}", num(p), num(base)),
        ),
    };
    let (verb, side) = match direction {
        Direction::Higher => ("fell", "below"),
        Direction::Lower => ("rose", "above"),
    };
    // A hair of slack for float noise in the subtraction.
    if worse_by > limit + 1e-12 * base.abs().max(1.0) {
        return Err(format!(
            "{metric} {} {verb} {} {side} {baseline_name}'s {}; allowed {limit_text}",
            num(cur),
            num(worse_by),
            num(base)
        ));
    }
    Ok(if worse_by > 0.0 {
        format!(
            "{verb} {} {side} {baseline_name}'s {}, within the allowed {limit_text}",
            num(worse_by),
            num(base)
        )
    } else {
        format!("no worse than {baseline_name}'s {}", num(base))
    })
}

fn object(flat: &Flat) -> Value {
    Value::from_json(&Json::Object(
        flat.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
    ))
}

fn condition_gate(gate: &Gate, text: &str, current: &Flat, baseline: Option<&Flat>) -> GateVerdict {
    let mut contexts: IndexMap<String, Value> = IndexMap::new();
    contexts.insert("metrics".to_owned(), object(current));
    contexts.insert("baseline".to_owned(), baseline.map_or(Value::Null, object));
    let scope = Scope {
        names: &["metrics", "baseline"],
        functions: &[],
    };
    let outcome = Condition::parse(text, scope)
        .map_err(|(_, e)| e)
        .and_then(|c| c.holds(&contexts, None));
    match outcome {
        Ok(true) => verdict(gate, true, format!("`{text}` holds")),
        Ok(false) if baseline.is_none() && text.contains("baseline") => verdict(
            gate,
            false,
            format!("`{text}` is false (there is no baseline, so `baseline` is null)"),
        ),
        Ok(false) => verdict(gate, false, format!("`{text}` is false")),
        Err(e) => verdict(
            gate,
            false,
            format!("`{text}` could not be evaluated: {}", e.message),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::tests::flat;
    use crate::config::model::{Better, Condition as CondText};
    use serde_json::json;

    fn gate(metric: &str) -> Gate {
        Gate {
            metric: Some(metric.to_owned()),
            ..Gate::default()
        }
    }

    #[test]
    fn regression_beyond_the_allowance_fails_with_a_reason() {
        let g = Gate {
            regression: Some(Regression::Absolute(0.01)),
            ..gate("accuracy")
        };
        let v = evaluate(
            &g,
            &flat(&json!({"accuracy": 0.912})),
            Some(&flat(&json!({"accuracy": 0.933}))),
            "main",
        );
        assert!(!v.passed);
        assert_eq!(
            v.reason,
            "accuracy 0.912 fell 0.021 below main's 0.933; allowed 0.01"
        );
        let ok = evaluate(
            &g,
            &flat(&json!({"accuracy": 0.93})),
            Some(&flat(&json!({"accuracy": 0.933}))),
            "main",
        );
        assert!(ok.passed, "{}", ok.reason);
    }

    #[test]
    fn lower_is_better_and_percent() {
        let g = Gate {
            better: Some(Better::Lower),
            regression: Some(Regression::Percent(10.0)),
            max: Some(50.0),
            ..gate("latency")
        };
        let base = flat(&json!({"latency": 40}));
        assert!(evaluate(&g, &flat(&json!({"latency": 44})), Some(&base), "main").passed);
        let v = evaluate(&g, &flat(&json!({"latency": 45})), Some(&base), "main");
        assert_eq!(
            v.reason,
            "latency 45 rose 5 above main's 40; allowed 10% of 40"
        );
        let v = evaluate(&g, &flat(&json!({"latency": 51})), None, "main");
        assert_eq!(v.reason, "latency 51 is above the ceiling 50");
    }

    #[test]
    fn missing_metric_and_no_baseline() {
        let g = Gate {
            min: Some(0.9),
            regression: Some(Regression::Absolute(0.01)),
            ..gate("acc")
        };
        assert_eq!(
            evaluate(&g, &flat(&json!({})), None, "main").reason,
            "this run produced no metric `acc`"
        );
        let v = evaluate(&g, &flat(&json!({"acc": 0.95})), None, "main");
        assert!(v.passed);
        assert!(
            v.reason.contains("no baseline to compare with"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn condition_gates_see_metrics_and_baseline() {
        let g = Gate {
            condition: Some(CondText(
                "${{ metrics['f1.a'] >= baseline['f1.a'] }}".into(),
            )),
            ..Gate::default()
        };
        let base = flat(&json!({"f1.a": 0.8}));
        assert!(evaluate(&g, &flat(&json!({"f1.a": 0.81})), Some(&base), "main").passed);
        let v = evaluate(&g, &flat(&json!({"f1.a": 0.79})), Some(&base), "main");
        assert!(!v.passed);
        assert_eq!(
            v.reason,
            "`${{ metrics['f1.a'] >= baseline['f1.a'] }}` is false"
        );
    }
}
