//! A scope's parts as the engine holds and logs them: sorted by key, one entry per key,
//! no zero entries. Sorted, so the difference between what a scope held and what its
//! restatement brings is one merge of two sorted lists (no hash table is built or
//! rebuilt per restatement), and the new list simply replaces the old.

use std::cmp::Ordering;

use burnrate_dataflow::{Amounts, Part};
use burnrate_schemas::{DailyCostKey, DeliveryScope};
use serde::{Deserialize, Serialize};

/// One scope's parts, sorted by key, each key once, none zero.
pub type Sorted = Vec<(DailyCostKey, Amounts)>;

/// A scope and its parts (or changes).
pub type Group = (DeliveryScope, Sorted);

/// The first bytes of an entry in the compact encoding. Entries written before it are
/// JSON, which never starts with these.
const MAGIC: &[u8] = b"burnrate-log-1\0";

/// What the log stores for one delivery (opaque to the store): `MAGIC`, then the entry in
/// postcard's wire format (strings length-prefixed, numbers as varints, enums by index;
/// the sink's codec tests pin the enums' indices). JSON spelled every field name of every
/// key, five times the bytes to write and fsync on each restatement.
#[derive(Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// The scopes this delivery brings for the first time, with their parts.
    pub whole: Vec<Group>,
    /// The scopes held before, with new amounts minus held amounts per key that changed.
    pub changes: Vec<Group>,
}

impl LogEntry {
    /// The entry as the log stores it.
    pub fn encode(&self) -> Result<Vec<u8>, postcard::Error> {
        postcard::to_extend(self, MAGIC.to_vec())
    }

    /// Reads an entry: the compact encoding, or one of the JSON formats before it (an
    /// entry object, or a bare list of parts: all whole).
    pub fn decode(blob: &[u8]) -> anyhow::Result<LogEntry> {
        if let Some(body) = blob.strip_prefix(MAGIC) {
            let (entry, rest) = postcard::take_from_bytes(body)?;
            // `from_bytes` would ignore what follows the entry: bytes of a longer layout
            // (a later version's) or damage. Neither is this entry.
            if !rest.is_empty() {
                anyhow::bail!(
                    "a log entry of {} bytes has {} bytes past its end (written by another \
                     version, or damaged)",
                    blob.len(),
                    rest.len()
                );
            }
            return Ok(entry);
        }
        Ok(match blob.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'[') => LogEntry {
                whole: group(serde_json::from_slice(blob)?),
                changes: Vec::new(),
            },
            _ => serde_json::from_slice(blob)?,
        })
    }
}

/// Parts grouped by scope, each group `Sorted`. `prepare` already yields parts sorted by
/// scope and key with each key once, so usually this only splits the list into runs.
pub fn group(mut parts: Vec<Part>) -> Vec<Group> {
    if !parts.is_sorted_by(|a, b| (&a.0, &a.1) <= (&b.0, &b.1)) {
        parts.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    }
    let mut out: Vec<Group> = Vec::new();
    for (scope, key, amounts) in parts {
        match out.last_mut() {
            Some((s, list)) if *s == scope => match list.last_mut() {
                Some((k, a)) if *k == key => *a = a.minus(Amounts::default().minus(amounts)),
                _ => list.push((key, amounts)),
            },
            _ => out.push((scope, vec![(key, amounts)])),
        }
    }
    for (_, list) in &mut out {
        list.retain(|(_, a)| !a.is_nothing());
    }
    out
}

/// The changes that turn `old` into `new`: per key, new amounts minus old, where they
/// differ (a key only in `old` is retracted whole).
pub fn difference(old: &Sorted, new: &Sorted) -> Sorted {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        let order = match (old.get(i), new.get(j)) {
            (Some(o), Some(n)) => o.0.cmp(&n.0),
            (Some(_), None) => Ordering::Less,
            _ => Ordering::Greater,
        };
        match order {
            Ordering::Less => {
                out.push((old[i].0.clone(), Amounts::default().minus(old[i].1)));
                i += 1;
            }
            Ordering::Greater => {
                out.push(new[j].clone());
                j += 1;
            }
            Ordering::Equal => {
                let d = new[j].1.minus(old[i].1);
                if !d.is_nothing() {
                    out.push((new[j].0.clone(), d));
                }
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// `held` with `changes` added, key by key (sums that become zero drop out).
pub fn apply(held: Sorted, changes: Sorted) -> Sorted {
    let mut out = Vec::with_capacity(held.len() + changes.len());
    let (mut held, mut changes) = (held.into_iter().peekable(), changes.into_iter().peekable());
    loop {
        let order = match (held.peek(), changes.peek()) {
            (Some(h), Some(c)) => h.0.cmp(&c.0),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => break,
        };
        let next = match order {
            Ordering::Less => held.next(),
            Ordering::Greater => changes.next(),
            Ordering::Equal => match (held.next(), changes.next()) {
                (Some((k, h)), Some((_, c))) => Some((k, h.minus(Amounts::default().minus(c)))),
                _ => None,
            },
        };
        if let Some((k, a)) = next
            && !a.is_nothing()
        {
            out.push((k, a));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use burnrate_schemas::{ChargeCategory, CostCategory, Provider};
    use chrono::NaiveDate;

    fn key(service: &str) -> DailyCostKey {
        DailyCostKey {
            day: NaiveDate::from_ymd_opt(2024, 3, 5).expect("day"),
            provider: Provider::Aws,
            service_code: service.into(),
            service_name: service.into(),
            account: "1".into(),
            resource_id: None,
            charge_category: ChargeCategory::Usage,
            cost_category: CostCategory::Compute,
            pricing_model: None,
            is_ai: false,
            currency: "USD".into(),
        }
    }

    fn a(billed: i128, rows: i128) -> Amounts {
        Amounts {
            billed,
            effective: billed,
            quantity: 0,
            rows,
        }
    }

    #[test]
    fn the_difference_applied_to_the_old_parts_gives_the_new() {
        // Keys a..d: a only old (5), b in both unchanged (7), c in both 3 → 4, d only new (2).
        let old = vec![
            (key("a"), a(5, 1)),
            (key("b"), a(7, 1)),
            (key("c"), a(3, 1)),
        ];
        let new = vec![
            (key("b"), a(7, 1)),
            (key("c"), a(4, 1)),
            (key("d"), a(2, 1)),
        ];
        let d = difference(&old, &new);
        assert_eq!(
            d,
            vec![
                (key("a"), a(-5, -1)),
                (key("c"), a(1, 0)),
                (key("d"), a(2, 1))
            ]
        );
        assert_eq!(apply(old, d), new);
    }

    fn scope(acct: &str) -> DeliveryScope {
        DeliveryScope {
            provider: Provider::Aws,
            billing_account_id: acct.into(),
            billing_period_start: chrono::DateTime::UNIX_EPOCH,
            view: String::new(),
            additive_source: Some(format!("s3://b/{acct}.csv")),
        }
    }

    #[test]
    fn entries_round_trip_compactly_and_json_entries_still_read() {
        let mut resource = key("c");
        resource.resource_id = Some("arn:aws:sagemaker:us-east-1:1:endpoint/x".into());
        let entry = LogEntry {
            whole: vec![(
                scope("1"),
                vec![(key("a"), a(5, 1)), (resource, a(i128::MAX, 3))],
            )],
            changes: vec![(scope("2"), vec![(key("b"), a(-3, 0))])],
        };
        let blob = entry.encode().expect("encode");
        assert!(blob.starts_with(MAGIC));
        assert_eq!(LogEntry::decode(&blob).expect("decode"), entry);
        let json = serde_json::to_vec(&entry).expect("json");
        assert!(
            blob.len() * 2 < json.len(),
            "{} vs {} bytes",
            blob.len(),
            json.len()
        );
        assert_eq!(LogEntry::decode(&json).expect("json entry"), entry);
        // The first format: a bare list of parts, all whole.
        let bare: Vec<Part> = vec![(scope("1"), key("a"), a(5, 1))];
        let bare = serde_json::to_vec(&bare).expect("json");
        assert_eq!(
            LogEntry::decode(&bare).expect("bare list"),
            LogEntry {
                whole: vec![(scope("1"), vec![(key("a"), a(5, 1))])],
                changes: Vec::new(),
            }
        );
        // A damaged entry is an error, not an empty or partial one.
        assert!(LogEntry::decode(&blob[..blob.len() - 3]).is_err());
    }

    /// Postcard writes no field names or type tags: an entry is read back by position
    /// alone, so a field added to, removed from or moved in `DeliveryScope`,
    /// `DailyCostKey` or `Amounts` (or a variant inserted in one of their enums) would read
    /// every logged entry as something else, possibly without an error. The whole layout
    /// is pinned here; a change that fails this test needs a new `MAGIC` (and a decoder
    /// kept for the old one), not a new expectation.
    #[test]
    fn an_entry_is_written_in_a_pinned_layout() {
        let mut k = key("E");
        k.resource_id = Some("r".into());
        k.pricing_model = Some(burnrate_schemas::PricingModel::Spot);
        let entry = LogEntry {
            whole: vec![(
                DeliveryScope {
                    provider: Provider::Azure,
                    billing_account_id: "7".into(),
                    billing_period_start: "2024-03-01T00:00:00Z".parse().expect("period"),
                    view: "actual".into(),
                    additive_source: None,
                },
                vec![(
                    k,
                    Amounts {
                        billed: -3,
                        effective: 64,
                        quantity: 0,
                        rows: 1,
                    },
                )],
            )],
            changes: Vec::new(),
        };
        // Worked out from postcard's wire format: lengths and enum indices as varints,
        // strings as a length then their bytes, `None` 0 and `Some` 1 then the value,
        // integers as zigzag varints (-3 → 5, 64 → 128 = 0x80 0x01, 1 → 2); the period is
        // chrono's RFC 3339 text.
        let mut want = MAGIC.to_vec();
        want.push(1); // one whole group
        want.push(1); // Provider::Azure
        want.extend([1, b'7']);
        want.push(20);
        want.extend(b"2024-03-01T00:00:00Z");
        want.push(6);
        want.extend(b"actual");
        want.push(0); // no additive source
        want.push(1); // one key
        want.push(10);
        want.extend(b"2024-03-05");
        want.push(0); // Provider::Aws
        want.extend([1, b'E', 1, b'E', 1, b'1']);
        want.extend([1, 1, b'r']);
        want.push(0); // ChargeCategory::Usage
        want.push(0); // CostCategory::Compute
        want.extend([1, 4]); // Some(PricingModel::Spot)
        want.push(0); // not AI
        want.extend([3, b'U', b'S', b'D']);
        want.extend([5, 0x80, 0x01, 0, 2]); // billed, effective, quantity, rows
        want.push(0); // no changes
        assert_eq!(entry.encode().expect("encode"), want);
        assert_eq!(LogEntry::decode(&want).expect("decode"), entry);
        // Bytes past the entry are not this layout: an error, not a silently shorter entry.
        want.push(0);
        assert!(LogEntry::decode(&want).is_err());
    }

    #[test]
    fn grouping_sorts_and_sums_repeated_keys() {
        let parts = vec![
            (scope("2"), key("b"), a(1, 1)),
            (scope("1"), key("b"), a(2, 1)),
            (scope("2"), key("a"), a(3, 1)),
            (scope("2"), key("b"), a(-1, -1)),
        ];
        assert_eq!(
            group(parts),
            vec![
                (scope("1"), vec![(key("b"), a(2, 1))]),
                (scope("2"), vec![(key("a"), a(3, 1))]),
            ]
        );
    }
}
