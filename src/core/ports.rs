//! The narrow interfaces the use cases reach the outside world through: one trait per
//! aggregate the store keeps, plus delivery of back-channel logout tokens, the keys clients
//! publish at their jwks_uri, and a place to run CPU-heavy work. `store::Store` implements the storage ports for SQLite and PostgreSQL;
//! `core::testing` has an in-memory implementation for the unit tests.
//!
//! Secrets arrive here already hashed: the ports never see a code, token or password.

use std::future::Future;
use std::sync::Arc;

use super::error::StoreError;
use super::model::{
    AuthCode, Client, Failures, Grant, Interaction, PasskeyFactor, PushedRequest, RefreshToken,
    Resource, Revoked, Session, TotpFactor, User,
};
use crate::keys::{JwkSet, JwksError, StoredKey};

pub type Stored<T> = Result<T, StoreError>;

pub trait ClientRepo: Sync {
    fn insert_client(&self, client: &Client) -> impl Future<Output = Stored<()>> + Send;
    fn find_client(&self, id: &str) -> impl Future<Output = Stored<Option<Client>>> + Send;
    /// Oldest first.
    fn list_clients(&self) -> impl Future<Output = Stored<Vec<Client>>> + Send;
    /// False when there was no such client.
    fn delete_client(&self, id: &str) -> impl Future<Output = Stored<bool>> + Send;
}

pub trait UserRepo: Sync {
    fn insert_user(&self, user: &User) -> impl Future<Output = Stored<()>> + Send;
    fn find_user(&self, id: &str) -> impl Future<Output = Stored<Option<User>>> + Send;
    fn find_user_by_username(
        &self,
        username: &str,
    ) -> impl Future<Output = Stored<Option<User>>> + Send;
    /// By username.
    fn list_users(&self) -> impl Future<Output = Stored<Vec<User>>> + Send;
    fn set_password(
        &self,
        user_id: &str,
        password_hash: &str,
        now: i64,
    ) -> impl Future<Output = Stored<()>> + Send;
    fn set_disabled(
        &self,
        user_id: &str,
        disabled: bool,
    ) -> impl Future<Output = Stored<()>> + Send;
}

pub trait SessionRepo: Sync {
    fn insert_session(&self, session: &Session) -> impl Future<Output = Stored<()>> + Send;
    fn find_session(&self, id: &str) -> impl Future<Output = Stored<Option<Session>>> + Send;
    /// The session whose cookie token hashes to `token_hash`, if it has neither ended nor
    /// expired at `now`.
    fn live_session_by_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> impl Future<Output = Stored<Option<Session>>> + Send;
    /// A user's sessions that have neither ended nor expired, most recently seen first.
    fn live_sessions(
        &self,
        user_id: &str,
        now: i64,
    ) -> impl Future<Output = Stored<Vec<Session>>> + Send;
    /// A fresh authentication in an existing session (prompt=login, max_age, a second
    /// factor): its methods become `amr`.
    fn reauthenticate(
        &self,
        id: &str,
        amr: &str,
        now: i64,
    ) -> impl Future<Output = Stored<()>> + Send;
    /// The device was used: its "last seen" moves.
    fn touch_session(&self, id: &str, now: i64) -> impl Future<Output = Stored<()>> + Send;
    /// Marks the session ended; false if it had ended already.
    fn end_session(&self, id: &str, now: i64) -> impl Future<Output = Stored<bool>> + Send;
}

/// Users' second factors: an authenticator app (TOTP) and recovery codes.
pub trait FactorRepo: Sync {
    fn totp(&self, user_id: &str) -> impl Future<Output = Stored<Option<TotpFactor>>> + Send;
    /// Sets the user's TOTP factor, replacing any other (a new enrolment starts unconfirmed).
    fn put_totp(&self, factor: &TotpFactor) -> impl Future<Output = Stored<()>> + Send;
    /// Records `step` as used, with one conditional update that succeeds only if it is later
    /// than the last step used: false when this or a later code was used first (on any
    /// replica). `confirm_at` also confirms an enrolment.
    fn use_totp_step(
        &self,
        user_id: &str,
        step: i64,
        confirm_at: Option<i64>,
    ) -> impl Future<Output = Stored<bool>> + Send;
    /// Replaces the user's recovery codes with these (hashes).
    fn replace_recovery_codes(
        &self,
        user_id: &str,
        hashes: &[String],
        now: i64,
    ) -> impl Future<Output = Stored<()>> + Send;
    /// Marks an unused code used; false if the user has no unused code with that hash.
    fn use_recovery_code(
        &self,
        user_id: &str,
        hash: &str,
        now: i64,
    ) -> impl Future<Output = Stored<bool>> + Send;
    fn unused_recovery_codes(&self, user_id: &str) -> impl Future<Output = Stored<usize>> + Send;
    /// Removes the user's TOTP factor alone; false when there was none.
    fn delete_totp(&self, user_id: &str) -> impl Future<Output = Stored<bool>> + Send;
    /// Removes the user's TOTP factor, passkeys and recovery codes.
    fn delete_factors(&self, user_id: &str) -> impl Future<Output = Stored<()>> + Send;
    /// The user's passkeys, oldest first.
    fn passkeys(&self, user_id: &str) -> impl Future<Output = Stored<Vec<PasskeyFactor>>> + Send;
    fn passkey_by_credential(
        &self,
        credential_id: &str,
    ) -> impl Future<Output = Stored<Option<PasskeyFactor>>> + Send;
    /// Registers a passkey; false when its credential id is registered already (to anyone).
    fn insert_passkey(&self, passkey: &PasskeyFactor) -> impl Future<Output = Stored<bool>> + Send;
    /// Records a use: the credential's new state (counter, backup flags) and the time.
    fn passkey_used(
        &self,
        id: &str,
        credential: &str,
        backup_eligible: bool,
        now: i64,
    ) -> impl Future<Output = Stored<()>> + Send;
    /// Removes one of the user's passkeys; false when the user has no passkey `id`.
    fn delete_passkey(&self, user_id: &str, id: &str) -> impl Future<Output = Stored<bool>> + Send;
}

pub trait InteractionRepo: Sync {
    fn insert_interaction(
        &self,
        interaction: &Interaction,
    ) -> impl Future<Output = Stored<()>> + Send;
    /// Neither expired nor completed at `now`.
    fn pending_interaction(
        &self,
        id: &str,
        now: i64,
    ) -> impl Future<Output = Stored<Option<Interaction>>> + Send;
    fn set_interaction_session(
        &self,
        id: &str,
        session_id: &str,
    ) -> impl Future<Output = Stored<()>> + Send;
    /// Marks it completed with one conditional update; false if another request did first.
    fn complete_interaction(&self, id: &str, now: i64)
    -> impl Future<Output = Stored<bool>> + Send;
}

pub trait PushedRequestRepo: Sync {
    fn insert_pushed(&self, pushed: &PushedRequest) -> impl Future<Output = Stored<()>> + Send;
    /// Marks it used with one conditional update and returns it; None when it is unknown,
    /// expired at `now`, or was used before.
    fn take_pushed(
        &self,
        id_hash: &str,
        now: i64,
    ) -> impl Future<Output = Stored<Option<PushedRequest>>> + Send;
}

pub trait ResourceRepo: Sync {
    fn insert_resource(&self, resource: &Resource) -> impl Future<Output = Stored<()>> + Send;
    fn find_resource(&self, id: &str) -> impl Future<Output = Stored<Option<Resource>>> + Send;
    fn list_resources(&self) -> impl Future<Output = Stored<Vec<Resource>>> + Send;
    /// False when there was none.
    fn delete_resource(&self, id: &str) -> impl Future<Output = Stored<bool>> + Send;
}

pub trait ConsentRepo: Sync {
    fn consented_scopes(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> impl Future<Output = Stored<Vec<String>>> + Send;
    fn save_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scopes: &[String],
        now: i64,
    ) -> impl Future<Output = Stored<()>> + Send;
}

pub trait GrantRepo: Sync {
    fn find_grant(&self, id: &str) -> impl Future<Output = Stored<Option<Grant>>> + Send;
    fn revoke_grant(&self, id: &str, now: i64) -> impl Future<Output = Stored<()>> + Send;
    fn revoke_session_grants(
        &self,
        session_id: &str,
        now: i64,
    ) -> impl Future<Output = Stored<()>> + Send;
    /// The clients that hold grants made in a session, each once.
    fn session_client_ids(
        &self,
        session_id: &str,
    ) -> impl Future<Output = Stored<Vec<String>>> + Send;
}

pub trait CodeRepo: Sync {
    /// A new grant and its code, in one transaction (one commit on the authorize path).
    fn insert_grant_and_code(
        &self,
        grant: &Grant,
        code: &AuthCode,
    ) -> impl Future<Output = Stored<()>> + Send;
    fn find_code(&self, code_hash: &str) -> impl Future<Output = Stored<Option<AuthCode>>> + Send;
    /// Marks the code used with one conditional update (of concurrent claims exactly one wins)
    /// and, when it wins, stores the grant's first refresh token in the same transaction.
    fn claim_code(
        &self,
        code_hash: &str,
        now: i64,
        first_refresh_token: Option<&RefreshToken>,
    ) -> impl Future<Output = Stored<bool>> + Send;
}

pub trait RefreshTokenRepo: Sync {
    fn find_refresh_token(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Stored<Option<RefreshToken>>> + Send;
    /// Marks `old_hash` rotated at `now_ms` (Unix milliseconds) and stores `successor`,
    /// atomically. False when another request rotated it first: of any number of concurrent
    /// calls exactly one wins.
    fn rotate_refresh_token(
        &self,
        old_hash: &str,
        successor: &RefreshToken,
        now_ms: i64,
    ) -> impl Future<Output = Stored<bool>> + Send;
}

/// The revocation list. Every replica answers `any_revoked` from memory, refreshed within the
/// cache interval (and at once for what it revoked itself).
pub trait RevocationList: Sync {
    /// Records a revocation, kept until `until` (when nothing it affects is valid any more).
    fn revoke(
        &self,
        revoked: &Revoked,
        until: i64,
        now: i64,
    ) -> impl Future<Output = Stored<()>> + Send;
    /// Whether any of these is revoked.
    fn any_revoked(
        &self,
        revoked: &[Revoked],
        now: i64,
    ) -> impl Future<Output = Stored<bool>> + Send;
}

/// Counters of failed guesses, shared by every replica.
pub trait ThrottleRepo: Sync {
    fn failures(&self, key: &str) -> impl Future<Output = Stored<Option<Failures>>> + Send;
    fn save_failures(
        &self,
        key: &str,
        failures: &Failures,
    ) -> impl Future<Output = Stored<()>> + Send;
    fn clear_failures(&self, key: &str) -> impl Future<Output = Stored<()>> + Send;
}

pub trait KeyRepo: Sync {
    /// Every key row, in activation order.
    fn signing_keys(&self) -> impl Future<Output = Stored<Vec<StoredKey>>> + Send;
    /// False when a key of the same (alg, generation) exists: another replica created it.
    fn insert_key(&self, key: &StoredKey) -> impl Future<Output = Stored<bool>> + Send;
    fn set_key_activation(
        &self,
        kid: &str,
        activates_at: i64,
    ) -> impl Future<Output = Stored<()>> + Send;
    fn revoke_key(&self, kid: &str, now: i64) -> impl Future<Output = Stored<()>> + Send;
    fn delete_key(&self, kid: &str) -> impl Future<Output = Stored<()>> + Send;
    /// The client secrets sealed under the master key (client_secret_jwt): (client id, sealed).
    fn sealed_client_secrets(&self) -> impl Future<Output = Stored<Vec<(String, String)>>> + Send;
    /// Replaces everything the master key seals in one transaction: the private keys (kid,
    /// sealed) and the client secrets (client id, sealed).
    fn replace_sealed(
        &self,
        keys: &[(String, String)],
        client_secrets: &[(String, String)],
    ) -> impl Future<Output = Stored<()>> + Send;
}

/// A signed logout token on its way to a client's back-channel logout URI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogoutNotice {
    pub uri: String,
    pub logout_token: String,
}

/// Delivers back-channel logout tokens (OIDC Back-Channel Logout 1.0 §2.5). Whether the
/// caller waits for the clients is the adapter's choice: a request does not, a CLI does.
pub trait Notifier: Sync {
    fn notify(&self, notices: Vec<LogoutNotice>) -> impl Future<Output = ()> + Send;
}

/// Runs CPU-heavy work (argon2id, RSA key generation) away from the threads serving requests.
/// None when the work could not run (the server is overloaded or shutting down).
pub trait Offload: Sync {
    fn run<T, F>(&self, job: F) -> impl Future<Output = Option<T>> + Send
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static;
}

/// One-time JWTs already accepted (client assertions, DPoP proofs), shared by every replica:
/// each (issuer, jti) is accepted once, and remembered until it expires. The issuer is the
/// client_id of an assertion, or `dpop:` and the key's thumbprint for a proof.
pub trait AssertionRepo: Sync {
    /// Records the use; false when it was used before.
    fn first_use(
        &self,
        issuer: &str,
        jti: &str,
        expires_at: i64,
    ) -> impl Future<Output = Stored<bool>> + Send;
}

/// The public keys a private_key_jwt client publishes at its `jwks_uri`, fetched with a
/// timeout and a size limit and kept for a while. `refresh` asks for a new copy (the client
/// signed with a key the cached copy lacks); the adapter bounds how often it refetches.
pub trait ClientKeys: Sync {
    fn jwks(
        &self,
        uri: &str,
        refresh: bool,
    ) -> impl Future<Output = Result<Arc<JwkSet>, JwksError>> + Send;
}

/// What the user grants (a code's redemption, a refresh) need of the store.
pub trait GrantStore:
    GrantRepo + SessionRepo + UserRepo + RefreshTokenRepo + RevocationList + ClientRepo + ResourceRepo
{
}

impl<T> GrantStore for T where
    T: GrantRepo
        + SessionRepo
        + UserRepo
        + RefreshTokenRepo
        + RevocationList
        + ClientRepo
        + ResourceRepo
{
}
