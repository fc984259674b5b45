//! The I/O of Azure exports: scheduled Cost Management exports write their CSV files to a
//! Blob Storage container (`<container>/<folder>/<export>/<YYYYMMDD-YYYYMMDD>/<run id>/
//! part_*.csv`, or one `<export>_<guid>.csv` per run in older exports). This lists the
//! blobs under a prefix with the Blob service's REST API (`List Blobs`) and mirrors them
//! into a local folder tree (see [`crate::mirror`]), where this module's reader takes
//! them like any local export: a run's folder is one delivery, and a newer run of the
//! same period replaces the older.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use instant_xml::FromXml;
use url::Url;

use crate::mirror::{self, Listed, MirrorError, ObjectStore, SyncReport};

/// The Blob service version the requests speak (needed with a bearer token).
const API_VERSION: &str = "2021-08-06";

/// `az://ACCOUNT/CONTAINER/PREFIX`: the blobs whose names start with `PREFIX`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobLocation {
    pub account: String,
    pub container: String,
    pub prefix: String,
}

impl BlobLocation {
    /// `None` when `arg` is not an `az://` address.
    pub fn parse(arg: &str) -> Option<Result<BlobLocation, FetchError>> {
        let rest = arg.strip_prefix("az://")?;
        let mut parts = rest.splitn(3, '/');
        let account = parts.next().unwrap_or_default();
        let container = parts.next().unwrap_or_default();
        let prefix = parts.next().unwrap_or_default();
        if account.is_empty() || container.is_empty() {
            return Some(Err(FetchError(format!(
                "{arg}: an Azure Blob Storage address is az://ACCOUNT/CONTAINER/PREFIX"
            ))));
        }
        Some(Ok(BlobLocation {
            account: account.into(),
            container: container.into(),
            prefix: prefix.into(),
        }))
    }
}

impl std::fmt::Display for BlobLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "az://{}/{}/{}",
            self.account, self.container, self.prefix
        )
    }
}

/// How requests are authorized.
#[derive(Debug, Clone)]
pub enum BlobAuth {
    /// A shared access signature: its query string, appended to every request.
    Sas(String),
    /// A Microsoft Entra access token for `https://storage.azure.com/`.
    Bearer(String),
    /// A service principal's secret, exchanged for access tokens (client credentials
    /// flow) as they are needed and when they are about to expire.
    ClientSecret(Arc<ClientSecret>),
    /// A public container.
    Anonymous,
}

/// A service principal: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`, at
/// `AZURE_AUTHORITY_HOST` (default `https://login.microsoftonline.com`).
pub struct ClientSecret {
    authority: Url,
    tenant: String,
    client_id: String,
    secret: String,
    token: crate::oauth::TokenCache,
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSecret")
            .field("authority", &self.authority.as_str())
            .field("tenant", &self.tenant)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl ClientSecret {
    /// A token for Blob Storage: the one held while it has more than five minutes left,
    /// else a new one from the token endpoint.
    fn token(&self, agent: &ureq::Agent) -> Result<String, String> {
        self.token.get(|| {
            let url = format!(
                "{}/{}/oauth2/v2.0/token",
                self.authority.as_str().trim_end_matches('/'),
                self.tenant
            );
            crate::oauth::request(
                agent,
                &url,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", &self.client_id),
                    ("client_secret", &self.secret),
                    ("scope", "https://storage.azure.com/.default"),
                ],
                &format!("client {} in tenant {}", self.client_id, self.tenant),
            )
        })
    }
}

/// Where and as whom to reach Blob Storage.
#[derive(Debug, Clone)]
pub struct BlobConfig {
    /// The account's URL: `https://ACCOUNT.blob.core.windows.net`, or another server's.
    pub account_url: Url,
    pub auth: BlobAuth,
}

impl BlobConfig {
    /// From the environment: `AZURE_STORAGE_SAS_TOKEN` (a SAS with read and list rights),
    /// else `AZURE_STORAGE_TOKEN` (as `az account get-access-token --resource
    /// https://storage.azure.com/` prints it), else a service principal
    /// (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`), else anonymous; `AZURE_STORAGE_BLOB_ENDPOINT`
    /// for another server (the account's URL, as Azurite's
    /// `http://127.0.0.1:10000/devstoreaccount1`).
    pub fn from_env(account: &str) -> Result<BlobConfig, FetchError> {
        BlobConfig::from_vars(account, |name| std::env::var(name).ok())
    }

    /// [`BlobConfig::from_env`] over any source of variables.
    pub fn from_vars(
        account: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<BlobConfig, FetchError> {
        let var = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let url = var("AZURE_STORAGE_BLOB_ENDPOINT")
            .unwrap_or_else(|| format!("https://{account}.blob.core.windows.net"));
        let account_url = Url::parse(url.trim_end_matches('/'))
            .map_err(|e| FetchError(format!("the Blob endpoint {url:?} is not a URL: {e}")))?;
        if account_url.scheme() == "https" && !cfg!(feature = "https") {
            return Err(FetchError(format!(
                "{account_url} is https, and this burnrate was built without TLS: build it \
                 with its default features (or `--features https`)"
            )));
        }
        let principal = (
            var("AZURE_TENANT_ID"),
            var("AZURE_CLIENT_ID"),
            var("AZURE_CLIENT_SECRET"),
        );
        let auth = match (
            var("AZURE_STORAGE_SAS_TOKEN"),
            var("AZURE_STORAGE_TOKEN"),
            principal,
        ) {
            (Some(sas), _, _) => BlobAuth::Sas(sas.trim_start_matches('?').to_string()),
            (None, Some(token), _) => BlobAuth::Bearer(token),
            (None, None, (Some(tenant), Some(client_id), Some(secret))) => {
                let host = var("AZURE_AUTHORITY_HOST")
                    .unwrap_or_else(|| "https://login.microsoftonline.com".into());
                let authority = Url::parse(&host).map_err(|e| {
                    FetchError(format!("AZURE_AUTHORITY_HOST={host:?} is not a URL: {e}"))
                })?;
                BlobAuth::ClientSecret(Arc::new(ClientSecret {
                    authority,
                    tenant,
                    client_id,
                    secret,
                    token: crate::oauth::TokenCache::default(),
                }))
            }
            (None, None, (None, None, None)) => BlobAuth::Anonymous,
            // Part of a service principal would otherwise send anonymous requests.
            (None, None, (tenant, client_id, secret)) => {
                let missing: Vec<&str> = [
                    ("AZURE_TENANT_ID", tenant.is_none()),
                    ("AZURE_CLIENT_ID", client_id.is_none()),
                    ("AZURE_CLIENT_SECRET", secret.is_none()),
                ]
                .into_iter()
                .filter_map(|(name, missing)| missing.then_some(name))
                .collect();
                return Err(FetchError(format!(
                    "a service principal needs AZURE_TENANT_ID, AZURE_CLIENT_ID and \
                     AZURE_CLIENT_SECRET; {} not set",
                    missing.join(" and ")
                )));
            }
        };
        Ok(BlobConfig { account_url, auth })
    }
}

/// A wrong Blob Storage address or configuration.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FetchError(pub String);

/// `List Blobs` as far as it is read.
#[derive(Debug, FromXml)]
#[xml(rename = "EnumerationResults")]
struct EnumerationResults {
    blobs: Option<Blobs>,
    #[xml(rename = "NextMarker")]
    next_marker: Option<String>,
}

#[derive(Debug, FromXml)]
#[xml(rename = "Blobs")]
struct Blobs {
    blob: Vec<Blob>,
}

#[derive(Debug, FromXml)]
#[xml(rename = "Blob")]
struct Blob {
    #[xml(rename = "Name")]
    name: String,
    properties: Properties,
}

#[derive(Debug, FromXml)]
#[xml(rename = "Properties")]
struct Properties {
    #[xml(rename = "Last-Modified")]
    last_modified: Option<String>,
    #[xml(rename = "Content-Length")]
    content_length: Option<u64>,
    #[xml(rename = "Etag")]
    etag: Option<String>,
}

/// One container prefix as an [`ObjectStore`].
struct Container<'a> {
    config: &'a BlobConfig,
    location: &'a BlobLocation,
    agent: ureq::Agent,
}

impl Container<'_> {
    /// `url` with `params` (encoded here) and the SAS (already encoded) as its query.
    fn with_query(&self, mut url: Url, params: &[(&str, &str)]) -> String {
        url.set_query(None);
        let mut query: Vec<String> = params
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
                )
            })
            .collect();
        if let BlobAuth::Sas(sas) = &self.config.auth {
            query.push(sas.clone());
        }
        if !query.is_empty() {
            url.set_query(Some(&query.join("&")));
        }
        url.into()
    }

    fn headers(&self) -> Result<Vec<(&'static str, String)>, String> {
        let mut headers = vec![("x-ms-version", API_VERSION.to_string())];
        match &self.config.auth {
            BlobAuth::Bearer(token) => headers.push(("authorization", format!("Bearer {token}"))),
            BlobAuth::ClientSecret(principal) => headers.push((
                "authorization",
                format!("Bearer {}", principal.token(&self.agent)?),
            )),
            BlobAuth::Sas(_) | BlobAuth::Anonymous => {}
        }
        Ok(headers)
    }

    fn get(&self, url: &str) -> Result<ureq::http::Response<ureq::Body>, String> {
        let headers = self.headers()?;
        let pairs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        mirror::get(&self.agent, url, &pairs)
    }

    /// The URL of the container, or of a blob in it.
    fn url(&self, blob: Option<&str>) -> Result<Url, String> {
        let mut url = self.config.account_url.clone();
        {
            let mut segments = url
                .path_segments_mut()
                .map_err(|()| format!("{} cannot hold a path", self.config.account_url))?;
            segments.pop_if_empty().push(&self.location.container);
            if let Some(blob) = blob {
                segments.extend(blob.split('/'));
            }
        }
        Ok(url)
    }
}

impl ObjectStore for Container<'_> {
    fn name(&self) -> String {
        format!("az://{}/{}", self.location.account, self.location.container)
    }

    fn location(&self) -> String {
        self.location.to_string()
    }

    fn list(&self) -> Result<Vec<Listed>, String> {
        let mut objects = Vec::new();
        let mut marker: Option<String> = None;
        let mut seen = std::collections::BTreeSet::new();
        loop {
            let mut params = vec![("restype", "container"), ("comp", "list")];
            if !self.location.prefix.is_empty() {
                params.push(("prefix", self.location.prefix.as_str()));
            }
            if let Some(m) = &marker {
                params.push(("marker", m.as_str()));
            }
            let url = self.with_query(self.url(None)?, &params);
            let text = mirror::text(self.get(&url)?)?;
            let page: EnumerationResults =
                instant_xml::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| {
                    format!("the listing is not the Blob service's List Blobs XML: {e}")
                })?;
            for blob in page.blobs.map(|b| b.blob).unwrap_or_default() {
                let modified = blob
                    .properties
                    .last_modified
                    .as_deref()
                    .and_then(|t| chrono::DateTime::parse_from_rfc2822(t).ok())
                    .map(SystemTime::from);
                objects.push(Listed {
                    key: blob.name,
                    size: blob.properties.content_length.unwrap_or(0),
                    modified,
                    etag: blob.properties.etag.filter(|t| !t.is_empty()),
                });
            }
            match page.next_marker {
                Some(m) if !m.is_empty() => marker = Some(mirror::next_page(&mut seen, m)?),
                _ => return Ok(objects),
            }
        }
    }

    fn download(&self, key: &str, to: &mut dyn Write) -> Result<u64, String> {
        let url = self.with_query(self.url(Some(key))?, &[]);
        mirror::copy_body(self.get(&url)?, to)
    }
}

/// Mirrors the blobs under `location` into `root` (a blob `k` becomes `root/k`; see
/// [`crate::mirror`]).
pub fn sync(
    config: &BlobConfig,
    location: &BlobLocation,
    root: &Path,
) -> Result<SyncReport, MirrorError> {
    let container = Container {
        config,
        location,
        agent: mirror::agent(),
    };
    mirror::mirror(&container, root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert!(BlobLocation::parse("/tmp/x").is_none());
        let loc = BlobLocation::parse("az://acct/exports/cost/daily/")
            .and_then(Result::ok)
            .expect("parses");
        assert_eq!(
            (
                loc.account.as_str(),
                loc.container.as_str(),
                loc.prefix.as_str()
            ),
            ("acct", "exports", "cost/daily/")
        );
        assert!(matches!(BlobLocation::parse("az://acct"), Some(Err(_))));
        assert!(matches!(BlobLocation::parse("az:///c/p"), Some(Err(_))));
    }

    #[test]
    fn part_of_a_service_principal_is_refused_naming_what_is_missing() {
        let vars = |list: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                list.iter()
                    .chain(&[("AZURE_STORAGE_BLOB_ENDPOINT", "http://127.0.0.1:9/acct")])
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let e = BlobConfig::from_vars("acct", vars(&[("AZURE_TENANT_ID", "t")]))
            .expect_err("tenant alone");
        assert_eq!(
            e.0,
            "a service principal needs AZURE_TENANT_ID, AZURE_CLIENT_ID and \
             AZURE_CLIENT_SECRET; AZURE_CLIENT_ID and AZURE_CLIENT_SECRET not set"
        );
        let e = BlobConfig::from_vars(
            "acct",
            vars(&[("AZURE_TENANT_ID", "t"), ("AZURE_CLIENT_ID", "c")]),
        )
        .expect_err("no secret");
        assert!(e.0.ends_with("; AZURE_CLIENT_SECRET not set"), "{e}");
        // A SAS wins over a half-set principal; nothing at all is anonymous.
        let c = BlobConfig::from_vars(
            "acct",
            vars(&[
                ("AZURE_STORAGE_SAS_TOKEN", "?sv=1"),
                ("AZURE_CLIENT_ID", "c"),
            ]),
        )
        .expect("sas");
        assert!(matches!(c.auth, BlobAuth::Sas(ref q) if q == "sv=1"));
        let c = BlobConfig::from_vars("acct", vars(&[])).expect("anonymous");
        assert!(matches!(c.auth, BlobAuth::Anonymous));
    }

    /// A List Blobs answer as the service writes it (attributes, elements this reader does
    /// not use, a BlobPrefix, a marker).
    #[test]
    fn a_listing_is_read_with_what_is_needed() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="https://acct.blob.core.windows.net/" ContainerName="exports"><Prefix>cost/</Prefix><MaxResults>5000</MaxResults><Blobs><Blob><Name>cost/daily/20240301-20240331/run-1/part_0_0001.csv</Name><Properties><Creation-Time>Tue, 05 Mar 2024 10:00:00 GMT</Creation-Time><Last-Modified>Tue, 05 Mar 2024 10:00:01 GMT</Last-Modified><Etag>0x8DC3C</Etag><Content-Length>1234</Content-Length><Content-Type>text/csv</Content-Type><BlobType>BlockBlob</BlobType></Properties><OrMetadata /></Blob><BlobPrefix><Name>cost/other/</Name></BlobPrefix></Blobs><NextMarker>2!96!abc</NextMarker></EnumerationResults>"#;
        let page: EnumerationResults = instant_xml::from_str(xml).expect("reads");
        let blobs = page.blobs.expect("blobs").blob;
        assert_eq!(blobs.len(), 1);
        assert_eq!(
            blobs[0].name,
            "cost/daily/20240301-20240331/run-1/part_0_0001.csv"
        );
        assert_eq!(blobs[0].properties.content_length, Some(1234));
        let t = chrono::DateTime::parse_from_rfc2822(
            blobs[0].properties.last_modified.as_deref().expect("time"),
        )
        .expect("rfc 2822");
        assert_eq!(t.to_rfc3339(), "2024-03-05T10:00:01+00:00");
        assert_eq!(page.next_marker.as_deref(), Some("2!96!abc"));
    }
}
