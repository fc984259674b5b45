//! AWS Cost and Usage Reports. (Being written.)

use std::io::BufRead;
use std::path::PathBuf;

use crate::detect::Format;
use crate::error::IngestError;
use crate::read::{FileCtx, Options};
use crate::report::{Emit, FileReport};
use crate::table::Header;
use crate::Normalizer;

pub fn sniff(_header: &Header) -> Option<Format> {
    None
}

pub fn sniff_json(_value: &serde_json::Value) -> Option<Format> {
    None
}

pub fn normalizer(
    format: Format,
    _header: &Header,
    ctx: &FileCtx,
) -> Result<Box<dyn Normalizer>, IngestError> {
    Err(IngestError::Unreadable { path: ctx.path.clone(), reason: format!("{format} is not supported yet") })
}

pub fn read_manifest(
    _input: Box<dyn BufRead>,
    ctx: &FileCtx,
    _opts: &Options,
    _emit: &mut dyn Emit,
) -> Result<FileReport, IngestError> {
    Err(IngestError::Unreadable { path: ctx.path.clone(), reason: "manifests are not supported yet".into() })
}

pub fn leave_to_manifests(_files: &mut Vec<PathBuf>) {}
