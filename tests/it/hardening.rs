//! What every response carries: request ids, size limits, CORS only for registered origins,
//! and the browser security headers of the HTML pages; how many connections are held at once.

use crate::helpers::{spawn_app, spawn_app_with};

#[actix_web::test]
async fn request_ids_size_limits_and_cors() {
    let app = spawn_app().await;
    let request_id = || async {
        let response = app.rp_http.get(app.url("/healthz")).send().await.unwrap();
        response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned()
    };
    let (first, second) = (request_id().await, request_id().await);
    assert_ne!(first, second, "each request has its own id");
    assert!(
        first.len() <= 64
            && first
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{first}"
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
    // The one script a page may load is Tessera's own static file (the passkey forms).
    let scripts: Vec<&str> = csp
        .split(';')
        .map(str::trim)
        .filter(|d| d.starts_with("script-src"))
        .collect();
    assert!(
        csp.contains("frame-ancestors 'none'")
            && !csp.contains("unsafe-inline")
            && scripts == ["script-src 'self'"],
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

/// At most `max_connections` connections are open at once: while the only slot is held by a
/// client that sent half a request, the next one waits in the accept queue, unanswered, and is
/// served as soon as the slot frees.
#[actix_web::test]
async fn connections_beyond_the_limit_wait_for_a_free_slot() {
    use std::io::Write;

    let app = spawn_app_with(|c| c.max_connections = 1).await;
    let mut idle = std::net::TcpStream::connect(app.base.trim_start_matches("http://")).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let mut waiting = Box::pin(reqwest::get(app.url("/healthz")));
    let held = tokio::time::timeout(std::time::Duration::from_millis(500), &mut waiting).await;
    assert!(
        held.is_err(),
        "a second connection was served while the only slot was taken"
    );
    drop(idle);
    let answer = waiting.await.unwrap();
    assert_eq!(answer.status(), 200);
}
