//! The reader of JSON Lines, and what every reader shares (opening a file, gzip by extension,
//! the count of bytes read, a progress line on a terminal, the merge of workers' results); the
//! CSV reader is `delimited`, the Parquet reader `parquet`. Each streams its rows into a
//! [`Pass`] with memory that does not grow with the file.

use std::fs::File;
use std::io::{BufRead as _, BufReader, IsTerminal as _, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::columns::Column;
use super::value::Cell;
use super::{DataError, Pass};
use crate::config::model::DataFormat;

/// Files smaller than this are read by one worker: threads would not pay for themselves.
pub(super) const SMALL: u64 = 8 << 20;

/// Why a worker stopped early, with the place it was at (a CSV chunk, a Parquet row group,
/// counted from the file's start), so that the error of the first place in the file is the
/// one reported, whichever worker met it first.
pub(super) type Failed = (usize, DataError);

/// Merges what workers found, in worker order, into `columns`, and the rest of it by `rest`:
/// the error of the first failed place when any worker failed.
pub(super) fn merge_workers<T>(
    columns: &mut [Column],
    done: Vec<Result<(Vec<Column>, T), Failed>>,
    mut rest: impl FnMut(T),
) -> Result<(), DataError> {
    let mut failed: Option<Failed> = None;
    for result in done {
        match result {
            Ok((theirs, found)) => {
                for (mine, theirs) in columns.iter_mut().zip(theirs) {
                    mine.merge(theirs);
                }
                rest(found);
            }
            Err((at, e)) => {
                if failed.as_ref().is_none_or(|(first, _)| at < *first) {
                    failed = Some((at, e));
                }
            }
        }
    }
    failed.map_or(Ok(()), |(_, e)| Err(e))
}

/// How to read one file.
#[derive(Debug, Clone)]
pub struct Source {
    /// As shown to the user.
    pub name: String,
    pub gzip: bool,
    pub delimiter: u8,
    pub quote: u8,
    pub header: bool,
}

impl Source {
    /// The format from `format:` or the extension (`.gz` aside).
    pub fn detect(
        path: &Path,
        name: &str,
        format: Option<DataFormat>,
    ) -> Result<(DataFormat, bool, bool), DataError> {
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let gzip = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
        let stem = file.strip_suffix(".gz").unwrap_or(&file);
        let ext = stem.rsplit_once('.').map_or("", |(_, e)| e);
        let tsv = ext == "tsv" || ext == "tab";
        let found = match ext {
            "csv" | "tsv" | "tab" | "txt" => Some(DataFormat::Csv),
            "jsonl" | "ndjson" => Some(DataFormat::Jsonl),
            "parquet" | "pq" => Some(DataFormat::Parquet),
            _ => None,
        };
        let format = format
            .or(found)
            .ok_or_else(|| DataError::Format(name.to_owned()))?;
        if gzip && format == DataFormat::Parquet {
            return Err(DataError::Read {
                path: name.to_owned(),
                message:
                    "a gzipped Parquet file is not supported: Parquet compresses its own pages"
                        .to_owned(),
            });
        }
        Ok((format, gzip, tsv))
    }
}

/// Counts the bytes read from the file (before decompression).
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A progress line on stderr, only when it is a terminal and the file takes a while.
pub struct Progress {
    enabled: bool,
    name: String,
    total: u64,
    started: Instant,
    last: Option<Instant>,
    shown: bool,
}

impl Progress {
    pub fn new(enabled: bool, name: &str, total: u64) -> Self {
        Self {
            enabled: enabled && std::io::stderr().is_terminal(),
            name: name.to_owned(),
            total,
            started: Instant::now(),
            last: None,
            shown: false,
        }
    }

    /// After a row: every 65,536th row shows where the reading is.
    #[inline]
    pub fn tick(&mut self, rows: u64, bytes: u64) {
        if rows % 65_536 == 0 {
            self.show(rows, bytes);
        }
    }

    /// Shows `rows` and `bytes` read, at most every 100 ms, from 0.5 s on.
    #[allow(clippy::cast_precision_loss)]
    pub fn show(&mut self, rows: u64, bytes: u64) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if now - self.started < Duration::from_millis(500)
            || self
                .last
                .is_some_and(|l| now - l < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(now);
        self.shown = true;
        let mb = |b: u64| b as f64 / 1e6;
        let pct = if self.total > 0 {
            bytes as f64 * 100.0 / self.total as f64
        } else {
            0.0
        };
        eprint!(
            "\r\x1b[2K{}: {:.0} of {:.0} MB ({pct:.0}%), {rows} rows",
            self.name,
            mb(bytes),
            mb(self.total)
        );
    }

    pub fn done(&self) {
        if self.shown {
            eprint!("\r\x1b[2K");
        }
    }
}

pub(super) fn read_error(name: &str, e: &dyn std::fmt::Display) -> DataError {
    DataError::Read {
        path: name.to_owned(),
        message: e.to_string(),
    }
}

/// A reader of the file's (decompressed) bytes, and the count of bytes read from disk.
pub(super) type Opened = (Box<dyn Read + Send>, Arc<AtomicU64>);

pub(super) fn open(path: &Path, source: &Source) -> Result<Opened, DataError> {
    let file = File::open(path).map_err(|e| read_error(&source.name, &e))?;
    let count = Arc::new(AtomicU64::new(0));
    let counting = Counting {
        inner: file,
        count: Arc::clone(&count),
    };
    let reader: Box<dyn Read + Send> = if source.gzip {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(
            1 << 16,
            counting,
        )))
    } else {
        Box::new(counting)
    };
    Ok((reader, count))
}

pub(super) fn encoding(source: &Source, line: u64, column: Option<&str>) -> DataError {
    DataError::Encoding {
        path: source.name.clone(),
        line,
        column: column.map(str::to_owned),
    }
}

fn json_cell<'a>(value: &'a serde_json::Value, scratch: &'a mut String) -> Cell<'a> {
    use serde_json::Value;
    match value {
        Value::Null => Cell::Null,
        Value::Bool(b) => Cell::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Cell::Int(i),
            None => Cell::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Cell::Text(s),
        other => {
            *scratch = other.to_string();
            Cell::Text(scratch)
        }
    }
}

/// Streams a JSON Lines file into `pass`: one object a line; its keys are the columns.
pub fn jsonl(
    path: &Path,
    source: &Source,
    pass: &mut Pass,
    progress: &mut Progress,
) -> Result<u64, DataError> {
    let (reader, count) = open(path, source)?;
    let mut lines = BufReader::with_capacity(1 << 17, reader);
    let mut buf = Vec::new();
    let mut line = 0u64;
    let mut seen: Vec<bool> = Vec::new();
    let mut scratch = String::new();
    pass.header(Vec::new())?;
    loop {
        buf.clear();
        let n = lines
            .read_until(b'\n', &mut buf)
            .map_err(|e| read_error(&source.name, &e))?;
        if n == 0 {
            break;
        }
        line += 1;
        let text = std::str::from_utf8(&buf).map_err(|_| encoding(source, line, None))?;
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        pass.rows += 1;
        let object = match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(o)) => o,
            Ok(_) => {
                pass.malformed(line, "not a JSON object");
                continue;
            }
            Err(e) => {
                pass.malformed(line, &format!("not JSON: {e}"));
                continue;
            }
        };
        seen.clear();
        seen.resize(pass.columns.len(), false);
        for (key, value) in &object {
            let i = pass.column(key)?;
            if i >= seen.len() {
                seen.resize(i + 1, false);
            }
            seen[i] = true;
            let cell = json_cell(value, &mut scratch);
            pass.columns[i].cell(line, cell)?;
        }
        for (i, column) in pass.columns.iter_mut().enumerate() {
            if !seen.get(i).copied().unwrap_or(false) {
                column.null(line);
            }
        }
        progress.tick(pass.rows, count.load(Ordering::Relaxed));
    }
    Ok(count.load(Ordering::Relaxed))
}
