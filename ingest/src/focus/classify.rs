//! AI classification of FOCUS rows. FOCUS gives a `ServiceCategory` ("AI and Machine
//! Learning") and, in the post-1.2 working draft, token units and a `SkuPriceDetails`
//! model; provider FOCUS exports do not always fill the category, so AI service names
//! count too. Within AI spend, the resource id says what kind of thing was billed
//! (a SageMaker ARN `...:endpoint/x`, `...:training-job/x`).

use burnrate_schemas::{CostCategory, ResourceKind};

use crate::classify::{Classification, category_from_words, is_accelerated_instance};

/// The columns the rules read.
#[derive(Debug, Clone, Copy, Default)]
pub struct AiInputs<'a> {
    pub service_category: Option<&'a str>,
    pub service_name: &'a str,
    pub resource_id: Option<&'a str>,
    pub resource_type: Option<&'a str>,
    pub consumed_unit: Option<&'a str>,
    pub description: Option<&'a str>,
    pub sku_meter: Option<&'a str>,
    pub instance_type: Option<&'a str>,
    pub model: Option<&'a str>,
}

/// Service names (lowercase fragments) that are AI services on any provider.
const AI_SERVICES: &[&str] = &[
    "sagemaker",
    "bedrock",
    "machine learning",
    "openai",
    "cognitive services",
    "ai services",
    "vertex ai",
    "gemini",
    "cloud tpu",
    "automl",
    "notebooks",
    "generative ai",
    "comprehend",
    "rekognition",
    "textract",
    "transcribe",
    "polly",
    "translate",
    "kendra",
    "amazon lex",
];

/// Services sold per call or per token: a model API rather than a resource we run.
const MODEL_API_SERVICES: &[&str] = &["bedrock", "openai", "gemini", "generative ai"];

pub fn is_token_unit(unit: &str) -> bool {
    unit.to_ascii_lowercase().contains("token")
}

pub fn classify(i: &AiInputs<'_>) -> Classification {
    let service = i.service_name.to_ascii_lowercase();
    let by_category = i
        .service_category
        .is_some_and(|c| c.trim().eq_ignore_ascii_case("AI and Machine Learning"));
    let by_name = AI_SERVICES.iter().any(|s| service.contains(s));
    let tokens = i.consumed_unit.is_some_and(is_token_unit);
    let model = i.model.map(str::to_string);

    if tokens
        || model.is_some()
        || (by_name && MODEL_API_SERVICES.iter().any(|s| service.contains(s)))
    {
        return Classification::ai(ResourceKind::ModelApi, CostCategory::Inference)
            .with_model(model);
    }
    let gpu = i.instance_type.is_some_and(is_accelerated_instance);
    if by_category || by_name {
        let kind = kind_from_resource(i);
        let category = match kind {
            ResourceKind::Endpoint | ResourceKind::BatchTransform | ResourceKind::ModelApi => {
                CostCategory::Inference
            }
            ResourceKind::TrainingJob => CostCategory::Training,
            ResourceKind::Notebook | ResourceKind::GpuVm => CostCategory::Compute,
            ResourceKind::Other => words(i),
        };
        return Classification::ai(kind, category);
    }
    if gpu {
        return Classification::ai(ResourceKind::GpuVm, CostCategory::Compute);
    }
    Classification::plain(words(i))
}

fn kind_from_resource(i: &AiInputs<'_>) -> ResourceKind {
    let text = format!(
        "{} {}",
        i.resource_id.unwrap_or(""),
        i.resource_type.unwrap_or("")
    )
    .to_ascii_lowercase();
    if text.contains("endpoint") {
        ResourceKind::Endpoint
    } else if text.contains("training-job") || text.contains("training job") {
        ResourceKind::TrainingJob
    } else if text.contains("transform-job") || text.contains("batch") {
        ResourceKind::BatchTransform
    } else if text.contains("notebook") {
        ResourceKind::Notebook
    } else if i.instance_type.is_some_and(is_accelerated_instance) {
        ResourceKind::GpuVm
    } else {
        ResourceKind::Other
    }
}

fn words(i: &AiInputs<'_>) -> CostCategory {
    category_from_words(&[
        i.service_category.unwrap_or(""),
        i.service_name,
        i.sku_meter.unwrap_or(""),
        i.description.unwrap_or(""),
    ])
}

/// An instance type named inside a charge description (`ml.g6.2xlarge hosting instance
/// hour`), when the file has no instance-type column. Only the unambiguous dotted AWS forms
/// are taken.
pub fn instance_token(description: &str) -> Option<String> {
    description
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '.'))
        .find(|w| {
            let body = w.strip_prefix("ml.").unwrap_or(w);
            let Some((family, size)) = body.split_once('.') else {
                return false;
            };
            family.len() >= 2
                && family.starts_with(|c: char| c.is_ascii_lowercase())
                && family.chars().any(|c| c.is_ascii_digit())
                && family.chars().all(|c| c.is_ascii_alphanumeric())
                && is_size(size)
        })
        .map(str::to_string)
}

fn is_size(s: &str) -> bool {
    matches!(s, "nano" | "micro" | "small" | "medium" | "large" | "metal")
        || s.ends_with("xlarge")
        || s.starts_with("metal-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sagemaker_endpoint_by_category_and_arn() {
        let c = classify(&AiInputs {
            service_category: Some("AI and Machine Learning"),
            service_name: "Amazon SageMaker",
            resource_id: Some("arn:aws:sagemaker:us-east-1:111122223333:endpoint/ep-gpu-busy"),
            instance_type: Some("ml.g6.2xlarge"),
            ..AiInputs::default()
        });
        assert!(c.is_ai);
        assert_eq!(c.resource_kind, ResourceKind::Endpoint);
        assert_eq!(c.cost_category, CostCategory::Inference);
    }

    #[test]
    fn tokens_make_a_model_api() {
        let c = classify(&AiInputs {
            service_name: "Solora Generative AI API",
            consumed_unit: Some("Tokens"),
            model: Some("solora-saturn-4.8"),
            ..AiInputs::default()
        });
        assert_eq!(c.resource_kind, ResourceKind::ModelApi);
        assert_eq!(c.model.as_deref(), Some("solora-saturn-4.8"));
    }

    #[test]
    fn plain_storage_is_not_ai() {
        let c = classify(&AiInputs {
            service_category: Some("Storage"),
            service_name: "Amazon Simple Storage Service",
            ..AiInputs::default()
        });
        assert!(!c.is_ai);
        assert_eq!(c.cost_category, CostCategory::Storage);
    }

    #[test]
    fn instance_tokens_in_descriptions() {
        assert_eq!(
            instance_token("ml.g6.2xlarge hosting instance hour").as_deref(),
            Some("ml.g6.2xlarge")
        );
        assert_eq!(
            instance_token("$0.0416 per On Demand Linux t3.medium Instance Hour").as_deref(),
            Some("t3.medium")
        );
        assert_eq!(instance_token("PUT/COPY/POST/LIST requests"), None);
        assert_eq!(instance_token("$0.40 per million requests in Tier1"), None);
    }
}
