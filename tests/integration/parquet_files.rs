//! Parquet files as pyarrow writes them for pandas and polars users (every column type, nulls,
//! dictionary pages, row groups, zstd and snappy, INT96 timestamps), checked against the same
//! table as CSV, and the files the reader turns down with a pointed error.

use std::path::Path;
use std::process::Command;

use crate::common::{code, run, stderr, stdout};
use crate::data::first_rows;
use crate::examples::python_has;

const RULES: &str = r#"
          i8: { type: int, min: -100, in: [-1, 0, 1, 2, 3] }
          u8: { type: int, max: 250 }
          u32: { type: int, max: 3000000000 }
          u64: { type: float }
          i32: { type: int }
          i64: { type: int, unique: true }
          f32: { type: float, min: -900 }
          f64: { type: float, max: 2.5 }
          flag: { type: bool }
          day: { type: date, min: "2021-01-01" }
          name: { type: string, length: { max: 6 } }
          city: { type: string, in: [paris, lima] }
          email: { type: string, regex: '^[^@]+@[^@]+$' }
          ts_s: { type: datetime, min: "1990-01-01T00:00:00Z" }
          ts_ms: { type: datetime }
          ts_us: { type: datetime }
          ts_ns: { type: datetime, max: "2030-01-01T00:00:00Z" }
"#;

/// Writes the tables into `dir` with pyarrow; what the script says it wrote.
fn pyarrow_tables(dir: &Path, rows: u64) -> serde_json::Value {
    python_has("pyarrow", "pyarrow");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/pyarrow_tables.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(dir)
        .arg(rows.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A check: its name, its violations and its first rows (row, value).
type Check = (String, u64, Vec<(u64, String)>);

/// A report's checks, the first rows' numbers less `header` (a CSV's lines count its header).
fn checks(report: &serde_json::Value, header: u64) -> Vec<Check> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        // the CSV's check of its fields per row has a name of its own
        .skip(1)
        .map(|c| {
            let first = first_rows(c).into_iter().map(|(row, v)| (row - header, v));
            (
                c["name"].as_str().unwrap().to_owned(),
                c["violations"].as_u64().unwrap(),
                first.collect(),
            )
        })
        .collect()
}

#[test]
#[allow(clippy::cast_precision_loss)]
fn pyarrow_files_give_what_the_same_table_as_csv_gives() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let truth = pyarrow_tables(d, 20_000);
    let config = format!(
        "version: 1\nstages:\n  validate:\n    data:\n      - path: t.csv\n        columns:{RULES}\
         \x20     - path: t.parquet\n        columns:{RULES}\
         \x20     - path: int96.parquet\n        columns:\n          ts_ms: {{ type: datetime }}\n          i64: {{ type: int, unique: true }}\n"
    );
    std::fs::write(d.join("mlops.yaml"), config).unwrap();
    let out = run(d, &["data", "check", "--format", "json"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let [csv, parquet, int96] = [0, 1, 2].map(|i| &json["validate"][i]);
    assert_eq!(parquet["format"], "parquet");
    assert_eq!(parquet["rows"], truth["rows"]);
    assert_eq!(int96["rows"], truth["rows"]);

    // the same violations; the first rows by row number (the CSV's lines count its header)
    let from_parquet = checks(parquet, 0);
    assert_eq!(from_parquet, checks(csv, 1));
    assert!(from_parquet.len() > 20, "{from_parquet:?}");
    let email = from_parquet
        .iter()
        .find(|c| c.0.contains("`email`: matches"))
        .unwrap();
    let bad = truth["bad_emails"].as_array().unwrap();
    assert_eq!(email.1, bad.len() as u64);
    let expected: Vec<_> = bad[..5]
        .iter()
        .map(|r| (r[0].as_u64().unwrap(), r[1].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(email.2, expected);

    // the same profile, column by column, in every figure
    let columns = parquet["profile"]["columns"].as_object().unwrap();
    assert_eq!(columns.len(), 17);
    for (name, p) in columns {
        assert_eq!(p, &csv["profile"]["columns"][name], "{name}");
        assert_eq!(p["nulls"], truth["nulls"][name], "{name}");
    }
    assert_eq!(
        columns["u64"]["max"],
        truth["u64_max"].as_u64().unwrap() as f64
    );
    let [lo, hi] = [0, 1].map(|i| truth["seconds"][i].as_f64());
    for unit in ["s", "ms", "us", "ns"] {
        let ts = &columns[&format!("ts_{unit}")];
        assert_eq!(ts["kind"], "datetime");
        assert_eq!((ts["min"].as_f64(), ts["max"].as_f64()), (lo, hi), "{unit}");
    }
    // INT96 timestamps (nanoseconds and a Julian day) read as the same times
    let legacy = &int96["profile"]["columns"];
    for name in ["ts_ms", "ts_ns", "i64"] {
        for key in ["kind", "nulls", "min", "max", "mean", "distinct"] {
            assert_eq!(legacy[name][key], columns[name][key], "{name} {key}");
        }
    }
}

#[test]
fn a_profile_of_a_parquet_file_names_its_kinds_without_a_contract() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    pyarrow_tables(d, 3_000);
    let out = run(d, &["data", "profile", "t.parquet", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let kinds: Vec<_> = ["i8", "u64", "f32", "flag", "day", "ts_ns", "city"]
        .iter()
        .map(|c| json["columns"][c]["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "int", "float", "float", "bool", "date", "datetime", "string"
        ]
    );
    // dates and times shown as such
    let out = run(d, &["data", "profile", "t.parquet"]);
    let text = stdout(&out);
    let line = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .unwrap()
            .to_owned()
    };
    let day = line("day ");
    assert!(
        day.split_whitespace().nth(3).unwrap().starts_with("20"),
        "{day}"
    );
    assert!(line("ts_ns ").contains('T'), "{text}");

    // the schema and no rows
    let out = run(d, &["data", "profile", "empty.parquet", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["rows"], 0);
    assert_eq!(json["columns"].as_object().unwrap().len(), 17);
}

/// A Parquet file of one optional column, written by the `parquet` crate: `kind` its type in
/// the schema, `values` its rows.
fn write_one_column(path: &Path, kind: &str, values: &[&[u8]]) {
    use parquet::data_type::{ByteArray, ByteArrayType};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;
    use std::sync::Arc;
    let schema = parse_message_type(&format!("message t {{ optional {kind}; }}")).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let props = Arc::new(WriterProperties::builder().build());
    let mut writer = SerializedFileWriter::new(file, Arc::new(schema), props).unwrap();
    let mut group = writer.next_row_group().unwrap();
    let mut column = group.next_column().unwrap().unwrap();
    let v: Vec<ByteArray> = values.iter().map(|v| ByteArray::from(v.to_vec())).collect();
    column
        .typed::<ByteArrayType>()
        .write_batch(&v, Some(&vec![1; v.len()]), None)
        .unwrap();
    column.close().unwrap();
    group.close().unwrap();
    writer.close().unwrap();
}

#[test]
fn parquet_files_that_cannot_be_read_are_pointed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    pyarrow_tables(d, 10);
    write_one_column(
        &d.join("latin1.parquet"),
        "binary name (STRING)",
        &[b"ok", b"ok", b"caf\xe9"],
    );
    write_one_column(&d.join("blob.parquet"), "binary blob", &[b"\x00\x01"]);
    std::fs::write(d.join("text.parquet"), "id,name\n1,a\n").unwrap();
    let before = std::fs::read(d.join("nested.parquet")).unwrap();
    for (file, says) in [
        (
            "nested.parquet",
            "column `tags` has the Parquet type `list`, which is not supported yet",
        ),
        (
            "decimal.parquet",
            "column `price` has the Parquet type `FIXED_LEN_BYTE_ARRAY (Decimal",
        ),
        (
            "blob.parquet",
            "column `blob` has the Parquet type `BYTE_ARRAY`",
        ),
        (
            "latin1.parquet",
            "`latin1.parquet` is not valid UTF-8 in row 3, column `name`",
        ),
        ("text.parquet", "cannot read `text.parquet`"),
    ] {
        let out = run(d, &["data", "profile", file]);
        assert_eq!(code(&out), 2, "{file}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{file}: {}", stderr(&out));
    }
    assert_eq!(std::fs::read(d.join("nested.parquet")).unwrap(), before);
    // a column declared `string` is read a batch at a time: the same error
    std::fs::write(
        d.join("mlops.yaml"),
        "version: 1\nstages:\n  validate:\n    data:\n      - path: latin1.parquet\n        columns:\n          name: { type: string }\n",
    )
    .unwrap();
    let out = run(d, &["data", "check"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("`latin1.parquet` is not valid UTF-8 in row 3, column `name`"),
        "{}",
        stderr(&out)
    );
}
