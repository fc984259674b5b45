//! # burnrate (the composition library)
//!
//! What the `burnrate` binary composes, exposed so tests and benchmarks drive the same
//! code as the CLI: the embedded pipeline ([`engine`]). The subcommands themselves live in
//! the binary. `anyhow` is used here and in the binary only.

pub mod engine;
