//! The client_credentials grant for services acting for themselves.

use tessera::core::accounts;
use tessera::core::model::{ClientSpec, GrantType};

use crate::helpers::{json, spawn_app, str_of};

on_both_backends! {
async fn client_credentials_for_services() {
    let app = spawn_app().await;
    let spec = ClientSpec {
        grant_types: vec![GrantType::ClientCredentials],
        scopes: vec!["orders:read".into(), "orders:write".into()],
        audience: Some("https://api.example.com".into()),
        ..ClientSpec::new("Billing service", vec![])
    };
    let (client, secret) = accounts::create_client(&app.state.store, spec, app.state.now())
        .await
        .unwrap();
    let secret = secret.unwrap();
    let post = |form: Vec<(&'static str, &'static str)>| {
        app.rp_http
            .post(app.url("/token"))
            .basic_auth(&client.id, Some(&secret))
            .form(&form)
            .send()
    };
    let (status, body) = json(
        post(vec![
            ("grant_type", "client_credentials"),
            ("scope", "orders:read"),
        ])
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());
    let claims: serde_json::Value = {
        let payload = str_of(&body, "access_token")
            .split('.')
            .nth(1)
            .unwrap()
            .to_owned();
        serde_json::from_slice(&tessera::secret::b64url_decode(&payload).unwrap()).unwrap()
    };
    assert_eq!(claims["sub"], client.id.as_str());
    assert_eq!(claims["aud"], "https://api.example.com");
    assert_eq!(claims["scope"], "orders:read");
    let (status, body) = json(
        post(vec![
            ("grant_type", "client_credentials"),
            ("scope", "openid"),
        ])
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let (status, body) = json(
        post(vec![
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("redirect_uri", "https://x"),
        ])
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    // The confidential web client is not registered for client_credentials.
    let (status, body) = json(
        app.post_as_client("/token", &[("grant_type", "client_credentials")])
            .await,
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
}
}
