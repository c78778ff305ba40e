//! Passkeys in the real headless Chromium, with its virtual authenticator (the DevTools
//! `WebAuthn.addVirtualAuthenticator` command) as the user's device: the page script asks
//! the browser's WebAuthn API for a new passkey on the account page, then signs in with it
//! alone (no username) and as the second step after the password. Every passkey page is
//! audited with axe-core and screenshotted at phone and desktop widths.

use serde_json::{Value, json};

use tessera::core::ports::{FactorRepo, UserRepo};

use crate::browser::{Browser, axe_source};
use crate::helpers::{PASSWORD, spawn_app_with};

impl Browser {
    /// Gives the page a platform authenticator that keeps discoverable credentials and
    /// verifies the user (as a screen lock would) without asking: its id.
    async fn add_virtual_authenticator(&self) -> String {
        let cdp = |cmd: &str, params: Value| json!({"cmd": cmd, "params": params});
        let path = "/goog/cdp/execute";
        self.command(
            reqwest::Method::POST,
            path,
            cdp("WebAuthn.enable", json!({})),
        )
        .await;
        let options = json!({"options": {
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": true,
            "hasUserVerification": true, "isUserVerified": true,
            "automaticPresenceSimulation": true,
        }});
        let added = self
            .command(
                reqwest::Method::POST,
                path,
                cdp("WebAuthn.addVirtualAuthenticator", options),
            )
            .await;
        added["authenticatorId"]
            .as_str()
            .unwrap_or_else(|| panic!("no virtual authenticator: {added}"))
            .to_owned()
    }

    /// The credentials the virtual authenticator keeps.
    async fn virtual_credentials(&self, authenticator: &str) -> Vec<Value> {
        let body = json!({"cmd": "WebAuthn.getCredentials",
            "params": {"authenticatorId": authenticator}});
        let listed = self
            .command(reqwest::Method::POST, "/goog/cdp/execute", body)
            .await;
        listed["credentials"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    async fn sign_out(&self, base: &str) {
        self.goto(&format!("{base}/logout")).await;
        self.click("button[name=confirm]").await;
        self.wait_for_text("You are signed out").await;
    }

    async fn password_sign_in(&self, base: &str) {
        self.goto(&format!("{base}/account/login")).await;
        self.type_into("#username", "alice").await;
        self.type_into("#password", PASSWORD).await;
        self.click("button[type=submit]").await;
    }
}

#[actix_web::test]
async fn chromium_registers_a_passkey_and_signs_in_with_it() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let Some(axe) = axe_source() else {
        return;
    };
    let app = spawn_app_with(|c| c.issuer = c.issuer.replace("127.0.0.1", "localhost")).await;
    let base = app.base.replace("127.0.0.1", "localhost");
    let mut problems = Vec::new();
    browser.goto(&format!("{base}/account/login")).await;
    let authenticator = browser.add_virtual_authenticator().await;

    // Signed in with the password, alice adds a passkey on the account page.
    browser.password_sign_in(&base).await;
    browser.find(".badge").await;
    browser.goto(&format!("{base}/account/mfa")).await;
    browser.find("#add-passkey").await;
    problems.extend(browser.audit("passkeys-none", &axe).await);
    browser.type_into("#passkey-name", "This laptop").await;
    browser.click("#add-passkey").await;
    browser.find("#recovery-codes").await;
    browser.click("#continue").await;
    browser.wait_for_text("Your passkey was added.").await;
    assert!(browser.source().await.contains("This laptop"));
    problems.extend(browser.audit("passkeys-listed", &axe).await);
    let kept = browser.virtual_credentials(&authenticator).await;
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(
        kept[0]["isResidentCredential"], true,
        "the passkey is discoverable: it signs in without a username"
    );

    // Signed out, the login page offers the passkey: no username, straight in.
    browser.sign_out(&base).await;
    browser.goto(&format!("{base}/account/login")).await;
    browser.find("#sign-in-passkey").await;
    problems.extend(browser.audit("login-passkey", &axe).await);
    browser.click("#sign-in-passkey").await;
    browser.find(".badge").await;

    // With a password, the passkey is the second step.
    browser.sign_out(&base).await;
    browser.password_sign_in(&base).await;
    browser.find("#use-passkey").await;
    problems.extend(browser.audit("second-factor-passkey", &axe).await);
    browser.click("#use-passkey").await;
    browser.find(".badge").await;
    let alice = app.state.store.find_user_by_username("alice").await;
    let alice = alice.unwrap().unwrap();
    let used = app.state.store.passkeys(&alice.id).await.unwrap();
    assert!(used[0].last_used_at.is_some());
    assert!(
        problems.is_empty(),
        "pages to fix:\n{}",
        problems.join("\n")
    );
}
