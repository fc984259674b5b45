//! Parquet files as a [`Table`] of string rows, so CSV and Parquet share one normalizer.
//!
//! Each cell is written as the CSV export would write it: timestamps as RFC 3339 UTC,
//! floats in their shortest round-trip decimal form (a DOUBLE cost of `0.1` reads as
//! `"0.1"`, never `0.1000000000000000055...`), maps (CUR 2.0 `product`, `resource_tags`)
//! and lists as JSON objects, nulls as empty strings.

use std::fs::File;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type,
    Int32Type, Int64Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use csv::StringRecord;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use crate::table::{Header, Table, TableError};

/// Row groups are read a batch at a time; rows are handed out one by one.
pub struct ParquetTable {
    reader: ParquetRecordBatchReader,
    header: Header,
    batch: Option<RecordBatch>,
    next: usize,
}

impl std::fmt::Debug for ParquetTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetTable").field("header", &self.header).finish()
    }
}

impl ParquetTable {
    pub fn open(file: File) -> Result<ParquetTable, String> {
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| format!("not a readable Parquet file: {e}"))?;
        let header = Header::new(builder.schema().fields().iter().map(|f| f.name().clone()));
        let reader = builder
            .with_batch_size(8192)
            .build()
            .map_err(|e| format!("cannot read the Parquet file: {e}"))?;
        Ok(ParquetTable {
            reader,
            header,
            batch: None,
            next: 0,
        })
    }

    /// Only the column names, for format detection.
    pub fn header_of(file: File) -> Result<Header, String> {
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| format!("not a readable Parquet file: {e}"))?;
        Ok(Header::new(
            builder.schema().fields().iter().map(|f| f.name().clone()),
        ))
    }
}

impl Table for ParquetTable {
    fn header(&self) -> &Header {
        &self.header
    }

    fn next_row(&mut self, buf: &mut StringRecord) -> Result<bool, TableError> {
        loop {
            if let Some(batch) = &self.batch
                && self.next < batch.num_rows()
            {
                buf.clear();
                let row = self.next;
                self.next += 1;
                let mut cell = String::new();
                for column in batch.columns() {
                    cell.clear();
                    write_cell(column, row, &mut cell).map_err(|reason| TableError {
                        reason,
                        fatal: false,
                    })?;
                    buf.push_field(&cell);
                }
                return Ok(true);
            }
            match self.reader.next() {
                None => return Ok(false),
                Some(Ok(batch)) => {
                    self.batch = Some(batch);
                    self.next = 0;
                }
                Some(Err(e)) => {
                    return Err(TableError {
                        reason: format!("cannot decode a Parquet batch: {e}"),
                        fatal: true,
                    });
                }
            }
        }
    }
}

fn write_cell(array: &ArrayRef, row: usize, out: &mut String) -> Result<(), String> {
    use std::fmt::Write;
    if array.is_null(row) {
        return Ok(());
    }
    let w = |out: &mut String, v: &dyn std::fmt::Display| {
        let _ = write!(out, "{v}");
    };
    match array.data_type() {
        DataType::Utf8 => out.push_str(array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => out.push_str(array.as_string::<i64>().value(row)),
        DataType::Utf8View => out.push_str(array.as_string_view().value(row)),
        DataType::Boolean => w(out, &array.as_boolean().value(row)),
        DataType::Int8 => w(out, &array.as_primitive::<Int8Type>().value(row)),
        DataType::Int16 => w(out, &array.as_primitive::<Int16Type>().value(row)),
        DataType::Int32 => w(out, &array.as_primitive::<Int32Type>().value(row)),
        DataType::Int64 => w(out, &array.as_primitive::<Int64Type>().value(row)),
        DataType::UInt32 => w(out, &array.as_primitive::<UInt32Type>().value(row)),
        DataType::UInt64 => w(out, &array.as_primitive::<UInt64Type>().value(row)),
        DataType::Float32 => w(out, &array.as_primitive::<Float32Type>().value(row)),
        DataType::Float64 => w(out, &array.as_primitive::<Float64Type>().value(row)),
        DataType::Decimal128(_, scale) => {
            let v = array.as_primitive::<Decimal128Type>().value(row);
            out.push_str(&decimal128_text(v, *scale));
        }
        DataType::Date32 => {
            let days = array.as_primitive::<Date32Type>().value(row);
            let date = chrono::DateTime::UNIX_EPOCH
                .date_naive()
                .checked_add_signed(chrono::Duration::days(i64::from(days)))
                .ok_or_else(|| format!("date out of range: {days}"))?;
            w(out, &date.format("%Y-%m-%d"));
        }
        DataType::Date64 => {
            let ms = array.as_primitive::<Date64Type>().value(row);
            w(out, &millis_text(ms)?);
        }
        DataType::Timestamp(unit, _) => {
            let micros = match unit {
                TimeUnit::Second => array
                    .as_primitive::<TimestampSecondType>()
                    .value(row)
                    .checked_mul(1_000_000),
                TimeUnit::Millisecond => array
                    .as_primitive::<TimestampMillisecondType>()
                    .value(row)
                    .checked_mul(1_000),
                TimeUnit::Microsecond => Some(array.as_primitive::<TimestampMicrosecondType>().value(row)),
                TimeUnit::Nanosecond => {
                    Some(array.as_primitive::<TimestampNanosecondType>().value(row) / 1_000)
                }
            }
            .ok_or("timestamp out of range")?;
            let t = chrono::DateTime::from_timestamp_micros(micros)
                .ok_or_else(|| format!("timestamp out of range: {micros}"))?;
            w(out, &t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
        }
        DataType::Map(_, _) => {
            let map = array.as_map();
            let entries = map.value(row);
            let keys = entries.column(0);
            let values = entries.column(1);
            let mut obj = serde_json::Map::new();
            for i in 0..entries.len() {
                let mut k = String::new();
                write_cell(keys, i, &mut k)?;
                let mut v = String::new();
                write_cell(values, i, &mut v)?;
                obj.insert(k, serde_json::Value::String(v));
            }
            out.push_str(&serde_json::Value::Object(obj).to_string());
        }
        other => return Err(format!("unsupported Parquet column type {other}")),
    }
    Ok(())
}

fn millis_text(ms: i64) -> Result<String, String> {
    let t = chrono::DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| format!("timestamp out of range: {ms}"))?;
    Ok(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

/// An Arrow decimal's unscaled integer and scale as decimal text, exactly.
fn decimal128_text(unscaled: i128, scale: i8) -> String {
    if scale <= 0 {
        let mut s = unscaled.to_string();
        for _ in 0..(-i32::from(scale)) {
            s.push('0');
        }
        return s;
    }
    let negative = unscaled < 0;
    let digits = unscaled.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded = if digits.len() <= scale {
        format!("{}{}", "0".repeat(scale + 1 - digits.len()), digits)
    } else {
        digits
    };
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{}{}.{}", if negative { "-" } else { "" }, int, frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal128_text_is_exact() {
        assert_eq!(decimal128_text(12345, 2), "123.45");
        assert_eq!(decimal128_text(-5, 3), "-0.005");
        assert_eq!(decimal128_text(7, 0), "7");
        assert_eq!(decimal128_text(7, -2), "700");
    }

    #[test]
    fn float_display_is_the_shortest_round_trip() {
        // The property write_cell relies on for DOUBLE costs.
        assert_eq!(format!("{}", 0.1_f64), "0.1");
        assert_eq!(format!("{}", 1.0e-7_f64), "0.0000001");
        assert_eq!(format!("{}", 0.096_f64), "0.096");
    }
}
