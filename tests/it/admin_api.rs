//! The /admin API: operators' force logout with an access token carrying tessera:admin.

use crate::helpers::{browser, logout_receiver, spawn_app, str_of, wait_for};

on_both_backends! {
async fn admin_api_force_logout() {
    let app = spawn_app().await;
    let (uri, received) = logout_receiver().await;
    let client = app
        .add_client(|spec| spec.backchannel_logout_uri = Some(uri.clone()))
        .await;
    let tokens = app.tokens_for(&browser(), &client).await;
    let second = app.tokens(&browser()).await;
    let admin_client = app
        .add_client(|spec| {
            spec.grant_types = vec![tessera::core::model::GrantType::ClientCredentials];
            spec.scopes = vec!["tessera:admin".into()];
        })
        .await;
    let token_response: serde_json::Value = app
        .rp_http
        .post(app.url("/token"))
        .basic_auth(&admin_client.0, Some(&admin_client.1))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admin_token = str_of(&token_response, "access_token");
    let get = |path: &str, token: &str| {
        app.rp_http
            .get(app.url(path))
            .bearer_auth(token.to_owned())
            .send()
    };

    assert_eq!(
        app.rp_http
            .get(app.url("/admin/users"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let not_admin = get("/admin/users", &str_of(&second, "access_token"))
        .await
        .unwrap();
    assert_eq!(not_admin.status(), 403);
    assert!(
        not_admin.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );

    let sessions: serde_json::Value = get("/admin/users/alice/sessions", &admin_token)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sessions.as_array().unwrap().len(), 2);
    assert_eq!(
        get("/admin/users/nobody/sessions", &admin_token)
            .await
            .unwrap()
            .status(),
        404
    );
    let result: serde_json::Value = app
        .rp_http
        .post(app.url("/admin/users/alice/logout-everywhere"))
        .bearer_auth(&admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(result["sessions_ended"], 2);
    assert_eq!(
        app.introspect(&str_of(&tokens, "access_token")).await["active"],
        false
    );
    assert_eq!(
        app.introspect(&str_of(&second, "refresh_token")).await["active"],
        false
    );
    assert_eq!(
        wait_for(&received, 1).await.len(),
        1,
        "the client with a back-channel URI is told"
    );
    let sessions: serde_json::Value = get("/admin/users/alice/sessions", &admin_token)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sessions.as_array().unwrap().len(), 0);
}
}
