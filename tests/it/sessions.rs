//! Sessions as devices: listing and revoking them, password changes, RP-initiated and
//! back-channel logout, and the admin API.

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpServer, web};
use openidconnect::JsonWebKey;
use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm};

use crate::helpers::{PASSWORD, TestApp, browser, device_browser, field, location, spawn_app};

fn str_of(v: &serde_json::Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {v}"))
        .to_owned()
}

/// The sids of the sign-out forms on the devices page (the current device has none).
fn other_sids(html: &str) -> Vec<String> {
    html.split("name=\"sid\" value=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect()
}

struct Device {
    browser: reqwest::Client,
    client: (String, String),
    tokens: serde_json::Value,
}

async fn device(app: &TestApp, user_agent: &str) -> Device {
    let browser = device_browser(user_agent);
    let client = app.add_client(|_| {}).await;
    let tokens = app.tokens_for(&browser, &client).await;
    Device {
        browser,
        client,
        tokens,
    }
}

async fn is_alive(app: &TestApp, d: &Device) -> bool {
    let access = app.introspect(&str_of(&d.tokens, "access_token")).await["active"] == true;
    let refresh = app.introspect(&str_of(&d.tokens, "refresh_token")).await["active"] == true;
    assert_eq!(
        access, refresh,
        "access and refresh tokens of one device share a fate"
    );
    access
}

on_both_backends! {
async fn three_devices_two_revoked_then_a_password_change() {
    let app = spawn_app().await;
    let laptop = device(
        &app,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/130.0 Safari/537.36",
    )
    .await;
    let phone = device(
        &app,
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Safari/604.1",
    )
    .await;
    let desktop = device(
        &app,
        "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0",
    )
    .await;

    let (html, csrf) = app.form_page(&desktop.browser, "/account/sessions").await;
    assert_eq!(html.matches("class=\"device\"").count(), 3, "{html}");
    assert_eq!(
        html.matches("<span class=\"badge\">this device</span>")
            .count(),
        1
    );
    assert!(
        html.contains("Chrome on Windows")
            && html.contains("Safari on iPhone")
            && html.contains("Firefox on Linux")
    );
    let sids = other_sids(&html);
    assert_eq!(sids.len(), 2);
    for sid in &sids {
        let response = desktop
            .browser
            .post(app.url("/account/sessions/revoke"))
            .form(&[("csrf", csrf.as_str()), ("sid", sid)])
            .send()
            .await
            .unwrap();
        assert_eq!(location(&response), "/account/sessions?done=revoked");
    }
    assert!(!is_alive(&app, &laptop).await && !is_alive(&app, &phone).await);
    assert_eq!(
        app.refresh_status(&laptop.client, &str_of(&laptop.tokens, "refresh_token"))
            .await,
        400
    );
    assert_eq!(
        app.refresh_status(&phone.client, &str_of(&phone.tokens, "refresh_token"))
            .await,
        400
    );
    assert!(is_alive(&app, &desktop).await);
    // The revoked browsers are signed out: /authorize asks them to log in again.
    let again = laptop
        .browser
        .get(app.authorize_url(&[("client_id", &laptop.client.0)]))
        .send()
        .await
        .unwrap();
    assert!(location(&again).starts_with("/login"));
    let (html, _) = app.form_page(&desktop.browser, "/account/sessions").await;
    assert_eq!(html.matches("class=\"device\"").count(), 1);

    // Sign the two devices in again, then change the password on the third.
    let laptop = Device {
        tokens: app.tokens_for(&laptop.browser, &laptop.client).await,
        ..laptop
    };
    let phone = Device {
        tokens: app.tokens_for(&phone.browser, &phone.client).await,
        ..phone
    };
    assert!(is_alive(&app, &laptop).await && is_alive(&app, &phone).await);
    let (_, csrf) = app.form_page(&desktop.browser, "/account/password").await;
    let mismatch = [
        ("csrf", csrf.as_str()),
        ("current_password", PASSWORD),
        ("new_password", "a brand new secret"),
        ("confirm_password", "something else"),
    ];
    let response = desktop
        .browser
        .post(app.url("/account/password"))
        .form(&mismatch)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let wrong = [
        ("csrf", csrf.as_str()),
        ("current_password", "guess"),
        ("new_password", "a brand new secret"),
        ("confirm_password", "a brand new secret"),
    ];
    assert_eq!(
        desktop
            .browser
            .post(app.url("/account/password"))
            .form(&wrong)
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    assert!(
        is_alive(&app, &laptop).await,
        "failed attempts change nothing"
    );
    let good = [
        ("csrf", csrf.as_str()),
        ("current_password", PASSWORD),
        ("new_password", "a brand new secret"),
        ("confirm_password", "a brand new secret"),
    ];
    let response = desktop
        .browser
        .post(app.url("/account/password"))
        .form(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/account/sessions?done=password");
    assert!(!is_alive(&app, &laptop).await && !is_alive(&app, &phone).await);
    assert!(is_alive(&app, &desktop).await);
    assert_eq!(
        app.refresh_status(&desktop.client, &str_of(&desktop.tokens, "refresh_token"))
            .await,
        200
    );
    // The old password no longer signs in.
    let (_, refused) = app.try_login(&browser(), PASSWORD).await;
    assert_eq!(refused.status(), 401);
}
}

on_both_backends! {
async fn account_pages_need_a_signed_in_browser_and_csrf() {
    let app = spawn_app().await;
    let stranger = browser();
    let response = stranger
        .get(app.url("/account/sessions"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/account/login");
    let (_, csrf) = app.form_page(&stranger, "/account/login").await;
    let login = [
        ("csrf", csrf.as_str()),
        ("username", "alice"),
        ("password", PASSWORD),
    ];
    let response = stranger
        .post(app.url("/account/login"))
        .form(&login)
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/account/sessions");
    let (html, _) = app.form_page(&stranger, "/account/sessions").await;
    assert!(html.contains("alice") && html.contains("this device"));
    let forged = stranger
        .post(app.url("/account/sessions/revoke-others"))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
}
}

/// A relying party's back-channel logout endpoint that records what it receives.
async fn logout_receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        let store = store.clone();
        App::new().route(
            "/backchannel",
            web::post().to(
                move |form: web::Form<std::collections::HashMap<String, String>>| {
                    let store = store.clone();
                    async move {
                        if let Some(token) = form.get("logout_token") {
                            store.lock().unwrap().push(token.clone());
                        }
                        actix_web::HttpResponse::Ok().finish()
                    }
                },
            ),
        )
    })
    .listen(listener)
    .unwrap()
    .workers(1)
    .run();
    actix_web::rt::spawn(server);
    (format!("http://127.0.0.1:{port}/backchannel"), received)
}

async fn wait_for(received: &Arc<Mutex<Vec<String>>>, count: usize) -> Vec<String> {
    for _ in 0..100 {
        if received.lock().unwrap().len() >= count {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    received.lock().unwrap().clone()
}

/// Verifies a logout token's signature against the published JWKS, as a relying party would.
async fn verified_claims(app: &TestApp, token: &str) -> serde_json::Value {
    let jwks: CoreJsonWebKeySet = app
        .rp_http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let decode = |p: &str| tessera::secret::b64url_decode(p).unwrap();
    let header: serde_json::Value = serde_json::from_slice(&decode(parts[0])).unwrap();
    assert_eq!(header["typ"], "logout+jwt");
    let kid = header["kid"].as_str().unwrap();
    let key = jwks
        .keys()
        .iter()
        .find(|k| k.key_id().map(|id| id.as_str()) == Some(kid))
        .expect("kid in JWKS");
    let signing_input = format!("{}.{}", parts[0], parts[1]);
    key.verify_signature(
        &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        signing_input.as_bytes(),
        &decode(parts[2]),
    )
    .expect("logout token verifies against the JWKS");
    serde_json::from_slice(&decode(parts[1])).unwrap()
}

on_both_backends! {
async fn rp_initiated_logout_with_back_channel_notice() {
    let app = spawn_app().await;
    let (uri, received) = logout_receiver().await;
    let client = app
        .add_client(|spec| {
            spec.backchannel_logout_uri = Some(uri.clone());
            spec.post_logout_redirect_uris = vec!["http://localhost:9999/bye".into()];
        })
        .await;
    let b = browser();
    let tokens = app.tokens_for(&b, &client).await;
    let id_token = str_of(&tokens, "id_token");
    let sid = {
        let payload = id_token.split('.').nth(1).unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&tessera::secret::b64url_decode(payload).unwrap()).unwrap();
        str_of(&claims, "sid")
    };

    // An unregistered post_logout_redirect_uri is an error page, never a redirect.
    let bad = b
        .get(app.url(&format!(
            "/logout?id_token_hint={id_token}&post_logout_redirect_uri=https://evil.example/"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.headers().get("location").is_none());

    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("id_token_hint", id_token.as_str()),
            ("post_logout_redirect_uri", "http://localhost:9999/bye"),
            ("state", "s-9"),
        ])
        .finish();
    let response = b
        .get(app.url(&format!("/logout?{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "http://localhost:9999/bye?state=s-9");
    let cleared = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("tessera_session=;"));
    assert!(cleared, "the session cookie is removed");

    let tokens_received = wait_for(&received, 1).await;
    assert_eq!(
        tokens_received.len(),
        1,
        "one logout token for the one client"
    );
    let claims = verified_claims(&app, &tokens_received[0]).await;
    assert_eq!(claims["iss"], app.base.as_str());
    assert_eq!(claims["aud"], client.0.as_str());
    assert_eq!(claims["sid"], sid.as_str());
    assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(claims.get("nonce").is_none() && claims["jti"].is_string());
    assert_eq!(
        app.introspect(&str_of(&tokens, "access_token")).await["active"],
        false
    );
    let again = b
        .get(app.authorize_url(&[("client_id", &client.0)]))
        .send()
        .await
        .unwrap();
    assert!(
        location(&again).starts_with("/login"),
        "the browser is signed out"
    );
}
}

on_both_backends! {
async fn untrusted_logout_asks_first() {
    let app = spawn_app().await;
    let b = browser();
    let tokens = app.tokens(&b).await;
    let response = b.get(app.url("/logout")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("Sign out?"));
    assert_eq!(
        app.introspect(&str_of(&tokens, "access_token")).await["active"],
        true,
        "nothing ends before confirmation"
    );
    let csrf = field(&html, "csrf").unwrap();
    let done = b
        .post(app.url("/logout"))
        .form(&[("csrf", csrf.as_str()), ("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("You are signed out"));
    assert_eq!(
        app.introspect(&str_of(&tokens, "access_token")).await["active"],
        false
    );
    let forged = b
        .post(app.url("/logout"))
        .form(&[("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
}
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
