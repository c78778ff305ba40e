//! What every integration test shares: a real server on 127.0.0.1:0 with its own database
//! and seeded clients and user, a browser with a cookie jar, and the steps of the flows.

#[macro_use]
mod backends;
pub mod process;
mod receiver;

pub use backends::{Backend, database_url, postgres_admin_url, use_backend};
pub use receiver::{logout_receiver, verified_logout_claims, wait_for};

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use openidconnect::reqwest;
use tessera::clock::Clock;
use tessera::config::{Config, Overrides};
use tessera::core::accounts::{self, NewUser};
use tessera::core::model::{AuthMethod, ClientSpec, GrantType};
use tessera::core::rotation::{RotateOutcome, RotationError, schedule};
use tessera::keys::{Alg, Schedule, Timeline};
use tessera::web::state::AppState;

pub const PASSWORD: &str = "correct horse battery";
pub const REDIRECT: &str = "http://localhost:9999/callback";

pub struct TestApp {
    pub base: String,
    pub state: actix_web::web::Data<AppState>,
    /// A browser: cookie jar, no redirects followed.
    pub browser: reqwest::Client,
    /// The relying party's HTTP client (no cookies, no redirects).
    pub rp_http: reqwest::Client,
    pub confidential: (String, String),
    pub post_client: (String, String),
    pub public_client: String,
    pub db_url: String,
    pub master_key: String,
    pub clock: Arc<AtomicI64>,
    _dir: tempfile::TempDir,
}

pub fn browser() -> reqwest::Client {
    device_browser("Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0")
}

/// A browser that introduces itself with `user_agent`.
pub fn device_browser(user_agent: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(user_agent.to_owned())
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts a server whose configuration `adjust` may change; its clock starts at the real time
/// and moves only when a test calls `advance`.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let db_url = database_url(dir.path()).await;
    let master_key = "7f".repeat(32);
    let overrides = Overrides {
        issuer: Some(base.clone()),
        bind: Some(format!("127.0.0.1:{port}")),
        database_url: Some(db_url.clone()),
        keys_dir: Some(dir.path().join("keys")),
        master_key: Some(master_key.clone()),
        ..Default::default()
    };
    let mut config = Config::load(&overrides).unwrap();
    adjust(&mut config);
    let clock = Arc::new(AtomicI64::new(Clock::System.now()));
    let state = tessera::app::prepare(config, Clock::Fixed(clock.clone()))
        .await
        .unwrap();
    let now = state.now();
    let store = &state.store;
    let spec = |name: &str, method: AuthMethod, alg: Alg| ClientSpec {
        auth_method: method,
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        id_token_alg: alg,
        ..ClientSpec::new(name, vec![REDIRECT.into()])
    };
    let (c, s) = accounts::create_client(
        store,
        &state.master,
        spec("Test App", AuthMethod::ClientSecretBasic, Alg::RS256),
        now,
    )
    .await
    .unwrap();
    let confidential = (c.id, s.unwrap());
    let (c, s) = accounts::create_client(
        store,
        &state.master,
        spec("Post App", AuthMethod::ClientSecretPost, Alg::ES256),
        now,
    )
    .await
    .unwrap();
    let post_client = (c.id, s.unwrap());
    let (c, _) = accounts::create_client(
        store,
        &state.master,
        spec("SPA", AuthMethod::None, Alg::RS256),
        now,
    )
    .await
    .unwrap();
    let alice = NewUser {
        username: "alice",
        email: Some("alice@example.com".into()),
        name: Some("Alice Liddell".into()),
        password: PASSWORD,
    };
    accounts::create_user(store, &state.offload, alice, now)
        .await
        .unwrap();
    let server = tessera::app::serve(state.clone(), listener, Default::default()).unwrap();
    actix_web::rt::spawn(server);
    TestApp {
        base,
        state,
        browser: browser(),
        rp_http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        confidential,
        post_client,
        public_client: c.id,
        db_url,
        master_key,
        clock,
        _dir: dir,
    }
}

/// A string member of a JSON object; panics with the object when it is missing.
pub fn str_of(v: &serde_json::Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {v}"))
        .to_owned()
}

/// Whether `check` comes true within the caches' staleness bound: what another process (a
/// replica, the CLI) changes reaches this server's caches at its next check, at most
/// `cache_refresh_interval` later (plus a margin for the check itself).
pub async fn within_cache_bound<F, Fut>(app: &TestApp, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let bound = std::time::Duration::from_secs(app.state.config.cache_refresh_interval);
    let deadline = std::time::Instant::now() + bound + std::time::Duration::from_millis(1500);
    loop {
        if check().await {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A response's status and JSON body.
pub async fn json(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// The value of a hidden form field in an HTML page.
pub fn field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location on a {} response", response.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// A query or fragment parameter of a URL.
pub fn param(url: &str, name: &str) -> Option<String> {
    let parsed = url::Url::parse(url).unwrap();
    let from_query = parsed
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned());
    from_query.or_else(|| {
        let fragment = parsed.fragment()?;
        url::form_urlencoded::parse(fragment.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    })
}

impl TestApp {
    pub fn advance(&self, seconds: i64) {
        self.clock.fetch_add(seconds, Ordering::SeqCst);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Signs alice in to the account pages with her password: where the browser is sent.
    pub async fn account_sign_in(&self, browser: &reqwest::Client) -> String {
        let (_, csrf) = self.form_page(browser, "/account/login").await;
        let form = [
            ("csrf", csrf),
            ("username", "alice".to_owned()),
            ("password", PASSWORD.to_owned()),
        ];
        let answer = browser
            .post(self.url("/account/login"))
            .form(&form)
            .send()
            .await
            .unwrap();
        location(&answer)
    }

    /// Posts a form holding only its CSRF token (a button) from `browser` to `path`.
    pub async fn press(
        &self,
        browser: &reqwest::Client,
        path: &str,
        csrf: &str,
    ) -> reqwest::Response {
        browser
            .post(self.url(path))
            .form(&[("csrf", csrf)])
            .send()
            .await
            .unwrap()
    }

    /// A page's HTML and its CSRF token.
    pub async fn form_page(&self, browser: &reqwest::Client, path: &str) -> (String, String) {
        let response = browser.get(self.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let html = response.text().await.unwrap();
        let csrf = field(&html, "csrf").expect("csrf field");
        (html, csrf)
    }

    /// GETs `path` without credentials and parses the JSON answer (discovery, the JWKS).
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        self.rp_http
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Introspects `token` as the confidential client.
    pub async fn introspect(&self, token: &str) -> serde_json::Value {
        self.introspect_as(&self.confidential, token).await
    }

    /// Introspects `token` as `client` (id and secret, Basic).
    pub async fn introspect_as(&self, client: &(String, String), token: &str) -> serde_json::Value {
        self.introspect_at(&self.base, client, token).await
    }

    /// The same at another server (a replica) of this deployment.
    pub async fn introspect_at(
        &self,
        base: &str,
        client: &(String, String),
        token: &str,
    ) -> serde_json::Value {
        let response = self
            .rp_http
            .post(format!("{base}/introspect"))
            .basic_auth(&client.0, Some(&client.1))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        let (status, body) = json(response).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// A refresh by the confidential client, with `extra` parameters (e.g. a narrower scope).
    pub async fn refresh(&self, token: &str, extra: &[(&str, &str)]) -> reqwest::Response {
        let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
        form.extend_from_slice(extra);
        self.post_as_client("/token", &form).await
    }

    /// The status of a refresh by `client`.
    pub async fn refresh_status(&self, client: &(String, String), token: &str) -> u16 {
        self.rp_http
            .post(self.url("/token"))
            .basic_auth(&client.0, Some(&client.1))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Starts an authorization for the confidential client in `browser` and submits the login
    /// form once with `password`: the login page's HTML and the answer to the form.
    pub async fn try_login(
        &self,
        browser: &reqwest::Client,
        password: &str,
    ) -> (String, reqwest::Response) {
        self.try_login_at(browser, &self.authorize_url(&[]), password)
            .await
    }

    /// The same for the authorization at `authorize_url`.
    pub async fn try_login_at(
        &self,
        browser: &reqwest::Client,
        authorize_url: &str,
        password: &str,
    ) -> (String, reqwest::Response) {
        let start = browser.get(authorize_url).send().await.unwrap();
        let page = browser
            .get(self.url(&location(&start)))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let form = [
            ("csrf", field(&page, "csrf").unwrap()),
            ("interaction", field(&page, "interaction").unwrap()),
            ("username", "alice".to_owned()),
            ("password", password.to_owned()),
        ];
        let response = browser
            .post(self.url("/login"))
            .form(&form)
            .send()
            .await
            .unwrap();
        (page, response)
    }

    /// Follows an authorize URL as a person would: signs in as alice with `password` and
    /// approves consent when asked. Returns the final redirect to the client.
    pub async fn sign_in(
        &self,
        browser: &reqwest::Client,
        authorize_url: &str,
        password: &str,
    ) -> String {
        let user = ("alice", password);
        sign_in_at(&self.base, browser, authorize_url, user, REDIRECT).await
    }

    /// A plain authorize URL for the confidential client.
    pub fn authorize_url(&self, extra: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(&str, &str)> = vec![
            ("response_type", "code"),
            ("client_id", &self.confidential.0),
            ("redirect_uri", REDIRECT),
            ("scope", "openid profile email"),
            ("state", "st-1"),
            ("nonce", "n-1"),
        ];
        for (k, v) in extra {
            pairs.retain(|(name, _)| name != k);
            pairs.push((k, v));
        }
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.url(&format!("/authorize?{query}"))
    }

    /// A POST to a token-family endpoint authenticated as the confidential client.
    pub async fn post_as_client(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.rp_http
            .post(self.url(path))
            .basic_auth(&self.confidential.0, Some(&self.confidential.1))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Signs alice in with the confidential client and redeems the code: the token response.
    pub async fn tokens(&self, browser: &reqwest::Client) -> serde_json::Value {
        let client = self.confidential.clone();
        self.tokens_for(browser, &client).await
    }

    /// The same with another confidential (client_secret_basic) client.
    pub async fn tokens_for(
        &self,
        browser: &reqwest::Client,
        client: &(String, String),
    ) -> serde_json::Value {
        let url = self.authorize_url(&[("client_id", &client.0)]);
        let back = self.sign_in(browser, &url, PASSWORD).await;
        let code = param(&back, "code").unwrap();
        let response = self
            .rp_http
            .post(self.url("/token"))
            .basic_auth(&client.0, Some(&client.1))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Registers another confidential client allowed to refresh.
    pub async fn add_client(&self, adjust: impl FnOnce(&mut ClientSpec)) -> (String, String) {
        let mut spec = ClientSpec {
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            ..ClientSpec::new("Extra App", vec![REDIRECT.into()])
        };
        adjust(&mut spec);
        let (client, secret) = accounts::create_client(
            &self.state.store,
            &self.state.master,
            spec,
            self.state.now(),
        )
        .await
        .unwrap();
        (client.id, secret.unwrap())
    }

    /// Exchanges a code for the confidential client with a raw request.
    pub async fn redeem(&self, code: &str, extra: &[(&str, &str)]) -> reqwest::Response {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
        ];
        form.extend_from_slice(extra);
        self.rp_http
            .post(self.url("/token"))
            .basic_auth(&self.confidential.0, Some(&self.confidential.1))
            .form(&form)
            .send()
            .await
            .unwrap()
    }
}

/// The signing keys' use cases, as the CLI runs them against the test's database.
impl TestApp {
    async fn schedule(&self) -> Schedule {
        let state = &self.state;
        schedule(&state.store, &state.policy, &state.config.rotation())
            .await
            .unwrap()
    }

    pub async fn key_lines(&self) -> Vec<Timeline> {
        let schedule = self.schedule().await;
        let now = self.state.now();
        self.state.key_ops().list(&schedule, now).await.unwrap()
    }

    pub async fn rotate_keys(&self, alg: Option<Alg>, at_once: bool) -> Vec<RotateOutcome> {
        let schedule = self.schedule().await;
        let now = self.state.now();
        let keys = self.state.key_ops();
        keys.rotate(&schedule, alg, at_once, now).await.unwrap()
    }

    pub async fn revoke_key(&self, kid: &str) -> Result<Alg, RotationError> {
        let schedule = self.schedule().await;
        let now = self.state.now();
        let keys = self.state.key_ops();
        keys.revoke(&schedule, kid, now).await
    }

    /// Disables (or enables) a user as an operator would; its sessions end.
    pub async fn set_disabled(&self, username: &str, disabled: bool) {
        let cx = self.state.ctx();
        accounts::set_disabled(&cx, &self.state.notifier, username, disabled)
            .await
            .unwrap();
    }
}

/// Another server process on the same database, master key, issuer and clock: a replica
/// behind the same load balancer.
pub struct Replica {
    pub base: String,
    pub state: actix_web::web::Data<AppState>,
}

impl TestApp {
    pub async fn spawn_replica(&self, adjust: impl FnOnce(&mut Config)) -> Replica {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let overrides = Overrides {
            issuer: Some(self.base.clone()),
            bind: Some(format!("127.0.0.1:{port}")),
            database_url: Some(self.db_url.clone()),
            master_key: Some(self.master_key.clone()),
            ..Default::default()
        };
        let mut config = Config::load(&overrides).unwrap();
        adjust(&mut config);
        let state = tessera::app::prepare(config, Clock::Fixed(self.clock.clone()))
            .await
            .unwrap();
        actix_web::rt::spawn(
            tessera::app::serve(state.clone(), listener, Default::default()).unwrap(),
        );
        Replica {
            base: format!("http://127.0.0.1:{port}"),
            state,
        }
    }
}

/// Runs the `tessera` binary against a database, as an operator would.
pub fn run_cli(
    db_url: &str,
    master_key: &str,
    issuer: &str,
    args: &[&str],
    stdin: Option<&str>,
) -> (bool, String, String) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .env("TESSERA_DATABASE_URL", db_url)
        .env("TESSERA_MASTER_KEY", master_key)
        .env("TESSERA_ISSUER", issuer)
        .env_remove("TESSERA_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Follows an authorize URL at the provider `base` as a person would: signs in as `user`
/// (username, password) and approves consent when asked, until a redirect starts with
/// `redirect_uri`, which it returns.
pub async fn sign_in_at(
    base: &str,
    browser: &reqwest::Client,
    authorize_url: &str,
    (username, password): (&str, &str),
    redirect_uri: &str,
) -> String {
    let mut response = browser.get(authorize_url).send().await.unwrap();
    loop {
        assert!(
            response.status().is_redirection(),
            "expected a redirect, got {}: {}",
            response.status(),
            response.text().await.unwrap()
        );
        let next = location(&response);
        if next.starts_with(redirect_uri) {
            return next;
        }
        assert!(next.starts_with('/'), "unexpected redirect to {next}");
        let page = browser.get(format!("{base}{next}")).send().await.unwrap();
        assert_eq!(page.status(), 200, "{next}");
        let html = page.text().await.unwrap();
        let csrf = field(&html, "csrf").expect("csrf field");
        let interaction = field(&html, "interaction").expect("interaction field");
        let (path, form) = if next.starts_with("/login") {
            let form = vec![
                ("csrf", csrf),
                ("interaction", interaction),
                ("username", username.to_owned()),
                ("password", password.to_owned()),
            ];
            ("/login", form)
        } else {
            let form = vec![
                ("csrf", csrf),
                ("interaction", interaction),
                ("decision", "approve".to_owned()),
            ];
            ("/consent", form)
        };
        response = browser
            .post(format!("{base}{path}"))
            .form(&form)
            .send()
            .await
            .unwrap();
    }
}

/// The decoded header of a JWT.
pub fn jwt_header(jwt: &str) -> serde_json::Value {
    let part = jwt.split('.').next().unwrap();
    serde_json::from_slice(&tessera::secret::b64url_decode(part).unwrap()).unwrap()
}
