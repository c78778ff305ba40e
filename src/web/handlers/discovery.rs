//! OpenID Provider metadata (OIDC Discovery 1.0 §3) and RFC 8414 metadata. Lists only what
//! Tessera really does.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use bytes::Bytes;

use crate::core::Policy;
use crate::core::{dpop, mfa, scope};
use crate::keys::{Alg, Keyring};
use crate::web::state::AppState;

pub async fn openid_configuration(state: web::Data<AppState>) -> HttpResponse {
    respond(&state)
}

pub async fn oauth_metadata(state: web::Data<AppState>) -> HttpResponse {
    respond(&state)
}

/// Rendered once per keyring, then served as bytes.
fn respond(state: &AppState) -> HttpResponse {
    let keys = state.keys.snapshot();
    let body = state.discovery.get(&keys, || {
        Bytes::from(metadata(&state.policy, &keys).to_string())
    });
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(body)
}

fn metadata(config: &Policy, keys: &Keyring) -> Value {
    let algs: Vec<&str> = keys
        .signing_algs()
        .into_iter()
        .map(|a| a.as_str())
        .collect();
    // Request objects and private_key_jwt assertions use every key-pair algorithm, never none
    // or HMAC; client_secret_jwt assertions are MACs with the client's secret.
    let assertion_algs = Alg::ALL.map(Alg::as_str);
    let auth_algs: Vec<&str> = assertion_algs
        .into_iter()
        .chain(["HS256", "HS384", "HS512"])
        .collect();
    json!({
        "issuer": config.issuer,
        "authorization_endpoint": config.url("/authorize"),
        "token_endpoint": config.url("/token"),
        "userinfo_endpoint": config.url("/userinfo"),
        "revocation_endpoint": config.url("/revoke"),
        "end_session_endpoint": config.url("/logout"),
        "introspection_endpoint": config.url("/introspect"),
        "pushed_authorization_request_endpoint": config.url("/par"),
        "require_pushed_authorization_requests": config.require_par,
        "jwks_uri": config.url("/.well-known/jwks.json"),
        "scopes_supported": scope::SUPPORTED,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": auth_algs,
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none"],
        "revocation_endpoint_auth_signing_alg_values_supported": auth_algs,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt"],
        "introspection_endpoint_auth_signing_alg_values_supported": auth_algs,
        "code_challenge_methods_supported": ["S256"],
        "dpop_signing_alg_values_supported": dpop::ALGS,
        "prompt_values_supported": ["none", "login", "consent"],
        "acr_values_supported": mfa::ACR_VALUES,
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "sid", "amr", "acr", "azp", "at_hash",
            "name", "preferred_username", "updated_at", "email", "email_verified"
        ],
        "claims_parameter_supported": false,
        "request_parameter_supported": true,
        "request_object_signing_alg_values_supported": assertion_algs,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
    })
}
