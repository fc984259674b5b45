//! # AWS Cost and Usage Reports
//!
//! Three column sets, one normalizer:
//! - **Legacy CUR** CSV (`lineItem/UnblendedCost`, `resourceTags/user:team`), plain or gzip,
//!   with a `-Manifest.json` per delivery. The column set grows with the services used and
//!   the tags activated, so nothing is read by position.
//! - **Athena / Parquet** naming of the legacy CUR (`line_item_unblended_cost`,
//!   `resource_tags_user_team`, partition columns `year`, `month`).
//! - **CUR 2.0** (Data Exports): snake_case with a static column set and map columns
//!   (`product`, `resource_tags`, `cost_category`), CSV or Parquet.
//!
//! `column_key` makes `lineItem/UsageType` and `line_item_usage_type` one key, so the
//! sets differ only in tags and maps (see `normalize::TagColumns`, `normalize::json_map`).
//!
//! ## Billed and effective cost, by line item type
//! Billed is the unblended cost; effective is the amortized cost (AWS's CID formula):
//! - `Usage`: both unblended. Spot when `pricing/term` is `Spot` or the usage type says so.
//! - `DiscountedUsage` (reservation-covered): billed unblended, effective
//!   `reservation/EffectiveCost`.
//! - `SavingsPlanCoveredUsage`: billed **0**, effective `savingsPlan/SavingsPlanEffectiveCost`.
//!   The matching `SavingsPlanNegation` line (same usage, opposite on-demand cost, no
//!   resource id) is not turned into a record: covered + negation net to 0 in the cash
//!   view, which is exactly what billing the covered line at 0 says, and the usage
//!   quantity is not counted twice. This is how AWS's own FOCUS export reads the CUR.
//!   (A file with covered lines but no negation lines, like one hand-edited Koku fixture,
//!   therefore bills less than the sum of its unblended column.)
//! - `SavingsPlanRecurringFee` / `RIFee`: a purchase record, billed as charged and effective
//!   0, plus (when some commitment went unused) a usage record of the commitment itself
//!   with billed 0 and effective = the unused part (`TotalCommitmentToDate -
//!   UsedCommitment`; for reservations `UnusedAmortizedUpfrontFeeForBillingPeriod +
//!   UnusedRecurringFee`), commitment status `Unused`.
//! - `SavingsPlanUpfrontFee`, and `Fee` of a reservation: one-time purchases, effective 0
//!   (their value reaches the effective view through the covered usage). Other `Fee` lines
//!   are spent as billed.
//! - `Tax`, `Credit`, `Refund` and the discounts (`EdpDiscount`, `BundledDiscount`,
//!   `PrivateRateDiscount`, `SppDiscount`, ...): kept with their sign, both views equal.
//!   Unknown line item types are kept as adjustments, with the type in the description.
//!
//! Net columns (`lineItem/NetUnblendedCost`, ...) are not read: discounts arrive as their
//! own lines, and adding the net view too would count them twice.
//!
//! ## Deliveries
//! A delivery is one assembly of one report for one billing period. Each record's
//! `x_Source` is the file, or `aws-cur:<report>/<period start>/<assembly id>` when read
//! through a manifest, so a later assembly of the same period can replace an earlier one.
//! When a directory holds several assemblies of a period, the one the period-level
//! manifest names is read and the others are reported as superseded.

mod classify;
mod columns;
mod manifest;
pub mod normalize;
#[cfg(test)]
mod tests;

pub use classify::{Facts, classify as classify_line};
pub use manifest::{leave_to_manifests, read_manifest};

use crate::Normalizer;
use crate::detect::Format;
use crate::error::{IngestError, RowError};
use crate::read::FileCtx;
use crate::report::Out;
use crate::table::{Header, Row};
use columns::CurColumns;
use normalize::TagColumns;

/// A CUR of any column set, from its header.
pub fn sniff(header: &Header) -> Option<Format> {
    if !(header.has("lineitemunblendedcost") && header.has("lineitemlineitemtype")) {
        return None;
    }
    let names = header.names();
    if names.iter().any(|n| n.contains('/')) {
        Some(Format::AwsCurLegacy)
    } else if header.has("billpayeraccountname")
        || names.iter().any(|n| n == "product" || n == "resource_tags")
    {
        Some(Format::AwsCur2)
    } else {
        Some(Format::AwsCurAthena)
    }
}

/// A CUR delivery manifest (legacy `assemblyId` + `reportKeys`, or CUR 2.0 `executionId`
/// + `dataFiles`).
pub fn sniff_json(value: &serde_json::Value) -> Option<Format> {
    let obj = value.as_object()?;
    let legacy = obj.contains_key("assemblyId") && obj.contains_key("reportKeys");
    let v2 = obj.contains_key("executionId") && obj.contains_key("dataFiles");
    (legacy || v2).then_some(Format::AwsCurManifest)
}

struct CurNormalizer {
    columns: CurColumns,
    tags: TagColumns,
    ctx: FileCtx,
    memo: normalize::Memo,
}

impl Normalizer for CurNormalizer {
    fn row(&mut self, row: &Row<'_>, out: &mut Out<'_>) -> Result<(), RowError> {
        normalize::normalize(
            row,
            &self.columns,
            &self.tags,
            &self.ctx,
            &mut self.memo,
            out,
        )
    }
}

/// The normalizer for a CUR file with this header.
pub fn normalizer(
    format: Format,
    header: &Header,
    ctx: &FileCtx,
) -> Result<Box<dyn Normalizer>, IngestError> {
    let columns = CurColumns::resolve(header);
    CurColumns::check_unambiguous(header, ctx)?;
    let mut missing = Vec::new();
    if !columns.line_item_type.present() {
        missing.push("lineItem/LineItemType");
    }
    if !columns.unblended_cost.present() {
        missing.push("lineItem/UnblendedCost");
    }
    if !columns.usage_start.present() && !columns.time_interval.present() {
        missing.push("lineItem/UsageStartDate (or identity/TimeInterval)");
    }
    if !columns.currency.present() && ctx.default_currency.is_none() {
        missing.push("lineItem/CurrencyCode (or pass --currency CODE)");
    }
    if !missing.is_empty() {
        return Err(IngestError::MissingColumns {
            path: ctx.path.clone(),
            format: format.to_string(),
            missing: missing.join(", "),
        });
    }
    let mut ctx = ctx.clone();
    ctx.source = ctx.delivery_folder();
    Ok(Box::new(CurNormalizer {
        columns,
        tags: TagColumns::find(header),
        ctx,
        memo: normalize::Memo::default(),
    }))
}
