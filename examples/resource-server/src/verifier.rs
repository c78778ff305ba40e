//! Verifying access tokens (RFC 9068 JWTs) with the issuer's public keys only.
//!
//! The JWKS is cached for as long as its `Cache-Control: max-age` allows. A token whose `kid`
//! the cache lacks triggers one refetch, at most once per `refetch_interval`, so a flood of
//! tokens with made-up key ids cannot turn into a flood of JWKS requests. Then the token
//! must be signed with an asymmetric algorithm by that key, have `typ: at+jwt`, the expected
//! `iss` and `aud`, and an `exp` in the future.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// The algorithms Tessera signs with. HMAC and `none` are never accepted: an API that
/// accepted HS256 could be fooled with its own public key as the secret.
const ALGORITHMS: [Algorithm; 4] = [
    Algorithm::ES256,
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::EdDSA,
];

/// Used when the JWKS answer has no usable max-age.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);

/// What a verified token says.
#[derive(Clone, Debug, Deserialize, serde::Serialize)]
pub struct Claims {
    pub sub: String,
    pub client_id: Option<String>,
    #[serde(default)]
    pub scope: String,
    pub exp: u64,
    /// Present on sender-constrained (DPoP) tokens.
    pub cnf: Option<serde_json::Value>,
}

impl Claims {
    pub fn has_scope(&self, wanted: &str) -> bool {
        self.scope.split(' ').any(|s| s == wanted)
    }
}

/// Why a token was refused; the text goes into `error_description`.
#[derive(Debug)]
pub struct Refused(pub String);

struct Cached {
    keys: HashMap<String, DecodingKey>,
    fetched: Instant,
    max_age: Duration,
}

#[derive(Default)]
struct State {
    cached: Option<Cached>,
    /// When a fetch was last started.
    last_fetch: Option<Instant>,
}

pub struct Verifier {
    issuer: String,
    audience: String,
    jwks_uri: String,
    refetch_interval: Duration,
    leeway: u64,
    http: reqwest::Client,
    state: Mutex<State>,
    fetches: AtomicU64,
}

impl Verifier {
    /// `refetch_interval`: the least time between two JWKS fetches caused by unknown key ids.
    pub fn new(
        issuer: &str,
        audience: &str,
        refetch_interval: Duration,
    ) -> Result<Self, reqwest::Error> {
        let issuer = issuer.trim_end_matches('/').to_owned();
        Ok(Self {
            jwks_uri: format!("{issuer}/.well-known/jwks.json"),
            issuer,
            audience: audience.to_owned(),
            refetch_interval,
            leeway: 30,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()?,
            state: Mutex::default(),
            fetches: AtomicU64::new(0),
        })
    }

    /// How many times the JWKS was fetched.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    pub async fn verify(&self, token: &str) -> Result<Claims, Refused> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| Refused(format!("not a JWT: {e}")))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(Refused(format!(
                "algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let typ = header
            .typ
            .as_deref()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if typ != "at+jwt" && typ != "application/at+jwt" {
            return Err(Refused("not an access token (typ must be at+jwt)".into()));
        }
        let kid = header
            .kid
            .ok_or_else(|| Refused("the token names no key (kid)".into()))?;
        let key = self.key(&kid).await?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = self.leeway;
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|e| Refused(format!("the token is not valid here: {e}")))?;
        if data.claims.cnf.is_some() {
            // A DPoP-bound token is only good with a proof of its key, which this API does
            // not check: refuse it rather than accept it as a bearer token (RFC 9449 §7).
            return Err(Refused(
                "a sender-constrained (DPoP) token needs a DPoP proof".into(),
            ));
        }
        Ok(data.claims)
    }

    /// The key named `kid`: from the cache while it is fresh. Otherwise (the cache expired, or
    /// lacks the key and the last fetch is older than the refetch interval) from a new fetch;
    /// while the issuer cannot be reached, from the expired copy.
    async fn key(&self, kid: &str) -> Result<DecodingKey, Refused> {
        let unknown = || Refused(format!("unknown key {kid}"));
        let stale = {
            let mut state = self.state.lock().map_err(|_| unknown())?;
            let may_fetch = state
                .last_fetch
                .is_none_or(|t| t.elapsed() >= self.refetch_interval);
            let (known, fresh) = match &state.cached {
                Some(c) => (c.keys.get(kid).cloned(), c.fetched.elapsed() < c.max_age),
                None => (None, false),
            };
            match known {
                Some(key) if fresh || !may_fetch => return Ok(key),
                None if !may_fetch => return Err(unknown()),
                _ => {}
            }
            state.last_fetch = Some(Instant::now());
            known
        };
        match self.fetch().await {
            Ok(fetched) => {
                let key = fetched.keys.get(kid).cloned();
                if let Ok(mut state) = self.state.lock() {
                    state.cached = Some(fetched);
                }
                key.ok_or_else(unknown)
            }
            Err(refused) => stale.ok_or(refused),
        }
    }

    async fn fetch(&self) -> Result<Cached, Refused> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let unreachable = |e: reqwest::Error| Refused(format!("cannot fetch the JWKS: {e}"));
        let response = self
            .http
            .get(&self.jwks_uri)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(unreachable)?;
        let max_age = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age)
            .unwrap_or(DEFAULT_MAX_AGE);
        let set: JwkSet = response.json().await.map_err(unreachable)?;
        let keys = set
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                DecodingKey::from_jwk(jwk).ok().map(|key| (kid, key))
            })
            .collect();
        Ok(Cached {
            keys,
            fetched: Instant::now(),
            max_age,
        })
    }
}

/// `max-age` of a Cache-Control value (`no-store`/`no-cache` mean zero).
fn max_age(value: &str) -> Option<Duration> {
    let mut age = None;
    for directive in value.split(',').map(str::trim) {
        match directive.split_once('=') {
            Some((name, seconds)) if name.eq_ignore_ascii_case("max-age") => {
                age = seconds
                    .trim_matches('"')
                    .parse()
                    .ok()
                    .map(Duration::from_secs);
            }
            None if directive.eq_ignore_ascii_case("no-store")
                || directive.eq_ignore_ascii_case("no-cache") =>
            {
                return Some(Duration::ZERO);
            }
            _ => {}
        }
    }
    age
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_gives_the_lifetime() {
        assert_eq!(
            max_age("public, max-age=300"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(max_age("max-age=0"), Some(Duration::ZERO));
        assert_eq!(max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(max_age("public"), None);
        assert_eq!(max_age("max-age=soon"), None);
    }

    #[test]
    fn scopes_match_whole_words() {
        let claims = Claims {
            sub: "s".into(),
            client_id: None,
            scope: "orders:read profile".into(),
            exp: 0,
            cnf: None,
        };
        assert!(claims.has_scope("orders:read"));
        assert!(!claims.has_scope("orders"));
        assert!(!claims.has_scope("orders:write"));
    }
}
