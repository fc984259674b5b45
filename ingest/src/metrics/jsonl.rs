//! The per-minute form as JSON lines: each object is read as a one-row table whose header
//! is its keys, so the CSV alias table and `normalize::sample` serve both forms. Objects of
//! one file usually share their keys, so the resolved columns are reused while they do.

use std::io::BufRead;

use csv::StringRecord;
use serde_json::{Map, Value};

use super::columns::MetricColumns;
use super::normalize;
use crate::error::{IngestError, RowError};
use crate::read::FileCtx;
use crate::report::Out;
use crate::table::{Header, Row};

/// A JSON value as the cell text the table readers expect. Nested values keep their JSON
/// text, so a field that should be a number but is an object is rejected by name.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn line_error(
    ctx: &FileCtx,
    row: u64,
    column: Option<&str>,
    reason: impl Into<String>,
) -> RowError {
    RowError {
        file: ctx.file.clone(),
        row,
        column: column.map(str::to_string),
        reason: reason.into(),
    }
}

struct Resolved {
    keys: Vec<String>,
    header: Header,
    cols: MetricColumns,
    /// Why these keys cannot be read: a measurement named twice (`endpoint_id` and
    /// `resource_id`, `requests` and `invocations`), as a CSV header may not either.
    ambiguous: Option<String>,
}

fn one(
    obj: &Map<String, Value>,
    number: u64,
    ctx: &FileCtx,
    cache: &mut Option<Resolved>,
    record: &mut StringRecord,
    out: &mut Out<'_>,
) -> Result<(), RowError> {
    let same = cache.as_ref().is_some_and(|r| {
        r.keys.len() == obj.len() && r.keys.iter().zip(obj.keys()).all(|(a, b)| a == b)
    });
    if !same {
        let keys: Vec<String> = obj.keys().cloned().collect();
        let header = Header::new(&keys);
        let cols = MetricColumns::resolve(&header);
        let ambiguous = match MetricColumns::check_unambiguous(&header, ctx) {
            Ok(()) => None,
            Err(IngestError::Unreadable { reason, .. }) => Some(reason),
            Err(e) => Some(e.to_string()),
        };
        *cache = Some(Resolved {
            keys,
            header,
            cols,
            ambiguous,
        });
    }
    let Some(resolved) = cache.as_ref() else {
        return Err(line_error(ctx, number, None, "internal: no columns"));
    };
    if let Some(why) = &resolved.ambiguous {
        // "a column is named more than once: ..." reads as "a field" in a JSON object.
        let why = why.replacen("a column is named", "a field is named", 1);
        return Err(line_error(ctx, number, None, why));
    }
    if !resolved.cols.timestamp.present() {
        return Err(line_error(
            ctx,
            number,
            Some("timestamp"),
            "no timestamp field (timestamp, minute, time)",
        ));
    }
    if !resolved.cols.resource.present() {
        return Err(line_error(
            ctx,
            number,
            Some("endpoint_id"),
            "no resource field (endpoint_id, resource_id, endpoint, endpoint_name)",
        ));
    }
    record.clear();
    for v in obj.values() {
        record.push_field(&cell(v));
    }
    let row = Row {
        record,
        header: &resolved.header,
        file: &ctx.file,
        number,
    };
    match normalize::sample(&row, &resolved.cols, ctx.row_ref(number))? {
        Some(s) => out.metric(s),
        None => out.skip("no measurements in the row"),
    }
    Ok(())
}

/// Streams a JSON-lines file; the line number is the row.
pub fn read(
    mut input: Box<dyn BufRead>,
    ctx: &FileCtx,
    out: &mut Out<'_>,
) -> Result<(), IngestError> {
    let mut buf = Vec::new();
    let mut number = 0u64;
    let mut cache = None;
    let mut record = StringRecord::new();
    loop {
        buf.clear();
        let n = input
            .read_until(b'\n', &mut buf)
            .map_err(|source| IngestError::Io {
                path: ctx.path.clone(),
                source,
            })?;
        if n == 0 {
            break;
        }
        number += 1;
        out.report.rows_read += 1;
        let Ok(text) = std::str::from_utf8(&buf) else {
            out.reject(line_error(ctx, number, None, "the line is not UTF-8"));
            continue;
        };
        let text = text.trim_start_matches('\u{feff}').trim();
        if text.is_empty() {
            out.skip("blank line");
            continue;
        }
        let result = match burnrate_schemas::json::from_str_unique(text) {
            Ok(Value::Object(obj)) => one(&obj, number, ctx, &mut cache, &mut record, out),
            Ok(_) => Err(line_error(
                ctx,
                number,
                None,
                "the line is not a JSON object",
            )),
            Err(e) if e.classify() == serde_json::error::Category::Data => {
                Err(line_error(ctx, number, None, e.to_string()))
            }
            // The last line, without its line end and not whole JSON: the file was cut short.
            Err(e) if buf.last() != Some(&b'\n') => {
                return Err(IngestError::cut_json_line(&ctx.path, number, &e));
            }
            Err(e) => Err(line_error(ctx, number, None, format!("not JSON: {e}"))),
        };
        if let Err(e) = result {
            out.reject(e);
        }
    }
    Ok(())
}
