//! `examples/resource-server`, an API that verifies Tessera's access tokens with the JWKS
//! alone, run against a live Tessera: scopes are enforced; a key rotation is followed without
//! a restart (one refetch for the new kid, at most one per interval for unknown kids); and
//! tampered, foreign-audience and expired tokens are refused.

use std::time::Duration;

use actix_web::{App, HttpServer, web};
use resource_server::Verifier;
use serde_json::Value;
use tessera::core::model::{GrantType, Resource};
use tessera::core::resources;
use tessera::secret::{b64url, b64url_decode};

use crate::helpers::{TestApp, json, jwt_header, spawn_app, str_of};

const API: &str = "https://orders.example";

/// The API on `127.0.0.1:0`, trusting `tessera`; its base URL and verifier.
async fn start_api(tessera: &TestApp, refetch_interval: Duration) -> (String, web::Data<Verifier>) {
    let verifier = web::Data::new(Verifier::new(&tessera.base, API, refetch_interval).unwrap());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let routes = verifier.clone();
    let server =
        HttpServer::new(move || App::new().configure(resource_server::routes(routes.clone())))
            .listen(listener)
            .unwrap()
            .workers(1)
            .run();
    actix_web::rt::spawn(server);
    (base, verifier)
}

/// Registers the API as a resource and a service client allowed its scopes.
async fn register(tessera: &TestApp) -> (String, String) {
    let resource = Resource {
        id: API.into(),
        access_token_alg: None,
        access_token_ttl: Some(120),
        scopes: vec!["orders:read".into(), "orders:write".into()],
        owner_client_id: None,
        created_at: tessera.state.now(),
    };
    resources::create(&tessera.state.store, resource)
        .await
        .unwrap();
    tessera
        .add_client(|c| {
            c.grant_types = vec![GrantType::ClientCredentials];
            c.redirect_uris = vec![];
            c.scopes = vec!["orders:read".into(), "orders:write".into()];
        })
        .await
}

/// A client_credentials token; `for_api` asks for the API as its audience.
async fn token(tessera: &TestApp, client: &(String, String), scope: &str, for_api: bool) -> String {
    let mut form = vec![("grant_type", "client_credentials"), ("scope", scope)];
    if for_api {
        form.push(("resource", API));
    }
    let request = tessera
        .rp_http
        .post(tessera.url("/token"))
        .basic_auth(&client.0, Some(&client.1))
        .form(&form);
    let (status, body) = json(request.send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    str_of(&body, "access_token")
}

/// Calls the API; its status, `WWW-Authenticate` and JSON body.
async fn call(
    api: &str,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
) -> (u16, String, Value) {
    let mut request = reqwest::Client::new().request(method, format!("{api}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let status = response.status().as_u16();
    (
        status,
        challenge,
        response.json().await.unwrap_or(Value::Null),
    )
}

async fn get(api: &str, path: &str, token: Option<&str>) -> (u16, String, Value) {
    call(api, reqwest::Method::GET, path, token).await
}

/// The token with another `kid` in its header (its signature no longer matters: the key
/// lookup comes first).
fn with_kid(token: &str, kid: &str) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut changed = jwt_header(token);
    changed["kid"] = kid.into();
    parts[0] = b64url(changed.to_string().as_bytes());
    parts.join(".")
}

#[actix_web::test]
async fn the_api_enforces_scopes_and_refuses_tampered_foreign_and_expired_tokens() {
    let tessera = spawn_app().await;
    let client = register(&tessera).await;
    let (api, _) = start_api(&tessera, Duration::from_secs(60)).await;

    let read = token(&tessera, &client, "orders:read", true).await;
    let (status, _, body) = get(&api, "/api/orders", Some(&read)).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = get(&api, "/api/whoami", Some(&read)).await;
    assert_eq!(
        (status, body["client_id"].as_str()),
        (200, Some(client.0.as_str()))
    );
    let (status, challenge, body) =
        call(&api, reqwest::Method::POST, "/api/orders", Some(&read)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("insufficient_scope"))
    );
    assert!(challenge.contains(r#"scope="orders:write""#), "{challenge}");
    let write = token(&tessera, &client, "orders:write", true).await;
    let (status, _, _) = call(&api, reqwest::Method::POST, "/api/orders", Some(&write)).await;
    assert_eq!(status, 201);

    let (status, challenge, _) = get(&api, "/api/orders", None).await;
    assert_eq!(status, 401);
    assert!(challenge.starts_with("Bearer"), "{challenge}");

    let refused = |(status, challenge, body): (u16, String, Value)| {
        assert_eq!(status, 401, "{body}");
        assert!(
            challenge.contains(r#"error="invalid_token""#),
            "{challenge}"
        );
        str_of(&body, "error_description")
    };
    // Tampered: the payload changed, the signature did not.
    let mut parts: Vec<String> = read.split('.').map(str::to_owned).collect();
    let mut claims: Value = serde_json::from_slice(&b64url_decode(&parts[1]).unwrap()).unwrap();
    claims["scope"] = "orders:read orders:write".into();
    parts[1] = b64url(claims.to_string().as_bytes());
    let why = refused(get(&api, "/api/orders", Some(&parts.join("."))).await);
    assert!(why.contains("Invalid"), "{why}");
    // Another audience: a token without the resource is for the issuer, not this API.
    let foreign = token(&tessera, &client, "orders:read", false).await;
    let why = refused(get(&api, "/api/orders", Some(&foreign)).await);
    assert!(why.contains("udience"), "{why}");
    // Expired: issued by a Tessera whose clock says an hour ago (tokens live 120 s here).
    tessera.advance(-3600);
    let old = token(&tessera, &client, "orders:read", true).await;
    tessera.advance(3600);
    let why = refused(get(&api, "/api/orders", Some(&old)).await);
    assert!(why.contains("xpired"), "{why}");
    // Not an access token at all: an id_token-like JWT has no at+jwt type.
    let why = refused(get(&api, "/api/orders", Some("e30.e30.sig")).await);
    assert!(!why.is_empty());
}

#[actix_web::test]
async fn the_api_follows_a_key_rotation_and_refetches_at_most_once_per_interval() {
    let tessera = spawn_app().await;
    let client = register(&tessera).await;
    let interval = Duration::from_secs(1);
    let (api, verifier) = start_api(&tessera, interval).await;

    let before = token(&tessera, &client, "orders:read", true).await;
    assert_eq!(get(&api, "/api/orders", Some(&before)).await.0, 200);
    assert_eq!(verifier.fetches(), 1, "the first token fetches the JWKS");
    // Unknown key ids right after a fetch cost no request to Tessera.
    for _ in 0..3 {
        assert_eq!(
            get(&api, "/api/orders", Some(&with_kid(&before, "made-up")))
                .await
                .0,
            401
        );
    }
    assert_eq!(verifier.fetches(), 1);

    actix_web::rt::time::sleep(interval + Duration::from_millis(100)).await;
    tessera
        .rotate_keys(Some(tessera::keys::Alg::ES256), true)
        .await;
    tessera::jobs::refresh_keys(&tessera.state).await.unwrap();
    let after = token(&tessera, &client, "orders:read", true).await;
    assert_ne!(
        jwt_header(&after)["kid"],
        jwt_header(&before)["kid"],
        "signed by the successor"
    );
    assert_eq!(
        get(&api, "/api/orders", Some(&after)).await.0,
        200,
        "the new key is fetched"
    );
    assert_eq!(verifier.fetches(), 2);
    for _ in 0..3 {
        assert_eq!(
            get(&api, "/api/orders", Some(&with_kid(&after, "made-up")))
                .await
                .0,
            401
        );
    }
    assert_eq!(verifier.fetches(), 2, "at most one refetch per interval");
    // The retired key stays published, so tokens it signed keep working until they expire.
    assert_eq!(get(&api, "/api/orders", Some(&before)).await.0, 200);
}
