//! JSON read with every object's keys unique.
//!
//! `serde_json::Value` keeps the last of two equal keys and says nothing, so
//! `{"requests": 5, "requests": 7}` reads as 7 and a pusher's or exporter's mistake passes
//! as a measurement. RFC 8259 leaves duplicate names to the reader; ours refuses them,
//! naming the key (and, through serde_json, the line and column).

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// A JSON value whose objects have no key twice.
struct Unique(Value);

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Unique, D::Error> {
        d.deserialize_any(UniqueVisitor).map(Unique)
    }
}

struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // JSON text has no NaN or infinity; serde_json refuses out-of-range numbers itself.
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Unique::deserialize(d).map(|u| u.0)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(Unique(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut obj = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if obj.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "the key {key:?} appears twice in one object"
                )));
            }
            let Unique(v) = map.next_value()?;
            obj.insert(key, v);
        }
        Ok(Value::Object(obj))
    }
}

/// Parses JSON text, refusing an object with a key twice. A refusal is a
/// `serde_json::error::Category::Data` error (the text is JSON, its content is not
/// acceptable); broken JSON is `Syntax` or `Eof`, as with `serde_json::from_slice`.
pub fn from_slice_unique(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    serde_json::from_slice::<Unique>(bytes).map(|u| u.0)
}

/// [`from_slice_unique`] on text.
pub fn from_str_unique(text: &str) -> Result<Value, serde_json::Error> {
    from_slice_unique(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::error::Category;

    #[test]
    fn reads_as_serde_json_does_when_keys_are_unique() {
        let text =
            r#"{"a": [1, -2, 3.5, 1e300, "x", null, true, {"b": {}}], "c": 18446744073709551615}"#;
        assert_eq!(
            from_str_unique(text).expect("unique"),
            serde_json::from_str::<Value>(text).expect("json")
        );
    }

    #[test]
    fn a_key_twice_is_a_data_error_naming_it_at_any_depth() {
        for text in [
            r#"{"requests": 5, "requests": 7}"#,
            r#"[{"a": 1}, {"b": {"requests": 1, "requests": 1}}]"#,
        ] {
            let e = from_str_unique(text).expect_err(text);
            assert_eq!(e.classify(), Category::Data, "{text}");
            assert!(e.to_string().contains("\"requests\" appears twice"), "{e}");
        }
        // Equal keys in different objects are fine.
        assert!(from_str_unique(r#"[{"a": 1}, {"a": 2}]"#).is_ok());
        // Broken JSON stays a syntax error.
        let e = from_str_unique(r#"{"a": 1,"#).expect_err("cut");
        assert_eq!(e.classify(), Category::Eof);
    }
}
