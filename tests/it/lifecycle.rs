//! Refresh rotation and reuse detection, revocation (RFC 7009), introspection (RFC 7662) and
//! client_credentials.

use tessera::core::accounts;
use tessera::core::model::{ClientSpec, GrantType};
use tessera::core::ports::RefreshTokenRepo;

use crate::helpers::{TestApp, browser, spawn_app};

async fn refresh(app: &TestApp, token: &str, extra: &[(&str, &str)]) -> reqwest::Response {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    form.extend_from_slice(extra);
    app.post_as_client("/token", &form).await
}

async fn json(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn introspect(app: &TestApp, token: &str) -> serde_json::Value {
    json(app.post_as_client("/introspect", &[("token", token)]).await)
        .await
        .1
}

fn str_of(v: &serde_json::Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {v}"))
        .to_owned()
}

on_both_backends! {
async fn refresh_tokens_rotate_and_reuse_revokes_the_grant() {
    let app = spawn_app().await;
    let first = app.tokens(&browser()).await;
    let rt1 = str_of(&first, "refresh_token");
    assert_eq!(introspect(&app, &rt1).await["active"], true);

    let (status, second) = json(refresh(&app, &rt1, &[]).await).await;
    assert_eq!(status, 200, "{second}");
    let rt2 = str_of(&second, "refresh_token");
    assert_ne!(rt1, rt2, "every use rotates");
    assert!(second["id_token"].is_string(), "OIDC Core §12.2");
    assert_eq!(
        introspect(&app, &rt1).await["active"],
        false,
        "a rotated token is no longer active"
    );

    app.advance(3); // past the 2 s grace window
    let (status, body) = json(refresh(&app, &rt1, &[]).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // The whole family is gone: the successor and the access tokens too.
    let (status, _) = json(refresh(&app, &rt2, &[]).await).await;
    assert_eq!(status, 400);
    assert_eq!(
        introspect(&app, &str_of(&second, "access_token")).await["active"],
        false
    );
}
}

on_both_backends! {
async fn fifty_concurrent_refreshes_yield_one_successor() {
    let app = spawn_app().await;
    let rt = str_of(&app.tokens(&browser()).await, "refresh_token");
    let requests = (0..50).map(|_| refresh(&app, &rt, &[]));
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
    let (status, next) = json(refresh(&app, &successor, &[]).await).await;
    assert_eq!(status, 200, "{next}");

    app.advance(5);
    let (status, _) = json(refresh(&app, &rt, &[]).await).await;
    assert_eq!(status, 400, "reuse after the grace window");
    let (status, _) = json(refresh(&app, &str_of(&next, "refresh_token"), &[]).await).await;
    assert_eq!(status, 400, "…revokes the family");
}
}

on_both_backends! {
async fn refresh_scope_may_narrow_but_not_widen() {
    let app = spawn_app().await;
    let rt = str_of(&app.tokens(&browser()).await, "refresh_token");
    let (status, body) = json(refresh(&app, &rt, &[("scope", "openid email phone")]).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let (status, body) = json(refresh(&app, &rt, &[("scope", "openid")]).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "openid");
    // The refresh token keeps the original scope.
    let (_, again) = json(refresh(&app, &str_of(&body, "refresh_token"), &[]).await).await;
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
        json(refresh(&app, &rt, &[]).await).await.0,
        400,
        "idle too long"
    );

    let mut rt_live = str_of(&app.tokens(&browser()).await, "refresh_token");
    for _ in 0..2 {
        app.advance(90);
        let (status, body) = json(refresh(&app, &rt_live, &[]).await).await;
        assert_eq!(status, 200, "{body}");
        rt_live = str_of(&body, "refresh_token");
    }
    app.advance(90); // 270 s after sign-in: past the absolute limit though used within 100 s
    assert_eq!(json(refresh(&app, &rt_live, &[]).await).await.0, 400);
    rt.clear();
}
}

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
    assert_eq!(introspect(&app, &at).await["active"], true);
    let revoked = app
        .post_as_client(
            "/revoke",
            &[("token", &at), ("token_type_hint", "access_token")],
        )
        .await;
    assert_eq!(revoked.status(), 200);
    assert_eq!(introspect(&app, &at).await["active"], false);
    let userinfo = app
        .rp_http
        .get(app.url("/userinfo"))
        .bearer_auth(&at)
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), 401);
    // The refresh token still works…
    let (status, fresh) = json(refresh(&app, &rt, &[]).await).await;
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
    assert_eq!(json(refresh(&app, &rt2, &[]).await).await.0, 400);
    assert_eq!(
        introspect(&app, &str_of(&fresh, "access_token")).await["active"],
        false
    );
}
}

on_both_backends! {
async fn introspection_tells_the_truth() {
    let app = spawn_app().await;
    let tokens = app.tokens(&browser()).await;
    let at = str_of(&tokens, "access_token");
    let active = introspect(&app, &at).await;
    assert_eq!(active["active"], true);
    assert_eq!(active["username"], "alice");
    assert_eq!(active["client_id"], app.confidential.0.as_str());
    assert_eq!(active["scope"], "openid profile email");
    assert_eq!(
        introspect(&app, "garbage").await,
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
    assert_eq!(introspect(&app, &at).await["active"], false, "expired");
}
}

on_both_backends! {
async fn client_credentials_for_services() {
    let app = spawn_app().await;
    let spec = ClientSpec {
        grant_types: vec![GrantType::ClientCredentials],
        scopes: vec!["orders:read".into(), "orders:write".into()],
        audience: Some("https://api.example.com".into()),
        ..ClientSpec::new("Billing service", vec![])
    };
    let (client, secret) = accounts::create_client(&app.state.store, spec, app.state.now())
        .await
        .unwrap();
    let secret = secret.unwrap();
    let post = |form: Vec<(&'static str, &'static str)>| {
        app.rp_http
            .post(app.url("/token"))
            .basic_auth(&client.id, Some(&secret))
            .form(&form)
            .send()
    };
    let (status, body) = json(
        post(vec![
            ("grant_type", "client_credentials"),
            ("scope", "orders:read"),
        ])
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());
    let claims: serde_json::Value = {
        let payload = str_of(&body, "access_token")
            .split('.')
            .nth(1)
            .unwrap()
            .to_owned();
        serde_json::from_slice(&tessera::secret::b64url_decode(&payload).unwrap()).unwrap()
    };
    assert_eq!(claims["sub"], client.id.as_str());
    assert_eq!(claims["aud"], "https://api.example.com");
    assert_eq!(claims["scope"], "orders:read");
    let (status, body) = json(
        post(vec![
            ("grant_type", "client_credentials"),
            ("scope", "openid"),
        ])
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let (status, body) = json(
        post(vec![
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("redirect_uri", "https://x"),
        ])
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    // The confidential web client is not registered for client_credentials.
    let (status, body) = json(
        app.post_as_client("/token", &[("grant_type", "client_credentials")])
            .await,
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
}
}

on_both_backends! {
async fn expired_rows_are_purged_and_live_ones_kept() {
    let app = spawn_app().await;
    let old = app.tokens(&browser()).await;
    app.advance(15 * 86_400); // past the 14-day idle lifetime of `old`'s refresh token
    let fresh = app.tokens(&browser()).await;
    let removed = app.state.store.purge_expired(app.state.now()).await.unwrap();
    assert!(removed >= 4, "expired codes, token records and the old refresh token: {removed}");
    let old_hash = tessera::secret::hash(old["refresh_token"].as_str().unwrap());
    assert!(app.state.store.find_refresh_token(&old_hash).await.unwrap().is_none());
    let (status, _) = json(refresh(&app, fresh["refresh_token"].as_str().unwrap(), &[]).await).await;
    assert_eq!(status, 200, "live grants are untouched");
}
}
