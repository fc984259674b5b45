//! Mirroring an object store (S3, Azure Blob Storage) into a local folder tree, so that
//! cloud-delivered exports are read by the same readers and delivery rules as local files.
//!
//! An object `a/b/c.csv` becomes `root/a/b/c.csv`. The mirror is kept in step, not
//! re-downloaded: an object whose size and last-modified time equal the local copy's is
//! left alone (the local copy's modification time is set to the object's, which keeps "of
//! two deliveries, the newer wins" meaning the same thing). Where the store gives an ETag,
//! it must match too: last-modified times are whole seconds, so an object rewritten with
//! the same size within the second it was written would otherwise look unchanged. The
//! ETag of a local copy is kept beside it in a hidden file (`.name.etag`), written after
//! the copy is in place and removed before it is replaced, so a crash between the two
//! only costs a download. A folder's changed objects are
//! downloaded to hidden temporary files (`.name.partial`, which the readers skip) and moved
//! into place only when all of them arrived, so a failed download never leaves a folder
//! mixing new parts with old ones: the folder stays as it was and is reported.
//!
//! A store is anything that can list its objects and stream one ([`ObjectStore`]); the
//! HTTP helpers ([`agent`], [`get`]) are shared by the stores here.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Attempts per request (network errors and 5xx answers are tried again).
const ATTEMPTS: u32 = 3;

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    pub size: u64,
    pub modified: Option<SystemTime>,
    /// The store's entity tag, when it gives one: changes whenever the content does.
    pub etag: Option<String>,
}

/// An object store seen as a listing and downloads.
pub trait ObjectStore {
    /// How a folder of it is named in messages (`s3://bucket`, `az://account/container`).
    fn name(&self) -> String;
    /// What is listed, for a listing that fails (`s3://bucket/prefix`).
    fn location(&self) -> String {
        self.name()
    }
    /// Every object under the store's prefix.
    fn list(&self) -> Result<Vec<Listed>, String>;
    /// Writes the object's bytes to `to`; returns how many.
    fn download(&self, key: &str, to: &mut dyn Write) -> Result<u64, String>;
}

/// The most pages one listing may take (a thousand objects a page on S3, five thousand on
/// Blob Storage): past it the store is answering in circles, not listing.
pub const MAX_LIST_PAGES: usize = 100_000;

/// Takes the continuation token (S3) or marker (Blob Storage) of the next page, refusing
/// one the listing already gave: a store that hands back a token it gave before would
/// otherwise be listed forever, the same pages again and again.
pub fn next_page(
    seen: &mut std::collections::BTreeSet<String>,
    token: String,
) -> Result<String, String> {
    if seen.len() >= MAX_LIST_PAGES {
        return Err(format!(
            "the listing has not ended after {MAX_LIST_PAGES} pages; stopping"
        ));
    }
    if !seen.insert(token.clone()) {
        return Err(format!(
            "the listing gave the continuation token {token:?} a second time; stopping rather \
             than listing the same pages forever"
        ));
    }
    Ok(token)
}

/// What a [`mirror`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Objects under the prefix (folder markers and hidden objects left out).
    pub listed: usize,
    /// Objects downloaded because they were new or changed.
    pub downloaded: usize,
    /// Objects whose local copy was already the same.
    pub unchanged: usize,
    /// Bytes downloaded.
    pub bytes: u64,
    /// The local copies of every object of every folder that is complete, folder by
    /// folder in name order: what to read.
    pub files: Vec<PathBuf>,
    /// Folders left as they were (the folder's name, and why): one of their objects could
    /// not be downloaded or has a key that is no local path.
    pub failed: Vec<(String, String)>,
}

/// Why a store could not be mirrored at all.
#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    #[error("cannot list {store}: {reason}")]
    List { store: String, reason: String },
    #[error("cannot write the local copy {path}: {source}")]
    Local {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Mirrors `store` into `root` and reports what is there to read. Only a listing that
/// fails (or the local disk) is an error; a folder whose objects cannot all be downloaded
/// is kept as it was and reported in `failed`.
pub fn mirror(store: &dyn ObjectStore, root: &Path) -> Result<SyncReport, MirrorError> {
    let objects = store.list().map_err(|reason| MirrorError::List {
        store: store.location(),
        reason,
    })?;
    // Hidden objects (a part of the key starts with `.`: `.keep`, Spark's `.part-0.crc`)
    // are not read, as hidden files of a local folder are not: they are not downloaded.
    let objects: Vec<Listed> = objects.into_iter().filter(|o| !hidden(&o.key)).collect();
    let mut report = SyncReport::default();
    // Every folder some key lies in (`a` and `a/b` for `a/b/c.csv`): a local copy cannot
    // be a file and a folder at once.
    let mut parents: BTreeSet<&str> = BTreeSet::new();
    for object in &objects {
        let mut key = object.key.as_str();
        while let Some((parent, _)) = key.rsplit_once('/') {
            if !parents.insert(parent) {
                break;
            }
            key = parent;
        }
    }
    let mut folders: BTreeMap<String, Vec<Listed>> = BTreeMap::new();
    let mut collisions: BTreeMap<String, String> = BTreeMap::new();
    for object in &objects {
        // Folder markers (`a/b/`) are no files; neither is an empty object named like a
        // folder of other keys (`a/b` beside `a/b/c.csv`: how a storage account with a
        // hierarchical namespace lists its directories).
        if object.key.ends_with('/') || (object.size == 0 && parents.contains(object.key.as_str()))
        {
            continue;
        }
        report.listed += 1;
        let folder = object
            .key
            .rsplit_once('/')
            .map_or("", |(folder, _)| folder)
            .to_string();
        if parents.contains(object.key.as_str()) {
            collisions.entry(folder).or_insert_with(|| {
                format!(
                    "the key {:?} is both an object and the folder of other keys ({0}/...);                      a local copy cannot be both a file and a folder",
                    object.key
                )
            });
            continue;
        }
        folders.entry(folder).or_default().push(object.clone());
    }
    // The local paths of every object to be mirrored: a local file in the way of one of
    // them that is none of them is a stale copy (of an object now a folder), removed.
    let wanted: BTreeSet<PathBuf> = folders
        .values()
        .flatten()
        .filter_map(|o| local_path(root, &o.key))
        .collect();
    for (folder, reason) in &collisions {
        report
            .failed
            .push((format!("{}/{folder}", store.name()), reason.clone()));
        // The folder is kept as it was: none of its objects is read.
        folders.remove(folder);
    }
    for (folder, objects) in folders {
        match mirror_folder(store, root, &objects, &wanted, &mut report) {
            Ok(()) => {}
            Err(FolderError::Remote(reason)) => report
                .failed
                .push((format!("{}/{folder}", store.name()), reason)),
            Err(FolderError::Local(e)) => return Err(e),
        }
    }
    Ok(report)
}

enum FolderError {
    /// The folder is kept as it was; the other folders go on.
    Remote(String),
    /// The local disk failed: nothing else will work either.
    Local(MirrorError),
}

fn local_error(path: &Path) -> impl FnOnce(std::io::Error) -> FolderError + '_ {
    move |source| {
        FolderError::Local(MirrorError::Local {
            path: path.to_path_buf(),
            source,
        })
    }
}

fn mirror_folder(
    store: &dyn ObjectStore,
    root: &Path,
    objects: &[Listed],
    wanted: &BTreeSet<PathBuf>,
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
        clear_the_way(root, &path, wanted)
            .map_err(|why| FolderError::Remote(format!("{}: {why}", o.key)))?;
        local.push((o, path));
    }
    let changed: Vec<&(&Listed, PathBuf)> =
        local.iter().filter(|(o, path)| !same(o, path)).collect();
    // Download every changed object to a hidden file beside its place; move them all into
    // place only once all arrived.
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut failure = None;
    let mut bytes = 0;
    for (o, path) in &changed {
        let temp = hidden_beside(path);
        match download(store, o, &temp) {
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
    for ((temp, path), (o, _)) in staged.iter().zip(&changed) {
        // The old tag goes first: a copy with no tag is downloaded again, never trusted.
        remove_if_there(&etag_beside(path)).map_err(local_error(path))?;
        std::fs::rename(temp, path).map_err(local_error(path))?;
        if let Some(tag) = &o.etag {
            std::fs::write(etag_beside(path), tag).map_err(local_error(path))?;
        }
    }
    report.downloaded += changed.len();
    report.unchanged += local.len() - changed.len();
    report.bytes += bytes;
    report.files.extend(local.into_iter().map(|(_, p)| p));
    Ok(())
}

/// Downloads `o` to `temp`, checks its size and stamps it with the object's time.
fn download(store: &dyn ObjectStore, o: &Listed, temp: &Path) -> Result<u64, FolderError> {
    if let Some(parent) = temp.parent() {
        std::fs::create_dir_all(parent).map_err(local_error(parent))?;
    }
    let mut file = std::fs::File::create(temp).map_err(local_error(temp))?;
    let remote = |reason: String| FolderError::Remote(format!("{}: {reason}", o.key));
    let n = store.download(&o.key, &mut file).map_err(remote)?;
    if n != o.size {
        return Err(remote(format!(
            "{n} bytes arrived of the {} listed (the object changed while it was read?)",
            o.size
        )));
    }
    if let Some(t) = o.modified {
        file.set_modified(t).map_err(local_error(temp))?;
    }
    file.sync_all().map_err(local_error(temp))?;
    Ok(n)
}

/// A part of `key` is a hidden name (not `.` or `..`, which make no local path).
fn hidden(key: &str) -> bool {
    key.split('/')
        .any(|part| part.starts_with('.') && !matches!(part, "." | ".."))
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

/// Makes sure `path` can be a file: a file in place of one of its folders (under `root`)
/// that is no wanted copy is a stale copy and is removed; anything else in the way (a
/// wanted file, a folder where the file goes) is why not.
fn clear_the_way(root: &Path, path: &Path, wanted: &BTreeSet<PathBuf>) -> Result<(), String> {
    let Ok(relative) = path.strip_prefix(root) else {
        return Ok(());
    };
    let mut at = root.to_path_buf();
    let mut parts = relative.components().peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            break;
        }
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.is_dir() => {}
            Ok(meta) if meta.is_file() && !wanted.contains(&at) => {
                std::fs::remove_file(&at).map_err(|e| {
                    format!(
                        "the stale local file {} is where a folder goes and cannot be removed: {e}",
                        at.display()
                    )
                })?;
                return Ok(());
            }
            Ok(_) => {
                return Err(format!(
                    "the local {} is no folder, and a folder goes there",
                    at.display()
                ));
            }
            Err(_) => return Ok(()),
        }
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => Err(format!(
            "a local folder {} is where the object's copy goes (the folder of keys no longer \
             listed?)",
            path.display()
        )),
        _ => Ok(()),
    }
}

/// The local copy has the object's size and last-modified time, and its ETag when the
/// store gives one.
fn same(o: &Listed, path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    meta.len() == o.size
        && o.modified.is_some()
        && meta.modified().ok() == o.modified
        && o.etag
            .as_ref()
            .is_none_or(|tag| local_etag(path).as_ref() == Some(tag))
}

/// `.<name>.etag` in the same folder: hidden from the readers.
fn etag_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.etag"))
}

/// The ETag of the object a mirrored file is the copy of, when the store gave one: what
/// tells two same-sized versions written within one second apart (`run` compares it
/// between scans, beside size and modification time).
pub fn local_etag(path: &Path) -> Option<String> {
    std::fs::read_to_string(etag_beside(path)).ok()
}

fn remove_if_there(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// `.<name>.partial` in the same folder: hidden from the readers, on the same file system.
fn hidden_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.partial"))
}

/// The HTTP client of the stores: answers of every status come back as responses.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(10)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .user_agent(concat!("burnrate/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent()
}

/// GETs `url` with `headers`, trying again after network errors and 5xx answers; gives
/// the answer of a 2xx, or why not (the store's `<Code>`/`<Message>` when it sent them).
pub fn get(
    agent: &ureq::Agent,
    url: &str,
    headers: &[(&str, &str)],
) -> Result<ureq::http::Response<ureq::Body>, String> {
    let mut last = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(250 << attempt));
        }
        let mut request = agent.get(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        match request.call() {
            Ok(mut response) => {
                let status = response.status().as_u16();
                if (200..300).contains(&status) {
                    return Ok(response);
                }
                let mut excerpt = String::new();
                let _ = response
                    .body_mut()
                    .as_reader()
                    .take(1000)
                    .read_to_string(&mut excerpt);
                last = format!("HTTP {status}: {}", xml_error(&excerpt));
                if status < 500 {
                    return Err(last);
                }
            }
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

/// The text of a listing (at most 64 MiB).
pub fn text(mut response: ureq::http::Response<ureq::Body>) -> Result<String, String> {
    response
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_string()
        .map_err(|e| format!("the listing could not be read: {e}"))
}

/// Streams an answer's body into `to`.
pub fn copy_body(
    mut response: ureq::http::Response<ureq::Body>,
    to: &mut dyn Write,
) -> Result<u64, String> {
    std::io::copy(&mut response.body_mut().as_reader(), to)
        .map_err(|e| format!("the download broke off: {e}"))
}

/// The `<Code>` and `<Message>` of an S3 or Azure error document, or the text as it is.
fn xml_error(body: &str) -> String {
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let start = body.find(&open)? + open.len();
        let end = body[start..].find('<')? + start;
        Some(body[start..end].to_string())
    };
    match (tag("Code"), tag("Message")) {
        (Some(code), Some(message)) => format!("{code}: {}", message.trim()),
        (Some(code), None) => code,
        _ => body.trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_local_paths_only_when_plain() {
        let root = Path::new("/m");
        assert_eq!(
            local_path(root, "a/b.csv"),
            Some(PathBuf::from("/m/a/b.csv"))
        );
        for bad in ["a/../b", "/abs", "a//b", "./a", "a/./b", ".."] {
            assert_eq!(local_path(root, bad), None, "{bad}");
        }
        assert_eq!(
            hidden_beside(Path::new("/m/a/b.csv")),
            PathBuf::from("/m/a/.b.csv.partial")
        );
        assert_eq!(
            xml_error("<Error><Code>NoSuchBucket</Code><Message>gone</Message></Error>"),
            "NoSuchBucket: gone"
        );
    }

    #[test]
    fn a_continuation_token_given_twice_stops_the_listing() {
        let mut seen = BTreeSet::new();
        assert_eq!(next_page(&mut seen, "a".into()), Ok("a".to_string()));
        assert_eq!(next_page(&mut seen, "b".into()), Ok("b".to_string()));
        let e = next_page(&mut seen, "a".into()).expect_err("again");
        assert!(e.contains("\"a\" a second time"), "{e}");
    }

    /// A store held in memory: key -> bytes, all modified at one time.
    struct Fake(Vec<(&'static str, &'static [u8])>);

    impl ObjectStore for Fake {
        fn name(&self) -> String {
            "fake://b".into()
        }
        fn list(&self) -> Result<Vec<Listed>, String> {
            Ok(self
                .0
                .iter()
                .map(|(k, v)| Listed {
                    etag: None,
                    key: (*k).to_string(),
                    size: v.len() as u64,
                    modified: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
                })
                .collect())
        }
        fn download(&self, key: &str, to: &mut dyn Write) -> Result<u64, String> {
            let (_, v) = self.0.iter().find(|(k, _)| *k == key).ok_or("gone")?;
            to.write_all(v).map_err(|e| e.to_string())?;
            Ok(v.len() as u64)
        }
    }

    /// Hidden objects are not read from a mirror, as hidden files are not from a local
    /// folder (Spark writes a hidden `.crc` beside each part); nor are they downloaded.
    #[test]
    fn hidden_objects_are_left_out() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Fake(vec![
            ("e/part-0.csv", b"a\n1\n"),
            ("e/.part-0.csv.crc", b"crc"),
            ("e/.spark/x.csv", b"x"),
            ("bad/../x.csv", b"x"),
        ]);
        let report = mirror(&store, dir.path()).expect("mirrors");
        assert_eq!(report.files, vec![dir.path().join("e/part-0.csv")]);
        assert_eq!((report.listed, report.downloaded), (2, 1));
        assert!(!dir.path().join("e/.part-0.csv.crc").exists());
        // A `..` is no hidden name: its folder still fails, named.
        assert_eq!(report.failed.len(), 1, "{:?}", report.failed);
        assert_eq!(report.failed[0].0, "fake://b/bad/..");
    }

    /// A hierarchical-namespace account lists its directories as empty blobs named like
    /// the folder (`cost`, `cost/daily`): they are folders, not files in the way.
    #[test]
    fn empty_objects_named_like_folders_are_folders() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Fake(vec![
            ("cost", b""),
            ("cost/daily", b""),
            ("cost/daily/x.csv", b"a,b\n1,2\n"),
        ]);
        let report = mirror(&store, dir.path()).expect("mirrors");
        assert_eq!(report.failed, Vec::<(String, String)>::new());
        assert_eq!(report.listed, 1);
        assert_eq!(report.files, vec![dir.path().join("cost/daily/x.csv")]);
        assert_eq!(
            std::fs::read(dir.path().join("cost/daily/x.csv")).expect("copy"),
            b"a,b\n1,2\n"
        );
    }

    /// An object `a` with bytes beside `a/b.csv`: the folder holding `a` fails and says
    /// why; the folder `a` is mirrored.
    #[test]
    fn an_object_that_is_also_a_folder_fails_its_own_folder_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Fake(vec![("a", b"xyz"), ("a/b.csv", b"1"), ("c.csv", b"2")]);
        let report = mirror(&store, dir.path()).expect("mirrors");
        assert_eq!(report.failed.len(), 1, "{:?}", report.failed);
        assert_eq!(report.failed[0].0, "fake://b/");
        assert!(
            report.failed[0].1.contains("\"a\""),
            "{}",
            report.failed[0].1
        );
        assert_eq!(report.files, vec![dir.path().join("a/b.csv")]);
    }

    /// What was a file in the store and is now a folder: the stale local file is replaced
    /// by the folder. A local folder where an object's file goes fails that folder only.
    #[test]
    fn local_leftovers_in_the_way() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a"), b"old object a").expect("write");
        std::fs::create_dir_all(dir.path().join("d/e")).expect("mkdir");
        std::fs::write(dir.path().join("d/e/old.csv"), b"1").expect("write");
        let store = Fake(vec![
            ("a/b.csv", b"1"),
            ("d/e", b"now a file"),
            ("f.csv", b"3"),
        ]);
        let report = mirror(&store, dir.path()).expect("mirrors");
        assert_eq!(report.failed.len(), 1, "{:?}", report.failed);
        assert_eq!(report.failed[0].0, "fake://b/d");
        assert_eq!(
            report.files,
            vec![dir.path().join("f.csv"), dir.path().join("a/b.csv")]
        );
        assert_eq!(
            std::fs::read(dir.path().join("a/b.csv")).expect("copy"),
            b"1"
        );
        assert!(
            dir.path().join("d/e/old.csv").is_file(),
            "a local folder is never removed"
        );
    }
}
