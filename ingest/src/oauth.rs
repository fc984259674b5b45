//! OAuth 2.0 access tokens from a token endpoint (RFC 6749 §4.4 client credentials, RFC
//! 7523 JWT bearer), held until shortly before they expire. Shared by the fetchers whose
//! credentials are long-lived secrets (an Azure service principal, a GCP service account
//! key), so that a long `run` keeps working past one token's lifetime.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A token is renewed this long before it expires.
const MARGIN: Duration = Duration::from_secs(300);

/// The current access token, if any, and when to stop using it.
#[derive(Debug, Default)]
pub struct TokenCache(Mutex<Option<(String, Instant)>>);

impl TokenCache {
    /// The held token while it is good for more than five minutes, else a new one from
    /// `fetch` (the token and its lifetime in seconds).
    pub fn get(
        &self,
        fetch: impl FnOnce() -> Result<(String, u64), String>,
    ) -> Result<String, String> {
        let mut held = self
            .0
            .lock()
            .map_err(|_| "the token cache broke".to_string())?;
        if let Some((token, until)) = held.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let (token, lifetime) = fetch()?;
        let until = Instant::now() + Duration::from_secs(lifetime).saturating_sub(MARGIN);
        *held = Some((token.clone(), until));
        Ok(token)
    }
}

/// POSTs `pairs` as a form to the token endpoint `url`; gives the access token and its
/// lifetime in seconds, or why not in the endpoint's words (`for_whom` names the
/// credentials in the message).
pub fn request(
    agent: &ureq::Agent,
    url: &str,
    pairs: &[(&str, &str)],
    for_whom: &str,
) -> Result<(String, u64), String> {
    let form = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let mut response = agent
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .send(form.as_bytes())
        .map_err(|e| format!("the token endpoint {url} could not be reached: {e}"))?;
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    match doc["access_token"].as_str().filter(|_| status == 200) {
        Some(token) => Ok((
            token.to_string(),
            doc["expires_in"].as_u64().unwrap_or(3600),
        )),
        None => {
            let why = doc["error_description"]
                .as_str()
                .or(doc["error"].as_str())
                .map_or_else(|| text.chars().take(300).collect(), str::to_string);
            Err(format!(
                "no access token for {for_whom} (HTTP {status}): {why}"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_kept_until_shortly_before_it_expires() {
        let cache = TokenCache::default();
        let mut calls = 0;
        let mut fetch = |lifetime: u64| {
            calls += 1;
            let token = format!("t{calls}");
            move || Ok((token, lifetime))
        };
        assert_eq!(cache.get(fetch(3600)).as_deref(), Ok("t1"));
        assert_eq!(cache.get(fetch(3600)).as_deref(), Ok("t1"), "held");
        // A token that lives less than the margin is used once and renewed next time.
        let short = TokenCache::default();
        assert_eq!(short.get(fetch(60)).as_deref(), Ok("t3"));
        assert_eq!(short.get(fetch(60)).as_deref(), Ok("t4"));
        assert_eq!(
            short.get(|| Err("down".to_string())),
            Err("down".to_string())
        );
    }
}
