//! Times drift of 1,000 columns against a stored profile: profiles two generated CSV files of
//! 1,000 numeric and text columns, stores the baseline profile as JSON (as a baseline note keeps
//! it), then times reading it back and scoring every column, as a PR run does.
//!
//! `cargo run --release --example data_drift_1000`

use std::fmt::Write as _;
use std::time::Instant;

use mlops_ci::config::model::DataCheck;
use mlops_ci::results::data::Profile;
use mlops_ci::validate;

fn write(path: &std::path::Path, rows: usize, shift: f64, seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut text = String::new();
    let names: Vec<String> = (0..1000).map(|c| format!("c{c}")).collect();
    text.push_str(&names.join(","));
    text.push('\n');
    for _ in 0..rows {
        for c in 0..1000 {
            if c > 0 {
                text.push(',');
            }
            if c % 4 == 3 {
                let _ = write!(text, "v{}", rng.u32(0..20));
            } else {
                let _ = write!(text, "{:.3}", rng.f64() * 100.0 + shift * f64::from(c % 2));
            }
        }
        text.push('\n');
    }
    std::fs::write(path, text).expect("write the file");
}

fn main() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    write(&a, 2_000, 0.0, 1);
    write(&b, 2_000, 10.0, 2);
    let options = validate::Options::default();
    let (base, _) = validate::profile(&a, "a.csv", None, options).expect("profile a");
    let (current, _) = validate::profile(&b, "b.csv", None, options).expect("profile b");
    let stored = serde_json::to_string(&base).expect("json");
    let check: DataCheck = serde_json::from_str(r#"{"path": "b.csv"}"#).expect("a check");
    let mut best = f64::INFINITY;
    let mut drifted = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let base: Profile = serde_json::from_str(&stored).expect("read back");
        let drift = validate::drift::file(&check, &base, &current);
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        best = best.min(ms);
        drifted = drift.iter().filter(|d| d.verdict == "drift").count();
    }
    println!(
        "drift of {} columns against a stored profile ({} KB of JSON): {best:.1} ms (best of 5), {drifted} drifted",
        current.columns.len(),
        stored.len() / 1024
    );
}
