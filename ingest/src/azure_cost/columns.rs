//! The header keys of every Azure cost export column set, one logical column each.
//!
//! Keys are in `column_key` form (lowercase letters and digits), so `CostInBillingCurrency`,
//! `costInBillingCurrency` and `Kosten (CostInBillingCurrency)` all match
//! `costinbillingcurrency`. Where several keys name one column, the first one the header has
//! wins, so the order below is a preference: the billing-currency amount before any other.

use crate::columns;
use crate::table::Header;

columns! {
    pub struct AzureColumns {
        // Money. EA new/MCA: CostInBillingCurrency; EA (finops toolkit): Cost; legacy PAYG:
        // PreTaxCost; EA v1 usage details: ExtendedCost.
        cost: ["costinbillingcurrency", "cost", "pretaxcost", "extendedcost"],
        currency: ["billingcurrency", "billingcurrencycode", "currency"],
        payg_cost: ["paygcostinbillingcurrency"],
        payg_price: ["paygprice"],
        unit_price: ["unitprice"],
        effective_price: ["effectiveprice", "resourcerate"],
        quantity: ["quantity", "usagequantity", "consumedquantity"],
        unit: ["unitofmeasure"],

        // Time.
        date: ["date", "usagedatetime", "usagedate"],
        billing_period_start: ["billingperiodstartdate"],
        billing_period_end: ["billingperiodenddate"],

        // Accounts.
        billing_account_id: ["billingaccountid", "enrollmentnumber"],
        billing_account_name: ["billingaccountname"],
        billing_profile_id: ["billingprofileid"],
        subscription_id: ["subscriptionid", "subscriptionguid"],
        subscription_name: ["subscriptionname"],
        invoice_id: ["invoiceid"],

        // Charge.
        charge_type: ["chargetype"],
        frequency: ["frequency"],
        pricing_model: ["pricingmodel"],
        reservation_id: ["reservationid"],
        reservation_name: ["reservationname"],
        benefit_id: ["benefitid"],
        benefit_name: ["benefitname"],

        // Resource and service.
        resource_id: ["resourceid", "instanceid", "instancename"],
        resource_name: ["resourcename"],
        resource_type: ["resourcetype"],
        resource_location: ["resourcelocation"],
        availability_zone: ["availabilityzone"],
        consumed_service: ["consumedservice"],
        meter_category: ["metercategory"],
        meter_subcategory: ["metersubcategory"],
        meter_name: ["metername"],
        meter_id: ["meterid"],
        product: ["productname", "product"],
        service_name: ["servicename"],
        tags: ["tags"],
        additional_info: ["additionalinfo"],
    }
}

impl AzureColumns {
    /// Logical columns a file cannot be normalized without, named for the error message.
    pub fn missing(&self, default_currency: bool) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if !self.cost.present() {
            missing.push("cost (CostInBillingCurrency, Cost or PreTaxCost)");
        }
        if !self.currency.present() && !default_currency {
            missing.push(
                "billing currency (BillingCurrency, BillingCurrencyCode or Currency; \
                 or pass --currency CODE)",
            );
        }
        if !self.date.present() {
            missing.push("usage date (Date or UsageDateTime)");
        }
        if !self.billing_account_id.present() && !self.subscription_id.present() {
            missing.push("account (BillingAccountId or SubscriptionId)");
        }
        missing
    }
}

/// Whether a header is an Azure cost export at all: an amount, a usage date and an Azure
/// meter or subscription column. The FinOps toolkit's Services.csv (service names only)
/// and FOCUS files (claimed earlier by the FOCUS sniffer) do not pass.
pub fn is_azure_cost(header: &Header) -> bool {
    let has_cost = [
        "costinbillingcurrency",
        "cost",
        "pretaxcost",
        "extendedcost",
    ]
    .iter()
    .any(|k| header.has(k));
    let has_date = ["date", "usagedatetime", "usagedate"]
        .iter()
        .any(|k| header.has(k));
    let has_azure = [
        "metercategory",
        "meterid",
        "subscriptionguid",
        "consumedservice",
        "instanceid",
    ]
    .iter()
    .any(|k| header.has(k));
    has_cost && has_date && has_azure
}
