//! Oracle Cloud Infrastructure native cost reports (the CSV files OCI writes to its
//! `reports/cost-csv/` bucket, one hour of usage per row).
//!
//! **What the format is.** Slash-named columns in five groups: `lineItem/*` (reference
//! number, tenancy, the usage interval, `isCorrection`, `backreferenceNo`), `product/*`
//! (service, compartment, region, availability domain, resource id, description),
//! `usage/*` (billed quantity and overage quantity), `cost/*` (subscription, product SKU,
//! unit prices, `myCost`, `myCostOverage`, currency, units, overage flag) and one
//! `tags/<namespace>.<key>` column per tag in use. Intervals are ISO times, sometimes
//! without seconds (`2023-11-13T10:00Z`). Detection: `lineItem/referenceNo`,
//! `lineItem/tenantId` and `cost/myCost` together.
//!
//! **Billing rules.**
//! - billed = effective = `cost/myCost` + `cost/myCostOverage` (absent = 0). In the real
//!   file `myCost` is `billedQuantity x unitPrice` to the last digit, and overage has its own
//!   quantity and unit price, so the two add. Every overage cell in the real sample is
//!   empty, so that sum is not exercised by real data. (The FinOps converter's mapping takes
//!   BilledCost from `myCostOverage` alone, which would make this whole pay-as-you-go file
//!   cost nothing; we do not follow it.) OCI cost reports carry no list or amortized price,
//!   so list is absent and effective equals billed.
//! - Every row is usage (the report has no purchase, tax or credit lines); negative rows keep
//!   their sign. `lineItem/isCorrection = true` → ChargeClass Correction.
//! - BillingAccountId = the tenancy (`lineItem/tenantId`, else `cost/subscriptionId`);
//!   SubAccountId/Name = the compartment, OCI's unit of grouping under a tenancy.
//!   ServiceName = `x_ServiceCode` = `product/service` (`COMPUTE`, `TELEMETRY`, ...), SkuId =
//!   `cost/productSku`, region and zone from `product/region` and
//!   `product/availabilityDomain`, ResourceId = `product/resourceId`. Quantities are
//!   `usage/billedQuantity` in `cost/skuUnitDescription` units.
//! - The report has no billing period column: it is the calendar month (UTC) of the
//!   interval start, as OCI invoices monthly.
//! - Tags: each non-empty `tags/<namespace>.<key>` cell, keyed `<namespace>.<key>`.
//!
//! **AI**: Generative AI is a model API; Data Science and the `AI_*` services are AI; GPU
//! shapes (`GPU` in the description) are GPU VMs.

pub mod normalize;

use crate::Normalizer;
use crate::detect::Format;
use crate::error::{IngestError, RowError};
use crate::read::FileCtx;
use crate::report::Out;
use crate::table::{Header, Row};

use normalize::OciColumns;

const SIGNATURE: &[&str] = &["lineitemreferenceno", "lineitemtenantid", "costmycost"];

pub fn sniff(header: &Header) -> Option<Format> {
    SIGNATURE
        .iter()
        .all(|k| header.has(k))
        .then_some(Format::OciCost)
}

pub fn normalizer(header: &Header, ctx: &FileCtx) -> Result<Box<dyn Normalizer>, IngestError> {
    OciColumns::check_unambiguous(header, ctx)?;
    ctx.require_columns(
        header,
        Format::OciCost,
        &[
            ("costmycost", "cost/myCost"),
            ("costcurrencycode", "cost/currencyCode"),
            ("lineitemintervalusagestart", "lineItem/intervalUsageStart"),
        ],
    )?;
    Ok(Box::new(OciNormalizer {
        cols: OciColumns::resolve(header),
        tags: normalize::tag_columns(header.names()),
        ctx: ctx.clone(),
    }))
}

struct OciNormalizer {
    cols: OciColumns,
    tags: Vec<(usize, String)>,
    ctx: FileCtx,
}

impl Normalizer for OciNormalizer {
    fn row(&mut self, row: &Row<'_>, out: &mut Out<'_>) -> Result<(), RowError> {
        out.cost(normalize::record(row, &self.cols, &self.tags, &self.ctx)?);
        Ok(())
    }
}
