//! vLLM's `/metrics` (prefix `vllm:`, v0 and v1 families).
//!
//! The resource is the `model_name` label: one vLLM server serves one model, and its
//! series carry no other identity. Series that differ in `finished_reason` or `engine`
//! (v1 data parallel) are parts of one total and add up.
//!
//! | family | field |
//! |---|---|
//! | `request_success[_total]` (counter) | requests (successes only: vLLM exports no failure count) |
//! | `prompt_tokens[_total]` (counter) | input tokens |
//! | `generation_tokens[_total]` (counter) | output tokens |
//! | `num_requests_running`, `num_requests_waiting` (gauges) | kept on the observation; no `MetricSample` field |
//!
//! vLLM exports no GPU utilization (`kv_cache_usage_perc` is the share of the KV-cache
//! blocks in use, not of the GPU, so it is not passed off as one). GPU utilization comes
//! from DCGM beside it.

use super::prometheus::Sample;
use super::scrape::{Scrape, Use, add};

pub(crate) fn apply(
    s: &Sample,
    line: u64,
    target: &str,
    scrape: &mut Scrape,
) -> Result<Use, String> {
    let Some(rest) = s.name.strip_prefix("vllm:") else {
        return Ok(Use::Ignored);
    };
    let family = rest.strip_suffix("_total").unwrap_or(rest);
    let used = match family {
        "request_success" | "prompt_tokens" | "generation_tokens" => Use::Counter,
        "num_requests_running" | "num_requests_waiting" => Use::NoField,
        _ => return Ok(Use::Ignored),
    };
    if s.value < 0.0 {
        return Err(format!("{} cannot be negative: {}", s.name, s.value));
    }
    let model = s.label("model_name");
    let obs = scrape.entry(model.unwrap_or(target), line);
    if obs.model.is_none() {
        obs.model = model.map(str::to_string);
    }
    let slot = match family {
        "request_success" => &mut obs.requests_total,
        "prompt_tokens" => &mut obs.input_tokens_total,
        "generation_tokens" => &mut obs.output_tokens_total,
        "num_requests_running" => &mut obs.requests_running,
        _ => &mut obs.requests_waiting,
    };
    add(slot, s.value);
    Ok(used)
}
