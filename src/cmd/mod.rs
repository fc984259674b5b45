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
    use super::currency_code;

    #[test]
    fn a_currency_code_is_three_ascii_letters() {
        assert_eq!(currency_code("usd"), Ok("USD".to_string()));
        assert_eq!(currency_code("EUR"), Ok("EUR".to_string()));
        for bad in ["DOLLARS", "US", "", "U$D", "12€", "ÜSD", "US D"] {
            assert!(currency_code(bad).is_err(), "{bad:?} accepted");
        }
    }
}
