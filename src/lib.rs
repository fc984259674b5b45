//! # burnrate (the composition library)
//!
//! What the `burnrate` binary composes, exposed so tests and benchmarks drive the same
//! code as the CLI: the embedded pipeline ([`engine`]) and the adapters that let the API
//! read the stores ([`stores`]). The subcommands themselves live in
//! the binary. `anyhow` is used here and in the binary only.

pub mod config;
pub mod engine;
pub mod stores;
