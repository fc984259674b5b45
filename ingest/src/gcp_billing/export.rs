//! One billing-export row as the schema defines it, whichever file it came from, and the
//! typed reading of nested JSON values (native JSON lines, or Koku's repr arrays turned
//! into JSON) with errors that name the field path (`credits[1].amount`).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{Number, Value};

use crate::value;

/// The fields of a standard or detailed export row that normalization uses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExportRow {
    pub billing_account_id: String,
    pub service_id: Option<String>,
    pub service_description: Option<String>,
    pub sku_id: Option<String>,
    pub sku_description: Option<String>,
    pub usage_start: Option<DateTime<Utc>>,
    pub usage_end: Option<DateTime<Utc>>,
    pub project_id: Option<String>,
    pub project_name: Option<String>,
    pub project_labels: Vec<(String, String)>,
    pub labels: Vec<(String, String)>,
    pub system_labels: Vec<(String, String)>,
    /// `location.region`, else `location.location` (multi-regions such as `US`, `global`).
    pub region: Option<String>,
    pub zone: Option<String>,
    pub cost: Decimal,
    pub currency: String,
    pub usage_amount: Option<Decimal>,
    pub usage_unit: Option<String>,
    pub usage_pricing_amount: Option<Decimal>,
    pub usage_pricing_unit: Option<String>,
    pub credits: Vec<Credit>,
    /// `invoice.month`, `YYYYMM`.
    pub invoice_month: Option<String>,
    pub cost_type: Option<String>,
    pub adjustment_description: Option<String>,
    pub cost_at_list: Option<Decimal>,
    pub resource_name: Option<String>,
    pub resource_global_name: Option<String>,
}

/// One element of `credits[]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Credit {
    pub name: Option<String>,
    pub amount: Decimal,
    pub full_name: Option<String>,
    pub id: Option<String>,
    /// `credits.type` (`PROMOTION`, `SUSTAINED_USAGE_DISCOUNT`, ...).
    pub kind: Option<String>,
}

/// A field that could not be read: its path in the export schema and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// `v` at a dotted path (`usage.amount`); a JSON null counts as absent.
pub fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(v, |cur, key| cur.get(key))
        .filter(|x| !x.is_null())
}

/// One JSON leaf as the typed readers see it. Both JSON readers go through it: the
/// `Value` path ([`Scalar::of`]) and the line reader that skips the `Value` tree
/// (`fast.rs`), so the two cannot read a field differently.
#[derive(Debug, Clone, Copy)]
pub enum Scalar<'a> {
    Text(&'a str),
    Number(&'a Number),
    Bool(bool),
    /// An object or an array where a leaf was expected.
    Nested,
}

impl<'a> Scalar<'a> {
    /// The leaf of a `Value`; a JSON null (or no value) is `None`, absent.
    pub fn of(v: Option<&'a Value>) -> Option<Scalar<'a>> {
        Some(match v? {
            Value::Null => return None,
            Value::String(s) => Scalar::Text(s),
            Value::Number(n) => Scalar::Number(n),
            Value::Bool(b) => Scalar::Bool(*b),
            Value::Array(_) | Value::Object(_) => Scalar::Nested,
        })
    }
}

/// A text field. Numbers and booleans are taken as their JSON text (BigQuery's JSON writes
/// INT64 ids either way); empty strings and null spellings are absent.
pub fn text(v: &Value, path: &str) -> Result<Option<String>, FieldError> {
    text_of(Scalar::of(at(v, path)), path)
}

/// [`text`] of a leaf already found; `path` only names it in the error.
pub fn text_of(leaf: Option<Scalar<'_>>, path: &str) -> Result<Option<String>, FieldError> {
    match leaf {
        None => Ok(None),
        Some(Scalar::Text(s)) => Ok(value::text(s).map(str::to_string)),
        Some(Scalar::Number(n)) => Ok(Some(n.to_string())),
        Some(Scalar::Bool(b)) => Ok(Some(b.to_string())),
        Some(Scalar::Nested) => Err(FieldError::new(
            path,
            "expected text, found an object or array",
        )),
    }
}

/// A number field as an exact decimal.
///
/// serde_json (without `arbitrary_precision`) has already turned a JSON float into an f64;
/// Rust's `{}` prints an f64 as the shortest decimal that reads back as the same f64, so the
/// token `0.1` comes back as `"0.1"` and `-5e-06` as `"-0.000005"`. BigQuery's FLOAT is an
/// f64 in the first place, so this recovers exactly the digits the export wrote, and the
/// value never takes part in float arithmetic. That needs the token parsed to the *nearest*
/// f64: serde_json's default parser may be one ULP off (`2.3198314011096954e-05` came back
/// as `...0969`), so the ingest crate enables its `float_roundtrip` feature. Integers and
/// numeric strings (NUMERIC columns, Koku's repr) are read from their text.
pub fn number(v: &Value, path: &str) -> Result<Option<Decimal>, FieldError> {
    number_of(Scalar::of(at(v, path)), path)
}

/// [`number`] of a leaf already found; `path` only names it in the error.
pub fn number_of(leaf: Option<Scalar<'_>>, path: &str) -> Result<Option<Decimal>, FieldError> {
    let parsed = match leaf {
        None => return Ok(None),
        Some(Scalar::Number(n)) => {
            if let Some(i) = n.as_i64() {
                return Ok(Some(Decimal::from(i)));
            }
            if let Some(u) = n.as_u64() {
                return Ok(Some(Decimal::from(u)));
            }
            match n.as_f64() {
                Some(f) if f.is_finite() => value::decimal(&format!("{f}")),
                _ => Err(format!("not a finite number: {n}")),
            }
        }
        Some(Scalar::Text(s)) => value::decimal(s),
        Some(Scalar::Bool(_) | Scalar::Nested) => Err("expected a number".to_string()),
    };
    parsed.map_err(|reason| FieldError::new(path, reason))
}

/// A TIMESTAMP: `2024-03-05 10:00:00 UTC` (and the other forms `value::timestamp` reads), or
/// epoch seconds as some BigQuery clients write them (`1.7096328E9`, `1709632800`).
pub fn time(v: &Value, path: &str) -> Result<Option<DateTime<Utc>>, FieldError> {
    time_of(Scalar::of(at(v, path)), path)
}

/// [`time`] of a leaf already found; `path` only names it in the error.
pub fn time_of(leaf: Option<Scalar<'_>>, path: &str) -> Result<Option<DateTime<Utc>>, FieldError> {
    let epoch = |secs: Decimal| -> Result<DateTime<Utc>, FieldError> {
        let micros = (secs * Decimal::from(1_000_000))
            .trunc()
            .to_string()
            .parse::<i64>()
            .ok()
            .and_then(DateTime::from_timestamp_micros);
        micros.ok_or_else(|| FieldError::new(path, format!("epoch seconds out of range: {secs}")))
    };
    match leaf {
        None => Ok(None),
        Some(Scalar::Number(_)) => match number_of(leaf, path)? {
            Some(secs) => epoch(secs).map(Some),
            None => Ok(None),
        },
        Some(Scalar::Text(s)) => match value::timestamp(s) {
            Ok(t) => Ok(t),
            Err(reason) => match value::decimal(s) {
                Ok(Some(secs)) => epoch(secs).map(Some),
                _ => Err(FieldError::new(path, reason)),
            },
        },
        Some(Scalar::Bool(_) | Scalar::Nested) => {
            Err(FieldError::new(path, "expected a timestamp"))
        }
    }
}

/// A REPEATED `{key, value}` field. An element without a key is an error; a null value is
/// an empty one (the label is set).
pub fn pairs(v: &Value, path: &str) -> Result<Vec<(String, String)>, FieldError> {
    let Some(items) = at(v, path) else {
        return Ok(Vec::new());
    };
    let Value::Array(items) = items else {
        return Err(FieldError::new(path, "expected an array of {key, value}"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let here = format!("{path}[{i}]");
            let key = text(item, "key")
                .map_err(|e| FieldError::new(format!("{here}.key"), e.reason))?
                .ok_or_else(|| FieldError::new(format!("{here}.key"), "label has no key"))?;
            let val = text(item, "value")
                .map_err(|e| FieldError::new(format!("{here}.value"), e.reason))?;
            Ok((key, val.unwrap_or_default()))
        })
        .collect()
}

/// `credits[]`. Every element must have an amount: a credit we cannot count would make the
/// net cost silently wrong.
pub fn credits(v: &Value, path: &str) -> Result<Vec<Credit>, FieldError> {
    let Some(items) = at(v, path) else {
        return Ok(Vec::new());
    };
    let Value::Array(items) = items else {
        return Err(FieldError::new(path, "expected an array of credits"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let here = format!("{path}[{i}]");
            let sub = |e: FieldError| FieldError::new(format!("{here}.{}", e.field), e.reason);
            let amount = number(item, "amount")
                .map_err(sub)?
                .ok_or_else(|| FieldError::new(format!("{here}.amount"), "credit has no amount"))?;
            Ok(Credit {
                name: text(item, "name").map_err(sub)?,
                amount,
                full_name: text(item, "full_name").map_err(sub)?,
                id: text(item, "id").map_err(sub)?,
                kind: text(item, "type").map_err(sub)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::str::FromStr;

    #[test]
    fn floats_come_back_as_the_digits_written() {
        let v: Value = serde_json::from_str(
            r#"{"a": 0.1, "b": -5e-06, "c": 2.3198314011096954e-05, "d": 115200, "e": "1.25E-6"}"#,
        )
        .expect("json");
        let n = |k: &str| number(&v, k).expect("ok").expect("some");
        assert_eq!(n("a"), Decimal::from_str("0.1").expect("d"));
        assert_eq!(n("b"), Decimal::from_str("-0.000005").expect("d"));
        assert_eq!(
            n("c"),
            Decimal::from_str("0.000023198314011096954").expect("d")
        );
        assert_eq!(n("d"), Decimal::from(115200));
        assert_eq!(n("e"), Decimal::from_str("0.00000125").expect("d"));
    }

    #[test]
    fn errors_carry_the_field_path() {
        let v = json!({"credits": [{"amount": -1.0}, {"name": "x", "amount": "lots"}], "labels": [{"value": "v"}]});
        assert_eq!(
            credits(&v, "credits").expect_err("bad").field,
            "credits[1].amount"
        );
        assert_eq!(pairs(&v, "labels").expect_err("bad").field, "labels[0].key");
        assert_eq!(text(&v, "credits").expect_err("bad").field, "credits");
    }

    #[test]
    fn timestamps_in_text_or_epoch_seconds() {
        let v = json!({"a": "2024-03-05 10:00:00 UTC", "b": 1709632800, "c": "1.7096328E9", "d": "soon"});
        let want = "2024-03-05T10:00:00+00:00";
        for k in ["a", "b", "c"] {
            assert_eq!(
                time(&v, k).expect("ok").map(|t| t.to_rfc3339()).as_deref(),
                Some(want),
                "{k}"
            );
        }
        assert_eq!(time(&v, "d").expect_err("bad").field, "d");
    }
}
