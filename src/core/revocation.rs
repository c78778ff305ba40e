//! Token revocation (RFC 7009): a refresh token ends its whole grant, an access token goes on
//! the revocation list by jti. Unknown tokens, and tokens of other clients, are answered the
//! same way: success, nothing revealed.

use super::Ctx;
use super::error::OAuthError;
use super::model::Client;
use super::params::Params;
use super::ports::{GrantRepo, RefreshTokenRepo, TokenRegister};
use crate::secret::hash;
use crate::tokens::{self, AccessTokenClaims};

pub async fn revoke<S>(cx: &Ctx<'_, S>, client: &Client, params: &Params) -> Result<(), OAuthError>
where
    S: RefreshTokenRepo + GrantRepo + TokenRegister,
{
    let token = params.required("token")?;
    if let Some(row) = cx.store.find_refresh_token(&hash(token)).await? {
        if let Some(grant) = cx.store.find_grant(&row.grant_id).await?
            && grant.client_id == client.id
        {
            cx.store.revoke_grant(&grant.id, cx.now).await?;
            tracing::info!(client_id = %client.id, grant = %grant.id, "refresh token revoked with its grant");
        }
        return Ok(());
    }
    if let Some(claims) = access_token_claims(cx, token)
        && claims.client_id == client.id
    {
        cx.store.revoke_token(&claims.jti, cx.now).await?;
        tracing::info!(client_id = %client.id, jti = %claims.jti, "access token revoked");
    }
    Ok(())
}

/// The claims of an access token this issuer signed (expired or not).
pub(crate) fn access_token_claims<S>(cx: &Ctx<'_, S>, token: &str) -> Option<AccessTokenClaims> {
    let claims: AccessTokenClaims = tokens::verify(&cx.keys, token, "at+jwt")?;
    (claims.iss == cx.policy.issuer).then_some(claims)
}
