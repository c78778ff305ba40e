//! Signed authorization requests (JAR, RFC 9101): the client puts its authorization request's
//! parameters in a JWT signed with a key it registered (as for private_key_jwt) and sends it as
//! the `request` parameter, to /authorize or to /par. Tessera then uses the parameters in the
//! JWT and nothing else (§6.3), so nobody between the client and Tessera can change them.
//! Unsigned (`alg: none`) and HMAC request objects are refused; `iss` must be the client,
//! `aud` the issuer, and `exp` at most an hour away, with `nbf` (if any) within the last hour.

use serde::Deserialize;
use serde_json::Value;

use crate::core::Ctx;
use crate::core::error::{ErrorCode, OAuthError};
use crate::core::model::Client;
use crate::core::params::Params;
use crate::core::ports::ClientKeys;
use crate::core::token::client_assertion::{Signature, signed_by_client};
use crate::keys::Alg;
use crate::tokens;

/// The longest a request object may be valid, in seconds (FAPI's bound).
pub const MAX_LIFETIME: i64 = 3600;
/// Claims about the JWT itself, not parameters of the request.
const ENVELOPE: [&str; 6] = ["iss", "aud", "exp", "nbf", "iat", "jti"];

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
}

fn refused(why: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidRequestObject, why.into())
}

/// The parameters of the request object in `params`, checked, with `client_id`; None when
/// there is none.
pub async fn unpack<S, K: ClientKeys>(
    cx: &Ctx<'_, S>,
    keys: &K,
    client: &Client,
    params: &Params,
) -> Result<Option<Params>, OAuthError> {
    // A client with no keys cannot sign one: the ordinary checks answer request_not_supported.
    let has_keys = client.jwks.is_some() || client.jwks_uri.is_some();
    let Some(jwt) = params.get("request").filter(|_| has_keys) else {
        return Ok(None);
    };
    let jws =
        tokens::split(jwt).ok_or_else(|| refused("the request object is not a signed JWT"))?;
    let header: Header = serde_json::from_slice(&jws.header)
        .map_err(|_| refused("the request object's header is not a JOSE header with alg"))?;
    if header.typ.as_deref().is_some_and(|t| {
        !t.eq_ignore_ascii_case("oauth-authz-req+jwt") && !t.eq_ignore_ascii_case("jwt")
    }) {
        return Err(refused(
            "the request object's typ must be oauth-authz-req+jwt",
        ));
    }
    let alg = header.alg.parse::<Alg>().map_err(|_| {
        refused("the request object must be signed with RS256, PS256, ES256 or EdDSA (not none, not HMAC)")
    })?;
    let signature = Signature {
        alg,
        kid: header.kid.as_deref(),
        input: jws.signing_input.as_bytes(),
        bytes: &jws.signature,
    };
    let verified = signed_by_client(keys, client, &signature)
        .await
        .map_err(|e| refused(format!("the client's keys cannot be used: {e}")))?;
    if !verified {
        return Err(refused(
            "the request object's signature does not verify with the client's registered keys",
        ));
    }
    let claims: serde_json::Map<String, Value> = serde_json::from_slice(&jws.payload)
        .map_err(|_| refused("the request object's claims are not a JSON object"))?;
    check_envelope(cx, client, &claims)?;
    let mut pairs = vec![("client_id".to_owned(), client.id.clone())];
    for (name, value) in claims {
        if ENVELOPE.contains(&name.as_str()) || name == "client_id" {
            continue;
        }
        if name == "request" || name == "request_uri" {
            return Err(refused(format!("a request object cannot carry {name}")));
        }
        let value = match value {
            Value::String(text) => text,
            Value::Null => continue,
            other => other.to_string(),
        };
        pairs.push((name, value));
    }
    Params::parse(pairs).map(Some)
}

/// iss, aud, client_id, exp and nbf (RFC 9101 §4 and §6.3; FAPI's lifetime bounds).
fn check_envelope<S>(
    cx: &Ctx<'_, S>,
    client: &Client,
    claims: &serde_json::Map<String, Value>,
) -> Result<(), OAuthError> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(client.id.as_str()) {
        return Err(refused("the request object's iss must be the client_id"));
    }
    if claims.get("client_id").is_some() && text("client_id") != Some(client.id.as_str()) {
        return Err(refused(
            "the request object's client_id must be the client's",
        ));
    }
    let issuer = cx.policy.issuer.as_str();
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == issuer,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(issuer)),
        _ => false,
    };
    if !audience_ok {
        return Err(refused(format!(
            "the request object's aud must be the issuer ({issuer})"
        )));
    }
    let number = |name: &str| claims.get(name).and_then(Value::as_i64);
    let exp = number("exp").ok_or_else(|| refused("the request object needs an exp"))?;
    if exp <= cx.now {
        return Err(refused("the request object has expired"));
    }
    let skew = cx.policy.clock_skew;
    if exp > cx.now + MAX_LIFETIME + skew {
        return Err(refused(format!(
            "the request object must expire within {MAX_LIFETIME} s"
        )));
    }
    if let Some(nbf) = number("nbf")
        && (nbf > cx.now + skew || nbf < cx.now - MAX_LIFETIME)
    {
        return Err(refused(
            "the request object's nbf must lie within the last hour",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::core::model::AuthMethod;
    use crate::core::testing::{MemoryStore, block_on, client, context, policy};
    use crate::keys::{MasterKey, SigningKey, generate};
    use crate::secret::b64url;

    const NOW: i64 = 1_000_000;

    fn key() -> SigningKey {
        let master = MasterKey::parse(&"77".repeat(32)).unwrap();
        SigningKey::unseal(
            &generate(Alg::ES256).unwrap().seal(&master, 1, 0, 0),
            &master,
        )
        .unwrap()
    }

    fn registered(key: &SigningKey) -> Client {
        Client {
            jwks: Some(json!({ "keys": [key.jwks_entry()] }).to_string()),
            ..client(AuthMethod::PrivateKeyJwt)
        }
    }

    fn object(key: &SigningKey, overrides: Value) -> String {
        let mut claims = json!({
            "iss": "app", "aud": "https://id.example", "exp": NOW + 300,
            "response_type": "code", "scope": "openid", "max_age": 60,
            "redirect_uri": "https://app.example/cb",
        });
        for (k, v) in overrides.as_object().unwrap() {
            claims[k] = v.clone();
        }
        tokens::sign(key, "oauth-authz-req+jwt", &claims).unwrap()
    }

    fn unpacked(client: &Client, jwt: &str) -> Result<Option<Params>, OAuthError> {
        let (store, policy) = (MemoryStore::default(), policy());
        let cx = context(&store, &policy, NOW);
        let params = Params::parse(vec![
            ("client_id".into(), "app".into()),
            ("request".into(), jwt.into()),
            ("scope".into(), "openid email".into()),
        ])
        .unwrap();
        block_on(unpack(&cx, &store, client, &params))
    }

    fn why(result: Result<Option<Params>, OAuthError>) -> String {
        let error = result.err().expect("refused");
        assert_eq!(error.code, ErrorCode::InvalidRequestObject);
        error.description.into_owned()
    }

    #[test]
    fn only_the_signed_parameters_count() {
        let k = key();
        let params = unpacked(&registered(&k), &object(&k, json!({})))
            .unwrap()
            .unwrap();
        assert_eq!(params.get("scope"), Some("openid"), "not the outer scope");
        assert_eq!(params.get("max_age"), Some("60"));
        assert_eq!(params.get("client_id"), Some("app"));
        assert_eq!(params.get("iss"), None);
    }

    #[test]
    fn each_rule_is_enforced() {
        let k = key();
        let app = registered(&k);
        let cases = [
            (json!({"iss": "other"}), "iss must be"),
            (json!({"client_id": "other"}), "client_id must be"),
            (json!({"aud": "https://elsewhere.example"}), "aud must be"),
            (json!({"exp": NOW}), "expired"),
            (json!({"exp": null}), "needs an exp"),
            (json!({"exp": NOW + 2 * MAX_LIFETIME}), "expire within"),
            (json!({"nbf": NOW - 2 * MAX_LIFETIME}), "nbf"),
            (json!({"request_uri": "urn:x"}), "cannot carry"),
        ];
        for (overrides, expected) in cases {
            let got = why(unpacked(&app, &object(&k, overrides)));
            assert!(got.contains(expected), "{expected}: {got}");
        }
        let stranger = key();
        assert!(why(unpacked(&app, &object(&stranger, json!({})))).contains("does not verify"));
        let body = b64url(json!({"iss": "app"}).to_string().as_bytes());
        let none = format!("{}.{body}.", b64url(br#"{"alg":"none"}"#));
        assert!(why(unpacked(&app, &none)).contains("not none"));
        let no_keys = client(AuthMethod::ClientSecretBasic);
        let left = unpacked(&no_keys, &object(&k, json!({})));
        assert!(left.unwrap().is_none(), "left to the ordinary checks");
    }
}
