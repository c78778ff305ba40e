//! Whether a grant still stands, one rule for every caller: it is neither revoked nor past its
//! absolute end, its session (if any) has not ended, and its user (if any) is enabled. And
//! revoking one.

use super::Ctx;
use super::error::{OAuthError, StoreError};
use super::model::{Client, Grant, Revoked, Session, User};
use super::ports::{ClientRepo, GrantRepo, RevocationList, SessionRepo, UserRepo};

/// A grant that stands, with its user and session when it was made by a signed-in user.
pub struct LiveGrant {
    pub grant: Grant,
    pub user: Option<User>,
    pub session: Option<Session>,
}

pub async fn live_grant<S>(
    store: &S,
    grant_id: &str,
    now: i64,
) -> Result<Option<LiveGrant>, StoreError>
where
    S: GrantRepo + SessionRepo + UserRepo,
{
    let Some(grant) = store.find_grant(grant_id).await? else {
        return Ok(None);
    };
    if grant.revoked_at.is_some() || grant.expires_at.is_some_and(|end| end <= now) {
        return Ok(None);
    }
    let session = match &grant.session_id {
        Some(sid) => match store.find_session(sid).await? {
            Some(s) if s.ended_at.is_none() => Some(s),
            _ => return Ok(None),
        },
        None => None,
    };
    let user = match &grant.user_id {
        Some(id) => match store.find_user(id).await? {
            Some(u) if !u.disabled => Some(u),
            _ => return Ok(None),
        },
        None => None,
    };
    Ok(Some(LiveGrant {
        grant,
        user,
        session,
    }))
}

/// A signed-in user's grant to `client` that still stands, for the token endpoint.
pub async fn user_grant<S>(
    store: &S,
    client: &Client,
    grant_id: &str,
    now: i64,
) -> Result<(Grant, User, Session), OAuthError>
where
    S: GrantRepo + SessionRepo + UserRepo,
{
    let gone = || OAuthError::invalid_grant("the grant has been revoked or has ended");
    match live_grant(store, grant_id, now).await? {
        Some(LiveGrant {
            grant,
            user: Some(user),
            session: Some(session),
        }) if grant.client_id == client.id => Ok((grant, user, session)),
        _ => Err(gone()),
    }
}

/// Revokes a grant: its refresh tokens stop working at once (the grant row) and its access
/// tokens are refused until the longest of them has expired (the revocation list).
pub async fn revoke<S>(cx: &Ctx<'_, S>, grant_id: &str) -> Result<(), StoreError>
where
    S: GrantRepo + RevocationList + ClientRepo,
{
    cx.store.revoke_grant(grant_id, cx.now).await?;
    let until = cx.now + longest_access_token_ttl(cx).await?;
    let revoked = Revoked::Grant(grant_id.to_owned());
    cx.store.revoke(&revoked, until, cx.now).await
}

/// The longest an access token issued now could live (the global or a client's lifetime): how
/// long a revocation of a grant or session must be remembered.
pub async fn longest_access_token_ttl<S: ClientRepo>(cx: &Ctx<'_, S>) -> Result<i64, StoreError> {
    let clients = cx.store.list_clients().await?;
    let longest = clients.iter().filter_map(|c| c.access_token_ttl).max();
    Ok(longest.unwrap_or(0).max(cx.policy.access_token_ttl))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::{MemoryStore, block_on, seed_user_grant};

    #[test]
    fn a_grant_falls_with_its_session_its_user_or_its_end() {
        let store = MemoryStore::default();
        let (grant, user, session) = seed_user_grant(&store, 100);
        let live = |now| {
            block_on(live_grant(&store, &grant.id, now))
                .unwrap()
                .is_some()
        };
        assert!(live(100));
        assert!(!live(grant.expires_at.unwrap()), "past its absolute end");
        block_on(store.set_disabled(&user.id, true)).unwrap();
        assert!(!live(100), "a disabled user's grants do not stand");
        block_on(store.set_disabled(&user.id, false)).unwrap();
        assert!(live(100));
        block_on(store.end_session(&session.id, 150)).unwrap();
        assert!(!live(160), "an ended session takes its grants with it");
    }

    #[test]
    fn a_client_grant_needs_no_session() {
        let store = MemoryStore::default();
        let grant = Grant {
            id: "g-cc".into(),
            user_id: None,
            client_id: "app".into(),
            session_id: None,
            scope: Default::default(),
            auth_time: None,
            created_at: 0,
            revoked_at: None,
            expires_at: None,
            resource: None,
        };
        store.put_grant(grant);
        assert!(block_on(live_grant(&store, "g-cc", 10)).unwrap().is_some());
        block_on(store.revoke_grant("g-cc", 20)).unwrap();
        assert!(block_on(live_grant(&store, "g-cc", 30)).unwrap().is_none());
    }
}
