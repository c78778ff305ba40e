//! README's "Use it from…" section, exercised: each code block there is marked with what
//! exercises it, and this file holds it to that. `run: tests/it/readme.rs` blocks run here
//! against a live server (the Rust one is compiled here line for line); `from: FILE` blocks
//! must be verbatim excerpts of FILE (an example another test runs); `same as: TEST` blocks
//! are command lines whose program TEST runs with the same settings.

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    RedirectUrl, Scope, TokenResponse,
};
use tessera::core::model::{ClientSpec, GrantType};

use crate::helpers::{PASSWORD, TestApp, param, run_cli, sign_in_at, spawn_app, str_of};

const README: &str = include_str!("../../README.md");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A fenced block of the section: the marker comment before it, its language and its lines
/// (without the indentation of the fence).
struct Block {
    marker: String,
    language: String,
    lines: Vec<String>,
}

fn use_it_from() -> Vec<Block> {
    let start = README.find("\n## Use it from…").expect("the section");
    let end = start
        + README[start..]
            .find("\n## Stronger clients")
            .expect("its end");
    let mut blocks = Vec::new();
    let mut lines = README[start..end].lines().peekable();
    let mut previous = "";
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if let Some(language) = trimmed.strip_prefix("```") {
            let indent = line.len() - trimmed.len();
            let mut body = Vec::new();
            for inner in lines.by_ref() {
                if inner.trim_start().starts_with("```") {
                    break;
                }
                body.push(inner.get(indent..).unwrap_or(inner.trim_start()).to_owned());
            }
            blocks.push(Block {
                marker: previous.trim().to_owned(),
                language: language.to_owned(),
                lines: body,
            });
        }
        if !line.trim().is_empty() {
            previous = line;
        }
    }
    blocks
}

fn blocks(language: &str, marker: &str) -> Vec<Block> {
    use_it_from()
        .into_iter()
        .filter(|b| b.language == language && b.marker.starts_with(&format!("<!-- {marker}")))
        .collect()
}

#[test]
fn every_block_says_what_exercises_it_and_excerpts_are_verbatim() {
    let all = use_it_from();
    assert!(all.len() >= 10, "found {} blocks", all.len());
    for block in &all {
        let marker = block
            .marker
            .strip_prefix("<!-- ")
            .and_then(|m| m.strip_suffix(" -->"))
            .unwrap_or_else(|| panic!("no marker before {:?}", block.lines.first()));
        if let Some(file) = marker.strip_prefix("from: ") {
            let path = file.split_whitespace().next().unwrap();
            let source = std::fs::read_to_string(format!("{ROOT}/{path}")).unwrap();
            let source: Vec<&str> = source.lines().map(str::trim).collect();
            let excerpt: Vec<&str> = block.lines.iter().map(|l| l.trim()).collect();
            assert!(
                source
                    .windows(excerpt.len())
                    .any(|w| w == excerpt.as_slice()),
                "README's excerpt of {path} is not in it:\n{}",
                block.lines.join("\n")
            );
        } else if let Some(test) = marker.strip_prefix("same as: ") {
            let path = test.split_whitespace().next().unwrap();
            assert!(
                std::path::Path::new(&format!("{ROOT}/{path}")).exists(),
                "{path}"
            );
        } else {
            assert!(marker.starts_with("run: tests/it/readme.rs"), "{marker}");
        }
    }
}

/// Stands for the relying party's callback: the browser signs in as alice and comes back to
/// the redirect URI with `code` and `state`.
async fn signed_in_callback(app: &TestApp, url: url::Url) -> Result<(String, String), String> {
    let redirect = "http://localhost:3000/callback";
    let back = sign_in_at(
        &app.base,
        &app.browser,
        url.as_str(),
        ("alice", PASSWORD),
        redirect,
    )
    .await;
    let code = param(&back, "code").ok_or("no code")?;
    let state = param(&back, "state").ok_or("no state")?;
    Ok((code, state))
}

#[rustfmt::skip] // the README's lines, as they are there
#[actix_web::test]
async fn the_web_app_snippet_signs_in() -> Result<(), Box<dyn std::error::Error>> {
    let app = spawn_app().await;
    let (id, secret) = app
        .add_client(|c: &mut ClientSpec| {
            c.redirect_uris = vec!["http://localhost:3000/callback".into()];
        })
        .await;
    let issuer = app.base.as_str();
    let http = app.rp_http.clone();
    let callback = |url| signed_in_callback(&app, url);
    // README:begin (the block under "A web app", line for line)
    let metadata = CoreProviderMetadata::discover_async(IssuerUrl::new(issuer.to_owned())?, &http).await?;
    let client = CoreClient::from_provider_metadata(metadata, ClientId::new(id), Some(ClientSecret::new(secret)))
        .set_redirect_uri(RedirectUrl::new("http://localhost:3000/callback".into())?);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    // send the browser to `url`; your callback receives `code` and `state`:
    let (code, returned_state) = callback(url).await?;
    assert_eq!(&returned_state, state.secret());
    let tokens = client.exchange_code(AuthorizationCode::new(code))?.set_pkce_verifier(verifier).request_async(&http).await?;
    let claims = tokens.id_token().ok_or("no id_token")?.claims(&client.id_token_verifier(), &nonce)?;
    // README:end
    assert_eq!(claims.preferred_username().map(|u| u.as_str()), Some("alice"));

    let source = std::fs::read_to_string(format!("{ROOT}/tests/it/readme.rs"))?;
    let begin = source.find("// README:begin").ok_or("begin")?;
    let begin = begin + source[begin..].find('\n').ok_or("line")? + 1;
    let end = source.find("    // README:end").ok_or("end")?;
    let here: Vec<&str> = source[begin..end].lines().map(str::trim).collect();
    let rust = blocks("rust", "run: tests/it/readme.rs");
    assert_eq!(rust.len(), 1);
    let there: Vec<&str> = rust[0].lines.iter().map(|l| l.trim()).collect();
    assert_eq!(here, there, "README's Rust block and this test differ");
    Ok(())
}

#[actix_web::test]
async fn the_microservice_snippet_verifies_a_live_token() {
    let Some(python) = crate::client_libraries::python_with("jwt") else {
        return;
    };
    let app = spawn_app().await;
    let token = str_of(&app.tokens(&app.browser).await, "access_token");
    let snippet = blocks("python", "run: tests/it/readme.rs");
    assert_eq!(snippet.len(), 1);
    let script = format!(
        "import json, sys\nimport jwt\ntoken = sys.argv[1]\n{}\nprint(json.dumps(claims))\n",
        snippet[0]
            .lines
            .join("\n")
            .replace("http://127.0.0.1:8080", &app.base)
    );
    let mut command = std::process::Command::new(python);
    command.args(["-c", &script, &token]);
    let out = actix_web::rt::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}\n{script}");
    let claims: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(claims["iss"], app.base.as_str());
    assert_eq!(claims["client_id"], app.confidential.0.as_str());
}

/// Runs a shell block against the test server: `tessera` is the built binary on its
/// database, and the default issuer in the text is the server's. The script runs off the
/// test's runtime, which also drives the server's background work.
async fn run_shell(app: &TestApp, script: &str, env: &[(&str, &str)]) -> String {
    let prelude = format!(
        "tessera() {{ \"{}\" \"$@\"; }}\n",
        env!("CARGO_BIN_EXE_tessera")
    );
    let mut command = std::process::Command::new("bash");
    command
        .args(["-c", &format!("set -euo pipefail\n{prelude}{script}")])
        .env("TESSERA_DATABASE_URL", &app.db_url)
        .env("TESSERA_MASTER_KEY", &app.master_key)
        .env("TESSERA_ISSUER", &app.base)
        .env("ISSUER", &app.base)
        .envs(env.iter().copied())
        .env_remove("TESSERA_CONFIG");
    let out = actix_web::rt::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{script}\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[actix_web::test]
async fn the_shell_snippets_run() {
    let app = spawn_app().await;
    let shell = blocks("sh", "run: tests/it/readme.rs");
    assert!(shell.len() >= 2);
    for block in shell {
        let script = block
            .lines
            .join("\n")
            .replace("http://127.0.0.1:8080", &app.base);
        run_shell(&app, &script, &[]).await;
    }
    // What they registered is there.
    let (ok, out, err) = run_cli(
        &app.db_url,
        &app.master_key,
        &app.base,
        &["client", "list"],
        None,
    );
    assert!(ok, "{err}");
    assert!(out.contains("My SPA") && out.contains("Gateway"), "{out}");
}

#[actix_web::test]
async fn the_curl_tour_runs() {
    let app = spawn_app().await;
    let (id, secret) = app
        .add_client(|c: &mut ClientSpec| {
            c.grant_types = vec![GrantType::ClientCredentials];
            c.redirect_uris = vec![];
        })
        .await;
    let tour = format!("bash {ROOT}/examples/curl/tour.sh");
    let env = [
        ("CLIENT_ID", id.as_str()),
        ("CLIENT_SECRET", secret.as_str()),
    ];
    let out = run_shell(&app, &tour, &env).await;
    assert!(out.contains("key "), "{out}");
    assert!(
        out.contains(&format!("{{\"active\":true,\"client_id\":\"{id}\"")),
        "{out}"
    );
    assert!(out.trim_end().ends_with("{\"active\":false}"), "{out}");
}
