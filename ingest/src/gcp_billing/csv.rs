//! Koku's flat CSV of the export (`service.description` style headers, arrays as Python
//! repr) to an `ExportRow`. Scalar cells go through the shared `Row` readers; the array
//! cells through `repr` and then the same typed readers the native JSON uses.

use serde_json::{Map, Value};

use super::export::{self, ExportRow, FieldError};
use super::repr;
use crate::columns;
use crate::error::RowError;
use crate::table::{Col, Row};

columns! {
    pub struct GcpCsvColumns {
        billing_account_id: ["billingaccountid"],
        service_id: ["serviceid"],
        service_description: ["servicedescription"],
        sku_id: ["skuid"],
        sku_description: ["skudescription"],
        usage_start: ["usagestarttime"],
        usage_end: ["usageendtime"],
        project_id: ["projectid"],
        project_name: ["projectname"],
        project_labels: ["projectlabels"],
        labels: ["labels"],
        system_labels: ["systemlabels"],
        location_region: ["locationregion"],
        location_location: ["locationlocation"],
        location_zone: ["locationzone"],
        cost: ["cost"],
        currency: ["currency"],
        usage_amount: ["usageamount"],
        usage_unit: ["usageunit"],
        usage_pricing_amount: ["usageamountinpricingunits"],
        usage_pricing_unit: ["usagepricingunit"],
        credits: ["credits"],
        invoice_month: ["invoicemonth"],
        cost_type: ["costtype"],
        adjustment_description: ["adjustmentinfodescription"],
        cost_at_list: ["costatlist"],
        resource_name: ["resourcename"],
        resource_global_name: ["resourceglobalname"],
    }
}

/// Turns a field error inside a repr cell into a row error naming the cell's column and
/// the path inside it.
pub fn row_error(row: &Row<'_>, e: FieldError) -> RowError {
    RowError {
        file: row.file.to_string(),
        row: row.number,
        column: Some(e.field),
        reason: e.reason,
    }
}

/// The repr cell parsed and placed at `path` in an otherwise empty object, so the typed
/// readers report paths such as `credits[0].amount`.
fn nested(row: &Row<'_>, col: Col, path: &str) -> Result<Value, RowError> {
    let inner = match row.text(col) {
        None => Value::Null,
        Some(t) => repr::parse(t).map_err(|reason| row.error(col, reason))?,
    };
    Ok(path.rsplit('.').fold(inner, |acc, key| {
        let mut m = Map::new();
        m.insert(key.to_string(), acc);
        Value::Object(m)
    }))
}

pub fn export_row(row: &Row<'_>, c: &GcpCsvColumns) -> Result<ExportRow, RowError> {
    let labels = |col: Col, path: &str| -> Result<Vec<(String, String)>, RowError> {
        export::pairs(&nested(row, col, path)?, path).map_err(|e| row_error(row, e))
    };
    let credits = export::credits(&nested(row, c.credits, "credits")?, "credits")
        .map_err(|e| row_error(row, e))?;
    Ok(ExportRow {
        billing_account_id: row
            .required_text(c.billing_account_id, "billing_account_id")?
            .to_string(),
        service_id: row.string(c.service_id),
        service_description: row.string(c.service_description),
        sku_id: row.string(c.sku_id),
        sku_description: row.string(c.sku_description),
        usage_start: row.timestamp(c.usage_start)?,
        usage_end: row.timestamp(c.usage_end)?,
        project_id: row.string(c.project_id),
        project_name: row.string(c.project_name),
        project_labels: labels(c.project_labels, "project.labels")?,
        labels: labels(c.labels, "labels")?,
        system_labels: labels(c.system_labels, "system_labels")?,
        region: row
            .string(c.location_region)
            .or_else(|| row.string(c.location_location)),
        zone: row.string(c.location_zone),
        cost: row.required_decimal(c.cost, "cost")?,
        currency: row.required_text(c.currency, "currency")?.to_string(),
        usage_amount: row.decimal(c.usage_amount)?,
        usage_unit: row.string(c.usage_unit),
        usage_pricing_amount: row.decimal(c.usage_pricing_amount)?,
        usage_pricing_unit: row.string(c.usage_pricing_unit),
        credits,
        invoice_month: row.string(c.invoice_month),
        cost_type: row.string(c.cost_type),
        adjustment_description: row.string(c.adjustment_description),
        cost_at_list: row.decimal(c.cost_at_list)?,
        resource_name: row.string(c.resource_name),
        resource_global_name: row.string(c.resource_global_name),
    })
}
