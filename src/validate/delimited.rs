//! The CSV reader: the file (gunzipped by extension) is split into chunks of whole records;
//! workers take turns reading the next chunk (chunk `k` is worker `k mod n`'s, so a run's
//! results depend only on the file and `n`), then parse and check it into their own columns,
//! merged into the pass's at the end. Rows with the wrong number of fields are set aside as
//! violations with their line.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Condvar, Mutex};

use super::columns::{Cells, Column, Tally};
use super::read::{Failed, Progress, SMALL, Source, encoding, merge_workers, open, read_error};
use super::records::{Fields, Records};
use super::split::{Chunk, SplitError, Splitter};
use super::{DataError, Pass};

/// A chunk's well-formed records: their fields, row after row, and the line each starts on.
#[derive(Debug, Default)]
struct Table {
    fields: Fields,
    lines: Vec<u64>,
}

/// What a worker found besides its columns.
#[derive(Debug, Default)]
struct Found {
    rows: u64,
    malformed: Tally,
}

fn split_error(source: &Source, e: SplitError) -> DataError {
    match e {
        SplitError::Io(e) => read_error(&source.name, &e),
        SplitError::Unbalanced(line) => read_error(
            &source.name,
            &format!(
                "a record from line {line} runs past 256 MB; is a quote left open? \
                 (set `quote:` if the file quotes with another character)"
            ),
        ),
    }
}

/// The records of `chunk`, read as `source` says.
fn records<'c>(chunk: &'c Chunk, source: &Source) -> Records<'c> {
    Records::new(
        chunk.data(),
        chunk.line,
        source.delimiter,
        source.quote,
        chunk.quoted,
    )
}

/// Checks and profiles the records of `chunk` into `columns`: first every record's fields,
/// then one column at a time down the rows (its state stays in cache, its branches predicted).
fn feed_chunk(
    source: &Source,
    width: usize,
    chunk: &Chunk,
    columns: &mut [Column],
    found: &mut Found,
    table: &mut Table,
) -> Result<(), DataError> {
    let Table { fields, lines } = table;
    lines.clear();
    let mut records = records(chunk, source);
    if let Some(rows) = records.plain_table(fields, width, chunk.newlines) {
        // a table: each record on the line after the one before
        found.rows += rows as u64;
        lines.extend(chunk.line..chunk.line + rows as u64);
    } else {
        fields.clear();
        records.for_each(fields, |line, got| {
            found.rows += 1;
            if got == width {
                lines.push(line);
                return true;
            }
            found
                .malformed
                .hit(line, &format!("{got} field(s), the header has {width}"));
            false
        });
    }
    // one UTF-8 check of the whole chunk, and a field is then a slice of it; but when every
    // column reads its cells as bytes, an ASCII chunk needs none (the few cells then asked for
    // as text are checked one by one)
    let ascii = chunk.data().is_ascii();
    let text = if ascii && columns.iter().all(Column::reads_bytes) {
        None
    } else {
        std::str::from_utf8(chunk.data()).ok()
    };
    if !ascii && text.is_none() {
        // the first field in the file's order that is not UTF-8 is the one to name
        for (row, line) in lines.iter().enumerate() {
            for (i, column) in columns.iter().enumerate() {
                if std::str::from_utf8(fields.field(chunk.data(), row * width + i)).is_err() {
                    return Err(encoding(source, *line, Some(&column.name)));
                }
            }
        }
    }
    for (i, column) in columns.iter_mut().enumerate() {
        let cells = ColumnCells {
            data: chunk.data(),
            text,
            fields,
            width,
            column: i,
            lines,
            source,
            ascii,
        };
        column.feed(&cells)?;
    }
    Ok(())
}

/// Column `column` of a chunk's well-formed records.
struct ColumnCells<'a> {
    data: &'a [u8],
    /// The chunk, when it is UTF-8 and was checked as a whole (see `feed_chunk`).
    text: Option<&'a str>,
    fields: &'a Fields,
    width: usize,
    column: usize,
    lines: &'a [u64],
    source: &'a Source,
    /// The whole chunk (and so every field) is ASCII.
    ascii: bool,
}

impl ColumnCells<'_> {
    /// Row `row`'s text, checked on its own (an ASCII chunk, or one that is not all UTF-8).
    fn checked_text(&self, row: usize) -> Option<&str> {
        std::str::from_utf8(self.bytes(row)).ok()
    }
}

impl Cells for ColumnCells<'_> {
    #[inline]
    fn len(&self) -> usize {
        self.lines.len()
    }

    #[inline]
    fn bytes(&self, row: usize) -> &[u8] {
        self.fields.field(self.data, row * self.width + self.column)
    }

    #[inline]
    fn word(&self, row: usize) -> Option<(u64, usize)> {
        self.fields.word(self.data, row * self.width + self.column)
    }

    #[inline]
    fn text(&self, row: usize) -> Option<&str> {
        match self.text {
            Some(t) => self.fields.field_text(t, row * self.width + self.column),
            None => self.checked_text(row),
        }
    }

    #[inline]
    fn ascii(&self) -> bool {
        self.ascii
    }

    #[inline]
    fn utf8(&self) -> bool {
        self.ascii || self.text.is_some()
    }

    #[inline]
    fn line(&self, row: usize) -> u64 {
        self.lines[row]
    }

    fn encoding(&self, row: usize, column: &str) -> DataError {
        encoding(self.source, self.lines[row], Some(column))
    }
}

/// The header's names (or `1`, `2`, … without one) into `pass`; the header record is taken out
/// of `chunk`. The number of fields of the first record, `None` when the chunk has none.
fn header(chunk: &mut Chunk, source: &Source, pass: &mut Pass) -> Result<Option<usize>, DataError> {
    let mut records = records(chunk, source);
    let mut fields = Fields::default();
    let Some(line) = records.next_record(&mut fields) else {
        return Ok(None);
    };
    let width = fields.len();
    if !source.header {
        pass.header((1..=width).map(|i| i.to_string()).collect())?;
        return Ok(Some(width));
    }
    let mut names = Vec::with_capacity(width);
    for i in 0..width {
        let field = fields.field(chunk.data(), i);
        let field = if i == 0 {
            field.strip_prefix(b"\xef\xbb\xbf").unwrap_or(field)
        } else {
            field
        };
        let name = std::str::from_utf8(field).map_err(|_| encoding(source, line, None))?;
        names.push(name.to_owned());
    }
    let (end, next_line) = records.position();
    chunk.consume(end);
    chunk.line = next_line;
    pass.header(names)?;
    Ok(Some(width))
}

/// The file's reader, shared by the workers.
type Reader = Splitter<Box<dyn std::io::Read + Send>>;
/// Shows the line the reading is at.
type Tick<'a> = &'a mut (dyn FnMut(u64) + Send);

/// The reader as the workers take turns at it: chunk `k` is read by worker `k mod n`, into
/// that worker's own buffer, right before it parses it (the bytes land in its core's cache,
/// and no thread only reads). A run's results then depend only on the file and `n`.
struct Turns<'a> {
    at: Mutex<Turn<'a>>,
    changed: Condvar,
    workers: usize,
}

struct Turn<'a> {
    splitter: &'a mut Reader,
    progress: Tick<'a>,
    /// The next chunk to read, counted from the first (which worker 0 has): its turn is
    /// worker `chunk mod n`'s.
    chunk: usize,
    /// Set when no more chunks are to be read: the file ended, or a chunk failed.
    over: bool,
}

impl<'a> Turns<'a> {
    /// Turns of `workers` at `splitter`, whose first chunk worker 0 has already.
    fn new(splitter: &'a mut Reader, progress: Tick<'a>, workers: usize) -> Self {
        Self {
            at: Mutex::new(Turn {
                splitter,
                progress,
                chunk: 1,
                over: false,
            }),
            changed: Condvar::new(),
            workers,
        }
    }

    /// The next chunk of worker `me` into `chunk`, when its turn comes: `Ok(None)` when there
    /// are no more, else the chunk's number.
    fn take(&self, me: usize, chunk: &mut Chunk, source: &Source) -> Result<Option<usize>, Failed> {
        let mut turn = self
            .at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while turn.chunk % self.workers != me && !turn.over {
            turn = self
                .changed
                .wait(turn)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        if turn.over {
            return Ok(None);
        }
        let k = turn.chunk;
        let read = turn.splitter.next_chunk(chunk);
        match read {
            Ok(true) => {
                let line = turn.splitter.line();
                (turn.progress)(line);
                turn.chunk += 1;
            }
            Ok(false) | Err(_) => turn.over = true,
        }
        drop(turn);
        self.changed.notify_all();
        match read {
            Ok(true) => Ok(Some(k)),
            Ok(false) => Ok(None),
            Err(e) => Err((k, split_error(source, e))),
        }
    }

    /// Stops the reading: a chunk failed.
    fn stop(&self) {
        self.at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .over = true;
        self.changed.notify_all();
    }
}

/// Stops the reading when a worker ends, however it ends: one that panics must not leave the
/// others waiting for its turn (at the file's end, the reading is over already).
struct StopOnEnd<'t, 'a>(&'t Turns<'a>);

impl Drop for StopOnEnd<'_, '_> {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// Worker `me`'s chunks into `columns`, each read at its turn; `first`: chunk 0, worker 0's.
fn work(
    turns: &Turns<'_>,
    me: usize,
    first: Option<Chunk>,
    columns: &mut [Column],
    ctx: (&Source, usize),
) -> Result<Found, Failed> {
    let _stop = StopOnEnd(turns);
    let (source, width) = ctx;
    let mut found = Found::default();
    let mut table = Table::default();
    let (mut at, mut chunk) = match first {
        Some(chunk) => (Some(0), chunk),
        None => (None, Chunk::default()),
    };
    loop {
        if let Some(k) = at {
            // on an error the others stop too (`_stop`)
            feed_chunk(source, width, &chunk, columns, &mut found, &mut table)
                .map_err(|e| (k, e))?;
        }
        match turns.take(me, &mut chunk, source)? {
            Some(k) => at = Some(k),
            None => return Ok(found),
        }
    }
}

/// Reads the chunks with a thread for each of the turns' workers, each into columns of its
/// own, then merges their columns into the pass's.
fn threaded(
    turns: &Turns<'_>,
    first: Chunk,
    ctx: (&Source, usize),
    pass: &mut Pass,
) -> Result<Found, DataError> {
    let workers = turns.workers;
    let mut first = Some(first);
    let done: Vec<Result<(Vec<Column>, Found), Failed>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|me| {
                let mut columns: Vec<Column> =
                    pass.columns.iter().map(|c| c.spawn(workers)).collect();
                let first = if me == 0 { first.take() } else { None };
                scope.spawn(move || {
                    work(turns, me, first, &mut columns, ctx).map(|found| (columns, found))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err((0, read_error(&ctx.0.name, &"a worker stopped"))))
            })
            .collect()
    });
    let mut found = Found::default();
    merge_workers(&mut pass.columns, done, |f: Found| {
        found.rows += f.rows;
        found.malformed.merge(f.malformed);
    })?;
    Ok(found)
}

/// Streams a CSV file into `pass` with `threads` workers (one, on this thread, for small files).
pub fn csv(
    path: &Path,
    source: &Source,
    pass: &mut Pass,
    progress: &mut Progress,
    threads: usize,
) -> Result<u64, DataError> {
    let (reader, count) = open(path, source)?;
    let mut splitter = Splitter::new(reader, source.quote, 1);
    let mut chunk = Chunk::default();
    let width = loop {
        if !splitter
            .next_chunk(&mut chunk)
            .map_err(|e| split_error(source, e))?
        {
            pass.header(Vec::new())?;
            return Ok(count.load(Ordering::Relaxed));
        }
        if let Some(width) = header(&mut chunk, source, pass)? {
            break width;
        }
    };
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    let workers = if size < SMALL { 1 } else { threads.max(1) };
    let mut tick = |lines: u64| progress.show(lines, count.load(Ordering::Relaxed));
    let turns = Turns::new(&mut splitter, &mut tick, workers);
    let found = if workers == 1 {
        // one worker, on this thread, into the pass's own columns
        work(&turns, 0, Some(chunk), &mut pass.columns, (source, width)).map_err(|(_, e)| e)?
    } else {
        threaded(&turns, chunk, (source, width), pass)?
    };
    pass.rows = found.rows;
    pass.malformed = found.malformed;
    Ok(count.load(Ordering::Relaxed))
}
