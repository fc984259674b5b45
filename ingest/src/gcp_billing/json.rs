//! A native JSON row (one line of a newline-delimited BigQuery extract) to an `ExportRow`.

use serde_json::Value;

use super::export::{ExportRow, FieldError, credits, number, pairs, text, time};

fn required<T>(v: Option<T>, field: &str) -> Result<T, FieldError> {
    v.ok_or_else(|| FieldError::new(field, format!("{field} is missing")))
}

pub fn export_row(v: &Value) -> Result<ExportRow, FieldError> {
    if !v.is_object() {
        return Err(FieldError::new("", "a line is not a JSON object"));
    }
    Ok(ExportRow {
        billing_account_id: required(text(v, "billing_account_id")?, "billing_account_id")?,
        service_id: text(v, "service.id")?,
        service_description: text(v, "service.description")?,
        sku_id: text(v, "sku.id")?,
        sku_description: text(v, "sku.description")?,
        usage_start: time(v, "usage_start_time")?,
        usage_end: time(v, "usage_end_time")?,
        project_id: text(v, "project.id")?,
        project_name: text(v, "project.name")?,
        project_labels: pairs(v, "project.labels")?,
        labels: pairs(v, "labels")?,
        system_labels: pairs(v, "system_labels")?,
        region: match text(v, "location.region")? {
            Some(r) => Some(r),
            None => text(v, "location.location")?,
        },
        zone: text(v, "location.zone")?,
        cost: required(number(v, "cost")?, "cost")?,
        currency: required(text(v, "currency")?, "currency")?,
        usage_amount: number(v, "usage.amount")?,
        usage_unit: text(v, "usage.unit")?,
        usage_pricing_amount: number(v, "usage.amount_in_pricing_units")?,
        usage_pricing_unit: text(v, "usage.pricing_unit")?,
        credits: credits(v, "credits")?,
        invoice_month: text(v, "invoice.month")?,
        cost_type: text(v, "cost_type")?,
        adjustment_description: text(v, "adjustment_info.description")?,
        cost_at_list: number(v, "cost_at_list")?,
        resource_name: text(v, "resource.name")?,
        resource_global_name: text(v, "resource.global_name")?,
    })
}
