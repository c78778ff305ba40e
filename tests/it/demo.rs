//! The demo as a newcomer meets it: `tessera serve --demo` prints the demo app's URL; the app
//! at `/demo/` signs the demo user in through Tessera's pages, shows the verified id_token,
//! the access token's claims and userinfo, refreshes, and signs out with RP-initiated logout.
//! The same app (`examples/rp-web`) run on its own, as `cargo run -p rp-web` starts it,
//! against another Tessera with a client of its own.

use std::time::Duration;

use actix_web::{App, HttpServer, web};
use serde_json::Value;
use tessera::core::model::{ClientSpec, GrantType};

use crate::helpers::process::{Extra, Server, free_port};
use crate::helpers::{PASSWORD, TestApp, browser, field, location, sign_in_at, spawn_app};

/// The text of the element with this id (its first child text), HTML entities decoded.
fn element_text(html: &str, id: &str) -> Option<String> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let open = start + html[start..].find('>')? + 1;
    let end = open + html[open..].find('<')?;
    Some(
        html[open..end]
            .replace("&#34;", "\"")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

fn json_element(html: &str, id: &str) -> Value {
    let text = element_text(html, id).unwrap_or_else(|| panic!("no #{id} in {html}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("#{id} is not JSON ({e}): {text}"))
}

async fn page(browser: &reqwest::Client, url: &str) -> String {
    let response = browser.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    response.text().await.unwrap()
}

/// Follows one redirect and expects it to land on `app`'s home page.
async fn back_home(browser: &reqwest::Client, response: reqwest::Response, app: &str) -> String {
    assert!(response.status().is_redirection(), "{}", response.status());
    let next = location(&response);
    let next = if next.starts_with('/') {
        let origin = url::Url::parse(app).unwrap().origin().ascii_serialization();
        format!("{origin}{next}")
    } else {
        next
    };
    assert_eq!(next, app);
    page(browser, &next).await
}

/// What a person does with the app at `app` (its home page URL, ending in `/`) whose
/// provider is `provider`: sign in as `user`, look at the tokens, refresh, sign out.
async fn use_the_app(provider: &str, app: &str, client_id: &str, user: (&str, &str)) {
    let browser = browser();
    let home = page(&browser, app).await;
    assert!(home.contains("id=\"sign-in\""), "{home}");

    // Sign in: the app sends the browser to Tessera with PKCE, state and nonce.
    let start = browser.get(format!("{app}login")).send().await.unwrap();
    let authorize = location(&start);
    assert!(authorize.starts_with(&format!("{provider}/authorize?")));
    for required in ["code_challenge_method=S256", "state=", "nonce="] {
        assert!(authorize.contains(required), "{authorize}");
    }
    let callback = format!("{app}callback");
    let back = sign_in_at(provider, &browser, &authorize, user, &callback).await;
    let signed_in = browser.get(&back).send().await.unwrap();
    let home = back_home(&browser, signed_in, app).await;
    assert!(home.contains("Hello, "), "{home}");
    let id_token = json_element(&home, "id-token-claims");
    assert_eq!(id_token["iss"], provider);
    assert_eq!(id_token["aud"], serde_json::json!([client_id]));
    assert!(id_token["nonce"].is_string());
    let access = json_element(&home, "access-token-claims");
    assert_eq!(access["client_id"], client_id);
    assert_eq!(access["sub"], id_token["sub"]);
    let userinfo = json_element(&home, "userinfo-claims");
    assert_eq!(userinfo["sub"], id_token["sub"]);
    assert!(userinfo["email"].is_string(), "{userinfo}");
    assert!(home.contains(&format!("href=\"{provider}/account/sessions\"")));
    let first_token = element_text(&home, "access-token-raw").unwrap();

    // A form without the page's CSRF token changes nothing.
    let forged = browser
        .post(format!("{app}refresh"))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);

    // Refresh: new tokens from the refresh-token grant.
    let csrf = field(&home, "csrf").unwrap();
    let refreshed = browser
        .post(format!("{app}refresh"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let home = back_home(&browser, refreshed, app).await;
    assert!(home.contains("The tokens were refreshed"), "{home}");
    let second_token = element_text(&home, "access-token-raw").unwrap();
    assert_ne!(first_token, second_token);
    assert_eq!(
        json_element(&home, "id-token-claims")["sub"],
        id_token["sub"]
    );

    // Sign out: the app forgets the tokens and sends the browser to Tessera's end-session
    // endpoint with the id_token as hint, which ends Tessera's session and comes back.
    let signed_out = browser
        .post(format!("{app}logout"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let logout = location(&signed_out);
    assert!(
        logout.starts_with(&format!("{provider}/logout?")),
        "{logout}"
    );
    assert!(logout.contains("id_token_hint="));
    let ended = browser.get(&logout).send().await.unwrap();
    let home = back_home(&browser, ended, app).await;
    assert!(home.contains("id=\"sign-in\""), "{home}");
    // Tessera's session is over: signing in again asks for the password.
    let again = browser.get(format!("{app}login")).send().await.unwrap();
    let authorize = browser.get(location(&again)).send().await.unwrap();
    assert!(
        location(&authorize).starts_with("/login"),
        "{}",
        location(&authorize)
    );
}

/// `tessera serve --demo --json` on a SQLite file in `dir`: the server and what it printed.
pub async fn start_demo(dir: &std::path::Path) -> (Server, Value) {
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let db_url = format!("sqlite://{}/demo.db?mode=rwc", dir.display());
    let out = dir.join("stdout");
    let extra = Extra {
        args: &["--demo", "--json"],
        stdout: Some(std::fs::File::create(&out).unwrap()),
        ..Extra::default()
    };
    let server = Server::start_with(port, &issuer, &db_url, &dir.join("log"), &extra).await;
    let mut printed = String::new();
    for _ in 0..50 {
        printed = std::fs::read_to_string(&out).unwrap();
        if printed.ends_with('\n') {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    let demo = serde_json::from_str(&printed).expect("serve --demo --json prints JSON");
    (server, demo)
}

#[actix_web::test]
async fn serve_demo_prints_the_demo_app_which_signs_in_refreshes_and_signs_out() {
    let dir = tempfile::tempdir().unwrap();
    let (server, demo) = start_demo(dir.path()).await;
    let app = format!("{}/demo/", server.base);
    assert_eq!(demo["demo_app"], app.as_str());
    assert_eq!(demo["issuer"], server.base.as_str());
    let password = demo["password"].as_str().unwrap();
    let bare = browser()
        .get(format!("{}/demo", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&bare), "/demo/");
    use_the_app(&server.base, &app, "demo-app", ("demo", password)).await;
}

#[actix_web::test]
async fn without_demo_there_is_no_demo_app() {
    let app = spawn_app().await;
    let response = app.browser.get(app.url("/demo/")).send().await.unwrap();
    assert_eq!(response.status(), 404);
}

/// The app run on its own, in-process, with a client of its own at `tessera`: its home
/// page's URL (ending in `/`) and the client.
pub async fn standalone_app(tessera: &TestApp) -> (String, (String, String)) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let redirect = format!("{base}/callback");
    let home = format!("{base}/");
    let client = tessera
        .add_client(|spec: &mut ClientSpec| {
            spec.redirect_uris = vec![redirect];
            spec.post_logout_redirect_uris = vec![home.clone()];
            spec.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
        })
        .await;
    let settings = rp_web::Settings {
        issuer: tessera.base.clone(),
        client_id: client.0.clone(),
        client_secret: Some(client.1.clone()),
        base_url: base,
        scopes: vec!["profile".into(), "email".into()],
    };
    let rp = web::Data::new(rp_web::RelyingParty::new(settings).unwrap());
    let server = HttpServer::new(move || App::new().configure(rp_web::routes(rp.clone())))
        .listen(listener)
        .unwrap()
        .workers(1)
        .run();
    actix_web::rt::spawn(server);
    (home, client)
}

#[actix_web::test]
async fn the_example_web_app_on_its_own_signs_in_refreshes_and_signs_out() {
    let tessera = spawn_app().await;
    let (home, client) = standalone_app(&tessera).await;
    use_the_app(&tessera.base, &home, &client.0, ("alice", PASSWORD)).await;
}
