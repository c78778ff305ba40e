//! private_key_jwt (RFC 7523 §2.2, OIDC Core §9) as a service would use it: a client signs
//! a short-lived assertion with its own key and presents it at the token, introspection and
//! revocation endpoints; its public keys are registered as a JWK Set or served at a jwks_uri
//! that Tessera fetches (and fetches again when the client rotates). Every refusal is a 401
//! invalid_client, and a replayed assertion is refused.

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use tessera::core::accounts;
use tessera::core::model::{AuthMethod, ClientSpec, GrantType};
use tessera::keys::{Alg, MasterKey, SigningKey, generate};
use tessera::secret::b64url;

use crate::helpers::{TestApp, spawn_app, spawn_app_with, str_of};

pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

pub(crate) fn key(alg: Alg) -> SigningKey {
    let master = MasterKey::parse(&"55".repeat(32)).unwrap();
    SigningKey::unseal(&generate(alg).unwrap().seal(&master, 1, 0, 0), &master).unwrap()
}

pub(crate) fn jwks(keys: &[&SigningKey]) -> String {
    json!({ "keys": keys.iter().map(|k| k.jwks_entry()).collect::<Vec<_>>() }).to_string()
}

/// A client's web server publishing its JWK Set; the document can be replaced (rotation).
async fn jwks_server(document: String) -> (String, Arc<Mutex<String>>) {
    let served = Arc::new(Mutex::new(document));
    let state = served.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        let state = state.clone();
        App::new().route(
            "/jwks.json",
            web::get().to(move || {
                let body = state.lock().unwrap().clone();
                async move {
                    HttpResponse::Ok()
                        .content_type("application/json")
                        .body(body)
                }
            }),
        )
    })
    .listen(listener)
    .unwrap()
    .workers(1)
    .run();
    actix_web::rt::spawn(server);
    (format!("http://127.0.0.1:{port}/jwks.json"), served)
}

/// Registers a private_key_jwt client allowed client_credentials.
async fn register(app: &TestApp, jwks: Option<String>, jwks_uri: Option<String>) -> String {
    let spec = ClientSpec {
        auth_method: AuthMethod::PrivateKeyJwt,
        grant_types: vec![GrantType::ClientCredentials],
        scopes: vec!["orders:read".into()],
        jwks,
        jwks_uri,
        ..ClientSpec::new("Signing service", vec![])
    };
    let (client, secret) =
        accounts::create_client(&app.state.store, &app.state.master, spec, app.state.now())
            .await
            .unwrap();
    assert!(secret.is_none(), "a private_key_jwt client has no secret");
    client.id
}

pub(crate) fn claims(app: &TestApp, client_id: &str, jti: &str) -> Value {
    let now = app.state.now();
    json!({
        "iss": client_id, "sub": client_id, "aud": app.url("/token"),
        "iat": now, "exp": now + 60, "jti": jti,
    })
}

pub(crate) fn signed(key: &SigningKey, claims: &Value) -> String {
    tessera::tokens::sign(key, "JWT", claims).unwrap()
}

/// POSTs `form` plus the assertion to `path`.
async fn post(app: &TestApp, path: &str, assertion: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let mut form = form.to_vec();
    form.extend([
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
    ]);
    let response = app
        .rp_http
        .post(app.url(path))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    // A revocation answers 200 with an empty body.
    let body = response.text().await.unwrap();
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

async fn token(app: &TestApp, assertion: &str) -> (u16, Value) {
    post(
        app,
        "/token",
        assertion,
        &[("grant_type", "client_credentials")],
    )
    .await
}

fn refused(answer: &(u16, Value), why: &str) {
    assert_eq!(answer.0, 401, "{why}: {}", answer.1);
    assert_eq!(answer.1["error"], "invalid_client", "{why}");
    assert!(
        answer.1["error_description"]
            .as_str()
            .unwrap_or_default()
            .contains(why),
        "{why}: {}",
        answer.1
    );
}

on_both_backends! {
async fn a_service_authenticates_with_a_signed_assertion_everywhere() {
    let app = spawn_app().await;
    let k = key(Alg::ES256);
    let id = register(&app, Some(jwks(&[&k])), None).await;
    let meta: Value = app.get_json("/.well-known/openid-configuration").await;
    assert!(
        meta["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&"private_key_jwt".into())
    );
    assert!(
        !meta["token_endpoint_auth_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "none"),
        "HS* are advertised for client_secret_jwt; none never"
    );

    let first = signed(&k, &claims(&app, &id, "t1"));
    let (status, body) = token(&app, &first).await;
    assert_eq!(status, 200, "{body}");
    let access_token = str_of(&body, "access_token");
    // The very same assertion again: a replay.
    refused(&token(&app, &first).await, "jti was already used");

    // Introspection and revocation accept it too, each with a fresh assertion (and the
    // issuer as the audience, as RFC 7523bis prefers).
    let mut at_issuer = claims(&app, &id, "i1");
    at_issuer["aud"] = app.base.clone().into();
    let (status, seen) = post(&app, "/introspect", &signed(&k, &at_issuer), &[("token", &access_token)]).await;
    assert_eq!((status, seen["active"].clone()), (200, true.into()), "{seen}");
    let revoke = signed(&k, &claims(&app, &id, "r1"));
    let (status, _) = post(&app, "/revoke", &revoke, &[("token", &access_token)]).await;
    assert_eq!(status, 200);
    let (_, seen) = post(&app, "/introspect", &signed(&k, &claims(&app, &id, "i2")), &[("token", &access_token)]).await;
    assert_eq!(seen["active"], false);

    // A secret is not how this client authenticates.
    let with_secret = app
        .rp_http
        .post(app.url("/token"))
        .basic_auth(&id, Some("guess"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(with_secret.status(), 401);
}
}

on_both_backends! {
async fn every_broken_rule_is_refused_and_says_which() {
    // Each refusal counts as a failed authentication; allow more than the default five
    // before the lockout (throttling.rs shows the lockout itself).
    let app = spawn_app_with(|c| c.throttle.max_failures = 50).await;
    let k = key(Alg::RS256);
    let document = jwks(&[&k]);
    let id = register(&app, Some(document.clone()), None).await;
    let now = app.state.now();
    let with = |jti: &str, name: &str, value: Value| {
        let mut c = claims(&app, &id, jti);
        c[name] = value;
        signed(&k, &c)
    };
    refused(&token(&app, &with("a", "aud", "https://elsewhere.example".into())).await, "aud must be");
    refused(&token(&app, &with("b", "exp", (now - 1).into())).await, "expired");
    refused(&token(&app, &with("c", "exp", (now + 7200).into())).await, "must expire within");
    refused(&token(&app, &with("d", "iss", "someone-else".into())).await, "iss and sub");
    let body = b64url(claims(&app, &id, "e").to_string().as_bytes());
    let none = format!("{}.{body}.", b64url(br#"{"alg":"none","typ":"JWT"}"#));
    refused(&token(&app, &none).await, "not none, not HMAC");
    let input = format!("{}.{body}", b64url(br#"{"alg":"HS256","typ":"JWT"}"#));
    let mac = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, document.as_bytes()),
        input.as_bytes(),
    );
    refused(&token(&app, &format!("{input}.{}", b64url(mac.as_ref()))).await, "not none, not HMAC");
    let stranger = key(Alg::RS256);
    refused(&token(&app, &signed(&stranger, &claims(&app, &id, "f"))).await, "does not verify");
    let (status, body) = token(&app, "not-a-jwt").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")));
    // Unknown clients get the same answer as wrong keys.
    let ghost = signed(&k, &claims(&app, "no-such-client", "g"));
    assert_eq!(token(&app, &ghost).await.0, 401);
}
}

on_both_backends! {
async fn keys_at_a_jwks_uri_follow_the_clients_rotation() {
    let app = spawn_app().await;
    let (old, new) = (key(Alg::ES256), key(Alg::RS256));
    let (uri, served) = jwks_server(jwks(&[&old])).await;
    let id = register(&app, None, Some(uri)).await;
    let (status, body) = token(&app, &signed(&old, &claims(&app, &id, "1"))).await;
    assert_eq!(status, 200, "{body}");
    // The client publishes a new key and signs with it: its unknown kid makes Tessera fetch
    // the document again instead of waiting for its cached copy to age.
    *served.lock().unwrap() = jwks(&[&new]);
    let (status, body) = token(&app, &signed(&new, &claims(&app, &id, "2"))).await;
    assert_eq!(status, 200, "{body}");
    refused(&token(&app, &signed(&old, &claims(&app, &id, "3"))).await, "does not verify");
}
}

on_both_backends! {
async fn the_cli_registers_a_private_key_jwt_client_from_a_jwks_file() {
    let app = spawn_app().await;
    let k = key(Alg::ES256);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jwks.json");
    std::fs::write(&file, jwks(&[&k])).unwrap();
    let file = file.to_str().unwrap();
    let run = |extra: &[&str]| {
        let base = ["client", "create", "--name", "Signer", "--grant", "client_credentials"];
        crate::helpers::run_cli(&app.db_url, &app.master_key, &app.base, &[&base[..], extra].concat(), None)
    };
    let (ok, out, err) = run(&["--auth-method", "private_key_jwt", "--jwks-file", file, "--json"]);
    assert!(ok, "{err}");
    let created: Value = serde_json::from_str(&out).unwrap();
    assert!(created["client_secret"].is_null(), "no secret: {created}");
    let id = str_of(&created, "client_id");
    let (status, body) = token(&app, &signed(&k, &claims(&app, &id, "cli"))).await;
    assert_eq!(status, 200, "{body}");

    for (extra, why) in [
        (vec!["--auth-method", "private_key_jwt"], "needs the client's keys"),
        (vec!["--jwks-file", file], "go with --auth-method private_key_jwt"),
        (
            vec!["--auth-method", "private_key_jwt", "--jwks-uri", "http://example.com/jwks"],
            "--jwks-uri",
        ),
    ] {
        let (ok, _, err) = run(&extra);
        assert!(!ok && err.contains(why), "{why}: {err}");
    }
}
}

/// A JWT MACed with `secret` (client_secret_jwt).
fn mac_signed(secret: &str, alg: &str, claims: &Value) -> String {
    let algorithm = match alg {
        "HS512" => ring::hmac::HMAC_SHA512,
        _ => ring::hmac::HMAC_SHA256,
    };
    let header = json!({"alg": alg, "typ": "JWT"});
    let input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let mac = ring::hmac::sign(
        &ring::hmac::Key::new(algorithm, secret.as_bytes()),
        input.as_bytes(),
    );
    format!("{input}.{}", b64url(mac.as_ref()))
}

on_both_backends! {
async fn a_client_secret_jwt_client_proves_itself_with_a_mac_of_its_secret() {
    let app = spawn_app().await;
    let spec = ClientSpec {
        auth_method: AuthMethod::ClientSecretJwt,
        grant_types: vec![GrantType::ClientCredentials],
        scopes: vec!["orders:read".into()],
        ..ClientSpec::new("MAC service", vec![])
    };
    let (client, secret) = accounts::create_client(&app.state.store, &app.state.master, spec, app.state.now())
        .await
        .unwrap();
    let (id, secret) = (client.id, secret.expect("a generated secret, shown once"));
    let first = mac_signed(&secret, "HS256", &claims(&app, &id, "m-1"));
    let (status, body) = token(&app, &first).await;
    assert_eq!(status, 200, "{body}");
    refused(&token(&app, &first).await, "jti was already used");
    let (status, body) = token(&app, &mac_signed(&secret, "HS512", &claims(&app, &id, "m-2"))).await;
    assert_eq!(status, 200, "HS512: {body}");
    refused(&token(&app, &mac_signed("not-the-secret", "HS256", &claims(&app, &id, "m-3"))).await, "MAC does not verify");
    refused(&token(&app, &signed(&key(Alg::RS256), &claims(&app, &id, "m-4"))).await, "must be HS256, HS384 or HS512");
    // The secret itself, sent as Basic, is not this client's method.
    let basic = app
        .rp_http
        .post(app.url("/token"))
        .basic_auth(&id, Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);
    // The same at introspection.
    let at = str_of(&body, "access_token");
    let assertion = mac_signed(&secret, "HS256", &claims(&app, &id, "m-5"));
    let (status, seen) = post(&app, "/introspect", &assertion, &[("token", &at)]).await;
    assert_eq!((status, seen["active"].as_bool()), (200, Some(true)), "{seen}");
    let discovery: Value = app.get_json("/.well-known/openid-configuration").await;
    let methods = discovery["token_endpoint_auth_methods_supported"].as_array().unwrap();
    assert!(methods.contains(&json!("client_secret_jwt")));
    let algs = discovery["token_endpoint_auth_signing_alg_values_supported"].as_array().unwrap();
    assert!(algs.contains(&json!("HS256")) && algs.contains(&json!("ES256")));
}
}
