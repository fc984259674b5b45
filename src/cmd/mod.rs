//! One module per subcommand.

pub mod ingest;
