//! Signing keys: generation, sealing at rest, the lifecycle timeline, the in-memory keyring
//! and the JWKS document.

mod generate;
mod master;
mod public;
mod timeline;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use generate::{NewKey, generate};
pub use master::MasterKey;
pub use public::{JwkSet, JwksError, PrivateMaterial, PublicKey};
pub use timeline::{
    KeyState, Rotation, Schedule, Timeline, due_rotation, next_activation, timeline,
};

use crate::secret::{b64url, hash};
use crate::wire::wire_names;

/// Why a key could not be made, opened or used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum KeyError {
    #[error("{0}")]
    Generation(String),
    #[error("key {kid}: {reason}")]
    Unusable { kid: String, reason: String },
    /// A sealed private key that does not open (wrong master key, tampered row).
    #[error("{0}")]
    Sealed(String),
    #[error("{0}")]
    MasterKey(String),
}

/// JWS algorithms Tessera signs with, one keyring family each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Alg {
    RS256,
    ES256,
    EdDSA,
    /// RSASSA-PSS with SHA-256, its own RSA keyring (a key never serves two algorithms).
    PS256,
}

wire_names!(Alg { RS256 => "RS256", ES256 => "ES256", EdDSA => "EdDSA", PS256 => "PS256" });

impl Alg {
    pub const ALL: [Alg; 4] = [Alg::RS256, Alg::ES256, Alg::EdDSA, Alg::PS256];
}

enum Signer {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// One row of the key table as the store hands it over.
#[derive(Clone)]
pub struct StoredKey {
    pub kid: String,
    pub alg: Alg,
    pub generation: i64,
    pub created_at: i64,
    pub activates_at: i64,
    pub revoked_at: Option<i64>,
    pub sealed_private_key: String,
    pub public_jwk: String,
}

impl fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("activates_at", &self.activates_at)
            .finish_non_exhaustive()
    }
}

/// A decrypted signing key. Its private half never leaves this struct.
pub struct SigningKey {
    pub kid: String,
    pub alg: Alg,
    pub activates_at: i64,
    public_jwk: Value,
    signer: Signer,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("private", &"<redacted>")
            .finish()
    }
}

impl SigningKey {
    pub fn unseal(stored: &StoredKey, master: &MasterKey) -> Result<Self, KeyError> {
        let pkcs8 = master.open(&stored.kid, &stored.sealed_private_key)?;
        let unusable = |reason: String| KeyError::Unusable {
            kid: stored.kid.clone(),
            reason,
        };
        let rejected = |e: ring::error::KeyRejected| unusable(e.to_string());
        let signer = match stored.alg {
            Alg::RS256 | Alg::PS256 => {
                Signer::Rsa(RsaKeyPair::from_pkcs8(&pkcs8).map_err(rejected)?)
            }
            Alg::ES256 => Signer::Ec(
                EcdsaKeyPair::from_pkcs8(
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &pkcs8,
                    &SystemRandom::new(),
                )
                .map_err(rejected)?,
            ),
            Alg::EdDSA => Signer::Ed(Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(rejected)?),
        };
        let public_jwk = serde_json::from_str(&stored.public_jwk)
            .map_err(|e| unusable(format!("bad public JWK: {e}")))?;
        Ok(Self {
            kid: stored.kid.clone(),
            alg: stored.alg,
            activates_at: stored.activates_at,
            public_jwk,
            signer,
        })
    }

    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, ring::error::Unspecified> {
        let rng = SystemRandom::new();
        match &self.signer {
            Signer::Rsa(pair) => {
                let padding: &'static dyn signature::RsaEncoding = match self.alg {
                    Alg::PS256 => &signature::RSA_PSS_SHA256,
                    _ => &signature::RSA_PKCS1_SHA256,
                };
                let mut sig = vec![0; pair.public().modulus_len()];
                pair.sign(padding, &rng, message, &mut sig)?;
                Ok(sig)
            }
            Signer::Ec(pair) => Ok(pair.sign(&rng, message)?.as_ref().to_vec()),
            Signer::Ed(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }

    pub fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        let (algorithm, public): (&dyn signature::VerificationAlgorithm, &[u8]) = match &self.signer
        {
            Signer::Rsa(pair) if self.alg == Alg::PS256 => (
                &signature::RSA_PSS_2048_8192_SHA256,
                pair.public_key().as_ref(),
            ),
            Signer::Rsa(pair) => (
                &signature::RSA_PKCS1_2048_8192_SHA256,
                pair.public_key().as_ref(),
            ),
            Signer::Ec(pair) => (
                &signature::ECDSA_P256_SHA256_FIXED,
                pair.public_key().as_ref(),
            ),
            Signer::Ed(pair) => (&signature::ED25519, pair.public_key().as_ref()),
        };
        signature::UnparsedPublicKey::new(algorithm, public)
            .verify(message, sig)
            .is_ok()
    }

    /// The public key as a JWK Set entry: the public parameters, kid, alg and `use: sig`.
    pub fn jwks_entry(&self) -> Value {
        let mut entry = self.public_jwk.clone();
        if let Value::Object(map) = &mut entry {
            map.insert("kid".into(), self.kid.clone().into());
            map.insert("alg".into(), self.alg.as_str().into());
            map.insert("use".into(), "sig".into());
        }
        entry
    }
}

/// The published keys, the signer of each family and the JWKS bytes, as one snapshot, with
/// the tokens it has already verified.
pub struct Keyring {
    keys: Vec<Arc<SigningKey>>,
    current: Vec<(Alg, usize)>,
    jwks: Bytes,
    etag: String,
    verified: Verified,
}

/// Signatures this keyring has checked, by the SHA-256 of the whole token: the same access
/// token presented again (a resource server introspecting, an app calling userinfo) costs a
/// hash, not a signature verification. A new keyring (after a rotation or a revoked key)
/// starts empty, so a key's removal also removes what it vouched for.
#[derive(Default)]
struct Verified(Mutex<HashMap<[u8; 32], Arc<VerifiedToken>>>);

/// What the signature vouches for: the header's `typ` and the payload.
pub struct VerifiedToken {
    pub typ: Option<String>,
    pub payload: Vec<u8>,
}

/// Verified tokens a keyring remembers at most (it starts over when full).
const MAX_VERIFIED: usize = 4096;

fn token_digest(token: &str) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

impl Keyring {
    /// `published` are the keys to publish, each with whether it signs now (at most one per
    /// family: `timeline` decides which).
    pub fn new(mut published: Vec<(Arc<SigningKey>, bool)>) -> Self {
        published.sort_by(|(a, _), (b, _)| {
            (a.alg.as_str(), a.activates_at).cmp(&(b.alg.as_str(), b.activates_at))
        });
        let current = published
            .iter()
            .enumerate()
            .filter(|(_, (_, signs))| *signs)
            .map(|(i, (key, _))| (key.alg, i))
            .collect();
        let keys: Vec<Arc<SigningKey>> = published.into_iter().map(|(key, _)| key).collect();
        let document = serde_json::json!({
            "keys": keys.iter().map(|k| k.jwks_entry()).collect::<Vec<_>>()
        });
        let jwks = document.to_string();
        let etag = format!("\"{}\"", &hash(&jwks)[..27]);
        Self {
            keys,
            current,
            jwks: Bytes::from(jwks),
            etag,
            verified: Verified::default(),
        }
    }

    /// The key that signs for `alg` now.
    pub fn current(&self, alg: Alg) -> Option<&SigningKey> {
        self.current
            .iter()
            .find(|(a, _)| *a == alg)
            .map(|(_, i)| self.keys[*i].as_ref())
    }

    pub fn find(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.kid == kid).map(|k| k.as_ref())
    }

    /// An already decrypted key for this stored row, so a reload does not decrypt and parse
    /// every private key again.
    pub fn reusable(&self, row: &StoredKey) -> Option<Arc<SigningKey>> {
        self.keys
            .iter()
            .find(|k| k.kid == row.kid && k.activates_at == row.activates_at)
            .cloned()
    }

    /// Algorithms with a current key, the only ones discovery may offer (RS256 first).
    pub fn signing_algs(&self) -> Vec<Alg> {
        Alg::ALL
            .into_iter()
            .filter(|alg| self.current(*alg).is_some())
            .collect()
    }

    /// The JWKS document (cheap to clone: shared bytes).
    pub fn jwks(&self) -> Bytes {
        self.jwks.clone()
    }

    /// A token this keyring verified before.
    pub fn verified(&self, token: &str) -> Option<Arc<VerifiedToken>> {
        let cache = self.verified.0.lock().unwrap_or_else(|e| e.into_inner());
        cache.get(&token_digest(token)).cloned()
    }

    /// Remembers a token whose signature checked out.
    pub fn remember_verified(&self, token: &str, verified: VerifiedToken) {
        let mut cache = self.verified.0.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= MAX_VERIFIED {
            cache.clear();
        }
        cache.insert(token_digest(token), Arc::new(verified));
    }

    pub fn etag(&self) -> &str {
        &self.etag
    }
}

/// RFC 7638 thumbprint of the required public members, in lexicographic order.
fn thumbprint(canonical_json: &str) -> String {
    b64url(ring::digest::digest(&ring::digest::SHA256, canonical_json.as_bytes()).as_ref())
}
