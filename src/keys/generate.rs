//! Fresh key pairs with their public JWK (including an rcgen self-signed certificate as `x5c`)
//! and RFC 7638 kid.

use base64::Engine;
use ring::digest;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};
use rsa::pkcs8::EncodePrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use super::{Alg, KeyError, MasterKey, StoredKey, thumbprint};
use crate::secret::b64url;

pub struct NewKey {
    pub kid: String,
    pub alg: Alg,
    pub pkcs8: Zeroizing<Vec<u8>>,
    /// The public JWK without kid/alg/use (added when published).
    pub public_jwk: String,
}

impl NewKey {
    /// The row to store: the private key sealed under `master`, the kid as associated data.
    pub fn seal(
        self,
        master: &MasterKey,
        generation: i64,
        created_at: i64,
        activates_at: i64,
    ) -> StoredKey {
        StoredKey {
            sealed_private_key: master.seal(&self.kid, &self.pkcs8),
            kid: self.kid,
            alg: self.alg,
            generation,
            created_at,
            activates_at,
            revoked_at: None,
            public_jwk: self.public_jwk,
        }
    }
}

pub fn generate(alg: Alg) -> Result<NewKey, KeyError> {
    let (pkcs8, members) = match alg {
        Alg::RS256 | Alg::PS256 => rsa_key()?,
        Alg::ES256 => p256_key()?,
        Alg::EdDSA => ed25519_key()?,
    };
    // The members are in lexicographic order, as RFC 7638 §3 requires for the thumbprint.
    let canonical = Value::Object(members.iter().cloned().collect::<Map<_, _>>()).to_string();
    let kid = thumbprint(&canonical);
    let cert = certificate(&pkcs8, &kid)?;
    let mut jwk: Map<String, Value> = members.into_iter().collect();
    jwk.insert(
        "x5c".into(),
        vec![base64::engine::general_purpose::STANDARD.encode(&cert)].into(),
    );
    jwk.insert(
        "x5t#S256".into(),
        b64url(digest::digest(&digest::SHA256, &cert).as_ref()).into(),
    );
    Ok(NewKey {
        kid,
        alg,
        pkcs8,
        public_jwk: Value::Object(jwk).to_string(),
    })
}

type Members = Vec<(String, Value)>;

fn failed(what: impl std::fmt::Display) -> KeyError {
    KeyError::Generation(what.to_string())
}

fn members(pairs: &[(&str, String)]) -> Members {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.clone())))
        .collect()
}

fn rsa_key() -> Result<(Zeroizing<Vec<u8>>, Members), KeyError> {
    // ring cannot generate RSA keys; the rsa crate does, and ring signs with its PKCS#8.
    let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048)
        .map_err(|e| failed(format!("RSA key generation failed: {e}")))?;
    let pkcs8 = key
        .to_pkcs8_der()
        .map_err(|e| failed(format!("RSA key encoding failed: {e}")))?;
    let public = members(&[
        ("e", b64url(&key.e().to_bytes_be())),
        ("kty", "RSA".into()),
        ("n", b64url(&key.n().to_bytes_be())),
    ]);
    Ok((Zeroizing::new(pkcs8.as_bytes().to_vec()), public))
}

fn p256_key() -> Result<(Zeroizing<Vec<u8>>, Members), KeyError> {
    let rng = SystemRandom::new();
    let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng)
        .map_err(|_| failed("P-256 key generation failed"))?;
    let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng)
        .map_err(|e| failed(format!("P-256 key rejected: {e}")))?;
    // Uncompressed point: 0x04 || x (32 bytes) || y (32 bytes).
    let point = pair.public_key().as_ref();
    let public = members(&[
        ("crv", "P-256".into()),
        ("kty", "EC".into()),
        ("x", b64url(&point[1..33])),
        ("y", b64url(&point[33..65])),
    ]);
    Ok((Zeroizing::new(pkcs8.as_ref().to_vec()), public))
}

fn ed25519_key() -> Result<(Zeroizing<Vec<u8>>, Members), KeyError> {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
        .map_err(|_| failed("Ed25519 key generation failed"))?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
        .map_err(|e| failed(format!("Ed25519 key rejected: {e}")))?;
    let public = members(&[
        ("crv", "Ed25519".into()),
        ("kty", "OKP".into()),
        ("x", b64url(pair.public_key().as_ref())),
    ]);
    Ok((Zeroizing::new(pkcs8.as_ref().to_vec()), public))
}

/// A self-signed X.509 certificate for the key, for relying parties that want `x5c`.
fn certificate(pkcs8: &[u8], kid: &str) -> Result<Vec<u8>, KeyError> {
    let key_pair =
        rcgen::KeyPair::try_from(pkcs8).map_err(|e| failed(format!("certificate key: {e}")))?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("Tessera signing key {kid}"),
    );
    let cert = params
        .self_signed(&key_pair)
        .map_err(|e| failed(format!("certificate: {e}")))?;
    Ok(cert.der().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;

    #[test]
    fn generated_keys_sign_and_verify_after_sealing() {
        let master = MasterKey::parse(&"11".repeat(32)).unwrap();
        for alg in Alg::ALL {
            let new = generate(alg).unwrap();
            assert_eq!(new.kid.len(), 43, "SHA-256 thumbprint");
            let jwk: Value = serde_json::from_str(&new.public_jwk).unwrap();
            assert!(
                jwk["x5c"][0].is_string() && jwk["x5t#S256"].is_string(),
                "{alg}"
            );
            assert!(
                jwk.get("d").is_none() && jwk.get("p").is_none(),
                "no private members"
            );
            let pkcs8 = b64url(&new.pkcs8);
            let public_jwk = new.public_jwk.clone();
            let stored = new.seal(&master, 1, 0, 0);
            assert_eq!(stored.public_jwk, public_jwk);
            assert!(!stored.sealed_private_key.contains(&pkcs8));
            let key = SigningKey::unseal(&stored, &master).unwrap();
            let sig = key.sign(b"header.payload").unwrap();
            assert!(key.verify(b"header.payload", &sig), "{alg}");
            assert!(!key.verify(b"header.payloaD", &sig));
            assert!(!format!("{key:?}").contains("pkcs8"));
        }
    }

    #[test]
    fn rfc7638_example_thumbprint() {
        // The RSA example of RFC 7638 §3.1.
        let canonical = r#"{"e":"AQAB","kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}"#;
        assert_eq!(
            thumbprint(canonical),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        let members = members(&[
            ("e", "AQAB".into()),
            ("kty", "RSA".into()),
            ("n", "x".into()),
        ]);
        let ordered = Value::Object(members.into_iter().collect::<Map<_, _>>()).to_string();
        assert_eq!(ordered, r#"{"e":"AQAB","kty":"RSA","n":"x"}"#);
    }
}
