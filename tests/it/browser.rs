//! The pages in a real browser: headless Chromium driven over WebDriver (chromedriver) signs
//! in, consents, and lets the form_post page's script deliver the code to a relying party.
//! `.ci/run` installs Chromium; elsewhere the test is skipped with a message when it is absent.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use tessera::core::model::ClientSpec;

use crate::helpers::{PASSWORD, spawn_app};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start() -> Option<Self> {
        let driver_path = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists());
        let Some(driver_path) = driver_path else {
            assert!(
                std::env::var_os("TESSERA_REQUIRE_BROWSER").is_none(),
                "chromedriver is required (apt-get install chromium chromium-driver)"
            );
            eprintln!(
                "SKIPPED browser test: chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)"
            );
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..100 {
            if http.get(format!("{base}/status")).send().await.is_ok() {
                break;
            }
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ];
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}
        }}});
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {created}"))
            .to_owned();
        Some(Self {
            driver,
            base,
            session,
            http,
            _profile: profile,
        })
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut request = self.http.request(method, url);
        if !body.is_null() {
            request = request.json(&body);
        }
        let response: Value = request.send().await.unwrap().json().await.unwrap();
        response["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", json!({"url": url}))
            .await;
    }

    async fn find(&self, css: &str) -> String {
        for _ in 0..50 {
            let found = self
                .command(
                    reqwest::Method::POST,
                    "/element",
                    json!({"using": "css selector", "value": css}),
                )
                .await;
            if let Some(id) = found[ELEMENT].as_str() {
                return id.to_owned();
            }
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no element {css} on {}", self.source().await);
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            json!({"text": text}),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            json!({}),
        )
        .await;
    }

    /// Presses Enter on whatever has the focus when the page at `css` has loaded.
    async fn press_enter_on(&self, css: &str) {
        self.find(css).await;
        let active = self
            .command(reqwest::Method::GET, "/element/active", Value::Null)
            .await;
        let id = active[ELEMENT]
            .as_str()
            .expect("a focused element")
            .to_owned();
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            json!({"text": "\u{E007}"}),
        )
        .await;
    }

    async fn source(&self) -> String {
        self.command(reqwest::Method::GET, "/source", Value::Null)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

impl Drop for Browser {
    /// Ends chromedriver and the Chromium it started: they share a process group, and
    /// killing only chromedriver would leave the browser running after the test.
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.driver.wait();
    }
}

/// A relying party's form_post callback that records what the browser posts to it.
async fn form_post_receiver() -> (
    String,
    Arc<Mutex<Vec<std::collections::HashMap<String, String>>>>,
) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        let store = store.clone();
        App::new().route(
            "/cb",
            web::post().to(
                move |form: web::Form<std::collections::HashMap<String, String>>| {
                    let store = store.clone();
                    async move {
                        store.lock().unwrap().push(form.into_inner());
                        HttpResponse::Ok()
                            .content_type("text/html")
                            .body("<p id=done>signed in</p>")
                    }
                },
            ),
        )
    })
    .listen(listener)
    .unwrap()
    .workers(1)
    .run();
    actix_web::rt::spawn(server);
    (format!("http://127.0.0.1:{port}/cb"), received)
}

#[actix_web::test]
async fn a_real_browser_signs_in_consents_and_posts_the_code_back() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app().await;
    let (callback, received) = form_post_receiver().await;
    let client = app
        .add_client(|spec: &mut ClientSpec| spec.redirect_uris = vec![callback.clone()])
        .await;
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", client.0.as_str()),
            ("redirect_uri", callback.as_str()),
            ("scope", "openid profile email"),
            ("state", "browser-state"),
            ("response_mode", "form_post"),
        ])
        .finish();
    browser.goto(&app.url(&format!("/authorize?{query}"))).await;
    let login = browser.source().await;
    assert!(
        login.contains("Extra App"),
        "the login page names the client: {login}"
    );
    browser.type_into("#username", "alice").await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("button[type=submit]").await;
    // Allow is the consent form's first button and has the focus: Enter approves.
    browser.press_enter_on("form.actions").await;
    browser.find("#done").await; // the form_post script ran under the page's CSP
    let posted = received.lock().unwrap().clone();
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0]["state"], "browser-state");
    assert_eq!(posted[0]["iss"], app.base);
    let token = app
        .rp_http
        .post(app.url("/token"))
        .basic_auth(&client.0, Some(&client.1))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", posted[0]["code"].as_str()),
            ("redirect_uri", callback.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 200);

    // The same browser sees itself on its devices page.
    browser.goto(&app.url("/account/sessions")).await;
    browser.find(".badge").await;
    assert!(browser.source().await.contains("this device"));
}
