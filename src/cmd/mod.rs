//! One module per subcommand.

pub mod demo;
pub mod generate;
pub mod ingest;
pub mod live;
pub mod run;
pub mod serve;
pub mod summary;
