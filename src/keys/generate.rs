//! Fresh key pairs with their public JWK and RFC 7638 kid.

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair as _};
use rsa::pkcs8::EncodePrivateKey;
use rsa::traits::PublicKeyParts;
use zeroize::Zeroizing;

use super::{Alg, thumbprint};
use crate::secret::b64url;

pub struct NewKey {
    pub kid: String,
    pub alg: Alg,
    pub pkcs8: Zeroizing<Vec<u8>>,
    pub public_jwk: String,
}

pub fn generate(alg: Alg) -> Result<NewKey, String> {
    match alg {
        Alg::RS256 => generate_rsa(),
        Alg::ES256 => generate_p256(),
    }
}

fn generate_rsa() -> Result<NewKey, String> {
    // ring cannot generate RSA keys; the rsa crate does, and ring signs with the PKCS#8 it emits.
    let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048)
        .map_err(|e| format!("RSA key generation failed: {e}"))?;
    let pkcs8 = key
        .to_pkcs8_der()
        .map_err(|e| format!("RSA key encoding failed: {e}"))?;
    let n = b64url(&key.n().to_bytes_be());
    let e = b64url(&key.e().to_bytes_be());
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    Ok(NewKey {
        kid: thumbprint(&canonical),
        alg: Alg::RS256,
        pkcs8: Zeroizing::new(pkcs8.as_bytes().to_vec()),
        public_jwk: canonical,
    })
}

fn generate_p256() -> Result<NewKey, String> {
    let rng = SystemRandom::new();
    let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng)
        .map_err(|_| "P-256 key generation failed".to_string())?;
    let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng)
        .map_err(|e| format!("P-256 key rejected: {e}"))?;
    // Uncompressed point: 0x04 || x (32 bytes) || y (32 bytes).
    let point = pair.public_key().as_ref();
    let (x, y) = (b64url(&point[1..33]), b64url(&point[33..65]));
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    Ok(NewKey {
        kid: thumbprint(&canonical),
        alg: Alg::ES256,
        pkcs8: Zeroizing::new(pkcs8.as_ref().to_vec()),
        public_jwk: canonical,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyState, MasterKey, SigningKey, StoredKey};

    #[test]
    fn generated_keys_sign_and_verify_after_sealing() {
        let master = MasterKey::parse(&"11".repeat(32)).unwrap();
        for alg in Alg::ALL {
            let new = generate(alg).unwrap();
            assert_eq!(new.kid.len(), 43, "SHA-256 thumbprint");
            let stored = StoredKey {
                kid: new.kid.clone(),
                alg,
                state: KeyState::Current,
                activates_at: 0,
                sealed_private_key: master.seal(&new.kid, &new.pkcs8),
                public_jwk: new.public_jwk.clone(),
            };
            assert!(!stored.sealed_private_key.contains(&b64url(&new.pkcs8)));
            let key = SigningKey::unseal(&stored, &master).unwrap();
            let sig = key.sign(b"header.payload").unwrap();
            assert!(key.verify(b"header.payload", &sig));
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
    }
}
