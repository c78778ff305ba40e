//! Token introspection (RFC 7662): whether a token is active now, with its claims when it is.
//! Only clients that can authenticate with a secret (resource servers, confidential apps) may
//! ask. A token is inactive once expired or revoked, and once its grant, session or user falls.

use serde_json::{Value, json};

use super::Ctx;
use super::access;
use super::error::OAuthError;
use super::grants::live_grant;
use super::model::Client;
use super::params::Params;
use super::ports::{GrantRepo, RefreshTokenRepo, RevocationList, SessionRepo, UserRepo};
use crate::secret::hash;

pub async fn introspect<S>(
    cx: &Ctx<'_, S>,
    client: &Client,
    params: &Params,
) -> Result<Value, OAuthError>
where
    S: RevocationList + RefreshTokenRepo + GrantRepo + SessionRepo + UserRepo,
{
    if client.is_public() {
        return Err(OAuthError::invalid_client(
            "public clients cannot introspect tokens",
        ));
    }
    let token = params.required("token")?;
    let now = cx.now;
    let inactive = json!({"active": false});

    if access::signed_claims(cx, token).is_some() {
        let active = match access::check(cx, token).await {
            Ok(active) => active,
            Err(crate::core::error::BearerError::Unavailable) => {
                return Err(OAuthError::unavailable());
            }
            Err(_) => return Ok(inactive),
        };
        let claims = active.claims;
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

    let Some(row) = cx.store.find_refresh_token(&hash(token)).await? else {
        return Ok(inactive);
    };
    if row.rotated_at.is_some() || row.expires_at <= now {
        return Ok(inactive);
    }
    let Some(live) = live_grant(cx.store, &row.grant_id, now).await? else {
        return Ok(inactive);
    };
    Ok(json!({
        "active": true,
        "token_type": "refresh_token",
        "scope": live.grant.scope.to_string(),
        "client_id": live.grant.client_id,
        "username": live.user.as_ref().map(|u| u.username.clone()),
        "sub": live.user.map(|u| u.id),
        "iss": cx.policy.issuer,
        "exp": row.expires_at,
        "iat": row.created_at,
        "sid": live.grant.session_id,
    }))
}
