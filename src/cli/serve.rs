//! `tessera serve` (with `--demo`), `tessera dev-cert` and `tessera healthcheck`.

use std::path::PathBuf;

use serde_json::json;

use super::output::{fail, print};
use crate::app;
use crate::clock::Clock;
use crate::config::Config;
use crate::core::accounts::{
    self, DEMO_CLIENT_ID, DEMO_STANDALONE_URL, DEMO_USERNAME, Demo, POSTMAN_CALLBACKS,
};

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Create (once) a demo client and user, serve a demo app that signs in with them under
    /// /demo/, and print how to use them
    #[arg(long)]
    demo: bool,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key)
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

pub async fn serve(config: Config, args: ServeArgs, json_output: bool) -> Result<(), String> {
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(crate::tls::server_config(cert, key).map_err(fail)?),
        _ => None,
    };
    // Database and keys first: a broken configuration is reported before the port is taken.
    let bind = config.bind;
    let state = app::prepare(config, Clock::System).await.map_err(fail)?;
    let listener = app::listen(bind).map_err(|e| format!("cannot bind {bind}: {e}"))?;
    let issuer = state.policy.issuer.clone();
    let demo = if args.demo {
        let demo = accounts::ensure_demo(
            &state.store,
            &state.offload,
            &state.master,
            &issuer,
            state.now(),
        );
        Some(demo.await.map_err(fail)?)
    } else {
        None
    };
    let serving = app::Serving {
        tls,
        demo: demo.as_ref().map(|d| rp_web::Settings {
            issuer: issuer.clone(),
            client_id: DEMO_CLIENT_ID.into(),
            client_secret: Some(d.client_secret.clone()),
            base_url: accounts::demo_app_url(&issuer),
            scopes: vec!["profile".into(), "email".into()],
        }),
    };
    let server = app::serve(state, listener, serving).map_err(fail)?;
    tracing::info!(%issuer, "Tessera is serving");
    if let Some(demo) = demo {
        print_demo(&issuer, &demo, json_output);
    }
    // SIGTERM or SIGINT: stop accepting, finish in-flight requests (up to 10 s), exit 0.
    server.await.map_err(|e| format!("server stopped: {e}"))?;
    tracing::info!("Tessera stopped");
    Ok(())
}

fn print_demo(issuer: &str, demo: &Demo, json_output: bool) {
    let app = format!("{}/", accounts::demo_app_url(issuer));
    let value = json!({
        "issuer": issuer,
        "demo_app": app,
        "client_id": DEMO_CLIENT_ID,
        "client_secret": demo.client_secret,
        "username": DEMO_USERNAME,
        "password": demo.password,
    });
    let text = format!(
        "\nTessera demo is ready.\n\n  Open the demo app and press \"Sign in\":\n    {app}\n  User:           {DEMO_USERNAME} / {password}\n\n  Issuer:         {issuer}\n  Discovery:      {issuer}/.well-known/openid-configuration\n  Client ID:      {DEMO_CLIENT_ID}\n  Client secret:  {secret}\n  (the same app on its own: RP_CLIENT_SECRET={secret} cargo run -p rp-web, then {DEMO_STANDALONE_URL}/)\n\nPostman (import examples/postman/, or Authorization tab → OAuth 2.0 → Get New Access Token):\n  Grant type:        Authorization Code (With PKCE)\n  Callback URL:      {postman}  (tick \"Authorize using browser\" for {postman_browser})\n  Auth URL:          {issuer}/authorize\n  Access Token URL:  {issuer}/token\n  Client ID:         {DEMO_CLIENT_ID}\n  Client Secret:     {secret}\n  Code Challenge:    SHA-256\n  Scope:             openid profile email\n  Client Auth:       Send as Basic Auth header\n",
        secret = demo.client_secret,
        password = demo.password,
        postman = POSTMAN_CALLBACKS[0],
        postman_browser = POSTMAN_CALLBACKS[1],
    );
    print(json_output, value, &text);
}

pub fn dev_cert(config: &Config, json_output: bool) -> Result<(), String> {
    let (cert, key) = crate::tls::dev_cert(&config.keys_dir).map_err(fail)?;
    let text = format!(
        "wrote {} and {}\ntry: tessera serve --tls-cert {} --tls-key {} --bind 127.0.0.1:8443 --issuer https://localhost:8443\n(your browser will warn: the certificate is self-signed)",
        cert.display(),
        key.display(),
        cert.display(),
        key.display()
    );
    print(json_output, json!({"cert": cert, "key": key}), &text);
    Ok(())
}

/// GET /healthz on the configured address; for HEALTHCHECK in images without curl.
pub async fn healthcheck(config: &Config) -> Result<(), String> {
    let mut addr = config.bind;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        // The certificate names the public host, not the loopback address checked here.
        .danger_accept_invalid_certs(true)
        .build()
        .map_err(fail)?;
    // The listener speaks HTTPS only when started with --tls-cert; try plain HTTP first.
    let mut problems = Vec::new();
    for scheme in ["http", "https"] {
        let url = format!("{scheme}://{addr}/healthz");
        match client.get(&url).send().await {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => problems.push(format!("{url} answered {}", r.status())),
            Err(e) => problems.push(format!("{url}: {e}")),
        }
    }
    Err(problems.join("; "))
}
