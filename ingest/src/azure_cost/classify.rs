//! AI classification of Azure charges.
//!
//! Azure names its AI services by resource provider: `Microsoft.MachineLearningServices`
//! (Azure Machine Learning), `Microsoft.CognitiveServices` (Azure AI services, which is
//! where Azure OpenAI bills) and `Microsoft.BotService`. A charge carries the provider in
//! `ConsumedService` and in its resource id, so either one claims it; this matters because
//! Azure ML workspaces bill their infrastructure (disks, IPs, load balancers) under plain
//! meter categories such as Storage or Bandwidth. GPU virtual machines bill as Virtual
//! Machines: the size (AdditionalInfo `ServiceType`, else the meter name) decides.

use std::collections::BTreeMap;

use burnrate_schemas::{CostCategory, ResourceKind};
use rust_decimal::Decimal;

use crate::classify::{Classification, Memo, category_from_words, is_accelerated_instance};

/// What classification looks at, borrowed from one row.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChargeFacts<'a> {
    pub consumed_service: Option<&'a str>,
    pub resource_type: Option<&'a str>,
    pub meter_category: Option<&'a str>,
    pub meter_subcategory: Option<&'a str>,
    pub meter_name: Option<&'a str>,
    pub unit: Option<&'a str>,
    pub instance_type: Option<&'a str>,
    pub tags: Option<&'a BTreeMap<String, String>>,
}

/// The classification of one charge, plus the tokens it bills when it is a token meter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureClass {
    pub class: Classification,
    pub service_category: Option<&'static str>,
    /// Whether the meter counts tokens (its quantity times the unit's scale is tokens).
    pub token_meter: bool,
}

const AI_CATEGORY: &str = "AI and Machine Learning";

fn lower(s: Option<&str>) -> String {
    s.unwrap_or("").to_ascii_lowercase()
}

fn provider_is(facts: &ChargeFacts<'_>, namespaces: &[&str]) -> bool {
    let service = lower(facts.consumed_service);
    let rtype = lower(facts.resource_type);
    namespaces
        .iter()
        .any(|ns| service == *ns || rtype == *ns || rtype.starts_with(&format!("{ns}/")))
}

/// Azure classifications already made in one file (see [`Memo`]).
#[derive(Debug, Default)]
pub struct ClassMemo(Memo<AzureClass>);

/// The tags classification reads (see `aml_kind`).
const DECIDING_TAGS: [&str; 2] = ["ComputeType", "AMLResourceType"];

impl ClassMemo {
    /// `classify(facts)`, from the memo when these facts were classified before.
    pub fn classify(&mut self, facts: &ChargeFacts<'_>) -> AzureClass {
        let tag = |key: &str| {
            facts
                .tags
                .and_then(|t| t.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)))
                .map(|(_, v)| v.as_str())
        };
        let deciding = [
            facts.consumed_service,
            facts.resource_type,
            facts.meter_category,
            facts.meter_subcategory,
            facts.meter_name,
            facts.unit,
            facts.instance_type,
            tag(DECIDING_TAGS[0]),
            tag(DECIDING_TAGS[1]),
        ];
        self.0.get_or(&deciding, || classify(facts))
    }
}

/// Classifies one charge.
pub fn classify(facts: &ChargeFacts<'_>) -> AzureClass {
    let meter_words = [
        facts.meter_category.unwrap_or(""),
        facts.meter_subcategory.unwrap_or(""),
        facts.meter_name.unwrap_or(""),
    ];
    let words_category = category_from_words(&meter_words);
    let category = lower(facts.meter_category);

    if provider_is(facts, &["microsoft.cognitiveservices"])
        || [
            "cognitive services",
            "azure openai",
            "azure ai services",
            "foundry models",
        ]
        .contains(&category.as_str())
    {
        let token_meter = is_token_meter(facts.meter_name, facts.unit);
        let model = if token_meter {
            model_from_meter(facts.meter_name)
        } else {
            None
        };
        let class =
            Classification::ai(ResourceKind::ModelApi, CostCategory::Inference).with_model(model);
        return ai(class, token_meter);
    }

    if provider_is(
        facts,
        &[
            "microsoft.machinelearningservices",
            "microsoft.machinelearning",
        ],
    ) || [
        "machine learning",
        "azure machine learning",
        "machine learning studio",
    ]
    .contains(&category.as_str())
    {
        let kind = aml_kind(facts);
        let category = match (kind, words_category) {
            (_, CostCategory::Storage | CostCategory::Network) => words_category,
            (ResourceKind::Endpoint | ResourceKind::BatchTransform, _) => CostCategory::Inference,
            (ResourceKind::TrainingJob, _) => CostCategory::Training,
            _ => CostCategory::Compute,
        };
        return ai(Classification::ai(kind, category), false);
    }

    if provider_is(facts, &["microsoft.botservice"]) || category == "azure bot service" {
        return ai(
            Classification::ai(ResourceKind::Other, CostCategory::Inference),
            false,
        );
    }

    if is_gpu_vm(facts) {
        return ai(
            Classification::ai(ResourceKind::GpuVm, CostCategory::Compute),
            false,
        );
    }

    AzureClass {
        class: Classification::plain(category_from_words(&[
            meter_words[0],
            meter_words[1],
            meter_words[2],
            facts.consumed_service.unwrap_or(""),
        ])),
        service_category: None,
        token_meter: false,
    }
}

fn ai(class: Classification, token_meter: bool) -> AzureClass {
    AzureClass {
        class,
        service_category: Some(AI_CATEGORY),
        token_meter,
    }
}

/// What an Azure ML charge is, from its resource type and the tags Azure ML stamps on the
/// compute it provisions (`AMLResourceType`, `ComputeType`).
fn aml_kind(facts: &ChargeFacts<'_>) -> ResourceKind {
    let rtype = lower(facts.resource_type);
    let tag = |key: &str| {
        facts
            .tags
            .and_then(|t| t.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)))
            .map(|(_, v)| v.to_ascii_lowercase())
            .unwrap_or_default()
    };
    let compute_type = tag(DECIDING_TAGS[0]);
    let aml_type = tag(DECIDING_TAGS[1]);
    if rtype.contains("batchendpoints") || compute_type.contains("batch endpoint") {
        ResourceKind::BatchTransform
    } else if rtype.contains("onlineendpoints")
        || rtype.contains("serverlessendpoints")
        || compute_type.contains("endpoint")
        || aml_type.contains("endpoint")
    {
        ResourceKind::Endpoint
    } else if compute_type.contains("compute instance") || aml_type.contains("computeinstance") {
        ResourceKind::Notebook
    } else if rtype.contains("/jobs")
        || compute_type.contains("cluster")
        || compute_type.contains("amlcompute")
        || aml_type.contains("batch")
    {
        // Compute clusters (`AmlCompute`, provisioned through `Provisioner.Batch`) run jobs.
        ResourceKind::TrainingJob
    } else {
        ResourceKind::Other
    }
}

/// Whether the charge is a GPU VM: the VM size from AdditionalInfo, or the meter name read
/// as a size (`NC4as T4 v3` → `Standard_NC4as_T4_v3`), for Virtual Machines meters only.
fn is_gpu_vm(facts: &ChargeFacts<'_>) -> bool {
    if facts.instance_type.is_some_and(is_accelerated_instance) {
        return true;
    }
    if !lower(facts.meter_category).starts_with("virtual machines") {
        return false;
    }
    [facts.meter_name, facts.meter_subcategory]
        .into_iter()
        .flatten()
        .any(|m| is_accelerated_instance(&size_from_meter(m)))
}

/// A VM size from a meter name: the first of `a/b` alternatives, without the Spot and Low
/// Priority suffixes, spaces as underscores, with the `Standard_` prefix.
pub fn size_from_meter(meter: &str) -> String {
    let first = meter.split('/').next().unwrap_or("").trim();
    let first = first
        .strip_suffix(" Spot")
        .or_else(|| first.strip_suffix(" Low Priority"))
        .unwrap_or(first);
    format!(
        "Standard_{}",
        first.split_whitespace().collect::<Vec<_>>().join("_")
    )
}

/// Whether a meter bills tokens: its name or unit says so (Azure OpenAI meters read like
/// `gpt-4o-0806-Inp-glbl Tokens` with unit `1K`).
pub fn is_token_meter(meter_name: Option<&str>, unit: Option<&str>) -> bool {
    [meter_name, unit]
        .into_iter()
        .flatten()
        .any(|s| s.to_ascii_lowercase().contains("token"))
}

/// Words that end the model part of a token meter name: direction, deployment type, unit.
const METER_STOP: &[&str] = &[
    "input",
    "output",
    "inp",
    "outp",
    "in",
    "out",
    "prompt",
    "completion",
    "completions",
    "cached",
    "cache",
    "cchd",
    "tokens",
    "token",
    "glbl",
    "global",
    "gl",
    "regional",
    "rgnl",
    "regnl",
    "dzone",
    "datazone",
    "data",
    "batch",
    "provisioned",
    "ptu",
    "ft",
    "txt",
    "text",
    "audio",
    "aud",
    "img",
    "image",
];

/// The model named by a token meter: the leading part of the meter name before the first
/// direction or deployment word, in both the spaced (`GPT-4-8K Prompt Tokens`) and the
/// hyphenated (`gpt-4o-0806-Inp-glbl Tokens`) spellings.
pub fn model_from_meter(meter_name: Option<&str>) -> Option<String> {
    let meter = meter_name?;
    let mut words: Vec<String> = Vec::new();
    'outer: for word in meter.split_whitespace() {
        let mut kept: Vec<&str> = Vec::new();
        for seg in word.split('-') {
            if METER_STOP.contains(&seg.to_ascii_lowercase().as_str()) {
                if !kept.is_empty() {
                    words.push(kept.join("-"));
                }
                break 'outer;
            }
            kept.push(seg);
        }
        words.push(kept.join("-"));
    }
    let model = words.join(" ").trim().to_string();
    if model.is_empty() { None } else { Some(model) }
}

/// The scale of an Azure unit of measure (`10 Hours` → 10, `1K` → 1000, `1/Month` → 1,
/// `100 Hours` → 100, `1M` → 1000000); 1 when the unit carries none. Exact.
pub fn unit_scale(unit: &str) -> Decimal {
    let t = unit.trim();
    let digits: String = t.chars().take_while(|c| c.is_ascii_digit()).collect();
    let Ok(n) = digits.parse::<u64>() else {
        return Decimal::ONE;
    };
    let rest = t[digits.len()..].trim_start();
    let multiplier: u64 = match rest.chars().next() {
        Some('K') if !rest.to_ascii_lowercase().starts_with("kb") => 1_000,
        Some('M')
            if !rest.to_ascii_lowercase().starts_with("mb")
                && !rest.to_ascii_lowercase().starts_with("month")
                && !rest.to_ascii_lowercase().starts_with("min") =>
        {
            1_000_000
        }
        _ => 1,
    };
    Decimal::from(n) * Decimal::from(multiplier)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>() -> ChargeFacts<'a> {
        ChargeFacts::default()
    }

    proptest::proptest! {
        /// The memo gives what classifying afresh gives, whatever order charges come in:
        /// charges that differ only in a deciding tag, a part absent versus empty-looking,
        /// or a meter's words are never confused.
        #[test]
        fn the_memo_classifies_as_classify_does(picks in proptest::collection::vec((0usize..4, 0usize..4, 0usize..4, 0usize..3, 0usize..3), 1..40)) {
            let services = [None, Some("Microsoft.MachineLearningServices"), Some("Microsoft.Compute"), Some("Microsoft.CognitiveServices")];
            let categories = [None, Some("Virtual Machines"), Some("Storage"), Some("Bandwidth")];
            let meters = [None, Some("NC24ads A100 v4"), Some("D2s v3"), Some("gpt-4o-0513 Input global Tokens")];
            let types = [None, Some("microsoft.machinelearningservices/workspaces/onlineendpoints"), Some("microsoft.compute/virtualmachines")];
            let tag_sets: Vec<BTreeMap<String, String>> = [vec![], vec![("ComputeType", "Managed online endpoint")], vec![("computetype", "AmlCompute")]]
                .into_iter()
                .map(|l| l.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
                .collect();
            let mut memo = ClassMemo::default();
            for (s, c, m, t, g) in picks {
                let f = ChargeFacts {
                    consumed_service: services[s],
                    meter_category: categories[c],
                    meter_name: meters[m],
                    resource_type: types[t],
                    unit: Some("1K"),
                    tags: Some(&tag_sets[g]),
                    ..ChargeFacts::default()
                };
                proptest::prop_assert_eq!(memo.classify(&f), classify(&f));
            }
        }
    }

    #[test]
    fn azure_ml_infrastructure_is_ai_with_its_meter_category() {
        // The real amortized sample: Azure ML workspace bandwidth and disk operations.
        let mut tags = BTreeMap::new();
        tags.insert("ComputeType".to_string(), "Compute Instance".to_string());
        let f = ChargeFacts {
            consumed_service: Some("Microsoft.MachineLearningServices"),
            resource_type: Some("Microsoft.MachineLearningServices/workspaces"),
            meter_category: Some("Bandwidth"),
            meter_name: Some("Standard Data Transfer Out"),
            tags: Some(&tags),
            ..facts()
        };
        let c = classify(&f);
        assert!(c.class.is_ai);
        assert_eq!(c.class.resource_kind, ResourceKind::Notebook);
        assert_eq!(c.class.cost_category, CostCategory::Network);
        assert_eq!(c.service_category, Some("AI and Machine Learning"));

        let mut tags = BTreeMap::new();
        tags.insert(
            "AMLResourceType".to_string(),
            "Provisioner.Batch".to_string(),
        );
        let f = ChargeFacts {
            consumed_service: Some("Microsoft.MachineLearningServices"),
            meter_category: Some("Virtual Machines"),
            meter_name: Some("D2 v3/D2s v3"),
            tags: Some(&tags),
            ..facts()
        };
        let c = classify(&f);
        assert_eq!(c.class.resource_kind, ResourceKind::TrainingJob);
        assert_eq!(c.class.cost_category, CostCategory::Training);
    }

    #[test]
    fn azure_openai_token_meters_are_model_apis_with_a_model() {
        // Synthetic meter names in the shapes Azure OpenAI uses.
        let f = ChargeFacts {
            consumed_service: Some("Microsoft.CognitiveServices"),
            meter_category: Some("Cognitive Services"),
            meter_subcategory: Some("Azure OpenAI"),
            meter_name: Some("gpt-4o-0806-Inp-glbl Tokens"),
            unit: Some("1K"),
            ..facts()
        };
        let c = classify(&f);
        assert!(c.class.is_ai && c.token_meter);
        assert_eq!(c.class.resource_kind, ResourceKind::ModelApi);
        assert_eq!(c.class.cost_category, CostCategory::Inference);
        assert_eq!(c.class.model.as_deref(), Some("gpt-4o-0806"));

        assert_eq!(
            model_from_meter(Some("GPT-4-8K Prompt Tokens")).as_deref(),
            Some("GPT-4-8K")
        );
        assert_eq!(
            model_from_meter(Some("gpt 4o 0513 Input global Tokens")).as_deref(),
            Some("gpt 4o 0513")
        );
        assert_eq!(model_from_meter(Some("Tokens")), None);

        // A non-token Cognitive Services meter is still AI, with no model.
        let f = ChargeFacts {
            resource_type: Some("microsoft.cognitiveservices/accounts"),
            meter_category: Some("Cognitive Services"),
            meter_name: Some("S1 Transactions"),
            unit: Some("1K"),
            ..facts()
        };
        let c = classify(&f);
        assert!(c.class.is_ai && !c.token_meter);
        assert_eq!(c.class.model, None);
    }

    #[test]
    fn gpu_vms_by_size_or_meter_and_plain_vms_are_not_ai() {
        let f = ChargeFacts {
            consumed_service: Some("Microsoft.Compute"),
            meter_category: Some("Virtual Machines"),
            meter_name: Some("NC4as T4 v3 Spot"),
            ..facts()
        };
        assert_eq!(classify(&f).class.resource_kind, ResourceKind::GpuVm);
        let f = ChargeFacts {
            meter_category: Some("Virtual Machines"),
            meter_name: Some("D4 v3/D4s v3"),
            instance_type: Some("Standard_ND96asr_v4"),
            ..facts()
        };
        assert!(classify(&f).class.is_ai);
        let f = ChargeFacts {
            consumed_service: Some("Microsoft.Compute"),
            meter_category: Some("Virtual Machines"),
            meter_name: Some("D4 v3/D4s v3"),
            instance_type: Some("Standard_D4s_v3"),
            ..facts()
        };
        let c = classify(&f);
        assert!(!c.class.is_ai);
        assert_eq!(c.class.cost_category, CostCategory::Compute);
        assert_eq!(c.service_category, None);
    }

    #[test]
    fn bot_service_is_ai_and_storage_is_storage() {
        let f = ChargeFacts {
            consumed_service: Some("Microsoft.BotService"),
            ..facts()
        };
        assert!(classify(&f).class.is_ai);
        let f = ChargeFacts {
            consumed_service: Some("Microsoft.Storage"),
            meter_category: Some("Storage"),
            meter_name: Some("Hot RA-GRS Data Stored"),
            ..facts()
        };
        let c = classify(&f);
        assert!(!c.class.is_ai);
        assert_eq!(c.class.cost_category, CostCategory::Storage);
    }

    #[test]
    fn unit_scales_are_exact() {
        let d = |s: &str| s.parse::<Decimal>().expect("test decimal");
        assert_eq!(unit_scale("10 Hours"), d("10"));
        assert_eq!(unit_scale("1 /Month"), d("1"));
        assert_eq!(unit_scale("1/Month"), d("1"));
        assert_eq!(unit_scale("10K"), d("10000"));
        assert_eq!(unit_scale("1K"), d("1000"));
        assert_eq!(unit_scale("1M"), d("1000000"));
        assert_eq!(unit_scale("100 Hours"), d("100"));
        assert_eq!(unit_scale("1 GB/Month"), d("1"));
        assert_eq!(unit_scale("vCore"), d("1"));
        assert_eq!(unit_scale("0 Unassigned"), d("0"));
    }
}
