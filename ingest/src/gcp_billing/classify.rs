//! AI classification of GCP billing rows: by service (Vertex AI, the Gemini API, Cloud
//! TPU, AutoML, Notebooks and the older ML services), then by SKU words within it, plus
//! GPU SKUs and accelerator machine families anywhere (a GPU VM bills under Compute
//! Engine). Token-priced SKUs are model APIs, with the model taken from the SKU text.

use burnrate_schemas::{CostCategory, ResourceKind};

use crate::classify::{Classification, Memo, category_from_words, is_accelerated_instance};

/// Service ids seen for AI services (public code, not verified against an export: the
/// descriptions below catch them too).
const AI_SERVICE_IDS: &[&str] = &["C7E2-9256-1C43", "AEFD-7695-64FA"];

/// Service descriptions (lowercase fragments) of AI services.
const AI_SERVICES: &[&str] = &[
    "vertex ai",
    "gemini",
    "cloud tpu",
    "automl",
    "notebooks",
    "cloud machine learning engine",
    "ai platform",
    "prediction",
    "cloud natural language",
    "recommendations ai",
    "contact center ai",
    "document ai",
    "dialogflow",
    "cloud vision",
    "speech",
    "translat",
    "generative ai",
    "deep learning vm",
    "data labeling",
    "agent builder",
];

/// Model families that name a model in a SKU description.
const MODEL_FAMILIES: &[&str] = &[
    "gemini",
    "gemma",
    "claude",
    "palm",
    "llama",
    "mistral",
    "mixtral",
    "codestral",
    "imagen",
    "veo",
    "chirp",
    "codey",
    "text-bison",
    "chat-bison",
    "code-bison",
    "text-embedding",
    "textembedding",
    "multimodalembedding",
    "jamba",
];

/// Words after which a SKU description stops naming the model.
const MODEL_STOP: &[&str] = &[
    "input",
    "output",
    "text",
    "image",
    "images",
    "video",
    "audio",
    "tokens",
    "token",
    "characters",
    "character",
    "predictions",
    "prediction",
    "online",
    "batch",
    "cached",
    "caching",
    "long",
    "short",
    "context",
    "count",
    "-",
    "for",
    "requests",
    "request",
    "api",
    "thinking",
    "generation",
];

/// What the rules read.
#[derive(Debug, Clone, Copy, Default)]
pub struct Inputs<'a> {
    pub service_id: Option<&'a str>,
    pub service: Option<&'a str>,
    pub sku: Option<&'a str>,
    pub usage_unit: Option<&'a str>,
    pub machine_spec: Option<&'a str>,
}

pub fn is_token_unit(unit: &str) -> bool {
    unit.to_ascii_lowercase().contains("token")
}

/// [`classify`], through a file's memo keyed by every `Inputs` field.
pub fn classify_memo(memo: &mut Memo<Classification>, i: &Inputs<'_>) -> Classification {
    let deciding = [i.service_id, i.service, i.sku, i.usage_unit, i.machine_spec];
    memo.get_or(&deciding, || classify(i))
}

pub fn classify(i: &Inputs<'_>) -> Classification {
    let service = i.service.unwrap_or("").to_ascii_lowercase();
    let sku = i.sku.unwrap_or("").to_ascii_lowercase();
    let ai_service = i
        .service_id
        .is_some_and(|id| AI_SERVICE_IDS.contains(&id.trim()))
        || AI_SERVICES.iter().any(|s| service.contains(s));
    let token_sku = sku.contains("token") || sku.contains("character");
    let tokens = i.usage_unit.is_some_and(is_token_unit);

    if tokens || (ai_service && token_sku) || (token_sku && model_in(i.sku).is_some()) {
        return Classification::ai(ResourceKind::ModelApi, CostCategory::Inference)
            .with_model(model_in(i.sku));
    }
    // Whole words: "output" contains "tpu".
    let gpu = sku
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| w == "gpu" || w == "gpus" || w == "tpu" || w == "tpus")
        || is_accelerated_family_sku(&sku)
        || i.machine_spec.is_some_and(is_accelerated_instance);
    if ai_service {
        let has = |w: &[&str]| w.iter().any(|x| sku.contains(x));
        let (kind, category) = if has(&["notebook", "workbench"]) || service.contains("notebooks") {
            (ResourceKind::Notebook, CostCategory::Compute)
        } else if has(&["batch prediction"]) {
            (ResourceKind::BatchTransform, CostCategory::Inference)
        } else if has(&["training", "tuning", "custom job"]) {
            (ResourceKind::TrainingJob, CostCategory::Training)
        } else if has(&["prediction", "endpoint", "serving", "online"]) {
            (ResourceKind::Endpoint, CostCategory::Inference)
        } else if gpu {
            (ResourceKind::GpuVm, CostCategory::Compute)
        } else if service.contains("gemini") || service.contains("generative") {
            (ResourceKind::ModelApi, CostCategory::Inference)
        } else {
            (ResourceKind::Other, words(i))
        };
        return Classification::ai(kind, category);
    }
    if gpu {
        return Classification::ai(ResourceKind::GpuVm, CostCategory::Compute);
    }
    Classification::plain(words(i))
}

fn words(i: &Inputs<'_>) -> CostCategory {
    category_from_words(&[i.service.unwrap_or(""), i.sku.unwrap_or("")])
}

/// Compute Engine SKUs of the accelerator machine families: "A2 Instance Core running in
/// Americas", "A3 Ultra ...", "G2 Instance Ram ...".
fn is_accelerated_family_sku(sku_lower: &str) -> bool {
    let first = sku_lower.split_whitespace().next().unwrap_or("");
    ["a2", "a3", "a4", "a4x", "g2", "g4"].contains(&first)
}

/// The model a SKU description names: from a known family word up to the first word that
/// describes the billing instead ("Gemini 1.5 Flash Input Text Tokens" → "Gemini 1.5
/// Flash", "Generate content input token count Gemini 1.5 Pro" → "Gemini 1.5 Pro").
pub fn model_in(sku: Option<&str>) -> Option<String> {
    let words: Vec<&str> = sku?.split_whitespace().collect();
    let start = words.iter().position(|w| {
        MODEL_FAMILIES
            .iter()
            .any(|f| w.to_ascii_lowercase().starts_with(f))
    })?;
    let taken: Vec<&str> = words[start..]
        .iter()
        .enumerate()
        .take_while(|(n, w)| *n == 0 || !MODEL_STOP.contains(&w.to_ascii_lowercase().as_str()))
        .map(|(_, w)| *w)
        .collect();
    Some(taken.join(" ")).filter(|m| !m.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// `records` classifies through a memo keyed by every `Inputs` field; in any order,
        /// the memo gives what classifying afresh gives.
        #[test]
        fn the_memo_classifies_as_classify_does(picks in proptest::collection::vec((0usize..3, 0usize..4, 0usize..3, 0usize..3, 0usize..2), 1..40)) {
            let ids = [None, Some("C7E2-9256-1C43"), Some("6F81-5844-456A")];
            let services = [None, Some("Vertex AI"), Some("Compute Engine"), Some("Gemini API")];
            let skus = [None, Some("Gemini 1.5 Flash Input Text Tokens"), Some("A2 Instance Core running in Americas")];
            let units = [None, Some("count"), Some("tokens")];
            let specs = [None, Some("a2-highgpu-1g")];
            let mut memo = crate::classify::Memo::default();
            for (i, s, k, u, m) in picks {
                let inputs = Inputs { service_id: ids[i], service: services[s], sku: skus[k], usage_unit: units[u], machine_spec: specs[m] };
                proptest::prop_assert_eq!(classify_memo(&mut memo, &inputs), classify(&inputs));
            }
        }
    }

    fn sku(service: &str, sku: &str, unit: Option<&str>) -> Classification {
        classify(&Inputs {
            service: Some(service),
            sku: Some(sku),
            usage_unit: unit,
            ..Inputs::default()
        })
    }

    #[test]
    fn token_skus_are_model_apis_with_their_model() {
        let c = sku(
            "Vertex AI",
            "Gemini 1.5 Flash Input Text Tokens",
            Some("count"),
        );
        assert_eq!(
            (c.resource_kind, c.model.as_deref()),
            (ResourceKind::ModelApi, Some("Gemini 1.5 Flash"))
        );
        let c = sku(
            "Gemini API",
            "Generate content input token count Gemini 1.5 Pro",
            Some("token"),
        );
        assert_eq!(c.model.as_deref(), Some("Gemini 1.5 Pro"));
        let c = sku("Vertex AI", "Claude 3.5 Sonnet input tokens", None);
        assert_eq!(c.model.as_deref(), Some("Claude 3.5 Sonnet"));
        assert!(c.is_ai);
        let c = sku("Vertex AI", "PaLM Text Bison Input Characters", None);
        assert_eq!(c.model.as_deref(), Some("PaLM"));
    }

    #[test]
    fn gpus_and_vertex_kinds() {
        let c = sku(
            "Compute Engine",
            "Nvidia Tesla A100 GPU running in Americas",
            None,
        );
        assert_eq!((c.is_ai, c.resource_kind), (true, ResourceKind::GpuVm));
        let c = sku(
            "Compute Engine",
            "A2 Instance Core running in Americas",
            None,
        );
        assert_eq!(c.resource_kind, ResourceKind::GpuVm);
        let c = sku(
            "Vertex AI",
            "Custom Training: N1 Predefined Instance Core",
            None,
        );
        assert_eq!(
            (c.resource_kind, c.cost_category),
            (ResourceKind::TrainingJob, CostCategory::Training)
        );
        let c = sku(
            "Vertex AI",
            "Online Prediction: N1 Predefined Instance Core",
            None,
        );
        assert_eq!(c.resource_kind, ResourceKind::Endpoint);
        let c = classify(&Inputs {
            service_id: Some("C7E2-9256-1C43"),
            sku: Some("Vertex AI Pipelines run"),
            ..Inputs::default()
        });
        assert!(c.is_ai);
    }

    #[test]
    fn ordinary_services_are_not_ai() {
        let c = sku(
            "Compute Engine",
            "N2 Instance Core running in Americas",
            None,
        );
        assert_eq!((c.is_ai, c.cost_category), (false, CostCategory::Compute));
        let c = sku(
            "Compute Engine",
            "Network Internet Egress from Americas to APAC",
            None,
        );
        assert_eq!(c.cost_category, CostCategory::Network);
        let c = sku("BigQuery", "Analysis", None);
        assert!(!c.is_ai);
        let c = sku("Cloud Dataflow", "Shuffle output data processed", None);
        assert!(!c.is_ai, "'output' is not a TPU");
    }
}
