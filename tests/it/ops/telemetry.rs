//! OpenTelemetry: with `TESSERA_OTLP_ENDPOINT` set, `tessera serve` exports one span per
//! request over OTLP/HTTP to a collector (here one that records what it receives, in OTLP/JSON
//! as `OTEL_EXPORTER_OTLP_PROTOCOL=http/json` asks): named by method and route, with the
//! status and the outcome, and no secret anywhere in what is sent. The last spans leave on
//! SIGTERM.

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::Value;

use crate::helpers::process::{Extra, Server, client_credentials_client, free_port};

/// A collector at `/v1/traces`: its base URL and the bodies it received.
async fn collector() -> (String, Arc<Mutex<Vec<String>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let server = HttpServer::new(move || {
        let store = store.clone();
        App::new().route(
            "/v1/traces",
            web::post().to(move |body: web::Bytes| {
                let store = store.clone();
                async move {
                    store
                        .lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&body).into_owned());
                    HttpResponse::Ok()
                        .content_type("application/json")
                        .body("{}")
                }
            }),
        )
    })
    .listen(listener)
    .unwrap()
    .workers(1)
    .run();
    actix_web::rt::spawn(server);
    (base, received)
}

/// An attribute's value as text (OTLP/JSON wraps it as `{"stringValue": …}`, `{"intValue": …}`).
fn attribute(attributes: &Value, key: &str) -> Option<String> {
    let value = attributes.as_array()?.iter().find(|a| a["key"] == key)?["value"]
        .as_object()?
        .values()
        .next()?
        .clone();
    Some(match value {
        Value::String(s) => s,
        other => other.to_string(),
    })
}

#[actix_web::test]
async fn each_request_is_a_span_sent_to_the_collector_without_secrets() {
    let (collector, received) = collector().await;
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}/otel.db?mode=rwc", dir.path().display());
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let (id, secret) = client_credentials_client(&db_url, &issuer, "Traced");
    let (id, secret) = (id.as_str(), secret.as_str());
    let env = [
        ("TESSERA_OTLP_ENDPOINT", collector.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
    ];
    let extra = Extra {
        env: &env,
        ..Extra::default()
    };
    let server = Server::start_with(port, &issuer, &db_url, &dir.path().join("log"), &extra).await;
    let http = reqwest::Client::new();
    let token = |secret: &str| {
        http.post(format!("{issuer}/token"))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
    };
    let granted: Value = token(secret).await.unwrap().json().await.unwrap();
    let access_token = granted["access_token"].as_str().unwrap().to_owned();
    assert_eq!(token("a wrong secret").await.unwrap().status(), 401);
    let discovery = format!("{issuer}/.well-known/openid-configuration?probe=1");
    assert_eq!(http.get(discovery).send().await.unwrap().status(), 200);
    assert!(server.terminate().success());

    let bodies = received.lock().unwrap().clone();
    assert!(!bodies.is_empty(), "the collector received spans");
    let everything = bodies.join("\n");
    for secret in [secret, access_token.as_str(), "probe=1"] {
        assert!(!everything.contains(secret), "{secret} was exported");
    }
    let mut spans = Vec::new();
    for body in &bodies {
        let export: Value = serde_json::from_str(body).unwrap();
        for resource in export["resourceSpans"].as_array().unwrap() {
            let service = attribute(&resource["resource"]["attributes"], "service.name");
            assert_eq!(service.as_deref(), Some("tessera"));
            for scope in resource["scopeSpans"].as_array().unwrap() {
                spans.extend(scope["spans"].as_array().unwrap().iter().cloned());
            }
        }
    }
    // (name, route, status, outcome) of each span.
    type Summary = (String, Option<String>, Option<String>, Option<String>);
    let summary: Vec<Summary> = spans
        .iter()
        .map(|s| {
            let attributes = &s["attributes"];
            (
                s["name"].as_str().unwrap_or_default().to_owned(),
                attribute(attributes, "http.route"),
                attribute(attributes, "http.response.status_code"),
                attribute(attributes, "outcome"),
            )
        })
        .collect();
    let has = |name: &str, status: &str, outcome: &str| {
        summary.iter().any(|(n, _, s, o)| {
            n == name && s.as_deref() == Some(status) && o.as_deref() == Some(outcome)
        })
    };
    assert!(has("POST /token", "200", "ok"), "{summary:?}");
    assert!(has("POST /token", "401", "unauthorized"), "{summary:?}");
    assert!(
        has("GET /.well-known/openid-configuration", "200", "ok"),
        "{summary:?}"
    );
    assert!(
        summary
            .iter()
            .any(|(_, route, _, _)| route.as_deref() == Some("/token"))
    );
}
