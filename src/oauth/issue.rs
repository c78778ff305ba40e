//! Minting the tokens of a grant: the RFC 9068 access token and the OIDC id_token.

use serde::Serialize;

use super::client::Client;
use crate::error::OAuthError;
use crate::keys::{Alg, Keyring, SigningKey};
use crate::secret::random_id;
use crate::state::AppState;
use crate::store::{Grant, Session, TokenRecord, User};
use crate::tokens::{self, AccessTokenClaims, IdTokenClaims, UserClaims};

/// RFC 6749 §5.1.
#[derive(Serialize, Debug)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// What the tokens are about.
pub struct Subject<'a> {
    pub grant: &'a Grant,
    pub user: &'a User,
    pub session: &'a Session,
    pub nonce: Option<&'a str>,
}

pub async fn issue(
    state: &AppState,
    client: &Client,
    subject: Subject<'_>,
) -> Result<TokenResponse, OAuthError> {
    let now = state.now();
    let config = &state.config;
    let keys = state.keys.snapshot().ok_or_else(OAuthError::unavailable)?;
    let scope = subject.grant.scope.clone();
    let scopes: Vec<&str> = scope.split(' ').collect();

    let jti = random_id();
    let at_key = signing_key(&keys, config.access_token_alg)?;
    let at_claims = AccessTokenClaims {
        iss: config.issuer.clone(),
        sub: subject.user.id.clone(),
        aud: config.issuer.clone(),
        exp: now + config.access_token_ttl,
        iat: now,
        jti: jti.clone(),
        client_id: client.id.clone(),
        scope: scope.clone(),
        auth_time: subject.grant.auth_time,
        sid: Some(subject.session.id.clone()),
    };
    let access_token = sign(at_key, "at+jwt", &at_claims)?;
    record(
        state,
        &jti,
        &subject.grant.id,
        "access_token",
        &at_key.kid,
        at_claims.exp,
    )
    .await?;

    let id_token = if scopes.contains(&"openid") {
        let key = signing_key(&keys, client.id_token_alg)?;
        let claims = IdTokenClaims {
            iss: config.issuer.clone(),
            sub: subject.user.id.clone(),
            aud: client.id.clone(),
            azp: client.id.clone(),
            exp: now + config.id_token_ttl,
            iat: now,
            auth_time: subject.session.auth_time,
            nonce: subject.nonce.map(str::to_owned),
            sid: subject.session.id.clone(),
            amr: subject.session.amr.split(' ').map(str::to_owned).collect(),
            at_hash: Some(tokens::at_hash(&access_token)),
            user: UserClaims::for_scopes(subject.user, &scopes),
        };
        let token = sign(key, "JWT", &claims)?;
        record(
            state,
            &random_id(),
            &subject.grant.id,
            "id_token",
            &key.kid,
            claims.exp,
        )
        .await?;
        Some(token)
    } else {
        None
    };

    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: config.access_token_ttl,
        scope,
        id_token,
        refresh_token: None,
    })
}

fn signing_key(keys: &Keyring, alg: Alg) -> Result<&SigningKey, OAuthError> {
    keys.current(alg).ok_or_else(|| {
        tracing::error!(%alg, "no current signing key");
        OAuthError::unavailable()
    })
}

fn sign<T: Serialize>(key: &SigningKey, typ: &str, claims: &T) -> Result<String, OAuthError> {
    tokens::sign(key, typ, claims).map_err(|e| {
        tracing::error!(error = %e, "token signing failed");
        OAuthError::server_error()
    })
}

async fn record(
    state: &AppState,
    jti: &str,
    grant_id: &str,
    kind: &str,
    kid: &str,
    expires_at: i64,
) -> Result<(), OAuthError> {
    let record = TokenRecord {
        jti,
        grant_id,
        kind,
        kid,
        expires_at,
    };
    Ok(state.store.record_token(record).await?)
}
