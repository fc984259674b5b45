//! `burnrate ingest s3://...` against a real S3-compatible server on loopback (moto in
//! server mode, which `.ci/run` installs): a CUR folder mirrored and read, a second run
//! that downloads nothing and changes nothing, a re-delivered object that replaces what
//! its folder gave, and a bucket that does not exist.

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{csv_column_sum, data, dec};
use rust_decimal::Decimal;
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};

/// A moto server on a free loopback port, stopped when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    fn start() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start python3 -m moto.server ({e}): pip install 'moto[server]'")
            });
        let endpoint = format!("http://127.0.0.1:{port}");
        let moto = Moto { child, endpoint };
        let deadline = Instant::now() + Duration::from_secs(60);
        while ureq::get(&moto.endpoint).call().is_err() {
            assert!(
                Instant::now() < deadline,
                "moto's server did not start (is moto installed? pip install 'moto[server]')"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        moto
    }

    fn bucket(&self, name: &str) -> Bucket {
        Bucket::new(
            self.endpoint.parse().expect("url"),
            UrlStyle::Path,
            name.to_string(),
            "us-east-1",
        )
        .expect("bucket")
    }

    fn create_bucket(&self, name: &str) {
        let url = self
            .bucket(name)
            .create_bucket(&creds())
            .sign(Duration::from_secs(60));
        ureq::put(url.as_str()).send_empty().expect("create bucket");
    }

    fn put(&self, bucket: &str, key: &str, body: &[u8]) {
        let b = self.bucket(bucket);
        let url = b
            .put_object(Some(&creds()), key)
            .sign(Duration::from_secs(60));
        ureq::put(url.as_str()).send(body).expect("put object");
    }

    /// `burnrate --data-dir D ARGS` with the server as the S3 endpoint.
    fn burnrate(&self, data_dir: &Path, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_burnrate"))
            .arg("--data-dir")
            .arg(data_dir)
            .args(args)
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env_remove("AWS_ENDPOINT_URL_S3")
            .output()
            .expect("run burnrate");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

impl Moto {
    /// `burnrate run` watching `s3://bills/exports/` on this server, polling every second,
    /// not serving; credentials and output are the caller's to set.
    fn watching(&self, data_dir: &Path) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_burnrate"));
        cmd.arg("--data-dir")
            .arg(data_dir)
            .args([
                "run",
                "--input",
                "s3://bills/exports/",
                "--no-serve",
                "--poll-seconds",
                "1",
            ])
            .env("AWS_ENDPOINT_URL", &self.endpoint);
        cmd
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn creds() -> Credentials {
    Credentials::new("testing", "testing")
}

/// The billed total of November 2023, all spend, from the store.
fn november(moto: &Moto, data_dir: &Path) -> Decimal {
    let (code, out, err) = moto.burnrate(
        data_dir,
        &[
            "summary",
            "--from",
            "2023-11-01",
            "--to",
            "2023-11-30",
            "--scope",
            "all",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("summary JSON");
    assert_eq!(doc["currency"], "USD", "{doc}");
    dec(doc["total_cost"].as_str().expect("one currency"))
}

#[test]
fn a_cur_folder_on_s3_is_mirrored_read_and_kept_in_step() {
    let moto = Moto::start();
    moto.create_bucket("bills");
    // The sample's lines are usage and tax only: billed = the unblended column, all in
    // November 2023 (see tests/pipeline.rs).
    let cur = data("aws/cur-legacy-csv/focus_converters__sample-anonymous-aws-export-dataset.csv");
    let bytes = std::fs::read(&cur).expect("read");
    let key = "cur/burnrate/20231101-20231201/burnrate-00001.csv";
    moto.put("bills", key, &bytes);
    moto.put("bills", "cur/", b"");
    let store = tempfile::tempdir().expect("tempdir");

    let (code, out, err) = moto.burnrate(store.path(), &["ingest", "s3://bills/cur/"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        err.contains("s3://bills/cur/: 1 objects, 1 downloaded"),
        "{err}"
    );
    let want = csv_column_sum(&cur, "lineItem/UnblendedCost");
    assert_eq!(november(&moto, store.path()), want);
    let mirrored = store.path().join("s3/bills").join(key);
    assert_eq!(std::fs::read(&mirrored).expect("mirror"), bytes);

    // Again: nothing to download, the same folder read again replaces itself.
    let (code, _, err) = moto.burnrate(store.path(), &["ingest", "s3://bills/cur/"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("0 downloaded (0.0 MB), 1 unchanged"), "{err}");
    assert_eq!(november(&moto, store.path()), want);

    // AWS re-delivers the period without its last 100 lines: the new object replaces the
    // local copy, and the period's total becomes the new file's sum.
    let text = String::from_utf8(bytes).expect("utf8");
    let lines: Vec<&str> = text.lines().collect();
    let restated = lines[..lines.len() - 100].join("\n") + "\n";
    let local = tempfile::tempdir().expect("tempdir");
    let restated_file = local.path().join("restated.csv");
    std::fs::write(&restated_file, &restated).expect("write");
    let want = csv_column_sum(&restated_file, "lineItem/UnblendedCost");
    moto.put("bills", key, restated.as_bytes());
    let (code, _, err) = moto.burnrate(store.path(), &["ingest", "s3://bills/cur/"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("1 downloaded"), "{err}");
    assert_eq!(november(&moto, store.path()), want);
}

#[test]
fn a_missing_bucket_or_prefix_fails_clearly_and_the_rest_is_read() {
    let moto = Moto::start();
    moto.create_bucket("bills");
    let cur = data("aws/cur-legacy-csv/focus_converters__sample-anonymous-aws-export-dataset.csv");
    let store = tempfile::tempdir().expect("tempdir");
    let (code, out, err) = moto.burnrate(
        store.path(),
        &[
            "ingest",
            "s3://no-such-bucket/cur/",
            "s3://bills/nothing-here/",
            cur.to_str().expect("path"),
        ],
    );
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("cannot list s3://no-such-bucket/cur/"),
        "{out}"
    );
    assert!(out.contains("NoSuchBucket"), "{out}");
    assert!(
        out.contains("s3://bills/nothing-here/: no objects have this prefix"),
        "{out}"
    );
    assert_eq!(
        november(&moto, store.path()),
        csv_column_sum(&cur, "lineItem/UnblendedCost"),
        "the local file is stored"
    );
    let (code, _, err) = moto.burnrate(store.path(), &["ingest", "s3://"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("s3://BUCKET/PREFIX"), "{err}");
}

/// `run --input s3://...`: `--once` reads the prefix without waiting for files to settle
/// (mirrored objects arrive whole), and a watching run picks up an object added later.
#[test]
fn run_watches_an_s3_prefix() {
    let moto = Moto::start();
    moto.create_bucket("bills");
    let cur = data("aws/cur-legacy-csv/focus_converters__sample-anonymous-aws-export-dataset.csv");
    let bytes = std::fs::read(&cur).expect("read");
    moto.put("bills", "exports/cur/20231101-20231201/part-1.csv", &bytes);
    let want = csv_column_sum(&cur, "lineItem/UnblendedCost");
    let store = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let (code, _, err) = moto.burnrate(
        store.path(),
        &[
            "run",
            "--input",
            "s3://bills/exports/",
            "--once",
            "--no-serve",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(started.elapsed() < Duration::from_secs(30), "{err}");
    assert_eq!(november(&moto, store.path()), want);

    // Watching: a GCP export added under the prefix is read at the next scan, beside the
    // CUR: March 2024 then totals case B09's expected net cost.
    let b09 = common::case_dir("B09")
        .join("input/gcp_billing_export_v1_012345_6789AB_CDEF01-20240305.jsonl");
    let net = common::jdec(&common::expected("B09")["expected"]["totals"], "net_cost");
    let _run = common::Killed(
        moto.watching(store.path())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run"),
    );
    moto.put(
        "bills",
        "exports/gcp/export-20240305.jsonl",
        &std::fs::read(&b09).expect("read"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let march = loop {
        let (code, out, _) = moto.burnrate(
            store.path(),
            &[
                "summary",
                "--from",
                "2024-03-01",
                "--to",
                "2024-03-31",
                "--scope",
                "all",
            ],
        );
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        let listed = doc["breakdown_by_provider"]
            .as_array()
            .is_some_and(|b| !b.is_empty());
        if code == 0 && listed {
            break dec(doc["total_cost"].as_str().unwrap_or("0"));
        }
        assert!(Instant::now() < deadline, "the new object was not read");
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(march, net);
    assert_eq!(
        november(&moto, store.path()),
        want,
        "the CUR is still there"
    );
}

/// `run` reads the AWS shared files again at each listing: keys rewritten there (as a
/// session's keys are refreshed before they expire) reach a running `run` without a
/// restart. Seen from outside: a profile switched to a way burnrate refuses makes the next
/// listing fail naming it, and keys put back let the next object through.
#[test]
fn run_reads_the_shared_credentials_files_at_each_listing() {
    let moto = Moto::start();
    moto.create_bucket("bills");
    let cur = data("aws/cur-legacy-csv/focus_converters__sample-anonymous-aws-export-dataset.csv");
    moto.put(
        "bills",
        "exports/cur/20231101-20231201/part-1.csv",
        &std::fs::read(&cur).expect("read"),
    );
    let want = csv_column_sum(&cur, "lineItem/UnblendedCost");
    let home = tempfile::tempdir().expect("tempdir");
    let credentials = home.path().join("credentials");
    let config = home.path().join("config");
    let keys = "[rotating]\naws_access_key_id = testing\naws_secret_access_key = testing\n";
    std::fs::write(&credentials, keys).expect("write");
    std::fs::write(&config, "").expect("write");
    let store = tempfile::tempdir().expect("tempdir");
    let log = home.path().join("run.log");
    let _run = common::Killed(
        moto.watching(store.path())
            .env("AWS_PROFILE", "rotating")
            .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
            .env("AWS_CONFIG_FILE", &config)
            .env("HOME", home.path())
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_ENDPOINT_URL_S3")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("run"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        while !done() {
            assert!(
                Instant::now() < deadline,
                "{what}; run said:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    };
    let summary_total = |from: &str, to: &str| -> Option<Decimal> {
        let (code, out, _) = moto.burnrate(
            store.path(),
            &["summary", "--from", from, "--to", to, "--scope", "all"],
        );
        let doc: serde_json::Value = serde_json::from_str(&out).ok()?;
        let listed = doc["breakdown_by_provider"]
            .as_array()
            .is_some_and(|b| !b.is_empty());
        (code == 0 && listed).then(|| dec(doc["total_cost"].as_str().unwrap_or("0")))
    };
    wait_for("the CUR was not read with the profile's keys", &|| {
        summary_total("2023-11-01", "2023-11-30") == Some(want)
    });

    // The profile now gets its keys by credential_process: the next listing fails, naming it.
    std::fs::write(&credentials, "").expect("write");
    std::fs::write(
        &config,
        "[profile rotating]\ncredential_process = /usr/bin/false\n",
    )
    .expect("write");
    wait_for("the changed profile was not read again", &|| {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("credential_process"))
    });

    // Keys back: the next object under the prefix is read.
    std::fs::write(&config, "").expect("write");
    std::fs::write(&credentials, keys).expect("write");
    let b09 = common::case_dir("B09")
        .join("input/gcp_billing_export_v1_012345_6789AB_CDEF01-20240305.jsonl");
    let net = common::jdec(&common::expected("B09")["expected"]["totals"], "net_cost");
    moto.put(
        "bills",
        "exports/gcp/export-20240305.jsonl",
        &std::fs::read(&b09).expect("read"),
    );
    wait_for(
        "the object put after the keys came back was not read",
        &|| summary_total("2024-03-01", "2024-03-31") == Some(net),
    );
}
