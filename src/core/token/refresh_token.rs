//! The refresh token grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700
//! §4.14.2): every use returns a new token, and presenting a rotated one revokes the grant.
//! The successor of a token is derived from it under the master key, so a concurrent request
//! inside the grace window gets the very same successor without any plaintext being stored.

use super::issue::{self, Person, Subject, TokenResponse};
use crate::core::Ctx;
use crate::core::error::OAuthError;
use crate::core::grants::{self, user_grant};
use crate::core::model::{Client, RefreshToken};
use crate::core::ports::{
    ClientRepo, GrantRepo, RefreshTokenRepo, RevocationList, SessionRepo, UserRepo,
};
use crate::core::scope::Scope;
use crate::core::sessions;
use crate::secret::hash;

pub async fn refresh<S>(
    cx: &Ctx<'_, S>,
    client: &Client,
    token: &str,
    scope: Option<Scope>,
) -> Result<TokenResponse, OAuthError>
where
    S: GrantRepo + SessionRepo + UserRepo + RefreshTokenRepo + RevocationList + ClientRepo,
{
    let now = cx.now;
    let row = cx
        .store
        .find_refresh_token(&hash(token))
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("the refresh token is invalid"))?;
    let (grant, user, session) = user_grant(cx.store, client, &row.grant_id, now).await?;
    if row.expires_at <= now {
        return Err(OAuthError::invalid_grant("the refresh token has expired"));
    }
    let scope = match scope {
        Some(narrower) if !narrower.is_covered_by(grant.scope.as_slice()) => {
            return Err(OAuthError::invalid_scope(
                "the requested scope exceeds the scope originally granted",
            ));
        }
        Some(narrower) if !narrower.is_empty() => narrower,
        _ => grant.scope.clone(),
    };

    let successor = cx.secrets.derive(&format!("refresh-successor\0{token}"));
    let next = RefreshToken {
        token_hash: hash(&successor),
        grant_id: grant.id.clone(),
        created_at: now,
        expires_at: issue::refresh_expiry(cx, client, &grant),
        rotated_at: None,
    };
    let won = row.rotated_at.is_none()
        && cx
            .store
            .rotate_refresh_token(&row.token_hash, &next, now)
            .await?;
    if !won {
        let rotated_at = match row.rotated_at {
            Some(at) => at,
            None => cx
                .store
                .find_refresh_token(&row.token_hash)
                .await?
                .and_then(|r| r.rotated_at)
                .unwrap_or(now),
        };
        let successor_stands = cx
            .store
            .find_refresh_token(&next.token_hash)
            .await?
            .is_some();
        if now - rotated_at > cx.policy.refresh_reuse_grace || !successor_stands {
            grants::revoke(cx, &grant.id).await?;
            tracing::warn!(client_id = %client.id, grant = %grant.id, "refresh token reused; the grant is revoked");
            return Err(OAuthError::invalid_grant(
                "the refresh token was already used; every token of this grant is now revoked",
            ));
        }
    }
    // The device is in use: its "last seen" on the devices page moves.
    sessions::seen(cx, &session).await?;
    let subject = Subject {
        grant: Some(&grant),
        person: Some(Person {
            user: &user,
            session: &session,
        }),
        nonce: None,
        scope: &scope,
        refresh_token: Some(successor),
    };
    issue::issue(cx, client, subject)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::grants::live_grant;
    use crate::core::model::AuthMethod;
    use crate::core::testing::{
        MemoryStore, block_on, client, context, join_all, policy, seed_refresh_token,
    };

    #[test]
    fn each_use_rotates_and_a_late_reuse_revokes_the_grant() {
        let store = MemoryStore::default();
        let policy = policy();
        let c = client(AuthMethod::ClientSecretBasic);
        let (first, grant_id) = seed_refresh_token(&store, 1_000);
        let at = |now| context(&store, &policy, now);
        let second = block_on(refresh(&at(1_010), &c, &first, None)).unwrap();
        let second = second.refresh_token.unwrap();
        assert_ne!(second, first);
        let third = block_on(refresh(&at(1_020), &c, &second, None)).unwrap();
        assert!(third.refresh_token.is_some());
        let late = 1_020 + policy.refresh_reuse_grace + 1;
        let reused = block_on(refresh(&at(late), &c, &first, None)).unwrap_err();
        assert!(reused.description.contains("already used"));
        assert!(
            block_on(live_grant(&store, &grant_id, late))
                .unwrap()
                .is_none()
        );
        let after = block_on(refresh(&at(late), &c, &third.refresh_token.unwrap(), None));
        assert!(
            after.is_err(),
            "the whole grant is revoked, the newest token too"
        );
    }

    #[test]
    fn a_race_has_one_winner_and_the_losers_get_its_successor() {
        let store = MemoryStore::default().interleaved();
        let policy = policy();
        let c = client(AuthMethod::ClientSecretBasic);
        let (token, grant_id) = seed_refresh_token(&store, 1_000);
        let cx = context(&store, &policy, 1_005);
        let results = join_all((0..8).map(|_| refresh(&cx, &c, &token, None)).collect());
        let successors: Vec<String> = results
            .into_iter()
            .map(|r| r.unwrap().refresh_token.unwrap())
            .collect();
        assert!(
            successors.windows(2).all(|w| w[0] == w[1]),
            "one successor for all"
        );
        assert_eq!(
            store.rotations(),
            1,
            "exactly one request rotated the token"
        );
        assert!(
            block_on(live_grant(&store, &grant_id, 1_005))
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn a_refresh_may_narrow_the_scope_never_widen_it() {
        let store = MemoryStore::default();
        let policy = policy();
        let c = client(AuthMethod::ClientSecretBasic);
        let (token, _) = seed_refresh_token(&store, 1_000);
        let cx = context(&store, &policy, 1_001);
        let wider = Scope::parse("openid profile email").unwrap();
        let err = block_on(refresh(&cx, &c, &token, Some(wider))).unwrap_err();
        assert_eq!(err.code, crate::core::error::ErrorCode::InvalidScope);
        let narrower = Scope::parse("openid").unwrap();
        let ok = block_on(refresh(&cx, &c, &token, Some(narrower))).unwrap();
        assert_eq!(ok.scope, "openid");
    }

    #[test]
    fn an_expired_token_is_refused() {
        let store = MemoryStore::default();
        let policy = policy();
        let c = client(AuthMethod::ClientSecretBasic);
        let (token, _) = seed_refresh_token(&store, 1_000);
        let cx = context(&store, &policy, 1_000 + policy.refresh_token_ttl);
        let err = block_on(refresh(&cx, &c, &token, None)).unwrap_err();
        assert_eq!(err.description, "the refresh token has expired");
    }
}
