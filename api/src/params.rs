//! Query parameters: parsed from the raw query string, validated into runtime types.
//!
//! Rules (the same for every endpoint):
//! - List filters are repeated keys: `cloud_provider=aws&cloud_provider=gcp`. Single-valued
//!   parameters given twice are a 400 (which one was meant is unknowable).
//! - Unknown parameter names are a 400: a misspelled `start_dat=` silently answering for
//!   the default range would be worse than an error.
//! - Dates are `YYYY-MM-DD`, UTC days, both ends inclusive. Defaults: `end_date` is today
//!   (UTC); `start_date` is `end_date` minus 29 days, so the default range is the 30 days
//!   ending today. `end_date` before `start_date` is a 400.
//! - `scope=ai|all` (default `ai`), `cost_type=billed|effective` (default `billed`),
//!   `granularity=daily|weekly|monthly` (default `daily`). Values are case-insensitive.
//! - `cloud_provider` must be a provider code (`aws`, `azure`, `gcp`, `oci`, `other`);
//!   `service_type` matches a service code or name, `account_id` an account id, exactly.

use chrono::{Duration, NaiveDate};

use crate::error::AppError;
use crate::summary::{CostQuery, CostType, Scope};

/// Days in the default range (ending today, inclusive).
pub const DEFAULT_RANGE_DAYS: i64 = 30;

/// The provider codes `cloud_provider` accepts.
pub const PROVIDERS: [&str; 5] = ["aws", "azure", "gcp", "oci", "other"];

/// The parameters of the summary and trends selections.
pub const COST_QUERY_PARAMS: [&str; 7] = [
    "start_date",
    "end_date",
    "cloud_provider",
    "service_type",
    "account_id",
    "scope",
    "cost_type",
];

/// A query string as its `(name, value)` pairs, in order, percent-decoded.
#[derive(Debug, Clone, Default)]
pub struct RawParams {
    pairs: Vec<(String, String)>,
}

impl RawParams {
    /// Parameters given as pairs (a command line's flags), read as a query string's are.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> RawParams {
        RawParams { pairs }
    }

    pub fn parse(query: Option<&str>) -> RawParams {
        RawParams {
            pairs: query
                .map(|q| {
                    form_urlencoded::parse(q.as_bytes())
                        .map(|(k, v)| (k.into_owned(), v.into_owned()))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// Rejects any parameter not in `known`.
    pub fn reject_unknown(&self, known: &[&str]) -> Result<(), AppError> {
        match self
            .pairs
            .iter()
            .find(|(k, _)| !known.contains(&k.as_str()))
        {
            Some((k, v)) => Err(AppError::invalid_parameter(
                k,
                v,
                format!(
                    "unknown query parameter {k:?}; this endpoint accepts: {}",
                    known.join(", ")
                ),
            )),
            None => Ok(()),
        }
    }

    /// The value of a single-valued parameter, if given.
    pub fn single(&self, name: &str) -> Result<Option<&str>, AppError> {
        let mut values = self.pairs.iter().filter(|(k, _)| k == name);
        let first = values.next();
        if let Some((_, second)) = values.next() {
            return Err(AppError::invalid_parameter(
                name,
                second,
                format!("{name} may be given once"),
            ));
        }
        Ok(first.map(|(_, v)| v.as_str()))
    }

    /// A whole-number parameter in `[min, max]`, if given.
    pub fn whole_number(
        &self,
        name: &str,
        min: usize,
        max: usize,
    ) -> Result<Option<usize>, AppError> {
        let Some(v) = self.single(name)? else {
            return Ok(None);
        };
        match v.trim().parse::<usize>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(AppError::invalid_parameter(
                name,
                v,
                if max == usize::MAX {
                    format!("{name} must be a whole number, {min} or more, got {v:?}")
                } else {
                    format!("{name} must be a whole number from {min} to {max}, got {v:?}")
                },
            )),
        }
    }

    /// Every value of a repeated parameter. Empty values are a 400: `account_id=` most
    /// likely means a template left unfilled, not "no filter".
    pub fn list(&self, name: &str) -> Result<Vec<String>, AppError> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| {
                if v.trim().is_empty() {
                    Err(AppError::invalid_parameter(
                        name,
                        v,
                        format!("{name} must not be empty (leave it out to select everything)"),
                    ))
                } else {
                    Ok(v.clone())
                }
            })
            .collect()
    }

    /// A `YYYY-MM-DD` date parameter.
    pub fn date(&self, name: &str) -> Result<Option<NaiveDate>, AppError> {
        self.single(name)?
            .map(|v| {
                parse_ymd(v).ok_or_else(|| {
                    AppError::invalid_parameter(
                        name,
                        v,
                        format!(
                            "{name} must be a calendar date written YYYY-MM-DD (such as \
                             2024-03-01), got {v:?}"
                        ),
                    )
                })
            })
            .transpose()
    }

    /// One of a fixed set of words (case-insensitive).
    pub fn choice<T: Copy>(
        &self,
        name: &str,
        options: &[(&str, T)],
    ) -> Result<Option<T>, AppError> {
        self.single(name)?
            .map(|v| {
                options
                    .iter()
                    .find(|(word, _)| word.eq_ignore_ascii_case(v))
                    .map(|(_, t)| *t)
                    .ok_or_else(|| {
                        let words: Vec<&str> = options.iter().map(|(w, _)| *w).collect();
                        AppError::invalid_parameter(
                            name,
                            v,
                            format!("{name} must be one of {}, got {v:?}", words.join(", ")),
                        )
                    })
            })
            .transpose()
    }
}

impl RawParams {
    /// Every value of a repeated parameter, each one of a fixed set of words
    /// (case-insensitive); anything else is a 400 naming the parameter and the words.
    pub fn choices<T: Copy>(&self, name: &str, options: &[(&str, T)]) -> Result<Vec<T>, AppError> {
        self.list(name)?
            .iter()
            .map(|v| {
                options
                    .iter()
                    .find(|(word, _)| word.eq_ignore_ascii_case(v))
                    .map(|(_, t)| *t)
                    .ok_or_else(|| {
                        let words: Vec<&str> = options.iter().map(|(w, _)| *w).collect();
                        AppError::invalid_parameter(
                            name,
                            v,
                            format!("{name} must be one of {}, got {v:?}", words.join(", ")),
                        )
                    })
            })
            .collect()
    }
}

/// The inclusive day range from optional ends, with the documented defaults.
pub fn date_range(
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<(NaiveDate, NaiveDate), AppError> {
    let end = end.unwrap_or(today);
    let start = match start {
        Some(s) => s,
        None => end
            .checked_sub_signed(Duration::days(DEFAULT_RANGE_DAYS - 1))
            .unwrap_or(NaiveDate::MIN),
    };
    if end < start {
        return Err(AppError::invalid_parameter(
            "end_date",
            &end.to_string(),
            format!("end_date {end} is before start_date {start}"),
        ));
    }
    Ok((start, end))
}

pub const SCOPES: [(&str, Scope); 2] = [("ai", Scope::Ai), ("all", Scope::All)];
pub const COST_TYPES: [(&str, CostType); 2] = [
    ("billed", CostType::Billed),
    ("effective", CostType::Effective),
];

/// The summary/trends selection of a request. `extra` names further parameters the
/// endpoint accepts (parsed by its caller).
pub fn cost_query(p: &RawParams, extra: &[&str], today: NaiveDate) -> Result<CostQuery, AppError> {
    let known: Vec<&str> = COST_QUERY_PARAMS.iter().chain(extra).copied().collect();
    p.reject_unknown(&known)?;
    let (start, end) = date_range(p.date("start_date")?, p.date("end_date")?, today)?;
    Ok(CostQuery {
        start,
        end,
        providers: provider_codes(p.list("cloud_provider")?)?,
        services: p.list("service_type")?,
        accounts: p.list("account_id")?,
        scope: p.choice("scope", &SCOPES)?.unwrap_or_default(),
        cost_type: p.choice("cost_type", &COST_TYPES)?.unwrap_or_default(),
    })
}

/// Provider filters as lowercase codes; anything else is a 400 on `cloud_provider`.
pub fn provider_codes(values: Vec<String>) -> Result<Vec<String>, AppError> {
    values
        .into_iter()
        .map(|v| {
            PROVIDERS
                .iter()
                .find(|c| c.eq_ignore_ascii_case(&v))
                .map(|c| c.to_string())
                .ok_or_else(|| {
                    AppError::invalid_parameter(
                        "cloud_provider",
                        &v,
                        format!(
                            "cloud_provider must be one of {}, got {v:?}",
                            PROVIDERS.join(", ")
                        ),
                    )
                })
        })
        .collect()
}

/// One path segment of a route (`{resource_id}`, `{id}`, `{event_id}`), percent-decoded.
/// A segment that does not decode to UTF-8 (`%FF`) is a 400 problem naming it, as a bad
/// query parameter is, instead of axum's plain-text rejection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Segment {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Segment, AppError> {
        use axum::extract::path::ErrorKind;
        use axum::extract::rejection::PathRejection;
        match axum::extract::Path::<String>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Segment(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => match e.kind() {
                ErrorKind::InvalidUtf8InPathParam { key } => {
                    let raw = raw_segment(parts, key).unwrap_or_default();
                    Err(AppError::invalid_path_segment(
                        key,
                        &raw,
                        format!("{key} must be UTF-8 once percent-decoded, got {raw:?}"),
                    ))
                }
                _ => Err(AppError::invalid_path_segment(
                    "path",
                    parts.uri.path(),
                    e.body_text(),
                )),
            },
            Err(e) => Err(AppError::internal(e.body_text())),
        }
    }
}

/// The segment of the request's path (still percent-encoded) where the route has `{key}`.
fn raw_segment(parts: &axum::http::request::Parts, key: &str) -> Option<String> {
    let template = parts.extensions.get::<axum::extract::MatchedPath>()?;
    let at = template
        .as_str()
        .split('/')
        .position(|s| s == format!("{{{key}}}"))?;
    parts.uri.path().split('/').nth(at).map(str::to_string)
}

/// A date written exactly `YYYY-MM-DD` (chrono's `%Y` alone also takes a sign and more
/// than four digits: `-0001-01-01`, `02024-03-01`).
pub fn parse_ymd(v: &str) -> Option<NaiveDate> {
    let shaped = v.len() == 10
        && v.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shaped {
        return None;
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d").ok()
}

/// Today as a UTC day./// Today as a UTC day.
pub fn today_utc() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    fn query(q: &str) -> Result<CostQuery, AppError> {
        cost_query(&RawParams::parse(Some(q)), &[], d("2024-03-31"))
    }

    #[test]
    fn repeated_keys_are_lists_and_values_are_decoded() {
        let q = query(
            "start_date=2024-03-01&end_date=2024-03-05&cloud_provider=aws&cloud_provider=GCP\
             &service_type=Amazon%20Bedrock&service_type=Vertex+AI&account_id=111122223333",
        )
        .expect("valid");
        assert_eq!((q.start, q.end), (d("2024-03-01"), d("2024-03-05")));
        assert_eq!(q.providers, vec!["aws", "gcp"]);
        assert_eq!(q.services, vec!["Amazon Bedrock", "Vertex AI"]);
        assert_eq!(q.accounts, vec!["111122223333"]);
        assert_eq!((q.scope, q.cost_type), (Scope::Ai, CostType::Billed));
    }

    #[test]
    fn defaults_are_the_30_days_ending_today() {
        let q = query("").expect("valid");
        // 2024-03-31 minus 29 days: March 2..31 is 30 days.
        assert_eq!((q.start, q.end), (d("2024-03-02"), d("2024-03-31")));
        let q = query("end_date=2024-02-29").expect("valid");
        assert_eq!(q.start, d("2024-01-31"));
        let q = query("scope=ALL&cost_type=Effective").expect("valid");
        assert_eq!((q.scope, q.cost_type), (Scope::All, CostType::Effective));
    }

    #[test]
    fn bad_values_name_the_parameter_and_the_value() {
        let cases = [
            ("start_date=2024-13-01", "start_date", "2024-13-01"),
            ("end_date=03/05/2024", "end_date", "03/05/2024"),
            // chrono's %Y alone takes a sign and more digits; YYYY-MM-DD does not.
            ("start_date=-0001-01-01", "start_date", "-0001-01-01"),
            ("start_date=02024-03-01", "start_date", "02024-03-01"),
            ("end_date=2024-3-1", "end_date", "2024-3-1"),
            (
                "start_date=2024-03-05&end_date=2024-03-04",
                "end_date",
                "2024-03-04",
            ),
            ("scope=gpu", "scope", "gpu"),
            ("cost_type=amortized", "cost_type", "amortized"),
            (
                "cloud_provider=aws&cloud_provider=ibm",
                "cloud_provider",
                "ibm",
            ),
            ("account_id=", "account_id", ""),
            ("start_dat=2024-03-01", "start_dat", "2024-03-01"),
            ("scope=ai&scope=all", "scope", "all"),
        ];
        for (q, param, value) in cases {
            let e = query(q).expect_err(q);
            assert_eq!(e.0.status, 400, "{q}");
            assert_eq!(e.0.parameter.as_deref(), Some(param), "{q}");
            assert_eq!(e.0.value.as_deref(), Some(value), "{q}");
            assert!(e.0.detail.contains(param), "{q}: {}", e.0.detail);
        }
    }

    #[test]
    fn extra_names_are_accepted_only_when_declared() {
        let p = RawParams::parse(Some("granularity=weekly"));
        assert!(cost_query(&p, &[], d("2024-03-31")).is_err());
        assert!(cost_query(&p, &["granularity"], d("2024-03-31")).is_ok());
    }
}

/// A page of a list: `limit` items from `offset` (0-based), both query parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: usize,
    pub offset: usize,
}

impl Page {
    /// Items per page when `limit` is not given.
    pub const DEFAULT_LIMIT: usize = 100;
    /// The largest `limit`.
    pub const MAX_LIMIT: usize = 1000;
    /// The names of its parameters.
    pub const PARAMS: [&str; 2] = ["limit", "offset"];

    /// The page a query asks for (`limit` 1..=1000, default 100; `offset` default 0).
    pub fn parse(p: &RawParams) -> Result<Page, AppError> {
        Ok(Page {
            limit: p
                .whole_number("limit", 1, Page::MAX_LIMIT)?
                .unwrap_or(Page::DEFAULT_LIMIT),
            offset: p.whole_number("offset", 0, usize::MAX)?.unwrap_or(0),
        })
    }

    /// This page of `items`, and the offset of the next page (`None` when this one reaches
    /// the end).
    pub fn cut<T>(&self, items: Vec<T>) -> (Vec<T>, Option<usize>) {
        let total = items.len();
        let end = self.offset.saturating_add(self.limit).min(total);
        let page: Vec<T> = items
            .into_iter()
            .skip(self.offset)
            .take(self.limit)
            .collect();
        (page, (end < total).then_some(end))
    }
}
