//! Bearer access tokens presented to Tessera itself: the UserInfo endpoint (OIDC Core §5.3)
//! and the admin API.

use serde_json::Value;

use crate::error::BearerError;
use crate::state::AppState;
use crate::store::ActiveToken;
use crate::tokens::{self, AccessTokenClaims, UserClaims};

/// A signature-valid, unexpired, unrevoked access token of this issuer.
pub async fn check_access_token(
    state: &AppState,
    token: &str,
) -> Result<(AccessTokenClaims, ActiveToken), BearerError> {
    let now = state.now();
    let keys = state.keys.snapshot().ok_or(BearerError::Unavailable)?;
    let claims: AccessTokenClaims = tokens::verify(&keys, token, "at+jwt").ok_or(
        BearerError::InvalidToken("the access token is malformed or its signature is invalid"),
    )?;
    if claims.iss != state.config.issuer {
        return Err(BearerError::InvalidToken(
            "the access token was issued by another provider",
        ));
    }
    if claims.exp <= now {
        return Err(BearerError::InvalidToken("the access token has expired"));
    }
    let active = state
        .store
        .active_token(&claims.jti, now)
        .await
        .map_err(BearerError::from)?
        .ok_or(BearerError::InvalidToken(
            "the access token has been revoked",
        ))?;
    Ok((claims, active))
}

pub async fn userinfo(state: &AppState, token: &str) -> Result<Value, BearerError> {
    let (claims, active) = check_access_token(state, token).await?;
    let scopes: Vec<&str> = claims.scope.split(' ').collect();
    if !scopes.contains(&"openid") {
        return Err(BearerError::InsufficientScope(
            "the access token was not granted the openid scope",
        ));
    }
    let user = active.user.ok_or(BearerError::InvalidToken(
        "the access token does not belong to a user",
    ))?;
    let mut body = serde_json::to_value(UserClaims::for_scopes(&user, &scopes)).unwrap_or_default();
    if let Value::Object(map) = &mut body {
        map.insert("sub".into(), user.id.clone().into());
    }
    Ok(body)
}
