//! The system clock stepped under a running server: `tessera serve` runs with libfaketime
//! (Debian's `faketime` package) preloaded, reading its offset from a file on every call, and
//! the test moves that offset forwards and back as NTP or an operator would: tokens, the key
//! schedule and browser sessions must all keep to the latest time the server has seen.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::helpers::process::{
    Extra, PASSWORD, Server, client_credentials_client, free_port, seed_app,
};
use crate::helpers::{REDIRECT, browser, json, param, sign_in_at};

const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

/// Sets the server's clock to the real time plus `seconds`.
fn step_to(file: &Path, seconds: i64) {
    std::fs::write(file, format!("{seconds:+}\n")).unwrap();
}

async fn pause(ms: u64) {
    actix_web::rt::time::sleep(Duration::from_millis(ms)).await;
}

/// The kids the JWKS publishes, sorted.
async fn published(http: &reqwest::Client, issuer: &str) -> Vec<String> {
    let jwks_uri = format!("{issuer}/.well-known/jwks.json");
    let (_, jwks) = json(http.get(jwks_uri).send().await.unwrap()).await;
    let mut kids: Vec<String> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    kids.sort();
    kids
}

/// The published kids once they have stayed the same for three key-schedule ticks.
async fn settled(http: &reqwest::Client, issuer: &str) -> Vec<String> {
    let mut last = published(http, issuer).await;
    for _ in 0..30 {
        pause(3_500).await;
        let now = published(http, issuer).await;
        if now == last {
            return now;
        }
        last = now;
    }
    panic!("the key schedule never settled: {last:?}");
}

#[actix_web::test]
async fn a_clock_stepped_back_neither_revives_tokens_nor_rotates_keys_again_nor_ends_sessions() {
    if !Path::new(LIBFAKETIME).exists() {
        assert!(
            std::env::var_os("TESSERA_REQUIRE_FAKETIME").is_none(),
            "libfaketime is required (apt-get install faketime)"
        );
        eprintln!("SKIPPED clock steps: libfaketime is not installed (apt-get install faketime)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}/clock.db?mode=rwc", dir.path().display());
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let (id, secret) = client_credentials_client(&db_url, &issuer, "Clocked");
    let (app_id, _) = seed_app(&db_url, &issuer);
    // Keys rotate every ten minutes and the schedule looks every second; a session lasts
    // 90 minutes from its sign-in.
    let config = dir.path().join("tessera.toml");
    std::fs::write(
        &config,
        "key_rotation_period = 600\njwks_max_age = 1\njwks_cache_bound = 0\nkey_reload_interval = 1\naccess_token_ttl = 30\nsession_ttl = 5400\n",
    )
    .unwrap();
    let offset = dir.path().join("faketime");
    step_to(&offset, 0);
    let offset_path = offset.display().to_string();
    let env = [
        ("LD_PRELOAD", LIBFAKETIME),
        ("FAKETIME_TIMESTAMP_FILE", offset_path.as_str()),
        ("FAKETIME_NO_CACHE", "1"),
        ("DONT_FAKE_MONOTONIC", "1"),
    ];
    let config_path = config.display().to_string();
    let extra = Extra {
        args: &["--config", &config_path],
        env: &env,
        ..Extra::default()
    };
    let server = Server::start_with(port, &issuer, &db_url, &dir.path().join("log"), &extra).await;
    let http = reqwest::Client::new();
    // A form POSTed with the client's credentials, and the JSON answer.
    let post = |path: &'static str, form: Vec<(&'static str, String)>| {
        let request = http
            .post(format!("{issuer}{path}"))
            .basic_auth(&id, Some(&secret))
            .form(&form);
        async move { json(request.send().await.unwrap()).await.1 }
    };
    let token = || {
        let post = &post;
        async move {
            let granted = post("/token", vec![("grant_type", "client_credentials".into())]).await;
            granted["access_token"].as_str().unwrap().to_owned()
        }
    };
    let active = |token: String| {
        let post = &post;
        async move {
            let answer = post("/introspect", vec![("token", token)]).await;
            answer["active"].as_bool().unwrap()
        }
    };
    let signing_kid = |token: &str| {
        let header = token.split('.').next().unwrap().to_owned();
        let header = base64_url(&header);
        serde_json::from_slice::<Value>(&header).unwrap()["kid"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    // Sessions: an authorization with prompt=none answers with a code while the browser's
    // session lasts, with login_required after.
    let authorize = |prompt: &str| {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("response_type", "code"),
                ("client_id", app_id.as_str()),
                ("redirect_uri", REDIRECT),
                ("scope", "openid"),
                ("state", "s"),
                ("prompt", prompt),
            ])
            .finish();
        format!("{issuer}/authorize?{query}")
    };
    let sign_in = || async {
        let b = browser();
        let user = ("alice", PASSWORD);
        sign_in_at(&issuer, &b, &authorize("login"), user, REDIRECT).await;
        b
    };
    let signed_in = |b: &reqwest::Client| {
        let request = b.get(authorize("none"));
        async move {
            let response = request.send().await.unwrap();
            let location = response.headers()["location"].to_str().unwrap().to_owned();
            match param(&location, "error") {
                Some(error) => {
                    assert_eq!(error, "login_required", "{location}");
                    false
                }
                None => param(&location, "code").is_some(),
            }
        }
    };

    let before = settled(&http, &issuer).await;
    let early = token().await;
    assert!(active(early.clone()).await);
    let first_browser = sign_in().await;

    // An hour forwards: the 30-second token has expired and the schedule rotates.
    step_to(&offset, 3600);
    let after_step = settled(&http, &issuer).await;
    assert_ne!(
        after_step, before,
        "an hour passed: the key schedule rotated"
    );
    assert!(
        !active(early.clone()).await,
        "the token expired an hour ago"
    );
    let signer = signing_kid(&token().await);
    assert!(
        signed_in(&first_browser).await,
        "an hour into a 90-minute session"
    );
    let later_browser = sign_in().await;

    // Back to the real time: the server holds the latest time it has seen.
    step_to(&offset, 0);
    pause(1_500).await;
    assert!(
        !active(early.clone()).await,
        "a step back brought an expired token back to life"
    );
    assert_eq!(
        settled(&http, &issuer).await,
        after_step,
        "a step back changed the published keys"
    );
    assert_eq!(
        signing_kid(&token().await),
        signer,
        "a step back changed the signing key"
    );
    assert!(
        signed_in(&first_browser).await,
        "a step back ended a session"
    );
    assert!(
        signed_in(&later_browser).await,
        "a step back ended the session signed in an hour ahead"
    );

    // Forwards to where it had been: the rotation already done is not done again.
    step_to(&offset, 3600);
    assert_eq!(
        settled(&http, &issuer).await,
        after_step,
        "the same hour rotated the keys a second time"
    );
    assert!(!active(early).await);
    assert!(signed_in(&first_browser).await);
    // 91 minutes after the first sign-in: that session is over, the later one is not.
    step_to(&offset, 5460);
    pause(1_500).await;
    assert!(
        !signed_in(&first_browser).await,
        "a session outlived its 90 minutes"
    );
    assert!(signed_in(&later_browser).await);
    let log = std::fs::read_to_string(dir.path().join("log")).unwrap();
    assert!(
        log.contains("the system clock went back"),
        "the step back is logged"
    );
    assert!(server.terminate().success());
}

fn base64_url(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}
