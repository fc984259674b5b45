//! GCP Cloud Billing export (the BigQuery tables `gcp_billing_export_v1_<account>`,
//! standard usage cost, and `gcp_billing_export_resource_v1_<account>`, detailed usage cost).
//!
//! **What the format is.** Google exports billing only to BigQuery, so every file is an
//! extract of those tables. Two serializations are read:
//! - **Newline-delimited JSON** (`bq extract --destination_format NEWLINE_DELIMITED_JSON`):
//!   one nested row per line, `service{id,description}`, `sku{...}`, `project{id, number,
//!   name, labels[]}`, `labels[]`, `system_labels[]`, `location{location, country, region,
//!   zone}`, `cost`, `currency`, `usage{amount, unit, amount_in_pricing_units,
//!   pricing_unit}`, `credits[]{name, amount, full_name, id, type}`, `invoice{month}`,
//!   `cost_type`, `adjustment_info{...}`, `cost_at_list`; the detailed table adds
//!   `resource{name, global_name}` and `price{...}`. Timestamps read
//!   `2024-03-05 10:00:00 UTC` (epoch seconds are accepted too). Lines are read one at a
//!   time, so memory stays bounded whatever the file size; a file that is one JSON array of
//!   rows (`bq query --format=json`) is also accepted, and is read whole. A line that cannot
//!   be read is rejected with the JSON field path as its column (`credits[1].amount`) and
//!   reading goes on. Each line is read straight into the fields it needs (`fast.rs`); the
//!   reference reading, through a `serde_json::Value` (`json.rs`, `export.rs`), takes the
//!   lines that reader leaves (errors and oddities), so it alone words the errors.
//! - **Flat CSV** as Koku writes it: nested fields become dotted headers
//!   (`service.description`, `usage.amount_in_pricing_units`), and the REPEATED fields are
//!   Python `repr` (`[{'key': 'x', 'value': 'y'}]`, `None`), which `repr.rs` reads without
//!   evaluating anything.
//!
//! Both become an [`export::ExportRow`] and share one normalization (`normalize.rs`).
//!
//! **Numbers.** Costs are JSON floats. serde_json (without `arbitrary_precision`, which the
//! workspace does not enable) holds them as f64; they are turned into `Decimal` through
//! Rust's shortest round-trip text of that f64 (see [`export::number`]), with serde_json's
//! `float_roundtrip` feature so the f64 is the nearest one to the token. BigQuery's FLOAT is
//! itself an f64, so this yields exactly the digits the export wrote; keeping the raw token
//! would need `arbitrary_precision` or a hand-written JSON scanner and gains nothing here.
//! No amount is ever added as a float.
//!
//! **Billing rules.**
//! - Each export row is **one** record: billed = effective = `cost` (gross), list =
//!   `cost_at_list`. Every element of `credits[]` becomes **its own** record with the row's
//!   account, project, service, SKU, resource, periods, labels, currency and AI class, and
//!   billed = effective = the credit amount (negative), ChargeCategory Credit. So a row with
//!   several credits is never duplicated, a row with none is kept, and net = gross + credits
//!   is the plain sum of all records. The credit record's `x_ChargeKind` is `discount` for
//!   SUSTAINED_USAGE_DISCOUNT, COMMITTED_USAGE_DISCOUNT(_DOLLAR_BASE), DISCOUNT,
//!   SUBSCRIPTION_BENEFIT, RESELLER_MARGIN and FEE_UTILIZATION_OFFSET, and `credit` for
//!   PROMOTION, FREE_TIER (and any unknown type). Its `ChargeDescription` is
//!   `"<type>: <name>"` (e.g. `PROMOTION: FreeTrial:b09-promo`), so the type and name
//!   survive; a CUD credit also carries the credit id as `CommitmentDiscountId`.
//! - `cost_type`: regular → usage, tax → tax, adjustment → adjustment (description from
//!   `adjustment_info.description`), rounding_error → rounding; an unknown value rejects
//!   the row, naming `cost_type`, rather than guessing.
//! - Committed use discount fees (SKU `Commitment v1: ...` or `Commitment - dollar based
//!   v1: ...`) are purchases, Recurring, pricing model committed_use. Usage that received a
//!   CUD credit is committed_use too; Spot/Preemptible SKUs are spot; other usage on-demand.
//! - Billing period = the invoice month (`invoice.month` YYYYMM → [month start, next month
//!   start)); without one, the calendar month of the usage. Usage that starts before its
//!   invoice month is late-billed and gets ChargeClass Correction.
//! - BillingAccountId = `billing_account_id`, SubAccountId/Name = `project.id`/`name`,
//!   ServiceName = `service.description`, `x_ServiceCode` = `service.id`, ResourceId =
//!   `resource.name` (detailed export) else none, region = `location.region` else
//!   `location.location` (multi-regions such as `US`), zone = `location.zone`, instance type
//!   = the `compute.googleapis.com/machine_spec` system label.
//! - Tags = the row's `labels`, plus the project's labels for keys the row does not set
//!   (the resource's own label wins over the inherited one). System labels are Google's,
//!   not the user's, and are not tags. The newer `tags[]` (resource manager tags) are not
//!   read yet.
//! - **Restatements.** Google appends, never updates: the same usage hour can get new rows
//!   later with a newer `export_time`. Those rows are kept as rows, so they add (that is
//!   what the invoice does). A re-extract of a whole invoice month is a new delivery and
//!   replaces the old one downstream, keyed by `x_Source` and the restatement key.
//!
//! **AI** (`classify.rs`): Vertex AI, the Gemini API, Cloud TPU, AutoML, Notebooks and the
//! other ML services by id or description; token/character SKUs are model APIs with the
//! model from the SKU text and `x_Tokens` when the usage unit is tokens; GPU SKUs and the
//! A2/A3/G2 machine families are GPU VMs.

mod classify;
mod csv;
pub mod export;
mod fast;
pub mod fetch;
mod json;
pub mod normalize;
pub mod repr;

use std::io::BufRead;

use crate::Normalizer;
use crate::classify::{Classification, Memo as ClassMemo};
use crate::detect::Format;
use crate::error::{IngestError, RowError};
use crate::read::FileCtx;
use crate::report::Out;
use crate::table::{Header, Row};

use self::csv::GcpCsvColumns;
use self::export::FieldError;

/// Header keys of the flattened CSV that no other source writes together.
const CSV_SIGNATURE: &[&str] = &[
    "billingaccountid",
    "servicedescription",
    "skudescription",
    "usagestarttime",
    "cost",
];

pub fn sniff(header: &Header) -> Option<Format> {
    CSV_SIGNATURE
        .iter()
        .all(|k| header.has(k))
        .then_some(Format::GcpBillingCsv)
}

/// A JSON row (or the first row of an array) is an export row when it has the account,
/// the cost and the usage window.
pub fn sniff_json(value: &serde_json::Value) -> Option<Format> {
    let row = match value {
        serde_json::Value::Array(a) => a.first()?,
        other => other,
    };
    let obj = row.as_object()?;
    ["billing_account_id", "cost", "usage_start_time"]
        .iter()
        .all(|k| obj.contains_key(*k))
        .then_some(Format::GcpBillingJsonl)
}

pub fn normalizer(header: &Header, ctx: &FileCtx) -> Result<Box<dyn Normalizer>, IngestError> {
    GcpCsvColumns::check_unambiguous(header, ctx)?;
    ctx.require_columns(
        header,
        Format::GcpBillingCsv,
        &[
            ("billingaccountid", "billing_account_id"),
            ("cost", "cost"),
            ("currency", "currency"),
            ("usagestarttime", "usage_start_time"),
        ],
    )?;
    Ok(Box::new(CsvNormalizer {
        cols: GcpCsvColumns::resolve(header),
        ctx: ctx.clone(),
        memo: ClassMemo::default(),
    }))
}

struct CsvNormalizer {
    cols: GcpCsvColumns,
    ctx: FileCtx,
    memo: ClassMemo<Classification>,
}

impl Normalizer for CsvNormalizer {
    fn row(&mut self, row: &Row<'_>, out: &mut Out<'_>) -> Result<(), RowError> {
        let export = csv::export_row(row, &self.cols)?;
        let records = normalize::records(&export, &self.ctx, row.number, &mut self.memo)
            .map_err(|e| csv::row_error(row, e))?;
        for r in records {
            out.cost(r);
        }
        Ok(())
    }
}

fn field_error(ctx: &FileCtx, line: u64, e: FieldError) -> RowError {
    RowError {
        file: ctx.file.clone(),
        row: line,
        column: (!e.field.is_empty()).then_some(e.field),
        reason: e.reason,
    }
}

/// One row of a JSON array file, read through the `Value` path.
fn json_line(
    ctx: &FileCtx,
    line: u64,
    value: &serde_json::Value,
    memo: &mut ClassMemo<Classification>,
    out: &mut Out<'_>,
) -> Result<(), RowError> {
    let export = json::export_row(value).map_err(|e| field_error(ctx, line, e))?;
    emit(ctx, line, &export, memo, out)
}

/// Normalizes one export row into its records (the row's, then one per credit).
fn emit(
    ctx: &FileCtx,
    line: u64,
    export: &export::ExportRow,
    memo: &mut ClassMemo<Classification>,
    out: &mut Out<'_>,
) -> Result<(), RowError> {
    let records =
        normalize::records(export, ctx, line, memo).map_err(|e| field_error(ctx, line, e))?;
    for r in records {
        out.cost(r);
    }
    Ok(())
}

/// Why a JSON line gave no export row.
#[derive(Debug)]
enum LineError {
    NotJson(serde_json::Error),
    Field(FieldError),
}

/// One line's export row. The fast reader takes nearly every line; a line it cannot take is
/// read again as a `Value`, which gives the same row or the error that names the field.
fn line_row(text: &str) -> Result<export::ExportRow, LineError> {
    if let Some(export) = fast::export_row(text) {
        return Ok(export);
    }
    let value = serde_json::from_str::<serde_json::Value>(text).map_err(LineError::NotJson)?;
    json::export_row(&value).map_err(LineError::Field)
}

/// Reads newline-delimited JSON rows (or one JSON array of rows). Line number = row number.
pub fn read_jsonl(
    mut input: Box<dyn BufRead>,
    ctx: &FileCtx,
    out: &mut Out<'_>,
) -> Result<(), IngestError> {
    let io = |source| IngestError::Io {
        path: ctx.path.clone(),
        source,
    };
    let starts_array = loop {
        let buf = input.fill_buf().map_err(io)?;
        let Some(pos) = buf
            .iter()
            .position(|b| !b.is_ascii_whitespace() && !matches!(b, 0xEF | 0xBB | 0xBF))
        else {
            if buf.is_empty() {
                return Ok(());
            }
            let n = buf.len();
            input.consume(n);
            continue;
        };
        break buf[pos] == b'[';
    };
    if starts_array {
        return read_array(input, ctx, out);
    }
    let mut buf = Vec::new();
    let mut line = 0u64;
    let mut memo = ClassMemo::default();
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf).map_err(io)? == 0 {
            return Ok(());
        }
        line += 1;
        out.report.rows_read += 1;
        let text = match std::str::from_utf8(&buf) {
            Ok(t) => t.trim_start_matches('\u{feff}').trim(),
            Err(e) => {
                out.reject(RowError {
                    file: ctx.file.clone(),
                    row: line,
                    column: None,
                    reason: format!("not UTF-8: {e}"),
                });
                continue;
            }
        };
        if text.is_empty() {
            out.skip("blank line");
            continue;
        }
        let result = match line_row(text) {
            Ok(export) => emit(ctx, line, &export, &mut memo, out),
            Err(LineError::Field(e)) => Err(field_error(ctx, line, e)),
            // The last line, without its line end and not whole JSON: the file was cut short.
            Err(LineError::NotJson(e)) if buf.last() != Some(&b'\n') => {
                return Err(IngestError::cut_json_line(&ctx.path, line, &e));
            }
            Err(LineError::NotJson(e)) => Err(RowError {
                file: ctx.file.clone(),
                row: line,
                column: None,
                reason: format!("not JSON: {e}"),
            }),
        };
        if let Err(e) = result {
            out.reject(e);
        }
    }
}

fn read_array(
    mut input: Box<dyn BufRead>,
    ctx: &FileCtx,
    out: &mut Out<'_>,
) -> Result<(), IngestError> {
    let mut text = String::new();
    input
        .read_to_string(&mut text)
        .map_err(|source| IngestError::Io {
            path: ctx.path.clone(),
            source,
        })?;
    let rows: Vec<serde_json::Value> = serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|e| IngestError::Unreadable {
            path: ctx.path.clone(),
            reason: format!("not a JSON array of rows: {e}"),
        })?;
    let mut memo = ClassMemo::default();
    for (i, v) in rows.iter().enumerate() {
        out.report.rows_read += 1;
        if let Err(e) = json_line(ctx, i as u64 + 1, v, &mut memo, out) {
            out.reject(e);
        }
    }
    Ok(())
}
