//! S3: where AWS delivers billing exports (legacy CUR, CUR 2.0 and FOCUS Data Exports), and
//! where many teams drop other providers' exports too.
//!
//! A delivery on S3 is a set of objects under a prefix, laid out like folders: a CUR
//! report writes `<prefix>/<report>/<yyyymmdd-yyyymmdd>/<assembly-id>/<report>-<n>.csv.gz`
//! plus a `-Manifest.json` per assembly; Data Exports write
//! `<prefix>/<export>/data/BILLING_PERIOD=<yyyy-mm>/<file>` with a `metadata/` manifest.
//! burnrate reads files by folder (a folder is one delivery), so [`fetch::sync`] mirrors
//! the objects under a prefix into a local folder tree with the same shape, and the usual
//! readers take it from there: the formats are detected from content, manifests assemble
//! their parts, and a restated period replaces the old one.
//!
//! The mirror is kept in step, folder by folder, as [`crate::mirror`] describes.
//!
//! Endpoint, region and credentials come from the standard AWS environment variables
//! ([`fetch::S3Config::from_env`]); requests are signed with AWS Signature Version 4 by
//! `rusty-s3` and sent with `ureq`.

pub mod fetch;

pub use crate::mirror::SyncReport;
pub use fetch::{FetchError, S3Config, S3Location, sync};
