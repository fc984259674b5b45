//! `burnrate ingest PATH...`: read files and directories, detect each file's format, feed
//! the pipeline, and return once the rows are durably in the store. Reports per file what
//! was read, skipped and rejected (with file, row, column and reason). Bad rows never stop
//! the good ones; a file that cannot be read at all does not stop the other files either.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use burnrate_dataflow::Preparer;
use burnrate_dataflow::money::{from_units, to_units};
use burnrate_ingest::{Emit, FileReport, IngestError, Options, expand_paths, ingest_path};
use burnrate_schemas::{CostRecord, MetricSample, Provider};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use rust_decimal::Decimal;

use burnrate::engine::Engine;
use burnrate_sink::Fingerprint;

/// Inputs larger than this get a progress bar (when stderr is a terminal).
const PROGRESS_MIN_BYTES: u64 = 8 * 1024 * 1024;

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files or directories (read recursively; hidden files skipped), s3://BUCKET/PREFIX,
    /// az://ACCOUNT/CONTAINER/PREFIX or bq://PROJECT.DATASET.TABLE[?from=YYYYMM] (fetched
    /// into the data directory, then read). Formats are detected from content:
    /// AWS CUR (CSV, CSV.gz, Parquet, manifests), Azure exports, GCP billing export (JSON
    /// lines, flat CSV), FOCUS (CSV, Parquet), OCI, and inference metrics.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// How to print the per-file report.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    report: ReportFormat,
    /// Also write every normalized record as JSON lines to this file (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    records: Option<PathBuf>,
    /// Billing currency (ISO code) of files that have no currency column, such as reduced
    /// Azure exports. Without it CUR and Azure files with no currency column are refused
    /// rather than guessed, and FOCUS files with no BillingCurrency keep their amounts
    /// apart as XXX (ISO 4217's "no currency").
    #[arg(long, value_name = "CODE", value_parser = super::currency_code)]
    currency: Option<String>,
    /// Exit with status 1 when any row is rejected, not only when a file is unreadable.
    #[arg(long)]
    strict: bool,
    /// Only read and report; store nothing.
    #[arg(long)]
    dry_run: bool,
    /// Timely worker threads for the pipeline.
    #[arg(value_parser = super::at_least_one, long, default_value_t = 1, value_name = "N")]
    workers: usize,
    /// Rejected rows to print per file in the table report.
    #[arg(long, default_value_t = 20, value_name = "N")]
    show_errors: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ReportFormat {
    Table,
    Json,
}

/// Counts totals per provider and currency, prepares the pipeline's parts, and writes
/// records when asked to.
pub(crate) struct Tally {
    /// Billed and effective per provider and currency, in the pipeline's exact units
    /// (summing `Decimal`s of 28 places rescales on every addition).
    totals: Vec<(Provider, String, i128, i128)>,
    metrics: u64,
    /// Samples of the file being read, handed to the pipeline after each file.
    samples: Vec<MetricSample>,
    writer: Option<Box<dyn Write>>,
    write_error: Option<std::io::Error>,
    /// With `--records`: the cost records of the folder being read, held until its
    /// delivery is stored (then written out) or refused (then dropped), so the records
    /// output never holds what the store does not. A file on disk, since a folder can
    /// give millions of records.
    spool: Option<Spool>,
    /// The delivery being read (one per folder of files): the files read whole so far.
    preparer: Preparer,
    /// The file being read, kept apart until it is read to its end.
    file: Preparer,
    /// `totals` and `metrics` before the file being read, to go back to if it fails.
    before_file: (Vec<(Provider, String, i128, i128)>, u64),
    /// `totals` before the folder being read: what its records add is moved to
    /// `not_stored` if its delivery is not stored.
    before_folder: Vec<(Provider, String, i128, i128)>,
    /// Billed and effective of the cost records read whole from folders whose delivery
    /// was not stored (held back by a failed file, or older than the stored one).
    not_stored: Vec<(Provider, String, i128, i128)>,
}

/// What a file that failed had given before it failed (now left out).
struct LeftOut {
    records: u64,
    /// Some of it restated a whole period.
    restates: bool,
    /// It gave nothing at all (no records, no metric samples): what it holds, and so
    /// whether it restates a period, is unknown.
    nothing: bool,
}

/// Adds `b` and `e` to the entry of `provider` and `currency` in `totals`.
fn add_to(
    totals: &mut Vec<(Provider, String, i128, i128)>,
    provider: Provider,
    currency: &str,
    b: i128,
    e: i128,
) {
    match totals
        .iter_mut()
        .find(|t| t.0 == provider && t.1 == currency)
    {
        Some(t) => {
            t.2 += b;
            t.3 += e;
        }
        None => totals.push((provider, currency.to_string(), b, e)),
    }
}

/// Totals by provider and currency, as exact decimals, sorted.
fn sorted(
    totals: &[(Provider, String, i128, i128)],
) -> Vec<(&'static str, String, Decimal, Decimal)> {
    let mut v: Vec<_> = totals
        .iter()
        .map(|(p, c, b, e)| (p.code(), c.clone(), from_units(*b), from_units(*e)))
        .collect();
    v.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    v
}

impl Tally {
    /// Totals of the folders stored (or, in a dry run, that would be), by provider and
    /// currency, as exact decimals.
    fn sorted_totals(&self) -> Vec<(&'static str, String, Decimal, Decimal)> {
        sorted(&self.totals)
    }

    /// Totals of the folders read whole but not stored.
    fn sorted_not_stored(&self) -> Vec<(&'static str, String, Decimal, Decimal)> {
        sorted(&self.not_stored)
    }

    pub(crate) fn new(writer: Option<Box<dyn Write>>) -> Tally {
        Tally {
            totals: Vec::new(),
            metrics: 0,
            samples: Vec::new(),
            spool: writer.as_ref().map(|_| Spool::default()),
            writer,
            write_error: None,
            preparer: Preparer::default(),
            file: Preparer::default(),
            before_file: (Vec::new(), 0),
            before_folder: Vec::new(),
            not_stored: Vec::new(),
        }
    }

    /// Starts reading a file: what it gives is kept apart until `keep_file` or `drop_file`.
    fn start_file(&mut self) {
        self.file = Preparer::default();
        self.before_file = (self.totals.clone(), self.metrics);
        if let Some(spool) = self.spool.as_mut() {
            spool.file_start = spool.len;
        }
    }

    /// The file was read to its end: its records join the folder's delivery, and its
    /// metric samples (stored file by file, whatever becomes of the folder) go out with
    /// `--records`.
    fn keep_file(&mut self) {
        self.preparer.absorb(std::mem::take(&mut self.file));
        if self.writer.is_some() {
            let samples = std::mem::take(&mut self.samples);
            for sample in &samples {
                self.write_out(sample);
            }
            self.samples = samples;
        }
    }

    /// The file failed: everything it gave is left out, its `--records` lines too, as if
    /// it had not been read.
    fn drop_file(&mut self) -> LeftOut {
        let file = std::mem::take(&mut self.file);
        let nothing = file.records() == 0 && self.samples.is_empty();
        (self.totals, self.metrics) = std::mem::take(&mut self.before_file);
        self.samples.clear();
        if let Some(spool) = self.spool.as_mut() {
            let to = spool.file_start;
            if let Err(e) = spool.truncate(to) {
                self.write_error.get_or_insert(e);
            }
        }
        LeftOut {
            records: file.records(),
            restates: file.restates(),
            nothing,
        }
    }

    /// Ends the folder being read: with `stored`, its delivery was stored (or, in a dry
    /// run, would be) and its records are written out; otherwise they are dropped.
    fn end_folder(&mut self, stored: bool) {
        if !stored {
            // What this folder added moves to the totals of what was not stored.
            let before = std::mem::take(&mut self.before_folder);
            for (p, c, b, e) in std::mem::replace(&mut self.totals, before.clone()) {
                let (b0, e0) = before
                    .iter()
                    .find(|t| t.0 == p && t.1 == c)
                    .map_or((0, 0), |t| (t.2, t.3));
                if (b, e) != (b0, e0) {
                    add_to(&mut self.not_stored, p, &c, b - b0, e - e0);
                }
            }
        }
        self.before_folder = self.totals.clone();
        let Some(spool) = self.spool.as_mut() else {
            return;
        };
        let result = match (stored, self.writer.as_mut()) {
            (true, Some(w)) => spool.drain_into(w),
            _ => spool.truncate(0),
        };
        if let Err(e) = result {
            self.write_error.get_or_insert(e);
        }
    }

    /// Writes one JSON line to the spool (cost records, which wait for their delivery).
    fn write<T: serde::Serialize>(&mut self, value: &T) {
        if self.write_error.is_some() {
            return;
        }
        if let Some(spool) = self.spool.as_mut()
            && let Err(e) = spool.write_line(value)
        {
            self.write_error = Some(e);
        }
    }

    /// Writes one JSON line straight to the `--records` output.
    fn write_out<T: serde::Serialize>(&mut self, value: &T) {
        if self.write_error.is_some() {
            return;
        }
        if let Some(w) = self.writer.as_mut() {
            let result = serde_json::to_writer(&mut *w, value)
                .map_err(std::io::Error::other)
                .and_then(|()| w.write_all(b"\n"));
            if let Err(e) = result {
                self.write_error = Some(e);
            }
        }
    }
}

/// JSON lines held in an unnamed temporary file until their folder's fate is known.
#[derive(Default)]
struct Spool {
    file: Option<BufWriter<File>>,
    /// Bytes written so far.
    len: u64,
    /// `len` when the file being read started.
    file_start: u64,
}

impl Spool {
    fn write_line<T: serde::Serialize>(&mut self, value: &T) -> std::io::Result<()> {
        let w = match self.file.as_mut() {
            Some(w) => w,
            None => self.file.insert(BufWriter::new(tempfile::tempfile()?)),
        };
        let mut line = serde_json::to_vec(value).map_err(std::io::Error::other)?;
        line.push(b'\n');
        w.write_all(&line)?;
        self.len += line.len() as u64;
        Ok(())
    }

    /// Forgets everything past the first `len` bytes.
    fn truncate(&mut self, len: u64) -> std::io::Result<()> {
        use std::io::{Seek, SeekFrom};
        if let Some(w) = self.file.as_mut()
            && len < self.len
        {
            w.flush()?;
            w.get_mut().set_len(len)?;
            w.get_mut().seek(SeekFrom::Start(len))?;
        }
        self.len = self.len.min(len);
        self.file_start = self.file_start.min(len);
        Ok(())
    }

    /// Copies everything held to `out` and empties the spool.
    fn drain_into(&mut self, out: &mut dyn Write) -> std::io::Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        if let Some(w) = self.file.as_mut()
            && self.len > 0
        {
            w.flush()?;
            let f = w.get_mut();
            f.seek(SeekFrom::Start(0))?;
            std::io::copy(&mut (&mut *f).take(self.len), out)?;
        }
        self.truncate(0)
    }
}

impl Emit for Tally {
    fn cost(&mut self, record: CostRecord) {
        let (b, e) = (
            to_units(record.billed_cost),
            to_units(record.effective_cost),
        );
        // Out of range only past 1.7e23; the pipeline rejects such a record too.
        add_to(
            &mut self.totals,
            record.provider,
            &record.billing_currency,
            b.unwrap_or_default(),
            e.unwrap_or_default(),
        );
        self.file.add(&record);
        self.write(&record);
    }

    fn metric(&mut self, sample: MetricSample) {
        self.metrics += 1;
        self.samples.push(sample);
    }
}

pub fn run(
    args: IngestArgs,
    data_dir: &Path,
    config: &burnrate::config::Config,
) -> Result<std::process::ExitCode> {
    let s3 = super::remote::resolve(&args.paths, data_dir)?;
    let mut expanded = expand_paths(&s3.paths).context("listing the inputs")?;
    // A folder with nothing to read may be the wrong folder: say so rather than print a
    // bare header. It is no failure (a drop folder can be empty; reading one just opens
    // an existing store, replaying its log, and creates none).
    for dir in s3.paths.iter().filter(|p| p.is_dir()) {
        if !expanded.files.iter().any(|f| f.starts_with(dir)) {
            expanded.notes.push(format!(
                "{} holds no files to read (hidden files and burnrate data directories are \
                 left out)",
                dir.display()
            ));
        }
    }
    for note in &expanded.notes {
        eprintln!("note: {note}");
    }
    let writer: Option<Box<dyn Write>> = match &args.records {
        None => None,
        Some(p) if p.as_os_str() == "-" => Some(Box::new(BufWriter::new(std::io::stdout()))),
        Some(p) => Some(Box::new(BufWriter::new(
            File::create(p).with_context(|| format!("creating {}", p.display()))?,
        ))),
    };
    let mut tally = Tally::new(writer);
    // With nothing to read there is nothing to store: a store is not created for it (an
    // existing one is still opened, which replays its log).
    let no_store = !data_dir.join(burnrate_sink::embedded::FILE_NAME).exists();
    let nothing_to_read = expanded.files.is_empty();
    if nothing_to_read && no_store && !args.dry_run {
        eprintln!(
            "note: nothing to read, so no store was created in {}",
            data_dir.display()
        );
    }
    let mut engine = if args.dry_run || (nothing_to_read && no_store) {
        None
    } else {
        Some(
            Engine::start_with(data_dir, args.workers, config.recommendations.clone())
                .with_context(|| format!("opening the data directory {}", data_dir.display()))?,
        )
    };

    let total_bytes: u64 = expanded
        .files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let counter = Arc::new(AtomicU64::new(0));
    let progress = Progress::start(total_bytes, counter.clone());
    let opts = Options {
        progress: Some(counter),
        default_currency: args.currency,
        ..Options::default()
    };

    let Outcome {
        reports,
        mut failures,
        stored,
        ..
    } = ingest_files(engine.as_mut(), &expanded.files, &opts, &mut tally, &|| {
        false
    })?;
    failures.extend(expanded.unreadable.iter().cloned());
    failures.extend(s3.failures);
    progress.finish();
    if let Some(engine) = engine.take() {
        engine.close()?;
    }
    if let Some(w) = tally.writer.as_mut() {
        w.flush().context("writing records")?;
    }
    if let Some(e) = tally.write_error.take() {
        return Err(e).context("writing records");
    }

    let rejected: u64 = reports.iter().map(|r| r.rejected_count).sum();
    match args.report {
        ReportFormat::Json => {
            let doc = serde_json::json!({
                "files": reports,
                "failed_files": failures,
                "notes": expanded.notes,
                "totals": totals_json(&tally.sorted_totals()),
                "totals_not_stored": totals_json(&tally.sorted_not_stored()),
                "metric_samples": tally.metrics,
                "stored": stored,
            });
            let out = if args
                .records
                .as_deref()
                .is_some_and(|p| p.as_os_str() == "-")
            {
                Box::new(std::io::stderr()) as Box<dyn Write>
            } else {
                Box::new(std::io::stdout())
            };
            let mut out = out;
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        ReportFormat::Table => {
            let to_stderr = args
                .records
                .as_deref()
                .is_some_and(|p| p.as_os_str() == "-");
            print_table(
                &reports,
                &failures,
                &tally,
                args.show_errors,
                to_stderr,
                args.dry_run,
            )
        }
    }
    if !stored.is_empty() {
        eprintln!("store: {}", data_dir.display());
    }
    let failed = !failures.is_empty() || (args.strict && rejected > 0);
    Ok(if failed {
        std::process::ExitCode::from(1)
    } else {
        std::process::ExitCode::SUCCESS
    })
}

/// Totals as the JSON report's list of `{provider, currency, billed_cost, effective_cost}`.
fn totals_json(totals: &[(&'static str, String, Decimal, Decimal)]) -> Vec<serde_json::Value> {
    totals
        .iter()
        .map(|(p, c, b, e)| {
            serde_json::json!({
                "provider": p, "currency": c, "billed_cost": b, "effective_cost": e,
            })
        })
        .collect()
}

fn print_table(
    reports: &[FileReport],
    failures: &[String],
    tally: &Tally,
    show: usize,
    to_stderr: bool,
    dry_run: bool,
) {
    // The report goes to stderr when records go to stdout, so the two never mix.
    let mut out: Box<dyn Write> = if to_stderr {
        Box::new(std::io::stderr())
    } else {
        Box::new(std::io::stdout())
    };
    // With no file read there is nothing to head (the notes on stderr say why).
    if !reports.is_empty() {
        let _ = writeln!(
            out,
            "{:<48} {:<34} {:>9} {:>9} {:>8} {:>8}",
            "file", "format", "rows", "records", "skipped", "rejected"
        );
    }
    for r in reports {
        let skipped: u64 = r.skipped.values().sum();
        let _ = writeln!(
            out,
            "{:<48} {:<34} {:>9} {:>9} {:>8} {:>8}",
            shorten(&r.file, 48),
            shorten(&r.format, 34),
            r.rows_read,
            r.cost_records + r.metric_samples,
            skipped,
            r.rejected_count
        );
        for (why, n) in &r.skipped {
            let _ = writeln!(out, "    skipped {n}: {why}");
        }
        for e in r.rejected.iter().take(show) {
            let _ = writeln!(out, "    rejected: {e}");
        }
        if r.rejected_count as usize > show.min(r.rejected.len()) {
            let _ = writeln!(
                out,
                "    ... {} more rejected rows (use --report json to see up to {})",
                r.rejected_count as usize - show.min(r.rejected.len()),
                burnrate_ingest::report::KEPT_REJECTIONS
            );
        }
    }
    for f in failures {
        let _ = writeln!(out, "FAILED {f}");
    }
    // Sums of what was read, apart for the folders stored and those not stored. What
    // the store holds can differ still: a restated period replaces its earlier delivery,
    // and an Azure period read as both exports counts billed from the actual one and
    // effective from the amortized one.
    let (stored_label, not_stored_label) = if dry_run {
        (
            "would be stored (a dry run: nothing was stored)",
            "read but would NOT be stored (see FAILED above)",
        )
    } else {
        (
            "stored by this ingest (the folders stored, or found already stored)",
            "read but NOT stored (folders held back, see FAILED above)",
        )
    };
    let table = |out: &mut dyn Write, label: &str, totals| {
        let _ = writeln!(
            out,
            "\n{label}:\n{:<8} {:<8} {:>22} {:>22}",
            "provider", "currency", "billed", "effective"
        );
        for (p, c, b, e) in totals {
            let _ = writeln!(out, "{p:<8} {c:<8} {b:>22} {e:>22}");
        }
    };
    if !tally.totals.is_empty() {
        table(&mut *out, stored_label, tally.sorted_totals());
        let _ = writeln!(
            out,
            "(sums of the records read: a restated period replaces what was stored before \
             it, and Azure actual and amortized views are paired; `burnrate summary` shows \
             what the store holds)"
        );
    }
    if !tally.not_stored.is_empty() {
        table(&mut *out, not_stored_label, tally.sorted_not_stored());
    }
    if tally.metrics > 0 {
        let _ = writeln!(out, "\nmetric samples: {}", tally.metrics);
    }
}

/// What one round of reading and storing produced.
pub(crate) struct Outcome {
    pub reports: Vec<FileReport>,
    /// Files that could not be read, and records that could not be stored.
    pub failures: Vec<String>,
    /// One line per stored delivery (each also printed to stderr as it is committed, so
    /// an interrupted run shows what it stored).
    pub stored: Vec<String>,
    /// Whether it stopped early, at a stop request, leaving later folders unread.
    pub stopped: bool,
}

/// Reads `files` and, with an engine, stores each folder of them as one delivery (the
/// parts of a CUR assembly or of an Azure export run are logged and take effect together).
/// `stop` is asked before each folder: once it says yes, the folders not begun are left
/// unread (each folder is delivered whole or not at all).
pub(crate) fn ingest_files(
    mut engine: Option<&mut Engine>,
    files: &[PathBuf],
    opts: &Options,
    tally: &mut Tally,
    stop: &dyn Fn() -> bool,
) -> Result<Outcome> {
    let mut out = Outcome {
        reports: Vec::new(),
        failures: Vec::new(),
        stored: Vec::new(),
        stopped: false,
    };
    for (folder, files) in by_folder(files) {
        if stop() {
            out.stopped = true;
            break;
        }
        let mut read = Vec::new();
        // The fingerprints of the additive files in this folder's delivery.
        let mut fingerprints: Vec<(String, Fingerprint)> = Vec::new();
        // The files of this folder that failed, in the order read: `true` for one that
        // failed after giving records of a restated period, `false` for one that failed
        // before giving anything (cut short before its first row, a Parquet file without
        // its footer), which may hold a part of a period the other files restate.
        let mut held_back: Vec<(String, bool)> = Vec::new();
        // The fingerprints of the restating files (CUR, Azure) read so far in this folder.
        let mut restating: Vec<(PathBuf, Fingerprint)> = Vec::new();
        for file in files.iter().copied() {
            tally.start_file();
            match ingest_path(file, opts, tally) {
                Ok(report) => {
                    let checked = match check_copy_in_delivery(file, tally, &mut restating) {
                        Ok(()) => {
                            check_copy(engine.as_deref(), file, tally, &fingerprints, &files)?
                        }
                        Err(why) => Err(why),
                    };
                    match checked {
                        Ok(mine) => {
                            fingerprints.extend(mine);
                            tally.keep_file();
                            read.push(report.file.clone());
                            out.reports.push(report);
                        }
                        Err(why) => {
                            let left = tally.drop_file();
                            out.failures.push(format!(
                                "{}: not stored ({} records): {why}",
                                file.display(),
                                left.records
                            ));
                        }
                    }
                }
                Err(e) => {
                    let left = tally.drop_file();
                    let mut line = e.to_string();
                    if left.records > 0 {
                        line += &format!(" ({} records read before it are left out)", left.records);
                    }
                    // A file of no known format is not data: an Azure run's manifest.json,
                    // or an empty file (a `_SUCCESS` marker). An empty file holds no part
                    // of the period, whether or not it will be written later: so far it is
                    // no more than a file not there yet, which nothing here can see either
                    // (`run` waits for a folder's files to settle; a CUR manifest lists its
                    // files).
                    let not_data = matches!(e, IngestError::UnknownFormat { .. });
                    if left.restates {
                        held_back.push((file.display().to_string(), true));
                    } else if left.nothing && !not_data {
                        held_back.push((file.display().to_string(), false));
                    }
                    out.failures.push(line);
                }
            }
            let samples = std::mem::take(&mut tally.samples);
            if let Some(engine) = engine.as_deref_mut()
                && !samples.is_empty()
            {
                let m = engine
                    .push_metrics(&samples)
                    .with_context(|| format!("storing the metrics of {}", file.display()))?;
                let count = |what: &str| {
                    m.refused
                        .iter()
                        .filter(|(_, why)| why.contains(what))
                        .count()
                };
                let (old, future) = (count("older than"), count("in the future"));
                let mut line = format!(
                    "metrics from {}: {} samples counted",
                    file.display(),
                    m.accepted
                );
                let duplicates = m.refused.len() - old - future;
                if duplicates > 0 {
                    line += &format!(", {duplicates} already counted");
                }
                if old > 0 {
                    line += &format!(", {old} older than the lookback");
                }
                if future > 0 {
                    line += &format!(", {future} dated in the future");
                }
                if m.recommendation_events > 0 {
                    line += &format!(", {} recommendation changes", m.recommendation_events);
                }
                eprintln!("stored {line}");
                out.stored.push(line);
            }
        }
        let preparer = std::mem::take(&mut tally.preparer);
        // A file that gave nothing holds the delivery back only when the rest restates.
        let restates = preparer.restates();
        let held_back: Vec<String> = held_back
            .into_iter()
            .filter(|(_, gave_restated)| *gave_restated || restates)
            .map(|(file, _)| file)
            .collect();
        if !held_back.is_empty() && preparer.records() > 0 {
            // The period's delivery would lack what the failed files hold and replace the
            // whole period with the rest: keep the previous delivery instead.
            let (failed, them) = match held_back.as_slice() {
                [one] => (format!("{one} in it failed"), "the file"),
                many => (
                    format!("{} files in it failed: {}", many.len(), name_files(many)),
                    "the files",
                ),
            };
            out.failures.push(format!(
                "the delivery from {} is not stored: {failed} (see above), and the files of \
                 a folder are one delivery, which replaces its whole billing period; the \
                 period keeps what was stored before (fix or remove {them}, or move \
                 unrelated files to a folder of their own, and read the folder again)",
                folder.display()
            ));
            tally.end_folder(false);
            continue;
        }
        let (records, prepared) = (preparer.records(), preparer.finish());
        for (row, reason) in &prepared.rejected {
            out.failures.push(format!("{row}: not stored: {reason}"));
        }
        // A folder of metrics files only is no billing delivery. (An empty billing
        // delivery cannot restate a period to zero either: its scope is only known from
        // its records.)
        if let Some(engine) = engine.as_deref_mut()
            && records > 0
        {
            if engine
                .is_unchanged(&prepared, &fingerprints)
                .context("comparing the delivery with the store")?
            {
                eprintln!(
                    "unchanged: the delivery from {} ({records} records) equals what is \
                     stored; nothing to store",
                    folder.display()
                );
                tally.end_folder(true);
                continue;
            }
            if let Some(newest) = newest_modified(&files)
                && let Some((file, at)) = engine.newer_stored_delivery(&prepared, newest, &read)
            {
                out.failures.push(format!(
                    "the delivery from {} is not stored: its newest file was modified at {}, \
                     before {file} (modified at {}), which gave the stored delivery of the \
                     same billing period; an older delivery does not replace a newer one",
                    folder.display(),
                    rfc3339(newest),
                    rfc3339(at),
                ));
                tally.end_folder(false);
                continue;
            }
            let (seq, rows) = engine
                .deliver_with(read, records, prepared, &fingerprints)
                .with_context(|| format!("storing the delivery from {}", folder.display()))?;
            let shown = if folder.as_os_str().is_empty() {
                Path::new(".")
            } else {
                folder.as_path()
            };
            let mut line = format!(
                "delivery {seq} from {}: {records} records, {rows} rollup rows changed",
                shown.display()
            );
            let events = engine.last_recommendation_events();
            if events > 0 {
                line += &format!(", {events} recommendation changes");
            }
            eprintln!("stored {line}");
            out.stored.push(line);
        }
        tally.end_folder(true);
    }
    Ok(out)
}

/// Files named in a sentence: all of them up to five (`a, b and c`), else the first four
/// and how many more.
fn name_files(files: &[String]) -> String {
    const SHOWN: usize = 5;
    let (named, more) = if files.len() > SHOWN {
        (&files[..SHOWN - 1], Some(files.len() - (SHOWN - 1)))
    } else {
        (files, None)
    };
    match (named, more) {
        ([], _) => String::new(),
        (named, Some(more)) => format!("{} and {more} more", named.join(", ")),
        ([one], None) => one.clone(),
        ([init @ .., last], None) => format!("{} and {last}", init.join(", ")),
    }
}

/// For an additive file just read (GCP export, FOCUS, OCI; see "Deliveries and
/// restatements" in the README): its fingerprint (SHA-256 of its bytes) for each additive
/// source it gives, or, as the inner error, why it must not be delivered: the same bytes
/// are already stored, or read earlier in this delivery, under another path, and as
/// additive files add to each other, the copy would count the same costs twice. The
/// same path again is a re-read, which replaces what it gave. A stored fingerprint whose
/// file is one of this delivery's (`folder_files`) and holds other bytes now does not
/// count: that file is re-read in this delivery with its new content, before or after
/// this one, so the stored content is stored nowhere once the delivery is in (whatever
/// the order the files are read in). Without an engine (a dry run) or for restating
/// files, nothing is checked.
fn check_copy(
    engine: Option<&Engine>,
    file: &Path,
    tally: &Tally,
    pending: &[(String, Fingerprint)],
    folder_files: &[&PathBuf],
) -> Result<std::result::Result<Vec<(String, Fingerprint)>, String>> {
    let sources = tally.file.additive_sources();
    let Some(engine) = engine else {
        return Ok(Ok(Vec::new()));
    };
    if sources.is_empty() {
        return Ok(Ok(Vec::new()));
    }
    let fp = match sha256_file(file) {
        Ok(fp) => fp,
        Err(e) => return Ok(Err(format!("cannot read it again to fingerprint it: {e}"))),
    };
    for source in &sources {
        let earlier = pending.iter().find(|(_, f)| *f == fp).map(|(s, _)| s);
        if let Some(other) = earlier
            && other != source
        {
            return Ok(Err(format!(
                "its content is identical to {other}, read just before it; a copy of an \
                 additive file under another name would count its costs twice"
            )));
        }
        // A stored file of this delivery that now holds other bytes no longer stores these
        // once the delivery is stored, whichever of the two is read first.
        if let Some(other) = engine
            .additive_source_with(&fp)
            .with_context(|| format!("looking up the fingerprint of {}", file.display()))?
            && other != *source
            && !rewritten_in_delivery(&other, &fp, folder_files)
        {
            return Ok(Err(format!(
                "its content is identical to {other}, already stored; a copy of an additive \
                 file under another name would count its costs twice (re-read {other} \
                 itself to replace it)"
            )));
        }
    }
    Ok(Ok(sources.into_iter().map(|s| (s, fp)).collect()))
}

/// For a file just read that restates a period (a CUR or Azure export part): why it must
/// not be delivered when its bytes equal those of a file read earlier in the same folder.
/// The parts of one delivery add up, so a copy of a part under another name (a browser's
/// `part_0_0001 (1).csv`, a `.bak` beside it) would count its costs twice; no two real
/// parts of an export are byte for byte the same. Without restating records (an additive
/// or a metrics file, checked elsewhere) nothing is checked.
fn check_copy_in_delivery(
    file: &Path,
    tally: &Tally,
    seen: &mut Vec<(PathBuf, Fingerprint)>,
) -> std::result::Result<(), String> {
    if !tally.file.restates() {
        return Ok(());
    }
    let fp =
        sha256_file(file).map_err(|e| format!("cannot read it again to fingerprint it: {e}"))?;
    if let Some((other, _)) = seen.iter().find(|(_, f)| *f == fp) {
        return Err(format!(
            "its content is identical to {}, read just before it in the same delivery; \
             a copy of a part under another name would count its costs twice",
            other.display()
        ));
    }
    seen.push((file.to_path_buf(), fp));
    Ok(())
}

/// Whether `source` (a stored additive file, by canonical path) is one of `folder_files`
/// and now holds bytes other than `fp`: re-read in the same delivery, it stops storing
/// the content `fp` names.
fn rewritten_in_delivery(source: &str, fp: &Fingerprint, folder_files: &[&PathBuf]) -> bool {
    folder_files.iter().any(|f| {
        std::fs::canonicalize(f).is_ok_and(|c| c.display().to_string() == source)
            && sha256_file(f).is_ok_and(|now| now != *fp)
    })
}

/// The SHA-256 of a file's bytes.
fn sha256_file(path: &Path) -> std::io::Result<Fingerprint> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut f = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().into())
}

fn rfc3339(t: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The latest modification time of `files` (those that can be read).
fn newest_modified(files: &[&PathBuf]) -> Option<std::time::SystemTime> {
    files
        .iter()
        .filter_map(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok())
        .max()
}

/// Files grouped by the folder they are in (one delivery each), oldest folder first: of
/// two deliveries of one period in one run, the newer (by its files' modification times)
/// must come last, since the later delivery replaces the earlier. Folders whose times
/// tie keep the order the paths were given in.
fn by_folder(files: &[PathBuf]) -> Vec<(PathBuf, Vec<&PathBuf>)> {
    let mut groups: Vec<(PathBuf, Vec<&PathBuf>)> = Vec::new();
    for f in files {
        let folder = f.parent().map(Path::to_path_buf).unwrap_or_default();
        match groups.iter_mut().find(|(d, _)| *d == folder) {
            Some((_, v)) => v.push(f),
            None => groups.push((folder, vec![f])),
        }
    }
    let newest = |files: &[&PathBuf]| {
        files
            .iter()
            .filter_map(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok())
            .max()
    };
    groups.sort_by_cached_key(|(_, files)| newest(files));
    groups
}

fn shorten(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        s.to_string()
    } else {
        let tail: String = s.chars().skip(n - (width - 1)).collect();
        format!("…{tail}")
    }
}

/// A byte-based progress bar on stderr for large inputs, fed from the reader's counter.
struct Progress {
    bar: Option<ProgressBar>,
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    fn start(total: u64, counter: Arc<AtomicU64>) -> Progress {
        let done = Arc::new(AtomicBool::new(false));
        if total < PROGRESS_MIN_BYTES {
            return Progress {
                bar: None,
                done,
                thread: None,
            };
        }
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let (b, d) = (bar.clone(), done.clone());
        let thread = std::thread::spawn(move || {
            while !d.load(Ordering::Relaxed) {
                b.set_position(counter.load(Ordering::Relaxed));
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Progress {
            bar: Some(bar),
            done,
            thread: Some(thread),
        }
    }

    fn finish(mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[test]
    fn failed_files_are_all_named_up_to_five() {
        let files: Vec<String> = (1..=7).map(|i| format!("p{i}.csv")).collect();
        assert_eq!(name_files(&files[..1]), "p1.csv");
        assert_eq!(name_files(&files[..2]), "p1.csv and p2.csv");
        assert_eq!(
            name_files(&files[..5]),
            "p1.csv, p2.csv, p3.csv, p4.csv and p5.csv"
        );
        assert_eq!(
            name_files(&files[..6]),
            "p1.csv, p2.csv, p3.csv, p4.csv and 2 more"
        );
        assert_eq!(
            name_files(&files),
            "p1.csv, p2.csv, p3.csv, p4.csv and 3 more"
        );
    }

    /// A stop request between folders leaves the later folders unread, and what was
    /// delivered before it stays stored once the store is closed.
    #[test]
    fn a_stop_request_is_heeded_between_folders() {
        let work = tempfile::tempdir().expect("tempdir");
        let input = work.path().join("in");
        let mut files = Vec::new();
        // Three folders (three deliveries), one Azure row each, on days 5, 6 and 7.
        for (i, day) in ["05", "06", "07"].iter().enumerate() {
            let dir = input.join(format!("run{i}"));
            std::fs::create_dir_all(&dir).expect("mkdir");
            let file = dir.join("cost.csv");
            std::fs::write(
                &file,
                format!(
                    "SubscriptionId,Date,MeterCategory,CostInBillingCurrency,BillingCurrency\n\
                     sub-1,2024-03-{day},Virtual Machines,1.25,USD\n"
                ),
            )
            .expect("write");
            files.push(file);
        }
        let data_dir = work.path().join("store");
        let mut engine = Engine::start(&data_dir, 1).expect("engine");
        // Asked before each folder: "no" before the first, "yes" before the second.
        let asked = Cell::new(0);
        let stop = || {
            asked.set(asked.get() + 1);
            asked.get() > 1
        };
        let mut tally = Tally::new(None);
        let out = ingest_files(
            Some(&mut engine),
            &files,
            &Options::default(),
            &mut tally,
            &stop,
        )
        .expect("ingest");
        engine.close().expect("close");
        assert!(out.stopped);
        assert_eq!(asked.get(), 2);
        assert_eq!(out.reports.len(), 1);
        assert_eq!(out.stored.len(), 1, "{:?}", out.stored);

        let store = burnrate_sink::EmbeddedStore::open_read_only(&data_dir).expect("store");
        let rows = store.daily_cost(|_| true).expect("rows");
        let days: Vec<String> = rows.iter().map(|r| r.key.day.to_string()).collect();
        assert_eq!(days, ["2024-03-05"]);
        assert_eq!(rows[0].totals.billed_cost, Decimal::new(125, 2));
    }
}
