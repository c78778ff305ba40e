//! DPoP, proof of possession of a key (RFC 9449). A client signs a fresh proof for each
//! request with a key pair of its own and sends the public key in the proof's header. The
//! token endpoint binds the access token to that key (`cnf.jkt`, its RFC 7638 thumbprint), and
//! a public client's refresh token too; a bound token is refused unless a proof signed with
//! the same key comes with it, so a stolen token alone is useless.
//!
//! The checks of §4.3: one compact JWS of type `dpop+jwt`, signed with an asymmetric
//! algorithm by the public key in its `jwk` header; the request's method (`htm`) and URL
//! (`htu`); a recent `iat`; the hash of the access token (`ath`) where one is presented; the
//! server's nonce when the operator requires one (§8); and a `jti` never seen before.
//! Nonces are derived from the master key and the time window, so every replica knows them
//! without storing any.

use serde::Deserialize;

use super::Ctx;
use super::error::{BearerError, ErrorCode, OAuthError, StoreError};
use super::ports::AssertionRepo;
use crate::keys::{Alg, MasterKey, PublicKey};
use crate::secret::constant_time_eq;
use crate::tokens;

/// How old a proof's `iat` may be, in seconds; it may also lie up to the policy's clock skew
/// in the future (a client's clock running ahead).
pub const MAX_AGE: i64 = 60;
/// A nonce is valid for the window it was made in and the next one, in seconds.
pub const NONCE_WINDOW: i64 = 300;
/// The response header that carries the server's nonce.
pub const NONCE_HEADER: &str = "DPoP-Nonce";
/// What a proof may be signed with (discovery's `dpop_signing_alg_values_supported`).
pub const ALGS: [&str; 4] = ["ES256", "RS256", "PS256", "EdDSA"];
/// Larger proofs are not parsed.
const MAX_SIZE: usize = 8 * 1024;

/// A proof as the request carried it, with the request it must be about.
#[derive(Debug)]
pub struct Proof<'a> {
    /// The `DPoP` header.
    pub jwt: &'a str,
    /// The request's method (`htm`).
    pub method: &'a str,
    /// The endpoint's URL (`htu` without query or fragment).
    pub url: String,
}

/// Why a proof is refused.
#[derive(Debug, Clone)]
pub enum DpopError {
    Invalid(&'static str),
    /// The proof must carry the server's current nonce (sent in `DPoP-Nonce`).
    UseNonce,
    Store(StoreError),
}

impl From<StoreError> for DpopError {
    fn from(err: StoreError) -> Self {
        Self::Store(err)
    }
}

impl From<DpopError> for OAuthError {
    fn from(err: DpopError) -> Self {
        match err {
            DpopError::Invalid(why) => Self::new(ErrorCode::InvalidDpopProof, why),
            DpopError::UseNonce => Self::new(
                ErrorCode::UseDpopNonce,
                "make the DPoP proof again with the nonce of the DPoP-Nonce response header",
            ),
            DpopError::Store(e) => e.into(),
        }
    }
}

impl From<DpopError> for BearerError {
    fn from(err: DpopError) -> Self {
        match err {
            DpopError::Invalid(why) => Self::InvalidDpopProof(why),
            DpopError::UseNonce => Self::UseDpopNonce,
            DpopError::Store(e) => e.into(),
        }
    }
}

#[derive(Deserialize)]
struct Header {
    typ: Option<String>,
    alg: String,
    jwk: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Deserialize)]
struct Claims {
    jti: Option<String>,
    htm: Option<String>,
    htu: Option<String>,
    iat: Option<i64>,
    ath: Option<String>,
    nonce: Option<String>,
}

/// Checks `proof` for a request now, presenting `access_token` if there is one, and returns
/// the thumbprint of the key that signed it. Records its jti: a second use is refused.
pub async fn verify<S: AssertionRepo>(
    cx: &Ctx<'_, S>,
    proof: &Proof<'_>,
    access_token: Option<&str>,
) -> Result<String, DpopError> {
    use DpopError::Invalid;
    if proof.jwt.len() > MAX_SIZE {
        return Err(Invalid("the DPoP proof is too large"));
    }
    let jws = tokens::split(proof.jwt).ok_or(Invalid("the DPoP header must be a signed JWT"))?;
    let header: Header = serde_json::from_slice(&jws.header)
        .map_err(|_| Invalid("the DPoP proof's header is not a JOSE header with alg"))?;
    if !header
        .typ
        .is_some_and(|t| t.eq_ignore_ascii_case("dpop+jwt"))
    {
        return Err(Invalid("the DPoP proof's typ must be dpop+jwt"));
    }
    let alg = header.alg.parse::<Alg>().map_err(|_| {
        Invalid(
            "the DPoP proof must be signed with ES256, RS256, PS256 or EdDSA (not none, not HMAC)",
        )
    })?;
    let jwk = header.jwk.ok_or(Invalid(
        "the DPoP proof's header must carry its public key as jwk",
    ))?;
    let key = match PublicKey::from_jwk(&jwk) {
        Ok(Some(key)) => key,
        Ok(None) => {
            return Err(Invalid(
                "the DPoP proof's jwk must be an RSA (2048 bits or more), P-256 or Ed25519 public signing key",
            ));
        }
        Err(_) => return Err(Invalid("the DPoP proof's jwk holds a private key")),
    };
    if !key.verify(alg, jws.signing_input.as_bytes(), &jws.signature) {
        return Err(Invalid(
            "the DPoP proof's signature does not verify with its jwk",
        ));
    }
    let claims: Claims = serde_json::from_slice(&jws.payload)
        .map_err(|_| Invalid("the DPoP proof's claims are malformed"))?;
    if claims.htm.as_deref() != Some(proof.method) {
        return Err(Invalid("the DPoP proof's htm must be the request's method"));
    }
    if !claims.htu.is_some_and(|htu| same_uri(&htu, &proof.url)) {
        return Err(Invalid(
            "the DPoP proof's htu must be the URL of this endpoint",
        ));
    }
    let iat = claims.iat.ok_or(Invalid("the DPoP proof needs an iat"))?;
    if cx.now - iat > MAX_AGE || iat - cx.now > cx.policy.clock_skew {
        return Err(Invalid(
            "the DPoP proof's iat is too far from the server's time; make a new proof",
        ));
    }
    if cx.policy.dpop_nonce && !claims.nonce.is_some_and(|n| nonce_is_current(cx, &n)) {
        return Err(DpopError::UseNonce);
    }
    if let Some(token) = access_token
        && claims.ath.as_deref() != Some(tokens::sha256_b64url(token).as_str())
    {
        return Err(Invalid(
            "the DPoP proof's ath must be the hash of the access token it comes with",
        ));
    }
    let jti = claims
        .jti
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or(Invalid("the DPoP proof needs a jti of 1 to 256 characters"))?;
    let jkt = key.thumbprint();
    let remember_until = iat.max(cx.now) + MAX_AGE;
    if !cx
        .store
        .first_use(&format!("dpop:{jkt}"), &jti, remember_until)
        .await?
    {
        return Err(Invalid(
            "the DPoP proof was already used; make a new one for each request",
        ));
    }
    Ok(jkt)
}

/// The server's nonce for the window `now` falls in.
pub fn nonce(secrets: &MasterKey, now: i64) -> String {
    secrets.derive(&format!("dpop-nonce\0{}", now.div_euclid(NONCE_WINDOW)))
}

/// A nonce of this window or the one before.
fn nonce_is_current<S>(cx: &Ctx<'_, S>, presented: &str) -> bool {
    [cx.now, cx.now - NONCE_WINDOW]
        .iter()
        .any(|at| constant_time_eq(nonce(cx.secrets, *at).as_bytes(), presented.as_bytes()))
}

/// Whether two URLs name the same endpoint once query and fragment are cut off: scheme and
/// host compared without case, a default port the same as none (RFC 3986 §6.2.3).
fn same_uri(htu: &str, expected: &str) -> bool {
    normalized(htu).is_some_and(|htu| Some(htu) == normalized(expected))
}

fn normalized(uri: &str) -> Option<String> {
    let uri = uri.split(['?', '#']).next().unwrap_or_default();
    let (scheme, rest) = uri.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
    let authority = authority.to_ascii_lowercase();
    let authority = match (scheme.as_str(), authority.rsplit_once(':')) {
        ("https", Some((host, "443"))) | ("http", Some((host, "80"))) => host.to_owned(),
        _ => authority,
    };
    Some(format!("{scheme}://{authority}{path}"))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::core::testing::{MemoryStore, block_on, context, policy};
    use crate::keys::{MasterKey, SigningKey, generate};
    use crate::secret::b64url;

    const NOW: i64 = 1_000_000;
    const URL: &str = "https://id.example/token";

    fn key(alg: Alg) -> SigningKey {
        let master = MasterKey::parse(&"55".repeat(32)).unwrap();
        SigningKey::unseal(&generate(alg).unwrap().seal(&master, 1, 0, 0), &master).unwrap()
    }

    /// A proof signed by `key` with these header and claim overrides.
    fn proof_with(key: &SigningKey, header: Value, claims: Value) -> String {
        let mut h = json!({"typ": "dpop+jwt", "alg": key.alg.as_str(), "jwk": public(key)});
        let mut c =
            json!({"jti": crate::secret::random_id(), "htm": "POST", "htu": URL, "iat": NOW});
        merge(&mut h, header);
        merge(&mut c, claims);
        let input = format!(
            "{}.{}",
            b64url(h.to_string().as_bytes()),
            b64url(c.to_string().as_bytes())
        );
        format!("{input}.{}", b64url(&key.sign(input.as_bytes()).unwrap()))
    }

    fn merge(into: &mut Value, from: Value) {
        for (k, v) in from.as_object().unwrap() {
            into[k] = v.clone();
        }
    }

    fn public(key: &SigningKey) -> Value {
        let mut jwk = key.jwks_entry();
        let map = jwk.as_object_mut().unwrap();
        map.remove("kid");
        map.remove("alg");
        jwk
    }

    fn check_at(
        store: &MemoryStore,
        policy: &crate::core::Policy,
        jwt: &str,
        token: Option<&str>,
    ) -> Result<String, DpopError> {
        let cx = context(store, policy, NOW);
        let proof = Proof {
            jwt,
            method: "POST",
            url: URL.into(),
        };
        block_on(verify(&cx, &proof, token))
    }

    fn refusal(result: Result<String, DpopError>) -> &'static str {
        match result {
            Err(DpopError::Invalid(why)) => why,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_proof_yields_its_keys_thumbprint_once() {
        let (store, policy) = (MemoryStore::default(), policy());
        for alg in Alg::ALL {
            let k = key(alg);
            let jwt = proof_with(&k, json!({}), json!({}));
            let jkt = check_at(&store, &policy, &jwt, None).unwrap();
            let expected = PublicKey::from_jwk(public(&k).as_object().unwrap())
                .unwrap()
                .unwrap()
                .thumbprint();
            assert_eq!(jkt, expected, "{alg:?}");
            assert!(refusal(check_at(&store, &policy, &jwt, None)).contains("already used"));
        }
    }

    #[test]
    fn each_rule_of_rfc_9449_section_4_3_is_enforced() {
        let (store, policy) = (MemoryStore::default(), policy());
        let k = key(Alg::ES256);
        let cases: [(Value, Value, &str); 10] = [
            (json!({"typ": "JWT"}), json!({}), "typ must be dpop+jwt"),
            (json!({"jwk": null}), json!({}), "carry its public key"),
            (json!({}), json!({"htm": "GET"}), "htm"),
            (
                json!({}),
                json!({"htu": "https://id.example/userinfo"}),
                "htu",
            ),
            (
                json!({}),
                json!({"htu": "https://evil.example/token"}),
                "htu",
            ),
            (json!({}), json!({"iat": NOW - MAX_AGE - 1}), "iat"),
            (json!({}), json!({"iat": NOW + MAX_AGE + 1}), "iat"),
            (json!({}), json!({"iat": null}), "needs an iat"),
            (json!({}), json!({"jti": ""}), "jti of 1 to 256"),
            (
                json!({"jwk": public(&key(Alg::ES256))}),
                json!({}),
                "does not verify",
            ),
        ];
        for (header, claims, expected) in cases {
            let jwt = proof_with(&k, header, claims);
            let why = refusal(check_at(&store, &policy, &jwt, None));
            assert!(why.contains(expected), "{expected}: {why}");
        }
        // Query, fragment, case of scheme and host and a default port do not matter.
        let same = proof_with(
            &k,
            json!({}),
            json!({"htu": "HTTPS://ID.example:443/token?x=1#f"}),
        );
        assert!(check_at(&store, &policy, &same, None).is_ok());
    }

    #[test]
    fn unsigned_hmac_and_private_keys_are_refused() {
        let (store, policy) = (MemoryStore::default(), policy());
        let k = key(Alg::ES256);
        let claims = json!({"jti": "x", "htm": "POST", "htu": URL, "iat": NOW}).to_string();
        let none = format!(
            "{}.{}.",
            b64url(
                json!({"typ": "dpop+jwt", "alg": "none", "jwk": public(&k)})
                    .to_string()
                    .as_bytes()
            ),
            b64url(claims.as_bytes())
        );
        assert!(refusal(check_at(&store, &policy, &none, None)).contains("not none, not HMAC"));
        let hs = proof_with(&k, json!({"alg": "HS256"}), json!({}));
        assert!(refusal(check_at(&store, &policy, &hs, None)).contains("not none, not HMAC"));
        let mut private = public(&k);
        private["d"] = "AAAA".into();
        let leaked = proof_with(&k, json!({"jwk": private}), json!({}));
        assert!(refusal(check_at(&store, &policy, &leaked, None)).contains("private key"));
        assert!(refusal(check_at(&store, &policy, "a.b", None)).contains("signed JWT"));
    }

    #[test]
    fn with_an_access_token_the_proof_must_carry_its_hash() {
        let (store, policy) = (MemoryStore::default(), policy());
        let k = key(Alg::ES256);
        let ath = tokens::sha256_b64url("the-token");
        let good = proof_with(&k, json!({}), json!({"ath": ath}));
        assert!(check_at(&store, &policy, &good, Some("the-token")).is_ok());
        let other = proof_with(&k, json!({}), json!({"ath": ath}));
        assert!(refusal(check_at(&store, &policy, &other, Some("another"))).contains("ath"));
        let missing = proof_with(&k, json!({}), json!({}));
        assert!(refusal(check_at(&store, &policy, &missing, Some("the-token"))).contains("ath"));
    }

    #[test]
    fn a_required_nonce_is_that_of_this_window_or_the_last() {
        let store = MemoryStore::default();
        let policy = crate::core::Policy {
            dpop_nonce: true,
            ..policy()
        };
        let k = key(Alg::ES256);
        let with_nonce = |n: Option<String>| proof_with(&k, json!({}), json!({ "nonce": n }));
        assert!(matches!(
            check_at(&store, &policy, &with_nonce(None), None),
            Err(DpopError::UseNonce)
        ));
        let cx = context(&store, &policy, NOW);
        let current = nonce(cx.secrets, NOW);
        let previous = nonce(cx.secrets, NOW - NONCE_WINDOW);
        let stale = nonce(cx.secrets, NOW - 2 * NONCE_WINDOW);
        assert_ne!(current, stale);
        assert!(check_at(&store, &policy, &with_nonce(Some(current)), None).is_ok());
        assert!(check_at(&store, &policy, &with_nonce(Some(previous)), None).is_ok());
        assert!(matches!(
            check_at(&store, &policy, &with_nonce(Some(stale)), None),
            Err(DpopError::UseNonce)
        ));
    }
}
