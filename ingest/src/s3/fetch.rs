//! The I/O of S3: listing a prefix and mirroring its objects into a local folder tree
//! (see the module above for the layout and the rules).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

use rusty_s3::actions::ListObjectsV2;
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use url::Url;

/// How long a signed request stays valid.
const SIGNED_FOR: Duration = Duration::from_secs(3600);
/// Attempts per request (network errors and 5xx answers are tried again).
const ATTEMPTS: u32 = 3;

/// `s3://bucket/prefix`: the objects whose keys start with `prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    pub prefix: String,
}

impl S3Location {
    /// `None` when `arg` is not an `s3://` address; an error when it is one without a
    /// bucket.
    pub fn parse(arg: &str) -> Option<Result<S3Location, FetchError>> {
        let rest = arg.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Some(Err(FetchError::Address(format!(
                "{arg}: an S3 address is s3://BUCKET/PREFIX"
            ))));
        }
        Some(Ok(S3Location {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        }))
    }
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// Where and as whom to reach S3.
#[derive(Debug, Clone)]
pub struct S3Config {
    /// `https://s3.<region>.amazonaws.com`, or an S3-compatible server.
    pub endpoint: Url,
    /// Path-style addressing (`endpoint/bucket/key`): what S3-compatible servers expect.
    /// AWS itself is addressed virtual-host style (`bucket.endpoint/key`).
    pub path_style: bool,
    pub region: String,
    /// `None` sends unsigned requests (a public bucket).
    pub credentials: Option<Credentials>,
}

impl S3Config {
    /// From the standard AWS variables: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_SESSION_TOKEN` (optional), `AWS_REGION` or `AWS_DEFAULT_REGION` (default
    /// `us-east-1`), and `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL` for an S3-compatible
    /// server (addressed path-style).
    pub fn from_env() -> Result<S3Config, FetchError> {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let region = var("AWS_REGION")
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| "us-east-1".to_string());
        let custom = var("AWS_ENDPOINT_URL_S3")
            .map(|v| ("AWS_ENDPOINT_URL_S3", v))
            .or_else(|| var("AWS_ENDPOINT_URL").map(|v| ("AWS_ENDPOINT_URL", v)));
        let (endpoint, path_style) = match custom {
            Some((name, v)) => (
                Url::parse(&v)
                    .map_err(|e| FetchError::Address(format!("{name}={v:?} is not a URL: {e}")))?,
                true,
            ),
            None => (
                Url::parse(&format!("https://s3.{region}.amazonaws.com")).map_err(|e| {
                    FetchError::Address(format!("AWS_REGION={region:?} makes no endpoint: {e}"))
                })?,
                false,
            ),
        };
        if endpoint.scheme() == "https" && !cfg!(feature = "https") {
            return Err(FetchError::Address(format!(
                "{endpoint} is https, and this burnrate was built without TLS: build it with \
                 its default features (or `--features https`)"
            )));
        }
        Ok(S3Config {
            endpoint,
            path_style,
            region,
            credentials: Credentials::from_env(),
        })
    }
}

/// What a [`sync`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Objects under the prefix (folder markers left out).
    pub listed: usize,
    /// Objects downloaded because they were new or changed.
    pub downloaded: usize,
    /// Objects whose local copy was already the same.
    pub unchanged: usize,
    /// Bytes downloaded.
    pub bytes: u64,
    /// The local copies of every object of every folder that is complete, in key order:
    /// what to read.
    pub files: Vec<PathBuf>,
    /// Folders left as they were (`s3://...` folder, and why): one of their objects could
    /// not be downloaded or has a key that is no local path.
    pub failed: Vec<(String, String)>,
}

/// Why S3 could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0}")]
    Address(String),
    #[error("cannot list {location}: {reason}")]
    List { location: String, reason: String },
    #[error("cannot write the local copy {path}: {source}")]
    Local {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// One listed object.
#[derive(Debug, Clone)]
struct Object {
    key: String,
    size: u64,
    modified: Option<SystemTime>,
}

/// Mirrors the objects under `location` into `root` (an object `k` becomes `root/k`), and
/// reports what is there to read. Only a listing that fails is an error; a folder whose
/// objects cannot all be downloaded is kept as it was and reported in `failed`.
pub fn sync(
    config: &S3Config,
    location: &S3Location,
    root: &Path,
) -> Result<SyncReport, FetchError> {
    let style = if config.path_style {
        UrlStyle::Path
    } else {
        UrlStyle::VirtualHost
    };
    let list_error = |reason: String| FetchError::List {
        location: location.to_string(),
        reason,
    };
    let bucket = Bucket::new(
        config.endpoint.clone(),
        style,
        location.bucket.clone(),
        config.region.clone(),
    )
    .map_err(|e| list_error(format!("no bucket address: {e}")))?;
    let agent = agent();
    let objects = list(&agent, &bucket, config, location).map_err(list_error)?;
    let mut report = SyncReport::default();
    let mut folders: BTreeMap<String, Vec<Object>> = BTreeMap::new();
    for object in objects {
        // Folder markers (`a/b/`) are no files.
        if object.key.ends_with('/') {
            continue;
        }
        report.listed += 1;
        let folder = object
            .key
            .rsplit_once('/')
            .map_or("", |(folder, _)| folder)
            .to_string();
        folders.entry(folder).or_default().push(object);
    }
    for (folder, objects) in folders {
        let name = format!("s3://{}/{folder}", location.bucket);
        match sync_folder(&agent, &bucket, config, root, &objects, &mut report) {
            Ok(()) => {}
            Err(FolderError::Remote(reason)) => report.failed.push((name, reason)),
            Err(FolderError::Local(e)) => return Err(e),
        }
    }
    Ok(report)
}

enum FolderError {
    /// The folder is kept as it was; the other folders go on.
    Remote(String),
    /// The local disk failed: nothing else will work either.
    Local(FetchError),
}

fn sync_folder(
    agent: &ureq::Agent,
    bucket: &Bucket,
    config: &S3Config,
    root: &Path,
    objects: &[Object],
    report: &mut SyncReport,
) -> Result<(), FolderError> {
    let mut local = Vec::new();
    for o in objects {
        let path = local_path(root, &o.key).ok_or_else(|| {
            FolderError::Remote(format!(
                "the key {:?} is no local path (an empty, `.` or `..` part)",
                o.key
            ))
        })?;
        local.push((o, path));
    }
    let changed: Vec<&(&Object, PathBuf)> =
        local.iter().filter(|(o, path)| !same(o, path)).collect();
    // Download every changed object to a hidden file beside its place; move them all into
    // place only once all arrived.
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut failure = None;
    let mut bytes = 0;
    for (o, path) in &changed {
        let temp = hidden_beside(path);
        match download(agent, bucket, config, o, &temp) {
            Ok(n) => {
                bytes += n;
                staged.push((temp, path.clone()));
            }
            Err(e) => {
                let _ = std::fs::remove_file(&temp);
                failure = Some(e);
                break;
            }
        }
    }
    if let Some(e) = failure {
        for (temp, _) in &staged {
            let _ = std::fs::remove_file(temp);
        }
        return Err(e);
    }
    for (temp, path) in staged {
        std::fs::rename(&temp, &path).map_err(|source| {
            FolderError::Local(FetchError::Local {
                path: path.clone(),
                source,
            })
        })?;
    }
    report.downloaded += changed.len();
    report.unchanged += local.len() - changed.len();
    report.bytes += bytes;
    report.files.extend(local.into_iter().map(|(_, p)| p));
    Ok(())
}

/// `root/key`, when every part of the key is a plain name.
fn local_path(root: &Path, key: &str) -> Option<PathBuf> {
    let relative = Path::new(key);
    let plain = key.split('/').all(|part| !matches!(part, "" | "." | ".."))
        && relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
    plain.then(|| root.join(relative))
}

/// The local copy has the object's size and last-modified time.
fn same(o: &Object, path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    meta.len() == o.size && o.modified.is_some() && meta.modified().ok() == o.modified
}

/// `.<name>.partial` in the same folder: hidden from the readers, on the same file system.
fn hidden_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.partial"))
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(10)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .user_agent(concat!("burnrate/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent()
}

/// GETs `url`, trying again after network errors and 5xx answers; gives the answer of a
/// 2xx, or why not.
fn get(agent: &ureq::Agent, url: &Url) -> Result<ureq::http::Response<ureq::Body>, String> {
    let mut last = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(250 << attempt));
        }
        match agent.get(url.as_str()).call() {
            Ok(mut response) => {
                let status = response.status().as_u16();
                if (200..300).contains(&status) {
                    return Ok(response);
                }
                let mut excerpt = String::new();
                let _ = response
                    .body_mut()
                    .as_reader()
                    .take(400)
                    .read_to_string(&mut excerpt);
                last = format!("HTTP {status}: {}", s3_error(&excerpt));
                if status < 500 {
                    return Err(last);
                }
            }
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

/// The `<Code>` and `<Message>` of an S3 error document, or the text as it is.
fn s3_error(body: &str) -> String {
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let start = body.find(&open)? + open.len();
        let end = body[start..].find('<')? + start;
        Some(body[start..end].to_string())
    };
    match (tag("Code"), tag("Message")) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code,
        _ => body.trim().to_string(),
    }
}

fn list(
    agent: &ureq::Agent,
    bucket: &Bucket,
    config: &S3Config,
    location: &S3Location,
) -> Result<Vec<Object>, String> {
    let mut objects = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut action = bucket.list_objects_v2(config.credentials.as_ref());
        if !location.prefix.is_empty() {
            action.with_prefix(location.prefix.as_str());
        }
        if let Some(t) = &token {
            action.with_continuation_token(t.as_str());
        }
        let url = action.sign(SIGNED_FOR);
        let mut response = get(agent, &url)?;
        let text = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()
            .map_err(|e| format!("the listing could not be read: {e}"))?;
        let page = ListObjectsV2::parse_response(&text)
            .map_err(|e| format!("the listing is not S3's ListObjectsV2 XML: {e}"))?;
        for c in page.contents {
            let modified = c
                .last_modified
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(SystemTime::from);
            objects.push(Object {
                key: c.key,
                size: c.size.unwrap_or(0),
                modified,
            });
        }
        match page.next_continuation_token {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => return Ok(objects),
        }
    }
}

/// Downloads `o` to `temp` and stamps it with the object's time; returns the bytes.
fn download(
    agent: &ureq::Agent,
    bucket: &Bucket,
    config: &S3Config,
    o: &Object,
    temp: &Path,
) -> Result<u64, FolderError> {
    let url = bucket
        .get_object(config.credentials.as_ref(), &o.key)
        .sign(SIGNED_FOR);
    let remote = |reason: String| FolderError::Remote(format!("{}: {reason}", o.key));
    let local = |source: std::io::Error| {
        FolderError::Local(FetchError::Local {
            path: temp.to_path_buf(),
            source,
        })
    };
    let mut response = get(agent, &url).map_err(remote)?;
    if let Some(parent) = temp.parent() {
        std::fs::create_dir_all(parent).map_err(local)?;
    }
    let mut file = std::fs::File::create(temp).map_err(local)?;
    let n = std::io::copy(&mut response.body_mut().as_reader(), &mut file)
        .map_err(|e| remote(format!("the download broke off: {e}")))?;
    if n != o.size {
        return Err(remote(format!(
            "{n} bytes arrived of the {} listed (the object changed while it was read?)",
            o.size
        )));
    }
    if let Some(t) = o.modified {
        file.set_modified(t).map_err(local)?;
    }
    file.sync_all().map_err(local)?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_keys() {
        assert_eq!(S3Location::parse("/tmp/x").map(|r| r.is_ok()), None);
        let loc = S3Location::parse("s3://b/cur/r/").and_then(Result::ok);
        assert_eq!(
            loc,
            Some(S3Location {
                bucket: "b".into(),
                prefix: "cur/r/".into()
            })
        );
        assert_eq!(
            S3Location::parse("s3://only").and_then(Result::ok),
            Some(S3Location {
                bucket: "only".into(),
                prefix: String::new()
            })
        );
        assert!(matches!(S3Location::parse("s3:///x"), Some(Err(_))));
        let root = Path::new("/m");
        assert_eq!(
            local_path(root, "a/b.csv"),
            Some(PathBuf::from("/m/a/b.csv"))
        );
        for bad in ["a/../b", "/abs", "a//b", "./a", "a/./b"] {
            assert_eq!(local_path(root, bad), None, "{bad}");
        }
        assert_eq!(
            hidden_beside(Path::new("/m/a/b.csv")),
            PathBuf::from("/m/a/.b.csv.partial")
        );
        assert_eq!(
            s3_error("<Error><Code>NoSuchBucket</Code><Message>gone</Message></Error>"),
            "NoSuchBucket: gone"
        );
    }
}
