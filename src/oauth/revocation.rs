//! Token revocation (RFC 7009) and introspection (RFC 7662).

use serde_json::{Value, json};

use super::authorize::Params;
use super::client::Client;
use super::token::authenticated_client;
use crate::error::OAuthError;
use crate::state::AppState;
use crate::tokens::{self, AccessTokenClaims};

fn token_param(params: &Params) -> Result<&str, OAuthError> {
    params
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))
}

/// Revokes a refresh token (with its whole grant) or an access token (its jti). Unknown tokens,
/// and tokens of other clients, are answered the same way: 200, nothing revealed.
pub async fn revoke(
    state: &AppState,
    authorization: Option<&str>,
    params: Params,
    ip: Option<&str>,
) -> Result<(), OAuthError> {
    let client = authenticated_client(state, authorization, &params, ip).await?;
    let token = token_param(&params)?;
    let now = state.now();
    let store = &state.store;
    if let Some(row) = store.find_refresh_token(token).await? {
        if let Some(grant) = store.find_grant(&row.grant_id).await?
            && grant.client_id == client.id
        {
            store.revoke_grant(&grant.id, now).await?;
            tracing::info!(client_id = %client.id, grant = %grant.id, "refresh token revoked with its grant");
        }
        return Ok(());
    }
    if let Some(claims) = access_token_claims(state, token)
        && claims.client_id == client.id
    {
        store.revoke_jti(&claims.jti, now).await?;
        tracing::info!(client_id = %client.id, jti = %claims.jti, "access token revoked");
    }
    Ok(())
}

fn access_token_claims(state: &AppState, token: &str) -> Option<AccessTokenClaims> {
    let keys = state.keys.snapshot()?;
    let claims: AccessTokenClaims = tokens::verify(&keys, token, "at+jwt")?;
    (claims.iss == state.config.issuer).then_some(claims)
}

/// Whether a token is active now, with its claims when it is. Only clients that can
/// authenticate with a secret (resource servers, confidential apps) may ask.
pub async fn introspect(
    state: &AppState,
    authorization: Option<&str>,
    params: Params,
    ip: Option<&str>,
) -> Result<Value, OAuthError> {
    let client: Client = authenticated_client(state, authorization, &params, ip).await?;
    if client.is_public() {
        return Err(OAuthError::invalid_client(
            "public clients cannot introspect tokens",
        ));
    }
    let token = token_param(&params)?;
    let now = state.now();
    let store = &state.store;
    let inactive = json!({"active": false});

    if let Some(claims) = access_token_claims(state, token) {
        if claims.exp <= now {
            return Ok(inactive);
        }
        let Some(active) = store.active_token(&claims.jti, now).await? else {
            return Ok(inactive);
        };
        return Ok(json!({
            "active": true,
            "token_type": "Bearer",
            "scope": claims.scope,
            "client_id": claims.client_id,
            "username": active.user.map(|u| u.username),
            "sub": claims.sub,
            "aud": claims.aud,
            "iss": claims.iss,
            "exp": claims.exp,
            "iat": claims.iat,
            "jti": claims.jti,
            "sid": claims.sid,
        }));
    }

    let Some(row) = store.find_refresh_token(token).await? else {
        return Ok(inactive);
    };
    if row.rotated_at.is_some() || row.expires_at <= now {
        return Ok(inactive);
    }
    let Some((grant, user)) = store.live_grant(&row.grant_id, now).await? else {
        return Ok(inactive);
    };
    Ok(json!({
        "active": true,
        "token_type": "refresh_token",
        "scope": grant.scope,
        "client_id": grant.client_id,
        "username": user.as_ref().map(|u| u.username.clone()),
        "sub": user.map(|u| u.id),
        "iss": state.config.issuer,
        "exp": row.expires_at,
        "iat": row.created_at,
        "sid": grant.session_id,
    }))
}
