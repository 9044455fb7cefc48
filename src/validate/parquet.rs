//! The Parquet reader: a file's row groups, shared among workers ([`groups`]), a batch of rows
//! at a time, each column read by the `parquet` crate's column reader (no Arrow) and its
//! values turned into cells by the column's physical and logical type; whole numbers, floats
//! and texts of a column declared `int`, `float` or `string` go in as a batch, as a CSV
//! chunk's cells do ([`cells`]). Nested columns (lists, maps, structs) and types with no cell
//! of their own (decimals, times of day, plain binary) are a pointed error.

mod cells;
mod groups;

use std::cell::OnceCell;
use std::fmt::Write as _;
use std::fs::File;
use std::path::Path;

use ::parquet::basic::{ConvertedType, LogicalType, TimeUnit, Type as PhysicalType};
use ::parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use ::parquet::data_type::DataType;
use ::parquet::file::reader::{FileReader as _, SerializedFileReader};
use ::parquet::schema::types::{ColumnDescriptor, Type};

use self::cells::Values;
use self::groups::Plan;
use super::columns::Column;
use super::read::{Progress, Source, read_error};
use super::value::Cell;
use super::{DataError, Pass};
use crate::config::model::ColumnType;

/// Rows read from each column in turn.
const BATCH: usize = 8192;

/// How a column's values become cells.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// Booleans, floats, texts and signed whole numbers: as their physical type says.
    Plain,
    /// Unsigned whole numbers (a `u64` past `i64::MAX` becomes a float).
    Unsigned,
    /// Days since 1970-01-01 (`INT32`).
    Date,
    /// A timestamp (`INT64`) in units of `1 / per_second` seconds.
    Timestamp { per_second: f64 },
}

/// Streams a Parquet file into `pass` with `threads` workers, each taking its share of the
/// row groups (one worker, on this thread, for small files and files of one row group):
/// the bytes of the file.
pub fn read(
    path: &Path,
    source: &Source,
    pass: &mut Pass,
    progress: &mut Progress,
    threads: usize,
) -> Result<u64, DataError> {
    let name = &source.name;
    let (reader, bytes) = open(path, name)?;
    let metadata = reader.metadata();
    let schema = metadata.file_metadata().schema_descr();
    let fields = schema.root_schema().get_fields();
    let names = fields.iter().map(|f| f.name().to_owned()).collect();
    pass.header(names)?;
    // every field is a column of its own (no nesting), so field `i` is leaf column `i`: its
    // kind, and the definition level of a row with a value
    let mut kinds = Vec::with_capacity(fields.len());
    for (i, field) in fields.iter().enumerate() {
        let kind = if field.is_primitive() {
            kind(&schema.columns()[i])
        } else {
            Err(group(field))
        };
        let kind = kind.map_err(|kind| DataError::Unsupported {
            path: name.clone(),
            column: field.name().to_owned(),
            kind,
        })?;
        kinds.push((kind, schema.columns()[i].max_def_level()));
    }
    let plan = Plan::new((path, name), kinds, metadata, bytes, threads);
    pass.rows = plan.read(&reader, &mut pass.columns, progress)?;
    Ok(bytes)
}

/// The file's reader, and its size in bytes.
fn open(path: &Path, name: &str) -> Result<(SerializedFileReader<File>, u64), DataError> {
    let file = File::open(path).map_err(|e| read_error(name, &e))?;
    let bytes = file.metadata().map_or(0, |m| m.len());
    let reader = SerializedFileReader::new(file).map_err(|e| read_error(name, &e))?;
    Ok((reader, bytes))
}

/// How the values of `column` become cells, or what its type is when none can.
fn kind(column: &ColumnDescriptor) -> Result<Kind, String> {
    use ConvertedType as C;
    use PhysicalType as P;
    let physical = column.physical_type();
    let logical = column.logical_type_ref();
    let converted = column.converted_type();
    let per_second = |unit: &TimeUnit| match unit {
        TimeUnit::MILLIS => 1e3,
        TimeUnit::MICROS => 1e6,
        TimeUnit::NANOS => 1e9,
    };
    let kind = match (physical, logical, converted) {
        // a column of nulls only; INT96 is the legacy timestamp (nanoseconds and a Julian day)
        (_, Some(LogicalType::Unknown), _)
        | (P::BOOLEAN | P::FLOAT | P::DOUBLE | P::INT96, None, C::NONE)
        | (P::INT32 | P::INT64, None, C::NONE | C::INT_8 | C::INT_16 | C::INT_32 | C::INT_64)
        | (P::BYTE_ARRAY, Some(LogicalType::String | LogicalType::Enum | LogicalType::Json), _)
        | (P::BYTE_ARRAY, None, C::UTF8 | C::ENUM | C::JSON) => Some(Kind::Plain),
        (P::INT32 | P::INT64, Some(LogicalType::Integer(int)), _) => Some(if int.is_signed {
            Kind::Plain
        } else {
            Kind::Unsigned
        }),
        (P::INT32 | P::INT64, None, C::UINT_8 | C::UINT_16 | C::UINT_32 | C::UINT_64) => {
            Some(Kind::Unsigned)
        }
        (P::INT32, Some(LogicalType::Date), _) | (P::INT32, None, C::DATE) => Some(Kind::Date),
        (P::INT64, Some(LogicalType::Timestamp(t)), _) => Some(Kind::Timestamp {
            per_second: per_second(&t.unit),
        }),
        (P::INT64, None, C::TIMESTAMP_MILLIS) => Some(Kind::Timestamp { per_second: 1e3 }),
        (P::INT64, None, C::TIMESTAMP_MICROS) => Some(Kind::Timestamp { per_second: 1e6 }),
        _ => None,
    };
    let kind = kind.filter(|_| column.max_rep_level() == 0);
    kind.ok_or_else(|| {
        let mut kind = physical.to_string();
        if let Some(logical) = logical {
            let _ = write!(kind, " ({logical:?})");
        } else if converted != C::NONE {
            let _ = write!(kind, " ({converted})");
        }
        if column.max_rep_level() > 0 {
            kind.insert_str(0, "repeated ");
        }
        kind
    })
}

/// What a nested field is, for the error that says it is not supported.
fn group(field: &Type) -> String {
    let info = field.get_basic_info();
    match (info.logical_type_ref(), info.converted_type()) {
        (Some(LogicalType::List), _) | (None, ConvertedType::LIST) => "list".to_owned(),
        (Some(LogicalType::Map), _) | (None, ConvertedType::MAP | ConvertedType::MAP_KEY_VALUE) => {
            "map".to_owned()
        }
        _ => "struct".to_owned(),
    }
}

/// Where a batch of one column's rows is.
struct Batch<'a> {
    /// Its rows (every column of a row group has them all).
    want: usize,
    /// Its first row's number.
    first: u64,
    /// The definition level of a row with a value (0: the column has no nulls).
    max_def: i16,
    /// The file, as shown to the user.
    name: &'a str,
}

#[allow(clippy::cast_precision_loss, clippy::cast_sign_loss)]
fn feed(
    column: &mut Column,
    reader: &mut ColumnReader,
    kind: Kind,
    at: &Batch,
    defs: &mut Vec<i16>,
    texts: &mut Vec<OnceCell<String>>,
) -> Result<(), DataError> {
    // whole numbers, floats and texts of the declared type: a batch at a time, as a CSV's
    if kind == Kind::Plain {
        let read = match (&mut *reader, column.declared()) {
            (ColumnReader::Int64ColumnReader(r), Some(ColumnType::Int | ColumnType::Float)) => {
                Some(Values::Ints(values(column, r, at, defs)?))
            }
            (ColumnReader::Int32ColumnReader(r), Some(ColumnType::Int | ColumnType::Float)) => {
                Some(Values::Ints(widen(values(column, r, at, defs)?)))
            }
            (ColumnReader::DoubleColumnReader(r), Some(ColumnType::Float)) => {
                Some(Values::Floats(values(column, r, at, defs)?))
            }
            (ColumnReader::FloatColumnReader(r), Some(ColumnType::Float)) => {
                Some(Values::Floats(widen(values(column, r, at, defs)?)))
            }
            (ColumnReader::ByteArrayColumnReader(r), Some(ColumnType::String)) => {
                Some(Values::Texts(values(column, r, at, defs)?))
            }
            _ => None,
        };
        if let Some(values) = read {
            return cells::feed(column, &values, at, defs, texts);
        }
    }
    match reader {
        ColumnReader::BoolColumnReader(r) => take(column, r, at, defs, |v| Some(Cell::Bool(*v))),
        ColumnReader::Int32ColumnReader(r) => match kind {
            Kind::Date => take(column, r, at, defs, |v| Some(Cell::Date(i64::from(*v)))),
            Kind::Unsigned => take(column, r, at, defs, |v| {
                Some(Cell::Int(i64::from(*v as u32)))
            }),
            _ => take(column, r, at, defs, |v| Some(Cell::Int(i64::from(*v)))),
        },
        ColumnReader::Int64ColumnReader(r) => match kind {
            Kind::Timestamp { per_second } => take(column, r, at, defs, |v| {
                Some(Cell::Timestamp(*v as f64 / per_second))
            }),
            Kind::Unsigned => take(column, r, at, defs, |v| {
                let v = *v as u64;
                Some(i64::try_from(v).map_or(Cell::Float(v as f64), Cell::Int))
            }),
            _ => take(column, r, at, defs, |v| Some(Cell::Int(*v))),
        },
        ColumnReader::Int96ColumnReader(r) => take(column, r, at, defs, |v| {
            Some(Cell::Timestamp(v.to_nanos() as f64 / 1e9))
        }),
        ColumnReader::FloatColumnReader(r) => {
            take(column, r, at, defs, |v| Some(Cell::Float(f64::from(*v))))
        }
        ColumnReader::DoubleColumnReader(r) => take(column, r, at, defs, |v| Some(Cell::Float(*v))),
        ColumnReader::ByteArrayColumnReader(r) => take(column, r, at, defs, |v| {
            std::str::from_utf8(v.data()).ok().map(Cell::Text)
        }),
        // `kind` turned these down before the first row
        ColumnReader::FixedLenByteArrayColumnReader(_) => Err(DataError::Unsupported {
            path: at.name.to_owned(),
            column: column.name.clone(),
            kind: PhysicalType::FIXED_LEN_BYTE_ARRAY.to_string(),
        }),
    }
}

/// A batch of `reader`'s values (the rows with one, as many as [`slots`] counts), and the
/// definition levels of its rows in `defs`.
fn values<T: DataType>(
    column: &Column,
    reader: &mut ColumnReaderImpl<T>,
    at: &Batch,
    defs: &mut Vec<i16>,
) -> Result<Vec<T::T>, DataError> {
    defs.clear();
    let mut values = Vec::with_capacity(at.want);
    let levels = (at.max_def > 0).then_some(&mut *defs);
    let (rows, _, _) = reader
        .read_records(at.want, levels, None, &mut values)
        .map_err(|e| read_error(at.name, &e))?;
    if rows != at.want {
        return Err(read_error(
            at.name,
            &format!(
                "column `{}` ends at row {}, before the end of its row group",
                column.name,
                at.first - 1 + rows as u64
            ),
        ));
    }
    let with_value = (0..at.want).filter(|&i| !is_null(at, defs, i)).count();
    if values.len() < with_value {
        return Err(read_error(
            at.name,
            &format!("column `{}`: fewer values than rows", column.name),
        ));
    }
    Ok(values)
}

/// Marks a null row in [`slots`].
const NULL: u32 = u32::MAX;

/// Each row's value in a batch (its index among the rows with one), [`NULL`] for a null.
fn slots(at: &Batch, defs: &[i16]) -> Vec<u32> {
    let mut next = 0;
    (0..at.want)
        .map(|i| {
            if is_null(at, defs, i) {
                NULL
            } else {
                next += 1;
                next - 1
            }
        })
        .collect()
}

/// Values made wider (`i32` to `i64`, `f32` to `f64`), which they hold exactly.
fn widen<T, U: From<T>>(values: Vec<T>) -> Vec<U> {
    values.into_iter().map(U::from).collect()
}

/// Whether row `i` of a batch is null, by its definition level.
fn is_null(at: &Batch, defs: &[i16], i: usize) -> bool {
    at.max_def > 0 && defs.get(i).is_none_or(|&d| d < at.max_def)
}

/// Reads a batch of `reader`'s rows into `column`, each value made a cell by `cell` (`None`:
/// text that is not UTF-8).
fn take<T: DataType>(
    column: &mut Column,
    reader: &mut ColumnReaderImpl<T>,
    at: &Batch,
    defs: &mut Vec<i16>,
    cell: impl Fn(&T::T) -> Option<Cell<'_>>,
) -> Result<(), DataError> {
    let values = values(column, reader, at, defs)?;
    for (i, slot) in slots(at, defs).into_iter().enumerate() {
        let row = at.first + i as u64;
        if slot == NULL {
            column.null(row);
            continue;
        }
        let Some(cell) = cell(&values[slot as usize]) else {
            return Err(DataError::EncodingInRow {
                path: at.name.to_owned(),
                row,
                column: column.name.clone(),
            });
        };
        column.cell(row, cell)?;
    }
    Ok(())
}
