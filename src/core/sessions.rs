//! Browser sessions (devices) and ending them, by any route: the user's device page, a
//! password change, RP-initiated logout, an operator, disabling the user. Ending a session
//! revokes every grant made in it, and each client with a back-channel logout URI that held
//! one is sent a logout token (OIDC Back-Channel Logout 1.0).

use serde::Serialize;
use serde_json::json;

use super::Ctx;
use super::error::{AccountError, StoreError};
use super::grants::longest_access_token_ttl;
use super::model::{Client, Revoked, Session, User};
use super::ports::{
    ClientRepo, GrantRepo, LogoutNotice, Notifier, RevocationList, SessionRepo, UserRepo,
};
use crate::secret::{hash, random_id};
use crate::tokens::{self, LogoutTokenClaims};

const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Lifetime of a back-channel logout token (seconds).
pub const LOGOUT_TOKEN_TTL: i64 = 120;

/// How stale a device's "last seen" may be before a use of it is written (seconds): the
/// devices page shows minutes, and a write per request would put the database on every
/// refresh and sign-in's hot path.
pub const LAST_SEEN_RESOLUTION: i64 = 60;

/// A signed-in browser: its live session and enabled user.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub session: Session,
    pub user: User,
}

/// The browser whose session cookie holds `cookie_token`, if that session is live and its
/// user enabled.
pub async fn signed_in<S: SessionRepo + UserRepo>(
    cx: &Ctx<'_, S>,
    cookie_token: Option<&str>,
) -> Result<Option<SignedIn>, StoreError> {
    let Some(token) = cookie_token else {
        return Ok(None);
    };
    let Some(session) = cx.store.live_session_by_token(&hash(token), cx.now).await? else {
        return Ok(None);
    };
    Ok(cx
        .store
        .find_user(&session.user_id)
        .await?
        .filter(|u| !u.disabled)
        .map(|user| SignedIn { session, user }))
}

/// A user's devices: sessions that have neither ended nor expired, most recent first.
pub async fn live_sessions<S: SessionRepo>(
    cx: &Ctx<'_, S>,
    user_id: &str,
) -> Result<Vec<Session>, StoreError> {
    cx.store.live_sessions(user_id, cx.now).await
}

/// The device was used: its "last seen" moves, at most once per `LAST_SEEN_RESOLUTION`.
pub async fn seen<S: SessionRepo>(cx: &Ctx<'_, S>, session: &Session) -> Result<(), StoreError> {
    if cx.now - session.last_seen_at >= LAST_SEEN_RESOLUTION {
        cx.store.touch_session(&session.id, cx.now).await?;
    }
    Ok(())
}

/// Ends each session (revoking its grants, and so its refresh and access tokens) and tells
/// the clients. Returns how many were still live.
pub async fn end_sessions<S, N>(
    cx: &Ctx<'_, S>,
    notifier: &N,
    sessions: &[Session],
) -> Result<usize, StoreError>
where
    S: SessionRepo + GrantRepo + ClientRepo + RevocationList,
    N: Notifier,
{
    let mut ended = 0;
    let mut notices = Vec::new();
    let until = cx.now + longest_access_token_ttl(cx).await?;
    for session in sessions {
        let was_live = cx.store.end_session(&session.id, cx.now).await?;
        cx.store.revoke_session_grants(&session.id, cx.now).await?;
        let revoked = Revoked::Session(session.id.clone());
        cx.store.revoke(&revoked, until, cx.now).await?;
        if !was_live {
            continue;
        }
        ended += 1;
        tracing::info!(sid = %session.id, "session ended");
        for client_id in cx.store.session_client_ids(&session.id).await? {
            if let Some(client) = cx.store.find_client(&client_id).await?
                && let Some(notice) = logout_notice(cx, &client, session)
            {
                notices.push(notice);
            }
        }
    }
    if !notices.is_empty() {
        notifier.notify(notices).await;
    }
    Ok(ended)
}

/// Every live session of a user but `except` ("sign out everywhere else", force logout).
pub async fn end_user_sessions<S, N>(
    cx: &Ctx<'_, S>,
    notifier: &N,
    user_id: &str,
    except: Option<&str>,
) -> Result<usize, StoreError>
where
    S: SessionRepo + GrantRepo + ClientRepo + RevocationList,
    N: Notifier,
{
    let sessions: Vec<Session> = cx
        .store
        .live_sessions(user_id, cx.now)
        .await?
        .into_iter()
        .filter(|s| Some(s.id.as_str()) != except)
        .collect();
    end_sessions(cx, notifier, &sessions).await
}

/// A user signs one of their own devices out; another user's session is simply not found.
pub async fn end_own_session<S, N>(
    cx: &Ctx<'_, S>,
    notifier: &N,
    user: &User,
    sid: &str,
) -> Result<(), AccountError>
where
    S: SessionRepo + GrantRepo + ClientRepo + RevocationList,
    N: Notifier,
{
    let target = cx
        .store
        .find_session(sid)
        .await?
        .filter(|s| s.user_id == user.id)
        .ok_or_else(|| AccountError::NotFound("no such device among your sessions".into()))?;
    end_sessions(cx, notifier, &[target]).await?;
    Ok(())
}

/// An operator ends a session by its id.
pub async fn end_session_by_id<S, N>(
    cx: &Ctx<'_, S>,
    notifier: &N,
    sid: &str,
) -> Result<bool, AccountError>
where
    S: SessionRepo + GrantRepo + ClientRepo + RevocationList,
    N: Notifier,
{
    let session = cx
        .store
        .find_session(sid)
        .await?
        .ok_or_else(|| AccountError::NotFound(format!("no session '{sid}'")))?;
    Ok(end_sessions(cx, notifier, &[session]).await? == 1)
}

/// OIDC Back-Channel Logout 1.0 §2.4, signed like the client's id_tokens.
fn logout_notice<S>(cx: &Ctx<'_, S>, client: &Client, session: &Session) -> Option<LogoutNotice> {
    let uri = client.backchannel_logout_uri.clone()?;
    let key = cx.keys.current(client.id_token_alg)?;
    let claims = LogoutTokenClaims {
        iss: cx.policy.issuer.clone(),
        aud: client.id.clone(),
        iat: cx.now,
        exp: cx.now + LOGOUT_TOKEN_TTL,
        jti: random_id(),
        sub: session.user_id.clone(),
        sid: session.id.clone(),
        events: json!({ BACKCHANNEL_EVENT: {} }),
    };
    let logout_token = tokens::sign(key, "logout+jwt", &claims)
        .map_err(|e| tracing::error!(error = %e, "cannot sign a logout token"))
        .ok()?;
    Some(LogoutNotice { uri, logout_token })
}

/// A session as operators see it (the CLI's `--json` and the admin API).
#[derive(Serialize, Debug)]
pub struct SessionSummary<'a> {
    pub sid: &'a str,
    pub user_id: &'a str,
    pub user_agent: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub amr: Vec<&'a str>,
    pub auth_time: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

impl<'a> From<&'a Session> for SessionSummary<'a> {
    fn from(s: &'a Session) -> Self {
        Self {
            sid: &s.id,
            user_id: &s.user_id,
            user_agent: s.device.user_agent.as_deref(),
            ip: s.device.ip.as_deref(),
            amr: s.amr.split(' ').collect(),
            auth_time: s.auth_time,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            expires_at: s.expires_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::grants::live_grant;
    use crate::core::model::{AuthMethod, Grant};
    use crate::core::testing::{
        MemoryStore, Recorder, block_on, client, context, policy, seed_session, seed_user_grant,
        user,
    };
    use crate::tokens::verify;

    #[test]
    fn ending_a_session_revokes_its_grants_and_tells_the_clients_once() {
        let store = MemoryStore::default();
        let policy = policy();
        let (grant, alice, session) = seed_user_grant(&store, 100);
        let listening = Client {
            id: "listener".into(),
            backchannel_logout_uri: Some("https://listener.example/bc".into()),
            ..client(AuthMethod::ClientSecretBasic)
        };
        store.put_client(listening.clone());
        store.put_grant(Grant {
            id: "g-listener".into(),
            client_id: listening.id.clone(),
            ..grant.clone()
        });
        let cx = context(&store, &policy, 200);
        let recorder = Recorder::default();
        let ended = block_on(end_user_sessions(&cx, &recorder, &alice.id, None)).unwrap();
        assert_eq!(ended, 1);
        assert!(
            block_on(live_grant(&store, &grant.id, 200))
                .unwrap()
                .is_none()
        );
        let notices = recorder.notices();
        assert_eq!(notices.len(), 1, "only the client with a back-channel URI");
        assert_eq!(notices[0].uri, "https://listener.example/bc");
        let claims: serde_json::Value =
            verify(&cx.keys, &notices[0].logout_token, "logout+jwt").unwrap();
        assert_eq!(claims["sid"], session.id.as_str());
        assert_eq!(claims["aud"], "listener");
        assert!(claims.get("nonce").is_none(), "a logout token has no nonce");
        let again = block_on(end_sessions(&cx, &recorder, &[session])).unwrap();
        assert_eq!(again, 0, "an ended session ends once");
        assert_eq!(recorder.notices().len(), 1);
    }

    #[test]
    fn users_sign_out_only_their_own_devices() {
        let store = MemoryStore::default();
        let policy = policy();
        let (_, alice, _) = seed_user_grant(&store, 100);
        let bob = user("bob");
        block_on(store.insert_user(&bob)).unwrap();
        let (_, bobs_sid, _) = seed_session(&store, &bob, 100);
        let cx = context(&store, &policy, 200);
        let recorder = Recorder::default();
        let refused = block_on(end_own_session(&cx, &recorder, &alice, &bobs_sid));
        assert!(matches!(refused, Err(AccountError::NotFound(_))));
        assert_eq!(block_on(live_sessions(&cx, &bob.id)).unwrap().len(), 1);
        block_on(end_own_session(&cx, &recorder, &bob, &bobs_sid)).unwrap();
        assert!(block_on(live_sessions(&cx, &bob.id)).unwrap().is_empty());
    }

    #[test]
    fn a_cookie_opens_only_a_live_session_of_an_enabled_user() {
        let store = MemoryStore::default();
        let policy = policy();
        let alice = user("alice");
        block_on(store.insert_user(&alice)).unwrap();
        let (token, sid, session) = seed_session(&store, &alice, 100);
        let at = |now| context(&store, &policy, now);
        let found = block_on(signed_in(&at(150), Some(&token))).unwrap();
        assert_eq!(found.map(|s| s.session.id), Some(sid.clone()));
        assert!(
            block_on(signed_in(&at(150), Some("forged")))
                .unwrap()
                .is_none()
        );
        assert!(
            block_on(signed_in(&at(session.expires_at), Some(&token)))
                .unwrap()
                .is_none()
        );
        block_on(store.set_disabled(&alice.id, true)).unwrap();
        assert!(
            block_on(signed_in(&at(150), Some(&token)))
                .unwrap()
                .is_none()
        );
    }
}
