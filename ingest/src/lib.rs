//! # burnrate-ingest
//!
//! Reads what clouds and inference servers write and turns it into `burnrate_schemas`
//! records: AWS Cost and Usage Reports (legacy, Athena snake_case and CUR 2.0; CSV, CSV.gz,
//! Parquet; manifests), Azure Cost Management exports (EA, MCA, pay-as-you-go; actual and
//! amortized; localized headers), the GCP BigQuery billing export (JSON lines and flat
//! CSV), FOCUS files from any provider, OCI cost reports, and per-minute inference metrics
//! (CSV / JSON lines, CloudWatch JSON, Prometheus text from vLLM, TGI, Triton and DCGM).
//!
//! It depends on `schemas` and on nothing else of ours. It owns no transport and no store:
//! records leave through the [`Emit`] trait, so the same code feeds the in-process pipeline,
//! Kafka, or a test's `Vec`.
//!
//! Design choices:
//! - **One folder per source** (`aws_cur/`, `azure_cost/`, ...): `mod.rs` documents the
//!   format and its quirks, `normalize.rs` is pure, `fetch.rs` (where there is one) does I/O.
//! - **Columns by name, never by position.** Header names are reduced to keys (see
//!   [`table::column_key`]) and each source declares the keys of each logical column, so
//!   `lineItem/UnblendedCost` and `line_item_unblended_cost` are the same column.
//! - **Formats are detected from content**, never from file names ([`detect`]).
//! - **Bad rows are data.** A row that cannot be normalized becomes a [`RowError`] naming
//!   file, row and column in the [`FileReport`]; the rest of the file is still read.
//! - **Money stays exact**: cells go straight from text to `Decimal` ([`value::decimal`]).

pub mod classify;
pub mod detect;
pub mod error;
pub mod mirror;
pub mod oauth;
pub mod parquet_table;
pub mod report;
pub mod table;
pub mod value;

pub mod aws_cur;
pub mod azure_cost;
pub mod focus;
pub mod gcp_billing;
pub mod generate;
pub mod metrics;
pub mod oci_cost;
pub mod s3;

mod read;

pub use detect::{Container, Format};
pub use error::{IngestError, RowError};
pub use read::{Expanded, FileCtx, Options, STORE_FILE, expand_paths, ingest_path, run_table};
pub use report::{Collected, Emit, FileReport, Out};

use table::Row;

/// Turns the rows of one tabular format into records. Built per file from its header.
pub trait Normalizer {
    /// Normalizes one row, emitting zero or more records through `out`. An `Err` rejects
    /// the row (and only the row).
    fn row(&mut self, row: &Row<'_>, out: &mut Out<'_>) -> Result<(), RowError>;

    /// Called once after the last row, for normalizers that pair rows up.
    fn finish(&mut self, _out: &mut Out<'_>) {}
}
