//! The FOCUS columns we read, by key. FOCUS names are fixed by the spec, so aliases are only
//! needed for the provider `x_` columns that carry the same fact, and for the post-1.2
//! working draft that replaces `ProviderName` with `ServiceProviderName`/`HostProviderName`.

use crate::columns;

columns! {
    pub struct FocusColumns {
        billed_cost: ["billedcost"],
        effective_cost: ["effectivecost"],
        list_cost: ["listcost"],
        contracted_cost: ["contractedcost"],
        billing_currency: ["billingcurrency"],
        billing_account_id: ["billingaccountid"],
        billing_account_name: ["billingaccountname"],
        sub_account_id: ["subaccountid"],
        sub_account_name: ["subaccountname"],
        invoice_id: ["invoiceid", "xinvoiceid"],
        billing_period_start: ["billingperiodstart"],
        billing_period_end: ["billingperiodend"],
        charge_period_start: ["chargeperiodstart"],
        charge_period_end: ["chargeperiodend"],
        charge_category: ["chargecategory"],
        charge_class: ["chargeclass"],
        charge_frequency: ["chargefrequency"],
        charge_description: ["chargedescription"],
        pricing_category: ["pricingcategory"],
        commitment_discount_id: ["commitmentdiscountid"],
        commitment_discount_type: ["commitmentdiscounttype"],
        commitment_discount_status: ["commitmentdiscountstatus"],
        consumed_quantity: ["consumedquantity"],
        consumed_unit: ["consumedunit"],
        pricing_quantity: ["pricingquantity"],
        pricing_unit: ["pricingunit"],
        region_id: ["regionid"],
        availability_zone: ["availabilityzone"],
        resource_id: ["resourceid"],
        resource_name: ["resourcename"],
        resource_type: ["resourcetype"],
        service_name: ["servicename"],
        service_code: ["xservicecode"],
        service_category: ["servicecategory"],
        service_subcategory: ["servicesubcategory"],
        sku_id: ["skuid"],
        sku_meter: ["skumeter"],
        sku_description: ["xskudescription"],
        sku_price_details: ["skupricedetails"],
        usage_type: ["xusagetype", "xskumetername"],
        instance_type: ["xinstancetype"],
        tags: ["tags"],
        provider_name: ["providername", "serviceprovidername", "hostprovidername", "publishername", "invoiceissuername"],
    }
}
