//! Real client libraries from their registries against a live Tessera: Authlib (PyPI) doing
//! private_key_jwt at the token, introspection and revocation endpoints with its defaults.
//! The Python comes from TESSERA_INTEROP_PYTHON (`.ci/run` makes a venv with pinned versions)
//! or `python3` when it has Authlib; without one the test prints SKIPPED, unless
//! TESSERA_REQUIRE_INTEROP is set (as in CI), where it fails.

use std::process::Command;

use serde_json::Value;
use tessera::core::accounts;
use tessera::core::model::{AuthMethod, ClientSpec, GrantType};

use crate::helpers::spawn_app;

fn python_with_authlib() -> Option<String> {
    let python = std::env::var("TESSERA_INTEROP_PYTHON").unwrap_or_else(|_| "python3".into());
    let found = Command::new(&python)
        .args(["-c", "import authlib, requests"])
        .output()
        .is_ok_and(|out| out.status.success());
    if found {
        return Some(python);
    }
    assert!(
        std::env::var_os("TESSERA_REQUIRE_INTEROP").is_none(),
        "TESSERA_REQUIRE_INTEROP is set but {python} cannot import authlib and requests"
    );
    eprintln!("SKIPPED: no Python with Authlib (set TESSERA_INTEROP_PYTHON)");
    None
}

fn script(python: &str, args: &[&str]) -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/authlib_private_key_jwt.py"
    );
    let out = Command::new(python).arg(path).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[actix_web::test]
async fn authlib_authenticates_with_private_key_jwt() {
    let Some(python) = python_with_authlib() else {
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
    let (client, _) = accounts::create_client(&app.state.store, spec, app.state.now())
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
