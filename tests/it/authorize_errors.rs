//! /authorize and the pages refuse bad requests: an HTML page before the client and
//! redirect_uri are verified, an error redirect (with state and iss) after.

use crate::helpers::{PASSWORD, REDIRECT, browser, field, location, param, spawn_app};

on_both_backends! {
async fn unverifiable_requests_get_an_error_page_and_no_redirect() {
    let app = spawn_app().await;
    let cases = [
        app.authorize_url(&[("redirect_uri", "https://evil.example/callback")]),
        app.authorize_url(&[("redirect_uri", "http://localhost:9999/callback/")]),
        app.authorize_url(&[("client_id", "no-such-client")]),
        app.url("/authorize?response_type=code&scope=openid"),
        format!("{}&client_id=again", app.authorize_url(&[])),
    ];
    for url in cases {
        let response = app.browser.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 400, "{url}");
        assert!(
            response.headers().get("location").is_none(),
            "{url} must not redirect"
        );
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert_eq!(response.headers()["x-frame-options"], "DENY");
        let html = response.text().await.unwrap();
        assert!(
            html.contains("invalid_request") || html.contains("invalid_client"),
            "{html}"
        );
    }
}
}

on_both_backends! {
async fn verified_requests_get_error_redirects_with_state_and_iss() {
    let app = spawn_app().await;
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("prompt", "none")], "login_required"),
        (&[("response_type", "token")], "unsupported_response_type"),
        (&[("scope", "openid admin")], "invalid_scope"),
        (
            &[
                (
                    "code_challenge",
                    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                ),
                ("code_challenge_method", "plain"),
            ],
            "invalid_request",
        ),
        (
            &[
                ("code_challenge", "too-short"),
                ("code_challenge_method", "S256"),
            ],
            "invalid_request",
        ),
        (&[("max_age", "soon")], "invalid_request"),
        (&[("registration", "{}")], "registration_not_supported"),
        (
            &[("request", "eyJhbGciOiJub25lIn0.e30.")],
            "request_not_supported",
        ),
        (
            &[("request_uri", "https://app.example/request.jwt")],
            "request_uri_not_supported",
        ),
    ];
    for (extra, expected) in cases {
        let response = app
            .browser
            .get(app.authorize_url(extra))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 302, "{extra:?}");
        let back = location(&response);
        assert!(back.starts_with(REDIRECT), "{back}");
        assert_eq!(
            param(&back, "error").as_deref(),
            Some(*expected),
            "{extra:?}"
        );
        assert_eq!(param(&back, "state").as_deref(), Some("st-1"));
        assert_eq!(param(&back, "iss").as_deref(), Some(app.base.as_str()));
        assert!(param(&back, "code").is_none());
    }
}
}

on_both_backends! {
async fn public_clients_must_use_pkce() {
    let app = spawn_app().await;
    let url = app.authorize_url(&[("client_id", &app.public_client)]);
    let back = location(&app.browser.get(url).send().await.unwrap());
    assert_eq!(param(&back, "error").as_deref(), Some("invalid_request"));
    assert!(param(&back, "error_description").unwrap().contains("PKCE"));
}
}

on_both_backends! {
async fn forms_without_a_matching_csrf_token_are_refused() {
    let app = spawn_app().await;
    let browser = browser();
    let start = browser.get(app.authorize_url(&[])).send().await.unwrap();
    let page = browser
        .get(app.url(&location(&start)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let interaction = field(&page, "interaction").unwrap();
    for csrf in [None, Some("forged-value-forged-value-forged-value-xxxx")] {
        let mut form = vec![
            ("interaction", interaction.as_str()),
            ("username", "alice"),
            ("password", PASSWORD),
        ];
        if let Some(c) = csrf {
            form.push(("csrf", c));
        }
        let response = browser
            .post(app.url("/login"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "csrf {csrf:?}");
        assert!(
            response
                .headers()
                .get("set-cookie")
                .is_none_or(|c| !c.to_str().unwrap().contains("tessera_session"))
        );
    }
    // A different browser (no CSRF cookie) with the right hidden value is refused too.
    let csrf = field(&page, "csrf").unwrap();
    let form = [
        ("csrf", csrf.as_str()),
        ("interaction", &interaction),
        ("username", "alice"),
        ("password", PASSWORD),
    ];
    let response = crate::helpers::browser()
        .post(app.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}
}

on_both_backends! {
async fn wrong_password_and_disabled_users_cannot_sign_in() {
    let app = spawn_app().await;
    let browser = browser();
    let (page, response) = app.try_login(&browser, "not the password").await;
    assert_eq!(response.status(), 401);
    assert!(response.text().await.unwrap().contains("incorrect"));

    app.set_disabled("alice", true).await;
    let response = browser
        .post(app.url("/login"))
        .form(&[
            ("csrf", field(&page, "csrf").unwrap().as_str()),
            ("interaction", &field(&page, "interaction").unwrap()),
            ("username", "alice"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}
}

on_both_backends! {
async fn consent_can_be_denied() {
    let app = spawn_app().await;
    let browser = browser();
    let (_, to_consent) = app.try_login(&browser, PASSWORD).await;
    let consent_path = location(&to_consent);
    assert!(consent_path.starts_with("/consent"));
    let page = browser
        .get(app.url(&consent_path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Your email address"), "{page}");
    let form = [
        ("csrf", field(&page, "csrf").unwrap()),
        ("interaction", field(&page, "interaction").unwrap()),
        ("decision", "deny".into()),
    ];
    let back = location(
        &browser
            .post(app.url("/consent"))
            .form(&form)
            .send()
            .await
            .unwrap(),
    );
    assert_eq!(param(&back, "error").as_deref(), Some("access_denied"));
    // The interaction is finished: submitting again does not produce a code.
    let again = browser
        .post(app.url("/consent"))
        .form(&[
            ("csrf", form[0].1.as_str()),
            ("interaction", &form[1].1),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400);
}
}

on_both_backends! {
async fn garbage_and_oversized_input_gets_4xx_never_5xx() {
    let app = spawn_app().await;
    let huge = "x".repeat(5000);
    let get_urls = [
        app.url("/authorize"),
        app.url("/authorize?%%%"),
        app.url("/authorize?client_id=%FF%FE"),
        app.authorize_url(&[("state", &huge)]),
        app.authorize_url(&[("nonce", &huge)]),
        app.url("/login"),
        app.url("/login?interaction=nope"),
        app.url("/consent?interaction=nope"),
        app.url("/userinfo"),
    ];
    for url in &get_urls {
        let status = app.browser.get(url).send().await.unwrap().status();
        assert!(status.is_client_error(), "{url}: {status}");
    }
    let big_body = format!(
        "grant_type=authorization_code&code={}",
        "a".repeat(100 * 1024)
    );
    let bodies: Vec<(&str, String, &str)> = vec![
        (
            "/token",
            "not a form at all \u{0}".into(),
            "application/x-www-form-urlencoded",
        ),
        (
            "/token",
            "{\"grant_type\":\"authorization_code\"}".into(),
            "application/json",
        ),
        ("/token", big_body, "application/x-www-form-urlencoded"),
        (
            "/token",
            "grant_type=authorization_code&grant_type=refresh_token".into(),
            "application/x-www-form-urlencoded",
        ),
        (
            "/login",
            "interaction=x&csrf=y".into(),
            "application/x-www-form-urlencoded",
        ),
        (
            "/consent",
            "%%%".into(),
            "application/x-www-form-urlencoded",
        ),
        (
            "/authorize",
            "client_id=\u{1}".into(),
            "application/x-www-form-urlencoded",
        ),
        (
            "/userinfo",
            "access_token=a.b.c".into(),
            "application/x-www-form-urlencoded",
        ),
    ];
    for (path, body, content_type) in bodies {
        let response = app
            .browser
            .post(app.url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert!(status.is_client_error(), "{path}: {status}");
    }
}
}
