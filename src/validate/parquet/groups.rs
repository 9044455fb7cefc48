//! A Parquet file's row groups shared among workers: group `g` is worker `g mod n`'s, read
//! with a reader of the worker's own into columns of its own, which are merged into the
//! pass's in worker order at the end, as the CSV reader's chunks are; a run's results then
//! depend only on the file and `n`. The error reported is the one of the first row group
//! that fails: a worker that fails marks its group, and the others stop before any group
//! after it.

use std::cell::OnceCell;
use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use ::parquet::file::metadata::ParquetMetaData;
use ::parquet::file::reader::{FileReader as _, SerializedFileReader};

use super::{BATCH, Batch, Kind, feed, open};
use crate::validate::DataError;
use crate::validate::columns::Column;
use crate::validate::read::{Failed, Progress, SMALL, merge_workers, read_error};

/// A row group's first row (counted from 1) and its rows.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Group {
    first: u64,
    rows: usize,
}

/// A worker's buffers, reused from batch to batch: the rows' definition levels, and the
/// numbers' texts once made.
type Buffers = (Vec<i16>, Vec<OnceCell<String>>);

/// How a file's row groups are read, and by how many workers.
pub(super) struct Plan<'a> {
    path: &'a Path,
    /// The file, as shown to the user.
    name: &'a str,
    /// Each column's kind, and the definition level of a row with a value.
    kinds: Vec<(Kind, i16)>,
    groups: Vec<Group>,
    workers: usize,
    bytes: u64,
    /// Rows read so far by all the workers, for the progress line.
    done: AtomicU64,
    /// The first row group that failed; `usize::MAX` while none has.
    failed: AtomicUsize,
}

/// The row groups of a file's metadata.
fn groups(metadata: &ParquetMetaData) -> Vec<Group> {
    let mut first = 1;
    metadata
        .row_groups()
        .iter()
        .map(|g| {
            let rows = usize::try_from(g.num_rows()).unwrap_or(0);
            let group = Group { first, rows };
            first += rows as u64;
            group
        })
        .collect()
}

/// Workers for a file of `bytes` in `groups` row groups, up to `threads`: one for a small
/// file, at most one a row group.
fn workers(bytes: u64, groups: usize, threads: usize) -> usize {
    if bytes < SMALL {
        1
    } else {
        threads.clamp(1, groups.max(1))
    }
}

impl<'a> Plan<'a> {
    /// The plan for the file of `metadata` (`bytes` long) with up to `threads` workers: one
    /// for a small file, at most one a row group.
    pub(super) fn new(
        (path, name): (&'a Path, &'a str),
        kinds: Vec<(Kind, i16)>,
        metadata: &ParquetMetaData,
        bytes: u64,
        threads: usize,
    ) -> Self {
        let groups = groups(metadata);
        let workers = workers(bytes, groups.len(), threads);
        Self {
            path,
            name,
            kinds,
            groups,
            workers,
            bytes,
            done: AtomicU64::new(0),
            failed: AtomicUsize::new(usize::MAX),
        }
    }

    /// Reads every row group into `columns` (`reader`: the file's, for the first worker,
    /// which runs on this thread and shows the progress): the rows read.
    pub(super) fn read(
        &self,
        reader: &SerializedFileReader<File>,
        columns: &mut [Column],
        progress: &mut Progress,
    ) -> Result<u64, DataError> {
        if self.workers == 1 {
            return self
                .work(0, reader, columns, Some(progress))
                .map_err(|(_, e)| e);
        }
        let spawn = |columns: &[Column]| -> Vec<Column> {
            columns.iter().map(|c| c.spawn(self.workers)).collect()
        };
        let done: Vec<Result<(Vec<Column>, u64), Failed>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (1..self.workers)
                .map(|me| {
                    let mut mine = spawn(columns);
                    scope.spawn(move || {
                        let reader = self.reopen().map_err(|e| (me, e))?;
                        self.work(me, &reader, &mut mine, None)
                            .map(|rows| (mine, rows))
                    })
                })
                .collect();
            let mut first = spawn(columns);
            let own = self
                .work(0, reader, &mut first, Some(progress))
                .map(|rows| (first, rows));
            std::iter::once(own)
                .chain(handles.into_iter().map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err((0, read_error(self.name, &"a worker stopped"))))
                }))
                .collect()
        });
        let mut rows = 0;
        merge_workers(columns, done, |n| rows += n)?;
        Ok(rows)
    }

    /// A reader of the file of a worker's own (readers of one file share its position), with
    /// the same row groups as the first's.
    fn reopen(&self) -> Result<SerializedFileReader<File>, DataError> {
        let (reader, _) = open(self.path, self.name)?;
        if groups(reader.metadata()) != self.groups {
            return Err(read_error(
                self.name,
                &"the file changed while it was read; run the check again",
            ));
        }
        Ok(reader)
    }

    /// Worker `me`'s row groups into `columns`: the rows read.
    fn work(
        &self,
        me: usize,
        reader: &SerializedFileReader<File>,
        columns: &mut [Column],
        mut progress: Option<&mut Progress>,
    ) -> Result<u64, Failed> {
        let mut buffers: Buffers = (Vec::with_capacity(BATCH), Vec::with_capacity(BATCH));
        let mut rows = 0;
        for g in (me..self.groups.len()).step_by(self.workers) {
            // a group after one that failed is not read
            if g > self.failed.load(Ordering::Relaxed) {
                break;
            }
            if let Err(e) = self.group(g, reader, columns, &mut buffers, progress.as_deref_mut()) {
                self.failed.fetch_min(g, Ordering::Relaxed);
                return Err((g, e));
            }
            rows += self.groups[g].rows as u64;
        }
        Ok(rows)
    }

    /// Row group `g` into `columns`, a batch of rows at a time, each column in turn.
    fn group(
        &self,
        g: usize,
        reader: &SerializedFileReader<File>,
        columns: &mut [Column],
        (defs, texts): &mut Buffers,
        mut progress: Option<&mut Progress>,
    ) -> Result<(), DataError> {
        let group = reader
            .get_row_group(g)
            .map_err(|e| read_error(self.name, &e))?;
        let mut readers = (0..self.kinds.len())
            .map(|i| group.get_column_reader(i))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| read_error(self.name, &e))?;
        let Group { first, rows } = self.groups[g];
        let mut read = 0;
        while read < rows {
            let want = (rows - read).min(BATCH);
            for ((column, reader), &(kind, max_def)) in
                columns.iter_mut().zip(&mut readers).zip(&self.kinds)
            {
                let at = Batch {
                    want,
                    first: first + read as u64,
                    max_def,
                    name: self.name,
                };
                feed(column, reader, kind, &at, defs, texts)?;
            }
            read += want;
            let done = self.done.fetch_add(want as u64, Ordering::Relaxed) + want as u64;
            if let Some(progress) = progress.as_deref_mut() {
                progress.show(done, self.bytes_at(done));
            }
        }
        Ok(())
    }

    /// About how many of the file's bytes are read when `rows` rows are.
    fn bytes_at(&self, rows: u64) -> u64 {
        let total = self
            .groups
            .last()
            .map_or(1, |g| g.first - 1 + g.rows as u64)
            .max(1);
        let at = u128::from(self.bytes) * u128::from(rows) / u128::from(total);
        u64::try_from(at).unwrap_or(self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_a_row_group_at_most_and_one_for_a_small_file() {
        let big = SMALL;
        assert_eq!(workers(big, 10, 2), 2);
        assert_eq!(workers(big, 10, 0), 1);
        assert_eq!(workers(big, 3, 8), 3);
        assert_eq!(workers(big, 1, 8), 1);
        assert_eq!(workers(big, 0, 8), 1);
        assert_eq!(workers(big - 1, 10, 8), 1);
    }
}
