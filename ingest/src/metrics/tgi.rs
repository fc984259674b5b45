//! Hugging Face Text Generation Inference (prefix `tgi_`).
//!
//! TGI's series carry no labels that name the server, so the resource is the scrape
//! target (the `instance` label when a collector added one, else the name the caller gives,
//! for a file its stem). `_total` suffixes are accepted on the counters, as newer
//! exporter versions add them.
//!
//! | family | field |
//! |---|---|
//! | `tgi_request_count` (counter) | requests (all, failed ones included) |
//! | `tgi_request_failure{err}` (counter, summed over `err`) | errors |
//! | `tgi_request_input_length_sum` (histogram sum) | input tokens |
//! | `tgi_request_generated_tokens_sum` (histogram sum) | output tokens |
//! | `tgi_queue_size`, `tgi_batch_current_size` (gauges) | waiting / running; no `MetricSample` field |

use super::prometheus::Sample;
use super::scrape::{Scrape, Use, add};

pub(crate) fn apply(
    s: &Sample,
    line: u64,
    target: &str,
    scrape: &mut Scrape,
) -> Result<Use, String> {
    let family = s.name.strip_suffix("_total").unwrap_or(&s.name);
    let used = match family {
        "tgi_request_count"
        | "tgi_request_failure"
        | "tgi_request_input_length_sum"
        | "tgi_request_generated_tokens_sum" => Use::Counter,
        "tgi_queue_size" | "tgi_batch_current_size" => Use::NoField,
        _ => return Ok(Use::Ignored),
    };
    if s.value < 0.0 {
        return Err(format!("{} cannot be negative: {}", s.name, s.value));
    }
    let obs = scrape.entry(target, line);
    let slot = match family {
        "tgi_request_count" => &mut obs.requests_total,
        "tgi_request_failure" => &mut obs.errors_total,
        "tgi_request_input_length_sum" => &mut obs.input_tokens_total,
        "tgi_request_generated_tokens_sum" => &mut obs.output_tokens_total,
        "tgi_queue_size" => &mut obs.requests_waiting,
        _ => &mut obs.requests_running,
    };
    add(slot, s.value);
    Ok(used)
}
