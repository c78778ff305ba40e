//! /metrics in Prometheus format: requests, tokens issued, failures and signing keys.

use crate::helpers::{browser, spawn_app};

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
