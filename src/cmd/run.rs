//! `burnrate run --input DIR`: the main job on the user's own exports. Reads what is in
//! DIR, then keeps watching it: a new or rewritten file is read once it has stopped
//! changing, and its whole folder is delivered again (a folder is one delivery: a CUR
//! assembly, an Azure export run), so a rewritten month-to-date export replaces what it
//! gave before and additive files replace only themselves.
//!
//! It serves the API (`--listen`, default 127.0.0.1:8080) from the same store while it
//! runs. Stopping it at any moment (Ctrl-C, a kill) is safe: deliveries are logged before
//! they take effect, and the next start replays the log.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use std::net::SocketAddr;
use std::sync::Arc;

use super::remote::Remote;
use anyhow::{Context, Result};
use burnrate::engine::Engine;
use burnrate::stores::EmbeddedReader;
use burnrate_api::AppState;
use burnrate_ingest::{Expanded, Options, expand_paths};
use clap::Args;

use burnrate::config::Config;

use super::ingest::{Tally, ingest_files};
use super::live::{Live, start_webhooks};
use super::serve::{bind, spawn_background, stop_flag};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The folder your exports land in (read recursively; hidden files skipped), or
    /// s3://BUCKET/PREFIX, az://ACCOUNT/CONTAINER/PREFIX (Azure exports in Blob
    /// Storage), or bq://PROJECT.DATASET.TABLE (a GCP billing export table), fetched into
    /// the data directory at every scan.
    #[arg(long, value_name = "DIR")]
    input: PathBuf,
    /// Seconds between scans of the input. A file is read once it is unchanged across two
    /// scans, so files still being written are not read half-way. Default: 2 for a folder,
    /// 60 for S3 and Blob Storage (each scan lists the prefix), 3600 for
    /// BigQuery (each scan queries the current and the previous invoice month).
    #[arg(long, value_name = "S")]
    poll_seconds: Option<u64>,
    /// Timely worker threads for the pipeline.
    #[arg(value_parser = super::at_least_one, long, default_value_t = 1, value_name = "N")]
    workers: usize,
    /// Billing currency of files with no currency column (without it, such CUR and Azure
    /// files are refused and FOCUS files are kept apart as XXX, "no currency").
    #[arg(long, value_name = "CODE", value_parser = super::currency_code)]
    currency: Option<String>,
    /// Read what is there, wait for it to settle, and exit instead of watching (and
    /// serving).
    #[arg(long)]
    once: bool,
    /// Where to serve the API while running.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080", value_parser = super::listen_addr)]
    listen: SocketAddr,
    /// Do not serve the API.
    #[arg(long)]
    no_serve: bool,
}

/// What a file looked like at a scan: size, modification time, and for a copy of an S3 or
/// Blob Storage object the object's ETag (a same-sized rewrite within one second keeps the
/// other two).
type Stamp = (u64, Option<SystemTime>, Option<String>);

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some((
        meta.len(),
        meta.modified().ok(),
        burnrate_ingest::mirror::local_etag(path),
    ))
}

/// What `run` watches: a local folder, or a remote input (S3, BigQuery) fetched into the
/// data directory before each scan.
#[derive(Debug)]
pub(crate) enum Source {
    Folder(PathBuf),
    Remote(Remote),
}

impl Source {
    /// `--input`: a remote address, or a folder that must exist.
    fn new(input: &Path, data_dir: &Path) -> Result<Source> {
        if let Some(remote) = Remote::parse(input, data_dir) {
            return Ok(Source::Remote(remote?));
        }
        if !input.exists() {
            anyhow::bail!("--input {} does not exist", input.display());
        }
        if !input.is_dir() {
            anyhow::bail!(
                "--input {} is a file; --input takes the folder your exports land in \
                 (`burnrate ingest FILE` reads one file)",
                input.display()
            );
        }
        Ok(Source::Folder(input.to_path_buf()))
    }

    /// The files to look at now, and what failed on the way.
    fn scan(&self) -> Result<(Expanded, Vec<String>)> {
        match self {
            Source::Folder(dir) => Ok((expand_paths(std::slice::from_ref(dir))?, Vec::new())),
            Source::Remote(remote) => {
                let (files, failures) = remote.fetch(false);
                Ok((expand_paths(&files)?, failures))
            }
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Folder(dir) => write!(f, "{}", dir.display()),
            Source::Remote(remote) => write!(f, "{remote}"),
        }
    }
}

pub fn run(args: RunArgs, data_dir: &Path, config: &Config) -> Result<std::process::ExitCode> {
    let source = Source::new(&args.input, data_dir)?;
    let poll_seconds = args.poll_seconds.unwrap_or(match &source {
        Source::Folder(_) => 2,
        Source::Remote(Remote::S3 { .. } | Remote::Blob { .. }) => 60,
        Source::Remote(Remote::BigQuery { .. }) => 3600,
    });
    let serving = !args.once && !args.no_serve;
    let listener = serving.then(|| bind(args.listen)).transpose()?;
    let mut engine = Engine::start_with(data_dir, args.workers, config.recommendations.clone())
        .with_context(|| format!("opening the data directory {}", data_dir.display()))?;
    let stop = stop_flag();
    let mut live = Live::none(stop.clone());
    if !args.once {
        start_webhooks(&engine, config, &stop)?;
    }
    if let Some(listener) = listener {
        let (l, pushes) = Live::with_pushes(stop.clone());
        live = l;
        let state =
            AppState::new(Arc::new(EmbeddedReader(engine.store()))).with_metrics_ingest(pushes);
        let bound = spawn_background(listener, state)?;
        eprintln!(
            "API: http://{bound}/api/v1/ai-costs/summary?scope=all&start_date=YYYY-MM-DD&end_date=YYYY-MM-DD (default: the last 30 days; OpenAPI: /api/v1/openapi.json)"
        );
    }
    let opts = Options {
        default_currency: args.currency,
        ..Options::default()
    };
    if args.once {
        eprintln!(
            "reading {source} once it has settled; store in {}",
            data_dir.display()
        );
    } else {
        eprintln!(
            "watching {source} (every {} s); store in {}",
            poll_seconds,
            data_dir.display()
        );
    }
    let mut seen = Seen::default();
    let failures = watch(
        &mut engine,
        &source,
        &opts,
        &mut seen,
        poll_seconds,
        args.once,
        &mut live,
    )?;
    engine.close()?;
    // As `ingest`: a file that could not be read is exit status 1 (the rest is stored).
    Ok(if failures > 0 {
        std::process::ExitCode::from(1)
    } else {
        std::process::ExitCode::SUCCESS
    })
}

/// What the watcher has seen of the input folder, kept across calls of `watch`.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    /// Every file at the last scan.
    previous: BTreeMap<PathBuf, Stamp>,
    /// What each file looked like when it was last delivered.
    delivered: BTreeMap<PathBuf, Stamp>,
    /// Paths already reported as unreadable (each is reported once).
    unreadable: BTreeSet<String>,
}

/// Folders with a file that is new or changed since it was delivered, or that lost a file
/// it was delivered with, all of whose files have stopped changing: a folder is read
/// whole, so a part file still being written (changed since the last scan) holds its
/// whole folder back until it settles, and a folder without one of its parts is another
/// delivery (the one a restart would read). A folder with no file left has nothing to
/// deliver.
fn ready_folders(
    previous: &BTreeMap<PathBuf, Stamp>,
    now: &BTreeMap<PathBuf, Stamp>,
    delivered: &BTreeMap<PathBuf, Stamp>,
) -> BTreeSet<PathBuf> {
    let folder = |f: &PathBuf| f.parent().map(Path::to_path_buf);
    let changing: BTreeSet<PathBuf> = now
        .iter()
        .filter(|(f, s)| previous.get(*f) != Some(*s))
        .filter_map(|(f, _)| folder(f))
        .collect();
    let lost: BTreeSet<PathBuf> = delivered
        .keys()
        .filter(|f| !now.contains_key(*f))
        .filter_map(folder)
        .collect();
    now.iter()
        .filter(|(f, s)| previous.get(*f) == Some(*s))
        .filter(|(f, s)| {
            delivered.get(*f) != Some(*s) || folder(f).is_some_and(|d| lost.contains(&d))
        })
        .filter_map(|(f, _)| folder(f))
        .filter(|d| !changing.contains(d))
        .collect()
}

/// Reads what is in `input` once it has settled, then (unless `once`) keeps reading new
/// and rewritten files. Returns how many files could not be read (or stored in part).
pub(crate) fn watch(
    engine: &mut Engine,
    input: &Source,
    opts: &Options,
    seen: &mut Seen,
    poll_seconds: u64,
    once: bool,
    live: &mut Live,
) -> Result<usize> {
    let Seen {
        previous,
        delivered,
        unreadable,
    } = seen;
    let mut failures = 0;
    loop {
        let (expanded, fetch_failures) = input.scan()?;
        for f in expanded.unreadable.iter().chain(&fetch_failures) {
            if unreadable.insert(f.clone()) {
                eprintln!("FAILED {f}");
                failures += 1;
            }
        }
        let now: BTreeMap<PathBuf, Stamp> = expanded
            .files
            .iter()
            .filter_map(|f| stamp(f).map(|s| (f.clone(), s)))
            .collect();
        // Fetched files (S3 objects, BigQuery months) are moved into place whole: they
        // have settled when they appear.
        let settled = matches!(input, Source::Remote(_));
        let dirty = ready_folders(if settled { &now } else { previous }, &now, delivered);
        let settling = !settled && now.iter().any(|(f, s)| previous.get(f) != Some(s));
        if !dirty.is_empty() {
            for note in &expanded.notes {
                eprintln!("note: {note}");
            }
            let files: Vec<PathBuf> = now
                .keys()
                .filter(|f| f.parent().is_some_and(|p| dirty.contains(p)))
                .cloned()
                .collect();
            let mut tally = Tally::new(None);
            // A stop request is heeded between folders too: a first pass over a big input
            // is many deliveries.
            let outcome = ingest_files(Some(&mut *engine), &files, opts, &mut tally, &|| {
                live.stopped()
            })?;
            // One line per round, and a line per file only when something was rejected.
            let rows: u64 = outcome.reports.iter().map(|r| r.rows_read).sum();
            // Of the files in the folders read: a file that failed is counted out (its
            // FAILED line follows), so "read 1 of 2" does not pass for everything read.
            let read = outcome.reports.len();
            if read == files.len() {
                eprintln!("read {read} file(s), {rows} rows");
            } else {
                eprintln!("read {read} of {} file(s), {rows} rows", files.len());
            }
            for r in outcome.reports.iter().filter(|r| r.rejected_count > 0) {
                eprintln!(
                    "  {} ({}): {} of {} rows rejected",
                    r.file, r.format, r.rejected_count, r.rows_read
                );
                for e in r.rejected.iter().take(5) {
                    eprintln!("    rejected: {e}");
                }
            }
            for f in &outcome.failures {
                eprintln!("FAILED {f}");
            }
            failures += outcome.failures.len();
            if outcome.stopped {
                // What was stored stays; the folders not read are read at the next start.
                eprintln!("stopping: the store is closed cleanly");
                return Ok(failures);
            }
            for f in &files {
                if let Some(s) = now.get(f) {
                    delivered.insert(f.clone(), s.clone());
                }
            }
        }
        // Files gone from the input are forgotten once their folder was read again without
        // them (or has no file left to read).
        delivered.retain(|f, _| {
            now.contains_key(f)
                || f.parent().is_some_and(|d| {
                    !dirty.contains(d) && now.keys().any(|g| g.parent() == Some(d))
                })
        });
        *previous = now;
        // Settled files need no second look: what was there has been read.
        if once && !settling && (dirty.is_empty() || settled) {
            return Ok(failures);
        }
        // Wait in short steps, serving metric pushes meanwhile, so a stop request is seen
        // within a tenth of a second.
        let wake = Instant::now() + Duration::from_secs(poll_seconds);
        while Instant::now() < wake {
            if live.stopped() {
                eprintln!("stopping: the store is closed cleanly");
                return Ok(failures);
            }
            live.serve(
                engine,
                Duration::from_millis(100).min(wake - Instant::now()),
            )?;
        }
        if live.stopped() {
            eprintln!("stopping: the store is closed cleanly");
            return Ok(failures);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, u64)]) -> BTreeMap<PathBuf, Stamp> {
        list.iter()
            .map(|(f, len)| (PathBuf::from(f), (*len, None, None)))
            .collect()
    }

    #[test]
    fn a_folder_waits_for_all_its_files_to_settle() {
        let delivered = BTreeMap::new();
        // cur/part-1 is unchanged since the last scan, cur/part-2 is still growing, and
        // gcp/x is unchanged: only gcp is ready.
        let previous = files(&[("cur/part-1", 10), ("cur/part-2", 5), ("gcp/x", 7)]);
        let now = files(&[("cur/part-1", 10), ("cur/part-2", 9), ("gcp/x", 7)]);
        let ready = ready_folders(&previous, &now, &delivered);
        assert_eq!(ready, BTreeSet::from([PathBuf::from("gcp")]));
        // A new file in a folder holds it back too.
        let now2 = files(&[("cur/part-1", 10), ("cur/part-2", 9), ("cur/part-3", 1)]);
        assert!(ready_folders(&now, &now2, &delivered).is_empty());
        // Once part-2 has settled, cur is ready; what was delivered is not read again.
        let delivered = files(&[("gcp/x", 7)]);
        let ready = ready_folders(&now, &now, &delivered);
        assert_eq!(ready, BTreeSet::from([PathBuf::from("cur")]));
    }

    #[test]
    fn a_folder_that_lost_a_delivered_file_is_ready_again() {
        let delivered = files(&[("cur/part-1", 10), ("cur/part-2", 5), ("gcp/x", 7)]);
        // part-2 is gone: cur is read again (without it); gcp is as delivered.
        let now = files(&[("cur/part-1", 10), ("gcp/x", 7)]);
        let ready = ready_folders(&now, &now, &delivered);
        assert_eq!(ready, BTreeSet::from([PathBuf::from("cur")]));
        // Not while another of its files is still changing.
        let previous = files(&[("cur/part-1", 8), ("gcp/x", 7)]);
        assert!(ready_folders(&previous, &now, &delivered).is_empty());
        // A folder that lost every file has nothing to deliver.
        let now = files(&[("gcp/x", 7)]);
        assert!(ready_folders(&now, &now, &delivered).is_empty());
    }
}
