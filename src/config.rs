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

use anyhow::{Result, anyhow};
use burnrate_dataflow::recommendations::RecommendationConfig;
use burnrate_sink::webhooks::{WebhookConfig, WebhookError};
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
///
/// A variable in the override form (`BURNRATE_` and a `__` in its name) whose section is
/// none of [`SECTIONS`] is refused, as an unknown key in the file is: a misspelled
/// `BURNRATE_RECOMMENDATION__MIN_COVERAGE` silently ignored would leave the default in
/// force.
fn env_overrides(
    vars: impl Iterator<Item = (String, String)>,
) -> Result<Vec<(String, Value, String)>> {
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
        } else if rest.contains("__") {
            let section = path.split('.').next().unwrap_or_default();
            return Err(anyhow!(
                "environment variable {name}: unknown section `{section}`; the sections are {}",
                SECTIONS.join(", ")
            ));
        }
    }
    Ok(out)
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

/// Where the value of `key` (a dotted path) came from: the environment variable that set
/// it or one of its parents, else one that set another key `why` names (a contradiction
/// between two keys), else the file, else the defaults.
fn origin(key: &str, why: &str, file: Option<&Path>, vars: &[(String, Value, String)]) -> String {
    let covers = |path: &str| key == path || key.starts_with(&format!("{path}."));
    let parent = |path: &str| path.starts_with(&format!("{key}."));
    let named = |path: &str| {
        path.rsplit('.').next().is_some_and(|leaf| {
            why.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|w| w == leaf)
        })
    };
    let set_by = vars
        .iter()
        .rev()
        .find(|(p, _, _)| covers(p) || parent(p))
        .or_else(|| vars.iter().rev().find(|(p, _, _)| named(p)));
    if let Some((_, _, name)) = set_by {
        return format!("environment variable {name}");
    }
    match file {
        Some(f) => format!("{}: key `{key}`", f.display()),
        None => format!("the defaults: key `{key}`"),
    }
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
        let vars = env_overrides(vars)?;
        for (key, value, _) in &vars {
            figment = figment.merge((key.as_str(), value.clone()));
        }
        let config: Config = figment
            .extract()
            .map_err(|e| anyhow!("{}", describe(e, path, &vars)))?;
        // A value out of range is named with where it was set, as a wrong type is.
        let problems: Vec<String> = config
            .recommendations
            .problems()
            .into_iter()
            .map(|(key, why)| format!("{}: {why}", origin(&key, &why, path, &vars)))
            .collect();
        if !problems.is_empty() {
            return Err(anyhow!("{}", problems.join("; ")));
        }
        if let Err(e) = config.webhooks.validate() {
            let key = match &e {
                WebhookError::InvalidEndpoint { .. } => "webhooks.endpoints".to_string(),
                other => other
                    .to_string()
                    .split_whitespace()
                    .find(|w| w.starts_with("webhooks."))
                    .unwrap_or("webhooks")
                    .trim_end_matches(|c: char| !c.is_alphanumeric() && c != '_')
                    .to_string(),
            };
            return Err(anyhow!(
                "{}: {e}",
                origin(&key, &e.to_string(), path, &vars)
            ));
        }
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
        let got = env_overrides(vars.into_iter()).expect("known sections");
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

#[cfg(test)]
mod validation_tests {
    use super::*;

    fn load(file: Option<&str>, vars: &[(&str, &str)]) -> Result<Config> {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("burnrate.toml");
        if let Some(text) = file {
            std::fs::write(&path, text).expect("write");
        }
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::load_from(file.map(|_| path.as_path()), vars.into_iter())
    }

    #[test]
    fn a_value_out_of_range_names_its_key_and_the_file_it_is_in() {
        let e = load(Some("[recommendations]\nmin_coverage = 1.5\n"), &[])
            .expect_err("range")
            .to_string();
        assert!(
            e.contains("burnrate.toml: key `recommendations.min_coverage`"),
            "{e}"
        );
        let e = load(Some("[webhooks]\nmax_attempts = 0\n"), &[])
            .expect_err("zero")
            .to_string();
        assert!(
            e.contains("burnrate.toml: key `webhooks.max_attempts`"),
            "{e}"
        );
    }

    #[test]
    fn a_value_out_of_range_from_the_environment_names_the_variable() {
        let e = load(
            Some("[recommendations]\nmin_coverage = 0.5\n"),
            &[("BURNRATE_RECOMMENDATIONS__MIN_COVERAGE", "7")],
        )
        .expect_err("range")
        .to_string();
        assert!(
            e.starts_with("environment variable BURNRATE_RECOMMENDATIONS__MIN_COVERAGE:"),
            "{e}"
        );
        // A contradiction with a default is named by the variable that caused it.
        let e = load(None, &[("BURNRATE_WEBHOOKS__MAX_BACKOFF", "1ms")])
            .expect_err("backoff")
            .to_string();
        assert!(
            e.starts_with("environment variable BURNRATE_WEBHOOKS__MAX_BACKOFF:"),
            "{e}"
        );
    }

    #[test]
    fn nested_thresholds_nan_negative_or_contradictory_are_refused() {
        for (text, key) in [
            (
                "[recommendations.idle]\nrequests_per_minute_max = nan\n",
                "recommendations.idle.requests_per_minute_max",
            ),
            (
                "[recommendations.idle]\ngpu_util_below_pct = -5.0\n",
                "recommendations.idle.gpu_util_below_pct",
            ),
            (
                "[recommendations.autoscale]\npeak_to_mean_min = inf\n",
                "recommendations.autoscale.peak_to_mean_min",
            ),
            (
                "[recommendations.schedule]\nmin_slot_minutes = -5\n",
                "recommendations.schedule.min_slot_minutes",
            ),
            (
                "[recommendations.schedule]\nmin_observed_hours = 9999\n",
                "recommendations.schedule.min_observed_hours",
            ),
            (
                "[recommendations.rightsize]\ngpu_active_below_pct = 90.0\ntarget_gpu_pct = 50.0\n",
                "recommendations.rightsize.gpu_active_below_pct",
            ),
            (
                "[recommendations.priority]\nmedium_monthly_savings = 5000.0\n",
                "recommendations.priority.medium_monthly_savings",
            ),
        ] {
            let e = load(Some(text), &[]).expect_err(text).to_string();
            assert!(e.contains(&format!("key `{key}`")), "{text}: {e}");
        }
        // The documented defaults pass, and so do edge values.
        assert!(load(None, &[]).is_ok());
        assert!(
            load(
                Some(
                    "[recommendations.schedule]\nmin_slot_minutes = 60\nmin_observed_hours = 168\n"
                ),
                &[]
            )
            .is_ok()
        );
    }

    #[test]
    fn an_override_for_an_unknown_section_is_refused() {
        let e = load(None, &[("BURNRATE_RECOMMENDATION__MIN_COVERAGE", "0.5")])
            .expect_err("typo")
            .to_string();
        assert!(
            e.contains("BURNRATE_RECOMMENDATION__MIN_COVERAGE: unknown section `recommendation`"),
            "{e}"
        );
        // The command line's own variables are no overrides.
        assert!(
            load(
                None,
                &[("BURNRATE_DATA_DIR", "/x"), ("BURNRATE_LOG", "debug")]
            )
            .is_ok()
        );
    }
}
