//! Signing keys: generation, sealing at rest, the in-memory keyring and the JWKS document.

mod generate;
mod lifecycle;
mod master;

use std::fmt;
use std::str::FromStr;

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use generate::{NewKey, generate};
pub use lifecycle::{ensure_current_keys, load_keyring};
pub use master::MasterKey;

use crate::oauth::client::wire_names;
use crate::secret::{b64url, hash};

/// JWS algorithms Tessera signs with, one keyring family each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Alg {
    RS256,
    ES256,
}

wire_names!(Alg { RS256 => "RS256", ES256 => "ES256" });

impl Alg {
    pub const ALL: [Alg; 2] = [Alg::RS256, Alg::ES256];
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// Published, not yet signing.
    Next,
    Current,
    /// Published so that tokens it signed still verify; signs nothing.
    Retired,
}

wire_names!(KeyState { Next => "next", Current => "current", Retired => "retired" });

enum Signer {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// A decrypted signing key. Its private half never leaves this struct.
pub struct SigningKey {
    pub kid: String,
    pub alg: Alg,
    pub state: KeyState,
    pub activates_at: i64,
    public_jwk: Value,
    signer: Signer,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("state", &self.state)
            .field("private", &"<redacted>")
            .finish()
    }
}

/// One row of the key table as the store hands it over.
pub struct StoredKey {
    pub kid: String,
    pub alg: Alg,
    pub state: KeyState,
    pub activates_at: i64,
    pub sealed_private_key: String,
    pub public_jwk: String,
}

impl SigningKey {
    pub fn unseal(stored: &StoredKey, master: &MasterKey) -> Result<Self, String> {
        let pkcs8 = master.open(&stored.kid, &stored.sealed_private_key)?;
        let signer = match stored.alg {
            Alg::RS256 => Signer::Rsa(
                RsaKeyPair::from_pkcs8(&pkcs8).map_err(|e| format!("key {}: {e}", stored.kid))?,
            ),
            Alg::ES256 => Signer::Ec(
                EcdsaKeyPair::from_pkcs8(
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &pkcs8,
                    &SystemRandom::new(),
                )
                .map_err(|e| format!("key {}: {e}", stored.kid))?,
            ),
        };
        let public_jwk = serde_json::from_str(&stored.public_jwk)
            .map_err(|e| format!("key {}: bad public JWK: {e}", stored.kid))?;
        Ok(Self {
            kid: stored.kid.clone(),
            alg: stored.alg,
            state: stored.state,
            activates_at: stored.activates_at,
            public_jwk,
            signer,
        })
    }

    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, ring::error::Unspecified> {
        let rng = SystemRandom::new();
        match &self.signer {
            Signer::Rsa(pair) => {
                let mut sig = vec![0; pair.public().modulus_len()];
                pair.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut sig)?;
                Ok(sig)
            }
            Signer::Ec(pair) => Ok(pair.sign(&rng, message)?.as_ref().to_vec()),
        }
    }

    pub fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        match &self.signer {
            Signer::Rsa(pair) => signature::UnparsedPublicKey::new(
                &signature::RSA_PKCS1_2048_8192_SHA256,
                pair.public_key().as_ref(),
            )
            .verify(message, sig)
            .is_ok(),
            Signer::Ec(pair) => signature::UnparsedPublicKey::new(
                &signature::ECDSA_P256_SHA256_FIXED,
                pair.public_key().as_ref(),
            )
            .verify(message, sig)
            .is_ok(),
        }
    }

    fn jwks_entry(&self) -> Value {
        let mut entry = self.public_jwk.clone();
        if let Value::Object(map) = &mut entry {
            map.insert("kid".into(), self.kid.clone().into());
            map.insert("alg".into(), self.alg.as_str().into());
            map.insert("use".into(), "sig".into());
        }
        entry
    }
}

/// Every published key, and the JWKS bytes served for them, loaded as one snapshot.
pub struct Keyring {
    keys: Vec<SigningKey>,
    jwks: Vec<u8>,
    etag: String,
}

impl Keyring {
    pub fn new(mut keys: Vec<SigningKey>) -> Self {
        keys.sort_by(|a, b| {
            (a.alg.as_str(), a.activates_at).cmp(&(b.alg.as_str(), b.activates_at))
        });
        let document = serde_json::json!({
            "keys": keys.iter().map(SigningKey::jwks_entry).collect::<Vec<_>>()
        });
        let jwks = document.to_string().into_bytes();
        let etag = format!("\"{}\"", &hash(&String::from_utf8_lossy(&jwks))[..27]);
        Self { keys, jwks, etag }
    }

    /// The key that signs for `alg` now: the newest `current` one.
    pub fn current(&self, alg: Alg) -> Option<&SigningKey> {
        self.keys
            .iter()
            .filter(|k| k.alg == alg && k.state == KeyState::Current)
            .max_by_key(|k| k.activates_at)
    }

    pub fn find(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// Algorithms with a current key, the only ones discovery may offer.
    pub fn signing_algs(&self) -> Vec<Alg> {
        Alg::ALL
            .into_iter()
            .filter(|alg| self.current(*alg).is_some())
            .collect()
    }

    pub fn jwks(&self) -> &[u8] {
        &self.jwks
    }

    pub fn etag(&self) -> &str {
        &self.etag
    }
}

/// RFC 7638 thumbprint of the required public members, in lexicographic order.
fn thumbprint(canonical_json: &str) -> String {
    b64url(ring::digest::digest(&ring::digest::SHA256, canonical_json.as_bytes()).as_ref())
}
