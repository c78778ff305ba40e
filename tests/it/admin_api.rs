//! The /admin API: operators' force logout with an access token carrying tessera:admin.

use crate::helpers::{TestApp, browser, logout_receiver, spawn_app, str_of, wait_for};

/// An access token of a client_credentials client with the tessera:admin scope.
async fn admin_token(app: &TestApp) -> String {
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
    str_of(&token_response, "access_token")
}

#[actix_web::test]
async fn admin_api_enrols_lists_and_resets_second_factors() {
    let app = spawn_app().await;
    let token = admin_token(&app).await;
    app.tokens(&browser()).await; // alice is signed in somewhere
    let call = |method: reqwest::Method, path: &str| {
        app.rp_http
            .request(method, app.url(path))
            .bearer_auth(&token)
            .send()
    };
    let enrolled = call(reqwest::Method::POST, "/admin/users/alice/mfa/totp")
        .await
        .unwrap();
    assert_eq!(enrolled.status(), 200);
    assert_eq!(enrolled.headers()["cache-control"], "no-store");
    let enrolled: serde_json::Value = enrolled.json().await.unwrap();
    assert!(str_of(&enrolled, "otpauth_uri").starts_with("otpauth://totp/"));
    assert_eq!(enrolled["recovery_codes"].as_array().unwrap().len(), 10);
    let again = call(reqwest::Method::POST, "/admin/users/alice/mfa/totp")
        .await
        .unwrap();
    assert_eq!(again.status(), 400, "already enrolled");
    let refused: serde_json::Value = again.json().await.unwrap();
    assert!(
        refused
            .to_string()
            .contains("already has an authenticator app"),
        "{refused}"
    );
    let listed: serde_json::Value = call(reqwest::Method::GET, "/admin/users/alice/mfa")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(listed["totp_since"].is_i64());
    assert_eq!(listed["recovery_codes_left"], 10);
    let reset: serde_json::Value = call(reqwest::Method::POST, "/admin/users/alice/mfa/reset")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reset["sessions_ended"], 1);
    let listed: serde_json::Value = call(reqwest::Method::GET, "/admin/users/alice/mfa")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(listed["totp_since"].is_null());
    let nobody = call(reqwest::Method::GET, "/admin/users/nobody/mfa")
        .await
        .unwrap();
    assert_eq!(nobody.status(), 404);
}

on_both_backends! {
async fn admin_api_force_logout() {
    let app = spawn_app().await;
    let (uri, received) = logout_receiver().await;
    let client = app
        .add_client(|spec| spec.backchannel_logout_uri = Some(uri.clone()))
        .await;
    let tokens = app.tokens_for(&browser(), &client).await;
    let second = app.tokens(&browser()).await;
    let admin_token = admin_token(&app).await;
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
