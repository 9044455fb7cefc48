//! Writes the benchmark's CSV: N rows × 8 columns (`id` unique i64, `age` 18–90, `income`
//! lognormal with 1% nulls, `score` normal, `category` 8 values, `city` 1,000 Zipf values,
//! `label` 0/1, `email`), seeded, so every tool reads the same bytes. With `scattered`, `id`
//! is still unique but no two rows in a row hold consecutive ids (`id × 1000003 + 12345` modulo
//! 2^34, a bijection), so `unique` keys each one.
//!
//! `cargo run --release --example data_bench_generate -- OUT.csv ROWS [SEED [scattered]]`

use std::fmt::Write as _;
use std::io::Write as _;

const CATEGORIES: [&str; 8] = [
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta",
];

fn normal(rng: &mut fastrand::Rng) -> f64 {
    // Box–Muller
    let u = rng.f64().max(f64::MIN_POSITIVE);
    let v = rng.f64();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let out = args.get(1).expect("usage: OUT.csv ROWS [SEED]");
    let rows: u64 = args.get(2).and_then(|r| r.parse().ok()).expect("ROWS");
    let seed: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(42);
    let scattered = match args.get(4).map(String::as_str) {
        None => false,
        Some("scattered") => true,
        Some(other) => panic!("usage: OUT.csv ROWS [SEED [scattered]], not `{other}`"),
    };
    let mut rng = fastrand::Rng::with_seed(seed);
    // Zipf(1) over 1,000 cities by inverse CDF on the harmonic weights
    let weights: Vec<f64> = (1..=1000).map(|k| 1.0 / f64::from(k)).collect();
    let total: f64 = weights.iter().sum();
    let mut cdf = Vec::with_capacity(1000);
    let mut acc = 0.0;
    for w in &weights {
        acc += w / total;
        cdf.push(acc);
    }
    let mut file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(out)?);
    writeln!(file, "id,age,income,score,category,city,label,email")?;
    let mut line = String::with_capacity(128);
    for id in 0..rows {
        line.clear();
        let age = rng.u32(18..=90);
        let income = if rng.u32(0..100) == 0 {
            String::new()
        } else {
            format!("{:.2}", (10.5 + 0.6 * normal(&mut rng)).exp())
        };
        let score = normal(&mut rng);
        let category = CATEGORIES[rng.usize(0..CATEGORIES.len())];
        let u = rng.f64();
        let city = cdf.partition_point(|c| *c < u).min(999);
        let label = rng.u8(0..2);
        let key = if scattered {
            (id * 1_000_003 + 12_345) % (1 << 34)
        } else {
            id
        };
        let _ = writeln!(
            line,
            "{key},{age},{income},{score:.4},{category},city{city},{label},user{id}@example.com"
        );
        file.write_all(line.as_bytes())?;
    }
    file.flush()
}
