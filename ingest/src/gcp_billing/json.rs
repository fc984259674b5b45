//! A native JSON row (one line of a newline-delimited BigQuery extract) to an `ExportRow`,
//! through a `serde_json::Value`. This is the reference reading: `fast.rs` must agree with it
//! (its property test checks that), and it reads every line that `fast.rs` leaves, which is
//! how errors get their field path and reason.

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Container;
    use crate::gcp_billing::normalize;
    use crate::read::FileCtx;
    use burnrate_schemas::ResourceKind;
    use rust_decimal::Decimal;
    use std::path::Path;

    #[test]
    fn a_vertex_ai_token_row_end_to_end() {
        // Synthetic: shaped like the standard export schema, values invented.
        let line = r#"{"billing_account_id":"0A-1B","service":{"id":"C7E2-9256-1C43","description":"Vertex AI"},"sku":{"id":"X","description":"Gemini 1.5 Flash Input Text Tokens"},"usage_start_time":"2024-03-05 10:00:00 UTC","usage_end_time":"2024-03-05 11:00:00 UTC","project":{"id":"p","labels":[{"key":"env","value":"prod"}]},"labels":[],"system_labels":[],"location":{"location":"us-central1","region":"us-central1"},"cost":0.75,"currency":"EUR","usage":{"amount":1500000,"unit":"token","amount_in_pricing_units":1500,"pricing_unit":"1k tokens"},"credits":[],"invoice":{"month":"202403"},"cost_type":"regular","resource":{"name":"projects/p/locations/us-central1/publishers/google/models/gemini-1.5-flash","global_name":null}}"#;
        let v: Value = serde_json::from_str(line).expect("json");
        let row = export_row(&v).expect("row");
        let ctx = FileCtx::new(Path::new("v.jsonl"), Container::Plain, &Default::default());
        let recs = normalize::records(&row, &ctx, 1, &mut crate::classify::Memo::default())
            .expect("records");
        assert_eq!(recs.len(), 1);
        let r = &recs[0];
        assert_eq!(r.billed_cost, Decimal::new(75, 2));
        assert_eq!(r.billing_currency, "EUR");
        assert_eq!((r.is_ai, r.resource_kind), (true, ResourceKind::ModelApi));
        assert_eq!(r.model.as_deref(), Some("Gemini 1.5 Flash"));
        assert_eq!(r.tokens, Some(Decimal::from(1_500_000)));
        assert_eq!(
            r.tags.get("env").map(String::as_str),
            Some("prod"),
            "project label inherited"
        );
        assert!(
            r.resource_id
                .as_deref()
                .is_some_and(|id| id.ends_with("gemini-1.5-flash"))
        );
    }

    #[test]
    fn missing_required_fields_are_named() {
        let v: Value =
            serde_json::from_str(r#"{"billing_account_id":"A","currency":"USD"}"#).expect("json");
        assert_eq!(export_row(&v).map_err(|e| e.field), Err("cost".to_string()));
        assert_eq!(
            export_row(&Value::Null)
                .map(|_| ())
                .map_err(|e| e.reason.is_empty()),
            Err(false)
        );
    }
}
