//! One JSON line straight into an `ExportRow`, without a `serde_json::Value` in between.
//!
//! **Why.** Building a `Value` for every line (a `String` per key and per string, a map
//! node per object), dropping it, and finding each field by its dotted path took most of
//! the JSON reader's time. Here serde_json's tokens go straight into a few small structs
//! that hold only the fields an `ExportRow` uses, borrowing the strings from the line when
//! they have no escapes.
//!
//! **Same reading, by construction.** Every leaf is turned into its field by the very
//! functions the `Value` path uses (`export::text_of`, `number_of`, `time_of`), through
//! the same [`Scalar`] a `Value` leaf becomes; a number is kept as the `serde_json::Number`
//! the `Value` would have held. Everything else is made to match what the `Value` path
//! does:
//! - an object where a nested one is expected (`service`, `usage`, ...) is read field by
//!   field; anything else there (null, text, an array) leaves its fields absent, as a
//!   dotted-path lookup through it finds nothing;
//! - a key given twice: the last one wins, as in a `Value` map;
//! - whatever is skipped (unknown fields, a nested value where a leaf is expected) is still
//!   parsed token by token through `deserialize_any`, as a `Value` is, so a line that could
//!   not become a `Value` (a lone surrogate escape, a number out of range, nesting beyond
//!   serde_json's depth limit) is not read here either. serde's `IgnoredAny` would only
//!   scan such values, and accept them.
//!
//! **Errors are not reported here.** Any line this reader cannot take whole (not JSON, not
//! an object, a field of the wrong type, a label without a key, a credit without an amount,
//! the one key serde_json treats specially) gives `None`, and the caller reads that line
//! again through the `Value` path, which names the field and the reason exactly as before.
//! Such lines are rare, so reading them twice costs nothing that shows.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Number;

use super::export::{Credit, ExportRow, Scalar, number_of, text_of, time_of};

/// The export row of one JSON line, or `None` when the line must go through the `Value`
/// path (which then gives the row, or the error naming the field).
pub fn export_row(line: &str) -> Option<ExportRow> {
    match serde_json::from_str::<Shape<Line<'_>>>(line).ok()? {
        Shape::Object(row) => row.export(),
        Shape::Other => None,
    }
}

/// The key that serde_json's `Value`, with its `raw_value` feature (which another crate
/// of the workspace turns on), reads as "the value is raw JSON text" rather than as a
/// field. A line with it anywhere is left to the `Value` path, whatever that makes of it.
const RAW_VALUE_KEY: &str = "$serde_json::private::RawValue";

/// A JSON leaf, kept as little as the typed readers need: text borrowed from the line
/// when it has no escape, a number as the `Number` a `Value` would hold.
#[derive(Debug, Default)]
enum Leaf<'a> {
    /// Missing, or JSON null.
    #[default]
    Absent,
    Text(Cow<'a, str>),
    Number(Number),
    Bool(bool),
    /// An object or an array (skipped): an error wherever a leaf is read.
    Nested,
}

/// The field readers give `None` where the `Value` path gives an error (its path and
/// reason are not needed: that path reads the line again to report it).
impl Leaf<'_> {
    fn scalar(&self) -> Option<Scalar<'_>> {
        Some(match self {
            Leaf::Absent => return None,
            Leaf::Text(s) => Scalar::Text(s),
            Leaf::Number(n) => Scalar::Number(n),
            Leaf::Bool(b) => Scalar::Bool(*b),
            Leaf::Nested => Scalar::Nested,
        })
    }

    fn text(&self) -> Option<Option<String>> {
        text_of(self.scalar(), "").ok()
    }

    fn number(&self) -> Option<Option<Decimal>> {
        number_of(self.scalar(), "").ok()
    }

    fn time(&self) -> Option<Option<DateTime<Utc>>> {
        time_of(self.scalar(), "").ok()
    }
}

impl<'de> Deserialize<'de> for Leaf<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LeafVisitor)
    }
}

struct LeafVisitor;

impl<'de> Visitor<'de> for LeafVisitor {
    type Value = Leaf<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Leaf<'de>, E> {
        Ok(Leaf::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Leaf<'de>, E> {
        Ok(Leaf::Number(i.into()))
    }

    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Leaf<'de>, E> {
        Ok(Leaf::Number(u.into()))
    }

    /// As `Value` does: a float that is no `Number` (not finite) is a null.
    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Leaf<'de>, E> {
        Ok(Number::from_f64(f).map_or(Leaf::Absent, Leaf::Number))
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Leaf<'de>, E> {
        Ok(Leaf::Text(Cow::Borrowed(s)))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Leaf<'de>, E> {
        Ok(Leaf::Text(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Leaf<'de>, E> {
        Ok(Leaf::Text(Cow::Owned(s)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Leaf<'de>, E> {
        Ok(Leaf::Absent)
    }

    fn visit_none<E: de::Error>(self) -> Result<Leaf<'de>, E> {
        Ok(Leaf::Absent)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Leaf<'de>, D::Error> {
        Leaf::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Leaf<'de>, A::Error> {
        SkipVisitor.visit_seq(seq).map(|Skip| Leaf::Nested)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Leaf<'de>, A::Error> {
        SkipVisitor.visit_map(map).map(|Skip| Leaf::Nested)
    }
}

/// A value read and thrown away, parsed as fully as a `Value` would parse it (see the
/// module doc for why not `IgnoredAny`).
struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SkipVisitor)
    }
}

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = Skip;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_none<E: de::Error>(self) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Skip, D::Error> {
        Skip::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        while map.next_key::<Key<'de>>()?.is_some() {
            map.next_value::<Skip>()?;
        }
        Ok(Skip)
    }
}

/// An object key: borrowed unless it has escapes (then unescaped, as `Value` keys are).
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl KeyVisitor {
    fn key<E: de::Error>(key: Cow<'_, str>) -> Result<Key<'_>, E> {
        if key == RAW_VALUE_KEY {
            return Err(E::custom("serde_json's raw value key"));
        }
        Ok(Key(key))
    }
}

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Key<'de>, E> {
        KeyVisitor::key(Cow::Borrowed(s))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'de>, E> {
        KeyVisitor::key(Cow::Owned(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Key<'de>, E> {
        KeyVisitor::key(Cow::Owned(s))
    }
}

/// A JSON object read into `Self`, one known field at a time.
trait Object<'de>: Default {
    /// Reads the value of `key` into its slot (replacing an earlier one: the last of a
    /// repeated key wins, as in a `Value` map); `false` when the field is not one of ours.
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error>;
}

/// What stood where an object was expected: the object, or anything else (skipped).
#[derive(Debug)]
enum Shape<T> {
    Object(T),
    Other,
}

impl<'de, T: Object<'de>> Deserialize<'de> for Shape<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ShapeVisitor(PhantomData))
    }
}

struct ShapeVisitor<T>(PhantomData<T>);

impl<T> ShapeVisitor<T> {
    fn other<E>(skipped: Result<Skip, E>) -> Result<Shape<T>, E> {
        skipped.map(|Skip| Shape::Other)
    }
}

impl<'de, T: Object<'de>> Visitor<'de> for ShapeVisitor<T> {
    type Value = Shape<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape<T>, A::Error> {
        let mut object = T::default();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if !object.field(&key, &mut map)? {
                map.next_value::<Skip>()?;
            }
        }
        Ok(Shape::Object(object))
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Shape<T>, E> {
        Self::other(SkipVisitor.visit_bool(b))
    }

    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Shape<T>, E> {
        Self::other(SkipVisitor.visit_i64(i))
    }

    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Shape<T>, E> {
        Self::other(SkipVisitor.visit_u64(u))
    }

    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Shape<T>, E> {
        Self::other(SkipVisitor.visit_f64(f))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Shape<T>, E> {
        Self::other(SkipVisitor.visit_str(s))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Shape<T>, E> {
        Self::other(SkipVisitor.visit_unit())
    }

    fn visit_none<E: de::Error>(self) -> Result<Shape<T>, E> {
        Self::other(SkipVisitor.visit_none())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Shape<T>, D::Error> {
        Shape::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Shape<T>, A::Error> {
        Self::other(SkipVisitor.visit_seq(seq))
    }
}

/// A nested object (`service`, `usage`, ...): its fields, or all absent when something
/// other than an object stands there.
#[derive(Debug, Default)]
struct Nested<T>(T);

impl<'de, T: Object<'de>> Deserialize<'de> for Nested<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Nested(match Shape::<T>::deserialize(d)? {
            Shape::Object(object) => object,
            Shape::Other => T::default(),
        }))
    }
}

/// A REPEATED field of objects (`labels`, `credits`): null is empty; an element that is
/// not an object, or anything but an array, is left to the `Value` path's error.
#[derive(Debug, Default)]
struct List<T>(Vec<T>);

impl<'de, T: Object<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ListVisitor(PhantomData))
    }
}

struct ListVisitor<T>(PhantomData<T>);

impl<'de, T: Object<'de>> Visitor<'de> for ListVisitor<T> {
    type Value = List<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of objects, or null")
    }

    fn visit_unit<E: de::Error>(self) -> Result<List<T>, E> {
        Ok(List(Vec::new()))
    }

    fn visit_none<E: de::Error>(self) -> Result<List<T>, E> {
        Ok(List(Vec::new()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List<T>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Shape<T>>()? {
            match item {
                Shape::Object(object) => items.push(object),
                Shape::Other => return Err(de::Error::custom("an element is not an object")),
            }
        }
        Ok(List(items))
    }
}

/// Implements [`Object`] for a struct whose listed fields are read by their JSON names.
macro_rules! object_fields {
    ($ty:ident { $($json:literal => $field:ident),+ $(,)? }) => {
        impl<'de> Object<'de> for $ty<'de> {
            fn field<A: MapAccess<'de>>(
                &mut self,
                key: &str,
                map: &mut A,
            ) -> Result<bool, A::Error> {
                match key {
                    $($json => self.$field = map.next_value()?,)+
                    _ => return Ok(false),
                }
                Ok(true)
            }
        }
    };
}

/// One export row, as much of it as `ExportRow` reads.
#[derive(Debug, Default)]
struct Line<'a> {
    billing_account_id: Leaf<'a>,
    service: Nested<IdDescription<'a>>,
    sku: Nested<IdDescription<'a>>,
    usage_start_time: Leaf<'a>,
    usage_end_time: Leaf<'a>,
    project: Nested<Project<'a>>,
    labels: List<Pair<'a>>,
    system_labels: List<Pair<'a>>,
    location: Nested<Location<'a>>,
    cost: Leaf<'a>,
    currency: Leaf<'a>,
    usage: Nested<Usage<'a>>,
    credits: List<CreditLine<'a>>,
    invoice: Nested<Invoice<'a>>,
    cost_type: Leaf<'a>,
    adjustment_info: Nested<Adjustment<'a>>,
    cost_at_list: Leaf<'a>,
    resource: Nested<Resource<'a>>,
}

object_fields!(Line {
    "billing_account_id" => billing_account_id,
    "service" => service,
    "sku" => sku,
    "usage_start_time" => usage_start_time,
    "usage_end_time" => usage_end_time,
    "project" => project,
    "labels" => labels,
    "system_labels" => system_labels,
    "location" => location,
    "cost" => cost,
    "currency" => currency,
    "usage" => usage,
    "credits" => credits,
    "invoice" => invoice,
    "cost_type" => cost_type,
    "adjustment_info" => adjustment_info,
    "cost_at_list" => cost_at_list,
    "resource" => resource,
});

/// `service` and `sku`.
#[derive(Debug, Default)]
struct IdDescription<'a> {
    id: Leaf<'a>,
    description: Leaf<'a>,
}

object_fields!(IdDescription { "id" => id, "description" => description });

#[derive(Debug, Default)]
struct Project<'a> {
    id: Leaf<'a>,
    name: Leaf<'a>,
    labels: List<Pair<'a>>,
}

object_fields!(Project { "id" => id, "name" => name, "labels" => labels });

/// One `{key, value}` label.
#[derive(Debug, Default)]
struct Pair<'a> {
    key: Leaf<'a>,
    value: Leaf<'a>,
}

object_fields!(Pair { "key" => key, "value" => value });

#[derive(Debug, Default)]
struct Location<'a> {
    location: Leaf<'a>,
    region: Leaf<'a>,
    zone: Leaf<'a>,
}

object_fields!(Location { "location" => location, "region" => region, "zone" => zone });

#[derive(Debug, Default)]
struct Usage<'a> {
    amount: Leaf<'a>,
    unit: Leaf<'a>,
    amount_in_pricing_units: Leaf<'a>,
    pricing_unit: Leaf<'a>,
}

object_fields!(Usage {
    "amount" => amount,
    "unit" => unit,
    "amount_in_pricing_units" => amount_in_pricing_units,
    "pricing_unit" => pricing_unit,
});

/// One element of `credits[]`.
#[derive(Debug, Default)]
struct CreditLine<'a> {
    name: Leaf<'a>,
    amount: Leaf<'a>,
    full_name: Leaf<'a>,
    id: Leaf<'a>,
    kind: Leaf<'a>,
}

object_fields!(CreditLine {
    "name" => name,
    "amount" => amount,
    "full_name" => full_name,
    "id" => id,
    "type" => kind,
});

#[derive(Debug, Default)]
struct Invoice<'a> {
    month: Leaf<'a>,
}

object_fields!(Invoice { "month" => month });

#[derive(Debug, Default)]
struct Adjustment<'a> {
    description: Leaf<'a>,
}

object_fields!(Adjustment { "description" => description });

#[derive(Debug, Default)]
struct Resource<'a> {
    name: Leaf<'a>,
    global_name: Leaf<'a>,
}

object_fields!(Resource { "name" => name, "global_name" => global_name });

impl Line<'_> {
    /// The same fields, read by the same rules, as `json::export_row`; `None` where that
    /// fails.
    fn export(&self) -> Option<ExportRow> {
        let (service, sku, project) = (&self.service.0, &self.sku.0, &self.project.0);
        let (location, usage) = (&self.location.0, &self.usage.0);
        Some(ExportRow {
            billing_account_id: self.billing_account_id.text()??,
            service_id: service.id.text()?,
            service_description: service.description.text()?,
            sku_id: sku.id.text()?,
            sku_description: sku.description.text()?,
            usage_start: self.usage_start_time.time()?,
            usage_end: self.usage_end_time.time()?,
            project_id: project.id.text()?,
            project_name: project.name.text()?,
            project_labels: pairs(&project.labels)?,
            labels: pairs(&self.labels)?,
            system_labels: pairs(&self.system_labels)?,
            // As the `Value` path: `location.location` is not read when there is a region.
            region: match location.region.text()? {
                Some(r) => Some(r),
                None => location.location.text()?,
            },
            zone: location.zone.text()?,
            cost: self.cost.number()??,
            currency: self.currency.text()??,
            usage_amount: usage.amount.number()?,
            usage_unit: usage.unit.text()?,
            usage_pricing_amount: usage.amount_in_pricing_units.number()?,
            usage_pricing_unit: usage.pricing_unit.text()?,
            credits: credits(&self.credits)?,
            invoice_month: self.invoice.0.month.text()?,
            cost_type: self.cost_type.text()?,
            adjustment_description: self.adjustment_info.0.description.text()?,
            cost_at_list: self.cost_at_list.number()?,
            resource_name: self.resource.0.name.text()?,
            resource_global_name: self.resource.0.global_name.text()?,
        })
    }
}

/// As `export::pairs`: a label needs a key; a null value is an empty one.
fn pairs(list: &List<Pair<'_>>) -> Option<Vec<(String, String)>> {
    list.0
        .iter()
        .map(|p| Some((p.key.text()??, p.value.text()?.unwrap_or_default())))
        .collect()
}

/// As `export::credits`: every credit needs an amount.
fn credits(list: &List<CreditLine<'_>>) -> Option<Vec<Credit>> {
    list.0
        .iter()
        .map(|c| {
            Some(Credit {
                amount: c.amount.number()??,
                name: c.name.text()?,
                full_name: c.full_name.text()?,
                id: c.id.text()?,
                kind: c.kind.text()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    //! The `Value` path is the oracle: on every line the fast reader must give exactly its
    //! row (the same digits and scale in each decimal), or leave the line to it.

    use proptest::prelude::*;
    use serde_json::Value;

    use super::export_row;
    use crate::gcp_billing::{LineError, json, line_row};

    type Member = BoxedStrategy<Option<(String, String)>>;

    /// What the `Value` path makes of a line: the row, or the field its error names
    /// (`None` when the line is not JSON).
    fn oracle(line: &str) -> Result<String, Option<String>> {
        let value = serde_json::from_str::<Value>(line).map_err(|_| None)?;
        json::export_row(&value)
            .map(|row| format!("{row:?}"))
            .map_err(|e| Some(e.field))
    }

    /// The fast reader gives the `Value` path's row or leaves the line to it, and
    /// `line_row` (the fast reader, else the `Value` path) ends exactly as the `Value` path
    /// alone. `true` when the fast reader took the line.
    fn assert_agrees(line: &str) -> bool {
        let want = oracle(line);
        let fast = export_row(line).map(|row| format!("{row:?}"));
        if let Some(got) = &fast {
            assert_eq!(Ok(got), want.as_ref(), "{line}");
        }
        let combined = line_row(line)
            .map(|row| format!("{row:?}"))
            .map_err(|e| match e {
                LineError::NotJson(_) => None,
                LineError::Field(e) => Some(e.field),
            });
        assert_eq!(combined, want, "{line}");
        fast.is_some()
    }

    /// A JSON string token for `s`: plain, every character as a `\u` escape, or only the
    /// first one escaped (so both borrowed and unescaped text get read).
    fn string_token(s: &str, style: u8) -> String {
        let escape = |c: char| {
            let mut units = [0u16; 2];
            c.encode_utf16(&mut units)
                .iter()
                .map(|u| format!("\\u{u:04x}"))
                .collect::<String>()
        };
        let plain = |s: &str| serde_json::to_string(s).unwrap_or_default();
        let mut chars = s.chars();
        match (style % 3, chars.next()) {
            (1, _) => format!("\"{}\"", s.chars().map(escape).collect::<String>()),
            (2, Some(first)) => format!("\"{}{}", escape(first), &plain(chars.as_str())[1..]),
            _ => plain(s),
        }
    }

    fn text_content() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "[a-zA-Z0-9 ._:/-]{0,12}",
            1 => prop::sample::select(vec![
                "", " ", "null", "None", "NULL", "nan", "n/a", "-", "é ü", "line\nbreak",
                "quote\"d", "back\\slash", "tab\tin", "😀 emoji", "\u{7f}",
            ])
            .prop_map(str::to_string),
            1 => prop::sample::select(vec![
                "0.1", "-2.0", "1.25E-6", "115200", "1e400", "+3", "1,5", " 7 ", "-0",
                "1709632800", "1.7096328E9", "2024-03-05 10:00:00 UTC",
                "2024-03-05T10:00:00Z", "2024-03-05 10:00:00.000 UTC", "soon",
            ])
            .prop_map(str::to_string),
        ]
    }

    fn string_leaf() -> impl Strategy<Value = String> {
        (text_content(), any::<u8>()).prop_map(|(s, style)| string_token(&s, style))
    }

    /// Number tokens: mostly ones a `Decimal` holds, now and then ones it cannot.
    fn number_leaf() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => prop::sample::select(vec![
                "0", "-0", "10.0", "-2.0", "0.1", "-5e-06", "2.3198314011096954e-05", "115200",
                "1.7096328E9", "1709632800", "18446744073709551615", "-9223372036854775808",
                "9223372036854775808", "1E2", "0.000000000000000000000000000001", "1e-400",
            ])
            .prop_map(str::to_string),
            3 => (-1.0e6f64..1.0e6).prop_map(|f| format!("{f}")),
            3 => (-1.0e3f64..1.0e3).prop_map(|f| format!("{f:e}")),
            2 => any::<i64>().prop_map(|i| i.to_string()),
            1 => prop_oneof![
                prop::sample::select(vec!["123456789012345678901234567890", "-1.5e300"])
                    .prop_map(str::to_string),
                any::<f64>()
                    .prop_filter("finite", |f| f.is_finite())
                    .prop_map(|f| format!("{f:e}")),
            ],
        ]
    }

    /// JSON that no `Value` holds: a lone surrogate, a number out of range.
    fn not_a_value() -> impl Strategy<Value = String> {
        prop::sample::select(vec!["\"\\ud800\"", "1e400", "[-1e999]"]).prop_map(str::to_string)
    }

    /// Null, booleans and nested values.
    fn other_leaf() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "null",
            "true",
            "false",
            "{}",
            "[]",
            "[1, \"a\"]",
            "{\"a\": {\"b\": [null]}}",
            "[\"\\ud83d\\ude00\"]",
        ])
        .prop_map(str::to_string)
    }

    /// Leaves mostly of the kind each field reads, now and then of another.
    fn text_field() -> BoxedStrategy<String> {
        prop_oneof![30 => string_leaf(), 1 => number_leaf(), 1 => other_leaf()].boxed()
    }

    /// Text that is there (an id, a currency, a label key), now and then any leaf.
    fn name_field() -> BoxedStrategy<String> {
        let name = ("[a-zA-Z0-9][a-zA-Z0-9 ._:/-]{0,11}", any::<u8>())
            .prop_map(|(s, style)| string_token(&s, style));
        prop_oneof![30 => name, 1 => text_field()].boxed()
    }

    fn number_field() -> BoxedStrategy<String> {
        let numeric_text = number_leaf().prop_map(|n| format!("\"{n}\""));
        prop_oneof![
            30 => number_leaf(),
            4 => numeric_text,
            1 => string_leaf(),
            1 => other_leaf(),
        ]
        .boxed()
    }

    fn time_field() -> BoxedStrategy<String> {
        prop_oneof![
            60 => prop::sample::select(vec![
                "\"2024-03-05 10:00:00 UTC\"", "\"2024-03-05T10:00:00Z\"", "1709632800",
                "1.7096328E9", "\"1709632800\"", "\"2024-03-05 10:00:00.123456 UTC\"",
                "\"\"",
            ])
            .prop_map(str::to_string),
            1 => number_leaf(),
            1 => string_leaf(),
            1 => other_leaf(),
        ]
        .boxed()
    }

    /// `"key": value`, present most of the time.
    fn member(key: &'static str, value: BoxedStrategy<String>) -> Member {
        present(0.8, key, value)
    }

    /// `"key": value` of a field the `Value` path requires, missing now and then.
    fn required(key: &'static str, value: BoxedStrategy<String>) -> Member {
        present(0.97, key, value)
    }

    fn present(probability: f64, key: &'static str, value: BoxedStrategy<String>) -> Member {
        prop::option::weighted(probability, value.prop_map(move |v| (key.to_string(), v))).boxed()
    }

    /// An object of the members present, in a random order, its keys now and then
    /// escaped.
    fn object(members: Vec<Member>) -> BoxedStrategy<String> {
        members
            .prop_map(|members| members.into_iter().flatten().collect::<Vec<_>>())
            .prop_shuffle()
            .prop_flat_map(|members| (Just(members), any::<bool>(), any::<u8>()))
            .prop_map(|(members, spaced, key_style)| {
                let body = members
                    .iter()
                    .map(|(k, v)| {
                        let key = string_token(k, if key_style % 4 == 0 { 2 } else { 0 });
                        format!("{key}:{v}")
                    })
                    .collect::<Vec<_>>()
                    .join(if spaced { ", " } else { "," });
                format!("{{{body}}}")
            })
            .boxed()
    }

    /// A nested object, or now and then something else where it belongs.
    fn nested(members: Vec<Member>) -> BoxedStrategy<String> {
        prop_oneof![10 => object(members), 1 => other_leaf(), 1 => string_leaf()].boxed()
    }

    fn list(item: BoxedStrategy<String>) -> BoxedStrategy<String> {
        let items = prop::collection::vec(prop_oneof![40 => item, 1 => other_leaf()], 0..4);
        prop_oneof![
            30 => items.prop_map(|items| format!("[{}]", items.join(","))),
            1 => other_leaf(),
        ]
        .boxed()
    }

    fn labels() -> BoxedStrategy<String> {
        list(object(vec![
            required("key", name_field()),
            member("value", text_field()),
        ]))
    }

    fn credits() -> BoxedStrategy<String> {
        list(object(vec![
            member("name", text_field()),
            required("amount", number_field()),
            member("full_name", text_field()),
            member("id", text_field()),
            member("type", text_field()),
        ]))
    }

    fn id_description() -> BoxedStrategy<String> {
        nested(vec![
            member("id", text_field()),
            member("description", text_field()),
        ])
    }

    fn export_line() -> BoxedStrategy<String> {
        let (text, number) = (text_field, number_field);
        object(vec![
            required("billing_account_id", name_field()),
            member("service", id_description()),
            member("sku", id_description()),
            member("usage_start_time", time_field()),
            member("usage_end_time", time_field()),
            member(
                "project",
                nested(vec![
                    member("id", text()),
                    member("number", number()),
                    member("name", text()),
                    member("labels", labels()),
                ]),
            ),
            member("labels", labels()),
            member("system_labels", labels()),
            member(
                "location",
                nested(vec![
                    member("location", text()),
                    member("country", text()),
                    member("region", text()),
                    member("zone", text()),
                ]),
            ),
            member("export_time", time_field()),
            required("cost", number()),
            required("currency", name_field()),
            member("currency_conversion_rate", number()),
            member(
                "usage",
                nested(vec![
                    member("amount", number()),
                    member("unit", text()),
                    member("amount_in_pricing_units", number()),
                    member("pricing_unit", text()),
                ]),
            ),
            member("credits", credits()),
            member("invoice", nested(vec![member("month", text())])),
            member("cost_type", text()),
            member(
                "adjustment_info",
                nested(vec![member("description", text()), member("type", text())]),
            ),
            member("cost_at_list", number()),
            member(
                "resource",
                nested(vec![member("name", text()), member("global_name", text())]),
            ),
            member(
                "tags",
                prop_oneof![20 => other_leaf(), 1 => not_a_value()].boxed(),
            ),
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn the_fast_reader_agrees_with_the_value_path(line in export_line()) {
            let taken = assert_agrees(&line);
            // What the `Value` path reads, the fast reader reads too: generated lines repeat
            // no key and hold no raw value key.
            prop_assert_eq!(taken, oracle(&line).is_ok(), "{}", line);
        }
    }

    #[test]
    fn odd_lines_read_as_the_value_path_reads_them() {
        let row = r#""billing_account_id":"A","cost":1,"currency":"USD""#;
        let taken = [
            // A key given twice: the last wins, in both readers.
            format!(r#"{{{row},"cost":{{}},"cost":2}}"#),
            format!(r#"{{{row},"usage":{{"amount":1}},"usage":{{"unit":"h"}}}}"#),
            // The region wins over a location that is not text.
            format!(r#"{{{row},"location":{{"region":"r","location":{{}}}}}}"#),
            // Something other than an object where one is expected: its fields are absent.
            format!(r#"{{{row},"service":"x","usage":[1],"sku":null}}"#),
            // Escaped keys and text.
            format!(r#"{{{row},"\u0073ku":{{"id":"\u00e9\n"}}}}"#),
        ];
        for line in &taken {
            assert!(assert_agrees(line), "the fast reader takes {line}");
        }
        let left = [
            // Skipped parts are still checked as a `Value` would check them.
            format!(r#"{{{row},"tags":"\ud800"}}"#),
            format!(r#"{{{row},"tags":[1e400]}}"#),
            format!(r#"{{{row},"tags":{}{}}}"#, "[".repeat(200), "]".repeat(200)),
            // The key serde_json's `raw_value` feature reads specially, wherever it is.
            format!(r#"{{{row},"x":{{"$serde_json::private::RawValue":"[1"}}}}"#),
            // Errors, which only the `Value` path reports.
            format!(r#"{{{row},"location":{{"location":{{}}}}}}"#),
            format!(r#"{{{row},"labels":[{{"value":"v"}}]}}"#),
            format!(r#"{{{row},"credits":[{{"amount":-1}},{{"name":"n"}}]}}"#),
            format!(r#"{{{row},"cost":true}}"#),
            r#"{"cost":1,"currency":"USD"}"#.to_string(),
            "[1]".to_string(),
            "{".to_string(),
        ];
        for line in &left {
            assert!(!assert_agrees(line), "left to the Value path: {line}");
        }
    }
}
