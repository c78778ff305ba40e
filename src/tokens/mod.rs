//! JWTs: compact JWS encoding and signing with ring, and the claim sets Tessera issues.

mod claims;

pub use claims::{AccessTokenClaims, Confirmation, IdTokenClaims, LogoutTokenClaims, UserClaims};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::keys::{Keyring, SigningKey, VerifiedToken};
use crate::secret::{b64url, b64url_decode};

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'a str,
    kid: &'a str,
}

#[derive(serde::Deserialize)]
struct ParsedHeader {
    alg: String,
    typ: Option<String>,
    kid: Option<String>,
}

/// Signs `claims` as a compact JWS with the key's kid in the header.
/// Why a JWT could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("cannot encode the token: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("signing with key {0} failed")]
    Sign(String),
}

pub fn sign<T: Serialize>(key: &SigningKey, typ: &str, claims: &T) -> Result<String, SignError> {
    let header = Header {
        alg: key.alg.as_str(),
        typ,
        kid: &key.kid,
    };
    let header = serde_json::to_vec(&header)?;
    let payload = serde_json::to_vec(claims)?;
    let signing_input = format!("{}.{}", b64url(&header), b64url(&payload));
    let signature = key
        .sign(signing_input.as_bytes())
        .map_err(|_| SignError::Sign(key.kid.clone()))?;
    Ok(format!("{signing_input}.{}", b64url(&signature)))
}

/// Verifies a JWS made by one of our published keys and returns its claims. Time and audience
/// checks belong to the caller, which knows what the token is for. A token the keyring has
/// verified before is not verified again.
pub fn verify<T: DeserializeOwned>(keyring: &Keyring, token: &str, typ: &str) -> Option<T> {
    if token.len() > 16 * 1024 {
        return None;
    }
    let verified = match keyring.verified(token) {
        Some(verified) => verified,
        None => {
            let verified = verify_signature(keyring, token)?;
            keyring.remember_verified(token, verified);
            keyring.verified(token)?
        }
    };
    if verified.typ.as_deref() != Some(typ) {
        return None;
    }
    serde_json::from_slice(&verified.payload).ok()
}

/// A compact JWS split into its three parts and decoded: not yet trusted.
pub struct Compact<'a> {
    pub header: Vec<u8>,
    pub payload: Vec<u8>,
    /// What the signature covers: the first two parts as they were sent.
    pub signing_input: &'a str,
    pub signature: Vec<u8>,
}

/// Splits a compact JWS (`header.payload.signature`, each base64url); None if it is not one.
pub fn split(token: &str) -> Option<Compact<'_>> {
    let mut parts = token.split('.');
    let (header_b64, payload_b64, signature_b64) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    Some(Compact {
        header: b64url_decode(header_b64)?,
        payload: b64url_decode(payload_b64)?,
        signing_input: &token[..header_b64.len() + 1 + payload_b64.len()],
        signature: b64url_decode(signature_b64)?,
    })
}

fn verify_signature(keyring: &Keyring, token: &str) -> Option<VerifiedToken> {
    let jws = split(token)?;
    let header: ParsedHeader = serde_json::from_slice(&jws.header).ok()?;
    let key = keyring.find(header.kid.as_deref()?)?;
    if header.alg != key.alg.as_str() {
        return None;
    }
    if !key.verify(jws.signing_input.as_bytes(), &jws.signature) {
        return None;
    }
    Some(VerifiedToken {
        typ: header.typ,
        payload: jws.payload,
    })
}

/// base64url of the SHA-256 of `text` (a DPoP proof's `ath`, RFC 9449 §4.2).
pub fn sha256_b64url(text: &str) -> String {
    b64url(ring::digest::digest(&ring::digest::SHA256, text.as_bytes()).as_ref())
}

/// OIDC Core §3.1.3.6: the left half of the SHA-256 of the access token (RS256 and ES256 both
/// hash with SHA-256).
pub fn at_hash(access_token: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, access_token.as_bytes());
    b64url(&digest.as_ref()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{Alg, MasterKey, SigningKey, generate};

    fn keyring() -> Keyring {
        let master = MasterKey::parse(&"22".repeat(32)).unwrap();
        let stored = generate(Alg::ES256).unwrap().seal(&master, 1, 0, 0);
        let key = SigningKey::unseal(&stored, &master).unwrap();
        Keyring::new(vec![(std::sync::Arc::new(key), true)])
    }

    #[test]
    fn signed_tokens_verify_and_tampering_fails() {
        let ring = keyring();
        let key = ring.current(Alg::ES256).unwrap();
        let token = sign(key, "at+jwt", &serde_json::json!({"sub": "alice"})).unwrap();
        let claims: serde_json::Value = verify(&ring, &token, "at+jwt").unwrap();
        assert_eq!(claims["sub"], "alice");
        assert!(
            verify::<serde_json::Value>(&ring, &token, "JWT").is_none(),
            "wrong typ"
        );
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = b64url(br#"{"sub":"mallory"}"#);
        parts[1] = &forged;
        assert!(verify::<serde_json::Value>(&ring, &parts.join("."), "at+jwt").is_none());
        assert!(verify::<serde_json::Value>(&ring, "a.b", "at+jwt").is_none());
        // Verified once, remembered: the same token again (and tampered copies) still answer
        // exactly as the signature does.
        assert!(verify::<serde_json::Value>(&ring, &token, "at+jwt").is_some());
        assert!(verify::<serde_json::Value>(&ring, &token, "JWT").is_none());
        assert!(verify::<serde_json::Value>(&ring, &parts.join("."), "at+jwt").is_none());
    }

    #[test]
    fn at_hash_matches_the_oidc_example() {
        // OIDC Core §A.3 example access token and at_hash.
        assert_eq!(
            at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}
