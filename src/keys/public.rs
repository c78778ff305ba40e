//! Public keys that clients register (a JWK Set, RFC 7517), turned into verifiers: a client's
//! signed assertion (RFC 7523) is checked with a key it published and with nothing else.

use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::Deserialize;

use super::Alg;
use crate::secret::{b64url, b64url_decode};

/// Why a registered JWK Set is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksError {
    #[error("the JWK Set is not valid JSON with a \"keys\" array: {0}")]
    Malformed(String),
    #[error("key {0} of the JWK Set holds private key material; register only public keys")]
    Private(usize),
    #[error("the JWK Set has no RSA, P-256 or Ed25519 signing key")]
    Empty,
    /// The client's `jwks_uri` did not answer with one.
    #[error("the client's jwks_uri could not be read: {0}")]
    Fetch(String),
}

/// One usable public key: a client's registered key, or the key a DPoP proof carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    kid: Option<String>,
    /// The algorithm the key is restricted to, if its JWK names one.
    alg: Option<Alg>,
    material: Material,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Material {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// An uncompressed P-256 point (0x04 ‖ x ‖ y).
    P256(Vec<u8>),
    Ed25519(Vec<u8>),
}

impl Material {
    fn serves(&self, alg: Alg) -> bool {
        matches!(
            (self, alg),
            (Material::Rsa { .. }, Alg::RS256 | Alg::PS256)
                | (Material::P256(_), Alg::ES256)
                | (Material::Ed25519(_), Alg::EdDSA)
        )
    }

    fn verify(&self, alg: Alg, message: &[u8], sig: &[u8]) -> bool {
        match self {
            Material::Rsa { n, e } => {
                let params = match alg {
                    Alg::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
                    _ => &signature::RSA_PKCS1_2048_8192_SHA256,
                };
                RsaPublicKeyComponents { n, e }
                    .verify(params, message, sig)
                    .is_ok()
            }
            Material::P256(point) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, sig)
                    .is_ok()
            }
            Material::Ed25519(x) => UnparsedPublicKey::new(&signature::ED25519, x)
                .verify(message, sig)
                .is_ok(),
        }
    }
}

/// A client's public signing keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwkSet {
    keys: Vec<PublicKey>,
}

#[derive(Deserialize)]
struct RawSet {
    keys: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// A JWK with private members: whoever sent it has leaked the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrivateMaterial;

/// Members that only a private key has.
const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];

impl PublicKey {
    /// Reads one JWK: `Ok(None)` for a key Tessera cannot verify with (an encryption key, an
    /// unknown type or curve, RSA under 2048 bits, a key restricted to another algorithm),
    /// an error for a key with private members.
    pub fn from_jwk(
        jwk: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Option<Self>, PrivateMaterial> {
        let text = |name: &str| jwk.get(name).and_then(|v| v.as_str());
        if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
            return Err(PrivateMaterial);
        }
        if text("use").is_some_and(|u| u != "sig") {
            return Ok(None);
        }
        let bytes = |name: &str| text(name).and_then(b64url_decode);
        let material = match (text("kty"), text("crv")) {
            (Some("RSA"), _) => match (bytes("n"), bytes("e")) {
                (Some(n), Some(e)) if n.len() >= 256 => Some(Material::Rsa { n, e }),
                _ => None,
            },
            (Some("EC"), Some("P-256")) => match (bytes("x"), bytes("y")) {
                (Some(x), Some(y)) if x.len() == 32 && y.len() == 32 => {
                    Some(Material::P256([&[4u8][..], &x, &y].concat()))
                }
                _ => None,
            },
            (Some("OKP"), Some("Ed25519")) => {
                bytes("x").filter(|x| x.len() == 32).map(Material::Ed25519)
            }
            _ => None,
        };
        let Some(material) = material else {
            return Ok(None);
        };
        let alg = match text("alg") {
            None => None,
            Some(name) => match name.parse::<Alg>() {
                Ok(alg) if material.serves(alg) => Some(alg),
                _ => return Ok(None),
            },
        };
        Ok(Some(Self {
            kid: text("kid").map(str::to_owned),
            alg,
            material,
        }))
    }

    /// Whether this key, used with `alg`, signed `message`.
    pub fn verify(&self, alg: Alg, message: &[u8], sig: &[u8]) -> bool {
        self.alg.is_none_or(|a| a == alg)
            && self.material.serves(alg)
            && self.material.verify(alg, message, sig)
    }

    /// The JWK SHA-256 Thumbprint (RFC 7638 §3): base64url of the hash of the required
    /// members only, in lexicographic order, with no whitespace.
    pub fn thumbprint(&self) -> String {
        let canonical = match &self.material {
            Material::Rsa { n, e } => {
                format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, b64url(e), b64url(n))
            }
            Material::P256(point) => format!(
                r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                b64url(&point[1..33]),
                b64url(&point[33..])
            ),
            Material::Ed25519(x) => {
                format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, b64url(x))
            }
        };
        b64url(ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes()).as_ref())
    }
}

impl JwkSet {
    /// Parses a JWK Set, keeping the signing keys it can use (RSA, EC P-256, OKP Ed25519) and
    /// skipping encryption keys and unknown types. A key with private members is an error: the
    /// client has leaked it by registering it.
    pub fn parse(json: &[u8]) -> Result<Self, JwksError> {
        let raw: RawSet =
            serde_json::from_slice(json).map_err(|e| JwksError::Malformed(e.to_string()))?;
        let mut keys = vec![];
        for (index, jwk) in raw.keys.iter().enumerate() {
            keys.extend(PublicKey::from_jwk(jwk).map_err(|_| JwksError::Private(index))?);
        }
        if keys.is_empty() {
            return Err(JwksError::Empty);
        }
        Ok(Self { keys })
    }

    /// Whether a key of this set, chosen by `kid` when the signer named one, verifies `sig`
    /// over `message` with `alg`.
    pub fn verify(&self, alg: Alg, kid: Option<&str>, message: &[u8], sig: &[u8]) -> bool {
        self.keys
            .iter()
            .filter(|k| kid.is_none() || k.kid.as_deref() == kid)
            .any(|k| k.verify(alg, message, sig))
    }

    /// Whether the set has a key with this id (an unknown kid may mean the client rotated).
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{MasterKey, SigningKey, generate};

    fn signing_key(alg: Alg) -> SigningKey {
        let master = MasterKey::parse(&"33".repeat(32)).unwrap();
        let stored = generate(alg).unwrap().seal(&master, 1, 0, 0);
        SigningKey::unseal(&stored, &master).unwrap()
    }

    fn set_of(key: &SigningKey, kid: Option<&str>) -> JwkSet {
        let mut jwk = key.jwks_entry();
        match kid {
            Some(kid) => jwk["kid"] = kid.into(),
            None => drop(jwk.as_object_mut().unwrap().remove("kid")),
        }
        JwkSet::parse(serde_json::json!({ "keys": [jwk] }).to_string().as_bytes()).unwrap()
    }

    #[test]
    fn each_family_verifies_its_own_signatures_only() {
        for alg in Alg::ALL {
            let key = signing_key(alg);
            let set = set_of(&key, Some("k1"));
            let sig = key.sign(b"message").unwrap();
            assert!(set.verify(alg, Some("k1"), b"message", &sig), "{alg:?}");
            assert!(
                set.verify(alg, None, b"message", &sig),
                "{alg:?} without kid"
            );
            assert!(!set.verify(alg, Some("k2"), b"message", &sig), "other kid");
            assert!(
                !set.verify(alg, None, b"tampered", &sig),
                "{alg:?} tampered"
            );
        }
        let rsa = signing_key(Alg::RS256);
        let set = set_of(&rsa, None);
        let sig = rsa.sign(b"m").unwrap();
        assert!(!set.verify(Alg::ES256, None, b"m", &sig), "alg confusion");
    }

    #[test]
    fn private_keys_and_useless_sets_are_refused() {
        let private = br#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#;
        assert_eq!(JwkSet::parse(private), Err(JwksError::Private(0)));
        let encryption_only =
            br#"{"keys":[{"kty":"EC","crv":"P-256","use":"enc","x":"AA","y":"AA"}]}"#;
        assert_eq!(JwkSet::parse(encryption_only), Err(JwksError::Empty));
        assert!(matches!(JwkSet::parse(b"{}"), Err(JwksError::Malformed(_))));
    }

    #[test]
    fn a_key_restricted_to_one_alg_serves_only_it() {
        let key = signing_key(Alg::RS256);
        let mut jwk = key.jwks_entry();
        jwk["alg"] = "PS256".into();
        let set =
            JwkSet::parse(serde_json::json!({ "keys": [jwk] }).to_string().as_bytes()).unwrap();
        let sig = key.sign(b"m").unwrap();
        assert!(!set.verify(Alg::RS256, None, b"m", &sig));
    }

    #[test]
    fn thumbprints_follow_rfc_7638() {
        // RFC 7638 §3.1: the example RSA key and its thumbprint; kid, alg and use don't count.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1\
                 L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4\
                 QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbO\
                 pbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csF\
                 Cur-kEgU8awapJzKnqDKgw";
        let jwk = serde_json::json!({"kty": "RSA", "n": n, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"});
        let key = PublicKey::from_jwk(jwk.as_object().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(
            key.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        // Each family's thumbprint is stable and tells keys apart.
        for alg in Alg::ALL {
            let (a, b) = (signing_key(alg), signing_key(alg));
            let print = |k: &SigningKey| {
                PublicKey::from_jwk(k.jwks_entry().as_object().unwrap())
                    .unwrap()
                    .unwrap()
                    .thumbprint()
            };
            assert_eq!(print(&a), print(&a));
            assert_ne!(print(&a), print(&b), "{alg:?}");
        }
    }
}
