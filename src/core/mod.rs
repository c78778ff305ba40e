//! The provider itself: every protocol rule and use case, free of any web framework, database
//! library, HTTP client or async runtime. Use cases take the time (`now`) and reach storage,
//! delivery and heavy computation only through the traits in `ports`; the adapters (`web`,
//! `cli`, `store`, `backchannel`, `offload`) implement or call them. A test
//! (`tests/it/ops/architecture.rs`) keeps it that way.

pub mod access;
pub mod accounts;
pub mod authorize;
pub mod consent;
pub mod dpop;
pub mod enrolment;
pub mod error;
pub mod grants;
pub mod introspection;
pub mod login;
pub mod logout;
pub mod mfa;
pub mod model;
pub mod params;
pub mod passkeys;
pub mod pkce;
pub mod ports;
pub mod resources;
pub mod revocation;
pub mod rotation;
pub mod scope;
pub mod sessions;
pub mod throttle;
pub mod token;
pub mod totp;
pub mod userinfo;

#[cfg(any(test, fuzzing))]
pub mod fuzzing;
// The fuzz targets use only some of the unit tests' fixtures.
#[cfg(any(test, fuzzing))]
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) mod testing;

use std::sync::Arc;

use crate::keys::{Alg, Keyring, MasterKey};

/// The settings the rules follow (built once from the configuration).
#[derive(Clone, Debug)]
pub struct Policy {
    /// The issuer URL, compared byte for byte by relying parties.
    pub issuer: String,
    /// Lifetimes in seconds.
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    pub session_ttl: i64,
    pub code_ttl: i64,
    /// How long a pushed request's request_uri may be used (RFC 9126 §2.2).
    pub par_ttl: i64,
    pub interaction_ttl: i64,
    pub access_token_alg: Alg,
    /// Idle lifetime of a refresh token: each rotation extends the grant by this much.
    pub refresh_token_ttl: i64,
    /// Absolute lifetime of a grant's refresh tokens, counted from the sign-in.
    pub refresh_token_absolute_ttl: i64,
    /// Seconds during which a just-rotated refresh token still yields its successor, unless a
    /// client registers its own; 0 (the default) means none: any reuse revokes the grant.
    pub refresh_reuse_grace: i64,
    /// DPoP proofs must carry the server's nonce (RFC 9449 §8).
    pub dpop_nonce: bool,
    /// Authorization requests must be pushed first (RFC 9126 §5), by every client.
    pub require_par: bool,
    /// Every user must sign in with a second factor (enrolling one if they have none).
    pub require_mfa: bool,
    /// Seconds a client's clock may run ahead of Tessera's: how far in the future the `iat`
    /// or `nbf` of a client assertion, request object or DPoP proof may lie. 0: none.
    pub clock_skew: i64,
    /// What a client assertion's `aud` may be: the issuer, or the URL of an endpoint where
    /// clients authenticate.
    pub assertion_audiences: Vec<String>,
    pub throttle: Throttle,
}

impl Policy {
    /// An endpoint URL under the issuer.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}

/// Limits on guessing passwords and client secrets.
#[derive(Clone, Debug)]
pub struct Throttle {
    /// Failures of one account (or client) within `window` before it is locked out.
    pub max_failures: i64,
    /// Failures from one IP address within `window` before it is locked out.
    pub max_failures_per_ip: i64,
    pub window: i64,
    pub lockout: i64,
}

/// What a use case is given besides its arguments: the storage ports, the settings, a
/// snapshot of the signing keys, the key that derives stable secrets, and the time.
pub struct Ctx<'a, S> {
    pub store: &'a S,
    pub policy: &'a Policy,
    pub keys: Arc<Keyring>,
    pub secrets: &'a MasterKey,
    /// Unix seconds; every rule of this request sees the same instant.
    pub now: i64,
    /// The same instant in Unix milliseconds, for the rules measured more finely than in
    /// seconds (the refresh reuse grace).
    pub now_ms: i64,
}
