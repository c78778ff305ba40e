//! Token introspection (RFC 7662): whether a token is active now, with its claims when it is.
//! Only clients that can authenticate with a secret (resource servers, confidential apps) may
//! ask. A token is inactive once expired or revoked, and once its grant, session or user falls.
//!
//! Who may learn about which token (RFC 7662 §4 leaves it to the server): a client sees the
//! tokens issued to it and the access tokens meant for it (its id is their `aud`, or their
//! `aud` is a resource it owns); every token only when an operator registered it with
//! `introspect_any`. Any other token is inactive, so
//! an answer never tells one client who another client's users are.

use serde_json::{Value, json};

use super::Ctx;
use super::access;
use super::error::OAuthError;
use super::grants::live_grant;
use super::model::Client;
use super::params::Params;
use super::ports::{
    GrantRepo, RefreshTokenRepo, ResourceRepo, RevocationList, SessionRepo, UserRepo,
};
use crate::secret::hash;

pub async fn introspect<S>(
    cx: &Ctx<'_, S>,
    client: &Client,
    params: &Params,
) -> Result<Value, OAuthError>
where
    S: RevocationList + RefreshTokenRepo + GrantRepo + SessionRepo + UserRepo + ResourceRepo,
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
        if !may_see(client, &claims.client_id, Some(&claims.aud))
            && !owns_resource(cx, client, &claims.aud).await?
        {
            return Ok(inactive);
        }
        // RFC 9449 §6.2: the resource server checks the proof against cnf.jkt.
        return Ok(present(json!({
            "active": true,
            "token_type": if claims.cnf.is_some() { "DPoP" } else { "Bearer" },
            "cnf": claims.cnf,
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
        })));
    }

    let Some(row) = cx.store.find_refresh_token(&hash(token)).await? else {
        return Ok(inactive);
    };
    if row.rotated_at_ms.is_some() || row.expires_at <= now {
        return Ok(inactive);
    }
    let Some(live) = live_grant(cx.store, &row.grant_id, now).await? else {
        return Ok(inactive);
    };
    if !may_see(client, &live.grant.client_id, None) {
        return Ok(inactive);
    }
    Ok(present(json!({
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
        "cnf": row.dpop_jkt.map(|jkt| json!({ "jkt": jkt })),
    })))
}

/// The answer without the members that have no value: a bearer token has no `cnf` at all
/// (a resource server tests for its presence), a client_credentials token no `username`.
fn present(mut answer: Value) -> Value {
    if let Value::Object(members) = &mut answer {
        members.retain(|_, v| !v.is_null());
    }
    answer
}

/// Whether `audience` is a registered resource (RFC 8707) whose owner is `client`.
async fn owns_resource<S: ResourceRepo>(
    cx: &Ctx<'_, S>,
    client: &Client,
    audience: &str,
) -> Result<bool, OAuthError> {
    let resource = cx.store.find_resource(audience).await?;
    Ok(resource.is_some_and(|r| r.owner_client_id.as_deref() == Some(client.id.as_str())))
}

/// Whether `client` may learn about a token issued to `issued_to` for `audience`.
fn may_see(client: &Client, issued_to: &str, audience: Option<&str>) -> bool {
    client.introspect_any || client.id == issued_to || audience == Some(client.id.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::AuthMethod;
    use crate::core::testing::client;

    fn named(id: &str, introspect_any: bool) -> Client {
        Client {
            id: id.into(),
            introspect_any,
            ..client(AuthMethod::ClientSecretBasic)
        }
    }

    #[test]
    fn a_client_sees_its_own_tokens_and_those_meant_for_it() {
        assert!(may_see(
            &named("app", false),
            "app",
            Some("https://id.example")
        ));
        assert!(may_see(&named("api", false), "app", Some("api")));
        assert!(!may_see(&named("other", false), "app", Some("api")));
        assert!(!may_see(&named("other", false), "app", None));
    }

    #[test]
    fn members_without_a_value_are_left_out() {
        let answer = present(json!({"active": true, "cnf": null, "sid": "s", "username": null}));
        assert_eq!(answer, json!({"active": true, "sid": "s"}));
    }

    #[test]
    fn only_an_explicit_grant_sees_everything() {
        assert!(may_see(&named("gateway", true), "app", Some("api")));
        assert!(may_see(&named("gateway", true), "app", None));
    }
}
