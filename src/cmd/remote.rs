//! Inputs that are not local paths: `s3://BUCKET/PREFIX` (mirrored into
//! `<data-dir>/s3/BUCKET/`), `az://ACCOUNT/CONTAINER/PREFIX` (Azure exports in Blob
//! Storage, mirrored into `<data-dir>/azure/ACCOUNT/CONTAINER/`) and
//! `bq://PROJECT.DATASET.TABLE` (a GCP billing export table, one JSON lines file per
//! invoice month in `<data-dir>/bigquery/PROJECT.DATASET.TABLE/`).
//! Both become local files first, so they go through exactly the readers and delivery
//! rules of local files (see `burnrate_ingest::s3` and `burnrate_ingest::gcp_billing::fetch`).

use std::path::{Path, PathBuf};

use anyhow::Result;
use burnrate_ingest::azure_cost::fetch::{BlobAuth, BlobConfig, BlobLocation};
use burnrate_ingest::gcp_billing::fetch::{
    BigQueryConfig, BigQueryTable, export, this_and_previous_month,
};
use burnrate_ingest::mirror::{MirrorError, SyncReport};
use burnrate_ingest::s3::{S3Config, S3Location};

/// What the remote arguments resolved to.
#[derive(Debug, Default)]
pub(crate) struct Resolved {
    /// The local paths to read: the arguments that are local paths, as given, and the
    /// local copies of each remote input.
    pub paths: Vec<PathBuf>,
    /// A remote input (or S3 folder) that could not be read, with why (reported like a
    /// file that could not be read).
    pub failures: Vec<String>,
}

/// A remote input, parsed and configured from the environment.
#[derive(Debug)]
pub(crate) enum Remote {
    /// Its configuration is read at each fetch (see `fetch`); `parse` checks it once.
    S3 { location: S3Location, root: PathBuf },
    Blob {
        config: Box<BlobConfig>,
        location: BlobLocation,
        root: PathBuf,
    },
    BigQuery {
        config: Box<BigQueryConfig>,
        table: BigQueryTable,
        folder: PathBuf,
    },
}

impl std::fmt::Display for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Remote::S3 { location, .. } => write!(f, "{location}"),
            Remote::Blob { location, .. } => write!(f, "{location}"),
            Remote::BigQuery { table, .. } => write!(f, "{table}"),
        }
    }
}

impl Remote {
    /// `None` for a local path; an error for a remote address that is wrong (or of a kind
    /// burnrate does not read, such as `gs://`), or whose configuration (credentials,
    /// endpoint) is missing or wrong.
    pub(crate) fn parse(arg: &Path, data_dir: &Path) -> Option<Result<Remote>> {
        let text = arg.to_str()?;
        if let Some(location) = S3Location::parse(text) {
            return Some((|| {
                let location = location?;
                S3Config::from_env()?;
                Ok(Remote::S3 {
                    root: data_dir.join("s3").join(&location.bucket),
                    location,
                })
            })());
        }
        if let Some(location) = BlobLocation::parse(text) {
            return Some((|| {
                let location = location?;
                Ok(Remote::Blob {
                    config: Box::new(BlobConfig::from_env(&location.account)?),
                    root: data_dir
                        .join("azure")
                        .join(&location.account)
                        .join(&location.container),
                    location,
                })
            })());
        }
        let Some(table) = BigQueryTable::parse(text) else {
            // `gs://...`, `S3://...`, `https://...` or `s3:/bucket` would otherwise be
            // read as a local path and fail as a missing file.
            return unsupported_address(text)
                .filter(|_| !arg.exists())
                .map(|why| Err(anyhow::anyhow!("{why}")));
        };
        Some((|| {
            let table = table?;
            Ok(Remote::BigQuery {
                config: Box::new(BigQueryConfig::from_env()?),
                folder: data_dir.join("bigquery").join(format!(
                    "{}.{}.{}",
                    table.project, table.dataset, table.table
                )),
                table,
            })
        })())
    }

    /// Brings the local copy up to date. Returns the local files to read and what failed;
    /// prints a line on stderr when something was fetched (or, with `always`, anyway).
    pub(crate) fn fetch(&self, always: bool) -> (Vec<PathBuf>, Vec<String>) {
        match self {
            Remote::S3 { location, root } => {
                // The shared files are read again at each fetch, so keys refreshed there
                // (a session's keys rewritten before they expire) reach a running `run`;
                // the environment cannot change under a process, so only the files can.
                let config = match S3Config::from_env() {
                    Ok(c) => c,
                    Err(e) => return (Vec::new(), vec![format!("{location}: {e}")]),
                };
                let unsigned = if config.credentials.is_none() {
                    " (no AWS credentials were found, so the request was unsigned: for a \
                     bucket that is not public, set AWS_ACCESS_KEY_ID and \
                     AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)"
                } else {
                    ""
                };
                let synced = burnrate_ingest::s3::sync(&config, location, root);
                mirrored(&location.to_string(), root, synced, unsigned, always)
            }
            Remote::Blob {
                config,
                location,
                root,
            } => {
                let anonymous = if matches!(config.auth, BlobAuth::Anonymous) {
                    " (no credentials were found, so the request was anonymous: for a \
                     container that is not public, set AZURE_STORAGE_SAS_TOKEN, \
                     AZURE_STORAGE_TOKEN, or AZURE_TENANT_ID, AZURE_CLIENT_ID and \
                     AZURE_CLIENT_SECRET)"
                } else {
                    ""
                };
                let synced = burnrate_ingest::azure_cost::fetch::sync(config, location, root);
                mirrored(&location.to_string(), root, synced, anonymous, always)
            }
            Remote::BigQuery {
                config,
                table,
                folder,
            } => {
                let (this, previous) = this_and_previous_month(chrono::Utc::now().date_naive());
                match export(config, table, folder, &this, &previous) {
                    Ok(months) => {
                        let changed = months.iter().filter(|m| m.changed).count();
                        if always || changed > 0 {
                            let rows: u64 = months.iter().map(|m| m.rows).sum();
                            eprintln!(
                                "{table}: {} invoice month(s), {rows} rows, {changed} changed, into {}",
                                months.len(),
                                folder.display()
                            );
                        }
                        let failures = if months.is_empty() {
                            vec![format!(
                                "{table}: no invoice month from {} on",
                                table.from.as_deref().unwrap_or(&previous)
                            )]
                        } else {
                            Vec::new()
                        };
                        (months.into_iter().map(|m| m.path).collect(), failures)
                    }
                    Err(e) => (Vec::new(), vec![e.to_string()]),
                }
            }
        }
    }
}

/// The addresses burnrate reads, for messages about one it does not.
const ADDRESSES: &str = "local files and folders, s3://BUCKET/PREFIX, \
     az://ACCOUNT/CONTAINER/PREFIX and bq://PROJECT.DATASET.TABLE";

/// Why `text`, written like an address (`scheme:/...`), is not one burnrate reads; `None`
/// for anything else (a plain path, or a one-letter drive such as `C:/`).
fn unsupported_address(text: &str) -> Option<String> {
    let (scheme, rest) = text.split_once(':')?;
    let is_scheme = scheme.len() >= 2
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !is_scheme || !rest.starts_with('/') {
        return None;
    }
    let lower = scheme.to_ascii_lowercase();
    let tail = rest.trim_start_matches('/');
    let why = match lower.as_str() {
        "s3" | "az" | "bq" if rest.starts_with("//") => {
            format!("the scheme is written in lower case: {lower}://{tail}")
        }
        "s3" | "az" | "bq" => format!("an address starts with {lower}:// (two slashes)"),
        "gs" | "gcs" => "Cloud Storage is not read; GCP billing is read from its BigQuery \
                         export table (bq://PROJECT.DATASET.TABLE) or from exported files"
            .to_string(),
        "azure" | "abfs" | "abfss" | "wasb" | "wasbs" => {
            "Azure Blob Storage is written az://ACCOUNT/CONTAINER/PREFIX".to_string()
        }
        "http" | "https" if text.contains(".blob.core.windows.net") => {
            "Azure Blob Storage is written az://ACCOUNT/CONTAINER/PREFIX".to_string()
        }
        "http" | "https" => {
            "files are not downloaded from web addresses; download it first".to_string()
        }
        _ => format!("{lower}:// is not an address burnrate reads"),
    };
    Some(format!(
        "{text}: no such local path, and {why}; burnrate reads {ADDRESSES}"
    ))
}

/// What a mirror gave: its files, and its failures with `hint` (why a request may have
/// been refused); a line on stderr when something was downloaded (or, with `always`,
/// anyway).
fn mirrored(
    name: &str,
    root: &Path,
    synced: Result<SyncReport, MirrorError>,
    hint: &str,
    always: bool,
) -> (Vec<PathBuf>, Vec<String>) {
    match synced {
        Ok(report) => {
            if always || report.downloaded > 0 {
                eprintln!(
                    "{name}: {} objects, {} downloaded ({:.1} MB), {} unchanged, into {}",
                    report.listed,
                    report.downloaded,
                    report.bytes as f64 / 1e6,
                    report.unchanged,
                    root.display()
                );
            }
            let mut failures: Vec<String> = report
                .failed
                .into_iter()
                .map(|(folder, why)| {
                    format!("{folder}: {why}{hint}; its local copy is left as it was and not read")
                })
                .collect();
            if report.listed == 0 {
                failures.push(format!("{name}: no objects have this prefix"));
            }
            (report.files, failures)
        }
        Err(e) => (Vec::new(), vec![format!("{e}{hint}")]),
    }
}

/// Fetches every remote argument (a line on stderr for each) and returns what to read.
pub(crate) fn resolve(args: &[PathBuf], data_dir: &Path) -> Result<Resolved> {
    let mut out = Resolved::default();
    for arg in args {
        let Some(remote) = Remote::parse(arg, data_dir) else {
            out.paths.push(arg.clone());
            continue;
        };
        let (files, failures) = remote?.fetch(true);
        out.paths.extend(files);
        out.failures.extend(failures);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::unsupported_address;

    #[test]
    fn an_address_burnrate_does_not_read_says_what_it_reads() {
        let e = unsupported_address("gs://billing/export").expect("gs");
        assert!(
            e.starts_with("gs://billing/export: no such local path"),
            "{e}"
        );
        assert!(e.contains("bq://PROJECT.DATASET.TABLE"), "{e}");
        let e = unsupported_address("S3://bucket/cur").expect("S3");
        assert!(e.contains("written in lower case: s3://bucket/cur"), "{e}");
        let e = unsupported_address("s3:/bucket/cur").expect("one slash");
        assert!(e.contains("starts with s3:// (two slashes)"), "{e}");
        let e = unsupported_address("azure://acct/container").expect("azure");
        assert!(e.contains("az://ACCOUNT/CONTAINER/PREFIX"), "{e}");
        let e = unsupported_address("https://acct.blob.core.windows.net/c/x").expect("blob url");
        assert!(e.contains("az://ACCOUNT/CONTAINER/PREFIX"), "{e}");
        let e = unsupported_address("https://example.com/cur.csv").expect("web");
        assert!(e.contains("download it first"), "{e}");
        // Paths, with or without a colon, are left to the file readers.
        for path in [
            "exports/2024",
            "./a:b",
            "C:/exports",
            "cur.csv",
            "/tmp/x:/y",
        ] {
            assert_eq!(unsupported_address(path), None, "{path}");
        }
    }
}
