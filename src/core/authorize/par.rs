//! Pushed authorization requests (RFC 9126). A client authenticates as at the token endpoint
//! and POSTs its authorization request to /par; Tessera checks it at once (an error is a JSON
//! answer to the client, not a page in the user's browser), keeps it, and hands back a
//! `request_uri` that the browser then takes to /authorize with the `client_id` alone. The
//! request never travels through the browser, so nobody can read or alter it there. A
//! `request_uri` works once and for `par_ttl` seconds (60). A DPoP proof sent to /par binds
//! the code to that key (RFC 9449 §10.1), as `dpop_jkt` does.

use serde::Serialize;

use super::{request, request_object};
use crate::core::Ctx;
use crate::core::dpop::{self, Proof};
use crate::core::error::{ErrorCode, OAuthError};
use crate::core::model::{Client, PushedRequest};
use crate::core::params::Params;
use crate::core::ports::{AssertionRepo, ClientKeys, PushedRequestRepo};
use crate::secret::{hash, random_token};

/// What every request_uri Tessera hands out starts with (RFC 9126 §2.2).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// The client's credentials: they authenticate the push and are never kept.
const CREDENTIALS: [&str; 3] = ["client_secret", "client_assertion", "client_assertion_type"];

/// RFC 9126 §2.2.
#[derive(Debug, Serialize)]
pub struct Pushed {
    pub request_uri: String,
    pub expires_in: i64,
}

/// POST /par by an authenticated client.
pub async fn push<S: PushedRequestRepo + AssertionRepo, K: ClientKeys>(
    cx: &Ctx<'_, S>,
    keys: &K,
    client: &Client,
    params: &Params,
    proof: Option<&Proof<'_>>,
) -> Result<Pushed, OAuthError> {
    // A signed request object is the request: its parameters, and no others (RFC 9126 §3).
    let signed = request_object::unpack(cx, keys, client, params).await?;
    let params = signed.as_ref().unwrap_or(params);
    if params.get("request_uri").is_some() {
        return Err(OAuthError::invalid_request(
            "a pushed request cannot itself carry a request_uri",
        ));
    }
    if params.get("client_id").is_some_and(|id| id != client.id) {
        return Err(OAuthError::invalid_request(
            "client_id must be the client that authenticated",
        ));
    }
    let redirect_uri = request::verified_redirect_uri(client, params)?;
    request::validate(client, params, redirect_uri).map_err(|refused| refused.error)?;
    let mut kept = params.without(&CREDENTIALS).with("client_id", &client.id);
    if let Some(proof) = proof {
        let jkt = dpop::verify(cx, proof, None).await?;
        match params.get("dpop_jkt") {
            Some(named) if named != jkt => {
                return Err(OAuthError::new(
                    ErrorCode::InvalidDpopProof,
                    "dpop_jkt names another key than the DPoP proof's",
                ));
            }
            _ => kept = kept.with("dpop_jkt", &jkt),
        }
    }
    let token = random_token();
    cx.store
        .insert_pushed(&PushedRequest {
            id_hash: hash(&token),
            client_id: client.id.clone(),
            params: kept.to_urlencoded(),
            expires_at: cx.now + cx.policy.par_ttl,
        })
        .await?;
    Ok(Pushed {
        request_uri: format!("{REQUEST_URI_PREFIX}{token}"),
        expires_in: cx.policy.par_ttl,
    })
}

/// The parameters of the pushed request an /authorize request names by `request_uri` (used up
/// by this call), or None when it names none. Every other parameter but `client_id` is
/// ignored: the pushed ones are the request (RFC 9126 §4).
pub async fn resolve<S: PushedRequestRepo>(
    cx: &Ctx<'_, S>,
    params: &Params,
) -> Result<Option<Params>, OAuthError> {
    // A request_uri that is not /par's (a URL, OIDC Core §6.2) is left to the ordinary
    // checks, which answer request_uri_not_supported to the client.
    let Some(uri) = params
        .get("request_uri")
        .filter(|uri| uri.starts_with(REQUEST_URI_PREFIX))
    else {
        return Ok(None);
    };
    let unusable = || {
        OAuthError::new(
            ErrorCode::InvalidRequestUri,
            "the request_uri is unknown, expired or already used; the application must push its request again",
        )
    };
    let token = &uri[REQUEST_URI_PREFIX.len()..];
    let pushed = cx
        .store
        .take_pushed(&hash(token), cx.now)
        .await?
        .ok_or_else(unusable)?;
    if params.get("client_id") != Some(pushed.client_id.as_str()) {
        return Err(OAuthError::invalid_request(
            "client_id must be that of the client that pushed the request",
        ));
    }
    Params::from_urlencoded(pushed.params.as_bytes()).map(Some)
}

/// Why `client` may not send an authorization request that was not pushed, if it may not:
/// everyone must push, it was registered to, or its profile says so.
pub fn required<S>(cx: &Ctx<'_, S>, client: &Client) -> Option<&'static str> {
    if client.is_fapi2() {
        Some(
            "the FAPI 2.0 profile requires pushed authorization requests: push the request to the PAR endpoint first (RFC 9126)",
        )
    } else if cx.policy.require_par || client.must_push() {
        Some(
            "this application must push its authorization request to the PAR endpoint first (RFC 9126)",
        )
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::AuthMethod;
    use crate::core::testing::{MemoryStore, block_on, client, context, form, policy};

    /// A push of `request()` by `app` at `now`.
    fn push_at(store: &MemoryStore, app: &Client, now: i64) -> Pushed {
        let policy = policy();
        let cx = context(store, &policy, now);
        block_on(push(&cx, store, app, &request(), None)).unwrap()
    }

    fn request() -> Params {
        form(&[
            ("response_type", "code"),
            ("redirect_uri", "https://app.example/cb"),
            ("scope", "openid"),
            ("state", "s"),
            ("client_secret", "never kept"),
        ])
    }

    /// Params are never printed (they may hold secrets), so no unwrap_err.
    fn refused(result: Result<Option<Params>, OAuthError>) -> ErrorCode {
        result.err().expect("refused").code
    }

    fn at(uri: &str) -> Params {
        form(&[("client_id", "app"), ("request_uri", uri)])
    }

    #[test]
    fn a_pushed_request_is_used_once_within_its_lifetime() {
        let (store, policy) = (MemoryStore::default(), policy());
        let app = client(AuthMethod::ClientSecretBasic);
        let pushed = push_at(&store, &app, 1_000);
        assert_eq!(pushed.expires_in, 60);
        assert!(pushed.request_uri.starts_with(REQUEST_URI_PREFIX));
        let cx = context(&store, &policy, 1_059);
        let params = block_on(resolve(&cx, &at(&pushed.request_uri)))
            .unwrap()
            .unwrap();
        assert_eq!(params.get("state"), Some("s"));
        assert_eq!(params.get("client_id"), Some("app"));
        assert_eq!(
            params.get("client_secret"),
            None,
            "credentials are not kept"
        );
        let again = block_on(resolve(&cx, &at(&pushed.request_uri)));
        assert_eq!(refused(again), ErrorCode::InvalidRequestUri);

        let late = push_at(&store, &app, 1_000);
        let expired = block_on(resolve(
            &context(&store, &policy, 1_060),
            &at(&late.request_uri),
        ));
        assert_eq!(refused(expired), ErrorCode::InvalidRequestUri);
        let none = block_on(resolve(&cx, &form(&[("client_id", "app")]))).unwrap();
        assert!(none.is_none());
    }

    #[test]
    fn a_bad_request_is_refused_when_pushed_and_another_client_cannot_use_it() {
        let (store, policy) = (MemoryStore::default(), policy());
        let cx = context(&store, &policy, 1_000);
        let app = client(AuthMethod::ClientSecretBasic);
        let bad = form(&[
            ("response_type", "token"),
            ("redirect_uri", "https://app.example/cb"),
            ("scope", "openid"),
        ]);
        let err = block_on(push(&cx, &store, &app, &bad, None)).unwrap_err();
        assert_eq!(err.code, ErrorCode::UnsupportedResponseType);
        let elsewhere = form(&[
            ("response_type", "code"),
            ("redirect_uri", "https://evil.example/cb"),
            ("scope", "openid"),
        ]);
        assert!(block_on(push(&cx, &store, &app, &elsewhere, None)).is_err());
        let pushed = block_on(push(&cx, &store, &app, &request(), None)).unwrap();
        let theirs = form(&[("client_id", "other"), ("request_uri", &pushed.request_uri)]);
        let err = block_on(resolve(&cx, &theirs));
        assert_eq!(refused(err), ErrorCode::InvalidRequest);
    }
}
