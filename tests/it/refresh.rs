//! Refresh tokens: rotation on every use, reuse revoking the grant (RFC 9700 §4.14), many
//! concurrent refreshes with one winner, scope narrowing, idle and absolute lifetimes.

use crate::helpers::{browser, json, spawn_app, str_of};

on_both_backends! {
async fn refresh_tokens_rotate_and_reuse_revokes_the_grant() {
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

    app.advance(3); // past the 2 s grace window
    let (status, body) = json(app.refresh(&rt1, &[]).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // The whole family is gone: the successor and the access tokens too.
    let (status, _) = json(app.refresh(&rt2, &[]).await).await;
    assert_eq!(status, 400);
    assert_eq!(
        app.introspect(&str_of(&second, "access_token")).await["active"],
        false
    );
}
}

on_both_backends! {
async fn fifty_concurrent_refreshes_yield_one_successor() {
    let app = spawn_app().await;
    let rt = str_of(&app.tokens(&browser()).await, "refresh_token");
    let requests = (0..50).map(|_| app.refresh(&rt, &[]));
    let responses = futures_util::future::join_all(requests).await;
    let mut successors = std::collections::HashSet::new();
    for response in responses {
        let (status, body) = json(response).await;
        assert!(status < 500, "no 5xx: {status} {body}");
        if status == 200 {
            successors.insert(str_of(&body, "refresh_token"));
        }
    }
    assert_eq!(successors.len(), 1, "exactly one successor family");
    let successor = successors.into_iter().next().unwrap();
    let (status, next) = json(app.refresh(&successor, &[]).await).await;
    assert_eq!(status, 200, "{next}");

    app.advance(5);
    let (status, _) = json(app.refresh(&rt, &[]).await).await;
    assert_eq!(status, 400, "reuse after the grace window");
    let (status, _) = json(app.refresh(&str_of(&next, "refresh_token"), &[]).await).await;
    assert_eq!(status, 400, "…revokes the family");
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
    let app = crate::helpers::spawn_app_with(|c| {
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
