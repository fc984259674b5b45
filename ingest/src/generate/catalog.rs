//! The resources of one scale unit, with their prices and planted metric patterns.
//!
//! Prices are the providers' public on-demand list prices of the named SKUs (us-east-1,
//! East US, us-central1, us-ashburn-1), rounded to the cent or to the digits the price list
//! shows; commitment rates are set about 35 % under them. They only need to be realistic:
//! the truth is whatever the writers charge.

use rust_decimal::Decimal;

/// Which writer bills a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// AWS legacy CUR (CSV.gz, manifests).
    AwsCur,
    /// AWS CUR 2.0 (Parquet), a second payer.
    AwsCur2,
    Azure,
    Gcp,
    /// FOCUS 1.2 export of Oracle Cloud.
    Focus,
}

impl Source {
    pub fn label(self) -> &'static str {
        match self {
            Source::AwsCur => "aws-cur",
            Source::AwsCur2 => "aws-cur2",
            Source::Azure => "azure",
            Source::Gcp => "gcp",
            Source::Focus => "focus",
        }
    }
}

/// How a resource is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Billing {
    /// Runs every hour, `replicas` instances, on demand.
    Always,
    /// Runs hours `[from, to)` of each UTC day, on demand.
    Hours(u32, u32),
    /// On demand, at a spot price that moves by the hour.
    Spot,
    /// Token-priced model API: input (`rate`) and output (`rate2`) per `unit`.
    Tokens,
    /// A quantity a day (storage, analysis), at `rate` per unit.
    Daily,
    /// Covered by a savings plan at `rate2` an hour; the plan commits `commit` an hour.
    SavingsPlan,
    /// Covered by a reservation at an effective `rate2` an hour.
    Reserved,
    /// Covered by a GCP committed use discount (credit), the commitment fee `rate2` an hour.
    Committed,
}

/// A planted metrics pattern and the recommendation it should earn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    Healthy,
    Idle,
    LowGpu,
    OffHours,
    Bursty,
    SteadyOnDemand,
    Gaps,
    CpuOnly,
}

impl Pattern {
    pub fn code(self) -> &'static str {
        match self {
            Pattern::Healthy => "healthy",
            Pattern::Idle => "idle",
            Pattern::LowGpu => "low_gpu_utilization",
            Pattern::OffHours => "off_hours",
            Pattern::Bursty => "bursty",
            Pattern::SteadyOnDemand => "steady_on_demand",
            Pattern::Gaps => "metric_gaps",
            Pattern::CpuOnly => "cpu_only",
        }
    }

    /// The recommendation type the resource should get, or none. A healthy endpoint, one
    /// whose metrics have too many gaps to judge, and a busy CPU endpoint get none.
    pub fn recommendation(self) -> Option<&'static str> {
        match self {
            Pattern::Idle => Some("decommission"),
            Pattern::LowGpu => Some("rightsize"),
            Pattern::OffHours => Some("schedule"),
            Pattern::Bursty => Some("autoscale"),
            Pattern::SteadyOnDemand => Some("purchase_commitment"),
            Pattern::Healthy | Pattern::Gaps | Pattern::CpuOnly => None,
        }
    }
}

/// One line of the catalog: a kind of resource, repeated `scale` times.
#[derive(Debug, Clone, Copy)]
pub struct Template {
    pub key: &'static str,
    pub source: Source,
    /// Index into the source's accounts (`ACCOUNTS_*`).
    pub account: usize,
    pub billing: Billing,
    /// Service name as the file writes it.
    pub service: &'static str,
    /// Product code / consumed service / service id.
    pub code: &'static str,
    /// Usage type / meter name / SKU description (input tokens for token APIs).
    pub sku: &'static str,
    /// The second SKU of a token API (output tokens), else "".
    pub sku2: &'static str,
    pub unit: &'static str,
    /// Instance type / VM size / machine type, else "".
    pub instance: &'static str,
    /// Price per unit, as `Decimal::new(mantissa, scale)`.
    pub rate: (i64, u32),
    /// Output-token price, commitment rate or fee (see `Billing`).
    pub rate2: (i64, u32),
    pub replicas: u32,
    pub kind: &'static str,
    pub is_ai: bool,
    pub pattern: Option<Pattern>,
    pub accelerator: &'static str,
    pub model: &'static str,
    pub region: &'static str,
}

impl Template {
    pub fn rate(&self) -> Decimal {
        Decimal::new(self.rate.0, self.rate.1)
    }
    pub fn rate2(&self) -> Decimal {
        Decimal::new(self.rate2.0, self.rate2.1)
    }
}

const fn t(key: &'static str, source: Source, billing: Billing) -> Template {
    Template {
        key,
        source,
        account: 0,
        billing,
        service: "",
        code: "",
        sku: "",
        sku2: "",
        unit: "",
        instance: "",
        rate: (0, 0),
        rate2: (0, 0),
        replicas: 1,
        kind: "other",
        is_ai: false,
        pattern: None,
        accelerator: "",
        model: "",
        region: "",
    }
}

/// AWS legacy CUR: payer and usage accounts.
pub const AWS_PAYER: &str = "111122223333";
pub const AWS_ACCOUNTS: [&str; 2] = ["111122223333", "444455556666"];
/// AWS CUR 2.0 payer.
pub const AWS2_PAYER: &str = "777788889999";
/// Azure EA enrollments: (billing account, subscription, currency).
pub const AZURE_ACCOUNTS: [(&str, &str, &str); 2] = [
    ("80000001", "6b1e3c2a-0f4d-4c8e-9a57-1d2e3f405001", "USD"),
    ("80000002", "6b1e3c2a-0f4d-4c8e-9a57-1d2e3f405002", "EUR"),
];
pub const GCP_BILLING_ACCOUNT: &str = "01A2B3-C4D5E6-F7A8B9";
pub const GCP_PROJECTS: [&str; 2] = ["ml-prod-4711", "web-prod-4711"];
pub const OCI_TENANCY: &str = "ocid1.tenancy.oc1..aaaaaaaaburnrate";

const SM: &str = "Amazon SageMaker";
const EC2: &str = "Amazon Elastic Compute Cloud";
const AML_VM: &str = "Virtual Machines";
const VERTEX: &str = "Vertex AI";
const GCE: &str = "Compute Engine";

macro_rules! tpl {
    ($key:expr, $src:expr, $billing:expr, { $($field:ident : $value:expr),* $(,)? }) => {
        Template { $($field: $value,)* ..t($key, $src, $billing) }
    };
}

use Billing::*;
use Pattern::*;
use Source::*;

/// The scale unit. Order is the order rows are written in.
pub const TEMPLATES: &[Template] = &[
    // ---- AWS legacy CUR ----
    tpl!("ep-chat", AwsCur, Always, { service: SM, code: "AmazonSageMaker", sku: "USE1-Host:ml.g5.2xlarge", unit: "Hrs", instance: "ml.g5.2xlarge", rate: (1515, 3), replicas: 2, kind: "endpoint", is_ai: true, pattern: Some(Healthy), accelerator: "nvidia-a10g", model: "llama-3-8b-instruct", region: "us-east-1" }),
    tpl!("ep-idle", AwsCur, Always, { service: SM, code: "AmazonSageMaker", sku: "USE1-Host:ml.g5.xlarge", unit: "Hrs", instance: "ml.g5.xlarge", rate: (1408, 3), kind: "endpoint", is_ai: true, pattern: Some(Idle), accelerator: "nvidia-a10g", model: "mistral-7b-instruct", region: "us-east-1" }),
    tpl!("ep-lowgpu", AwsCur, Always, { service: SM, code: "AmazonSageMaker", sku: "USE1-Host:ml.g5.12xlarge", unit: "Hrs", instance: "ml.g5.12xlarge", rate: (709, 2), kind: "endpoint", is_ai: true, pattern: Some(LowGpu), accelerator: "nvidia-a10g", model: "mixtral-8x7b-instruct", region: "us-east-1" }),
    tpl!("ep-offhours", AwsCur, Always, { account: 1, service: SM, code: "AmazonSageMaker", sku: "USE1-Host:ml.g5.2xlarge", unit: "Hrs", instance: "ml.g5.2xlarge", rate: (1515, 3), kind: "endpoint", is_ai: true, pattern: Some(OffHours), accelerator: "nvidia-a10g", model: "llama-3-8b-instruct", region: "us-east-1" }),
    tpl!("ep-bursty", AwsCur, Always, { account: 1, service: SM, code: "AmazonSageMaker", sku: "USE1-Host:ml.g5.4xlarge", unit: "Hrs", instance: "ml.g5.4xlarge", rate: (203, 2), replicas: 4, kind: "endpoint", is_ai: true, pattern: Some(Bursty), accelerator: "nvidia-a10g", model: "llama-3-8b-instruct", region: "us-east-1" }),
    tpl!("ep-steady", AwsCur, Always, { service: SM, code: "AmazonSageMaker", sku: "USE1-Host:ml.g5.12xlarge", unit: "Hrs", instance: "ml.g5.12xlarge", rate: (709, 2), replicas: 2, kind: "endpoint", is_ai: true, pattern: Some(SteadyOnDemand), accelerator: "nvidia-a10g", model: "llama-3-70b-instruct-awq", region: "us-east-1" }),
    tpl!("ep-cpu", AwsCur, Always, { service: SM, code: "AmazonSageMaker", sku: "USE1-Host:ml.c6i.xlarge", unit: "Hrs", instance: "ml.c6i.xlarge", rate: (204, 3), kind: "endpoint", is_ai: true, pattern: Some(CpuOnly), accelerator: "none", model: "bge-small-en", region: "us-east-1" }),
    tpl!("ep-gaps", AwsCur, Always, { account: 1, service: SM, code: "AmazonSageMaker", sku: "USE1-Host:ml.g5.xlarge", unit: "Hrs", instance: "ml.g5.xlarge", rate: (1408, 3), kind: "endpoint", is_ai: true, pattern: Some(Gaps), accelerator: "nvidia-a10g", model: "mistral-7b-instruct", region: "us-east-1" }),
    tpl!("ep-sp", AwsCur, SavingsPlan, { service: SM, code: "AmazonSageMaker", sku: "USE1-Host:ml.g5.2xlarge", unit: "Hrs", instance: "ml.g5.2xlarge", rate: (1515, 3), rate2: (98, 2), kind: "endpoint", is_ai: true, pattern: Some(Healthy), accelerator: "nvidia-a10g", model: "llama-3-8b-instruct", region: "us-east-1" }),
    tpl!("train", AwsCur, Hours(2, 8), { service: SM, code: "AmazonSageMaker", sku: "USE1-Train:ml.p4d.24xlarge", unit: "Hrs", instance: "ml.p4d.24xlarge", rate: (37688, 3), kind: "training-job", is_ai: true, region: "us-east-1" }),
    tpl!("notebook", AwsCur, Always, { account: 1, service: SM, code: "AmazonSageMaker", sku: "USE1-Notebk:ml.t3.medium", unit: "Hrs", instance: "ml.t3.medium", rate: (5, 2), kind: "notebook", is_ai: true, region: "us-east-1" }),
    tpl!("bedrock-nova", AwsCur, Tokens, { service: "Amazon Bedrock", code: "AmazonBedrock", sku: "USE1-NovaPro-input-tokens", sku2: "USE1-NovaPro-output-tokens", unit: "1K tokens", rate: (8, 4), rate2: (32, 4), kind: "model-api", is_ai: true, model: "NovaPro", region: "us-east-1" }),
    tpl!("bedrock-claude", AwsCur, Tokens, { account: 1, service: "Claude 3.5 Sonnet (Amazon Bedrock Edition)", code: "7cloiv1lqe76eogr33nhp9r5k8", sku: "USE1-MP:USE1_InputTokenCount-Units", sku2: "USE1-MP:USE1_OutputTokenCount-Units", unit: "Units", rate: (3, 6), rate2: (15, 6), kind: "model-api", is_ai: true, model: "claude-3-5-sonnet", region: "us-east-1" }),
    tpl!("bedrock-pt", AwsCur, Always, { service: "Amazon Bedrock", code: "AmazonBedrock", sku: "USE1-ProvisionedThroughput-NovaPro-ModelUnits", unit: "ModelUnit-Hrs", rate: (3960, 2), kind: "endpoint", is_ai: true, model: "NovaPro", region: "us-east-1" }),
    tpl!("ec2-p4d", AwsCur, Reserved, { service: EC2, code: "AmazonEC2", sku: "USE1-BoxUsage:p4d.24xlarge", unit: "Hrs", instance: "p4d.24xlarge", rate: (327726, 4), rate2: (1930, 2), kind: "gpu-vm", is_ai: true, region: "us-east-1" }),
    tpl!("ec2-p5", AwsCur, Hours(8, 20), { account: 1, service: EC2, code: "AmazonEC2", sku: "USE1-BoxUsage:p5.48xlarge", unit: "Hrs", instance: "p5.48xlarge", rate: (9832, 2), kind: "gpu-vm", is_ai: true, region: "us-east-1" }),
    tpl!("ec2-g5-spot", AwsCur, Spot, { service: EC2, code: "AmazonEC2", sku: "USE1-SpotUsage:g5.2xlarge", unit: "Hrs", instance: "g5.2xlarge", rate: (4536, 4), kind: "gpu-vm", is_ai: true, region: "us-east-1" }),
    tpl!("ec2-web", AwsCur, Always, { service: EC2, code: "AmazonEC2", sku: "USE1-BoxUsage:m5.large", unit: "Hrs", instance: "m5.large", rate: (96, 3), replicas: 3, region: "us-east-1" }),
    tpl!("s3-data", AwsCur, Daily, { service: "Amazon Simple Storage Service", code: "AmazonS3", sku: "USE1-TimedStorage-ByteHrs", unit: "GB-Mo", rate: (23, 3), region: "us-east-1" }),
    tpl!("rds-app", AwsCur, Always, { account: 1, service: "Amazon Relational Database Service", code: "AmazonRDS", sku: "USE1-InstanceUsage:db.r6g.large", unit: "Hrs", instance: "db.r6g.large", rate: (26, 2), region: "us-east-1" }),
    // ---- AWS CUR 2.0 ----
    tpl!("ep-embed", AwsCur2, Always, { service: SM, code: "AmazonSageMaker", sku: "USE1-Host:ml.g5.xlarge", unit: "Hrs", instance: "ml.g5.xlarge", rate: (1408, 3), kind: "endpoint", is_ai: true, pattern: Some(Healthy), accelerator: "nvidia-a10g", model: "bge-large-en", region: "us-east-1" }),
    tpl!("bedrock-titan", AwsCur2, Tokens, { service: "Amazon Bedrock", code: "AmazonBedrock", sku: "USE1-TitanEmbeddingV2-Text-input-tokens", unit: "1K tokens", rate: (2, 5), kind: "model-api", is_ai: true, model: "TitanEmbeddingV2-Text", region: "us-east-1" }),
    tpl!("ec2-g5", AwsCur2, Always, { service: EC2, code: "AmazonEC2", sku: "USE1-BoxUsage:g5.xlarge", unit: "Hrs", instance: "g5.xlarge", rate: (1006, 3), kind: "gpu-vm", is_ai: true, region: "us-east-1" }),
    tpl!("s3-logs", AwsCur2, Daily, { service: "Amazon Simple Storage Service", code: "AmazonS3", sku: "USE1-TimedStorage-ByteHrs", unit: "GB-Mo", rate: (23, 3), region: "us-east-1" }),
    // ---- Azure (account 0 USD, account 1 EUR) ----
    tpl!("aml-chat", Azure, Always, { service: AML_VM, code: "Microsoft.MachineLearningServices", sku: "NC24ads A100 v4", unit: "1 Hour", instance: "Standard_NC24ads_A100_v4", rate: (3673, 3), kind: "endpoint", is_ai: true, pattern: Some(Healthy), accelerator: "nvidia-a100", model: "phi-3-medium", region: "eastus" }),
    tpl!("aml-idle", Azure, Always, { service: AML_VM, code: "Microsoft.MachineLearningServices", sku: "NC4as T4 v3", unit: "1 Hour", instance: "Standard_NC4as_T4_v3", rate: (526, 3), kind: "endpoint", is_ai: true, pattern: Some(Idle), accelerator: "nvidia-t4", model: "phi-3-mini", region: "eastus" }),
    tpl!("aml-offhours", Azure, Always, { service: AML_VM, code: "Microsoft.MachineLearningServices", sku: "NC24ads A100 v4", unit: "1 Hour", instance: "Standard_NC24ads_A100_v4", rate: (3673, 3), kind: "endpoint", is_ai: true, pattern: Some(OffHours), accelerator: "nvidia-a100", model: "phi-3-medium", region: "eastus" }),
    tpl!("aoai-gpt4o", Azure, Tokens, { service: "Cognitive Services", code: "Microsoft.CognitiveServices", sku: "gpt-4o-0806-Inp-glbl Tokens", sku2: "gpt-4o-0806-Outp-glbl Tokens", unit: "1K", rate: (25, 4), rate2: (1, 2), kind: "model-api", is_ai: true, model: "gpt-4o", region: "eastus" }),
    tpl!("aoai-ptu", Azure, Always, { service: "Cognitive Services", code: "Microsoft.CognitiveServices", sku: "Provisioned Managed Global Unit", unit: "1 Hour", rate: (1, 0), replicas: 15, kind: "model-api", is_ai: true, model: "gpt-4o", region: "eastus" }),
    tpl!("vm-nd96", Azure, Reserved, { service: AML_VM, code: "Microsoft.Compute", sku: "ND96asr A100 v4", unit: "1 Hour", instance: "Standard_ND96asr_v4", rate: (27197, 3), rate2: (175, 1), kind: "gpu-vm", is_ai: true, region: "eastus" }),
    tpl!("vm-web", Azure, Always, { service: AML_VM, code: "Microsoft.Compute", sku: "D4s v5", unit: "1 Hour", instance: "Standard_D4s_v5", rate: (192, 3), replicas: 2, region: "eastus" }),
    tpl!("storage", Azure, Daily, { service: "Storage", code: "Microsoft.Storage", sku: "Hot LRS Data Stored", unit: "1 GB/Month", rate: (208, 4), region: "eastus" }),
    tpl!("aml-lowgpu", Azure, Always, { account: 1, service: AML_VM, code: "Microsoft.MachineLearningServices", sku: "NC24ads A100 v4", unit: "1 Hour", instance: "Standard_NC24ads_A100_v4", rate: (340, 2), kind: "endpoint", is_ai: true, pattern: Some(LowGpu), accelerator: "nvidia-a100", model: "llama-3-8b-instruct", region: "westeurope" }),
    tpl!("aml-cpu", Azure, Always, { account: 1, service: AML_VM, code: "Microsoft.MachineLearningServices", sku: "D8s v5", unit: "1 Hour", instance: "Standard_D8s_v5", rate: (35, 2), kind: "endpoint", is_ai: true, pattern: Some(CpuOnly), accelerator: "none", model: "e5-small-v2", region: "westeurope" }),
    tpl!("aoai-mini", Azure, Tokens, { account: 1, service: "Cognitive Services", code: "Microsoft.CognitiveServices", sku: "gpt-4o-mini-0718-Inp-glbl Tokens", sku2: "gpt-4o-mini-0718-Outp-glbl Tokens", unit: "1K", rate: (14, 5), rate2: (56, 5), kind: "model-api", is_ai: true, model: "gpt-4o-mini", region: "westeurope" }),
    tpl!("sql-app", Azure, Always, { account: 1, service: "SQL Database", code: "Microsoft.Sql", sku: "vCore", unit: "1 Hour", rate: (46, 2), replicas: 2, region: "westeurope" }),
    // ---- GCP (project 0 ML, project 1 web) ----
    tpl!("vx-chat", Gcp, Always, { service: VERTEX, code: "C7E2-9256-1C43", sku: "Vertex AI: Online Prediction G2 Instance Core and Ram running in Americas", sku2: "Vertex AI: Online Prediction NVIDIA L4 GPU running in Americas", unit: "hour", instance: "g2-standard-8", rate: (85, 2), rate2: (644, 3), kind: "endpoint", is_ai: true, pattern: Some(Healthy), accelerator: "nvidia-l4", model: "gemma-2-9b-it", region: "us-central1" }),
    tpl!("vx-bursty", Gcp, Always, { service: VERTEX, code: "C7E2-9256-1C43", sku: "Vertex AI: Online Prediction G2 Instance Core and Ram running in Americas", sku2: "Vertex AI: Online Prediction NVIDIA L4 GPU running in Americas", unit: "hour", instance: "g2-standard-8", rate: (85, 2), rate2: (644, 3), replicas: 3, kind: "endpoint", is_ai: true, pattern: Some(Bursty), accelerator: "nvidia-l4", model: "gemma-2-9b-it", region: "us-central1" }),
    tpl!("vx-steady", Gcp, Always, { service: VERTEX, code: "C7E2-9256-1C43", sku: "Vertex AI: Online Prediction A2 Instance Core and Ram running in Americas", sku2: "Vertex AI: Online Prediction NVIDIA A100 GPU running in Americas", unit: "hour", instance: "a2-highgpu-1g", rate: (95, 2), rate2: (2934, 3), replicas: 2, kind: "endpoint", is_ai: true, pattern: Some(SteadyOnDemand), accelerator: "nvidia-a100", model: "llama-3-70b-instruct", region: "us-central1" }),
    tpl!("vx-gaps", Gcp, Always, { service: VERTEX, code: "C7E2-9256-1C43", sku: "Vertex AI: Online Prediction G2 Instance Core and Ram running in Americas", sku2: "Vertex AI: Online Prediction NVIDIA L4 GPU running in Americas", unit: "hour", instance: "g2-standard-8", rate: (85, 2), rate2: (644, 3), kind: "endpoint", is_ai: true, pattern: Some(Gaps), accelerator: "nvidia-l4", model: "gemma-2-9b-it", region: "us-central1" }),
    tpl!("gemini", Gcp, Tokens, { service: VERTEX, code: "C7E2-9256-1C43", sku: "Gemini 1.5 Flash Input Tokens", sku2: "Gemini 1.5 Flash Output Tokens", unit: "count", rate: (75, 9), rate2: (3, 7), kind: "model-api", is_ai: true, model: "gemini-1.5-flash", region: "us-central1" }),
    tpl!("a2-train", Gcp, Hours(0, 12), { service: GCE, code: "6F81-5844-456A", sku: "A2 Instance Core running in Americas", sku2: "Nvidia Tesla A100 GPU running in Americas", unit: "hour", instance: "a2-highgpu-1g", rate: (1, 0), rate2: (2934, 3), kind: "gpu-vm", is_ai: true, region: "us-central1" }),
    tpl!("a3-cud", Gcp, Committed, { service: GCE, code: "6F81-5844-456A", sku: "A3 Instance Core running in Americas", sku2: "Commitment v1: A3 Cpu in Americas for 1 Year", unit: "hour", instance: "a3-highgpu-8g", rate: (8849, 2), rate2: (5575, 2), kind: "gpu-vm", is_ai: true, region: "us-central1" }),
    tpl!("g2-dev", Gcp, Always, { service: GCE, code: "6F81-5844-456A", sku: "G2 Instance Core running in Americas", unit: "hour", instance: "g2-standard-8", rate: (85, 2), kind: "gpu-vm", is_ai: true, region: "us-central1" }),
    tpl!("n2-web", Gcp, Always, { account: 1, service: GCE, code: "6F81-5844-456A", sku: "N2 Instance Core running in Americas", unit: "hour", instance: "n2-standard-8", rate: (252888, 6), replicas: 2, region: "us-central1" }),
    tpl!("gcs-data", Gcp, Daily, { account: 1, service: "Cloud Storage", code: "95FF-2EF5-5EA1", sku: "Standard Storage US Multi-region", unit: "gibibyte month", rate: (26, 3), region: "us" }),
    tpl!("bq-analytics", Gcp, Daily, { account: 1, service: "BigQuery", code: "24E6-581D-38E5", sku: "Analysis", unit: "tebibyte", rate: (625, 2), region: "us" }),
    // ---- FOCUS (Oracle Cloud) ----
    tpl!("oci-gpu", Focus, Always, { service: "Compute", code: "COMPUTE", sku: "GPU - A10", unit: "Hours", instance: "BM.GPU.A10.4", rate: (8, 0), kind: "gpu-vm", is_ai: true, region: "us-ashburn-1" }),
    tpl!("oci-genai", Focus, Tokens, { service: "Generative AI", code: "GENERATIVE_AI", sku: "Large Cohere - Input", sku2: "Large Cohere - Output", unit: "Tokens", rate: (15, 7), rate2: (15, 7), kind: "model-api", is_ai: true, model: "cohere.command-r-plus", region: "us-ashburn-1" }),
    tpl!("oci-storage", Focus, Daily, { service: "Object Storage", code: "OBJECT_STORAGE", sku: "Object Storage - Storage", unit: "GB Months", rate: (255, 4), region: "us-ashburn-1" }),
];

/// One resource: a template and its copy number.
#[derive(Debug, Clone)]
pub struct Resource {
    pub tpl: &'static Template,
    pub source: Source,
    pub provider: &'static str,
    pub currency: &'static str,
    pub name: String,
    /// The id billing writes, `None` for charges with no resource (token APIs on AWS and
    /// GCP).
    pub resource_id: Option<String>,
    pub service: &'static str,
    pub kind: &'static str,
    pub is_ai: bool,
    pub pattern: Option<Pattern>,
}

impl Resource {
    /// The id the metrics rows carry: the endpoint name on AWS (as CloudWatch names it),
    /// the full resource id elsewhere.
    pub fn metrics_id(&self) -> String {
        match (self.source, &self.resource_id) {
            (Source::AwsCur | Source::AwsCur2, _) | (_, None) => self.name.clone(),
            (_, Some(id)) => id.clone(),
        }
    }

    /// The account the resource's rows belong to (usage account, subscription, project).
    pub fn account(&self) -> &'static str {
        let i = self.tpl.account;
        match self.source {
            Source::AwsCur => AWS_ACCOUNTS[i.min(1)],
            Source::AwsCur2 => AWS2_PAYER,
            Source::Azure => AZURE_ACCOUNTS[i.min(1)].1,
            Source::Gcp => GCP_PROJECTS[i.min(1)],
            Source::Focus => OCI_TENANCY,
        }
    }
}

/// Every resource of a run, in template-major order (all copies of the first template,
/// then the next), which is the order rows are written in.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub resources: Vec<Resource>,
}

impl Catalog {
    pub fn build(scale: u32) -> Catalog {
        let mut resources = Vec::new();
        for tpl in TEMPLATES {
            for i in 0..scale {
                resources.push(resource(tpl, i));
            }
        }
        Catalog { resources }
    }

    pub fn of(&self, source: Source) -> impl Iterator<Item = &Resource> {
        self.resources.iter().filter(move |r| r.source == source)
    }
}

fn resource(tpl: &'static Template, i: u32) -> Resource {
    let name = format!("{}-{i:04}", tpl.key);
    let (provider, currency) = match tpl.source {
        Source::AwsCur | Source::AwsCur2 => ("aws", "USD"),
        Source::Azure => ("azure", AZURE_ACCOUNTS[tpl.account.min(1)].2),
        Source::Gcp => ("gcp", "USD"),
        Source::Focus => ("oci", "USD"),
    };
    let mut r = Resource {
        tpl,
        source: tpl.source,
        provider,
        currency,
        resource_id: None,
        service: tpl.service,
        kind: tpl.kind,
        is_ai: tpl.is_ai,
        pattern: tpl.pattern,
        name,
    };
    r.resource_id = resource_id(&r, i);
    r
}

fn resource_id(r: &Resource, i: u32) -> Option<String> {
    let tpl = r.tpl;
    let acct = r.account();
    let name = &r.name;
    Some(match tpl.source {
        Source::AwsCur | Source::AwsCur2 => match (tpl.code, tpl.kind) {
            ("AmazonSageMaker", "endpoint") => {
                format!("arn:aws:sagemaker:us-east-1:{acct}:endpoint/{name}")
            }
            ("AmazonSageMaker", "training-job") => {
                format!("arn:aws:sagemaker:us-east-1:{acct}:training-job/{name}")
            }
            ("AmazonSageMaker", _) => {
                format!("arn:aws:sagemaker:us-east-1:{acct}:notebook-instance/{name}")
            }
            ("AmazonBedrock", "endpoint") => {
                format!("arn:aws:bedrock:us-east-1:{acct}:provisioned-model/{name}")
            }
            ("AmazonEC2", _) => format!("i-0{:016x}", fnv(name)),
            ("AmazonS3", _) => format!("{name}-{acct}"),
            ("AmazonRDS", _) => format!("arn:aws:rds:us-east-1:{acct}:db:{name}"),
            _ => return None,
        },
        Source::Azure => {
            let sub = acct;
            let rg = if tpl.account == 0 {
                "rg-ai-prod"
            } else {
                "rg-ai-eu"
            };
            match tpl.code {
                "Microsoft.MachineLearningServices" => format!(
                    "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces/mlw-{i:04}/onlineEndpoints/{name}"
                ),
                "Microsoft.CognitiveServices" => format!(
                    "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/accounts/{name}"
                ),
                "Microsoft.Compute" => format!(
                    "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}"
                ),
                "Microsoft.Storage" => format!(
                    "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/st{}",
                    name.replace('-', "")
                ),
                _ => format!(
                    "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Sql/servers/sql-{i:04}/databases/{name}"
                ),
            }
        }
        Source::Gcp => match (tpl.service, tpl.kind) {
            (VERTEX, "endpoint") => {
                format!("projects/{acct}/locations/us-central1/endpoints/{name}")
            }
            (VERTEX, _) => return None,
            (GCE, _) => format!("projects/{acct}/zones/us-central1-a/instances/{name}"),
            ("Cloud Storage", _) => format!("projects/_/buckets/{name}"),
            _ => return None,
        },
        Source::Focus => match tpl.kind {
            "model-api" => return None,
            _ => format!("ocid1.{}.oc1.iad.{name}", tpl.code.to_ascii_lowercase()),
        },
    })
}

/// FNV-1a, for stable made-up ids.
pub fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_repeats_the_unit_with_distinct_ids() {
        let one = Catalog::build(1);
        let three = Catalog::build(3);
        assert_eq!(three.resources.len(), 3 * one.resources.len());
        let mut ids: Vec<String> = three.resources.iter().map(|r| r.name.clone()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), three.resources.len());
    }

    #[test]
    fn every_pattern_is_planted_and_endpoints_join_their_metrics() {
        let c = Catalog::build(1);
        for p in [
            Pattern::Healthy,
            Pattern::Idle,
            Pattern::LowGpu,
            Pattern::OffHours,
            Pattern::Bursty,
            Pattern::SteadyOnDemand,
            Pattern::Gaps,
            Pattern::CpuOnly,
        ] {
            assert!(c.resources.iter().any(|r| r.pattern == Some(p)), "{p:?}");
        }
        for r in c.resources.iter().filter(|r| r.pattern.is_some()) {
            let id = r.resource_id.as_deref().expect("an endpoint has an id");
            assert!(
                burnrate_schemas::resource_matches(&r.metrics_id(), id),
                "{} / {id}",
                r.metrics_id()
            );
        }
    }
}
