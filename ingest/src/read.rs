//! The driver: open a file, unwrap gzip, detect the format, run the source's reader, and
//! account for every row in the file's report.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use csv::StringRecord;
use flate2::read::MultiGzDecoder;

use crate::detect::{self, Container, Format};
use crate::error::{IngestError, RowError};
use crate::parquet_table::ParquetTable;
use crate::report::{Emit, FileReport, Out};
use crate::table::{CsvTable, Row, Table};
use crate::{Normalizer, aws_cur, azure_cost, focus, gcp_billing, metrics, oci_cost};

/// Bytes examined for format detection (a CUR header with many tag columns is long).
const SNIFF_BYTES: u64 = 256 * 1024;

/// Settings of one ingest run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Incremented with the bytes read from disk (compressed bytes for `.gz`), for a
    /// progress bar the caller draws.
    pub progress: Option<Arc<AtomicU64>>,
    /// The delivery identity to stamp on every record (`x_Source`) instead of the file
    /// name; a CUR manifest sets it to its assembly for the files it lists.
    pub source: Option<String>,
    /// The billing currency of files that do not state one (some Azure exports omit the
    /// column). Without it such files are refused rather than guessed.
    pub default_currency: Option<String>,
}

/// What a reader knows about the file it reads.
#[derive(Debug, Clone)]
pub struct FileCtx {
    pub path: PathBuf,
    /// The file as shown in reports and in `x_RowRef`.
    pub file: String,
    /// The delivery identity written to `x_Source`. Sources with a better one (a CUR
    /// assembly id) override it.
    pub source: String,
    pub container: Container,
    /// See `Options::default_currency`.
    pub default_currency: Option<String>,
    /// Whether `source` came from the caller (a manifest's assembly) rather than the path.
    pub source_given: bool,
}

/// The absolute path with links resolved; the path as given if that fails (a file that
/// vanished between listing and reading fails to open anyway).
fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

impl FileCtx {
    /// The file's delivery identity is its canonical path (or the caller's identity), so
    /// `input/x.csv` and `/abs/input/x.csv` are one delivery and a re-read replaces itself.
    pub fn new(path: &Path, container: Container, opts: &Options) -> FileCtx {
        let file = path.display().to_string();
        let source = match &opts.source {
            Some(s) => s.clone(),
            None => canonical(path).display().to_string(),
        };
        FileCtx {
            path: path.to_path_buf(),
            source,
            file,
            container,
            default_currency: opts.default_currency.clone(),
            source_given: opts.source.is_some(),
        }
    }

    /// The delivery identity of a source whose deliveries are folders of files (a CUR
    /// assembly, an Azure export run): the identity given by the caller (a manifest's
    /// assembly), else the folder the file is in. Several part files of one delivery then
    /// share it, and a delivery in a newer folder replaces the older one.
    pub fn delivery_folder(&self) -> String {
        if self.source_given {
            return self.source.clone();
        }
        let path = canonical(&self.path);
        match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.display().to_string(),
            _ => ".".to_string(),
        }
    }

    /// Fails with `MissingColumns` unless the header has every `(key, name)` column; the
    /// error lists the names as the format writes them.
    pub fn require_columns(
        &self,
        header: &crate::table::Header,
        format: Format,
        required: &[(&str, &str)],
    ) -> Result<(), IngestError> {
        let missing: Vec<&str> = required
            .iter()
            .filter(|(key, _)| !header.has(key))
            .map(|(_, name)| *name)
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(IngestError::MissingColumns {
            path: self.path.clone(),
            format: format.to_string(),
            missing: missing.join(", "),
        })
    }

    /// A reference to one data row of this file.
    pub fn row_ref(&self, row: u64) -> burnrate_schemas::RowRef {
        burnrate_schemas::RowRef {
            file: self.file.clone(),
            row,
        }
    }
}

struct Counting<R> {
    inner: R,
    counter: Option<Arc<AtomicU64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(c) = &self.counter {
            c.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> IngestError + '_ {
    move |source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads one file of any supported format, streaming its records into `emit`.
pub fn ingest_path(
    path: &Path,
    opts: &Options,
    emit: &mut dyn Emit,
) -> Result<FileReport, IngestError> {
    let mut file = File::open(path).map_err(io_error(path))?;
    let mut magic = [0u8; 4];
    let got = read_up_to(&mut file, &mut magic).map_err(io_error(path))?;
    let magic = &magic[..got];
    if magic == b"PAR1" {
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let header = ParquetTable::header_of(file.try_clone().map_err(io_error(path))?)
            .map_err(|reason| unreadable(path, reason))?;
        let format = detect::sniff_table(&header).ok_or_else(|| IngestError::UnknownFormat {
            path: path.to_path_buf(),
            detail: format!(
                "Parquet columns start {}",
                header
                    .names()
                    .iter()
                    .take(6)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })?;
        let table = ParquetTable::open(file).map_err(|reason| unreadable(path, reason))?;
        let ctx = FileCtx::new(path, Container::Parquet, opts);
        let report = run_format_table(format, Box::new(table), &ctx, emit)?;
        if let Some(c) = &opts.progress {
            c.fetch_add(size, Ordering::Relaxed);
        }
        return Ok(report);
    }
    let counted = Counting {
        inner: Cursor::new(magic.to_vec()).chain(file),
        counter: opts.progress.clone(),
    };
    let (container, mut input): (Container, Box<dyn Read>) = if magic.starts_with(&[0x1f, 0x8b]) {
        (
            Container::Gzip,
            Box::new(MultiGzDecoder::new(BufReader::new(counted))),
        )
    } else {
        (Container::Plain, Box::new(counted))
    };
    let mut prefix = Vec::new();
    (&mut input)
        .take(SNIFF_BYTES)
        .read_to_end(&mut prefix)
        .map_err(io_error(path))?;
    let ctx = FileCtx::new(path, container, opts);
    let input: Box<dyn BufRead> = Box::new(BufReader::with_capacity(
        256 * 1024,
        Cursor::new(prefix.clone()).chain(input),
    ));
    let format = detect_stream(path, &prefix).map_err(|e| cut_in_first_line(e, &prefix))?;
    run_format_stream(format, input, &ctx, opts, emit)
}

/// A file of no known format that is one line with no line end, and not a whole JSON
/// document, is most likely a data file cut short inside its first line (a CSV header, a
/// first JSON line): it is unreadable, not merely of no known format, so that a restated
/// folder holding it is not delivered without it. (`prefix` holds the whole file when it
/// is shorter than the sniffing limit.)
fn cut_in_first_line(e: IngestError, prefix: &[u8]) -> IngestError {
    let IngestError::UnknownFormat { path, detail } = e else {
        return e;
    };
    let whole_file = (prefix.len() as u64) < SNIFF_BYTES;
    let text = String::from_utf8_lossy(prefix);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    let one_line = !text.is_empty() && !text.contains(['\n', '\r']);
    if whole_file && one_line && serde_json::from_str::<serde_json::Value>(text).is_err() {
        return IngestError::Unreadable {
            path,
            reason: format!(
                "the file breaks off in its first line: it is one line with no line end \
                 and of no known format ({detail}); the file was cut short, none of it is \
                 read"
            ),
        };
    }
    IngestError::UnknownFormat { path, detail }
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        let n = file.read(&mut buf[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    Ok(got)
}

fn unreadable(path: &Path, reason: String) -> IngestError {
    IngestError::Unreadable {
        path: path.to_path_buf(),
        reason,
    }
}

/// Decides the format of a text stream from its first bytes.
fn detect_stream(path: &Path, prefix: &[u8]) -> Result<Format, IngestError> {
    let text = String::from_utf8_lossy(prefix);
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.is_empty() {
        return Err(IngestError::UnknownFormat {
            path: path.to_path_buf(),
            detail: "the file is empty".into(),
        });
    }
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        // A whole JSON document, or the first line of JSON lines.
        let whole = serde_json::from_str::<serde_json::Value>(trimmed).ok();
        let first = whole.or_else(|| {
            trimmed
                .lines()
                .next()
                .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        });
        return match first {
            Some(v) => detect::sniff_json(&v).ok_or_else(|| IngestError::UnknownFormat {
                path: path.to_path_buf(),
                detail: format!("JSON with keys {}", json_keys(&v)),
            }),
            None => Err(IngestError::UnknownFormat {
                path: path.to_path_buf(),
                detail: "starts like JSON but its first value does not parse".into(),
            }),
        };
    }
    if detect::looks_like_prometheus(trimmed) {
        return Ok(Format::Prometheus);
    }
    let header = crate::table::sniff_csv_header(prefix);
    header
        .as_ref()
        .and_then(detect::sniff_table)
        .ok_or_else(|| IngestError::UnknownFormat {
            path: path.to_path_buf(),
            detail: detect::describe_text(prefix, header.as_ref()),
        })
}

fn json_keys(v: &serde_json::Value) -> String {
    let obj = match v {
        serde_json::Value::Array(a) => a.first().and_then(|x| x.as_object()),
        other => other.as_object(),
    };
    match obj {
        Some(o) => o.keys().take(8).cloned().collect::<Vec<_>>().join(", "),
        None => "(not an object)".into(),
    }
}

fn run_format_stream(
    format: Format,
    input: Box<dyn BufRead>,
    ctx: &FileCtx,
    opts: &Options,
    emit: &mut dyn Emit,
) -> Result<FileReport, IngestError> {
    let mut report = FileReport::new(&ctx.file);
    report.format = format_label(format, ctx.container);
    match format {
        Format::AwsCurManifest => {
            return aws_cur::read_manifest(input, ctx, opts, emit);
        }
        Format::GcpBillingJsonl => {
            gcp_billing::read_jsonl(input, ctx, &mut Out::new(emit, &mut report))?;
        }
        Format::MetricsJsonl => {
            metrics::read_jsonl(input, ctx, &mut Out::new(emit, &mut report))?;
        }
        Format::Prometheus => {
            metrics::read_prometheus(input, ctx, &mut Out::new(emit, &mut report))?;
        }
        Format::CloudWatchJson => {
            metrics::read_cloudwatch(input, ctx, &mut Out::new(emit, &mut report))?;
        }
        _ => {
            let table = CsvTable::new(input).map_err(|reason| unreadable(&ctx.path, reason))?;
            return run_format_table(format, Box::new(table), ctx, emit);
        }
    }
    Ok(report)
}

fn format_label(format: Format, container: Container) -> String {
    match container {
        Container::Plain => format.to_string(),
        Container::Gzip => format!("{format}, gzip"),
        Container::Parquet => format!("{format}, Parquet"),
    }
}

fn run_format_table(
    format: Format,
    mut table: Box<dyn Table>,
    ctx: &FileCtx,
    emit: &mut dyn Emit,
) -> Result<FileReport, IngestError> {
    let header = table.header().clone();
    let mut normalizer: Box<dyn Normalizer> = match format {
        Format::AwsCurLegacy | Format::AwsCurAthena | Format::AwsCur2 => {
            aws_cur::normalizer(format, &header, ctx)?
        }
        Format::AzureEa | Format::AzureMca | Format::AzurePayg => {
            azure_cost::normalizer(format, &header, ctx)?
        }
        Format::GcpBillingCsv => gcp_billing::normalizer(&header, ctx)?,
        Format::Focus => focus::normalizer(&header, ctx)?,
        Format::OciCost => oci_cost::normalizer(&header, ctx)?,
        Format::MetricsCsv => metrics::normalizer(&header, ctx)?,
        other => {
            return Err(unreadable(
                &ctx.path,
                format!("{other} is not a tabular format"),
            ));
        }
    };
    let mut report = FileReport::new(&ctx.file);
    report.format = format_label(format, ctx.container);
    run_table(
        table.as_mut(),
        normalizer.as_mut(),
        ctx,
        &mut Out::new(emit, &mut report),
    )
    .map_err(|reason| unreadable(&ctx.path, reason))?;
    Ok(report)
}

/// Feeds every row of `table` through `normalizer`, recording rejections. A file that
/// cannot be read to its end (cut short, a broken compressed stream, an I/O error) is an
/// error naming the row where it broke, not a bad row: what was read before is not the
/// file, and the caller must not deliver it as if it were.
pub fn run_table(
    table: &mut dyn Table,
    normalizer: &mut dyn Normalizer,
    ctx: &FileCtx,
    out: &mut Out<'_>,
) -> Result<(), String> {
    let header = table.header().clone();
    let mut buf = StringRecord::new();
    let mut number = 0u64;
    loop {
        number += 1;
        match table.next_row(&mut buf) {
            Ok(false) => break,
            Ok(true) => {
                out.report.rows_read += 1;
                if buf.iter().all(|f| f.trim().is_empty()) {
                    out.skip("blank line");
                    continue;
                }
                // A row with more cells than the header has shifted columns (an unquoted
                // comma): every later cell would land in the wrong column. Fewer cells are
                // read as empty trailing columns, which real exports write (Koku's CUR,
                // OpenCost's Azure fixtures).
                if buf.len() > header.len() {
                    out.reject(RowError {
                        file: ctx.file.clone(),
                        row: number,
                        column: None,
                        reason: format!(
                            "the row has {} cells but the header has {} columns (an unquoted comma?)",
                            buf.len(),
                            header.len()
                        ),
                    });
                    continue;
                }
                let row = Row {
                    record: &buf,
                    header: &header,
                    file: &ctx.file,
                    number,
                };
                if let Err(e) = normalizer.row(&row, out) {
                    out.reject(e);
                }
            }
            Err(e) if e.fatal => {
                return Err(format!(
                    "the file breaks off at row {number}: {}; none of it is read",
                    e.reason
                ));
            }
            Err(e) => {
                out.report.rows_read += 1;
                out.reject(RowError {
                    file: ctx.file.clone(),
                    row: number,
                    column: None,
                    reason: e.reason,
                });
            }
        }
    }
    normalizer.finish(out);
    Ok(())
}

/// The files to read, and notes on what was left out and why.
#[derive(Debug, Clone, Default)]
pub struct Expanded {
    pub files: Vec<PathBuf>,
    pub notes: Vec<String>,
    /// Paths that could not be listed (missing, unreadable), each with why. The others are
    /// still read.
    pub unreadable: Vec<String>,
}

/// Expands files and directories into the files to read, in a stable order. Hidden files
/// are skipped. Data files listed by a CUR manifest in the same tree are left to the
/// manifest, so they are read once, and superseded CUR assemblies are left out (noted).
pub fn expand_paths(paths: &[PathBuf]) -> Result<Expanded, IngestError> {
    let mut files = Vec::new();
    let mut unreadable = Vec::new();
    let mut skipped = Vec::new();
    for p in paths {
        let listed = std::fs::metadata(p).map_err(io_error(p)).and_then(|meta| {
            if meta.is_dir() {
                walk(p, &mut files, &mut skipped)
            } else {
                files.push(p.clone());
                Ok(())
            }
        });
        if let Err(e) = listed {
            unreadable.push(e.to_string());
        }
    }
    let mut notes = skipped;
    notes.extend(aws_cur::leave_to_manifests(&mut files));
    Ok(Expanded {
        files,
        notes,
        unreadable,
    })
}

/// The name of the store file in a burnrate data directory (`burnrate_sink`'s
/// `embedded::FILE_NAME`; the binary checks the two agree).
pub const STORE_FILE: &str = "burnrate.redb";

/// Lists the files under `dir`, leaving out hidden ones and burnrate's own data
/// directories: a folder holding a store (`run --input .` with the default
/// `./burnrate-data`) is the store and its demo data, not exports (noted in `skipped`).
/// The store file itself is left out too when `dir` is the data directory.
fn walk(dir: &Path, out: &mut Vec<PathBuf>, skipped: &mut Vec<String>) -> Result<(), IngestError> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io_error(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| !n.starts_with('.'))
        })
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if p.join(STORE_FILE).is_file() {
                skipped.push(format!(
                    "{} is not read: it is a burnrate data directory (it holds {STORE_FILE})",
                    p.display()
                ));
                continue;
            }
            walk(&p, out, skipped)?;
        } else if p.file_name().is_some_and(|n| n == STORE_FILE) {
            continue;
        } else {
            out.push(p);
        }
    }
    Ok(())
}
