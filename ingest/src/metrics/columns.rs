//! The columns of the per-minute CSV and JSON-lines forms, with the keys that may name
//! each (see `table::column_key`: `gpu_utilization_pct`, `GpuUtilizationPct` and
//! `gpu-utilization-pct` are one key).

use crate::table::Header;

crate::columns! {
    pub struct MetricColumns {
        timestamp: ["timestamp", "minute", "time", "ts", "datetime", "windowstart", "periodstart"],
        resource: [
            "endpointid", "resourceid", "endpoint", "endpointname", "resource", "deploymentid",
            "deployment", "deploymentname"
        ],
        provider: ["provider", "cloud", "cloudprovider"],
        model: ["model", "modelname", "modelid"],
        accelerator: ["accelerator", "acceleratortype", "gputype", "gpumodel"],
        replicas: ["replicas", "replicacount", "instancecount", "instances"],
        requests: ["requests", "requestcount", "invocations", "numrequests"],
        errors: ["errors", "errorcount", "failedrequests", "failures", "requesterrors"],
        input_tokens: ["inputtokens", "prompttokens", "tokensin"],
        output_tokens: [
            "outputtokens", "completiontokens", "generationtokens", "generatedtokens", "tokensout"
        ],
        latency_p50_ms: ["latencyp50ms", "p50latencyms", "latencymsp50", "latencyp50"],
        latency_p95_ms: ["latencyp95ms", "p95latencyms", "latencymsp95", "latencyp95"],
        gpu_utilization_pct: [
            "gpuutilizationpct", "gpuutilpct", "gpuutilizationpercent", "gpuutilization", "gpuutil"
        ],
        gpu_memory_utilization_pct: [
            "gpumemoryutilizationpct", "gpumemutilizationpct", "gpumemoryutilpct",
            "gpumemoryutilizationpercent", "gpumemoryutilization", "gpumemutil"
        ],
        cpu_utilization_pct: [
            "cpuutilizationpct", "cpuutilpct", "cpuutilizationpercent", "cpuutilization", "cpuutil"
        ],
        memory_utilization_pct: [
            "memoryutilizationpct", "memutilizationpct", "memoryutilpct",
            "memoryutilizationpercent", "memoryutilization", "memutil"
        ],
    }
}

impl MetricColumns {
    /// Whether at least one measurement column is present.
    pub fn has_measurement(&self) -> bool {
        [
            self.replicas,
            self.requests,
            self.errors,
            self.input_tokens,
            self.output_tokens,
            self.latency_p50_ms,
            self.latency_p95_ms,
            self.gpu_utilization_pct,
            self.gpu_memory_utilization_pct,
            self.cpu_utilization_pct,
            self.memory_utilization_pct,
        ]
        .iter()
        .any(|c| c.present())
    }

    /// A per-minute metrics header: a time, a resource and at least one measurement.
    pub fn matches(header: &Header) -> bool {
        let c = MetricColumns::resolve(header);
        c.timestamp.present() && c.resource.present() && c.has_measurement()
    }
}
