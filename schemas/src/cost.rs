//! The normalized cost record: one charge, in one currency, over one charge period.
//!
//! Field names serialize to their FOCUS 1.2 column names; our own columns carry the `x_`
//! prefix. Amounts are `rust_decimal::Decimal` and serialize as strings, so nothing on the
//! way to a store or a topic ever rounds through a float.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The cloud (or other vendor) a charge comes from, as our own short code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Aws,
    Azure,
    Gcp,
    Oci,
    Other,
}

impl Provider {
    /// The short code used in rollup keys, API filters and topic keys.
    pub fn code(self) -> &'static str {
        match self {
            Provider::Aws => "aws",
            Provider::Azure => "azure",
            Provider::Gcp => "gcp",
            Provider::Oci => "oci",
            Provider::Other => "other",
        }
    }

    /// The FOCUS `ProviderName` the provider's own FOCUS export writes.
    pub fn focus_name(self) -> &'static str {
        match self {
            Provider::Aws => "AWS",
            Provider::Azure => "Microsoft",
            Provider::Gcp => "Google Cloud",
            Provider::Oci => "Oracle",
            Provider::Other => "Other",
        }
    }

    /// Recognizes a FOCUS `ProviderName` (or a short code) in any of the spellings seen in
    /// real exports. Unknown names map to `Other`; the original text stays in
    /// `CostRecord::provider_name`.
    pub fn from_name(name: &str) -> Provider {
        let n = name.trim().to_ascii_lowercase();
        match n.as_str() {
            "aws" | "amazon web services" | "amazon" | "amazon web services, inc." => Provider::Aws,
            "azure" | "microsoft" | "microsoft azure" | "microsoft corporation" => Provider::Azure,
            "gcp" | "google" | "google cloud" | "google cloud platform" => Provider::Gcp,
            "oci" | "oracle" | "oracle cloud infrastructure" => Provider::Oci,
            _ => Provider::Other,
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// FOCUS `ChargeCategory`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ChargeCategory {
    Usage,
    Purchase,
    Tax,
    Credit,
    Adjustment,
}

/// Our finer split of a charge, `x_ChargeKind`. FOCUS folds refunds into Credit and
/// discounts and rounding into Adjustment or Usage; reports and the cases need them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChargeKind {
    Usage,
    Purchase,
    Tax,
    Credit,
    Refund,
    Discount,
    Adjustment,
    Rounding,
}

impl ChargeKind {
    /// The FOCUS category this kind belongs to.
    pub fn category(self) -> ChargeCategory {
        match self {
            ChargeKind::Usage => ChargeCategory::Usage,
            ChargeKind::Purchase => ChargeCategory::Purchase,
            ChargeKind::Tax => ChargeCategory::Tax,
            ChargeKind::Credit | ChargeKind::Refund => ChargeCategory::Credit,
            ChargeKind::Discount | ChargeKind::Adjustment | ChargeKind::Rounding => {
                ChargeCategory::Adjustment
            }
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            ChargeKind::Usage => "usage",
            ChargeKind::Purchase => "purchase",
            ChargeKind::Tax => "tax",
            ChargeKind::Credit => "credit",
            ChargeKind::Refund => "refund",
            ChargeKind::Discount => "discount",
            ChargeKind::Adjustment => "adjustment",
            ChargeKind::Rounding => "rounding",
        }
    }
}

/// FOCUS `ChargeClass`: only corrections to a previous period are marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ChargeClass {
    Correction,
}

/// FOCUS `ChargeFrequency`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ChargeFrequency {
    #[serde(rename = "One-Time")]
    OneTime,
    Recurring,
    #[serde(rename = "Usage-Based")]
    UsageBased,
}

/// FOCUS `PricingCategory`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PricingCategory {
    Standard,
    Dynamic,
    Committed,
    Other,
}

/// `x_PricingModel`: how the usage was priced, in the words recommendations use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PricingModel {
    OnDemand,
    Reservation,
    SavingsPlan,
    CommittedUse,
    Spot,
}

impl PricingModel {
    /// The wire name (`on_demand`, `savings_plan`, ...).
    pub fn code(self) -> &'static str {
        match self {
            PricingModel::OnDemand => "on_demand",
            PricingModel::Reservation => "reservation",
            PricingModel::SavingsPlan => "savings_plan",
            PricingModel::CommittedUse => "committed_use",
            PricingModel::Spot => "spot",
        }
    }

    /// The FOCUS pricing category of this model.
    pub fn category(self) -> PricingCategory {
        match self {
            PricingModel::OnDemand => PricingCategory::Standard,
            PricingModel::Spot => PricingCategory::Dynamic,
            PricingModel::Reservation | PricingModel::SavingsPlan | PricingModel::CommittedUse => {
                PricingCategory::Committed
            }
        }
    }
}

/// FOCUS `CommitmentDiscountStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CommitmentStatus {
    Used,
    Unused,
}

/// `x_ResourceKind`: what sort of thing the resource is, for AI reporting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceKind {
    Endpoint,
    TrainingJob,
    BatchTransform,
    Notebook,
    ModelApi,
    GpuVm,
    Other,
}

/// `x_CostCategory`: the AI-cost bucket a charge falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CostCategory {
    Compute,
    Storage,
    Inference,
    Training,
    Network,
    Other,
}

impl CostCategory {
    pub fn code(self) -> &'static str {
        match self {
            CostCategory::Compute => "compute",
            CostCategory::Storage => "storage",
            CostCategory::Inference => "inference",
            CostCategory::Training => "training",
            CostCategory::Network => "network",
            CostCategory::Other => "other",
        }
    }
}

/// Where a record came from: the file (or object, or API page) and the 1-based data row in
/// it. Row 0 means "the source as a whole" (a derived record with no single row).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RowRef {
    pub file: String,
    pub row: u64,
}

impl fmt::Display for RowRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.row)
    }
}

/// One normalized charge. See ARCHITECTURE §3 for the column contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostRecord {
    /// Our provider code; `provider_name` keeps the source's own spelling.
    #[serde(rename = "x_Provider")]
    pub provider: Provider,
    #[serde(rename = "ProviderName")]
    pub provider_name: String,
    #[serde(rename = "BillingAccountId")]
    pub billing_account_id: String,
    #[serde(rename = "BillingAccountName")]
    pub billing_account_name: Option<String>,
    #[serde(rename = "SubAccountId")]
    pub sub_account_id: Option<String>,
    #[serde(rename = "SubAccountName")]
    pub sub_account_name: Option<String>,
    #[serde(rename = "InvoiceId")]
    pub invoice_id: Option<String>,
    #[serde(rename = "BillingPeriodStart")]
    pub billing_period_start: DateTime<Utc>,
    #[serde(rename = "BillingPeriodEnd")]
    pub billing_period_end: DateTime<Utc>,
    #[serde(rename = "ChargePeriodStart")]
    pub charge_period_start: DateTime<Utc>,
    #[serde(rename = "ChargePeriodEnd")]
    pub charge_period_end: DateTime<Utc>,
    #[serde(rename = "ChargeCategory")]
    pub charge_category: ChargeCategory,
    #[serde(rename = "x_ChargeKind")]
    pub charge_kind: ChargeKind,
    #[serde(rename = "ChargeClass")]
    pub charge_class: Option<ChargeClass>,
    #[serde(rename = "ChargeFrequency")]
    pub charge_frequency: Option<ChargeFrequency>,
    #[serde(rename = "ChargeDescription")]
    pub charge_description: Option<String>,
    /// The cash view: what the invoice charges for this line.
    #[serde(rename = "BilledCost")]
    pub billed_cost: Decimal,
    /// The amortized view: commitments spread over the usage they cover.
    #[serde(rename = "EffectiveCost")]
    pub effective_cost: Decimal,
    #[serde(rename = "ListCost")]
    pub list_cost: Option<Decimal>,
    #[serde(rename = "ContractedCost")]
    pub contracted_cost: Option<Decimal>,
    #[serde(rename = "BillingCurrency")]
    pub billing_currency: String,
    #[serde(rename = "PricingCategory")]
    pub pricing_category: Option<PricingCategory>,
    #[serde(rename = "x_PricingModel")]
    pub pricing_model: Option<PricingModel>,
    #[serde(rename = "CommitmentDiscountId")]
    pub commitment_discount_id: Option<String>,
    #[serde(rename = "CommitmentDiscountType")]
    pub commitment_discount_type: Option<String>,
    #[serde(rename = "CommitmentDiscountStatus")]
    pub commitment_discount_status: Option<CommitmentStatus>,
    #[serde(rename = "ConsumedQuantity")]
    pub consumed_quantity: Option<Decimal>,
    #[serde(rename = "ConsumedUnit")]
    pub consumed_unit: Option<String>,
    #[serde(rename = "PricingQuantity")]
    pub pricing_quantity: Option<Decimal>,
    #[serde(rename = "PricingUnit")]
    pub pricing_unit: Option<String>,
    #[serde(rename = "RegionId")]
    pub region_id: Option<String>,
    #[serde(rename = "AvailabilityZone")]
    pub availability_zone: Option<String>,
    /// `None` is "no resource": kept as its own group, never dropped.
    #[serde(rename = "ResourceId")]
    pub resource_id: Option<String>,
    #[serde(rename = "ResourceName")]
    pub resource_name: Option<String>,
    #[serde(rename = "ResourceType")]
    pub resource_type: Option<String>,
    /// The provider's display name of the service (FOCUS `ServiceName`).
    #[serde(rename = "ServiceName")]
    pub service_name: String,
    /// The provider's own service code (AWS product code, GCP service id, Azure meter
    /// category or consumed service); equal to `service_name` when the source has no code.
    #[serde(rename = "x_ServiceCode")]
    pub service_code: String,
    #[serde(rename = "ServiceCategory")]
    pub service_category: Option<String>,
    #[serde(rename = "ServiceSubcategory")]
    pub service_subcategory: Option<String>,
    #[serde(rename = "SkuId")]
    pub sku_id: Option<String>,
    #[serde(rename = "x_SkuDescription")]
    pub sku_description: Option<String>,
    /// Provider usage type / meter name, the main input of AI classification.
    #[serde(rename = "x_UsageType")]
    pub usage_type: Option<String>,
    #[serde(rename = "x_InstanceType")]
    pub instance_type: Option<String>,
    #[serde(rename = "Tags")]
    pub tags: BTreeMap<String, String>,
    #[serde(rename = "x_ResourceKind")]
    pub resource_kind: ResourceKind,
    #[serde(rename = "x_CostCategory")]
    pub cost_category: CostCategory,
    #[serde(rename = "x_IsAI")]
    pub is_ai: bool,
    /// Model name for token-billed model APIs (Bedrock, Azure OpenAI, Vertex AI / Gemini).
    #[serde(rename = "x_Model")]
    pub model: Option<String>,
    #[serde(rename = "x_Tokens")]
    pub tokens: Option<Decimal>,
    /// The delivery this record belongs to (file, assembly or export identity). A newer
    /// delivery for the same provider, account and billing period replaces older ones.
    #[serde(rename = "x_Source")]
    pub source: String,
    /// Whether this record's delivery restates its whole (provider, account, billing
    /// period, view), so a newer delivery replaces it (see `delivery.rs`).
    #[serde(rename = "x_RestatesPeriod")]
    pub restates_period: bool,
    #[serde(rename = "x_RowRef")]
    pub row_ref: RowRef,
}

impl CostRecord {
    /// The key under which a re-delivery replaces a previous one (ARCHITECTURE §4).
    pub fn restatement_key(&self) -> (Provider, &str, DateTime<Utc>) {
        (
            self.provider,
            self.billing_account_id.as_str(),
            self.billing_period_start,
        )
    }
}
