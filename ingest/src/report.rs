//! What comes out of reading a file: records go to an [`Emit`], facts go to a [`FileReport`].

use std::collections::BTreeMap;

use burnrate_schemas::{CostRecord, MetricSample};
use serde::Serialize;

use crate::error::RowError;

/// Receives normalized records as they are parsed (streaming: nothing is buffered here).
pub trait Emit {
    fn cost(&mut self, record: CostRecord);
    fn metric(&mut self, sample: MetricSample);
}

/// Collects everything in memory; for tests and small inputs.
#[derive(Debug, Default)]
pub struct Collected {
    pub costs: Vec<CostRecord>,
    pub metrics: Vec<MetricSample>,
}

impl Emit for Collected {
    fn cost(&mut self, record: CostRecord) {
        self.costs.push(record);
    }
    fn metric(&mut self, sample: MetricSample) {
        self.metrics.push(sample);
    }
}

/// How many rejected rows a report keeps in full; the count covers them all.
pub const KEPT_REJECTIONS: usize = 200;

/// The per-file report `burnrate ingest` prints.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileReport {
    pub file: String,
    /// The detected format, in words (`Format`'s display form).
    pub format: String,
    /// Data rows (or lines, or samples) read from the file, good and bad.
    pub rows_read: u64,
    pub cost_records: u64,
    pub metric_samples: u64,
    /// Rows deliberately not turned into records, by reason (e.g. savings plan negation
    /// rows, folded into the usage they negate). These are not errors.
    pub skipped: BTreeMap<String, u64>,
    pub rejected_count: u64,
    /// The first `KEPT_REJECTIONS` rejected rows, in file order.
    pub rejected: Vec<RowError>,
}

impl FileReport {
    pub fn new(file: &str) -> FileReport {
        FileReport {
            file: file.to_string(),
            ..FileReport::default()
        }
    }

    pub fn reject(&mut self, error: RowError) {
        self.rejected_count += 1;
        if self.rejected.len() < KEPT_REJECTIONS {
            self.rejected.push(error);
        }
    }

    /// Adds another report's counts (a manifest's report absorbs its data files').
    pub fn absorb(&mut self, other: FileReport) {
        self.rows_read += other.rows_read;
        self.cost_records += other.cost_records;
        self.metric_samples += other.metric_samples;
        for (k, v) in other.skipped {
            *self.skipped.entry(k).or_default() += v;
        }
        self.rejected_count += other.rejected_count;
        for e in other.rejected {
            if self.rejected.len() < KEPT_REJECTIONS {
                self.rejected.push(e);
            }
        }
    }
}

/// What a normalizer writes to: the caller's `Emit` plus the file's report.
pub struct Out<'a> {
    emit: &'a mut dyn Emit,
    pub report: &'a mut FileReport,
}

impl std::fmt::Debug for Out<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Out").field("report", &self.report).finish()
    }
}

/// A currency code as ISO 4217 writes it: `usd` and ` USD ` are `USD`, as `--currency`
/// takes them, so that one currency is not summed apart under two spellings. A value that
/// is not three letters is left as written.
fn canonical_currency(mut record: CostRecord) -> CostRecord {
    // The common case (already `USD`) allocates nothing: this runs for every record.
    if record.billing_currency.len() == 3
        && record
            .billing_currency
            .bytes()
            .all(|b| b.is_ascii_uppercase())
    {
        return record;
    }
    let code = record.billing_currency.trim();
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic()) {
        let canonical = code.to_ascii_uppercase();
        if record.billing_currency != canonical {
            record.billing_currency = canonical;
        }
    }
    record
}

impl<'a> Out<'a> {
    pub fn new(emit: &'a mut dyn Emit, report: &'a mut FileReport) -> Out<'a> {
        Out { emit, report }
    }

    /// Emits a record, or rejects it when its charge period ends before it starts (every
    /// source's rows pass here, so the rule holds for all of them).
    pub fn cost(&mut self, record: CostRecord) {
        if record.charge_period_end < record.charge_period_start {
            self.reject(RowError {
                file: record.row_ref.file.clone(),
                row: record.row_ref.row,
                column: Some("ChargePeriodEnd".into()),
                reason: format!(
                    "the charge period ends ({}) before it starts ({})",
                    record.charge_period_end, record.charge_period_start
                ),
            });
            return;
        }
        self.report.cost_records += 1;
        self.emit.cost(canonical_currency(record));
    }

    /// Emits a sample, or rejects it when [`MetricSample::problems`] finds any (every
    /// metrics reader's samples pass here, so the limits hold for all of them).
    pub fn metric(&mut self, sample: MetricSample) {
        let problems = sample.problems();
        if let Some((field, _)) = problems.first() {
            let reason = problems
                .iter()
                .map(|(_, why)| why.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            self.reject(RowError {
                file: sample.row_ref.file.clone(),
                row: sample.row_ref.row,
                column: Some((*field).to_string()),
                reason,
            });
            return;
        }
        self.report.metric_samples += 1;
        self.emit.metric(sample);
    }

    /// Notes a row deliberately not turned into a record.
    pub fn skip(&mut self, why: &str) {
        *self.report.skipped.entry(why.to_string()).or_default() += 1;
    }

    pub fn reject(&mut self, error: RowError) {
        self.report.reject(error);
    }
}
