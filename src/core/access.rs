//! Access tokens presented back to Tessera (userinfo, introspection, the admin API): the
//! signature of a published key, this issuer, not expired, not revoked by jti, grant or
//! session, and, for a user's token, a user who is still enabled. Everything needed is in the
//! token or in memory: no token is looked up in storage. A token bound to a DPoP key is
//! accepted only with the DPoP scheme and a proof by that key (RFC 9449 §7), and an unbound one
//! only as a Bearer token.

use super::Ctx;
use super::dpop::{self, Proof};
use super::error::BearerError;
use super::model::{Revoked, User};
use super::ports::{AssertionRepo, RevocationList, UserRepo};
use crate::tokens::{self, AccessTokenClaims};

/// How a request presented its access token.
#[derive(Debug)]
pub enum Presented<'a> {
    /// `Authorization: Bearer` (or a form parameter) (RFC 6750).
    Bearer(&'a str),
    /// `Authorization: DPoP` with its `DPoP` proof (RFC 9449 §7.1).
    Dpop { token: &'a str, proof: Proof<'a> },
}

/// The token of a request to one of Tessera's protected resources (userinfo, the admin API),
/// with its binding to a key checked.
pub async fn check_presented<S: RevocationList + UserRepo + AssertionRepo>(
    cx: &Ctx<'_, S>,
    presented: &Presented<'_>,
) -> Result<ActiveToken, BearerError> {
    let (token, proof) = match presented {
        Presented::Bearer(token) => (*token, None),
        Presented::Dpop { token, proof } => (*token, Some(proof)),
    };
    let active = check(cx, token).await?;
    match (&active.claims.cnf, proof) {
        (None, None) => {}
        (Some(_), None) => {
            return Err(BearerError::InvalidToken(
                "the access token is bound to a DPoP key: send it as 'Authorization: DPoP <token>' with a DPoP proof",
            ));
        }
        (None, Some(_)) => {
            return Err(BearerError::InvalidToken(
                "the access token is not bound to a DPoP key: send it as 'Authorization: Bearer <token>'",
            ));
        }
        (Some(cnf), Some(proof)) => {
            let jkt = dpop::verify(cx, proof, Some(token)).await?;
            if jkt != cnf.jkt {
                return Err(BearerError::InvalidDpopProof(
                    "the DPoP proof is signed with another key than the one the access token is bound to",
                ));
            }
        }
    }
    Ok(active)
}

/// A token that stands, with the user it was issued for (None for a client's own token).
pub struct ActiveToken {
    pub claims: AccessTokenClaims,
    pub user: Option<User>,
}

/// The claims of an access token this issuer signed, whether or not it is still active.
pub fn signed_claims<S>(cx: &Ctx<'_, S>, token: &str) -> Option<AccessTokenClaims> {
    let claims: AccessTokenClaims = tokens::verify(&cx.keys, token, "at+jwt")?;
    (claims.iss == cx.policy.issuer).then_some(claims)
}

/// What revoking any of these would refuse the token for.
pub fn revocations(claims: &AccessTokenClaims) -> Vec<Revoked> {
    let mut revoked = vec![Revoked::Token(claims.jti.clone())];
    revoked.extend(claims.gid.clone().map(Revoked::Grant));
    revoked.extend(claims.sid.clone().map(Revoked::Session));
    revoked
}

pub async fn check<S: RevocationList + UserRepo>(
    cx: &Ctx<'_, S>,
    token: &str,
) -> Result<ActiveToken, BearerError> {
    let claims = tokens::verify::<AccessTokenClaims>(&cx.keys, token, "at+jwt").ok_or(
        BearerError::InvalidToken("the access token is malformed or its signature is invalid"),
    )?;
    if claims.iss != cx.policy.issuer {
        return Err(BearerError::InvalidToken(
            "the access token was issued by another provider",
        ));
    }
    if claims.exp <= cx.now {
        return Err(BearerError::InvalidToken("the access token has expired"));
    }
    if cx.store.any_revoked(&revocations(&claims), cx.now).await? {
        return Err(BearerError::InvalidToken(
            "the access token has been revoked",
        ));
    }
    // A user's token names its session; a client's own (client_credentials) does not.
    let user = match &claims.sid {
        Some(_) => Some(
            cx.store
                .find_user(&claims.sub)
                .await?
                .filter(|u| !u.disabled)
                .ok_or(BearerError::InvalidToken(
                    "the access token has been revoked",
                ))?,
        ),
        None => None,
    };
    Ok(ActiveToken { claims, user })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::AuthMethod;
    use crate::core::scope::Scope;
    use crate::core::testing::{MemoryStore, block_on, client, context, policy, seed_user_grant};
    use crate::core::token::issue::{Subject, issue};

    #[test]
    fn a_token_falls_with_its_jti_grant_session_or_user() {
        let store = MemoryStore::default();
        let policy = policy();
        let (grant, user, session) = seed_user_grant(&store, 1_000);
        let cx = context(&store, &policy, 1_000);
        let app = client(AuthMethod::ClientSecretBasic);
        let scope = Scope::parse("openid").unwrap();
        let mint = || {
            let subject = Subject::user(&grant, &user, &session, &scope);
            issue(&cx, &app, subject).unwrap().access_token
        };
        let active = |token: &str| block_on(check(&cx, token)).is_ok();
        let revoke = |what: Revoked| block_on(store.revoke(&what, 2_000, 1_000)).unwrap();

        let token = mint();
        let claims = block_on(check(&cx, &token)).unwrap().claims;
        assert_eq!(claims.gid.as_deref(), Some(grant.id.as_str()));
        revoke(Revoked::Token(claims.jti.clone()));
        assert!(!active(&token), "by jti");
        assert!(active(&mint()), "only that token");

        let token = mint();
        block_on(store.set_disabled(&user.id, true)).unwrap();
        assert!(!active(&token), "a disabled user's tokens");
        block_on(store.set_disabled(&user.id, false)).unwrap();
        assert!(active(&token));

        revoke(Revoked::Session(session.id.clone()));
        assert!(!active(&token), "by session");
        let other_grant = Revoked::Grant("another".into());
        assert!(!block_on(store.any_revoked(&[other_grant], 1_000)).unwrap());
    }

    #[test]
    fn a_clients_own_token_has_no_user_and_falls_with_its_grant_or_jti_only() {
        let store = MemoryStore::default();
        let policy = policy();
        let cx = context(&store, &policy, 1_000);
        let service = client(AuthMethod::ClientSecretBasic);
        let scope = Scope::parse("orders:read").unwrap();
        let token = issue(&cx, &service, Subject::client(&scope))
            .unwrap()
            .access_token;
        let active = block_on(check(&cx, &token)).unwrap();
        assert!(active.user.is_none() && active.claims.gid.is_none());
        assert_eq!(active.claims.sub, "app");
        let forged = format!("{token}x");
        assert!(matches!(
            block_on(check(&cx, &forged)),
            Err(BearerError::InvalidToken(_))
        ));
    }
}
