//! (Being written.)

use crate::detect::Format;
use crate::error::IngestError;
use crate::read::FileCtx;
use crate::table::Header;
use crate::Normalizer;

pub fn sniff(_header: &Header) -> Option<Format> {
    None
}

pub fn normalizer(_header: &Header, ctx: &FileCtx) -> Result<Box<dyn Normalizer>, IngestError> {
    Err(IngestError::Unreadable { path: ctx.path.clone(), reason: "not supported yet".into() })
}
