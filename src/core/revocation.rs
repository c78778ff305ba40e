//! Token revocation (RFC 7009): a refresh token ends its whole grant, an access token goes on
//! the revocation list by jti. Unknown tokens, and tokens of other clients, are answered the
//! same way: success, nothing revealed.

use super::Ctx;
use super::access;
use super::error::OAuthError;
use super::grants;
use super::model::{Client, Revoked};
use super::params::Params;
use super::ports::{ClientRepo, GrantRepo, RefreshTokenRepo, RevocationList};
use crate::secret::hash;

pub async fn revoke<S>(cx: &Ctx<'_, S>, client: &Client, params: &Params) -> Result<(), OAuthError>
where
    S: RefreshTokenRepo + GrantRepo + RevocationList + ClientRepo,
{
    let token = params.required("token")?;
    // An access token is a JWT this issuer signed (checked in memory); anything else may be a
    // refresh token, which only the database knows.
    if let Some(claims) = access::signed_claims(cx, token) {
        if claims.client_id == client.id && claims.exp > cx.now {
            let revoked = Revoked::Token(claims.jti.clone());
            // Revoking twice records nothing new: a repeated request costs no write.
            let already = cx
                .store
                .any_revoked(std::slice::from_ref(&revoked), cx.now)
                .await?;
            if !already {
                cx.store.revoke(&revoked, claims.exp, cx.now).await?;
                tracing::info!(client_id = %client.id, jti = %claims.jti, "access token revoked");
            }
        }
        return Ok(());
    }
    if let Some(row) = cx.store.find_refresh_token(&hash(token)).await?
        && let Some(grant) = cx.store.find_grant(&row.grant_id).await?
        && grant.client_id == client.id
    {
        grants::revoke(cx, &grant.id).await?;
        tracing::info!(client_id = %client.id, grant = %grant.id, "refresh token revoked with its grant");
    }
    Ok(())
}
