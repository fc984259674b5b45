//! `s3://BUCKET/PREFIX` arguments: mirrored into `<data-dir>/s3/BUCKET/` and read from
//! there, so an S3 delivery goes through exactly the readers and delivery rules of local
//! files (see `burnrate_ingest::s3`).

use std::path::{Path, PathBuf};

use anyhow::Result;
use burnrate_ingest::s3::{S3Config, S3Location, sync};

/// What the S3 arguments resolved to.
#[derive(Debug, Default)]
pub(crate) struct Resolved {
    /// The local paths to read: the arguments that are not S3 addresses, as given, and the
    /// local copies of the objects of each S3 address.
    pub paths: Vec<PathBuf>,
    /// An S3 address or folder that could not be read, with why (reported like a file
    /// that could not be read).
    pub failures: Vec<String>,
}

/// The local mirror of `bucket` in the data directory.
pub(crate) fn mirror_root(data_dir: &Path, bucket: &str) -> PathBuf {
    data_dir.join("s3").join(bucket)
}

/// Mirrors every `s3://` argument (printing a line for each on stderr) and returns what
/// to read. An address that cannot be parsed, or an S3 configuration that is wrong, is a
/// usage error; a listing or download that fails is a failure of that address or folder.
pub(crate) fn resolve(args: &[PathBuf], data_dir: &Path) -> Result<Resolved> {
    let mut out = Resolved::default();
    let mut config: Option<S3Config> = None;
    for arg in args {
        let Some(location) = arg.to_str().and_then(S3Location::parse) else {
            out.paths.push(arg.clone());
            continue;
        };
        let location = location?;
        let config = match &mut config {
            Some(c) => c,
            None => config.insert(S3Config::from_env()?),
        };
        let unsigned = if config.credentials.is_none() {
            " (no AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are set, so the request was \
             unsigned)"
        } else {
            ""
        };
        let root = mirror_root(data_dir, &location.bucket);
        match sync(config, &location, &root) {
            Ok(report) => {
                eprintln!(
                    "{location}: {} objects, {} downloaded ({:.1} MB), {} unchanged, into {}",
                    report.listed,
                    report.downloaded,
                    report.bytes as f64 / 1e6,
                    report.unchanged,
                    root.display()
                );
                for (folder, why) in report.failed {
                    out.failures.push(format!(
                        "{folder}: {why}{unsigned}; its local copy is left as it was and not read"
                    ));
                }
                if report.listed == 0 {
                    out.failures
                        .push(format!("{location}: no objects have this prefix"));
                }
                out.paths.extend(report.files);
            }
            Err(e) => out.failures.push(format!("{e}{unsigned}")),
        }
    }
    Ok(out)
}
