//! Passkeys over HTTP with the WebAuthn crate's software authenticator playing the user's
//! device: added on the account page (the recovery codes shown with the first), signing in
//! with a passkey alone from an application's login page, a passkey as the second step
//! after the password, an answer replayed, a removed passkey refused (and the user's other
//! devices signed out), and an issuer at an IP address offering none.

use serde_json::{Value, json};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};

use crate::helpers::{
    PASSWORD, TestApp, browser, field, location, run_cli, spawn_app, spawn_app_with,
};
use crate::mfa::{code_from, enroll_alice, id_token_claims, redeem};

/// A server whose issuer is `http://localhost:PORT`: WebAuthn needs a domain name.
async fn spawn_at_localhost() -> TestApp {
    spawn_app_with(|c| c.issuer = c.issuer.replace("127.0.0.1", "localhost")).await
}

fn origin(app: &TestApp) -> Url {
    Url::parse(&app.base.replace("127.0.0.1", "localhost")).unwrap()
}

/// What a page's passkey form posted to `action` holds: the WebAuthn options and the
/// sealed ceremony.
fn passkey_form(html: &str, action: &str) -> Option<(Value, String)> {
    let form = &html[html.find(&format!("action=\"{action}\""))?..];
    let marker = "data-options=\"";
    let start = form.find(marker)? + marker.len();
    let escaped = &form[start..start + form[start..].find('"')?];
    let options = escaped
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    Some((
        serde_json::from_str(&options).ok()?,
        field(form, "ceremony")?,
    ))
}

/// The user's device: the software authenticator, and the passkey it made (its credential
/// id and the account's user handle), which it offers when a request names none, as a
/// platform authenticator keeping discoverable credentials does.
struct Device {
    key: SoftPasskey,
    made: Option<(String, String)>,
}

impl Device {
    fn new() -> Self {
        Self {
            key: SoftPasskey::new(true),
            made: None,
        }
    }

    fn create(&mut self, app: &TestApp, options: Value) -> String {
        let user_handle = options["user"]["id"].as_str().unwrap().to_owned();
        let request: CreationChallengeResponse =
            serde_json::from_value(json!({ "publicKey": options })).unwrap();
        let credential = self.key.do_registration(origin(app), request).unwrap();
        self.made = Some((credential.id.clone(), user_handle));
        serde_json::to_string(&credential).unwrap()
    }

    fn get(&mut self, app: &TestApp, mut options: Value) -> String {
        let (id, handle) = self.made.clone().expect("a passkey was made");
        let discoverable = options["allowCredentials"]
            .as_array()
            .is_none_or(|a| a.is_empty());
        if discoverable {
            options["allowCredentials"] = json!([{ "type": "public-key", "id": id }]);
        }
        let request: RequestChallengeResponse =
            serde_json::from_value(json!({ "publicKey": options })).unwrap();
        let mut credential = self.key.do_authentication(origin(app), request).unwrap();
        if discoverable {
            let handle =
                base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, handle)
                    .unwrap();
            credential.response.user_handle = Some(handle);
        }
        serde_json::to_string(&credential).unwrap()
    }
}

/// Adds a passkey named `name` on the account page of a signed-in browser: the answer.
async fn add_passkey(
    app: &TestApp,
    browser: &reqwest::Client,
    device: &mut Device,
    name: &str,
) -> reqwest::Response {
    let (page, csrf) = app.form_page(browser, "/account/mfa").await;
    let (options, ceremony) = passkey_form(&page, "/account/passkeys").expect("the add form");
    let credential = device.create(app, options);
    let form = [
        ("csrf", csrf),
        ("ceremony", ceremony),
        ("credential", credential),
        ("name", name.to_owned()),
    ];
    browser
        .post(app.url("/account/passkeys"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// Answers the passkey form posted to `action` on the page at `path` with the device: the
/// form sent, and the answer.
async fn use_passkey(
    app: &TestApp,
    browser: &reqwest::Client,
    device: &mut Device,
    (path, action): (&str, &str),
) -> (Vec<(&'static str, String)>, reqwest::Response) {
    let (page, csrf) = app.form_page(browser, path).await;
    let (options, ceremony) = passkey_form(&page, action).expect("a passkey form");
    let mut form = vec![
        ("csrf", csrf),
        ("ceremony", ceremony),
        ("credential", device.get(app, options)),
    ];
    if let Some(interaction) = field(&page, "interaction") {
        form.push(("interaction", interaction));
    }
    let answer = browser
        .post(app.url(action))
        .form(&form)
        .send()
        .await
        .unwrap();
    (form, answer)
}

/// Where an authorization for the confidential client first sends a new browser.
async fn login_page(app: &TestApp, browser: &reqwest::Client, extra: &[(&str, &str)]) -> String {
    let start = browser.get(app.authorize_url(extra)).send().await.unwrap();
    location(&start)
}

on_both_backends! {
async fn a_passkey_signs_in_alone_or_as_the_second_step_and_works_once() {
    let app = spawn_at_localhost().await;
    let laptop = browser();
    assert_eq!(app.account_sign_in(&laptop).await, "/account/sessions");
    let mut device = Device::new();

    // The first passkey: the recovery codes are shown once, then the page lists it.
    let added = add_passkey(&app, &laptop, &mut device, "Work laptop").await;
    assert_eq!(added.status(), 200);
    let html = added.text().await.unwrap();
    assert!(html.contains("recovery codes"), "{html}");
    let (page, _) = app.form_page(&laptop, "/account/mfa").await;
    assert!(page.contains("Work laptop"), "{page}");
    assert!(page.contains("Passkey on one device"), "{page}");

    // Signing in to an application with the passkey alone: no username, MFA level.
    let phone = browser();
    let login = login_page(&app, &phone, &[]).await;
    let (form, answer) = use_passkey(&app, &phone, &mut device, (&login, "/login/passkey")).await;
    assert!(answer.status().is_redirection(), "{}", answer.status());
    let code = code_from(&app, &phone, &location(&answer)).await;
    let claims = id_token_claims(&redeem(&app, &code).await);
    assert_eq!(claims["amr"], json!(["hwk", "user", "mfa"]));
    assert_eq!(claims["acr"], tessera::core::mfa::ACR_MFA);

    // The same answer posted again (a replay) is refused: for the finished authorization,
    // and on its own, for the account pages.
    let replay = |form: Vec<(&'static str, String)>| {
        let phone = &phone;
        let app = &app;
        async move {
            let answer = phone.post(app.url("/login/passkey")).form(&form).send().await;
            let answer = answer.unwrap();
            (answer.status(), answer.text().await.unwrap())
        }
    };
    let (status, _) = replay(form.clone()).await;
    assert_eq!(status, 400);
    let alone = form.into_iter().filter(|(k, _)| *k != "interaction").collect();
    let (status, html) = replay(alone).await;
    assert_eq!(status, 400);
    assert!(html.contains("expired or was already used"), "{html}");

    // With a passkey, the password is followed by the second step, which the passkey gives.
    let tablet = browser();
    let (_, answer) = app.try_login(&tablet, PASSWORD).await;
    let next = location(&answer);
    assert!(next.starts_with("/login/second-factor?interaction="), "{next}");
    let (_, answer) = use_passkey(
        &app,
        &tablet,
        &mut device,
        (&next, "/login/second-factor/passkey"),
    )
    .await;
    assert!(answer.status().is_redirection(), "{}", answer.status());
    let code = code_from(&app, &tablet, &location(&answer)).await;
    let claims = id_token_claims(&redeem(&app, &code).await);
    assert_eq!(claims["amr"], json!(["pwd", "hwk", "user", "mfa"]));

    // Operators see it; removing it signs the user's other devices out, and it no longer
    // signs anyone in.
    let args = ["user", "mfa", "list", "--username", "alice", "--json"];
    let (ok, out, err) = run_cli(&app.db_url, &app.master_key, &app.base, &args, None);
    assert!(ok, "{err}");
    let listed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed["passkeys"][0]["name"], "Work laptop");
    let id = listed["passkeys"][0]["id"].as_str().unwrap().to_owned();
    let (_, csrf) = app.form_page(&laptop, "/account/mfa").await;
    let removed = laptop
        .post(app.url("/account/passkeys/remove"))
        .form(&[("csrf", csrf.as_str()), ("id", id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&removed), "/account/mfa?done=passkey-removed");
    let signed_out = phone.get(app.url("/account/sessions")).send().await.unwrap();
    assert_eq!(location(&signed_out), "/account/login");
    let still_in = laptop.get(app.url("/account/sessions")).send().await.unwrap();
    assert_eq!(still_in.status(), 200);
    let stranger = browser();
    let (_, refused) =
        use_passkey(&app, &stranger, &mut device, ("/account/login", "/login/passkey")).await;
    assert_eq!(refused.status(), 401);
    assert!(refused.text().await.unwrap().contains("not registered here"));
    let (_, answer) = app.try_login(&browser(), PASSWORD).await;
    assert!(
        !location(&answer).starts_with("/login/second-factor"),
        "with no second factor left, the password is enough again"
    );
}
}

#[actix_web::test]
async fn a_passkey_is_registered_once_and_forms_are_checked() {
    let app = spawn_at_localhost().await;
    let laptop = browser();
    app.account_sign_in(&laptop).await;
    let mut device = Device::new();
    add_passkey(&app, &laptop, &mut device, "").await;
    let (page, csrf) = app.form_page(&laptop, "/account/mfa").await;
    assert!(page.contains("Passkey 1"), "an unnamed passkey gets a name");

    // A second passkey, from another device; its answer works once.
    let (_, ceremony) = passkey_form(&page, "/account/passkeys").unwrap();
    let (options, _) = passkey_form(&page, "/account/passkeys").unwrap();
    assert_eq!(
        options["excludeCredentials"].as_array().map(Vec::len),
        Some(1),
        "the account's passkeys are excluded"
    );
    assert_eq!(
        options["authenticatorSelection"]["residentKey"],
        "preferred"
    );
    let mut other = Device::new();
    let credential = other.create(&app, options);
    let form = [
        ("csrf", csrf.clone()),
        ("ceremony", ceremony.clone()),
        ("credential", credential.clone()),
    ];
    let first = laptop
        .post(app.url("/account/passkeys"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(location(&first), "/account/mfa?done=passkey-added");
    let again = laptop
        .post(app.url("/account/passkeys"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400, "a registration is answered once");

    // A made-up answer, and a form without its CSRF token.
    let (page, csrf) = app.form_page(&laptop, "/account/mfa").await;
    let (_, ceremony) = passkey_form(&page, "/account/passkeys").unwrap();
    let garbled = laptop
        .post(app.url("/account/passkeys"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("ceremony", ceremony.as_str()),
            ("credential", "{\"id\":\"x\"}"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(garbled.status(), 401);
    assert!(
        garbled
            .text()
            .await
            .unwrap()
            .contains("could not be verified")
    );
    let forged = laptop
        .post(app.url("/account/passkeys"))
        .form(&[("ceremony", ceremony.as_str()), ("credential", "{}")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);

    // With an authenticator app as well, alice removes the app alone: the passkeys stay and
    // remain her second step; her other devices are signed out.
    enroll_alice(&app);
    let phone = browser();
    app.account_sign_in(&phone).await;
    let (page, csrf) = app.form_page(&laptop, "/account/mfa").await;
    assert!(page.contains("id=\"remove-app\""), "{page}");
    let removed = app.press(&laptop, "/account/mfa/totp/remove", &csrf).await;
    assert_eq!(location(&removed), "/account/mfa?done=totp-removed");
    let signed_out = phone
        .get(app.url("/account/sessions"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&signed_out), "/account/login");
    let args = ["user", "mfa", "list", "--username", "alice", "--json"];
    let (_, out, _) = run_cli(&app.db_url, &app.master_key, &app.base, &args, None);
    let listed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed["totp_since"], Value::Null);
    assert_eq!(listed["passkeys"].as_array().map(Vec::len), Some(2));
    let next = app.account_sign_in(&browser()).await;
    assert_eq!(next, "/login/second-factor");
}

#[actix_web::test]
async fn pages_load_only_their_own_script_and_an_ip_issuer_offers_no_passkeys() {
    let app = spawn_at_localhost().await;
    let phone = browser();
    let login = login_page(&app, &phone, &[]).await;
    let page = phone.get(app.url(&login)).send().await.unwrap();
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(html.contains("src=\"/assets/passkey.js\""));
    assert!(!html.contains("<script>"), "no inline script");
    assert!(passkey_form(&html, "/login/passkey").is_some());
    let script = phone
        .get(app.url("/assets/passkey.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert!(
        script
            .text()
            .await
            .unwrap()
            .contains("navigator.credentials")
    );

    let at_ip = spawn_app().await;
    let (html, _) = at_ip.form_page(&phone, "/account/login").await;
    assert!(passkey_form(&html, "/login/passkey").is_none());
    assert!(!html.contains("passkey.js"));
    let signed = browser();
    let (_, csrf) = at_ip.form_page(&signed, "/account/login").await;
    signed
        .post(at_ip.url("/account/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "alice"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let (html, _) = at_ip.form_page(&signed, "/account/mfa").await;
    assert!(html.contains("Passkeys need Tessera to be reached at a domain name"));
}
