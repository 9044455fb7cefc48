//! A batch of one Parquet column's typed values (whole numbers, floats, texts) as the
//! [`Cells`] of the batch path that CSV chunks take: numbers go in as read, and their texts
//! are only made when a check or the profile asks for one.

use std::cell::OnceCell;

use ::parquet::data_type::ByteArray;

use super::{Batch, NULL, slots};
use crate::validate::DataError;
use crate::validate::columns::{Cells, Column, Number};

/// A batch's values of one column, as read.
pub(super) enum Values {
    Ints(Vec<i64>),
    Floats(Vec<f64>),
    Texts(Vec<ByteArray>),
}

/// Checks and profiles a batch of `column`'s `values`, as many as its rows with one (`defs`: the
/// rows' definition levels; `texts`: room for the numbers' texts, reused from batch to batch).
pub(super) fn feed(
    column: &mut Column,
    values: &Values,
    at: &Batch,
    defs: &[i16],
    texts: &mut Vec<OnceCell<String>>,
) -> Result<(), DataError> {
    let slots = slots(at, defs);
    texts.clear();
    texts.resize_with(at.want, OnceCell::new);
    // texts checked once for the batch: cells that are then known to be UTF-8 (or ASCII) are
    // read as bytes, as a CSV chunk's are
    let (ascii, utf8) = match values {
        Values::Texts(v) => {
            let ascii = v.iter().all(|t| t.data().is_ascii());
            let utf8 = ascii || v.iter().all(|t| std::str::from_utf8(t.data()).is_ok());
            (ascii, utf8)
        }
        Values::Ints(_) | Values::Floats(_) => (true, true),
    };
    column.feed(&TypedCells {
        values,
        slots: &slots,
        texts,
        at,
        ascii,
        utf8,
    })
}

/// A batch of one column's typed values as [`Cells`]: a number's text is made only when a
/// check or the profile asks for it (a violation, a new top value), as the CSV reader's
/// cells give it, so the checks and the profile are the same as for the same table in CSV.
struct TypedCells<'a> {
    values: &'a Values,
    slots: &'a [u32],
    /// Each row's text once made.
    texts: &'a [OnceCell<String>],
    at: &'a Batch<'a>,
    /// Every value is ASCII (numbers' texts are).
    ascii: bool,
    /// Every value is UTF-8: a text that is not stops the check at its row.
    utf8: bool,
}

impl TypedCells<'_> {
    fn slot(&self, row: usize) -> Option<usize> {
        let slot = self.slots[row];
        (slot != NULL).then_some(slot as usize)
    }

    /// A number's text, made once.
    fn number_text(&self, row: usize, slot: usize) -> &str {
        self.texts[row].get_or_init(|| match self.values {
            Values::Ints(v) => v[slot].to_string(),
            Values::Floats(v) => v[slot].to_string(),
            Values::Texts(_) => String::new(),
        })
    }
}

impl Cells for TypedCells<'_> {
    fn len(&self) -> usize {
        self.slots.len()
    }

    fn bytes(&self, row: usize) -> &[u8] {
        match (self.slot(row), self.values) {
            (None, _) => b"",
            (Some(slot), Values::Texts(v)) => v[slot].data(),
            (Some(slot), _) => self.number_text(row, slot).as_bytes(),
        }
    }

    fn number(&self, row: usize) -> Option<Number> {
        match (self.slot(row)?, self.values) {
            (slot, Values::Ints(v)) => Some(Number::Int(v[slot])),
            (slot, Values::Floats(v)) => Some(Number::Float(v[slot])),
            (_, Values::Texts(_)) => None,
        }
    }

    fn text(&self, row: usize) -> Option<&str> {
        match (self.slot(row), self.values) {
            (None, _) => Some(""),
            (Some(slot), Values::Texts(v)) => std::str::from_utf8(v[slot].data()).ok(),
            (Some(slot), _) => Some(self.number_text(row, slot)),
        }
    }

    fn ascii(&self) -> bool {
        self.ascii
    }

    fn utf8(&self) -> bool {
        self.utf8
    }

    fn line(&self, row: usize) -> u64 {
        self.at.first + row as u64
    }

    fn encoding(&self, row: usize, column: &str) -> DataError {
        DataError::EncodingInRow {
            path: self.at.name.to_owned(),
            row: self.line(row),
            column: column.to_owned(),
        }
    }
}
