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
                    .map_err(|e| FetchError(format!("{name}={v:?} is not a URL: {e}")))?,
                true,
            ),
            None => (
                Url::parse(&format!("https://s3.{region}.amazonaws.com")).map_err(|e| {
                    FetchError(format!("AWS_REGION={region:?} makes no endpoint: {e}"))
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
            credentials: Credentials::from_env(),
        })
    }
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

    fn list(&self) -> Result<Vec<Listed>, String> {
        let mut objects = Vec::new();
        let mut token: Option<String> = None;
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
                });
            }
            match page.next_continuation_token {
                Some(t) if !t.is_empty() => token = Some(t),
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
    mirror::mirror(&prefix, root).map_err(|e| match e {
        // Name the prefix, not only the bucket.
        MirrorError::List { reason, .. } => MirrorError::List {
            store: location.to_string(),
            reason,
        },
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
