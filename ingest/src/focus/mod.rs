//! FOCUS files (FinOps Open Cost and Usage Specification 1.0, 1.1, 1.2 and the post-1.2 AI
//! working draft), from any provider, as CSV or Parquet.
//!
//! **What the format is.** One row per charge with spec-defined column names: `BilledCost`,
//! `EffectiveCost`, `ListCost`, `ContractedCost`, `BillingCurrency`, `ChargeCategory`,
//! `ChargeClass`, `ChargeFrequency`, `ChargePeriodStart/End`, `BillingPeriodStart/End`,
//! `PricingCategory`, `CommitmentDiscount*`, quantities and units, `ResourceId`,
//! `ServiceName`, `Tags`... Providers add their own columns with an `x_` prefix (Microsoft's
//! export has some fifty). Parquet files arrive here already turned into string rows by the
//! driver, so CSV and Parquet share this normalizer.
//!
//! **Detection.** A header is FOCUS when it has `BilledCost`, `ChargeCategory` and
//! `ChargePeriodStart`: no native export names a column any of those ways, and every FOCUS
//! version requires all three. Detection runs before the native sources, so a provider's
//! FOCUS export with its `x_` columns is FOCUS, not native.
//!
//! **Billing rules.** FOCUS already states both views, so the columns are taken as given:
//! billed = `BilledCost`, effective = `EffectiveCost` (billed when a file has no such column),
//! list and contracted as written. Negative usage rows (reversals in the real sample) keep
//! their sign. `x_ChargeKind` refines the category: Usage, Purchase and Tax map to
//! themselves, Adjustment to `adjustment`, Credit to `credit` or to `refund` when the
//! description says "refund" (FOCUS folds refunds into Credit). `ChargeClass` Correction is
//! kept beside the category it corrects. `ChargeFrequency` accepts `Usage-Based` and the
//! sample's `Usage-based`. The pricing model comes from `PricingCategory` (Standard →
//! on-demand, Dynamic → spot) and, for Committed rows, from `CommitmentDiscountType` text
//! ("Savings Plan", "Reservation", "Committed Use").
//!
//! **Names.** The provider is `ProviderName` through `Provider::from_name` (its text kept in
//! `ProviderName`); the AI working draft drops `ProviderName` for `ServiceProviderName` /
//! `HostProviderName`, which are read in its place. `ServiceName` fills both the service
//! name and `x_ServiceCode`, unless the file has an `x_ServiceCode` column. `Tags` is a JSON
//! object (braces optional, keys trimmed).
//!
//! **Quirks of real and example files.** The real 1,000-row sample writes nulls as `NULL` and
//! has an extra `Id` column (ignored); the spec examples write `null`, leave blank lines
//! between rows (skipped by the driver as blank lines), write `M/D/YY` dates (read as 20YY),
//! and the commitment examples omit `BillingAccountId`, `BillingCurrency`, `ProviderName` and
//! `ServiceName` altogether. Those become an empty account, the ISO "no currency" code `XXX`
//! (never added to real money; the `--currency` given instead, if any), provider `Other` with an empty name, and an empty service
//! name: nothing is invented. The SaaS examples format money as a spreadsheet does
//! (`"$10,000.00 "`); on USD rows a `$` amount with thousands grouped by three is read
//! (see `normalize::amount`). Two commitment examples end a charge at hour 30
//! (`2023-02-01T30:00:00Z`, an upstream typo): those rows are rejected, naming the column.
//! A file without `BillingPeriodStart/End` gets the calendar month
//! of each charge's start.
//!
//! **AI.** `ServiceCategory` "AI and Machine Learning" or an AI service name marks AI spend;
//! the resource id's kind (`:endpoint/`, `:training-job/`) says what it is. The working
//! draft's token billing (`ConsumedUnit` Tokens, `SkuPriceDetails.ModelId`) gives
//! `x_ResourceKind` model-api, `x_Model` and `x_Tokens` (= `ConsumedQuantity`).

mod classify;
mod columns;
pub mod normalize;

use crate::Normalizer;
use crate::detect::Format;
use crate::error::{IngestError, RowError};
use crate::read::FileCtx;
use crate::report::Out;
use crate::table::{Header, Row};

pub use columns::FocusColumns;

/// The columns whose presence makes a header FOCUS (keys).
const SIGNATURE: &[&str] = &["billedcost", "chargecategory", "chargeperiodstart"];

pub fn sniff(header: &Header) -> Option<Format> {
    SIGNATURE
        .iter()
        .all(|k| header.has(k))
        .then_some(Format::Focus)
}

pub fn normalizer(header: &Header, ctx: &FileCtx) -> Result<Box<dyn Normalizer>, IngestError> {
    FocusColumns::check_unambiguous(header, ctx)?;
    let missing: Vec<&str> = [
        ("billedcost", "BilledCost"),
        ("chargecategory", "ChargeCategory"),
        ("chargeperiodstart", "ChargePeriodStart"),
    ]
    .iter()
    .filter(|(k, _)| !header.has(k))
    .map(|(_, name)| *name)
    .collect();
    if !missing.is_empty() {
        return Err(IngestError::MissingColumns {
            path: ctx.path.clone(),
            format: Format::Focus.to_string(),
            missing: missing.join(", "),
        });
    }
    Ok(Box::new(FocusNormalizer {
        cols: FocusColumns::resolve(header),
        ctx: ctx.clone(),
    }))
}

struct FocusNormalizer {
    cols: FocusColumns,
    ctx: FileCtx,
}

impl Normalizer for FocusNormalizer {
    fn row(&mut self, row: &Row<'_>, out: &mut Out<'_>) -> Result<(), RowError> {
        out.cost(normalize::record(row, &self.cols, &self.ctx)?);
        Ok(())
    }
}
