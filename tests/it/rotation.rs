//! Signing keys rotate on their own without a single failed verification at a relying party
//! that caches the JWKS exactly as long as Cache-Control allows and never refetches on an
//! unknown kid.

use std::collections::{HashMap, HashSet};

use openidconnect::JsonWebKey;
use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
use tessera::core::model::GrantType;
use tessera::keys::Alg;

use crate::helpers::{TestApp, browser, spawn_app_with};

/// A relying party's JWKS cache: refetched only when max-age has passed.
struct JwksCache {
    url: String,
    fetched_at: i64,
    max_age: i64,
    /// Keeps every copy this long whatever Cache-Control says (an API gateway).
    hold: Option<i64>,
    keys: Option<CoreJsonWebKeySet>,
    fetches: usize,
}

impl JwksCache {
    fn new(url: String) -> Self {
        Self {
            url,
            fetched_at: 0,
            max_age: 0,
            hold: None,
            keys: None,
            fetches: 0,
        }
    }

    /// A gateway that refetches only every `hold` seconds, never on an unknown kid.
    fn gateway(url: String, hold: i64) -> Self {
        Self {
            hold: Some(hold),
            ..Self::new(url)
        }
    }

    async fn keys(&mut self, http: &reqwest::Client, now: i64) -> &CoreJsonWebKeySet {
        if self.keys.is_none() || now - self.fetched_at >= self.max_age {
            let response = http.get(&self.url).send().await.unwrap();
            let cache_control = response.headers()["cache-control"]
                .to_str()
                .unwrap()
                .to_owned();
            self.max_age = cache_control
                .split(',')
                .find_map(|d| d.trim().strip_prefix("max-age="))
                .and_then(|v| v.parse().ok())
                .expect("max-age in Cache-Control");
            if let Some(hold) = self.hold {
                self.max_age = hold;
            }
            let body = response.text().await.unwrap();
            let set: CoreJsonWebKeySet = serde_json::from_str(&body).unwrap();
            assert!(!set.keys().is_empty(), "the JWKS is never empty");
            self.keys = Some(set);
            self.fetched_at = now;
            self.fetches += 1;
        }
        self.keys.as_ref().unwrap()
    }
}

fn header(token: &str) -> serde_json::Value {
    let first = token.split('.').next().unwrap();
    serde_json::from_slice(&tessera::secret::b64url_decode(first).unwrap()).unwrap()
}

/// Verifies a JWS against a key set; Err says why not.
fn verify(set: &CoreJsonWebKeySet, token: &str) -> Result<String, String> {
    let h = header(token);
    let kid = h["kid"].as_str().unwrap().to_owned();
    let alg = match h["alg"].as_str().unwrap() {
        "RS256" => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        "ES256" => CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        "EdDSA" => CoreJwsSigningAlgorithm::EdDsa,
        "PS256" => CoreJwsSigningAlgorithm::RsaSsaPssSha256,
        other => return Err(format!("unexpected alg {other}")),
    };
    let key = set
        .keys()
        .iter()
        .find(|k| k.key_id().map(|id| id.as_str()) == Some(kid.as_str()))
        .ok_or_else(|| format!("kid {kid} is not in the cached JWKS"))?;
    let parts: Vec<&str> = token.split('.').collect();
    let input = format!("{}.{}", parts[0], parts[1]);
    let signature = tessera::secret::b64url_decode(parts[2]).unwrap();
    key.verify_signature(&alg, input.as_bytes(), &signature)
        .map_err(|e| format!("{kid}: {e}"))?;
    Ok(kid)
}

fn exp(token: &str) -> i64 {
    let payload = token.split('.').nth(1).unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&tessera::secret::b64url_decode(payload).unwrap()).unwrap();
    claims["exp"].as_i64().unwrap()
}

async fn post_token(
    app: &TestApp,
    client: &(String, String),
    form: &[(&str, &str)],
) -> serde_json::Value {
    let response = app
        .rp_http
        .post(app.url("/token"))
        .basic_auth(&client.0, Some(&client.1))
        .form(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Times (unix) around which the test looks closely: key creations, activations, removals,
/// and the planned rotation of each key (one period after it activated).
async fn key_events(app: &TestApp) -> Vec<i64> {
    let period = app.state.config.key_rotation_period;
    app.key_lines()
        .await
        .into_iter()
        .flat_map(|t| {
            let planned = t.activates_at + period;
            [
                Some(t.created_at),
                Some(t.activates_at),
                t.retires_at,
                t.removes_at,
                Some(planned - 900),
                Some(planned),
            ]
        })
        .flatten()
        .collect()
}

on_both_backends! {
async fn a_year_of_rotations_without_a_failed_verification() {
    let app = spawn_app_with(|c| {
        c.refresh_token_ttl = 60 * 86_400;
        c.refresh_token_absolute_ttl = 400 * 86_400;
    })
    .await;
    let start = app.state.now();
    let service = app
        .add_client(|spec| {
            spec.grant_types = vec![GrantType::ClientCredentials];
            spec.scopes = vec!["reports:read".into()];
        })
        .await;
    let eddsa_client = app.add_client(|spec| spec.id_token_alg = Alg::EdDSA).await;
    let pss_client = app.add_client(|spec| spec.id_token_alg = Alg::PS256).await;
    let mut refresh = HashMap::new();
    for client in [app.confidential.clone(), eddsa_client.clone(), pss_client.clone()] {
        let tokens = app.tokens_for(&browser(), &client).await;
        refresh.insert(
            client.0.clone(),
            tokens["refresh_token"].as_str().unwrap().to_owned(),
        );
    }

    let mut cache = JwksCache::new(app.url("/.well-known/jwks.json"));
    // Some API gateways hold the JWKS for two hours (the default jwks_cache_bound).
    let mut gateway = JwksCache::gateway(app.url("/.well-known/jwks.json"), 2 * 3_600);
    let mut outstanding: Vec<(String, i64)> = Vec::new();
    let mut kids_by_alg: HashMap<String, HashSet<String>> = HashMap::new();
    let mut failures = Vec::new();
    let mut verifications = 0usize;
    let year = 365 * 86_400;
    while app.state.now() - start < year {
        let now = app.state.now();
        tessera::jobs::refresh_keys(&app.state).await.unwrap();

        // New tokens of every family: an ES256 access token, RS256, EdDSA and PS256 id_tokens.
        let mut fresh = vec![post_token(&app, &service, &[("grant_type", "client_credentials")]).await["access_token"].clone()];
        for client in [app.confidential.clone(), eddsa_client.clone(), pss_client.clone()] {
            let rt = refresh[&client.0].clone();
            let body = post_token(
                &app,
                &client,
                &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
            )
            .await;
            refresh.insert(
                client.0.clone(),
                body["refresh_token"].as_str().unwrap().to_owned(),
            );
            fresh.push(body["id_token"].clone());
        }
        for token in fresh {
            let token = token.as_str().unwrap().to_owned();
            let alg = header(&token)["alg"].as_str().unwrap().to_owned();
            kids_by_alg
                .entry(alg)
                .or_default()
                .insert(header(&token)["kid"].as_str().unwrap().to_owned());
            outstanding.push((token.clone(), exp(&token)));
        }

        // Every unexpired token must verify against what the relying party has cached.
        outstanding.retain(|(_, exp)| *exp > now);
        for (who, keys) in [
            ("relying party", cache.keys(&app.rp_http, now).await.clone()),
            ("gateway", gateway.keys(&app.rp_http, now).await.clone()),
        ] {
            for (token, _) in &outstanding {
                verifications += 1;
                if let Err(e) = verify(&keys, token) {
                    let day = (now - start) as f64 / 86_400.0;
                    failures.push(format!("{who}, day {day:.2}: {e}"));
                }
            }
        }

        // Step: under a minute within 20 minutes of any key event, otherwise up to six hours but
        // never past the start of the next event's window.
        let events = key_events(&app).await;
        let near_event = events.iter().any(|t| (t - now).abs() <= 1_200);
        let until_window = events
            .iter()
            .filter(|t| **t > now)
            .map(|t| t - now - 1_200)
            .min();
        let step = match until_window {
            // 47 s: not a divisor of the max-age, so refetches fall at every offset.
            _ if near_event => 47,
            Some(gap) => gap.clamp(60, 6 * 3_600),
            None => 6 * 3_600,
        };
        app.advance(step);
    }
    assert!(
        failures.is_empty(),
        "{} failed verifications, first: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    for alg in ["RS256", "ES256", "EdDSA", "PS256"] {
        let seen = kids_by_alg.get(alg).map_or(0, HashSet::len);
        assert!(seen >= 7, "{alg}: only {seen} signing keys in a year");
    }
    // Removed keys left the JWKS: it holds a handful of keys, not a year's worth.
    let published = app.key_lines().await.len();
    assert!(published <= 12, "{published} keys still stored");
    assert!(verifications > 5_000, "{verifications}");
    assert!(cache.fetches > 100);
}
}

on_both_backends! {
async fn an_emergency_revoke_removes_the_key_at_once() {
    let app = spawn_app_with(|_| {}).await;
    let tokens = app.tokens(&browser()).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let kid = header(&access)["kid"].as_str().unwrap().to_owned();
    let alg = app.revoke_key(&kid).await.unwrap();
    assert_eq!(alg, Alg::ES256);
    tessera::jobs::refresh_keys(&app.state).await.unwrap();
    let jwks = app
        .rp_http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!jwks.contains(&kid), "revoked key out of the JWKS");
    let set: CoreJsonWebKeySet = serde_json::from_str(&jwks).unwrap();
    assert!(verify(&set, &access).is_err());
    assert_eq!(app.introspect(&access).await["active"], false);
    // A new access token is signed by the family's replacement, which is published.
    let again = app.tokens(&browser()).await;
    let new_token = again["access_token"].as_str().unwrap();
    assert_ne!(header(new_token)["kid"], kid.as_str());
    assert!(verify(&set, new_token).is_ok());
    assert!(
        app.revoke_key(&kid).await.is_err(),
        "twice is an error"
    );
}
}

on_both_backends! {
async fn replicas_rotate_once_and_serve_the_same_jwks() {
    let app = spawn_app_with(|c| c.key_reload_interval = 1).await;
    let replica = app.spawn_replica(|c| c.key_reload_interval = 1).await;
    let families =
        |lines: &[tessera::keys::Timeline]| lines.iter().filter(|t| t.alg == Alg::RS256).count();
    assert_eq!(families(&app.key_lines().await), 1);

    // Rotation falls due on both replicas at the same moment.
    app.advance(30 * 86_400);
    let (a, b) = futures_util::join!(
        tessera::jobs::refresh_keys(&app.state),
        tessera::jobs::refresh_keys(&replica.state)
    );
    a.unwrap();
    b.unwrap();
    let lines = app.key_lines().await;
    assert_eq!(
        families(&lines),
        2,
        "exactly one successor per family: {lines:?}"
    );
    assert_eq!(lines.len(), 8);

    let jwks = |base: String| {
        let http = app.rp_http.clone();
        async move {
            let response = http
                .get(format!("{base}/.well-known/jwks.json"))
                .send()
                .await
                .unwrap();
            let etag = response.headers()["etag"].to_str().unwrap().to_owned();
            (etag, response.text().await.unwrap())
        }
    };
    assert_eq!(
        jwks(app.base.clone()).await,
        jwks(replica.base.clone()).await
    );

    // A key made elsewhere (here: the CLI's code path on the first replica) reaches the other
    // replica through its reload loop.
    let rotated = app.rotate_keys(Some(Alg::ES256), true).await;
    let kid = rotated[0].kid.clone();
    let mut seen = false;
    for _ in 0..50 {
        if jwks(replica.base.clone()).await.1.contains(&kid) {
            seen = true;
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        seen,
        "the replica picked up the rotation within its reload interval"
    );
}
}

on_both_backends! {
async fn jwks_is_cacheable_with_etag_and_max_age() {
    let app = spawn_app_with(|c| c.jwks_max_age = 120).await;
    let first = app.rp_http.get(app.url("/.well-known/jwks.json")).send().await.unwrap();
    assert_eq!(first.headers()["cache-control"], "public, max-age=120");
    assert_eq!(first.headers()["content-type"], "application/jwk-set+json");
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let body: serde_json::Value = first.json().await.unwrap();
    for key in body["keys"].as_array().unwrap() {
        assert_eq!(key["use"], "sig");
        assert!(key["kid"].is_string() && key["alg"].is_string() && key["x5c"][0].is_string() && key["x5t#S256"].is_string());
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(key.get(private).is_none(), "private member {private} published");
        }
    }
    let again = app.rp_http.get(app.url("/.well-known/jwks.json")).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), 304);
    app.rotate_keys(Some(Alg::ES256), false).await;
    tessera::jobs::refresh_keys(&app.state).await.unwrap();
    let changed = app.rp_http.get(app.url("/.well-known/jwks.json")).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(changed.status(), 200, "a pre-published key changes the document");
    let metadata: serde_json::Value = app.rp_http.get(app.url("/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
    assert_eq!(metadata["id_token_signing_alg_values_supported"], serde_json::json!(["RS256", "ES256", "EdDSA", "PS256"]));
}
}
