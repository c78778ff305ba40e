//! Client authentication with a signed JWT: private_key_jwt (RFC 7523 §2.2 and §3, RFC 7521
//! §4.2, OIDC Core §9). The client signs a short-lived assertion with a key it registered
//! (a JWK Set, or a `jwks_uri` Tessera fetches); Tessera checks the signature with that key
//! only, that `iss` and `sub` are the client, that `aud` names Tessera, that it is unexpired
//! and short-lived, and that its `jti` was never used before. Unsigned (`alg: none`) and
//! HMAC assertions are refused: only a key pair proves the client.

use std::sync::Arc;

use serde::Deserialize;

use crate::core::Ctx;
use crate::core::error::OAuthError;
use crate::core::model::Client;
use crate::core::ports::{AssertionRepo, ClientKeys};
use crate::keys::{Alg, JwkSet, JwksError};

/// `client_assertion_type` for a JWT (RFC 7523 §2.2).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The longest an assertion may still be valid when it arrives, in seconds. It is made for one
/// request and its jti is remembered until it expires, so a used one cannot come back; an hour
/// is the bound FAPI sets for signed requests, and what Authlib's assertions last by default.
pub const MAX_LIFETIME: i64 = 3600;
/// Larger assertions are not parsed.
const MAX_SIZE: usize = 8 * 1024;

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains_any(&self, accepted: &[String]) -> bool {
        match self {
            Audience::One(aud) => accepted.contains(aud),
            Audience::Many(auds) => auds.iter().any(|aud| accepted.contains(aud)),
        }
    }
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: Audience,
    exp: i64,
    jti: String,
    iat: Option<i64>,
    nbf: Option<i64>,
}

/// An assertion as presented: parsed, not yet trusted.
pub struct Assertion {
    /// The client it claims to come from (`iss`, equal to `sub`).
    pub client_id: String,
    header: Header,
    claims: Claims,
    signing_input: String,
    signature: Vec<u8>,
}

impl std::fmt::Debug for Assertion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assertion")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

fn refused(why: &str) -> OAuthError {
    OAuthError::invalid_client(format!("client assertion refused: {why}"))
}

/// Reads an assertion without trusting it, to learn which client it claims to be.
pub fn parse(token: &str) -> Result<Assertion, OAuthError> {
    let malformed = || OAuthError::invalid_request("client_assertion is not a signed JWT");
    if token.len() > MAX_SIZE {
        return Err(malformed());
    }
    let jws = crate::tokens::split(token).ok_or_else(malformed)?;
    let header: Header = serde_json::from_slice(&jws.header).map_err(|_| malformed())?;
    let claims: Claims = serde_json::from_slice(&jws.payload)
        .map_err(|_| refused("it needs the claims iss, sub, aud, exp and jti"))?;
    if claims.iss != claims.sub || claims.iss.is_empty() {
        return Err(refused("iss and sub must both be the client_id"));
    }
    Ok(Assertion {
        client_id: claims.iss.clone(),
        signing_input: jws.signing_input.to_owned(),
        signature: jws.signature,
        header,
        claims,
    })
}

/// Whether `assertion` proves `client` now. Records its jti: a second use is refused.
pub async fn verify<S: AssertionRepo, K: ClientKeys>(
    cx: &Ctx<'_, S>,
    keys: &K,
    client: &Client,
    assertion: &Assertion,
) -> Result<(), OAuthError> {
    let alg = match assertion.header.alg.parse::<Alg>() {
        Ok(alg) => alg,
        Err(_) => {
            return Err(refused(
                "it must be signed with RS256, PS256, ES256 or EdDSA (not none, not HMAC)",
            ));
        }
    };
    let signature = Signature {
        alg,
        kid: assertion.header.kid.as_deref(),
        input: assertion.signing_input.as_bytes(),
        bytes: &assertion.signature,
    };
    let verified = signed_by_client(keys, client, &signature)
        .await
        .map_err(|e| refused(&e.to_string()))?;
    if !verified {
        return Err(refused(
            "its signature does not verify with the client's registered keys",
        ));
    }
    accept(cx, client, assertion).await
}

/// Whether `assertion` proves a client_secret_jwt `client` now: a MAC with its secret (HS256,
/// HS384 or HS512; a key-pair algorithm is refused), then the same claim and replay rules.
pub async fn verify_mac<S: AssertionRepo>(
    cx: &Ctx<'_, S>,
    client: &Client,
    assertion: &Assertion,
) -> Result<(), OAuthError> {
    use ring::hmac;
    let algorithm = match assertion.header.alg.as_str() {
        "HS256" => hmac::HMAC_SHA256,
        "HS384" => hmac::HMAC_SHA384,
        "HS512" => hmac::HMAC_SHA512,
        _ => {
            return Err(refused(
                "a client_secret_jwt assertion must be HS256, HS384 or HS512",
            ));
        }
    };
    let label = Client::secret_label(&client.id);
    let secret = client
        .secret_sealed
        .as_deref()
        .and_then(|sealed| cx.secrets.open(&label, sealed).ok())
        .ok_or_else(|| {
            tracing::error!(client_id = %client.id, "a client_secret_jwt client's secret cannot be unsealed");
            OAuthError::server_error()
        })?;
    let key = hmac::Key::new(algorithm, &secret);
    if hmac::verify(
        &key,
        assertion.signing_input.as_bytes(),
        &assertion.signature,
    )
    .is_err()
    {
        return Err(refused("its MAC does not verify with the client's secret"));
    }
    accept(cx, client, assertion).await
}

/// The claim rules and the one-use rule, once the signature or MAC holds.
async fn accept<S: AssertionRepo>(
    cx: &Ctx<'_, S>,
    client: &Client,
    assertion: &Assertion,
) -> Result<(), OAuthError> {
    check_claims(cx.policy, cx.now, &assertion.claims)?;
    let first = cx
        .store
        .first_use(&client.id, &assertion.claims.jti, assertion.claims.exp)
        .await?;
    if !first {
        return Err(refused(
            "its jti was already used; make a new assertion for each request",
        ));
    }
    Ok(())
}

/// A JWS signature a client made, not yet checked.
pub struct Signature<'a> {
    pub alg: Alg,
    pub kid: Option<&'a str>,
    pub input: &'a [u8],
    pub bytes: &'a [u8],
}

/// Whether one of `client`'s registered keys made `signature`: its JWK Set, or the one at its
/// jwks_uri, fetched again (as the adapter allows) when the signer names a kid the cached copy
/// lacks, since the client may have rotated its keys. Client assertions and signed request
/// objects are checked this way.
pub async fn signed_by_client<K: ClientKeys>(
    keys: &K,
    client: &Client,
    signature: &Signature<'_>,
) -> Result<bool, JwksError> {
    let signed = |set: &JwkSet| {
        set.verify(
            signature.alg,
            signature.kid,
            signature.input,
            signature.bytes,
        )
    };
    Ok(match (&client.jwks, &client.jwks_uri) {
        (Some(document), _) => signed(&JwkSet::parse(document.as_bytes())?),
        (None, Some(uri)) => {
            let set: Arc<JwkSet> = keys.jwks(uri, false).await?;
            if !signed(&set) && signature.kid.is_some_and(|kid| !set.has_kid(kid)) {
                signed(&*keys.jwks(uri, true).await?)
            } else {
                signed(&set)
            }
        }
        (None, None) => false,
    })
}

/// The time, audience and identifier rules (RFC 7523 §3).
fn check_claims(policy: &crate::core::Policy, now: i64, claims: &Claims) -> Result<(), OAuthError> {
    if !claims.aud.contains_any(&policy.assertion_audiences) {
        return Err(refused(&format!(
            "aud must be the issuer ({}) or the URL of the endpoint",
            policy.issuer
        )));
    }
    if claims.exp <= now {
        return Err(refused("it has expired"));
    }
    // A client's clock may run ahead of ours by up to the configured skew.
    let skew = policy.clock_skew;
    if claims.exp > now + MAX_LIFETIME + skew {
        return Err(refused(&format!("it must expire within {MAX_LIFETIME} s")));
    }
    if claims.iat.is_some_and(|iat| iat > now + skew)
        || claims.nbf.is_some_and(|nbf| nbf > now + skew)
    {
        return Err(refused("it is not valid yet (iat or nbf in the future)"));
    }
    if claims.jti.is_empty() || claims.jti.len() > 256 {
        return Err(refused("it needs a jti of 1 to 256 characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::core::model::AuthMethod;
    use crate::core::testing::{MemoryStore, block_on, client, context, policy};
    use crate::keys::{MasterKey, SigningKey, generate};
    use crate::secret::b64url;

    const NOW: i64 = 1_000_000;

    fn key(alg: Alg) -> SigningKey {
        let master = MasterKey::parse(&"44".repeat(32)).unwrap();
        SigningKey::unseal(&generate(alg).unwrap().seal(&master, 1, 0, 0), &master).unwrap()
    }

    fn set(keys: &[&SigningKey]) -> String {
        json!({ "keys": keys.iter().map(|k| k.jwks_entry()).collect::<Vec<_>>() }).to_string()
    }

    fn claims(jti: &str) -> Value {
        json!({
            "iss": "app", "sub": "app", "aud": "https://id.example/token",
            "exp": NOW + 60, "iat": NOW, "jti": jti,
        })
    }

    fn signed(key: &SigningKey, claims: &Value) -> String {
        crate::tokens::sign(key, "JWT", claims).unwrap()
    }

    fn registered(jwks: Option<String>, jwks_uri: Option<&str>) -> Client {
        Client {
            jwks,
            jwks_uri: jwks_uri.map(str::to_owned),
            ..client(AuthMethod::PrivateKeyJwt)
        }
    }

    /// Verifies `token` for `client` at NOW.
    fn check(store: &MemoryStore, client: &Client, token: &str) -> Result<(), OAuthError> {
        let policy = policy();
        let cx = context(store, &policy, NOW);
        let assertion = parse(token)?;
        block_on(verify(&cx, store, client, &assertion))
    }

    fn refusal(result: Result<(), OAuthError>) -> String {
        let error = result.unwrap_err();
        assert_eq!(error.code, crate::core::error::ErrorCode::InvalidClient);
        error.description.into_owned()
    }

    #[test]
    fn a_signed_assertion_authenticates_once() {
        let store = MemoryStore::default();
        let k = key(Alg::ES256);
        let c = registered(Some(set(&[&k])), None);
        let token = signed(&k, &claims("one"));
        assert!(check(&store, &c, &token).is_ok());
        assert!(refusal(check(&store, &c, &token)).contains("jti was already used"));
        assert!(check(&store, &c, &signed(&k, &claims("two"))).is_ok());
    }

    #[test]
    fn a_client_clock_ahead_is_tolerated_up_to_the_configured_skew() {
        let k = key(Alg::ES256);
        let c = registered(Some(set(&[&k])), None);
        let ahead = |jti: &str| {
            let mut claims = claims(jti);
            claims["iat"] = (NOW + 30).into();
            signed(&k, &claims)
        };
        let store = MemoryStore::default();
        let at = |skew: i64, token: &str| {
            let policy = crate::core::Policy {
                clock_skew: skew,
                ..policy()
            };
            let cx = context(&store, &policy, NOW);
            block_on(verify(&cx, &store, &c, &parse(token).unwrap()))
        };
        assert!(at(60, &ahead("a")).is_ok(), "30 s ahead, within 60 s");
        assert!(
            refusal(at(0, &ahead("b"))).contains("not valid yet"),
            "0 means none"
        );
    }

    #[test]
    fn every_claim_rule_is_enforced() {
        let store = MemoryStore::default();
        let k = key(Alg::ES256);
        let c = registered(Some(set(&[&k])), None);
        let with = |name: &str, value: Value| {
            let mut claims = claims(name);
            claims[name] = value;
            signed(&k, &claims)
        };
        let cases = [
            (
                with("aud", "https://elsewhere.example".into()),
                "aud must be",
            ),
            (with("aud", json!(["https://id.example"])), ""),
            (with("exp", (NOW).into()), "expired"),
            (with("exp", (NOW + MAX_LIFETIME + 60).into()), ""),
            (
                with("exp", (NOW + MAX_LIFETIME + 60 + 1).into()),
                "must expire within",
            ),
            (with("iat", (NOW + 600).into()), "not valid yet"),
            (with("nbf", (NOW + 600).into()), "not valid yet"),
            (with("jti", "".into()), "jti of 1 to 256"),
        ];
        for (token, expected) in cases {
            match expected {
                "" => assert!(check(&store, &c, &token).is_ok()),
                _ => assert!(
                    refusal(check(&store, &c, &token)).contains(expected),
                    "{expected}"
                ),
            }
        }
        let mut other = claims("sub");
        other["sub"] = "someone-else".into();
        let err = parse(&signed(&k, &other)).unwrap_err();
        assert!(err.description.contains("iss and sub"));
    }

    #[test]
    fn unsigned_hmac_and_foreign_keys_are_refused() {
        let store = MemoryStore::default();
        let k = key(Alg::RS256);
        let jwks = set(&[&k]);
        let c = registered(Some(jwks.clone()), None);
        let body = b64url(claims("x").to_string().as_bytes());
        let none = format!("{}.{body}.", b64url(br#"{"alg":"none"}"#));
        assert!(refusal(check(&store, &c, &none)).contains("not none, not HMAC"));
        // HMAC keyed with the public key (the classic alg confusion).
        let input = format!("{}.{body}", b64url(br#"{"alg":"HS256"}"#));
        let mac = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, jwks.as_bytes()),
            input.as_bytes(),
        );
        let hmac = format!("{input}.{}", b64url(mac.as_ref()));
        assert!(refusal(check(&store, &c, &hmac)).contains("not none, not HMAC"));
        let stranger = key(Alg::RS256);
        let forged = signed(&stranger, &claims("y"));
        assert!(refusal(check(&store, &c, &forged)).contains("does not verify"));
    }

    #[test]
    fn keys_at_a_jwks_uri_are_fetched_again_for_an_unknown_kid() {
        let store = MemoryStore::default();
        let uri = "https://app.example/jwks";
        let (old, new) = (key(Alg::ES256), key(Alg::ES256));
        store.publish_jwks(uri, JwkSet::parse(set(&[&old]).as_bytes()).unwrap());
        let c = registered(None, Some(uri));
        assert!(check(&store, &c, &signed(&old, &claims("a"))).is_ok());
        assert_eq!(store.jwks_fetches(), 1);
        // The client rotates: only the new key is published.
        store.publish_jwks(uri, JwkSet::parse(set(&[&new]).as_bytes()).unwrap());
        assert!(check(&store, &c, &signed(&new, &claims("b"))).is_ok());
        assert!(
            refusal(check(&store, &c, &signed(&old, &claims("c")))).contains("does not verify")
        );
        let gone = registered(None, Some("https://app.example/missing"));
        assert!(refusal(check(&store, &gone, &signed(&new, &claims("d")))).contains("404"));
    }
}
