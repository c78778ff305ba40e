//! Replicas keep clients, users, throttling counters and the revocation list in memory. What
//! one replica revokes it refuses at once; every other replica refuses it within the caches'
//! staleness bound (`cache_refresh_interval`).

use crate::helpers::{TestApp, browser, spawn_app, str_of};

async fn introspect_at(app: &TestApp, base: &str, token: &str) -> serde_json::Value {
    app.introspect_at(base, &app.confidential, token).await
}

async fn userinfo_status_at(app: &TestApp, base: &str, token: &str) -> u16 {
    app.rp_http
        .get(format!("{base}/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Polls `check` for at most the staleness bound plus a margin; how long it took, if it held.
async fn within_bound<F, Fut>(app: &TestApp, mut check: F) -> Option<std::time::Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = std::time::Instant::now();
    let bound = std::time::Duration::from_secs(app.state.config.cache_refresh_interval);
    while started.elapsed() < bound + std::time::Duration::from_millis(1500) {
        if check().await {
            return Some(started.elapsed());
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    None
}

on_both_backends! {
async fn a_revocation_is_refused_at_once_here_and_within_the_bound_everywhere() {
    let app = spawn_app().await;
    let replica = app.spawn_replica(|_| {}).await;
    let tokens = app.tokens(&browser()).await;
    let access = str_of(&tokens, "access_token");
    // Both replicas have checked the token once, so both hold it in memory as active.
    for base in [&app.base, &replica.base] {
        assert_eq!(introspect_at(&app, base, &access).await["active"], true);
        assert_eq!(userinfo_status_at(&app, base, &access).await, 200);
    }

    let revoked = app.post_as_client("/revoke", &[("token", &access)]).await;
    assert_eq!(revoked.status(), 200);
    assert_eq!(
        introspect_at(&app, &app.base, &access).await["active"],
        false,
        "the replica that revoked it refuses it at once"
    );
    assert_eq!(userinfo_status_at(&app, &app.base, &access).await, 401);
    let elsewhere = within_bound(&app, || async {
        introspect_at(&app, &replica.base, &access).await["active"] == false
            && userinfo_status_at(&app, &replica.base, &access).await == 401
    })
    .await;
    assert!(elsewhere.is_some(), "the other replica refuses it within the bound");

    // A refresh token revoked at the other replica revokes its grant, and with it the grant's
    // access tokens: there at once, here within the bound.
    let second = app.tokens(&browser()).await;
    let refresh = str_of(&second, "refresh_token");
    let revoked = app
        .rp_http
        .post(format!("{}/revoke", replica.base))
        .basic_auth(&app.confidential.0, Some(&app.confidential.1))
        .form(&[("token", refresh.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let access = str_of(&second, "access_token");
    assert_eq!(
        introspect_at(&app, &replica.base, &access).await["active"],
        false,
        "revoking the refresh token revokes its grant's access tokens at once"
    );
    let here = within_bound(&app, || async {
        introspect_at(&app, &app.base, &access).await["active"] == false
    })
    .await;
    assert!(here.is_some(), "and on the other replica within the bound");
}
}
