//! Errors: a whole file that cannot be read (`IngestError`) and one bad row (`RowError`).
//!
//! A bad row never stops the good ones: it becomes a `RowError` in the file's report,
//! naming the file, the 1-based data row and the column, and reading goes on.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// One rejected row: where it is and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub file: String,
    /// 1-based data row (line for JSON lines and Prometheus text); 0 for the file itself.
    pub row: u64,
    /// The column (or JSON field) at fault, as written in the file, when one is.
    pub column: Option<String>,
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(c) => write!(
                f,
                "{} row {} column {:?}: {}",
                self.file, self.row, c, self.reason
            ),
            None => write!(f, "{} row {}: {}", self.file, self.row, self.reason),
        }
    }
}

impl std::error::Error for RowError {}

/// Why a whole file could not be ingested.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a known billing or metrics format ({detail})")]
    UnknownFormat { path: PathBuf, detail: String },
    #[error("{path}: {format} file is missing required column(s) {missing}")]
    MissingColumns {
        path: PathBuf,
        format: String,
        missing: String,
    },
    #[error("{path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
}

impl IngestError {
    /// A JSON-lines file whose last line has no line end and is not whole JSON: it was cut
    /// short (a partial download, a file still being written), so none of it may stand for
    /// the file, and what it gave before stays.
    pub fn cut_json_line(
        path: &std::path::Path,
        line: u64,
        error: &serde_json::Error,
    ) -> IngestError {
        IngestError::Unreadable {
            path: path.to_path_buf(),
            reason: format!(
                "the file breaks off at line {line}: its last line has no line end and is not \
                 whole JSON ({error}); the file was cut short, none of it is read"
            ),
        }
    }
}
