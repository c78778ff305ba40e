//! Refresh tokens: rotation on every use, reuse revoking the grant (RFC 9700 §4.14) strictly
//! by default, the opt-in grace for concurrent tabs (global and per client), many concurrent
//! refreshes with one winner, scope narrowing, idle and absolute lifetimes.

use std::collections::HashSet;

use crate::helpers::{TestApp, browser, json, spawn_app, spawn_app_with, str_of};

on_both_backends! {
async fn refresh_tokens_rotate_and_an_immediate_reuse_revokes_the_grant() {
    let app = spawn_app().await;
    let first = app.tokens(&browser()).await;
    let rt1 = str_of(&first, "refresh_token");
    assert_eq!(app.introspect(&rt1).await["active"], true);

    let (status, second) = json(app.refresh(&rt1, &[]).await).await;
    assert_eq!(status, 200, "{second}");
    let rt2 = str_of(&second, "refresh_token");
    assert_ne!(rt1, rt2, "every use rotates");
    assert!(second["id_token"].is_string(), "OIDC Core §12.2");
    assert_eq!(
        app.introspect(&rt1).await["active"],
        false,
        "a rotated token is no longer active"
    );

    // At once, in the same second: no grace unless one is opted in to.
    let (status, body) = json(app.refresh(&rt1, &[]).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    // The whole family is gone: the successor and the access tokens too.
    let (status, _) = json(app.refresh(&rt2, &[]).await).await;
    assert_eq!(status, 400);
    assert_eq!(app.introspect(&rt2).await["active"], false);
    assert_eq!(
        app.introspect(&str_of(&second, "access_token")).await["active"],
        false
    );
}
}

/// Presents `token` 50 times at once as `client`: the statuses and the refresh tokens issued.
async fn fifty_at_once(
    app: &TestApp,
    client: &(String, String),
    token: &str,
) -> (Vec<u16>, HashSet<String>) {
    let requests = (0..50).map(|_| refresh_as(app, client, token));
    let mut statuses = vec![];
    let mut successors = HashSet::new();
    for (status, body) in futures_util::future::join_all(requests).await {
        assert!(status < 500, "no 5xx: {status} {body}");
        if status == 200 {
            successors.insert(str_of(&body, "refresh_token"));
        } else {
            assert_eq!(body["error"], "invalid_grant", "{body}");
        }
        statuses.push(status);
    }
    (statuses, successors)
}

async fn refresh_as(
    app: &TestApp,
    client: &(String, String),
    token: &str,
) -> (u16, serde_json::Value) {
    let response = app
        .rp_http
        .post(app.url("/token"))
        .basic_auth(&client.0, Some(&client.1))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .send()
        .await
        .unwrap();
    json(response).await
}

on_both_backends! {
async fn fifty_concurrent_refreshes_have_exactly_one_winner() {
    let app = spawn_app().await;
    let client = app.confidential.clone();
    let rt = str_of(&app.tokens(&browser()).await, "refresh_token");
    let (statuses, successors) = fifty_at_once(&app, &client, &rt).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    // The 49 others presented a rotated token: a reuse, so the winner's family goes too.
    let winner = successors.into_iter().next().unwrap();
    let (status, _) = refresh_as(&app, &client, &winner).await;
    assert_eq!(status, 400);
}
}

on_both_backends! {
async fn a_client_grace_lets_concurrent_tabs_share_one_successor() {
    let app = spawn_app().await;
    let tabs = app.add_client(|c| c.refresh_reuse_grace = Some(5)).await;
    let rt = str_of(&app.tokens_for(&browser(), &tabs).await, "refresh_token");
    let (statuses, successors) = fifty_at_once(&app, &tabs, &rt).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(successors.len(), 1, "exactly one successor family");
    let successor = successors.into_iter().next().unwrap();
    let (status, next) = refresh_as(&app, &tabs, &successor).await;
    assert_eq!(status, 200, "{next}");

    app.advance(1);
    let (status, _) = refresh_as(&app, &tabs, &rt).await;
    assert_eq!(status, 400, "the successor was used: the grace is over");
    let (status, _) = refresh_as(&app, &tabs, &str_of(&next, "refresh_token")).await;
    assert_eq!(status, 400, "…and the reuse revoked the family");
}
}

on_both_backends! {
async fn the_global_grace_is_an_opt_in_that_ends_on_time() {
    let app = spawn_app_with(|c| c.refresh_reuse_grace = 3).await;
    let strict = app.add_client(|c| c.refresh_reuse_grace = Some(0)).await;
    let rt = str_of(&app.tokens(&browser()).await, "refresh_token");
    let (_, first) = json(app.refresh(&rt, &[]).await).await;
    let (status, again) = json(app.refresh(&rt, &[]).await).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(first["refresh_token"], again["refresh_token"]);
    app.advance(3);
    let (status, _) = json(app.refresh(&rt, &[]).await).await;
    assert_eq!(status, 400, "3 s after the rotation the grace is over");
    let (status, _) = json(app.refresh(&str_of(&first, "refresh_token"), &[]).await).await;
    assert_eq!(status, 400, "the grant is revoked");

    // A client registered with a grace of 0 has none, whatever the global setting.
    let rt = str_of(&app.tokens_for(&browser(), &strict).await, "refresh_token");
    let (status, _) = refresh_as(&app, &strict, &rt).await;
    assert_eq!(status, 200);
    let (status, _) = refresh_as(&app, &strict, &rt).await;
    assert_eq!(status, 400);
}
}

on_both_backends! {
async fn refresh_scope_may_narrow_but_not_widen() {
    let app = spawn_app().await;
    let rt = str_of(&app.tokens(&browser()).await, "refresh_token");
    let (status, body) = json(app.refresh(&rt, &[("scope", "openid email phone")]).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let (status, body) = json(app.refresh(&rt, &[("scope", "openid")]).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "openid");
    // The refresh token keeps the original scope.
    let (_, again) = json(app.refresh(&str_of(&body, "refresh_token"), &[]).await).await;
    assert_eq!(again["scope"], "openid profile email");
}
}

on_both_backends! {
async fn refresh_tokens_expire_on_idle_and_absolute_limits() {
    let app = spawn_app_with(|c| {
        c.refresh_token_ttl = 100;
        c.refresh_token_absolute_ttl = 250;
    })
    .await;
    let mut rt = str_of(&app.tokens(&browser()).await, "refresh_token");
    app.advance(101);
    assert_eq!(
        json(app.refresh(&rt, &[]).await).await.0,
        400,
        "idle too long"
    );

    let mut rt_live = str_of(&app.tokens(&browser()).await, "refresh_token");
    for _ in 0..2 {
        app.advance(90);
        let (status, body) = json(app.refresh(&rt_live, &[]).await).await;
        assert_eq!(status, 200, "{body}");
        rt_live = str_of(&body, "refresh_token");
    }
    app.advance(90); // 270 s after sign-in: past the absolute limit though used within 100 s
    assert_eq!(json(app.refresh(&rt_live, &[]).await).await.0, 400);
    rt.clear();
}
}
