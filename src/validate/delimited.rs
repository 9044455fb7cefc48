//! The CSV reader: this thread reads the file (gunzipping it by extension) and splits it into
//! chunks of whole records; workers each parse and check a share of the chunks (chunk `k` goes
//! to worker `k mod n`, so a run's results depend only on the file and `n`) into their own
//! columns, merged into the pass's at the end. Rows with the wrong number of fields are set
//! aside as violations with their line.

use std::path::Path;
use std::sync::mpsc;

use super::columns::{Cells, Column, Tally};
use super::read::{Progress, Source, encoding, open, read_error};
use super::records::{Fields, Records};
use super::split::{Chunk, SplitError, Splitter};
use super::{DataError, Pass};

/// Files smaller than this are read by one worker: threads would not pay for themselves.
const SMALL: u64 = 8 << 20;

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
    fields.clear();
    lines.clear();
    records(chunk, source).for_each(fields, |line, got| {
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
    // one UTF-8 check of the whole chunk; a field is then a slice of it
    let ascii = chunk.data().is_ascii();
    let text = std::str::from_utf8(chunk.data()).ok();
    if text.is_none() {
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
    /// The chunk, when it is UTF-8.
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
    /// Row `row`'s text in a chunk that is not all UTF-8: rare, so out of line.
    #[cold]
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
        self.text.is_some()
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

/// Reads the chunks on this thread.
fn inline(
    splitter: &mut Splitter<Box<dyn std::io::Read>>,
    first: Chunk,
    ctx: (&Source, usize),
    pass: &mut Pass,
    progress: &mut dyn FnMut(u64),
) -> Result<Found, DataError> {
    let (source, width) = ctx;
    let mut found = Found::default();
    let mut table = Table::default();
    let mut chunk = first;
    loop {
        feed_chunk(
            source,
            width,
            &chunk,
            &mut pass.columns,
            &mut found,
            &mut table,
        )?;
        progress(splitter.line());
        if !splitter
            .next_chunk(&mut chunk)
            .map_err(|e| split_error(source, e))?
        {
            return Ok(found);
        }
    }
}

/// Reads the chunks with `workers` threads, then merges their columns into the pass's.
fn threaded(
    splitter: &mut Splitter<Box<dyn std::io::Read>>,
    first: Chunk,
    ctx: (&Source, usize, usize),
    pass: &mut Pass,
    progress: &mut dyn FnMut(u64),
) -> Result<Found, DataError> {
    let (source, width, workers) = ctx;
    std::thread::scope(|scope| {
        let (free_tx, free_rx) = mpsc::channel::<Chunk>();
        let mut senders = Vec::new();
        let mut handles = Vec::new();
        for _ in 0..workers {
            let (tx, rx) = mpsc::sync_channel::<Chunk>(2);
            senders.push(tx);
            let free = free_tx.clone();
            let mut columns: Vec<Column> = pass.columns.iter().map(|c| c.spawn(workers)).collect();
            handles.push(
                scope.spawn(move || -> Result<(Vec<Column>, Found), DataError> {
                    let mut found = Found::default();
                    let mut table = Table::default();
                    for chunk in rx {
                        feed_chunk(source, width, &chunk, &mut columns, &mut found, &mut table)?;
                        let _ = free.send(chunk);
                    }
                    Ok((columns, found))
                }),
            );
        }
        drop(free_tx);
        let mut result = Ok(());
        let mut chunk = first;
        let mut sent = 0usize;
        loop {
            if senders[sent % workers].send(chunk).is_err() {
                break;
            }
            sent += 1;
            progress(splitter.line());
            chunk = free_rx.try_recv().unwrap_or_default();
            match splitter.next_chunk(&mut chunk) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    result = Err(split_error(source, e));
                    break;
                }
            }
        }
        drop(senders);
        let mut found = Found::default();
        for handle in handles {
            let done = handle
                .join()
                .unwrap_or_else(|_| Err(read_error(&source.name, &"a worker stopped")));
            match done {
                Ok((columns, f)) if result.is_ok() => {
                    for (mine, theirs) in pass.columns.iter_mut().zip(columns) {
                        mine.merge(theirs);
                    }
                    found.rows += f.rows;
                    found.malformed.merge(f.malformed);
                }
                Ok(_) => {}
                Err(e) => {
                    if result.is_ok() {
                        result = Err(e);
                    }
                }
            }
        }
        result.map(|()| found)
    })
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
            return Ok(count.get());
        }
        if let Some(width) = header(&mut chunk, source, pass)? {
            break width;
        }
    };
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    let workers = if size < SMALL { 1 } else { threads.max(1) };
    let mut tick = |lines: u64| progress.show(lines, count.get());
    let found = if workers == 1 {
        inline(&mut splitter, chunk, (source, width), pass, &mut tick)?
    } else {
        threaded(
            &mut splitter,
            chunk,
            (source, width, workers),
            pass,
            &mut tick,
        )?
    };
    pass.rows = found.rows;
    pass.malformed = found.malformed;
    Ok(count.get())
}
