//! Which AWS charges are AI, and what kind.
//!
//! Product codes are not enough: Bedrock's third-party models bill through AWS Marketplace
//! under opaque product codes (`7cloiv1lqe76eogr33nhp9r5k8`) with usage types such as
//! `USE1-MP:USE1_InputTokenCount-Units`, and a GPU instance bills as plain `AmazonEC2`.
//! So the rules look at the usage type, operation and instance type too.

use burnrate_schemas::{CostCategory, ResourceKind};
use rust_decimal::Decimal;

use crate::classify::{Classification, category_from_words, is_accelerated_instance};

/// Managed AI services by CUR product code (the FinOps Foundation's "AI and Machine
/// Learning" mapping, plus Bedrock AgentCore and the legacy AmazonML). Lowercase codes
/// (`comprehend`) are how the CUR writes them.
const AI_PRODUCT_CODES: &[&str] = &[
    "AWSDeepRacer",
    "AmazonA2I",
    "AmazonBedrock",
    "AmazonBedrockAgentCore",
    "AmazonCodeWhisperer",
    "AmazonDevOpsGuru",
    "AmazonEI",
    "AmazonForecast",
    "AmazonFraudDetector",
    "AmazonHealthLake",
    "AmazonKendra",
    "AmazonLex",
    "AmazonLookoutEquipment",
    "AmazonLookoutMetrics",
    "AmazonLookoutVision",
    "AmazonML",
    "AmazonMonitron",
    "AmazonOmics",
    "AmazonPersonalize",
    "AmazonPolly",
    "AmazonQ",
    "AmazonRekognition",
    "AmazonSageMaker",
    "AmazonTextract",
    "comprehend",
    "transcribe",
    "translate",
];

/// The facts of one CUR line that classification reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct Facts<'a> {
    pub product_code: &'a str,
    pub product_name: Option<&'a str>,
    pub usage_type: Option<&'a str>,
    pub operation: Option<&'a str>,
    pub resource_id: Option<&'a str>,
    pub instance_type: Option<&'a str>,
    pub pricing_unit: Option<&'a str>,
}

/// Whether a usage type bills model tokens (first-party `...-input-tokens`, Marketplace
/// `...InputTokenCount-Units`).
fn is_token_usage(usage_type: &str) -> bool {
    let u = usage_type.to_ascii_lowercase();
    u.contains("token")
}

pub fn classify(f: &Facts<'_>) -> Classification {
    let usage = f.usage_type.unwrap_or("");
    let operation = f.operation.unwrap_or("");
    let resource = f.resource_id.unwrap_or("");
    let code = f.product_code;

    if code == "AmazonSageMaker" || usage.contains(":ml.") {
        return sagemaker(usage, resource);
    }
    let marketplace_model =
        usage.contains("MP:") && (is_token_usage(usage) || operation.starts_with("InvokeModel"));
    if code.starts_with("AmazonBedrock") || marketplace_model {
        let model = if marketplace_model {
            f.product_name.map(str::to_string)
        } else {
            bedrock_model(usage)
        };
        let kind = if usage.contains("ProvisionedThroughput") {
            ResourceKind::Endpoint
        } else {
            ResourceKind::ModelApi
        };
        return Classification::ai(kind, CostCategory::Inference).with_model(model);
    }
    if AI_PRODUCT_CODES.contains(&code) {
        return Classification::ai(ResourceKind::ModelApi, CostCategory::Inference);
    }
    if f.instance_type.is_some_and(is_accelerated_instance)
        || instance_from_usage_type(usage).is_some_and(is_accelerated_instance)
    {
        return Classification::ai(ResourceKind::GpuVm, CostCategory::Compute);
    }
    Classification::plain(category_from_words(&[code, usage, operation]))
}

fn sagemaker(usage: &str, resource: &str) -> Classification {
    let has = |s: &str| usage.contains(s) || resource.contains(s);
    let (kind, category) = if has("-Host:") || has("AsyncInf") || has(":endpoint/") {
        (ResourceKind::Endpoint, CostCategory::Inference)
    } else if has("-Train") || has(":training-job/") {
        (ResourceKind::TrainingJob, CostCategory::Training)
    } else if has("Tsform") || has("Transform") || has(":transform-job/") {
        (ResourceKind::BatchTransform, CostCategory::Inference)
    } else if has("Notebk") || has("Studio") || has(":notebook-instance/") {
        (ResourceKind::Notebook, CostCategory::Compute)
    } else {
        (ResourceKind::Other, CostCategory::Other)
    };
    // Endpoint storage and data transfer are the endpoint's, but not compute.
    let category = match category_from_words(&[usage]) {
        c @ (CostCategory::Storage | CostCategory::Network) => c,
        _ => category,
    };
    Classification::ai(kind, category)
}

/// `USE1-TitanEmbeddingV2-Text-input-tokens` → `TitanEmbeddingV2-Text`: the usage type
/// between the region prefix and the token or unit suffix.
fn bedrock_model(usage_type: &str) -> Option<String> {
    let rest = usage_type
        .split_once('-')
        .map(|(_, r)| r)
        .unwrap_or(usage_type);
    let lower = rest.to_ascii_lowercase();
    let cut = [
        "-input-tokens",
        "-output-tokens",
        "-cache-read",
        "-cache-write",
        "-tokens",
    ]
    .iter()
    .filter_map(|s| lower.find(s))
    .min()?;
    let model = &rest[..cut];
    (!model.is_empty()).then(|| model.to_string())
}

/// `BoxUsage:p4d.24xlarge`, `SpotUsage:g5.xlarge`, `USE1-Host:ml.g5.xlarge` → the type.
pub fn instance_from_usage_type(usage_type: &str) -> Option<&str> {
    let (_, t) = usage_type.rsplit_once(':')?;
    t.contains('.').then_some(t)
}

/// The tokens a token-billed line counts: the usage amount times the unit's multiplier
/// (`1K tokens` → ×1000, `1M tokens` → ×1,000,000). Other units: not tokens.
pub fn tokens(usage_type: &str, pricing_unit: Option<&str>, amount: Decimal) -> Option<Decimal> {
    if !is_token_usage(usage_type) {
        return None;
    }
    let unit = pricing_unit.unwrap_or("").to_ascii_lowercase();
    let factor = if unit.starts_with("1k") {
        Decimal::from(1000)
    } else if unit.starts_with("1m") {
        Decimal::from(1_000_000)
    } else {
        Decimal::ONE
    };
    amount.checked_mul(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(code: &'a str, usage: &'a str) -> Facts<'a> {
        Facts {
            product_code: code,
            usage_type: Some(usage),
            ..Facts::default()
        }
    }

    #[test]
    fn sagemaker_usage_types() {
        let c = classify(&facts("AmazonSageMaker", "USE1-Host:ml.g5.xlarge"));
        assert_eq!(
            (c.is_ai, c.resource_kind, c.cost_category),
            (true, ResourceKind::Endpoint, CostCategory::Inference)
        );
        let c = classify(&facts("AmazonSageMaker", "USE1-Train:ml.p4d.24xlarge"));
        assert_eq!(c.resource_kind, ResourceKind::TrainingJob);
        let c = classify(&facts("AmazonSageMaker", "USE1-Notebk:ml.t3.medium"));
        assert_eq!(c.resource_kind, ResourceKind::Notebook);
        let c = classify(&facts("AmazonSageMaker", "USE1-Host:VolumeUsage.gp2"));
        assert_eq!(
            (c.resource_kind, c.cost_category),
            (ResourceKind::Endpoint, CostCategory::Storage)
        );
    }

    #[test]
    fn bedrock_first_party_and_marketplace() {
        let c = classify(&facts(
            "AmazonBedrock",
            "USE1-TitanEmbeddingV2-Text-input-tokens",
        ));
        assert_eq!(c.resource_kind, ResourceKind::ModelApi);
        assert_eq!(c.model.as_deref(), Some("TitanEmbeddingV2-Text"));
        let mut f = facts(
            "7cloiv1lqe76eogr33nhp9r5k8",
            "USE1-MP:USE1_InputTokenCount-Units",
        );
        f.operation = Some("InvokeModelInference");
        f.product_name = Some("Claude 3.5 Sonnet (Amazon Bedrock Edition)");
        let c = classify(&f);
        assert!(c.is_ai);
        assert_eq!(c.resource_kind, ResourceKind::ModelApi);
        assert_eq!(
            c.model.as_deref(),
            Some("Claude 3.5 Sonnet (Amazon Bedrock Edition)")
        );
    }

    #[test]
    fn gpu_instances_and_plain_compute() {
        let c = classify(&facts("AmazonEC2", "BoxUsage:p4d.24xlarge"));
        assert_eq!((c.is_ai, c.resource_kind), (true, ResourceKind::GpuVm));
        let c = classify(&facts("AmazonEC2", "BoxUsage:m5.large"));
        assert_eq!((c.is_ai, c.cost_category), (false, CostCategory::Compute));
        let c = classify(&facts("AmazonS3", "TimedStorage-ByteHrs"));
        assert_eq!((c.is_ai, c.cost_category), (false, CostCategory::Storage));
    }

    #[test]
    fn token_counts_scale_with_the_unit() {
        let d = |s: &str| s.parse::<Decimal>().expect("decimal");
        assert_eq!(
            tokens("USE1-Nova-input-tokens", Some("1K tokens"), d("2.5")),
            Some(d("2500"))
        );
        assert_eq!(
            tokens("USE1-MP:USE1_InputTokenCount-Units", Some("Units"), d("42")),
            Some(d("42"))
        );
        assert_eq!(tokens("BoxUsage:m5.large", Some("Hrs"), d("1")), None);
    }
}
