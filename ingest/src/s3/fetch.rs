//! The I/O of S3: listing a prefix and mirroring its objects into a local folder tree
//! (see the module above for the layout and the rules).

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use rusty_s3::actions::ListObjectsV2;
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use url::Url;

use crate::mirror::{self, Listed, MirrorError, ObjectStore, SyncReport};

/// How long a signed request stays valid.
const SIGNED_FOR: Duration = Duration::from_secs(3600);

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
            return Some(Err(FetchError(format!(
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
    /// From the standard AWS settings: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_SESSION_TOKEN` (optional), else the profile `AWS_PROFILE` (default `default`)
    /// of the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`, default
    /// `~/.aws/credentials`); `AWS_REGION` or `AWS_DEFAULT_REGION`, else the profile's
    /// `region` in the config file (`AWS_CONFIG_FILE`, default `~/.aws/config`), else
    /// `us-east-1`; and `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL` for an S3-compatible
    /// server (addressed path-style).
    pub fn from_env() -> Result<S3Config, FetchError> {
        S3Config::from_vars(|name| std::env::var(name).ok())
    }

    /// [`S3Config::from_env`] over any source of variables (`HOME` among them).
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<S3Config, FetchError> {
        let var = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let home = var("HOME").map(std::path::PathBuf::from);
        let file = |var_name: &str, default: &str| {
            var(var_name)
                .map(std::path::PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
        };
        let named = var("AWS_PROFILE");
        let profile = named.clone().unwrap_or_else(|| "default".to_string());
        let read = |path: &Option<std::path::PathBuf>, section: &str| {
            path.as_ref()
                .and_then(|p| std::fs::read_to_string(p).ok())
                .and_then(|text| ini_section(&text, section))
        };
        let credentials_file = file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
        let config_file = file("AWS_CONFIG_FILE", "config");
        let config_section = if profile == "default" {
            "default".to_string()
        } else {
            format!("profile {profile}")
        };
        let in_credentials = read(&credentials_file, &profile);
        let in_config = read(&config_file, &config_section);
        let region = var("AWS_REGION")
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .or_else(|| in_config.as_ref().and_then(|c| c.get("region").cloned()))
            .unwrap_or_else(|| "us-east-1".to_string());
        let credentials = match (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
            (Some(key), Some(secret)) => Some(credentials(key, secret, var("AWS_SESSION_TOKEN"))),
            _ => {
                let keys = [&in_credentials, &in_config]
                    .into_iter()
                    .flatten()
                    .find_map(|s| {
                        Some((
                            s.get("aws_access_key_id")?.clone(),
                            s.get("aws_secret_access_key")?.clone(),
                            s.get("aws_session_token").cloned(),
                        ))
                    });
                match keys {
                    Some((key, secret, token)) => Some(credentials(key, secret, token)),
                    None => {
                        let other = in_config.as_ref().and_then(|c| {
                            [
                                "sso_session",
                                "sso_start_url",
                                "credential_process",
                                "role_arn",
                            ]
                            .into_iter()
                            .find(|k| c.contains_key(*k))
                        });
                        if let Some(kind) = other {
                            return Err(FetchError(format!(
                                "the AWS profile {profile} gets its credentials by {kind}, which \
                                 burnrate does not do: export them first, e.g. eval \"$(aws \
                                 configure export-credentials --profile {profile} --format env)\""
                            )));
                        }
                        if named.is_some() && in_credentials.is_none() && in_config.is_none() {
                            return Err(FetchError(format!(
                                "AWS_PROFILE={profile}: no such profile in {} or {}",
                                shown(&credentials_file),
                                shown(&config_file)
                            )));
                        }
                        // One of the pair alone would otherwise send unsigned requests.
                        let half = match (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
                            (Some(_), None) => Some(("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")),
                            (None, Some(_)) => Some(("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID")),
                            _ => None,
                        };
                        if let Some((set, missing)) = half {
                            return Err(FetchError(format!(
                                "{set} is set but {missing} is not: set both (and \
                                 AWS_SESSION_TOKEN for temporary keys)"
                            )));
                        }
                        None
                    }
                }
            }
        };
        let custom = var("AWS_ENDPOINT_URL_S3")
            .map(|v| ("AWS_ENDPOINT_URL_S3", v))
            .or_else(|| var("AWS_ENDPOINT_URL").map(|v| ("AWS_ENDPOINT_URL", v)));
        let (endpoint, path_style) = match custom {
            Some((name, v)) => (
                Url::parse(&v)
                    .map_err(|e| FetchError(format!("{name}={v:?} is not a URL: {e}")))?,
                true,
            ),
            None => (
                Url::parse(&format!("https://s3.{region}.amazonaws.com")).map_err(|e| {
                    FetchError(format!("the region {region:?} makes no endpoint: {e}"))
                })?,
                false,
            ),
        };
        if endpoint.scheme() == "https" && !cfg!(feature = "https") {
            return Err(FetchError(format!(
                "{endpoint} is https, and this burnrate was built without TLS: build it with \
                 its default features (or `--features https`)"
            )));
        }
        Ok(S3Config {
            endpoint,
            path_style,
            region,
            credentials,
        })
    }
}

fn credentials(key: String, secret: String, token: Option<String>) -> Credentials {
    match token {
        Some(token) => Credentials::new_with_token(key, secret, token),
        None => Credentials::new(key, secret),
    }
}

fn shown(path: &Option<std::path::PathBuf>) -> String {
    path.as_ref()
        .map_or_else(|| "(no HOME)".to_string(), |p| p.display().to_string())
}

/// The `key = value` pairs of `[section]` in an AWS shared config or credentials file
/// (INI: `#` and `;` start comments; keys are lower-cased, as the AWS CLI reads them).
/// `None` when the section is not there.
fn ini_section(text: &str, section: &str) -> Option<std::collections::BTreeMap<String, String>> {
    let mut found = None;
    let mut current: Option<&str> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(name.trim());
            if current == Some(section) {
                found.get_or_insert_with(std::collections::BTreeMap::new);
            }
            continue;
        }
        if current == Some(section)
            && let (Some(map), Some((k, v))) = (found.as_mut(), line.split_once('='))
        {
            map.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    found
}

/// A wrong S3 address or configuration.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FetchError(pub String);

/// One bucket prefix as an [`ObjectStore`].
struct Prefix<'a> {
    config: &'a S3Config,
    location: &'a S3Location,
    bucket: Bucket,
    agent: ureq::Agent,
}

impl ObjectStore for Prefix<'_> {
    fn name(&self) -> String {
        format!("s3://{}", self.location.bucket)
    }

    fn location(&self) -> String {
        self.location.to_string()
    }

    fn list(&self) -> Result<Vec<Listed>, String> {
        let mut objects = Vec::new();
        let mut token: Option<String> = None;
        let mut seen = std::collections::BTreeSet::new();
        loop {
            let mut action = self
                .bucket
                .list_objects_v2(self.config.credentials.as_ref());
            if !self.location.prefix.is_empty() {
                action.with_prefix(self.location.prefix.as_str());
            }
            if let Some(t) = &token {
                action.with_continuation_token(t.as_str());
            }
            let url = action.sign(SIGNED_FOR);
            let text = mirror::text(mirror::get(&self.agent, url.as_str(), &[])?)?;
            let page = ListObjectsV2::parse_response(&text)
                .map_err(|e| format!("the listing is not S3's ListObjectsV2 XML: {e}"))?;
            for c in page.contents {
                let modified = c
                    .last_modified
                    .as_deref()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .map(SystemTime::from);
                objects.push(Listed {
                    key: c.key,
                    size: c.size.unwrap_or(0),
                    modified,
                    etag: c.etag.filter(|t| !t.is_empty()),
                });
            }
            match page.next_continuation_token {
                Some(t) if !t.is_empty() => token = Some(mirror::next_page(&mut seen, t)?),
                _ => return Ok(objects),
            }
        }
    }

    fn download(&self, key: &str, to: &mut dyn Write) -> Result<u64, String> {
        let url = self
            .bucket
            .get_object(self.config.credentials.as_ref(), key)
            .sign(SIGNED_FOR);
        mirror::copy_body(mirror::get(&self.agent, url.as_str(), &[])?, to)
    }
}

/// Mirrors the objects under `location` into `root` (an object `k` becomes `root/k`; see
/// [`crate::mirror`]).
pub fn sync(
    config: &S3Config,
    location: &S3Location,
    root: &Path,
) -> Result<SyncReport, MirrorError> {
    let style = if config.path_style {
        UrlStyle::Path
    } else {
        UrlStyle::VirtualHost
    };
    let bucket = Bucket::new(
        config.endpoint.clone(),
        style,
        location.bucket.clone(),
        config.region.clone(),
    )
    .map_err(|e| MirrorError::List {
        store: location.to_string(),
        reason: format!("no bucket address: {e}"),
    })?;
    let prefix = Prefix {
        config,
        location,
        bucket,
        agent: mirror::agent(),
    };
    mirror::mirror(&prefix, root)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Variables from a list, as the environment would give them, with a plain-http
    /// endpoint (so the test holds with or without the `https` feature).
    fn vars(list: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: std::collections::BTreeMap<String, String> = list
            .iter()
            .chain(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:9")])
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn credentials_and_region_from_env_or_the_shared_files() {
        let home = tempfile::tempdir().expect("tempdir");
        let aws = home.path().join(".aws");
        std::fs::create_dir_all(&aws).expect("mkdir");
        std::fs::write(
            aws.join("credentials"),
            "# keys\n[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = d\n\n\
             [ci]\nAWS_ACCESS_KEY_ID=AKIACI\naws_secret_access_key=c\naws_session_token = t\n",
        )
        .expect("write");
        std::fs::write(
            aws.join("config"),
            "[default]\nregion = eu-west-1\n[profile ci]\nregion=ap-south-1\n\
             [profile sso]\nsso_session = corp\nregion = us-west-2\n",
        )
        .expect("write");
        let h = home.path().to_str().expect("path");
        let c = S3Config::from_vars(vars(&[("HOME", h)])).expect("default profile");
        let creds = c.credentials.expect("keys");
        assert_eq!(
            (creds.key(), creds.secret(), creds.token()),
            ("AKIADEFAULT", "d", None)
        );
        assert_eq!(c.region, "eu-west-1");
        let c = S3Config::from_vars(vars(&[("HOME", h), ("AWS_PROFILE", "ci")])).expect("ci");
        let creds = c.credentials.expect("keys");
        assert_eq!((creds.key(), creds.token()), ("AKIACI", Some("t")));
        assert_eq!(c.region, "ap-south-1");
        // The environment wins over the files.
        let c = S3Config::from_vars(vars(&[
            ("HOME", h),
            ("AWS_ACCESS_KEY_ID", "AKIAENV"),
            ("AWS_SECRET_ACCESS_KEY", "e"),
            ("AWS_REGION", "us-east-2"),
        ]))
        .expect("env");
        assert_eq!(c.credentials.expect("keys").key(), "AKIAENV");
        assert_eq!(c.region, "us-east-2");
        let e = S3Config::from_vars(vars(&[("HOME", h), ("AWS_PROFILE", "sso")]))
            .expect_err("sso is not read");
        assert!(
            e.0.contains("sso_session") && e.0.contains("export-credentials"),
            "{e}"
        );
        let e = S3Config::from_vars(vars(&[("HOME", h), ("AWS_PROFILE", "nope")]))
            .expect_err("no such profile");
        assert!(e.0.contains("AWS_PROFILE=nope: no such profile"), "{e}");
        // Half a key pair, with no profile to fall back on, is refused, not sent unsigned.
        let e =
            S3Config::from_vars(vars(&[("AWS_ACCESS_KEY_ID", "AKIAHALF")])).expect_err("no secret");
        assert_eq!(
            e.0,
            "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both (and \
             AWS_SESSION_TOKEN for temporary keys)"
        );
        let e = S3Config::from_vars(vars(&[("AWS_SECRET_ACCESS_KEY", "s")])).expect_err("no id");
        assert!(e.0.starts_with("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID"));
        // No files, no variables: unsigned requests to us-east-1.
        let c = S3Config::from_vars(vars(&[])).expect("nothing");
        assert!(c.credentials.is_none());
        assert_eq!(c.region, "us-east-1");
    }

    #[test]
    fn addresses() {
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
    }
}
