//! Azure Cost Management exports: the cost details ("usage details") CSV that scheduled
//! exports and the Cost Details API write, in every column set Microsoft has shipped.
//!
//! # Column sets
//!
//! Names depend on the agreement and the export version, so every column is found by key
//! through the alias table in `columns.rs`, never by position:
//! - **EA** (Enterprise Agreement), two spellings: the FinOps toolkit's (`Cost`,
//!   `BillingCurrency`, `Product`, plus `benefitId`/`benefitName`) and the newer one
//!   (`CostInBillingCurrency`, `BillingCurrencyCode`, `ProductName`); the v1 usage details
//!   (`ExtendedCost`, `ConsumedQuantity`) map onto the same keys.
//! - **MCA** (Microsoft Customer Agreement) and partner/CSP sets, camelCase
//!   (`costInBillingCurrency`, `billingCurrency`, `invoiceId`, `pricingCurrency`, ...).
//! - **Pay-as-you-go / legacy** (`SubscriptionGuid`, `UsageDateTime`, `PreTaxCost`,
//!   `Currency`, `InstanceId`), also camelCased.
//! - **Localized** headers (`Abonnement-GUID (SubscriptionGuid)`): `column_key` keys on
//!   the English name in the trailing parentheses, so German files need nothing more.
//!
//! `sniff` claims a header with an amount, a usage date and an Azure meter or subscription
//! column, and labels it PAYG (legacy names such as `PreTaxCost`), MCA (pricing-currency
//! or invoice columns) or EA (the rest). The label is for reports only: one normalizer
//! reads all three. A UTF-8 BOM before the header, a second one before the first data row
//! (case B05) and CRLF line ends are handled by the table reader.
//!
//! # Values
//!
//! Dates come as `MM/DD/YYYY`, `M/D/YYYY`, `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`. `Tags`
//! is a JSON object with or without its outer braces (EA writes `"env": "prod","org":
//! "trey"`); a tag cell that is not JSON rejects the row, since silently dropping tags
//! would misattribute its cost. `AdditionalInfo` is JSON too, read only for the VM size
//! (`ServiceType`). `UnitOfMeasure` carries a block size (`10 Hours`, `1/Month`, `10K`):
//! `Quantity` counts those blocks and `Cost = Quantity × EffectivePrice`, so quantity and
//! unit are kept exactly as given (`ConsumedQuantity`/`PricingQuantity` = Quantity,
//! `ConsumedUnit`/`PricingUnit` = UnitOfMeasure). Only token counts are converted to base
//! units (quantity × block size, exact in `Decimal`).
//!
//! # Billing rules
//!
//! - **Periods.** Rows are daily: the charge period is `[Date, Date + 1 day)`. The billing
//!   period comes from `BillingPeriodStartDate`/`EndDate`, whose end is inclusive
//!   (`09/30/2023`) and becomes exclusive (`2023-10-01`); files without them (MCA samples
//!   with empty cells, legacy files) get the calendar month of the usage date.
//! - **Charge types.** `Usage` → usage; `Purchase` → purchase; `Tax`; `Refund` → refund
//!   (FOCUS Credit); `RoundingAdjustment` → rounding; `Adjustment`; `Credit`;
//!   `UnusedReservation`/`UnusedSavingsPlan` → usage with commitment status Unused.
//!   Legacy files have no charge type: all usage. An unknown charge type rejects the row.
//!   `Frequency` gives the charge frequency (`OneTime` purchases land on their day).
//! - **Commitments.** `PricingModel` (OnDemand, Reservation, SavingsPlan, Spot) is the
//!   pricing model; usage without one is on demand. The commitment id is `benefitId` (the
//!   full ARM path) or else `ReservationId`; its type comes from the pricing model, the
//!   charge type, or the benefit path.
//! - **Accounts.** `BillingAccountId` (EA enrollment or MCA billing account), else the
//!   billing profile, else the subscription (legacy files know nothing higher); the
//!   subscription is the sub-account. `ResourceId`/`InstanceId`/`InstanceName` is kept as
//!   the full ARM path, and an empty one stays `None`. `ServiceName` is `MeterCategory`
//!   (else the legacy `ServiceName`, else `ConsumedService`); `x_ServiceCode` is
//!   `ConsumedService` as written, else the meter category.
//! - **Currency.** `BillingCurrency`/`BillingCurrencyCode`/`Currency` on every record. A
//!   file without any currency column is refused (`MissingColumns`) rather than assumed to
//!   be in dollars.
//!
//! # Actual and amortized
//!
//! An export holds one dataset: **actual** cost (what the invoice charges: commitment
//! purchases at their price, covered usage at zero) or **amortized** cost (no commitment
//! purchases; covered usage at its share of the commitment; `UnusedReservation` and
//! `UnusedSavingsPlan` rows for the waste). The columns are the same, so the view is read
//! from the content: the first row that can only occur in one of them decides (an unused
//! commitment row or priced covered usage → amortized; covered usage at zero or a priced
//! commitment purchase → actual; see `view::evidence`). Records are held back until that
//! row arrives. If none has arrived after `UNDECIDED_LIMIT` rows or by the end of the file,
//! the file name decides (`...AmortizedCost...` / `...ActualCost...`), and else the file is
//! taken as actual. Such a file has no commitment rows, so both views of it are equal and
//! only the label depends on the guess.
//!
//! Each row then gets both costs as far as it determines them (`view::costs`): in an
//! actual file billed is the row's cost and a commitment purchase has effective 0 (it is
//! amortized onto usage that only the amortized file shows); in an amortized file
//! effective is the row's cost and covered usage and unused commitment were billed 0. So a
//! reservation purchase counts once in each view. `x_Source` is the file's delivery
//! identity with `#actual` or `#amortized` appended, so the two views of one period are
//! two deliveries that never replace or add to each other.
//!
//! # AI
//!
//! See `classify.rs`: Azure ML (`Microsoft.MachineLearningServices`, by consumed service or
//! resource type, refined by the `AMLResourceType`/`ComputeType` tags), Azure AI services
//! including Azure OpenAI (`Microsoft.CognitiveServices`; token meters are model APIs with
//! the model from the meter name and `x_Tokens`), Bot Service, and GPU VM sizes.

mod classify;
mod columns;
pub mod fetch;
mod normalize;
mod view;

pub use classify::{model_from_meter, unit_scale};
pub use normalize::{arm_type_and_name, json_object};
pub use view::View;

use crate::Normalizer;
use crate::detect::Format;
use crate::error::{IngestError, RowError};
use crate::read::FileCtx;
use crate::report::Out;
use crate::table::{Header, Row};

use classify::ClassMemo;
use columns::AzureColumns;
use normalize::{Charge, Outcome, normalize_row};

/// Rows held back while the content has not yet shown which view the file holds.
pub const UNDECIDED_LIMIT: usize = 10_000;

/// Claims an Azure cost export header and tells its column set.
pub fn sniff(header: &Header) -> Option<Format> {
    if !columns::is_azure_cost(header) {
        return None;
    }
    let any = |keys: &[&str]| keys.iter().any(|k| header.has(k));
    Some(
        if any(&[
            "pretaxcost",
            "subscriptionguid",
            "resourcerate",
            "usagequantity",
        ]) {
            Format::AzurePayg
        } else if any(&[
            "pricingcurrency",
            "costinpricingcurrency",
            "exchangeratepricingtobilling",
            "paygcostinbillingcurrency",
            "invoiceid",
        ]) {
            Format::AzureMca
        } else {
            Format::AzureEa
        },
    )
}

/// The normalizer for one Azure cost file.
pub fn normalizer(
    format: Format,
    header: &Header,
    ctx: &FileCtx,
) -> Result<Box<dyn Normalizer>, IngestError> {
    let cols = AzureColumns::resolve(header);
    AzureColumns::check_unambiguous(header, ctx)?;
    let missing = cols.missing(ctx.default_currency.is_some());
    if !missing.is_empty() {
        return Err(IngestError::MissingColumns {
            path: ctx.path.clone(),
            format: format.to_string(),
            missing: missing.join(", "),
        });
    }
    let mut ctx = ctx.clone();
    ctx.source = ctx.delivery_folder();
    Ok(Box::new(AzureNormalizer {
        cols,
        ctx,
        view: None,
        pending: Vec::new(),
        memo: ClassMemo::default(),
    }))
}

#[derive(Debug)]
struct AzureNormalizer {
    cols: AzureColumns,
    ctx: FileCtx,
    /// The file's view, once its content (or, failing that, its name) has told.
    view: Option<View>,
    /// Charges normalized before the view was known.
    pending: Vec<Charge>,
    memo: ClassMemo,
}

impl AzureNormalizer {
    fn decide(&mut self, view: View, out: &mut Out<'_>) {
        self.view = Some(view);
        for charge in std::mem::take(&mut self.pending) {
            out.cost(charge.into_record(view, &self.ctx.source));
        }
    }

    fn fallback_view(&self) -> View {
        view::name_hint(&self.ctx.file).unwrap_or(View::Actual)
    }
}

impl Normalizer for AzureNormalizer {
    fn row(&mut self, row: &Row<'_>, out: &mut Out<'_>) -> Result<(), RowError> {
        let charge = match normalize_row(&self.cols, row, &self.ctx, &mut self.memo)? {
            Outcome::Charge(c) => *c,
            Outcome::Skip(why) => {
                out.skip(why);
                return Ok(());
            }
        };
        if let Some(view) = self.view {
            out.cost(charge.into_record(view, &self.ctx.source));
            return Ok(());
        }
        let evidence = charge.evidence();
        self.pending.push(charge);
        if let Some(view) = evidence {
            self.decide(view, out);
        } else if self.pending.len() >= UNDECIDED_LIMIT {
            let view = self.fallback_view();
            self.decide(view, out);
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Out<'_>) {
        if self.view.is_none() {
            let view = self.fallback_view();
            self.decide(view, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Container;
    use crate::report::{Collected, FileReport};
    use crate::run_table;
    use crate::table::{CsvTable, Table};
    use burnrate_schemas::CostRecord;
    use std::path::Path;

    const HEADER: &str = "SubscriptionId,Date,MeterCategory,CostInBillingCurrency,BillingCurrency,ChargeType,PricingModel,ReservationId";

    /// Runs `rows` through the normalizer as the file `name`; returns the records in order.
    fn run_file(name: &str, rows: &[&str]) -> Vec<CostRecord> {
        let text = format!("{HEADER}\n{}\n", rows.join("\n"));
        let mut table = CsvTable::new(text.as_bytes()).expect("header");
        let ctx = FileCtx::new(Path::new(name), Container::Plain, &Default::default());
        let format = sniff(table.header()).expect("azure");
        let mut n = normalizer(format, &table.header().clone(), &ctx).expect("normalizer");
        let mut got = Collected::default();
        let mut report = FileReport::new(name);
        run_table(
            &mut table,
            n.as_mut(),
            &ctx,
            &mut Out::new(&mut got, &mut report),
        )
        .expect("read to the end");
        assert_eq!(report.rejected_count, 0, "{:?}", report.rejected);
        got.costs
    }

    #[test]
    fn rows_before_the_deciding_row_get_its_view() {
        let got = run_file(
            "x/part_0_0001.csv",
            &[
                "s,2024-02-10,Storage,1.5,USD,Usage,OnDemand,",
                "s,2024-02-10,Virtual Machines,2,USD,UnusedReservation,Reservation,r1",
                "s,2024-02-11,Storage,1,USD,Usage,OnDemand,",
            ],
        );
        let sources: Vec<&str> = got.iter().map(|r| r.source.as_str()).collect();
        // The delivery is the export run's folder, with the view.
        assert_eq!(sources, vec!["x#amortized"; 3]);
        let rows: Vec<u64> = got.iter().map(|r| r.row_ref.row).collect();
        assert_eq!(rows, vec![1, 2, 3]);
        assert_eq!(got[1].billed_cost, rust_decimal::Decimal::ZERO);
    }

    #[test]
    fn without_commitment_rows_the_name_decides_else_actual() {
        let rows = ["s,2024-02-10,Storage,1.5,USD,Usage,OnDemand,"];
        let got = run_file("exports/Daily_AmortizedCost/part_0.csv", &rows);
        assert!(got[0].source.ends_with("#amortized"));
        let got = run_file("exports/part_0.csv", &rows);
        assert!(got[0].source.ends_with("#actual"));
        // Content beats the name: priced covered usage is amortized data.
        let got = run_file(
            "exports/ActualCost.csv",
            &["s,2024-02-10,VM,0.4,USD,Usage,Reservation,r1"],
        );
        assert!(got[0].source.ends_with("#amortized"));
    }

    #[test]
    fn a_long_undecided_file_is_settled_at_the_limit() {
        let plain = "s,2024-02-10,Storage,0.01,USD,Usage,OnDemand,";
        let mut rows = vec![plain; UNDECIDED_LIMIT + 1];
        // Evidence after the limit no longer changes the file's label.
        rows.push("s,2024-02-10,VM,0,USD,UnusedReservation,Reservation,r1");
        let got = run_file("Cost_AmortizedCost.csv", &rows);
        assert_eq!(got.len(), UNDECIDED_LIMIT + 2);
        assert!(got.iter().all(|r| r.source.ends_with("#amortized")));
    }

    #[test]
    fn files_missing_a_vital_column_are_refused() {
        let header = Header::new([
            "SubscriptionId",
            "Date",
            "MeterCategory",
            "CostInBillingCurrency",
        ]);
        let ctx = FileCtx::new(Path::new("f.csv"), Container::Plain, &Default::default());
        match normalizer(Format::AzureEa, &header, &ctx) {
            Err(IngestError::MissingColumns { missing, .. }) => {
                assert!(missing.contains("billing currency"), "{missing}");
                assert!(missing.contains("pass --currency CODE"), "{missing}");
            }
            Err(e) => panic!("wrong error {e}"),
            Ok(_) => panic!("accepted a file without a currency"),
        }
    }

    #[test]
    fn sniff_tells_the_column_sets_apart() {
        let h = |names: &[&str]| Header::new(names.iter().copied());
        let ea = h(&[
            "BillingAccountId",
            "Date",
            "MeterCategory",
            "Cost",
            "BillingCurrency",
        ]);
        assert_eq!(sniff(&ea), Some(Format::AzureEa));
        let mca = h(&[
            "invoiceId",
            "date",
            "meterCategory",
            "costInBillingCurrency",
            "billingCurrency",
            "pricingCurrency",
        ]);
        assert_eq!(sniff(&mca), Some(Format::AzureMca));
        let payg = h(&[
            "SubscriptionGuid",
            "UsageDateTime",
            "MeterCategory",
            "PreTaxCost",
            "Currency",
        ]);
        assert_eq!(sniff(&payg), Some(Format::AzurePayg));
        let german = h(&[
            "Abonnement-GUID (SubscriptionGuid)",
            "UsageDateTime (UsageDateTime)",
            "Kategorie der Verbrauchseinheit (MeterCategory)",
            "PreTaxCost (PreTaxCost)",
        ]);
        assert_eq!(sniff(&german), Some(Format::AzurePayg));
        // The FinOps toolkit's service list is not a cost export.
        let services = h(&[
            "ConsumedService",
            "ResourceType",
            "ServiceName",
            "ServiceCategory",
        ]);
        assert_eq!(sniff(&services), None);
        let aws = h(&[
            "lineItem/UnblendedCost",
            "lineItem/UsageStartDate",
            "product/ProductName",
        ]);
        assert_eq!(sniff(&aws), None);
    }
}
