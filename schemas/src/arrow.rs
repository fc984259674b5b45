//! Arrow schemas of the normalized records, for Parquet output and columnar stores.
//!
//! Money and quantities are `Decimal128(38, 18)`: 20 integer digits hold any bill (and
//! quantities up to 2^64 bytes), and 18 fractional digits keep the per-unit rates real
//! exports write. Times are UTC microseconds.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, TimeUnit};

/// Precision and scale of every decimal column.
pub const DECIMAL_PRECISION: u8 = 38;
pub const DECIMAL_SCALE: i8 = 18;

fn money(name: &str, nullable: bool) -> Field {
    Field::new(
        name,
        DataType::Decimal128(DECIMAL_PRECISION, DECIMAL_SCALE),
        nullable,
    )
}

fn time(name: &str) -> Field {
    Field::new(
        name,
        DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("UTC"))),
        false,
    )
}

fn text(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Utf8, nullable)
}

/// The Arrow schema of `CostRecord`, with the same column names as its serde form. `Tags`
/// is a JSON object in a string column: Arrow maps do not survive every store we write.
pub fn cost_record_schema() -> Schema {
    Schema::new(vec![
        text("x_Provider", false),
        text("ProviderName", false),
        text("BillingAccountId", false),
        text("BillingAccountName", true),
        text("SubAccountId", true),
        text("SubAccountName", true),
        text("InvoiceId", true),
        time("BillingPeriodStart"),
        time("BillingPeriodEnd"),
        time("ChargePeriodStart"),
        time("ChargePeriodEnd"),
        text("ChargeCategory", false),
        text("x_ChargeKind", false),
        text("ChargeClass", true),
        text("ChargeFrequency", true),
        text("ChargeDescription", true),
        money("BilledCost", false),
        money("EffectiveCost", false),
        money("ListCost", true),
        money("ContractedCost", true),
        text("BillingCurrency", false),
        text("PricingCategory", true),
        text("x_PricingModel", true),
        text("CommitmentDiscountId", true),
        text("CommitmentDiscountType", true),
        text("CommitmentDiscountStatus", true),
        money("ConsumedQuantity", true),
        text("ConsumedUnit", true),
        money("PricingQuantity", true),
        text("PricingUnit", true),
        text("RegionId", true),
        text("AvailabilityZone", true),
        text("ResourceId", true),
        text("ResourceName", true),
        text("ResourceType", true),
        text("ServiceName", false),
        text("x_ServiceCode", false),
        text("ServiceCategory", true),
        text("ServiceSubcategory", true),
        text("SkuId", true),
        text("x_SkuDescription", true),
        text("x_UsageType", true),
        text("x_InstanceType", true),
        text("Tags", false),
        text("x_ResourceKind", false),
        text("x_CostCategory", false),
        Field::new("x_IsAI", DataType::Boolean, false),
        text("x_Model", true),
        money("x_Tokens", true),
        text("x_Source", false),
        Field::new("x_RestatesPeriod", DataType::Boolean, false),
        text("x_RowRef", false),
    ])
}

/// The Arrow schema of `MetricSample`.
pub fn metric_sample_schema() -> Schema {
    let measure = |name: &str| Field::new(name, DataType::Float64, true);
    Schema::new(vec![
        text("resource_id", false),
        time("minute"),
        text("provider", true),
        text("model", true),
        text("accelerator", true),
        measure("replicas"),
        measure("requests"),
        measure("errors"),
        measure("input_tokens"),
        measure("output_tokens"),
        measure("latency_p50_ms"),
        measure("latency_p95_ms"),
        measure("gpu_utilization_pct"),
        measure("gpu_memory_utilization_pct"),
        measure("cpu_utilization_pct"),
        measure("memory_utilization_pct"),
        text("row_ref", false),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::*;

    /// The Arrow and serde forms must name the same columns, or a Parquet file and a JSON
    /// row of the same record would disagree.
    #[test]
    fn arrow_columns_match_serde_names() {
        let record = CostRecord {
            provider: Provider::Aws,
            provider_name: "AWS".into(),
            billing_account_id: "1".into(),
            billing_account_name: None,
            sub_account_id: None,
            sub_account_name: None,
            invoice_id: None,
            billing_period_start: chrono::DateTime::UNIX_EPOCH,
            billing_period_end: chrono::DateTime::UNIX_EPOCH,
            charge_period_start: chrono::DateTime::UNIX_EPOCH,
            charge_period_end: chrono::DateTime::UNIX_EPOCH,
            charge_category: ChargeCategory::Usage,
            charge_kind: ChargeKind::Usage,
            charge_class: None,
            charge_frequency: None,
            charge_description: None,
            billed_cost: rust_decimal::Decimal::ZERO,
            effective_cost: rust_decimal::Decimal::ZERO,
            list_cost: None,
            contracted_cost: None,
            billing_currency: "USD".into(),
            pricing_category: None,
            pricing_model: None,
            commitment_discount_id: None,
            commitment_discount_type: None,
            commitment_discount_status: None,
            consumed_quantity: None,
            consumed_unit: None,
            pricing_quantity: None,
            pricing_unit: None,
            region_id: None,
            availability_zone: None,
            resource_id: None,
            resource_name: None,
            resource_type: None,
            service_name: "s".into(),
            service_code: "s".into(),
            service_category: None,
            service_subcategory: None,
            sku_id: None,
            sku_description: None,
            usage_type: None,
            instance_type: None,
            tags: Default::default(),
            resource_kind: ResourceKind::Other,
            cost_category: CostCategory::Other,
            is_ai: false,
            model: None,
            tokens: None,
            source: "f".into(),
            restates_period: false,
            row_ref: RowRef {
                file: "f".into(),
                row: 1,
            },
        };
        let json = serde_json::to_value(&record).expect("serialize");
        let mut serde_names: Vec<String> = json
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        let mut arrow_names: Vec<String> = cost_record_schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        serde_names.sort();
        arrow_names.sort();
        assert_eq!(serde_names, arrow_names);
    }
}
