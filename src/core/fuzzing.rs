//! Entry points of the coverage-guided fuzz targets in `fuzz/` (cargo-fuzz layout, built with
//! `--cfg fuzzing`): each feeds arbitrary bytes to the parsers of untrusted input and must
//! return, whatever the bytes are, without a panic. The use cases run on the in-memory store
//! of the unit tests, so no database or runtime slows a run. The tests below replay the seed
//! corpus and every input that once failed (`fuzz/regressions/`).

use std::sync::OnceLock;

use serde_json::Value;

use super::access::Presented;
use super::authorize::{flow, par, request};
use super::dpop::Proof;
use super::model::{AuthMethod, User};
use super::params::Params;
use super::scope::Scope;
use super::testing::MemoryStore;
use super::testing::{
    block_on, client, context, keyring, master, policy, store_with_known_tokens, user,
};
use super::token::{client_assertion, client_auth};
use super::{introspection, logout, mfa, revocation, token, userinfo};
use crate::keys::{Alg, JwkSet};
use crate::tokens::{self, AccessTokenClaims, IdTokenClaims};

/// What a deterministic seed stores, so that the fuzzer can find inputs that redeem it.
pub const CODE: &str = "fuzz-code";
pub const REFRESH_TOKEN: &str = "fuzz-refresh-token";
const NOW: i64 = 1_800_000_000;
/// The keys of a client that signs its request objects (RFC 7517 appendix A.1's EC key).
const CLIENT_JWKS: &str = r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"1","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}]}"#;

/// JOSE as it arrives: a JWT (id_token_hint, access token, client assertion, request object),
/// the same bytes as the claims of a token this provider signed (so the claim parsers see
/// them too), a client's JWK Set, and a sealed value as cookies and forms carry them.
pub fn jose(data: &[u8]) {
    let ring = keyring();
    if let Ok(set) = JwkSet::parse(data) {
        for alg in [Alg::RS256, Alg::PS256, Alg::ES256, Alg::EdDSA] {
            set.verify(alg, None, data, data);
        }
        set.has_kid("kid");
    }
    if let Ok(claims) = serde_json::from_slice::<Value>(data) {
        for typ in ["JWT", "at+jwt"] {
            if let Some(key) = ring.current(Alg::ES256)
                && let Ok(signed) = tokens::sign(key, typ, &claims)
            {
                tokens::verify::<AccessTokenClaims>(&ring, &signed, typ);
                tokens::verify::<IdTokenClaims>(&ring, &signed, typ);
            }
        }
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    tokens::split(text);
    tokens::verify::<Value>(&ring, text, "JWT");
    tokens::verify::<AccessTokenClaims>(&ring, text, "at+jwt");
    let _ = client_assertion::parse(text);
    mfa::open_pending(master(), text, NOW);
}

/// A request to the OAuth endpoints: the first line is its Authorization header, the second
/// its DPoP header (each absent when empty), the rest its form body. It goes through client
/// authentication, then as if the client had authenticated through the token, introspection,
/// revocation, logout, pushed authorization and authorization endpoints; the header's
/// credentials also go to userinfo as an access token.
pub fn oauth(data: &[u8]) {
    let mut lines = data.splitn(3, |b| *b == b'\n');
    let (authorization, dpop) = (header(lines.next()), header(lines.next()));
    let Ok(params) = Params::from_urlencoded(lines.next().unwrap_or_default()) else {
        return;
    };
    let store = seeded_store();
    let policy = policy();
    let cx = context(&store, &policy, NOW);
    let _ = block_on(client_auth::authenticate(
        &cx,
        &store,
        authorization,
        &params,
        Some("203.0.113.9"),
    ));
    let app = client(AuthMethod::ClientSecretBasic);
    let proof = dpop.map(|jwt| Proof {
        jwt,
        method: "POST",
        url: policy.url("/token"),
    });
    let _ = block_on(token::token(&cx, &app, &params, proof.as_ref()));
    let _ = block_on(introspection::introspect(&cx, &app, &params));
    let _ = block_on(revocation::revoke(&cx, &app, &params));
    let _ = block_on(logout::logout_request(&cx, &params));
    // /par and /authorize, by a client with keys so that request objects are unpacked.
    let mut signer = app.clone();
    signer.jwks = Some(CLIENT_JWKS.into());
    let _ = block_on(par::push(&cx, &store, &signer, &params, proof.as_ref()));
    let _ = block_on(flow::start(&cx, &store, &params, None));
    if let Ok(redirect_uri) = request::verified_redirect_uri(&app, &params) {
        let _ = request::validate(&app, &params, redirect_uri);
    }
    if let Some(scope) = params.get("scope") {
        let _ = Scope::parse(scope);
    }
    // The same header as a protected resource reads it: the access token at userinfo.
    if let Some(access_token) = authorization
        .and_then(|h| h.split_once(' '))
        .map(|(_, t)| t)
    {
        let presented = match proof {
            Some(proof) => Presented::Dpop {
                token: access_token,
                proof,
            },
            None => Presented::Bearer(access_token),
        };
        let _ = block_on(userinfo::userinfo(&cx, &presented));
    }
}

/// A header line as text; None when empty or not UTF-8.
fn header(line: Option<&[u8]>) -> Option<&str> {
    line.and_then(|l| std::str::from_utf8(l).ok())
        .filter(|l| !l.is_empty())
}

/// The store of every input: alice (hashed once), client "app" (also allowed
/// client_credentials), and a code and refresh token whose values the seeds know.
fn seeded_store() -> MemoryStore {
    static ALICE: OnceLock<User> = OnceLock::new();
    let alice = ALICE.get_or_init(|| user("alice"));
    store_with_known_tokens(alice, CODE, REFRESH_TOKEN, NOW)
}

/// Every file under `fuzz/<dir>/<target>/`: the seed corpus or the regressions.
#[cfg(test)]
fn inputs(dir: &str, target: &str) -> Vec<Vec<u8>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(dir)
        .join(target);
    let Ok(entries) = std::fs::read_dir(&path) else {
        return vec![];
    };
    entries
        .map(|e| std::fs::read(e.expect("a readable entry").path()).expect("a readable input"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_corpus_and_every_past_failure_replay_without_a_panic() {
        type Target = fn(&[u8]);
        for (name, target) in [("jose", jose as Target), ("oauth", oauth)] {
            let seeds = inputs("corpus", name);
            assert!(seeds.len() >= 3, "fuzz/corpus/{name} holds the seeds");
            for input in seeds.iter().chain(&inputs("regressions", name)) {
                target(input);
            }
        }
    }

    #[test]
    fn the_seeds_reach_the_use_cases() {
        let form = |body: &str| format!("\n\n{body}").into_bytes();
        // The deterministic code redeems, once: the fuzzer starts from a working request.
        let store = seeded_store();
        let policy = policy();
        let cx = context(&store, &policy, NOW);
        let params = Params::from_urlencoded(
            format!(
                "grant_type=authorization_code&code={CODE}&redirect_uri=https://app.example/cb"
            )
            .as_bytes(),
        )
        .unwrap();
        let app = client(AuthMethod::ClientSecretBasic);
        assert!(block_on(token::token(&cx, &app, &params, None)).is_ok());
        assert!(block_on(token::token(&cx, &app, &params, None)).is_err());
        let refresh = format!("grant_type=refresh_token&refresh_token={REFRESH_TOKEN}");
        let params = Params::from_urlencoded(refresh.as_bytes()).unwrap();
        assert!(block_on(token::token(&cx, &app, &params, None)).is_ok());
        oauth(&form(&refresh));
    }
}
