//! An in-memory implementation of every port, and fixtures, for the core's unit tests. Its
//! futures never wait on anything, so the tests drive them with `block_on` and no runtime;
//! `interleaved()` makes each port call yield once, so `join_all` runs concurrent use cases
//! step by step, like racing requests on a real database.

mod factors;
mod memory;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context as TaskContext, Poll, Waker};

pub use memory::MemoryStore;
use memory::find;

use super::model::*;
use super::ports::*;
use super::scope::Scope;
use super::{Ctx, Policy, Throttle};
use crate::keys::{Alg, Keyring, MasterKey, SigningKey, generate};
use crate::secret::{hash, random_token};

/// Runs a future that never waits on I/O to completion.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = TaskContext::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// Polls the futures in turn, one step each, until all are done; results in input order.
pub fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut results: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    let mut cx = TaskContext::from_waker(Waker::noop());
    while results.iter().any(Option::is_none) {
        for (future, result) in futures.iter_mut().zip(results.iter_mut()) {
            if result.is_none()
                && let Poll::Ready(out) = future.as_mut().poll(&mut cx)
            {
                *result = Some(out);
            }
        }
    }
    results.into_iter().flatten().collect()
}

/// Runs offloaded work right away, on the caller's thread.
pub struct Inline;

impl Offload for Inline {
    async fn run<T, F>(&self, job: F) -> Option<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        Some(job())
    }
}

/// Keeps the logout notices it is given.
#[derive(Default)]
pub struct Recorder(Mutex<Vec<LogoutNotice>>);

impl Recorder {
    pub fn notices(&self) -> Vec<LogoutNotice> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Notifier for Recorder {
    async fn notify(&self, notices: Vec<LogoutNotice>) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(notices);
    }
}

pub fn policy() -> Policy {
    Policy {
        issuer: "https://id.example".into(),
        access_token_ttl: 300,
        id_token_ttl: 3600,
        session_ttl: 14 * 86_400,
        code_ttl: 60,
        interaction_ttl: 1800,
        access_token_alg: Alg::ES256,
        refresh_token_ttl: 14 * 86_400,
        refresh_token_absolute_ttl: 90 * 86_400,
        refresh_reuse_grace: 0,
        dpop_nonce: false,
        require_par: false,
        require_mfa: false,
        clock_skew: 60,
        par_ttl: 60,
        assertion_audiences: vec![
            "https://id.example".into(),
            "https://id.example/token".into(),
        ],
        throttle: Throttle {
            max_failures: 5,
            max_failures_per_ip: 50,
            window: 900,
            lockout: 900,
        },
    }
}

pub fn master() -> &'static MasterKey {
    static MASTER: OnceLock<MasterKey> = OnceLock::new();
    MASTER.get_or_init(|| MasterKey::parse(&"5a".repeat(32)).expect("a valid test key"))
}

/// A keyring whose RS256 and ES256 keys sign (generated once per test binary).
pub fn keyring() -> Arc<Keyring> {
    static KEYS: OnceLock<Arc<Keyring>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let published = [Alg::RS256, Alg::ES256]
            .into_iter()
            .map(|alg| {
                let stored = generate(alg)
                    .expect("key generation")
                    .seal(master(), 1, 0, 0);
                let key = SigningKey::unseal(&stored, master()).expect("unseal");
                (Arc::new(key), true)
            })
            .collect();
        Arc::new(Keyring::new(published))
    })
    .clone()
}

pub fn context<'a>(store: &'a MemoryStore, policy: &'a Policy, now: i64) -> Ctx<'a, MemoryStore> {
    context_ms(store, policy, now * 1000)
}

/// The same at a Unix time in milliseconds.
pub fn context_ms<'a>(
    store: &'a MemoryStore,
    policy: &'a Policy,
    now_ms: i64,
) -> Ctx<'a, MemoryStore> {
    Ctx {
        store,
        policy,
        keys: keyring(),
        secrets: master(),
        now: now_ms.div_euclid(1000),
        now_ms,
    }
}

/// A client "app" allowed the code and refresh grants, redirecting to https://app.example/cb.
pub fn client(auth_method: AuthMethod) -> Client {
    Client {
        id: "app".into(),
        name: "App".into(),
        secret_hash: None,
        secret_sealed: None,
        redirect_uris: vec!["https://app.example/cb".into()],
        post_logout_redirect_uris: vec![],
        auth_method,
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scopes: vec!["openid".into(), "profile".into(), "offline_access".into()],
        id_token_alg: Alg::RS256,
        access_token_alg: None,
        created_at: 0,
        audience: None,
        access_token_ttl: None,
        id_token_ttl: None,
        refresh_token_ttl: None,
        refresh_reuse_grace: None,
        backchannel_logout_uri: None,
        introspect_any: false,
        jwks: None,
        jwks_uri: None,
        require_dpop: false,
        require_par: false,
        require_mfa: false,
        profile: None,
    }
}

pub fn user(username: &str) -> User {
    User {
        id: format!("id-{username}"),
        username: username.into(),
        email: Some(format!("{username}@example.com")),
        name: None,
        password_hash: crate::password::hash("correct horse").expect("argon2"),
        disabled: false,
        password_changed_at: 0,
        created_at: 0,
    }
}

/// A live session of `user`; returns the session's cookie token too.
pub fn seed_session(store: &MemoryStore, user: &User, now: i64) -> (String, String, Session) {
    let token = random_token();
    let session = Session {
        id: format!("sid-{}", &token[..8]),
        token_hash: hash(&token),
        user_id: user.id.clone(),
        device: Device::default(),
        amr: "pwd".into(),
        auth_time: now,
        created_at: now,
        last_seen_at: now,
        expires_at: now + 86_400,
        ended_at: None,
    };
    store.tables().sessions.push(session.clone());
    (token, session.id.clone(), session)
}

/// alice (created on first use), signed in on a new device, with a grant to "app" for
/// openid profile offline_access.
pub fn seed_user_grant(store: &MemoryStore, now: i64) -> (Grant, User, Session) {
    let existing = find(&store.tables().users, |u| u.username == "alice");
    let alice = existing.unwrap_or_else(|| {
        let alice = user("alice");
        store.tables().users.push(alice.clone());
        store.put_client(client(AuthMethod::ClientSecretBasic));
        alice
    });
    let (_, _, session) = seed_session(store, &alice, now);
    let grant = Grant {
        id: format!("grant-{}", session.id),
        user_id: Some(alice.id.clone()),
        client_id: "app".into(),
        session_id: Some(session.id.clone()),
        scope: Scope::parse("openid profile offline_access").expect("scope"),
        auth_time: Some(now),
        created_at: now,
        revoked_at: None,
        expires_at: Some(now + 90 * 86_400),
        resource: None,
    };
    store.tables().grants.push(grant.clone());
    (grant, alice, session)
}

/// A fresh code for `client` "app" (with an optional PKCE challenge); returns it and its
/// grant's id.
pub fn seed_code(
    store: &MemoryStore,
    client: &Client,
    challenge: Option<&str>,
    now: i64,
) -> (String, String) {
    let (grant, _, _) = seed_user_grant(store, now);
    let code = random_token();
    store.tables().codes.push(AuthCode {
        code_hash: hash(&code),
        grant_id: grant.id.clone(),
        client_id: client.id.clone(),
        redirect_uri: "https://app.example/cb".into(),
        nonce: Some("n-1".into()),
        code_challenge: challenge.map(str::to_owned),
        created_at: now,
        expires_at: now + policy().code_ttl,
        used_at: None,
        dpop_jkt: None,
    });
    (code, grant.id)
}

/// A refresh token of a fresh grant of alice to "app"; returns it and the grant's id.
pub fn seed_refresh_token(store: &MemoryStore, now: i64) -> (String, String) {
    let (grant, _, _) = seed_user_grant(store, now);
    let token = random_token();
    store.tables().refresh_tokens.push(RefreshToken {
        token_hash: hash(&token),
        grant_id: grant.id.clone(),
        created_at: now,
        expires_at: now + policy().refresh_token_ttl,
        rotated_at_ms: None,
        dpop_jkt: None,
    });
    (token, grant.id)
}

/// A store with `alice`, client "app" (also allowed client_credentials), a code and a
/// refresh token of hers with the given values, issued at `now`.
pub fn store_with_known_tokens(
    alice: &User,
    code: &str,
    refresh_token: &str,
    now: i64,
) -> MemoryStore {
    let store = MemoryStore::default();
    store.tables().users.push(alice.clone());
    let mut app = client(AuthMethod::ClientSecretBasic);
    app.grant_types.push(GrantType::ClientCredentials);
    seed_code(&store, &app, None, now);
    seed_refresh_token(&store, now);
    store.put_client(app);
    let mut tables = store.tables();
    if let Some(row) = tables.codes.last_mut() {
        row.code_hash = hash(code);
    }
    if let Some(row) = tables.refresh_tokens.last_mut() {
        row.token_hash = hash(refresh_token);
    }
    drop(tables);
    store
}

/// Binds every stored refresh token to the DPoP key `jkt`, as a public client's proof would.
pub fn bind_refresh_tokens(store: &MemoryStore, jkt: &str) {
    for row in &mut store.tables().refresh_tokens {
        row.dpop_jkt = Some(jkt.to_owned());
    }
}

/// Request parameters from literal pairs.
pub fn form(pairs: &[(&str, &str)]) -> crate::core::params::Params {
    let owned = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    crate::core::params::Params::parse(owned).expect("valid test parameters")
}
