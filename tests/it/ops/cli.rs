//! The operator CLI, run as a separate process against the same database as a live server.

use crate::helpers::{PASSWORD, REDIRECT, spawn_app, within_cache_bound};

fn tessera(
    app: &crate::helpers::TestApp,
    args: &[&str],
    stdin: Option<&str>,
) -> (bool, String, String) {
    tessera_with_key(app, &app.master_key, args, stdin)
}

fn tessera_with_key(
    app: &crate::helpers::TestApp,
    master_key: &str,
    args: &[&str],
    stdin: Option<&str>,
) -> (bool, String, String) {
    crate::helpers::run_cli(&app.db_url, master_key, &app.base, args, stdin)
}

on_both_backends! {
async fn clients_and_users_created_by_the_cli_work_on_the_running_server() {
    let app = spawn_app().await;
    let (ok, out, err) = tessera(
        &app,
        &[
            "client",
            "create",
            "--name",
            "CLI App",
            "--redirect-uri",
            REDIRECT,
            "--refresh-reuse-grace",
            "5",
            "--json",
        ],
        None,
    );
    assert!(ok, "{err}");
    let created: serde_json::Value = serde_json::from_str(&out).unwrap();
    let id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 43);

    let (ok, out, err) = tessera(
        &app,
        &[
            "user",
            "create",
            "--username",
            "bob",
            "--email",
            "bob@example.com",
            "--password-stdin",
            "--json",
        ],
        Some("bob's long password\n"),
    );
    assert!(ok, "{err}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["username"],
        "bob"
    );

    let (ok, out, _) = tessera(&app, &["client", "list", "--json"], None);
    assert!(ok);
    let clients: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        clients
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == id.as_str())
    );
    assert!(
        !out.contains(&secret) && !out.contains("secret_hash"),
        "list never shows secrets"
    );
    let (ok, out, _) = tessera(&app, &["client", "show", &id, "--json"], None);
    assert!(ok && out.contains("CLI App"));
    let shown: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["refresh_reuse_grace"], 5);
    let (ok, _, err) = tessera(
        &app,
        &[
            "client",
            "create",
            "--name",
            "Negative",
            "--redirect-uri",
            REDIRECT,
            "--refresh-reuse-grace=-1",
        ],
        None,
    );
    assert!(!ok && err.contains("refresh reuse grace must not be negative"), "{err}");

    // The running server uses the new client at once.
    let url = app.authorize_url(&[("client_id", &id)]);
    let first = app.browser.get(&url).send().await.unwrap();
    assert!(crate::helpers::location(&first).starts_with("/login"));
    let back = app.sign_in(&app.browser, &url, PASSWORD).await;
    let code = crate::helpers::param(&back, "code").unwrap();
    let response = app
        .rp_http
        .post(app.url("/token"))
        .basic_auth(&id, Some(&secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let (ok, _, _) = tessera(&app, &["client", "delete", &id], None);
    assert!(ok);
    let gone = || async { app.browser.get(&url).send().await.unwrap().status() == 400 };
    assert!(
        within_cache_bound(&app, gone).await,
        "a deleted client is unknown within the caches' bound"
    );

    let (ok, _, err) = tessera(
        &app,
        &["user", "create", "--username", "bob", "--password-stdin"],
        Some("another password\n"),
    );
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, _, err) = tessera(
        &app,
        &["user", "set-password", "bob", "--password-stdin"],
        Some("short\n"),
    );
    assert!(!ok && err.contains("at least"), "{err}");
    let (ok, out, _) = tessera(&app, &["user", "disable", "alice", "--json"], None);
    assert!(ok && out.contains("\"disabled\":true"), "{out}");
    let (ok, out, _) = tessera(&app, &["user", "list"], None);
    assert!(ok && out.contains("alice") && out.contains("disabled"));
}
}

on_both_backends! {
async fn bad_configuration_fails_with_one_clear_line() {
    let app = spawn_app().await;
    let cases: &[(&[&str], &str)] = &[
        (&["serve", "--issuer", "not a url"], "issuer"),
        (&["serve", "--bind", "nowhere"], "bind address"),
        (
            &[
                "serve",
                "--database-url",
                "postgres://postgres@127.0.0.1:1/none",
            ],
            "cannot open database",
        ),
        (&["serve", "--database-url", "mysql://x"], "must start with"),
        (
            &["migrate", "--config", "/nonexistent/tessera.toml"],
            "cannot read config file",
        ),
        (
            &[
                "client",
                "create",
                "--name",
                "x",
                "--redirect-uri",
                "http://evil.example/cb",
            ],
            "https",
        ),
        (
            &[
                "client",
                "create",
                "--name",
                "x",
                "--redirect-uri",
                REDIRECT,
                "--auth-method",
                "magic",
            ],
            "unknown value",
        ),
    ];
    for (args, expected) in cases {
        let (ok, _, err) = tessera(&app, args, None);
        assert!(!ok, "{args:?} should fail");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
            "{err}"
        );
    }
}
}

on_both_backends! {
async fn operators_list_and_end_sessions() {
    let app = spawn_app().await;
    let first = app.tokens(&crate::helpers::browser()).await;
    let second = app.tokens(&crate::helpers::browser()).await;
    let (ok, out, err) = tessera(
        &app,
        &["session", "list", "--user", "alice", "--json"],
        None,
    );
    assert!(ok, "{err}");
    let sessions: serde_json::Value = serde_json::from_str(&out).unwrap();
    let sessions = sessions.as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    let sid = sessions[0]["sid"].as_str().unwrap().to_owned();

    let (ok, _, err) = tessera(&app, &["session", "revoke", &sid], None);
    assert!(ok, "{err}");
    let (ok, _, err) = tessera(&app, &["session", "revoke", &sid], None);
    assert!(!ok && err.contains("already ended"), "{err}");
    // Ids are base64url: one may start with '-' and is still an id, not a flag.
    let (ok, _, err) = tessera(&app, &["session", "revoke", "-no-such"], None);
    assert!(!ok && err.contains("no session '-no-such'"), "{err}");
    let one_ended = || async {
        active(&app, &first).await as u8 + active(&app, &second).await as u8 == 1
    };
    assert!(within_cache_bound(&app, one_ended).await, "one of two sessions ended");

    let (ok, out, err) = tessera(
        &app,
        &["user", "logout-everywhere", "alice", "--json"],
        None,
    );
    assert!(ok, "{err}");
    assert!(out.contains("\"sessions_ended\":1"), "{out}");
    let both_ended = || async { !active(&app, &first).await && !active(&app, &second).await };
    assert!(within_cache_bound(&app, both_ended).await);
    let (ok, out, _) = tessera(&app, &["session", "list", "--user", "alice"], None);
    assert!(ok && out.contains("no live sessions"));
}
}

async fn active(app: &crate::helpers::TestApp, tokens: &serde_json::Value) -> bool {
    app.introspect(tokens["access_token"].as_str().unwrap())
        .await["active"]
        == true
}

on_both_backends! {
async fn operators_manage_signing_keys() {
    let app = spawn_app().await;
    let tokens = app.tokens(&crate::helpers::browser()).await;
    let (ok, out, err) = tessera(&app, &["keys", "list", "--json"], None);
    assert!(ok, "{err}");
    let keys: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(keys.as_array().unwrap().len(), 4, "RS256, ES256, EdDSA, PS256");
    assert!(
        keys.as_array()
            .unwrap()
            .iter()
            .all(|k| k["state"] == "current" && k["activates_at"].is_i64())
    );
    assert!(
        !out.contains("sealed") && !out.contains("\"d\""),
        "no private material"
    );

    let (ok, out, err) = tessera(&app, &["keys", "rotate", "--alg", "ES256", "--json"], None);
    assert!(ok, "{err}");
    let rotated: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rotated[0]["existing"], false);
    let (ok, out, _) = tessera(&app, &["keys", "rotate", "--alg", "ES256"], None);
    assert!(ok && out.contains("already scheduled"), "{out}");
    let (ok, out, _) = tessera(&app, &["keys", "list"], None);
    assert!(ok && out.contains("next"), "{out}");

    let access = tokens["access_token"].as_str().unwrap();
    let header: serde_json::Value = serde_json::from_slice(
        &tessera::secret::b64url_decode(access.split('.').next().unwrap()).unwrap(),
    )
    .unwrap();
    let kid = header["kid"].as_str().unwrap();
    let (ok, out, err) = tessera(&app, &["keys", "revoke", kid], None);
    assert!(ok, "{err}");
    assert!(out.contains("every unexpired token it signed no longer verifies"), "{out}");
    let (ok, _, err) = tessera(&app, &["keys", "revoke", "no-such-kid"], None);
    assert!(!ok && err.contains("no signing key"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let new_key_path = dir.path().join("new.key");
    let (ok, out, err) = tessera(
        &app,
        &[
            "keys",
            "rewrap",
            "--new-master-key-file",
            new_key_path.to_str().unwrap(),
        ],
        None,
    );
    assert!(ok, "{err}");
    assert!(out.contains("re-sealed 5"), "{out}");
    let (ok, _, err) = tessera(&app, &["keys", "list"], None);
    assert!(
        !ok && err.contains("cannot decrypt"),
        "the old master key no longer opens them: {err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let new_key = std::fs::read_to_string(&new_key_path).unwrap();
    let (ok, out, err) = tessera_with_key(&app, new_key.trim(), &["keys", "list"], None);
    assert!(ok, "{err}");
    assert!(out.contains("revoked"));
}
}

#[test]
fn an_unreadable_master_key_file_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    std::fs::write(keys.join("master.key"), "not a key\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env(
            "TESSERA_DATABASE_URL",
            format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display()),
        )
        .env("TESSERA_KEYS_DIR", &keys)
        .env_remove("TESSERA_MASTER_KEY")
        .env_remove("TESSERA_CONFIG")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("tessera: error:") && err.contains("master.key"),
        "{err}"
    );
}

/// The kids in the key table, straight from the database.
async fn stored_kids(db_url: &str) -> Vec<String> {
    use sea_orm::{ConnectionTrait, Statement};
    let db = sea_orm::Database::connect(db_url).await.unwrap();
    let backend = db.get_database_backend();
    let sql = "SELECT kid FROM signing_keys ORDER BY kid";
    let rows = db
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .unwrap();
    rows.iter().map(|r| r.try_get("", "kid").unwrap()).collect()
}

on_both_backends! {
async fn read_only_commands_never_create_rotate_or_delete_keys() {
    let app = spawn_app().await;
    // Settings under which the keys the server made are already due for rotation: a key
    // schedule run by any of these commands would pre-publish successors.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tessera.toml");
    std::fs::write(&config, "jwks_max_age = 1\njwks_cache_bound = 0\nkey_reload_interval = 1\nkey_rotation_period = 4\n").unwrap();
    let config = config.display().to_string();
    actix_web::rt::time::sleep(std::time::Duration::from_secs(2)).await;
    let before = stored_kids(&app.db_url).await;
    assert_eq!(before.len(), 4);
    for args in [
        &["user", "list"][..],
        &["session", "list", "--user", "alice"],
        &["client", "list"],
        &["keys", "list"],
    ] {
        let args = [args, &["--config", &config]].concat();
        let (ok, _, err) = tessera(&app, &args, None);
        assert!(ok, "{args:?}: {err}");
        assert_eq!(stored_kids(&app.db_url).await, before, "{args:?} changed the key table");
    }
    let (ok, _, err) = tessera(&app, &["keys", "rotate", "--config", &config], None);
    assert!(ok, "{err}");
    assert_eq!(stored_kids(&app.db_url).await.len(), 8, "rotating is the command that does");
}
}

#[test]
fn operator_commands_on_a_fresh_database_create_no_keys() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let cli = |args: &[&str]| {
        crate::helpers::run_cli(&db_url, &"3c".repeat(32), "http://127.0.0.1:9", args, None)
    };
    let (ok, _, err) = cli(&["migrate"]);
    assert!(ok, "{err}");
    let (ok, out, err) = cli(&["user", "list"]);
    assert!(ok && out.contains("no users"), "{err}");
    let (ok, _, err) = cli(&["keys", "list"]);
    assert!(ok, "{err}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert!(runtime.block_on(stored_kids(&db_url)).is_empty());
}
