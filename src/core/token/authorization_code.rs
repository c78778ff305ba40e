//! The authorization code grant (RFC 6749 §4.1.3) with PKCE (RFC 7636 §4.6). A code is
//! claimed with one conditional update, so it works once; a replayed code revokes the grant
//! and so every token issued from it (RFC 6749 §4.1.2, RFC 9700 §4.2.4).

use super::issue::{self, Subject, TokenResponse};
use crate::core::Ctx;
use crate::core::error::{OAuthError, StoreError};
use crate::core::grants::{self, user_grant};
use crate::core::model::{AuthCode, Client};
use crate::core::pkce;
use crate::core::ports::{ClientRepo, CodeRepo, GrantRepo, GrantStore, RevocationList};
use crate::core::resources;
use crate::secret::hash;

/// What the client sent to redeem a code.
pub struct Redemption<'a> {
    pub code: &'a str,
    pub redirect_uri: &'a str,
    pub verifier: Option<&'a str>,
    /// The thumbprint of the DPoP key the request proved.
    pub jkt: Option<&'a str>,
    /// The `resource` the token request named (RFC 8707).
    pub resource: Option<&'a str>,
}

pub async fn exchange<S>(
    cx: &Ctx<'_, S>,
    client: &Client,
    redemption: Redemption<'_>,
) -> Result<TokenResponse, OAuthError>
where
    S: GrantStore + CodeRepo,
{
    let invalid = |msg: &'static str| OAuthError::invalid_grant(msg);
    let row = cx
        .store
        .find_code(&hash(redemption.code))
        .await?
        .ok_or_else(|| invalid("the authorization code is invalid"))?;
    if row.client_id != client.id {
        return Err(invalid(
            "the authorization code was issued to another client",
        ));
    }
    if row.used_at.is_some() {
        return Err(replayed(cx, client, &row).await?);
    }
    // A code that fails a check is burnt all the same: it works once, whatever happens.
    let checked = match check(&row, &redemption, cx.now) {
        Ok(()) => user_grant(cx.store, client, &row.grant_id, cx.now).await,
        Err(e) => Err(e),
    };
    let checked = match checked {
        Ok((grant, user, session)) => {
            let target = resources::target(cx, redemption.resource, grant.resource.as_deref());
            target
                .await
                .map(|resource| (grant, user, session, resource))
        }
        Err(e) => Err(e),
    };
    let (grant, user, session, resource) = match checked {
        Ok(found) => found,
        Err(e) => {
            cx.store.claim_code(&row.code_hash, cx.now, None).await?;
            return Err(e);
        }
    };
    let scope = match &resource {
        Some(resource) => resources::scope_for(resource, &grant.scope, false)?,
        None => grant.scope.clone(),
    };
    // Claiming the code and storing the grant's first refresh token are one commit.
    let first = issue::first_refresh_token(cx, client, &grant, redemption.jkt);
    let stored = first.as_ref().map(|(_, row)| row);
    if !cx.store.claim_code(&row.code_hash, cx.now, stored).await? {
        return Err(replayed(cx, client, &row).await?);
    }
    let refresh_token = first.map(|(token, _)| token);
    let subject = Subject {
        nonce: row.nonce.as_deref(),
        refresh_token,
        jkt: redemption.jkt,
        resource: resource.as_ref(),
        ..Subject::user(&grant, &user, &session, &scope)
    };
    issue::issue(cx, client, subject)
}

/// The code was used before (or a concurrent redemption won): the grant it made is revoked,
/// with every token issued from it (RFC 6749 §4.1.2, RFC 9700 §4.2.4).
async fn replayed<S>(
    cx: &Ctx<'_, S>,
    client: &Client,
    row: &AuthCode,
) -> Result<OAuthError, StoreError>
where
    S: GrantRepo + RevocationList + ClientRepo,
{
    grants::revoke(cx, &row.grant_id).await?;
    tracing::warn!(client_id = %client.id, "authorization code replayed; its grant is revoked");
    Ok(OAuthError::invalid_grant(
        "the authorization code was already used; tokens issued with it are revoked",
    ))
}

/// Expiry, redirect_uri and PKCE (RFC 7636 §4.6).
fn check(row: &AuthCode, redemption: &Redemption<'_>, now: i64) -> Result<(), OAuthError> {
    let invalid = |msg: &'static str| Err(OAuthError::invalid_grant(msg));
    if row.expires_at <= now {
        return invalid("the authorization code has expired");
    }
    if row.redirect_uri != redemption.redirect_uri {
        return invalid("redirect_uri does not match the authorization request");
    }
    if row
        .dpop_jkt
        .as_deref()
        .is_some_and(|bound| redemption.jkt != Some(bound))
    {
        return invalid(
            "the authorization request named a DPoP key (dpop_jkt) this request does not prove",
        );
    }
    match (&row.code_challenge, redemption.verifier) {
        (Some(challenge), Some(verifier)) if pkce::verify_s256(verifier, challenge) => Ok(()),
        (Some(_), Some(_)) => invalid("code_verifier does not match the code_challenge"),
        (Some(_), None) => invalid("code_verifier is required"),
        (None, Some(_)) => {
            invalid("code_verifier sent but the authorization request had no code_challenge")
        }
        (None, None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::error::ErrorCode;
    use crate::core::grants::live_grant;
    use crate::core::model::AuthMethod;
    use crate::core::testing::{MemoryStore, block_on, client, context, policy, seed_code};

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn redeem<'a>(code: &'a str, verifier: Option<&'static str>) -> Redemption<'a> {
        Redemption {
            code,
            redirect_uri: "https://app.example/cb",
            verifier,
            jkt: None,
            resource: None,
        }
    }

    #[test]
    fn a_code_works_once_and_its_replay_revokes_the_grant() {
        let store = MemoryStore::default();
        let policy = policy();
        let c = client(AuthMethod::ClientSecretBasic);
        let (code, grant_id) = seed_code(&store, &c, None, 1_000);
        let cx = context(&store, &policy, 1_010);
        let first = block_on(exchange(&cx, &c, redeem(&code, None))).unwrap();
        assert!(first.id_token.is_some() && first.refresh_token.is_some());
        let again = block_on(exchange(&cx, &c, redeem(&code, None))).unwrap_err();
        assert_eq!(again.code, ErrorCode::InvalidGrant);
        assert!(
            block_on(live_grant(&store, &grant_id, 1_011))
                .unwrap()
                .is_none(),
            "the replay revoked the grant the first exchange used"
        );
    }

    #[test]
    fn expiry_redirect_uri_client_and_pkce_are_checked() {
        let store = MemoryStore::default();
        let policy = policy();
        let c = client(AuthMethod::None);
        let cx = |now| context(&store, &policy, now);
        let (code, _) = seed_code(&store, &c, Some(CHALLENGE), 1_000);
        let expired = block_on(exchange(
            &cx(1_000 + policy.code_ttl),
            &c,
            redeem(&code, Some(VERIFIER)),
        ));
        assert_eq!(
            expired.unwrap_err().description,
            "the authorization code has expired"
        );

        let (code, _) = seed_code(&store, &c, Some(CHALLENGE), 1_000);
        let other = Client {
            id: "other".into(),
            ..c.clone()
        };
        assert!(block_on(exchange(&cx(1_001), &other, redeem(&code, Some(VERIFIER)))).is_err());

        let (code, _) = seed_code(&store, &c, Some(CHALLENGE), 1_000);
        let missing = block_on(exchange(&cx(1_001), &c, redeem(&code, None))).unwrap_err();
        assert_eq!(missing.description, "code_verifier is required");

        let (code, _) = seed_code(&store, &c, Some(CHALLENGE), 1_000);
        let wrong = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK";
        assert!(block_on(exchange(&cx(1_001), &c, redeem(&code, Some(wrong)))).is_err());

        let (code, _) = seed_code(&store, &c, Some(CHALLENGE), 1_000);
        let mut elsewhere = redeem(&code, Some(VERIFIER));
        elsewhere.redirect_uri = "https://app.example/other";
        assert!(block_on(exchange(&cx(1_001), &c, elsewhere)).is_err());

        let (code, _) = seed_code(&store, &c, Some(CHALLENGE), 1_000);
        let ok = block_on(exchange(&cx(1_001), &c, redeem(&code, Some(VERIFIER)))).unwrap();
        assert_eq!(ok.token_type, "Bearer");
    }
}
