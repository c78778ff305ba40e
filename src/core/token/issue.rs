//! Minting the tokens of a grant: the RFC 9068 access token, the OIDC id_token and, where the
//! client may have one, an opaque refresh token (stored only as a hash).

use serde::Serialize;

use crate::core::Ctx;
use crate::core::error::OAuthError;
use crate::core::model::{Client, Grant, GrantType, RefreshToken, Resource, Session, User};
use crate::core::scope::Scope;
use crate::core::userinfo::user_claims;
use crate::keys::{Alg, SigningKey};
use crate::secret::{hash, random_id, random_token};
use crate::tokens::{self, AccessTokenClaims, Confirmation, IdTokenClaims};

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
    /// The user's grant; None for client_credentials, which keeps no state at all.
    pub grant: Option<&'a Grant>,
    /// None for client_credentials: the client acts for itself.
    pub person: Option<Person<'a>>,
    pub nonce: Option<&'a str>,
    /// The access token's scope: the grant's, or narrower on refresh.
    pub scope: &'a Scope,
    pub refresh_token: Option<String>,
    /// The thumbprint of the DPoP key the access token is bound to, if the request proved one.
    pub jkt: Option<&'a str>,
    /// The API the access token is for (RFC 8707): its `aud`, algorithm and lifetime.
    pub resource: Option<&'a Resource>,
}

impl<'a> Subject<'a> {
    /// A client acting for itself (client_credentials): no grant, no user, no refresh token.
    pub fn client(scope: &'a Scope) -> Self {
        Self {
            grant: None,
            person: None,
            nonce: None,
            scope,
            refresh_token: None,
            jkt: None,
            resource: None,
        }
    }

    /// A signed-in user's grant, with no nonce and no refresh token until set.
    pub fn user(grant: &'a Grant, user: &'a User, session: &'a Session, scope: &'a Scope) -> Self {
        Self {
            grant: Some(grant),
            person: Some(Person { user, session }),
            nonce: None,
            scope,
            refresh_token: None,
            jkt: None,
            resource: None,
        }
    }
}

/// Signs the tokens; nothing is stored (a revocation is what gets recorded, if one comes).
pub fn issue<S>(
    cx: &Ctx<'_, S>,
    client: &Client,
    subject: Subject<'_>,
) -> Result<TokenResponse, OAuthError> {
    let now = cx.now;
    let policy = cx.policy;
    let grant = subject.grant;
    // No access token outlives its grant.
    let resource = subject.resource;
    // The resource's settings first, then the client's, then the global ones.
    let ttl = resource
        .and_then(|r| r.access_token_ttl)
        .or(client.access_token_ttl)
        .unwrap_or(policy.access_token_ttl);
    let alg = resource
        .and_then(|r| r.access_token_alg)
        .or(client.access_token_alg)
        .unwrap_or(policy.access_token_alg);
    let access_exp = (now + ttl).min(grant.and_then(|g| g.expires_at).unwrap_or(i64::MAX));
    let at_key = signing_key(cx, alg)?;
    let at_claims = AccessTokenClaims {
        iss: policy.issuer.clone(),
        sub: subject
            .person
            .as_ref()
            .map_or_else(|| client.id.clone(), |p| p.user.id.clone()),
        aud: resource
            .map(|r| r.id.clone())
            .or_else(|| client.audience.clone())
            .unwrap_or_else(|| policy.issuer.clone()),
        exp: access_exp,
        iat: now,
        jti: random_id(),
        client_id: client.id.clone(),
        scope: subject.scope.to_string(),
        auth_time: grant.and_then(|g| g.auth_time),
        sid: subject.person.as_ref().map(|p| p.session.id.clone()),
        gid: grant.map(|g| g.id.clone()),
        cnf: subject.jkt.map(|jkt| Confirmation {
            jkt: jkt.to_owned(),
        }),
    };
    let access_token = sign(at_key, "at+jwt", &at_claims)?;

    let id_token = match &subject.person {
        Some(person) if subject.scope.contains("openid") => {
            let key = signing_key(cx, client.id_token_alg)?;
            let claims = IdTokenClaims {
                iss: policy.issuer.clone(),
                sub: person.user.id.clone(),
                aud: client.id.clone(),
                azp: client.id.clone(),
                exp: now + client.id_token_ttl.unwrap_or(policy.id_token_ttl),
                iat: now,
                auth_time: person.session.auth_time,
                nonce: subject.nonce.map(str::to_owned),
                sid: person.session.id.clone(),
                amr: person.session.amr.split(' ').map(str::to_owned).collect(),
                acr: crate::core::mfa::acr(&person.session.amr).to_owned(),
                at_hash: Some(tokens::at_hash(&access_token)),
                user: user_claims(person.user, subject.scope),
            };
            Some(sign(key, "JWT", &claims)?)
        }
        _ => None,
    };

    Ok(TokenResponse {
        access_token,
        // RFC 9449 §5: a bound token is used with the DPoP scheme.
        token_type: if subject.jkt.is_some() {
            "DPoP"
        } else {
            "Bearer"
        },
        expires_in: access_exp - now,
        scope: subject.scope.to_string(),
        id_token,
        refresh_token: subject.refresh_token,
    })
}

/// A first refresh token for a new grant, when the client may have one: it is registered for
/// the refresh_token grant and either asked for offline_access or can keep a secret. The token
/// for the client, and the row (its hash) for the store. A public client's token is bound to
/// the DPoP key its request proved, if any (RFC 9449 §5): it has no secret that would.
pub fn first_refresh_token<S>(
    cx: &Ctx<'_, S>,
    client: &Client,
    grant: &Grant,
    jkt: Option<&str>,
) -> Option<(String, RefreshToken)> {
    let wants = grant.scope.contains("offline_access") || !client.is_public();
    if !client.allows_grant(GrantType::RefreshToken) || !wants {
        return None;
    }
    let token = random_token();
    let row = RefreshToken {
        token_hash: hash(&token),
        grant_id: grant.id.clone(),
        created_at: cx.now,
        expires_at: refresh_expiry(cx, client, grant),
        rotated_at_ms: None,
        dpop_jkt: jkt.filter(|_| client.is_public()).map(str::to_owned),
    };
    Some((token, row))
}

/// Sliding expiry, capped by the grant's absolute end.
pub fn refresh_expiry<S>(cx: &Ctx<'_, S>, client: &Client, grant: &Grant) -> i64 {
    let sliding = cx.now
        + client
            .refresh_token_ttl
            .unwrap_or(cx.policy.refresh_token_ttl);
    grant.expires_at.map_or(sliding, |end| sliding.min(end))
}

fn signing_key<'k, S>(cx: &'k Ctx<'_, S>, alg: Alg) -> Result<&'k SigningKey, OAuthError> {
    cx.keys.current(alg).ok_or_else(|| {
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
