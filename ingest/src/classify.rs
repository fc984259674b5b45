//! AI classification shared by every source: GPU and accelerator instance families, and the
//! result type each source's own rules fill in.
//!
//! Product codes alone do not find AI spend (Bedrock third-party models bill through
//! Marketplace under opaque codes; a GPU VM bills as plain compute), so sources combine
//! their service, usage type, SKU and instance type with the tables here.

use burnrate_schemas::{CostCategory, ResourceKind};

/// Classifications already made in one file, by every fact that decides them. Exports
/// repeat a few hundred (service, usage type, meter, SKU) combinations over millions of
/// rows, and classifying afresh (lower-casing, matching words) was a fifth of reading a
/// row. Each source lists the facts its rules read; a rule that reads a fact missing
/// from the list would make the memo wrong, so each source's tests compare the memo
/// with classifying afresh.
#[derive(Debug)]
pub struct Memo<V> {
    /// Fx, not SipHash: the keys come from one file and hashing them is per row.
    seen: rustc_hash::FxHashMap<String, V>,
    key: String,
}

impl<V> Default for Memo<V> {
    fn default() -> Self {
        Memo {
            seen: rustc_hash::FxHashMap::default(),
            key: String::new(),
        }
    }
}

impl<V: Clone> Memo<V> {
    /// The value for these facts: remembered, or `classify()` (then remembered).
    pub fn get_or(&mut self, facts: &[Option<&str>], classify: impl FnOnce() -> V) -> V {
        self.key.clear();
        for fact in facts {
            // A present fact is marked apart from an absent one, then ended by a separator.
            if let Some(f) = fact {
                self.key.push('+');
                self.key.push_str(f);
            }
            self.key.push('\u{1f}');
        }
        if let Some(v) = self.seen.get(self.key.as_str()) {
            return v.clone();
        }
        let v = classify();
        // Bounded: a file with very many distinct facts just stops remembering new ones.
        if self.seen.len() < 100_000 {
            self.seen.insert(self.key.clone(), v.clone());
        }
        v
    }
}

/// What a source decided about one charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    pub is_ai: bool,
    pub resource_kind: ResourceKind,
    pub cost_category: CostCategory,
    /// The model, for token-billed model APIs.
    pub model: Option<String>,
}

impl Classification {
    /// A charge that is not AI: its category from words in its service and usage.
    pub fn plain(category: CostCategory) -> Classification {
        Classification {
            is_ai: false,
            resource_kind: ResourceKind::Other,
            cost_category: category,
            model: None,
        }
    }

    pub fn ai(kind: ResourceKind, category: CostCategory) -> Classification {
        Classification {
            is_ai: true,
            resource_kind: kind,
            cost_category: category,
            model: None,
        }
    }

    pub fn with_model(mut self, model: Option<String>) -> Classification {
        self.model = model;
        self
    }
}

/// AWS instance families with GPUs or AI accelerators (Trainium, Inferentia, Gaudi).
const AWS_ACCELERATED: &[&str] = &[
    "p2", "p3", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en", "p6", "p6e", "g3", "g3s", "g4dn",
    "g4ad", "g5", "g5g", "g6", "g6e", "g6f", "gr6", "gr6f", "g7e", "trn1", "trn1n", "trn2", "inf1",
    "inf2", "dl1", "dl2q",
];

/// GCP machine families with attached GPUs or TPUs.
const GCP_ACCELERATED: &[&str] = &[
    "a2", "a3", "a4", "a4x", "g2", "g4", "ct3", "ct4", "ct5", "ct6",
];

/// Whether an instance type (AWS `p4d.24xlarge` or `ml.g5.xlarge`, Azure
/// `Standard_NC24ads_A100_v4`, GCP `a2-highgpu-1g`) has a GPU or AI accelerator.
pub fn is_accelerated_instance(instance_type: &str) -> bool {
    let t = instance_type.trim().to_ascii_lowercase();
    let t = t.strip_prefix("ml.").unwrap_or(&t);
    // Oracle Cloud shapes: `BM.GPU.A10.4`, `VM.GPU.A10.1`, `BM.GPU4.8`.
    if t.starts_with("bm.gpu") || t.starts_with("vm.gpu") {
        return true;
    }
    if let Some((family, _size)) = t.split_once('.') {
        return AWS_ACCELERATED.contains(&family);
    }
    if let Some(azure) = t.strip_prefix("standard_") {
        // NC, ND, NG and NV series carry GPUs (NCads, NDasr, NVads, ...).
        return ["nc", "nd", "ng", "nv"]
            .iter()
            .any(|p| azure.starts_with(p));
    }
    if let Some((family, _)) = t.split_once('-') {
        return GCP_ACCELERATED.contains(&family);
    }
    false
}

/// A cost category from the words of a service, usage type or meter: storage, network or
/// compute, else other. Sources call it for charges their AI rules did not claim.
pub fn category_from_words(words: &[&str]) -> CostCategory {
    let joined = words.join(" ").to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| joined.contains(n));
    if has(&[
        "datatransfer",
        "data transfer",
        "bandwidth",
        "egress",
        "ingress",
        "network",
        "loadbalancer",
        "load balancer",
        "natgateway",
        "nat gateway",
        "cloudfront",
        "vpc",
        "ip address",
        "public ip",
        "-bytes",
        "dns",
    ]) {
        CostCategory::Network
    } else if has(&[
        "storage",
        "s3",
        "disk",
        "ebs",
        "snapshot",
        "timedstorage",
        "backup",
        "glacier",
        "blob",
        "bucket",
        "volume",
        "-bytehrs",
        "gb-mo",
        "byte-hrs",
    ]) {
        CostCategory::Storage
    } else if has(&[
        "compute",
        "boxusage",
        "instance",
        "ec2",
        "virtual machine",
        "vcpu",
        "cpu",
        "lambda",
        "container",
        "kubernetes",
        "fargate",
        "ram",
        "core",
    ]) {
        CostCategory::Compute
    } else {
        CostCategory::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accelerated_families_on_each_cloud() {
        for t in [
            "p4d.24xlarge",
            "ml.g5.xlarge",
            "ml.p5.48xlarge",
            "trn1.32xlarge",
            "inf2.xlarge",
            "Standard_NC24ads_A100_v4",
            "Standard_ND96asr_v4",
            "a2-highgpu-1g",
            "a3-highgpu-8g",
            "g2-standard-4",
            "BM.GPU.A10.4",
            "VM.GPU.A10.1",
        ] {
            assert!(is_accelerated_instance(t), "{t}");
        }
        for t in [
            "m5.large",
            "ml.c6i.large",
            "Standard_D2s_v5",
            "e2-standard-4",
            "n2-standard-8",
            "t3.medium",
        ] {
            assert!(!is_accelerated_instance(t), "{t}");
        }
    }

    #[test]
    fn categories_from_words() {
        assert_eq!(
            category_from_words(&["AmazonS3", "TimedStorage-ByteHrs"]),
            CostCategory::Storage
        );
        assert_eq!(
            category_from_words(&["AmazonEC2", "BoxUsage:t3.medium"]),
            CostCategory::Compute
        );
        assert_eq!(
            category_from_words(&["AWSDataTransfer", "USE1-DataTransfer-Out-Bytes"]),
            CostCategory::Network
        );
        assert_eq!(category_from_words(&["AWSSupport"]), CostCategory::Other);
    }
}
