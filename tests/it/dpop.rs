//! DPoP (RFC 9449) as a client uses it: a key pair of its own signs a fresh proof for each
//! request; the access token (and a public client's refresh token) is bound to that key, so
//! userinfo, refresh and the admin API refuse the token without a proof by the same key. Each
//! negative case of §4.3 and §7.1 has its own check: a replayed proof, a wrong htu or htm, an
//! expired proof, alg none, another key, a missing ath, the Bearer scheme for a bound token.

use serde_json::{Value, json};
use tessera::core::model::GrantType;
use tessera::keys::{Alg, MasterKey, PublicKey, SigningKey, generate};
use tessera::secret::{b64url, b64url_decode, random_id};

use crate::helpers::{
    PASSWORD, REDIRECT, TestApp, browser, json as json_of, param, spawn_app, spawn_app_with, str_of,
};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A client's DPoP key pair.
pub(crate) struct DpopKey(SigningKey);

impl DpopKey {
    pub(crate) fn new(alg: Alg) -> Self {
        let master = MasterKey::parse(&"66".repeat(32)).unwrap();
        let stored = generate(alg).unwrap().seal(&master, 1, 0, 0);
        Self(SigningKey::unseal(&stored, &master).unwrap())
    }

    fn public(&self) -> Value {
        let mut jwk = self.0.jwks_entry();
        jwk.as_object_mut().unwrap().remove("kid");
        jwk
    }

    /// The key's RFC 7638 thumbprint, as `cnf.jkt` and `dpop_jkt` carry it.
    pub(crate) fn jkt(&self) -> String {
        let jwk = self.public();
        PublicKey::from_jwk(jwk.as_object().unwrap())
            .unwrap()
            .unwrap()
            .thumbprint()
    }

    /// A proof for `method url` now, with the hash of `token` if given; `extra` overrides
    /// claims (a null removes one).
    pub(crate) fn proof(
        &self,
        app: &TestApp,
        method: &str,
        url: &str,
        token: Option<&str>,
        extra: Value,
    ) -> String {
        let mut claims =
            json!({"jti": random_id(), "htm": method, "htu": url, "iat": app.state.now()});
        if let Some(token) = token {
            claims["ath"] = tessera::tokens::sha256_b64url(token).into();
        }
        for (k, v) in extra.as_object().unwrap() {
            claims[k] = v.clone();
        }
        let header = json!({"typ": "dpop+jwt", "alg": self.0.alg.as_str(), "jwk": self.public()});
        let input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        format!(
            "{input}.{}",
            b64url(&self.0.sign(input.as_bytes()).unwrap())
        )
    }
}

pub(crate) fn payload(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&b64url_decode(part).unwrap()).unwrap()
}

/// The public client's code, signed in with PKCE, with `extra` authorization parameters.
async fn public_code(app: &TestApp, extra: &[(&str, &str)]) -> String {
    let mut params = vec![
        ("client_id", app.public_client.as_str()),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("scope", "openid profile offline_access"),
    ];
    params.extend_from_slice(extra);
    let back = app
        .sign_in(&browser(), &app.authorize_url(&params), PASSWORD)
        .await;
    param(&back, "code").unwrap()
}

/// POST /token as the public client with an optional DPoP proof.
async fn public_token(
    app: &TestApp,
    form: &[(&str, &str)],
    proof: Option<String>,
) -> (u16, Value, openidconnect::reqwest::header::HeaderMap) {
    let mut form = form.to_vec();
    form.push(("client_id", &app.public_client));
    let mut request = app.rp_http.post(app.url("/token")).form(&form);
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    let response = request.send().await.unwrap();
    let headers = response.headers().clone();
    let (status, body) = json_of(response).await;
    (status, body, headers)
}

async fn redeem(app: &TestApp, code: &str, proof: Option<String>) -> (u16, Value) {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let (status, body, _) = public_token(app, &form, proof).await;
    (status, body)
}

/// GET /userinfo with `Authorization: {scheme} {token}` and an optional proof: the status,
/// the body and the WWW-Authenticate challenge.
async fn userinfo(
    app: &TestApp,
    scheme: &str,
    token: &str,
    proof: Option<String>,
) -> (u16, Value, String) {
    let mut request = app
        .rp_http
        .get(app.url("/userinfo"))
        .header("Authorization", format!("{scheme} {token}"));
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    let response = request.send().await.unwrap();
    let challenge = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join(" | ");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body, challenge)
}

on_both_backends! {
async fn a_public_clients_tokens_are_bound_to_its_key_and_useless_without_it() {
    let app = spawn_app().await;
    let key = DpopKey::new(Alg::ES256);
    let token_url = app.url("/token");
    let code = public_code(&app, &[]).await;
    let (status, tokens) = redeem(&app, &code, Some(key.proof(&app, "POST", &token_url, None, json!({})))).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "DPoP");
    let at = str_of(&tokens, "access_token");
    assert_eq!(payload(&at)["cnf"]["jkt"], key.jkt().as_str());

    // Userinfo: only the DPoP scheme with a proof by the same key, for this token.
    let ui = app.url("/userinfo");
    let (status, body, _) = userinfo(&app, "DPoP", &at, Some(key.proof(&app, "GET", &ui, Some(&at), json!({})))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["preferred_username"], "alice");
    let (status, body, challenge) = userinfo(&app, "Bearer", &at, None).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_token")), "bound token as Bearer");
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    let stranger = DpopKey::new(Alg::ES256);
    let cases = [
        ("another key", stranger.proof(&app, "GET", &ui, Some(&at), json!({})), "another key"),
        ("wrong htm", key.proof(&app, "POST", &ui, Some(&at), json!({})), "htm"),
        ("wrong htu", key.proof(&app, "GET", &token_url, Some(&at), json!({})), "htu"),
        ("no ath", key.proof(&app, "GET", &ui, None, json!({})), "ath"),
        ("expired", key.proof(&app, "GET", &ui, Some(&at), json!({"iat": app.state.now() - 120})), "iat"),
    ];
    for (case, proof, why) in cases {
        let (status, body, challenge) = userinfo(&app, "DPoP", &at, Some(proof)).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_dpop_proof")), "{case}: {body}");
        assert!(body["error_description"].as_str().unwrap().contains(why), "{case}: {body}");
        assert!(challenge.starts_with("DPoP error=\"invalid_dpop_proof\"") && challenge.contains("algs="), "{case}: {challenge}");
    }
    let once = key.proof(&app, "GET", &ui, Some(&at), json!({}));
    assert_eq!(userinfo(&app, "DPoP", &at, Some(once.clone())).await.0, 200);
    let (status, body, _) = userinfo(&app, "DPoP", &at, Some(once)).await;
    assert_eq!(status, 401, "a replayed proof");
    assert!(body["error_description"].as_str().unwrap().contains("already used"), "{body}");
    let (status, _, _) = userinfo(&app, "DPoP", &at, None).await;
    assert_eq!(status, 401, "the DPoP scheme without a proof");

    // The refresh token is bound too: refused without the key, rotated with it.
    let rt = str_of(&tokens, "refresh_token");
    let form = [("grant_type", "refresh_token"), ("refresh_token", rt.as_str())];
    let (status, body, _) = public_token(&app, &form, None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    let (status, _, _) = public_token(&app, &form, Some(stranger.proof(&app, "POST", &token_url, None, json!({})))).await;
    assert_eq!(status, 400, "a proof by another key");
    let (status, refreshed, _) = public_token(&app, &form, Some(key.proof(&app, "POST", &token_url, None, json!({})))).await;
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(refreshed["token_type"], "DPoP");
    assert_eq!(payload(&str_of(&refreshed, "access_token"))["cnf"]["jkt"], key.jkt().as_str());

    // A resource server introspecting it learns the binding (RFC 9449 §6.2).
    let gateway = app.add_client(|c| c.introspect_any = true).await;
    let seen = app.introspect_as(&gateway, &str_of(&refreshed, "access_token")).await;
    assert_eq!((seen["active"].as_bool(), seen["token_type"].as_str()), (Some(true), Some("DPoP")), "{seen}");
    assert_eq!(seen["cnf"]["jkt"], key.jkt().as_str());
    let seen = app.introspect_as(&gateway, &str_of(&refreshed, "refresh_token")).await;
    assert_eq!(seen["cnf"]["jkt"], key.jkt().as_str(), "{seen}");
}
}

/// A client_credentials service registered with --require-dpop, and its DPoP key.
struct Service {
    client: (String, String),
    key: DpopKey,
}

impl Service {
    async fn register(app: &TestApp) -> Self {
        let client = app
            .add_client(|c| {
                c.grant_types = vec![GrantType::ClientCredentials];
                c.scopes = vec!["orders:read".into()];
                c.redirect_uris = vec![];
                c.require_dpop = true;
            })
            .await;
        Self {
            client,
            key: DpopKey::new(Alg::RS256),
        }
    }

    /// A proof for its token request, with claim overrides.
    fn proof(&self, app: &TestApp, claims: Value) -> String {
        self.key
            .proof(app, "POST", &app.url("/token"), None, claims)
    }

    async fn token(&self, app: &TestApp, proof: Option<String>) -> (u16, Value) {
        let mut request = app
            .rp_http
            .post(app.url("/token"))
            .basic_auth(&self.client.0, Some(&self.client.1))
            .form(&[("grant_type", "client_credentials")]);
        if let Some(proof) = proof {
            request = request.header("DPoP", proof);
        }
        json_of(request.send().await.unwrap()).await
    }

    /// Asserts the token request with `proof` is refused as invalid_dpop_proof, saying `why`.
    async fn refuses(&self, app: &TestApp, proof: String, why: &str) {
        let (status, body) = self.token(app, Some(proof)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_dpop_proof")),
            "{body}"
        );
        let description = body["error_description"].as_str().unwrap();
        assert!(description.contains(why), "{why}: {description}");
    }
}

on_both_backends! {
async fn a_client_registered_to_require_dpop_gets_only_bound_tokens() {
    let app = spawn_app().await;
    let service = Service::register(&app).await;
    let (status, body) = service.token(&app, None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_dpop_proof")), "{body}");
    let (status, body) = service.token(&app, Some(service.proof(&app, json!({})))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(payload(&str_of(&body, "access_token"))["cnf"]["jkt"], service.key.jkt().as_str());
    let discovery: Value = app.get_json("/.well-known/openid-configuration").await;
    assert_eq!(discovery["dpop_signing_alg_values_supported"], json!(["ES256", "RS256", "PS256", "EdDSA"]));
}
}

on_both_backends! {
async fn a_replayed_dpop_proof_is_refused() {
    let app = spawn_app().await;
    let service = Service::register(&app).await;
    let proof = service.proof(&app, json!({}));
    assert_eq!(service.token(&app, Some(proof.clone())).await.0, 200);
    service.refuses(&app, proof, "already used").await;
}
}

on_both_backends! {
async fn a_dpop_proof_for_another_url_or_method_is_refused() {
    let app = spawn_app().await;
    let service = Service::register(&app).await;
    let elsewhere = service.key.proof(&app, "POST", &app.url("/revoke"), None, json!({}));
    service.refuses(&app, elsewhere, "htu").await;
    let other_method = service.key.proof(&app, "GET", &app.url("/token"), None, json!({}));
    service.refuses(&app, other_method, "htm").await;
}
}

on_both_backends! {
async fn an_expired_or_future_dpop_proof_is_refused() {
    let app = spawn_app().await;
    let service = Service::register(&app).await;
    let now = app.state.now();
    service.refuses(&app, service.proof(&app, json!({"iat": now - 61})), "iat").await;
    service.refuses(&app, service.proof(&app, json!({"iat": now + 61})), "iat").await;
}
}

on_both_backends! {
async fn an_unsigned_dpop_proof_or_one_without_jti_is_refused() {
    let app = spawn_app().await;
    let service = Service::register(&app).await;
    let header = json!({"typ": "dpop+jwt", "alg": "none", "jwk": service.key.public()});
    let claims = json!({"jti": "n", "htm": "POST", "htu": app.url("/token"), "iat": app.state.now()});
    let unsigned = format!("{}.{}.", b64url(header.to_string().as_bytes()), b64url(claims.to_string().as_bytes()));
    service.refuses(&app, unsigned, "not none").await;
    service.refuses(&app, service.proof(&app, json!({"jti": null})), "jti").await;
}
}

on_both_backends! {
async fn a_code_requested_with_dpop_jkt_is_redeemed_only_with_that_key() {
    let app = spawn_app().await;
    let token_url = app.url("/token");
    let key = DpopKey::new(Alg::EdDSA);
    let jkt = key.jkt();
    let code = public_code(&app, &[("dpop_jkt", &jkt)]).await;
    let other = DpopKey::new(Alg::EdDSA);
    let (status, body) = redeem(&app, &code, Some(other.proof(&app, "POST", &token_url, None, json!({})))).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("dpop_jkt"), "{body}");

    let code = public_code(&app, &[("dpop_jkt", &jkt)]).await;
    let (status, body) = redeem(&app, &code, None).await;
    assert_eq!(status, 400, "no proof at all: {body}");
    let code = public_code(&app, &[("dpop_jkt", &jkt)]).await;
    let (status, body) = redeem(&app, &code, Some(key.proof(&app, "POST", &token_url, None, json!({})))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(payload(&str_of(&body, "access_token"))["cnf"]["jkt"], jkt.as_str());

    // A malformed dpop_jkt goes back to the client as invalid_request.
    let url = app.authorize_url(&[
        ("client_id", app.public_client.as_str()),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("dpop_jkt", "short"),
    ]);
    let back = app.sign_in(&browser(), &url, PASSWORD).await;
    assert_eq!(param(&back, "error").as_deref(), Some("invalid_request"), "{back}");
}
}

/// A token request whose proof carries `nonce` (or none) and is asked for the server's: the
/// nonce it is handed.
async fn asks_for_a_nonce(
    app: &TestApp,
    key: &DpopKey,
    form: &[(&str, &str)],
    nonce: Option<&str>,
) -> String {
    let proof = key.proof(
        app,
        "POST",
        &app.url("/token"),
        None,
        json!({ "nonce": nonce }),
    );
    let (status, body, headers) = public_token(app, form, Some(proof)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("use_dpop_nonce")),
        "{nonce:?}: {body}"
    );
    let handed = headers.get("dpop-nonce").expect("a DPoP-Nonce header");
    handed.to_str().unwrap().to_owned()
}

#[actix_web::test]
async fn with_server_nonces_a_proof_must_carry_the_current_one() {
    crate::helpers::use_backend(crate::helpers::Backend::Sqlite);
    let app = spawn_app_with(|c| c.dpop_nonce = true).await;
    let token_url = app.url("/token");
    let key = DpopKey::new(Alg::ES256);
    let code = public_code(&app, &[]).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let nonce = asks_for_a_nonce(&app, &key, &form, None).await;
    asks_for_a_nonce(&app, &key, &form, Some("made-up")).await;
    let proof = key.proof(&app, "POST", &token_url, None, json!({"nonce": nonce}));
    let (status, tokens, _) = public_token(&app, &form, Some(proof)).await;
    assert_eq!(status, 200, "{tokens}");

    // Userinfo asks for it the same way, as a resource server does (RFC 9449 §9).
    let at = str_of(&tokens, "access_token");
    let ui = app.url("/userinfo");
    let proof = key.proof(&app, "GET", &ui, Some(&at), json!({}));
    let (status, _, challenge) = userinfo(&app, "DPoP", &at, Some(proof)).await;
    assert_eq!(status, 401);
    assert!(
        challenge.starts_with("DPoP error=\"use_dpop_nonce\""),
        "{challenge}"
    );
    let proof = key.proof(&app, "GET", &ui, Some(&at), json!({"nonce": nonce}));
    let (status, body, _) = userinfo(&app, "DPoP", &at, Some(proof)).await;
    assert_eq!(status, 200, "{body}");

    // Two windows later the nonce is stale; the one the refusal hands out works.
    app.advance(tessera::core::dpop::NONCE_WINDOW * 2);
    let rt = str_of(&tokens, "refresh_token");
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt.as_str()),
    ];
    let fresh = asks_for_a_nonce(&app, &key, &form, Some(&nonce)).await;
    assert_ne!(fresh, nonce);
    let proof = key.proof(&app, "POST", &token_url, None, json!({"nonce": fresh}));
    let (status, body, _) = public_token(&app, &form, Some(proof)).await;
    assert_eq!(status, 200, "{body}");
}

/// The public client's code from a request pushed to /par with a proof by `key`.
async fn pushed_code(app: &TestApp, key: &DpopKey) -> String {
    let proof = key.proof(app, "POST", &app.url("/par"), None, json!({}));
    let form = [
        ("client_id", app.public_client.as_str()),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("scope", "openid"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    let response = app
        .rp_http
        .post(app.url("/par"))
        .header("DPoP", proof)
        .form(&form);
    let (status, pushed) = json_of(response.send().await.unwrap()).await;
    assert_eq!(status, 201, "{pushed}");
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("client_id", app.public_client.as_str()),
            ("request_uri", &str_of(&pushed, "request_uri")),
        ])
        .finish();
    let url = app.url(&format!("/authorize?{query}"));
    let back = app.sign_in(&browser(), &url, PASSWORD).await;
    param(&back, "code").unwrap()
}

on_both_backends! {
async fn a_proof_sent_to_par_binds_the_code_to_its_key() {
    let app = spawn_app().await;
    let token_url = app.url("/token");
    let key = DpopKey::new(Alg::ES256);
    let code = pushed_code(&app, &key).await;
    let other = DpopKey::new(Alg::ES256);
    let (status, body) = redeem(&app, &code, Some(other.proof(&app, "POST", &token_url, None, json!({})))).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    let code = pushed_code(&app, &key).await;
    let (status, body) = redeem(&app, &code, Some(key.proof(&app, "POST", &token_url, None, json!({})))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(payload(&str_of(&body, "access_token"))["cnf"]["jkt"], key.jkt().as_str());
}
}
