//! One OCI cost-report row to one `CostRecord`. Pure: no I/O. Rules in `mod.rs`.

use std::collections::BTreeMap;

use burnrate_schemas::{
    ChargeClass, ChargeFrequency, ChargeKind, CostCategory, CostRecord, Provider, ResourceKind,
};

use crate::classify::{Classification, category_from_words};
use crate::columns;
use crate::error::RowError;
use crate::read::FileCtx;
use crate::table::{Col, Row};
use crate::value::calendar_month;

columns! {
    pub struct OciColumns {
        reference_no: ["lineitemreferenceno"],
        tenant_id: ["lineitemtenantid"],
        interval_start: ["lineitemintervalusagestart"],
        interval_end: ["lineitemintervalusageend"],
        service: ["productservice"],
        compartment_id: ["productcompartmentid"],
        compartment_name: ["productcompartmentname"],
        region: ["productregion"],
        availability_domain: ["productavailabilitydomain"],
        resource_id: ["productresourceid"],
        billed_quantity: ["usagebilledquantity"],
        subscription_id: ["costsubscriptionid"],
        product_sku: ["costproductsku"],
        description: ["productdescription"],
        my_cost: ["costmycost"],
        my_cost_overage: ["costmycostoverage"],
        currency: ["costcurrencycode"],
        billing_unit: ["costbillingunitreadable"],
        sku_unit: ["costskuunitdescription"],
        is_correction: ["lineitemiscorrection"],
    }
}

/// The `tags/<namespace>.<key>` columns of a header: (index, `<namespace>.<key>`).
pub fn tag_columns(names: &[String]) -> Vec<(usize, String)> {
    names
        .iter()
        .enumerate()
        .filter_map(|(i, n)| {
            let rest = n
                .strip_prefix("tags/")
                .or_else(|| n.strip_prefix("tags_"))?;
            (!rest.is_empty()).then(|| (i, rest.to_string()))
        })
        .collect()
}

pub fn record(
    row: &Row<'_>,
    c: &OciColumns,
    tag_cols: &[(usize, String)],
    ctx: &FileCtx,
) -> Result<CostRecord, RowError> {
    let cost = row.required_decimal(c.my_cost, "cost/myCost")?;
    // Overage is billed on top of the in-commitment amount (myCost = billedQuantity x
    // unitPrice, overage = billedQuantityOverage x unitPriceOverage).
    let billed = cost + row.decimal(c.my_cost_overage)?.unwrap_or_default();
    let start = row.required_timestamp(c.interval_start, "lineItem/intervalUsageStart")?;
    let end = row.timestamp(c.interval_end)?.unwrap_or(start);
    let correction = match row.text(c.is_correction) {
        None => false,
        Some(t) if t.eq_ignore_ascii_case("true") => true,
        Some(t) if t.eq_ignore_ascii_case("false") => false,
        Some(t) => {
            return Err(row.error(
                c.is_correction,
                format!("expected true or false, got {t:?}"),
            ));
        }
    };
    let tenant = row.string(c.tenant_id);
    let service = row.string(c.service).unwrap_or_default();
    let description = row.string(c.description);
    let sku_unit = row.string(c.sku_unit);
    let quantity = row.decimal(c.billed_quantity)?;
    let class = classify(&service, description.as_deref());
    let tokens = match sku_unit.as_deref() {
        Some(u) if u.to_ascii_lowercase().contains("token") => quantity,
        _ => None,
    };
    let mut tags = BTreeMap::new();
    for (idx, key) in tag_cols {
        if let Some(v) = row.text(Col(Some(*idx))) {
            tags.insert(key.clone(), v.to_string());
        }
    }
    let (period_start, period_end) = calendar_month(start);
    Ok(CostRecord {
        provider: Provider::Oci,
        provider_name: Provider::Oci.focus_name().to_string(),
        billing_account_id: tenant
            .clone()
            .or_else(|| row.string(c.subscription_id))
            .unwrap_or_default(),
        billing_account_name: None,
        sub_account_id: row.string(c.compartment_id),
        sub_account_name: row.string(c.compartment_name),
        invoice_id: None,
        billing_period_start: period_start,
        billing_period_end: period_end,
        charge_period_start: start,
        charge_period_end: end,
        charge_category: ChargeKind::Usage.category(),
        charge_kind: ChargeKind::Usage,
        charge_class: correction.then_some(ChargeClass::Correction),
        charge_frequency: Some(ChargeFrequency::UsageBased),
        charge_description: description.clone(),
        billed_cost: billed,
        effective_cost: billed,
        list_cost: None,
        contracted_cost: None,
        billing_currency: row
            .required_text(c.currency, "cost/currencyCode")?
            .to_string(),
        pricing_category: None,
        pricing_model: None,
        commitment_discount_id: None,
        commitment_discount_type: None,
        commitment_discount_status: None,
        consumed_quantity: quantity,
        consumed_unit: sku_unit,
        pricing_quantity: quantity,
        pricing_unit: row.string(c.billing_unit),
        region_id: row.string(c.region),
        availability_zone: row.string(c.availability_domain),
        resource_id: row.string(c.resource_id),
        resource_name: None,
        resource_type: None,
        service_code: service.clone(),
        service_name: service,
        service_category: None,
        service_subcategory: None,
        sku_id: row.string(c.product_sku),
        sku_description: description.clone(),
        usage_type: description,
        instance_type: None,
        tags,
        resource_kind: class.resource_kind,
        cost_category: class.cost_category,
        is_ai: class.is_ai,
        model: class.model,
        tokens,
        source: ctx.source.clone(),
        restates_period: false,
        row_ref: ctx.row_ref(row.number),
    })
}

/// OCI AI services (Generative AI, Data Science, the AI language/vision/speech services)
/// and GPU shapes, named in `product/service` and `product/Description`.
pub fn classify(service: &str, description: Option<&str>) -> Classification {
    let s = service.to_ascii_uppercase();
    let d = description.unwrap_or("").to_ascii_uppercase();
    let gpu = d
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| w == "GPU");
    if s.contains("GENERATIVE_AI") || s.contains("GENAI") {
        return Classification::ai(ResourceKind::ModelApi, CostCategory::Inference);
    }
    if s.contains("DATA_SCIENCE")
        || s.starts_with("AI_")
        || s.contains("_AI")
        || s.contains("MACHINE_LEARNING")
    {
        let kind = if gpu {
            ResourceKind::GpuVm
        } else {
            ResourceKind::Other
        };
        return Classification::ai(kind, category_from_words(&[service, &d]));
    }
    if gpu {
        return Classification::ai(ResourceKind::GpuVm, CostCategory::Compute);
    }
    Classification::plain(category_from_words(&[service, &d]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Container;
    use crate::table::Header;
    use csv::StringRecord;
    use rust_decimal::Decimal;
    use std::path::Path;
    use std::str::FromStr;

    const H: &str = "lineItem/referenceNo,lineItem/tenantId,lineItem/intervalUsageStart,lineItem/intervalUsageEnd,product/service,product/compartmentId,product/Description,usage/billedQuantity,cost/myCost,cost/myCostOverage,cost/currencyCode,lineItem/isCorrection,tags/Oracle-Tags.CreatedBy,tags/Team.name";

    fn one(line: &str) -> Result<CostRecord, RowError> {
        let names: Vec<String> = H.split(',').map(str::to_string).collect();
        let header = Header::new(&names);
        let cols = OciColumns::resolve(&header);
        let tags = tag_columns(header.names());
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(line.as_bytes());
        let mut rec = StringRecord::new();
        assert!(rdr.read_record(&mut rec).expect("csv"));
        let ctx = FileCtx::new(Path::new("oci.csv"), Container::Plain, &Default::default());
        record(
            &Row {
                record: &rec,
                header: &header,
                file: "oci.csv",
                number: 2,
            },
            &cols,
            &tags,
            &ctx,
        )
    }

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).expect("decimal")
    }

    #[test]
    fn overage_adds_and_corrections_are_marked() {
        let r = one("r1,ocid1.tenancy.x,2023-11-13T10:00Z,2023-11-13T11:00:00Z,COMPUTE,ocid1.compartment.y,Compute - GPU - A10,2,-1.50,0.25,USD,true,me@example.com,")
            .expect("row");
        assert_eq!((r.billed_cost, r.effective_cost), (d("-1.25"), d("-1.25")));
        assert_eq!(r.charge_class, Some(ChargeClass::Correction));
        assert_eq!(r.billing_account_id, "ocid1.tenancy.x");
        assert_eq!(r.sub_account_id.as_deref(), Some("ocid1.compartment.y"));
        assert_eq!(
            r.charge_period_start.to_rfc3339(),
            "2023-11-13T10:00:00+00:00"
        );
        assert_eq!(
            r.billing_period_start.to_rfc3339(),
            "2023-11-01T00:00:00+00:00"
        );
        assert_eq!(r.tags.len(), 1, "empty tag cells are not tags");
        assert_eq!(r.tags["Oracle-Tags.CreatedBy"], "me@example.com");
        assert_eq!((r.is_ai, r.resource_kind), (true, ResourceKind::GpuVm));
        assert_eq!(r.provider, Provider::Oci);
    }

    #[test]
    fn bad_cells_name_their_column() {
        let e = one("r1,t,2023-11-13T10:00Z,,COMPUTE,c,x,1,abc,,USD,false,,").expect_err("bad");
        assert_eq!(e.column.as_deref(), Some("cost/myCost"));
        let e = one("r1,t,2023-11-13T10:00Z,,COMPUTE,c,x,1,1,,USD,maybe,,").expect_err("bad");
        assert_eq!(e.column.as_deref(), Some("lineItem/isCorrection"));
        let e = one("r1,t,,,COMPUTE,c,x,1,1,,USD,false,,").expect_err("bad");
        assert_eq!(e.column.as_deref(), Some("lineItem/intervalUsageStart"));
    }
}
