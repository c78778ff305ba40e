//! The token and userinfo endpoints refuse what they must, with RFC 6749 §5.2 / RFC 6750 errors.

use crate::helpers::{PASSWORD, REDIRECT, TestApp, param, spawn_app};

async fn code_with_pkce(app: &TestApp, challenge: &str) -> String {
    let url = app.authorize_url(&[
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]);
    param(&app.sign_in(&app.browser, &url, PASSWORD).await, "code").unwrap()
}

async fn error_of(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: serde_json::Value = response.json().await.unwrap();
    (status, body["error"].as_str().unwrap().to_owned())
}

// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

on_both_backends! {
async fn wrong_or_missing_pkce_verifier_is_invalid_grant() {
    let app = spawn_app().await;
    let code = code_with_pkce(&app, CHALLENGE).await;
    let wrong = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK";
    assert_eq!(
        error_of(app.redeem(&code, &[("code_verifier", wrong)]).await).await,
        (400, "invalid_grant".into())
    );
    let code = code_with_pkce(&app, CHALLENGE).await;
    assert_eq!(
        error_of(app.redeem(&code, &[]).await).await,
        (400, "invalid_grant".into())
    );
    let code = code_with_pkce(&app, CHALLENGE).await;
    assert_eq!(
        app.redeem(&code, &[("code_verifier", VERIFIER)])
            .await
            .status(),
        200
    );
}
}

on_both_backends! {
async fn a_replayed_code_is_refused_and_revokes_its_tokens() {
    let app = spawn_app().await;
    let code = param(
        &app.sign_in(&app.browser, &app.authorize_url(&[]), PASSWORD)
            .await,
        "code",
    )
    .unwrap();
    let first: serde_json::Value = app.redeem(&code, &[]).await.json().await.unwrap();
    let access_token = first["access_token"].as_str().unwrap().to_owned();
    let userinfo = |token: String| {
        let http = app.rp_http.clone();
        let url = app.url("/userinfo");
        async move { http.get(url).bearer_auth(token).send().await.unwrap() }
    };
    assert_eq!(userinfo(access_token.clone()).await.status(), 200);

    assert_eq!(
        error_of(app.redeem(&code, &[]).await).await,
        (400, "invalid_grant".into())
    );
    let refused = userinfo(access_token).await;
    assert_eq!(refused.status(), 401);
    let challenge = refused.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with("Bearer") && challenge.contains("invalid_token"),
        "{challenge}"
    );
}
}

on_both_backends! {
async fn client_authentication_failures() {
    let app = spawn_app().await;
    let code = param(
        &app.sign_in(&app.browser, &app.authorize_url(&[]), PASSWORD)
            .await,
        "code",
    )
    .unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    let post = || app.rp_http.post(app.url("/token"));

    let bad_secret = post()
        .basic_auth(&app.confidential.0, Some("wrong"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(
        bad_secret.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert_eq!(error_of(bad_secret).await, (401, "invalid_client".into()));

    let unknown = post()
        .basic_auth("nobody", Some("x"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(unknown).await, (401, "invalid_client".into()));

    // The basic-auth client may not switch to client_secret_post.
    let mut as_post = form.to_vec();
    as_post.extend([
        ("client_id", app.confidential.0.as_str()),
        ("client_secret", app.confidential.1.as_str()),
    ]);
    assert_eq!(
        error_of(post().form(&as_post).send().await.unwrap()).await,
        (401, "invalid_client".into())
    );

    // None of the failures consumed the code.
    assert_eq!(app.redeem(&code, &[]).await.status(), 200);
}
}

on_both_backends! {
async fn malformed_token_requests() {
    let app = spawn_app().await;
    let send = |form: Vec<(&'static str, &'static str)>| {
        app.rp_http
            .post(app.url("/token"))
            .basic_auth(&app.confidential.0, Some(&app.confidential.1))
            .form(&form)
            .send()
    };
    assert_eq!(
        error_of(send(vec![]).await.unwrap()).await,
        (400, "invalid_request".into())
    );
    assert_eq!(
        error_of(send(vec![("grant_type", "password")]).await.unwrap()).await,
        (400, "unsupported_grant_type".into())
    );
    assert_eq!(
        error_of(
            send(vec![("grant_type", "authorization_code")])
                .await
                .unwrap()
        )
        .await,
        (400, "invalid_request".into())
    );
    let unknown_code = vec![
        ("grant_type", "authorization_code"),
        ("code", "nope"),
        ("redirect_uri", REDIRECT),
    ];
    assert_eq!(
        error_of(send(unknown_code).await.unwrap()).await,
        (400, "invalid_grant".into())
    );
    let code = param(
        &app.sign_in(&app.browser, &app.authorize_url(&[]), PASSWORD)
            .await,
        "code",
    )
    .unwrap();
    let other_redirect = app
        .rp_http
        .post(app.url("/token"))
        .basic_auth(&app.confidential.0, Some(&app.confidential.1))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://localhost:9999/other"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(other_redirect).await,
        (400, "invalid_grant".into())
    );
}
}

on_both_backends! {
async fn userinfo_refuses_missing_and_forged_tokens() {
    let app = spawn_app().await;
    let missing = app.rp_http.get(app.url("/userinfo")).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    assert_eq!(
        missing.headers()["www-authenticate"],
        "Bearer realm=\"tessera\""
    );
    let forged = app
        .rp_http
        .get(app.url("/userinfo"))
        .bearer_auth("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    assert!(
        forged.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    // The access token also works from a POSTed form (RFC 6750 §2.2).
    let code = param(
        &app.sign_in(&app.browser, &app.authorize_url(&[]), PASSWORD)
            .await,
        "code",
    )
    .unwrap();
    let body: serde_json::Value = app.redeem(&code, &[]).await.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap();
    let posted = app
        .rp_http
        .post(app.url("/userinfo"))
        .form(&[("access_token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    let claims: serde_json::Value = posted.json().await.unwrap();
    assert_eq!(claims["name"], "Alice Liddell");
}
}
