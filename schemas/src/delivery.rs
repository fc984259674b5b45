//! Deliveries and restatements (ARCHITECTURE §4).
//!
//! Providers re-deliver whole billing periods: a new CUR assembly, a rewritten Azure
//! month-to-date export. A new delivery of the same *scope* replaces the previous one; it
//! does not add to it. Other sources are additive: GCP billing export files and FOCUS files
//! each hold their own rows, and only a re-read of the same file replaces that file.
//!
//! The scope of a record is (provider, billing account, billing period, view), plus the
//! delivery itself for additive sources. `x_Source` names the delivery: a CUR assembly, an
//! export folder, or a file. A view suffix (`#actual`, `#amortized`) keeps the two datasets
//! of an Azure period apart, so neither replaces the other.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::cost::{CostRecord, Provider};

/// What a delivery replaces when it arrives again.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DeliveryScope {
    pub provider: Provider,
    pub billing_account_id: String,
    pub billing_period_start: DateTime<Utc>,
    /// The dataset within the period (`actual`, `amortized`), empty when there is one.
    pub view: String,
    /// For additive sources, the delivery itself: only its own re-delivery replaces it.
    pub additive_source: Option<String>,
}

impl CostRecord {
    /// The scope this record's delivery replaces on re-delivery. The reader decides
    /// whether its deliveries restate whole periods (`x_RestatesPeriod`): native AWS CUR
    /// and Azure exports do; GCP export files, FOCUS files and OCI reports are additive.
    pub fn delivery_scope(&self) -> DeliveryScope {
        let view = self
            .source
            .rsplit_once('#')
            .map(|(_, v)| v.to_string())
            .unwrap_or_default();
        DeliveryScope {
            provider: self.provider,
            billing_account_id: self.billing_account_id.clone(),
            billing_period_start: self.billing_period_start,
            view,
            additive_source: (!self.restates_period).then(|| self.source.clone()),
        }
    }
}
