//! Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3,
//! OIDC Core §9): a secret (Basic or in the form), a signed assertion (private_key_jwt, see
//! client_assertion.rs), or none for public clients; throttled per client and per IP like
//! passwords.

use std::time::Duration;

use super::client_assertion::{self, Assertion, JWT_BEARER};
use crate::core::Ctx;
use crate::core::error::{ErrorCode, OAuthError};
use crate::core::model::{AuthMethod, Client};
use crate::core::params::Params;
use crate::core::ports::{AssertionRepo, ClientKeys, ClientRepo, ThrottleRepo};
use crate::core::throttle::Attempts;
use crate::secret::{b64url_decode, matches_hash};

/// A refused client authentication. A wrong secret is answered only after `delay`, which
/// grows with each failure; the other refusals carry none.
#[derive(Debug)]
pub struct Refused {
    pub error: OAuthError,
    pub delay: Option<Duration>,
}

impl From<OAuthError> for Refused {
    fn from(error: OAuthError) -> Self {
        Self { error, delay: None }
    }
}

impl From<crate::core::error::StoreError> for Refused {
    fn from(error: crate::core::error::StoreError) -> Self {
        OAuthError::from(error).into()
    }
}

/// The client a request authenticates as, from its Authorization header or form body.
pub async fn authenticate<S, K>(
    cx: &Ctx<'_, S>,
    keys: &K,
    authorization: Option<&str>,
    params: &Params,
    ip: Option<&str>,
) -> Result<Client, Refused>
where
    S: ClientRepo + ThrottleRepo + AssertionRepo,
    K: ClientKeys,
{
    let presented = presented(authorization, params)?;
    let attempts = Attempts::client(cx.policy, &presented.client_id, ip);
    if let Some(seconds) = attempts.locked_for(cx.store, cx.now).await? {
        return Err(OAuthError::throttled(seconds).into());
    }
    let client = cx.store.find_client(&presented.client_id).await?;
    let checked = match (client, &presented.assertion) {
        (Some(client), Some(assertion)) if client.auth_method == AuthMethod::PrivateKeyJwt => {
            client_assertion::verify(cx, keys, &client, assertion)
                .await
                .map(|()| client)
        }
        (Some(client), Some(assertion)) if client.auth_method == AuthMethod::ClientSecretJwt => {
            client_assertion::verify_mac(cx, &client, assertion)
                .await
                .map(|()| client)
        }
        (client, _) => check(client, &presented),
    };
    match checked {
        Ok(client) => {
            if presented.method != AuthMethod::None {
                attempts.succeeded(cx.store).await?;
            }
            Ok(client)
        }
        // A failing store is not the client's failure.
        Err(error) if error.code != ErrorCode::InvalidClient => Err(error.into()),
        Err(error) => {
            let delay = attempts.failed(cx.store, cx.policy, cx.now).await?;
            Err(Refused {
                error,
                delay: Some(delay),
            })
        }
    }
}

/// The credentials a request presented, and how.
#[derive(Debug)]
struct Presented {
    pub client_id: String,
    pub secret: Option<String>,
    pub assertion: Option<Assertion>,
    pub method: AuthMethod,
}

/// Reads credentials from the Authorization header or the form body; using two methods at
/// once is an error.
fn presented(authorization: Option<&str>, params: &Params) -> Result<Presented, OAuthError> {
    let form_client_id = params.get("client_id");
    let form_secret = params.get("client_secret");
    let assertion_type = params.get("client_assertion_type");
    if assertion_type.is_some() || params.get("client_assertion").is_some() {
        if authorization.is_some() || form_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not a client assertion and a secret",
            ));
        }
        if assertion_type != Some(JWT_BEARER) {
            return Err(OAuthError::invalid_request(format!(
                "client_assertion_type must be {JWT_BEARER}"
            )));
        }
        let assertion = client_assertion::parse(params.required("client_assertion")?)?;
        if form_client_id.is_some_and(|id| id != assertion.client_id) {
            return Err(OAuthError::invalid_client(
                "client_id does not match the client assertion's iss",
            ));
        }
        return Ok(Presented {
            client_id: assertion.client_id.clone(),
            secret: None,
            assertion: Some(assertion),
            method: AuthMethod::PrivateKeyJwt,
        });
    }
    if let Some(header) = authorization {
        if form_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not both Basic and client_secret",
            ));
        }
        let (id, secret) = parse_basic(header)?;
        if form_client_id.is_some_and(|form_id| form_id != id) {
            return Err(OAuthError::invalid_request(
                "client_id does not match the Authorization header",
            ));
        }
        return Ok(Presented {
            client_id: id,
            secret: Some(secret),
            assertion: None,
            method: AuthMethod::ClientSecretBasic,
        });
    }
    let Some(client_id) = form_client_id else {
        return Err(OAuthError::invalid_client(
            "client authentication is required",
        ));
    };
    Ok(Presented {
        client_id: client_id.to_owned(),
        secret: form_secret.map(str::to_owned),
        assertion: None,
        method: if form_secret.is_some() {
            AuthMethod::ClientSecretPost
        } else {
            AuthMethod::None
        },
    })
}

/// RFC 6749 §2.3.1: Basic with the form-urlencoded id and secret.
fn parse_basic(header: &str) -> Result<(String, String), OAuthError> {
    let bad = || OAuthError::invalid_client("malformed Basic authorization header");
    let (scheme, encoded) = header.trim().split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client(
            "only Basic authorization is accepted here",
        ));
    }
    let decoded = standard_b64_decode(encoded.trim()).ok_or_else(bad)?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let (id, secret) = (decode(id), decode(secret));
    if id.is_empty() || id.contains('\0') || secret.contains('\0') {
        return Err(bad());
    }
    Ok((id, secret))
}

fn standard_b64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()
        .or_else(|| b64url_decode(text.trim_end_matches('=')))
}

/// Accepts the client only if it used its registered method and, for confidential clients, the
/// right secret. The same error for every failure, so it tells an attacker nothing.
fn check(client: Option<Client>, presented: &Presented) -> Result<Client, OAuthError> {
    let fail = || OAuthError::invalid_client("client authentication failed");
    let client = client.ok_or_else(fail)?;
    if client.auth_method != presented.method {
        return Err(fail());
    }
    match (&client.secret_hash, &presented.secret, client.auth_method) {
        (_, None, AuthMethod::None) => Ok(client),
        (Some(hash), Some(secret), _) if matches_hash(secret, hash) => Ok(client),
        _ => Err(fail()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::error::ErrorCode;
    use crate::core::testing::{MemoryStore, block_on, client, context, form, policy};
    use crate::secret::hash;

    fn with_secret(method: AuthMethod) -> Client {
        Client {
            secret_hash: (method != AuthMethod::None).then(|| hash("s3cret")),
            ..client(method)
        }
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        // "my%20app:s%3Acret" → id "my app", secret "s:cret"
        let p = presented(Some("Basic bXklMjBhcHA6cyUzQWNyZXQ="), &form(&[])).unwrap();
        assert_eq!(
            (p.client_id.as_str(), p.secret.as_deref()),
            ("my app", Some("s:cret"))
        );
        assert!(presented(Some("Bearer x"), &form(&[])).is_err());
        assert!(presented(Some("Basic !!!"), &form(&[])).is_err());
        assert!(
            presented(Some("Basic YXBwOnM="), &form(&[("client_secret", "s")])).is_err(),
            "two methods"
        );
    }

    #[test]
    fn only_the_registered_method_with_the_right_secret_passes() {
        let basic = presented(Some("Basic YXBwOnMzY3JldA=="), &form(&[])).unwrap(); // app:s3cret
        assert!(check(Some(with_secret(AuthMethod::ClientSecretBasic)), &basic).is_ok());
        assert!(check(Some(with_secret(AuthMethod::ClientSecretPost)), &basic).is_err());
        let wrong = presented(
            None,
            &form(&[("client_id", "app"), ("client_secret", "nope")]),
        )
        .unwrap();
        let err = check(Some(with_secret(AuthMethod::ClientSecretPost)), &wrong).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidClient);
        let public = presented(None, &form(&[("client_id", "app")])).unwrap();
        assert!(check(Some(with_secret(AuthMethod::None)), &public).is_ok());
        assert!(check(Some(with_secret(AuthMethod::ClientSecretPost)), &public).is_err());
        assert!(check(None, &public).is_err());
    }

    #[test]
    fn wrong_secrets_are_slowed_then_locked_out() {
        let store = MemoryStore::default();
        store.put_client(with_secret(AuthMethod::ClientSecretPost));
        let policy = policy();
        let form = |secret: &str| {
            Params::parse(vec![
                ("client_id".into(), "app".into()),
                ("client_secret".into(), secret.into()),
            ])
            .unwrap()
        };
        let cx = context(&store, &policy, 1_000);
        for _ in 0..policy.throttle.max_failures {
            let refused = block_on(authenticate(
                &cx,
                &store,
                None,
                &form("guess"),
                Some("192.0.2.9"),
            ))
            .unwrap_err();
            assert!(refused.delay.is_some(), "a wrong secret is answered late");
        }
        let locked = block_on(authenticate(
            &cx,
            &store,
            None,
            &form("s3cret"),
            Some("192.0.2.9"),
        ))
        .unwrap_err();
        assert_eq!(locked.error.retry_after, Some(policy.throttle.lockout));
        assert!(locked.delay.is_none());
        let later = context(&store, &policy, 1_000 + policy.throttle.lockout);
        assert!(block_on(authenticate(&later, &store, None, &form("s3cret"), None)).is_ok());
    }
}
