//! One module per subcommand.

pub mod demo;
pub mod generate;
pub mod ingest;
pub mod live;
pub mod recommendations;
pub mod remote;
pub mod run;
pub mod serve;
pub mod summary;

/// A count of threads: at least one (`--workers 0` is a mistake, not "as few as possible").
pub fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// A `--listen` address: `IP:PORT` (`127.0.0.1:8080`, `0.0.0.0:8080`, `[::1]:8080`), or
/// `localhost:PORT` and a bare `PORT`, both on 127.0.0.1 (what a browser's
/// `localhost:8080` reaches).
pub fn listen_addr(s: &str) -> Result<std::net::SocketAddr, String> {
    let s = s.trim();
    if let Ok(addr) = s.parse() {
        return Ok(addr);
    }
    let port = s
        .strip_prefix("localhost:")
        .or_else(|| s.bytes().all(|b| b.is_ascii_digit()).then_some(s));
    match port.map(str::parse::<u16>) {
        Some(Ok(port)) => Ok(std::net::SocketAddr::from(([127, 0, 0, 1], port))),
        _ => Err(
            "expected IP:PORT, such as 127.0.0.1:8080 (0.0.0.0:8080 for every \
                  interface, port 0 for any free port), localhost:PORT or a bare PORT"
                .into(),
        ),
    }
}

/// A UTC day as `YYYY-MM-DD`. chrono's own messages ("input is out of range" for
/// `2024-13-01`, "premature end of input") do not say what is expected.
pub fn utc_day(s: &str) -> Result<chrono::NaiveDate, String> {
    burnrate_api::params::parse_ymd(s.trim())
        .ok_or_else(|| "expected a calendar date written YYYY-MM-DD, such as 2024-03-01".into())
}

/// A provider code for `--provider` (any case): the same codes the API's
/// `cloud_provider` takes.
pub fn provider_code(s: &str) -> Result<String, String> {
    burnrate_api::params::PROVIDERS
        .iter()
        .find(|c| c.eq_ignore_ascii_case(s.trim()))
        .map(|c| c.to_string())
        .ok_or_else(|| {
            format!(
                "expected one of {}",
                burnrate_api::params::PROVIDERS.join(", ")
            )
        })
}

/// A currency code as ISO 4217 writes it: three ASCII letters (`usd` is read as `USD`).
/// Anything else (`DOLLARS`, `$`, `US`) is a usage error rather than a currency.
pub fn currency_code(s: &str) -> Result<String, String> {
    let code = s.trim();
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(code.to_ascii_uppercase())
    } else {
        Err("expected a three-letter ISO 4217 currency code, such as USD or EUR".into())
    }
}

#[cfg(test)]
mod tests {
    use super::{currency_code, listen_addr, provider_code, utc_day};

    #[test]
    fn a_listen_address_may_be_localhost_or_a_bare_port() {
        let local = |port: u16| std::net::SocketAddr::from(([127, 0, 0, 1], port));
        assert_eq!(listen_addr("127.0.0.1:8080"), Ok(local(8080)));
        assert_eq!(listen_addr("localhost:9090"), Ok(local(9090)));
        assert_eq!(listen_addr("8081"), Ok(local(8081)));
        assert_eq!(
            listen_addr("0.0.0.0:80"),
            Ok(std::net::SocketAddr::from(([0, 0, 0, 0], 80)))
        );
        assert_eq!(
            listen_addr("[::1]:8080"),
            Ok(std::net::SocketAddr::from((
                std::net::Ipv6Addr::LOCALHOST,
                8080
            )))
        );
        for bad in [
            "localhost",
            "localhost:http",
            "70000",
            "example.com:80",
            ":8080",
            "",
        ] {
            let e = listen_addr(bad).expect_err(bad);
            assert!(e.contains("127.0.0.1:8080"), "{bad}: {e}");
        }
    }

    /// Input folders skip burnrate's own data directories by the store file's name.
    #[test]
    fn the_ingest_crate_knows_the_store_file_name() {
        assert_eq!(
            burnrate_ingest::STORE_FILE,
            burnrate_sink::embedded::FILE_NAME
        );
    }

    #[test]
    fn a_day_is_a_real_calendar_date() {
        assert_eq!(
            utc_day("2024-02-29"),
            Ok(chrono::NaiveDate::from_ymd_opt(2024, 2, 29).expect("date"))
        );
        for bad in [
            "2024-13-01",
            "2024-02-30",
            "2023-02-29",
            "yesterday",
            "2024-3",
            "",
            "02024-03-01",
            "-0001-01-01",
        ] {
            let e = utc_day(bad).expect_err(bad);
            assert!(e.contains("YYYY-MM-DD"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_provider_is_one_of_the_api_codes() {
        assert_eq!(provider_code("AWS"), Ok("aws".to_string()));
        let e = provider_code("ibm").expect_err("ibm");
        assert_eq!(e, "expected one of aws, azure, gcp, oci, other");
    }

    #[test]
    fn a_currency_code_is_three_ascii_letters() {
        assert_eq!(currency_code("usd"), Ok("USD".to_string()));
        assert_eq!(currency_code("EUR"), Ok("EUR".to_string()));
        for bad in ["DOLLARS", "US", "", "U$D", "12€", "ÜSD", "US D"] {
            assert!(currency_code(bad).is_err(), "{bad:?} accepted");
        }
    }
}
