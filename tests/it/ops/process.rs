//! Tessera as separate processes: replicas sharing one PostgreSQL database (one killed with
//! SIGKILL mid-flow and restarted), JSON logs free of secrets, graceful SIGTERM.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::helpers::process::{MASTER_KEY, PASSWORD, Server, free_port, seed_app};
use crate::helpers::{Backend, REDIRECT, browser, database_url, field, param, use_backend};

type Step = Result<reqwest::Response, String>;

fn ok(step: Step) -> Result<reqwest::Response, String> {
    let response = step?;
    if response.status().is_server_error() {
        return Err(format!("{} from {}", response.status(), response.url()));
    }
    Ok(response)
}

fn location(response: &reqwest::Response) -> Result<String, String> {
    Ok(response
        .headers()
        .get("location")
        .ok_or("no Location")?
        .to_str()
        .map_err(|e| e.to_string())?
        .to_owned())
}

/// One sign-in whose steps go to the replicas in `route` (authorize, login page, login,
/// consent page, consent, token); returns the token response, or why it failed.
async fn flow(
    route: [&str; 6],
    client: &(String, String),
    issuer: &str,
) -> Result<serde_json::Value, String> {
    let b = browser();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", client.0.as_str()),
            ("redirect_uri", REDIRECT),
            ("scope", "openid profile"),
            ("state", "s"),
        ])
        .finish();
    let send =
        |r: reqwest::RequestBuilder| async move { r.send().await.map_err(|e| e.to_string()) };
    let start = ok(send(b.get(format!("{}/authorize?{query}", route[0]))).await)?;
    let login_path = location(&start)?;
    let page = ok(send(b.get(format!("{}{login_path}", route[1]))).await)?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    let form = [
        ("csrf", field(&page, "csrf").ok_or("no csrf")?),
        (
            "interaction",
            field(&page, "interaction").ok_or("no interaction")?,
        ),
        ("username", "alice".into()),
        ("password", PASSWORD.into()),
    ];
    let after_login = ok(send(b.post(format!("{}/login", route[2])).form(&form)).await)?;
    let mut next = location(&after_login)?;
    if next.starts_with("/consent") {
        let page = ok(send(b.get(format!("{}{next}", route[3]))).await)?
            .text()
            .await
            .map_err(|e| e.to_string())?;
        let form = [
            ("csrf", field(&page, "csrf").ok_or("no csrf")?),
            (
                "interaction",
                field(&page, "interaction").ok_or("no interaction")?,
            ),
            ("decision", "approve".into()),
        ];
        next = location(&ok(send(
            b.post(format!("{}/consent", route[4])).form(&form),
        )
        .await)?)?;
    }
    let code = param(&next, "code").ok_or_else(|| format!("no code in {next}"))?;
    assert_eq!(param(&next, "iss").as_deref(), Some(issuer));
    let token = send(
        b.post(format!("{}/token", route[5]))
            .basic_auth(&client.0, Some(&client.1))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", REDIRECT),
            ]),
    );
    let response = ok(token.await)?;
    if response.status() != 200 {
        return Err(format!("token: {}", response.status()));
    }
    response.json().await.map_err(|e| e.to_string())
}

async fn refresh(base: &str, client: &(String, String), token: &str) -> Result<String, String> {
    let response = reqwest::Client::new()
        .post(format!("{base}/token"))
        .basic_auth(&client.0, Some(&client.1))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status() != 200 {
        return Err(format!("refresh on {base}: {}", response.status()));
    }
    let body: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
    Ok(body["refresh_token"]
        .as_str()
        .ok_or("no refresh_token")?
        .to_owned())
}

#[actix_web::test]
async fn three_replicas_on_postgresql_survive_a_kill_9() {
    use_backend(Backend::Postgres);
    let dir = tempfile::tempdir().unwrap();
    let db_url = database_url(dir.path()).await;
    let ports = [free_port(), free_port(), free_port()];
    let issuer = format!("http://127.0.0.1:{}", ports[0]);
    let client = seed_app(&db_url, &issuer);
    let log = dir.path().join("replicas.log");
    let a = Server::start(ports[0], &issuer, &db_url, &log).await;
    let mut b = Server::start(ports[1], &issuer, &db_url, &log).await;
    let c = Server::start(ports[2], &issuer, &db_url, &log).await;
    let (ra, rb, rc) = (a.base.clone(), b.base.clone(), c.base.clone());

    // Started on A, login page and login on B, consent on C, code redeemed on C.
    let tokens = flow([&ra, &rb, &rb, &rc, &rc, &rc], &client, &issuer)
        .await
        .unwrap();
    let mut live = vec![
        refresh(&ra, &client, tokens["refresh_token"].as_str().unwrap())
            .await
            .unwrap(),
    ];

    let mut failed = 0;
    for i in 0..24 {
        let replicas = [&ra, &rb, &rc];
        let route = [0, 1, 2, 0, 1, 2].map(|k| replicas[(k + i) % 3].as_str());
        if i == 8 {
            b.kill9(); // mid-run: flows routed through B fail from here on
        }
        if i == 16 {
            b = Server::start(ports[1], &issuer, &db_url, &log).await;
        }
        match flow(route, &client, &issuer).await {
            Ok(tokens) => live.push(tokens["refresh_token"].as_str().unwrap().to_owned()),
            Err(e) => {
                assert!(
                    (8..16).contains(&i),
                    "flow {i} failed with every replica up: {e}"
                );
                failed += 1;
            }
        }
    }
    assert!(failed > 0, "the kill was noticed");
    assert!(live.len() >= 10);
    // Every flow the client saw succeed is valid: its refresh token refreshes on a replica
    // other than the one that issued it, including the restarted B.
    for (i, token) in live.iter().enumerate() {
        let base = [&ra, &rb, &rc][i % 3];
        refresh(base, &client, token)
            .await
            .unwrap_or_else(|e| panic!("flow {i}: {e}"));
    }
    drop((a, c));
}

on_both_backends! {
async fn json_logs_carry_request_ids_and_no_secrets_and_sigterm_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = database_url(dir.path()).await;
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let client = seed_app(&db_url, &issuer);
    let log = dir.path().join("server.log");
    let server = Server::start(port, &issuer, &db_url, &log).await;
    let base = server.base.clone();
    let tokens = flow([&base, &base, &base, &base, &base, &base], &client, &issuer).await.unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let rotated = refresh(&base, &client, tokens["refresh_token"].as_str().unwrap()).await.unwrap();
    let info = reqwest::Client::new().get(format!("{base}/userinfo")).bearer_auth(&access).send().await.unwrap();
    assert_eq!(info.status(), 200);

    let exit = server.terminate();
    assert!(exit.success(), "SIGTERM ends with status 0, got {exit:?}");
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    let requests: Vec<_> = lines.iter().filter(|l| l["message"] == "request").collect();
    assert!(requests.len() >= 8, "one line per request: {text}");
    assert!(requests.iter().all(|l| l["request_id"].as_str().is_some_and(|id| !id.is_empty())));
    for secret in [PASSWORD, &client.1, &access, tokens["refresh_token"].as_str().unwrap(), &rotated, tokens["id_token"].as_str().unwrap(), MASTER_KEY] {
        assert!(!text.contains(secret), "a secret is in the log");
    }
    assert!(!text.contains("code="), "no query strings (codes) in the log");
}
}

#[actix_web::test]
async fn https_with_a_dev_certificate_and_the_healthcheck() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let keys = dir.path().join("keys");
    let port = free_port();
    let issuer = format!("https://localhost:{port}");
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(args)
            .env("TESSERA_DATABASE_URL", &db_url)
            .env("TESSERA_KEYS_DIR", &keys)
            .env("TESSERA_ISSUER", &issuer)
            .env("TESSERA_BIND", format!("127.0.0.1:{port}"))
            .env("TESSERA_MASTER_KEY", MASTER_KEY)
            .env_remove("TESSERA_CONFIG")
            .output()
            .unwrap()
    };
    let made = cli(&["dev-cert"]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let (cert, key) = (keys.join("dev-cert.pem"), keys.join("dev-key.pem"));
    let unhealthy = cli(&["healthcheck"]);
    assert!(!unhealthy.status.success(), "nothing listens yet");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "serve",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ])
        .env("TESSERA_DATABASE_URL", &db_url)
        .env("TESSERA_KEYS_DIR", &keys)
        .env("TESSERA_ISSUER", &issuer)
        .env("TESSERA_BIND", format!("127.0.0.1:{port}"))
        .env("TESSERA_MASTER_KEY", MASTER_KEY)
        .env_remove("TESSERA_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let root = reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap();
    let https = reqwest::Client::builder()
        .add_root_certificate(root)
        .build()
        .unwrap();
    let mut metadata = None;
    for _ in 0..100 {
        if let Ok(r) = https
            .get(format!("{issuer}/.well-known/openid-configuration"))
            .send()
            .await
        {
            metadata = Some(r.json::<serde_json::Value>().await.unwrap());
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    let metadata = metadata.expect("served over HTTPS with the dev certificate");
    assert_eq!(metadata["issuer"], issuer.as_str());
    let healthy = cli(&["healthcheck"]);
    assert!(
        healthy.status.success(),
        "{}",
        String::from_utf8_lossy(&healthy.stderr)
    );
    let _ = child.kill();
    let _ = child.wait();
}
