//! GCP BigQuery billing export. (Being written.)

use std::io::BufRead;

use crate::detect::Format;
use crate::error::IngestError;
use crate::read::FileCtx;
use crate::report::Out;
use crate::table::Header;
use crate::Normalizer;

pub fn sniff(_header: &Header) -> Option<Format> {
    None
}

pub fn sniff_json(_value: &serde_json::Value) -> Option<Format> {
    None
}

pub fn normalizer(_header: &Header, ctx: &FileCtx) -> Result<Box<dyn Normalizer>, IngestError> {
    Err(IngestError::Unreadable { path: ctx.path.clone(), reason: "not supported yet".into() })
}

pub fn read_jsonl(_input: Box<dyn BufRead>, ctx: &FileCtx, _out: &mut Out<'_>) -> Result<(), IngestError> {
    Err(IngestError::Unreadable { path: ctx.path.clone(), reason: "not supported yet".into() })
}
