//! The in-memory store: every storage port over plain vectors behind one mutex.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use crate::core::error::StoreError;
use crate::core::model::*;
use crate::core::ports::*;
use crate::keys::{JwkSet, JwksError, StoredKey};

/// Pending once, then ready: a point where another request may run.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            Poll::Pending
        }
    }
}

#[derive(Default)]
pub(super) struct Tables {
    pub(super) clients: Vec<Client>,
    pub(super) users: Vec<User>,
    pub(super) sessions: Vec<Session>,
    pub(super) interactions: Vec<Interaction>,
    pub(super) consents: HashMap<(String, String), Vec<String>>,
    pub(super) grants: Vec<Grant>,
    pub(super) codes: Vec<AuthCode>,
    pub(super) refresh_tokens: Vec<RefreshToken>,
    pub(super) revoked: HashMap<Revoked, i64>,
    pub(super) failures: HashMap<String, Failures>,
    pub(super) keys: Vec<StoredKey>,
    pub(super) used_assertions: HashMap<(String, String), i64>,
    /// Pushed requests not yet used.
    pub(super) pushed: Vec<PushedRequest>,
    pub(super) resources: Vec<Resource>,
    pub(super) totp: Vec<TotpFactor>,
    pub(super) passkeys: Vec<PasskeyFactor>,
    /// (user id, code hash) → when used.
    pub(super) recovery_codes: HashMap<(String, String), Option<i64>>,
    /// What each jwks_uri serves.
    pub(super) published: HashMap<String, Arc<JwkSet>>,
}

#[derive(Default)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
    interleaved: AtomicBool,
    rotations: AtomicUsize,
    throttle_writes: AtomicUsize,
    jwks_fetches: AtomicUsize,
}

impl MemoryStore {
    /// Every port call yields once before it acts (see `join_all`).
    pub fn interleaved(self) -> Self {
        self.interleaved.store(true, Ordering::SeqCst);
        self
    }

    /// How many times a throttling counter was written or cleared.
    pub fn throttle_writes(&self) -> usize {
        self.throttle_writes.load(Ordering::SeqCst)
    }

    /// How many refresh-token rotations succeeded.
    pub fn rotations(&self) -> usize {
        self.rotations.load(Ordering::SeqCst)
    }

    pub fn put_grant(&self, grant: Grant) {
        self.tables().grants.push(grant);
    }

    /// Serves `set` at `uri` from now on (a client publishing or rotating its keys).
    pub fn publish_jwks(&self, uri: &str, set: JwkSet) {
        self.tables().published.insert(uri.into(), Arc::new(set));
    }

    /// How many times a jwks_uri was fetched.
    pub fn jwks_fetches(&self) -> usize {
        self.jwks_fetches.load(Ordering::SeqCst)
    }

    pub fn put_client(&self, client: Client) {
        self.tables().clients.push(client);
    }

    /// The throttling counters, by key.
    pub fn failure_counts(&self) -> Vec<(String, i64)> {
        let mut counts: Vec<_> = self
            .tables()
            .failures
            .iter()
            .map(|(k, f)| (k.clone(), f.count))
            .collect();
        counts.sort();
        counts
    }

    pub(super) fn tables(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One port call: a yield point when interleaved, then `f` on the tables.
    pub(super) async fn with<T>(&self, f: impl FnOnce(&mut Tables) -> T) -> Result<T, StoreError> {
        if self.interleaved.load(Ordering::SeqCst) {
            YieldOnce(false).await;
        }
        Ok(f(&mut self.tables()))
    }
}

pub(super) fn find<T: Clone>(rows: &[T], matches: impl Fn(&T) -> bool) -> Option<T> {
    rows.iter().find(|r| matches(r)).cloned()
}

impl ClientRepo for MemoryStore {
    async fn insert_client(&self, client: &Client) -> Stored<()> {
        self.with(|t| t.clients.push(client.clone())).await
    }
    async fn find_client(&self, id: &str) -> Stored<Option<Client>> {
        self.with(|t| find(&t.clients, |c| c.id == id)).await
    }
    async fn list_clients(&self) -> Stored<Vec<Client>> {
        self.with(|t| t.clients.clone()).await
    }
    async fn delete_client(&self, id: &str) -> Stored<bool> {
        self.with(|t| {
            let before = t.clients.len();
            t.clients.retain(|c| c.id != id);
            t.clients.len() < before
        })
        .await
    }
}

impl UserRepo for MemoryStore {
    async fn insert_user(&self, user: &User) -> Stored<()> {
        self.with(|t| t.users.push(user.clone())).await
    }
    async fn find_user(&self, id: &str) -> Stored<Option<User>> {
        self.with(|t| find(&t.users, |u| u.id == id)).await
    }
    async fn find_user_by_username(&self, username: &str) -> Stored<Option<User>> {
        self.with(|t| find(&t.users, |u| u.username == username))
            .await
    }
    async fn list_users(&self) -> Stored<Vec<User>> {
        self.with(|t| t.users.clone()).await
    }
    async fn set_password(&self, user_id: &str, password_hash: &str, now: i64) -> Stored<()> {
        self.with(|t| {
            for u in t.users.iter_mut().filter(|u| u.id == user_id) {
                u.password_hash = password_hash.to_owned();
                u.password_changed_at = now;
            }
        })
        .await
    }
    async fn set_disabled(&self, user_id: &str, disabled: bool) -> Stored<()> {
        self.with(|t| {
            for u in t.users.iter_mut().filter(|u| u.id == user_id) {
                u.disabled = disabled;
            }
        })
        .await
    }
}

impl SessionRepo for MemoryStore {
    async fn insert_session(&self, session: &Session) -> Stored<()> {
        self.with(|t| t.sessions.push(session.clone())).await
    }
    async fn find_session(&self, id: &str) -> Stored<Option<Session>> {
        self.with(|t| find(&t.sessions, |s| s.id == id)).await
    }
    async fn live_session_by_token(&self, token_hash: &str, now: i64) -> Stored<Option<Session>> {
        self.with(|t| {
            find(&t.sessions, |s| {
                s.token_hash == token_hash && s.ended_at.is_none() && s.expires_at > now
            })
        })
        .await
    }
    async fn live_sessions(&self, user_id: &str, now: i64) -> Stored<Vec<Session>> {
        self.with(|t| {
            let mut live: Vec<Session> = t
                .sessions
                .iter()
                .filter(|s| s.user_id == user_id && s.ended_at.is_none() && s.expires_at > now)
                .cloned()
                .collect();
            live.sort_by_key(|s| std::cmp::Reverse(s.last_seen_at));
            live
        })
        .await
    }
    async fn reauthenticate(&self, id: &str, amr: &str, now: i64) -> Stored<()> {
        self.with(|t| {
            for s in t.sessions.iter_mut().filter(|s| s.id == id) {
                s.amr = amr.to_owned();
                s.auth_time = now;
                s.last_seen_at = now;
            }
        })
        .await
    }
    async fn touch_session(&self, id: &str, now: i64) -> Stored<()> {
        self.with(|t| {
            for s in t.sessions.iter_mut().filter(|s| s.id == id) {
                s.last_seen_at = now;
            }
        })
        .await
    }
    async fn end_session(&self, id: &str, now: i64) -> Stored<bool> {
        self.with(|t| {
            let live = t
                .sessions
                .iter_mut()
                .find(|s| s.id == id && s.ended_at.is_none());
            live.map(|s| s.ended_at = Some(now)).is_some()
        })
        .await
    }
}

impl ResourceRepo for MemoryStore {
    async fn insert_resource(&self, resource: &Resource) -> Stored<()> {
        self.with(|t| t.resources.push(resource.clone())).await
    }
    async fn find_resource(&self, id: &str) -> Stored<Option<Resource>> {
        self.with(|t| find(&t.resources, |r| r.id == id)).await
    }
    async fn list_resources(&self) -> Stored<Vec<Resource>> {
        self.with(|t| t.resources.clone()).await
    }
    async fn delete_resource(&self, id: &str) -> Stored<bool> {
        self.with(|t| {
            let before = t.resources.len();
            t.resources.retain(|r| r.id != id);
            t.resources.len() < before
        })
        .await
    }
}

impl PushedRequestRepo for MemoryStore {
    async fn insert_pushed(&self, pushed: &PushedRequest) -> Stored<()> {
        self.with(|t| t.pushed.push(pushed.clone())).await
    }
    async fn take_pushed(&self, id_hash: &str, now: i64) -> Stored<Option<PushedRequest>> {
        self.with(|t| {
            let at = t.pushed.iter().position(|p| p.id_hash == id_hash)?;
            Some(t.pushed.remove(at)).filter(|p| p.expires_at > now)
        })
        .await
    }
}

impl InteractionRepo for MemoryStore {
    async fn insert_interaction(&self, interaction: &Interaction) -> Stored<()> {
        self.with(|t| t.interactions.push(interaction.clone()))
            .await
    }
    async fn pending_interaction(&self, id: &str, now: i64) -> Stored<Option<Interaction>> {
        self.with(|t| {
            find(&t.interactions, |i| {
                i.id == id && i.completed_at.is_none() && i.expires_at > now
            })
        })
        .await
    }
    async fn set_interaction_session(&self, id: &str, session_id: &str) -> Stored<()> {
        self.with(|t| {
            for i in t.interactions.iter_mut().filter(|i| i.id == id) {
                i.session_id = Some(session_id.to_owned());
            }
        })
        .await
    }
    async fn complete_interaction(&self, id: &str, now: i64) -> Stored<bool> {
        self.with(|t| {
            let pending = t
                .interactions
                .iter_mut()
                .find(|i| i.id == id && i.completed_at.is_none());
            pending.map(|i| i.completed_at = Some(now)).is_some()
        })
        .await
    }
}

impl ConsentRepo for MemoryStore {
    async fn consented_scopes(&self, user_id: &str, client_id: &str) -> Stored<Vec<String>> {
        let key = (user_id.to_owned(), client_id.to_owned());
        self.with(|t| t.consents.get(&key).cloned().unwrap_or_default())
            .await
    }
    async fn save_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scopes: &[String],
        _now: i64,
    ) -> Stored<()> {
        let key = (user_id.to_owned(), client_id.to_owned());
        self.with(|t| {
            t.consents.insert(key, scopes.to_vec());
        })
        .await
    }
}

impl GrantRepo for MemoryStore {
    async fn find_grant(&self, id: &str) -> Stored<Option<Grant>> {
        self.with(|t| find(&t.grants, |g| g.id == id)).await
    }
    async fn revoke_grant(&self, id: &str, now: i64) -> Stored<()> {
        self.with(|t| {
            for g in t
                .grants
                .iter_mut()
                .filter(|g| g.id == id && g.revoked_at.is_none())
            {
                g.revoked_at = Some(now);
            }
        })
        .await
    }
    async fn revoke_session_grants(&self, session_id: &str, now: i64) -> Stored<()> {
        self.with(|t| {
            let of_session = |g: &&mut Grant| {
                g.session_id.as_deref() == Some(session_id) && g.revoked_at.is_none()
            };
            for g in t.grants.iter_mut().filter(of_session) {
                g.revoked_at = Some(now);
            }
        })
        .await
    }
    async fn session_client_ids(&self, session_id: &str) -> Stored<Vec<String>> {
        self.with(|t| {
            let mut ids: Vec<String> = t
                .grants
                .iter()
                .filter(|g| g.session_id.as_deref() == Some(session_id))
                .map(|g| g.client_id.clone())
                .collect();
            ids.sort();
            ids.dedup();
            ids
        })
        .await
    }
}

impl CodeRepo for MemoryStore {
    async fn insert_grant_and_code(&self, grant: &Grant, code: &AuthCode) -> Stored<()> {
        self.with(|t| {
            t.grants.push(grant.clone());
            t.codes.push(code.clone());
        })
        .await
    }
    async fn find_code(&self, code_hash: &str) -> Stored<Option<AuthCode>> {
        self.with(|t| find(&t.codes, |c| c.code_hash == code_hash))
            .await
    }
    async fn claim_code(
        &self,
        code_hash: &str,
        now: i64,
        first_refresh_token: Option<&RefreshToken>,
    ) -> Stored<bool> {
        self.with(|t| {
            let unused = t
                .codes
                .iter_mut()
                .find(|c| c.code_hash == code_hash && c.used_at.is_none());
            let won = unused.map(|c| c.used_at = Some(now)).is_some();
            if won {
                t.refresh_tokens.extend(first_refresh_token.cloned());
            }
            won
        })
        .await
    }
}

impl RefreshTokenRepo for MemoryStore {
    async fn find_refresh_token(&self, token_hash: &str) -> Stored<Option<RefreshToken>> {
        self.with(|t| find(&t.refresh_tokens, |r| r.token_hash == token_hash))
            .await
    }
    async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        successor: &RefreshToken,
        now_ms: i64,
    ) -> Stored<bool> {
        self.with(|t| {
            let unrotated = t
                .refresh_tokens
                .iter_mut()
                .find(|r| r.token_hash == old_hash && r.rotated_at_ms.is_none());
            let won = unrotated.map(|r| r.rotated_at_ms = Some(now_ms)).is_some();
            if won {
                t.refresh_tokens.push(successor.clone());
                self.rotations.fetch_add(1, Ordering::SeqCst);
            }
            won
        })
        .await
    }
}

impl RevocationList for MemoryStore {
    async fn revoke(&self, revoked: &Revoked, until: i64, _now: i64) -> Stored<()> {
        self.with(|t| {
            t.revoked.entry(revoked.clone()).or_insert(until);
        })
        .await
    }
    async fn any_revoked(&self, revoked: &[Revoked], now: i64) -> Stored<bool> {
        self.with(|t| {
            revoked
                .iter()
                .any(|r| t.revoked.get(r).is_some_and(|until| *until > now))
        })
        .await
    }
}

impl ThrottleRepo for MemoryStore {
    async fn failures(&self, key: &str) -> Stored<Option<Failures>> {
        self.with(|t| t.failures.get(key).copied()).await
    }
    async fn save_failures(&self, key: &str, failures: &Failures) -> Stored<()> {
        self.throttle_writes.fetch_add(1, Ordering::SeqCst);
        self.with(|t| {
            t.failures.insert(key.to_owned(), *failures);
        })
        .await
    }
    async fn clear_failures(&self, key: &str) -> Stored<()> {
        self.throttle_writes.fetch_add(1, Ordering::SeqCst);
        self.with(|t| {
            t.failures.remove(key);
        })
        .await
    }
}

impl KeyRepo for MemoryStore {
    async fn signing_keys(&self) -> Stored<Vec<StoredKey>> {
        self.with(|t| {
            let mut keys = t.keys.clone();
            keys.sort_by_key(|k| k.activates_at);
            keys
        })
        .await
    }
    async fn insert_key(&self, key: &StoredKey) -> Stored<bool> {
        self.with(|t| {
            let taken = t
                .keys
                .iter()
                .any(|k| k.alg == key.alg && k.generation == key.generation);
            if !taken {
                t.keys.push(key.clone());
            }
            !taken
        })
        .await
    }
    async fn set_key_activation(&self, kid: &str, activates_at: i64) -> Stored<()> {
        self.with(|t| {
            for k in t.keys.iter_mut().filter(|k| k.kid == kid) {
                k.activates_at = activates_at;
            }
        })
        .await
    }
    async fn revoke_key(&self, kid: &str, now: i64) -> Stored<()> {
        self.with(|t| {
            for k in t
                .keys
                .iter_mut()
                .filter(|k| k.kid == kid && k.revoked_at.is_none())
            {
                k.revoked_at = Some(now);
            }
        })
        .await
    }
    async fn delete_key(&self, kid: &str) -> Stored<()> {
        self.with(|t| t.keys.retain(|k| k.kid != kid)).await
    }
    async fn sealed_client_secrets(&self) -> Stored<Vec<(String, String)>> {
        self.with(|t| {
            let sealed = t.clients.iter();
            sealed
                .filter_map(|c| Some((c.id.clone(), c.secret_sealed.clone()?)))
                .collect()
        })
        .await
    }
    async fn replace_sealed(
        &self,
        keys: &[(String, String)],
        client_secrets: &[(String, String)],
    ) -> Stored<()> {
        self.with(|t| {
            for (kid, value) in keys {
                for k in t.keys.iter_mut().filter(|k| &k.kid == kid) {
                    k.sealed_private_key = value.clone();
                }
            }
            for (id, value) in client_secrets {
                for c in t.clients.iter_mut().filter(|c| &c.id == id) {
                    c.secret_sealed = Some(value.clone());
                }
            }
        })
        .await
    }
}

impl AssertionRepo for MemoryStore {
    async fn first_use(&self, issuer: &str, jti: &str, expires_at: i64) -> Stored<bool> {
        self.with(|t| {
            let key = (issuer.to_owned(), jti.to_owned());
            t.used_assertions.insert(key, expires_at).is_none()
        })
        .await
    }
}

/// The in-memory store also plays the clients' web servers: `publish_jwks` sets what a
/// jwks_uri answers. It does not cache: every call is a fetch.
impl ClientKeys for MemoryStore {
    async fn jwks(&self, uri: &str, _refresh: bool) -> Result<Arc<JwkSet>, JwksError> {
        self.jwks_fetches.fetch_add(1, Ordering::SeqCst);
        let published = self.tables().published.get(uri).cloned();
        published.ok_or_else(|| JwksError::Fetch(format!("{uri} answered 404")))
    }
}
