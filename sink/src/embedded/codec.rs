//! How a daily cost row is stored: compact binary, not JSON.
//!
//! A restatement rewrites the rollup rows it changes, spread over the whole month, so
//! nearly every page of the table is copied in its commit: the smaller a row, the fewer
//! pages a commit writes. JSON keys spelled every field name and every amount as text
//! (about 370 bytes a row); this encoding takes about a third of that.
//!
//! - **Key**: the `DailyCostKey` in postcard's wire format (strings length-prefixed, enum
//!   variants as their declaration index, `Option` as a 0/1 tag). Declaration order is
//!   therefore part of the format: the tests pin every variant's index, so reordering an
//!   enum fails a test rather than misreading a store.
//! - **Totals**: 56 bytes — billed, effective and quantity as `rust_decimal`'s 16-byte
//!   form, then the row count as a little-endian `i64`.
//!
//! The table is rebuilt from the input log at every start of a writer (see the engine),
//! so this encoding can change between versions as long as the table's name changes with
//! it; stores from before it are migrated when a writer opens them (`super::migrate`).

use burnrate_schemas::{DailyCostKey, Totals};
use rust_decimal::Decimal;

use super::StoreError;

/// The encoded size of `Totals`.
const TOTALS_LEN: usize = 56;

pub(crate) fn key_bytes(key: &DailyCostKey) -> Result<Vec<u8>, StoreError> {
    postcard::to_allocvec(key).map_err(|e| StoreError::Binary(e.to_string()))
}

pub(crate) fn key_from(bytes: &[u8]) -> Result<DailyCostKey, StoreError> {
    let (key, rest) = postcard::take_from_bytes(bytes)
        .map_err(|e| StoreError::Binary(format!("a rollup key: {e}")))?;
    // Bytes past the key are not a key this version wrote (a longer key of another
    // layout, or damage): refuse it rather than read its prefix.
    if !rest.is_empty() {
        return Err(StoreError::Binary(format!(
            "a rollup key of {} bytes has {} bytes past its end",
            bytes.len(),
            rest.len()
        )));
    }
    Ok(key)
}

pub(crate) fn totals_bytes(t: &Totals) -> [u8; TOTALS_LEN] {
    let mut out = [0u8; TOTALS_LEN];
    out[0..16].copy_from_slice(&t.billed_cost.serialize());
    out[16..32].copy_from_slice(&t.effective_cost.serialize());
    out[32..48].copy_from_slice(&t.quantity.serialize());
    out[48..56].copy_from_slice(&t.rows.to_le_bytes());
    out
}

pub(crate) fn totals_from(bytes: &[u8]) -> Result<Totals, StoreError> {
    let bytes: &[u8; TOTALS_LEN] = bytes.try_into().map_err(|_| {
        StoreError::Binary(format!(
            "rollup totals of {} bytes, not {TOTALS_LEN}",
            bytes.len()
        ))
    })?;
    // `Decimal::deserialize` never fails: it drops flag bits it does not use and divides
    // a scale above 28 down, so damaged bytes would read as another number. Only bytes
    // that a decimal serializes back to are one.
    let decimal = |at: usize, what: &str| {
        let mut b = [0u8; 16];
        b.copy_from_slice(&bytes[at..at + 16]);
        let d = Decimal::deserialize(b);
        if d.serialize() == b {
            Ok(d)
        } else {
            Err(StoreError::Binary(format!(
                "rollup totals whose {what} is not a decimal (bytes {at}..{})",
                at + 16
            )))
        }
    };
    let mut rows = [0u8; 8];
    rows.copy_from_slice(&bytes[48..56]);
    Ok(Totals {
        billed_cost: decimal(0, "billed cost")?,
        effective_cost: decimal(16, "effective cost")?,
        quantity: decimal(32, "quantity")?,
        rows: i64::from_le_bytes(rows),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use burnrate_schemas::{ChargeCategory, CostCategory, PricingModel, Provider};
    use chrono::NaiveDate;
    use std::str::FromStr;

    fn key() -> DailyCostKey {
        DailyCostKey {
            day: NaiveDate::from_ymd_opt(2024, 3, 5).expect("date"),
            provider: Provider::Gcp,
            service_code: "E".into(),
            service_name: "Ec".into(),
            account: "1".into(),
            resource_id: Some("r".into()),
            charge_category: ChargeCategory::Credit,
            cost_category: CostCategory::Inference,
            pricing_model: Some(PricingModel::Spot),
            is_ai: true,
            currency: "USD".into(),
        }
    }

    #[test]
    fn a_key_is_written_in_postcard_layout() {
        // Worked out from the postcard wire format: each string is a varint length then
        // its bytes; the day is its ISO text; enums are their declaration index; `Some`
        // is tag 1 then the value; `true` is 1.
        let mut want = vec![10];
        want.extend(b"2024-03-05");
        want.push(2); // Provider::Gcp
        want.extend([1, b'E', 2, b'E', b'c', 1, b'1']);
        want.extend([1, 1, b'r']);
        want.push(3); // ChargeCategory::Credit
        want.push(2); // CostCategory::Inference
        want.extend([1, 4]); // Some(PricingModel::Spot)
        want.push(1); // is_ai
        want.extend([3, b'U', b'S', b'D']);
        assert_eq!(key_bytes(&key()).expect("encode"), want);
        assert_eq!(key_from(&want).expect("decode"), key());
    }

    /// Each value encodes as the one byte given.
    fn pinned<T: serde::Serialize + std::fmt::Debug>(cases: &[(T, u8)]) {
        for (v, i) in cases {
            assert_eq!(postcard::to_allocvec(v).expect("encode"), vec![*i], "{v:?}");
        }
    }

    #[test]
    fn every_enum_variant_keeps_its_stored_index() {
        // A variant inserted or moved would change what stored keys mean: each variant's
        // index, as stored, is pinned here (declaration order when the format was set).
        let providers = [
            (Provider::Aws, 0),
            (Provider::Azure, 1),
            (Provider::Gcp, 2),
            (Provider::Oci, 3),
            (Provider::Other, 4),
        ];
        pinned(&providers);
        let charges = [
            (ChargeCategory::Usage, 0),
            (ChargeCategory::Purchase, 1),
            (ChargeCategory::Tax, 2),
            (ChargeCategory::Credit, 3),
            (ChargeCategory::Adjustment, 4),
        ];
        pinned(&charges);
        let costs = [
            (CostCategory::Compute, 0),
            (CostCategory::Storage, 1),
            (CostCategory::Inference, 2),
            (CostCategory::Training, 3),
            (CostCategory::Network, 4),
            (CostCategory::Other, 5),
        ];
        pinned(&costs);
        let models = [
            (PricingModel::OnDemand, 0),
            (PricingModel::Reservation, 1),
            (PricingModel::SavingsPlan, 2),
            (PricingModel::CommittedUse, 3),
            (PricingModel::Spot, 4),
        ];
        pinned(&models);
    }

    #[test]
    fn totals_round_trip_exactly_at_the_extremes() {
        let d = |s: &str| Decimal::from_str(s).expect("decimal");
        for t in [
            Totals::default(),
            Totals {
                billed_cost: d("-0.000000000000001"),
                effective_cost: Decimal::MAX,
                quantity: Decimal::MIN,
                rows: i64::MIN,
            },
            Totals {
                billed_cost: d("12345.678901234567"),
                effective_cost: d("-3"),
                quantity: d("0.5"),
                rows: i64::MAX,
            },
        ] {
            assert_eq!(totals_from(&totals_bytes(&t)).expect("decode"), t);
        }
        assert!(totals_from(&[0; 55]).is_err());
    }

    #[test]
    fn damaged_totals_are_an_error_not_other_numbers() {
        let good = totals_bytes(&Totals {
            billed_cost: Decimal::new(150, 2),
            effective_cost: Decimal::new(150, 2),
            quantity: Decimal::ONE,
            rows: 1,
        });
        // `rust_decimal` keeps only the sign bit and a 5-bit scale of the flags word
        // (bytes 0-3), and divides a scale above 28 down: a damaged flags word would read
        // back as another number. Scale 29 (byte 2), an unused low bit (byte 0) and an
        // unused high bit (byte 3, below the sign) must each be refused.
        for (at, value) in [(2, 29u8), (0, 1), (3, 0x40)] {
            let mut bad = good;
            bad[at] = value;
            assert!(totals_from(&bad).is_err(), "byte {at} = {value:#x}");
            let mut bad = good;
            bad[16 + at] = value;
            assert!(
                totals_from(&bad).is_err(),
                "effective byte {at} = {value:#x}"
            );
        }
    }

    #[test]
    fn a_key_with_bytes_left_over_is_an_error() {
        let mut bytes = key_bytes(&key()).expect("encode");
        bytes.push(0);
        assert!(key_from(&bytes).is_err());
    }
}
