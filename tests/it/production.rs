//! Operations and abuse protection: throttling, metrics, request ids, CORS, size limits and
//! browser security headers.

use crate::helpers::{PASSWORD, REDIRECT, browser, field, location, spawn_app, spawn_app_with};

on_both_backends! {
async fn repeated_wrong_passwords_lock_the_account_for_a_while() {
    let app = spawn_app().await;
    let b = browser();
    let start = b.get(app.authorize_url(&[])).send().await.unwrap();
    let path = location(&start);
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let page = b.get(app.url(&path)).send().await.unwrap().text().await.unwrap();
        let form = [("csrf", field(&page, "csrf").unwrap()), ("interaction", field(&page, "interaction").unwrap()), ("username", "alice".into()), ("password", "wrong guess".into())];
        let response = b.post(app.url("/login")).form(&form).send().await.unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            assert!(response.text().await.unwrap().contains("Too many failed sign-in attempts"));
        }
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429], "locked after five failures");
    // Even the right password is refused during the lockout…
    let page = b.get(app.url(&path)).send().await.unwrap().text().await.unwrap();
    let form = [("csrf", field(&page, "csrf").unwrap()), ("interaction", field(&page, "interaction").unwrap()), ("username", "alice".into()), ("password", PASSWORD.into())];
    assert_eq!(b.post(app.url("/login")).form(&form).send().await.unwrap().status(), 429);
    // …and accepted once it is over.
    app.advance(15 * 60 + 1);
    let back = app.sign_in(&browser(), &app.authorize_url(&[]), PASSWORD).await;
    assert!(back.starts_with(REDIRECT));
    let metrics = app.rp_http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("tessera_login_failures_total 5"), "{metrics}");
}
}

on_both_backends! {
async fn client_secret_guessing_is_throttled() {
    let app = spawn_app().await;
    let mut last = None;
    for _ in 0..6 {
        let response = app.rp_http.post(app.url("/token")).basic_auth(&app.confidential.0, Some("guess")).form(&[("grant_type", "client_credentials")]).send().await.unwrap();
        last = Some(response);
    }
    let response = last.unwrap();
    assert_eq!(response.status(), 429);
    assert!(response.headers()["retry-after"].to_str().unwrap().parse::<i64>().unwrap() > 0);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
}
}

#[actix_web::test]
async fn metrics_count_requests_tokens_and_keys() {
    let app = spawn_app().await;
    app.tokens(&browser()).await;
    let response = app.rp_http.get(app.url("/metrics")).send().await.unwrap();
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    for expected in [
        "tessera_http_requests_total{endpoint=\"/token\",status=\"200\"} 1",
        "tessera_http_request_duration_seconds_bucket{endpoint=\"/authorize\",le=\"+Inf\"}",
        "tessera_tokens_issued_total{grant_type=\"authorization_code\"} 1",
        "tessera_signing_key_age_seconds{alg=\"RS256\"",
        "tessera_key_rotation_in_seconds{alg=\"ES256\"} 2592000",
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
}

#[actix_web::test]
async fn request_ids_size_limits_and_cors() {
    let app = spawn_app().await;
    let response = app.rp_http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(
        response.headers()["x-request-id"].to_str().unwrap().len(),
        22
    );
    let response = app
        .rp_http
        .get(app.url("/healthz"))
        .header("x-request-id", "trace-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-123");

    let big = "a".repeat(70 * 1024);
    let response = app
        .rp_http
        .post(app.url("/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");

    // A registered redirect URI's origin may call the token endpoint from a browser…
    let allowed = "http://localhost:9999";
    let preflight = app
        .rp_http
        .request(reqwest::Method::OPTIONS, app.url("/token"))
        .header("origin", allowed)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(preflight.headers()["access-control-allow-origin"], allowed);
    let jwks = app
        .rp_http
        .get(app.url("/.well-known/jwks.json"))
        .header("origin", allowed)
        .send()
        .await
        .unwrap();
    assert_eq!(jwks.headers()["access-control-allow-origin"], allowed);
    // …any other origin may not, and the HTML pages never answer CORS.
    let other = app
        .rp_http
        .get(app.url("/.well-known/jwks.json"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    let page = app
        .rp_http
        .get(app.authorize_url(&[]))
        .header("origin", allowed)
        .send()
        .await
        .unwrap();
    assert!(page.headers().get("access-control-allow-origin").is_none());
}

#[actix_web::test]
async fn html_pages_carry_security_headers() {
    let app = spawn_app_with(|c| c.issuer = "https://id.example.com".into()).await;
    let response = app
        .rp_http
        .get(app.url("/account/login"))
        .send()
        .await
        .unwrap();
    let headers = response.headers();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'")
            && !csp.contains("unsafe-inline")
            && !csp.contains("script-src"),
        "{csp}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(
        headers["strict-transport-security"]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
    let cookie = headers["set-cookie"].to_str().unwrap();
    assert!(
        cookie.starts_with("__Host-tessera_csrf=")
            && cookie.contains("Secure")
            && cookie.contains("Path=/"),
        "{cookie}"
    );
}
