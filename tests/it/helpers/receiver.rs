//! A relying party's back-channel logout endpoint, and checking what it received.

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpServer, web};
use openidconnect::JsonWebKey;
use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm};

use super::TestApp;

/// A relying party's back-channel logout endpoint that records what it receives.
pub async fn logout_receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        let store = store.clone();
        App::new().route(
            "/backchannel",
            web::post().to(
                move |form: web::Form<std::collections::HashMap<String, String>>| {
                    let store = store.clone();
                    async move {
                        if let Some(token) = form.get("logout_token") {
                            store.lock().unwrap().push(token.clone());
                        }
                        actix_web::HttpResponse::Ok().finish()
                    }
                },
            ),
        )
    })
    .listen(listener)
    .unwrap()
    .workers(1)
    .run();
    actix_web::rt::spawn(server);
    (format!("http://127.0.0.1:{port}/backchannel"), received)
}

pub async fn wait_for(received: &Arc<Mutex<Vec<String>>>, count: usize) -> Vec<String> {
    for _ in 0..100 {
        if received.lock().unwrap().len() >= count {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    received.lock().unwrap().clone()
}

/// Verifies a logout token's signature against the published JWKS, as a relying party would.
pub async fn verified_logout_claims(app: &TestApp, token: &str) -> serde_json::Value {
    let jwks: CoreJsonWebKeySet = app.get_json("/.well-known/jwks.json").await;
    let parts: Vec<&str> = token.split('.').collect();
    let decode = |p: &str| tessera::secret::b64url_decode(p).unwrap();
    let header: serde_json::Value = serde_json::from_slice(&decode(parts[0])).unwrap();
    assert_eq!(header["typ"], "logout+jwt");
    let kid = header["kid"].as_str().unwrap();
    let key = jwks
        .keys()
        .iter()
        .find(|k| k.key_id().map(|id| id.as_str()) == Some(kid))
        .expect("kid in JWKS");
    let signing_input = format!("{}.{}", parts[0], parts[1]);
    key.verify_signature(
        &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        signing_input.as_bytes(),
        &decode(parts[2]),
    )
    .expect("logout token verifies against the JWKS");
    serde_json::from_slice(&decode(parts[1])).unwrap()
}
