//! The refresh token grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700
//! §4.14.2): every use returns a new token, and presenting a rotated one again revokes the
//! grant and every token of it. A client (or the operator, for all clients) may opt in to a
//! grace period for browser apps whose tabs refresh at once: within it, measured in
//! milliseconds, a rotated token whose successor is still unused yields that same successor.
//! The successor is derived from the token under the master key, so no plaintext is stored.

use super::issue::{self, Subject, TokenResponse};
use crate::core::Ctx;
use crate::core::error::{OAuthError, StoreError};
use crate::core::grants::{self, user_grant};
use crate::core::model::{Client, RefreshToken};
use crate::core::ports::{GrantStore, RefreshTokenRepo};
use crate::core::resources;
use crate::core::scope::Scope;
use crate::core::sessions;
use crate::secret::hash;

/// What a refresh request asks for besides the token.
#[derive(Default)]
pub struct Wanted<'a> {
    /// A narrower scope than the grant's.
    pub scope: Option<Scope>,
    /// The thumbprint of the DPoP key the request proved.
    pub jkt: Option<&'a str>,
    /// The `resource` it named (RFC 8707).
    pub resource: Option<&'a str>,
}

pub async fn refresh<S>(
    cx: &Ctx<'_, S>,
    client: &Client,
    token: &str,
    wanted: Wanted<'_>,
) -> Result<TokenResponse, OAuthError>
where
    S: GrantStore,
{
    let Wanted {
        scope,
        jkt,
        resource,
    } = wanted;
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
    // A public client's token bound to a key is refused without a proof by that key.
    if let Some(bound) = &row.dpop_jkt
        && jkt != Some(bound.as_str())
    {
        return Err(OAuthError::invalid_grant(
            "the refresh token is bound to a DPoP key: send a DPoP proof signed with that key",
        ));
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
    let resource = resources::target(cx, resource, grant.resource.as_deref()).await?;
    let scope = match &resource {
        Some(resource) => resources::scope_for(resource, &scope, false)?,
        None => scope,
    };

    let successor = cx.secrets.derive(&format!("refresh-successor\0{token}"));
    let next = RefreshToken {
        token_hash: hash(&successor),
        grant_id: grant.id.clone(),
        created_at: now,
        expires_at: issue::refresh_expiry(cx, client, &grant),
        rotated_at_ms: None,
        dpop_jkt: row.dpop_jkt.clone(),
    };
    let won = row.rotated_at_ms.is_none()
        && cx
            .store
            .rotate_refresh_token(&row.token_hash, &next, cx.now_ms)
            .await?;
    if !won && !another_tab(cx, client, &row, &next).await? {
        grants::revoke(cx, &grant.id).await?;
        tracing::warn!(client_id = %client.id, grant = %grant.id, "refresh token reused; the grant is revoked");
        return Err(OAuthError::invalid_grant(
            "the refresh token was already used; every token of this grant is now revoked",
        ));
    }
    // The device is in use: its "last seen" on the devices page moves.
    sessions::seen(cx, &session).await?;
    let subject = Subject {
        refresh_token: Some(successor),
        jkt,
        resource: resource.as_ref(),
        ..Subject::user(&grant, &user, &session, &scope)
    };
    issue::issue(cx, client, subject)
}

/// Whether a rotated token presented again may be another tab of the same app rather than a
/// replay: only with a grace (an opt-in; 0 means none), only within it, and only while the
/// successor it would yield has not been used in turn.
async fn another_tab<S: RefreshTokenRepo>(
    cx: &Ctx<'_, S>,
    client: &Client,
    row: &RefreshToken,
    successor: &RefreshToken,
) -> Result<bool, StoreError> {
    let grace_ms = client
        .refresh_reuse_grace
        .unwrap_or(cx.policy.refresh_reuse_grace)
        .saturating_mul(1000);
    if grace_ms <= 0 {
        return Ok(false);
    }
    let rotated_at_ms = match row.rotated_at_ms {
        Some(at) => Some(at),
        // It was rotated by a concurrent request after we read it.
        None => cx
            .store
            .find_refresh_token(&row.token_hash)
            .await?
            .and_then(|r| r.rotated_at_ms),
    };
    if rotated_at_ms.is_none_or(|at| cx.now_ms - at >= grace_ms) {
        return Ok(false);
    }
    let successor = cx.store.find_refresh_token(&successor.token_hash).await?;
    Ok(successor.is_some_and(|s| s.rotated_at_ms.is_none()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Policy;
    use crate::core::error::ErrorCode;
    use crate::core::grants::live_grant;
    use crate::core::model::AuthMethod;
    use crate::core::testing::{
        MemoryStore, bind_refresh_tokens, block_on, client, context, context_ms, join_all, policy,
        seed_refresh_token,
    };

    fn with_grace(seconds: i64) -> Client {
        Client {
            refresh_reuse_grace: Some(seconds),
            ..client(AuthMethod::ClientSecretBasic)
        }
    }

    #[test]
    fn each_use_rotates_and_an_immediate_reuse_revokes_the_grant() {
        let store = MemoryStore::default();
        let policy = policy();
        assert_eq!(policy.refresh_reuse_grace, 0, "strict by default");
        let c = client(AuthMethod::ClientSecretBasic);
        let (first, grant_id) = seed_refresh_token(&store, 1_000);
        let at = |now_ms| context_ms(&store, &policy, now_ms);
        let second = block_on(refresh(&at(1_010_000), &c, &first, Wanted::default())).unwrap();
        let second = second.refresh_token.unwrap();
        assert_ne!(second, first);
        let third = block_on(refresh(&at(1_020_000), &c, &second, Wanted::default())).unwrap();
        assert!(third.refresh_token.is_some());
        // The very same millisecond as the rotation: still a reuse.
        let reused = block_on(refresh(&at(1_020_000), &c, &second, Wanted::default())).unwrap_err();
        assert_eq!(reused.code, ErrorCode::InvalidGrant);
        assert!(reused.description.contains("already used"));
        assert!(
            block_on(live_grant(&store, &grant_id, 1_020))
                .unwrap()
                .is_none()
        );
        let after = block_on(refresh(
            &at(1_020_001),
            &c,
            &third.refresh_token.unwrap(),
            Wanted::default(),
        ));
        assert!(
            after.is_err(),
            "the whole grant is revoked, the newest token too"
        );
    }

    #[test]
    fn a_race_has_one_winner_and_revokes_the_grant_without_a_grace() {
        let store = MemoryStore::default().interleaved();
        let policy = policy();
        let c = client(AuthMethod::ClientSecretBasic);
        let (token, grant_id) = seed_refresh_token(&store, 1_000);
        let cx = context(&store, &policy, 1_005);
        let results = join_all(
            (0..8)
                .map(|_| refresh(&cx, &c, &token, Wanted::default()))
                .collect(),
        );
        let (won, lost): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
        assert_eq!(won.len(), 1, "exactly one request rotated the token");
        assert!(
            lost.iter()
                .all(|r| r.as_ref().is_err_and(|e| e.code == ErrorCode::InvalidGrant))
        );
        assert_eq!(store.rotations(), 1);
        assert!(
            block_on(live_grant(&store, &grant_id, 1_005))
                .unwrap()
                .is_none(),
            "a concurrent presentation is a reuse"
        );
    }

    #[test]
    fn with_a_grace_a_race_has_one_winner_and_the_losers_get_its_successor() {
        let store = MemoryStore::default().interleaved();
        let policy = policy();
        let c = with_grace(2);
        let (token, grant_id) = seed_refresh_token(&store, 1_000);
        let cx = context(&store, &policy, 1_005);
        let results = join_all(
            (0..8)
                .map(|_| refresh(&cx, &c, &token, Wanted::default()))
                .collect(),
        );
        let successors: Vec<String> = results
            .into_iter()
            .map(|r| r.unwrap().refresh_token.unwrap())
            .collect();
        assert!(
            successors.windows(2).all(|w| w[0] == w[1]),
            "one successor for all"
        );
        assert_eq!(store.rotations(), 1);
        assert!(
            block_on(live_grant(&store, &grant_id, 1_005))
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn the_grace_is_measured_in_milliseconds() {
        let store = MemoryStore::default();
        let policy = policy();
        let c = with_grace(1);
        let (first, grant_id) = seed_refresh_token(&store, 1_000);
        let at = |now_ms| context_ms(&store, &policy, now_ms);
        let rotated = block_on(refresh(&at(1_000_500), &c, &first, Wanted::default())).unwrap();
        let again = block_on(refresh(&at(1_001_499), &c, &first, Wanted::default())).unwrap();
        assert_eq!(again.refresh_token, rotated.refresh_token, "999 ms later");
        let late = block_on(refresh(&at(1_001_500), &c, &first, Wanted::default())).unwrap_err();
        assert_eq!(late.code, ErrorCode::InvalidGrant, "1 000 ms later");
        assert!(
            block_on(live_grant(&store, &grant_id, 1_001))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn the_grace_ends_once_the_successor_is_used() {
        let store = MemoryStore::default();
        let policy = policy();
        let c = with_grace(60);
        let (first, grant_id) = seed_refresh_token(&store, 1_000);
        let at = |now| context(&store, &policy, now);
        let second = block_on(refresh(&at(1_001), &c, &first, Wanted::default())).unwrap();
        block_on(refresh(
            &at(1_002),
            &c,
            &second.refresh_token.unwrap(),
            Wanted::default(),
        ))
        .unwrap();
        let stale = block_on(refresh(&at(1_003), &c, &first, Wanted::default())).unwrap_err();
        assert_eq!(stale.code, ErrorCode::InvalidGrant);
        assert!(
            block_on(live_grant(&store, &grant_id, 1_003))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_client_grace_overrides_the_global_one_and_zero_means_none() {
        let store = MemoryStore::default();
        let policy = Policy {
            refresh_reuse_grace: 30,
            ..policy()
        };
        let strict = with_grace(0);
        let (first, grant_id) = seed_refresh_token(&store, 1_000);
        let cx = context(&store, &policy, 1_001);
        block_on(refresh(&cx, &strict, &first, Wanted::default())).unwrap();
        let reused = block_on(refresh(&cx, &strict, &first, Wanted::default())).unwrap_err();
        assert_eq!(reused.code, ErrorCode::InvalidGrant);
        assert!(
            block_on(live_grant(&store, &grant_id, 1_001))
                .unwrap()
                .is_none()
        );

        let (token, _) = seed_refresh_token(&store, 1_000);
        let global = client(AuthMethod::ClientSecretBasic);
        let one = block_on(refresh(&cx, &global, &token, Wanted::default())).unwrap();
        let two = block_on(refresh(&cx, &global, &token, Wanted::default())).unwrap();
        assert_eq!(
            one.refresh_token, two.refresh_token,
            "the global grace applies"
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
        let err = block_on(refresh(
            &cx,
            &c,
            &token,
            Wanted {
                scope: Some(wider),
                ..Wanted::default()
            },
        ))
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidScope);
        let narrower = Scope::parse("openid").unwrap();
        let ok = block_on(refresh(
            &cx,
            &c,
            &token,
            Wanted {
                scope: Some(narrower),
                ..Wanted::default()
            },
        ))
        .unwrap();
        assert_eq!(ok.scope, "openid");
    }

    #[test]
    fn an_expired_token_is_refused() {
        let store = MemoryStore::default();
        let policy = policy();
        let c = client(AuthMethod::ClientSecretBasic);
        let (token, _) = seed_refresh_token(&store, 1_000);
        let cx = context(&store, &policy, 1_000 + policy.refresh_token_ttl);
        let err = block_on(refresh(&cx, &c, &token, Wanted::default())).unwrap_err();
        assert_eq!(err.description, "the refresh token has expired");
    }

    #[test]
    fn a_bound_token_refreshes_only_with_its_key_and_its_successor_stays_bound() {
        let store = MemoryStore::default();
        let policy = policy();
        let spa = client(AuthMethod::None);
        let (token, _) = seed_refresh_token(&store, 1_000);
        bind_refresh_tokens(&store, "key-a");
        let cx = context(&store, &policy, 1_001);
        for proved in [None, Some("key-b")] {
            let err = block_on(refresh(
                &cx,
                &spa,
                &token,
                Wanted {
                    jkt: proved,
                    ..Wanted::default()
                },
            ))
            .unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidGrant);
            assert!(err.description.contains("bound to a DPoP key"));
        }
        let next = block_on(refresh(
            &cx,
            &spa,
            &token,
            Wanted {
                jkt: Some("key-a"),
                ..Wanted::default()
            },
        ))
        .unwrap();
        assert_eq!(next.token_type, "DPoP");
        let successor = next.refresh_token.unwrap();
        let err = block_on(refresh(&cx, &spa, &successor, Wanted::default())).unwrap_err();
        assert!(
            err.description.contains("bound to a DPoP key"),
            "the successor too"
        );
        assert!(
            block_on(refresh(
                &cx,
                &spa,
                &successor,
                Wanted {
                    jkt: Some("key-a"),
                    ..Wanted::default()
                }
            ))
            .is_ok()
        );
    }
}
