//! Guessing is throttled: wrong passwords and wrong client secrets slow down, then lock out.

use crate::helpers::{PASSWORD, REDIRECT, browser, field, location, spawn_app};

on_both_backends! {
async fn repeated_wrong_passwords_lock_the_account_for_a_while() {
    let app = spawn_app().await;
    let b = browser();
    let start = b.get(app.authorize_url(&[])).send().await.unwrap();
    let path = location(&start);
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let page = b.get(app.url(&path)).send().await.unwrap().text().await.unwrap();
        let form = [("csrf", field(&page, "csrf").unwrap()), ("interaction", field(&page, "interaction").unwrap()), ("username", "alice".into()), ("password", "wrong guess".into())];
        let response = b.post(app.url("/login")).form(&form).send().await.unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            assert!(response.text().await.unwrap().contains("Too many failed sign-in attempts"));
        }
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429], "locked after five failures");
    // Even the right password is refused during the lockout…
    let page = b.get(app.url(&path)).send().await.unwrap().text().await.unwrap();
    let form = [("csrf", field(&page, "csrf").unwrap()), ("interaction", field(&page, "interaction").unwrap()), ("username", "alice".into()), ("password", PASSWORD.into())];
    assert_eq!(b.post(app.url("/login")).form(&form).send().await.unwrap().status(), 429);
    // …and accepted once it is over.
    app.advance(15 * 60 + 1);
    let back = app.sign_in(&browser(), &app.authorize_url(&[]), PASSWORD).await;
    assert!(back.starts_with(REDIRECT));
    let metrics = app.rp_http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("tessera_login_failures_total 5"), "{metrics}");
}
}

on_both_backends! {
async fn client_secret_guessing_is_throttled() {
    let app = spawn_app().await;
    let mut last = None;
    for _ in 0..6 {
        let response = app.rp_http.post(app.url("/token")).basic_auth(&app.confidential.0, Some("guess")).form(&[("grant_type", "client_credentials")]).send().await.unwrap();
        last = Some(response);
    }
    let response = last.unwrap();
    assert_eq!(response.status(), 429);
    assert!(response.headers()["retry-after"].to_str().unwrap().parse::<i64>().unwrap() > 0);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
}
}
