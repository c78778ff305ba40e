//! Sessions as devices: each sign-in is a device the user can see and sign out; a password
//! change signs out every other one.

use crate::helpers::{PASSWORD, TestApp, browser, device_browser, location, spawn_app, str_of};

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
    let (access, refresh) = (
        str_of(&d.tokens, "access_token"),
        str_of(&d.tokens, "refresh_token"),
    );
    let access = app.introspect_as(&d.client, &access).await["active"] == true;
    let refresh = app.introspect_as(&d.client, &refresh).await["active"] == true;
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
