//! Two-step verification over HTTP, with the server's clock injected: an authenticator app
//! enrolled by the operator CLI, the account page or during sign-in; its code after the
//! password (wrong, replayed and throttled codes refused), recovery codes, step-up through
//! acr_values, clients that require a second factor, acr/amr in the id_token, and resetting
//! ending the user's sessions.

use serde_json::Value;
use tessera::core::mfa::{ACR_MFA, ACR_PASSWORD};
use tessera::core::totp;

use crate::helpers::{
    PASSWORD, REDIRECT, TestApp, browser, field, json, location, param, run_cli, spawn_app, str_of,
};

/// The code an authenticator app with this base32 secret shows at the server's time, `ahead`
/// steps later.
fn code(app: &TestApp, secret: &str, ahead: i64) -> String {
    let bytes = totp::base32_decode(secret).unwrap();
    let step = totp::step_at(app.state.now()) + ahead;
    totp::code(&bytes, u64::try_from(step).unwrap())
}

/// Enrols alice's authenticator app with the CLI: (secret, recovery codes).
pub(crate) fn enroll_alice(app: &TestApp) -> (String, Vec<String>) {
    let args = [
        "user",
        "mfa",
        "enroll-totp",
        "--username",
        "alice",
        "--json",
    ];
    let (ok, out, err) = run_cli(&app.db_url, &app.master_key, &app.base, &args, None);
    assert!(ok, "{err}");
    let enrolled: Value = serde_json::from_str(&out).unwrap();
    assert!(
        str_of(&enrolled, "otpauth_uri")
            .starts_with("otpauth://totp/127.0.0.1:alice%40example.com?secret=")
    );
    let codes = enrolled["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (str_of(&enrolled, "secret"), codes)
}

/// Starts an authorization in `browser` and gives the password: where the browser is sent.
async fn password_step(app: &TestApp, browser: &reqwest::Client, extra: &[(&str, &str)]) -> String {
    let url = app.authorize_url(extra);
    let (_, answer) = app.try_login_at(browser, &url, PASSWORD).await;
    assert!(answer.status().is_redirection(), "{}", answer.status());
    location(&answer)
}

/// Submits a code on the second-factor page at `path`: the answer.
async fn give_code(
    app: &TestApp,
    browser: &reqwest::Client,
    path: &str,
    code: &str,
) -> reqwest::Response {
    let page = browser.get(app.url(path)).send().await.unwrap();
    assert_eq!(page.status(), 200, "{path}");
    let html = page.text().await.unwrap();
    let mut form = vec![
        ("csrf", field(&html, "csrf").unwrap()),
        ("code", code.to_owned()),
    ];
    if let Some(interaction) = field(&html, "interaction") {
        form.push(("interaction", interaction));
    }
    let action = if path.starts_with("/login/enroll") {
        "/login/enroll"
    } else {
        "/login/second-factor"
    };
    browser
        .post(app.url(action))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// Follows a redirect answer through consent (approving) to the client: the code.
async fn finish(app: &TestApp, browser: &reqwest::Client, response: reqwest::Response) -> String {
    assert!(
        response.status().is_redirection(),
        "{}: {}",
        response.status(),
        response.text().await.unwrap()
    );
    code_from(app, browser, &location(&response)).await
}

/// Follows a location inside Tessera through consent (approving) to the client: the code.
pub(crate) async fn code_from(app: &TestApp, browser: &reqwest::Client, next: &str) -> String {
    let mut next = next.to_owned();
    loop {
        if next.starts_with(REDIRECT) {
            return param(&next, "code").expect("a code");
        }
        assert!(next.starts_with("/consent"), "{next}");
        let html = browser
            .get(app.url(&next))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let form = [
            ("csrf", field(&html, "csrf").unwrap()),
            ("interaction", field(&html, "interaction").unwrap()),
            ("decision", "approve".to_owned()),
        ];
        let answer = browser
            .post(app.url("/consent"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_redirection(), "{}", answer.status());
        next = location(&answer);
    }
}

pub(crate) fn id_token_claims(tokens: &Value) -> Value {
    crate::dpop::payload(&str_of(tokens, "id_token"))
}

pub(crate) async fn redeem(app: &TestApp, code: &str) -> Value {
    let (status, tokens) = json(app.redeem(code, &[]).await).await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

on_both_backends! {
async fn a_code_from_the_app_follows_the_password_once_and_recovery_codes_work_once() {
    let app = spawn_app().await;
    let (secret, recovery) = enroll_alice(&app);
    assert_eq!(recovery.len(), 10);

    let first = browser();
    let next = password_step(&app, &first, &[]).await;
    assert!(next.starts_with("/login/second-factor?interaction="), "{next}");
    let wrong = give_code(&app, &first, &next, "000000").await;
    assert_eq!(wrong.status(), 401);
    assert!(wrong.text().await.unwrap().contains("That code is not right"));
    let good = code(&app, &secret, 0);
    let answer = give_code(&app, &first, &next, &good).await;
    let tokens = redeem(&app, &finish(&app, &first, answer).await).await;
    let claims = id_token_claims(&tokens);
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["acr"], ACR_MFA);

    // The same code again, in another browser: refused, as is the earlier step's; the next
    // step's code works.
    let second = browser();
    let next = password_step(&app, &second, &[]).await;
    assert_eq!(give_code(&app, &second, &next, &good).await.status(), 401);
    app.advance(30);
    let later = code(&app, &secret, 0);
    let answer = give_code(&app, &second, &next, &later).await;
    finish(&app, &second, answer).await;

    // A recovery code instead of the app, once; the user is told how many are left.
    let third = browser();
    let next = password_step(&app, &third, &[]).await;
    let answer = give_code(&app, &third, &next, &recovery[0]).await;
    assert_eq!(answer.status(), 200);
    let html = answer.text().await.unwrap();
    assert!(html.contains("id=\"codes-left\">9<"), "{html}");
    let resumed = third.get(app.url(&continue_link(&html))).send().await.unwrap();
    finish(&app, &third, resumed).await;
    let fourth = browser();
    let next = password_step(&app, &fourth, &[]).await;
    assert_eq!(give_code(&app, &fourth, &next, &recovery[0]).await.status(), 401);
    let args = ["user", "mfa", "list", "--username", "alice", "--json"];
    let (ok, out, _) = run_cli(&app.db_url, &app.master_key, &app.base, &args, None);
    assert!(ok);
    let listed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed["recovery_codes_left"], 9);

    // Without the password step, the second-factor page is no way in.
    let stranger = browser();
    let page = stranger.get(app.url(&next)).send().await.unwrap();
    assert_eq!(page.status(), 400);

    // Reset (a lost phone): every session ends, the refresh token stops, and the next
    // sign-in asks for the password only.
    let refresh = str_of(&tokens, "refresh_token");
    let args = ["user", "mfa", "reset", "--username", "alice", "--json"];
    let (ok, out, err) = run_cli(&app.db_url, &app.master_key, &app.base, &args, None);
    assert!(ok, "{err}");
    assert!(out.contains("\"sessions_ended\":3"), "{out}");
    assert_eq!(app.refresh(&refresh, &[]).await.status(), 400);
    let fifth = browser();
    let next = password_step(&app, &fifth, &[]).await;
    assert!(next.starts_with("/consent") || next.starts_with(REDIRECT), "{next}");
}
}

#[actix_web::test]
async fn wrong_codes_are_throttled_like_passwords() {
    let app = spawn_app().await;
    let (secret, _) = enroll_alice(&app);
    let browser = browser();
    let next = password_step(&app, &browser, &[]).await;
    for _ in 0..app.state.policy.throttle.max_failures {
        assert_eq!(
            give_code(&app, &browser, &next, "123456").await.status(),
            401
        );
    }
    let good = code(&app, &secret, 0);
    let locked = give_code(&app, &browser, &next, &good).await;
    assert_eq!(locked.status(), 429);
    assert!(
        locked
            .text()
            .await
            .unwrap()
            .contains("Too many wrong codes")
    );
}

/// The page at `path` and, from it, the enrolment's secret.
async fn enrolment_secret(app: &TestApp, browser: &reqwest::Client, path: &str) -> String {
    let html = browser
        .get(app.url(path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<svg"), "the QR code is on the page: {html}");
    let start = html.find("class=\"secret\">").expect("the secret") + "class=\"secret\">".len();
    html[start..start + html[start..].find('<').unwrap()].to_owned()
}

/// Enrols at `path` (an enrolment page) and returns the recovery-codes page's "continue" link.
async fn enroll_at(app: &TestApp, browser: &reqwest::Client, path: &str) -> String {
    let secret = enrolment_secret(app, browser, path).await;
    let wrong = give_code(app, browser, path, "000000").await;
    assert_eq!(wrong.status(), 401, "a wrong first code enrols nothing");
    let answer = give_code(app, browser, path, &code(app, &secret, 0)).await;
    assert_eq!(answer.status(), 200);
    let html = answer.text().await.unwrap();
    assert_eq!(
        html.matches("<li><code>").count(),
        10,
        "ten recovery codes: {html}"
    );
    continue_link(&html)
}

/// Where a page's "continue" link goes.
fn continue_link(html: &str) -> String {
    let marker = "id=\"continue\" href=\"";
    let start = html.find(marker).expect("a continue link") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].replace("&amp;", "&")
}

#[actix_web::test]
async fn acr_values_steps_a_password_session_up_enrolling_first() {
    let app = spawn_app().await;
    let browser = browser();
    let next = password_step(&app, &browser, &[]).await;
    let tokens = redeem(&app, &code_from(&app, &browser, &next).await).await;
    let claims = id_token_claims(&tokens);
    assert_eq!(
        (claims["acr"].as_str(), &claims["amr"]),
        (Some(ACR_PASSWORD), &serde_json::json!(["pwd"]))
    );

    // prompt=none cannot step up.
    let silent = browser
        .get(app.authorize_url(&[("acr_values", ACR_MFA), ("prompt", "none")]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        param(&location(&silent), "error").as_deref(),
        Some("interaction_required")
    );

    // Asking for the MFA level: alice has no second factor yet, so she enrols one, sees her
    // recovery codes, and the authorization goes on with the stronger session.
    let stepped = browser
        .get(app.authorize_url(&[("acr_values", ACR_MFA)]))
        .send()
        .await
        .unwrap();
    let enroll = location(&stepped);
    assert!(enroll.starts_with("/login/enroll?interaction="), "{enroll}");
    let resume = enroll_at(&app, &browser, &enroll).await;
    assert!(resume.starts_with("/login/resume?interaction="), "{resume}");
    let resumed = browser.get(app.url(&resume)).send().await.unwrap();
    let tokens = redeem(&app, &finish(&app, &browser, resumed).await).await;
    let claims = id_token_claims(&tokens);
    assert_eq!(claims["acr"], ACR_MFA);
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));

    // The session now has both factors: asking again needs nothing more.
    let again = browser
        .get(app.authorize_url(&[("acr_values", ACR_MFA)]))
        .send()
        .await
        .unwrap();
    assert!(
        location(&again).starts_with(REDIRECT),
        "{}",
        location(&again)
    );
}

#[actix_web::test]
async fn a_client_that_requires_a_second_factor_leads_the_user_through_enrolment() {
    let app = spawn_app().await;
    let strict = app.add_client(|c| c.require_mfa = true).await;
    let browser = browser();
    let enroll = password_step(&app, &browser, &[("client_id", strict.0.as_str())]).await;
    assert!(enroll.starts_with("/login/enroll?interaction="), "{enroll}");
    let resume = enroll_at(&app, &browser, &enroll).await;
    let resumed = browser.get(app.url(&resume)).send().await.unwrap();
    let next = location(&resumed);
    assert!(
        next.starts_with("/consent") || next.starts_with(REDIRECT),
        "{next}"
    );

    // Enrolled: the other client now asks for the code too, in a new browser.
    let other = crate::helpers::browser();
    let next = password_step(&app, &other, &[]).await;
    assert!(
        next.starts_with("/login/second-factor?interaction="),
        "{next}"
    );
}

#[actix_web::test]
async fn the_account_page_sets_up_and_turns_off_the_authenticator_app() {
    let app = spawn_app().await;
    let sign_in = |browser: reqwest::Client| {
        let app = &app;
        async move {
            let next = app.account_sign_in(&browser).await;
            (browser, next)
        }
    };
    let (phone, next) = sign_in(browser()).await;
    assert_eq!(next, "/account/sessions");
    let (laptop, _) = sign_in(browser()).await;

    let page = laptop
        .get(app.url("/account/mfa"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Set up an authenticator app"), "{page}");
    let csrf = field(&page, "csrf").unwrap();
    let enrolment = laptop
        .post(app.url("/account/mfa/totp"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let html = enrolment.text().await.unwrap();
    let start = html.find("class=\"secret\">").unwrap() + "class=\"secret\">".len();
    let secret = html[start..start + html[start..].find('<').unwrap()].to_owned();
    let form = [("csrf", csrf.as_str()), ("code", &code(&app, &secret, 0))];
    let confirmed = laptop
        .post(app.url("/account/mfa/totp/confirm"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);
    assert_eq!(
        confirmed
            .text()
            .await
            .unwrap()
            .matches("<li><code>")
            .count(),
        10
    );
    let page = laptop
        .get(app.url("/account/mfa"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("An authenticator app is set up"), "{page}");

    // Signing in to the account pages now takes the code too.
    let (tablet, next) = sign_in(browser()).await;
    assert_eq!(next, "/login/second-factor");
    app.advance(30);
    let answer = give_code(&app, &tablet, &next, &code(&app, &secret, 0)).await;
    assert_eq!(location(&answer), "/account/sessions");

    // Turning it off signs every other device out.
    let removed = app.press(&laptop, "/account/mfa/remove", &csrf).await;
    assert_eq!(location(&removed), "/account/mfa?done=removed");
    let phone_page = phone
        .get(app.url("/account/sessions"))
        .send()
        .await
        .unwrap();
    assert!(
        phone_page.status().is_redirection(),
        "the phone was signed out"
    );
    let page = laptop
        .get(app.url("/account/mfa"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Set up an authenticator app"));
}

#[actix_web::test]
async fn discovery_lists_the_levels() {
    let app = spawn_app().await;
    let metadata: Value = app.get_json("/.well-known/openid-configuration").await;
    assert_eq!(
        metadata["acr_values_supported"],
        serde_json::json!([ACR_PASSWORD, ACR_MFA])
    );
    assert!(
        metadata["claims_supported"]
            .as_array()
            .unwrap()
            .contains(&"acr".into())
    );
}
