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
    let (client, secret) = accounts::create_client(&app.state.store, &app.state.master, spec, app.state.now())
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
    let (_, claims) = decode(&str_of(&body, "access_token"));
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

/// The header and claims of a JWT, unverified.
fn decode(jwt: &str) -> (serde_json::Value, serde_json::Value) {
    let part = |i: usize| {
        let segment = jwt.split('.').nth(i).unwrap();
        serde_json::from_slice(&tessera::secret::b64url_decode(segment).unwrap()).unwrap()
    };
    (part(0), part(1))
}

on_both_backends! {
async fn a_client_chooses_rs256_access_tokens_for_a_gateway_that_verifies_only_rs256() {
    let app = spawn_app().await;
    let mut tokens = vec![];
    for alg in [Some(tessera::keys::Alg::RS256), None] {
        let spec = ClientSpec {
            grant_types: vec![GrantType::ClientCredentials],
            scopes: vec!["orders:read".into()],
            access_token_alg: alg,
            ..ClientSpec::new("Gateway client", vec![])
        };
        let (client, secret) = accounts::create_client(&app.state.store, &app.state.master, spec, app.state.now())
            .await
            .unwrap();
        let response = app
            .rp_http
            .post(app.url("/token"))
            .basic_auth(&client.id, secret.as_deref())
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        let (status, body) = json(response).await;
        assert_eq!(status, 200, "{body}");
        let token = str_of(&body, "access_token");
        let (header, _) = decode(&token);
        tokens.push((header["alg"].clone(), header["kid"].clone()));
        // Tessera itself accepts it wherever an access token is checked.
        let seen = app
            .introspect_as(&(client.id.clone(), secret.unwrap()), &token)
            .await;
        assert_eq!(seen["active"], true);
    }
    assert_eq!(tokens[0].0, "RS256", "the client's choice");
    assert_eq!(tokens[1].0, "ES256", "the global default");
    let jwks: serde_json::Value = app.get_json("/.well-known/jwks.json").await;
    for (alg, kid) in tokens {
        assert!(
            jwks["keys"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kid"] == kid && k["alg"] == alg),
            "the JWKS publishes the {alg} key that signed it"
        );
    }
}
}
