//! Real client libraries from their registries against a live Tessera: Authlib (PyPI) doing
//! private_key_jwt at the token, introspection and revocation endpoints with its defaults,
//! and openid-client (npm) doing private_key_jwt, PAR, PKCE and DPoP through a whole sign-in.
//! The Python comes from TESSERA_INTEROP_PYTHON (`.ci/run` makes a venv with pinned versions)
//! or `python3` when it has Authlib; openid-client from `tests/interop/node` (`npm ci` there,
//! pinned by its lock file). Without them a test prints SKIPPED, unless
//! TESSERA_REQUIRE_INTEROP is set (as in CI), where it fails.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use serde_json::Value;
use tessera::core::accounts;
use tessera::core::model::{AuthMethod, ClientSpec, GrantType};

use crate::helpers::{PASSWORD, REDIRECT, browser, spawn_app, spawn_app_with};

/// Whether a missing library is a failure (CI) rather than a skip.
fn require(found: bool, what: &str) -> bool {
    if !found {
        assert!(
            std::env::var_os("TESSERA_REQUIRE_INTEROP").is_none(),
            "TESSERA_REQUIRE_INTEROP is set but {what} is missing"
        );
        eprintln!("SKIPPED: {what} is missing");
    }
    found
}

/// The interop Python if it can import `modules` (e.g. `"authlib, requests"`).
pub fn python_with(modules: &str) -> Option<String> {
    let python = std::env::var("TESSERA_INTEROP_PYTHON").unwrap_or_else(|_| "python3".into());
    let found = Command::new(&python)
        .args(["-c", &format!("import {modules}")])
        .output()
        .is_ok_and(|out| out.status.success());
    let what = format!("a Python with {modules} ({python}; set TESSERA_INTEROP_PYTHON)");
    require(found, &what).then_some(python)
}

fn script(python: &str, args: &[&str]) -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/authlib_private_key_jwt.py"
    );
    let child = Command::new(python)
        .arg(path)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    finished(child)
}

#[actix_web::test]
async fn authlib_authenticates_with_private_key_jwt() {
    let Some(python) = python_with("authlib, requests") else {
        return;
    };
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("key.pem");
    let pem = pem.to_str().unwrap();
    let jwks = script(&python, &["keygen", pem]);
    let spec = ClientSpec {
        auth_method: AuthMethod::PrivateKeyJwt,
        grant_types: vec![GrantType::ClientCredentials],
        jwks: Some(jwks.trim().to_owned()),
        ..ClientSpec::new("Python service", vec![])
    };
    let (client, _) =
        accounts::create_client(&app.state.store, &app.state.master, spec, app.state.now())
            .await
            .unwrap();
    // The script's HTTP calls block; let the server run meanwhile.
    let base = app.base.clone();
    let pem = pem.to_owned();
    let out = actix_web::rt::task::spawn_blocking(move || {
        script(&python, &["run", &base, &client.id, &pem])
    })
    .await
    .unwrap();
    let seen: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(seen["token_type"], "Bearer", "{seen}");
    assert_eq!(seen["introspected"]["active"], true, "{seen}");
    assert_eq!(seen["revoke_status"], 200, "{seen}");
    assert_eq!(seen["after_revoke"]["active"], false, "{seen}");
    assert_eq!(seen["first_status"], 200, "{seen}");
    assert_eq!(seen["replay_status"], 401, "{seen}");
    assert_eq!(seen["replay"]["error"], "invalid_client", "{seen}");
}

const NODE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/node");

fn node_with_openid_client() -> bool {
    let installed = std::path::Path::new(NODE_DIR)
        .join("node_modules/openid-client")
        .is_dir();
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    require(
        installed && node,
        "node with openid-client (npm ci in tests/interop/node)",
    )
}

fn node(args: &[&str]) -> std::process::Child {
    Command::new("node")
        .arg("openid_client.mjs")
        .args(args)
        .current_dir(NODE_DIR)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A script's standard output, once it has exited successfully.
fn finished(child: std::process::Child) -> String {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The highest-assurance set-up a client can ask for here: private_key_jwt, PAR and DPoP
/// required, server nonces on; openid-client copes with each of them (retrying on
/// use_dpop_nonce as RFC 9449 §8 expects) through sign-in, userinfo and refresh.
#[actix_web::test]
async fn openid_client_signs_in_with_par_dpop_and_private_key_jwt() {
    if !node_with_openid_client() {
        return;
    }
    let app = spawn_app_with(|c| c.dpop_nonce = true).await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.json");
    let key = key.to_str().unwrap().to_owned();
    let jwks = finished(node(&["keygen", &key]));
    let spec = ClientSpec {
        auth_method: AuthMethod::PrivateKeyJwt,
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        jwks: Some(jwks.trim().to_owned()),
        require_dpop: true,
        require_par: true,
        ..ClientSpec::new("Node web app", vec![REDIRECT.into()])
    };
    let (client, _) =
        accounts::create_client(&app.state.store, &app.state.master, spec, app.state.now())
            .await
            .unwrap();

    let mut child = node(&["run", &app.base, &client.id, &key, REDIRECT]);
    let stdout = child.stdout.take().unwrap();
    let (authorization_url, mut lines) = actix_web::rt::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        (first, lines)
    })
    .await
    .unwrap();
    assert!(
        authorization_url.contains("request_uri="),
        "{authorization_url}"
    );
    let back = app.sign_in(&browser(), &authorization_url, PASSWORD).await;
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{back}").unwrap();
    drop(stdin);
    let result = actix_web::rt::task::spawn_blocking(move || lines.next().and_then(Result::ok))
        .await
        .unwrap();
    let stderr = finished(child);
    let seen: Value = serde_json::from_str(result.as_deref().unwrap_or("null"))
        .unwrap_or_else(|e| panic!("{e}: {result:?} {stderr}"));
    assert!(
        seen["token_type"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case("dpop"),
        "{seen}"
    );
    assert_eq!(seen["userinfo_sub"], seen["sub"], "{seen}");
    assert_eq!(seen["userinfo_name"], "alice", "{seen}");
    assert!(
        seen["refreshed_token_type"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case("dpop"),
        "{seen}"
    );
    assert_eq!(seen["rotated"], true, "{seen}");
    assert_eq!(seen["bound_to"], seen["dpop_key"], "{seen}");
    assert_eq!(seen["as_bearer_status"], 401, "{seen}");
}
