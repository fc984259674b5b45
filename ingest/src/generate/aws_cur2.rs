//! AWS CUR 2.0 (Data Exports) as Parquet: a second payer's lines, in the static snake_case
//! column set, costs and quantities as DOUBLE, times as TIMESTAMP, and `product`,
//! `resource_tags`, `cost_category` as MAP<string,string> columns. Layout as Data Exports
//! writes it: `<export>/data/BILLING_PERIOD=YYYY-MM/<export>-00001.snappy.parquet` and
//! `<export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json` (`executionId`,
//! `dataFiles`).

use std::io::Write;
use std::sync::Arc;

use arrow_array::builder::{
    Float64Builder, MapBuilder, StringBuilder, TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use rust_decimal::Decimal;
use serde_json::json;

use super::aws_lines::{Delivery, Line, period_lines};
use super::catalog::{AWS2_PAYER, Source, fnv};
use super::{GenerateError, Period, Run, Written, io_err};

/// Rows buffered before a record batch is written (bounds memory).
pub const BATCH_ROWS: usize = 16_384;

const EXPORT: &str = "burnrate-cur2";

/// String columns, in order, then the others (see `Builders::finish`).
pub const STRING_COLUMNS: &[&str] = &[
    "identity_line_item_id",
    "identity_time_interval",
    "bill_bill_type",
    "bill_billing_entity",
    "bill_invoice_id",
    "bill_invoicing_entity",
    "bill_payer_account_id",
    "bill_payer_account_name",
    "line_item_usage_account_id",
    "line_item_usage_account_name",
    "line_item_line_item_type",
    "line_item_product_code",
    "line_item_usage_type",
    "line_item_operation",
    "line_item_availability_zone",
    "line_item_resource_id",
    "line_item_currency_code",
    "line_item_line_item_description",
    "pricing_term",
    "pricing_unit",
    "product_instance_type",
    "product_region_code",
    "product_servicecode",
    "reservation_reservation_a_r_n",
    "savings_plan_savings_plan_a_r_n",
    "savings_plan_offering_type",
];
pub const TIME_COLUMNS: &[&str] = &[
    "bill_billing_period_start_date",
    "bill_billing_period_end_date",
    "line_item_usage_start_date",
    "line_item_usage_end_date",
];
pub const DOUBLE_COLUMNS: &[&str] = &[
    "line_item_usage_amount",
    "line_item_unblended_rate",
    "line_item_unblended_cost",
    "pricing_public_on_demand_cost",
    "reservation_effective_cost",
    "reservation_unused_recurring_fee",
    "savings_plan_savings_plan_rate",
    "savings_plan_savings_plan_effective_cost",
    "savings_plan_total_commitment_to_date",
    "savings_plan_used_commitment",
];
pub const MAP_COLUMNS: &[&str] = &["product", "resource_tags", "cost_category"];

type Map = MapBuilder<StringBuilder, StringBuilder>;

struct Builders {
    strings: Vec<StringBuilder>,
    times: Vec<TimestampMillisecondBuilder>,
    doubles: Vec<Float64Builder>,
    maps: Vec<Map>,
    rows: usize,
}

impl Builders {
    fn new() -> Builders {
        Builders {
            strings: STRING_COLUMNS
                .iter()
                .map(|_| StringBuilder::new())
                .collect(),
            times: TIME_COLUMNS
                .iter()
                .map(|_| TimestampMillisecondBuilder::new().with_timezone("UTC"))
                .collect(),
            doubles: DOUBLE_COLUMNS
                .iter()
                .map(|_| Float64Builder::new())
                .collect(),
            maps: MAP_COLUMNS
                .iter()
                .map(|_| MapBuilder::new(None, StringBuilder::new(), StringBuilder::new()))
                .collect(),
            rows: 0,
        }
    }

    fn push(&mut self, l: &Line, period: &Period) -> Result<(), String> {
        let interval = format!(
            "{}/{}",
            l.start.format("%Y-%m-%dT%H:%M:%SZ"),
            l.end.format("%Y-%m-%dT%H:%M:%SZ")
        );
        let id = format!("{:026x}", u128::from(l.id) * 0x9e37_79b9);
        let invoice = format!("{}", 700_000_000 + (fnv(&period.folder()) % 99_999_999));
        let az = if l.instance_type.is_empty() {
            String::new()
        } else {
            format!("{}a", l.region)
        };
        let strings: [Option<&str>; 26] = [
            Some(&id),
            Some(&interval),
            Some("Anniversary"),
            Some(l.billing_entity),
            Some(&invoice),
            Some("Amazon Web Services, Inc."),
            Some(AWS2_PAYER),
            Some("burnrate-research"),
            Some(l.account),
            Some("research-ml"),
            Some(l.line_type),
            Some(l.product_code),
            Some(l.usage_type),
            Some(l.operation),
            Some(&az),
            l.resource_id.as_deref(),
            Some("USD"),
            Some(&l.description),
            Some(l.term),
            Some(l.unit),
            Some(l.instance_type),
            Some(l.region),
            Some(l.product_code),
            l.ri_arn.as_deref(),
            l.sp_arn.as_deref(),
            Some(l.sp_offering),
        ];
        for (b, v) in self.strings.iter_mut().zip(strings) {
            match v {
                Some(s) if !s.is_empty() => b.append_value(s),
                _ => b.append_null(),
            }
        }
        let times = [period.start_time(), period.end_time(), l.start, l.end];
        for (b, t) in self.times.iter_mut().zip(times) {
            b.append_value(t.timestamp_millis());
        }
        let doubles = [
            Some(l.amount),
            l.rate,
            Some(l.cost),
            l.public_cost,
            l.ri_effective,
            l.ri_unused_recurring,
            l.sp_rate,
            l.sp_effective,
            l.sp_total,
            l.sp_used,
        ];
        for (b, d) in self.doubles.iter_mut().zip(doubles) {
            match d {
                Some(d) => b.append_value(exact_f64(d)?),
                None => b.append_null(),
            }
        }
        let product: Vec<(&str, &str)> = vec![
            ("product_name", l.product_name),
            ("region", l.region),
            ("servicecode", l.product_code),
        ];
        let tags: Vec<(&str, &str)> = if l.team.is_empty() {
            Vec::new()
        } else {
            vec![("user_team", l.team), ("user_env", l.env)]
        };
        let category: Vec<(&str, &str)> = vec![("charge_type", l.line_type)];
        for (b, entries) in self.maps.iter_mut().zip([product, tags, category]) {
            for (k, v) in entries {
                if v.is_empty() {
                    continue;
                }
                b.keys().append_value(k);
                b.values().append_value(v);
            }
            b.append(true).map_err(|e| e.to_string())?;
        }
        self.rows += 1;
        Ok(())
    }

    fn finish(&mut self) -> Result<RecordBatch, String> {
        // Every column is declared nullable: nullability inferred from one batch's nulls
        // would make the file's schema depend on which rows happen to come first.
        let mut cols: Vec<(&str, ArrayRef, bool)> = Vec::new();
        for (n, b) in STRING_COLUMNS.iter().zip(self.strings.iter_mut()) {
            cols.push((n, Arc::new(b.finish()), true));
        }
        for (n, b) in TIME_COLUMNS.iter().zip(self.times.iter_mut()) {
            cols.push((n, Arc::new(b.finish()), true));
        }
        for (n, b) in DOUBLE_COLUMNS.iter().zip(self.doubles.iter_mut()) {
            cols.push((n, Arc::new(b.finish()), true));
        }
        for (n, b) in MAP_COLUMNS.iter().zip(self.maps.iter_mut()) {
            cols.push((n, Arc::new(b.finish()), true));
        }
        self.rows = 0;
        RecordBatch::try_from_iter_with_nullable(cols).map_err(|e| e.to_string())
    }
}

/// The f64 whose shortest text is `d`'s digits. Parsing the decimal text gives the nearest
/// double; with at most 15 significant digits (see `money`) it prints back the same.
pub fn exact_f64(d: Decimal) -> Result<f64, String> {
    let f: f64 = d
        .to_string()
        .parse()
        .map_err(|e| format!("amount {d}: {e}"))?;
    debug_assert_eq!(
        f.to_string().parse::<Decimal>().ok(),
        Some(d.normalize()),
        "amount {d} does not survive a double"
    );
    Ok(f)
}

pub fn write(run: &mut Run<'_>) -> Result<(), GenerateError> {
    for period in run.cfg.periods() {
        let bp = format!("BILLING_PERIOD={}", period.start.format("%Y-%m"));
        let rel = format!("aws-cur2/{EXPORT}/data/{bp}/{EXPORT}-00001.snappy.parquet");
        let (path, file) = run.create(&rel)?;
        let perr = |reason: String| GenerateError::Parquet {
            path: path.clone(),
            reason,
        };
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(BATCH_ROWS * 8))
            .build();
        let mut builders = Builders::new();
        let mut writer: Option<ArrowWriter<std::io::BufWriter<std::fs::File>>> = None;
        let mut file = Some(file);
        let mut rows = 0u64;
        let mut truth = std::mem::take(&mut run.truth);
        let result = {
            let r: &Run<'_> = run;
            let mut flush = |b: &mut Builders,
                             writer: &mut Option<ArrowWriter<_>>|
             -> Result<(), GenerateError> {
                let batch = b.finish().map_err(perr)?;
                if writer.is_none()
                    && let Some(f) = file.take()
                {
                    *writer = Some(
                        ArrowWriter::try_new(f, batch.schema(), Some(props.clone()))
                            .map_err(|e| perr(e.to_string()))?,
                    );
                }
                if let Some(w) = writer.as_mut() {
                    w.write(&batch).map_err(|e| perr(e.to_string()))?;
                }
                Ok(())
            };
            let mut emit = |l: &Line| -> Result<(), GenerateError> {
                builders.push(l, &period).map_err(perr)?;
                rows += 1;
                if builders.rows >= BATCH_ROWS {
                    flush(&mut builders, &mut writer)?;
                }
                Ok(())
            };
            let d = Delivery {
                source: Source::AwsCur2,
                days: &period.days,
                factor: Decimal::ONE,
                stream: "aws-cur2",
            };
            let res = period_lines(r, &period, d, Some(&mut truth), &mut emit);
            res.and_then(|()| flush(&mut builders, &mut writer))
        };
        run.truth = truth;
        result?;
        if let Some(w) = writer {
            let mut inner = w.into_inner().map_err(|e| GenerateError::Parquet {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            inner.flush().map_err(io_err(&path))?;
        }
        run.wrote(Written {
            path: rel.clone(),
            provider: "aws",
            format: "AWS CUR 2.0",
            view: "billed+effective",
            rows,
        });
        let execution = fnv(&format!("{}/{}/cur2", run.cfg.seed, period.folder()));
        let manifest = json!({
            "executionId": format!("{execution:016x}"),
            "exportName": EXPORT,
            "exportArn": format!("arn:aws:bcm-data-exports:us-east-1:{AWS2_PAYER}:export/{EXPORT}"),
            "billingPeriod": {"start": period.start_time().to_rfc3339(), "end": period.end_time().to_rfc3339()},
            "dataFiles": [format!("s3://burnrate-exports/{}", rel.trim_start_matches("aws-cur2/"))],
        });
        let mrel = format!("aws-cur2/{EXPORT}/metadata/{bp}/{EXPORT}-Manifest.json");
        let (mpath, mut w) = run.create(&mrel)?;
        serde_json::to_writer_pretty(&mut w, &manifest)
            .map_err(std::io::Error::other)
            .and_then(|()| w.flush())
            .map_err(io_err(&mpath))?;
        run.wrote(Written {
            path: mrel,
            provider: "aws",
            format: "AWS CUR manifest",
            view: "manifest",
            rows: 0,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch with no nulls must still declare every column nullable, or a later batch
    /// with an empty cell no longer fits the file's schema (found at benchmark scale).
    #[test]
    fn every_column_is_nullable_whatever_the_batch_holds() {
        let batch = Builders::new().finish().expect("batch");
        let schema = batch.schema();
        assert_eq!(
            schema.fields().len(),
            STRING_COLUMNS.len() + TIME_COLUMNS.len() + DOUBLE_COLUMNS.len() + MAP_COLUMNS.len()
        );
        assert!(schema.fields().iter().all(|f| f.is_nullable()));
    }
}
