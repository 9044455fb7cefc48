//! `data:` checks, profiles and drift on real files the tests write (CSV, gzip, JSON Lines,
//! Parquet, broken ones), through the real binary: `data check`, `data profile`, `check`, `run`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use crate::common::{code, git, mlops_ci, run, run_json, stderr, stdout};

/// What the generator put in the file, to compare the checks with.
#[derive(Debug, Default)]
struct Truth {
    rows: u64,
    ages_over_90: Vec<(u64, String)>,
    null_incomes: u64,
    bad_emails: Vec<(u64, String)>,
    repeated_ids: Vec<(u64, String)>,
    cities: Vec<&'static str>,
    income_sum: f64,
    income_min: f64,
    income_max: f64,
}

const CITIES: [&str; 4] = ["paris", "lima", "oslo", "kyiv"];

/// A seeded table: id (some repeated), age (a few over 90), income (some nulls, shifted by
/// `shift`), city, email (a few malformed), joined (a date). Line 1 is the header.
fn table(rows: u64, seed: u64, shift: f64) -> (Vec<Vec<Option<String>>>, Truth) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut truth = Truth {
        rows,
        income_min: f64::INFINITY,
        income_max: f64::NEG_INFINITY,
        ..Truth::default()
    };
    let mut out = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for i in 0..rows {
        let line = i + 2;
        let id = if i > 0 && rng.u32(0..100) == 0 {
            i - 1
        } else {
            i
        };
        if !ids.insert(id) {
            truth.repeated_ids.push((line, id.to_string()));
        }
        let age = if rng.u32(0..50) == 0 {
            rng.u32(91..120)
        } else {
            rng.u32(18..91)
        };
        if age > 90 {
            truth.ages_over_90.push((line, age.to_string()));
        }
        let income = if rng.u32(0..20) == 0 {
            truth.null_incomes += 1;
            None
        } else {
            let text = format!("{:.1}", f64::from(rng.u32(1000..100_000)) / 10.0 + shift);
            let v: f64 = text.parse().unwrap();
            truth.income_sum += v;
            truth.income_min = truth.income_min.min(v);
            truth.income_max = truth.income_max.max(v);
            Some(text)
        };
        let city = CITIES[rng.usize(0..CITIES.len())];
        if !truth.cities.contains(&city) {
            truth.cities.push(city);
        }
        let email = if rng.u32(0..40) == 0 {
            let bad = format!("user{i}-at-example.com");
            truth.bad_emails.push((line, bad.clone()));
            bad
        } else {
            format!("user{i}@example.com")
        };
        let joined = format!("2024-{:02}-{:02}", rng.u32(1..13), rng.u32(1..29));
        out.push(vec![
            Some(id.to_string()),
            Some(age.to_string()),
            income,
            Some(city.to_owned()),
            Some(email),
            Some(joined),
        ]);
    }
    (out, truth)
}

const HEADER: [&str; 6] = ["id", "age", "income", "city", "email", "joined"];

fn csv_text(rows: &[Vec<Option<String>>]) -> String {
    let mut out = HEADER.join(",") + "\n";
    for row in rows {
        let cells: Vec<&str> = row.iter().map(|c| c.as_deref().unwrap_or("")).collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

fn jsonl_text(rows: &[Vec<Option<String>>]) -> String {
    let mut out = String::new();
    for row in rows {
        let mut obj = serde_json::Map::new();
        for (name, cell) in HEADER.iter().zip(row) {
            let value = match (name, cell) {
                (_, None) => serde_json::Value::Null,
                (&"id" | &"age", Some(v)) => v.parse::<i64>().unwrap().into(),
                (&"income", Some(v)) => v.parse::<f64>().unwrap().into(),
                (_, Some(v)) => v.clone().into(),
            };
            obj.insert((*name).to_owned(), value);
        }
        let _ = writeln!(out, "{}", serde_json::Value::Object(obj));
    }
    out
}

/// The rows as a Parquet file written by the `parquet` crate's own writer, in row groups of
/// 1,100 rows: nulls as definition levels, `joined` a `DATE`.
fn write_parquet(path: &Path, rows: &[Vec<Option<String>>]) {
    use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;
    use std::sync::Arc;
    let schema = parse_message_type(
        "message t { optional int64 id; optional int64 age; optional double income;
         optional binary city (STRING); optional binary email (STRING);
         optional int32 joined (DATE); }",
    )
    .unwrap();
    let file = std::fs::File::create(path).unwrap();
    let props = Arc::new(WriterProperties::builder().build());
    let mut writer = SerializedFileWriter::new(file, Arc::new(schema), props).unwrap();
    for group in rows.chunks(1_100) {
        let mut out = writer.next_row_group().unwrap();
        let mut i = 0;
        while let Some(mut column) = out.next_column().unwrap() {
            let cells: Vec<&str> = group.iter().filter_map(|r| r[i].as_deref()).collect();
            let defs: Vec<i16> = group.iter().map(|r| i16::from(r[i].is_some())).collect();
            let defs = Some(&defs[..]);
            match i {
                0 | 1 => {
                    let v: Vec<i64> = cells.iter().map(|c| c.parse().unwrap()).collect();
                    column.typed::<Int64Type>().write_batch(&v, defs, None)
                }
                2 => {
                    let v: Vec<f64> = cells.iter().map(|c| c.parse().unwrap()).collect();
                    column.typed::<DoubleType>().write_batch(&v, defs, None)
                }
                5 => {
                    let days = |c: &&str| mlops_ci::validate::parse_date(c).unwrap();
                    let v: Vec<i32> = cells
                        .iter()
                        .map(|c| i32::try_from(days(c)).unwrap())
                        .collect();
                    column.typed::<Int32Type>().write_batch(&v, defs, None)
                }
                _ => {
                    let v: Vec<ByteArray> = cells.iter().map(|c| ByteArray::from(*c)).collect();
                    column.typed::<ByteArrayType>().write_batch(&v, defs, None)
                }
            }
            .unwrap();
            column.close().unwrap();
            i += 1;
        }
        out.close().unwrap();
    }
    writer.close().unwrap();
}

const RULES: &str = r#"        rows: { min: 100, max: 1000000 }
        columns:
          id: { type: int, unique: true }
          age: { type: int, min: 18, max: 90, nulls: 0 }
          income: { type: float, min: 0, nulls: "1%" }
          city: { type: string, in: [paris, lima, oslo, kyiv] }
          email: { type: string, regex: '^[^@]+@[^@]+\.[^@]+$', length: { min: 5, max: 64 } }
          joined: { type: date, min: "2024-01-01", max: "2024-12-31" }
"#;

fn config(paths: &[&str], extra: &str) -> String {
    let mut out = "version: 1\nstages:\n  validate:\n    data:\n".to_owned();
    for p in paths {
        let _ = write!(out, "      - path: {p}\n{RULES}{extra}");
    }
    out
}

fn data_check_json(dir: &Path) -> (i32, serde_json::Value, String) {
    let out = run(dir, &["data", "check", "--format", "json"]);
    let json = serde_json::from_str(&stdout(&out)).unwrap_or(serde_json::Value::Null);
    (code(&out), json, stderr(&out))
}

fn check_named<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"].as_str().unwrap().contains(name))
        .unwrap_or_else(|| panic!("no check `{name}` in {report:#}"))
}

/// A check's first rows: none when it passed (the report leaves `first` out).
pub(crate) fn first_rows(check: &serde_json::Value) -> Vec<(u64, String)> {
    check["first"].as_array().map_or_else(Vec::new, |first| {
        first
            .iter()
            .map(|r| {
                (
                    r["row"].as_u64().unwrap(),
                    r["value"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    })
}

#[test]
#[allow(clippy::cast_precision_loss)]
fn every_check_counts_its_violations_and_shows_the_first_rows() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (rows, truth) = table(20_000, 7, 0.0);
    std::fs::write(d.join("people.csv"), csv_text(&rows)).unwrap();
    std::fs::write(d.join("mlops.yaml"), config(&["people.csv"], "")).unwrap();
    let (status, json, err) = data_check_json(d);
    assert_eq!(status, 1, "{err}");
    let report = &json["validate"][0];
    assert_eq!(report["rows"], truth.rows);
    assert_eq!(report["passed"], false);
    let age = check_named(report, "`age`: max 90");
    assert_eq!(age["violations"], truth.ages_over_90.len() as u64);
    assert_eq!(first_rows(age), truth.ages_over_90[..5].to_vec());
    let email = check_named(report, "`email`: matches");
    assert_eq!(email["violations"], truth.bad_emails.len() as u64);
    assert_eq!(first_rows(email), truth.bad_emails[..5].to_vec());
    let ids = check_named(report, "`id`: unique");
    assert_eq!(ids["violations"], truth.repeated_ids.len() as u64);
    assert_eq!(first_rows(ids), truth.repeated_ids[..5].to_vec());
    // 5% nulls against 1% allowed
    let nulls = check_named(report, "`income`: at most 1% nulls");
    assert_eq!(nulls["violations"], truth.null_incomes);
    for passing in [
        "`city`: in",
        "`joined`: type date",
        "`joined`: min",
        "`email`: length",
        "rows between 100 and 1000000",
    ] {
        assert_eq!(check_named(report, passing)["passed"], true, "{passing}");
    }
    let profile = &report["profile"]["columns"]["income"];
    assert_eq!(profile["nulls"], truth.null_incomes);
    assert_eq!(profile["min"], truth.income_min);
    assert_eq!(profile["max"], truth.income_max);
    let mean = truth.income_sum / (truth.rows - truth.null_incomes) as f64;
    assert!((profile["mean"].as_f64().unwrap() - mean).abs() < 1e-6);
    let city = &report["profile"]["columns"]["city"];
    assert_eq!(city["top_exact"], true);
    assert_eq!(city["top"].as_array().unwrap().len(), truth.cities.len());
    let counted: u64 = city["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["count"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, truth.rows);
    for column in report["profile"]["columns"].as_object().unwrap().values() {
        assert!(column.to_string().len() <= 32 * 1024, "{column}");
    }

    // one thread alone finds exactly the same
    let out = run(d, &["data", "check", "--format", "json", "--threads", "1"]);
    let alone: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(alone, json);

    // the human report says the same, with the first failing rows
    let out = run(d, &["data", "check"]);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    let (line, value) = &truth.ages_over_90[0];
    assert!(text.contains(&format!("row {line}: {value}")), "{text}");
    assert!(
        text.contains(&format!(
            "✗ column `age`: max 90: {} value(s) are above 90",
            truth.ages_over_90.len()
        )),
        "{text}"
    );
}

#[test]
fn csv_gzip_jsonl_and_parquet_give_the_same_checks_and_profile() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (rows, truth) = table(3_000, 11, 0.0);
    std::fs::write(d.join("t.csv"), csv_text(&rows)).unwrap();
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(d.join("t.csv.gz")).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(csv_text(&rows).as_bytes()).unwrap();
    gz.finish().unwrap();
    std::fs::write(d.join("t.jsonl"), jsonl_text(&rows)).unwrap();
    write_parquet(&d.join("t.parquet"), &rows);
    let files = ["t.csv", "t.csv.gz", "t.jsonl", "t.parquet"];
    std::fs::write(d.join("mlops.yaml"), config(&files, "")).unwrap();
    let (status, json, err) = data_check_json(d);
    assert_eq!(status, 1, "{err}");
    let reports = json["validate"].as_array().unwrap();
    assert_eq!(reports.len(), 4);
    let counts = |r: &serde_json::Value| -> Vec<(String, u64)> {
        r["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| !c["name"].as_str().unwrap().starts_with("every"))
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_owned(),
                    c["violations"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    for r in reports {
        assert_eq!(r["rows"], truth.rows, "{}", r["file"]);
        assert_eq!(counts(r), counts(&reports[0]), "{}", r["file"]);
        let cols = &r["profile"]["columns"];
        for (name, base) in reports[0]["profile"]["columns"].as_object().unwrap() {
            for key in ["kind", "nulls", "count", "min", "max", "distinct"] {
                assert_eq!(cols[name][key], base[key], "{} {name} {key}", r["file"]);
            }
        }
    }
    assert_eq!(reports[1]["format"], "csv");
    assert_eq!(reports[2]["format"], "jsonl");
    assert_eq!(reports[3]["format"], "parquet");
    // Parquet rows are numbered from 1, CSV and JSON Lines by line (header on line 1 for CSV)
    let first = |i: usize| first_rows(check_named(&reports[i], "`age`: max 90"))[0].0;
    assert_eq!(first(0), truth.ages_over_90[0].0);
    assert_eq!(first(2), truth.ages_over_90[0].0 - 1);
    assert_eq!(first(3), truth.ages_over_90[0].0 - 1);
}

#[test]
fn broken_files_are_violations_with_line_numbers_or_pointed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("ragged.csv"),
        "a,b,c\n1,2,3\n4,5\n6,7,8,9\n\"x\ny\",1,2\n10,11,12\n",
    )
    .unwrap();
    std::fs::write(d.join("empty.csv"), "").unwrap();
    std::fs::write(d.join("header.csv"), "a,b,c\n").unwrap();
    std::fs::write(
        d.join("bad.jsonl"),
        "{\"a\": 1}\nnot json\n[1]\n{\"a\": 2, \"b\": \"x\"}\n",
    )
    .unwrap();
    let yaml = "version: 1\nstages:\n  validate:\n    data:\n".to_owned()
        + "      - path: ragged.csv\n        columns: { a: { type: int } }\n"
        + "      - path: empty.csv\n        rows: { min: 1 }\n        columns: { a: { type: int } }\n"
        + "      - path: header.csv\n        rows: { min: 1 }\n"
        + "      - path: bad.jsonl\n        columns: { a: { type: int, nulls: 0 } }\n";
    std::fs::write(d.join("mlops.yaml"), &yaml).unwrap();
    let (status, json, err) = data_check_json(d);
    assert_eq!(status, 1, "{err}");
    let r = &json["validate"];
    let ragged = check_named(&r[0], "number of fields");
    assert_eq!(ragged["violations"], 2);
    assert_eq!(
        first_rows(ragged),
        vec![
            (3, "2 field(s), the header has 3".to_owned()),
            (4, "4 field(s), the header has 3".to_owned())
        ]
    );
    assert_eq!(
        check_named(&r[0], "`a`: type int")["violations"],
        1,
        "the quoted `x\\ny` is one field"
    );
    assert_eq!(r[1]["rows"], 0);
    assert_eq!(check_named(&r[1], "at least 1 rows")["passed"], false);
    assert_eq!(check_named(&r[1], "column `a` exists")["passed"], false);
    assert_eq!(r[2]["rows"], 0);
    assert_eq!(r[2]["profile"]["columns"].as_object().unwrap().len(), 3);
    let bad = check_named(&r[3], "JSON object");
    assert_eq!(
        first_rows(bad).iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![2, 3]
    );
    assert_eq!(
        r[3]["profile"]["columns"]["b"]["nulls"], 1,
        "a key seen late is null before"
    );

    // bad UTF-8 and a missing file stop with exit 2, naming the stage, the file and the line
    std::fs::write(d.join("latin1.csv"), b"a,b\n1,caf\xe9\n").unwrap();
    std::fs::write(
        d.join("mlops.yaml"),
        "version: 1\nstages:\n  validate:\n    data:\n      - path: latin1.csv\n    steps:\n      - run: touch ran\n",
    )
    .unwrap();
    let out = run(d, &["check"]);
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert!(
        err.contains("stage `validate`")
            && err.contains("`latin1.csv` is not valid UTF-8 at line 2, column `b`"),
        "{err}"
    );
    assert!(!d.join("ran").exists(), "the steps must not run");
    std::fs::write(
        d.join("mlops.yaml"),
        "version: 1\nstages:\n  validate:\n    data:\n      - path: nowhere.csv\n",
    )
    .unwrap();
    let out = run(d, &["data", "check"]);
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert!(
        err.contains("stage `validate`") && err.contains("`nowhere.csv` does not exist"),
        "{err}"
    );
}

#[test]
fn a_failed_check_fails_the_stage_before_its_steps_and_the_record_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (rows, truth) = table(500, 3, 0.0);
    std::fs::write(d.join("t.csv"), csv_text(&rows)).unwrap();
    let yaml = config(&["t.csv"], "")
        + "    steps:\n      - run: touch ran\n  after:\n    needs: [validate]\n    steps:\n      - run: touch after\n";
    std::fs::write(d.join("mlops.yaml"), yaml).unwrap();
    let out = run(d, &["check"]);
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(
        !d.join("ran").exists() && !d.join("after").exists(),
        "{err}"
    );
    assert!(err.contains("data checks failed: `t.csv`"), "{err}");
    let record = run_json(d);
    let stage = &record["stages"][0];
    assert_eq!(stage["result"], "failure");
    assert_eq!(stage["steps"].as_array().map_or(0, Vec::len), 0);
    assert_eq!(stage["data"][0]["rows"], truth.rows);
    assert_eq!(
        check_named(&stage["data"][0], "`age`: max 90")["violations"],
        truth.ages_over_90.len() as u64
    );

    // clean data passes and the steps run
    let clean: Vec<Vec<Option<String>>> = rows
        .into_iter()
        .enumerate()
        .map(|(i, mut r)| {
            r[0] = Some(i.to_string());
            r[1] = Some("40".to_owned());
            r[2] = Some("10".to_owned());
            r[4] = Some(format!("u{i}@example.com"));
            r
        })
        .collect();
    std::fs::write(d.join("t.csv"), csv_text(&clean)).unwrap();
    let out = run(d, &["check"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(d.join("ran").exists() && d.join("after").exists());
}

#[test]
fn unique_spills_to_disk_past_its_cap_and_finds_the_same_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (rows, truth) = table(5_000, 5, 0.0);
    std::fs::write(d.join("t.csv"), csv_text(&rows)).unwrap();
    std::fs::write(d.join("mlops.yaml"), config(&["t.csv"], "")).unwrap();
    let out = mlops_ci(d)
        .args(["data", "check", "--format", "json"])
        .env(mlops_ci::validate::UNIQUE_CAP_ENV, "300")
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let ids = check_named(&json["validate"][0], "`id`: unique");
    assert_eq!(ids["violations"], truth.repeated_ids.len() as u64);
    let rows: Vec<u64> = first_rows(ids).iter().map(|r| r.0).collect();
    let expected: Vec<u64> = truth.repeated_ids[..5].iter().map(|r| r.0).collect();
    assert_eq!(rows, expected);
}

/// `data check --format json --threads N` in `dir`, whose config's first file breaks a check:
/// that file's report.
fn first_report(dir: &Path, threads: &str) -> serde_json::Value {
    let out = run(
        dir,
        &["data", "check", "--format", "json", "--threads", threads],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    serde_json::from_str::<serde_json::Value>(&stdout(&out)).unwrap()["validate"][0].clone()
}

/// Asserts that two reports of one file have the same profile figures (the mean to rounding;
/// the quantile sample is drawn per worker), as workers and one thread find them.
fn same_figures(one: &serde_json::Value, other: &serde_json::Value, what: &str) {
    for column in HEADER {
        let (a, b) = (
            &one["profile"]["columns"][column],
            &other["profile"]["columns"][column],
        );
        for exact in [
            "count", "nulls", "min", "max", "distinct", "top", "length", "kind",
        ] {
            assert_eq!(a[exact], b[exact], "{what}: {column}: {exact}");
        }
        if let (Some(x), Some(y)) = (a["mean"].as_f64(), b["mean"].as_f64()) {
            assert!(
                (x - y).abs() <= 1e-9 * x.abs().max(1.0),
                "{what}: {column}: mean {x} vs {y}"
            );
        }
    }
}

fn checks_by_name(report: &serde_json::Value) -> Vec<(String, u64, Vec<u64>)> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let rows = first_rows(c).iter().map(|r| r.0).collect();
            (
                c["name"].as_str().unwrap().to_owned(),
                c["violations"].as_u64().unwrap(),
                rows,
            )
        })
        .collect()
}

#[test]
fn workers_find_what_one_thread_finds() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // over 8 MB, so that workers share the file's chunks; some fields quoted
    let (rows, truth) = table(250_000, 11, 0.0);
    let mut text = String::new();
    for (i, line) in csv_text(&rows).lines().enumerate() {
        if i > 0 && i % 9_999 == 0 {
            let mut fields: Vec<&str> = line.split(',').collect();
            let city = format!("\"{}\"", fields[3]);
            fields[3] = &city;
            text.push_str(&fields.join(","));
        } else {
            text.push_str(line);
        }
        text.push('\n');
    }
    text.push_str("1,2,3\n");
    assert!(text.len() > 9 << 20);
    std::fs::write(d.join("t.csv"), text).unwrap();
    std::fs::write(d.join("mlops.yaml"), config(&["t.csv"], "")).unwrap();
    let one = first_report(d, "1");
    let three = first_report(d, "3");
    assert_eq!(checks_by_name(&one), checks_by_name(&three));
    let ids = check_named(&three, "`id`: unique");
    assert_eq!(ids["violations"], truth.repeated_ids.len() as u64);
    let malformed = check_named(&three, "every row has the header's number of fields");
    assert_eq!(first_rows(malformed)[0].0, truth.rows + 2);
    assert_eq!(three["rows"], truth.rows + 1);
    same_figures(&one, &three, "3 threads");
    let cities = three["profile"]["columns"]["city"]["top"]
        .as_array()
        .unwrap();
    assert_eq!(cities.len(), CITIES.len());
}

/// `profile: false` finds every violation the full pass finds, on one thread and on several,
/// and keeps no profile: drift says why it has nothing to compare.
#[test]
fn without_a_profile_the_checks_find_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // over 8 MB, so that workers share the file's chunks
    let (rows, truth) = table(250_000, 12, 0.0);
    std::fs::write(d.join("t.csv"), csv_text(&rows)).unwrap();
    let json_with = |config: &str, threads: &str| {
        std::fs::write(d.join("mlops.yaml"), config).unwrap();
        let out = run(
            d,
            &["data", "check", "--format", "json", "--threads", threads],
        );
        assert_eq!(code(&out), 1, "{}", stderr(&out));
        serde_json::from_str::<serde_json::Value>(&stdout(&out)).unwrap()["validate"][0].clone()
    };
    let full = json_with(&config(&["t.csv"], ""), "2");
    assert!(full["profile"].is_object());
    // past its top values, an `int` column with `unique` takes its distinct count from it:
    // exact, where the email column's is the HLL's estimate
    let distinct = |column: &str| {
        full["profile"]["columns"][column]["distinct"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(distinct("id"), truth.rows - truth.repeated_ids.len() as u64);
    // every email is another (`user{i}…`)
    assert!(distinct("email").abs_diff(truth.rows) < truth.rows / 20);
    let alone = config(&["t.csv"], "        profile: false\n");
    for threads in ["1", "2"] {
        let checks_only = json_with(&alone, threads);
        assert_eq!(
            checks_by_name(&checks_only),
            checks_by_name(&full),
            "{threads}"
        );
        assert_eq!(checks_only["rows"], truth.rows);
        assert!(checks_only.get("profile").is_none(), "{checks_only:#}");
        assert_eq!(
            checks_only["drift_note"],
            "`profile: false`: no profile to compare"
        );
    }
    let ages = check_named(&full, "`age`: max 90");
    assert_eq!(ages["violations"], truth.ages_over_90.len() as u64);
}

/// With only `int`, `float` and `string` columns, an ASCII chunk is not checked for UTF-8 as a
/// whole, and the few cells wanted as text (a cell of the wrong type, a check's first rows, a
/// new frequent value) are checked one by one: the same checks and profile as when another
/// column's type reads every cell as text.
#[test]
fn columns_read_as_bytes_find_what_columns_read_as_text_find() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut rows, _) = table(20_000, 13, 0.0);
    // cells of the wrong type in a number column
    for (i, row) in rows.iter_mut().enumerate() {
        if i % 997 == 5 {
            row[1] = Some(format!("n/a {i}"));
        }
    }
    std::fs::write(d.join("t.csv"), csv_text(&rows)).unwrap();
    let report = |config: String| {
        std::fs::write(d.join("mlops.yaml"), config).unwrap();
        let out = run(d, &["data", "check", "--format", "json"]);
        assert_eq!(code(&out), 1, "{}", stderr(&out));
        let mut json =
            serde_json::from_str::<serde_json::Value>(&stdout(&out)).unwrap()["validate"][0]
                .clone();
        // all but the `joined` column, typed differently in the two configs
        let columns = json["profile"]["columns"].as_object_mut().unwrap();
        columns.remove("joined");
        let checks: Vec<serde_json::Value> = json["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| !c["name"].as_str().unwrap().contains("joined"))
            .cloned()
            .collect();
        (checks, json["profile"].clone())
    };
    let as_text = report(config(&["t.csv"], ""));
    let as_bytes = report(config(&["t.csv"], "").replace(
        r#"joined: { type: date, min: "2024-01-01", max: "2024-12-31" }"#,
        "joined: { type: string }",
    ));
    let wrong_type = as_bytes
        .0
        .iter()
        .find(|c| c["name"].as_str().unwrap().contains("`age`: type"))
        .unwrap_or_else(|| panic!("{:#?}", as_bytes.0));
    assert_eq!(wrong_type["violations"], 21);
    assert_eq!(first_rows(wrong_type)[0], (7, "n/a 5".to_owned()));
    assert_eq!(as_bytes, as_text);
}

/// Asserts that `data check` in `dir` stops with exit 2 and says `says`, on one thread and on
/// two and three workers, each twice (which worker meets which error first varies).
fn stops_on_each_thread_count(dir: &Path, says: &str) {
    for threads in ["1", "2", "3", "2", "3"] {
        let out = run(dir, &["data", "check", "--threads", threads]);
        let err = stderr(&out);
        assert_eq!(code(&out), 2, "{threads}: {err}");
        assert!(err.contains(says), "{threads} threads, {says}: {err}");
    }
}

/// Workers take turns reading the file's chunks: one that breaks in two places stops with the
/// error of the first, whichever worker meets which first, and no worker is left waiting.
#[test]
fn workers_stop_on_the_first_broken_line_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (rows, _) = table(250_000, 13, 0.0);
    let text = csv_text(&rows);
    assert!(text.len() > 8 << 20);
    std::fs::write(d.join("mlops.yaml"), config(&["t.csv"], "")).unwrap();
    // lines in the first chunk and the last; in two chunks of the middle, of other workers
    for bad in [[700, 240_000], [90_000, 130_000]] {
        let mut bytes = Vec::with_capacity(text.len() + 2);
        for (i, line) in text.lines().enumerate() {
            bytes.extend_from_slice(line.as_bytes());
            if bad.contains(&(i + 1)) {
                bytes.push(0xe9);
            }
            bytes.push(b'\n');
        }
        std::fs::write(d.join("t.csv"), &bytes).unwrap();
        stops_on_each_thread_count(
            d,
            &format!("`t.csv` is not valid UTF-8 at line {},", bad[0]),
        );
    }
}

/// A Parquet file's row groups shared among workers: the same rows, checks and exact figures
/// as one reader finds; a file broken in two row groups stops with the error of the first,
/// whichever worker meets which first.
#[test]
fn parquet_workers_find_what_one_reader_finds() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // over 8 MB, so that workers share its row groups (of 1,100 rows)
    let (rows, truth) = table(300_000, 15, 0.0);
    write_parquet(&d.join("t.parquet"), &rows);
    let clean = std::fs::read(d.join("t.parquet")).unwrap();
    assert!(clean.len() > 8 << 20, "{}", clean.len());
    std::fs::write(d.join("mlops.yaml"), config(&["t.parquet"], "")).unwrap();
    let one = first_report(d, "1");
    assert_eq!(one["rows"], truth.rows);
    let ids = check_named(&one, "`id`: unique");
    assert_eq!(ids["violations"], truth.repeated_ids.len() as u64);
    let emails = check_named(&one, "`email`: matches");
    let bad: Vec<u64> = truth.bad_emails.iter().take(5).map(|b| b.0 - 1).collect();
    assert_eq!(
        first_rows(emails).iter().map(|r| r.0).collect::<Vec<_>>(),
        bad
    );
    for threads in ["2", "3"] {
        let many = first_report(d, threads);
        assert_eq!(many["rows"], truth.rows);
        assert_eq!(checks_by_name(&many), checks_by_name(&one), "{threads}");
        same_figures(&one, &many, threads);
    }
    // rows in the first row group and the last; in two of the middle, of other workers
    for bad in [[700, 299_000], [90_000, 130_000]] {
        let mut bytes = clean.clone();
        for row in bad {
            let email = rows[row - 1][4].as_deref().unwrap().as_bytes();
            let at = bytes.windows(email.len()).position(|w| w == email).unwrap();
            bytes[at] = 0xe9;
        }
        std::fs::write(d.join("t.parquet"), &bytes).unwrap();
        stops_on_each_thread_count(
            d,
            &format!(
                "`t.parquet` is not valid UTF-8 in row {}, column `email`",
                bad[0]
            ),
        );
    }
}

#[test]
fn globs_and_folders_check_each_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("parts")).unwrap();
    for (i, seed) in [1u64, 2, 3].iter().enumerate() {
        let (rows, _) = table(200, *seed, 0.0);
        std::fs::write(d.join(format!("parts/p{i}.csv")), csv_text(&rows)).unwrap();
    }
    let yaml = "version: 1\nstages:\n  v:\n    data:\n      - path: parts/*.csv\n        rows: { min: 200 }\n      - path: parts\n        rows: { max: 10 }\n      - path: none/*.csv\n";
    std::fs::write(d.join("mlops.yaml"), yaml).unwrap();
    let (status, json, err) = data_check_json(d);
    assert_eq!(status, 2, "{err}");
    assert!(err.contains("no file matches `none/*.csv`"), "{err}");
    assert_eq!(json["v"][6]["error"], "no file matches `none/*.csv`");
    let yaml = yaml.replace("      - path: none/*.csv\n", "");
    std::fs::write(d.join("mlops.yaml"), yaml).unwrap();
    let (status, json, err) = data_check_json(d);
    assert_eq!(status, 1, "{err}");
    let files: Vec<&str> = json["v"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "parts/p0.csv",
            "parts/p1.csv",
            "parts/p2.csv",
            "parts/p0.csv",
            "parts/p1.csv",
            "parts/p2.csv"
        ]
    );
    let passed: Vec<bool> = json["v"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["passed"].as_bool().unwrap())
        .collect();
    assert_eq!(passed, [true, true, true, false, false, false]);
}

#[test]
fn profile_prints_a_table_or_json() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (rows, truth) = table(1_000, 9, 0.0);
    std::fs::write(d.join("t.csv"), csv_text(&rows)).unwrap();
    let out = run(d, &["data", "profile", "t.csv", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["rows"], truth.rows);
    let income = &json["columns"]["income"];
    assert_eq!(income["kind"], "float");
    assert_eq!(income["quantiles"].as_array().unwrap().len(), 101);
    assert_eq!(income["histogram"]["counts"].as_array().unwrap().len(), 20);
    assert_eq!(json["columns"]["city"]["kind"], "string");
    assert_eq!(json["columns"]["age"]["kind"], "int");
    let out = run(d, &["data", "profile", "t.csv"]);
    let text = stdout(&out);
    assert!(text.starts_with("t.csv: 1000 rows, 6 columns"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("income") && l.contains(&truth.null_incomes.to_string())),
        "{text}"
    );
    let out = run(d, &["data", "profile", "missing.csv"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("`missing.csv` does not exist"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_bad_regex_date_bound_or_drift_without_profile_is_a_lint_error_pointing_at_it() {
    // each config, what `lint` must say of it, and what not
    let cases: [(&[u8], &[&str], &[&str]); 2] = [
        (
            b"version: 1\nstages:\n  v:\n    data:\n      - path: t.csv\n        columns:\n          a: { regex: '([a-z' }\n          b: { type: date, min: '2024-13-01' }\n          c: { nulls: '1%', length: { max: 3 } }\n",
            &[
                "the `regex` of column `a` does not compile",
                "mlops.yaml:7:",
                "`min: 2024-13-01` of column `b`",
            ],
            &["column `c`"],
        ),
        // drift compares profiles: a file that keeps none cannot ask for it
        (
            b"version: 1\nstages:\n  v:\n    data:\n      - path: t.csv\n        profile: false\n        columns:\n          a: { drift: { method: psi, max: 0.2 } }\n",
            &[
                "`profile: false` leaves no profile for `drift` to compare",
                "mlops.yaml:6:",
            ],
            &[],
        ),
    ];
    for (config, said, unsaid) in cases {
        let dir = crate::common::config_dir(config);
        let out = run(dir.path(), &["lint"]);
        let err = stderr(&out);
        assert_eq!(code(&out), 2, "{err}");
        for text in said {
            assert!(err.contains(text), "{text}: {err}");
        }
        for text in unsaid {
            assert!(!err.contains(text), "{text}: {err}");
        }
    }
}

/// `run` on a push to main records the profiles in the baseline note; a PR whose data shifted
/// sees the drift of that column and not of the others, from the note alone.
#[test]
fn drift_is_judged_against_the_profile_in_the_baseline_note() {
    let origin = tempfile::tempdir().unwrap();
    git(origin.path(), &["init", "-q", "--bare", "-b", "main"]);
    let url = format!("file://{}", origin.path().display());
    let main = tempfile::tempdir().unwrap();
    let m = main.path();
    git(m, &["clone", "-q", &url, "."]);
    let yaml = "version: 1\nstages:\n  v:\n    data:\n      - path: data/t.csv\n        columns:\n          income: { drift: { method: psi, max: 0.2 } }\n";
    std::fs::create_dir(m.join("data")).unwrap();
    std::fs::write(m.join("mlops.yaml"), yaml).unwrap();
    let (rows, _) = table(5_000, 21, 0.0);
    std::fs::write(m.join("data/t.csv"), csv_text(&rows)).unwrap();
    std::fs::write(m.join(".gitignore"), ".mlops/\ndata/\n").unwrap();
    git(m, &["add", "."]);
    git(m, &["commit", "-q", "-m", "first"]);
    git(m, &["push", "-q", "origin", "main"]);
    let out = crate::common::ci_push(m, "refs/heads/main")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let sha = git(m, &["rev-parse", "HEAD"]);
    let note: serde_json::Value = serde_json::from_str(&git(
        origin.path(),
        &["notes", "--ref=mlops-ci", "show", &sha],
    ))
    .unwrap();
    assert_eq!(note["profiles"]["data/t.csv"]["rows"], 5_000);

    // a PR clone without main's data: same distribution passes, shifted income drifts
    let pr = tempfile::tempdir().unwrap();
    let p = pr.path();
    git(p, &["clone", "-q", &url, "."]);
    git(p, &["checkout", "-q", "-b", "feature"]);
    std::fs::create_dir(p.join("data")).unwrap();
    let (same, _) = table(4_000, 22, 0.0);
    std::fs::write(p.join("data/t.csv"), csv_text(&same)).unwrap();
    let (status, json, err) = data_check_json(p);
    let report = &json["v"][0];
    let drift = report["drift"].as_array().unwrap();
    let verdict = |name: &str| {
        drift
            .iter()
            .find(|d| d["column"] == name)
            .unwrap_or_else(|| panic!("{name} in {drift:?}"))
            .clone()
    };
    assert_eq!(status, 0, "{err}: {report:#}");
    assert_eq!(verdict("income")["verdict"], "ok", "{report:#}");
    assert_eq!(verdict("city")["verdict"], "ok");
    assert_eq!(
        verdict("id")["verdict"],
        "skipped",
        "an identifier's drift is noise"
    );
    let (shifted, _) = table(4_000, 23, 3_000.0);
    std::fs::write(p.join("data/t.csv"), csv_text(&shifted)).unwrap();
    let (status, json, err) = data_check_json(p);
    let report = &json["v"][0];
    assert_eq!(status, 1, "{err}");
    let drift = report["drift"].as_array().unwrap();
    assert_eq!(
        drift[0]["column"], "income",
        "most drifted first: {drift:?}"
    );
    assert_eq!(drift[0]["verdict"], "drift");
    assert_eq!(drift[0]["enforced"], true);
    assert!(drift[0]["scores"]["psi"].as_f64().unwrap() > 0.2);
    assert!(drift[0]["scores"]["ks"].as_f64().unwrap() > 0.2);
    let out = run(p, &["data", "check"]);
    let text = stdout(&out);
    assert!(text.contains("✗ income: psi"), "{text}");
}

/// The PR comment's data section, from real checks of a real file against a real profile.
#[test]
fn the_pr_comment_shows_failed_checks_with_their_rows_and_the_drifted_columns() {
    use mlops_ci::compare::Comparison;
    use mlops_ci::config::model::{DataCheck, Report};
    use mlops_ci::report::input::ReportInput;
    use mlops_ci::results::{GitInfo, Outcome, RunRecord, StageRecord};

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let yaml = config(&["t.csv"], "        drift: { max: 0.2 }\n");
    let stages: serde_json::Value = serde_saphyr::from_str::<serde_json::Value>(&yaml).unwrap();
    let checks: Vec<DataCheck> =
        serde_json::from_value(stages["stages"]["validate"]["data"].clone()).unwrap();
    let options = mlops_ci::validate::Options::default();
    let (base, _) = table(3_000, 31, 0.0);
    std::fs::write(d.join("t.csv"), csv_text(&base)).unwrap();
    let profiles: indexmap::IndexMap<_, _> =
        mlops_ci::execute::data::check_all(&checks, d, None, options)
            .into_iter()
            .map(|r| (r.file, r.profile.unwrap()))
            .collect();
    let (shifted, _) = table(3_000, 32, 2_500.0);
    std::fs::write(d.join("t.csv"), csv_text(&shifted)).unwrap();
    let data = mlops_ci::execute::data::check_all(&checks, d, Some(&profiles), options);
    let run = RunRecord {
        version: mlops_ci::results::RUN_RECORD_VERSION,
        id: "run-1".to_owned(),
        mode: "run".to_owned(),
        event: "pull_request".to_owned(),
        git: GitInfo::default(),
        started_at: "2026-01-01T00:00:00Z".to_owned(),
        duration_ms: 1_000,
        result: Outcome::Failure,
        baseline: None,
        params: indexmap::IndexMap::new(),
        stages: vec![StageRecord {
            name: "validate".to_owned(),
            result: Outcome::Failure,
            reason: mlops_ci::execute::data::failure("validate", &data),
            duration_ms: 900,
            steps: Vec::new(),
            outputs: indexmap::IndexMap::new(),
            metrics: indexmap::IndexMap::new(),
            gates: Vec::new(),
            image: None,
            data,
        }],
    };
    let comparison = Comparison {
        metrics: Vec::new(),
        gates: Vec::new(),
        has_baseline: true,
    };
    let input = ReportInput::new("iris", Report::default(), run, comparison);
    let text = mlops_ci::report::render::render_comment(&input, None).unwrap();
    let (_, rest) = text
        .split_once("### Data checks")
        .unwrap_or_else(|| panic!("no data section in {text}"));
    let section = rest.split("\n### ").next().unwrap_or(rest);
    assert!(section.contains("❌ | income | psi"), "{section}");
    insta::assert_snapshot!(section);
}
