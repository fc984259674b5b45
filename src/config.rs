//! The configuration file: one TOML file (`--config FILE`, env `BURNRATE_CONFIG`), every
//! key overridable from the environment, every default documented on its field.
//!
//! ```toml
//! [recommendations]
//! lookback_hours = 720
//! min_coverage = 0.9
//! [recommendations.idle]
//! requests_per_minute_max = 0.01
//!
//! [webhooks]
//! max_attempts = 8
//! [[webhooks.endpoints]]
//! url = "http://127.0.0.1:9000/hooks"
//! secret = "whsec_..."
//! ```
//!
//! Environment overrides use `BURNRATE_` plus the key path joined by `__`:
//! `BURNRATE_RECOMMENDATIONS__MIN_COVERAGE=0.8`. Unknown keys are errors (a typo must not
//! silently fall back to a default), and the values are validated at start.

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use burnrate_dataflow::recommendations::RecommendationConfig;
use burnrate_sink::webhooks::WebhookConfig;
use figment::Figment;
use figment::providers::{Format, Toml};
use figment::value::Value;
use serde::Deserialize;

/// Everything the config file sets.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Thresholds and lookbacks of the recommendation rules (see
    /// `burnrate_dataflow::recommendations::config` for each key and its default).
    pub recommendations: RecommendationConfig,
    /// Webhook receivers, signing secrets and the retry policy.
    pub webhooks: WebhookConfig,
}

/// The sections the environment may override (other `BURNRATE_*` variables, such as
/// `BURNRATE_DATA_DIR`, belong to the command line).
const SECTIONS: [&str; 2] = ["recommendations", "webhooks"];

/// The overrides among environment variables: `BURNRATE_<SECTION>__<KEY>[__<KEY>...]`
/// (any case) becomes the key path `section.key...`, with its value read as TOML would
/// (`0.8` a number, `true` a boolean, anything else a string).
fn env_overrides(vars: impl Iterator<Item = (String, String)>) -> Vec<(String, Value, String)> {
    let mut out = Vec::new();
    for (name, raw) in vars {
        let upper = name.to_ascii_uppercase();
        let Some(rest) = upper.strip_prefix("BURNRATE_") else {
            continue;
        };
        let path = rest
            .to_ascii_lowercase()
            .split("__")
            .collect::<Vec<_>>()
            .join(".");
        if SECTIONS.iter().any(|s| path.starts_with(&format!("{s}."))) {
            let value = raw
                .parse::<Value>()
                .unwrap_or_else(|_| Value::from(raw.clone()));
            out.push((path, value, name));
        }
    }
    out
}

/// A figment error in the words of the settings the user wrote: each key with where its
/// value came from (the file, or the environment variable by its name), never figment's
/// profile or provider type names.
fn describe(e: figment::Error, file: Option<&Path>, vars: &[(String, Value, String)]) -> String {
    e.into_iter()
        .map(|e| {
            let key = e.path.join(".");
            let from_env = e
                .metadata
                .as_ref()
                .is_some_and(|m| !m.name.starts_with("TOML"));
            let origin = match (from_env, file) {
                (true, _) => vars
                    .iter()
                    .find(|(path, _, _)| *path == key)
                    .map(|(_, _, name)| format!("environment variable {name}"))
                    .unwrap_or_else(|| "the environment".into()),
                (false, Some(f)) => f.display().to_string(),
                (false, None) => "configuration".into(),
            };
            // figment quotes serde's list of names a second time (``a` or `b``).
            let kind = match &e.kind {
                figment::error::Kind::UnknownField(_, expected) => {
                    let keys = expected
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    return format!("{origin}: unknown key `{key}` (the keys here: {keys})");
                }
                figment::error::Kind::UnknownVariant(found, expected) => format!(
                    "unknown value `{found}`, expected one of {}",
                    expected
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                other => other.to_string(),
            };
            if key.is_empty() {
                format!("{origin}: {kind}")
            } else {
                format!("{origin}: key `{key}`: {kind}")
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl Config {
    /// Reads `path` (if given), applies the environment, and validates.
    pub fn load(path: Option<&Path>) -> Result<Config> {
        Config::load_from(path, std::env::vars())
    }

    /// `load` with the environment given.
    fn load_from(
        path: Option<&Path>,
        vars: impl Iterator<Item = (String, String)>,
    ) -> Result<Config> {
        let mut figment = Figment::new();
        if let Some(path) = path {
            if !path.is_file() {
                return Err(anyhow!("the config file {} does not exist", path.display()));
            }
            figment = figment.merge(Toml::file(path));
        }
        let vars = env_overrides(vars);
        for (key, value, _) in &vars {
            figment = figment.merge((key.as_str(), value.clone()));
        }
        let config: Config = figment
            .extract()
            .map_err(|e| anyhow!("{}", describe(e, path, &vars)))?;
        config
            .recommendations
            .validate()
            .map_err(|e| anyhow!("{e}"))?;
        config
            .webhooks
            .validate()
            .context("webhooks configuration")?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_names_become_key_paths() {
        let vars = [
            ("BURNRATE_RECOMMENDATIONS__MIN_COVERAGE", "0.8"),
            ("BURNRATE_RECOMMENDATIONS__IDLE__GPU_UTIL_BELOW_PCT", "3"),
            ("burnrate_webhooks__max_attempts", "4"),
            ("BURNRATE_DATA_DIR", "/tmp/x"),
            ("BURNRATE_LOG", "debug"),
            ("PATH", "/bin"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let got = env_overrides(vars.into_iter());
        let paths: Vec<&str> = got.iter().map(|(p, _, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "recommendations.min_coverage",
                "recommendations.idle.gpu_util_below_pct",
                "webhooks.max_attempts"
            ]
        );
        // Values are typed as TOML reads them, so they land in f64 and u32 fields.
        let mut figment = Figment::new();
        for (path, value, _) in got {
            figment = figment.merge((path, value));
        }
        let c: Config = figment.extract().expect("extract");
        assert_eq!(c.recommendations.min_coverage, 0.8);
        assert_eq!(c.recommendations.idle.gpu_util_below_pct, 3.0);
        assert_eq!(c.webhooks.max_attempts, 4);
    }

    #[test]
    fn a_file_sets_keys_and_unknown_keys_are_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("burnrate.toml");
        std::fs::write(
            &path,
            "[recommendations]\nmin_coverage = 0.8\n[recommendations.idle]\ngpu_util_below_pct = 3.0\n",
        )
        .expect("write");
        let c = Config::load(Some(&path)).expect("config");
        assert_eq!(c.recommendations.min_coverage, 0.8);
        assert_eq!(c.recommendations.idle.gpu_util_below_pct, 3.0);
        // Untouched keys keep their defaults.
        assert_eq!(c.recommendations.lookback_hours, 720);
        std::fs::write(&path, "[recommendations]\nmin_coverag = 0.8\n").expect("write");
        let e = Config::load(Some(&path)).expect_err("typo").to_string();
        assert!(
            e.contains(
                "unknown key `recommendations.min_coverag` (the keys here: \
                 `lookback_hours`, `min_coverage`,"
            ),
            "{e}"
        );
        assert!(!e.contains("``"), "{e}");
        assert!(e.contains(&path.display().to_string()), "{e}");
        assert!(!e.contains("default."), "{e}");
        std::fs::write(&path, "[recommendations]\nmin_coverage = 1.5\n").expect("write");
        let e = Config::load(Some(&path)).expect_err("range");
        assert!(e.to_string().contains("min_coverage"), "{e}");
        assert!(Config::load(Some(&dir.path().join("missing.toml"))).is_err());
    }

    #[test]
    fn a_bad_environment_value_names_its_variable() {
        let vars = [("BURNRATE_RECOMMENDATIONS__MIN_COVERAGE", "abc")]
            .map(|(k, v)| (k.to_string(), v.to_string()));
        let e = Config::load_from(None, vars.into_iter())
            .expect_err("not a number")
            .to_string();
        assert!(
            e.contains("environment variable BURNRATE_RECOMMENDATIONS__MIN_COVERAGE"),
            "{e}"
        );
        assert!(e.contains("recommendations.min_coverage"), "{e}");
        assert!(!e.contains("alloc::") && !e.contains("global."), "{e}");
    }
}
