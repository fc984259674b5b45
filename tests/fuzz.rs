//! Parsing never panics: arbitrary bytes, and every real input file truncated at any point
//! or with bytes changed, reach every parser through the one entry point (`ingest_path`
//! detects the format from the damaged prefix, so a damaged CUR still goes to the CUR
//! reader). Each run either reads or returns an error; both are fine, a panic is not.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use burnrate_ingest::{Collected, Options, ingest_path};
use proptest::prelude::*;

/// Every input file under `../shared/data` and `../shared/cases/*/input`.
fn real_files() -> &'static [PathBuf] {
    static FILES: OnceLock<Vec<PathBuf>> = OnceLock::new();
    FILES.get_or_init(|| {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            let mut entries: Vec<PathBuf> =
                entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            entries.sort();
            for p in entries {
                if p.is_dir() {
                    walk(&p, out);
                } else if !p.ends_with("expected.json") && !p.ends_with("PROVENANCE.md") {
                    out.push(p);
                }
            }
        }
        let mut files = Vec::new();
        walk(&common::shared().join("data"), &mut files);
        walk(&common::shared().join("cases"), &mut files);
        assert!(files.len() > 20, "../shared has the real files");
        files
    })
}

/// Writes `bytes` to a fresh file and reads it; returns whether a report came back.
fn ingest_bytes(bytes: &[u8], name: &str) -> bool {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write");
    let mut out = Collected::default();
    ingest_path(&path, &Options::default(), &mut out).is_ok()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        ingest_bytes(&bytes, "input");
    }

    #[test]
    fn arbitrary_text_lines_never_panic(lines in proptest::collection::vec("[ -~]{0,80}", 0..40)) {
        ingest_bytes(lines.join("\n").as_bytes(), "input.csv");
    }

    #[test]
    fn truncated_real_files_never_panic(pick in any::<prop::sample::Index>(), cut in 0.0f64..1.0) {
        let files = real_files();
        let path = &files[pick.index(files.len())];
        let bytes = std::fs::read(path).expect("read");
        let keep = ((bytes.len() as f64) * cut) as usize;
        ingest_bytes(&bytes[..keep], "truncated");
    }

    #[test]
    fn damaged_real_files_never_panic(
        pick in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16),
        compress in any::<bool>(),
    ) {
        let files = real_files();
        let path = &files[pick.index(files.len())];
        let mut bytes = std::fs::read(path).expect("read");
        if !bytes.is_empty() {
            for (at, b) in edits {
                let i = at.index(bytes.len());
                bytes[i] = b;
            }
        }
        let bytes = if compress { gzip(&bytes) } else { bytes };
        ingest_bytes(&bytes, "damaged");
    }

    #[test]
    fn truncated_gzip_never_panics(pick in any::<prop::sample::Index>(), cut in 0.0f64..1.0) {
        let files = real_files();
        let path = &files[pick.index(files.len())];
        let gz = gzip(&std::fs::read(path).expect("read"));
        let keep = ((gz.len() as f64) * cut) as usize;
        ingest_bytes(&gz[..keep], "truncated.gz");
    }
}

/// A known billing file cut in the middle of its 101st data row (a partial download) fails
/// whole, naming that row; cut exactly after its 100th row, it cannot be told from a
/// shorter file and its 100 rows are read.
#[test]
fn a_truncated_cur_fails_whole_naming_the_row() {
    let path = common::data(
        "aws/cur-legacy-csv/focus_converters__sample-anonymous-aws-export-dataset.csv",
    );
    let bytes = std::fs::read(&path).expect("read");
    let text = String::from_utf8(bytes.clone()).expect("utf8");
    // line_starts[k] is where data row k + 1 starts (the header is line 0).
    let line_starts: Vec<usize> = text.match_indices('\n').map(|(i, _)| i + 1).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("cut.csv");
    std::fs::write(&p, &bytes[..line_starts[100] + 40]).expect("write");
    let mut out = Collected::default();
    let err =
        ingest_path(&p, &Options::default(), &mut out).expect_err("a file cut mid-row is an error");
    let msg = err.to_string();
    assert!(msg.contains("breaks off at row 101"), "{msg}");
    assert!(msg.contains("cut short"), "{msg}");

    let p = dir.path().join("short.csv");
    std::fs::write(&p, &bytes[..line_starts[100]]).expect("write");
    let (_, report) = common::read(&p);
    assert_eq!(report.rows_read, 100);
}
