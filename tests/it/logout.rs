//! RP-Initiated Logout 1.0 with Back-Channel Logout 1.0 notices, and the confirmation asked
//! when a logout request cannot be trusted.

use crate::helpers::{
    browser, field, location, logout_receiver, spawn_app, str_of, verified_logout_claims, wait_for,
};

on_both_backends! {
async fn rp_initiated_logout_with_back_channel_notice() {
    let app = spawn_app().await;
    let (uri, received) = logout_receiver().await;
    let client = app
        .add_client(|spec| {
            spec.backchannel_logout_uri = Some(uri.clone());
            spec.post_logout_redirect_uris = vec!["http://localhost:9999/bye".into()];
        })
        .await;
    let b = browser();
    let tokens = app.tokens_for(&b, &client).await;
    let id_token = str_of(&tokens, "id_token");
    let sid = {
        let payload = id_token.split('.').nth(1).unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&tessera::secret::b64url_decode(payload).unwrap()).unwrap();
        str_of(&claims, "sid")
    };

    // An unregistered post_logout_redirect_uri is an error page, never a redirect.
    let bad = b
        .get(app.url(&format!(
            "/logout?id_token_hint={id_token}&post_logout_redirect_uri=https://evil.example/"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.headers().get("location").is_none());

    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("id_token_hint", id_token.as_str()),
            ("post_logout_redirect_uri", "http://localhost:9999/bye"),
            ("state", "s-9"),
        ])
        .finish();
    let response = b
        .get(app.url(&format!("/logout?{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "http://localhost:9999/bye?state=s-9");
    let cleared = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("tessera_session=;"));
    assert!(cleared, "the session cookie is removed");

    let tokens_received = wait_for(&received, 1).await;
    assert_eq!(
        tokens_received.len(),
        1,
        "one logout token for the one client"
    );
    let claims = verified_logout_claims(&app, &tokens_received[0]).await;
    assert_eq!(claims["iss"], app.base.as_str());
    assert_eq!(claims["aud"], client.0.as_str());
    assert_eq!(claims["sid"], sid.as_str());
    assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(claims.get("nonce").is_none() && claims["jti"].is_string());
    assert_eq!(
        app.introspect(&str_of(&tokens, "access_token")).await["active"],
        false
    );
    let again = b
        .get(app.authorize_url(&[("client_id", &client.0)]))
        .send()
        .await
        .unwrap();
    assert!(
        location(&again).starts_with("/login"),
        "the browser is signed out"
    );
}
}

on_both_backends! {
async fn untrusted_logout_asks_first() {
    let app = spawn_app().await;
    let b = browser();
    let tokens = app.tokens(&b).await;
    let response = b.get(app.url("/logout")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("Sign out?"));
    assert_eq!(
        app.introspect(&str_of(&tokens, "access_token")).await["active"],
        true,
        "nothing ends before confirmation"
    );
    let csrf = field(&html, "csrf").unwrap();
    let done = b
        .post(app.url("/logout"))
        .form(&[("csrf", csrf.as_str()), ("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("You are signed out"));
    assert_eq!(
        app.introspect(&str_of(&tokens, "access_token")).await["active"],
        false
    );
    let forged = b
        .post(app.url("/logout"))
        .form(&[("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
}
}
