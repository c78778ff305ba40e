//! The UserInfo endpoint (OIDC Core §5.3), and the claims about a user that granted scopes
//! release (OIDC Core §5.4).

use serde_json::Value;

use super::Ctx;
use super::access::{self, Presented};
use super::error::BearerError;
use super::model::User;
use super::ports::{AssertionRepo, RevocationList, UserRepo};
use super::scope::Scope;
use crate::tokens::UserClaims;

/// The claims of the token's user that its scope releases, with `sub`.
pub async fn userinfo<S: RevocationList + UserRepo + AssertionRepo>(
    cx: &Ctx<'_, S>,
    token: &Presented<'_>,
) -> Result<Value, BearerError> {
    let active = access::check_presented(cx, token).await?;
    let scope = Scope::parse(&active.claims.scope).unwrap_or_default();
    if !scope.contains("openid") {
        return Err(BearerError::InsufficientScope(
            "the access token was not granted the openid scope",
        ));
    }
    let user = active.user.ok_or(BearerError::InvalidToken(
        "the access token does not belong to a user",
    ))?;
    let mut body = serde_json::to_value(user_claims(&user, &scope)).unwrap_or_default();
    if let Value::Object(map) = &mut body {
        map.insert("sub".into(), user.id.clone().into());
    }
    Ok(body)
}

/// profile: name, preferred_username, updated_at; email: email, email_verified.
pub fn user_claims(user: &User, scope: &Scope) -> UserClaims {
    let mut claims = UserClaims::default();
    if scope.contains("profile") {
        claims.name = user.name.clone();
        claims.preferred_username = Some(user.username.clone());
        claims.updated_at = Some(user.password_changed_at.max(user.created_at));
    }
    if scope.contains("email") && user.email.is_some() {
        claims.email = user.email.clone();
        // Operators enter addresses; Tessera has not proven the user controls them.
        claims.email_verified = Some(false);
    }
    claims
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::user;

    #[test]
    fn scopes_release_their_claims_only() {
        let alice = user("alice");
        let none = user_claims(&alice, &Scope::parse("openid").unwrap());
        assert_eq!(none, UserClaims::default());
        let all = user_claims(&alice, &Scope::parse("openid profile email").unwrap());
        assert_eq!(all.preferred_username.as_deref(), Some("alice"));
        assert_eq!(all.email.as_deref(), Some("alice@example.com"));
        assert_eq!(all.email_verified, Some(false));
    }
}
