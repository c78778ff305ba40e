//! Minting the tokens of a grant: the RFC 9068 access token, the OIDC id_token and, where the
//! client may have one, an opaque refresh token.

use serde::Serialize;

use super::client::{Client, GrantType};
use crate::error::OAuthError;
use crate::keys::{Alg, Keyring, SigningKey};
use crate::secret::{random_id, random_token};
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

/// A signed-in user behind a grant.
pub struct Person<'a> {
    pub user: &'a User,
    pub session: &'a Session,
}

/// What the tokens are about.
pub struct Subject<'a> {
    pub grant: &'a Grant,
    /// None for client_credentials: the client acts for itself.
    pub person: Option<Person<'a>>,
    pub nonce: Option<&'a str>,
    /// The access token's scope: the grant's, or narrower on refresh.
    pub scope: &'a str,
    pub refresh_token: Option<String>,
}

pub async fn issue(
    state: &AppState,
    client: &Client,
    subject: Subject<'_>,
) -> Result<TokenResponse, OAuthError> {
    let now = state.now();
    let config = &state.config;
    let keys = state.keys.snapshot().ok_or_else(OAuthError::unavailable)?;
    let scopes: Vec<&str> = subject.scope.split(' ').collect();
    let access_ttl = client.access_token_ttl.unwrap_or(config.access_token_ttl);

    let jti = random_id();
    let at_key = signing_key(&keys, config.access_token_alg)?;
    let at_claims = AccessTokenClaims {
        iss: config.issuer.clone(),
        sub: subject
            .person
            .as_ref()
            .map_or_else(|| client.id.clone(), |p| p.user.id.clone()),
        aud: client
            .audience
            .clone()
            .unwrap_or_else(|| config.issuer.clone()),
        exp: now + access_ttl,
        iat: now,
        jti: jti.clone(),
        client_id: client.id.clone(),
        scope: subject.scope.to_owned(),
        auth_time: subject.grant.auth_time,
        sid: subject.person.as_ref().map(|p| p.session.id.clone()),
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

    let id_token = match &subject.person {
        Some(person) if scopes.contains(&"openid") => {
            let key = signing_key(&keys, client.id_token_alg)?;
            let claims = IdTokenClaims {
                iss: config.issuer.clone(),
                sub: person.user.id.clone(),
                aud: client.id.clone(),
                azp: client.id.clone(),
                exp: now + client.id_token_ttl.unwrap_or(config.id_token_ttl),
                iat: now,
                auth_time: person.session.auth_time,
                nonce: subject.nonce.map(str::to_owned),
                sid: person.session.id.clone(),
                amr: person.session.amr.split(' ').map(str::to_owned).collect(),
                at_hash: Some(tokens::at_hash(&access_token)),
                user: UserClaims::for_scopes(person.user, &scopes),
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
        }
        _ => None,
    };

    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: access_ttl,
        scope: subject.scope.to_owned(),
        id_token,
        refresh_token: subject.refresh_token,
    })
}

/// A first refresh token for a new grant, when the client may have one: it is registered for
/// the refresh_token grant and either asked for offline_access or can keep a secret.
pub async fn first_refresh_token(
    state: &AppState,
    client: &Client,
    grant: &Grant,
) -> Result<Option<String>, OAuthError> {
    let wants = grant.scope.split(' ').any(|s| s == "offline_access") || !client.is_public();
    if !client.allows_grant(GrantType::RefreshToken) || !wants {
        return Ok(None);
    }
    let now = state.now();
    let token = random_token();
    let expires_at = refresh_expiry(state, client, grant, now);
    state
        .store
        .insert_refresh_token(&token, &grant.id, now, expires_at)
        .await?;
    Ok(Some(token))
}

/// Sliding expiry, capped by the grant's absolute end.
pub fn refresh_expiry(state: &AppState, client: &Client, grant: &Grant, now: i64) -> i64 {
    let sliding = now
        + client
            .refresh_token_ttl
            .unwrap_or(state.config.refresh_token_ttl);
    grant.expires_at.map_or(sliding, |end| sliding.min(end))
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
