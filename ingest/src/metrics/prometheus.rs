//! A small Prometheus text exposition (v0.0.4) parser, tolerant of what real exporters write.
//!
//! Accepted: `# HELP` and `# TYPE` lines (HELP text may be empty; a family may have TYPE
//! and no HELP), any other `#` line as a comment (dcgm-exporter fixtures carry `# NOTE`),
//! blank lines between families, labels in any order (`le` before or after the others),
//! escaped quotes, backslashes and newlines in label values, a trailing comma in the label
//! set, values `+Inf`, `-Inf`, `NaN` and scientific notation, and an optional timestamp:
//! integer milliseconds as the text format defines it, or, when it carries a fraction or an
//! exponent, seconds as OpenMetrics writes it. A line that breaks these rules is reported
//! with its line number and the rest of the exposition is still read.

use std::collections::BTreeMap;
use std::io::BufRead;

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The series name as written (`vllm:prompt_tokens_total`, `..._bucket`).
    pub name: String,
    /// Labels in file order, values unescaped.
    pub labels: Vec<(String, String)>,
    pub value: f64,
    /// Milliseconds since the Unix epoch, when the line carries a timestamp.
    pub timestamp_ms: Option<i64>,
}

impl Sample {
    /// The value of a label, if the sample has it.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A family's declared type. OpenMetrics-only types (`info`, `stateset`, ...) are `Untyped`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Untyped,
}

/// What one line is.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    Blank,
    Comment,
    Help { name: String },
    Type { name: String, kind: Kind },
    Sample(Sample),
}

/// A line that could not be read: where, the series it seemed to name, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: u64,
    pub name: Option<String>,
    pub reason: String,
}

/// A whole exposition.
#[derive(Debug, Clone, Default)]
pub struct Exposition {
    /// Sample lines with their 1-based line numbers.
    pub samples: Vec<(u64, Sample)>,
    /// Declared family types by family name.
    pub kinds: BTreeMap<String, Kind>,
    pub errors: Vec<LineError>,
    /// The last line, when it has no line end and does not parse: where a file cut short
    /// (a partial download, a scrape still being written) breaks off. It is not in `errors`.
    pub cut: Option<LineError>,
}

impl Exposition {
    /// The declared type of a series, looking through the `_total`, `_bucket`, `_sum`,
    /// `_count` and `_created` suffixes to the family.
    pub fn kind_of(&self, series: &str) -> Kind {
        if let Some(k) = self.kinds.get(series) {
            return *k;
        }
        for suffix in ["_total", "_bucket", "_sum", "_count", "_created"] {
            if let Some(k) = series.strip_suffix(suffix).and_then(|f| self.kinds.get(f)) {
                return *k;
            }
        }
        Kind::Untyped
    }

    /// The latest explicit sample timestamp, in milliseconds.
    pub fn max_timestamp_ms(&self) -> Option<i64> {
        self.samples
            .iter()
            .filter_map(|(_, s)| s.timestamp_ms)
            .max()
    }

    fn take(&mut self, number: u64, text: &str) {
        match parse_line(text) {
            Ok(Line::Sample(s)) => self.samples.push((number, s)),
            Ok(Line::Type { name, kind }) => {
                self.kinds.insert(name, kind);
            }
            Ok(Line::Blank | Line::Comment | Line::Help { .. }) => {}
            Err(reason) => self.errors.push(LineError {
                line: number,
                name: leading_name(text),
                reason,
            }),
        }
    }
}

/// Parses a whole exposition held in memory.
pub fn parse(text: &str) -> Exposition {
    let mut expo = Exposition::default();
    for (i, line) in text.lines().enumerate() {
        expo.take(i as u64 + 1, line);
    }
    expo
}

/// Parses an exposition from a stream. A line that is not UTF-8 is a line error; only an
/// I/O failure stops the reading.
pub fn parse_reader(mut input: impl BufRead) -> std::io::Result<Exposition> {
    let mut expo = Exposition::default();
    let mut buf = Vec::new();
    let mut number = 0u64;
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        number += 1;
        match std::str::from_utf8(&buf) {
            Ok(text) => expo.take(number, text),
            Err(_) => expo.errors.push(LineError {
                line: number,
                name: None,
                reason: "the line is not UTF-8".into(),
            }),
        }
        if buf.last() != Some(&b'\n') && expo.errors.last().is_some_and(|e| e.line == number) {
            expo.cut = expo.errors.pop();
        }
    }
    Ok(expo)
}

/// Parses one line of an exposition.
pub fn parse_line(line: &str) -> Result<Line, String> {
    let text = line
        .trim_start_matches('\u{feff}')
        .trim_end_matches(['\n', '\r'])
        .trim();
    if text.is_empty() {
        return Ok(Line::Blank);
    }
    if let Some(comment) = text.strip_prefix('#') {
        return parse_comment(comment);
    }
    parse_sample(text).map(Line::Sample)
}

fn parse_comment(comment: &str) -> Result<Line, String> {
    let mut words = comment.split_whitespace();
    match words.next() {
        Some("HELP") => match words.next() {
            Some(name) if is_metric_name(name) => Ok(Line::Help { name: name.into() }),
            _ => Err("# HELP without a valid metric name".into()),
        },
        Some("TYPE") => {
            let name = words
                .next()
                .filter(|n| is_metric_name(n))
                .ok_or("# TYPE without a valid metric name")?;
            let kind = match words.next() {
                Some("counter") => Kind::Counter,
                Some("gauge") => Kind::Gauge,
                Some("histogram") => Kind::Histogram,
                Some("summary") => Kind::Summary,
                Some(_) => Kind::Untyped,
                None => return Err(format!("# TYPE {name} without a type")),
            };
            Ok(Line::Type {
                name: name.into(),
                kind,
            })
        }
        _ => Ok(Line::Comment),
    }
}

fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn name_end(s: &str) -> usize {
    s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(s.len())
}

/// The metric name a broken sample line starts with, to name it in the error.
fn leading_name(line: &str) -> Option<String> {
    let t = line.trim();
    let name = &t[..name_end(t)];
    is_metric_name(name).then(|| name.to_string())
}

fn parse_sample(text: &str) -> Result<Sample, String> {
    let end = name_end(text);
    let name = &text[..end];
    if !is_metric_name(name) {
        return Err(format!("not a sample line: {text:?}"));
    }
    let mut rest = &text[end..];
    let mut labels = Vec::new();
    let after_name = rest.trim_start();
    if let Some(body) = after_name.strip_prefix('{') {
        let (parsed, remaining) = parse_labels(body).map_err(|e| format!("{name}: {e}"))?;
        labels = parsed;
        rest = remaining;
    } else if !rest.starts_with(char::is_whitespace) {
        return Err(format!("{name}: expected a space or '{{' after the name"));
    }
    let mut fields = rest.split_whitespace();
    let value_text = fields.next().ok_or_else(|| format!("{name}: no value"))?;
    let value =
        parse_value(value_text).ok_or_else(|| format!("{name}: not a number: {value_text:?}"))?;
    let timestamp_ms = match fields.next() {
        None => None,
        Some(t) => Some(parse_timestamp(t).ok_or_else(|| format!("{name}: bad timestamp {t:?}"))?),
    };
    if let Some(extra) = fields.next() {
        return Err(format!("{name}: unexpected {extra:?} after the value"));
    }
    Ok(Sample {
        name: name.to_string(),
        labels,
        value,
        timestamp_ms,
    })
}

type Labels = Vec<(String, String)>;

/// Parses `name="value", ...}` and returns the labels and the text after the `}`.
fn parse_labels(body: &str) -> Result<(Labels, &str), String> {
    let mut labels = Vec::new();
    let mut rest = body;
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((labels, after));
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let key = &rest[..end];
        if key.is_empty() || key.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(format!("bad label name at {:?}", preview(rest)));
        }
        rest = rest[end..].trim_start();
        rest = rest
            .strip_prefix('=')
            .ok_or_else(|| format!("label {key}: expected '='"))?
            .trim_start();
        rest = rest
            .strip_prefix('"')
            .ok_or_else(|| format!("label {key}: expected a quoted value"))?;
        let (value, after) =
            unquote(rest).ok_or_else(|| format!("label {key}: unterminated value"))?;
        labels.push((key.to_string(), value));
        rest = after.trim_start();
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
        } else if !rest.starts_with('}') {
            return Err(format!("label {key}: expected ',' or '}}'"));
        }
    }
}

/// Reads a label value up to its closing quote, resolving `\\`, `\"` and `\n`.
fn unquote(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &s[i + 1..])),
            '\\' => match chars.next()? {
                (_, 'n') => out.push('\n'),
                (_, '\\') => out.push('\\'),
                (_, '"') => out.push('"'),
                // Not a defined escape: keep it as written rather than lose the row.
                (_, other) => {
                    out.push('\\');
                    out.push(other);
                }
            },
            other => out.push(other),
        }
    }
    None
}

fn preview(s: &str) -> String {
    s.chars().take(20).collect()
}

/// A sample value: Go's float syntax, which Rust's parser matches for the forms exporters
/// write (`1.7181405583e+09`, `+Inf`, `NaN`).
fn parse_value(t: &str) -> Option<f64> {
    if t.contains('_') {
        return None;
    }
    t.parse::<f64>().ok()
}

fn parse_timestamp(t: &str) -> Option<i64> {
    if let Ok(ms) = t.parse::<i64>() {
        return Some(ms);
    }
    let secs = t.parse::<f64>().ok().filter(|s| s.is_finite())?;
    let ms = (secs * 1000.0).round();
    (ms.abs() < 9.0e15).then_some(ms as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(line: &str) -> Sample {
        match parse_line(line) {
            Ok(Line::Sample(s)) => s,
            other => panic!("{line:?} gave {other:?}"),
        }
    }

    #[test]
    fn labels_in_any_order_with_escapes() {
        let s = sample(r#"m_bucket{le="0.5",model_name="a \"b\" \\c",x="1\n2"} 3"#);
        assert_eq!(s.name, "m_bucket");
        assert_eq!(s.label("le"), Some("0.5"));
        assert_eq!(s.label("model_name"), Some(r#"a "b" \c"#));
        assert_eq!(s.label("x"), Some("1\n2"));
        assert_eq!(s.value, 3.0);
        let t = sample(r#"m_bucket{model_name="a",le="+Inf",} 7 1709632800000"#);
        assert_eq!(t.label("le"), Some("+Inf"));
        assert_eq!(t.timestamp_ms, Some(1_709_632_800_000));
    }

    #[test]
    fn special_values_and_exponents() {
        assert_eq!(sample("a +Inf").value, f64::INFINITY);
        assert_eq!(sample("a -Inf").value, f64::NEG_INFINITY);
        assert!(sample("a NaN").value.is_nan());
        assert_eq!(
            sample("process_start_time_seconds 1.7181405583e+09").value,
            1_718_140_558.3
        );
        assert_eq!(
            sample("a{} 18446744073709551615").value,
            18_446_744_073_709_551_615.0
        );
        // OpenMetrics writes the timestamp in seconds with a fraction.
        assert_eq!(
            sample("a 1 1709632800.5").timestamp_ms,
            Some(1_709_632_800_500)
        );
    }

    #[test]
    fn comments_help_and_type() {
        assert_eq!(parse_line("# NOTE anything at all"), Ok(Line::Comment));
        assert_eq!(parse_line("#"), Ok(Line::Comment));
        assert_eq!(parse_line("   "), Ok(Line::Blank));
        assert_eq!(
            parse_line("# HELP DCGM_FI_DEV_PSTATE"),
            Ok(Line::Help {
                name: "DCGM_FI_DEV_PSTATE".into()
            })
        );
        assert_eq!(
            parse_line("# TYPE tgi_request_failure counter"),
            Ok(Line::Type {
                name: "tgi_request_failure".into(),
                kind: Kind::Counter
            })
        );
        assert!(parse_line("# TYPE x").is_err());
    }

    #[test]
    fn broken_lines_are_errors_not_panics() {
        for bad in [
            "a",
            "a{b=\"1\" 2",
            "a{b=1} 2",
            "a{=\"1\"} 2",
            "a 1 2 3",
            "a one",
            "a 1 later",
            "DCGM_FI_DEV_SM_CLOCK,  gauge, SM clock frequency (in MHz).",
            "9abc 1",
            "a{b=\"1\"",
        ] {
            assert!(parse_line(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn a_whole_exposition_keeps_going_after_a_bad_line() {
        let text = "# HELP a A\n# TYPE a counter\na_total 1\n\nbroken line here\n# TYPE g gauge\ng{x=\"y\"} 2\n";
        let e = parse(text);
        assert_eq!(e.samples.len(), 2);
        assert_eq!(e.samples[1].0, 7);
        assert_eq!(e.kind_of("a_total"), Kind::Counter);
        assert_eq!(e.kind_of("g"), Kind::Gauge);
        assert_eq!(e.errors.len(), 1);
        assert_eq!(e.errors[0].line, 5);
        assert_eq!(e.errors[0].name.as_deref(), Some("broken"));
    }
}
