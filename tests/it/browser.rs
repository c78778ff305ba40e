//! The pages in a real browser: headless Chromium driven over WebDriver (chromedriver) signs
//! in, consents, and lets the form_post page's script deliver the code to a relying party.
//! `.ci/run` installs Chromium; elsewhere the test is skipped with a message when it is absent.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use base64::Engine;
use serde_json::{Value, json};
use tessera::core::model::ClientSpec;

use crate::demo::standalone_app;
use crate::helpers::{PASSWORD, spawn_app};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// axe-core's run over the whole page (WCAG 2.1 A and AA rules and best practices); the
/// violations as JSON.
const AXE_RUN: &str = "const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ['violations']})
  .then(r => done(JSON.stringify(r.violations)))
  .catch(e => done(JSON.stringify([{id: 'axe-failed', impact: 'critical', help: String(e)}])));";

/// axe-core from npm (`npm ci` in tests/interop/node), or None when it is not installed.
pub(crate) fn axe_source() -> Option<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/node/node_modules/axe-core/axe.min.js"
    );
    let source = std::fs::read_to_string(path).ok();
    if source.is_none() {
        assert!(
            std::env::var_os("TESSERA_REQUIRE_BROWSER").is_none(),
            "axe-core is required: run npm ci in tests/interop/node"
        );
        eprintln!("SKIPPED page audit: axe-core is not installed (npm ci in tests/interop/node)");
    }
    source
}

pub(crate) struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub(crate) async fn start() -> Option<Self> {
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

    pub(crate) async fn command(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut request = self.http.request(method, url);
        if !body.is_null() {
            request = request.json(&body);
        }
        let response: Value = request.send().await.unwrap().json().await.unwrap();
        response["value"].clone()
    }

    pub(crate) async fn goto(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", json!({"url": url}))
            .await;
    }

    pub(crate) async fn find(&self, css: &str) -> String {
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

    pub(crate) async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            json!({"text": text}),
        )
        .await;
    }

    pub(crate) async fn click(&self, css: &str) {
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

    /// Runs `script` in the page (WebDriver's execute, which the page's CSP does not limit).
    pub(crate) async fn execute(&self, script: &str) -> Value {
        let body = json!({"script": script, "args": []});
        self.command(reqwest::Method::POST, "/execute/sync", body)
            .await
    }

    /// Lays the page out as a phone (375 px wide) or a desktop screen would.
    async fn set_width(&self, width: u32) {
        let metrics = json!({"cmd": "Emulation.setDeviceMetricsOverride", "params": {
            "width": width, "height": if width < 600 { 812 } else { 900 },
            "deviceScaleFactor": 1, "mobile": width < 600,
        }});
        self.command(reqwest::Method::POST, "/goog/cdp/execute", metrics)
            .await;
    }

    /// Checks the page at both widths: nothing wider than the screen, no serious or critical
    /// axe-core violation; saves a screenshot of each as `screenshots/{name}-{width}.png` in
    /// the tests' target directory. Returns what is wrong.
    pub(crate) async fn audit(&self, name: &str, axe: &str) -> Vec<String> {
        let mut problems = Vec::new();
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        self.execute(&format!("{axe}\nreturn true;")).await;
        for width in [375, 1280] {
            self.set_width(width).await;
            let overflow = self
                .execute("return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
                .await;
            if overflow.as_i64().unwrap_or(0) > 0 {
                problems.push(format!(
                    "{name} at {width} px: {overflow} px wider than the screen"
                ));
            }
            let png = self
                .command(reqwest::Method::GET, "/screenshot", Value::Null)
                .await;
            let png = base64::engine::general_purpose::STANDARD
                .decode(png.as_str().unwrap_or_default())
                .unwrap();
            std::fs::write(dir.join(format!("{name}-{width}.png")), png).unwrap();
            let body = json!({"script": AXE_RUN, "args": []});
            let violations = self
                .command(reqwest::Method::POST, "/execute/async", body)
                .await;
            let violations: Vec<Value> =
                serde_json::from_str(violations.as_str().unwrap_or("[]")).unwrap_or_default();
            for v in violations {
                if matches!(v["impact"].as_str(), Some("serious" | "critical")) {
                    let nodes: Vec<&str> = v["nodes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|n| n["html"].as_str())
                        .collect();
                    problems.push(format!(
                        "{name} at {width} px: {}: {} {nodes:?}",
                        v["id"], v["help"]
                    ));
                }
            }
        }
        self.set_width(1280).await;
        problems
    }

    /// Waits until the page (after a navigation) says `text`.
    pub(crate) async fn wait_for_text(&self, text: &str) {
        for _ in 0..50 {
            if self.source().await.contains(text) {
                return;
            }
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no {text:?} on {}", self.source().await);
    }

    pub(crate) async fn source(&self) -> String {
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

/// Every page a person meets, at a phone's and a desktop's width: laid out within the screen
/// and accepted by axe-core; screenshots saved. The pages of the example web app
/// (examples/rp-web, the demo) are driven in the same browser: sign in, refresh, sign out.
#[actix_web::test]
async fn every_page_fits_phone_and_desktop_and_passes_axe() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let Some(axe) = axe_source() else {
        return;
    };
    let app = spawn_app().await;
    let (demo, _) = standalone_app(&app).await;
    let mut problems = Vec::new();

    browser
        .goto(&app.url("/authorize?client_id=nobody&response_type=code"))
        .await;
    browser.find("h1").await;
    problems.extend(browser.audit("error", &axe).await);

    browser.goto(&demo).await;
    browser.find("#sign-in").await;
    problems.extend(browser.audit("demo-signed-out", &axe).await);
    browser.click("#sign-in").await;
    browser.find("#username").await;
    problems.extend(browser.audit("login", &axe).await);
    browser.type_into("#username", "alice").await;
    browser.type_into("#password", "not the password").await;
    browser.click("button[type=submit]").await;
    browser.find(".error").await;
    problems.extend(browser.audit("login-error", &axe).await);
    browser.type_into("#password", PASSWORD).await;
    browser.click("button[type=submit]").await;
    browser.find("form.actions").await;
    problems.extend(browser.audit("consent", &axe).await);
    browser.press_enter_on("form.actions").await;
    browser.find("#id-token-claims").await;
    problems.extend(browser.audit("demo-signed-in", &axe).await);
    browser.click("#refresh").await;
    browser.find(".notice").await;
    assert!(browser.source().await.contains("The tokens were refreshed"));

    browser.goto(&app.url("/account/sessions")).await;
    browser.find(".badge").await;
    problems.extend(browser.audit("devices", &axe).await);
    browser.goto(&app.url("/account/password")).await;
    browser.find("#current").await;
    problems.extend(browser.audit("password", &axe).await);
    browser.goto(&app.url("/logout")).await;
    browser.find("button[name=confirm]").await;
    problems.extend(browser.audit("logout", &axe).await);

    // Signing out of the demo app ends Tessera's session too and comes back to the app.
    browser.goto(&demo).await;
    browser.click("#sign-out").await;
    browser.find("#sign-in").await;
    browser.goto(&app.url("/account/sessions")).await;
    browser.find("#username").await; // signed out: the account page asks to sign in
    problems.extend(browser.audit("account-login", &axe).await);

    assert!(
        problems.is_empty(),
        "pages to fix:\n{}",
        problems.join("\n")
    );
}

/// examples/spa served as its README says, on 127.0.0.1, with a public client registered for
/// it at `app` (its URL is the redirect and post-logout redirect URI) and written into its
/// index.html: the page's URL.
async fn serve_spa(app: &crate::helpers::TestApp) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/",
        listener.local_addr().unwrap().port()
    );
    let spec = ClientSpec {
        auth_method: tessera::core::model::AuthMethod::None,
        post_logout_redirect_uris: vec![url.clone()],
        ..ClientSpec::new("My SPA", vec![url.clone()])
    };
    let state = &app.state;
    let created =
        tessera::core::accounts::create_client(&state.store, &state.master, spec, state.now());
    let client_id = created.await.unwrap().0.id;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/spa");
    let index = std::fs::read_to_string(format!("{dir}/index.html"))
        .unwrap()
        .replace("http://127.0.0.1:8080", &app.base)
        .replace(
            "data-client-id=\"my-spa\"",
            &format!("data-client-id=\"{client_id}\""),
        );
    let server = HttpServer::new(move || {
        let index = index.clone();
        App::new()
            .route(
                "/",
                web::get().to(move || {
                    let index = index.clone();
                    async move { HttpResponse::Ok().content_type("text/html").body(index) }
                }),
            )
            .route(
                "/{file}",
                web::get().to(move |file: web::Path<String>| async move {
                    let kind = match file.as_str() {
                        "app.js" => "text/javascript",
                        "style.css" => "text/css",
                        _ => return HttpResponse::NotFound().finish(),
                    };
                    let body = std::fs::read(format!("{dir}/{file}")).unwrap();
                    HttpResponse::Ok().content_type(kind).body(body)
                }),
            )
    })
    .listen(listener)
    .unwrap()
    .workers(1)
    .run();
    actix_web::rt::spawn(server);
    url
}

/// examples/spa in Chromium: a public client signs in with PKCE, redeems the code and calls
/// userinfo from the page (CORS), then signs out through RP-initiated logout.
#[actix_web::test]
async fn the_single_page_app_signs_in_with_pkce_and_signs_out() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let Some(axe) = axe_source() else {
        return;
    };
    let app = spawn_app().await;
    let spa = serve_spa(&app).await;
    browser.goto(&spa).await;
    browser.click("#sign-in").await;
    browser.type_into("#username", "alice").await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("button[type=submit]").await;
    browser.press_enter_on("form.actions").await;
    browser.find("#signed-in:not([hidden])").await;
    let page = browser.source().await;
    assert!(page.contains("Signed in as Alice Liddell."), "{page}");
    assert!(
        page.contains("alice@example.com"),
        "userinfo answered the page: {page}"
    );
    let problems = browser.audit("spa-signed-in", &axe).await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    browser.click("#sign-out").await;
    browser.find("#sign-in:not([hidden])").await;
    assert!(browser.source().await.contains("Not signed in."));
    browser.goto(&app.url("/account/sessions")).await;
    browser.find("#username").await; // Tessera's session ended too
}

/// The text after `marker` up to the next `<` in the page.
fn text_after(html: &str, marker: &str) -> String {
    let start = html.find(marker).unwrap_or_else(|| panic!("no {marker}")) + marker.len();
    html[start..start + html[start..].find('<').unwrap()].to_owned()
}

/// Two-step verification in Chromium: set up on the account page (QR code, first code,
/// recovery codes), then asked for after the password; every page audited and screenshotted.
#[actix_web::test]
async fn two_step_verification_pages_fit_and_pass_axe() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let Some(axe) = axe_source() else {
        return;
    };
    let app = spawn_app().await;
    let mut problems = Vec::new();
    let code = |secret: &str, app: &crate::helpers::TestApp| {
        let bytes = tessera::core::totp::base32_decode(secret).unwrap();
        let step = tessera::core::totp::step_at(app.state.now());
        tessera::core::totp::code(&bytes, u64::try_from(step).unwrap())
    };
    let sign_in = async |browser: &Browser| {
        browser.goto(&app.url("/account/login")).await;
        browser.type_into("#username", "alice").await;
        browser.type_into("#password", PASSWORD).await;
        browser.click("button[type=submit]").await;
    };
    sign_in(&browser).await;
    browser.find(".badge").await;
    browser.goto(&app.url("/account/mfa")).await;
    browser.find("#set-up").await;
    problems.extend(browser.audit("mfa-off", &axe).await);
    browser.click("#set-up").await;
    browser.find(".qr svg").await;
    problems.extend(browser.audit("enroll", &axe).await);
    let secret = text_after(&browser.source().await, "class=\"secret\">");
    browser.type_into("#code", &code(&secret, &app)).await;
    browser.click("button[type=submit]").await;
    browser.find("#recovery-codes").await;
    problems.extend(browser.audit("recovery-codes", &axe).await);
    let recovery = text_after(&browser.source().await, "<li><code>");
    browser.click("#continue").await;
    browser.find("#remove").await;
    problems.extend(browser.audit("mfa-on", &axe).await);

    // Signed out, then in again: the code comes after the password.
    browser.goto(&app.url("/logout")).await;
    browser.click("button[name=confirm]").await;
    browser.wait_for_text("You are signed out").await;
    sign_in(&browser).await;
    browser.find("#code").await;
    problems.extend(browser.audit("second-factor", &axe).await);
    app.advance(30);
    browser.type_into("#code", &code(&secret, &app)).await;
    browser.click("button[type=submit]").await;
    browser.find(".badge").await;

    // Once more with a recovery code: the user is told.
    browser.goto(&app.url("/logout")).await;
    browser.click("button[name=confirm]").await;
    browser.wait_for_text("You are signed out").await;
    sign_in(&browser).await;
    browser.type_into("#code", &recovery).await;
    browser.click("button[type=submit]").await;
    browser.find("#codes-left").await;
    problems.extend(browser.audit("recovery-code-used", &axe).await);
    browser.click("#continue").await;
    browser.find("#remove").await;
    assert!(
        problems.is_empty(),
        "pages to fix:\n{}",
        problems.join("\n")
    );
}
