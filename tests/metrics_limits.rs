//! Limits every metrics reader holds samples to (the same as `POST /api/v1/metrics`): a
//! key given twice in a JSON object, a resource id past 2,048 bytes or with a control
//! character, a measurement past 10^9 a minute. Each is its row's rejection, naming the
//! row and field; the good rows beside it survive.
mod common;

use std::path::{Path, PathBuf};

use common::read;

fn write(name: &str, text: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("metrics-limits");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

#[test]
fn csv_rows_past_the_limits_are_rejected_by_row_and_field() {
    let long = "x".repeat(100_000);
    let text = format!(
        "minute,endpoint_name,requests,input_tokens\n\
         2024-03-05 10:00:00,ep-1,5,10\n\
         2024-03-05 10:01:00,ep-1,1.5e308,10\n\
         2024-03-05 10:02:00,{long},1,10\n\
         2024-03-05 10:03:00,ep-1,1,2000000000\n\
         2024-03-05 10:04:00,ep-1,1000000000,1000000000\n"
    );
    let path = write("limits.csv", &text);
    let (out, report) = read(&path);
    assert_eq!(report.rows_read, 5);
    let got: Vec<(u64, Option<&str>)> = report
        .rejected
        .iter()
        .map(|e| (e.row, e.column.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            (2, Some("requests")),
            (3, Some("resource_id")),
            (4, Some("input_tokens"))
        ]
    );
    assert!(
        report.rejected[1].reason.contains("100000 bytes"),
        "{:?}",
        report.rejected[1]
    );
    assert_eq!(report.metric_samples, 2);
    let requests: Vec<Option<f64>> = out.metrics.iter().map(|s| s.requests).collect();
    assert_eq!(requests, [Some(5.0), Some(1e9)]);
}

#[test]
fn json_lines_with_a_key_twice_or_a_control_character_are_rejected() {
    let path = write(
        "limits.jsonl",
        concat!(
            r#"{"time":"2024-03-05T10:00:00Z","resource_id":"ep-j","requests":5,"requests":7}"#,
            "\n",
            r#"{"time":"2024-03-05T10:01:00Z","resource_id":"ep\u0000j","requests":1}"#,
            "\n",
            r#"{"time":"2024-03-05T10:02:00Z","resource_id":"ep-j","requests":2}"#,
            "\n",
        ),
    );
    let (out, report) = read(&path);
    assert_eq!(report.rows_read, 3);
    let got: Vec<(u64, Option<&str>)> = report
        .rejected
        .iter()
        .map(|e| (e.row, e.column.as_deref()))
        .collect();
    assert_eq!(got, [(1, None), (2, Some("resource_id"))]);
    assert!(
        report.rejected[0]
            .reason
            .contains("\"requests\" appears twice"),
        "{:?}",
        report.rejected[0]
    );
    assert!(
        report.rejected[1].reason.contains("U+0000"),
        "{:?}",
        report.rejected[1]
    );
    assert_eq!(out.metrics.len(), 1);
    assert_eq!(out.metrics[0].requests, Some(2.0));
}
