//! Revocation (RFC 7009) and introspection (RFC 7662): what is revoked stops at once, and
//! introspection tells the truth about every token.

use tessera::core::model::GrantType;

use crate::helpers::{browser, json, spawn_app, str_of};

on_both_backends! {
async fn revocation_follows_rfc_7009() {
    let app = spawn_app().await;
    let tokens = app.tokens(&browser()).await;
    let (at, rt) = (
        str_of(&tokens, "access_token"),
        str_of(&tokens, "refresh_token"),
    );

    // Unknown tokens: 200, as the RFC asks.
    assert_eq!(
        app.post_as_client("/revoke", &[("token", "no-such-token")])
            .await
            .status(),
        200
    );
    assert_eq!(
        json(app.post_as_client("/revoke", &[]).await).await.1["error"],
        "invalid_request"
    );
    let unauthenticated = app
        .rp_http
        .post(app.url("/revoke"))
        .form(&[("token", at.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);

    // Access token: its jti goes on the revocation list.
    assert_eq!(app.introspect(&at).await["active"], true);
    let revoked = app
        .post_as_client(
            "/revoke",
            &[("token", &at), ("token_type_hint", "access_token")],
        )
        .await;
    assert_eq!(revoked.status(), 200);
    assert_eq!(app.introspect(&at).await["active"], false);
    let userinfo = app
        .rp_http
        .get(app.url("/userinfo"))
        .bearer_auth(&at)
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), 401);
    // The refresh token still works…
    let (status, fresh) = json(app.refresh(&rt, &[]).await).await;
    assert_eq!(status, 200);
    // …until it is revoked, which ends the whole grant.
    let rt2 = str_of(&fresh, "refresh_token");
    assert_eq!(
        app.post_as_client(
            "/revoke",
            &[("token", &rt2), ("token_type_hint", "refresh_token")]
        )
        .await
        .status(),
        200
    );
    assert_eq!(json(app.refresh(&rt2, &[]).await).await.0, 400);
    assert_eq!(
        app.introspect(&str_of(&fresh, "access_token")).await["active"],
        false
    );
}
}

on_both_backends! {
async fn introspection_tells_the_truth() {
    let app = spawn_app().await;
    let tokens = app.tokens(&browser()).await;
    let at = str_of(&tokens, "access_token");
    let active = app.introspect(&at).await;
    assert_eq!(active["active"], true);
    assert_eq!(active["username"], "alice");
    assert_eq!(active["client_id"], app.confidential.0.as_str());
    assert_eq!(active["scope"], "openid profile email");
    assert_eq!(
        app.introspect("garbage").await,
        serde_json::json!({"active": false})
    );
    let public = app
        .rp_http
        .post(app.url("/introspect"))
        .form(&[
            ("token", at.as_str()),
            ("client_id", app.public_client.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), 401);
    app.advance(301);
    assert_eq!(app.introspect(&at).await["active"], false, "expired");
}
}

on_both_backends! {
async fn a_client_introspects_only_its_own_tokens_and_those_meant_for_it() {
    let app = spawn_app().await;
    let mine = app.tokens(&browser()).await;
    let (at, rt) = (str_of(&mine, "access_token"), str_of(&mine, "refresh_token"));
    let inactive = serde_json::json!({"active": false});

    // Another app learns nothing about them, not even that they exist.
    let other = app.add_client(|_| {}).await;
    assert_eq!(app.introspect_as(&other, &at).await, inactive);
    assert_eq!(app.introspect_as(&other, &rt).await, inactive);
    // The client they were issued to sees both.
    let me = app.confidential.clone();
    assert_eq!(app.introspect_as(&me, &at).await["active"], true);
    assert_eq!(app.introspect_as(&me, &rt).await["active"], true);

    // A resource server sees the access tokens whose audience it is, not the refresh tokens.
    let api = app
        .add_client(|c| {
            c.id = Some("orders-api".into());
            c.grant_types = vec![GrantType::ClientCredentials];
            c.redirect_uris = vec![];
        })
        .await;
    let shop = app
        .add_client(|c| c.audience = Some("orders-api".into()))
        .await;
    let for_api = app.tokens_for(&browser(), &shop).await;
    let seen = app.introspect_as(&api, &str_of(&for_api, "access_token")).await;
    assert_eq!((seen["active"].clone(), seen["aud"].clone()), (true.into(), "orders-api".into()));
    assert_eq!(app.introspect_as(&api, &str_of(&for_api, "refresh_token")).await, inactive);
    assert_eq!(app.introspect_as(&api, &at).await, inactive, "another audience");

    // Only an operator's explicit grant sees every token.
    let gateway = app
        .add_client(|c| {
            c.introspect_any = true;
            c.grant_types = vec![GrantType::ClientCredentials];
            c.redirect_uris = vec![];
        })
        .await;
    assert_eq!(app.introspect_as(&gateway, &at).await["active"], true);
    assert_eq!(app.introspect_as(&gateway, &rt).await["active"], true);
    assert_eq!(app.introspect_as(&gateway, "garbage").await, inactive);
}
}

on_both_backends! {
async fn a_client_cannot_revoke_another_clients_tokens() {
    let app = spawn_app().await;
    let mine = app.tokens(&browser()).await;
    let (at, rt) = (str_of(&mine, "access_token"), str_of(&mine, "refresh_token"));
    let other = app.add_client(|_| {}).await;
    for token in [&at, &rt] {
        let response = app
            .rp_http
            .post(app.url("/revoke"))
            .basic_auth(&other.0, Some(&other.1))
            .form(&[("token", token.as_str())])
            .send()
            .await
            .unwrap();
        // RFC 7009 §2.2: a token the client may not revoke is answered like an unknown one.
        assert_eq!(response.status(), 200);
    }
    assert_eq!(app.introspect(&at).await["active"], true, "still valid");
    assert_eq!(app.introspect(&rt).await["active"], true, "still valid");
    let (status, _) = json(app.refresh(&rt, &[]).await).await;
    assert_eq!(status, 200, "the owner's grant is untouched");
}
}
