//! One module per subcommand.

pub mod demo;
pub mod generate;
pub mod ingest;
pub mod live;
pub mod run;
pub mod serve;
pub mod summary;

/// A count of threads: at least one (`--workers 0` is a mistake, not "as few as possible").
pub fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}
